/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow policy through BPF_PROG_TEST_RUN: expiring TTLs, empty slots, the
 * non-SYN miss policies, the TCP close and UDP idle lifecycle, flow GC and
 * drain counts, and flows surviving a reload of the program on the same
 * pinned maps. Runs with a 1 s UDP timeout and a 1 s closed-TCP linger so
 * the lifecycle can be watched in a few seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lab.h"
#include "conv.h"

static struct lab lab;
static unsigned int cases_run;
static const struct slotlb_opts lab_opts = {
	.flow_capacity = 4096,
	.udp_timeout_s = 1,
	.tcp_closed_timeout_s = 1,
};

/* Long enough for a 1 s timeout on a clock with 1 s resolution. */
#define IDLE_US 2200000

#define TCP4(...)                                                           \
	{                                                                   \
		.family = AF_INET, .proto = IPPROTO_TCP, .src = CLIENT4,    \
		.dst = VIP4, .dport = PORT_HTTP, .payload = 10, __VA_ARGS__ \
	}
#define UDP4(...)                                                          \
	{                                                                  \
		.family = AF_INET, .proto = IPPROTO_UDP, .src = CLIENT4,   \
		.dst = VIP4, .dport = PORT_DNS, .payload = 10, __VA_ARGS__ \
	}
#define TCP6(...)                                                           \
	{                                                                   \
		.family = AF_INET6, .proto = IPPROTO_TCP, .src = CLIENT6,   \
		.dst = VIP6, .dport = PORT_HTTP, .payload = 10, __VA_ARGS__ \
	}
#define UDP6(...)                                                          \
	{                                                                  \
		.family = AF_INET6, .proto = IPPROTO_UDP, .src = CLIENT6,  \
		.dst = VIP6, .dport = PORT_DNS, .payload = 10, __VA_ARGS__ \
	}

/* A flow under test: the client's spec and the backend it was pinned to. */
struct flow {
	struct pkt_spec c; /* client -> endpoint */
	const struct lab_backend *be;
};

static size_t client_frame(uint8_t *buf, struct pkt_spec *s)
{
	s->smac = lab_client_mac(s->family, s->src);
	s->dmac = lab_pub_mac;
	return pkt_build(buf, s);
}

/* Client sends with these flags; returns the output. */
static void client_send(struct lab *l, struct flow *f, uint8_t flags,
			struct xdp_out *out)
{
	uint8_t in[PKT_MAX];
	size_t len;

	f->c.flags = flags;
	len = client_frame(in, &f->c);
	lab_run(l, lab_pub_ifindex, in, len, out);
	cases_run++;
}

/* Client sends, and the packet must reach a backend of dep. */
static const struct lab_backend *client_expect(struct lab *l, struct flow *f,
					       uint8_t flags, uint32_t dep,
					       int reason, const char *desc)
{
	struct xdp_out out;

	client_send(l, f, flags, &out);
	return assert_forwarded(desc, &out, &f->c, lab_pub_ifindex, dep,
				reason);
}

/* Start a flow (SYN or first datagram) on dep. */
static void flow_open(struct flow *f, const struct pkt_spec *spec, uint32_t dep,
		      const char *desc)
{
	f->c = *spec;
	f->c.seed = f->c.sport = lab_port();
	f->be = client_expect(&lab, f, f->c.proto == IPPROTO_TCP ? F_SYN : 0,
			      dep, SLOTLB_REASON_FORWARD, desc);
}

/* The backend answers with these flags; it must reach the client. */
static void backend_send(struct lab *l, const struct flow *f, uint8_t flags,
			 const char *desc)
{
	struct pkt_spec r = {0};
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;

	r.family = f->c.family;
	r.proto = f->c.proto;
	r.src = f->be->addr;
	r.sport = f->be->port;
	r.dst = f->c.src;
	r.dport = f->c.sport;
	r.flags = flags;
	r.payload = 21;
	r.seed = (uint16_t)(f->c.sport + 1);
	r.smac = f->be->mac;
	r.dmac = lab_back_mac;
	len = pkt_build(in, &r);
	lab_run(l, lab_back_ifindex, in, len, &out);
	assert_replied(desc, &out, &r, f->c.dst, f->c.dport);
	cases_run++;
}

static uint32_t app_of(const struct pkt_spec *s)
{
	return s->family == AF_INET ? APP_WEB4 : APP_WEB6;
}

static uint32_t dep_a(const struct pkt_spec *s)
{
	return s->family == AF_INET ? DEP_A4 : DEP_A6;
}

static uint32_t dep_b(const struct pkt_spec *s)
{
	return s->family == AF_INET ? DEP_B4 : DEP_B6;
}

static void test_ttl_expiring_passes_untouched(void **state)
{
	static const struct {
		const char *desc;
		struct pkt_spec in;
	} rows[] = {
		{"v4 TCP SYN with TTL 1", TCP4(.flags = F_SYN, .ttl = 1)},
		{"v4 UDP with TTL 1", UDP4(.ttl = 1)},
		{"v6 TCP SYN with hop limit 1", TCP6(.flags = F_SYN, .ttl = 1)},
		{"v6 UDP with hop limit 1", UDP6(.ttl = 1)},
	};
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	struct flow f;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pkt_spec s = rows[i].in;

		s.seed = s.sport = lab_port();
		len = client_frame(in, &s);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		assert_untouched(rows[i].desc, &out, in, len, XDP_PASS,
				 SLOTLB_REASON_PASS_TTL);
		cases_run++;
	}
	/* The TTL-1 SYN made no entry: an ACK of its tuple is a miss. */
	f.c = rows[0].in;
	f.c.seed = f.c.sport = lab_port();
	len = client_frame(in, &f.c);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_untouched("TTL-1 SYN", &out, in, len, XDP_PASS,
			 SLOTLB_REASON_PASS_TTL);
	f.c.ttl = 64;
	client_expect(&lab, &f, F_ACK, DEP_A4, SLOTLB_REASON_FORWARD_NONSYN,
		      "ACK after a TTL-1 SYN is a non-SYN miss");

	/* Established flows and replies expiring pass too. */
	flow_open(&f, &(struct pkt_spec)TCP4(), DEP_A4, "flow for TTL 1");
	f.c.ttl = 1;
	f.c.flags = F_ACK;
	len = client_frame(in, &f.c);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_untouched("established packet with TTL 1", &out, in, len,
			 XDP_PASS, SLOTLB_REASON_PASS_TTL);
	cases_run++;
}

static void test_empty_slot_drops(void **state)
{
	const struct pkt_spec staging = TCP4(.dport = PORT_STAGING);
	const struct pkt_spec udp = UDP4();
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	struct flow f;
	size_t len;

	(void)state;
	f.c = staging;
	f.c.seed = f.c.sport = lab_port();
	client_send(&lab, &f, F_SYN, &out);
	assert_verdict("SYN to the empty staging slot", &out, XDP_DROP);
	assert_reason("SYN to the empty staging slot", &out,
		      SLOTLB_REASON_DROP_NO_DEPLOYMENT);

	/* Pin a flow, then empty the production slot. */
	flow_open(&f, &(struct pkt_spec)TCP4(), DEP_A4, "flow before emptying");
	lab_route(&lab, APP_WEB4, 0);
	client_expect(&lab, &f, F_ACK, DEP_A4, SLOTLB_REASON_FORWARD,
		      "pinned flow after its slot was emptied");

	f.c = udp;
	f.c.seed = f.c.sport = lab_port();
	len = client_frame(in, &f.c);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_verdict("UDP to an emptied slot", &out, XDP_DROP);
	assert_reason("UDP to an emptied slot", &out,
		      SLOTLB_REASON_DROP_NO_DEPLOYMENT);
	cases_run++;
}

static void test_nonsyn_miss_hash_policy(void **state)
{
	const struct lab_backend *be;
	struct flow f;

	(void)state;
	f.c = (struct pkt_spec)TCP4();
	f.c.seed = f.c.sport = lab_port();
	be = client_expect(&lab, &f, F_ACK, DEP_A4,
			   SLOTLB_REASON_FORWARD_NONSYN, "ACK with no entry");
	lab_route(&lab, APP_WEB4, DEP_B4);
	if (client_expect(&lab, &f, F_ACK | F_PSH, DEP_A4,
			  SLOTLB_REASON_FORWARD,
			  "next ACK follows the entry the miss made") != be)
		fail_msg("non-SYN miss entry not followed");
}

static void test_nonsyn_miss_drop_policy(void **state)
{
	struct slotlb_opts opts = lab_opts;
	struct lab strict = {0};
	struct xdp_out out;
	struct flow f;

	(void)state;
	opts.nonsyn_policy = SLOTLB_NONSYN_DROP;
	if (lab_open(&strict, "strict", &opts, true))
		fail_msg("second instance with the drop policy did not open");
	f.c = (struct pkt_spec)TCP4();
	f.c.seed = f.c.sport = lab_port();
	/* On failure the pins go at exit (lab.c), the instance with it. */
	client_send(&strict, &f, F_ACK, &out);
	assert_verdict("ACK with no entry (drop policy)", &out, XDP_DROP);
	assert_reason("ACK with no entry (drop policy)", &out,
		      SLOTLB_REASON_DROP_NONSYN_MISS);
	f.c.seed = f.c.sport = lab_port();
	client_expect(&strict, &f, F_SYN, DEP_A4, SLOTLB_REASON_FORWARD,
		      "SYN under the drop policy");
	client_expect(&strict, &f, F_ACK, DEP_A4, SLOTLB_REASON_FORWARD,
		      "ACK of a pinned flow under the drop policy");
	lab_close(&strict);
}

/* Packets that end (or do not end) a flow, client or backend side. */
struct close_step {
	bool from_backend;
	uint8_t flags;
};

/* Established flows on A, then a swap to B, the steps, and a new SYN on
 * the same 5-tuple: a closed flow's picks B; a live flow's follows it to
 * its backend on A (which answers a challenge ACK, or a handshake that
 * replaces the entry). */
static const struct {
	const char *desc;
	struct pkt_spec in;
	struct close_step steps[3];
	size_t nsteps;
	bool closed; /* a new SYN must pick the new deployment */
} close_cases[] = {
	{"v4 FIN client, FIN backend",
	 TCP4(),
	 {{false, F_FIN | F_ACK}, {true, F_FIN | F_ACK}},
	 2,
	 true},
	{"v4 FIN backend, FIN client, ACK",
	 TCP4(),
	 {{true, F_FIN | F_ACK}, {false, F_FIN | F_ACK}, {true, F_ACK}},
	 3,
	 true},
	{"v6 FIN client, FIN backend",
	 TCP6(),
	 {{false, F_FIN | F_ACK}, {true, F_FIN | F_ACK}},
	 2,
	 true},
	{"v4 RST from client", TCP4(), {{false, F_RST}}, 1, true},
	{"v4 RST from backend", TCP4(), {{true, F_RST | F_ACK}}, 1, true},
	{"v6 RST from client", TCP6(), {{false, F_RST | F_ACK}}, 1, true},
	{"v4 SYN on a live flow", TCP4(), {{false, 0}}, 0, false},
	{"v6 SYN on a live flow", TCP6(), {{false, 0}}, 0, false},
	{"v4 FIN from client only", TCP4(), {{false, F_FIN | F_ACK}}, 1, false},
	{"v4 FIN from backend only", TCP4(), {{true, F_FIN | F_ACK}}, 1, false},
};

static void test_closed_flow_reselects(void **state)
{
	const struct lab_backend *be = NULL;
	struct xdp_out out;
	struct pkt_info pi;
	char desc[128];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(close_cases) / sizeof(close_cases[0]); i++) {
		const struct pkt_spec *s = &close_cases[i].in;
		struct conv v;

		lab_route(&lab, app_of(s), dep_a(s));
		snprintf(desc, sizeof(desc), "%s: handshake",
			 close_cases[i].desc);
		conv_init(&v, &lab, s);
		conv_open(&v, dep_a(s), desc);
		lab_route(&lab, app_of(s), dep_b(s));
		for (k = 0; k < close_cases[i].nsteps; k++) {
			const struct close_step *st = &close_cases[i].steps[k];

			snprintf(desc, sizeof(desc), "%s: step %zu",
				 close_cases[i].desc, k + 1);
			if (st->from_backend)
				conv_expect_backend(&v, st->flags, 0, desc);
			else
				conv_expect_client(&v, st->flags, 0, desc);
		}
		snprintf(desc, sizeof(desc), "%s: new SYN, same tuple",
			 close_cases[i].desc);
		v.cseq += 100000;
		conv_client(&v, F_SYN, 0, &out);
		assert_verdict(desc, &out, XDP_REDIRECT);
		if (!pkt_parse(out.data, out.len, &pi) ||
		    !(be = lab_backend_by_dst(&pi)))
			fail_msg("%s: reached no backend", desc);
		if (!lab_in_deployment(be, close_cases[i].closed ? dep_b(s)
								 : dep_a(s)))
			fail_msg("%s: went to %s, want deployment %s", desc,
				 be->addr, close_cases[i].closed ? "B" : "A");
		if (!close_cases[i].closed && be != v.be)
			fail_msg("%s: moved to %s", desc, be->addr);
		cases_run += close_cases[i].nsteps + 2;
	}
}

static void test_udp_idle_timeout_reselects(void **state)
{
	const struct pkt_spec specs[] = {UDP4(), UDP6()};
	struct flow f[2];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		flow_open(&f[i], &specs[i], dep_a(&specs[i]), "UDP first");
		lab_route(&lab, app_of(&specs[i]), dep_b(&specs[i]));
	}
	usleep(400000);
	for (i = 0; i < 2; i++) {
		if (client_expect(&lab, &f[i], 0, dep_a(&specs[i]),
				  SLOTLB_REASON_FORWARD,
				  "UDP 0.4 s later follows") != f[i].be)
			fail_msg(
				"UDP flow left its backend before the timeout");
		backend_send(&lab, &f[i], 0, "UDP answer before the timeout");
	}
	usleep(IDLE_US);
	for (i = 0; i < 2; i++) {
		f[i].be = client_expect(&lab, &f[i], 0, dep_b(&specs[i]),
					SLOTLB_REASON_FORWARD,
					"UDP after the idle timeout reselects");
		backend_send(&lab, &f[i], 0, "UDP answer from the new backend");
	}
}

/* A datagram's CPU reads the clock; another CPU's datagram of the same
 * flow stamps it a jiffy later before the first looks at it. The flow
 * is busy, not idle for 198 days: it keeps its backend across a swap
 * (unsigned, now - seen sent it to the new deployment). The later
 * stamp is written directly, 1,000 jiffies ahead (1-4 s). */
static void test_udp_stamp_after_the_clock(void **state)
{
	const struct pkt_spec spec = UDP4();
	struct slotlb_flow4 v, saved;
	struct slotlb_flow4_key k;
	struct flow f;
	int fd;

	(void)state;
	flow_open(&f, &spec, dep_a(&spec), "UDP first");
	backend_send(&lab, &f, 0, "UDP answer");
	fd = lab_flow4(&lab, &f.c, &k, &saved);
	v = saved;
	v.s.seen_client += 1000;
	v.s.seen_backend += 1000;
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_EXIST), 0);
	/* No previous deployment, and B in the element before too: no
	 * second chance brings the flow back to A if it is taken for
	 * expired. */
	lab_route_prev(&lab, app_of(&spec), dep_b(&spec), 0);
	lab_route_prev(&lab, app_of(&spec), dep_b(&spec), 0);
	if (client_expect(&lab, &f, 0, dep_a(&spec), SLOTLB_REASON_FORWARD,
			  "UDP stamped after the clock, after a swap") != f.be)
		fail_msg("UDP flow stamped after the clock left its backend");
	assert_int_equal(bpf_map_update_elem(fd, &k, &saved, BPF_EXIST), 0);
	close(fd);
}

struct find_ctx {
	const struct flow *f;
	bool established, half_open;
};

/* Is fl the flow of the client's spec s? */
static bool flow_is(const struct slotlb_flow_info *fl, const struct pkt_spec *s)
{
	uint8_t a[16];

	if (fl->family != s->family || fl->proto != s->proto ||
	    ntohs(fl->client_port) != s->sport ||
	    ntohs(fl->endpoint_port) != s->dport)
		return false;
	pkt_addr(s->family, s->src, a);
	if (memcmp(fl->client, a, s->family == AF_INET ? 4 : 16))
		return false;
	pkt_addr(s->family, s->dst, a);
	return !memcmp(fl->endpoint, a, s->family == AF_INET ? 4 : 16);
}

static int find_cb(const struct slotlb_flow_info *fl, void *ctx)
{
	struct find_ctx *c = ctx;

	if (!flow_is(fl, &c->f->c))
		return 0;
	if (fl->stage == SLOTLB_STAGE_ESTABLISHED)
		c->established = true;
	else
		c->half_open = true;
	return 0;
}

/* Is f in the established stage (the GC's), the half-open one? */
static void entries_of(const struct flow *f, bool *established, bool *half_open)
{
	struct find_ctx c = {.f = f};

	assert_int_equal(slotlb_flows_foreach(lab.lb, find_cb, &c), 0);
	*established = c.established;
	if (half_open)
		*half_open = c.half_open;
}

static void expect_established(const struct flow *f, bool present,
			       const char *desc)
{
	bool est;

	entries_of(f, &est, NULL);
	if (est != present)
		fail_msg("%s: established entry %s, want %s", desc,
			 est ? "present" : "gone",
			 present ? "present" : "gone");
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct times_ctx {
	const struct pkt_spec *s;
	enum slotlb_flow_stage stage;
	bool found;
	uint64_t age_ms, idle_ms;
};

static int times_cb(const struct slotlb_flow_info *fl, void *ctx)
{
	struct times_ctx *c = ctx;

	if (fl->stage != c->stage || !flow_is(fl, c->s))
		return 0;
	c->found = true;
	c->age_ms = fl->age_ms;
	c->idle_ms = fl->idle_ms;
	return 1;
}

/* The program's jiffies against CLOCK_MONOTONIC read around the walk:
 * a jiffy (4 ms at HZ 250), a second's rounding of nothing, and a
 * loaded machine's delays. */
#define START_SLACK_MS 150

/* The flow of s in stage must have started at t0 (CLOCK_MONOTONIC ms,
 * read just before its first packet): its start, now - age, is t0
 * within the slack. Its idle time goes to *idle_ms. */
static void expect_start(const struct pkt_spec *s, enum slotlb_flow_stage stage,
			 uint64_t t0, uint64_t *idle_ms, const char *desc)
{
	struct times_ctx c = {.s = s, .stage = stage};
	int64_t start;

	assert_true(slotlb_flows_foreach(lab.lb, times_cb, &c) >= 0);
	if (!c.found)
		fail_msg("%s: no %s entry", desc,
			 stage == SLOTLB_STAGE_ESTABLISHED ? "established"
							   : "half-open");
	start = (int64_t)mono_ms() - (int64_t)c.age_ms;
	if (start < (int64_t)t0 - START_SLACK_MS ||
	    start > (int64_t)t0 + START_SLACK_MS)
		fail_msg(
			"%s: started %lld ms after its first packet (age %llu ms, idle %llu ms)",
			desc, (long long)(start - (int64_t)t0),
			(unsigned long long)c.age_ms,
			(unsigned long long)c.idle_ms);
	if (idle_ms)
		*idle_ms = c.idle_ms;
	cases_run++;
}

/*
 * A flow's age counts from its first packet: the half-open entry takes
 * the SYN's (or first datagram's) time, the promotion 1.2 s later keeps
 * it, and later packets both ways refresh the idle time but never the
 * start. The flows listing reads it (age_ms).
 */
static void test_flow_start_kept(void **state)
{
	const struct pkt_spec tcp[] = {TCP4(), TCP6()};
	const struct pkt_spec udp = UDP4();
	struct xdp_out out;
	struct pkt_info pi;
	uint64_t t0, idle;
	struct conv v;
	struct flow f;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		conv_init(&v, &lab, &tcp[i]);
		t0 = mono_ms();
		conv_client(&v, F_SYN, 0, &out);
		if (!pkt_parse(out.data, out.len, &pi) ||
		    !(v.be = lab_backend_by_dst(&pi)))
			fail_msg("start: SYN reached no backend (%s)",
				 lab_verdict_name(out.verdict));
		expect_start(&v.c, SLOTLB_STAGE_HALF_OPEN, t0, NULL,
			     "start: half-open after the SYN");
		usleep(1200000);
		conv_expect_backend(&v, F_SYN | F_ACK, 0, "start: SYN-ACK");
		conv_expect_client(&v, F_ACK, 0, "start: ACK");
		expect_start(&v.c, SLOTLB_STAGE_ESTABLISHED, t0, NULL,
			     "start: promoted 1.2 s after its SYN");
		usleep(1200000);
		conv_expect_client(&v, F_ACK, 100, "start: request");
		conv_expect_backend(&v, F_ACK, 200, "start: answer");
		expect_start(&v.c, SLOTLB_STAGE_ESTABLISHED, t0, &idle,
			     "start: after packets both ways 2.4 s later");
		if (idle > START_SLACK_MS)
			fail_msg("start: idle %llu ms right after a packet",
				 (unsigned long long)idle);
	}
	/* UDP (a 1 s timeout here): answered 0.4 s after its first. */
	lab_route(&lab, app_of(&udp), dep_a(&udp));
	t0 = mono_ms();
	flow_open(&f, &udp, dep_a(&udp), "start: first datagram");
	usleep(400000);
	backend_send(&lab, &f, 0, "start: the backend's answer");
	expect_start(&f.c, SLOTLB_STAGE_ESTABLISHED, t0, NULL,
		     "start: UDP promoted by its answer 0.4 s later");
}

/* A flow restarted by a new SYN on another backend: a stray packet
 * from the old backend must never leave un-NATed (it carries the old
 * backend's address), and the client's flow stays on the new one. */
static void test_restart_never_leaks_old_backend(void **state)
{
	const struct pkt_spec specs[] = {TCP4(), TCP6()};
	const struct lab_backend *be;
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	struct pkt_spec r;
	struct flow f;
	size_t i, len;

	(void)state;
	for (i = 0; i < 2; i++) {
		lab_route(&lab, app_of(&specs[i]), dep_a(&specs[i]));
		flow_open(&f, &specs[i], dep_a(&specs[i]), "restart: SYN");
		backend_send(&lab, &f, F_SYN | F_ACK, "restart: SYN-ACK");
		client_expect(&lab, &f, F_FIN | F_ACK, dep_a(&specs[i]),
			      SLOTLB_REASON_FORWARD, "restart: client FIN");
		backend_send(&lab, &f, F_FIN | F_ACK, "restart: backend FIN");
		lab_route(&lab, app_of(&specs[i]), dep_b(&specs[i]));
		be = client_expect(&lab, &f, F_SYN, dep_b(&specs[i]),
				   SLOTLB_REASON_FORWARD, "restart: new SYN");
		assert_ptr_not_equal(be, f.be);
		/* The old backend, late. */
		memset(&r, 0, sizeof(r));
		r.family = f.c.family;
		r.proto = IPPROTO_TCP;
		r.src = f.be->addr;
		r.sport = f.be->port;
		r.dst = f.c.src;
		r.dport = f.c.sport;
		r.flags = F_ACK;
		r.smac = f.be->mac;
		r.dmac = lab_back_mac;
		len = pkt_build(in, &r);
		lab_run(&lab, lab_back_ifindex, in, len, &out);
		if (out.verdict == XDP_PASS && out.len == len &&
		    !memcmp(out.data, in, len))
			fail_msg("restart: the old backend's late packet left "
				 "un-NATed");
		if (out.verdict == XDP_REDIRECT || out.verdict == XDP_TX)
			assert_replied("restart: old backend's late packet",
				       &out, &r, f.c.dst, f.c.dport);
		f.be = be;
		client_expect(&lab, &f, F_ACK, dep_b(&specs[i]),
			      SLOTLB_REASON_FORWARD,
			      "restart: the client stays on the new backend");
	}
}

/* The same once the port's new flow has completed its handshake on
 * the other backend (its entry replaced the old one, whose reply
 * mapping went): the old backend's FIN sent again still reaches the
 * client from the endpoint, through the old flow's promoted half-open
 * entry, which stays in its LRU until evicted. A promotion that deleted
 * that entry (tried on 2026-11-30, docs/PERFORMANCE.md) let it pass to
 * the host untranslated. */
static void test_late_packet_after_replacement(void **state)
{
	const struct pkt_spec specs[] = {TCP4(), TCP6()};
	struct conv old, neu;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		lab_route(&lab, app_of(&specs[i]), dep_a(&specs[i]));
		conv_init(&old, &lab, &specs[i]);
		conv_open(&old, dep_a(&specs[i]), "late: old flow");
		conv_expect_client(&old, F_ACK | F_FIN, 0, "late: client FIN");
		conv_expect_backend(&old, F_ACK | F_FIN, 0,
				    "late: backend FIN");
		conv_expect_client(&old, F_ACK, 0, "late: last ACK");
		lab_route(&lab, app_of(&specs[i]), dep_b(&specs[i]));
		conv_init(&neu, &lab, &specs[i]);
		neu.c.sport = old.c.sport;
		neu.c.seed = old.c.seed;
		conv_open(&neu, dep_b(&specs[i]), "late: the port's new flow");
		if (neu.be == old.be)
			fail_msg("late: the new flow went to the old backend");
		conv_expect_backend(&old, F_ACK | F_FIN, 0,
				    "late: the old backend's FIN again");
		conv_expect_client(&neu, F_ACK | F_PSH, 10,
				   "late: the new flow keeps its backend");
	}
}

/* A UDP flow answered by its backend (established). */
static void udp_established(struct flow *f, const struct pkt_spec *spec,
			    uint32_t dep, const char *desc)
{
	flow_open(f, spec, dep, desc);
	backend_send(&lab, f, 0, desc);
}

static void test_gc_removes_closed_and_idle_flows(void **state)
{
	struct conv closed, open;
	struct flow udp, cf, of;
	int removed;

	(void)state;
	conv_init(&closed, &lab, &(struct pkt_spec)TCP4());
	conv_open(&closed, DEP_A4, "GC closed");
	conv_expect_client(&closed, F_FIN | F_ACK, 0, "GC closed: FIN");
	conv_expect_backend(&closed, F_FIN | F_ACK, 0, "GC closed: FIN back");
	conv_expect_client(&closed, F_ACK, 0, "GC closed: last ACK");
	conv_init(&open, &lab, &(struct pkt_spec)TCP6());
	conv_open(&open, DEP_A6, "GC open");
	udp_established(&udp, &(struct pkt_spec)UDP4(), DEP_A4, "GC UDP");
	cf.c = closed.c;
	of.c = open.c;

	removed = slotlb_flows_gc(lab.lb);
	assert_true(removed >= 0);
	expect_established(&cf, true, "closed flow within its linger");
	expect_established(&of, true, "open flow");
	expect_established(&udp, true, "UDP flow within its timeout");

	usleep(IDLE_US);
	removed = slotlb_flows_gc(lab.lb);
	if (removed < 2)
		fail_msg("GC removed %d flows, want at least 2", removed);
	expect_established(&cf, false, "closed flow past its linger");
	expect_established(&of, true, "open flow after GC");
	expect_established(&udp, false, "UDP flow past its timeout");
	printf("gc: removed %d flows\n", removed);
}

static void expect_counts(uint64_t c4, uint64_t d4, const char *desc)
{
	uint64_t counts[DEP_COUNT];

	assert_int_equal(
		slotlb_flows_count_by_deployment(lab.lb, counts, DEP_COUNT), 0);
	if (counts[DEP_C4] != c4 || counts[DEP_D4] != d4)
		fail_msg("%s: %llu flows on C, %llu on D; want %llu and %llu",
			 desc, (unsigned long long)counts[DEP_C4],
			 (unsigned long long)counts[DEP_D4],
			 (unsigned long long)c4, (unsigned long long)d4);
}

static void test_count_by_deployment(void **state)
{
	const struct pkt_spec drain = TCP4(.dst = VIP4_DRAIN);
	struct flow f[5];
	size_t i;

	(void)state;
	expect_counts(0, 0, "before any flow");
	for (i = 0; i < 5; i++) {
		if (i == 3)
			lab_route(&lab, APP_DRAIN, DEP_D4);
		flow_open(&f[i], &drain, i < 3 ? DEP_C4 : DEP_D4, "drain");
	}
	expect_counts(3, 2, "3 flows on C, 2 on D");
	client_expect(&lab, &f[0], F_FIN | F_ACK, DEP_C4, SLOTLB_REASON_FORWARD,
		      "drain FIN");
	expect_counts(3, 2, "half-closed flow still pinned");
	backend_send(&lab, &f[0], F_FIN | F_ACK, "drain FIN back");
	expect_counts(2, 2, "closed flow no longer pinned");
	backend_send(&lab, &f[4], F_RST, "drain RST");
	expect_counts(2, 1, "reset flow no longer pinned");
}

/* A second program on the same pins, then a restart of the first. */
static void test_reload_keeps_flows(void **state)
{
	struct bpf_prog_info info1 = {0}, info2 = {0};
	__u32 len1 = sizeof(info1), len2 = sizeof(info2);
	struct lab second = {0};
	struct flow f, g;

	(void)state;
	flow_open(&f, &(struct pkt_spec)TCP4(), DEP_A4, "before reload");
	backend_send(&lab, &f, F_SYN | F_ACK, "before reload: SYN-ACK");
	lab_route(&lab, APP_WEB4, DEP_B4);

	if (lab_open(&second, "flows", &lab_opts, false))
		fail_msg("second instance on the same pin root did not open");
	assert_int_equal(
		bpf_obj_get_info_by_fd(slotlb_prog_fd(lab.lb), &info1, &len1),
		0);
	assert_int_equal(bpf_obj_get_info_by_fd(slotlb_prog_fd(second.lb),
						&info2, &len2),
			 0);
	if (info1.id == info2.id)
		fail_msg("second open did not load a second program");
	if (client_expect(&second, &f, F_ACK, DEP_A4, SLOTLB_REASON_FORWARD,
			  "established, second program") != f.be)
		fail_msg("second program moved the flow");
	backend_send(&second, &f, F_ACK, "reply, second program");
	g.c = f.c;
	g.c.seed = g.c.sport = lab_port();
	g.be = client_expect(&second, &g, F_SYN, DEP_B4, SLOTLB_REASON_FORWARD,
			     "new flow, second program");
	/* One writer of routing elements at a time: the first instance
	 * changed them above, so the second is refused until it is gone. */
	{
		struct slotlb_routing r = {0};

		assert_int_equal(slotlb_routing_set(second.lb, APP_WEB4, &r),
				 -EBUSY);
	}
	lab_close_keep(&second);

	/* Restart: the first instance goes away, a new one takes over. */
	lab_close_keep(&lab);
	if (lab_open(&lab, "flows", &lab_opts, false))
		fail_msg("reopen on the same pin root failed");
	if (client_expect(&lab, &f, F_ACK, DEP_A4, SLOTLB_REASON_FORWARD,
			  "established, after restart") != f.be)
		fail_msg("restart moved the flow");
	if (client_expect(&lab, &g, F_ACK, DEP_B4, SLOTLB_REASON_FORWARD,
			  "second program's flow, after restart") != g.be)
		fail_msg("restart moved the second program's flow");
	/* The writer lock went with the first instance. */
	lab_route(&lab, APP_WEB4, DEP_B4);
}

static int reset_routing(void **state)
{
	(void)state;
	lab_route_default(&lab);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	return lab_open(&lab, "flows", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_flows: %u packet cases run\n", cases_run);
	return 0;
}

/* Maps pinned by a build with another layout are refused by name, not
 * with libbpf's generic error, and nothing is loaded over them: a
 * layout this build does not know even when asked to upgrade, layout 1
 * (release 69017f1) unless asked (test_upgrade.sh upgrades it). */
static void test_stale_pins_refused(void **state)
{
	/* A map of this build with another layout, and the flow table of
	 * the layout before issue 10 (an LRU of 40-byte keys and 64-byte
	 * forward and reply entries), which this build no longer has. */
	static const struct {
		const char *name;
		enum bpf_map_type type;
		__u32 key, value, entries;
		bool upgrade;
	} stale[] = {
		{"backends", BPF_MAP_TYPE_ARRAY, 4, 8, 4, true},
		{"flows", BPF_MAP_TYPE_LRU_HASH, 40, 64, 1024, false},
		{"flows", BPF_MAP_TYPE_LRU_HASH, 40, 72, 1024, true},
	};
	struct slotlb_opts o = lab_opts;
	struct slotlb *lb = NULL;
	char root[128], path[160];
	size_t i;
	int fd, err;

	(void)state;
	for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		snprintf(root, sizeof(root), "/sys/fs/bpf/slotlb-test-%d-stale",
			 (int)getpid());
		snprintf(path, sizeof(path), "%s/%s", root, stale[i].name);
		assert_int_equal(mkdir(root, 0700), 0);
		fd = bpf_map_create(stale[i].type, stale[i].name, stale[i].key,
				    stale[i].value, stale[i].entries, NULL);
		assert_true(fd >= 0);
		assert_int_equal(bpf_obj_pin(fd, path), 0);
		close(fd);
		o.pin_root = root;
		o.upgrade = stale[i].upgrade;
		err = slotlb_open(&lb, &o);
		unlink(path);
		rmdir(root);
		if (err != -ESTALE)
			fail_msg("pinned %s of another layout (row %zu): "
				 "slotlb_open gave %d, want -ESTALE",
				 stale[i].name, i, err);
		assert_null(lb);
	}
}

/* The set of backend addresses is bounded (it stays in cache for host
 * traffic): past SLOTLB_MAX_BACKEND_ADDRS distinct addresses a backend
 * is refused with -ENOSPC, and clearing backends frees their addresses. */
static void test_backend_addresses_bounded(void **state)
{
	const uint32_t first =
		SLOTLB_MAX_BACKENDS - SLOTLB_MAX_BACKEND_ADDRS - 1;
	struct slotlb_backend be = {.family = AF_INET, .port = htons(80)};
	uint32_t id;
	int err = 0;

	(void)state;
	for (id = first; id < SLOTLB_MAX_BACKENDS; id++) {
		be.addr[0] = htonl(0x0a800000 + id); /* 10.128.x.y */
		err = slotlb_backend_set(lab.lb, id, &be);
		if (err)
			break;
	}
	assert_int_equal(err, -ENOSPC);
	/* the lab's own backends hold a few addresses already */
	assert_true(id - first <= SLOTLB_MAX_BACKEND_ADDRS);
	assert_true(id - first > SLOTLB_MAX_BACKEND_ADDRS - 64);
	while (id-- > first)
		assert_int_equal(slotlb_backend_clear(lab.lb, id), 0);
	be.addr[0] = htonl(0x0a800000 + first);
	assert_int_equal(slotlb_backend_set(lab.lb, first, &be), 0);
	assert_int_equal(slotlb_backend_clear(lab.lb, first), 0);
}

#define T(fn) cmocka_unit_test_setup(fn, reset_routing)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ttl_expiring_passes_untouched),
		T(test_empty_slot_drops),
		T(test_nonsyn_miss_hash_policy),
		T(test_nonsyn_miss_drop_policy),
		T(test_closed_flow_reselects),
		T(test_restart_never_leaks_old_backend),
		T(test_late_packet_after_replacement),
		T(test_flow_start_kept),
		T(test_udp_idle_timeout_reselects),
		T(test_udp_stamp_after_the_clock),
		T(test_gc_removes_closed_and_idle_flows),
		T(test_count_by_deployment),
		T(test_reload_keeps_flows),
		T(test_stale_pins_refused),
		T(test_backend_addresses_bounded),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_flows", tests, group_setup,
					   group_teardown);
}
