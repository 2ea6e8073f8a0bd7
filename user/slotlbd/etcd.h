/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A small client of etcd's v3 JSON gateway (etcd 3.4: /v3/kv/range,
 * /v3/kv/txn, /v3/watch; keys and values base64), over libcurl and
 * jansson. Only what the fleet store (store.c) needs: read a key range
 * in order, one compare-on-revision transaction that puts several keys,
 * a watch that reports that something under a prefix changed, and
 * leases (/v3/lease/grant, keepalive) for keys that must go with the
 * node that keeps them (store_drain.c).
 *
 * Every function returns 0 or -errno: -ENOTCONN when no member
 * answered, -EPROTO for an answer that is not etcd's, -ECANCELED when a
 * transaction's compare failed (another writer came first).
 */
#ifndef SLOTLBD_ETCD_H
#define SLOTLBD_ETCD_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Members of one cluster, as given after etcd:// */
#define ETCD_MAX_MEMBERS 8
#define ETCD_HOST_LEN 256

struct etcd {
	char members[ETCD_MAX_MEMBERS][ETCD_HOST_LEN]; /* "host:port" */
	size_t n_members;
	unsigned int good; /* member that answered last */
	uint32_t timeout_ms; /* per request, watch excepted */
	bool tls; /* etcds://: HTTPS, the server's certificate checked */
	char ca[PATH_MAX]; /* CA bundle; "": the system's */
	char cert[PATH_MAX], key[PATH_MAX]; /* client certificate, or "" */
};

/* Parse "etcd://HOST:PORT[,HOST:PORT...]" (or etcds://, over TLS) into
 * e: 0, or -EINVAL with why (a static text) naming what was wrong. */
int etcd_parse_url(const char *url, struct etcd *e, const char **why);

struct etcd_kv {
	char *key; /* NUL-terminated */
	unsigned char *value; /* malloc'd, NUL-terminated beyond len */
	size_t len;
	int64_t mod_revision;
};

/* Keys in [key, range_end) in key order, at most limit (0: all);
 * *rev receives the store's revision, *more whether keys were left. */
int etcd_range(struct etcd *e, const char *key, const char *range_end,
	       long limit, struct etcd_kv **kvs, size_t *n, int64_t *rev,
	       bool *more);
void etcd_kvs_free(struct etcd_kv *kvs, size_t n);

/* One put of a transaction. */
struct etcd_put {
	const char *key;
	const void *value;
	size_t len;
	int64_t lease; /* the key goes with this lease; 0: none */
};

/* If compare_key's mod_revision is compare_rev (0: it does not exist),
 * put every one of puts, atomically: 0 and *rev the revision they got,
 * or -ECANCELED if the compare failed. */
int etcd_txn_puts(struct etcd *e, const char *compare_key, int64_t compare_rev,
		  const struct etcd_put *puts, size_t n, int64_t *rev);

/* Delete the keys in [key, range_end). */
int etcd_delete_range(struct etcd *e, const char *key, const char *range_end);

/* A lease of ttl_s seconds: its keys go when it is not kept alive. */
int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id);
/* Renew lease id: 0, or -ENOENT when it expired (grant another). */
int etcd_lease_keepalive(struct etcd *e, int64_t id);

/* Watch [prefix, prefix+1) from now on and call changed(ctx) for each
 * message (the first says the watch exists) until stop is set or the
 * connection ends: returns -ENOTCONN then (0 if stopped). */
int etcd_watch(struct etcd *e, const char *prefix, void (*changed)(void *ctx),
	       void *ctx, const atomic_bool *stop);

/* The end of the range of every key that starts with prefix. */
void etcd_prefix_end(const char *prefix, char *end, size_t len);

#endif /* SLOTLBD_ETCD_H */
