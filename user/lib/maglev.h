/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016, section 3.4) with
 * weights. Pure C with no libbpf, so it unit-tests without root, and it
 * hashes only the backends' identity bytes, so two slotlb nodes given the
 * same backends in the same order build the same table.
 */
#ifndef SLOTLB_MAGLEV_H
#define SLOTLB_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct maglev_backend {
	const void *id; /* stable identity, e.g. address+port bytes */
	size_t id_len; /* bytes at id */
	uint32_t weight; /* relative share; 0 = gets no entries */
};

/*
 * Fill table[0..size-1] with indexes into backends[]. size must be prime
 * and >= n. Deterministic: same input -> same table (no random seeds, no
 * pointer values hashed). Every backend's share of entries is its weight
 * share, give or take one entry. Returns 0, or -EINVAL (size not prime,
 * n == 0, n > size, all weights 0, NULL args), -ENOMEM.
 */
int maglev_build(const struct maglev_backend *backends, size_t n,
		 uint32_t *table, uint32_t size);

/* True if n is prime (0 and 1 are not). */
bool maglev_is_prime(uint32_t n);

#endif /* SLOTLB_MAGLEV_H */
