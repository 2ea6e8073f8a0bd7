// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Programming the data path: endpoints, backends and deployments (Maglev
 * rings). A ring is built whole in a fresh inner map, frozen, and only
 * then referenced with one update of the outer map; nothing live is ever
 * patched in place. Routing elements (the swap) are in routing.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "lib_int.h"
#include "maglev.h"
#include "slotlb.skel.h"

#define MAP_FD(lb, name) bpf_map__fd((lb)->skel->maps.name)

static void addr_key_of(struct slotlb_addr_key *ak,
			const struct slotlb_endpoint_key *key)
{
	memset(ak, 0, sizeof(*ak));
	memcpy(ak->addr, key->addr, sizeof(ak->addr));
	ak->family = key->family;
}

int slotlb_endpoint_set(struct slotlb *lb,
			const struct slotlb_endpoint_key *key,
			const struct slotlb_endpoint *ep)
{
	struct slotlb_endpoint old;
	struct slotlb_addr_key ak;
	__u32 refs = 0, was;
	bool existed;
	int err;

	if (ep->app_id >= SLOTLB_MAX_APPS || ep->slot >= SLOTLB_MAX_SLOTS ||
	    ep->endpoint_id >= SLOTLB_MAX_ENDPOINTS)
		return -ERANGE;
	existed = !bpf_map_lookup_elem(MAP_FD(lb, endpoints), key, &old);
	addr_key_of(&ak, key);
	if (!existed) {
		/* Address first: a fragment check must never miss it. A
		 * retired address (flows of a deleted endpoint) is live
		 * again. */
		lib_filter_set(lb, &ak);
		bpf_map_lookup_elem(MAP_FD(lb, endpoint_addrs), &ak, &refs);
		was = refs;
		refs = (refs & ~SLOTLB_ADDR_RETIRED) + 1;
		err = bpf_map_update_elem(MAP_FD(lb, endpoint_addrs), &ak,
					  &refs, BPF_ANY);
		if (err)
			return err;
	}
	err = bpf_map_update_elem(MAP_FD(lb, endpoints), key, ep, BPF_ANY);
	if (err && !existed) {
		if (was)
			bpf_map_update_elem(MAP_FD(lb, endpoint_addrs), &ak,
					    &was, BPF_ANY);
		else
			bpf_map_delete_elem(MAP_FD(lb, endpoint_addrs), &ak);
	}
	return err;
}

/* The last endpoint of an address leaves it retired, not gone: flows
 * pinned to the deleted endpoint still reach it, and the GC removes it
 * once no flow uses it. */
int slotlb_endpoint_delete(struct slotlb *lb,
			   const struct slotlb_endpoint_key *key)
{
	struct slotlb_addr_key ak;
	__u32 refs = 0;
	int err;

	err = bpf_map_delete_elem(MAP_FD(lb, endpoints), key);
	if (err)
		return err;
	addr_key_of(&ak, key);
	if (bpf_map_lookup_elem(MAP_FD(lb, endpoint_addrs), &ak, &refs))
		return 0;
	refs &= ~SLOTLB_ADDR_RETIRED;
	refs = refs > 1 ? refs - 1 : SLOTLB_ADDR_RETIRED;
	return bpf_map_update_elem(MAP_FD(lb, endpoint_addrs), &ak, &refs,
				   BPF_ANY);
}

/* Count one more (delta 1) or one less (-1) backend at be's address. */
static int backend_addr_ref(struct slotlb *lb, const struct slotlb_backend *be,
			    int delta)
{
	int fd = MAP_FD(lb, backend_addrs);
	struct slotlb_addr_key ak = {};
	__u32 refs = 0;
	int err;

	memcpy(ak.addr, be->addr, sizeof(ak.addr));
	ak.family = be->family;
	bpf_map_lookup_elem(fd, &ak, &refs);
	if (delta < 0 && refs <= 1) {
		err = bpf_map_delete_elem(fd, &ak);
		return err == -ENOENT ? 0 : err;
	}
	refs += delta;
	err = bpf_map_update_elem(fd, &ak, &refs, BPF_ANY);
	/* A full set: more distinct addresses than SLOTLB_MAX_BACKEND_ADDRS. */
	return err == -E2BIG ? -ENOSPC : err;
}

/* Replace whatever backend id holds with be (family 0 = none). */
static int backend_write(struct slotlb *lb, uint32_t backend_id,
			 const struct slotlb_backend *be)
{
	struct slotlb_backend old = {};
	int err;

	if (!backend_id || backend_id >= SLOTLB_MAX_BACKENDS)
		return -ERANGE;
	err = bpf_map_lookup_elem(MAP_FD(lb, backends), &backend_id, &old);
	if (err)
		return err;
	if (!memcmp(&old, be, sizeof(old)))
		return 0;
	/* The new address is known as a backend's before it is used. */
	if (be->family) {
		err = backend_addr_ref(lb, be, 1);
		if (err)
			return err;
	}
	err = bpf_map_update_elem(MAP_FD(lb, backends), &backend_id, be,
				  BPF_ANY);
	if (err) {
		if (be->family)
			backend_addr_ref(lb, be, -1);
		return err;
	}
	return old.family ? backend_addr_ref(lb, &old, -1) : 0;
}

/* A per-CPU counter element back to zero on every CPU (24-byte values:
 * struct slotlb_counters, struct slotlb_deployment_tcp). */
static int percpu_zero(struct slotlb *lb, int fd, uint32_t id)
{
	void *zero = calloc(lb->ncpus, 24);
	int err;

	if (!zero)
		return -ENOMEM;
	err = bpf_map_update_elem(fd, &id, zero, BPF_ANY);
	free(zero);
	return err;
}

/* An id written anew starts up and undrained: a down mark or a drain
 * reset rate of the id's last owner must not outlive it. Unchanged
 * backends keep their health and drain state. */
static int backend_write_up(struct slotlb *lb, uint32_t backend_id,
			    const struct slotlb_backend *be)
{
	struct slotlb_backend old = {};
	int err;

	if (backend_id && backend_id < SLOTLB_MAX_BACKENDS &&
	    !bpf_map_lookup_elem(MAP_FD(lb, backends), &backend_id, &old) &&
	    !memcmp(&old, be, sizeof(old)))
		return 0;
	err = backend_write(lb, backend_id, be);
	if (!err)
		err = slotlb_backend_health_set(
			lb, backend_id, &(struct slotlb_backend_health){0});
	if (!err)
		err = slotlb_backend_drain_set(lb, backend_id, 0);
	return err;
}

int slotlb_backend_set(struct slotlb *lb, uint32_t backend_id,
		       const struct slotlb_backend *be)
{
	if (be->family != AF_INET && be->family != AF_INET6)
		return -EAFNOSUPPORT;
	return backend_write_up(lb, backend_id, be);
}

int slotlb_backend_clear(struct slotlb *lb, uint32_t backend_id)
{
	struct slotlb_backend none = {};
	int err;

	err = backend_write_up(lb, backend_id, &none);
	/* as a deployment's: the id's next owner counts from zero */
	if (!err && backend_id && backend_id < SLOTLB_MAX_BACKENDS)
		err = percpu_zero(lb, MAP_FD(lb, backend_stats), backend_id);
	return err;
}

/*
 * The filter's checks word (abi.h, SLOTLB_FILTER_CHECKS): armed (its
 * clear bit taken away) after a down mark or a reset rate is written;
 * said clear only by a scan of both maps that finds none, with a
 * compare-and-swap against the word as it was before the scan, so an
 * arming meanwhile (which bumps the generation) is never undone.
 */
#define CHECKS_SCAN_CHUNK 4096

static void checks_arm(struct slotlb *lb)
{
	uint64_t *w, v;

	if (!lb->endpoint_filter)
		return;
	w = &lb->endpoint_filter[SLOTLB_FILTER_CHECKS];
	v = __atomic_load_n(w, __ATOMIC_SEQ_CST);
	while (!__atomic_compare_exchange_n(
		w, &v, (v + 2) & ~SLOTLB_CHECKS_CLEAR, false, __ATOMIC_SEQ_CST,
		__ATOMIC_SEQ_CST))
		;
}

static bool health_armed(const void *v)
{
	return ((const struct slotlb_backend_health *)v)->down;
}

static bool drain_armed(const void *v)
{
	return ((const struct slotlb_backend_drain *)v)->reset_rate;
}

/* Does any element of the array behind fd satisfy armed? Read in
 * batches (one syscall per CHECKS_SCAN_CHUNK elements). */
static int array_any(int fd, size_t vsize, bool (*armed)(const void *),
		     bool *found)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys, in = 0, out = 0, n, i;
	bool first = true;
	char *vals;
	int err;

	keys = calloc(CHECKS_SCAN_CHUNK, sizeof(*keys));
	vals = calloc(CHECKS_SCAN_CHUNK, vsize);
	err = keys && vals ? 0 : -ENOMEM;
	*found = false;
	while (!err && !*found) {
		n = CHECKS_SCAN_CHUNK;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys,
					   vals, &n, &opts);
		if (err && err != -ENOENT)
			break;
		for (i = 0; i < n && !*found; i++)
			*found = armed(vals + (size_t)i * vsize);
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		in = out;
		first = false;
	}
	free(keys);
	free(vals);
	return err;
}

int lib_checks_sync(struct slotlb *lb)
{
	bool down = false, draining = false;
	uint64_t *w, v;
	int err;

	if (!lb->endpoint_filter)
		return 0;
	w = &lb->endpoint_filter[SLOTLB_FILTER_CHECKS];
	v = __atomic_load_n(w, __ATOMIC_SEQ_CST);
	err = array_any(MAP_FD(lb, backend_health),
			sizeof(struct slotlb_backend_health), health_armed,
			&down);
	if (!err && !down)
		err = array_any(MAP_FD(lb, backend_drain),
				sizeof(struct slotlb_backend_drain),
				drain_armed, &draining);
	if (err || down || draining) {
		checks_arm(lb); /* unknown counts as armed */
		return err;
	}
	if (!(v & SLOTLB_CHECKS_CLEAR))
		__atomic_compare_exchange_n(
			w, &v, (v + 2) | SLOTLB_CHECKS_CLEAR, false,
			__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return 0;
}

/* After writing a backend's health or drain: arm the checks word for a
 * value that needs the reads; settle it when the old one did. */
static int checks_after(struct slotlb *lb, int err, bool was, bool is)
{
	if (err)
		return err;
	if (is)
		checks_arm(lb);
	else if (was)
		return lib_checks_sync(lb);
	return 0;
}

int slotlb_backend_drain_set(struct slotlb *lb, uint32_t backend_id,
			     uint32_t reset_rate)
{
	struct slotlb_backend_drain dr = {.reset_rate = reset_rate}, old = {};
	int fd = MAP_FD(lb, backend_drain), err;

	if (!backend_id || backend_id >= SLOTLB_MAX_BACKENDS)
		return -ERANGE;
	bpf_map_lookup_elem(fd, &backend_id, &old);
	err = bpf_map_update_elem(fd, &backend_id, &dr, BPF_ANY);
	return checks_after(lb, err, old.reset_rate, reset_rate);
}

int slotlb_backend_drain_get(struct slotlb *lb, uint32_t backend_id,
			     uint32_t *reset_rate)
{
	struct slotlb_backend_drain dr;
	int err;

	if (!backend_id || backend_id >= SLOTLB_MAX_BACKENDS)
		return -ERANGE;
	err = bpf_map_lookup_elem(MAP_FD(lb, backend_drain), &backend_id, &dr);
	if (!err)
		*reset_rate = dr.reset_rate;
	return err;
}

int slotlb_backend_health_set(struct slotlb *lb, uint32_t backend_id,
			      const struct slotlb_backend_health *h)
{
	int fd = MAP_FD(lb, backend_health), err;
	struct slotlb_backend_health old = {};

	if (!backend_id || backend_id >= SLOTLB_MAX_BACKENDS)
		return -ERANGE;
	if (h->tcp > SLOTLB_HEALTH_TCP_RESET || h->down > 1)
		return -EINVAL;
	bpf_map_lookup_elem(fd, &backend_id, &old);
	err = bpf_map_update_elem(fd, &backend_id, h, BPF_ANY);
	return checks_after(lb, err, old.down, h->down);
}

int slotlb_backend_health_get(struct slotlb *lb, uint32_t backend_id,
			      struct slotlb_backend_health *h)
{
	if (!backend_id || backend_id >= SLOTLB_MAX_BACKENDS)
		return -ERANGE;
	return bpf_map_lookup_elem(MAP_FD(lb, backend_health), &backend_id, h);
}

static int by_address(const void *a, const void *b, void *ctx)
{
	const struct slotlb_backend *bes = ctx;
	const struct slotlb_backend *x = &bes[*(const size_t *)a];
	const struct slotlb_backend *y = &bes[*(const size_t *)b];

	return memcmp(x, y, sizeof(*x));
}

/* Fill a new frozen ring map for these backends; returns its fd. */
static int ring_build(struct slotlb *lb, const uint32_t *backend_ids,
		      const uint32_t *weights, size_t n)
{
	struct slotlb_backend *bes = NULL;
	struct maglev_backend *mb = NULL, *sorted = NULL;
	size_t *order = NULL;
	uint32_t *table = NULL, *keys = NULL;
	__u32 count = SLOTLB_RING_SIZE;
	int fd = -1, err;
	size_t i;

	bes = calloc(n, sizeof(*bes));
	mb = calloc(n, sizeof(*mb));
	sorted = calloc(n, sizeof(*sorted));
	order = calloc(n, sizeof(*order));
	table = calloc(SLOTLB_RING_SIZE, sizeof(*table));
	keys = calloc(SLOTLB_RING_SIZE, sizeof(*keys));
	if (!bes || !mb || !sorted || !order || !table || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		err = bpf_map_lookup_elem(MAP_FD(lb, backends), &backend_ids[i],
					  &bes[i]);
		if (err)
			goto out;
		if (!bes[i].family) {
			err = -ENOENT;
			goto out;
		}
		/* The address is the identity: equal state, equal rings. */
		mb[i].id = &bes[i];
		mb[i].id_len = sizeof(bes[i]);
		mb[i].weight = weights ? weights[i] : 1;
		order[i] = i;
	}
	/* Maglev breaks ties by position: order by address so two nodes
	 * given the same backends in another order build the same ring. */
	qsort_r(order, n, sizeof(*order), by_address, bes);
	for (i = 0; i < n; i++)
		sorted[i] = mb[order[i]];
	err = maglev_build(sorted, n, table, SLOTLB_RING_SIZE);
	if (err)
		goto out;
	for (i = 0; i < SLOTLB_RING_SIZE; i++) {
		keys[i] = i;
		table[i] = backend_ids[order[table[i]]];
	}

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "slotlb_ring", sizeof(__u32),
			    sizeof(__u32), SLOTLB_RING_SIZE, NULL);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = bpf_map_update_batch(fd, keys, table, &count, NULL);
	if (!err && bpf_map_freeze(fd))
		err = -errno;
out:
	free(bes);
	free(mb);
	free(sorted);
	free(order);
	free(table);
	free(keys);
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

/* Open the inner map an outer array-of-maps slot references. */
static int inner_fd(int outer, uint32_t index)
{
	__u32 inner_id = 0;
	int fd;

	if (bpf_map_lookup_elem(outer, &index, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	return fd < 0 ? -errno : fd;
}

/* Clear slot index of an array of maps (none there is no error). */
static int ring_unreference(int outer, __u32 index)
{
	int err = bpf_map_delete_elem(outer, &index);

	return err == -ENOENT ? 0 : err;
}

/*
 * Point the deployment's ring slot of one family at ring, or clear it.
 * A republish first keeps the ring it replaces in ring_history, where
 * the ACK of a handshake whose SYN that ring sent still finds its
 * half-open entry (bpf/forward.bpf.h, half_open_before); a
 * removal clears both, so a deployment id used again starts with no
 * history.
 */
static int ring_reference(struct slotlb *lb, uint32_t deployment_id, bool ipv6,
			  int ring)
{
	__u32 index = SLOTLB_RING_INDEX(deployment_id, ipv6);
	int rings = MAP_FD(lb, deployment_rings);
	int history = MAP_FD(lb, ring_history);
	int old, err;

	if (ring < 0) {
		err = ring_unreference(rings, index);
		return err ? err : ring_unreference(history, index);
	}
	old = inner_fd(rings, index);
	if (old >= 0) {
		err = bpf_map_update_elem(history, &index, &old, BPF_ANY);
		close(old);
		if (err)
			return err;
	} else if (old != -ENOENT) {
		return old;
	}
	return bpf_map_update_elem(rings, &index, &ring, BPF_ANY);
}

int slotlb_deployment_publish(struct slotlb *lb, uint32_t deployment_id,
			      const struct slotlb_deployment_info *info,
			      const uint32_t *backend_ids,
			      const uint32_t *weights, size_t n)
{
	struct slotlb_deployment_info di = {};
	uint32_t *ids = NULL, *ws = NULL;
	int rings[2] = {-1, -1}, err = 0, f;
	size_t i, count[2] = {0, 0};
	struct slotlb_backend be;

	if (!deployment_id || deployment_id >= SLOTLB_MAX_DEPLOYMENTS)
		return -ERANGE;
	if (!n || n > SLOTLB_RING_SIZE)
		return -EINVAL;
	ids = calloc(2 * n, sizeof(*ids));
	ws = calloc(2 * n, sizeof(*ws));
	if (!ids || !ws) {
		err = -ENOMEM;
		goto out;
	}
	/* One ring per family: ids[0..n) IPv4, ids[n..2n) IPv6. */
	for (i = 0; i < n; i++) {
		err = bpf_map_lookup_elem(MAP_FD(lb, backends), &backend_ids[i],
					  &be);
		if (err)
			goto out;
		if (be.family != AF_INET && be.family != AF_INET6) {
			err = -ENOENT;
			goto out;
		}
		f = be.family == AF_INET6;
		ids[f * n + count[f]] = backend_ids[i];
		ws[f * n + count[f]] = weights ? weights[i] : 1;
		count[f]++;
	}
	for (f = 0; f < 2; f++) {
		if (!count[f])
			continue;
		rings[f] = ring_build(lb, ids + f * n, ws + f * n, count[f]);
		if (rings[f] < 0) {
			err = rings[f];
			goto out;
		}
	}
	if (info)
		di = *info;
	di.backend_count = n;
	err = bpf_map_update_elem(MAP_FD(lb, deployment_info), &deployment_id,
				  &di, BPF_ANY);
	for (f = 0; !err && f < 2; f++)
		err = ring_reference(lb, deployment_id, f, rings[f]);
out:
	for (f = 0; f < 2; f++)
		if (rings[f] >= 0)
			close(rings[f]);
	free(ids);
	free(ws);
	return err;
}

int slotlb_deployment_remove(struct slotlb *lb, uint32_t deployment_id)
{
	struct slotlb_deployment_info none = {};
	int err, f;

	if (!deployment_id || deployment_id >= SLOTLB_MAX_DEPLOYMENTS)
		return -ERANGE;
	for (f = 0; f < 2; f++) {
		err = ring_reference(lb, deployment_id, f, -1);
		if (err)
			return err;
	}
	/* the id is free: the next deployment to take it (lowest free id)
	 * counts from zero, not from where this one stopped */
	err = percpu_zero(lb, MAP_FD(lb, deployment_stats), deployment_id);
	if (!err)
		err = percpu_zero(lb, MAP_FD(lb, deployment_tcp),
				  deployment_id);
	if (err)
		return err;
	return bpf_map_update_elem(MAP_FD(lb, deployment_info), &deployment_id,
				   &none, BPF_ANY);
}

int slotlb_deployment_info(struct slotlb *lb, uint32_t deployment_id,
			   struct slotlb_deployment_info *info)
{
	if (deployment_id >= SLOTLB_MAX_DEPLOYMENTS)
		return -ERANGE;
	return bpf_map_lookup_elem(MAP_FD(lb, deployment_info), &deployment_id,
				   info);
}

int slotlb_deployment_ring_get(struct slotlb *lb, uint32_t deployment_id,
			       uint8_t family, uint32_t pos,
			       uint32_t *backend_id)
{
	int fd, err;

	if (deployment_id >= SLOTLB_MAX_DEPLOYMENTS || pos >= SLOTLB_RING_SIZE)
		return -ERANGE;
	fd = inner_fd(MAP_FD(lb, deployment_rings),
		      SLOTLB_RING_INDEX(deployment_id, family == AF_INET6));
	if (fd < 0)
		return fd;
	err = bpf_map_lookup_elem(fd, &pos, backend_id);
	close(fd);
	return err;
}
