/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_xdp: per-packet cost of the slotlb XDP program, measured as
 * Katran's figures in issue 10 were: BPF_PROG_TEST_RUN with repeat=1 per
 * call over prebuilt frames, summing the kernel-reported duration of each
 * call, and the same for a trivial XDP_TX program over the same frames,
 * interleaved in chunks of 1,000, as the floor to subtract; 100,000
 * frames per path and round, 5 rounds, 5-tuples never used before in
 * every round and the tables never emptied. The program runs inside a
 * private network namespace where bpf_fib_lookup() succeeds, so
 * forwarded frames take the real path (NAT rewrite, route, MACs); a
 * frame that does not end in the expected verdict and reason fails the
 * run. Established flows are established for real: each new flow's
 * handshake (SYN, the backend's SYN-ACK, the ACK) runs, untimed, after
 * the new-flow path.
 *
 *   build/tools/bench/bench_xdp [-r ROUNDS] [-n PACKETS] [-c FLOWS] [-v]
 *                               [-p PATH,...]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdbool.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "bench_lab.h"
#include "bench_util.h"
#include "bench_xdp.h"

/* Frames run back to back per program before switching to the other
 * (the chunk of the method in issue 10): both see the same machine state
 * within a chunk. */
#define BLOCK 1000
#define DEADLINE_S 300
/* Flows a round establishes besides its -n handshakes (the paired hot
 * flows), with room to spare. */
#define ROUND_SLACK 64

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static const char *verdict_name(__u32 v)
{
	static const char *const names[] = {"XDP_ABORTED", "XDP_DROP",
					    "XDP_PASS", "XDP_TX",
					    "XDP_REDIRECT"};

	return v < 5 ? names[v] : "unknown";
}

/* One BPF_PROG_TEST_RUN call, repeat=1: the frame's verdict and the
 * kernel-measured duration of that one run. */
static int run_once(int prog_fd, const struct lab_pkt *p, int ifindex,
		    __u32 *verdict, __u32 *duration)
{
	struct xdp_md md = {
		.data_end = p->len,
		.ingress_ifindex = (__u32)ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data,
		    .data_size_in = p->len, .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		return err;
	*verdict = o.retval;
	*duration = o.duration;
	return 0;
}

/* Run one program over a block of the path's frames. */
static int run_block(struct bench *b, const struct bench_path *path, bool floor,
		     uint32_t from, uint32_t to, uint64_t *sum)
{
	int fd = floor		 ? b->floor_fd
		 : path->prog_fd ? path->prog_fd
				 : b->prog_fd;
	__u32 want = floor ? XDP_TX : path->verdict;
	__u32 verdict, duration;
	uint32_t i;
	int err;

	for (i = from; i < to; i++) {
		err = run_once(fd, &path->pkts[i * path->stride], path->ifindex,
			       &verdict, &duration);
		if (err)
			return bench_fail(b, err, "%s: BPF_PROG_TEST_RUN: %s",
					  path->name, strerror(-err));
		if (verdict != want)
			return bench_fail(
				b, -EPROTO,
				"%s: frame %u: %s gave %s, expected %s",
				path->name, i, floor ? "floor" : "slotlb",
				verdict_name(verdict), verdict_name(want));
		*sum += duration;
	}
	return 0;
}

/* Every frame of the path must have been counted under its reason. */
static int check_reasons(struct bench *b, const struct bench_path *path,
			 const struct slotlb_reason_counter *before,
			 const struct slotlb_reason_counter *after)
{
	uint64_t total = 0, delta, most = 0;
	unsigned int r, top = 0;

	for (r = 0; r < SLOTLB_REASON_MAX; r++) {
		delta = after[r].packets - before[r].packets;
		total += delta;
		if (delta > most) {
			most = delta;
			top = r;
		}
	}
	delta = after[path->reason].packets - before[path->reason].packets;
	if (delta != b->n || total != b->n)
		return bench_fail(
			b, -EPROTO,
			"%s: %lu of %lu frames counted as %s (most: %s)",
			path->name, (unsigned long)delta, (unsigned long)total,
			slotlb_reason_name(path->reason),
			slotlb_reason_name(top));
	return 0;
}

/* One round of one path: slotlb and the floor, interleaved by block. */
static int measure(struct bench *b, const struct bench_path *path,
		   struct bench_sample *s)
{
	struct slotlb_reason_counter before[SLOTLB_REASON_MAX];
	struct slotlb_reason_counter after[SLOTLB_REASON_MAX];
	uint64_t prog = 0, floor = 0;
	uint32_t from, to;
	int err;

	err = slotlb_reasons_read(b->lb, before);
	if (err)
		return bench_fail(b, err, "reasons: %s", strerror(-err));
	/* Under the profiler: slotlb's loops only (the floor's program
	 * has its own symbol, and the agent's path is not slotlb's). */
	if (!path->prog_fd && (err = bench_profile_sample(b, true)))
		return err;
	for (from = 0; from < b->n; from = to) {
		to = from + BLOCK < b->n ? from + BLOCK : b->n;
		/* Alternate who goes first so neither always inherits the
		 * other's cache state. */
		bool floor_first = (from / BLOCK) & 1;

		err = run_block(b, path, floor_first, from, to,
				floor_first ? &floor : &prog);
		if (!err)
			err = run_block(b, path, !floor_first, from, to,
					floor_first ? &prog : &floor);
		if (err)
			return err;
		if (stopping)
			return bench_fail(b, -EINTR, "interrupted");
		if (bench_now_ns() > b->deadline_ns)
			return bench_fail(b, -ETIME, "run exceeded %d s",
					  DEADLINE_S);
	}
	if (!path->prog_fd && (err = bench_profile_sample(b, false)))
		return err;
	err = slotlb_reasons_read(b->lb, after);
	if (err)
		return bench_fail(b, err, "reasons: %s", strerror(-err));
	err = path->prog_fd ? 0 : check_reasons(b, path, before, after);
	if (err)
		return err;
	s->prog = (double)prog / b->n;
	s->floor = (double)floor / b->n;
	s->net = s->prog - s->floor;
	return 0;
}

static int round_run(struct bench *b, unsigned int round)
{
	int err, p;

	bench_frames(b, round);
	bench_traffic_frames(b, round);
	bench_dsr_frames(b, round);
	for (p = 0, err = 0; !err && p < BENCH_PATH_MAX; p++) {
		/* The round's new flows become established ones. */
		if (p == BENCH_PATH_HOT)
			err = bench_establish(b);
		/* A swap: the slot's previous deployment gets a second
		 * chance at flows nobody knows. */
		if (!err && p == BENCH_PATH_CHANCE)
			err = bench_previous(b, 2);
		if (!err && bench_timed(b, p))
			err = measure(b, &b->paths[p], &b->samples[p][round]);
		if (!err && p == BENCH_PATH_CHANCE)
			err = bench_previous(b, 0);
		if (!err && p == BENCH_PATH_NEW_SPLIT && round == 0 &&
		    bench_timed(b, p))
			err = bench_traffic_check(b);
		if (!err && p == BENCH_PATH_DSR_EST)
			err = bench_dsr_agent_frames(b, round);
	}
	if (!err && !b->no_pairs)
		err = bench_traffic_pairs(b, round);
	return err;
}

/* Short names of the paths for -p, in enum bench_path_id order. */
static const char *const path_names[BENCH_PATH_MAX] = {
	"new",	 "hot",	    "est",     "reply",	  "notep",     "chance",
	"split", "dsr-new", "dsr-hot", "dsr-est", "agent-syn", "agent-ack",
};

static void usage(void)
{
	int p;

	fprintf(stderr,
		"usage: bench_xdp [-r ROUNDS] [-n PACKETS] [-c FLOWS] [-v] [-p PATH,...]\n"
		"  -r  rounds per path, 5-20 (default 5)\n"
		"  -n  frames per path and round, 1-400000 (default 100000)\n"
		"  -c  flow capacity (default %u, as in production);\n"
		"      the tables are never emptied, so ROUNDS x (PACKETS + %d)\n"
		"      must fit in it\n"
		"  -v  print every round\n"
		"  -p  time only these paths (the others' setup still runs):\n"
		"     ",
		SLOTLB_DEFAULT_FLOW_CAPACITY, ROUND_SLACK);
	for (p = 0; p < BENCH_PATH_MAX; p++)
		fprintf(stderr, " %s", path_names[p]);
	fprintf(stderr, " pairs\n");
}

/* -p: a comma-separated list of path_names and "pairs". */
static int parse_paths(struct bench *b, char *list)
{
	char *name, *save = NULL;
	int p;

	b->no_pairs = true;
	for (name = strtok_r(list, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		if (!strcmp(name, "pairs")) {
			b->no_pairs = false;
			continue;
		}
		for (p = 0; p < BENCH_PATH_MAX; p++)
			if (!strcmp(name, path_names[p]))
				break;
		if (p == BENCH_PATH_MAX) {
			fprintf(stderr, "Error: -p: unknown path '%s'\n", name);
			return -EINVAL;
		}
		b->only |= 1u << p;
	}
	/* only "pairs": no row */
	if (!b->only)
		b->only = 1u << BENCH_PATH_MAX;
	return 0;
}

/* A number for option -opt within [min, max], or an error naming it. */
static int parse_count(const char *arg, char opt, unsigned long min,
		       unsigned long max, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min ||
	    v > max) {
		fprintf(stderr,
			"Error: bench_xdp: -%c '%s': want a number from %lu to "
			"%lu\n",
			opt, arg, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	uint32_t capacity;
	int opt, err;

	b.rounds = 5;
	b.n = 100000;
	while ((opt = getopt(argc, argv, "r:n:c:vp:h")) != -1) {
		switch (opt) {
		case 'r':
			if (parse_count(optarg, 'r', 5, 20, &b.rounds))
				return 2;
			break;
		case 'n':
			if (parse_count(optarg, 'n', 1, 400000, &b.n))
				return 2;
			break;
		case 'c':
			if (parse_count(optarg, 'c', 1, UINT32_MAX,
					&b.flow_capacity))
				return 2;
			break;
		case 'v':
			b.verbose = true;
			break;
		case 'p':
			if (parse_paths(&b, optarg)) {
				usage();
				return 2;
			}
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	/* The tables are never emptied: every round's flows stay
	 * established. Past the capacity a round's handshakes stay
	 * half-open, and its established paths would time another path
	 * (docs/datapath.md, "When the established table is full"). */
	capacity = b.flow_capacity ? b.flow_capacity
				   : SLOTLB_DEFAULT_FLOW_CAPACITY;
	if ((uint64_t)b.rounds * (b.n + ROUND_SLACK) > capacity) {
		fprintf(stderr,
			"Error: bench_xdp: -r %u rounds of -n %u flows "
			"establish %lu flows, more than the flow capacity "
			"%u (-c): raise -c or lower -r or -n\n",
			b.rounds, b.n,
			(unsigned long)b.rounds * (b.n + ROUND_SLACK),
			capacity);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	b.deadline_ns = bench_now_ns() + DEADLINE_S * 1000000000ULL;

	err = bench_profile_init(&b);
	if (!err)
		err = bench_setup(&b);
	if (!err)
		err = bench_profile_lines(&b);
	if (!err) {
		bench_print_header(&b);
		for (unsigned int r = 0; !err && r < b.rounds; r++)
			err = round_run(&b, r);
	}
	if (!err)
		bench_print_results(&b);
	bench_teardown(&b);
	if (b.pin_root[0])
		bench_unpin_all(b.pin_root);
	if (err) {
		fprintf(stderr, "Error: bench_xdp: %s\n",
			b.why[0] ? b.why : strerror(-err));
		return 1;
	}
	return 0;
}
