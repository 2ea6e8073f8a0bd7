/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Warm-up: probes sent straight to every backend of a deployment before
 * it may take a slot's traffic. All backends are probed concurrently;
 * any backend that fails every attempt fails the warm-up, and the caller
 * leaves both slots untouched. Defaults follow Azure's swap warm-up.
 */
#ifndef SLOTLB_WARMUP_H
#define SLOTLB_WARMUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WARMUP_MAX_STATUSES 16
#define WARMUP_PATH_LEN 256
#define WARMUP_DEFAULT_TIMEOUT_MS 90000 /* Azure: 90 s per request */
#define WARMUP_DEFAULT_RETRIES 5 /* Azure: retried up to 5 times */

enum warmup_mode {
	WARMUP_HTTP = 0, /* GET path, status checked */
	WARMUP_TCP = 1, /* TCP connect succeeds */
};

struct warmup_policy {
	enum warmup_mode mode;
	char path[WARMUP_PATH_LEN]; /* "/" by default; must start with '/' */
	int statuses[WARMUP_MAX_STATUSES]; /* accepted; none = any status */
	size_t n_statuses;
	uint32_t timeout_ms; /* per attempt */
	uint32_t retries; /* attempts after the first */
	uint32_t retry_delay_ms; /* pause between attempts of one backend */
	uint32_t deadline_ms; /* whole warm-up; 0 = no overall bound */
};

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

void warmup_policy_default(struct warmup_policy *p);
/* "200,202" -> statuses; -EINVAL with *why on bad input. */
int warmup_parse_statuses(const char *s, struct warmup_policy *p,
			  const char **why);
/* Checks path, statuses (100..599), timeout (> 0). */
int warmup_policy_validate(const struct warmup_policy *p, const char **why);
bool warmup_status_accepted(const struct warmup_policy *p, int status);

/*
 * Probe every target concurrently. results[i] belongs to targets[i].
 * Returns 0 when every target warmed up, 1 when any failed, -errno when
 * the probes could not be run at all.
 */
int warmup_run(const struct warmup_policy *p,
	       const struct warmup_target *targets, size_t n,
	       struct warmup_result *results, warmup_progress_cb cb, void *ctx);

#endif /* SLOTLB_WARMUP_H */
