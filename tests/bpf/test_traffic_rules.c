/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Traffic routing through BPF_PROG_TEST_RUN, the rules: audiences win
 * over shares (also at 0%, and to opt out), the longest prefix wins,
 * prefixes of every length match exactly the addresses they should, an
 * audience works on a slot other than production (a preview on qa's
 * endpoints), a rule toward an empty slot falls back to the endpoint's
 * own, and established flows keep their backend across every change of
 * distribution, audience and deployments, and so do flows whose
 * handshake (or first UDP exchange) crosses one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "lab.h"
#include "conv.h"
#include "traffic_lab.h"

static struct lab lab;
static uint16_t next_port = 20000;

static const char *const slot_name[NSLOTS] = {"production", "staging", "qa"};

/* A new source port for every flow of this binary (clients repeat). */
static uint16_t port(void)
{
	if (next_port == 65535)
		fail_msg("out of source ports");
	return next_port++;
}

/* One new flow to production's endpoint; also checks the C model. */
static int send_checked(const char *desc, const struct traffic_app *a,
			const char *src)
{
	int s = traffic_send(&lab, a, src, port(), PORT_HTTP, IPPROTO_TCP,
			     NULL);

	if (s != traffic_predict(a, PROD, src))
		fail_msg("%s: %s landed on %s, the C model says %s", desc, src,
			 slot_name[s],
			 slot_name[traffic_predict(a, PROD, src)]);
	return s;
}

struct audience_rule {
	const char *prefix;
	uint8_t to;
};

struct precedence_case {
	const char *desc;
	int family;
	uint16_t staging, qa; /* shares of production's clients */
	struct audience_rule aud[3];
	const char *client;
	int want;
};

static const struct precedence_case precedence_cases[] = {
	{"opt-in wins at 0%",
	 AF_INET,
	 0,
	 0,
	 {{"198.51.100.0/24", STAGING}},
	 "198.51.100.7",
	 STAGING},
	{"the rest stays at 0%",
	 AF_INET,
	 0,
	 0,
	 {{"198.51.100.0/24", STAGING}},
	 "198.51.101.7",
	 PROD},
	{"opt-in wins over a 100% split to another slot",
	 AF_INET,
	 0,
	 10000,
	 {{"198.51.100.0/24", STAGING}},
	 "198.51.100.7",
	 STAGING},
	{"outside the audience the split applies",
	 AF_INET,
	 0,
	 10000,
	 {{"198.51.100.0/24", STAGING}},
	 "198.51.101.7",
	 QA},
	{"an audience to production opts out of the split",
	 AF_INET,
	 10000,
	 0,
	 {{"198.51.100.0/24", PROD}},
	 "198.51.100.7",
	 PROD},
	{"longest prefix wins: /24 over /16",
	 AF_INET,
	 0,
	 0,
	 {{"198.51.0.0/16", QA}, {"198.51.100.0/24", STAGING}},
	 "198.51.100.7",
	 STAGING},
	{"longest prefix wins: /16 alone",
	 AF_INET,
	 0,
	 0,
	 {{"198.51.0.0/16", QA}, {"198.51.100.0/24", STAGING}},
	 "198.51.7.7",
	 QA},
	{"longest prefix wins over a shorter one before it",
	 AF_INET,
	 0,
	 0,
	 {{"198.51.0.0/16", STAGING}, {"198.51.100.0/24", QA}},
	 "198.51.100.7",
	 QA},
	{"IPv6 opt-in wins at 0%",
	 AF_INET6,
	 0,
	 0,
	 {{"2001:db8:a::/48", STAGING}},
	 "2001:db8:a::1",
	 STAGING},
	{"IPv6: the rest stays at 0%",
	 AF_INET6,
	 0,
	 0,
	 {{"2001:db8:a::/48", STAGING}},
	 "2001:db8:b::1",
	 PROD},
	{"IPv6 opt-in wins over a 100% split",
	 AF_INET6,
	 0,
	 10000,
	 {{"2001:db8:a::/48", STAGING}},
	 "2001:db8:a:ffff::1",
	 STAGING},
	{"IPv6 longest prefix: /64 over /48",
	 AF_INET6,
	 0,
	 0,
	 {{"2001:db8:a::/48", QA}, {"2001:db8:a:1::/64", STAGING}},
	 "2001:db8:a:1::9",
	 STAGING},
	{"IPv6 longest prefix: /64 over a /48 before it",
	 AF_INET6,
	 0,
	 0,
	 {{"2001:db8:a::/48", STAGING}, {"2001:db8:a:1::/64", QA}},
	 "2001:db8:a:1::9",
	 QA},
	{"an IPv4 /0 does not catch IPv6 clients",
	 AF_INET6,
	 0,
	 0,
	 {{"0.0.0.0/0", STAGING}},
	 "2001:db8:a::1",
	 PROD},
	{"an IPv6 ::/0 catches them",
	 AF_INET6,
	 0,
	 0,
	 {{"::/0", STAGING}},
	 "2001:db8:a::1",
	 STAGING},
};

/* Audience rules of a case, grouped by target slot as the element
 * holds them (one call per (from, to) pair, staging's first). */
static void case_audience(const struct audience_rule *aud, size_t n)
{
	const char *list[4];
	uint8_t to;
	size_t i, k;

	for (to = 0; to < NSLOTS; to++) {
		for (i = k = 0; i < n; i++)
			if (aud[i].prefix && aud[i].to == to)
				list[k++] = aud[i].prefix;
		list[k] = NULL;
		if (k)
			traffic_audience(PROD, to, list);
	}
}

static void test_audience_precedence(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(precedence_cases) / sizeof(precedence_cases[0]);
	     i++) {
		const struct precedence_case *c = &precedence_cases[i];
		const struct traffic_app *a =
			&traffic_apps[c->family == AF_INET6];
		int s;

		traffic_reset(a);
		traffic_distribution(c->staging, c->qa);
		case_audience(c->aud, 3);
		traffic_apply(&lab, a);
		s = send_checked(c->desc, a, c->client);
		if (s != c->want)
			fail_msg("%s: %s landed on %s, want %s", c->desc,
				 c->client, slot_name[s], slot_name[c->want]);
	}
}

struct match_case {
	const char *prefix;
	const char *client;
	bool match;
};

/* Both sides of every boundary: first and last address in, the next
 * ones out, at lengths on and off word and byte boundaries. */
static const struct match_case match_cases[] = {
	{"0.0.0.0/0", "203.0.113.9", true},
	{"128.0.0.0/1", "128.0.0.0", true},
	{"128.0.0.0/1", "127.255.255.255", false},
	{"10.64.0.0/10", "10.64.0.0", true},
	{"10.64.0.0/10", "10.127.255.255", true},
	{"10.64.0.0/10", "10.128.0.0", false},
	{"10.64.0.0/10", "10.63.255.255", false},
	{"198.51.100.0/31", "198.51.100.1", true},
	{"198.51.100.0/31", "198.51.100.2", false},
	{"198.51.100.7/32", "198.51.100.7", true},
	{"198.51.100.7/32", "198.51.100.6", false},
	{"198.51.100.7/32", "198.51.100.135", false},
	{"::/0", "2001:db8::1", true},
	{"8000::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
	{"8000::/1", "8000::", true},
	{"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
	{"2001:db8::/32", "2001:db9::", false},
	{"2001:db8::/33", "2001:db8:7fff::1", true},
	{"2001:db8::/33", "2001:db8:8000::", false},
	{"2001:db8:0:8::/61", "2001:db8:0:f:ffff::", true},
	{"2001:db8:0:8::/61", "2001:db8:0:10::", false},
	{"2001:db8:0:8::/61", "2001:db8:0:7:ffff:ffff:ffff:ffff", false},
	{"2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff", true},
	{"2001:db8::/64", "2001:db8:0:1::", false},
	{"2001:db8::/65", "2001:db8::7fff:ffff:ffff:ffff", true},
	{"2001:db8::/65", "2001:db8::8000:0:0:0", false},
	{"2001:db8::/96", "2001:db8::ffff:ffff", true},
	{"2001:db8::/96", "2001:db8::1:0:0", false},
	{"2001:db8::/97", "2001:db8::7fff:ffff", true},
	{"2001:db8::/97", "2001:db8::8000:0", false},
	{"2001:db8::2/127", "2001:db8::3", true},
	{"2001:db8::2/127", "2001:db8::4", false},
	{"2001:db8::1/128", "2001:db8::1", true},
	{"2001:db8::1/128", "2001:db8::", false},
	{"2001:db8::1/128", "2001:db8::8000:0:0:1", false},
};

static void test_prefix_boundaries(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		const char *list[] = {c->prefix, NULL};
		const struct traffic_app *a =
			&traffic_apps[strchr(c->client, ':') != NULL];
		char desc[96];
		int s;

		traffic_reset(a);
		traffic_audience(PROD, STAGING, list);
		traffic_apply(&lab, a);
		snprintf(desc, sizeof(desc), "%s in %s", c->client, c->prefix);
		s = send_checked(desc, a, c->client);
		if (s != (c->match ? STAGING : PROD))
			fail_msg("%s: %s, want %s", desc, slot_name[s],
				 c->match ? "staging (match)"
					  : "production (no match)");
	}
}

/*
 * Preview on a target other than production: staging's candidate shown
 * to an audience on qa's endpoints (from qa to staging). On qa's
 * endpoint the audience gets staging's deployment and everyone else
 * qa's; on production's endpoint nothing changes for anyone.
 */
static void test_audience_on_another_slot(void **state)
{
	static const struct {
		int family;
		const char *prefix, *in, *out;
	} cases[] = {
		{AF_INET, "203.0.113.0/25", "203.0.113.77", "203.0.113.177"},
		{AF_INET6, "2001:db8:77::/56", "2001:db8:77:ff::1",
		 "2001:db8:77:100::1"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		const struct traffic_app *a = &traffic_apps[i];
		const char *list[] = {cases[i].prefix, NULL};
		int in_qa, out_qa, in_prod, out_prod;

		traffic_reset(a);
		traffic_audience(QA, STAGING, list);
		traffic_apply(&lab, a);
		in_qa = traffic_send(&lab, a, cases[i].in, port(), PORT_QA,
				     IPPROTO_TCP, NULL);
		out_qa = traffic_send(&lab, a, cases[i].out, port(), PORT_QA,
				      IPPROTO_TCP, NULL);
		in_prod = send_checked("preview on qa", a, cases[i].in);
		out_prod = send_checked("preview on qa", a, cases[i].out);
		assert_int_equal(in_qa, STAGING);
		assert_int_equal(traffic_predict(a, QA, cases[i].in), STAGING);
		assert_int_equal(out_qa, QA);
		assert_int_equal(traffic_predict(a, QA, cases[i].out), QA);
		assert_int_equal(in_prod, PROD);
		assert_int_equal(out_prod, PROD);
	}
}

/* Send a SYN from src to production's endpoint of app a through
 * lab_run (with its reason). */
static void send_reasoned(const struct traffic_app *a, const char *src,
			  struct pkt_spec *s, struct xdp_out *out)
{
	uint8_t frame[PKT_MAX];
	size_t len;

	memset(s, 0, sizeof(*s));
	s->family = a->family;
	s->proto = IPPROTO_TCP;
	s->src = src;
	s->dst = a->vip;
	s->dport = PORT_HTTP;
	s->sport = s->seed = port();
	s->flags = F_SYN;
	len = pkt_build(frame, s);
	lab_run(&lab, lab_pub_ifindex, frame, len, out);
}

/*
 * A rule toward a slot without deployment falls back to the endpoint's
 * own: with staging empty, its 50% share and its audience stay in
 * production, every flow forwarded (counted there, none dropped). With
 * production empty, its audience still reaches staging and the others
 * are dropped as before (drop_no_deployment).
 */
static void test_empty_target_falls_back(void **state)
{
	const char *aud[] = {"198.51.100.0/24", NULL};
	const struct traffic_app *a = &traffic_apps[0];
	char src[INET6_ADDRSTRLEN];
	struct slotlb_counters before, after;
	struct pkt_spec s;
	struct xdp_out out;
	__be32 addr[4];
	uint32_t i;

	(void)state;
	traffic_reset(a);
	traffic_distribution(5000, 0);
	traffic_audience(PROD, STAGING, aud);
	traffic_elem.deployment[STAGING] = 0;
	traffic_apply(&lab, a);
	slotlb_stats_read(lab.lb, SLOTLB_STATS_DEPLOYMENT, DEP_A4, &before);
	for (i = 0; i < 200; i++) {
		traffic_client(AF_INET, 9, i, src, addr);
		send_reasoned(a, i ? src : "198.51.100.7", &s, &out);
		assert_forwarded("staging empty", &out, &s, lab_pub_ifindex,
				 DEP_A4, SLOTLB_REASON_FORWARD);
	}
	slotlb_stats_read(lab.lb, SLOTLB_STATS_DEPLOYMENT, DEP_A4, &after);
	assert_int_equal(after.new_flows - before.new_flows, 200);

	traffic_reset(a);
	traffic_audience(PROD, STAGING, aud);
	traffic_elem.deployment[PROD] = 0;
	traffic_apply(&lab, a);
	send_reasoned(a, "198.51.100.7", &s, &out);
	assert_forwarded("production empty, audience", &out, &s,
			 lab_pub_ifindex, DEP_B4, SLOTLB_REASON_FORWARD);
	send_reasoned(a, "198.51.101.7", &s, &out);
	assert_verdict("production empty, others", &out, XDP_DROP);
	assert_reason("production empty, others", &out,
		      SLOTLB_REASON_DROP_NO_DEPLOYMENT);
}

/* A flow pinned before the changes, and where it went. */
struct pinned {
	char src[INET6_ADDRSTRLEN];
	struct pkt_spec s; /* UDP: the client's datagrams */
	struct conv v; /* TCP: the conversation */
	const struct lab_backend *be;
	uint32_t dep;
	int slot;
};

/* The changes established flows must survive, in order, each one
 * routing-element update. */
static const char *const changes[] = {
	"staging 10 -> 20%",
	"qa 5 -> 0%",
	"an audience to qa over every test client",
	"swap: production <-> staging deployments",
	"staging emptied",
	"rules cleared, deployments as at the start",
};

static void change(const struct traffic_app *a, size_t step)
{
	const char *aud[] = {a->family == AF_INET ? "10.64.0.0/12"
						  : "2001:db8:0:4::/64",
			     NULL};
	uint32_t dep;

	switch (step) {
	case 0:
		traffic_distribution(2000, 500);
		break;
	case 1:
		traffic_distribution(2000, 0);
		break;
	case 2:
		traffic_audience(PROD, QA, aud);
		break;
	case 3:
		dep = traffic_elem.deployment[PROD];
		traffic_elem.deployment[PROD] =
			traffic_elem.deployment[STAGING];
		traffic_elem.deployment[STAGING] = dep;
		break;
	case 4:
		traffic_elem.deployment[STAGING] = 0;
		break;
	default:
		traffic_reset(a);
	}
	traffic_apply(&lab, a);
}

/* Pick clients of test range 4 the C model puts on each slot under
 * 10/5 (4 per slot and protocol) and pin one flow each. */
/* The backend answers a pinned UDP flow, which establishes it. */
static void udp_answer(const struct pinned *p)
{
	struct pkt_spec r = {0};
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;

	r.family = p->s.family;
	r.proto = IPPROTO_UDP;
	r.src = p->be->addr;
	r.sport = p->be->port;
	r.dst = p->s.src;
	r.dport = p->s.sport;
	r.payload = 21;
	r.seed = (uint16_t)(p->s.sport + 1);
	r.smac = p->be->mac;
	r.dmac = lab_back_mac;
	len = pkt_build(in, &r);
	lab_run(&lab, lab_back_ifindex, in, len, &out);
	assert_replied("pin: the backend's answer", &out, &r, p->s.dst,
		       p->s.dport);
}

static size_t pin_flows(const struct traffic_app *a, struct pinned *p)
{
	char src[INET6_ADDRSTRLEN];
	uint8_t proto, protos = a->family == AF_INET ? 2 : 1;
	uint8_t want[NSLOTS];
	struct xdp_out out;
	uint8_t frame[PKT_MAX];
	__be32 addr[4];
	size_t n = 0, len;
	uint32_t i;
	int s;

	for (proto = 0; proto < protos; proto++) {
		memset(want, 4, sizeof(want));
		for (i = 0; i < 10000 && (want[0] | want[1] | want[2]); i++) {
			traffic_client(a->family, 4, i + proto * 10000, src,
				       addr);
			s = traffic_predict(a, PROD, src);
			if (!want[s])
				continue;
			want[s]--;
			snprintf(p[n].src, sizeof(p[n].src), "%s", src);
			p[n].s = (struct pkt_spec){
				.family = a->family,
				.proto = proto ? IPPROTO_UDP : IPPROTO_TCP,
				.src = p[n].src,
				.dst = a->vip,
				.dport = proto ? PORT_DNS : PORT_HTTP,
				.flags = proto ? 0 : F_SYN,
				.payload = 10,
			};
			p[n].slot = s;
			p[n].dep = a->dep[s];
			if (proto) {
				p[n].s.sport = p[n].s.seed = port();
				len = pkt_build(frame, &p[n].s);
				lab_run(&lab, lab_pub_ifindex, frame, len,
					&out);
				p[n].be = assert_forwarded(
					"pin", &out, &p[n].s, lab_pub_ifindex,
					p[n].dep, SLOTLB_REASON_FORWARD);
				/* The backend's answer establishes it. */
				udp_answer(&p[n]);
			} else {
				/* A completed handshake establishes it. */
				conv_init(&p[n].v, &lab, &p[n].s);
				conv_open(&p[n].v, p[n].dep, "pin");
				p[n].be = p[n].v.be;
			}
			n++;
		}
		assert_int_equal(want[0] | want[1] | want[2], 0);
	}
	return n;
}

/* What a pinned flow's check is about, for its failure message. */
static void describe(char *desc, size_t size, const struct pinned *p,
		     const char *where, const char *when, const char *change)
{
	snprintf(desc, size, "%s %s flow from %.46s %s %s, %s %.64s",
		 p->s.family == AF_INET6 ? "IPv6" : "IPv4",
		 p->s.proto == IPPROTO_TCP ? "TCP" : "UDP", p->src, where,
		 slot_name[p->slot], when, change);
}

/* The flow's next client packet (TCP: data) must reach its backend. */
static void expect_kept(struct pinned *p, const char *desc)
{
	uint8_t frame[PKT_MAX];
	struct xdp_out out;
	size_t len;

	if (p->s.proto == IPPROTO_TCP) {
		conv_expect_client(&p->v, F_ACK | F_PSH, 10, desc);
		return;
	}
	p->s.seed++;
	len = pkt_build(frame, &p->s);
	lab_run(&lab, lab_pub_ifindex, frame, len, &out);
	if (assert_forwarded(desc, &out, &p->s, lab_pub_ifindex, p->dep,
			     SLOTLB_REASON_FORWARD) != p->be)
		fail_msg("%s: moved from %s", desc, p->be->addr);
}

/*
 * Established flows keep their backend across every change: 12 TCP
 * flows per family and 12 UDP flows, pinned under 10/5 on all three
 * slots, each followed by one more packet after each change of
 * distribution, audience and deployments. New flows of the same
 * clients do follow each change (else the changes proved nothing).
 */
static void test_established_keep_backend(void **state)
{
	struct pinned p[24];
	uint32_t checked = 0, moved_new = 0;
	char desc[256];
	size_t f, k, n, step;

	(void)state;
	for (f = 0; f < 2; f++) {
		const struct traffic_app *a = &traffic_apps[f];

		traffic_reset(a);
		traffic_distribution(1000, 500);
		traffic_apply(&lab, a);
		n = pin_flows(a, p);
		for (step = 0; step < sizeof(changes) / sizeof(changes[0]);
		     step++) {
			change(a, step);
			for (k = 0; k < n; k++) {
				describe(desc, sizeof(desc), &p[k], "pinned on",
					 "after", changes[step]);
				expect_kept(&p[k], desc);
				checked++;
				moved_new += send_checked(desc, a, p[k].src) !=
					     p[k].slot;
			}
		}
	}
	printf("established: %u packets of pinned flows after 6 changes, none moved; %u new flows of the same clients went elsewhere\n",
	       checked, moved_new);
	assert_true(moved_new > checked / 4);
}

/* Half-open flows across one change: opened (TCP: SYN and SYN-ACK; UDP:
 * a first datagram nobody answered yet) from clients of test range 4,
 * 6 per protocol and family, whatever slot the rules give them. */
static size_t open_half(const struct traffic_app *a, size_t step,
			struct pinned *p)
{
	uint8_t proto, protos = a->family == AF_INET ? 2 : 1;
	uint8_t frame[PKT_MAX];
	struct xdp_out out;
	__be32 addr[4];
	size_t n = 0, len, k;

	for (proto = 0; proto < protos; proto++) {
		for (k = 0; k < 6; k++, n++) {
			traffic_client(a->family, 4,
				       30000 + step * 100 + proto * 10 + k,
				       p[n].src, addr);
			p[n].slot = traffic_predict(a, PROD, p[n].src);
			assert_true(p[n].slot >= 0);
			p[n].dep = a->dep[p[n].slot];
			p[n].s = (struct pkt_spec){
				.family = a->family,
				.proto = proto ? IPPROTO_UDP : IPPROTO_TCP,
				.src = p[n].src,
				.dst = a->vip,
				.dport = proto ? PORT_DNS : PORT_HTTP,
				.payload = 10,
			};
			if (!proto) {
				conv_init(&p[n].v, &lab, &p[n].s);
				conv_syn(&p[n].v, p[n].dep, "half-open");
				p[n].be = p[n].v.be;
				continue;
			}
			p[n].s.sport = p[n].s.seed = port();
			len = pkt_build(frame, &p[n].s);
			lab_run(&lab, lab_pub_ifindex, frame, len, &out);
			p[n].be = assert_forwarded("half-open", &out, &p[n].s,
						   lab_pub_ifindex, p[n].dep,
						   SLOTLB_REASON_FORWARD);
		}
	}
	return n;
}

/* A router's "host unreachable" about the handshake's SYN-ACK, as it
 * left toward the client, reaches the backend that sent it: the error
 * finds the half-open entry as the client's next packet does, under the
 * app's element before the change (docs/datapath.md, "ICMP"). */
static void expect_error_to_backend(struct pinned *p, const char *desc)
{
	uint8_t sent[PKT_MAX], in[PKT_MAX], want[16] = {0};
	struct conv *v = &p->v;
	int f = v->c.family;
	struct xdp_out out;
	size_t len;
	char d[300];

	snprintf(d, sizeof(d), "%s: ICMP error about its SYN-ACK", desc);
	v->bseq--; /* the SYN-ACK again */
	conv_backend(v, F_SYN | F_ACK, 0, &out);
	assert_reason(d, &out, SLOTLB_REASON_REPLY);
	memcpy(sent, out.data, out.len);
	len = pkt_build_icmp_error(in, f, f == AF_INET ? ROUTER4 : ROUTER6,
				   v->c.dst, f == AF_INET ? 3 : 1,
				   f == AF_INET ? 1 : 3, 0, sent,
				   pkt_icmp_quote(f, out.len),
				   lab_client_mac(f, v->c.src), lab_pub_mac);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_verdict(d, &out, XDP_REDIRECT);
	assert_reason(d, &out, SLOTLB_REASON_FORWARD_ICMP);
	inet_pton(f, v->be->addr, want);
	if (memcmp(out.data + 14 + (f == AF_INET ? 16 : 24), want,
		   f == AF_INET ? 4 : 16))
		fail_msg("%s: not sent to the backend of its SYN, %s", d,
			 v->be->addr);
}

/*
 * A flow whose handshake crosses a change finishes on the backend its
 * SYN went to: its client's next packet finds the half-open entry under
 * the app's element before the change (the change may send new flows of
 * that client elsewhere). Else the handshake's last ACK went to the new
 * slot's backend as a second chance, which resets it: a ramp under load
 * reset a connection that way. Same for a UDP flow's second datagram
 * before any answer. The element before the change is the previous
 * one: each step starts where the one before left off.
 */
static void test_half_open_across_change(void **state)
{
	struct pinned p[12];
	uint32_t checked = 0, moved_new = 0;
	char desc[256];
	size_t f, k, n, step;

	(void)state;
	for (f = 0; f < 2; f++) {
		const struct traffic_app *a = &traffic_apps[f];

		traffic_reset(a);
		traffic_distribution(1000, 500);
		traffic_apply(&lab, a);
		for (step = 0; step < sizeof(changes) / sizeof(changes[0]);
		     step++) {
			n = open_half(a, step, p);
			change(a, step);
			for (k = 0; k < n; k++) {
				describe(desc, sizeof(desc), &p[k],
					 "half-open on", "across",
					 changes[step]);
				/* TCP: an ICMP error about its SYN-ACK,
				 * then the handshake's last ACK */
				if (p[k].s.proto == IPPROTO_TCP) {
					expect_error_to_backend(&p[k], desc);
					conv_expect_client(&p[k].v, F_ACK, 0,
							   desc);
				}
				expect_kept(&p[k], desc);
				checked++;
				moved_new +=
					traffic_predict(a, PROD, p[k].src) !=
					p[k].slot;
			}
		}
	}
	printf("half-open: %u flows finished on their first backend across 6 changes; %u of their clients' new flows would go elsewhere now\n",
	       checked, moved_new);
	assert_true(moved_new > checked / 4);
}

static int group_setup(void **state)
{
	struct slotlb_opts opts = {.flow_capacity = 16384};

	(void)state;
	return lab_open(&lab, "traffic-rules", &opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audience_precedence),
		cmocka_unit_test(test_prefix_boundaries),
		cmocka_unit_test(test_audience_on_another_slot),
		cmocka_unit_test(test_empty_target_falls_back),
		cmocka_unit_test(test_established_keep_backend),
		cmocka_unit_test(test_half_open_across_change),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_traffic_rules", tests,
					   group_setup, group_teardown);
}
