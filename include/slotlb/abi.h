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
 * user/lib/upgrade*.c to convert the maps the change touches from every
 * layout it upgrades from (docs/datapath.md, Upgrades).
 *   1  release 69017f1 (pinned no `layout` map: known by its map shapes)
 *   2  issue 10's two-stage flow table (flows4/flows6, reply index,
 *      replies6, flows_new), roles, settings, fragments; issue 8's
 *      traffic rules and audiences in the routing element (552 bytes,
 *      from 336); issue 9's backend_health, deployment_tcp and
 *      backend_drain; main at 821e6af, the last build before 3
 *   3  a flow's start time (slotlb_flow_state.start: flows4 value 60
 *      bytes, from 56; flows6 72 with start in place of its padding;
 *      slotlb_flow_new.start: flows_new value 56, from 48); issue
 *      12's app mode in the routing element (a byte that was padding:
 *      zero reads NAT); upgrade_v1.c converts layout 1,
 *      upgrade_v2.c layout 2
 */
#define SLOTLB_LAYOUT_VERSION 3

/* Apps are indexed 0..MAX_APPS-1 in app_routing (8 bytes each); 4096
 * apps per host is far beyond one host's realistic tenant count and
 * costs 32 KiB there plus 4.5 MiB of routing pool. */
#ifndef SLOTLB_MAX_APPS
#define SLOTLB_MAX_APPS 4096
#endif
/* app_routing[app]: the element's index (low half), and the index of the
 * element before the last change, a hint (high half; struct
 * slotlb_routing). */
#define SLOTLB_ROUTING_INDEX(ref) ((__u32)(ref))
#define SLOTLB_ROUTING_BEFORE(ref) ((__u32)((ref) >> 32))

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

/* Default concurrent established flows (each family's table holds this
 * many). A flow costs one entry in flows4 or flows6 plus its reply
 * mapping (docs/datapath.md, "Memory"). */
#define SLOTLB_DEFAULT_FLOW_CAPACITY 1048576

/* The half-open stage (flows_new) holds flows that are not verified yet:
 * handshakes in progress, first UDP datagrams, second chances. It is an
 * LRU, so a flood of unverified packets churns it and nothing else; an
 * eighth of the established capacity holds ~100k handshakes at 1M. */
#define SLOTLB_HALF_OPEN_DIVISOR 8
#define SLOTLB_MIN_HALF_OPEN 1024

/* Idle timeouts, seconds. UDP: a flow without a packet either way for
 * this long re-selects a backend. Established TCP: RFC 5382 (REQ-5)
 * asks a NAT to keep an idle established connection at least 2 h 4 min,
 * which outlives the 2 h of TCP keepalive's first probe. Half-closed
 * (one side's FIN accepted): Linux conntrack's FIN_WAIT. Closed (both
 * FINs or an accepted RST): the linger that lets last ACKs and
 * retransmitted FINs find their flow. Handshake: a half-open TCP flow
 * whose SYN (or second chance) was not answered, refreshed by each
 * retransmission. */
#define SLOTLB_DEFAULT_UDP_TIMEOUT_S 30
#define SLOTLB_DEFAULT_TCP_TIMEOUT_S 7440
#define SLOTLB_DEFAULT_TCP_HALF_CLOSED_TIMEOUT_S 120
#define SLOTLB_DEFAULT_TCP_CLOSED_TIMEOUT_S 10
#define SLOTLB_DEFAULT_TCP_HANDSHAKE_TIMEOUT_S 30

/* How long a next hop from bpf_fib_lookup is reused before the program
 * asks again: a route or neighbour change reaches flows within this. */
#define SLOTLB_DEFAULT_NEXTHOP_TTL_MS 1000

/* Per-CPU next hops toward backends, indexed by backend id modulo this:
 * 4096 x 32 B stays in a CPU's cache; two live backends sharing a slot
 * only cost an extra FIB lookup now and then. */
#define SLOTLB_NEXTHOP_SLOTS 4096

/* Slots of the interface role table, indexed by ifindex modulo this. */
#define SLOTLB_MAX_IFACES 1024

/* In-flight IP datagrams whose first fragment was seen (fragments). */
#ifndef SLOTLB_MAX_FRAGMENTS
#define SLOTLB_MAX_FRAGMENTS 16384
#endif
/* A later fragment is matched to its first for this long (the kernel's
 * default ipfrag_time). */
#define SLOTLB_FRAGMENT_TIMEOUT_S 30

/* Reply index (IPv4): one 64-byte bucket of 8 words per 4 flows of
 * capacity, so the index is half full when the table is full. */
#define SLOTLB_REPLY_BUCKET_WORDS 8
#define SLOTLB_REPLY_FLOWS_PER_BUCKET 4

/* RST and FIN acceptance: a segment may lead the peer's last
 * acknowledgement by at most the largest TCP window (65535 << 14). */
#define SLOTLB_TCP_MAX_WINDOW (1U << 30)

/* Version label of a deployment, NUL-terminated. */
#define SLOTLB_VERSION_LEN 32

/* Non-SYN TCP packet to an endpoint with no flow entry. */
enum slotlb_nonsyn_policy {
	/* Second chance: try the backend the slot's previous deployment
	 * would have chosen (if the slot changed), else the current one's;
	 * the flow is pinned once that backend answers with anything but a
	 * RST. A RST from the previous deployment's backend is kept from the
	 * client, whose retransmission then tries the current deployment. */
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
	SLOTLB_REASON_FORWARD_ICMP, /* ICMP error about a flow, to its backend
				     */
	SLOTLB_REASON_REPLY_ICMP, /* ICMP error about a flow, to its client */
	SLOTLB_REASON_TX_ECHO, /* echo request to an endpoint address answered
				*/
	SLOTLB_REASON_TX_FRAG_NEEDED, /* too big for the next hop: ICMP sent */
	SLOTLB_REASON_TX_RST_BACKEND_DOWN, /* a TCP flow's backend failed its
					    * health checks: RST to the
					    * client (SLOTLB_HEALTH_TCP_RESET)
					    */
	SLOTLB_REASON_TX_DRAIN_RESET, /* client's packet of a flow whose
				       * drain ran out: answered with a RST */
	SLOTLB_REASON_PASS_NOT_IP, /* not IPv4/IPv6: kernel's business */
	SLOTLB_REASON_PASS_NOT_ENDPOINT, /* not for us: passed untouched */
	SLOTLB_REASON_PASS_NO_NEIGH, /* rewritten, kernel resolves next hop */
	SLOTLB_REASON_PASS_TTL, /* TTL/hop limit expiring: kernel sends ICMP */
	SLOTLB_REASON_PASS_FRAG_NEEDED, /* too big, not DF: kernel fragments */
	SLOTLB_REASON_DROP_TRUNCATED, /* header runs past the packet's end */
	SLOTLB_REASON_DROP_MALFORMED, /* bad IHL, version, length or doff */
	SLOTLB_REASON_DROP_IP_OPTIONS, /* IPv4 options to an endpoint */
	SLOTLB_REASON_DROP_FRAGMENT, /* fragment whose first one is unknown */
	SLOTLB_REASON_DROP_NO_DEPLOYMENT, /* the endpoint's slot is empty */
	SLOTLB_REASON_DROP_NO_BACKEND, /* ring or backend missing */
	SLOTLB_REASON_DROP_NONSYN_MISS, /* non-SYN miss under the drop policy */
	SLOTLB_REASON_DROP_FLOW_TABLE, /* flow entry could not be written */
	SLOTLB_REASON_DROP_FIB, /* no route to the backend or client */
	SLOTLB_REASON_DROP_WINDOW, /* RST or FIN outside the flow's window */
	SLOTLB_REASON_DROP_WRONG_SIDE, /* flow packet from the other side */
	SLOTLB_REASON_DROP_REPLY_COLLISION, /* backend already has this client
					     * address:port in another flow */
	SLOTLB_REASON_DROP_SECOND_CHANCE, /* RST of a refused second chance */
	SLOTLB_REASON_DROP_ICMP, /* ICMP to an endpoint address about no
				  * flow, or malformed */
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

/*
 * Flow events: what happened to flows, apart from the one reason each
 * packet is counted under (a packet may cause an event and still be
 * forwarded).
 */
enum slotlb_event {
	SLOTLB_EVENT_PROMOTED = 0, /* half-open flow verified: established */
	SLOTLB_EVENT_TABLE_FULL, /* verified, but the established table is
				  * full: the flow stays half-open */
	SLOTLB_EVENT_INDEX_FULL, /* verified, but its reply-index buckets are
				  * full: the flow stays half-open */
	SLOTLB_EVENT_SECOND_CHANCE, /* non-SYN miss sent to the backend of
				     * the slot's previous deployment */
	SLOTLB_EVENT_RST_IGNORED, /* RST in window but not exact: forwarded,
				   * the flow stays pinned (RFC 5961) */
	SLOTLB_EVENT_REPLY_RESTORED, /* lost reply mapping rewritten from the
				      * established entry */
	SLOTLB_EVENT_SUPERSEDED, /* a new handshake on a pinned 5-tuple */
	SLOTLB_EVENT_FRAGMENT_TRACKED, /* first fragment of a datagram seen */
	SLOTLB_EVENT_MAX,
};

/* Roles of an interface (bits): the public role faces clients (the
 * untrusted side), the backend role faces backends. A one-armed
 * balancer gives its interface both. An interface the program does not
 * know is treated as public only. */
enum slotlb_role {
	SLOTLB_ROLE_PUBLIC = 1,
	SLOTLB_ROLE_BACKEND = 2,
};

/* An interface's role; element ifindex % SLOTLB_MAX_IFACES of ifaces. */
struct slotlb_iface {
	__u32 ifindex; /* owner of the element; 0 = none */
	__u32 role; /* SLOTLB_ROLE_* bits */
};
_Static_assert(sizeof(struct slotlb_iface) == 8, "iface");

/* Settings of the install: element 0 of the settings map. */
struct slotlb_settings {
	__u32 hash_seed; /* Maglev flow hash seed: per install, the same on
			  * every node of a fleet; settable */
	__u32 index_seed; /* reply index hash seed: per node, set once when
			   * the index is created */
};
_Static_assert(sizeof(struct slotlb_settings) == 8, "settings");

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

/* Value of endpoint_addrs: endpoints on the address, plus this bit while
 * flows pinned to a deleted endpoint still use it. */
#define SLOTLB_ADDR_RETIRED 0x80000000U

/*
 * The endpoint-address filter (map endpoint_filter): a bit per hash of an
 * address, set (by libslotlb, with an atomic OR on its mapping) before the
 * address enters endpoint_addrs, and never cleared while the map stays
 * pinned: a clear bit means "no endpoint address", so traffic for no
 * endpoint costs one array read; a set bit, or a stale one, only sends
 * the packet on to the exact lookup. Word 0 holds SLOTLB_FILTER_VALID
 * once every address of endpoint_addrs has its bit (slotlb_open fills it
 * before its program can run); until then the program asks
 * endpoint_addrs only. Word 1 is SLOTLB_FILTER_CHECKS, below: it shares
 * word 0's cache line, which every packet reads anyway. Words
 * 2..SLOTLB_FILTER_WORDS + 1 are the bits.
 */
#define SLOTLB_FILTER_WORDS 1024 /* 65,536 bits, 8 KiB */
#define SLOTLB_FILTER_VALID 0x736c6f746c62ULL /* "slotlb" */

/*
 * Word 1 of endpoint_filter, the checks word: bit 0 (SLOTLB_CHECKS_CLEAR)
 * is set only while no backend is down (backend_health) or has a drain
 * reset rate (backend_drain); then an established flow's packet skips
 * both backend reads, which nearly every packet did for nothing. The
 * word is "armed" while the bit is clear, which is also how a map fresh
 * from the kernel (all zero) reads, so the program needs no word 0 to
 * trust it. The bits above bit 0 count changes (a generation, so a
 * writer setting the bit never undoes another's concurrent arming: it
 * sets it with a compare-and-swap on the value it read before its scan).
 * libslotlb arms it after writing a down mark or a reset rate, clears it
 * after writing the last one away, and every slotlb_open sets it from a
 * scan of both maps (a writer that died between its two steps, a build
 * without the word). Derived, like the bits: no part of the pinned
 * layout.
 */
#define SLOTLB_FILTER_CHECKS 1
#define SLOTLB_CHECKS_CLEAR 1ULL

/* The filter's bit of an address: word (2..SLOTLB_FILTER_WORDS + 1) and bit
 * (0..63). Shared by the program and libslotlb. */
static inline __u32 slotlb_filter_bit(const __be32 *addr, __u8 family)
{
	__u64 x = ((__u64)addr[0] << 32 | addr[1]) ^
		  ((__u64)addr[2] << 32 | addr[3]) * 0x9e3779b97f4a7c15ULL;

	x = (x ^ family) * 0xff51afd7ed558ccdULL;
	return (__u32)(x >> 48);
}

#define SLOTLB_FILTER_WORD(bit) (2 + ((bit) >> 6))
#define SLOTLB_FILTER_MASK(bit) (1ULL << ((bit)&63))
_Static_assert(SLOTLB_FILTER_WORDS * 64 == 65536, "a bit per 16-bit hash");

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
 * Forwarding mode of an app (slotlb_routing.mode), fixed when the app is
 * created (docs/dsr.md).
 */
enum slotlb_mode {
	/* The balancer rewrites the destination toward the backend and the
	 * source of its replies back to the endpoint: replies come back
	 * through the balancer, which is the backends' gateway. */
	SLOTLB_MODE_NAT = 0,
	/* Direct server return: the client's packet, untouched, is
	 * encapsulated in GUE over UDP toward the backend (struct
	 * slotlb_gue), whose decapsulation program (slotlb backend-agent)
	 * delivers it to the endpoint address on its loopback; the backend
	 * answers the client directly. IPv4 endpoints only. */
	SLOTLB_MODE_DSR = 1,
};

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
 *
 * app_routing[app] = index | (index of the element before the last
 * change << 32). The high half is a hint, not a reference: that entry
 * waits and is reused like any replaced one, so a reader may find it
 * rewritten or torn. The data path reads it only to find a half-open
 * flow begun under the element before (a handshake that crossed a
 * change), where a wrong guess costs a lookup that misses; nothing is
 * routed by it.
 */
struct slotlb_routing {
	__u32 generation; /* bumped by the controller on every change */
	__u8 split_count; /* used entries of split[] */
	__u8 audience_count; /* used entries of audience[] */
	__u8 mode; /* enum slotlb_mode of the app; was padding (zero), so
		    * an element written before modes existed reads NAT */
	__u8 pad; /* zero */
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

/*
 * Direct server return: the encapsulation. A client's IPv4 packet to an
 * endpoint of a DSR app leaves the balancer as
 *   Ethernet | outer IPv4 | UDP | struct slotlb_gue | the packet as it came
 * Outer IPv4: from the endpoint address to the first candidate backend,
 * DF set, TTL 64, ID 0, TOS of the inner packet. UDP: source port from
 * the flow's hash (49152-65535, so ECMP and RSS between balancer and
 * backend spread flows while a flow keeps its path), destination
 * SLOTLB_GUE_PORT, checksum 0 (allowed over IPv4; the inner packet keeps
 * its own checksums). GUE (draft-ietf-intarea-gue, variant 0): no
 * optional fields, then slotlb's private data: the second candidate,
 * where the backend agent sends a packet that no local socket owns.
 */
#define SLOTLB_GUE_PORT 6080 /* the port fou/GUE deployments commonly use */
#define SLOTLB_GUE_MAGIC 0x534c /* "SL": the private data is slotlb's */

struct slotlb_gue {
	__u8 hlen; /* version 0 (bits 7-6), control 0 (bit 5) and the
		    * length of the rest of the header in 4-byte words
		    * (bits 4-0): 5, the private data below */
	__u8 proto; /* inner protocol: IPPROTO_IPIP (4) */
	__be16 flags; /* zero: no optional fields */
	__be16 magic; /* SLOTLB_GUE_MAGIC */
	__u8 hops; /* 1: second[] is a candidate the backend agent may send
		    * the packet on to; 0: none, deliver here */
	__u8 pad; /* zero */
	__be32 second[4]; /* the second candidate (IPv4 in second[0]): the
			   * backend the slot's previous deployment chose, or
			   * the current deployment's when the flow table
			   * pinned the flow elsewhere */
};
_Static_assert(sizeof(struct slotlb_gue) == 24, "gue header");

/* Bytes the balancer puts before a DSR packet: outer IPv4, UDP, GUE. A
 * backend's link needs an MTU this much larger than the clients' path
 * MTU, or the balancer answers ICMP "fragmentation needed" with this
 * much less (docs/dsr.md, MTU). */
#define SLOTLB_DSR_OVERHEAD (20 + 8 + 24)

/* Flows of DSR apps pinned to their backend, on this balancer (an LRU;
 * not pinned in bpffs: a node that lost it, or never saw the flow,
 * relies on second chance, docs/dsr.md). */
#ifndef SLOTLB_DSR_FLOWS
#define SLOTLB_DSR_FLOWS 131072
#endif

/* Value of dsr_flows (key: struct slotlb_flow_key, client -> endpoint). */
struct slotlb_dsr_flow {
	__be32 backend_addr[4]; /* IPv4 in [0] */
	__u16 backend_id; /* for backend_stats */
	__u16 deployment_id; /* for deployment_stats */
	__u32 seen; /* jiffies of the client's last packet */
};
_Static_assert(sizeof(struct slotlb_dsr_flow) == 24, "dsr flow");

/*
 * Why the backend agent's decapsulation program (bpf/backend_agent.bpf.c)
 * gave its verdict: element of its agent_stats map.
 */
enum slotlb_agent_reason {
	SLOTLB_AGENT_PASS = 0, /* not GUE to SLOTLB_GUE_PORT: untouched */
	SLOTLB_AGENT_DELIVER, /* decapsulated, to the local stack */
	SLOTLB_AGENT_DELIVER_OWNED, /* non-SYN, a local socket owns it */
	SLOTLB_AGENT_FORWARD, /* non-SYN no local socket owns: sent on to
			       * the second candidate */
	SLOTLB_AGENT_PASS_NO_NEIGH, /* to the second candidate through the
				     * kernel (neighbour unresolved) */
	SLOTLB_AGENT_DROP_MALFORMED, /* GUE to our port, but not ours or
				      * broken */
	SLOTLB_AGENT_DROP_NOT_ENDPOINT, /* inner destination is none of the
					 * endpoints it was given */
	SLOTLB_AGENT_DROP_FIB, /* no route to the second candidate */
	SLOTLB_AGENT_REASON_MAX,
};

/* A backend: where flows are sent. Never rewritten while referenced. */
struct slotlb_backend {
	__be32 addr[4]; /* backend address (IPv4 in addr[0]) */
	__be16 port; /* backend port */
	__u8 family; /* AF_INET or AF_INET6; 0 = unused id */
	__u8 pad; /* zero */
};
_Static_assert(sizeof(struct slotlb_backend) == 20, "backend");

/*
 * Drain state of a backend: element backend id of backend_drain. The
 * controller sets reset_rate once the backend's drain deadline passed
 * with the reset policy (its deployment's drain timeout, or its own
 * `backend drain --timeout`): then the client's next packet of each of
 * its pinned TCP flows is answered with a RST (XDP_TX) and the flow is
 * closed, at most reset_rate a second; a packet over the budget is
 * forwarded as usual and the flow's next packet tries again. Whether a
 * backend takes new flows is its ring weight, not this. Written whole
 * by the controller (reset_rate is the only word it sets; a torn read
 * of window/used costs at most a few resets more or less in a second).
 */
struct slotlb_backend_drain {
	__u32 reset_rate; /* resets a second; 0 = forward its flows (leave) */
	__u32 window; /* jiffies when the current second's budget began */
	__u32 used; /* resets sent in that second (atomic add) */
	__u32 pad; /* zero */
};
_Static_assert(sizeof(struct slotlb_backend_drain) == 16, "backend drain");

/*
 * Health of a backend as its live probes found it (slotlbd's health
 * checks): element backend id of backend_health. A backend that is down
 * has already left its deployment's ring (a new ring was published
 * without it before this was written), so new flows never reach it;
 * this tells the program what to do with the flows still pinned to it.
 * Written by one 4-byte store, so a reader sees the old or the new
 * value; slotlb_backend_set() writes it up whenever an id is (re)used.
 */
enum slotlb_health_tcp {
	/* Pinned TCP flows keep going to the backend: a server that is
	 * only failing its probes may still finish them. */
	SLOTLB_HEALTH_TCP_LEAVE = 0,
	/* The client's next packet of a pinned TCP flow is answered with a
	 * RST from the endpoint (XDP_TX), so it reconnects at once (to a
	 * healthy backend) instead of timing out on a dead one. */
	SLOTLB_HEALTH_TCP_RESET = 1,
};

struct slotlb_backend_health {
	__u8 down; /* 1: failed its checks and left the ring; 0: up */
	__u8 tcp; /* enum slotlb_health_tcp: pinned TCP flows while down
		   * (pinned UDP flows always choose again from the ring) */
	__u8 pad[2]; /* zero */
};
_Static_assert(sizeof(struct slotlb_backend_health) == 4, "backend health");

/*
 * Per-CPU TCP counts of a deployment (element deployment id of
 * deployment_tcp), which a swap's verification turns into ratios: the
 * balancer sees both halves of a NAT flow, so it can tell a backend that
 * refuses or resets from one that answers. A handshake that did not
 * complete is handshakes - synacks, read after the SYN-ACK had time to
 * come.
 */
struct slotlb_deployment_tcp {
	__u64 handshakes; /* client SYNs that opened a half-open flow to one
			   * of its backends (retransmissions not counted) */
	__u64 synacks; /* first SYN-ACK answering such a handshake */
	__u64 backend_resets; /* RSTs its backends sent on tracked flows */
};
_Static_assert(sizeof(struct slotlb_deployment_tcp) == 24, "deployment tcp");

/* Metadata of a deployment; only userspace reads it, so the pinned maps
 * describe themselves. */
struct slotlb_deployment_info {
	__u32 app_id; /* app the deployment belongs to */
	__u32 backend_count; /* backends in its ring */
	char version[SLOTLB_VERSION_LEN]; /* version label */
};
_Static_assert(sizeof(struct slotlb_deployment_info) == 40, "deployment info");

/* A 5-tuple as seen on the wire: the key of flows6 (client -> endpoint),
 * of replies6 and of the half-open stage (backend -> client). */
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

/* Key of flows4: an IPv4 client -> endpoint 5-tuple, small so the table
 * hashes 16 bytes and its entries stay small. */
struct slotlb_flow4_key {
	__be32 client; /* client address */
	__be32 endpoint; /* endpoint address */
	__be16 client_port;
	__be16 endpoint_port;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[3]; /* zero */
};
_Static_assert(sizeof(struct slotlb_flow4_key) == 16, "flow4 key");

/* Flow state bits (slotlb_flow_state.state, slotlb_flow_new.state),
 * only ever changed with atomic operations once an entry is visible. */
#define SLOTLB_FLOW_FIN_CLIENT 0x01 /* client sent a FIN in window */
#define SLOTLB_FLOW_FIN_BACKEND 0x02 /* backend sent a FIN in window */
#define SLOTLB_FLOW_RST 0x04 /* a RST was accepted: closed */
#define SLOTLB_FLOW_FIN_ACKED                        \
	0x08 /* the backend acknowledged exactly the \
	      * client's FIN */
#define SLOTLB_FLOW_CLIENT_BACKSIDE             \
	0x10 /* the client came in on a backend \
	      * interface (a backend as client) */
#define SLOTLB_FLOW_SUPERSEDED                       \
	0x20 /* a backend answered a new SYN on this \
	      * 5-tuple: the next handshake ACK may  \
	      * replace the entry */
/* Half-open stage only. */
#define SLOTLB_FLOW_SYN 0x100 /* started by a SYN */
#define SLOTLB_FLOW_SYNACK 0x200 /* the backend's SYN-ACK was seen */
#define SLOTLB_FLOW_TRIAL                          \
	0x400 /* started by a non-SYN miss (second \
	       * chance): promoted by a non-RST answer */
#define SLOTLB_FLOW_TRIAL_PREVIOUS            \
	0x800 /* the trial targets the slot's \
	       * previous deployment */
#define SLOTLB_FLOW_REFUSED 0x1000 /* the trial's backend answered RST */
#define SLOTLB_FLOW_VERIFIED                         \
	0x2000 /* verified, promotion refused (table \
		* full): promote when there is room */
#define SLOTLB_FLOW_PROMOTED 0x4000 /* has an established entry */

/*
 * State of an established flow, both families. The client side's and
 * the backend side's fields are written only by packets from that side
 * (RFC 5961-style checks compare a RST's sequence number with the last
 * acknowledgement of the other side, which only that side can move).
 */
struct slotlb_flow_state {
	__u16 backend_id; /* for backend_stats and next hops */
	__u16 deployment_id; /* deployment the flow was pinned under */
	__u16 endpoint_id; /* for endpoint_stats */
	__be16 backend_port; /* backend port */
	__u32 state; /* SLOTLB_FLOW_* bits */
	__u32 seen_client; /* jiffies of the client's last packet (1 s) */
	__u32 seen_backend; /* jiffies of the backend's last packet (1 s);
			     * also when the next hop below was looked up */
	__u32 start; /* jiffies of the flow's first packet (its half-open
		      * entry's start); written once, at promotion */
	__u32 ack_client; /* highest acknowledgement the client sent */
	__u32 ack_backend; /* highest acknowledgement the backend sent */
	__u32 fin_client; /* sequence number just past the client's FIN */
	__u32 nh_ifindex; /* next hop toward the client: egress, 0 = none */
	__u8 nh_dmac[6]; /* its destination MAC */
	__u8 nh_smac[6]; /* its source MAC */
	__u16 nh_mtu; /* its MTU */
	__u16 pad; /* zero */
};
_Static_assert(sizeof(struct slotlb_flow_state) == 56, "flow state");

/* Value of flows4: an established IPv4 flow (key slotlb_flow4_key). The
 * backend is kept here, so the flow outlives its deployment. 60 bytes,
 * which the kernel rounds up to 64: with the 48-byte element header and
 * the 16-byte key an element is 128 bytes (docs/datapath.md, Memory). */
struct slotlb_flow4 {
	__be32 backend_addr; /* backend address */
	struct slotlb_flow_state s;
};
_Static_assert(sizeof(struct slotlb_flow4) == 60, "flow4");

/* Value of flows6: an established IPv6 flow (key slotlb_flow_key). */
struct slotlb_flow6 {
	__be32 backend_addr[4]; /* backend address */
	struct slotlb_flow_state s;
};
_Static_assert(sizeof(struct slotlb_flow6) == 72, "flow6");

/*
 * A bucket of the IPv4 reply index: each word maps a reply 5-tuple
 * (backend -> client) to the endpoint its flow came in on, so a reply
 * finds its flows4 entry without a second hash entry per flow:
 *   bits 63-32 endpoint address, 31-16 endpoint port (network order as
 *   loaded from the packet), 15-0 a tag from the reply 5-tuple's hash;
 *   0 = free.
 * A word is only a hint: the reply is matched by looking the flow up
 * and comparing its backend. See slotlb_reply_hash().
 */
struct slotlb_reply_bucket {
	__u64 word[SLOTLB_REPLY_BUCKET_WORDS];
};
_Static_assert(sizeof(struct slotlb_reply_bucket) == 64, "reply bucket");

/* Value of replies6 (key: the reply 5-tuple, backend -> client). */
struct slotlb_reply6 {
	__be32 endpoint[4]; /* endpoint the flow came in on */
	__be16 endpoint_port;
	__u16 pad; /* zero */
};
_Static_assert(sizeof(struct slotlb_reply6) == 20, "reply6");

/*
 * Value of flows_new, the half-open stage, keyed by the reply 5-tuple
 * (backend -> client): a client's later packets find it by choosing the
 * backend again (the current deployment, then the previous one), the
 * backend's answers by their own 5-tuple. One insert per new flow.
 */
struct slotlb_flow_new {
	__be32 endpoint[4]; /* endpoint the flow came in on */
	__be16 endpoint_port;
	__u16 backend_id;
	__u16 deployment_id;
	__u16 endpoint_id;
	__u32 state; /* SLOTLB_FLOW_* bits */
	__u32 seen; /* jiffies of the last packet either way */
	__u32 start; /* jiffies of the first packet (the SYN; kept by its
		      * retransmissions): the established entry's start */
	__u32 client_seq; /* sequence number of the SYN or first segment */
	__u32 client_ack; /* acknowledgement of the client's last segment */
	__u32 backend_isn; /* sequence number of the backend's SYN-ACK */
	__u32 backend_ack; /* acknowledgement of the backend's last segment */
	__u32 pad; /* zero */
};
_Static_assert(sizeof(struct slotlb_flow_new) == 56, "flow new");

/* Per-CPU next hop toward a backend (element backend id modulo
 * SLOTLB_NEXTHOP_SLOTS of nexthops). */
struct slotlb_nexthop {
	__u32 backend_id; /* owner; 0 = none */
	__u32 updated; /* jiffies of the bpf_fib_lookup */
	__u32 ifindex; /* egress */
	__u16 mtu; /* egress MTU */
	__u8 dmac[6];
	__u8 smac[6];
	__u16 pad;
};
_Static_assert(sizeof(struct slotlb_nexthop) == 28, "nexthop");

/* Key of fragments: one IP datagram. */
struct slotlb_frag_key {
	__be32 src[4];
	__be32 dst[4];
	__be32 id; /* IPv4 identification (16 bits) or IPv6 fragment id */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct slotlb_frag_key) == 40, "fragment key");

#define SLOTLB_FRAG_PASS 0 /* not a flow's: later fragments pass */
#define SLOTLB_FRAG_DST 1 /* rewrite the destination (toward a backend) */
#define SLOTLB_FRAG_SRC 2 /* rewrite the source (toward a client) */

/* What the first fragment of a datagram decided for the later ones. */
struct slotlb_frag {
	__be32 addr[4]; /* address to write */
	__u8 action; /* SLOTLB_FRAG_* */
	__u8 pad;
	__u16 backend_id; /* counters */
	__u16 deployment_id;
	__u16 endpoint_id;
	__u32 seen; /* jiffies of the first fragment */
};
_Static_assert(sizeof(struct slotlb_frag) == 28, "fragment");

/* Hash of a reply 5-tuple for the reply index (IPv4): bucket from the
 * low bits, second bucket from bits 20.., tag from the top 16. Shared by
 * the program and libslotlb's GC, which must find the same words. */
static inline __u64 slotlb_mix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline __u64 slotlb_reply_hash(__be32 backend, __be32 client,
				      __be16 backend_port, __be16 client_port,
				      __u8 proto, __u32 seed)
{
	__u64 h;

	h = slotlb_mix64(((__u64)backend << 32 | client) ^ seed);
	return slotlb_mix64(h ^ ((__u64)backend_port << 32 |
				 (__u64)client_port << 16 | proto));
}

static inline __u64 slotlb_reply_word(__be32 endpoint, __be16 endpoint_port,
				      __u64 hash)
{
	return (__u64)endpoint << 32 | (__u64)endpoint_port << 16 |
	       (hash >> 48);
}

/* Bucket of a reply hash: the first (second = 0) or the second; mask is
 * the bucket count - 1. */
static inline __u32 slotlb_reply_bucket_index(__u64 hash, int second,
					      __u32 mask)
{
	return (second ? (__u32)(hash >> 20) : (__u32)hash) & mask;
}

/* Words of a bucket in use. A word goes into the emptier of its two
 * buckets (the first on a tie), the other if that one filled up since:
 * the two-choice rule. Filling the first bucket before looking at the
 * second left one new flow in ~800 without a word at 86-95 % of the
 * capacity (docs/datapath.md, "Keys"). The program and libslotlb
 * (user/lib/reply_index.c) both count here, one word at a time: the
 * empty asm keeps clang from testing all eight words first, which the
 * verifier would follow as 2^8 paths. */
static inline unsigned int slotlb_reply_words_used(const __u64 *word)
{
	unsigned int i, n = 0;

	for (i = 0; i < SLOTLB_REPLY_BUCKET_WORDS; i++) {
		n += word[i] != 0;
		__asm__ __volatile__("" : "+r"(n));
	}
	return n;
}

_Static_assert(SLOTLB_MAX_BACKENDS <= 65536, "backend ids fit 16 bits");
_Static_assert(SLOTLB_MAX_DEPLOYMENTS <= 65536, "deployment ids fit 16 bits");
_Static_assert(SLOTLB_MAX_ENDPOINTS <= 65536, "endpoint ids fit 16 bits");

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
