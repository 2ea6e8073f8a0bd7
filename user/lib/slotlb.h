/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libslotlb: load, attach and program the slotlb XDP data path.
 *
 * Every function returns 0 or a negative errno and never prints or exits;
 * the caller reports. With verbose set, libbpf's own log goes to stderr.
 */
#ifndef SLOTLB_LIB_H
#define SLOTLB_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <slotlb/abi.h>

struct slotlb;

enum slotlb_xdp_mode {
	SLOTLB_XDP_NATIVE = 0, /* driver mode (veth, real NICs) */
	SLOTLB_XDP_GENERIC = 1, /* skb mode, slow, explicit only */
};

/* Timeouts and capacities: 0 takes the default of abi.h. */
struct slotlb_opts {
	const char *pin_root; /* NULL: SLOTLB_PIN_ROOT */
	uint32_t flow_capacity; /* established flows per address family */
	uint32_t half_open_capacity; /* default: flow_capacity / 8 */
	uint32_t udp_timeout_s; /* idle UDP flow */
	uint32_t tcp_timeout_s; /* idle established TCP flow */
	uint32_t tcp_half_closed_timeout_s; /* idle after one side's FIN */
	uint32_t tcp_closed_timeout_s; /* linger of a closed TCP flow */
	uint32_t tcp_handshake_timeout_s; /* unanswered SYN, second chance */
	uint32_t nexthop_ttl_ms; /* how long a FIB answer is reused */
	uint32_t hash_seed; /* Maglev seed to set; 0: keep the pinned one,
			     * or a random one for new maps */
	enum slotlb_nonsyn_policy nonsyn_policy;
	bool verbose; /* libbpf log to stderr */
	/* Maps pinned by an older layout (abi.h, SLOTLB_LAYOUT_VERSION)
	 * are converted, and the program replaced on every interface where
	 * the old one runs, keeping every flow; false: -ESTALE instead. */
	bool upgrade;
	/* Open the maps without loading the XDP program (no verification:
	 * milliseconds instead of seconds). Reads and map writes work;
	 * slotlb_attach and slotlb_prog_fd do not (-ENOEXEC). Not with
	 * upgrade, which replaces the program. */
	bool maps_only;
	char *why; /* if not NULL: why an -ESTALE, a sentence */
	size_t why_len;
};

/* What slotlb_open did to the maps of an older layout. */
struct slotlb_upgrade_info {
	uint32_t from; /* layout found; 0: no upgrade */
	uint32_t to; /* SLOTLB_LAYOUT_VERSION */
	uint32_t maps_kept; /* the same maps, pinned anew (flows, ...) */
	uint32_t maps_converted; /* fresh maps filled from old ones */
	uint32_t entries_converted;
	uint32_t interfaces; /* where the program was replaced */
	char converted[96]; /* the old maps read, ", " between them */
};

/*
 * Load the program, reusing the maps pinned under pin_root (flows, apps,
 * deployments survive) or creating and pinning them. Maps of an older
 * layout are upgraded when opts->upgrade says so (docs/datapath.md,
 * Upgrades). -EEXIST: the pinned flow table has another capacity than
 * asked for; -ESTALE: the maps pinned there have a layout this build
 * does not take (newer, unknown, or older without opts->upgrade), left
 * as they are, opts->why says which; -EBUSY: an upgrade found another
 * process holding the pin root.
 */
int slotlb_open(struct slotlb **lb, const struct slotlb_opts *opts);
void slotlb_upgrade_info(const struct slotlb *lb,
			 struct slotlb_upgrade_info *info);
void slotlb_close(struct slotlb *lb);

/* Program fd of the loaded program (for BPF_PROG_TEST_RUN); -ENOEXEC
 * when opened with maps_only. */
int slotlb_prog_fd(const struct slotlb *lb);
/* Concurrent flows the flow table holds (it has two entries per flow). */
uint32_t slotlb_flow_capacity(const struct slotlb *lb);

/*
 * Attach to an interface with its role (SLOTLB_ROLE_* bits: public faces
 * clients, backend faces backends; a one-armed balancer gives both).
 * An existing slotlb program there is replaced atomically
 * (XDP_FLAGS_REPLACE); a foreign one gives -EBUSY unless force.
 */
int slotlb_attach(struct slotlb *lb, int ifindex, enum slotlb_xdp_mode mode,
		  bool force, uint32_t role);
/* Set the role of an interface the program sees packets from (attach
 * does it); role 0 forgets it. -EINVAL: no such role; -EEXIST: another
 * live interface holds its slot of the role table. */
int slotlb_iface_set(struct slotlb *lb, int ifindex, uint32_t role);
/* Role of ifindex as the program sees it (public if unknown). */
uint32_t slotlb_iface_role(struct slotlb *lb, int ifindex);
/* Detach whatever slotlb program is on ifindex; -ENOENT if none,
 * -EBUSY if the program there is not ours. Needs no loaded handle. */
int slotlb_detach(int ifindex);
/* XDP program id on ifindex and whether it is ours (0 if none). */
int slotlb_query(int ifindex, uint32_t *prog_id, bool *ours, bool *generic);

/* Endpoints. */
int slotlb_endpoint_set(struct slotlb *lb,
			const struct slotlb_endpoint_key *key,
			const struct slotlb_endpoint *ep);
int slotlb_endpoint_delete(struct slotlb *lb,
			   const struct slotlb_endpoint_key *key);

/* Backends: written before any ring references them. -ENOSPC when the
 * backend would bring more than SLOTLB_MAX_BACKEND_ADDRS distinct
 * addresses. */
int slotlb_backend_set(struct slotlb *lb, uint32_t backend_id,
		       const struct slotlb_backend *be);
int slotlb_backend_clear(struct slotlb *lb, uint32_t backend_id);
/* Health of a backend as the data path reads it (abi.h, struct
 * slotlb_backend_health): mark it down only once a ring without it is
 * published, up before a ring with it is. Setting or clearing a backend
 * whose address changes marks it up. */
int slotlb_backend_health_set(struct slotlb *lb, uint32_t backend_id,
			      const struct slotlb_backend_health *h);
int slotlb_backend_health_get(struct slotlb *lb, uint32_t backend_id,
			      struct slotlb_backend_health *h);
/* A backend's drain state (abi.h, struct slotlb_backend_drain):
 * reset_rate > 0 answers its pinned TCP flows' next client packet with
 * a RST, at most that many a second; 0 forwards them. Cleared with the
 * backend. */
int slotlb_backend_drain_set(struct slotlb *lb, uint32_t backend_id,
			     uint32_t reset_rate);
int slotlb_backend_drain_get(struct slotlb *lb, uint32_t backend_id,
			     uint32_t *reset_rate);

/*
 * Deployments: build a Maglev ring per address family over the
 * deployment's backends of that family, publish each in a fresh frozen
 * inner map, then reference it. A dual-stack deployment serves IPv4
 * clients from its IPv4 backends and IPv6 clients from its IPv6 ones.
 * Publishing an id that is live replaces its rings (never patched in
 * place).
 */
int slotlb_deployment_publish(struct slotlb *lb, uint32_t deployment_id,
			      const struct slotlb_deployment_info *info,
			      const uint32_t *backend_ids,
			      const uint32_t *weights, size_t n);
int slotlb_deployment_remove(struct slotlb *lb, uint32_t deployment_id);
int slotlb_deployment_info(struct slotlb *lb, uint32_t deployment_id,
			   struct slotlb_deployment_info *info);
/* Backend id at position pos of the deployment's ring of family
 * (AF_INET or AF_INET6); -ENOENT without such a ring. */
int slotlb_deployment_ring_get(struct slotlb *lb, uint32_t deployment_id,
			       uint8_t family, uint32_t pos,
			       uint32_t *backend_id);

/*
 * Routing element of an app: one 8-byte store replaces the whole
 * slot -> deployment table (abi.h, struct slotlb_routing). One process
 * changes routing elements at a time: set and delete give -EBUSY while
 * another process (normally slotlbd) holds the pin root's writer lock.
 */
/* Become the one writer now rather than at the first change, which then
 * pays the lock and a grace period (~15 ms) on its own path; -EBUSY if
 * another process is the writer. */
int slotlb_routing_claim(struct slotlb *lb);
int slotlb_routing_set(struct slotlb *lb, uint32_t app_id,
		       const struct slotlb_routing *r);
/* -ENOENT if the app has no routing element. */
int slotlb_routing_get(struct slotlb *lb, uint32_t app_id,
		       struct slotlb_routing *r);
int slotlb_routing_delete(struct slotlb *lb, uint32_t app_id);

/* The install's Maglev hash seed (every node of a fleet needs the
 * same); setting it changes the choice for new flows only. */
int slotlb_hash_seed_get(struct slotlb *lb, uint32_t *seed);
int slotlb_hash_seed_set(struct slotlb *lb, uint32_t seed);

/* Counters summed over CPUs. */
enum slotlb_stats_kind {
	SLOTLB_STATS_ENDPOINT,
	SLOTLB_STATS_DEPLOYMENT,
	SLOTLB_STATS_BACKEND,
};
int slotlb_stats_read(struct slotlb *lb, enum slotlb_stats_kind kind,
		      uint32_t id, struct slotlb_counters *sum);
/* A deployment's TCP handshakes, SYN-ACKs and backend resets (abi.h,
 * struct slotlb_deployment_tcp), summed over CPUs. */
int slotlb_deployment_tcp_read(struct slotlb *lb, uint32_t deployment_id,
			       struct slotlb_deployment_tcp *sum);
/*
 * The backend agent (bpf/backend_agent.bpf.c, docs/dsr.md): attach its
 * decapsulation program to ifindex serving endpoints (n = 0: any inner
 * destination), natively or generic; the agent already there is
 * replaced without a gap, another program only with force (-EBUSY).
 * Detach gives -ENOENT when nothing is attached, -EBUSY when it is not
 * the agent. Stats sums its counters (enum slotlb_agent_reason).
 */
int slotlb_agent_attach(int ifindex, const __be32 *endpoints, size_t n,
			bool generic, bool force);
int slotlb_agent_detach(int ifindex);
int slotlb_agent_stats(
	int ifindex, struct slotlb_reason_counter sum[SLOTLB_AGENT_REASON_MAX]);
const char *slotlb_agent_reason_name(unsigned int reason);

/* Forget every DSR flow pin of this instance's program (dsr_flows is
 * not pinned in bpffs; docs/dsr.md). */
int slotlb_dsr_flows_clear(struct slotlb *lb);
int slotlb_reasons_read(struct slotlb *lb,
			struct slotlb_reason_counter sum[SLOTLB_REASON_MAX]);
const char *slotlb_reason_name(enum slotlb_reason reason);
int slotlb_events_read(struct slotlb *lb, uint64_t sum[SLOTLB_EVENT_MAX]);
const char *slotlb_event_name(enum slotlb_event event);

/* Flows, both stages and families, as userspace sees them. */
enum slotlb_flow_stage {
	SLOTLB_STAGE_HALF_OPEN, /* not verified yet (flows_new) */
	SLOTLB_STAGE_ESTABLISHED, /* verified (flows4, flows6) */
	SLOTLB_STAGE_DSR, /* a DSR app's pin (dsr_flows): the balancer sees
			   * the client's side only */
};

struct slotlb_flow_info {
	enum slotlb_flow_stage stage;
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__be32 client[4], endpoint[4], backend[4]; /* IPv4 in [0] */
	__be16 client_port, endpoint_port, backend_port;
	uint32_t backend_id, deployment_id, endpoint_id;
	uint32_t state; /* SLOTLB_FLOW_* bits */
	uint64_t age_ms; /* since its first packet (the SYN) */
	uint64_t idle_ms; /* since its last packet either way */
	bool live; /* still pins its backend: not closed, not expired */
};

/* Walk every flow; the callback returns non-zero to stop the walk. */
typedef int (*slotlb_flow_cb)(const struct slotlb_flow_info *flow, void *ctx);
int slotlb_flows_foreach(struct slotlb *lb, slotlb_flow_cb cb, void *ctx);
/* Live flows pinned to each deployment: counts[id] for id < n (drain
 * progress). */
int slotlb_flows_count_by_deployment(struct slotlb *lb, uint64_t *counts,
				     size_t n);
/* Delete established flows past their timeout (closed: the linger;
 * half-closed, idle: their idle timeouts), their reply mappings, and
 * deleted endpoints' addresses no flow uses any more; returns the
 * number of flows removed or -errno. */
int slotlb_flows_gc(struct slotlb *lb);
/* "fin-client,fin-backend,..." for the state bits; "open" for none. */
void slotlb_format_flow_state(uint32_t state, char *buf, size_t len);

#endif /* SLOTLB_LIB_H */
