/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * HTTP client of slotlbd over its Unix socket. Every failure is reported
 * here, once, in the daemon's own words when it gave any, so commands
 * only decide what to print on success.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "validate.h"

#define MAX_BODY (64 << 20) /* a status of thousands of apps fits */

const char *trigger_word = "cli";

/* Ctrl-C during a long request: once, the command's callback runs (it
 * may cancel what the request started); the next one ends the CLI. */
static volatile sig_atomic_t interrupted;
static void (*interrupt_cb)(void *ctx);
static void *interrupt_ctx;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

void api_on_interrupt(void (*cb)(void *ctx), void *ctx)
{
	struct sigaction sa = {.sa_handler = cb ? on_sigint : SIG_DFL,
			       .sa_flags = SA_RESETHAND};

	/* NULL: Ctrl-C ends the CLI again, as before the request */
	interrupt_cb = cb;
	interrupt_ctx = ctx;
	interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

/* libcurl calls this at least once a second while a request runs. */
static int check_interrupt(void *ud, curl_off_t a, curl_off_t b, curl_off_t c,
			   curl_off_t d)
{
	void (*cb)(void *) = interrupt_cb;

	(void)ud;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	if (interrupted && cb) {
		interrupt_cb = NULL; /* once */
		cb(interrupt_ctx);
	}
	return 0;
}

struct sink {
	char *buf;
	size_t len;
	bool stream; /* answer is NDJSON: hand each line to cb */
	bool checked; /* content type looked at */
	CURL *easy;
	event_cb cb;
	void *ctx;
	int cb_rc;
};

/* "cli", plus the CI system and pipeline when one runs us, for history. */
static void trigger_header(char *buf, size_t len)
{
	static const struct {
		const char *env, *system, *name_env;
	} ci[] = {
		{"GITHUB_ACTIONS", "github-actions", "GITHUB_WORKFLOW"},
		{"GITLAB_CI", "gitlab-ci", "CI_PROJECT_PATH"},
		{"TF_BUILD", "azure-pipelines", "BUILD_DEFINITIONNAME"},
		{"JENKINS_URL", "jenkins", "JOB_NAME"},
		{"BUILDKITE", "buildkite", "BUILDKITE_PIPELINE_SLUG"},
		{"CIRCLECI", "circleci", "CIRCLE_PROJECT_REPONAME"},
		{"TRAVIS", "travis", "TRAVIS_REPO_SLUG"},
		{"CI", "ci", NULL},
	};
	static const char hdr[] = "X-Slotlb-Trigger: ";
	const char *name;
	size_t i, off;

	off = (size_t)snprintf(buf, len, "%s%s", hdr, trigger_word);
	for (i = 0; i < sizeof(ci) / sizeof(ci[0]); i++) {
		const char *v = getenv(ci[i].env);

		if (!v || !*v || !strcmp(v, "false") || !strcmp(v, "0"))
			continue;
		name = ci[i].name_env ? getenv(ci[i].name_env) : NULL;
		snprintf(buf + off, len - off, " %s%s%s", ci[i].system,
			 name && *name ? ":" : "", name ? name : "");
		break;
	}
	/* the daemon's trigger rule: a header value must not carry line
	 * breaks from the environment, nor more than the history keeps */
	validate_trigger_clean(buf + sizeof(hdr) - 1);
}

static void feed_lines(struct sink *s)
{
	char *nl;

	while (!s->cb_rc && (nl = memchr(s->buf, '\n', s->len))) {
		size_t n = (size_t)(nl - s->buf) + 1;
		json_t *ev;

		*nl = '\0';
		ev = json_loads(s->buf, 0, NULL);
		if (ev) {
			s->cb_rc = s->cb(ev, s->ctx);
			json_decref(ev);
		}
		memmove(s->buf, s->buf + n, s->len - n);
		s->len -= n;
	}
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;
	char *b;

	if (s->cb && !s->checked) {
		char *ct = NULL;

		curl_easy_getinfo(s->easy, CURLINFO_CONTENT_TYPE, &ct);
		s->stream = ct && strstr(ct, "ndjson");
		s->checked = true;
	}
	if (s->len + n + 1 > MAX_BODY)
		return 0;
	b = realloc(s->buf, s->len + n + 1);
	if (!b)
		return 0;
	s->buf = b;
	memcpy(s->buf + s->len, ptr, n);
	s->len += n;
	s->buf[s->len] = '\0';
	if (s->stream)
		feed_lines(s);
	return n;
}

char *api_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = e ? strdup(e) : NULL;

	curl_free(e);
	return r;
}

static int request(const char *method, const char *path, json_t *body,
		   event_cb cb, void *ctx, struct api_reply *reply)
{
	struct curl_slist *hdrs = NULL;
	struct sink s = {.cb = cb, .ctx = ctx};
	char url[2048], trig[512], *payload = NULL;
	const char *msg;
	long os_errno = 0;
	CURLcode rc;
	CURL *e;
	int err = EXIT_DAEMON;

	reply->status = 0;
	reply->body = NULL;
	e = curl_easy_init();
	if (!e) {
		p_err("slotlb: cannot initialise libcurl");
		return EXIT_DAEMON;
	}
	s.easy = e;
	snprintf(url, sizeof(url), "http://slotlb%s", path);
	trigger_header(trig, sizeof(trig));
	hdrs = curl_slist_append(hdrs, trig);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
	if (interrupt_cb) {
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, check_interrupt);
	}
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		hdrs = curl_slist_append(hdrs,
					 "Content-Type: application/json");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply->status);
	if (rc == CURLE_COULDNT_CONNECT) {
		curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
		p_err("slotlbd: cannot connect to %s: %s", socket_path,
		      strerror(os_errno ? (int)os_errno : ECONNREFUSED));
		goto out;
	}
	if (cb && (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR ||
		   rc == CURLE_GOT_NOTHING)) {
		/* Cut short, e.g. the daemon died mid-swap: the outcome is
		 * unknown, which the caller, seeing no "done", says. */
		if (s.stream && s.len && !s.cb_rc) {
			s.buf[s.len++] = '\n';
			feed_lines(&s);
		}
		err = s.cb_rc;
		goto out;
	}
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && s.cb_rc)) {
		p_err("slotlbd: %s", curl_easy_strerror(rc));
		goto out;
	}
	if (s.stream) {
		/* A last line without its newline still counts. */
		if (s.len && !s.cb_rc) {
			s.buf[s.len++] = '\n';
			feed_lines(&s);
		}
		err = s.cb_rc;
		goto out;
	}
	if (s.len)
		reply->body = json_loads(s.buf, 0, NULL);
	if (reply->status >= 200 && reply->status < 300) {
		if (s.len && !reply->body) {
			p_err("slotlbd: answer is not JSON");
			goto out;
		}
		err = 0;
		goto out;
	}
	msg = jstr(reply->body, "error");
	if (msg)
		p_err("%s", msg);
	else
		p_err("slotlbd: HTTP status %ld", reply->status);
out:
	if (err && reply->body) {
		json_decref(reply->body);
		reply->body = NULL;
	}
	free(s.buf);
	free(payload);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
	return err;
}

int api_call(const char *method, const char *path, json_t *body,
	     struct api_reply *reply)
{
	return request(method, path, body, NULL, NULL, reply);
}

int api_stream(const char *path, json_t *body, event_cb cb, void *ctx,
	       struct api_reply *reply)
{
	return request("POST", path, body, cb, ctx, reply);
}
