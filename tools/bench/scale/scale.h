/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The scale benchmark (tools/bench/scale): the helpers its two halves
 * share (scale.c: flow table at 1M flows; scale_ctl.c: Maglev build and
 * swap latency). Its private lab and frames are bench_xdp's
 * (tools/bench/bench_lab.h).
 */
#ifndef SLOTLB_BENCH_SCALE_H
#define SLOTLB_BENCH_SCALE_H

#include <stdint.h>

struct slotlb;

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
