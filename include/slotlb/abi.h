/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one header shared by bpf/ and user/: map keys and values, limits,
 * load-time flags and the reason enum. Every struct here is laid out by
 * hand (explicit padding) because both sides read the same bytes, and its
 * size is pinned by _Static_assert so a change is a conscious ABI change.
 *
 * Addresses are always 16 bytes: an IPv4 address sits in addr[0] with the
 * other three words zero, so one key type serves both families.
 */
#ifndef SLOTLB_ABI_H
#define SLOTLB_ABI_H

#include <linux/types.h>

/* bpffs directory holding every pinned map (flows survive reloads). */
#define SLOTLB_PIN_ROOT "/sys/fs/bpf/slotlb"

/* Name of the XDP program, used to tell our program from a foreign one. */
#define SLOTLB_PROG_NAME "slotlb_xdp"

/*
 * Version of the layout of the pinned maps: what every map holds (the
 * structs below), its key and value, type, flags and size. Pinned maps
 * outlive the program, so a build must know what it finds there: the
 * `layout` map records the version that pinned them. Change the meaning
 * of any of it, even at the same size, and bump this, and teach
 * user/lib/upgrade.c to convert the maps the change touches from every
 * layout it upgrades from (docs/datapath.md, Upgrades).
 *   1  release 69017f1 (pinned no `layout` map: known by its map shapes)
 *   2  traffic rules in the routing element (552 bytes, from 336)
 */
#define SLOTLB_LAYOUT_VERSION 2

/* Apps are indexed 0..MAX_APPS-1 in app_routing (8 bytes each); 4096
 * apps per host is far beyond one host's realistic tenant count and
 * costs 32 KiB there plus 4.5 MiB of routing pool. */
#ifndef SLOTLB_MAX_APPS
#define SLOTLB_MAX_APPS 4096
#endif

/* Routing elements: every app references one, and one that was just
 * replaced must sit out an RCU grace period before it is reused, so
 * twice the apps lets a grace period be waited for only once per
 * SLOTLB_MAX_APPS swaps. Index 0 means "no routing element". */
#define SLOTLB_ROUTING_POOL (2 * SLOTLB_MAX_APPS + 1)

/* Slots per app: Azure allows 20 on Premium plans; each slot costs 8
 * bytes in the routing element. */
#define SLOTLB_MAX_SLOTS 20

/* Endpoints (VIP:port/proto) across all apps and slots. */
#ifndef SLOTLB_MAX_ENDPOINTS
#define SLOTLB_MAX_ENDPOINTS 16384
#endif

/* Deployments alive at once (in a slot or draining); id 0 means "none". */
#ifndef SLOTLB_MAX_DEPLOYMENTS
#define SLOTLB_MAX_DEPLOYMENTS 4096
#endif

/* Backends alive at once across all deployments; id 0 is never used. */
#ifndef SLOTLB_MAX_BACKENDS
#define SLOTLB_MAX_BACKENDS 65536
#endif

/* Index of a deployment's ring of one family in deployment_rings. */
#define SLOTLB_RING_INDEX(deployment_id, is_ipv6) \
	((deployment_id)*2 + ((is_ipv6) ? 1 : 0))

/* Distinct backend addresses (a backend is an address and a port, so
 * many backends may share one). The set is looked up for every packet
 * that is not for an endpoint: at 4096 its buckets (64 KiB) stay in
 * cache, where 65536 made that lookup a cache miss and host traffic
 * ~50 ns slower per packet on this VM. */
#ifndef SLOTLB_MAX_BACKEND_ADDRS
#define SLOTLB_MAX_BACKEND_ADDRS 4096
#endif

/* Maglev lookup table size per deployment: prime, and >= 64x the backend
 * count we target (1000) so shares stay within ~2% of their weights. */
#ifndef SLOTLB_RING_SIZE
#define SLOTLB_RING_SIZE 65537
#endif

/* Traffic rules of an app (share of a slot's new clients sent to another
 * slot's deployment): Azure allows a rule per slot; 8 covers a production
 * split to several slots and costs 64 bytes of the routing element. */
#define SLOTLB_MAX_SPLITS 8

/* Audience prefixes of an app (opt-in clients and a preview audience):
 * each is a few compares on a new flow of its slot, so the bound keeps
 * the new-flow path short; 16 is several teams' office ranges. */
#define SLOTLB_MAX_AUDIENCE 16

/* Traffic shares are in basis points of the client-address hash space. */
#define SLOTLB_SHARE_SCALE 10000

/* Default concurrent flows; the flow map holds two entries per flow
 * (forward and reply), so it is sized 2 * capacity. */
#define SLOTLB_DEFAULT_FLOW_CAPACITY 1048576

/* Default idle timeout of a UDP flow and linger of a closed TCP flow. */
#define SLOTLB_DEFAULT_UDP_TIMEOUT_S 30
#define SLOTLB_DEFAULT_TCP_CLOSED_TIMEOUT_S 10

/* How long a flow reuses the next hop bpf_fib_lookup gave it before it
 * asks again: a route or neighbour change reaches flows within this. */
#define SLOTLB_DEFAULT_NEXTHOP_TTL_MS 1000

/* Version label of a deployment, NUL-terminated. */
#define SLOTLB_VERSION_LEN 32

/* Non-SYN TCP packet to an endpoint with no flow entry. */
enum slotlb_nonsyn_policy {
	/* Pick a backend of the slot's current deployment by Maglev, as a
	 * new flow would, and pin it; survives a lost flow entry as long as
	 * the slot's deployment is unchanged (Katran's behaviour). */
	SLOTLB_NONSYN_HASH = 0,
	/* Drop it: strict, a backend never sees a mid-stream packet it did
	 * not start. */
	SLOTLB_NONSYN_DROP = 1,
};

/*
 * Why the program gave the verdict it gave. Every packet is counted under
 * exactly one reason, so the sum over reasons is the packets seen.
 */
enum slotlb_reason {
	SLOTLB_REASON_FORWARD = 0, /* client->backend, rewritten and sent */
	SLOTLB_REASON_REPLY, /* backend->client, rewritten and sent */
	SLOTLB_REASON_FORWARD_NONSYN, /* non-SYN miss, forwarded by policy */
	SLOTLB_REASON_PASS_NOT_IP, /* not IPv4/IPv6: kernel's business */
	SLOTLB_REASON_PASS_NOT_ENDPOINT, /* not for us: passed untouched */
	SLOTLB_REASON_PASS_NO_NEIGH, /* rewritten, kernel resolves next hop */
	SLOTLB_REASON_PASS_TTL, /* TTL/hop limit expiring: kernel sends ICMP */
	SLOTLB_REASON_PASS_FRAG_NEEDED, /* exceeds egress MTU: kernel's ICMP */
	SLOTLB_REASON_DROP_TRUNCATED, /* header runs past the packet's end */
	SLOTLB_REASON_DROP_MALFORMED, /* bad IHL, version, length or doff */
	SLOTLB_REASON_DROP_IP_OPTIONS, /* IPv4 options to an endpoint */
	SLOTLB_REASON_DROP_FRAGMENT, /* IP fragment to an endpoint address */
	SLOTLB_REASON_DROP_NO_DEPLOYMENT, /* the endpoint's slot is empty */
	SLOTLB_REASON_DROP_NO_BACKEND, /* ring or backend missing */
	SLOTLB_REASON_DROP_NONSYN_MISS, /* non-SYN miss under the drop policy */
	SLOTLB_REASON_DROP_FLOW_TABLE, /* flow entry could not be written */
	SLOTLB_REASON_DROP_FIB, /* no route to the backend or client */
	SLOTLB_REASON_MAX,
};

/* Value of the `layout` map: which layout pinned the maps. */
struct slotlb_layout {
	__u32 version; /* SLOTLB_LAYOUT_VERSION of the build */
	__u32 fingerprint; /* of its maps' shapes (user/lib/upgrade.c): a
			    * build that changed a map without bumping the
			    * version is refused rather than misread */
};
_Static_assert(sizeof(struct slotlb_layout) == 8, "layout");

/* Endpoint: where clients connect. Key of the endpoints map. */
struct slotlb_endpoint_key {
	__be32 addr[4]; /* endpoint address (IPv4 in addr[0]) */
	__be16 port; /* endpoint port */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* AF_INET or AF_INET6 */
};
_Static_assert(sizeof(struct slotlb_endpoint_key) == 20, "endpoint key");

/* What an endpoint leads to: one slot of one app. */
struct slotlb_endpoint {
	__u32 app_id; /* index into app_routing */
	__u32 slot; /* index into slotlb_routing.deployment */
	__u32 endpoint_id; /* index into endpoint_stats */
	__u32 pad; /* zero */
};
_Static_assert(sizeof(struct slotlb_endpoint) == 16, "endpoint");

/* Key of endpoint_addrs: an address that carries at least one endpoint. */
struct slotlb_addr_key {
	__be32 addr[4]; /* IPv4 in addr[0] */
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 pad[3]; /* zero */
};
_Static_assert(sizeof(struct slotlb_addr_key) == 20, "addr key");

/*
 * A traffic rule: a new flow arriving on an endpoint of from_slot whose
 * client bucket falls in [from, to) is sent to the deployment of
 * to_slot. The bucket is the client-address hash scaled to
 * [0, SLOTLB_SHARE_SCALE) (bpf/select.bpf.h client_bucket(), reproduced
 * by slotlb_client_bucket() in user/lib/traffic.c). The hash covers the
 * source address only, so a client stays on one slot for every
 * connection while the rules are unchanged. The controller lays the
 * ranges out; they never overlap for one from_slot.
 */
struct slotlb_split {
	__u16 from; /* first hash value of the share */
	__u16 to; /* one past the last; from == to: no share */
	__u8 from_slot; /* slot whose endpoints the rule applies to */
	__u8 to_slot; /* slot whose deployment receives the share */
	__u8 pad[2]; /* zero */
};
_Static_assert(sizeof(struct slotlb_split) == 8, "split");

/* An audience prefix: new flows from it arriving on from_slot's endpoints
 * go to to_slot's deployment, whatever the shares say (opt-in, preview;
 * to_slot == from_slot opts its clients out of the shares). If several
 * match, the longest wins; of equally long ones, the first in the array. */
struct slotlb_prefix {
	__be32 addr[4]; /* IPv4 in addr[0]; host bits zero */
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 len; /* prefix length */
	__u8 from_slot; /* slot whose endpoints the prefix applies to */
	__u8 to_slot; /* slot whose deployment the audience sees */
};
_Static_assert(sizeof(struct slotlb_prefix) == 20, "prefix");

/*
 * Routing element of an app: the whole slot -> deployment table, the
 * previous deployment of each slot (second chance for a flow that lost
 * its entry across a swap), traffic rules and audiences. It lives in
 * routing_pool; app_routing[app] holds its index. A change writes a new
 * element into a free pool entry (no reader can reach it yet), then
 * replaces the app's index (8 bytes) with one aligned store, so a reader
 * sees the whole old or the whole new element. An entry is written only
 * when no reader can hold it: never while referenced, and only after an
 * RCU grace period has passed since it was last referenced.
 */
struct slotlb_routing {
	__u32 generation; /* bumped by the controller on every change */
	__u8 split_count; /* used entries of split[] */
	__u8 audience_count; /* used entries of audience[] */
	__u8 pad[2]; /* zero */
	/* The counts come first, in the cache line of deployment[0..13]:
	 * a new flow of an app without rules reads that one line only. */
	__u32 deployment[SLOTLB_MAX_SLOTS]; /* per slot; 0 = empty slot */
	__u32 previous[SLOTLB_MAX_SLOTS]; /* per slot: before the last
					   * change; 0 = none */
	struct slotlb_split split[SLOTLB_MAX_SPLITS];
	struct slotlb_prefix audience[SLOTLB_MAX_AUDIENCE];
};
_Static_assert(sizeof(struct slotlb_routing) == 552, "routing element");
_Static_assert(__builtin_offsetof(struct slotlb_routing, deployment) == 8,
	       "routing element: counts share deployment[0]'s cache line");

/* A backend: where flows are sent. Never rewritten while referenced. */
struct slotlb_backend {
	__be32 addr[4]; /* backend address (IPv4 in addr[0]) */
	__be16 port; /* backend port */
	__u8 family; /* AF_INET or AF_INET6; 0 = unused id */
	__u8 pad; /* zero */
};
_Static_assert(sizeof(struct slotlb_backend) == 20, "backend");

/* Metadata of a deployment; only userspace reads it, so the pinned maps
 * describe themselves. */
struct slotlb_deployment_info {
	__u32 app_id; /* app the deployment belongs to */
	__u32 backend_count; /* backends in its ring */
	char version[SLOTLB_VERSION_LEN]; /* version label */
};
_Static_assert(sizeof(struct slotlb_deployment_info) == 40, "deployment info");

/* Key of the flow table: the 5-tuple as seen on the wire. */
struct slotlb_flow_key {
	__be32 src[4]; /* source address (IPv4 in src[0]) */
	__be32 dst[4]; /* destination address */
	__be16 sport; /* source port */
	__be16 dport; /* destination port */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 pad[2]; /* zero */
};
_Static_assert(sizeof(struct slotlb_flow_key) == 40, "flow key");

#define SLOTLB_FLOW_FORWARD 0 /* client -> endpoint entry */
#define SLOTLB_FLOW_REPLY 1 /* backend -> client entry */

#define SLOTLB_FLOW_FIN_CLIENT 0x01 /* client sent FIN */
#define SLOTLB_FLOW_FIN_BACKEND 0x02 /* backend sent FIN */
#define SLOTLB_FLOW_RST 0x04 /* either side sent RST */

/*
 * A flow entry. The forward entry pins the backend (its address is kept
 * here, so the flow outlives its deployment); the reply entry holds the
 * endpoint to restore as source. Each entry caches the next hop of its
 * direction for SLOTLB_DEFAULT_NEXTHOP_TTL_MS, so established packets
 * skip the FIB lookup.
 */
struct slotlb_flow {
	__be32 addr[4]; /* forward: backend addr; reply: endpoint addr */
	__be16 port; /* forward: backend port; reply: endpoint port */
	__u8 direction; /* SLOTLB_FLOW_FORWARD or SLOTLB_FLOW_REPLY */
	__u8 state; /* SLOTLB_FLOW_FIN_* and SLOTLB_FLOW_RST bits */
	__u32 backend_id; /* for backend_stats and drain accounting */
	__u32 deployment_id; /* deployment the flow was pinned under */
	__u32 endpoint_id; /* for endpoint_stats */
	__u64 last_seen_ns; /* CLOCK_MONOTONIC, 1 s resolution */
	__u32 nh_ifindex; /* cached next hop: egress, 0 = none */
	__u8 nh_dmac[6]; /* cached next hop: destination MAC */
	__u8 nh_smac[6]; /* cached next hop: source MAC */
	__u64 nh_time_ns; /* when bpf_fib_lookup gave the next hop */
};
_Static_assert(sizeof(struct slotlb_flow) == 64, "flow");

/* Per-CPU counters of an endpoint, deployment or backend. */
struct slotlb_counters {
	__u64 packets; /* packets, both directions */
	__u64 bytes; /* bytes, both directions */
	__u64 new_flows; /* flows pinned */
};
_Static_assert(sizeof(struct slotlb_counters) == 24, "counters");

/* Per-CPU counter of one reason. */
struct slotlb_reason_counter {
	__u64 packets;
	__u64 bytes;
};

#endif /* SLOTLB_ABI_H */
