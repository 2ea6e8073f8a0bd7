/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Traffic routing (testing in production): a share of the new clients
 * arriving on production's endpoints goes to another slot's deployment,
 * sticky per client address, and opt-in prefixes go to a slot whatever
 * the shares. The data path does the choosing (bpf/select.bpf.h); here
 * are the rules' part of the routing element, the one operation that
 * changes them, and the view status and `slot traffic` show.
 *
 * A change is one transaction and one routing element update. The
 * ranges of the shares are laid out from the stored ones
 * (slotlb_split_layout()), so raising a share moves only clients into
 * it, lowering one moves only clients back to production, and a share
 * left alone keeps every client it had.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "traffic.h"
#include "ops_int.h"

/* Where the shares apply: production (index 0), as in Azure. */
#define FROM_SLOT 0

int routing_add_traffic(const struct st_snapshot *s, uint32_t app_id,
			struct slotlb_routing *r)
{
	struct slotlb_split sp[SLOTLB_MAX_SPLITS];
	struct slotlb_prefix pre[SLOTLB_MAX_AUDIENCE];
	const struct st_split *ss;
	const struct st_opt_in *oi;
	size_t n_ss, n_oi, i, j, k, n;
	int err, first = 0;

	ss = st_snapshot_splits(s, app_id, &n_ss);
	for (i = 0; i < n_ss; i = j) {
		for (n = 0, j = i;
		     j < n_ss && ss[j].from_slot == ss[i].from_slot; j++, n++) {
			if (n == SLOTLB_MAX_SPLITS)
				continue;
			memset(&sp[n], 0, sizeof(sp[n]));
			sp[n].from = ss[j].from;
			sp[n].to = ss[j].to;
			sp[n].from_slot = (uint8_t)ss[j].from_slot;
			sp[n].to_slot = (uint8_t)ss[j].slot;
		}
		err = n > SLOTLB_MAX_SPLITS
			      ? -ENOSPC
			      : slotlb_routing_set_splits(
					r, (uint8_t)ss[i].from_slot, sp, n);
		if (err && !first)
			first = err;
	}
	oi = st_snapshot_opt_ins(s, app_id, &n_oi);
	for (i = 0; i < n_oi; i = j) {
		uint32_t from = oi[i].from_slot, to = oi[i].slot;

		/* the element holds one list per pair: what is there for
		 * this pair already (a preview's audience) stays in it */
		for (n = 0, k = 0; k < r->audience_count; k++)
			if (r->audience[k].from_slot == from &&
			    r->audience[k].to_slot == to &&
			    n < SLOTLB_MAX_AUDIENCE)
				pre[n++] = r->audience[k];
		for (j = i;
		     j < n_oi && oi[j].from_slot == from && oi[j].slot == to;
		     j++, n++)
			if (n < SLOTLB_MAX_AUDIENCE)
				pre[n] = oi[j].prefix;
		err = n > SLOTLB_MAX_AUDIENCE
			      ? -ENOSPC
			      : slotlb_routing_set_audience(
					r, (uint8_t)from, (uint8_t)to, pre, n);
		if (err && !first)
			first = err;
	}
	return first;
}

void traffic_view_of(struct daemon *d, const struct st_snapshot *s, size_t a,
		     struct traffic_view *v)
{
	const struct st_deployment *dep;
	const struct st_split *ss;
	const struct st_opt_in *oi;
	struct traffic_slot *t;
	uint32_t app_id = s->apps[a].id, others = 0;
	size_t i, n_ss, n_oi;

	memset(v, 0, sizeof(*v));
	snprintf(v->app, sizeof(v->app), "%s", s->apps[a].name);
	for (i = 0; i < s->n_slots; i++) {
		const struct st_slot *sl = &s->slots[i];

		if (sl->app_id != app_id || v->n_slots == SLOTLB_MAX_SLOTS)
			continue;
		t = &v->slots[v->n_slots++];
		snprintf(t->name, sizeof(t->name), "%s", sl->name);
		t->index = sl->index;
		dep = st_snapshot_deployment(s, sl->deployment);
		if (dep) {
			t->deployment = dep->id;
			memcpy(t->version, dep->version, sizeof(t->version));
		}
	}
	ss = st_snapshot_splits(s, app_id, &n_ss);
	oi = st_snapshot_opt_ins(s, app_id, &n_oi);
	v->measured = !traffic_measure_get(d, app_id, &v->m);
	for (t = v->slots; t < v->slots + v->n_slots; t++) {
		for (i = 0; i < n_ss; i++)
			if (ss[i].from_slot == FROM_SLOT &&
			    ss[i].slot == t->index) {
				t->share = ss[i].to - ss[i].from;
				t->range_from = ss[i].from;
				t->range_to = ss[i].to;
				others += t->share;
			}
		for (i = 0; i < n_oi; i++)
			if (oi[i].from_slot == FROM_SLOT &&
			    oi[i].slot == t->index &&
			    t->n_opt_in < SLOTLB_MAX_AUDIENCE)
				t->opt_in[t->n_opt_in++] = oi[i].prefix;
		if (v->measured && t->index < SLOTLB_MAX_SLOTS)
			t->taken = v->m.taken[t->index];
	}
	for (t = v->slots; t < v->slots + v->n_slots; t++)
		if (t->index == FROM_SLOT)
			t->share = others < SLOTLB_SHARE_SCALE
					   ? SLOTLB_SHARE_SCALE - others
					   : 0;
}

int ops_traffic_view(struct daemon *d, const char *app, struct traffic_view *v)
{
	struct st_snapshot s;
	int err;

	err = ops_snapshot(d, app, &s);
	if (err)
		return err;
	if (s.n_apps == 1)
		traffic_view_of(d, &s, 0, v);
	else
		err = -ENOENT;
	state_snapshot_free(&s);
	return err;
}

int ops_traffic_lookup(struct daemon *d, const char *app,
		       const __be32 (*addr)[4], const uint8_t *family, size_t n,
		       struct slotlb_route *out)
{
	struct slotlb_routing r;
	struct st_app a;
	size_t i;
	int err;

	pthread_mutex_lock(&d->lock);
	err = state_app_find(d->st, app, &a);
	if (!err)
		err = slotlb_routing_get(d->lb, a.id, &r);
	pthread_mutex_unlock(&d->lock);
	for (i = 0; i < n && !err; i++)
		err = slotlb_route_client(&r, FROM_SLOT, addr[i], family[i],
					  &out[i]);
	return err;
}

/* Index of the app's slot called name, or -1. */
static int slot_index(const struct st_snapshot *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n_slots; i++)
		if (!strcmp(s->slots[i].name, name))
			return (int)s->slots[i].index;
	return -1;
}

static const char *slot_name(const struct st_snapshot *s, uint32_t index)
{
	size_t i;

	for (i = 0; i < s->n_slots; i++)
		if (s->slots[i].index == index)
			return s->slots[i].name;
	return "?";
}

/* "staging=10,qa=2.5" of share[], or "none". */
static void shares_text(const struct st_snapshot *s, const uint16_t *share,
			char *buf, size_t len)
{
	char pct[SLOTLB_SHARE_STRLEN];
	size_t i, at = 0;

	buf[0] = 0;
	for (i = 0; i < s->n_slots && at < len; i++) {
		uint32_t x = s->slots[i].index;

		if (x >= SLOTLB_MAX_SLOTS || !share[x])
			continue;
		slotlb_format_share(share[x], pct, sizeof(pct));
		at += (size_t)snprintf(buf + at, len - at, "%s%s=%s",
				       at ? "," : "", s->slots[i].name, pct);
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* The shares the request asks for, per slot; 0 or fails res. */
static int wanted_shares(const struct st_snapshot *s, const char *app,
			 const struct traffic_change *c, int slot,
			 uint16_t *share, struct op_result *res)
{
	char pct[SLOTLB_SHARE_STRLEN], mine[SLOTLB_SHARE_STRLEN];
	uint32_t total = 0;
	size_t i;
	int x;

	if (c->clear)
		memset(share, 0, SLOTLB_MAX_SLOTS * sizeof(*share));
	if (c->set_distribution) {
		memset(share, 0, SLOTLB_MAX_SLOTS * sizeof(*share));
		for (i = 0; i < c->dist.n; i++) {
			x = slot_index(s, c->dist.target[i].slot);
			if (x < 0) {
				op_fail(res, 404, "%s/%s: no such slot", app,
					c->dist.target[i].slot);
				return -ENOENT;
			}
			if (x == FROM_SLOT) {
				op_fail(res, 400,
					"distribution: %s: the shares divide %s's own clients, it keeps what the other slots do not take",
					c->dist.target[i].slot,
					c->dist.target[i].slot);
				return -EINVAL;
			}
			share[x] = c->dist.target[i].share;
		}
	}
	if (slot >= 0 && c->clear_slot)
		share[slot] = 0;
	if (slot >= 0 && c->set_share) {
		if (slot == FROM_SLOT) {
			op_fail(res, 400,
				"percent: %s/%s keeps what the other slots do not take; give them their shares instead",
				app, c->slot);
			return -EINVAL;
		}
		share[slot] = c->share;
	}
	for (i = 0; i < SLOTLB_MAX_SLOTS; i++)
		total += share[i];
	if (total > SLOTLB_SHARE_SCALE) {
		slotlb_format_share(total, pct, sizeof(pct));
		slotlb_format_share(c->share, mine, sizeof(mine));
		op_fail(res, 400,
			"percent: %s=%s would bring the shares to %s%% (over 100%%)",
			c->slot, mine, pct);
		return -EINVAL;
	}
	return 0;
}

/* Lay the shares out from the stored ranges into out[]. */
static int layout(const struct st_snapshot *s, uint32_t app_id, const char *app,
		  const uint16_t *share, struct slotlb_split *out,
		  size_t *n_out, struct slotlb_layout_report *report,
		  struct op_result *res)
{
	struct slotlb_split prev[SLOTLB_MAX_SPLITS];
	struct slotlb_share want[SLOTLB_MAX_SLOTS];
	const struct st_split *ss;
	size_t i, n_ss, n_prev = 0, n_want = 0;
	int err;

	ss = st_snapshot_splits(s, app_id, &n_ss);
	for (i = 0; i < n_ss && n_prev < SLOTLB_MAX_SPLITS; i++) {
		if (ss[i].from_slot != FROM_SLOT)
			continue;
		memset(&prev[n_prev], 0, sizeof(prev[n_prev]));
		prev[n_prev].from = ss[i].from;
		prev[n_prev].to = ss[i].to;
		prev[n_prev].from_slot = FROM_SLOT;
		prev[n_prev].to_slot = (uint8_t)ss[i].slot;
		n_prev++;
	}
	for (i = 0; i < SLOTLB_MAX_SLOTS; i++)
		if (share[i]) {
			want[n_want].to_slot = (uint8_t)i;
			want[n_want].share = share[i];
			n_want++;
		}
	if (n_want > SLOTLB_MAX_SPLITS) {
		op_fail(res, 409, "%s: at most %d slots take a share", app,
			SLOTLB_MAX_SPLITS);
		return -E2BIG;
	}
	err = slotlb_split_layout(FROM_SLOT, prev, n_prev, want, n_want, out,
				  n_out, report);
	if (err)
		op_fail(res, 500, "%s: laying the shares out: %s", app,
			strerror(-err));
	return err;
}

/* Opt-ins out, then in, inside the open transaction. */
static int change_opt_ins(struct daemon *d, const struct st_snapshot *s,
			  const char *app, uint32_t app_id, int slot,
			  const struct traffic_change *c, struct op_result *res)
{
	char p[SLOTLB_PREFIX_STRLEN];
	const struct st_opt_in *oi;
	size_t at = 0, i, n_oi;
	int err;

	if (c->clear)
		err = state_traffic_clear(d->st, app_id, -1);
	else if (slot >= 0 && c->clear_slot)
		err = state_traffic_clear(d->st, app_id, slot);
	else
		err = 0;
	if (!err && c->n_remove)
		err = state_traffic_opt_in_remove(d->st, app_id, FROM_SLOT,
						  (uint32_t)slot, c->remove,
						  c->n_remove, &at);
	if (err == -ENOENT) {
		slotlb_format_prefix(&c->remove[at], p, sizeof(p));
		op_fail(res, 404, "%s/%s: %s: not an opt-in of %s", app,
			c->slot, p, c->slot);
		return err;
	}
	if (!err && c->n_add)
		err = state_traffic_opt_in_add(d->st, app_id, FROM_SLOT,
					       (uint32_t)slot, c->add, c->n_add,
					       &at);
	if (err == -EEXIST) {
		slotlb_format_prefix(&c->add[at], p, sizeof(p));
		oi = st_snapshot_opt_ins(s, app_id, &n_oi);
		for (i = 0; i < n_oi; i++)
			if (!memcmp(&oi[i].prefix, &c->add[at],
				    sizeof(oi[i].prefix)))
				break;
		op_fail(res, 409,
			"%s/%s: %s: already an opt-in of %s (remove it there first)",
			app, c->slot, p,
			i < n_oi ? slot_name(s, oi[i].slot) : "another slot");
		return err;
	}
	if (err)
		op_fail(res, 500, "%s: database: %s", app, strerror(-err));
	return err;
}

/* Do two elements hold the same rules? */
static bool same_rules(const struct slotlb_routing *a,
		       const struct slotlb_routing *b)
{
	return a->split_count == b->split_count &&
	       a->audience_count == b->audience_count &&
	       !memcmp(a->split, b->split, sizeof(a->split)) &&
	       !memcmp(a->audience, b->audience, sizeof(a->audience));
}

/* The history entry: what changed, by slot names and counts only
 * (the prefixes are clients' addresses; `slot traffic` shows them). */
static void history_of(const struct st_snapshot *s, const char *app,
		       const struct traffic_change *c, const uint16_t *before,
		       const uint16_t *after,
		       const struct slotlb_layout_report *report,
		       const struct slotlb_routing *r, struct st_history *h,
		       char *detail, size_t len, json_t *deps)
{
	char was[160], now[160];
	size_t at = 0, i;

	memset(h, 0, sizeof(*h));
	snprintf(h->app, sizeof(h->app), "%s", app);
	snprintf(h->action, sizeof(h->action), "traffic");
	snprintf(h->slot, sizeof(h->slot), "%s", slot_name(s, FROM_SLOT));
	snprintf(h->target_slot, sizeof(h->target_slot), "%s",
		 c->slot && strcmp(c->slot, h->slot) ? c->slot : "");
	snprintf(h->trigger, sizeof(h->trigger), "%s", c->trigger);
	snprintf(h->outcome, sizeof(h->outcome), "ok");
	shares_text(s, before, was, sizeof(was));
	shares_text(s, after, now, sizeof(now));
	detail[0] = 0;
	if (c->clear)
		at += (size_t)snprintf(detail, len, "rules cleared; ");
	if (strcmp(was, now))
		at += (size_t)snprintf(detail + at, len - at,
				       "shares %s (were %s); ", now, was);
	if (c->clear_slot && at < len)
		at += (size_t)snprintf(detail + at, len - at,
				       "%s: share and opt-ins cleared; ",
				       c->slot);
	if (c->n_add && at < len)
		at += (size_t)snprintf(detail + at, len - at,
				       "opt-ins of %s: %zu added; ", c->slot,
				       c->n_add);
	if (c->n_remove && at < len)
		at += (size_t)snprintf(detail + at, len - at,
				       "opt-ins of %s: %zu removed; ", c->slot,
				       c->n_remove);
	for (i = 0; report->relocated && i < SLOTLB_MAX_SLOTS && at < len; i++)
		if (report->relocated >> i & 1)
			at += (size_t)snprintf(
				detail + at, len - at,
				"%s's range moved to make room, some of its clients changed slot; ",
				slot_name(s, (uint32_t)i));
	if (at >= 2 && at < len)
		detail[at - 2] = 0;
	h->detail = detail;
	for (i = 0; i < s->n_slots; i++) {
		uint32_t x = s->slots[i].index;

		if (x >= SLOTLB_MAX_SLOTS || !r->deployment[x])
			continue;
		if (x == FROM_SLOT || after[x] ||
		    (c->slot && !strcmp(c->slot, s->slots[i].name)))
			json_object_set_new(deps, s->slots[i].name,
					    json_integer(r->deployment[x]));
	}
}

/* The shares stored now, per slot. */
static void shares_now(const struct st_snapshot *s, uint32_t app_id,
		       uint16_t *share)
{
	const struct st_split *ss;
	size_t i, n;

	memset(share, 0, SLOTLB_MAX_SLOTS * sizeof(*share));
	ss = st_snapshot_splits(s, app_id, &n);
	for (i = 0; i < n; i++)
		if (ss[i].from_slot == FROM_SLOT &&
		    ss[i].slot < SLOTLB_MAX_SLOTS)
			share[ss[i].slot] = ss[i].to - ss[i].from;
}

int ops_traffic_change(struct daemon *d, const char *app,
		       const struct traffic_change *c, struct op_result *res)
{
	uint16_t before[SLOTLB_MAX_SLOTS], after[SLOTLB_MAX_SLOTS];
	struct slotlb_split out[SLOTLB_MAX_SPLITS];
	struct slotlb_layout_report report = {0};
	struct slotlb_routing was, next, old;
	struct st_snapshot s = {0}, fresh = {0};
	struct st_history h;
	struct st_app a;
	char detail[512], *deps_text = NULL;
	json_t *deps = json_object();
	bool had_old = false;
	size_t n_out = 0;
	int err, slot = -1;

	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, NULL, &a, NULL, false, res);
	if (err)
		goto out;
	err = state_snapshot(d->st, a.id, &s);
	if (err) {
		op_fail(res, 500, "%s: database: %s", app, strerror(-err));
		goto out;
	}
	if ((c->n_add || c->n_remove || c->set_share || c->clear_slot) &&
	    !c->slot) {
		op_fail(res, 400, "%s: opt-ins and a percent need a slot", app);
		err = -EINVAL;
		goto out;
	}
	if (c->slot) {
		slot = slot_index(&s, c->slot);
		if (slot < 0) {
			op_fail(res, 404, "%s/%s: no such slot", app, c->slot);
			err = -ENOENT;
			goto out;
		}
	}
	shares_now(&s, a.id, before);
	memcpy(after, before, sizeof(after));
	err = wanted_shares(&s, app, c, slot, after, res);
	if (!err)
		err = layout(&s, a.id, app, after, out, &n_out, &report, res);
	if (err)
		goto out;
	routing_from_snapshot(&s, a.id, &was);

	err = state_begin(d->st);
	if (!err)
		err = change_opt_ins(d, &s, app, a.id, slot, c, res);
	else
		op_fail(res, 500, "%s: database: %s", app, strerror(-err));
	if (err)
		goto out;
	err = state_traffic_splits_set(d->st, a.id, FROM_SLOT, out, n_out);
	if (!err)
		err = routing_from_state(d->st, a.id, &next);
	if (err == -ENOSPC) {
		op_fail(res, 409,
			"%s: the app's routing holds at most %d audience prefixes (opt-ins and a preview's audience together)",
			app, SLOTLB_MAX_AUDIENCE);
		goto out;
	}
	if (err) {
		op_fail(res, err == -EEXIST ? 409 : 500,
			"%s: traffic rules: %s", app, strerror(-err));
		goto out;
	}
	if (same_rules(&was, &next)) {
		/* nothing to do: no element update, no history entry */
		res->status = 200;
		goto out;
	}
	history_of(&s, app, c, before, after, &report, &next, &h, detail,
		   sizeof(detail), deps);
	deps_text = json_dumps(deps, JSON_COMPACT);
	h.deployments = deps_text;
	err = state_history_add(d->st, &h, &res->history_id);
	if (!err)
		err = publish_routing(d, a.id, &old, &had_old);
	if (err) {
		op_fail(res, 500, "%s: routing element update: %s", app,
			strerror(-err));
		goto out;
	}
	err = state_commit(d->st);
	if (err) {
		op_fail(res, 500, "%s: database commit: %s", app,
			strerror(-err));
		restore_routing(d, a.id, &old, had_old);
		goto out;
	}
	res->status = 200;
	log_msg("traffic %s: %s", app, detail);
	if (!state_snapshot(d->st, a.id, &fresh))
		traffic_measure_reset(d, &fresh, a.id);
out:
	state_rollback(d->st);
	pthread_mutex_unlock(&d->lock);
	state_snapshot_free(&s);
	state_snapshot_free(&fresh);
	json_decref(deps);
	free(deps_text);
	return err;
}

int traffic_reset_for_swap(struct daemon *d, uint32_t app_id,
			   const struct st_slot *a, const struct st_slot *b,
			   char *detail, size_t len)
{
	const struct st_slot *slots[2] = {a, b};
	char pct[SLOTLB_SHARE_STRLEN];
	uint32_t share;
	size_t i, at;
	int err;

	for (i = 0; i < 2 && slots[i]; i++) {
		err = state_traffic_split_drop(d->st, app_id, slots[i]->index,
					       &share);
		if (err)
			return err;
		at = strlen(detail);
		if (!share || at >= len)
			continue;
		slotlb_format_share(share, pct, sizeof(pct));
		snprintf(detail + at, len - at,
			 "; traffic share of %s (%s%%) reset", slots[i]->name,
			 pct);
	}
	return 0;
}
