/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the traffic-routing BPF tests share: the lab's traffic apps (one
 * per family, slots production, staging and qa, each with a deployment
 * of its own backends), a routing element built with the controller's
 * own functions (layout, rules) and applied with one store, distinct
 * client addresses per test, and one new flow sent through the program
 * with the slot that got it read off the output frame.
 *
 * Include after <cmocka.h> and lab.h.
 */
#ifndef SLOTLB_TEST_TRAFFIC_LAB_H
#define SLOTLB_TEST_TRAFFIC_LAB_H

#include <stdint.h>
#include "traffic.h"
#include "traffic_parse.h"

enum { PROD = 0, STAGING = 1, QA = 2, NSLOTS = 3 };

/* A traffic app of the lab. */
struct traffic_app {
	int family;
	uint32_t app;
	const char *vip;
	uint32_t dep[NSLOTS]; /* deployment of each slot at the start */
	uint32_t ep_prod; /* endpoint ids, for the counters */
};

extern const struct traffic_app traffic_apps[2]; /* IPv4, IPv6 */

/* The element the tests build; traffic_apply() puts it in the maps. */
extern struct slotlb_routing traffic_elem;

/* The app's slots with their first deployments, no rules. */
void traffic_reset(const struct traffic_app *a);
/* Lay production's shares out after the element's current splits (the
 * controller's slotlb_split_layout) and put them in the element; fails
 * the test if any client had to move against the rules. */
void traffic_distribution(uint16_t staging, uint16_t qa);
/* Prefixes (text) that send from's clients to to; NULL-terminated. */
void traffic_audience(uint8_t from, uint8_t to, const char *const *prefixes);
/* One routing-element update with the element as it stands. */
void traffic_apply(struct lab *lab, const struct traffic_app *a);

/* Client i of test t, distinct over (t, i) for t < 16, i < 2^20:
 * 10.(16t).0.0 + i or 2001:db8:0:t::i, as text and as bytes. */
void traffic_client(int family, unsigned int t, uint32_t i, char *text,
		    __be32 addr[4]);

/* A new flow (TCP SYN, or the first UDP packet) from src:sport to the
 * app's vip:dport. Fails the test unless it is forwarded to a backend
 * of one of the app's deployments; returns that slot (the slot whose
 * deployment at the start the backend belongs to). The backend is
 * stored in *be if be is not NULL. */
int traffic_send(struct lab *lab, const struct traffic_app *a, const char *src,
		 uint16_t sport, uint16_t dport, uint8_t proto,
		 const struct lab_backend **be);

/* The slot the controller predicts for a client on from's endpoints. */
int traffic_predict(const struct traffic_app *a, uint32_t from,
		    const char *src);

#endif /* SLOTLB_TEST_TRAFFIC_LAB_H */
