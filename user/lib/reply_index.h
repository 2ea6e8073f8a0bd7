/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IPv4 reply index from userspace: adding and removing one flow's
 * word in the memory-mapped array (abi.h, struct slotlb_reply_bucket),
 * by the same rules as the program (bpf/flow.bpf.h reply_index_put and
 * reply_index_remove). The program may write the array at the same
 * time, so every word changes by compare-and-swap. Pure C with no
 * libbpf: the converter (upgrade_v1.c) adds words, the GC (flows_gc.c)
 * removes them, and a unit test fills an index as full as production
 * may run it.
 */
#ifndef SLOTLB_REPLY_INDEX_H
#define SLOTLB_REPLY_INDEX_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Put word (slotlb_reply_word) for reply hash into index (mask + 1
 * buckets of SLOTLB_REPLY_BUCKET_WORDS words): into the emptier of the
 * hash's two buckets, the first on a tie, or the other if that one
 * filled up meanwhile. Returns 0, -ENOSPC when both are full (the
 * index is unchanged), or -EINVAL for a word of 0 (an empty slot).
 */
int reply_index_add_word(uint64_t *index, uint32_t mask, uint64_t hash,
			 uint64_t word);

/* Take one copy of word out of the hash's two buckets, the first bucket
 * first. Returns whether one was there (never for a word of 0). */
bool reply_index_remove_word(uint64_t *index, uint32_t mask, uint64_t hash,
			     uint64_t word);

#endif /* SLOTLB_REPLY_INDEX_H */
