// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Layout 2 (main at 821e6af, the last build before layout 3) and its
 * conversion to this build's layout. Everything here is frozen: it says
 * what those builds pinned, so it never follows abi.h.
 *
 * Layout 3 added a flow's start time. Nothing else changed meaning:
 *
 *  - flows4 (value 56 -> 60 bytes) and flows6 (72 bytes both, but
 *    `start` now sits after seen_backend, where every later field moved
 *    by 4 bytes, and took the trailing padding): each established flow
 *    is copied field by field. Layout 2 kept no start: the converted
 *    flow's is the older of its two last packets (seen_client,
 *    seen_backend), the latest the connection can have started, so its
 *    age is a lower bound of the real one, as for layout 1. The reply
 *    mappings (the IPv4 reply index, replies6) did not change: they are
 *    kept as the same maps, and still name the converted flows.
 *  - flows_new (value 48 -> 56 bytes): each half-open flow is copied;
 *    its start is its last packet (`seen`), the latest its handshake can
 *    have begun (a half-open flow lives seconds, so the error is small).
 *  - the routing element's issue 12 mode byte was padding in layout 2:
 *    zero, which reads NAT, as every layout 2 app was. Kept as it is.
 *
 * Every other map (settings with both seeds, interface roles, the reply
 * index, rings, backends, counters, ...) is this layout's and kept as
 * the very same map. The conversions run before the program is replaced
 * and again after (BPF_NOEXIST: flows the old program pinned in between
 * are added, flows already converted or pinned anew are left alone).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "lib_int.h"
#include "upgrade_int.h"

/* The maps whose meaning changed, as layout 2 pinned them (sized at
 * load). Layout 2's other maps have this layout's shapes. */
static const struct map_shape v2_maps[] = {
	{"flows4", BPF_MAP_TYPE_HASH, 16, 56, 0, 0},
	{"flows6", BPF_MAP_TYPE_HASH, 40, 72, 0, BPF_F_NO_PREALLOC},
	{"flows_new", BPF_MAP_TYPE_LRU_HASH, 40, 48, 0, BPF_F_NO_COMMON_LRU},
};

/* Its flow state (52 bytes): this layout's without `start`. */
struct v2_flow_state {
	__u16 backend_id, deployment_id, endpoint_id;
	__be16 backend_port;
	__u32 state;
	__u32 seen_client, seen_backend;
	__u32 ack_client, ack_backend, fin_client;
	__u32 nh_ifindex;
	__u8 nh_dmac[6], nh_smac[6];
	__u16 nh_mtu, pad;
};
_Static_assert(sizeof(struct v2_flow_state) == 52, "layout 2 flow state");

struct v2_flow4 {
	__be32 backend_addr;
	struct v2_flow_state s;
};
_Static_assert(sizeof(struct v2_flow4) == 56, "layout 2 flow4");

struct v2_flow6 {
	__be32 backend_addr[4];
	struct v2_flow_state s;
	__u32 pad;
};
_Static_assert(sizeof(struct v2_flow6) == 72, "layout 2 flow6");

/* Its half-open entry (key: the reply 5-tuple, as now). */
struct v2_flow_new {
	__be32 endpoint[4];
	__be16 endpoint_port;
	__u16 backend_id, deployment_id, endpoint_id;
	__u32 state, seen;
	__u32 client_seq, client_ack, backend_isn, backend_ack;
};
_Static_assert(sizeof(struct v2_flow_new) == 48, "layout 2 flow new");

/* The flow state bits, seen times, acknowledgements and cached next hop
 * carry over as they are: their meaning did not change. */
static void state_from_v2(const struct v2_flow_state *o,
			  struct slotlb_flow_state *s)
{
	memset(s, 0, sizeof(*s));
	s->backend_id = o->backend_id;
	s->deployment_id = o->deployment_id;
	s->endpoint_id = o->endpoint_id;
	s->backend_port = o->backend_port;
	s->state = o->state;
	s->seen_client = o->seen_client;
	s->seen_backend = o->seen_backend;
	/* no start in layout 2: the older of the two last packets */
	s->start = (int32_t)(o->seen_backend - o->seen_client) < 0
			   ? o->seen_backend
			   : o->seen_client;
	s->ack_client = o->ack_client;
	s->ack_backend = o->ack_backend;
	s->fin_client = o->fin_client;
	s->nh_ifindex = o->nh_ifindex;
	memcpy(s->nh_dmac, o->nh_dmac, sizeof(s->nh_dmac));
	memcpy(s->nh_smac, o->nh_smac, sizeof(s->nh_smac));
	s->nh_mtu = o->nh_mtu;
}

struct copy_ctx {
	int new_fd;
	int written;
};

/* Add value under key unless the new map has it (converted on the
 * first pass, or pinned anew by the new program). */
static int add(struct copy_ctx *c, const void *key, const void *value)
{
	if (bpf_map_update_elem(c->new_fd, key, value, BPF_NOEXIST))
		return errno == EEXIST ? 0 : -errno;
	c->written++;
	return 0;
}

static int flow4_cb(const void *key, const void *value, void *ctx)
{
	const struct v2_flow4 *o = value;
	struct slotlb_flow4 v;

	memset(&v, 0, sizeof(v));
	v.backend_addr = o->backend_addr;
	state_from_v2(&o->s, &v.s);
	return add(ctx, key, &v);
}

static int flow6_cb(const void *key, const void *value, void *ctx)
{
	const struct v2_flow6 *o = value;
	struct slotlb_flow6 v;

	memset(&v, 0, sizeof(v));
	memcpy(v.backend_addr, o->backend_addr, sizeof(v.backend_addr));
	state_from_v2(&o->s, &v.s);
	return add(ctx, key, &v);
}

static int flow_new_cb(const void *key, const void *value, void *ctx)
{
	const struct v2_flow_new *o = value;
	struct slotlb_flow_new v;

	memset(&v, 0, sizeof(v));
	memcpy(v.endpoint, o->endpoint, sizeof(v.endpoint));
	v.endpoint_port = o->endpoint_port;
	v.backend_id = o->backend_id;
	v.deployment_id = o->deployment_id;
	v.endpoint_id = o->endpoint_id;
	v.state = o->state;
	v.seen = o->seen;
	v.start = o->seen; /* no start in layout 2: its last packet */
	v.client_seq = o->client_seq;
	v.client_ack = o->client_ack;
	v.backend_isn = o->backend_isn;
	v.backend_ack = o->backend_ack;
	return add(ctx, key, &v);
}

static int walk(int old_fd, int new_fd, size_t key_size, size_t value_size,
		lib_entry_cb cb)
{
	struct copy_ctx c = {.new_fd = new_fd};
	int err;

	err = lib_map_walk(old_fd, key_size, value_size, cb, &c);
	return err < 0 ? err : c.written;
}

static int flows4_from_v2(struct slotlb *lb, struct lib_upgrade *u, int old_fd,
			  int new_fd)
{
	(void)lb;
	(void)u;
	return walk(old_fd, new_fd, sizeof(struct slotlb_flow4_key),
		    sizeof(struct v2_flow4), flow4_cb);
}

static int flows6_from_v2(struct slotlb *lb, struct lib_upgrade *u, int old_fd,
			  int new_fd)
{
	(void)lb;
	(void)u;
	return walk(old_fd, new_fd, sizeof(struct slotlb_flow_key),
		    sizeof(struct v2_flow6), flow6_cb);
}

static int flows_new_from_v2(struct slotlb *lb, struct lib_upgrade *u,
			     int old_fd, int new_fd)
{
	(void)lb;
	(void)u;
	return walk(old_fd, new_fd, sizeof(struct slotlb_flow_key),
		    sizeof(struct v2_flow_new), flow_new_cb);
}

static const struct migration v2_migrations[] = {
	{"flows_new", NULL, true, flows_new_from_v2},
	{"flows4", NULL, true, flows4_from_v2},
	{"flows6", NULL, true, flows6_from_v2},
};

const struct step lib_upgrade_from_v2 = {
	.from = 2,
	.legacy = false,
	.roles = true,
	.hash_seed = 0, /* its settings map, seeds and all, is kept */
	/* a flow it pinned during the upgrade: its half-open entry names
	 * the endpoint, and lingers once the flow is established */
	.flow_table = "flows_new",
	.legacy_map = "legacy_new",
	.maps = v2_maps,
	.n_maps = sizeof(v2_maps) / sizeof(v2_maps[0]),
	.migrations = v2_migrations,
	.n_migrations = sizeof(v2_migrations) / sizeof(v2_migrations[0]),
};
