/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Snapshots and compaction of the fleet's log (store.h).
 *
 * The node that appended entry N, N a multiple of --store-snapshot-every
 * (K), serializes its copy once it stands at N or later (its watch
 * thread, after it applied the batch) and stores it:
 *
 *   snap/SEQ-NODE/NNNNNN  the bytes, in chunks of SNAP_CHUNK (etcd
 *                         refuses requests over 1.5 MiB by default;
 *                         base64 makes a chunk 4/3 larger)
 *   snapshot              {"seq","revision","schema","size","chunks",
 *                          "prefix"}: the newest snapshot, put last,
 *                         compared on its mod_revision
 *
 * then deletes the log entries up to SEQ - K (the K before the snapshot
 * stay: a node a little behind still catches up entry by entry) and the
 * chunks of older snapshots. A node whose position is older than the
 * oldest entry (a new node, or one away for long) loads the snapshot
 * (state_log_load: the shared tables and the position, its own tables
 * stay), then applies the entries after it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store.h"
#include "store_int.h"

#define SNAP_KEY PREFIX "snapshot"
#define SNAP_PREFIX PREFIX "snap/"
#define SNAP_CHUNK (512 * 1024)

struct snap_meta {
	int64_t seq, revision, size, chunks, mod_revision;
	int schema;
	char prefix[160];
};

/* The newest snapshot's description; -ENOENT if there is none. */
static int read_meta(struct etcd *e, struct snap_meta *m)
{
	struct etcd_kv *kvs;
	const char *prefix = NULL;
	json_t *v;
	size_t n;
	int err;

	memset(m, 0, sizeof(*m));
	err = etcd_range(e, SNAP_KEY, NULL, 0, &kvs, &n, NULL, NULL);
	if (err)
		return err;
	if (!n) {
		etcd_kvs_free(kvs, n);
		return -ENOENT;
	}
	m->mod_revision = kvs[0].mod_revision;
	v = json_loadb((const char *)kvs[0].value, kvs[0].len, 0, NULL);
	etcd_kvs_free(kvs, n);
	if (json_unpack(v, "{s:I,s:I,s:i,s:I,s:I,s:s}", "seq", &m->seq,
			"revision", &m->revision, "schema", &m->schema, "size",
			&m->size, "chunks", &m->chunks, "prefix", &prefix) ||
	    m->size <= 0 || m->chunks <= 0 ||
	    strlen(prefix) >= sizeof(m->prefix))
		err = -EPROTO;
	else
		snprintf(m->prefix, sizeof(m->prefix), "%s", prefix);
	json_decref(v);
	return err;
}

/* Delete entries up to seq - every and the chunks before prefix. */
static void compact(struct store *s, const struct snap_meta *m)
{
	char from[64], to[64];
	int64_t last = m->seq - (int64_t)s->snapshot_every;
	int err = 0;

	if (last > 0) {
		snprintf(from, sizeof(from), LOG_PREFIX "%020d", 0);
		snprintf(to, sizeof(to), LOG_PREFIX "%020" PRId64, last + 1);
		err = etcd_delete_range(&s->aux, from, to);
	}
	if (!err)
		err = etcd_delete_range(&s->aux, SNAP_PREFIX, m->prefix);
	if (err)
		log_msg("Error: store: compacting the log: %s", strerror(-err));
	else
		log_msg("store: log compacted: entries up to %" PRId64
			" deleted",
			last > 0 ? last : 0);
}

void store_snapshot_put(struct store *s, const void *buf, size_t len,
			int schema, int64_t seq, int64_t rev)
{
	struct snap_meta m, old;
	struct etcd_put put;
	char key[224], *text;
	size_t off, chunks = 0;
	int err;

	err = read_meta(&s->aux, &old);
	if (err == -ENOENT)
		err = 0;
	if (err || old.seq >= seq)
		return;
	m = (struct snap_meta){seq, rev, (int64_t)len, 0, 0, schema, ""};
	snprintf(m.prefix, sizeof(m.prefix), SNAP_PREFIX "%020" PRId64 "-%s/",
		 seq, s->node);
	for (off = 0; off < len && !err; off += SNAP_CHUNK, chunks++) {
		snprintf(key, sizeof(key), "%s%06zu", m.prefix, chunks);
		err = store_put(&s->aux, key, (const char *)buf + off,
				len - off < SNAP_CHUNK ? len - off : SNAP_CHUNK,
				0);
	}
	m.chunks = (int64_t)chunks;
	text = NULL;
	if (!err) {
		json_t *o = json_pack("{s:I,s:I,s:i,s:I,s:I,s:s}", "seq",
				      (json_int_t)seq, "revision",
				      (json_int_t)rev, "schema", schema, "size",
				      (json_int_t)len, "chunks",
				      (json_int_t)chunks, "prefix", m.prefix);

		text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		err = text ? 0 : -ENOMEM;
	}
	if (!err) {
		put = (struct etcd_put){SNAP_KEY, text, strlen(text), 0};
		err = etcd_txn_puts(&s->aux, SNAP_KEY, old.mod_revision, &put,
				    1, NULL);
	}
	free(text);
	if (err) {
		char end[224];

		/* someone else's snapshot came first, or etcd went */
		etcd_prefix_end(m.prefix, end, sizeof(end));
		etcd_delete_range(&s->aux, m.prefix, end);
		log_msg("Error: store: snapshot at entry %" PRId64 ": %s", seq,
			strerror(-err));
		return;
	}
	log_msg("store: snapshot at entry %" PRId64 " (revision %" PRId64
		"): %zu bytes in %zu chunks",
		seq, rev, len, chunks);
	compact(s, &m);
}

int store_snapshot_load(struct store *s, struct etcd *e, int64_t have)
{
	struct snap_meta m;
	struct etcd_kv *kvs;
	char key[224];
	unsigned char *buf;
	size_t off = 0, n;
	int64_t c;
	int err;

	err = read_meta(e, &m);
	if (err == -ENOENT || (!err && m.seq <= have))
		return -ESTALE; /* entries are missing and nothing covers them
				 */
	if (err)
		return err;
	buf = malloc((size_t)m.size);
	if (!buf)
		return -ENOMEM;
	for (c = 0; c < m.chunks && !err; c++) {
		snprintf(key, sizeof(key), "%s%06" PRId64, m.prefix, c);
		err = etcd_range(e, key, NULL, 0, &kvs, &n, NULL, NULL);
		if (!err && (!n || off + kvs[0].len > (size_t)m.size))
			err = -EPROTO;
		if (!err) {
			memcpy(buf + off, kvs[0].value, kvs[0].len);
			off += kvs[0].len;
		}
		etcd_kvs_free(kvs, n);
	}
	if (!err && off != (size_t)m.size)
		err = -EPROTO;
	if (!err)
		err = state_log_load(s->d->st, buf, off, m.seq, m.revision);
	free(buf);
	if (err) {
		log_msg("Error: store: loading the snapshot at entry %" PRId64
			": %s",
			m.seq, strerror(-err));
		return err;
	}
	log_msg("store: loaded the snapshot at entry %" PRId64
		" (revision %" PRId64 ", %zu bytes) after entry %" PRId64,
		m.seq, m.revision, off, have);
	return 0;
}
