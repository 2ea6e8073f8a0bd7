/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Small system helpers the benchmarks share (bench_xdp, scale, pktgen):
 * an interface's MAC, pinning to one CPU, and removing a pin root. Each
 * returns 0/-errno and never prints; the caller names what failed.
 */
#ifndef SLOTLB_BENCH_UTIL_H
#define SLOTLB_BENCH_UTIL_H

#include <stdint.h>

/* The hardware address of interface `name` in this namespace. */
int bench_if_mac(const char *name, uint8_t mac[6]);

/* Run this thread on `cpu` only, so test runs never migrate mid-block
 * and per-CPU maps are those of one CPU. */
int bench_pin_cpu(int cpu);

/* Remove a pin root and what is pinned directly in it (maps, programs),
 * nothing else; a missing root is not an error. */
void bench_unpin_all(const char *root);

#endif /* SLOTLB_BENCH_UTIL_H */
