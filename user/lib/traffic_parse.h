/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Traffic routing as operators type it: a distribution
 * "staging=10,qa=2.5" (percent of a slot's new clients per target slot,
 * to 0.01%), one share "2.5", and audience prefixes "10.0.0.0/8",
 * "2001:db8::/32". One parser for the CLI and the daemon, so both refuse
 * the same input with the same words.
 *
 * Every parser returns 0 or -EINVAL and, on error, writes into why (if
 * not NULL) a sentence saying what is wrong, fit to follow
 * "Error: <object>: "; the output is untouched on error. Slot names are
 * taken as given: whether they name slots of the app, and not the slot
 * itself, is the caller's to check.
 */
#ifndef SLOTLB_TRAFFIC_PARSE_H
#define SLOTLB_TRAFFIC_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <slotlb/abi.h>

/* Room for any message of these parsers, NUL included. */
#define SLOTLB_TRAFFIC_WHY_LEN 192
/* Longest slot name plus NUL (as slotlbd's names). */
#define SLOTLB_TRAFFIC_SLOT_LEN 64
/* Longest share as formatted ("100", "2.5", "0.01"), NUL included. */
#define SLOTLB_SHARE_STRLEN 8
/* Longest prefix as formatted, NUL included. */
#define SLOTLB_PREFIX_STRLEN 50

/* A parsed distribution, targets in the order given. */
struct slotlb_distribution {
	size_t n; /* targets */
	struct {
		char slot[SLOTLB_TRAFFIC_SLOT_LEN]; /* slot name */
		uint16_t share; /* basis points */
	} target[SLOTLB_MAX_SPLITS];
	uint32_t total; /* sum of the shares, <= SLOTLB_SHARE_SCALE */
};

/*
 * "SLOT=PERCENT[,SLOT=PERCENT...]": at most SLOTLB_MAX_SPLITS targets,
 * each named once, shares as slotlb_parse_share(), total <= 100%.
 * Messages name the entry at fault ("qa=abc: ...").
 */
int slotlb_parse_distribution(const char *s, struct slotlb_distribution *d,
			      char *why, size_t why_len);

/* "10", "2.5", "0.01", "100": percent with up to two decimals, 0..100,
 * into basis points. */
int slotlb_parse_share(const char *s, uint16_t *share, char *why,
		       size_t why_len);
/* Basis points back to percent: 1000 -> "10", 250 -> "2.5", 1 -> "0.01".
 * Accepts up to 4294967295 (a total); -ENOSPC if buf is too short. */
int slotlb_format_share(uint32_t share, char *buf, size_t len);

/*
 * "ADDR/LEN", IPv4 (LEN 0..32) or IPv6 (LEN 0..128, no brackets, no
 * zone). Refused: host bits set (the message shows them and the prefix
 * meant), a missing length, IPv4-mapped IPv6 prefixes (IPv4 clients are
 * matched by IPv4 prefixes). from_slot and to_slot are left zero.
 */
int slotlb_parse_prefix(const char *s, struct slotlb_prefix *p, char *why,
			size_t why_len);
/* "10.0.0.0/8", "2001:db8::/32"; -EINVAL for a bad family, -ENOSPC if
 * buf is too short. */
int slotlb_format_prefix(const struct slotlb_prefix *p, char *buf, size_t len);

/* A list of prefixes (one audience): each as slotlb_parse_prefix(), at
 * most SLOTLB_MAX_AUDIENCE, none twice. out needs n entries. Messages
 * name the prefix at fault. */
int slotlb_parse_prefixes(const char *const *list, size_t n,
			  struct slotlb_prefix *out, char *why, size_t why_len);

#endif /* SLOTLB_TRAFFIC_PARSE_H */
