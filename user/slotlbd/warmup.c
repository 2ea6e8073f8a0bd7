/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Warm-up probes over libcurl's multi interface: one thread drives every
 * backend's attempts at once, so N slow backends cost the time of the
 * slowest, not the sum. Each attempt opens a fresh connection because the
 * question is "does this backend accept and answer new clients", which a
 * reused connection would not ask.
 *
 * HTTPS probes do not verify the backend's certificate: a probe goes to
 * a backend address, not to the name a certificate is issued for, and
 * the question is whether the backend answers, not whom to trust. With
 * a host name the probe still connects to the backend's address, but
 * sends the name as Host (and as TLS server name), as the client of the
 * site would.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util.h"
#include "warmup.h"

/* Progress of one backend across its attempts. */
struct probe {
	const struct warmup_target *target;
	struct warmup_result *result;
	CURL *easy;
	char url[WARMUP_HOST_LEN + WARMUP_PATH_LEN + 32];
	struct curl_slist *connect_to; /* host name -> the backend */
	struct curl_slist *headers; /* Host: */
	uint64_t next_ms; /* when the next attempt may start */
	uint32_t attempt_timeout_ms; /* of the attempt in flight */
	bool running; /* an attempt is in the multi handle */
	bool done; /* ok, or out of attempts */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool warmup_status_accepted(const struct warmup_policy *p, int status)
{
	size_t i;

	if (p->n_statuses == 0)
		return status >= 100 && status <= 599;
	for (i = 0; i < p->n_statuses; i++) {
		if (p->statuses[i] == status)
			return true;
	}
	return false;
}

void warmup_policy_apply(struct warmup_policy *base,
			 const struct warmup_override *o)
{
	const struct warmup_policy *p = &o->p;

	if (o->fields & WF_MODE)
		base->mode = p->mode;
	if (o->fields & WF_PATH)
		memcpy(base->path, p->path, sizeof(base->path));
	if (o->fields & WF_STATUSES) {
		memcpy(base->statuses, p->statuses, sizeof(base->statuses));
		base->n_statuses = p->n_statuses;
	}
	if (o->fields & WF_TIMEOUT)
		base->timeout_ms = p->timeout_ms;
	if (o->fields & WF_RETRIES)
		base->retries = p->retries;
	if (o->fields & WF_DEADLINE)
		base->deadline_ms = p->deadline_ms;
	if (o->fields & WF_RETRY_DELAY)
		base->retry_delay_ms = p->retry_delay_ms;
	if (o->fields & WF_HOST)
		memcpy(base->host, p->host, sizeof(base->host));
}

static void format_statuses(const struct warmup_policy *p, char *buf,
			    size_t len);

void warmup_policy_text(const struct warmup_policy *p, char *buf, size_t len)
{
	char list[WARMUP_MAX_STATUSES * 4 + 1];

	format_statuses(p, list, sizeof(list));
	buf[0] = 0;
	if (p->mode == WARMUP_TCP)
		str_append(buf, len, "TCP connect");
	else
		str_append(buf, len, "GET %s over %s%s%s, %s%s", p->path,
			   warmup_mode_name(p->mode), p->host[0] ? " as " : "",
			   p->host, p->n_statuses ? "statuses " : "any status",
			   list);
	str_append(buf, len, ", %g s per attempt, %u retries %u ms apart, ",
		   p->timeout_ms / 1000.0, p->retries, p->retry_delay_ms);
	if (p->deadline_ms)
		str_append(buf, len, "deadline %g s", p->deadline_ms / 1000.0);
	else
		str_append(buf, len, "no deadline");
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

static void format_statuses(const struct warmup_policy *p, char *buf,
			    size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < p->n_statuses && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%d", i ? "," : "",
				 p->statuses[i]);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* Lower-case "Connection refused" so it reads inside a sentence. */
static void set_errno_error(struct warmup_result *r, long os_errno,
			    const char *fallback)
{
	const char *s = os_errno ? strerror((int)os_errno) : fallback;

	snprintf(r->error, sizeof(r->error), "%s", s);
	r->error[0] = (char)tolower((unsigned char)r->error[0]);
}

/* Records the outcome of the attempt that just ended in pr->result. */
static void judge_attempt(const struct warmup_policy *p, struct probe *pr,
			  CURLcode rc, bool deadline_cut)
{
	struct warmup_result *r = pr->result;
	long os_errno = 0, status = 0;
	char list[WARMUP_MAX_STATUSES * 4 + 1];

	r->ok = false;
	r->status = 0;
	r->error[0] = '\0';
	curl_easy_getinfo(pr->easy, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_getinfo(pr->easy, CURLINFO_RESPONSE_CODE, &status);

	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_OPERATION_TIMEDOUT:
		if (deadline_cut)
			snprintf(r->error, sizeof(r->error),
				 "deadline of %u ms reached", p->deadline_ms);
		else
			snprintf(r->error, sizeof(r->error),
				 "timed out after %u ms",
				 pr->attempt_timeout_ms);
		return;
	case CURLE_COULDNT_CONNECT:
		set_errno_error(r, os_errno, "connection failed");
		return;
	case CURLE_GOT_NOTHING:
		snprintf(r->error, sizeof(r->error),
			 "connection closed without a response");
		return;
	default:
		set_errno_error(r,
				rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR
					? os_errno
					: 0,
				curl_easy_strerror(rc));
		return;
	}

	if (p->mode == WARMUP_TCP) {
		r->ok = true;
		return;
	}
	r->status = (int)status;
	if (warmup_status_accepted(p, (int)status)) {
		r->ok = true;
		return;
	}
	format_statuses(p, list, sizeof(list));
	if (p->n_statuses)
		snprintf(r->error, sizeof(r->error), "status %ld not in %s",
			 status, list);
	else
		snprintf(r->error, sizeof(r->error), "invalid status %ld",
			 status);
}

/* URL, and with a host name the redirection of that name to the backend
 * address and the Host header. */
static int setup_target(const struct warmup_policy *p, struct probe *pr)
{
	const char *scheme = p->mode == WARMUP_HTTPS ? "https" : "http";
	const char *path = p->mode == WARMUP_TCP ? "/" : p->path;
	const char *addr = pr->target->address, *port = strrchr(addr, ':');
	char buf[WARMUP_HOST_LEN + 2 * sizeof(pr->target->address) + 8];

	if (!p->host[0] || p->mode == WARMUP_TCP) {
		snprintf(pr->url, sizeof(pr->url), "%s://%s%s", scheme, addr,
			 path);
		return 0;
	}
	if (!port)
		return -EINVAL;
	snprintf(pr->url, sizeof(pr->url), "%s://%s%s%s", scheme, p->host, port,
		 path);
	/* HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT */
	snprintf(buf, sizeof(buf), "%s%s:%s", p->host, port, addr);
	pr->connect_to = curl_slist_append(NULL, buf);
	snprintf(buf, sizeof(buf), "Host: %s", p->host);
	pr->headers = curl_slist_append(NULL, buf);
	if (!pr->connect_to || !pr->headers)
		return -ENOMEM;
	curl_easy_setopt(pr->easy, CURLOPT_CONNECT_TO, pr->connect_to);
	curl_easy_setopt(pr->easy, CURLOPT_HTTPHEADER, pr->headers);
	return 0;
}

static int setup_easy(const struct warmup_policy *p, struct probe *pr)
{
	CURL *e;
	int err;

	e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	pr->easy = e;
	err = setup_target(p, pr);
	if (err)
		return err;
	curl_easy_setopt(e, CURLOPT_URL, pr->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, pr);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* A probe goes straight to the backend, never through a proxy
	 * from the daemon's environment. */
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (p->mode == WARMUP_HTTPS) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	/* A redirect is the backend's answer, not a place to go. */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "slotlb-warmup/1");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
	if (p->mode == WARMUP_TCP)
		curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	return 0;
}

/* Starts the next attempt of pr now, bounded by the overall deadline. */
static int start_attempt(const struct warmup_policy *p, CURLM *multi,
			 struct probe *pr, uint64_t now, uint64_t deadline)
{
	uint32_t t = p->timeout_ms;

	/* A timeout of 0 would mean none to curl, so a late retry still
	 * gets 1 ms and fails as cut by the deadline. */
	if (deadline && now >= deadline)
		t = 1;
	else if (deadline && deadline - now < t)
		t = (uint32_t)(deadline - now);
	pr->attempt_timeout_ms = t;
	curl_easy_setopt(pr->easy, CURLOPT_TIMEOUT_MS, (long)t);
	curl_easy_setopt(pr->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)t);
	pr->result->attempts++;
	pr->running = true;
	if (curl_multi_add_handle(multi, pr->easy) != CURLM_OK)
		return -ENOMEM;
	return 0;
}

static void finish_attempt(const struct warmup_policy *p, struct probe *pr,
			   CURLcode rc, uint64_t start, uint64_t deadline,
			   warmup_progress_cb cb, void *ctx)
{
	uint64_t now = (uint64_t)mono_ms();
	/* Only the deadline shortens an attempt below the policy's timeout. */
	bool cut = pr->attempt_timeout_ms < p->timeout_ms;

	pr->running = false;
	judge_attempt(p, pr, rc, cut);
	pr->result->ms = (uint32_t)(now - start);
	if (pr->result->ok || pr->result->attempts > p->retries ||
	    (deadline && now + p->retry_delay_ms >= deadline))
		pr->done = true;
	else
		pr->next_ms = now + p->retry_delay_ms;
	if (cb)
		cb(pr->target, pr->result, ctx);
}

/* Starts the attempts that are due. */
static int start_due(const struct warmup_policy *p, CURLM *multi,
		     struct probe *probes, size_t n, uint64_t deadline)
{
	uint64_t now = (uint64_t)mono_ms();
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		struct probe *pr = &probes[i];

		if (pr->done || pr->running || pr->next_ms > now)
			continue;
		err = start_attempt(p, multi, pr, now, deadline);
		if (err)
			return err;
	}
	return 0;
}

/* Milliseconds until the next retry is due, capped at cap. */
static int next_due(const struct probe *probes, size_t n, int cap)
{
	uint64_t now = (uint64_t)mono_ms();
	int wait = cap;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct probe *pr = &probes[i];

		if (pr->done || pr->running)
			continue;
		if (pr->next_ms <= now)
			return 0;
		if (pr->next_ms - now < (uint64_t)wait)
			wait = (int)(pr->next_ms - now);
	}
	return wait;
}

static void wake_multi(void *multi)
{
	curl_multi_wakeup(multi);
}

/* Targets not done yet end as cancelled. */
static void mark_cancelled(struct probe *probes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (probes[i].done)
			continue;
		probes[i].result->ok = false;
		snprintf(probes[i].result->error,
			 sizeof(probes[i].result->error), "cancelled");
	}
}

int warmup_run(const struct warmup_policy *p,
	       const struct warmup_target *targets, size_t n,
	       struct warmup_result *results, warmup_progress_cb cb, void *ctx,
	       struct cancel *cancel)
{
	struct probe *probes = NULL;
	CURLM *multi = NULL;
	uint64_t start, deadline;
	size_t i, left = n;
	int err = 0;

	if (validate_warmup_policy(p, NULL))
		return -EINVAL;
	if (n == 0)
		return 0;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return -ENOMEM;

	memset(results, 0, n * sizeof(*results));
	probes = calloc(n, sizeof(*probes));
	multi = curl_multi_init();
	if (!probes || !multi) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		probes[i].target = &targets[i];
		probes[i].result = &results[i];
		err = setup_easy(p, &probes[i]);
		if (err)
			goto out;
	}

	/* a cancel request wakes the poll below at once */
	cancel_set_wake(cancel, wake_multi, multi);
	/* monotonic: a wall clock jump neither cuts the warm-up short nor
	 * stretches it */
	start = (uint64_t)mono_ms();
	deadline = p->deadline_ms ? start + p->deadline_ms : 0;
	while (left) {
		int running, queued;
		CURLMsg *msg;

		if (cancel_requested(cancel)) {
			mark_cancelled(probes, n);
			err = -ECANCELED;
			goto out;
		}
		err = start_due(p, multi, probes, n, deadline);
		if (err)
			goto out;
		if (curl_multi_perform(multi, &running) != CURLM_OK) {
			err = -EIO;
			goto out;
		}
		while ((msg = curl_multi_info_read(multi, &queued))) {
			struct probe *pr;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&pr);
			curl_multi_remove_handle(multi, pr->easy);
			finish_attempt(p, pr, msg->data.result, start, deadline,
				       cb, ctx);
			if (pr->done)
				left--;
		}
		if (!left)
			break;
		/* Wake for socket activity, curl's own timers, or the next
		 * retry that is due, whichever comes first. */
		if (curl_multi_poll(multi, NULL, 0, next_due(probes, n, 1000),
				    NULL) != CURLM_OK) {
			err = -EIO;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (!results[i].ok) {
			err = 1;
			break;
		}
	}
out:
	cancel_set_wake(cancel, NULL, NULL);
	for (i = 0; probes && i < n; i++) {
		curl_slist_free_all(probes[i].connect_to);
		curl_slist_free_all(probes[i].headers);
		if (!probes[i].easy)
			continue;
		/* removing an attempt in flight closes its connection */
		if (probes[i].running)
			curl_multi_remove_handle(multi, probes[i].easy);
		curl_easy_cleanup(probes[i].easy);
	}
	if (multi)
		curl_multi_cleanup(multi);
	free(probes);
	return err;
}
