/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * HTTP/1.1 response parser and judge for the load client. Strict on
 * purpose: a zero-downtime test must not pass because the client forgave a
 * short or unlabelled answer, so anything not clearly a complete, labelled
 * response is a failure with a named reason.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "response.h"

static const char *const reason_names[LC_REASON_COUNT] = {
	[LC_OK] = "ok",
	[LC_FAIL_STATUS] = "status",
	[LC_FAIL_TRUNCATED] = "truncated",
	[LC_FAIL_TIMEOUT] = "timeout",
	[LC_FAIL_WRONG_VERSION] = "wrong_version",
	[LC_FAIL_PARSE] = "parse",
};

const char *lc_reason_name(enum lc_reason reason)
{
	if ((unsigned int)reason >= LC_REASON_COUNT)
		return "unknown";
	return reason_names[reason];
}

bool lc_label_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= LC_LABEL_MAX)
		return false;
	/* The label goes verbatim into JSON and CSV: keep it inert there. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == ',')
			return false;
	}
	return true;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* Parse a decimal Content-Length; -1 when it is not one. */
static long long parse_length(const char *s, const char *e)
{
	long long v = 0;

	if (s == e)
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > LC_BODY_MAX)
			return -1;
	}
	return v;
}

static int parse_status_line(const char *s, const char *e,
			     struct lc_response *r)
{
	int i;

	if (e - s < 12 || strncmp(s, "HTTP/1.", 7) != 0 ||
	    (s[7] != '0' && s[7] != '1') || s[8] != ' ')
		return -EBADMSG;
	r->status = 0;
	for (i = 9; i < 12; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		r->status = r->status * 10 + (s[i] - '0');
	}
	if (e - s > 12 && s[12] != ' ')
		return -EBADMSG;
	r->http10 = s[7] == '0';
	return 0;
}

static bool name_is(const char *s, const char *colon, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(colon - s) == n && strncasecmp(s, name, n) == 0;
}

static int parse_header(const char *s, const char *e, struct lc_response *r)
{
	const char *colon = memchr(s, ':', e - s);
	const char *v, *ve;
	long long cl;

	if (!colon || colon == s)
		return -EBADMSG;
	v = colon + 1;
	ve = e;
	trim(&v, &ve);
	if (name_is(s, colon, "Content-Length")) {
		cl = parse_length(v, ve);
		/* Two different lengths is a smuggling-grade ambiguity. */
		if (cl < 0 ||
		    (r->content_length >= 0 && r->content_length != cl))
			return -EBADMSG;
		r->content_length = cl;
	} else if (name_is(s, colon, "Transfer-Encoding")) {
		r->chunked = true;
	} else if (name_is(s, colon, "Connection")) {
		if (ve - v == 5 && strncasecmp(v, "close", 5) == 0)
			r->conn_close = true;
		else if (ve - v == 10 && strncasecmp(v, "keep-alive", 10) == 0)
			r->keep_alive = true;
	} else if (name_is(s, colon, "X-Slotlb-Version")) {
		if (!lc_label_valid(v, ve - v))
			return -EBADMSG;
		memcpy(r->label, v, ve - v);
		r->label[ve - v] = '\0';
	}
	return 0;
}

/* Parse the head; 0 and r->head_len set, -EAGAIN or -EBADMSG. */
static int parse_head(const char *buf, size_t len, struct lc_response *r)
{
	const char *p = buf, *end = buf + len, *nl, *le;
	bool first = true;
	int err;

	for (;;) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			return len > LC_HEAD_MAX ? -EBADMSG : -EAGAIN;
		if ((size_t)(nl + 1 - buf) > LC_HEAD_MAX)
			return -EBADMSG;
		le = nl;
		if (le > p && le[-1] == '\r')
			le--;
		if (first) {
			err = parse_status_line(p, le, r);
			first = false;
		} else if (le == p) {
			r->head_len = nl + 1 - buf;
			/* HTTP/1.0 closes unless it says otherwise. */
			if (r->http10 && !r->keep_alive)
				r->conn_close = true;
			return 0;
		} else {
			err = parse_header(p, le, r);
		}
		if (err)
			return err;
		p = nl + 1;
	}
}

/* The lab body is "LABEL ADDR:PORT\n"; remember LABEL when it is that. */
static void parse_body_label(const char *body, size_t len,
			     struct lc_response *r)
{
	const char *sp = memchr(body, ' ', len);

	if (!sp || !memchr(sp, '\n', body + len - sp))
		return;
	if (!lc_label_valid(body, sp - body))
		return;
	memcpy(r->body_label, body, sp - body);
	r->body_label[sp - body] = '\0';
}

int lc_response_parse(const char *buf, size_t len, bool eof,
		      struct lc_response *r)
{
	size_t body_len;
	int err;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	err = parse_head(buf, len, r);
	if (err == -EAGAIN && eof)
		err = -EPIPE;
	if (err)
		goto out;
	/* Chunked or unframed bodies are out of scope: fail them loudly. */
	if (r->chunked || r->content_length < 0) {
		err = -EBADMSG;
		goto out;
	}
	body_len = (size_t)r->content_length;
	if (len - r->head_len < body_len) {
		err = eof ? -EPIPE : -EAGAIN;
		goto out;
	}
	r->consumed = r->head_len + body_len;
	parse_body_label(buf + r->head_len, body_len, r);
out:
	return err;
}

const char *lc_response_version(const struct lc_response *r)
{
	return r->label[0] ? r->label : r->body_label;
}

enum lc_reason lc_response_judge(const struct lc_response *r, int expect_status,
				 const struct lc_labels *expect)
{
	const char *version = lc_response_version(r);

	if (r->status != expect_status)
		return LC_FAIL_STATUS;
	if (!version[0])
		return LC_FAIL_PARSE;
	/* Header and body disagreeing means a broken server, not a version. */
	if (r->label[0] && r->body_label[0] &&
	    strcmp(r->label, r->body_label) != 0)
		return LC_FAIL_PARSE;
	if (expect && expect->count > 0 && lc_labels_find(expect, version) < 0)
		return LC_FAIL_WRONG_VERSION;
	return LC_OK;
}

int lc_labels_find(const struct lc_labels *set, const char *label)
{
	int i;

	for (i = 0; i < set->count; i++)
		if (strcmp(set->name[i], label) == 0)
			return i;
	return -1;
}

int lc_labels_parse(const char *list, struct lc_labels *out)
{
	const char *p = list, *comma;
	size_t n;
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (!lc_label_valid(p, n)) {
			err = -EINVAL;
			goto out;
		}
		if (out->count == LC_VERSIONS_MAX) {
			err = -E2BIG;
			goto out;
		}
		memcpy(out->name[out->count], p, n);
		out->name[out->count][n] = '\0';
		if (lc_labels_find(out, out->name[out->count]) < 0)
			out->count++;
		if (!comma)
			break;
		p = comma + 1;
	}
out:
	return err;
}
