/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flows pinned to a backend that failed its health checks (abi.h,
 * struct slotlb_backend_health; bpf/health.bpf.h), through
 * BPF_PROG_TEST_RUN: as slotlbd does, the backend's deployment is first
 * republished without it (weight 0), then the backend is marked down.
 * Pinned UDP flows choose again; pinned TCP flows are left alone or
 * answered with a RST from the endpoint (XDP_TX); a SYN on a pinned
 * 5-tuple chooses again; an id written anew is up. The filter's checks
 * word (abi.h, SLOTLB_FILTER_CHECKS), which lets the program skip both
 * backend reads, is armed exactly while a backend is down or drained
 * with resets, and every open sets it from the maps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lab.h"

static struct lab lab;
static unsigned int cases_run;

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

struct flow {
	struct pkt_spec c; /* client -> endpoint */
	const struct lab_backend *be; /* where it is pinned */
};

static size_t client_frame(uint8_t *buf, struct pkt_spec *s)
{
	s->smac = lab_client_mac(s->family, s->src);
	s->dmac = lab_pub_mac;
	return pkt_build(buf, s);
}

static void client_send(struct flow *f, uint8_t flags, struct xdp_out *out,
			uint8_t *in, size_t *len)
{
	f->c.flags = flags;
	*len = client_frame(in, &f->c);
	lab_run(&lab, lab_pub_ifindex, in, *len, out);
	cases_run++;
}

static const struct lab_backend *client_expect(struct flow *f, uint8_t flags,
					       uint32_t dep, int reason,
					       const char *desc)
{
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;

	client_send(f, flags, &out, in, &len);
	return assert_forwarded(desc, &out, &f->c, lab_pub_ifindex, dep,
				reason);
}

/* The backend answers; for TCP its SYN-ACK, then the client's last ACK
 * establishes the flow. UDP: one answer establishes it. */
static void backend_answer(const struct flow *f, uint8_t flags)
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
	r.seq = SEQ(7000);
	r.payload = flags & F_SYN ? 0 : 5;
	r.seed = (uint16_t)(f->c.sport + 1);
	r.smac = f->be->mac;
	r.dmac = lab_back_mac;
	len = pkt_build(in, &r);
	lab_run(&lab, lab_back_ifindex, in, len, &out);
	assert_replied("backend's answer", &out, &r, f->c.dst, f->c.dport);
	cases_run++;
}

static uint32_t dep_of(const struct pkt_spec *s)
{
	return s->family == AF_INET ? DEP_A4 : DEP_A6;
}

/* An established flow on dep's ring. */
static void flow_establish(struct flow *f, const struct pkt_spec *spec)
{
	uint32_t dep = dep_of(spec);

	f->c = *spec;
	f->c.seed = f->c.sport = lab_port();
	if (f->c.proto == IPPROTO_UDP) {
		f->be = client_expect(f, 0, dep, SLOTLB_REASON_FORWARD,
				      "first datagram");
		backend_answer(f, 0);
		return;
	}
	f->c.seq = SEQ(1000);
	f->be = client_expect(f, F_SYN, dep, SLOTLB_REASON_FORWARD, "SYN");
	backend_answer(f, F_SYN | F_ACK);
	f->c.seq = SEQ(1001);
	f->c.ack = SEQ(7001);
	client_expect(f, F_ACK, dep, SLOTLB_REASON_FORWARD, "handshake ACK");
}

/* As slotlbd does when be fails its checks: its deployment's ring
 * without it, then the mark (or the reverse order to bring it back). */
static void set_health(const struct lab_backend *be, uint32_t dep, bool down,
		       enum slotlb_health_tcp tcp)
{
	struct slotlb_backend_health h = {.down = down, .tcp = tcp};
	struct slotlb_deployment_info info = {.backend_count = 3};
	uint32_t ids[3], weights[3];
	unsigned int i;

	for (i = 0; i < 3; i++) {
		ids[i] = lab_deployment_backend(dep, i)->id;
		weights[i] = down && ids[i] == be->id ? 0 : 1;
	}
	snprintf(info.version, sizeof(info.version), "health");
	info.app_id = dep == DEP_A4 ? APP_WEB4 : APP_WEB6;
	if (!down && slotlb_backend_health_set(lab.lb, be->id, &h))
		fail_msg("marking backend %u up failed", be->id);
	if (slotlb_deployment_publish(lab.lb, dep, &info, ids, weights, 3))
		fail_msg("republishing deployment %u failed", dep);
	if (down && slotlb_backend_health_set(lab.lb, be->id, &h))
		fail_msg("marking backend %u down failed", be->id);
}

static void test_tcp_leave_keeps_forwarding(void **state)
{
	static const struct pkt_spec specs[] = {TCP4(), TCP6()};
	struct flow f;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		flow_establish(&f, &specs[i]);
		set_health(f.be, dep_of(&f.c), true, SLOTLB_HEALTH_TCP_LEAVE);
		f.c.seq = SEQ(1001);
		if (client_expect(&f, F_ACK | F_PSH, dep_of(&f.c),
				  SLOTLB_REASON_FORWARD,
				  "pinned TCP, backend down, leave") != f.be)
			fail_msg("leave: the flow moved off its backend");
		set_health(f.be, dep_of(&f.c), false, SLOTLB_HEALTH_TCP_LEAVE);
	}
}

/* out must be the RST the endpoint sends the client for in. */
static void assert_reset(const char *desc, const struct xdp_out *out,
			 const struct pkt_spec *c, uint32_t seq, uint32_t ack,
			 uint8_t flags)
{
	struct pkt_info pi;
	const char *why;
	size_t hdr = c->family == AF_INET ? 14 + 20 + 20 : 14 + 40 + 20;

	assert_verdict(desc, out, XDP_TX);
	assert_reason(desc, out, SLOTLB_REASON_TX_RST_BACKEND_DOWN);
	if (out->len != hdr)
		fail_msg("%s: RST is %u bytes, want %zu", desc, out->len, hdr);
	if (!pkt_parse(out->data, out->len, &pi) || pi.proto != IPPROTO_TCP)
		fail_msg("%s: output is not TCP", desc);
	if (!pkt_addr_eq(c->family, pi.src, c->dst) ||
	    !pkt_addr_eq(c->family, pi.dst, c->src) || pi.sport != c->dport ||
	    pi.dport != c->sport)
		fail_msg("%s: RST not from the endpoint to the client", desc);
	if (memcmp(pi.dmac, lab_client_mac(c->family, c->src), 6) ||
	    memcmp(pi.smac, lab_pub_mac, 6))
		fail_msg("%s: MACs not swapped", desc);
	if (pi.flags != flags)
		fail_msg("%s: flags 0x%x, want 0x%x", desc, pi.flags, flags);
	if (pkt_tcp_seq(out->data, out->len) != seq ||
	    pkt_tcp_ack(out->data, out->len) != ack)
		fail_msg("%s: seq %u ack %u, want %u %u", desc,
			 pkt_tcp_seq(out->data, out->len),
			 pkt_tcp_ack(out->data, out->len), seq, ack);
	if (!pkt_csum_ok(out->data, out->len, &why))
		fail_msg("%s: %s", desc, why);
}

static void test_tcp_reset_answers_client(void **state)
{
	static const struct pkt_spec specs[] = {TCP4(), TCP6()};
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	struct flow f;
	size_t i, len;

	(void)state;
	for (i = 0; i < 2; i++) {
		flow_establish(&f, &specs[i]);
		set_health(f.be, dep_of(&f.c), true, SLOTLB_HEALTH_TCP_RESET);
		/* With ACK: the RST's sequence is the client's ACK. */
		f.c.seq = SEQ(1001);
		f.c.ack = SEQ(7006);
		client_send(&f, F_ACK | F_PSH, &out, in, &len);
		assert_reset("data segment, backend down", &out, &f.c, 7006, 0,
			     F_RST);
		/* The entry is closed, and the next segment is reset too. */
		f.c.seq = SEQ(1011);
		client_send(&f, F_ACK, &out, in, &len);
		assert_reset("retransmission, backend down", &out, &f.c, 7006,
			     0, F_RST);
		/* Without ACK (RFC 9293): acknowledge the segment. */
		f.c.ack = 0;
		f.c.payload = 10;
		client_send(&f, F_PSH, &out, in, &len);
		assert_reset("segment without ACK", &out, &f.c, 0, 1021,
			     F_RST | F_ACK);
		/* A client's own RST is never answered. */
		f.c.ack = SEQ(7006);
		client_send(&f, F_RST | F_ACK, &out, in, &len);
		if (out.verdict == XDP_TX)
			fail_msg("a RST was answered with a RST");
		set_health(f.be, dep_of(&f.c), false, SLOTLB_HEALTH_TCP_LEAVE);
	}
}

/* A handshake whose backend fails its checks between the SYN and the
 * last ACK: the ACK still finds the SYN's backend through the ring
 * before the republish, and the flow is then treated as any pinned
 * flow of a down backend: under "leave" it goes on there, under
 * "reset" its next segment is reset. */
static void test_handshake_across_down(void **state)
{
	static const struct pkt_spec specs[] = {TCP4(), TCP6()};
	static const enum slotlb_health_tcp policies[] = {
		SLOTLB_HEALTH_TCP_LEAVE, SLOTLB_HEALTH_TCP_RESET};
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	struct flow f;
	size_t i, p, len;

	(void)state;
	for (p = 0; p < 2; p++) {
		for (i = 0; i < 2; i++) {
			uint32_t dep = dep_of(&specs[i]);

			f.c = specs[i];
			f.c.seed = f.c.sport = lab_port();
			f.c.seq = SEQ(1000);
			f.be = client_expect(&f, F_SYN, dep,
					     SLOTLB_REASON_FORWARD, "SYN");
			set_health(f.be, dep, true, policies[p]);
			backend_answer(&f, F_SYN | F_ACK);
			f.c.seq = SEQ(1001);
			f.c.ack = SEQ(7001);
			if (client_expect(&f, F_ACK, dep, SLOTLB_REASON_FORWARD,
					  "handshake ACK, backend down "
					  "since the SYN") != f.be)
				fail_msg("handshake ACK left the backend that "
					 "answered its SYN");
			if (policies[p] == SLOTLB_HEALTH_TCP_LEAVE) {
				if (client_expect(&f, F_ACK | F_PSH, dep,
						  SLOTLB_REASON_FORWARD,
						  "data, backend down, "
						  "leave") != f.be)
					fail_msg("leave: the new flow moved "
						 "off its backend");
			} else {
				client_send(&f, F_ACK | F_PSH, &out, in, &len);
				assert_reset("data, backend down since the "
					     "SYN, reset",
					     &out, &f.c, 7001, 0, F_RST);
			}
			set_health(f.be, dep, false, SLOTLB_HEALTH_TCP_LEAVE);
		}
	}
}

static void test_udp_chooses_again(void **state)
{
	static const struct pkt_spec specs[] = {UDP4(), UDP6()};
	const struct lab_backend *be;
	struct flow f;
	size_t i;
	int moved;

	(void)state;
	for (i = 0; i < 2; i++) {
		flow_establish(&f, &specs[i]);
		be = client_expect(&f, 0, dep_of(&f.c), SLOTLB_REASON_FORWARD,
				   "pinned datagram");
		if (be != f.be)
			fail_msg("established UDP flow not followed");
		set_health(f.be, dep_of(&f.c), true, SLOTLB_HEALTH_TCP_RESET);
		for (moved = 0; moved < 3; moved++) {
			be = client_expect(&f, 0, dep_of(&f.c),
					   SLOTLB_REASON_FORWARD,
					   "datagram, backend down");
			if (be == f.be)
				fail_msg("UDP flow still sent to its down "
					 "backend");
		}
		set_health(f.be, dep_of(&f.c), false, SLOTLB_HEALTH_TCP_LEAVE);
	}
}

static void test_syn_on_pinned_tuple_chooses_again(void **state)
{
	const struct lab_backend *be;
	struct flow f;

	(void)state;
	flow_establish(&f, &(struct pkt_spec)TCP4());
	set_health(f.be, DEP_A4, true, SLOTLB_HEALTH_TCP_LEAVE);
	f.c.seq = SEQ(50000);
	f.c.ack = 0;
	be = client_expect(&f, F_SYN, DEP_A4, SLOTLB_REASON_FORWARD,
			   "SYN on a pinned 5-tuple, backend down");
	if (be == f.be)
		fail_msg("new SYN sent to the down backend");
	set_health(f.be, DEP_A4, false, SLOTLB_HEALTH_TCP_LEAVE);
}

/* The new handshake on a pinned 5-tuple whose backend is down (tcp =
 * leave) completes where its SYN went: its SYN-ACK and last ACK, and the
 * data after it, reach the new backend, not the down one. */
static void test_handshake_on_pinned_tuple_completes(void **state)
{
	const struct lab_backend *be, *old;
	struct flow f;

	(void)state;
	flow_establish(&f, &(struct pkt_spec)TCP4());
	old = f.be;
	set_health(f.be, DEP_A4, true, SLOTLB_HEALTH_TCP_LEAVE);
	f.c.seq = SEQ(50000);
	f.c.ack = 0;
	be = client_expect(&f, F_SYN, DEP_A4, SLOTLB_REASON_FORWARD,
			   "SYN on a pinned 5-tuple, backend down");
	if (be == old)
		fail_msg("new SYN sent to the down backend");
	f.be = be;
	backend_answer(&f, F_SYN | F_ACK);
	f.c.seq = SEQ(50001);
	f.c.ack = SEQ(7001);
	if (client_expect(&f, F_ACK, DEP_A4, SLOTLB_REASON_FORWARD,
			  "new handshake's ACK, old backend down") != be)
		fail_msg("the new handshake's ACK went to the down backend %s, "
			 "not to %s, which answered the SYN",
			 old->addr, be->addr);
	if (client_expect(&f, F_ACK | F_PSH, DEP_A4, SLOTLB_REASON_FORWARD,
			  "new connection's data, old backend down") != be)
		fail_msg("the new connection's data went to the down backend");
	set_health(old, DEP_A4, false, SLOTLB_HEALTH_TCP_LEAVE);
}

static void test_reused_id_is_up(void **state)
{
	const struct lab_backend *a = lab_deployment_backend(DEP_A4, 0);
	struct slotlb_backend_health h = {.down = 1,
					  .tcp = SLOTLB_HEALTH_TCP_RESET};
	struct slotlb_backend be = {.family = AF_INET, .port = 0x5000};

	(void)state;
	if (slotlb_backend_health_set(lab.lb, a->id, &h))
		fail_msg("mark down");
	/* The same backend written again keeps its health. */
	if (slotlb_backend_health_get(lab.lb, a->id, &h) || !h.down)
		fail_msg("mark not read back");
	be.addr[0] = 0x0a0a0a0a;
	if (slotlb_backend_set(lab.lb, a->id, &be) ||
	    slotlb_backend_health_get(lab.lb, a->id, &h))
		fail_msg("backend rewrite failed");
	if (h.down)
		fail_msg("an id given to another backend stayed down");
	h = (struct slotlb_backend_health){.down = 2};
	if (slotlb_backend_health_set(lab.lb, a->id, &h) != -EINVAL)
		fail_msg("a bad health value was accepted");
	/* the lab's backend back, for the tests after this one */
	memset(&be, 0, sizeof(be));
	be.family = AF_INET;
	be.port = htons(a->port);
	pkt_addr(AF_INET, a->addr, (uint8_t *)be.addr);
	if (slotlb_backend_set(lab.lb, a->id, &be))
		fail_msg("restoring backend %u failed", a->id);
	cases_run += 3;
}

static struct slotlb_deployment_tcp tcp_counts(uint32_t dep)
{
	struct slotlb_deployment_tcp c;

	if (slotlb_deployment_tcp_read(lab.lb, dep, &c))
		fail_msg("reading deployment %u's TCP counts failed", dep);
	return c;
}

/* Handshakes, SYN-ACKs and backend resets per deployment: the counts a
 * swap's verification turns into ratios. Retransmissions count once. */
static void test_deployment_tcp_counts(void **state)
{
	struct slotlb_deployment_tcp before, after;
	struct flow f, g;

	(void)state;
	before = tcp_counts(DEP_A4);
	flow_establish(&f, &(struct pkt_spec)TCP4());
	/* the client's SYN again and the backend's SYN-ACK again */
	f.c.seq = SEQ(1000);
	f.c.ack = 0;
	client_expect(&f, F_SYN, DEP_A4, SLOTLB_REASON_FORWARD,
		      "retransmitted SYN");
	backend_answer(&f, F_SYN | F_ACK);
	after = tcp_counts(DEP_A4);
	if (after.handshakes - before.handshakes != 1 ||
	    after.synacks - before.synacks != 1)
		fail_msg(
			"one handshake: counted %llu handshakes, %llu SYN-ACKs",
			(unsigned long long)(after.handshakes -
					     before.handshakes),
			(unsigned long long)(after.synacks - before.synacks));
	/* a SYN nobody answers: a handshake that did not complete */
	g.c = (struct pkt_spec)TCP4();
	g.c.seed = g.c.sport = lab_port();
	g.c.seq = SEQ(3000);
	g.be = client_expect(&g, F_SYN, DEP_A4, SLOTLB_REASON_FORWARD,
			     "unanswered SYN");
	/* the established flow's backend resets it */
	backend_answer(&f, F_RST | F_ACK);
	after = tcp_counts(DEP_A4);
	if (after.handshakes - before.handshakes != 2 ||
	    after.synacks - before.synacks != 1 ||
	    after.backend_resets - before.backend_resets != 1)
		fail_msg("counted %llu handshakes, %llu SYN-ACKs, %llu resets; "
			 "want 2, 1, 1",
			 (unsigned long long)(after.handshakes -
					      before.handshakes),
			 (unsigned long long)(after.synacks - before.synacks),
			 (unsigned long long)(after.backend_resets -
					      before.backend_resets));
	/* another deployment's counts did not move */
	before = tcp_counts(DEP_B4);
	if (before.handshakes || before.synacks || before.backend_resets)
		fail_msg("deployment B4 counted traffic it never saw");
}

/* A pinned map of the lab, by name. */
static int pinned(const char *name)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", lab.pin_root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fail_msg("%s is not pinned", path);
	return fd;
}

/* Is the checks word armed, as the program reads it? */
static bool checks_armed(void)
{
	uint32_t k = SLOTLB_FILTER_CHECKS;
	uint64_t v = 0;
	int fd = pinned("endpoint_filter");

	if (bpf_map_lookup_elem(fd, &k, &v))
		fail_msg("reading the checks word failed");
	close(fd);
	return !(v & SLOTLB_CHECKS_CLEAR);
}

static void expect_armed(bool armed, const char *when)
{
	if (checks_armed() != armed)
		fail_msg("checks word %s %s", armed ? "clear" : "armed", when);
	cases_run++;
}

/* A data segment of f must be answered with a RST (backend down). */
static void expect_reset(struct flow *f, const char *desc)
{
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;

	f->c.seq = SEQ(1001);
	f->c.ack = SEQ(7006);
	client_send(f, F_ACK | F_PSH, &out, in, &len);
	assert_reset(desc, &out, &f->c, 7006, 0, F_RST);
}

static void test_checks_word(void **state)
{
	struct slotlb_backend_health down = {.down = 1,
					     .tcp = SLOTLB_HEALTH_TCP_RESET};
	struct flow f, g;
	uint32_t id;
	int fd;

	(void)state;
	flow_establish(&f, &(struct pkt_spec)TCP4());
	do
		flow_establish(&g, &(struct pkt_spec)TCP4());
	while (g.be == f.be);
	expect_armed(false, "with every backend up and undrained");

	/* Two down: one coming back up leaves it armed for the other. */
	set_health(f.be, DEP_A4, true, SLOTLB_HEALTH_TCP_RESET);
	expect_armed(true, "with a backend down");
	set_health(g.be, DEP_A4, true, SLOTLB_HEALTH_TCP_RESET);
	set_health(f.be, DEP_A4, false, SLOTLB_HEALTH_TCP_LEAVE);
	expect_armed(true, "with one of two down backends still down");
	expect_reset(&g, "the other backend still down");
	set_health(g.be, DEP_A4, false, SLOTLB_HEALTH_TCP_LEAVE);
	expect_armed(false, "after the last backend came back up");

	/* A drain with resets arms it; its end clears it. */
	if (slotlb_backend_drain_set(lab.lb, f.be->id, 10))
		fail_msg("setting a drain reset rate failed");
	expect_armed(true, "with a drain reset rate");
	if (slotlb_backend_drain_set(lab.lb, f.be->id, 0))
		fail_msg("clearing a drain reset rate failed");
	expect_armed(false, "after the drain's reset rate went");

	/* A down mark written behind libslotlb's back (a writer that died
	 * before arming, a build without the word) is found by the next
	 * open, before its program runs. */
	id = f.be->id;
	fd = pinned("backend_health");
	if (bpf_map_update_elem(fd, &id, &down, BPF_ANY))
		fail_msg("writing backend_health directly failed");
	close(fd);
	lab_close_keep(&lab);
	if (lab_open(&lab, "health",
		     &(struct slotlb_opts){.flow_capacity = 4096}, false))
		fail_msg("reopening the lab failed");
	expect_armed(true, "after an open found a backend down");
	expect_reset(&f, "down mark found by the open");
	set_health(f.be, DEP_A4, false, SLOTLB_HEALTH_TCP_LEAVE);
	expect_armed(false, "after it came back up");
}

static int setup(void **state)
{
	(void)state;
	return lab_open(&lab, "health",
			&(struct slotlb_opts){.flow_capacity = 4096}, true)
		       ? -1
		       : 0;
}

static int teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("health cases run: %u\n", cases_run);
	return 0;
}

#define T(f) cmocka_unit_test(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tcp_leave_keeps_forwarding),
		T(test_tcp_reset_answers_client),
		T(test_handshake_across_down),
		T(test_udp_chooses_again),
		T(test_syn_on_pinned_tuple_chooses_again),
		T(test_handshake_on_pinned_tuple_completes),
		T(test_reused_id_is_up),
		T(test_deployment_tcp_counts),
		T(test_checks_word),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_health", tests, setup,
					   teardown);
}
