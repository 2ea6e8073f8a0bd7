/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What routing_reader.bpf.c reports about a bad element, shared with
 * test_swap_atomicity.c (its skeleton's .bss holds two of these).
 */
#ifndef SLOTLB_TEST_ROUTING_READER_H
#define SLOTLB_TEST_ROUTING_READER_H

#include <linux/types.h>

struct reader_bad {
	__u64 seen; /* 0 until the first bad element */
	__u32 index; /* pool entry */
	__u32 generation; /* generation field as read */
	__u32 slot; /* first slot that disagrees; 20: none */
	__u32 deployment; /* deployment[slot] as read */
	__u32 previous; /* previous[slot] as read */
	__u32 held_generation; /* generation when it was taken */
};

#endif /* SLOTLB_TEST_ROUTING_READER_H */
