/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * etcd's v3 JSON gateway over libcurl (etcd.h). Each request tries the
 * member that answered last, then the others in turn, so a cluster with
 * one member down still answers. int64 fields travel as JSON strings
 * (the gateway's protobuf mapping) and fields at their zero value are
 * left out of its answers.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "etcd.h"

static char *b64_encode(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* Decoded bytes into a malloc'd, NUL-terminated buffer. */
static int b64_decode(const char *in, unsigned char **out, size_t *len)
{
	size_t n = strlen(in);
	int got;

	*out = malloc(3 * (n / 4) + 1);
	if (!*out)
		return -ENOMEM;
	got = n ? EVP_DecodeBlock(*out, (const unsigned char *)in, (int)n) : 0;
	if (got < 0 || n % 4) {
		free(*out);
		*out = NULL;
		return -EPROTO;
	}
	/* EVP_DecodeBlock counts the padding as bytes */
	if (n && in[n - 1] == '=')
		got--;
	if (n > 1 && in[n - 2] == '=')
		got--;
	(*out)[got] = 0;
	*len = (size_t)got;
	return 0;
}

static int64_t json_int64(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return json_integer_value(v);
	return 0;
}

struct body {
	char *data;
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *grown = realloc(b->data, b->len + size * n + 1);

	if (!grown)
		return 0;
	memcpy(grown + b->len, p, size * n);
	b->len += size * n;
	grown[b->len] = 0;
	b->data = grown;
	return size * n;
}

static CURL *handle(const struct etcd *e, unsigned int m, const char *path,
		    const char *req, struct curl_slist *hdrs)
{
	char url[ETCD_HOST_LEN + 64];
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	snprintf(url, sizeof(url), "%s://%s%s", e->tls ? "https" : "http",
		 e->members[m], path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, e->tls ? "https" : "http");
	/* libcurl checks the peer and its name by default */
	if (e->ca[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, e->ca);
	if (e->cert[0]) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
	}
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	return c;
}

/* POST req (a JSON object, taken) to path; the answer's object. */
static int call(struct etcd *e, const char *path, json_t *req, json_t **ans)
{
	struct curl_slist *hdrs;
	char *text = json_dumps(req, JSON_COMPACT);
	int err = -ENOTCONN;
	unsigned int i, m;

	json_decref(req);
	*ans = NULL;
	if (!text)
		return -ENOMEM;
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	for (i = 0; i < e->n_members && err == -ENOTCONN; i++) {
		struct body b = {0};
		long status = 0;
		CURL *c;

		m = (e->good + i) % e->n_members;
		c = handle(e, m, path, text, hdrs);
		if (!c) {
			err = -ENOMEM;
			break;
		}
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		if (curl_easy_perform(c) == CURLE_OK) {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
			*ans = b.data ? json_loadb(b.data, b.len, 0, NULL)
				      : NULL;
			/* 503: this member has no leader; try another */
			if (status == 200 && json_is_object(*ans)) {
				e->good = m;
				err = 0;
			} else if (status != 503) {
				err = -EPROTO;
			}
			if (err) {
				json_decref(*ans);
				*ans = NULL;
			}
		}
		free(b.data);
		curl_easy_cleanup(c);
	}
	curl_slist_free_all(hdrs);
	free(text);
	return err;
}

/* Set name to the base64 of text. */
static int set_b64(json_t *o, const char *name, const void *data, size_t len)
{
	char *b = b64_encode(data, len);

	if (!b)
		return -ENOMEM;
	json_object_set_new(o, name, json_string(b));
	free(b);
	return 0;
}

void etcd_kvs_free(struct etcd_kv *kvs, size_t n)
{
	size_t i;

	for (i = 0; kvs && i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

static int read_kvs(json_t *arr, struct etcd_kv **kvs, size_t *n)
{
	size_t i, len, count = json_array_size(arr);
	json_t *kv;
	int err = 0;

	*kvs = calloc(count + 1, sizeof(**kvs));
	*n = 0;
	if (!*kvs)
		return -ENOMEM;
	json_array_foreach(arr, i, kv)
	{
		struct etcd_kv *o = &(*kvs)[i];
		const char *k = json_string_value(json_object_get(kv, "key"));
		const char *v = json_string_value(json_object_get(kv, "value"));

		if (!k) {
			err = -EPROTO;
			break;
		}
		err = b64_decode(k, (unsigned char **)&o->key, &len);
		if (!err)
			err = b64_decode(v ? v : "", &o->value, &o->len);
		o->mod_revision = json_int64(kv, "mod_revision");
		(*n)++;
		if (err)
			break;
	}
	if (err) {
		etcd_kvs_free(*kvs, *n);
		*kvs = NULL;
		*n = 0;
	}
	return err;
}

int etcd_range(struct etcd *e, const char *key, const char *range_end,
	       long limit, struct etcd_kv **kvs, size_t *n, int64_t *rev,
	       bool *more)
{
	json_t *req = json_object(), *ans;
	int err;

	*kvs = NULL;
	*n = 0;
	if (!req)
		return -ENOMEM;
	err = set_b64(req, "key", key, strlen(key));
	if (!err && range_end)
		err = set_b64(req, "range_end", range_end, strlen(range_end));
	if (err) {
		json_decref(req);
		return err;
	}
	if (limit)
		json_object_set_new(req, "limit", json_integer(limit));
	err = call(e, "/v3/kv/range", req, &ans);
	if (err)
		return err;
	if (rev)
		*rev = json_int64(json_object_get(ans, "header"), "revision");
	if (more)
		*more = json_is_true(json_object_get(ans, "more"));
	err = read_kvs(json_object_get(ans, "kvs"), kvs, n);
	json_decref(ans);
	return err;
}

int etcd_txn_puts(struct etcd *e, const char *compare_key, int64_t compare_rev,
		  const struct etcd_put *puts, size_t n, int64_t *rev)
{
	json_t *req, *cmp, *ops, *put, *ans;
	char num[32];
	size_t i;
	int err = 0;

	snprintf(num, sizeof(num), "%lld", (long long)compare_rev);
	cmp = json_pack("{s:s,s:s,s:s}", "target", "MOD", "result", "EQUAL",
			"mod_revision", num);
	ops = json_array();
	req = json_pack("{s:[o],s:o}", "compare", cmp, "success", ops);
	if (!req)
		return -ENOMEM;
	err = set_b64(cmp, "key", compare_key, strlen(compare_key));
	for (i = 0; i < n && !err; i++) {
		put = json_object();
		json_array_append_new(ops,
				      json_pack("{s:o}", "request_put", put));
		err = set_b64(put, "key", puts[i].key, strlen(puts[i].key));
		if (!err)
			err = set_b64(put, "value", puts[i].value, puts[i].len);
		if (!err && puts[i].lease)
			json_object_set_new(put, "lease",
					    json_integer(puts[i].lease));
	}
	if (err) {
		json_decref(req);
		return err;
	}
	err = call(e, "/v3/kv/txn", req, &ans);
	if (err)
		return err;
	if (!json_is_true(json_object_get(ans, "succeeded")))
		err = -ECANCELED;
	else if (rev)
		*rev = json_int64(json_object_get(ans, "header"), "revision");
	json_decref(ans);
	return err;
}

int etcd_delete_range(struct etcd *e, const char *key, const char *range_end)
{
	json_t *req = json_object(), *ans;
	int err;

	if (!req)
		return -ENOMEM;
	err = set_b64(req, "key", key, strlen(key));
	if (!err)
		err = set_b64(req, "range_end", range_end, strlen(range_end));
	if (err) {
		json_decref(req);
		return err;
	}
	err = call(e, "/v3/kv/deleterange", req, &ans);
	json_decref(ans);
	return err;
}

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id)
{
	json_t *ans;
	int err;

	err = call(e, "/v3/lease/grant",
		   json_pack("{s:I}", "TTL", (json_int_t)ttl_s), &ans);
	if (err)
		return err;
	*id = json_int64(ans, "ID");
	json_decref(ans);
	return *id ? 0 : -EPROTO;
}

int etcd_lease_keepalive(struct etcd *e, int64_t id)
{
	json_t *ans;
	int err;

	err = call(e, "/v3/lease/keepalive",
		   json_pack("{s:I}", "ID", (json_int_t)id), &ans);
	if (err)
		return err;
	/* an expired lease answers without a TTL (zero is left out) */
	if (json_int64(json_object_get(ans, "result"), "TTL") <= 0)
		err = -ENOENT;
	json_decref(ans);
	return err;
}

struct watch {
	void (*changed)(void *ctx);
	void *ctx;
	const atomic_bool *stop;
};

static size_t watch_data(char *p, size_t size, size_t n, void *arg)
{
	struct watch *w = arg;

	(void)p;
	/* each message is a change (or the watch's creation): whichever,
	 * the store reads the log from where it stands */
	w->changed(w->ctx);
	return size * n;
}

static int watch_progress(void *arg, curl_off_t dt, curl_off_t dn,
			  curl_off_t ut, curl_off_t un)
{
	struct watch *w = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return atomic_load(w->stop) ? 1 : 0;
}

int etcd_watch(struct etcd *e, const char *prefix, void (*changed)(void *ctx),
	       void *ctx, const atomic_bool *stop)
{
	struct watch w = {changed, ctx, stop};
	char end[ETCD_HOST_LEN];
	json_t *create = json_object(), *req;
	struct curl_slist *hdrs;
	char *text;
	unsigned int i, m;
	int err = -ENOTCONN;

	etcd_prefix_end(prefix, end, sizeof(end));
	set_b64(create, "key", prefix, strlen(prefix));
	set_b64(create, "range_end", end, strlen(end));
	req = json_pack("{s:o}", "create_request", create);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text)
		return -ENOMEM;
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	for (i = 0; i < e->n_members && !atomic_load(stop); i++) {
		CURL *c;

		m = (e->good + i) % e->n_members;
		c = handle(e, m, "/v3/watch", text, hdrs);
		if (!c)
			break;
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_data);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
		curl_easy_perform(c);
		curl_easy_cleanup(c);
		if (atomic_load(stop))
			err = 0;
	}
	curl_slist_free_all(hdrs);
	free(text);
	return err;
}
