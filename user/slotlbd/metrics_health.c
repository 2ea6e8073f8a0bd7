/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Health checks' series (health.c): per backend that a slot's health
 * policy probes, whether it passes its probes and whether it takes new
 * connections (a down backend kept in the ring by fail open does; a
 * drained or zero-weighted one does not).
 * Backends nothing probes have no series: "unknown" is not "up".
 *
 * One series per probed backend, so the cardinality is that of the
 * health-checked deployments' backends, not opt-in as the per-backend
 * traffic series (--metrics-backends) are.
 */
#include <stdio.h>
#include "addr.h"
#include "health.h"
#include "metrics.h"

/* The labels of the deployments' backends, as metrics_dp.c writes them. */
static const char *app_of(const struct st_snapshot *s, uint32_t app_id)
{
	size_t i;

	for (i = 0; i < s->n_apps; i++)
		if (s->apps[i].id == app_id)
			return s->apps[i].name;
	return "";
}

static void health_family(struct buf *b, struct daemon *d,
			  const struct st_snapshot *s, bool ring)
{
	char be[SLOTLB_ENDPOINT_STRLEN], version[2 * SLOTLB_VERSION_LEN];
	const char *name = ring ? "slotlb_backend_health_in_ring"
				: "slotlb_backend_health_up";
	struct health_view v;
	bool named = false;
	size_t i, k;

	for (i = 0; i < s->n_deployments; i++) {
		const struct st_deployment *dep = &s->deployments[i];

		for (k = 0; k < dep->backend_count; k++) {
			const struct st_backend *bk =
				&s->backends[dep->backend_first + k];

			if (!health_view(d, dep->serial, bk->id, &v) ||
			    slotlb_format_backend(&bk->be, be, sizeof(be)))
				continue;
			if (!named)
				family(b, name, "gauge",
				       ring ? "1 if the probed backend takes new "
					      "connections (up, or down and kept "
					      "by fail open), 0 if not."
					    : "1 if the backend passes its health "
					      "probes, 0 if it is down.");
			named = true;
			put(b,
			    "%s{app=\"%s\",deployment=\"%u\",version=\"%s\","
			    "backend=\"%s\"} %d\n",
			    name, app_of(s, dep->app_id), dep->id,
			    label_value(dep->version, version, sizeof(version)),
			    be,
			    ring ? (!v.down || v.in_ring) &&
					    st_backend_ring_weight(bk) != 0
				 : !v.down);
		}
	}
}

void metrics_health(struct buf *b, struct daemon *d,
		    const struct st_snapshot *s)
{
	health_family(b, d, s, false);
	health_family(b, d, s, true);
}
