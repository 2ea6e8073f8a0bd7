/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The traffic-routing BPF tests' helpers (see traffic_lab.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "lab.h"
#include "traffic_lab.h"

const struct traffic_app traffic_apps[2] = {
	{AF_INET,
	 APP_TRAFFIC4,
	 VIP4_TRAFFIC,
	 {DEP_A4, DEP_B4, DEP_Q4},
	 EP_T4_PROD},
	{AF_INET6,
	 APP_TRAFFIC6,
	 VIP6_TRAFFIC,
	 {DEP_A6, DEP_B6, DEP_Q6},
	 EP_T6_PROD},
};

struct slotlb_routing traffic_elem;

void traffic_reset(const struct traffic_app *a)
{
	uint32_t generation = traffic_elem.generation;
	int s;

	memset(&traffic_elem, 0, sizeof(traffic_elem));
	traffic_elem.generation = generation;
	for (s = 0; s < NSLOTS; s++)
		traffic_elem.deployment[s] = a->dep[s];
}

void traffic_distribution(uint16_t staging, uint16_t qa)
{
	const struct slotlb_share want[] = {{STAGING, staging}, {QA, qa}};
	struct slotlb_split out[SLOTLB_MAX_SPLITS];
	struct slotlb_layout_report rep;
	size_t n;
	int err;

	err = slotlb_split_layout(PROD, traffic_elem.split,
				  traffic_elem.split_count, want, 2, out, &n,
				  &rep);
	if (err)
		fail_msg("layout %u/%u: %s", staging, qa, strerror(-err));
	if (rep.against)
		fail_msg("layout %u/%u: %u clients against the rules", staging,
			 qa, rep.against);
	err = slotlb_routing_set_splits(&traffic_elem, PROD, out, n);
	if (err)
		fail_msg("set_splits: %s", strerror(-err));
}

void traffic_audience(uint8_t from, uint8_t to, const char *const *prefixes)
{
	struct slotlb_prefix p[SLOTLB_MAX_AUDIENCE];
	char why[SLOTLB_TRAFFIC_WHY_LEN];
	size_t n = 0;
	int err;

	while (prefixes[n])
		n++;
	if (slotlb_parse_prefixes(prefixes, n, p, why, sizeof(why)))
		fail_msg("audience: %s", why);
	err = slotlb_routing_set_audience(&traffic_elem, from, to, p, n);
	if (err)
		fail_msg("set_audience: %s", strerror(-err));
}

void traffic_apply(struct lab *lab, const struct traffic_app *a)
{
	int err;

	traffic_elem.generation++;
	err = slotlb_routing_set(lab->lb, a->app, &traffic_elem);
	if (err)
		fail_msg("routing_set app %u: %s", a->app, strerror(-err));
}

void traffic_client(int family, unsigned int t, uint32_t i, char *text,
		    __be32 addr[4])
{
	memset(addr, 0, 16);
	if (family == AF_INET) {
		addr[0] = htonl(0x0a000000 | (t & 15) << 20 | (i & 0xfffff));
	} else {
		addr[0] = htonl(0x20010db8);
		addr[1] = htonl(t & 15);
		addr[3] = htonl(i);
	}
	inet_ntop(family, addr, text, INET6_ADDRSTRLEN);
}

int traffic_send(struct lab *lab, const struct traffic_app *a, const char *src,
		 uint16_t sport, uint16_t dport, uint8_t proto,
		 const struct lab_backend **be)
{
	struct pkt_spec s = {
		.family = a->family,
		.proto = proto,
		.src = src,
		.dst = a->vip,
		.sport = sport,
		.dport = dport,
		.flags = proto == IPPROTO_TCP ? F_SYN : 0,
		.seed = sport,
	};
	const struct lab_backend *got;
	uint8_t frame[PKT_MAX];
	struct xdp_out out;
	struct pkt_info pi;
	size_t len;
	int slot;

	len = pkt_build(frame, &s);
	if (lab_run_fast(lab, lab_pub_ifindex, frame, len, &out))
		fail_msg("BPF_PROG_TEST_RUN failed");
	if (out.verdict != XDP_REDIRECT || !pkt_parse(out.data, out.len, &pi))
		fail_msg("%s:%u -> %s:%u: %s, not forwarded", src, sport,
			 a->vip, dport, lab_verdict_name(out.verdict));
	got = lab_backend_by_dst(&pi);
	for (slot = 0; got && slot < NSLOTS; slot++)
		if (lab_in_deployment(got, a->dep[slot])) {
			if (be)
				*be = got;
			return slot;
		}
	fail_msg("%s:%u: forwarded to no backend of the app", src, sport);
	return -1;
}

int traffic_predict(const struct traffic_app *a, uint32_t from, const char *src)
{
	struct slotlb_route route;
	__be32 addr[4] = {0};
	int slot;

	if (inet_pton(a->family, src, addr) != 1 ||
	    slotlb_route_client(&traffic_elem, from, addr, (uint8_t)a->family,
				&route))
		fail_msg("%s: cannot predict", src);
	/* The route names a slot; the tests tell slots apart by the
	 * deployments they started with. */
	for (slot = 0; slot < NSLOTS; slot++)
		if (route.deployment == a->dep[slot])
			return slot;
	return -1;
}
