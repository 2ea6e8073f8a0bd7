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

/* Some fields of a policy, as a request gives them: the stored policy of
 * a slot with these laid over it is what one call uses. */
enum warmup_field {
	WF_MODE = 1 << 0,
	WF_PATH = 1 << 1,
	WF_STATUSES = 1 << 2,
	WF_TIMEOUT = 1 << 3,
	WF_RETRIES = 1 << 4,
	WF_DEADLINE = 1 << 5,
	WF_RETRY_DELAY = 1 << 6,
	WF_HOST = 1 << 7,
};

struct warmup_override {
	unsigned int fields; /* enum warmup_field bits given */
	struct warmup_policy p; /* their values */
};

/* base with o's fields laid over it. */
void warmup_policy_apply(struct warmup_policy *base,
			 const struct warmup_override *o);
/* "GET /healthz over http, statuses 200,202, 5 s per attempt, 3 retries
 * 1000 ms apart, no deadline" for people. */
void warmup_policy_text(const struct warmup_policy *p, char *buf, size_t len);

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
