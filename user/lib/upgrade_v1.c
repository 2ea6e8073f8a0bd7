// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Layout 1 (release 69017f1) and its conversion to this build's layout.
 * Everything here is frozen: it says what that release pinned, so it
 * never follows abi.h.
 *
 * What changed since layout 1, and what the upgrade does about it:
 *
 *  - the flow table: one LRU hash `flows` of forward entries (client ->
 *    endpoint, holding the backend) and reply entries (backend ->
 *    client, holding the endpoint) became the two-stage table of issue
 *    10. Each forward entry becomes an established flow in flows4 or
 *    flows6 (backend, ids, FIN/RST bits; its last packet in jiffies,
 *    the backend's from its reply entry; its start, which layout 1 did
 *    not keep, the older of those two), with its reply mapping: a word
 *    in the IPv4 reply index or an entry of replies6. The
 *    acknowledgements layout 1 did not keep are 0, "not seen yet": the
 *    first ACK of each side sets them (bpf/flow.bpf.h). The conversion
 *    runs before the program is replaced and again after (flows the old
 *    program pinned in between); the half-open stage starts empty.
 *  - routing elements, 336 -> 552 bytes: the deployments and generation
 *    carry over; traffic rules, audiences and previous[] start empty
 *    (layout 1 had none).
 *  - reason_stats grew new reasons in the middle: the counters move to
 *    their reason's new index, by name.
 *  - new maps (settings, ifaces, fragments, event_stats, layout) start
 *    empty, except the settings' Maglev hash seed, which keeps layout
 *    1's fixed one so new flows of the upgraded install choose as before,
 *    and the interface roles (upgrade.c): layout 1 had none, so every
 *    interface it ran on gets both.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "lib_int.h"
#include "reply_index.h"
#include "upgrade_int.h"
#include "slotlb.skel.h"

/* Its maps as that build pinned them; max_entries 0: sized at load. */
static const struct map_shape v1_maps[] = {
	{"endpoints", BPF_MAP_TYPE_HASH, 20, 16, 16384, BPF_F_NO_PREALLOC},
	{"endpoint_addrs", BPF_MAP_TYPE_HASH, 20, 4, 16384, 0},
	{"backend_addrs", BPF_MAP_TYPE_HASH, 20, 4, 4096, 0},
	{"app_routing", BPF_MAP_TYPE_ARRAY, 4, 8, 4096, BPF_F_MMAPABLE},
	{"routing_pool", BPF_MAP_TYPE_ARRAY, 4, 336, 8193, 0},
	{"deployment_rings", BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 8192, 0},
	{"backends", BPF_MAP_TYPE_ARRAY, 4, 20, 65536, 0},
	{"deployment_info", BPF_MAP_TYPE_ARRAY, 4, 40, 4096, 0},
	{"flows", BPF_MAP_TYPE_LRU_HASH, 40, 64, 0, 0},
	{"endpoint_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 24, 16384, 0},
	{"deployment_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 24, 4096, 0},
	{"backend_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 24, 65536, 0},
	{"reason_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 16, 17, 0},
};

/* Its flow hash seed (bpf/select.bpf.h of 69017f1, HASH_SEED). */
#define V1_HASH_SEED 0x5107b1a5

/* Its routing element. */
struct v1_routing {
	__u32 deployment[20]; /* per slot; 0 = empty */
	__u8 split[20][4]; /* reserved, zero */
	__u32 preview_slot, preview_deployment, preview_count; /* reserved */
	__u32 generation;
	__u8 preview[8][20]; /* reserved */
};
_Static_assert(sizeof(struct v1_routing) == 336, "layout 1 routing element");

/* Its flow key and entry. */
struct v1_flow_key {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport, dport;
	__u8 proto, family, pad[2];
};
_Static_assert(sizeof(struct v1_flow_key) == 40, "layout 1 flow key");

#define V1_FORWARD 0
#define V1_FIN_CLIENT 0x01
#define V1_FIN_BACKEND 0x02
#define V1_RST 0x04

struct v1_flow {
	__be32 addr[4]; /* forward: backend; reply: endpoint */
	__be16 port;
	__u8 direction, state;
	__u32 backend_id, deployment_id, endpoint_id;
	__u64 last_seen_ns; /* CLOCK_MONOTONIC */
	__u32 nh_ifindex;
	__u8 nh_dmac[6], nh_smac[6];
	__u64 nh_time_ns;
};
_Static_assert(sizeof(struct v1_flow) == 64, "layout 1 flow");

/* Its reasons, in its order (the names of user/lib/flows.c). */
static const char *const v1_reasons[] = {
	"forward",
	"reply",
	"forward_nonsyn_miss",
	"pass_not_ip",
	"pass_not_endpoint",
	"pass_no_neighbour",
	"pass_ttl_expired",
	"pass_frag_needed",
	"drop_truncated",
	"drop_malformed",
	"drop_ip_options",
	"drop_fragment",
	"drop_no_deployment",
	"drop_no_backend",
	"drop_nonsyn_miss",
	"drop_flow_table",
	"drop_fib",
};
_Static_assert(sizeof(v1_reasons) / sizeof(v1_reasons[0]) == 17,
	       "layout 1 reasons");

/* Every element an app references is converted at its index, so
 * app_routing (kept as it is) stays right. */
static int routing_from_v1(struct slotlb *lb, struct lib_upgrade *u, int old_fd,
			   int new_fd)
{
	struct slotlb_routing r;
	struct v1_routing old;
	uint64_t index;
	__u32 app, i;
	int fd, n = 0;

	(void)lb;
	fd = bpf_map_get_fd_by_id(u->app_routing_id);
	if (fd < 0)
		return -errno;
	for (app = 0; app < SLOTLB_MAX_APPS; app++) {
		if (bpf_map_lookup_elem(fd, &app, &index) || !index ||
		    index >= SLOTLB_ROUTING_POOL)
			continue;
		i = (__u32)index;
		if (bpf_map_lookup_elem(old_fd, &i, &old))
			continue;
		memset(&r, 0, sizeof(r));
		r.generation = old.generation;
		memcpy(r.deployment, old.deployment, sizeof(r.deployment));
		if (bpf_map_update_elem(new_fd, &i, &r, BPF_ANY)) {
			n = -errno;
			break;
		}
		n++;
	}
	close(fd);
	return n;
}

/* Per-CPU counters of each old reason, added at its new index. */
static int reasons_from_v1(struct slotlb *lb, struct lib_upgrade *u, int old_fd,
			   int new_fd)
{
	size_t sz = (size_t)lb->ncpus * sizeof(struct slotlb_reason_counter);
	struct slotlb_reason_counter *old = malloc(sz), *cur = malloc(sz);
	__u32 i, to;
	int n = 0, c;

	(void)u;
	if (!old || !cur) {
		n = -ENOMEM;
		goto out;
	}
	for (i = 0; i < 17; i++) {
		for (to = 0; to < SLOTLB_REASON_MAX; to++)
			if (!strcmp(slotlb_reason_name((enum slotlb_reason)to),
				    v1_reasons[i]))
				break;
		if (to == SLOTLB_REASON_MAX ||
		    bpf_map_lookup_elem(old_fd, &i, old) ||
		    bpf_map_lookup_elem(new_fd, &to, cur))
			continue;
		for (c = 0; c < lb->ncpus; c++) {
			cur[c].packets += old[c].packets;
			cur[c].bytes += old[c].bytes;
		}
		if (bpf_map_update_elem(new_fd, &to, cur, BPF_ANY)) {
			n = -errno;
			break;
		}
		n++;
	}
out:
	free(old);
	free(cur);
	return n;
}

struct flows_ctx {
	struct slotlb *lb;
	int old_fd, flows4_fd, flows6_fd, replies6_fd;
	uint32_t now, hz, index_seed;
	uint64_t mono_ns;
	int written;
	int err;
};

/* The old entry's CLOCK_MONOTONIC time in the program's jiffies. */
static uint32_t jiffies_of(const struct flows_ctx *c, uint64_t ns)
{
	uint64_t age = ns < c->mono_ns ? (c->mono_ns - ns) / 1000000000ULL : 0;

	return c->now - (uint32_t)(age * c->hz);
}

static void state_of(const struct flows_ctx *c, const struct v1_flow *f,
		     const struct v1_flow_key *k, struct slotlb_flow_state *s)
{
	struct v1_flow_key rk = {0};
	struct v1_flow reply;

	memset(s, 0, sizeof(*s));
	s->backend_id = (__u16)f->backend_id;
	s->deployment_id = (__u16)f->deployment_id;
	s->endpoint_id = (__u16)f->endpoint_id;
	s->backend_port = f->port;
	if (f->state & V1_FIN_CLIENT)
		s->state |= SLOTLB_FLOW_FIN_CLIENT;
	if (f->state & V1_FIN_BACKEND)
		s->state |= SLOTLB_FLOW_FIN_BACKEND;
	/* layout 1 closed a flow on both FINs */
	if ((f->state & (V1_FIN_CLIENT | V1_FIN_BACKEND)) ==
	    (V1_FIN_CLIENT | V1_FIN_BACKEND))
		s->state |= SLOTLB_FLOW_FIN_ACKED;
	if (f->state & V1_RST)
		s->state |= SLOTLB_FLOW_RST;
	s->seen_client = jiffies_of(c, f->last_seen_ns);
	s->seen_backend = s->seen_client;
	/* the backend's last packet: its reply entry's */
	memcpy(rk.src, f->addr, sizeof(rk.src));
	memcpy(rk.dst, k->src, sizeof(rk.dst));
	rk.sport = f->port;
	rk.dport = k->sport;
	rk.proto = k->proto;
	rk.family = k->family;
	if (!bpf_map_lookup_elem(c->old_fd, &rk, &reply) &&
	    reply.direction != V1_FORWARD)
		s->seen_backend = jiffies_of(c, reply.last_seen_ns);
	/* layout 1 kept no start: the older of the two last packets, the
	 * latest the connection can have started (its age a lower bound) */
	s->start = (int32_t)(s->seen_backend - s->seen_client) < 0
			   ? s->seen_backend
			   : s->seen_client;
}

static int flow4_add(struct flows_ctx *c, const struct v1_flow_key *k,
		     const struct v1_flow *f)
{
	struct slotlb_flow4_key nk = {
		.client = k->src[0],
		.endpoint = k->dst[0],
		.client_port = k->sport,
		.endpoint_port = k->dport,
		.proto = k->proto,
	};
	struct slotlb_flow4 v = {.backend_addr = f->addr[0]};
	uint64_t hash;

	state_of(c, f, k, &v.s);
	if (bpf_map_update_elem(c->flows4_fd, &nk, &v, BPF_NOEXIST))
		return errno == EEXIST ? 0 : -errno;
	hash = slotlb_reply_hash(f->addr[0], k->src[0], f->port, k->sport,
				 k->proto, c->index_seed);
	/* a full index: the flow's next packet from its client writes the
	 * mapping (reply_map_ensure) */
	reply_index_add_word(c->lb->reply_index, c->lb->reply_index_mask, hash,
			     slotlb_reply_word(k->dst[0], k->dport, hash));
	return 1;
}

static int flow6_add(struct flows_ctx *c, const struct v1_flow_key *k,
		     const struct v1_flow *f)
{
	struct slotlb_flow_key nk, rk;
	struct slotlb_flow6 v = {0};
	struct slotlb_reply6 r = {.endpoint_port = k->dport};

	memcpy(&nk, k, sizeof(nk));
	memset(nk.pad, 0, sizeof(nk.pad));
	memcpy(v.backend_addr, f->addr, sizeof(v.backend_addr));
	state_of(c, f, k, &v.s);
	if (bpf_map_update_elem(c->flows6_fd, &nk, &v, BPF_NOEXIST))
		return errno == EEXIST ? 0 : -errno;
	memset(&rk, 0, sizeof(rk));
	memcpy(rk.src, f->addr, sizeof(rk.src));
	memcpy(rk.dst, k->src, sizeof(rk.dst));
	rk.sport = f->port;
	rk.dport = k->sport;
	rk.proto = k->proto;
	rk.family = k->family;
	memcpy(r.endpoint, k->dst, sizeof(r.endpoint));
	if (bpf_map_update_elem(c->replies6_fd, &rk, &r, BPF_ANY))
		return -errno;
	return 1;
}

static int flow_cb(const void *key, const void *value, void *ctx)
{
	const struct v1_flow_key *k = key;
	const struct v1_flow *f = value;
	struct flows_ctx *c = ctx;
	int n;

	if (f->direction != V1_FORWARD ||
	    (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP))
		return 0;
	if (k->family == AF_INET)
		n = flow4_add(c, k, f);
	else if (k->family == AF_INET6)
		n = flow6_add(c, k, f);
	else
		return 0;
	if (n < 0) {
		c->err = n;
		return n;
	}
	c->written += n;
	return 0;
}

static int flows_from_v1(struct slotlb *lb, struct lib_upgrade *u, int old_fd,
			 int new_fd)
{
	struct flows_ctx c = {
		.lb = lb,
		.old_fd = old_fd,
		.flows4_fd = new_fd,
		.flows6_fd = bpf_map__fd(lb->skel->maps.flows6),
		.replies6_fd = bpf_map__fd(lb->skel->maps.replies6),
	};
	struct slotlb_settings set = {0};
	struct timespec ts;
	uint64_t jiffies;
	__u32 zero = 0;
	int err;

	(void)u;
	err = lib_clock(lb, &jiffies, &c.hz);
	if (err)
		return err;
	c.now = (uint32_t)jiffies;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c.mono_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (bpf_map_lookup_elem(bpf_map__fd(lb->skel->maps.settings), &zero,
				&set))
		return -errno;
	c.index_seed = set.index_seed;
	err = lib_map_walk(old_fd, sizeof(struct v1_flow_key),
			   sizeof(struct v1_flow), flow_cb, &c);
	if (c.err)
		return c.err;
	return err < 0 ? err : c.written;
}

static const struct migration v1_migrations[] = {
	{"routing_pool", NULL, false, routing_from_v1},
	{"reason_stats", NULL, false, reasons_from_v1},
	{"flows4", "flows", true, flows_from_v1},
};

const struct step lib_upgrade_from_v1 = {
	.from = 1,
	.legacy = true,
	.roles = false,
	.hash_seed = V1_HASH_SEED,
	.flow_table = "flows",
	.legacy_map = "legacy_flows",
	.maps = v1_maps,
	.n_maps = sizeof(v1_maps) / sizeof(v1_maps[0]),
	.migrations = v1_migrations,
	.n_migrations = sizeof(v1_migrations) / sizeof(v1_migrations[0]),
};
