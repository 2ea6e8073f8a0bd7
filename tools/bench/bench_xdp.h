/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_xdp internals: the paths it measures, their samples, and the
 * setup/report half (bench_setup.c) shared with the measuring half
 * (bench_xdp.c).
 */
#ifndef SLOTLB_BENCH_XDP_H
#define SLOTLB_BENCH_XDP_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include <slotlb/abi.h>

#include "bench_lab.h"

struct slotlb;
struct xdp_floor_bpf;
struct backend_agent_bpf;

/* The paths, in the order a round runs them. Every round uses 5-tuples
 * no earlier round used, and the tables are never emptied. */
enum bench_path_id {
	BENCH_PATH_NEW, /* SYNs of distinct new flows: half-open entries */
	BENCH_PATH_HOT, /* one established flow's ACK, again and again */
	BENCH_PATH_EST, /* ACKs of distinct established flows */
	BENCH_PATH_REPLY, /* backend -> client of those flows: source NAT */
	BENCH_PATH_NOT_EP, /* UDP to an address with no endpoint: passed */
	BENCH_PATH_CHANCE, /* ACKs of unknown flows after a swap: second
			    * chance on the previous deployment */
	/* Traffic routing (bench_traffic.c): */
	BENCH_PATH_NEW_SPLIT, /* SYNs to an app with a 10/5 split and 4
			       * audience prefixes */
	/* Direct server return (bench_dsr.c): */
	BENCH_PATH_DSR_NEW, /* SYNs to a DSR app: pinned, encapsulated */
	BENCH_PATH_DSR_HOT, /* one pinned flow's ACK, again and again */
	BENCH_PATH_DSR_EST, /* ACKs of distinct pinned flows */
	BENCH_PATH_AGENT_SYN, /* the backend agent: GUE SYNs, to the stack */
	BENCH_PATH_AGENT_ACK, /* GUE ACKs no socket owns: second candidate */
	BENCH_PATH_MAX,
};

struct bench_path {
	const char *name;
	const struct lab_pkt *pkts; /* frames of the path */
	uint32_t stride; /* 1: frame i is pkts[i]; 0: always pkts[0] */
	int ifindex; /* ingress interface of the frames */
	__u32 verdict; /* what every frame must get */
	enum slotlb_reason reason; /* where every frame must be counted */
	double anchor; /* Katran's ns/packet net of floor; 0: none */
	int prog_fd; /* another program than slotlb_xdp (the backend
		      * agent; its reasons are not checked); 0: slotlb */
};

/*
 * Flow numbers (lab_client_addr/port of f): each kind of frame has its
 * own space of rounds * n flows, round r using [r * n, (r + 1) * n) of
 * it, so no frame of one path ever meets a flow another path left (a
 * SYN on a flow left established, or a reply 5-tuple held by another
 * endpoint's flow, takes another path than the one measured).
 */
enum bench_space {
	BENCH_SPACE_NEW, /* the plain app's new flows, then established */
	BENCH_SPACE_CHANCE, /* unknown flows (second chance) */
	BENCH_SPACE_SPLIT, /* the split app's new flows (its row) */
	BENCH_SPACE_PAIR_PLAIN, /* paired new flows: the plain app's arm */
	BENCH_SPACE_PAIR_SPLIT, /* the split app's arm */
	BENCH_SPACE_PAIR_SAME, /* the one-deployment split app's arm */
	BENCH_SPACE_PROBE, /* the probe's one flow */
	BENCH_SPACE_DSR, /* the DSR app's new, then pinned flows */
	BENCH_SPACE_AGENT, /* flows whose GUE frames the agent gets */
};

static inline uint32_t bench_flow(uint32_t n, unsigned int rounds,
				  enum bench_space space, unsigned int r,
				  uint32_t i)
{
	return ((uint32_t)space * rounds + r) * n + i;
}

/* One round of one path, ns per frame. */
struct bench_sample {
	double prog; /* slotlb, as the kernel timed it */
	double floor; /* the XDP_TX floor over the same frames */
	double net; /* prog - floor */
};

struct bench {
	/* Options. */
	unsigned int rounds;
	uint32_t n; /* frames per path and round */
	uint32_t flow_capacity; /* 0: the default */
	bool verbose;
	uint32_t only; /* bit per enum bench_path_id to time; 0: all */
	bool no_pairs; /* -p without "pairs": skip the paired split arms */

	/* The lab and the programs under test. */
	struct lab lab;
	struct slotlb *lb;
	struct xdp_floor_bpf *floor;
	int prog_fd;
	int floor_fd;
	char pin_root[64]; /* ours alone; removed at the end */

	/* Frames of the current round, n each. */
	unsigned int round;
	struct lab_pkt *syn, *ack, *reply, *udp, *chance;
	struct bench_path paths[BENCH_PATH_MAX];
	struct bench_sample *samples[BENCH_PATH_MAX]; /* rounds each */

	/* Traffic routing paths (bench_traffic.c): the split row's SYNs,
	 * the paired arms' SYNs (plain, split, same; n / 2 each) and their
	 * hot flows' ACKs (plain, split). */
	struct lab_pkt *syn_split, *pair_syn[3], *pair_ack[2];
	/* Direct server return (bench_dsr.c): the DSR app's frames, the GUE
	 * frames the agent gets, and the agent's program. */
	struct lab_pkt *dsr_syn, *dsr_ack, *agent_syn, *agent_ack;
	struct backend_agent_bpf *agent;
	int agent_fd;
	uint64_t split_base[3]; /* new flows per slot's deployment before */
	double split_share[3]; /* % of the split path's new flows per slot */
	/* Per round, ns/packet more than the plain app's same frames: */
	double *pair_new; /* new flows of the split app */
	double *pair_same; /* new flows, split rules, one deployment */
	double *pair_hot; /* a hot established flow of the split app */

	/* Facts for the report. */
	int jit_enable; /* /proc/sys/net/core/bpf_jit_enable */
	uint32_t jited_len; /* bytes of slotlb_xdp's native code */
	uint64_t open_ns; /* slotlb_open() wall time */
	uint64_t flows_memlock; /* kernel memory of flows4, bytes */
	uint64_t index_memlock; /* of the IPv4 reply index */
	uint64_t new_memlock; /* of the half-open stage */
	uint32_t flows_entries; /* flows4's max_entries */
	unsigned int backends_used; /* backends the flows spread over */
	int cpu; /* the CPU the run is pinned to */

	/* Under tools/bench/profile/run.sh (bench_profile.c): perf's
	 * control and ack descriptors, -1 when not profiled. */
	int perf_ctl, perf_ack;

	uint64_t deadline_ns;
	char why[256]; /* cause of failure, printed once by main */
};

uint64_t bench_now_ns(void);

/* Is path p timed in this run (-p)? */
static inline bool bench_timed(const struct bench *b, int p)
{
	return !b->only || (b->only & (1u << p));
}
/* Profiling (bench_profile.c): read the environment; sample or stop
 * sampling slotlb's timed loop; write the program's line table. */
int bench_profile_init(struct bench *b);
int bench_profile_sample(struct bench *b, bool on);
int bench_profile_lines(struct bench *b);

/* Record the cause of a failure in b->why and return err. */
int bench_fail(struct bench *b, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int bench_setup(struct bench *b);
/* Frames of round r: 5-tuples no other round uses. */
void bench_frames(struct bench *b, unsigned int r);
/* Establish the round's new flows (handshakes), untimed; fills the
 * replies. */
int bench_establish(struct bench *b);
/* Slot 0's previous deployment for the second-chance path (0: none). */
int bench_previous(struct bench *b, uint32_t previous);
/* The traffic-routing app and its paths; the check after round 0. */
int bench_traffic_setup(struct bench *b);
int bench_traffic_check(struct bench *b);
/* Round r's frames of those paths, from their own flow spaces. */
void bench_traffic_frames(struct bench *b, unsigned int r);
/* The paired measurement of one round: new flows of fresh 5-tuples in
 * every arm, then one established flow of each arm, hot. */
int bench_traffic_pairs(struct bench *b, unsigned int round);
/* Its lines in the report. */
void bench_traffic_report(const struct bench *b,
			  double (*median)(double *, unsigned int));
void bench_traffic_teardown(struct bench *b);
/* The DSR app and the agent (bench_dsr.c); round r's frames; the GUE
 * frames of round r (encapsulated by slotlb, untimed); the ratios. */
int bench_dsr_setup(struct bench *b);
void bench_dsr_frames(struct bench *b, unsigned int r);
int bench_dsr_agent_frames(struct bench *b, unsigned int r);
void bench_dsr_report(const struct bench *b,
		      double (*median)(double *, unsigned int));
void bench_dsr_teardown(struct bench *b);
void bench_teardown(struct bench *b);
void bench_print_header(const struct bench *b);
void bench_print_results(const struct bench *b);

#endif /* SLOTLB_BENCH_XDP_H */
