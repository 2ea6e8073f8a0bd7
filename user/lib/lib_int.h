/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* libslotlb internals shared by its source files. */
#ifndef SLOTLB_LIB_INT_H
#define SLOTLB_LIB_INT_H

#include <limits.h>
#include <stdint.h>

struct slotlb_bpf;

struct slotlb {
	struct slotlb_bpf *skel; /* loaded program and its maps */
	char pin_root[PATH_MAX]; /* where the maps are pinned */
	uint32_t flow_capacity; /* flows; the map holds 2x entries */
	uint32_t udp_timeout_s; /* idle UDP flow lifetime */
	uint32_t tcp_closed_timeout_s; /* closed TCP flow linger */
	int ncpus; /* possible CPUs, for per-CPU values */
};

#endif /* SLOTLB_LIB_INT_H */
