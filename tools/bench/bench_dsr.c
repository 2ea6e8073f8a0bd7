/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_xdp's direct server return paths (docs/dsr.md), in the same run
 * as the NAT paths so their ratio means something on a shared machine:
 * an app in DSR mode on its own endpoint (same deployment, same
 * backends), its new flows (SYN: choose, pin, encapsulate), one hot
 * pinned flow and distinct pinned flows (ACK: established lookup miss,
 * endpoint, pin, encapsulate); and the backend agent's program over the
 * GUE frames the balancer made: a SYN decapsulated to the stack, and a
 * non-SYN that no local socket owns (socket lookup miss) sent on to a
 * second candidate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "bench_xdp.h"
#include "backend_agent.skel.h"

#define DSR_APP_ID 3
#define DSR_ENDPOINT_ID 4
#define DSR_PORT 8080 /* the backends' port: DSR does not rewrite it */
#define DEPLOYMENT_ID 1
/* Where the GUE header's hops byte and second candidate sit. */
#define GUE_HOPS_OFF (14 + 20 + 8 + 6)
#define GUE_SECOND_OFF (14 + 20 + 8 + 8)

static void frames(struct bench *b, struct lab_pkt *syn, struct lab_pkt *ack,
		   enum bench_space space, unsigned int r)
{
	const struct lab *l = &b->lab;
	uint32_t i, f;

	for (i = 0; i < b->n; i++) {
		f = bench_flow(b->n, b->rounds, space, r, i);
		lab_tcp(&syn[i], l->router_mac, l->client_if_mac,
			lab_client_addr(f), LAB_VIP, lab_client_port(f),
			DSR_PORT, LAB_TCP_SYN);
		lab_tcp(&ack[i], l->router_mac, l->client_if_mac,
			lab_client_addr(f), LAB_VIP, lab_client_port(f),
			DSR_PORT, LAB_TCP_ACK);
	}
}

/* What the balancer sends for frame in: the GUE frame into out. */
static int encapsulate(struct bench *b, const struct lab_pkt *in,
		       struct lab_pkt *out)
{
	struct xdp_md md = {
		.data_end = in->len,
		.ingress_ifindex = (__u32)b->lab.client_ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data,
		    .data_size_in = in->len, .data_out = out->data,
		    .data_size_out = sizeof(out->data), .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(b->prog_fd, &o);
	if (err)
		return err;
	if (o.retval != XDP_REDIRECT ||
	    o.data_size_out != in->len + SLOTLB_DSR_OVERHEAD)
		return -EPROTO;
	out->len = o.data_size_out;
	return 0;
}

void bench_dsr_frames(struct bench *b, unsigned int r)
{
	frames(b, b->dsr_syn, b->dsr_ack, BENCH_SPACE_DSR, r);
}

int bench_dsr_agent_frames(struct bench *b, unsigned int r)
{
	uint32_t i, second = htonl(LAB_BACKEND_NET + LAB_BACKEND_BASE);
	int err;

	/* Their own flows: encapsulating pins them. */
	frames(b, b->agent_syn, b->agent_ack, BENCH_SPACE_AGENT, r);
	for (i = 0; i < b->n; i++) {
		err = encapsulate(b, &b->agent_syn[i], &b->agent_syn[i]);
		if (!err)
			err = encapsulate(b, &b->agent_ack[i],
					  &b->agent_ack[i]);
		if (err)
			return bench_fail(b, err,
					  "dsr: frame %u not encapsulated: %s",
					  i, strerror(-err));
		/* A second candidate (a backend with a neighbour), which
		 * the agent sends an unowned segment on to. */
		b->agent_ack[i].data[GUE_HOPS_OFF] = 1;
		memcpy(&b->agent_ack[i].data[GUE_SECOND_OFF], &second, 4);
	}
	return 0;
}

int bench_dsr_setup(struct bench *b)
{
	struct slotlb_endpoint ep = {.app_id = DSR_APP_ID,
				     .slot = 0,
				     .endpoint_id = DSR_ENDPOINT_ID};
	struct slotlb_endpoint_key ek = {.port = htons(DSR_PORT),
					 .proto = IPPROTO_TCP,
					 .family = AF_INET};
	struct slotlb_routing r = {.mode = SLOTLB_MODE_DSR};
	int err;

	r.deployment[0] = DEPLOYMENT_ID;
	ek.addr[0] = htonl(LAB_VIP);
	err = slotlb_routing_set(b->lb, DSR_APP_ID, &r);
	if (!err)
		err = slotlb_endpoint_set(b->lb, &ek, &ep);
	if (err)
		return bench_fail(b, err, "dsr app: %s", strerror(-err));
	b->dsr_syn = calloc(b->n, sizeof(*b->dsr_syn));
	b->dsr_ack = calloc(b->n, sizeof(*b->dsr_ack));
	b->agent_syn = calloc(b->n, sizeof(*b->agent_syn));
	b->agent_ack = calloc(b->n, sizeof(*b->agent_ack));
	if (!b->dsr_syn || !b->dsr_ack || !b->agent_syn || !b->agent_ack)
		return bench_fail(b, -ENOMEM, "dsr frames: %s",
				  strerror(ENOMEM));
	b->agent = backend_agent_bpf__open_and_load();
	if (!b->agent)
		return bench_fail(b, -errno, "backend agent program: %s",
				  strerror(errno));
	b->agent_fd = bpf_program__fd(b->agent->progs.slotlb_decap);
	b->paths[BENCH_PATH_DSR_NEW] =
		(struct bench_path){"dsr: new flow (SYN)",
				    b->dsr_syn,
				    1,
				    b->lab.client_ifindex,
				    XDP_REDIRECT,
				    SLOTLB_REASON_FORWARD,
				    0,
				    0};
	b->paths[BENCH_PATH_DSR_HOT] =
		(struct bench_path){"dsr: pinned, 1 hot flow",
				    b->dsr_ack,
				    0,
				    b->lab.client_ifindex,
				    XDP_REDIRECT,
				    SLOTLB_REASON_FORWARD,
				    0,
				    0};
	b->paths[BENCH_PATH_DSR_EST] =
		(struct bench_path){"dsr: pinned, distinct flows",
				    b->dsr_ack,
				    1,
				    b->lab.client_ifindex,
				    XDP_REDIRECT,
				    SLOTLB_REASON_FORWARD,
				    0,
				    0};
	b->paths[BENCH_PATH_AGENT_SYN] =
		(struct bench_path){"agent: SYN decapsulated",
				    b->agent_syn,
				    1,
				    b->lab.backend_ifindex,
				    XDP_PASS,
				    0,
				    0,
				    b->agent_fd};
	b->paths[BENCH_PATH_AGENT_ACK] =
		(struct bench_path){"agent: no socket, sent on",
				    b->agent_ack,
				    1,
				    b->lab.backend_ifindex,
				    XDP_TX,
				    0,
				    0,
				    b->agent_fd};
	return 0;
}

void bench_dsr_report(const struct bench *b,
		      double (*median)(double *, unsigned int))
{
	static const struct {
		const char *what;
		enum bench_path_id dsr, nat;
	} pairs[] = {
		{"new flow (SYN)", BENCH_PATH_DSR_NEW, BENCH_PATH_NEW},
		{"1 hot flow", BENCH_PATH_DSR_HOT, BENCH_PATH_HOT},
		{"distinct flows", BENCH_PATH_DSR_EST, BENCH_PATH_EST},
	};
	double *v = calloc(b->rounds, sizeof(*v));
	double d, n;
	unsigned int i, r;

	if (!v)
		return;
	printf("\ndsr / nat, medians of this run (net ns/packet):\n");
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (!bench_timed(b, pairs[i].dsr) ||
		    !bench_timed(b, pairs[i].nat))
			continue;
		for (r = 0; r < b->rounds; r++)
			v[r] = b->samples[pairs[i].dsr][r].net;
		d = median(v, b->rounds);
		for (r = 0; r < b->rounds; r++)
			v[r] = b->samples[pairs[i].nat][r].net;
		n = median(v, b->rounds);
		printf("  %-16s dsr %7.1f  nat %7.1f  ratio %5.2f\n",
		       pairs[i].what, d, n, n > 0 ? d / n : 0.0);
	}
	free(v);
}

void bench_dsr_teardown(struct bench *b)
{
	backend_agent_bpf__destroy(b->agent);
	free(b->dsr_syn);
	free(b->dsr_ack);
	free(b->agent_syn);
	free(b->agent_ack);
}
