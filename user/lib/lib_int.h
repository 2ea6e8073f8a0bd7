/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* libslotlb internals shared by its source files. */
#ifndef SLOTLB_LIB_INT_H
#define SLOTLB_LIB_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slotlb_bpf;
struct lib_upgrade;

struct slotlb {
	struct slotlb_bpf *skel; /* loaded program and its maps */
	char pin_root[PATH_MAX]; /* where the maps are pinned */
	uint32_t flow_capacity; /* established flows per family */
	uint32_t half_open_capacity; /* entries of flows_new */
	uint32_t udp_timeout_s; /* idle UDP flow lifetime */
	uint32_t tcp_timeout_s; /* idle established TCP flow */
	uint32_t tcp_half_closed_timeout_s; /* idle after one FIN */
	uint32_t tcp_closed_timeout_s; /* closed TCP flow linger */
	uint32_t tcp_handshake_timeout_s; /* unanswered half-open TCP */
	int ncpus; /* possible CPUs, for per-CPU values */

	/* The IPv4 reply index, mapped (the GC frees words with CAS). */
	uint64_t *reply_index; /* SLOTLB_REPLY_BUCKET_WORDS per bucket */
	size_t reply_index_len; /* bytes mapped */
	uint32_t reply_index_mask; /* buckets - 1 */

	/* The endpoint-address filter, mapped (bits set with atomic OR). */
	uint64_t *endpoint_filter; /* 2 + SLOTLB_FILTER_WORDS words */
	size_t endpoint_filter_len; /* bytes mapped */

	/* Routing elements (see struct slotlb_routing in abi.h). */
	uint64_t *app_routing; /* mmap of the app_routing map */
	size_t app_routing_len; /* bytes mapped */
	uint32_t *pool_free; /* pool indexes safe to write */
	size_t n_free;
	uint32_t *pool_waiting; /* replaced, waiting for a grace period */
	size_t n_waiting;
	int barrier_outer; /* array of maps: updating it waits for RCU */
	int barrier_inner;
	int writer_fd; /* flock'd pin root: we own the pool, else -1 */
	int held_lock_fd; /* the pin root, flock'd by an upgrade, which the
			   * routing writer takes over; else -1 */

	/* Layouts (upgrade.c). */
	bool allow_upgrade; /* slotlb_opts.upgrade */
	char *why; /* slotlb_opts.why: the reason of an -ESTALE */
	size_t why_len;
	struct lib_upgrade *upgrade; /* under way during slotlb_open */
	struct slotlb_upgrade_info upgraded; /* what slotlb_open did */
};

/* loader.c: set the endpoint filter's bit of an address (abi.h), before
 * the address enters endpoint_addrs. */
struct slotlb_addr_key;
void lib_filter_set(struct slotlb *lb, const struct slotlb_addr_key *ak);
/* Set or clear the filter's checks word from a scan of backend_health
 * and backend_drain (program.c; abi.h, SLOTLB_FILTER_CHECKS). */
int lib_checks_sync(struct slotlb *lb);

/* upgrade.c, around the skeleton's load. prepare: 0 when the pinned
 * maps are this build's layout (or none), 1 when an upgrade is set up
 * (maps re-pointed at a staging directory, kept ones reused by fd),
 * -ESTALE (why filled) for a layout this build does not take. finish:
 * after the load, converts, replaces the program on every interface,
 * exchanges the pin directories; without an upgrade it only stamps a
 * new set's layout map. free: whatever an upgrade left. */
int lib_upgrade_prepare(struct slotlb *lb);
int lib_upgrade_finish(struct slotlb *lb);
void lib_upgrade_free(struct slotlb *lb);
int lib_layout_stamp(struct slotlb *lb);
/* The Maglev hash seed of the layout being upgraded from (0: none). */
uint32_t lib_upgrade_hash_seed(const struct slotlb *lb);

/* Walk a hash map in batches: cb(key, value, ctx) per entry, which
 * returns non-zero to stop (negative: an error to return). */
typedef int (*lib_entry_cb)(const void *key, const void *value, void *ctx);
int lib_map_walk(int fd, size_t key_size, size_t value_size, lib_entry_cb cb,
		 void *ctx);

/* The program's clock: jiffies and HZ (flows.c). */
int lib_clock(struct slotlb *lb, uint64_t *jiffies, uint32_t *hz);

/*
 * Jiffies from then to now. A walk reads the clock once, then the
 * entries: a packet in between stamps an entry after now, and now -
 * then, unsigned, would make that busy flow look idle for 49 days (the
 * GC deleted such flows and the drain stopped counting them: 2
 * keep-alive connections of 25,730 requests reset in a ramp). A stamp
 * up to a minute after now is that: 0. Any other is really that old
 * (the clock wrapped since; a signed difference would call a stamp of
 * 25 days ago, at HZ 1000, one of the future).
 */
static inline uint32_t lib_since(uint32_t now, uint32_t then, uint32_t hz)
{
	return then - now <= 60 * hz ? 0 : now - then;
}

/* routing.c: set up and tear down the routing pool bookkeeping. */
int lib_routing_open(struct slotlb *lb);
void lib_routing_close(struct slotlb *lb);

#endif /* SLOTLB_LIB_INT_H */
