/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Endpoints ("VIP:PORT/proto") and backends ("ADDR:PORT,weight=W") as
 * operators type them, to and from the ABI structs the maps hold. Strict
 * on purpose: a load balancer that guesses what a typo meant sends
 * traffic somewhere nobody asked for.
 */
#ifndef SLOTLB_ADDR_H
#define SLOTLB_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <slotlb/abi.h>

/* Longest string the formatters produce, NUL included:
 * "[" INET6_ADDRSTRLEN "]:65535/tcp". */
#define SLOTLB_ENDPOINT_STRLEN 64

/*
 * "ADDR:PORT[/tcp|/udp]" (default tcp); IPv6 as "[ADDR]:PORT[/proto]".
 * On error returns -EINVAL, leaves *key untouched and, if why is not
 * NULL, sets *why to a static string naming what was wrong.
 */
int slotlb_parse_endpoint(const char *s, struct slotlb_endpoint_key *key,
			  const char **why);

/* "ADDR:PORT[,weight=W]" (W 1..65535, default 1); errors as above. */
int slotlb_parse_backend(const char *s, struct slotlb_backend *be,
			 uint32_t *weight, const char **why);

/* "ADDR:PORT" and nothing else (a listen address, a client); IPv6 as
 * "[ADDR]:PORT". Errors as above. */
int slotlb_parse_addr_port(const char *s, __be32 addr[4], uint8_t *family,
			   __be16 *port, const char **why);

/*
 * Formatting back: "198.18.0.100:80/tcp", "[fd00::1]:80/udp",
 * "198.19.1.2:8080". Return 0, -ENOSPC if buf is too short, or -EINVAL
 * for an unknown family or protocol.
 */
int slotlb_format_endpoint(const struct slotlb_endpoint_key *key, char *buf,
			   size_t len);
int slotlb_format_backend(const struct slotlb_backend *be, char *buf,
			  size_t len);

/* Interface role as slotlbd stores it: "public", "backend" or "both"
 * (a one-armed balancer) to SLOTLB_ROLE_* bits; 0 if none of them. */
uint32_t slotlb_parse_role(const char *s);

/* Address only, "198.18.0.1" / "fd00::1"; returns as above. */
int slotlb_format_addr(const __be32 addr[4], uint8_t family, char *buf,
		       size_t len);

#endif /* SLOTLB_ADDR_H */
