/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * GET /metrics in the Prometheus text format: one state snapshot and one
 * history tally taken under the lock, then each section (metrics.h)
 * writes its families from them and from the data path's counters.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL,
			      b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		char *grown = realloc(b->p, b->cap * 2 + (size_t)n + 4096);

		if (!grown) {
			b->failed = true;
			return;
		}
		b->p = grown;
		b->cap = b->cap * 2 + (size_t)n + 4096;
	}
}

void family(struct buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

const char *label_value(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			buf[o++] = '\\';
			buf[o++] = *s == '\n' ? 'n' : *s;
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = 0;
	return buf;
}

char *metrics_render(struct daemon *d)
{
	struct st_history_tally *tally = NULL;
	struct st_snapshot s = {0};
	struct buf b = {0};
	size_t n_tally = 0;

	pthread_mutex_lock(&d->lock);
	if (state_snapshot(d->st, -1, &s) ||
	    state_history_tally(d->st, &tally, &n_tally)) {
		pthread_mutex_unlock(&d->lock);
		state_snapshot_free(&s);
		return NULL;
	}
	pthread_mutex_unlock(&d->lock);

	metrics_datapath(&b, d, &s);
	metrics_operations(&b, d, &s, tally, n_tally);
	metrics_events(&b, d, &s);
	metrics_health(&b, d, &s);
	free(tally);
	state_snapshot_free(&s);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p ? b.p : strdup("");
}
