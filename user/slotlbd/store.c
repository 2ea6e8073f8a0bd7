/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The fleet's shared log in etcd (store.h): appends under the
 * operations' lock, catch-up before each transaction, and the watch
 * thread that applies other nodes' entries and reconciles the maps.
 *
 * Ordering: an append is one etcd transaction that compares the head
 * key's mod_revision with the revision of the last entry this copy
 * applied, then puts the next entry and the head. Two nodes that both
 * applied entry N cannot both append N+1: the second compare fails,
 * its local transaction is rolled back, the caller answers 409. While
 * etcd cannot be reached, appends fail with -ENOTCONN (the API answers
 * 503) and the maps keep what was applied.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "daemon.h"
#include "etcd.h"
#include "store.h"
#include "store_int.h"

static __thread int last_error;

static void note_reach(struct store *s, int err)
{
	if (err == -ENOTCONN) {
		long long none = 0;

		if (atomic_exchange(&s->reachable, false))
			log_msg("Error: store: %s: unreachable; serving the applied state, operations refused until it answers",
				s->url);
		atomic_compare_exchange_strong(&s->down_since_ms, &none,
					       wall_ms());
	} else if (!err || err == -ECANCELED) {
		if (!atomic_exchange(&s->reachable, true))
			log_msg("store: %s: reachable", s->url);
		atomic_store(&s->down_since_ms, 0);
	}
}

static void entry_key(int64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, LOG_PREFIX "%020" PRId64, seq);
}

/* Apply the entries after the copy's position; under d->lock. */
static int catch_up(struct store *s, struct etcd *e)
{
	char from[64], end[64];
	struct etcd_kv *kvs;
	int64_t seq, rev, n_seq;
	size_t n, i;
	bool more = true;
	int err;

	etcd_prefix_end(LOG_PREFIX, end, sizeof(end));
	while (more) {
		err = state_log_position(s->d->st, &seq, &rev);
		if (err)
			return err;
		entry_key(seq + 1, from, sizeof(from));
		err = etcd_range(e, from, end, CATCH_UP_BATCH, &kvs, &n, NULL,
				 &more);
		note_reach(s, err);
		if (err)
			return err;
		/* the entries after the copy's position were compacted
		 * away: the snapshot, then what follows it */
		if (n && strtoll(kvs[0].key + strlen(LOG_PREFIX), NULL, 10) >
				 seq + 1) {
			etcd_kvs_free(kvs, n);
			err = store_snapshot_load(s, e, seq);
			if (err)
				return err;
			/* every id may have changed: a full reconcile */
			s->known.valid = false;
			atomic_store(&s->dirty, true);
			more = true;
			continue;
		}
		for (i = 0; i < n && !err; i++) {
			n_seq = strtoll(kvs[i].key + strlen(LOG_PREFIX), NULL,
					10);
			err = state_log_apply(s->d->st, kvs[i].value,
					      (int)kvs[i].len, n_seq,
					      kvs[i].mod_revision);
			if (!err)
				atomic_store(&s->dirty, true);
			else
				log_msg("Error: store: entry %" PRId64 ": %s",
					n_seq, strerror(-err));
		}
		etcd_kvs_free(kvs, n);
		if (err)
			return err;
	}
	return 0;
}

static int log_catch_up(void *ctx)
{
	struct store *s = ctx;

	return catch_up(s, &s->ops);
}

/*
 * After an append that failed for want of an answer (a timeout: etcd may
 * have applied it; or a compare that failed because an earlier attempt
 * on another member did): is entry seq our changeset? 1 and its revision
 * if so, 0 if not, -errno if etcd cannot say. An identical changeset of
 * another node has the same effect, so taking it as ours is safe.
 */
static int appended_anyway(struct store *s, int64_t seq, const void *changes,
			   int len, int64_t *rev)
{
	char key[64], end[64];
	struct etcd_kv *kvs = NULL;
	size_t n = 0;
	int err;

	entry_key(seq, key, sizeof(key));
	etcd_prefix_end(key, end, sizeof(end));
	err = etcd_range(&s->ops, key, end, 1, &kvs, &n, NULL, NULL);
	if (err)
		return err;
	err = n && !strcmp(kvs[0].key, key) && kvs[0].len == (size_t)len &&
	      !memcmp(kvs[0].value, changes, (size_t)len);
	if (err)
		*rev = kvs[0].mod_revision;
	etcd_kvs_free(kvs, n);
	return err;
}

static int log_append(void *ctx, const void *changes, int len, int64_t seq,
		      int64_t *rev)
{
	struct store *s = ctx;
	char key[64], head[32];
	struct etcd_put puts[2];
	int64_t have, have_rev;
	int err;

	err = state_log_position(s->d->st, &have, &have_rev);
	if (err)
		return err;
	entry_key(seq + 1, key, sizeof(key));
	snprintf(head, sizeof(head), "%" PRId64, seq + 1);
	puts[0] = (struct etcd_put){key, changes, (size_t)len, 0};
	puts[1] = (struct etcd_put){HEAD_KEY, head, strlen(head), 0};
	err = etcd_txn_puts(&s->ops, HEAD_KEY, have_rev, puts, 2, rev);
	if (err && appended_anyway(s, seq + 1, changes, len, rev) == 1) {
		log_msg("store: entry %" PRId64 ": appended, though etcd's "
			"answer was lost (%s)",
			seq + 1, strerror(-err));
		err = 0;
	}
	note_reach(s, err);
	if (!err) {
		s->own_changes = true;
		if (s->snapshot_every && (seq + 1) % s->snapshot_every == 0)
			s->snapshot_due = seq + 1;
		log_msg("store: appended entry %" PRId64 " (revision %" PRId64
			") at %" PRId64 " ms",
			seq + 1, *rev, wall_ms());
	} else {
		/* what the rolled back operation published is in no
		 * database: the next reconcile sweeps every id */
		s->known.valid = false;
		last_error = err;
		/* the operation may have written maps before its commit:
		 * the watch thread makes them equal to the copy again */
		atomic_store(&s->dirty, true);
		log_msg("Error: store: entry %" PRId64 ": %s", seq + 1,
			err == -ECANCELED  ? "another node appended first"
			: err == -ENOTCONN ? "etcd unreachable"
					   : strerror(-err));
	}
	return err;
}

int store_take_error(void)
{
	int err = last_error;

	last_error = 0;
	return err;
}

/* The node's id: made at its first start, kept in its state directory,
 * so that a restarted node knows its own drains/NAME (store_drain.c). */
static int node_id(const char *dir, char *id, size_t len)
{
	unsigned char r[16];
	char path[PATH_MAX];
	ssize_t got;
	size_t i;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/node-id", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		got = read(fd, id, len - 1);
		close(fd);
		if (got == 32 && strspn(id, "0123456789abcdef") >= 32) {
			id[32] = 0;
			return 0;
		}
	}
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -EIO;
	for (i = 0; i < sizeof(r); i++)
		snprintf(id + 2 * i, len - 2 * i, "%02x", r[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, id, 32) != 32)
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

int store_open(struct daemon *d, const struct store_config *c, const char **why)
{
	static char clash[256];

	struct state_log log;
	struct store *s;
	int64_t seq, rev;
	bool empty;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->snapshot_every = c->snapshot_every;
	snprintf(s->url, sizeof(s->url), "%s", c->url);
	if (c->node[0])
		snprintf(s->node, sizeof(s->node), "%s", c->node);
	else if (gethostname(s->node, sizeof(s->node) - 1))
		snprintf(s->node, sizeof(s->node), "node");
	err = etcd_parse_url(c->url, &s->ops, why);
	if (err)
		goto fail;
	snprintf(s->ops.ca, sizeof(s->ops.ca), "%s", c->ca);
	snprintf(s->ops.cert, sizeof(s->ops.cert), "%s", c->cert);
	snprintf(s->ops.key, sizeof(s->ops.key), "%s", c->key);
	s->watch = s->ops;
	s->aux = s->ops;
	s->drain = s->ops;
	err = state_log_position(d->st, &seq, &rev);
	if (!err)
		err = state_log_is_empty(d->st, &empty);
	if (err) {
		*why = "reading the database";
		goto fail;
	}
	if (!seq && !empty) {
		*why = "the state directory holds a state of its own, made without the store; a node joins a fleet with an empty state directory";
		err = -EEXIST;
		goto fail;
	}
	err = node_id(c->state_dir, s->node_id, sizeof(s->node_id));
	if (err) {
		*why = "the node's id (node-id in the state directory)";
		goto fail;
	}
	err = store_claim_name(s);
	if (err) {
		snprintf(
			clash, sizeof(clash),
			"node name %s is held by a live node (" DRAINS_PREFIX
			"%s under its lease); give this node its own --node-name",
			s->node, s->node);
		*why = clash;
		goto fail;
	}
	atomic_store(&s->down_since_ms, wall_ms());
	d->store = s;
	log = (struct state_log){log_catch_up, log_append, s};
	state_set_log(d->st, &log);
	return 0;
fail:
	free(s);
	return err;
}

void store_catch_up_at_start(struct daemon *d)
{
	struct store *s = d->store;
	int64_t seq, rev;
	int err;

	err = catch_up(s, &s->ops);
	state_log_position(d->st, &seq, &rev);
	if (err)
		log_msg("Error: store: %s: %s; serving the applied state (entry %" PRId64
			", revision %" PRId64 ") until it answers",
			s->url, strerror(-err), seq, rev);
	else
		log_msg("store: %s: node %s at entry %" PRId64
			", revision %" PRId64,
			s->url, s->node, seq, rev);
	atomic_store(&s->dirty, false);
}

/* Tell the fleet how far this node applied. */
static void publish_position(struct store *s)
{
	char key[128], val[128];
	int64_t seq, rev;
	int err;

	pthread_mutex_lock(&s->d->lock);
	err = state_log_position(s->d->st, &seq, &rev);
	pthread_mutex_unlock(&s->d->lock);
	if (err || (seq == s->published_seq && seq))
		return;
	snprintf(key, sizeof(key), NODES_PREFIX "%s", s->node);
	snprintf(val, sizeof(val),
		 "{\"seq\":%" PRId64 ",\"revision\":%" PRId64
		 ",\"time\":%" PRId64 "}",
		 seq, rev, wall_s());
	err = store_put(&s->aux, key, val, strlen(val), 0);
	if (!err)
		s->published_seq = seq;
}

/* Make the data path's Maglev seed the fleet's: the first node to get
 * here gives the fleet its own (a create-only transaction), every
 * other takes it. Under d->lock. */
static void sync_seed(struct store *s, struct etcd *e)
{
	struct etcd_kv *kvs = NULL;
	struct etcd_put put;
	uint32_t mine = 0, fleet;
	char buf[16];
	size_t n = 0;
	int err;

	err = slotlb_hash_seed_get(s->d->lb, &mine);
	if (err)
		return;
	snprintf(buf, sizeof(buf), "%u", mine);
	put = (struct etcd_put){SEED_KEY, buf, strlen(buf), 0};
	err = etcd_txn_puts(e, SEED_KEY, 0, &put, 1, NULL);
	if (err == -ECANCELED)
		err = etcd_range(e, SEED_KEY, NULL, 0, &kvs, &n, NULL, NULL);
	if (err || (kvs && !n))
		goto out;
	fleet = kvs ? (uint32_t)strtoul((char *)kvs[0].value, NULL, 10) : mine;
	if (fleet && fleet != mine) {
		err = slotlb_hash_seed_set(s->d->lb, fleet);
		if (err)
			goto out;
		log_msg("store: Maglev hash seed set to the fleet's");
	}
	s->fleet_seed = fleet;
	s->seed_synced = true;
out:
	etcd_kvs_free(kvs, n);
}

void store_seed_check(struct daemon *d)
{
	struct store *s = d->store;
	uint32_t mine;

	if (!s || !s->seed_synced || slotlb_hash_seed_get(d->lb, &mine) ||
	    mine == s->fleet_seed)
		return;
	if (!slotlb_hash_seed_set(d->lb, s->fleet_seed))
		log_msg("store: the data path's Maglev hash seed %#x is not the "
			"fleet's: set back to %#x",
			mine, s->fleet_seed);
}

/* A message on the watch: catch up, then the maps. */
static void on_change(void *ctx)
{
	struct store *s = ctx;
	struct daemon *d = s->d;
	void *snap = NULL;
	size_t snap_len = 0;
	int err, schema = 0;
	int64_t t0 = mono_us(), seq = 0, rev = 0, t1;

	pthread_mutex_lock(&d->lock);
	if (!s->seed_synced)
		sync_seed(s, &s->watch);
	/* this node's own operations put their ids in the maps */
	if (s->own_changes && s->known.valid &&
	    reconcile_note_known(d, &s->known))
		s->known.valid = false;
	s->own_changes = false;
	catch_up(s, &s->watch);
	if (atomic_exchange(&s->dirty, false)) {
		t1 = mono_us();
		err = reconcile_since(d, &s->known);
		if (err) {
			log_msg("Error: store: maps: %s", strerror(-err));
			atomic_store(&s->dirty, true);
		}
		state_log_position(d->st, &seq, &rev);
		/* wall ms: the time the fleet's maps took, against the
		 * writer's "appended" line (tests/integration) */
		log_msg("store: applied up to entry %" PRId64
			" (revision %" PRId64 ") at %" PRId64
			" ms: read %lld us, maps %lld us",
			seq, rev, wall_ms(), (long long)(t1 - t0),
			(long long)(mono_us() - t1));
	}
	/* this node appended a multiple of K and stands there or later */
	state_log_position(d->st, &seq, &rev);
	if (s->snapshot_due && seq >= s->snapshot_due) {
		s->snapshot_due = 0;
		if (state_log_snapshot(d->st, &snap, &snap_len, &schema))
			snap = NULL;
	}
	pthread_mutex_unlock(&d->lock);
	publish_position(s);
	if (snap)
		store_snapshot_put(s, snap, snap_len, schema, seq, rev);
	free(snap);
}

static void *watch_thread(void *arg)
{
	struct store *s = arg;
	int err;

	while (!atomic_load(&s->stop)) {
		err = etcd_watch(&s->watch, LOG_PREFIX, on_change, s, &s->stop);
		if (atomic_load(&s->stop))
			break;
		note_reach(s, err ? err : -ENOTCONN);
		/* a failed append or entry while etcd was away */
		if (atomic_load(&s->dirty)) {
			pthread_mutex_lock(&s->d->lock);
			if (atomic_exchange(&s->dirty, false) &&
			    reconcile_since(s->d, &s->known))
				atomic_store(&s->dirty, true);
			pthread_mutex_unlock(&s->d->lock);
		}
		mono_sleep_ms(RETRY_MS);
	}
	return NULL;
}

int store_start(struct daemon *d)
{
	struct store *s = d->store;
	int err;

	err = -pthread_create(&s->thread, NULL, watch_thread, s);
	s->started = !err;
	return err;
}

void store_stop(struct daemon *d)
{
	struct store *s = d->store;

	if (!s || !s->started)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	s->started = false;
}

void store_close(struct daemon *d)
{
	free(d->store);
	d->store = NULL;
}

bool store_reachable(struct daemon *d)
{
	return !d->store || atomic_load(&d->store->reachable);
}

const char *store_refusal(struct daemon *d, char *buf, size_t len)
{
	struct store *s = d->store;
	long long since;
	char when[32] = "start";

	if (!s || atomic_load(&s->reachable))
		return NULL;
	since = atomic_load(&s->down_since_ms);
	if (since)
		wall_format(since / 1000, false, when, sizeof(when));
	snprintf(
		buf, len,
		"store: %s unreachable since %s: operations are refused until it answers; traffic keeps flowing with the applied state",
		s->url, when);
	return buf;
}

static json_t *nodes_json(struct store *s, struct etcd *e, int *err)
{
	char end[64];
	struct etcd_kv *kvs;
	json_t *arr = json_array(), *v;
	size_t n, i;

	etcd_prefix_end(NODES_PREFIX, end, sizeof(end));
	*err = etcd_range(e, NODES_PREFIX, end, 0, &kvs, &n, NULL, NULL);
	note_reach(s, *err);
	if (*err)
		return arr;
	for (i = 0; i < n; i++) {
		v = json_loadb((const char *)kvs[i].value, kvs[i].len, 0, NULL);
		if (!json_is_object(v)) {
			json_decref(v);
			continue;
		}
		json_object_set_new(
			v, "node",
			json_string(kvs[i].key + strlen(NODES_PREFIX)));
		json_array_append_new(arr, v);
	}
	etcd_kvs_free(kvs, n);
	return arr;
}

json_t *store_status_json(struct daemon *d)
{
	struct store *s = d->store;
	struct etcd e;
	struct etcd_kv *kvs = NULL;
	int64_t seq = 0, rev = 0, head_rev = 0;
	json_t *o, *nodes, *drains;
	size_t n = 0;
	int err;

	if (!s)
		return NULL;
	pthread_mutex_lock(&d->lock);
	state_log_position(d->st, &seq, &rev);
	e = s->ops;
	pthread_mutex_unlock(&d->lock);
	e.timeout_ms = 1000;
	nodes = nodes_json(s, &e, &err);
	drains = err ? json_array() : store_drains_json(&e, &err);
	if (!err)
		err = etcd_range(&e, HEAD_KEY, NULL, 0, &kvs, &n, &head_rev,
				 NULL);
	o = json_pack("{s:s,s:s,s:b,s:{s:I,s:I},s:o,s:o}", "store", s->url,
		      "node", s->node, "reachable", !err, "applied", "entry",
		      (json_int_t)seq, "revision", (json_int_t)rev, "nodes",
		      nodes, "drains", drains);
	if (!err && n)
		json_object_set_new(
			o, "head",
			json_pack("{s:I,s:I}", "entry",
				  (json_int_t)strtoll((char *)kvs[0].value,
						      NULL, 10),
				  "revision", (json_int_t)kvs[0].mod_revision));
	else if (!err)
		json_object_set_new(
			o, "head",
			json_pack("{s:i,s:i}", "entry", 0, "revision", 0));
	etcd_kvs_free(kvs, n);
	return o;
}
