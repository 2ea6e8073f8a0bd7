// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow GC: the only way an established flow leaves. A closed flow (both
 * FINs, or an accepted RST) goes after its linger, a half-closed one
 * after its shorter idle timeout, any other after its idle timeout; its
 * reply mapping goes with it (one word of the IPv4 reply index, freed
 * with compare-and-swap in the mapped index, or its replies6 entry).
 * A deleted endpoint's address that no flow uses any more leaves
 * endpoint_addrs. Each doomed entry is read again just before it is
 * deleted, so a flow that came alive meanwhile (a packet, a new
 * handshake on the same 5-tuple) stays.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "lib_int.h"
#include "reply_index.h"
#include "slotlb.skel.h"

#define MAP_FD(lb, name) bpf_map__fd((lb)->skel->maps.name)

/* Retired endpoint addresses and whether a kept flow uses them. */
struct retired {
	struct slotlb_addr_key *addrs;
	bool *used;
	size_t n;
};

struct gc_ctx {
	struct slotlb *lb;
	uint32_t now, hz;
	struct retired retired;
	struct slotlb_flow4_key *doomed4;
	struct slotlb_flow_key *doomed6;
	size_t n4, cap4, n6, cap6;
};

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap ? 2 * *cap : 1024;
	void *q;

	if (n < *cap)
		return 0;
	q = realloc(*p, want * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = want;
	return 0;
}

static int retired_collect(struct slotlb *lb, struct retired *r)
{
	struct slotlb_addr_key key, next, *grown;
	void *prev = NULL;
	size_t cap = 0;
	__u32 refs;
	int fd = MAP_FD(lb, endpoint_addrs);

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &refs) ||
		    refs != SLOTLB_ADDR_RETIRED)
			continue;
		if (r->n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(r->addrs, cap * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			r->addrs = grown;
		}
		r->addrs[r->n++] = key;
	}
	r->used = calloc(r->n ? r->n : 1, sizeof(*r->used));
	return r->used ? 0 : -ENOMEM;
}

static void retired_mark(struct retired *r, const __be32 *addr, uint8_t family)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->addrs[i].family == family &&
		    !memcmp(r->addrs[i].addr, addr, family == AF_INET ? 4 : 16))
			r->used[i] = true;
}

static int retired_release(struct slotlb *lb, const struct retired *r)
{
	size_t i;
	__u32 refs;
	int fd = MAP_FD(lb, endpoint_addrs);

	for (i = 0; i < r->n; i++) {
		if (r->used[i])
			continue;
		/* still retired? an endpoint may have come back */
		if (!bpf_map_lookup_elem(fd, &r->addrs[i], &refs) &&
		    refs == SLOTLB_ADDR_RETIRED)
			bpf_map_delete_elem(fd, &r->addrs[i]);
	}
	return 0;
}

static bool closed_state(uint32_t s)
{
	const uint32_t both = SLOTLB_FLOW_FIN_BACKEND | SLOTLB_FLOW_FIN_ACKED;

	return (s & SLOTLB_FLOW_RST) || (s & both) == both;
}

/* Is an established flow past its timeout? */
static bool expired(const struct gc_ctx *g, const struct slotlb_flow_state *s,
		    uint8_t proto)
{
	const struct slotlb *lb = g->lb;
	uint32_t last, timeout;

	last = (int32_t)(s->seen_backend - s->seen_client) > 0 ? s->seen_backend
							       : s->seen_client;
	if (proto == IPPROTO_UDP)
		timeout = lb->udp_timeout_s;
	else if (closed_state(s->state))
		timeout = lb->tcp_closed_timeout_s;
	else if (s->state & (SLOTLB_FLOW_FIN_BACKEND | SLOTLB_FLOW_FIN_ACKED))
		timeout = lb->tcp_half_closed_timeout_s;
	else
		timeout = lb->tcp_timeout_s;
	return lib_since(g->now, last, g->hz) > timeout * g->hz;
}

static int batch4(struct gc_ctx *g, const struct slotlb_flow4_key *k,
		  const struct slotlb_flow4 *v)
{
	if (!expired(g, &v->s, k->proto)) {
		retired_mark(&g->retired, &k->endpoint, AF_INET);
		return 0;
	}
	if (grow((void **)&g->doomed4, &g->cap4, g->n4, sizeof(*k)))
		return -ENOMEM;
	g->doomed4[g->n4++] = *k;
	return 0;
}

static int batch6(struct gc_ctx *g, const struct slotlb_flow_key *k,
		  const struct slotlb_flow6 *v)
{
	if (!expired(g, &v->s, k->proto)) {
		retired_mark(&g->retired, k->dst, AF_INET6);
		return 0;
	}
	if (grow((void **)&g->doomed6, &g->cap6, g->n6, sizeof(*k)))
		return -ENOMEM;
	g->doomed6[g->n6++] = *k;
	return 0;
}

static int cb4(const void *k, const void *v, void *ctx)
{
	return batch4(ctx, k, v);
}

static int cb6(const void *k, const void *v, void *ctx)
{
	return batch6(ctx, k, v);
}

static int cb_new(const void *k, const void *v, void *ctx)
{
	const uint32_t fins = SLOTLB_FLOW_FIN_CLIENT | SLOTLB_FLOW_FIN_BACKEND;
	const struct slotlb_flow_key *key = k;
	const struct slotlb_flow_new *h = v;
	struct gc_ctx *g = ctx;
	const struct slotlb *lb = g->lb;
	uint32_t timeout;

	/* A live half-open flow still forwards: its address stays known.
	 * A promoted one counts through its established entry. */
	if (key->proto == IPPROTO_UDP)
		timeout = lb->udp_timeout_s;
	else if (h->state & SLOTLB_FLOW_VERIFIED)
		timeout = lb->tcp_timeout_s;
	else
		timeout = lb->tcp_handshake_timeout_s;
	if (lib_since(g->now, h->seen, g->hz) <= timeout * g->hz &&
	    !(h->state & (SLOTLB_FLOW_RST | SLOTLB_FLOW_PROMOTED)) &&
	    (h->state & fins) != fins)
		retired_mark(&g->retired, h->endpoint, key->family);
	return 0;
}

/* Free one word of the flow in the mapped reply index. */
static void index_forget(struct gc_ctx *g, const struct slotlb_flow4_key *k,
			 const struct slotlb_flow4 *v, uint32_t seed)
{
	uint64_t h;

	h = slotlb_reply_hash(v->backend_addr, k->client, v->s.backend_port,
			      k->client_port, k->proto, seed);
	reply_index_remove_word(
		g->lb->reply_index, g->lb->reply_index_mask, h,
		slotlb_reply_word(k->endpoint, k->endpoint_port, h));
}

static int delete4(struct gc_ctx *g, const struct slotlb_flow4_key *k,
		   uint32_t seed)
{
	struct slotlb_flow4 v;
	int fd = MAP_FD(g->lb, flows4);

	/* Read again: a packet may have brought it back to life. */
	if (bpf_map_lookup_elem(fd, k, &v) || !expired(g, &v.s, k->proto))
		return 0;
	if (bpf_map_delete_elem(fd, k))
		return 0;
	index_forget(g, k, &v, seed);
	return 1;
}

static int delete6(struct gc_ctx *g, const struct slotlb_flow_key *k)
{
	struct slotlb_flow_key rk = {};
	struct slotlb_reply6 r;
	struct slotlb_flow6 v;
	int fd = MAP_FD(g->lb, flows6);

	if (bpf_map_lookup_elem(fd, k, &v) || !expired(g, &v.s, k->proto))
		return 0;
	if (bpf_map_delete_elem(fd, k))
		return 0;
	memcpy(rk.src, v.backend_addr, 16);
	memcpy(rk.dst, k->src, 16);
	rk.sport = v.s.backend_port;
	rk.dport = k->sport;
	rk.proto = k->proto;
	rk.family = AF_INET6;
	if (!bpf_map_lookup_elem(MAP_FD(g->lb, replies6), &rk, &r) &&
	    r.endpoint_port == k->dport && !memcmp(r.endpoint, k->dst, 16))
		bpf_map_delete_elem(MAP_FD(g->lb, replies6), &rk);
	return 1;
}

int slotlb_flows_gc(struct slotlb *lb)
{
	struct gc_ctx g = {.lb = lb};
	struct slotlb_settings settings;
	uint64_t jiffies;
	__u32 zero = 0;
	int err, removed = 0;
	size_t i;

	err = lib_clock(lb, &jiffies, &g.hz);
	if (err)
		return err;
	g.now = (uint32_t)jiffies;
	err = bpf_map_lookup_elem(MAP_FD(lb, settings), &zero, &settings);
	if (!err)
		err = retired_collect(lb, &g.retired);
	if (!err)
		err = lib_map_walk(MAP_FD(lb, flows4),
				   sizeof(struct slotlb_flow4_key),
				   sizeof(struct slotlb_flow4), cb4, &g);
	if (!err)
		err = lib_map_walk(MAP_FD(lb, flows6),
				   sizeof(struct slotlb_flow_key),
				   sizeof(struct slotlb_flow6), cb6, &g);
	if (!err && g.retired.n)
		err = lib_map_walk(MAP_FD(lb, flows_new),
				   sizeof(struct slotlb_flow_key),
				   sizeof(struct slotlb_flow_new), cb_new, &g);
	for (i = 0; !err && i < g.n4; i++)
		removed += delete4(&g, &g.doomed4[i], settings.index_seed);
	for (i = 0; !err && i < g.n6; i++)
		removed += delete6(&g, &g.doomed6[i]);
	if (!err)
		err = retired_release(lb, &g.retired);
	free(g.retired.addrs);
	free(g.retired.used);
	free(g.doomed4);
	free(g.doomed6);
	return err ? err : removed;
}
