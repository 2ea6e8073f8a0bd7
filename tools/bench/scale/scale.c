// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * scale: slotlb at production scale. The established flow table at
 * 1,000,000 concurrent flows, each established by a real handshake
 * through the program (its memory, and the per-packet cost of
 * established and new flows there against a near-empty table,
 * BPF_PROG_TEST_RUN with repeat=1 per frame, summing the kernel-reported
 * durations, minus a trivial XDP_TX floor), then Maglev build times and
 * swap latency (scale_ctl.c). Runs in a private network namespace; its
 * pin root is removed at the end.
 *
 *   build/tools/bench/scale/scale [-f FLOWS] [-r ROUNDS] [-p PIN_ROOT]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "scale.h"
#include "bench_lab.h"
#include "bench_util.h"

#define SMALL_FLOWS 10000 /* the near-empty table's flows */
/* SMALL_FLOWS + rounds * NEW_FRAMES flows are made before the fill. */
#define EST_FRAMES 50000 /* ACKs per established round */
#define NEW_FRAMES 10000 /* SYNs per new-flow round */
/* Clients: scale's own numbering, as in the published figures (not the
 * lab's lab_client_addr()): 10.128.0.0/9, SCALE_PORTS ports an address. */
#define SCALE_CLIENT_NET 0x0a800000U
#define SCALE_PORTS 50000
#define SCALE_PORT_BASE 10000

struct scale {
	struct lab lab;
	struct slotlb *lb;
	int prog_fd, floor_fd, flows_fd, index_fd, new_fd;
	uint32_t flows; /* the full table's concurrent flows */
	uint32_t next_flow; /* next never-used flow number */
	unsigned int rounds;
	int measure_cpu;
	char pin_root[64];
	struct lab_pkt *pkts;
};

uint64_t scale_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct scale_stat scale_stat(double *v, unsigned int n)
{
	struct scale_stat s;

	qsort(v, n, sizeof(*v), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* Whole free memory of the machine as the kernel estimates it, KiB. */
static long mem_available_kb(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static long long memlock_of(int fd)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Entries in flows4, walked in batches. */
static long count_entries(int fd)
{
	static struct slotlb_flow4_key keys[8192];
	static struct slotlb_flow4 vals[8192];
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 token, count;
	void *in = NULL;
	long total = 0;
	int err;

	do {
		count = 8192;
		err = bpf_map_lookup_batch(fd, in, &token, keys, vals, &count,
					   &o);
		if (err && err != -ENOENT)
			return err;
		total += count;
		in = &token;
	} while (!err);
	return total;
}

/* A program that only returns XDP_TX: the harness's own cost. */
static int load_floor(void)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = XDP_TX},
		{.code = BPF_JMP | BPF_EXIT},
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "scale_floor", "GPL", insns, 2,
			     NULL);
}

/* Sum of kernel-measured durations over the frames, ns per frame. */
static int run_frames(struct scale *s, int fd, const struct lab_pkt *p,
		      uint32_t n, __u32 want, double *ns)
{
	struct xdp_md md = {.ingress_ifindex = (__u32)s->lab.client_ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = 1);
	uint64_t sum = 0;
	uint32_t i;
	int err;

	for (i = 0; i < n; i++) {
		o.data_in = p[i].data;
		o.data_size_in = p[i].len;
		md.data_end = p[i].len;
		err = bpf_prog_test_run_opts(fd, &o);
		if (err)
			return err;
		if (o.retval != want) {
			fprintf(stderr, "Error: scale: frame %u: verdict %u\n",
				i, o.retval);
			return -EPROTO;
		}
		sum += o.duration;
	}
	if (ns)
		*ns = (double)sum / n;
	return 0;
}

/* slotlb's cost minus the floor's over the same frames. */
static int net_cost(struct scale *s, uint32_t n, double *net)
{
	double prog = 0, floor = 0;
	int err;

	err = run_frames(s, s->prog_fd, s->pkts, n, XDP_REDIRECT, &prog);
	if (!err)
		err = run_frames(s, s->floor_fd, s->pkts, n, XDP_TX, &floor);
	*net = prog - floor;
	return err;
}

/* TCP SYN or ACK of flow number `flow` from a client to the endpoint. */
static void scale_frame(struct lab_pkt *p, const struct lab *lab, uint32_t flow,
			bool syn)
{
	lab_tcp(p, lab->router_mac, lab->client_if_mac,
		SCALE_CLIENT_NET + flow / SCALE_PORTS, LAB_VIP,
		(uint16_t)(SCALE_PORT_BASE + flow % SCALE_PORTS), LAB_VIP_PORT,
		syn ? LAB_TCP_SYN : LAB_TCP_ACK);
}

/* Establish flows [from, from + n): a handshake each, through the
 * program (SYN, the backend's SYN-ACK, ACK). */
static int fill(struct scale *s, uint32_t from, uint32_t n)
{
	struct lab_run run = {
		.prog_fd = s->prog_fd,
		.client_ifindex = s->lab.client_ifindex,
		.backend_ifindex = s->lab.backend_ifindex,
	};
	struct lab_pkt syn, ack;
	struct lab_chosen c;
	uint32_t f;
	int err = 0;

	memcpy(run.backend_if_mac, s->lab.backend_if_mac, 6);
	for (f = from; !err && f < from + n; f++) {
		scale_frame(&syn, &s->lab, f, true);
		scale_frame(&ack, &s->lab, f, false);
		err = lab_handshake(&run, &syn, &ack, &c);
	}
	return err;
}

/* Fill the table to s->flows: the flows made so far are kept. */
static int fill_all(struct scale *s)
{
	uint32_t n = s->flows - s->next_flow;
	int err;

	err = fill(s, s->next_flow, n);
	s->next_flow += n;
	return err;
}

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* rounds x: ACKs of random flows below `among`, or SYNs of new flows. */
static int rounds(struct scale *s, bool est, uint32_t among, double *out)
{
	uint32_t seed = 0x5107, i, n = est ? EST_FRAMES : NEW_FRAMES;
	unsigned int r;
	int err = 0;

	for (r = 0; !err && r < s->rounds; r++) {
		for (i = 0; i < n; i++)
			scale_frame(&s->pkts[i], &s->lab,
				    est ? xorshift(&seed) % among
					: s->next_flow++,
				    !est);
		err = net_cost(s, n, &out[r]);
	}
	return err;
}

static void row(const char *what, double *v, unsigned int n, double base)
{
	struct scale_stat st = scale_stat(v, n);

	printf("| %s | %.0f | %.0f | %.0f | %.2fx |\n", what, st.med, st.min,
	       st.max, base > 0 ? st.med / base : 1.0);
}

static int setup(struct scale *s, long *mem_before)
{
	struct slotlb_opts opts = {.flow_capacity = s->flows};
	struct slotlb_deployment_info info = {.app_id = 0};
	struct slotlb_endpoint ep = {.endpoint_id = 1};
	struct slotlb_endpoint_key ek = {.port = htons(LAB_VIP_PORT),
					 .proto = IPPROTO_TCP,
					 .family = AF_INET};
	struct slotlb_routing r = {.deployment = {1}};
	struct slotlb_backend be = {.family = AF_INET};
	uint32_t ids[LAB_BACKENDS], i;
	char path[96];
	int err;

	if (!s->pin_root[0])
		snprintf(s->pin_root, sizeof(s->pin_root),
			 "/sys/fs/bpf/slotlb-scale-%d", (int)getpid());
	opts.pin_root = s->pin_root;
	*mem_before = mem_available_kb();
	err = slotlb_open(&s->lb, &opts);
	if (err)
		return err;
	s->prog_fd = slotlb_prog_fd(s->lb);
	err = slotlb_iface_set(s->lb, s->lab.client_ifindex,
			       SLOTLB_ROLE_PUBLIC);
	if (!err)
		err = slotlb_iface_set(s->lb, s->lab.backend_ifindex,
				       SLOTLB_ROLE_BACKEND);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/flows4", s->pin_root);
	s->flows_fd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/reply_index", s->pin_root);
	s->index_fd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/flows_new", s->pin_root);
	s->new_fd = bpf_obj_get(path);
	s->floor_fd = load_floor();
	if (s->flows_fd < 0 || s->index_fd < 0 || s->new_fd < 0 ||
	    s->floor_fd < 0)
		return -errno;
	for (i = 0; !err && i < LAB_BACKENDS; i++) {
		be.addr[0] = htonl(LAB_BACKEND_NET + LAB_BACKEND_BASE + i);
		be.port = htons(LAB_BACKEND_PORT);
		ids[i] = i + 1;
		err = slotlb_backend_set(s->lb, ids[i], &be);
	}
	if (!err)
		err = slotlb_deployment_publish(s->lb, 1, &info, ids, NULL,
						LAB_BACKENDS);
	if (!err)
		err = slotlb_routing_set(s->lb, 0, &r);
	ek.addr[0] = htonl(LAB_VIP);
	if (!err)
		err = slotlb_endpoint_set(s->lb, &ek, &ep);
	return err;
}

static int flow_bench(struct scale *s)
{
	double *v[5];
	long mem0, mem1, entries;
	uint64_t t;
	int i, err = -ENOMEM;

	for (i = 0; i < 5; i++)
		v[i] = calloc(s->rounds, sizeof(double));
	s->pkts = calloc(EST_FRAMES, sizeof(*s->pkts));
	if (!v[0] || !v[1] || !v[2] || !v[3] || !v[4] || !s->pkts)
		goto out;
	err = setup(s, &mem0);
	if (err)
		goto out;
	/* Near-empty table: SMALL_FLOWS established, new flows on top. */
	err = fill(s, 0, SMALL_FLOWS);
	s->next_flow = SMALL_FLOWS;
	if (!err)
		err = rounds(s, true, SMALL_FLOWS, v[0]);
	if (!err)
		err = rounds(s, false, 0, v[1]);
	if (err)
		goto out;
	/* Full table: every flow up to s->flows pinned. */
	t = scale_now_ns();
	err = fill_all(s);
	if (err)
		goto out;
	t = scale_now_ns() - t;
	entries = count_entries(s->flows_fd);
	mem1 = mem_available_kb();
	err = rounds(s, true, SMALL_FLOWS, v[2]);
	if (!err)
		err = rounds(s, true, s->flows, v[3]);
	if (!err)
		err = rounds(s, false, 0, v[4]);
	if (err)
		goto out;
	printf("\nEstablished IPv4 flows: capacity %u; memlock (bpftool's "
	       "figure) flows4 %.1f MiB + reply_index %.1f MiB = %.1f B a "
	       "flow; half-open stage %.1f MiB; MemAvailable fell by %.1f "
	       "MiB from before slotlb_open() to the table full; %ld flows "
	       "established (%.1f%% of capacity) by handshakes in %.1f s\n\n",
	       s->flows, memlock_of(s->flows_fd) / 1048576.0,
	       memlock_of(s->index_fd) / 1048576.0,
	       (double)(memlock_of(s->flows_fd) + memlock_of(s->index_fd)) /
		       s->flows,
	       memlock_of(s->new_fd) / 1048576.0, (mem0 - mem1) / 1024.0,
	       entries, 100.0 * entries / s->flows, t / 1e9);
	printf("Per packet, ns net of an XDP_TX floor, %u rounds:\n\n",
	       s->rounds);
	printf("| case | median | min | max | vs near-empty |\n");
	printf("|---|---|---|---|---|\n");
	row("established, 10k flows in a 10k-flow table (baseline)", v[0],
	    s->rounds, 0);
	double base_est = v[0][s->rounds / 2];
	row("established, the same 10k flows in the full table", v[2],
	    s->rounds, base_est);
	row("established, random over all flows of the full table", v[3],
	    s->rounds, base_est);
	row("new flow (SYN), near-empty table (baseline)", v[1], s->rounds, 0);
	row("new flow (SYN), established table full", v[4], s->rounds,
	    v[1][s->rounds / 2]);
out:
	for (i = 0; i < 5; i++)
		free(v[i]);
	free(s->pkts);
	return err;
}

int main(int argc, char **argv)
{
	static struct scale s = {.flows = 1000000, .rounds = 5};
	int opt, err;

	while ((opt = getopt(argc, argv, "f:r:p:")) != -1) {
		if (opt == 'p')
			snprintf(s.pin_root, sizeof(s.pin_root), "%s", optarg);
		else if (opt == 'f')
			s.flows = (uint32_t)strtoul(optarg, NULL, 10);
		else if (opt == 'r')
			s.rounds = (unsigned int)strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (s.flows < 20 * SMALL_FLOWS || s.flows > 4000000 || s.rounds < 5 ||
	    s.rounds > 64) {
		fprintf(stderr,
			"usage: scale [-f FLOWS>=200000] [-r 5..64] [-p PIN_ROOT]\n");
		return 2;
	}
	s.measure_cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	err = bench_pin_cpu(s.measure_cpu);
	if (!err)
		err = lab_setup(&s.lab);
	if (!err)
		err = flow_bench(&s);
	if (!err)
		err = scale_maglev(s.lb, 9);
	if (!err)
		err = scale_swap(s.lb, 201, 1000);
	if (s.lb)
		slotlb_close(s.lb);
	if (s.pin_root[0])
		bench_unpin_all(s.pin_root);
	if (err) {
		fprintf(stderr, "Error: scale: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
