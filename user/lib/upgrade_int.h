/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inside the upgrade of pinned maps (upgrade.c runs it, upgrade_v1.c
 * knows layout 1, upgrade_v2.c layout 2): what a step from an older
 * layout is made of.
 */
#ifndef SLOTLB_UPGRADE_INT_H
#define SLOTLB_UPGRADE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slotlb;
struct bpf_map;

/* What a pinned map is, as the kernel tells it. */
struct map_shape {
	const char *name;
	uint32_t type, key, value;
	uint32_t max_entries; /* 0: set at load (the flow tables) */
	uint32_t flags;
};

struct lib_upgrade;

/*
 * A map whose meaning changed since an older layout, or an old map this
 * layout no longer has: its conversion fills this build's map (new_fd,
 * and whatever else of lb it needs) from the old pinned map old_fd (the
 * map of the same name, or `from`). It runs once before the new program
 * replaces the old one and, if again, once after (entries the old
 * program wrote meanwhile; it must then add only what is missing).
 * Returns the entries written or -errno.
 */
struct migration {
	const char *map; /* this build's map it fills */
	const char *from; /* the old map it reads; NULL: the same name */
	bool again; /* run again once the old program is gone */
	int (*convert)(struct slotlb *lb, struct lib_upgrade *u, int old_fd,
		       int new_fd);
};

/* An older layout this build upgrades from, straight to its own. */
struct step {
	uint32_t from;
	bool legacy; /* pinned no layout map: known by its shapes */
	bool roles; /* pinned interface roles (ifaces, kept); without them
		     * each interface it ran on gets both */
	uint32_t hash_seed; /* its Maglev hash seed, kept by the upgrade;
			     * 0: its settings map is kept, seed and all */
	/* its flow table, laid out as bpf/upgrade.bpf.h reads it, and the
	 * new program's array of maps it goes in: the new program finds
	 * replies there until every flow is converted */
	const char *flow_table;
	const char *legacy_map;
	/* its maps (legacy: all of them; else those it converts): a map a
	 * migration fills must be pinned in exactly this shape */
	const struct map_shape *maps;
	size_t n_maps;
	const struct migration *migrations;
	size_t n_migrations;
};

extern const struct step lib_upgrade_from_v1;
extern const struct step lib_upgrade_from_v2;

#define MAX_CONVERT 16
#define MAX_SWAPPED 256

struct lib_upgrade {
	const struct step *step;
	char root[PATH_MAX]; /* the pin root */
	char staging[PATH_MAX]; /* the new set, beside it */
	int root_fd, staging_fd; /* both flock'd */
	uint32_t app_routing_id; /* kept map: tells our programs apart */
	struct {
		struct bpf_map *map;
		int old_fd;
		const struct migration *m;
	} conv[MAX_CONVERT];
	size_t n_conv;
	struct {
		int ifindex;
		int old_prog_fd;
		uint32_t mode; /* XDP_FLAGS_DRV_MODE or _SKB_MODE */
	} swapped[MAX_SWAPPED];
	size_t n_swapped;
	uint32_t n_kept;
	bool second_pass; /* the old program is gone */
};

#endif /* SLOTLB_UPGRADE_INT_H */
