/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The apply-settings hook: slotlb does not run the app, so where Azure
 * applies settings to an instance and restarts it, slotlbd runs the
 * slot's hook once per backend and waits for it. Each run gets the
 * effective settings as a JSON object on stdin and says where it runs in
 * its environment:
 *
 *   SLOTLB_APP, SLOTLB_SLOT      the app and the slot whose settings these are
 *   SLOTLB_DEPLOYMENT            the deployment's id (as status shows it)
 *   SLOTLB_VERSION               its version label
 *   SLOTLB_BACKEND               "ADDR:PORT" of the backend to configure
 *   SLOTLB_REASON                deploy, swap, preview, reset, rollback,
 *                                settings, or revert (putting back what
 *                                was there after a failure)
 *   PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
 *
 * and nothing else of the daemon's environment. Exit 0 means applied.
 * The runs of one call go concurrently, each in a process group of its
 * own, killed (SIGKILL) at the timeout or on cancel; their stdout is
 * discarded, the tail of stderr kept for the history.
 */
#ifndef SLOTLBD_HOOK_H
#define SLOTLBD_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

/* Bytes of a failing run's stderr kept, from its end. */
#define HOOK_STDERR_TAIL 1024

struct hook_env {
	const char *app;
	const char *slot;
	uint32_t deployment;
	const char *version;
	const char *reason;
};

struct hook_result {
	size_t failed; /* index of the first backend that failed */
	int exit_status; /* its exit status; -1 if it did not exit */
	uint32_t ms; /* until the last run ended */
	char error[160]; /* "exit status 3", "killed by signal 9", "timed
			  * out after 30000 ms", "cannot run: ..." */
	char stderr_tail[HOOK_STDERR_TAIL + 1]; /* of the failed run */
};

/*
 * Run exec once per backend (backends[i] is "ADDR:PORT") with settings
 * (JSON text) on stdin. Returns 0 when every run exited 0, 1 when one
 * did not (res says which and why), -ECANCELED when cancel was requested
 * (every run killed), or -errno when nothing could be started.
 */
int hook_run(const char *exec, uint32_t timeout_ms, const struct hook_env *env,
	     const char *const *backends, size_t n, const char *settings,
	     struct cancel *cancel, struct hook_result *res);

#endif /* SLOTLBD_HOOK_H */
