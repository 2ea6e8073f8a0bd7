/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The benchmarks' private lab (bench_xdp, scale): a network namespace of
 * this process only, with a client-facing and a backend-facing veth,
 * routes, forwarding and permanent neighbours, so bpf_fib_lookup()
 * succeeds and the XDP program takes its real forwarding path under
 * BPF_PROG_TEST_RUN. Also builds the frames they feed it, and pktgen's
 * frame template.
 */
#ifndef SLOTLB_BENCH_LAB_H
#define SLOTLB_BENCH_LAB_H

#include <stdint.h>
#include <linux/types.h>

#define LAB_BACKENDS 10
#define LAB_PKT_MAX 128 /* a GUE frame of a 40-byte packet: 106 */

/* Addresses of the lab, host order. */
#define LAB_VIP 0xc000020aU /* 192.0.2.10: the endpoint */
#define LAB_VIP_PORT 80
#define LAB_BACKEND_NET 0x0a140000U /* 10.20.0.0/24, backend side */
#define LAB_BACKEND_BASE 11 /* backends are 10.20.0.11.. */
#define LAB_BACKEND_PORT 8080
#define LAB_CLIENT_NET 0xc6120000U /* 198.18.0.0/15, behind a router */
#define LAB_NOT_ENDPOINT 0x0a630001U /* 10.99.0.1: no endpoint there */

#define LAB_TCP_FIN 0x01
#define LAB_TCP_SYN 0x02
#define LAB_TCP_ACK 0x10

/* Sequence numbers of the lab's TCP frames: a client sends 1000 and
 * acknowledges LAB_BACKEND_ISN + 1, so its ACK frames complete the
 * handshake lab_handshake() plays with that backend ISN. */
#define LAB_CLIENT_SEQ 1000
#define LAB_BACKEND_ISN 1999

/* One prebuilt frame. */
struct lab_pkt {
	uint8_t data[LAB_PKT_MAX];
	uint32_t len;
};

/* What the rest of the benchmark needs to know about the lab. */
struct lab {
	int client_ifindex; /* cli0: clients' side, ingress of requests */
	int backend_ifindex; /* be0: backends' side, ingress of replies */
	uint8_t client_if_mac[6]; /* cli0's own MAC */
	uint8_t backend_if_mac[6]; /* be0's own MAC */
	uint8_t router_mac[6]; /* the clients' next hop on cli0 */
};

/* MAC the lab gives backend i (0-based) in its permanent neighbour. */
void lab_backend_mac(unsigned int i, uint8_t mac[6]);

/* Move this process into a fresh network namespace and build the lab in
 * it. Nothing outside the namespace is touched; it vanishes with us. */
int lab_setup(struct lab *lab);

/* Build an Ethernet/IPv4/TCP frame (no payload). Addresses and ports in
 * host order; checksums are complete, as off a wire. */
void lab_tcp(struct lab_pkt *p, const uint8_t *smac, const uint8_t *dmac,
	     uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
	     uint8_t flags);
/* Same with explicit sequence and acknowledgement numbers. */
void lab_tcp_seq(struct lab_pkt *p, const uint8_t *smac, const uint8_t *dmac,
		 uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		 uint8_t flags, uint32_t seq, uint32_t ack);
/* Same for UDP with an 8-byte payload. */
void lab_udp(struct lab_pkt *p, const uint8_t *smac, const uint8_t *dmac,
	     uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport);

/* Where the handshakes below run: the XDP program and its interfaces. */
struct lab_run {
	int prog_fd;
	int client_ifindex; /* ingress of clients' frames */
	int backend_ifindex; /* ingress of backends' frames */
	uint8_t backend_if_mac[6]; /* destination MAC of backends' frames */
};

/* Where a client's frame went through the program. */
struct lab_chosen {
	uint32_t addr; /* backend address, host order */
	uint16_t port; /* backend port */
	uint8_t mac[6]; /* the backend's MAC, as the program wrote it */
};

/* Run a client's frame (syn or a UDP datagram) through the program and
 * learn the backend it went to; -EPROTO if it was not redirected. */
int lab_chosen_of(const struct lab_run *r, const struct lab_pkt *frame,
		  struct lab_chosen *c);
/* Establish a TCP flow: SYN (syn), the chosen backend's SYN-ACK with
 * sequence LAB_BACKEND_ISN, the client's ACK (ack, acknowledging
 * LAB_BACKEND_ISN + 1). Fills c. */
int lab_handshake(const struct lab_run *r, const struct lab_pkt *syn,
		  const struct lab_pkt *ack, struct lab_chosen *c);
/* Establish a UDP flow: its datagram, then the backend's answer. */
int lab_udp_answered(const struct lab_run *r, const struct lab_pkt *dgram,
		     struct lab_chosen *c);

/* Client i's address and port (distinct 5-tuples for i < 2^24). */
uint32_t lab_client_addr(uint32_t i);
uint16_t lab_client_port(uint32_t i);

#endif /* SLOTLB_BENCH_LAB_H */
