/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_xdp's traffic-routing paths: a second app on its own endpoint
 * (192.0.2.11:80) whose production slot sends 10% of its clients to
 * staging and 5% to qa and has 4 audience prefixes that match none of
 * them, so every new flow walks all four prefixes, hashes the client and
 * compares the ranges: the worst case of a realistic rule set. Its new
 * flows are a row of the table like the plain app's, in the same run;
 * then the plain app, this app and a copy whose slots all hold one
 * deployment are measured interleaved (paired differences), each arm on
 * new flows of its own fresh 5-tuples, and so are a hot established
 * flow of each.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "traffic.h"
#include "traffic_parse.h"
#include "bench_xdp.h"

#define SPLIT_APP_ID 1
#define SPLIT_ENDPOINT_ID 2
#define SPLIT_VIP 0xc000020bU /* 192.0.2.11 */
/* After bench_setup.c's 1 (the plain app) and 2 (its previous one). */
#define FIRST_DEPLOYMENT 3 /* production 3, staging 4, qa 5 */
/* The same rules in an app whose three slots hold one deployment: the
 * choice is made in full, but every flow then uses one ring, as the
 * plain app's do, so this arm prices the choice alone. */
#define SAME_APP_ID 2
#define SAME_ENDPOINT_ID 3
#define SAME_VIP 0xc000020cU /* 192.0.2.12 */

static const char *const audience[] = {"10.0.0.0/8", "172.16.0.0/12",
				       "100.64.0.0/10", "203.0.113.0/24"};

static int new_flows(struct bench *b, uint32_t dep, uint64_t *n)
{
	struct slotlb_counters c;
	int err = slotlb_stats_read(b->lb, SLOTLB_STATS_DEPLOYMENT, dep, &c);

	*n = c.new_flows;
	return err;
}

/* The app's element: three slots, each a deployment of the same ten
 * backends (or all three the first one, if same); 10/5 laid out by the
 * controller's function; 4 prefixes. */
static int split_element(struct bench *b, struct slotlb_routing *r, bool same)
{
	const struct slotlb_share want[] = {{1, 1000}, {2, 500}};
	struct slotlb_prefix p[4];
	struct slotlb_split out[SLOTLB_MAX_SPLITS];
	char why[SLOTLB_TRAFFIC_WHY_LEN];
	size_t n;
	int err, i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < 3; i++)
		r->deployment[i] = FIRST_DEPLOYMENT + (same ? 0 : i);
	err = slotlb_split_layout(0, NULL, 0, want, 2, out, &n, NULL);
	if (!err)
		err = slotlb_routing_set_splits(r, 0, out, n);
	if (err)
		return bench_fail(b, err, "split: %s", strerror(-err));
	if (slotlb_parse_prefixes(audience, 4, p, why, sizeof(why)))
		return bench_fail(b, -EINVAL, "audience: %s", why);
	err = slotlb_routing_set_audience(r, 0, 1, p, 2);
	if (!err)
		err = slotlb_routing_set_audience(r, 0, 2, p + 2, 2);
	if (err)
		return bench_fail(b, err, "audience: %s", strerror(-err));
	return 0;
}

/* An app with the split element on its own endpoint vip:80. */
static int split_app(struct bench *b, uint32_t app, uint32_t vip,
		     uint32_t endpoint_id, bool same)
{
	struct slotlb_endpoint ep = {
		.app_id = app, .slot = 0, .endpoint_id = endpoint_id};
	struct slotlb_endpoint_key ek = {.port = htons(LAB_VIP_PORT),
					 .proto = IPPROTO_TCP,
					 .family = AF_INET};
	struct slotlb_routing r;
	int err;

	err = split_element(b, &r, same);
	if (err)
		return err;
	err = slotlb_routing_set(b->lb, app, &r);
	ek.addr[0] = htonl(vip);
	if (!err)
		err = slotlb_endpoint_set(b->lb, &ek, &ep);
	if (err)
		return bench_fail(b, err, "split app %u: %s", app,
				  strerror(-err));
	return 0;
}

/* Frames of round r: SYNs of count new flows of a space to vip. */
static void syns(struct bench *b, struct lab_pkt *p, uint32_t count,
		 enum bench_space space, unsigned int r, uint32_t vip)
{
	const struct lab *l = &b->lab;
	uint32_t i, f;

	for (i = 0; i < count; i++) {
		f = bench_flow(b->n, b->rounds, space, r, i);
		lab_tcp(&p[i], l->router_mac, l->client_if_mac,
			lab_client_addr(f), vip, lab_client_port(f),
			LAB_VIP_PORT, LAB_TCP_SYN);
	}
}

/* The ACK of the first flow of a space's round r (after its SYN). */
static void first_ack(struct bench *b, struct lab_pkt *p,
		      enum bench_space space, unsigned int r, uint32_t vip)
{
	uint32_t f = bench_flow(b->n, b->rounds, space, r, 0);

	lab_tcp(p, b->lab.router_mac, b->lab.client_if_mac, lab_client_addr(f),
		vip, lab_client_port(f), LAB_VIP_PORT, LAB_TCP_ACK);
}

void bench_traffic_frames(struct bench *b, unsigned int r)
{
	const uint32_t vip[3] = {LAB_VIP, SPLIT_VIP, SAME_VIP};
	const enum bench_space space[3] = {BENCH_SPACE_PAIR_PLAIN,
					   BENCH_SPACE_PAIR_SPLIT,
					   BENCH_SPACE_PAIR_SAME};
	int k;

	syns(b, b->syn_split, b->n, BENCH_SPACE_SPLIT, r, SPLIT_VIP);
	for (k = 0; k < 3; k++)
		syns(b, b->pair_syn[k], b->n / 2, space[k], r, vip[k]);
	for (k = 0; k < 2; k++)
		first_ack(b, b->pair_ack[k], space[k], r, vip[k]);
}

int bench_traffic_setup(struct bench *b)
{
	struct slotlb_deployment_info info = {.app_id = SPLIT_APP_ID};
	uint32_t ids[LAB_BACKENDS], i;
	int err = 0;

	for (i = 0; i < LAB_BACKENDS; i++)
		ids[i] = i + 1; /* bench_setup.c's backends */
	for (i = 0; !err && i < 3; i++) {
		snprintf(info.version, sizeof(info.version), "split-%u", i);
		err = slotlb_deployment_publish(b->lb, FIRST_DEPLOYMENT + i,
						&info, ids, NULL, LAB_BACKENDS);
	}
	if (err)
		return bench_fail(b, err, "split deployments: %s",
				  strerror(-err));
	err = split_app(b, SPLIT_APP_ID, SPLIT_VIP, SPLIT_ENDPOINT_ID, false);
	if (!err)
		err = split_app(b, SAME_APP_ID, SAME_VIP, SAME_ENDPOINT_ID,
				true);
	b->syn_split = calloc(b->n, sizeof(*b->syn_split));
	for (i = 0; i < 3; i++)
		b->pair_syn[i] = calloc(b->n / 2 + 1, sizeof(*b->pair_syn[i]));
	for (i = 0; i < 2; i++)
		b->pair_ack[i] = calloc(1, sizeof(*b->pair_ack[i]));
	if (!err && (!b->syn_split || !b->pair_syn[0] || !b->pair_syn[1] ||
		     !b->pair_syn[2] || !b->pair_ack[0] || !b->pair_ack[1]))
		err = bench_fail(b, -ENOMEM, "frames: %s", strerror(ENOMEM));
	b->pair_new = calloc(b->rounds, sizeof(*b->pair_new));
	b->pair_same = calloc(b->rounds, sizeof(*b->pair_same));
	b->pair_hot = calloc(b->rounds, sizeof(*b->pair_hot));
	if (!err && (!b->pair_new || !b->pair_same || !b->pair_hot))
		err = bench_fail(b, -ENOMEM, "samples: %s", strerror(ENOMEM));
	if (err)
		return err;
	b->paths[BENCH_PATH_NEW_SPLIT] =
		(struct bench_path){"new flow, 10/5 split + 4 pfx",
				    b->syn_split,
				    1,
				    b->lab.client_ifindex,
				    XDP_REDIRECT,
				    SLOTLB_REASON_FORWARD,
				    0,
				    0};
	for (i = 0; i < 3; i++)
		if (new_flows(b, FIRST_DEPLOYMENT + i, &b->split_base[i]))
			return bench_fail(b, -EIO, "deployment counters");
	return 0;
}

/*
 * After the first round: the split path really split. Its 100,000 SYNs
 * come from 4,000 client addresses, so staging and qa get 10 and 5% of
 * those, give or take ~0.5 point; anything off by 3 points means the
 * frames did not take the path the row names.
 */
int bench_traffic_check(struct bench *b)
{
	const double want[3] = {85.0, 10.0, 5.0};
	uint64_t n[3], total = 0;
	int i;

	for (i = 0; i < 3; i++) {
		if (new_flows(b, FIRST_DEPLOYMENT + i, &n[i]))
			return bench_fail(b, -EIO, "deployment counters");
		n[i] -= b->split_base[i];
		total += n[i];
	}
	for (i = 0; i < 3; i++) {
		b->split_share[i] = total ? 100.0 * (double)n[i] / total : 0;
		if (b->split_share[i] < want[i] - 3 ||
		    b->split_share[i] > want[i] + 3)
			return bench_fail(
				b, -EPROTO,
				"split path: slot %d got %.1f%% of new flows, want %.0f%%",
				i, b->split_share[i], want[i]);
	}
	return 0;
}

/* One run of frame p, repeat=1: its kernel-measured duration. */
static int run_frame(struct bench *b, const struct lab_pkt *p, uint32_t *ns)
{
	struct xdp_md md = {
		.data_end = p->len,
		.ingress_ifindex = (__u32)b->lab.client_ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data,
		    .data_size_in = p->len, .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = 1);
	int err = bpf_prog_test_run_opts(b->prog_fd, &o);

	if (err)
		return bench_fail(b, err, "paired run: %s", strerror(-err));
	if (o.retval != XDP_REDIRECT)
		return bench_fail(b, -EPROTO, "paired run: verdict %u",
				  o.retval);
	*ns = o.duration;
	return 0;
}

/*
 * Arms of one paired measurement: client frames to the plain app and to
 * split apps (the same number, of like 5-tuples), interleaved by blocks
 * of 64 (the order rotates from block to block), so all arms see the
 * same machine and the same flow table: per-packet differences arm -
 * plain of one round, which a busy machine's drift does not reach as it
 * reaches rows measured seconds apart. Frame arrays have stride 1,
 * single frames stride 0.
 */
static int interleave(struct bench *b, const struct lab_pkt *const *arm,
		      int arms, uint32_t stride, uint32_t n, double *delta)
{
	uint64_t sum[3] = {0, 0, 0};
	uint32_t from, i, ns = 0;
	int err, k;

	for (from = 0; from < n; from += 64) {
		if (bench_now_ns() > b->deadline_ns)
			return bench_fail(b, -ETIME, "run out of time");
		for (k = 0; k < arms; k++) {
			int a = (k + (int)(from / 64)) % arms;

			for (i = from; i < from + 64 && i < n; i++) {
				err = run_frame(b, &arm[a][i * stride], &ns);
				if (err)
					return err;
				sum[a] += ns;
			}
		}
	}
	for (k = 1; k < arms; k++)
		delta[k - 1] = ((double)sum[k] - (double)sum[0]) / n;
	return 0;
}

/* Packets counted as forwarded, all CPUs. */
static int forwarded(struct bench *b, uint64_t *n, uint64_t *total)
{
	struct slotlb_reason_counter c[SLOTLB_REASON_MAX];
	int err = slotlb_reasons_read(b->lb, c), i;

	if (err)
		return bench_fail(b, err, "reasons: %s", strerror(-err));
	*n = c[SLOTLB_REASON_FORWARD].packets;
	for (*total = 0, i = 0; i < SLOTLB_REASON_MAX; i++)
		*total += c[i].packets;
	return 0;
}

/* Interleave the arms; every frame must have been forwarded as a
 * client's packet of a flow (new or established). */
static int paired(struct bench *b, const struct lab_pkt *const *arm, int arms,
		  uint32_t stride, uint32_t n, double *delta, const char *what)
{
	uint64_t f0, t0, f1, t1, want = (uint64_t)arms * n;
	int err = forwarded(b, &f0, &t0);

	if (!err)
		err = interleave(b, arm, arms, stride, n, delta);
	if (!err)
		err = forwarded(b, &f1, &t1);
	if (!err && (f1 - f0 != want || t1 - t0 != want))
		err = bench_fail(b, -EPROTO,
				 "paired %s: %lu of %lu frames forwarded", what,
				 (unsigned long)(f1 - f0), (unsigned long)want);
	return err;
}

/* Establish the first flow of each hot arm (its SYN again, the
 * backend's SYN-ACK, the ACK), untimed. */
static int establish_hot(struct bench *b)
{
	struct lab_run run = {
		.prog_fd = b->prog_fd,
		.client_ifindex = b->lab.client_ifindex,
		.backend_ifindex = b->lab.backend_ifindex,
	};
	struct lab_chosen c;
	int k, err;

	memcpy(run.backend_if_mac, b->lab.backend_if_mac, 6);
	for (k = 0; k < 2; k++) {
		err = lab_handshake(&run, &b->pair_syn[k][0], b->pair_ack[k],
				    &c);
		if (err)
			return bench_fail(b, err, "paired hot flow %d: %s", k,
					  strerror(-err));
	}
	return 0;
}

int bench_traffic_pairs(struct bench *b, unsigned int round)
{
	const struct lab_pkt *new_arms[3] = {b->pair_syn[0], b->pair_syn[1],
					     b->pair_syn[2]};
	const struct lab_pkt *hot_arms[2] = {b->pair_ack[0], b->pair_ack[1]};
	double d[2] = {0, 0};
	int err;

	/* New flows of all apps, fresh 5-tuples of each arm (half the
	 * frames: the three arms share every block, so they need fewer). */
	err = paired(b, new_arms, 3, 1, b->n / 2, d, "new flows");
	b->pair_new[round] = d[0];
	b->pair_same[round] = d[1];
	if (!err)
		err = establish_hot(b);
	if (!err)
		err = paired(b, hot_arms, 2, 0, b->n / 4, d, "hot flows");
	b->pair_hot[round] = d[0];
	return err;
}

void bench_traffic_teardown(struct bench *b)
{
	int k;

	free(b->syn_split);
	for (k = 0; k < 3; k++)
		free(b->pair_syn[k]);
	for (k = 0; k < 2; k++)
		free(b->pair_ack[k]);
	free(b->pair_new);
	free(b->pair_same);
	free(b->pair_hot);
}

void bench_traffic_report(const struct bench *b,
			  double (*median)(double *, unsigned int))
{
	const double *arms[3] = {b->pair_same, b->pair_new, b->pair_hot};
	const char *const names[3] = {
		"new flow: choice only",
		"new flow: choice + 3 rings",
		"established, 1 hot flow",
	};
	double *v = calloc(b->rounds, sizeof(*v));
	unsigned int r;
	int i;

	if (!v || b->no_pairs) {
		free(v);
		return;
	}
	printf("\ncost of a 10/5 split + 4 audience prefixes, paired with the plain app\n"
	       "(frames interleaved in blocks of 64), ns/packet per round:\n");
	for (i = 0; i < 3; i++) {
		printf("  %-28s", names[i]);
		for (r = 0; r < b->rounds; r++) {
			v[r] = arms[i][r];
			printf(" %6.1f", v[r]);
		}
		printf("  median %6.1f\n", median(v, b->rounds));
	}
	free(v);
}
