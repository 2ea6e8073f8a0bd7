/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Post-swap verification. A swap that asked for it (verify.for_ms) has
 * the app "verifying" from its commit on: once a second, for for_ms, a
 * thread of its own checks the deployment that went into the target
 * slot:
 *
 *   - its health: none of its backends down by the slot's health checks;
 *   - http: a GET of the path to the slot's first TCP endpoint, as any
 *     client sends it (it crosses the data path when the host reaches
 *     the endpoint over a public interface, as from a router), with an
 *     accepted status (default 200..399);
 *   - exec: the check exits 0 (run as a hook: SLOTLB_APP, SLOTLB_SLOT,
 *     SLOTLB_DEPLOYMENT, SLOTLB_VERSION, SLOTLB_BACKEND = the endpoint,
 *     SLOTLB_REASON=verify; 10 s at most);
 *   - ratios from the data path since the swap (struct
 *     slotlb_deployment_tcp), once VERIFY_MIN_HANDSHAKES handshakes were
 *     seen: backend resets / handshakes, and handshakes without a
 *     SYN-ACK one interval later / handshakes.
 *
 * A check failing twice in a row fails the verification: with
 * on_failure rollback the slot is rolled back (the old deployment is
 * still warm, and warm-up checks it again), recorded as "auto-rollback"
 * whose trigger names the failing check; a "verify" history entry holds
 * the check and its figures either way. If the slot's deployment changes
 * meanwhile (another swap, a deploy), the verification ends without a
 * verdict.
 */
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "health.h"
#include "hook.h"
#include "ops_int.h"
#include "verify.h"

/* Verification threads running (verify_stop waits for them). */
static atomic_int threads;

/* What runs now per app, for status (under d->lock). */
static struct verifying {
	bool on;
	char slot[STATE_NAME_LEN];
	uint32_t deployment_id;
	int64_t until_ms; /* wall clock */
	const void *job; /* the verify_job it shows: only that one clears it */
} running[SLOTLB_MAX_APPS];

struct verify_job {
	struct daemon *d;
	uint32_t app_id;
	char app[STATE_NAME_LEN];
	char slot[STATE_NAME_LEN];
	uint32_t slot_index;
	int64_t serial; /* the deployment verified */
	uint32_t dep_id;
	char version[SLOTLB_VERSION_LEN];
	char endpoint[SLOTLB_ENDPOINT_STRLEN]; /* "" if the slot has no TCP
						* endpoint */
	struct verify_policy p;
};

bool verify_status(struct daemon *d, uint32_t app_id, char *slot,
		   size_t slot_len, uint32_t *deployment_id, int64_t *until_ms)
{
	(void)d;
	if (app_id >= SLOTLB_MAX_APPS || !running[app_id].on)
		return false;
	snprintf(slot, slot_len, "%s", running[app_id].slot);
	*deployment_id = running[app_id].deployment_id;
	*until_ms = running[app_id].until_ms;
	return true;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

/* 0 passed, 1 failed (why says so). */
static int check_http(const struct verify_job *j, char *why, size_t len)
{
	char url[SLOTLB_ENDPOINT_STRLEN + WARMUP_PATH_LEN + 16];
	long status = 0;
	CURLcode rc;
	CURL *c;
	size_t i;

	if (!j->endpoint[0]) {
		snprintf(why, len, "http: the slot has no TCP endpoint");
		return 1;
	}
	snprintf(url, sizeof(url), "http://%s%s", j->endpoint, j->p.http_path);
	c = curl_easy_init();
	if (!c) {
		snprintf(why, len, "http: out of memory");
		return 1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(why, len, "http: GET %s: %s", url,
			 curl_easy_strerror(rc));
		return 1;
	}
	if (!j->p.n_statuses)
		return status >= 200 && status < 400
			       ? 0
			       : (snprintf(why, len, "http: GET %s: status %ld",
					   url, status),
				  1);
	for (i = 0; i < j->p.n_statuses; i++)
		if (j->p.statuses[i] == status)
			return 0;
	snprintf(why, len, "http: GET %s: status %ld", url, status);
	return 1;
}

static int check_exec(const struct verify_job *j, char *why, size_t len)
{
	const char *target[1] = {j->endpoint};
	struct hook_env env = {.app = j->app,
			       .slot = j->slot,
			       .deployment = j->dep_id,
			       .version = j->version,
			       .reason = "verify"};
	struct hook_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = hook_run(j->p.exec, 10000, &env, target, 1, "{}", NULL, &r);
	if (!rc)
		return 0;
	snprintf(why, len, "exec: %s: %s", j->p.exec,
		 rc > 0 ? r.error : strerror(-rc));
	if (r.stderr_tail[0])
		str_append(why, len, ": %.200s", r.stderr_tail);
	return 1;
}

static int check_health(struct daemon *d, const struct verify_job *j, char *why,
			size_t len)
{
	struct st_deployment dep;
	struct st_backend *bes = NULL;
	struct health_view v;
	char addr[SLOTLB_ENDPOINT_STRLEN];
	size_t n = 0, i;
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	if (state_deployment_get(d->st, j->serial, &dep, &bes, &n))
		n = 0;
	pthread_mutex_unlock(&d->lock);
	for (i = 0; i < n && !rc; i++) {
		if (!health_view(d, j->serial, bes[i].id, &v) || !v.down)
			continue;
		slotlb_format_backend(&bes[i].be, addr, sizeof(addr));
		snprintf(why, len, "health: backend %s down (%s)", addr,
			 v.error);
		rc = 1;
	}
	free(bes);
	return rc;
}

/* The ratios since the swap; prev: the handshakes one interval ago. */
static int check_ratios(struct daemon *d, const struct verify_job *j,
			const struct slotlb_deployment_tcp *base,
			uint64_t prev_handshakes, char *why, size_t len)
{
	struct slotlb_deployment_tcp now;
	uint64_t hs, resets, answered;
	double r;

	if (slotlb_deployment_tcp_read(d->lb, j->dep_id, &now))
		return 0;
	hs = now.handshakes - base->handshakes;
	resets = now.backend_resets - base->backend_resets;
	if (j->p.max_reset_ratio >= 0 && hs >= VERIFY_MIN_HANDSHAKES) {
		r = (double)resets / (double)hs;
		if (r > j->p.max_reset_ratio) {
			snprintf(why, len,
				 "reset ratio %.2f > %.2f (%llu backend resets "
				 "over %llu handshakes)",
				 r, j->p.max_reset_ratio,
				 (unsigned long long)resets,
				 (unsigned long long)hs);
			return 1;
		}
	}
	hs = prev_handshakes - base->handshakes;
	answered = now.synacks - base->synacks;
	if (j->p.max_handshake_failure_ratio >= 0 &&
	    hs >= VERIFY_MIN_HANDSHAKES) {
		r = answered >= hs ? 0 : (double)(hs - answered) / (double)hs;
		if (r > j->p.max_handshake_failure_ratio) {
			snprintf(why, len,
				 "handshake failure ratio %.2f > %.2f (%llu of "
				 "%llu handshakes without a SYN-ACK)",
				 r, j->p.max_handshake_failure_ratio,
				 (unsigned long long)(hs - answered),
				 (unsigned long long)hs);
			return 1;
		}
	}
	return 0;
}

/* Does the slot still hold the deployment? (under nothing) */
static bool still_there(struct daemon *d, const struct verify_job *j)
{
	struct st_slot s;
	bool yes;

	pthread_mutex_lock(&d->lock);
	yes = !state_slot_find(d->st, j->app_id, j->slot, &s) &&
	      s.deployment == j->serial;
	pthread_mutex_unlock(&d->lock);
	return yes;
}

static void finish(struct verify_job *j, const char *outcome,
		   const char *detail)
{
	struct daemon *d = j->d;

	pthread_mutex_lock(&d->lock);
	op_history(d, j->app, "verify", j->slot, NULL, "slotlbd verification",
		   outcome, detail, NULL, NULL);
	if (running[j->app_id].job == j)
		running[j->app_id].on = false;
	pthread_mutex_unlock(&d->lock);
	log_msg("verify %s/%s: %s: %s", j->app, j->slot, outcome, detail);
}

static void roll_back(struct verify_job *j, const char *why)
{
	struct swap_plan plan;
	struct op_result res = {0};
	char trigger[160];
	unsigned int waited = 0;
	int err;

	snprintf(trigger, sizeof(trigger), "slotlbd verification: %.130s", why);
	/* only the deployment that failed is rolled back, not one that took
	 * the slot since; another operation of the app (a deploy's hook, a
	 * pending preview) holds it: roll back once it is done, while the
	 * failed deployment is still in the slot */
	while ((err = ops_rollback_prepare(j->d, j->app, j->slot, NULL, trigger,
					   j->serial, &plan, &res)) == -EBUSY) {
		if (!waited++)
			log_msg("verify %s/%s: auto-rollback waits: %s", j->app,
				j->slot, res.error);
		mono_sleep_ms(VERIFY_INTERVAL_MS);
		if (atomic_load(&j->d->stopping) || !still_there(j->d, j))
			return;
		memset(&res, 0, sizeof(res));
	}
	if (err) {
		log_msg("Error: verify %s/%s: auto-rollback refused: %s",
			j->app, j->slot, res.error);
		return;
	}
	plan.action = "auto-rollback";
	if (ops_swap_execute(j->d, &plan, NULL, NULL, &res))
		log_msg("Error: verify %s/%s: auto-rollback failed: %s", j->app,
			j->slot, res.error);
}

static void *verify_main(void *arg)
{
	struct verify_job *j = arg;
	struct daemon *d = j->d;
	struct slotlb_deployment_tcp base = {0}, now;
	uint64_t prev_hs;
	int64_t start = mono_ms();
	uint32_t checks = 0, fails = 0;
	char why[512], detail[768];
	int failed;

	slotlb_deployment_tcp_read(d->lb, j->dep_id, &base);
	prev_hs = base.handshakes;
	/* a check failing once at the end of the window gets its second
	 * look before the verdict */
	while (!atomic_load(&d->stopping) &&
	       (mono_ms() - start < (int64_t)j->p.for_ms || fails == 1)) {
		mono_sleep_ms(VERIFY_INTERVAL_MS);
		if (atomic_load(&d->stopping))
			break;
		if (!still_there(d, j)) {
			finish(j, "cancelled",
			       "the slot's deployment changed during the "
			       "verification");
			goto out;
		}
		why[0] = 0;
		failed = check_health(d, j, why, sizeof(why));
		if (!failed && j->p.http_path[0])
			failed = check_http(j, why, sizeof(why));
		if (!failed && j->p.exec[0])
			failed = check_exec(j, why, sizeof(why));
		if (!failed)
			failed = check_ratios(d, j, &base, prev_hs, why,
					      sizeof(why));
		if (!slotlb_deployment_tcp_read(d->lb, j->dep_id, &now))
			prev_hs = now.handshakes;
		checks++;
		fails = failed ? fails + 1 : 0;
		if (fails < 2)
			continue;
		/* the checks take up to 10 s (an exec): the slot may hold
		 * another deployment by now, which they did not judge */
		if (!still_there(d, j)) {
			finish(j, "cancelled",
			       "the slot's deployment changed during the "
			       "verification");
			goto out;
		}
		snprintf(detail, sizeof(detail),
			 "deployment %u (%s) failed verification after %.1f s, "
			 "check %u: %s; %s",
			 j->dep_id, j->version, (mono_ms() - start) / 1000.0,
			 checks, why,
			 j->p.on_failure == VERIFY_ROLLBACK ? "rolling back"
							    : "alert only");
		finish(j, "failed", detail);
		if (j->p.on_failure == VERIFY_ROLLBACK)
			roll_back(j, why);
		goto out;
	}
	if (atomic_load(&d->stopping)) {
		pthread_mutex_lock(&d->lock);
		if (running[j->app_id].job == j)
			running[j->app_id].on = false;
		pthread_mutex_unlock(&d->lock);
		goto out;
	}
	snprintf(detail, sizeof(detail),
		 "deployment %u (%s) passed %u checks over %.1f s", j->dep_id,
		 j->version, checks, (mono_ms() - start) / 1000.0);
	finish(j, "ok", detail);
out:
	free(j);
	atomic_fetch_sub(&threads, 1);
	return NULL;
}

void verify_stop(struct daemon *d)
{
	int waited;

	(void)d;
	for (waited = 0; atomic_load(&threads) > 0 && waited < 30000;
	     waited += 50)
		mono_sleep_ms(50);
}

void verify_start(struct daemon *d, const struct swap_plan *plan)
{
	struct st_snapshot s = {0};
	struct verify_job *j;
	pthread_attr_t attr;
	pthread_t t;
	size_t i;

	if (!plan->verify.for_ms || plan->app_id >= SLOTLB_MAX_APPS)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->d = d;
	j->app_id = plan->app_id;
	snprintf(j->app, sizeof(j->app), "%s", plan->app);
	snprintf(j->slot, sizeof(j->slot), "%s", plan->target.name);
	j->slot_index = plan->target.index;
	j->serial = plan->incoming;
	j->dep_id = plan->incoming_id;
	j->p = plan->verify;
	if (!state_snapshot(d->st, plan->app_id, &s)) {
		const struct st_deployment *dep =
			st_snapshot_deployment(&s, j->serial);

		if (dep)
			snprintf(j->version, sizeof(j->version), "%s",
				 dep->version);
		for (i = 0; i < s.n_endpoints && !j->endpoint[0]; i++)
			if (s.endpoints[i].slot == j->slot_index &&
			    s.endpoints[i].key.proto == IPPROTO_TCP)
				slotlb_format_endpoint(&s.endpoints[i].key,
						       j->endpoint,
						       sizeof(j->endpoint));
		state_snapshot_free(&s);
	}
	/* "ADDR:PORT/tcp" -> "ADDR:PORT" for a URL */
	if (strstr(j->endpoint, "/tcp"))
		*strstr(j->endpoint, "/tcp") = 0;
	running[j->app_id].on = true;
	running[j->app_id].job = j;
	snprintf(running[j->app_id].slot, sizeof(running[j->app_id].slot), "%s",
		 j->slot);
	running[j->app_id].deployment_id = j->dep_id;
	running[j->app_id].until_ms = wall_ms() + j->p.for_ms;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	atomic_fetch_add(&threads, 1);
	if (pthread_create(&t, &attr, verify_main, j)) {
		atomic_fetch_sub(&threads, 1);
		running[j->app_id].on = false;
		free(j);
	}
	pthread_attr_destroy(&attr);
	log_msg("verify %s/%s: deployment %u for %.1f s", plan->app,
		plan->target.name, plan->incoming_id,
		plan->verify.for_ms / 1000.0);
}
