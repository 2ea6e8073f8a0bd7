/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The event hooks' series (events.c): deliveries, failed attempts and
 * given-up events per hook, from the hook rows (so restarts do not
 * reset them; a deleted hook's series end with it), and the events the
 * daemon dropped before any hook was tried (since start).
 */
#include <stdlib.h>
#include "events.h"
#include "metrics.h"

/* One counter of every hook of the snapshot's apps. */
struct hook_series {
	const char *name;
	const char *help;
	size_t offset; /* of the int64_t count in struct st_event_hook */
};

static const struct hook_series series[] = {
	{"slotlb_events_delivered_total",
	 "Events an event hook received (2xx, or its executable exited 0).",
	 offsetof(struct st_event_hook, delivered)},
	{"slotlb_events_attempts_failed_total",
	 "Delivery attempts to an event hook that failed (each retried "
	 "after 1, 2, 4 and 8 s, then given up).",
	 offsetof(struct st_event_hook, attempts_failed)},
	{"slotlb_events_failed_total",
	 "Events given up after every attempt to an event hook failed.",
	 offsetof(struct st_event_hook, failed)},
};

void metrics_events(struct buf *b, struct daemon *d,
		    const struct st_snapshot *s)
{
	struct st_event_hook **hooks;
	struct events_counts ec;
	size_t *n, a, i, k;

	hooks = calloc(s->n_apps + 1, sizeof(*hooks));
	n = calloc(s->n_apps + 1, sizeof(*n));
	if (!hooks || !n) {
		b->failed = true;
		goto out;
	}
	pthread_mutex_lock(&d->lock);
	for (a = 0; a < s->n_apps; a++)
		if (state_event_hooks(d->st, s->apps[a].id, 0, &hooks[a],
				      &n[a]))
			n[a] = 0; /* the app went since the snapshot */
	pthread_mutex_unlock(&d->lock);
	for (k = 0; k < sizeof(series) / sizeof(series[0]); k++) {
		family(b, series[k].name, "counter", series[k].help);
		for (a = 0; a < s->n_apps; a++)
			for (i = 0; i < n[a]; i++)
				put(b, "%s{app=\"%s\",hook=\"%lld\"} %lld\n",
				    series[k].name, s->apps[a].name,
				    (long long)hooks[a][i].id,
				    (long long)*(
					    const int64_t
						    *)((const char *)&hooks[a]
									   [i] +
						       series[k].offset));
	}
	events_counts(d, &ec);
	family(b, "slotlb_events_dropped_total", "counter",
	       "Events not queued for their hooks (queue full or out of "
	       "memory), since slotlbd started.");
	put(b, "slotlb_events_dropped_total %llu\n",
	    (unsigned long long)ec.dropped);
out:
	for (a = 0; hooks && a < s->n_apps; a++)
		free(hooks[a]);
	free(hooks);
	free(n);
}
