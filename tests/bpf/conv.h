/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP conversations through the program for the BPF tests: a client and
 * the backend the program chose, each side's sequence numbers kept as a
 * real stack would, so handshakes verify, FINs and RSTs are in (or out
 * of) window on purpose, and every packet's output can be checked.
 *
 * Include after lab.h.
 */
#ifndef SLOTLB_TEST_CONV_H
#define SLOTLB_TEST_CONV_H

#include <stdint.h>
#include "lab.h"

struct conv {
	struct lab *lab;
	struct pkt_spec c; /* client -> endpoint */
	const struct lab_backend *be; /* where the flow went */
	uint32_t cseq; /* client's next sequence number */
	uint32_t bseq; /* backend's next sequence number */
	int client_if; /* where the client's packets come in */
};

/* A new client flow from spec (its sport and seed are made unique). */
void conv_init(struct conv *v, struct lab *lab, const struct pkt_spec *spec);

/* The client's next segment (ACK of everything the backend sent, when
 * F_ACK); payload bytes advance its sequence number. */
size_t conv_client_frame(struct conv *v, uint8_t *buf, uint8_t flags,
			 uint16_t payload);
/* The backend's next segment to the client. */
size_t conv_backend_frame(struct conv *v, uint8_t *buf, uint8_t flags,
			  uint16_t payload);

/* Send through the program (the sequence numbers advance). */
void conv_client(struct conv *v, uint8_t flags, uint16_t payload,
		 struct xdp_out *out);
void conv_backend(struct conv *v, uint8_t flags, uint16_t payload,
		  struct xdp_out *out);

/* The handshake's first half: SYN (must reach a backend of dep, which
 * v->be becomes), SYN-ACK back (must reach the client from the
 * endpoint); the flow is half-open. */
void conv_syn(struct conv *v, uint32_t dep, const char *desc);

/* Handshake: SYN (must reach a backend of dep, which v->be becomes),
 * SYN-ACK back (must reach the client from the endpoint), ACK (must
 * reach the same backend). */
void conv_open(struct conv *v, uint32_t dep, const char *desc);

/* The client's segment must reach v->be; the backend's the client. */
void conv_expect_client(struct conv *v, uint8_t flags, uint16_t payload,
			const char *desc);
void conv_expect_backend(struct conv *v, uint8_t flags, uint16_t payload,
			 const char *desc);

#endif /* SLOTLB_TEST_CONV_H */
