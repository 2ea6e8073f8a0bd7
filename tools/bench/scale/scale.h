/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The scale benchmark (tools/bench/scale): its private lab, frames and
 * the helpers its two halves share (scale.c: flow table at 1M flows;
 * scale_ctl.c: Maglev build and swap latency).
 */
#ifndef SLOTLB_BENCH_SCALE_H
#define SLOTLB_BENCH_SCALE_H

#include <stdbool.h>
#include <stdint.h>

struct slotlb;

#define SCALE_BACKENDS 10
#define SCALE_BACKEND_BASE 11 /* backends 10.20.0.11.. */
#define SCALE_BACKEND_NET 0x0a140000U
#define SCALE_BACKEND_PORT 8080
#define SCALE_VIP 0xc000020aU /* 192.0.2.10 */
#define SCALE_VIP_PORT 80
#define SCALE_CLIENT_NET 0x0a800000U /* 10.128.0.0/9 */
#define SCALE_PORTS 50000 /* source ports per client address */
#define SCALE_PORT_BASE 10000
#define SCALE_PKT_MAX 64

struct scale_lab {
	int client_ifindex; /* cli0: ingress of the clients' frames */
	uint8_t client_if_mac[6];
	uint8_t router_mac[6];
};

struct scale_pkt {
	uint8_t data[SCALE_PKT_MAX];
	uint32_t len;
};

/* Move into a fresh network namespace and build the lab there. */
int scale_lab_setup(struct scale_lab *lab);
/* TCP SYN or ACK of flow number `flow` from a client to the endpoint. */
void scale_frame(struct scale_pkt *p, const struct scale_lab *lab,
		 uint32_t flow, bool syn);

/* Median, min and max of n samples (sorts them). */
struct scale_stat {
	double med, min, max;
};
struct scale_stat scale_stat(double *v, unsigned int n);
uint64_t scale_now_ns(void);

/* scale_ctl.c: Maglev build times and swap latency; print their rows. */
int scale_maglev(struct slotlb *lb, unsigned int runs);
int scale_swap(struct slotlb *lb, unsigned int runs, unsigned int apps);

#endif /* SLOTLB_BENCH_SCALE_H */
