/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * HTTP/1.1 response parsing and judging for the lab load client. Pure code
 * (no sockets, no clock) so the rules that decide whether a swap dropped a
 * request can be unit tested on byte strings.
 */
#ifndef LOADCLIENT_RESPONSE_H
#define LOADCLIENT_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

/* The lab httpd takes labels of up to 128 bytes; keep room for its NUL. */
#define LC_LABEL_MAX 129
/* A lab response head is a few hundred bytes; more means garbage. */
#define LC_HEAD_MAX 16384
/* Lab bodies are one line; 1 MiB bounds memory per connection. */
#define LC_BODY_MAX (1024 * 1024)
/* Distinct labels a run tracks; lab runs see two or three. */
#define LC_VERSIONS_MAX 16

/* Why a request failed; LC_OK when it did not. Order is report order. */
enum lc_reason {
	LC_OK = 0,
	LC_FAIL_STATUS,
	LC_FAIL_TRUNCATED,
	LC_FAIL_TIMEOUT,
	LC_FAIL_WRONG_VERSION,
	LC_FAIL_PARSE,
	LC_REASON_COUNT,
};

/* One parsed response head plus what the body says about the version. */
struct lc_response {
	int status; /* status code from the status line */
	size_t head_len; /* bytes of status line and headers */
	long long content_length; /* -1 when the header is absent */
	size_t consumed; /* head_len + body length when complete */
	bool http10; /* status line said HTTP/1.0 */
	bool keep_alive; /* server said Connection: keep-alive */
	bool conn_close; /* server will close after this response */
	bool chunked; /* Transfer-Encoding present (unsupported) */
	char label[LC_LABEL_MAX]; /* X-Slotlb-Version value, or "" */
	char body_label[LC_LABEL_MAX]; /* first word of "LABEL ADDR:PORT\n" */
};

/* The versions a run accepts; count 0 accepts any label. */
struct lc_labels {
	int count;
	char name[LC_VERSIONS_MAX][LC_LABEL_MAX];
};

/*
 * Parse the response at the start of buf[0..len). eof says no more bytes
 * will come. Returns 0 when a complete response was parsed (r->consumed
 * tells its length), -EAGAIN when more bytes are needed, -EPIPE when eof
 * came first (truncated), -EBADMSG when the response is malformed, has no
 * Content-Length, is chunked or is larger than the limits above.
 */
int lc_response_parse(const char *buf, size_t len, bool eof,
		      struct lc_response *r);

/* Judge a completely parsed response against what the run expects. */
enum lc_reason lc_response_judge(const struct lc_response *r, int expect_status,
				 const struct lc_labels *expect);

/* The label a judged response answers with ("" when it has none). */
const char *lc_response_version(const struct lc_response *r);

/* True when s[0..len) is a valid label: printable, no quote, comma, space. */
bool lc_label_valid(const char *s, size_t len);

/* Split "v1,v2" into out; 0 or -EINVAL (bad label) / -E2BIG (too many). */
int lc_labels_parse(const char *list, struct lc_labels *out);

/* Index of label in set, or -1. */
int lc_labels_find(const struct lc_labels *set, const char *label);

/* Name of a reason as used in the JSON summary. */
const char *lc_reason_name(enum lc_reason reason);

#endif /* LOADCLIENT_RESPONSE_H */
