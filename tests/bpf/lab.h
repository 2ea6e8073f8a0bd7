/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The BPF tests' lab: a private network namespace with a client-facing
 * "pub" and a backend-facing "back" veth, permanent neighbours with known
 * MACs (so bpf_fib_lookup succeeds and output MACs are exact), a slotlb
 * instance with its own pin root, a fixed set of apps, deployments,
 * backends and endpoints, a BPF_PROG_TEST_RUN runner that reports the
 * verdict and the one reason the packet was counted under, and named
 * asserts on output packets.
 *
 * Include after <cmocka.h> (and its prerequisites).
 */
#ifndef SLOTLB_TEST_LAB_H
#define SLOTLB_TEST_LAB_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>
#include "slotlb.h"
#include "pkt.h"

/* Exit code of a skipped test binary (automake convention). */
#define LAB_SKIP 77

/* Addresses of the lab. Endpoint addresses are on no interface. */
#define VIP4 "198.18.0.10" /* app web4: :80/tcp, :53/udp; slots 1, 2, 19 */
#define VIP6 "fd00:5107::10" /* app web6: :80/tcp, :53/udp */
#define VIP4_NONEIGH "198.18.0.20" /* backend without a neighbour */
#define VIP4_DRAIN "198.18.0.40" /* app of the drain-count test */
#define VIP4_TRAFFIC "198.18.0.50" /* traffic app: :80 :53 :8443 :8081 */
#define VIP6_TRAFFIC "fd00:5107::50" /* traffic app: :80 :8081 */
#define NOT_VIP4 "198.18.0.11" /* on no endpoint */
#define NOT_VIP6 "fd00:5107::11"
#define CLIENT4 "198.18.0.2"
#define CLIENT4B "198.18.0.3"
#define CLIENT6 "fd00:5107::2"
#define CLIENT6B "fd00:5107::3"
#define CLIENT4_NONEIGH "198.18.0.99" /* no neighbour entry */
/* A router on the client side (pub), a neighbour: ICMP errors from it. */
#define ROUTER4 "198.18.0.254"
#define ROUTER6 "fd00:5107::fe"
#define PORT_HTTP 80
#define PORT_DNS 53
#define PORT_STAGING 8443 /* web4 slot 1 */
#define PORT_QA 8081
#define PORT_SLOT2 8444 /* web4 slot 2 */
#define PORT_SLOT19 8445 /* web4 slot 19, the last */

enum lab_app {
	APP_WEB4 = 1,
	APP_WEB6 = 2,
	APP_NONEIGH = 3,
	APP_DRAIN = 4,
	APP_TRAFFIC4 = 5, /* slots production, staging, qa; IPv4 */
	APP_TRAFFIC6 = 6, /* the same for IPv6 */
};

enum lab_deployment_id {
	DEP_A4 = 1, /* web4 production, "A" */
	DEP_B4 = 2, /* web4 candidate, "B" */
	DEP_A6 = 3,
	DEP_B6 = 4,
	DEP_NONEIGH = 5, /* one backend with no neighbour entry */
	DEP_C4 = 6, /* drain app, same backends as A4 */
	DEP_D4 = 7, /* drain app, same backends as B4 */
	DEP_Q4 = 8, /* traffic app's qa slot, backends of its own */
	DEP_Q6 = 9,
	DEP_E4 = 10, /* web4, a third deployment (backends shared with Q4) */
	DEP_COUNT
};

enum lab_endpoint_id {
	EP_WEB4_TCP = 1,
	EP_WEB4_UDP = 2,
	EP_WEB4_STAGING = 3, /* slot 1 of web4, empty */
	EP_WEB6_TCP = 4,
	EP_WEB6_UDP = 5,
	EP_NONEIGH = 6,
	EP_DRAIN = 7,
	EP_T4_PROD = 8, /* traffic app, slot 0 (production) */
	EP_T4_UDP = 9, /* slot 0, UDP */
	EP_T4_STAGING = 10, /* slot 1 */
	EP_T4_QA = 11, /* slot 2 */
	EP_T6_PROD = 12,
	EP_T6_QA = 13,
	EP_WEB4_SLOT2 = 14, /* slot 2 of web4, empty */
	EP_WEB4_SLOT19 = 15, /* slot 19 of web4, empty */
	EP_COUNT
};

struct lab_backend {
	uint32_t id; /* backend id in the maps */
	int family; /* AF_INET or AF_INET6 */
	const char *addr; /* address as text */
	uint16_t port; /* host order */
	uint8_t mac[6]; /* neighbour MAC; all zero = no neighbour */
};

/* A loaded slotlb with its pin root. */
struct lab {
	struct slotlb *lb;
	char pin_root[96];
};

extern int lab_pub_ifindex, lab_back_ifindex;
extern const uint8_t lab_pub_mac[6], lab_back_mac[6];

/* Enter a fresh netns and build the interfaces; 0 or LAB_SKIP. */
int lab_enter_netns(void);
/* Load slotlb under /sys/fs/bpf/slotlb-test-<pid>-<tag> (a tag already
 * used reuses the pins, i.e. a reload) and, if populate, program the
 * lab's backends, deployments, endpoints and default routing. */
int lab_open(struct lab *lab, const char *tag, const struct slotlb_opts *opts,
	     bool populate);
/* Close without removing the pins (the reload test's first instance). */
void lab_close_keep(struct lab *lab);
/* Close and remove the pin root; also done at exit for any left over. */
void lab_close(struct lab *lab);

/* Put deployment dep in slot 0 of app (slot 1 stays empty); the slot's
 * previous deployment is the one it held before, as slotlbd records it
 * for second chance. */
void lab_route(struct lab *lab, uint32_t app, uint32_t dep);
/* The same with an explicit previous deployment (0: none). */
void lab_route_prev(struct lab *lab, uint32_t app, uint32_t dep, uint32_t prev);
/* Set every slot of app: deps[s] into slot s for s < n, the rest
 * empty; previous[s] = prev[s] when prev is not NULL. */
void lab_route_slots(struct lab *lab, uint32_t app, const uint32_t *deps,
		     const uint32_t *prev, size_t n);
/* Every app back to its first deployment, no previous one. */
void lab_route_default(struct lab *lab);

/* Client MAC (neighbour on pub); NULL if the client has none. */
const uint8_t *lab_client_mac(int family, const char *addr);
/* Backend a packet is addressed to (dst addr and port), or NULL. */
const struct lab_backend *lab_backend_by_dst(const struct pkt_info *pi);
bool lab_in_deployment(const struct lab_backend *be, uint32_t dep);
/* A backend of dep (its i-th). */
const struct lab_backend *lab_deployment_backend(uint32_t dep, unsigned i);
/* Republish deployment dep's ring as a drain or a health check does:
 * its backends at their weights, "out" (0: none) at weight 0. */
void lab_republish(struct lab *lab, uint32_t dep, uint32_t out);
/* Distinct client port for each new flow of a test binary. */
uint16_t lab_port(void);
/* The established IPv4 entry of client spec c (TCP or UDP) in *k, *f;
 * returns the pinned flows4 map's fd (the caller closes it), or fails
 * the test if there is no such entry. */
int lab_flow4(struct lab *lab, const struct pkt_spec *c,
	      struct slotlb_flow4_key *k, struct slotlb_flow4 *f);

/* Result of one BPF_PROG_TEST_RUN. */
struct xdp_out {
	int verdict; /* XDP_* */
	int reason; /* the one reason counted; -1 none, -2 several */
	uint32_t len; /* output frame length */
	uint8_t data[PKT_MAX];
};

/* Run a frame through the program arriving on ifindex; a failing
 * test_run fails the test. lab_run_meta puts metalen bytes of XDP
 * metadata before the frame and returns test_run's error instead;
 * lab_run_fast skips the reason bookkeeping. */
void lab_run(struct lab *lab, int ifindex, const uint8_t *in, size_t len,
	     struct xdp_out *out);
int lab_run_meta(struct lab *lab, int ifindex, const uint8_t *in, size_t len,
		 uint32_t metalen, struct xdp_out *out);
int lab_run_fast(struct lab *lab, int ifindex, const uint8_t *in, size_t len,
		 struct xdp_out *out);

const char *lab_verdict_name(int verdict);

/* Named asserts. Each fails the current test with desc and got/want. */
#define assert_verdict(desc, out, want)                             \
	do {                                                        \
		if ((out)->verdict != (want))                       \
			fail_msg("%s: verdict %s, want %s", (desc), \
				 lab_verdict_name((out)->verdict),  \
				 lab_verdict_name(want));           \
	} while (0)

#define assert_reason(desc, out, want)                                        \
	do {                                                                  \
		if ((out)->reason != (int)(want))                             \
			fail_msg("%s: counted under %s, want %s", (desc),     \
				 (out)->reason < 0                            \
					 ? "no single reason"                 \
					 : slotlb_reason_name((out)->reason), \
				 slotlb_reason_name(want));                   \
	} while (0)

/* The output is the input, byte for byte, with the given verdict/reason. */
void assert_untouched(const char *desc, const struct xdp_out *out,
		      const uint8_t *in, size_t len, int verdict, int reason);
/* Full checksum recomputation over the output frame. */
void assert_checksums(const char *desc, const uint8_t *buf, size_t len);
/*
 * out is spec s, sent in on ifindex, forwarded to a backend of dep:
 * dst addr/port of that backend, TTL - 1, MACs of the egress interface
 * and the backend's neighbour, nothing else changed (byte compare with
 * an independently built frame), checksums valid, verdict XDP_TX if the
 * backend is behind the ingress interface else XDP_REDIRECT, counted
 * under reason. Returns the backend.
 */
const struct lab_backend *assert_forwarded(const char *desc,
					   const struct xdp_out *out,
					   const struct pkt_spec *s,
					   int ifindex, uint32_t dep,
					   int reason);
/* out is the backend's reply s sent back to the client with the source
 * rewritten to ep_addr:ep_port, routed out of pub (XDP_REDIRECT). */
void assert_replied(const char *desc, const struct xdp_out *out,
		    const struct pkt_spec *s, const char *ep_addr,
		    uint16_t ep_port);
/* Like assert_forwarded, for a packet the kernel has to forward because
 * the next hop has no neighbour entry: XDP_PASS, rewritten, TTL and MACs
 * as they came. */
const struct lab_backend *assert_rewritten_pass(const char *desc,
						const struct xdp_out *out,
						const struct pkt_spec *s,
						uint32_t dep);

#endif /* SLOTLB_TEST_LAB_H */
