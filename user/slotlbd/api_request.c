/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Request parsing for the API: bodies are JSON objects checked field by
 * field (unknown fields are errors, as docs/api.md promises), addresses
 * go through the strict parsers of addr.c, and every rejection names the
 * object and the cause.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "api.h"

/* Length of the valid UTF-8 sequence at p (as jansson accepts it: no
 * overlong forms, no surrogates, nothing past U+10FFFF), 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 1;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 2;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 3;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i <= n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n + 1;
}

/* An error text quotes what the caller sent (a path, jansson's words
 * about a malformed body) and may be cut short: every byte that is not
 * valid UTF-8 becomes '?', or jansson would refuse the whole reply and
 * the caller would get an error status with no error. */
static void utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n;

	while (*p) {
		n = utf8_len(p);
		if (n) {
			p += n;
		} else {
			*p++ = '?';
		}
	}
}

void reply_error(struct reply *r, int status, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	utf8_clean(buf);
	r->status = status;
	r->json = json_pack("{s:s}", "error", buf);
}

void reply_op(struct reply *r, const struct op_result *res)
{
	r->status = res->status;
	if (res->status >= 300)
		r->json = json_pack("{s:s}", "error", res->error);
}

/* Body as a JSON object with only the allowed fields. */
json_t *parse_body(const struct request *req, const char *object,
		   const char *const *allowed, struct reply *r)
{
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	size_t i;

	if (req->too_big) {
		reply_error(r, 413, "%s: request body over %d bytes", object,
			    MAX_BODY);
		return NULL;
	}
	if (!req->len)
		return json_object();
	root = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		reply_error(r, 400, "%s: malformed JSON: %s (line %d)", object,
			    jerr.text, jerr.line);
		return NULL;
	}
	if (!json_is_object(root)) {
		reply_error(r, 400, "%s: body must be a JSON object", object);
		goto bad;
	}
	json_object_foreach(root, key, v)
	{
		for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
			;
		if (!allowed[i]) {
			reply_error(r, 400, "%s: unknown field \"%s\"", object,
				    key);
			goto bad;
		}
	}
	return root;
bad:
	json_decref(root);
	return NULL;
}

/* Optional string field; false (and a reply) if it is not a string. */
bool get_string(json_t *o, const char *field, const char *object,
		const char **out, struct reply *r)
{
	json_t *v = json_object_get(o, field);

	*out = NULL;
	if (!v)
		return true;
	if (!json_is_string(v)) {
		reply_error(r, 400, "%s: %s must be a string", object, field);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

json_t *string_list(json_t *o, const char *field, const char *object,
		    bool required, struct reply *r)
{
	json_t *v = json_object_get(o, field), *e;
	size_t i;

	if (!v && !required)
		return NULL;
	if (!json_is_array(v) || json_array_size(v) > MAX_LIST ||
	    (required && json_array_size(v) == 0)) {
		reply_error(r, 400,
			    "%s: %s must be %sarray of at most %d strings",
			    object, field, required ? "a non-empty " : "an ",
			    MAX_LIST);
		return NULL;
	}
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e)) {
			reply_error(r, 400, "%s: %s must hold strings", object,
				    field);
			return NULL;
		}
	}
	return v;
}

/* endpoints field -> keys: required and non-empty, as a new app or slot
 * without endpoints would serve nothing (the CLI and apply say so too). */
int parse_endpoints(json_t *o, const char *object,
		    struct slotlb_endpoint_key **keys, size_t *n,
		    struct reply *r)
{
	json_t *list, *e;
	const char *why;
	size_t i, j;

	*keys = NULL;
	*n = 0;
	list = string_list(o, "endpoints", object, true, r);
	if (!list)
		return -EINVAL;
	*keys = calloc(json_array_size(list) + 1, sizeof(**keys));
	if (!*keys)
		return -ENOMEM;
	json_array_foreach(list, i, e)
	{
		if (validate_endpoint(json_string_value(e), &(*keys)[i],
				      &why)) {
			reply_error(r, 400, "%s: %s", json_string_value(e),
				    why);
			goto bad;
		}
		for (j = 0; j < i; j++)
			if (!memcmp(&(*keys)[j], &(*keys)[i], sizeof(**keys))) {
				reply_error(r, 400, "%s: endpoint listed twice",
					    json_string_value(e));
				goto bad;
			}
	}
	*n = json_array_size(list);
	return 0;
bad:
	free(*keys);
	*keys = NULL;
	return -EINVAL;
}

/* An optional number field of the warmup object, checked by its rule
 * (user/lib/validate.c); *out stays -1 when absent. */
static bool get_number(json_t *w, const char *field,
		       int (*rule)(double, const char **), double *out,
		       struct reply *r)
{
	json_t *v = json_object_get(w, field);
	const char *why;

	if (!v)
		return true;
	if (!json_is_number(v)) {
		reply_error(r, 400, "warmup: %s must be a number", field);
		return false;
	}
	if (rule(json_number_value(v), &why)) {
		reply_error(r, 400, "warmup: %s", why);
		return false;
	}
	*out = json_number_value(v);
	return true;
}

/* The optional warmup object: the fields it gives, each checked by its
 * rule, as an override of the slot's stored policy. */
int parse_warmup(json_t *body, struct warmup_override *o, struct reply *r)
{
	static const char *const fields[] = {
		"path",	      "statuses", "timeout_s",	    "retries", "mode",
		"deadline_s", "host",	  "retry_delay_ms", NULL};
	json_t *w = json_object_get(body, "warmup"), *v;
	double timeout = -1, retries = -1, deadline = -1, delay = -1;
	struct warmup_policy *p = &o->p;
	const char *key, *why = NULL;
	size_t i;

	memset(o, 0, sizeof(*o));
	warmup_policy_default(p);
	if (!w)
		return 0;
	if (!json_is_object(w)) {
		reply_error(r, 400, "warmup: must be an object");
		return -EINVAL;
	}
	json_object_foreach(w, key, v)
	{
		for (i = 0; fields[i] && strcmp(fields[i], key); i++)
			;
		if (!fields[i]) {
			reply_error(r, 400, "warmup: unknown field \"%s\"",
				    key);
			return -EINVAL;
		}
	}
	v = json_object_get(w, "path");
	if (v) {
		if (!json_is_string(v)) {
			reply_error(r, 400, "warmup: path must be a string");
			return -EINVAL;
		}
		if (validate_warmup_path(json_string_value(v), &why)) {
			reply_error(r, 400, "warmup: %s", why);
			return -EINVAL;
		}
		snprintf(p->path, sizeof(p->path), "%s", json_string_value(v));
		o->fields |= WF_PATH;
	}
	v = json_object_get(w, "host");
	if (v) {
		if (!json_is_string(v)) {
			reply_error(r, 400, "warmup: host must be a string");
			return -EINVAL;
		}
		if (validate_warmup_host(json_string_value(v), &why)) {
			reply_error(r, 400, "warmup: %s", why);
			return -EINVAL;
		}
		snprintf(p->host, sizeof(p->host), "%s", json_string_value(v));
		o->fields |= WF_HOST;
	}
	v = json_object_get(w, "mode");
	if (v && validate_warmup_mode(json_string_value(v), &p->mode, &why)) {
		reply_error(r, 400, "warmup: %s", why);
		return -EINVAL;
	}
	if (v)
		o->fields |= WF_MODE;
	v = json_object_get(w, "statuses");
	if (v) {
		if (!json_is_array(v) ||
		    json_array_size(v) > WARMUP_MAX_STATUSES) {
			reply_error(
				r, 400,
				"warmup: statuses must be an array of at most %d codes",
				WARMUP_MAX_STATUSES);
			return -EINVAL;
		}
		p->n_statuses = 0;
		for (i = 0; i < json_array_size(v); i++) {
			json_t *c = json_array_get(v, i);

			if (!json_is_integer(c)) {
				reply_error(
					r, 400,
					"warmup: statuses must be integers");
				return -EINVAL;
			}
			if (validate_warmup_status((long)json_integer_value(c),
						   &why)) {
				reply_error(r, 400, "warmup: %s", why);
				return -EINVAL;
			}
			p->statuses[p->n_statuses++] =
				(int)json_integer_value(c);
		}
		o->fields |= WF_STATUSES;
	}
	if (!get_number(w, "timeout_s", validate_warmup_timeout_s, &timeout,
			r) ||
	    !get_number(w, "retries", validate_warmup_retries, &retries, r) ||
	    !get_number(w, "deadline_s", validate_warmup_deadline_s, &deadline,
			r) ||
	    !get_number(w, "retry_delay_ms", validate_warmup_retry_delay_ms,
			&delay, r))
		return -EINVAL;
	if (timeout >= 0) {
		p->timeout_ms = (uint32_t)(timeout * 1000);
		o->fields |= WF_TIMEOUT;
	}
	if (retries >= 0) {
		p->retries = (uint32_t)retries;
		o->fields |= WF_RETRIES;
	}
	if (deadline >= 0) {
		p->deadline_ms = (uint32_t)(deadline * 1000);
		o->fields |= WF_DEADLINE;
	}
	if (delay >= 0) {
		p->retry_delay_ms = (uint32_t)delay;
		o->fields |= WF_RETRY_DELAY;
	}
	/* each field alone is checked; the policy they make with a slot's
	 * stored one is checked by the operation */
	return 0;
}

/* A number field of an object, checked by its rule; *out stays as it
 * was when absent. */
bool get_checked_number(json_t *o, const char *field, const char *object,
			int (*rule)(double, const char **), double *out,
			struct reply *r)
{
	json_t *v = json_object_get(o, field);
	const char *why;

	if (!v)
		return true;
	if (!json_is_number(v)) {
		reply_error(r, 400, "%s: %s must be a number", object, field);
		return false;
	}
	if (rule(json_number_value(v), &why)) {
		reply_error(r, 400, "%s: %s", object, why);
		return false;
	}
	*out = json_number_value(v);
	return true;
}

/* An optional boolean field; false (and a reply) if not a boolean. */
bool get_bool(json_t *o, const char *field, const char *object, bool *out,
	      struct reply *r)
{
	json_t *v = json_object_get(o, field);

	if (!v)
		return true;
	if (!json_is_boolean(v)) {
		reply_error(r, 400, "%s: %s must be true or false", object,
			    field);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

/* Who asked (api_caller()), then what the caller says of itself. */
void trigger_of(struct MHD_Connection *conn, char *buf, size_t len)
{
	char said[TRIGGER_MAX_LEN + 1] = "", who[128];
	const char *hdr;

	api_caller(conn, who, sizeof(who));
	hdr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					  "X-Slotlb-Trigger");
	if (hdr) {
		snprintf(said, sizeof(said), "%s", hdr);
		validate_trigger_clean(said);
	}
	snprintf(buf, len, "%s%s%s", who, hdr ? " " : "", said);
}
