/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flows of the previous layout across an upgrade (user/lib/upgrade.c).
 *
 * Converted flows (ACK_UNSEEN, bpf/flow.bpf.h). Layout 1 kept no
 * acknowledgements, so an upgrade writes its flows with ack_client =
 * ack_backend = 0, "not seen yet" (user/lib/upgrade_v1.c). Until a
 * side's first ACK sets its field, the other side's RST and FIN are
 * taken as in window: a client's RST is forwarded without closing the
 * flow (even one whose sequence number is 0, the unseen value), a
 * client's FIN is recorded, a backend's RST closes the flow and its FIN
 * is recorded; and each side's first ACK is recorded whatever its
 * value. Once an ACK was seen, the window applies again. Each row opens
 * a real flow (handshake through the program), sets both
 * acknowledgements of its established entry to 0 as the upgrade writes
 * them, sends one segment with sequence or acknowledgement numbers at
 * least 2^30 away from 0 (out of any window around 0, so a program
 * without the rule, or with it inverted, answers differently), and
 * checks the verdict, the reason and the entry afterwards.
 *
 * Flows not converted yet (bpf/upgrade.bpf.h): while an upgrade runs,
 * the old program's flow table sits in legacy_flows, and a backend's
 * packet that matches no flow of ours but a reply entry there goes back
 * to the client from that entry's endpoint; a forward entry, no entry,
 * or no table leave it to the host, untouched. The other way round, a
 * new flow of the new program leaves its reply entry in that table, for
 * the old program still running on interfaces not replaced yet. An
 * upgrade from layout 2 puts that layout's half-open table (flows_new,
 * 48-byte entries keyed by the reply 5-tuple, kept after a flow is
 * established) in legacy_new: its entry names the endpoint the
 * same way.
 *
 * IPv4 and IPv6 throughout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lab.h"
#include "conv.h"

static struct lab lab;
static unsigned int cases_run;
static const struct slotlb_opts lab_opts = {
	.flow_capacity = 4096,
};

#define TCP4(...)                                                        \
	{                                                                \
		.family = AF_INET, .proto = IPPROTO_TCP, .src = CLIENT4, \
		.dst = VIP4, .dport = PORT_HTTP, __VA_ARGS__             \
	}
#define TCP6(...)                                                         \
	{                                                                 \
		.family = AF_INET6, .proto = IPPROTO_TCP, .src = CLIENT6, \
		.dst = VIP6, .dport = PORT_HTTP, __VA_ARGS__              \
	}

/* Far from 0 both ways: 0xc0000000 - 0 and 0 - 0xc0000000 are both
 * over SLOTLB_TCP_MAX_WINDOW, and it is not seq_after() 0. */
#define FAR 0xc0000000u

enum side { CLIENT, BACKEND };

/* What is sent before the row's segment. */
enum prep {
	PREP_NONE, /* both acknowledgements unseen */
	PREP_BACKEND_ACK, /* the backend's ACK of the client's data */
	PREP_CLIENT_ACK, /* the client's ACK of the backend's data */
};

struct unseen_case {
	const char *desc;
	enum prep prep;
	enum side from;
	uint8_t flags;
	/* the segment's sequence number (RST, FIN) or acknowledgement
	 * (ACK); with rel, added to the acknowledgement prep recorded */
	uint32_t num;
	bool rel;
	int verdict;
	enum slotlb_reason reason;
	uint32_t state; /* SLOTLB_FLOW_* bits the entry has afterwards */
	int ack_client_is_num; /* 1: ack_client == num; 0: == 0; -1: any */
	int ack_backend_is_num;
	enum slotlb_event event; /* counted once; SLOTLB_EVENT_MAX: none */
};

static const struct unseen_case unseen_cases[] = {
	{"client RST far from 0, backend's ACK unseen: forwarded, flow stays",
	 PREP_NONE, CLIENT, F_RST, FAR, false, XDP_REDIRECT,
	 SLOTLB_REASON_FORWARD, 0, 0, 0, SLOTLB_EVENT_RST_IGNORED},
	{"client RST with sequence 0 (the unseen value): forwarded, flow stays",
	 PREP_NONE, CLIENT, F_RST, 0, false, XDP_REDIRECT,
	 SLOTLB_REASON_FORWARD, 0, 0, 0, SLOTLB_EVENT_RST_IGNORED},
	{"client FIN far from 0, backend's ACK unseen: recorded", PREP_NONE,
	 CLIENT, F_FIN, FAR, false, XDP_REDIRECT, SLOTLB_REASON_FORWARD,
	 SLOTLB_FLOW_FIN_CLIENT, 0, 0, SLOTLB_EVENT_MAX},
	{"client's first ACK, not after 0: recorded", PREP_NONE, CLIENT, F_ACK,
	 FAR, false, XDP_REDIRECT, SLOTLB_REASON_FORWARD, 0, 1, 0,
	 SLOTLB_EVENT_MAX},
	{"backend RST far from 0, client's ACK unseen: closes the flow",
	 PREP_NONE, BACKEND, F_RST, FAR, false, XDP_REDIRECT,
	 SLOTLB_REASON_REPLY, SLOTLB_FLOW_RST, 0, 0, SLOTLB_EVENT_MAX},
	{"backend FIN far from 0, client's ACK unseen: recorded", PREP_NONE,
	 BACKEND, F_FIN, FAR, false, XDP_REDIRECT, SLOTLB_REASON_REPLY,
	 SLOTLB_FLOW_FIN_BACKEND, 0, 0, SLOTLB_EVENT_MAX},
	{"backend's first ACK, not after 0: recorded", PREP_NONE, BACKEND,
	 F_ACK, FAR, false, XDP_REDIRECT, SLOTLB_REASON_REPLY, 0, 0, 1,
	 SLOTLB_EVENT_MAX},
	/* once a side's ACK was seen, the window is back */
	{"client RST 2^31 past the backend's ACK, once seen: dropped",
	 PREP_BACKEND_ACK, CLIENT, F_RST, 0x80000000u, true, XDP_DROP,
	 SLOTLB_REASON_DROP_WINDOW, 0, 0, -1, SLOTLB_EVENT_MAX},
	{"client FIN 2^31 past the backend's ACK, once seen: dropped",
	 PREP_BACKEND_ACK, CLIENT, F_FIN, 0x80000000u, true, XDP_DROP,
	 SLOTLB_REASON_DROP_WINDOW, 0, 0, -1, SLOTLB_EVENT_MAX},
	{"backend RST 2^31 past the client's ACK, once seen: flow stays",
	 PREP_CLIENT_ACK, BACKEND, F_RST, 0x80000000u, true, XDP_REDIRECT,
	 SLOTLB_REASON_REPLY, 0, -1, 0, SLOTLB_EVENT_RST_IGNORED},
	{"backend FIN 2^31 past the client's ACK, once seen: not recorded",
	 PREP_CLIENT_ACK, BACKEND, F_FIN, 0x80000000u, true, XDP_REDIRECT,
	 SLOTLB_REASON_REPLY, 0, -1, 0, SLOTLB_EVENT_MAX},
};

#define ROWS (sizeof(unseen_cases) / sizeof(unseen_cases[0]))

/* A flow's established entry, in the bytes of its map's value. */
struct entry {
	int fd;
	uint8_t key[sizeof(struct slotlb_flow_key)];
	union {
		struct slotlb_flow4 v4;
		struct slotlb_flow6 v6;
	} v;
};

static struct slotlb_flow_state *entry_state(struct entry *e, int family)
{
	return family == AF_INET ? &e->v.v4.s : &e->v.v6.s;
}

/* Open v's established entry (the map stays open in e->fd). */
static void entry_find(const struct conv *v, struct entry *e, const char *desc)
{
	char path[160];

	memset(e, 0, sizeof(*e));
	snprintf(path, sizeof(path), "%s/%s", lab.pin_root,
		 v->c.family == AF_INET ? "flows4" : "flows6");
	e->fd = bpf_obj_get(path);
	assert_true(e->fd >= 0);
	if (v->c.family == AF_INET) {
		struct slotlb_flow4_key *k = (void *)e->key;
		uint8_t a[16];

		pkt_addr(AF_INET, v->c.src, a);
		memcpy(&k->client, a, 4);
		pkt_addr(AF_INET, v->c.dst, a);
		memcpy(&k->endpoint, a, 4);
		k->client_port = htons(v->c.sport);
		k->endpoint_port = htons(v->c.dport);
		k->proto = IPPROTO_TCP;
	} else {
		struct slotlb_flow_key *k = (void *)e->key;

		pkt_addr(AF_INET6, v->c.src, (uint8_t *)k->src);
		pkt_addr(AF_INET6, v->c.dst, (uint8_t *)k->dst);
		k->sport = htons(v->c.sport);
		k->dport = htons(v->c.dport);
		k->proto = IPPROTO_TCP;
		k->family = AF_INET6;
	}
	if (bpf_map_lookup_elem(e->fd, e->key, &e->v))
		fail_msg("%s: no established entry", desc);
}

static uint64_t event(enum slotlb_event ev)
{
	uint64_t n[SLOTLB_EVENT_MAX];

	assert_int_equal(slotlb_events_read(lab.lb, n), 0);
	return n[ev];
}

/* Send the row's segment with num as its sequence number (RST, FIN) or
 * acknowledgement (ACK). */
static void send_segment(struct conv *v, const struct unseen_case *c,
			 uint32_t num, struct xdp_out *out)
{
	uint32_t cseq = v->cseq, bseq = v->bseq;
	uint8_t in[PKT_MAX];
	size_t len;

	if (c->from == CLIENT) {
		if (c->flags & F_ACK)
			v->bseq = num; /* what the client acknowledges */
		else
			v->cseq = num;
		len = conv_client_frame(v, in, c->flags, 0);
		lab_run(&lab, lab_pub_ifindex, in, len, out);
	} else {
		if (c->flags & F_ACK)
			v->cseq = num;
		else
			v->bseq = num;
		len = conv_backend_frame(v, in, c->flags, 0);
		lab_run(&lab, lab_back_ifindex, in, len, out);
	}
	v->cseq = cseq;
	v->bseq = bseq;
}

static void check_ack(const char *desc, const char *which, uint32_t got,
		      int is_num, uint32_t num)
{
	if (is_num == 1 && got != num)
		fail_msg("%s: %s %#x, want %#x", desc, which, got, num);
	if (is_num == 0 && got != 0)
		fail_msg("%s: %s %#x, want 0 (still unseen)", desc, which, got);
}

static void run_row(const struct unseen_case *c, const struct pkt_spec *spec)
{
	struct slotlb_flow_state *st;
	const struct lab_backend *be;
	struct xdp_out out;
	struct pkt_info pi;
	struct entry e;
	struct conv v;
	char desc[200], state[128];
	uint32_t num = c->num;
	uint64_t ev0 = 0;

	snprintf(desc, sizeof(desc), "%s (IPv%d)", c->desc,
		 spec->family == AF_INET ? 4 : 6);
	conv_init(&v, &lab, spec);
	conv_open(&v, spec->family == AF_INET ? DEP_A4 : DEP_A6, desc);
	/* as the upgrade writes a layout 1 flow: no acknowledgement */
	entry_find(&v, &e, desc);
	st = entry_state(&e, spec->family);
	if (!st->ack_client || !st->ack_backend)
		fail_msg("%s: the handshake recorded no ACK", desc);
	st->ack_client = 0;
	st->ack_backend = 0;
	assert_int_equal(bpf_map_update_elem(e.fd, e.key, &e.v, BPF_EXIST), 0);
	if (c->prep == PREP_BACKEND_ACK) {
		conv_expect_backend(&v, F_ACK, 0, desc);
		num += v.cseq; /* the ACK it recorded */
	} else if (c->prep == PREP_CLIENT_ACK) {
		conv_expect_client(&v, F_ACK, 0, desc);
		num += v.bseq;
	}
	if (c->event != SLOTLB_EVENT_MAX)
		ev0 = event(c->event);

	send_segment(&v, c, num, &out);
	assert_verdict(desc, &out, c->verdict);
	assert_reason(desc, &out, c->reason);
	if (c->verdict == XDP_REDIRECT) {
		/* to the flow's backend, or from its endpoint */
		if (!pkt_parse(out.data, out.len, &pi))
			fail_msg("%s: output does not parse", desc);
		be = lab_backend_by_dst(&pi);
		if (c->from == CLIENT && be != v.be)
			fail_msg("%s: not sent to the flow's backend %s", desc,
				 v.be->addr);
		if (c->from == BACKEND && be)
			fail_msg("%s: sent to a backend, not the client", desc);
	}
	if (c->event != SLOTLB_EVENT_MAX && event(c->event) != ev0 + 1)
		fail_msg("%s: event %d counted %llu times, want once", desc,
			 c->event, (unsigned long long)(event(c->event) - ev0));

	if (bpf_map_lookup_elem(e.fd, e.key, &e.v))
		fail_msg("%s: the established entry is gone", desc);
	close(e.fd);
	st = entry_state(&e, spec->family);
	if ((st->state & (SLOTLB_FLOW_RST | SLOTLB_FLOW_FIN_CLIENT |
			  SLOTLB_FLOW_FIN_BACKEND)) != c->state) {
		slotlb_format_flow_state(st->state, state, sizeof(state));
		fail_msg("%s: entry is %s afterwards", desc, state);
	}
	if (c->from == CLIENT && (c->flags & F_FIN) && c->state &&
	    st->fin_client != num + 1)
		fail_msg("%s: FIN recorded ending at %#x, want %#x", desc,
			 st->fin_client, num + 1);
	check_ack(desc, "ack_client", st->ack_client, c->ack_client_is_num,
		  num);
	check_ack(desc, "ack_backend", st->ack_backend, c->ack_backend_is_num,
		  num);
	cases_run++;
}

static void test_converted_flows(void **state)
{
	const struct pkt_spec specs[] = {TCP4(), TCP6()};
	size_t i, f;

	(void)state;
	for (f = 0; f < 2; f++)
		for (i = 0; i < ROWS; i++)
			run_row(&unseen_cases[i], &specs[f]);
}

/* Layout 1's flow entry (bpf/upgrade.bpf.h, user/lib/upgrade_v1.c). */
struct v1_flow {
	__be32 addr[4]; /* forward: backend; reply: endpoint */
	__be16 port;
	uint8_t direction, state; /* direction 0: forward */
	uint32_t backend_id, deployment_id, endpoint_id;
	uint64_t last_seen_ns;
	uint32_t nh_ifindex;
	uint8_t nh_dmac[6], nh_smac[6];
	uint64_t nh_time_ns;
};
_Static_assert(sizeof(struct v1_flow) == 64, "layout 1 flow");

/* Layout 2's half-open entry (bpf/upgrade.bpf.h, user/lib/upgrade_v2.c). */
struct v2_flow_new {
	__be32 endpoint[4];
	__be16 endpoint_port;
	uint16_t backend_id, deployment_id, endpoint_id;
	uint32_t state, seen;
	uint32_t client_seq, client_ack, backend_isn, backend_ack;
};
_Static_assert(sizeof(struct v2_flow_new) == 48, "layout 2 flow new");

/* The program's array of maps called name (not pinned: found by it). */
static int legacy_fd(const char *name)
{
	struct bpf_prog_info pinfo = {0};
	struct bpf_map_info minfo;
	uint32_t ids[64], len, i;
	int fd;

	pinfo.nr_map_ids = 64;
	pinfo.map_ids = (uint64_t)(unsigned long)ids;
	len = sizeof(pinfo);
	assert_int_equal(
		bpf_obj_get_info_by_fd(slotlb_prog_fd(lab.lb), &pinfo, &len),
		0);
	for (i = 0; i < pinfo.nr_map_ids && i < 64; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		memset(&minfo, 0, sizeof(minfo));
		len = sizeof(minfo);
		if (!bpf_obj_get_info_by_fd(fd, &minfo, &len) &&
		    !strcmp(minfo.name, name))
			return fd;
		close(fd);
	}
	fail_msg("the program has no %s map", name);
	return -1;
}

static int legacy_flows_fd(void)
{
	return legacy_fd("legacy_flows");
}

enum legacy_entry { NONE, REPLY, FORWARD };

struct legacy_case {
	const char *desc;
	int layout; /* the old table: 1 flows, 2 flows_new */
	enum legacy_entry entry; /* what it holds for the packet (layout 2:
				  * REPLY is its half-open entry) */
	bool table; /* the table is in legacy_flows or legacy_new */
	bool replied; /* else passed untouched, PASS_NOT_ENDPOINT */
};

static const struct legacy_case legacy_cases[] = {
	{"reply of a flow not converted yet: from its endpoint", 1, REPLY, true,
	 true},
	{"a forward entry is no reply: to the host", 1, FORWARD, true, false},
	{"no entry in the old table: to the host", 1, NONE, true, false},
	{"reply entry, the upgrade over (no table): to the host", 1, REPLY,
	 false, false},
	{"layout 2: a flow not converted yet, its half-open entry names the endpoint: from it",
	 2, REPLY, true, true},
	{"layout 2: no entry in the old half-open table: to the host", 2, NONE,
	 true, false},
	{"layout 2: half-open entry, the upgrade over (no table): to the host",
	 2, REPLY, false, false},
};

static void legacy_row(const struct legacy_case *c, int family, int outer)
{
	const struct lab_backend *be =
		lab_deployment_backend(family == AF_INET ? DEP_A4 : DEP_A6, 0);
	const char *client = family == AF_INET ? CLIENT4 : CLIENT6;
	const char *vip = family == AF_INET ? VIP4 : VIP6;
	struct slotlb_flow_key k = {0};
	struct v2_flow_new h = {0};
	struct v1_flow f = {0};
	struct pkt_spec s = {0};
	uint8_t in[PKT_MAX], a[16];
	struct xdp_out out;
	char desc[200];
	uint32_t zero = 0;
	size_t len;
	int table;

	snprintf(desc, sizeof(desc), "%s (IPv%d)", c->desc,
		 family == AF_INET ? 4 : 6);
	/* the backend's packet of a flow only layout 1's table knows */
	s.family = family;
	s.proto = IPPROTO_TCP;
	s.src = be->addr;
	s.sport = be->port;
	s.dst = client;
	s.dport = s.seed = lab_port();
	s.flags = F_ACK | F_PSH;
	s.payload = 10;
	s.smac = be->mac;
	s.dmac = lab_back_mac;
	len = pkt_build(in, &s);

	if (c->layout == 1) {
		table = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "flows",
				       sizeof(k), sizeof(f), 1024, NULL);
	} else {
		LIBBPF_OPTS(bpf_map_create_opts, o,
			    .map_flags = BPF_F_NO_COMMON_LRU);

		table = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "flows_new",
				       sizeof(k), sizeof(h), 1024, &o);
	}
	assert_true(table >= 0);
	pkt_addr(family, be->addr, a);
	memcpy(k.src, a, 16);
	pkt_addr(family, client, a);
	memcpy(k.dst, a, 16);
	k.sport = htons(be->port);
	k.dport = htons(s.dport);
	k.proto = IPPROTO_TCP;
	k.family = (uint8_t)family;
	pkt_addr(family, vip, a);
	memcpy(f.addr, a, 16);
	f.port = htons(PORT_HTTP);
	f.direction = c->entry == REPLY ? 1 : 0;
	f.backend_id = be->id;
	f.deployment_id = family == AF_INET ? DEP_A4 : DEP_A6;
	f.endpoint_id = family == AF_INET ? EP_WEB4_TCP : EP_WEB6_TCP;
	/* layout 2: an established flow's lingering half-open entry */
	memcpy(h.endpoint, f.addr, sizeof(h.endpoint));
	h.endpoint_port = f.port;
	h.backend_id = (uint16_t)f.backend_id;
	h.deployment_id = (uint16_t)f.deployment_id;
	h.endpoint_id = (uint16_t)f.endpoint_id;
	h.state = SLOTLB_FLOW_SYN | SLOTLB_FLOW_PROMOTED;
	if (c->entry != NONE)
		assert_int_equal(bpf_map_update_elem(table, &k,
						     c->layout == 1
							     ? (void *)&f
							     : (void *)&h,
						     BPF_ANY),
				 0);
	if (c->table)
		assert_int_equal(
			bpf_map_update_elem(outer, &zero, &table, BPF_ANY), 0);

	lab_run(&lab, lab_back_ifindex, in, len, &out);
	if (c->replied)
		assert_replied(desc, &out, &s, vip, PORT_HTTP);
	else
		assert_untouched(desc, &out, in, len, XDP_PASS,
				 SLOTLB_REASON_PASS_NOT_ENDPOINT);
	if (bpf_map_delete_elem(outer, &zero) && errno != ENOENT)
		fail_msg("%s: emptying legacy_flows", desc);
	close(table);
	cases_run++;
}

static void test_unconverted_replies(void **state)
{
	const int families[] = {AF_INET, AF_INET6};
	int outer[2] = {legacy_flows_fd(), legacy_fd("legacy_new")};
	size_t i, f;

	(void)state;
	for (f = 0; f < 2; f++)
		for (i = 0; i < sizeof(legacy_cases) / sizeof(legacy_cases[0]);
		     i++)
			legacy_row(&legacy_cases[i], families[f],
				   outer[legacy_cases[i].layout - 1]);
	close(outer[0]);
	close(outer[1]);
}

/* A new flow while the table is set leaves its reply entry there, as
 * the old program (still on some interface) reads it; none without. */
static void test_new_flows_noted(void **state)
{
	const struct pkt_spec specs[] = {TCP4(), TCP6()};
	int outer = legacy_flows_fd(), table, k;
	struct slotlb_flow_key key;
	struct v1_flow f;
	struct conv v;
	char desc[160];
	uint32_t zero = 0;
	uint8_t a[16];
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		const struct pkt_spec *s = &specs[i % 2];
		bool set = i < 2;

		snprintf(desc, sizeof(desc), "new flow, IPv%d, %s",
			 s->family == AF_INET ? 4 : 6,
			 set ? "upgrade under way" : "no upgrade");
		table = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "flows",
				       sizeof(key), sizeof(f), 1024, NULL);
		assert_true(table >= 0);
		if (set)
			assert_int_equal(bpf_map_update_elem(outer, &zero,
							     &table, BPF_ANY),
					 0);
		conv_init(&v, &lab, s);
		conv_open(&v, s->family == AF_INET ? DEP_A4 : DEP_A6, desc);
		memset(&key, 0, sizeof(key));
		pkt_addr(s->family, v.be->addr, a);
		memcpy(key.src, a, s->family == AF_INET ? 4 : 16);
		pkt_addr(s->family, s->src, a);
		memcpy(key.dst, a, s->family == AF_INET ? 4 : 16);
		key.sport = htons(v.be->port);
		key.dport = htons(v.c.sport);
		key.proto = IPPROTO_TCP;
		key.family = (uint8_t)s->family;
		k = bpf_map_lookup_elem(table, &key, &f);
		if (!set && k == 0)
			fail_msg("%s: a reply entry without an upgrade", desc);
		if (set) {
			if (k)
				fail_msg("%s: no reply entry for the old "
					 "program",
					 desc);
			pkt_addr(s->family, s->dst, a);
			if (f.direction != 1 ||
			    memcmp(f.addr, a, s->family == AF_INET ? 4 : 16) ||
			    f.port != htons(PORT_HTTP) ||
			    f.backend_id != v.be->id ||
			    f.deployment_id !=
				    (s->family == AF_INET ? DEP_A4 : DEP_A6) ||
			    f.endpoint_id != (s->family == AF_INET
						      ? EP_WEB4_TCP
						      : EP_WEB6_TCP))
				fail_msg("%s: reply entry direction %u, port "
					 "%u, ids %u/%u/%u",
					 desc, f.direction, ntohs(f.port),
					 f.endpoint_id, f.deployment_id,
					 f.backend_id);
		}
		if (bpf_map_delete_elem(outer, &zero) && errno != ENOENT)
			fail_msg("%s: emptying legacy_flows", desc);
		close(table);
		cases_run++;
	}
	close(outer);
}

static int group_setup(void **state)
{
	(void)state;
	return lab_open(&lab, "upgrade_flows", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_upgrade_flows: %u packet cases run\n", cases_run);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converted_flows),
		cmocka_unit_test(test_unconverted_replies),
		cmocka_unit_test(test_new_flows_noted),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_upgrade_flows", tests,
					   group_setup, group_teardown);
}
