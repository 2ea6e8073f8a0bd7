// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Routing elements and the swap. app_routing[app] is the index of the
 * app's element in routing_pool. A change writes the new element into a
 * free pool entry, then replaces the index with one aligned 8-byte store
 * through an mmap of app_routing: the next packet on any CPU reads the
 * new table, and no packet can read half of one.
 *
 * A pool entry just replaced may still be held by a packet in flight, so
 * it waits until an RCU grace period has passed (every XDP run that could
 * hold it has ended) before it is written again. The kernel waits for a
 * grace period in every update of an array of maps; an update of a
 * private one is our barrier. With twice as many entries as apps, one
 * barrier (~15 ms here) frees at least SLOTLB_MAX_APPS entries, so it is
 * paid once per thousands of swaps, off the swap's own path.
 *
 * One process writes routing elements at a time, since the free list
 * lives in that process: the first change takes an exclusive flock on
 * the pin root and keeps it until slotlb_close (the kernel drops it when
 * the process dies). Reading needs no lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "lib_int.h"
#include "slotlb.skel.h"

#define MAP_FD(lb, name) bpf_map__fd((lb)->skel->maps.name)

/* Wait until every BPF program run that started before now has ended. */
static int grace_period(struct slotlb *lb)
{
	__u32 zero = 0;

	return bpf_map_update_elem(lb->barrier_outer, &zero, &lb->barrier_inner,
				   BPF_ANY);
}

/* Entries that waited out a grace period become free. */
static int reclaim(struct slotlb *lb)
{
	int err = grace_period(lb);

	if (err)
		return err;
	memcpy(lb->pool_free + lb->n_free, lb->pool_waiting,
	       lb->n_waiting * sizeof(*lb->pool_waiting));
	lb->n_free += lb->n_waiting;
	lb->n_waiting = 0;
	return 0;
}

int lib_routing_open(struct slotlb *lb)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	size_t page = sysconf(_SC_PAGESIZE);

	lb->app_routing_len =
		(SLOTLB_MAX_APPS * sizeof(uint64_t) + page - 1) / page * page;
	lb->app_routing =
		mmap(NULL, lb->app_routing_len, PROT_READ | PROT_WRITE,
		     MAP_SHARED, MAP_FD(lb, app_routing), 0);
	if (lb->app_routing == MAP_FAILED) {
		lb->app_routing = NULL;
		return -errno;
	}
	lb->barrier_inner =
		bpf_map_create(BPF_MAP_TYPE_ARRAY, "slotlb_rcu", sizeof(__u32),
			       sizeof(__u32), 1, NULL);
	if (lb->barrier_inner < 0)
		return -errno;
	opts.inner_map_fd = lb->barrier_inner;
	lb->barrier_outer =
		bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "slotlb_barrier",
			       sizeof(__u32), sizeof(__u32), 1, &opts);
	return lb->barrier_outer < 0 ? -errno : 0;
}

/* Become the one writer of the pool: lock, then learn what is free. */
static int become_writer(struct slotlb *lb)
{
	uint8_t *used = NULL;
	uint32_t i;
	int fd, err;

	if (lb->writer_fd >= 0)
		return 0;
	if (lb->held_lock_fd >= 0) {
		/* an upgrade took the lock already: keep it */
		fd = lb->held_lock_fd;
		lb->held_lock_fd = -1;
	} else {
		fd = open(lb->pin_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			err = errno == EWOULDBLOCK ? -EBUSY : -errno;
			close(fd);
			return err;
		}
	}
	lb->pool_free = calloc(SLOTLB_ROUTING_POOL, sizeof(uint32_t));
	lb->pool_waiting = calloc(SLOTLB_ROUTING_POOL, sizeof(uint32_t));
	used = calloc(SLOTLB_ROUTING_POOL, 1);
	if (!lb->pool_free || !lb->pool_waiting || !used) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < SLOTLB_MAX_APPS; i++) {
		uint32_t index = SLOTLB_ROUTING_INDEX(
			__atomic_load_n(&lb->app_routing[i], __ATOMIC_ACQUIRE));

		if (index < SLOTLB_ROUTING_POOL)
			used[index] = 1;
	}
	/* The previous writer may have replaced an entry an instant ago:
	 * all unreferenced entries wait for one grace period first. */
	lb->n_free = lb->n_waiting = 0;
	for (i = 1; i < SLOTLB_ROUTING_POOL; i++)
		if (!used[i])
			lb->pool_waiting[lb->n_waiting++] = i;
	err = reclaim(lb);
out:
	free(used);
	if (err) {
		free(lb->pool_free);
		free(lb->pool_waiting);
		lb->pool_free = lb->pool_waiting = NULL;
		close(fd);
		return err;
	}
	lb->writer_fd = fd;
	return 0;
}

void lib_routing_close(struct slotlb *lb)
{
	if (lb->writer_fd >= 0)
		close(lb->writer_fd);
	if (lb->app_routing)
		munmap(lb->app_routing, lb->app_routing_len);
	if (lb->barrier_outer >= 0)
		close(lb->barrier_outer);
	if (lb->barrier_inner >= 0)
		close(lb->barrier_inner);
	free(lb->pool_free);
	free(lb->pool_waiting);
}

/* Point the app at index (0 = none), the old entry as the hint of the
 * element before (abi.h); the old entry waits like any other. */
static void flip(struct slotlb *lb, uint32_t app_id, uint32_t index)
{
	uint64_t ref =
		__atomic_load_n(&lb->app_routing[app_id], __ATOMIC_ACQUIRE);
	uint32_t old = SLOTLB_ROUTING_INDEX(ref);

	if (old >= SLOTLB_ROUTING_POOL)
		old = 0;
	/* The swap: one aligned 8-byte store, seen whole by every reader
	 * (this process is the only writer). */
	__atomic_store_n(&lb->app_routing[app_id],
			 index ? (uint64_t)old << 32 | index : 0,
			 __ATOMIC_SEQ_CST);
	if (old)
		lb->pool_waiting[lb->n_waiting++] = old;
}

int slotlb_routing_claim(struct slotlb *lb)
{
	return become_writer(lb);
}

int slotlb_routing_set(struct slotlb *lb, uint32_t app_id,
		       const struct slotlb_routing *r)
{
	uint32_t index;
	int err;

	if (app_id >= SLOTLB_MAX_APPS)
		return -ERANGE;
	err = become_writer(lb);
	if (err)
		return err;
	if (!lb->n_free) {
		err = reclaim(lb);
		if (err)
			return err;
		if (!lb->n_free)
			return -ENOSPC;
	}
	index = lb->pool_free[lb->n_free - 1];
	/* Nobody can read this entry: unreferenced since a grace period. */
	err = bpf_map_update_elem(MAP_FD(lb, routing_pool), &index, r, BPF_ANY);
	if (err)
		return err;
	lb->n_free--;
	flip(lb, app_id, index);
	return 0;
}

int slotlb_routing_get(struct slotlb *lb, uint32_t app_id,
		       struct slotlb_routing *r)
{
	uint64_t ref;
	uint32_t index;

	if (app_id >= SLOTLB_MAX_APPS)
		return -ERANGE;
	ref = __atomic_load_n(&lb->app_routing[app_id], __ATOMIC_ACQUIRE);
	index = SLOTLB_ROUTING_INDEX(ref);
	if (!index)
		return -ENOENT;
	if (index >= SLOTLB_ROUTING_POOL)
		return -EIO;
	return bpf_map_lookup_elem(MAP_FD(lb, routing_pool), &index, r);
}

int slotlb_routing_delete(struct slotlb *lb, uint32_t app_id)
{
	int err;

	if (app_id >= SLOTLB_MAX_APPS)
		return -ERANGE;
	err = become_writer(lb);
	if (err)
		return err;
	if (!__atomic_load_n(&lb->app_routing[app_id], __ATOMIC_ACQUIRE))
		return -ENOENT;
	flip(lb, app_id, 0);
	return 0;
}
