/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Auto swap: a slot configured with a target (ops_config.c) has every
 * successful deploy into it warmed up and swapped into the target,
 * after the configured delay, with the target's stored warm-up policy
 * and the settings hooks of a swap. It runs in a thread of its own (or
 * in the request of `deploy --wait`, which streams its outcome), as a
 * swap whose history action is "auto-swap": a failure leaves the target
 * untouched and is recorded like any failed swap.
 *
 * A deploy that a newer one replaced before its auto swap started is
 * not swapped (the newer deploy brings its own auto swap). An auto swap
 * waiting for its delay is forgotten if slotlbd stops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ops_int.h"

int ops_auto_swap_prepare(struct daemon *d, const struct auto_swap_job *j,
			  struct swap_plan *plan, struct op_result *res)
{
	struct swap_request rq = {
		.app = j->app,
		.action = SWAP_ACTION_FULL,
		.slot = j->slot,
		.target_slot = j->target,
		.trigger = j->trigger,
		.history_action = "auto-swap",
		.only_if_source = j->deployment,
	};
	int err;

	err = ops_swap_prepare(d, &rq, plan, res);
	if (err == -ESTALE) {
		log_msg("auto-swap %s/%s: %s: not swapped", j->app, j->slot,
			res->error);
		return err;
	}
	if (err) {
		/* refused before it started (busy, a pending preview, ...):
		 * a failed auto swap all the same */
		pthread_mutex_lock(&d->lock);
		op_history(d, j->app, "auto-swap", j->slot, j->target,
			   j->trigger, "failed", res->error, NULL,
			   &res->history_id);
		pthread_mutex_unlock(&d->lock);
		log_msg("auto-swap %s/%s -> %s: %s", j->app, j->slot, j->target,
			res->error);
	}
	return err;
}

/* Sleep out the delay; false if the daemon stops meanwhile. */
static bool wait_delay(struct daemon *d, uint32_t delay_ms)
{
	int64_t until = mono_ms() + delay_ms, left;

	while ((left = until - mono_ms()) > 0) {
		if (atomic_load(&d->stopping))
			return false;
		mono_sleep_ms(left < 200 ? (uint32_t)left : 200);
	}
	return !atomic_load(&d->stopping);
}

int ops_auto_swap_run(struct daemon *d, const struct auto_swap_job *j,
		      warmup_progress_cb cb, void *ctx, struct op_result *res)
{
	struct swap_plan plan;
	int err;

	if (!wait_delay(d, j->delay_ms)) {
		op_fail(res, 503, "%s/%s: auto swap: slotlbd is stopping",
			j->app, j->slot);
		return -ESHUTDOWN;
	}
	err = ops_auto_swap_prepare(d, j, &plan, res);
	if (err)
		return err;
	return ops_swap_execute(d, &plan, cb, ctx, res);
}

static void *auto_swap_thread(void *arg)
{
	struct auto_swap_job *j = arg;
	struct op_result res = {0};

	ops_auto_swap_run(j->d, j, NULL, NULL, &res);
	free(j);
	return NULL;
}

void ops_auto_swap_start(struct daemon *d, const struct auto_swap_job *j)
{
	struct auto_swap_job *copy = malloc(sizeof(*copy));
	pthread_t tid;

	if (!copy) {
		log_msg("Error: auto-swap %s/%s: out of memory", j->app,
			j->slot);
		return;
	}
	*copy = *j;
	copy->d = d;
	if (pthread_create(&tid, NULL, auto_swap_thread, copy)) {
		log_msg("Error: auto-swap %s/%s: cannot start a thread", j->app,
			j->slot);
		free(copy);
		return;
	}
	pthread_detach(tid);
	log_msg("auto-swap %s/%s -> %s in %u ms", j->app, j->slot, j->target,
		j->delay_ms);
}
