/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Warm-up: probes sent straight to every backend of a deployment before
 * it may take a slot's traffic. All backends are probed concurrently;
 * any backend that fails every attempt fails the warm-up, and the caller
 * leaves both slots untouched. The policy, its defaults (Azure's swap
 * warm-up) and its rules are in user/lib/validate.h, shared with the CLI.
 */
#ifndef SLOTLB_WARMUP_H
#define SLOTLB_WARMUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"
#include "validate.h"

struct warmup_target {
	char address[64]; /* "198.19.1.2:8080" or "[fd00::2]:8080" */
};

struct warmup_result {
	bool ok; /* warmed up */
	uint32_t attempts; /* attempts made */
	int status; /* last HTTP status, 0 if none */
	uint32_t ms; /* time until the final attempt ended */
	char error[160]; /* why the last attempt failed, "" if ok */
};

/* Called from the warm-up thread after every attempt. */
typedef void (*warmup_progress_cb)(const struct warmup_target *target,
				   const struct warmup_result *so_far,
				   void *ctx);

bool warmup_status_accepted(const struct warmup_policy *p, int status);

/*
 * Probe every target concurrently. results[i] belongs to targets[i].
 * Returns 0 when every target warmed up, 1 when any failed, -ECANCELED
 * when cancel (may be NULL) was requested (attempts in flight are cut
 * at once, unfinished targets say "cancelled"), -errno when the probes
 * could not be run at all.
 */
int warmup_run(const struct warmup_policy *p,
	       const struct warmup_target *targets, size_t n,
	       struct warmup_result *results, warmup_progress_cb cb, void *ctx,
	       struct cancel *cancel);

#endif /* SLOTLB_WARMUP_H */
