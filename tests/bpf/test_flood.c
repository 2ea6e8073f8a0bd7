/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Floods (issue 10, item 2): established flows are never pushed out by
 * unverified packets. With a table of 1,024 flows, 64 established flows
 * (IPv4 and IPv6) see a flood of 8x the capacity of spoofed SYNs, then
 * of SYNs each followed by a blind ACK, then of bare ACKs; after it and
 * a swap, every one of them still reaches its own backend both ways.
 * And when the established table itself is full, a verified flow is
 * still served from the half-open stage, counted as flow_table_full,
 * and nothing established moves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <cmocka.h>
#include "lab.h"
#include "conv.h"

#define CAPACITY 1024
#define FLOOD (8 * CAPACITY)
#define KEPT 64

static struct lab lab;
static unsigned int cases_run;
static const struct slotlb_opts lab_opts = {
	.flow_capacity = CAPACITY,
};

static struct conv kept[KEPT];

/* Flood frame i: a source no client uses, SYN or ACK to an endpoint. */
static size_t flood_frame(uint8_t *buf, unsigned int i, int family,
			  uint8_t flags, uint32_t ack)
{
	char src[64];
	struct pkt_spec s = {
		.family = family,
		.proto = IPPROTO_TCP,
		.dst = family == AF_INET ? VIP4 : VIP6,
		.dport = PORT_HTTP,
		.flags = flags,
		.smac = lab_client_mac(AF_INET, CLIENT4),
		.dmac = lab_pub_mac,
	};

	if (family == AF_INET)
		snprintf(src, sizeof(src), "203.0.%u.%u", 113 + i / 60000 % 2,
			 1 + i / 240 % 250);
	else
		snprintf(src, sizeof(src), "2001:db8:%x::%x", i / 60000,
			 1 + i / 240 % 250);
	s.src = src;
	s.sport = (uint16_t)(1024 + i % 60000);
	s.seed = (uint16_t)i;
	s.seq = SEQ(0x10000 * i + 17);
	if (flags & F_ACK)
		s.ack = SEQ(ack);
	return pkt_build(buf, &s);
}

/* FLOOD frames of one kind; every one must be forwarded (or refused by
 * the non-SYN policy), never crash the table. */
static void flood(unsigned int first, uint8_t kind, const char *desc)
{
	unsigned int i, forwarded = 0;
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;

	for (i = 0; i < FLOOD; i++) {
		int family = i % 4 ? AF_INET : AF_INET6;

		if (kind == F_SYN || kind == (F_SYN | F_ACK)) {
			len = flood_frame(in, first + i, family, F_SYN, 0);
			if (lab_run_fast(&lab, lab_pub_ifindex, in, len, &out))
				fail_msg("%s: test_run failed", desc);
			forwarded += out.verdict == XDP_REDIRECT;
		}
		if (kind & F_ACK) {
			/* A blind ACK: the backend's sequence is unknown. */
			len = flood_frame(in, first + i, family, F_ACK,
					  0x7fff0000u + i);
			if (lab_run_fast(&lab, lab_pub_ifindex, in, len, &out))
				fail_msg("%s: test_run failed", desc);
		}
	}
	printf("%s: %u frames, %u SYNs forwarded\n", desc,
	       kind == (F_SYN | F_ACK) ? 2 * FLOOD : FLOOD, forwarded);
	cases_run += FLOOD;
}

static void expect_kept(const char *desc)
{
	char d[160];
	size_t i;

	lab_route(&lab, APP_WEB4, DEP_B4);
	lab_route(&lab, APP_WEB6, DEP_B6);
	for (i = 0; i < KEPT; i++) {
		snprintf(d, sizeof(d), "%s: flow %zu (v%d) client", desc, i,
			 kept[i].c.family == AF_INET ? 4 : 6);
		conv_expect_client(&kept[i], F_ACK | F_PSH, 1, d);
		snprintf(d, sizeof(d), "%s: flow %zu backend", desc, i);
		conv_expect_backend(&kept[i], F_ACK | F_PSH, 1, d);
	}
	lab_route_default(&lab);
	cases_run += 2 * KEPT;
}

static void open_kept(void)
{
	const struct pkt_spec v4 = {.family = AF_INET,
				    .proto = IPPROTO_TCP,
				    .src = CLIENT4,
				    .dst = VIP4,
				    .dport = PORT_HTTP};
	const struct pkt_spec v6 = {.family = AF_INET6,
				    .proto = IPPROTO_TCP,
				    .src = CLIENT6,
				    .dst = VIP6,
				    .dport = PORT_HTTP};
	size_t i;

	for (i = 0; i < KEPT; i++) {
		bool six = i % 4 == 3;

		conv_init(&kept[i], &lab, six ? &v6 : &v4);
		conv_open(&kept[i], six ? DEP_A6 : DEP_A4, "kept flow");
	}
}

static void test_syn_flood_evicts_nothing(void **state)
{
	(void)state;
	open_kept();
	flood(0, F_SYN, "SYN flood");
	expect_kept("after a SYN flood of 8x capacity");
	flood(FLOOD, F_SYN | F_ACK, "SYN + blind ACK flood");
	expect_kept("after a SYN + blind ACK flood of 8x capacity");
	flood(2 * FLOOD, F_ACK, "bare ACK flood");
	expect_kept("after a bare ACK flood of 8x capacity");
}

/* Fill the IPv4 established table with real handshakes; one more is
 * served half-open and counted, nothing established moves. */
static void test_full_table_is_counted(void **state)
{
	const struct pkt_spec v4 = {.family = AF_INET,
				    .proto = IPPROTO_TCP,
				    .src = CLIENT4B,
				    .dst = VIP4,
				    .dport = PORT_HTTP};
	uint64_t before[SLOTLB_EVENT_MAX], after[SLOTLB_EVENT_MAX];
	static struct conv extra;
	struct conv fill;
	unsigned int n;

	(void)state;
	assert_int_equal(slotlb_events_read(lab.lb, before), 0);
	for (n = 0; n < CAPACITY; n++) {
		conv_init(&fill, &lab, &v4);
		conv_open(&fill, DEP_A4, "filling the table");
	}
	assert_int_equal(slotlb_events_read(lab.lb, after), 0);
	if (after[SLOTLB_EVENT_TABLE_FULL] == before[SLOTLB_EVENT_TABLE_FULL])
		fail_msg("filling %u flows on top of %u never hit a full "
			 "table",
			 CAPACITY, KEPT);
	/* The last one could not be established: it still works. */
	conv_init(&extra, &lab, &v4);
	conv_open(&extra, DEP_A4, "flow beyond the table");
	conv_expect_client(&extra, F_ACK | F_PSH, 100,
			   "flow beyond the table: data");
	conv_expect_backend(&extra, F_ACK | F_PSH, 200,
			    "flow beyond the table: answer");
	assert_int_equal(slotlb_events_read(lab.lb, before), 0);
	printf("full table: %llu promotions refused and counted\n",
	       (unsigned long long)before[SLOTLB_EVENT_TABLE_FULL]);
	expect_kept("with the table full");
	cases_run += 4;
}

/* With the established table full, a verified flow is served half-open
 * and "retries the promotion once a second" (docs/datapath.md). Once a
 * slot is free again, a busy flow (a segment every 250 ms both ways) must
 * be promoted within a few seconds, not only after it idles for one. */
static void test_busy_verified_flow_promoted(void **state)
{
	const struct pkt_spec v4 = {.family = AF_INET,
				    .proto = IPPROTO_TCP,
				    .src = CLIENT4B,
				    .dst = VIP4,
				    .dport = PORT_HTTP};
	struct slotlb_flow4_key k, next;
	struct slotlb_flow4 f;
	static struct conv busy;
	char path[160];
	int fd, i;

	(void)state;
	/* The table is full from the test before: this one stays
	 * half-open. */
	conv_init(&busy, &lab, &v4);
	conv_open(&busy, DEP_A4, "busy flow beyond the table");
	/* The backend speaks: the client's ACKs are past its ISN + 1. */
	conv_expect_backend(&busy, F_ACK | F_PSH, 10, "busy flow: banner");
	/* One established flow leaves (as the GC deletes one). */
	snprintf(path, sizeof(path), "%s/flows4", lab.pin_root);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_get_next_key(fd, NULL, &next), 0);
	k = next;
	assert_int_equal(bpf_map_delete_elem(fd, &k), 0);
	close(fd);
	for (i = 0; i < 16; i++) {
		conv_expect_client(&busy, F_ACK | F_PSH, 10, "busy flow: data");
		conv_expect_backend(&busy, F_ACK | F_PSH, 10,
				    "busy flow: answer");
		usleep(250000);
	}
	fd = lab_flow4(&lab, &busy.c, &k, &f);
	close(fd);
	cases_run += 32;
}

static int group_setup(void **state)
{
	(void)state;
	return lab_open(&lab, "flood", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_flood: %u packet cases run\n", cases_run);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_flood_evicts_nothing),
		cmocka_unit_test(test_full_table_is_counted),
		cmocka_unit_test(test_busy_verified_flow_promoted),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_flood", tests, group_setup,
					   group_teardown);
}
