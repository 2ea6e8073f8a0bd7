/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events: every history entry is an event named by its action (deploy,
 * swap, rollback, drained, ...), delivered to the app's event hooks
 * that asked for it, by one thread of its own, so an operation never
 * waits for a receiver.
 *
 * events_emit() only queues the entry's id (a bounded queue; when it is
 * full the event is dropped and counted). The thread then reads the
 * entry and the hooks under the daemon lock, which the emitting
 * operation held until its commit or rollback: an entry that was rolled
 * back is not found and not sent. Each delivery is tried at once and
 * again after 1, 2, 4 and 8 s; a URL is POSTed the event as JSON (2xx
 * is delivered; 5 s per attempt), signed with HMAC-SHA256 of the body
 * when the hook has a secret; an executable gets it on stdin (exit 0 is
 * delivered; 10 s per attempt). Outcomes are counted per hook (hook
 * list) and in total (metrics).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "events.h"
#include "hook.h"

#define EVENTS_QUEUE 4096 /* history ids waiting to be read */
#define EVENTS_ATTEMPTS 5 /* at once, then after 1, 2, 4, 8 s */
#define EVENTS_URL_TIMEOUT_MS 5000
#define EVENTS_EXEC_TIMEOUT_MS 10000
#define EVENTS_MAX_PENDING 4096 /* deliveries waiting for a retry */

struct delivery {
	struct st_event_hook hook;
	char *body; /* the event, JSON text */
	char event[EVENT_NAME_LEN];
	char app[STATE_NAME_LEN];
	char slot[STATE_NAME_LEN];
	int64_t history_id;
	int attempt; /* attempts made */
	int64_t next_ms; /* monotonic */
};

struct events {
	struct daemon *d;
	pthread_mutex_t lock; /* queue and counters */
	pthread_cond_t wake;
	int64_t queue[EVENTS_QUEUE];
	size_t head, count;
	struct delivery *pending;
	size_t n_pending;
	pthread_t thread;
	bool stop;
	struct events_counts counts;
};

void events_emit(struct daemon *d, int64_t history_id)
{
	struct events *e = d->events;

	if (!e || !history_id)
		return;
	pthread_mutex_lock(&e->lock);
	if (e->count == EVENTS_QUEUE) {
		e->counts.dropped++;
	} else {
		e->queue[(e->head + e->count) % EVENTS_QUEUE] = history_id;
		e->count++;
		pthread_cond_signal(&e->wake);
	}
	pthread_mutex_unlock(&e->lock);
}

void events_counts(struct daemon *d, struct events_counts *c)
{
	struct events *e = d->events;

	memset(c, 0, sizeof(*c));
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	*c = e->counts;
	pthread_mutex_unlock(&e->lock);
}

static int event_bit(const char *action)
{
	int i;

	for (i = 0; event_names[i]; i++)
		if (!strcmp(event_names[i], action))
			return i;
	return -1;
}

/* The event as receivers get it. */
static char *event_body(const struct st_history *h)
{
	json_t *o, *deps = NULL;
	char *text;

	if (h->deployments)
		deps = json_loads(h->deployments, 0, NULL);
	o = json_pack("{s:s, s:I, s:I, s:s, s:s?, s:s?, s:s, s:s, s:s, s:o}",
		      "event", h->action, "id", (json_int_t)h->id, "time",
		      (json_int_t)h->time, "app", h->app, "slot",
		      h->slot[0] ? h->slot : NULL, "target_slot",
		      h->target_slot[0] ? h->target_slot : NULL, "trigger",
		      h->trigger, "outcome", h->outcome, "detail",
		      h->detail ? h->detail : "", "deployments",
		      deps ? deps : json_object());
	if (!o)
		return NULL;
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/* Read history_id and queue a delivery per hook that wants it. */
static void fan_out(struct events *e, int64_t history_id)
{
	struct daemon *d = e->d;
	struct st_event_hook *hooks = NULL;
	struct st_history h = {0};
	struct delivery *dl, *grown;
	struct st_app a;
	size_t n = 0, i;
	char *body = NULL;
	int bit;

	pthread_mutex_lock(&d->lock);
	if (state_history_get(d->st, history_id, &h))
		goto out; /* rolled back with its operation */
	bit = event_bit(h.action);
	if (bit < 0 || state_app_find(d->st, h.app, &a) ||
	    state_event_hooks(d->st, a.id, 1U << bit, &hooks, &n) || !n)
		goto out;
	body = event_body(&h);
	if (!body)
		goto out;
	pthread_mutex_lock(&e->lock);
	for (i = 0; i < n; i++) {
		if (e->n_pending >= EVENTS_MAX_PENDING) {
			e->counts.dropped++;
			continue;
		}
		grown = realloc(e->pending,
				(e->n_pending + 1) * sizeof(*e->pending));
		if (!grown) {
			e->counts.dropped++;
			continue;
		}
		e->pending = grown;
		dl = &e->pending[e->n_pending];
		memset(dl, 0, sizeof(*dl));
		dl->body = strdup(body);
		if (!dl->body) {
			e->counts.dropped++;
			continue;
		}
		dl->hook = hooks[i];
		dl->history_id = history_id;
		snprintf(dl->event, sizeof(dl->event), "%s", h.action);
		snprintf(dl->app, sizeof(dl->app), "%s", h.app);
		snprintf(dl->slot, sizeof(dl->slot), "%s", h.slot);
		dl->next_ms = mono_ms();
		e->n_pending++;
	}
	pthread_mutex_unlock(&e->lock);
out:
	pthread_mutex_unlock(&d->lock);
	state_history_clear(&h);
	free(hooks);
	free(body);
}

/* "sha256=<hex>" of body under secret. */
static void sign(const char *secret, const char *body, char *out, size_t len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	size_t off;

	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	     (const unsigned char *)body, strlen(body), mac, &n);
	off = (size_t)snprintf(out, len, "sha256=");
	for (i = 0; i < n && off + 2 < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%02x", mac[i]);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* POST the event; 0 if answered 2xx, else why in err. */
static int post(const struct delivery *dl, char *err, size_t len)
{
	char header[256], sig[160];
	struct curl_slist *hdrs = NULL;
	long status = 0;
	CURLcode rc;
	CURL *c;

	c = curl_easy_init();
	if (!c) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	snprintf(header, sizeof(header), "X-Slotlb-Event: %s", dl->event);
	hdrs = curl_slist_append(hdrs, header);
	snprintf(header, sizeof(header), "X-Slotlb-Delivery: %lld-%lld",
		 (long long)dl->hook.id, (long long)dl->history_id);
	hdrs = curl_slist_append(hdrs, header);
	if (dl->hook.secret[0]) {
		sign(dl->hook.secret, dl->body, sig, sizeof(sig));
		snprintf(header, sizeof(header), "X-Slotlb-Signature: %s", sig);
		hdrs = curl_slist_append(hdrs, header);
	}
	curl_easy_setopt(c, CURLOPT_URL, dl->hook.url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "slotlb-events/1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, dl->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)EVENTS_URL_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(err, len, "%s", curl_easy_strerror(rc));
		return -1;
	}
	if (status < 200 || status > 299) {
		snprintf(err, len, "HTTP status %ld", status);
		return -1;
	}
	return 0;
}

/* Run the executable with the event on stdin; 0 if it exited 0. */
static int run_exec(const struct delivery *dl, char *err, size_t len)
{
	struct hook_env env = {.app = dl->app,
			       .slot = dl->slot,
			       .deployment = 0,
			       .version = "",
			       .reason = dl->event};
	const char *const where[] = {"-"};
	struct hook_result res;
	int rc;

	rc = hook_run(dl->hook.exec, EVENTS_EXEC_TIMEOUT_MS, &env, where, 1,
		      dl->body, NULL, &res);
	if (rc == 0)
		return 0;
	snprintf(err, len, "%s", rc == 1 ? res.error : strerror(-rc));
	return -1;
}

/* One attempt; true if delivered. */
static bool attempt(struct events *e, struct delivery *dl)
{
	char err[160] = "";
	bool ok, gave_up;
	int rc;

	rc = dl->hook.url[0] ? post(dl, err, sizeof(err))
			     : run_exec(dl, err, sizeof(err));
	ok = rc == 0;
	dl->attempt++;
	gave_up = !ok && dl->attempt >= EVENTS_ATTEMPTS;
	pthread_mutex_lock(&e->d->lock);
	if (state_event_hook_note(e->d->st, dl->hook.id, ok, gave_up, err))
		log_debug("event hook %lld: counts: %s", (long long)dl->hook.id,
			  state_errmsg(e->d->st));
	pthread_mutex_unlock(&e->d->lock);
	pthread_mutex_lock(&e->lock);
	if (ok)
		e->counts.delivered++;
	else
		e->counts.attempts_failed++;
	if (gave_up)
		e->counts.failed++;
	pthread_mutex_unlock(&e->lock);
	if (!ok)
		log_msg("event %s of %s to hook %lld: attempt %d: %s%s",
			dl->event, dl->app, (long long)dl->hook.id, dl->attempt,
			err, gave_up ? "; given up" : "");
	return ok;
}

/* Wait on wake until mono_ms() reaches until (or a signal). */
static void wait_until(struct events *e, int64_t until)
{
	struct timespec ts;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = until - mono_ms();
	if (ms < 1)
		ms = 1;
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&e->wake, &e->lock, &ts);
}

static void *events_main(void *arg)
{
	struct events *e = arg;
	struct delivery dl;
	int64_t id, now, next;
	size_t i;
	bool ok;

	pthread_mutex_lock(&e->lock);
	while (!e->stop) {
		if (e->count) {
			id = e->queue[e->head];
			e->head = (e->head + 1) % EVENTS_QUEUE;
			e->count--;
			pthread_mutex_unlock(&e->lock);
			fan_out(e, id);
			pthread_mutex_lock(&e->lock);
			continue;
		}
		now = mono_ms();
		next = now + 1000;
		for (i = 0; i < e->n_pending; i++)
			if (e->pending[i].next_ms <= now)
				break;
		if (i == e->n_pending) {
			for (i = 0; i < e->n_pending; i++)
				if (e->pending[i].next_ms < next)
					next = e->pending[i].next_ms;
			wait_until(e, next);
			continue;
		}
		dl = e->pending[i];
		e->pending[i] = e->pending[--e->n_pending];
		pthread_mutex_unlock(&e->lock);
		ok = attempt(e, &dl);
		pthread_mutex_lock(&e->lock);
		if (ok || dl.attempt >= EVENTS_ATTEMPTS) {
			free(dl.body);
			continue;
		}
		/* again after 1, 2, 4, 8 s; the array has room: it held it */
		dl.next_ms = mono_ms() + (1000LL << (dl.attempt - 1));
		e->pending[e->n_pending++] = dl;
	}
	for (i = 0; i < e->n_pending; i++)
		free(e->pending[i].body);
	e->n_pending = 0;
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

int events_start(struct daemon *d)
{
	struct events *e = calloc(1, sizeof(*e));
	pthread_condattr_t ca;
	int err;

	if (!e)
		return -ENOMEM;
	e->d = d;
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->wake, &ca);
	pthread_condattr_destroy(&ca);
	err = pthread_create(&e->thread, NULL, events_main, e);
	if (err) {
		free(e);
		return -err;
	}
	d->events = e;
	return 0;
}

void events_stop(struct daemon *d)
{
	struct events *e = d->events;

	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	d->events = NULL;
	free(e->pending);
	free(e);
}
