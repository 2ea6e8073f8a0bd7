/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The whole state at one instant, as status, metrics, reconcile and the
 * drain thread read it: a fixed handful of queries whatever the number
 * of apps, never one per object, each result ordered so that callers
 * merge them with moving cursors instead of searching.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"

int state_snapshot(struct state *st, int64_t app_id, struct st_snapshot *s)
{
	const char *where = app_id < 0 ? "" : " WHERE app_id = ?";
	const char *fmt = app_id < 0 ? "" : "i";
	char sql[640];
	size_t i, b;
	int err;

	memset(s, 0, sizeof(*s));
	snprintf(sql, sizeof(sql),
		 "SELECT " APP_COLS " FROM apps%s ORDER BY id",
		 app_id < 0 ? "" : " WHERE id = ?");
	err = st_collect(st_prepare(st, sql, fmt, app_id), (void **)&s->apps,
			 &s->n_apps, sizeof(*s->apps), st_fill_app);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT " SLOT_COLS " FROM slots%s"
		 " ORDER BY app_id, idx",
		 where);
	err = st_collect(st_prepare(st, sql, fmt, app_id), (void **)&s->slots,
			 &s->n_slots, sizeof(*s->slots), st_fill_slot);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT " ENDPOINT_COLS " FROM endpoints%s"
		 " ORDER BY app_id, slot, id",
		 where);
	err = st_collect(st_prepare(st, sql, fmt, app_id),
			 (void **)&s->endpoints, &s->n_endpoints,
			 sizeof(*s->endpoints), st_fill_endpoint);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT " DEPLOYMENT_COLS " FROM deployments"
		 " WHERE state != 2%s ORDER BY serial",
		 app_id < 0 ? "" : " AND app_id = ?");
	err = st_collect(st_prepare(st, sql, fmt, app_id),
			 (void **)&s->deployments, &s->n_deployments,
			 sizeof(*s->deployments), st_fill_deployment);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT " BACKEND_COLS " FROM " BACKEND_FROM
		 " JOIN deployments d ON b.deployment = d.serial"
		 " WHERE d.state != 2%s ORDER BY b.deployment, b.id",
		 app_id < 0 ? "" : " AND d.app_id = ?");
	err = st_collect(st_prepare(st, sql, fmt, app_id),
			 (void **)&s->backends, &s->n_backends,
			 sizeof(*s->backends), st_fill_backend);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT app_id, source, target, source_deployment,"
		 " target_deployment, started, timeout_s, on_timeout_swap,"
		 " trigger FROM pending_swaps%s ORDER BY app_id",
		 where);
	err = st_collect(st_prepare(st, sql, fmt, app_id), (void **)&s->pending,
			 &s->n_pending, sizeof(*s->pending), st_fill_pending);
	if (!err)
		err = st_pending_audiences(st, s->pending, s->n_pending);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT " SPLIT_COLS " FROM traffic_splits%s"
		 " ORDER BY app_id, from_slot, range_from",
		 where);
	err = st_collect(st_prepare(st, sql, fmt, app_id), (void **)&s->splits,
			 &s->n_splits, sizeof(*s->splits), st_fill_split);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT " OPT_IN_COLS " FROM traffic_opt_in%s"
		 " ORDER BY app_id, from_slot, slot, family, len, addr",
		 where);
	err = st_collect(st_prepare(st, sql, fmt, app_id), (void **)&s->opt_ins,
			 &s->n_opt_ins, sizeof(*s->opt_ins), st_fill_opt_in);
	if (err)
		goto out;
	/* both ordered by serial: one merge pass links them */
	for (i = 0, b = 0; i < s->n_deployments; i++) {
		while (b < s->n_backends &&
		       s->backends[b].deployment < s->deployments[i].serial)
			b++;
		s->deployments[i].backend_first = b;
		while (b < s->n_backends &&
		       s->backends[b].deployment == s->deployments[i].serial)
			b++;
		s->deployments[i].backend_count =
			b - s->deployments[i].backend_first;
	}
out:
	if (err)
		state_snapshot_free(s);
	return err;
}

void state_snapshot_free(struct st_snapshot *s)
{
	free(s->apps);
	free(s->slots);
	free(s->endpoints);
	free(s->deployments);
	free(s->backends);
	free(s->pending);
	free(s->splits);
	free(s->opt_ins);
	memset(s, 0, sizeof(*s));
}

const struct st_deployment *st_snapshot_deployment(const struct st_snapshot *s,
						   int64_t serial)
{
	size_t lo = 0, hi = s->n_deployments, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->deployments[mid].serial == serial)
			return &s->deployments[mid];
		if (s->deployments[mid].serial < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct st_pending *st_snapshot_pending(const struct st_snapshot *s,
					     uint32_t app_id)
{
	size_t i;

	for (i = 0; i < s->n_pending; i++)
		if (s->pending[i].app_id == app_id)
			return &s->pending[i];
	return NULL;
}

_Static_assert(offsetof(struct st_split, app_id) == 0, "app_id first");
_Static_assert(offsetof(struct st_opt_in, app_id) == 0, "app_id first");

/* First index of app_id in an array of n items of size sz ordered by an
 * app_id at its start. */
static size_t first_of_app(const void *arr, size_t n, size_t sz,
			   uint32_t app_id)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (*(const uint32_t *)((const char *)arr + mid * sz) < app_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct st_split *st_snapshot_splits(const struct st_snapshot *s,
					  uint32_t app_id, size_t *n)
{
	size_t i = first_of_app(s->splits, s->n_splits, sizeof(*s->splits),
				app_id),
	       j = i;

	while (j < s->n_splits && s->splits[j].app_id == app_id)
		j++;
	*n = j - i;
	return j > i ? &s->splits[i] : NULL;
}

const struct st_opt_in *st_snapshot_opt_ins(const struct st_snapshot *s,
					    uint32_t app_id, size_t *n)
{
	size_t i = first_of_app(s->opt_ins, s->n_opt_ins, sizeof(*s->opt_ins),
				app_id),
	       j = i;

	while (j < s->n_opt_ins && s->opt_ins[j].app_id == app_id)
		j++;
	*n = j - i;
	return j > i ? &s->opt_ins[i] : NULL;
}
