/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Start-up reconcile: make the pinned maps equal the database without
 * detaching the program or touching the flow table, so the daemon can be
 * restarted (or killed) at any moment without losing a connection.
 *
 * Order matters as it does in the operations: backends and rings first
 * (nothing references them until routing says so), then endpoints and
 * routing elements, and only then removal of what the database does not
 * know (rings and backends of an operation that died before its commit).
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include "addr.h"
#include "daemon.h"

const char *reconcile_pin_root; /* set by main: where "endpoints" lives */

/* A ring is republished only when its description differs: rebuilding
 * thousands of 64K-entry rings would make every restart slow, and a
 * deployment id is bound to one backend set until it is retired. */
static int sync_deployment(struct daemon *d, const struct st_snapshot *s,
			   const struct st_deployment *dep, int *published)
{
	struct slotlb_deployment_info want = {0}, have;
	uint32_t *ids, *weights;
	bool edited = false;
	size_t i;
	int err = 0;

	ids = calloc(dep->backend_count + 1, sizeof(*ids));
	weights = calloc(dep->backend_count + 1, sizeof(*weights));
	if (!ids || !weights) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < dep->backend_count && !err; i++) {
		const struct st_backend *b =
			&s->backends[dep->backend_first + i];

		ids[i] = b->id;
		weights[i] = st_backend_ring_weight(b);
		edited |= b->edited;
		err = slotlb_backend_set(d->lb, b->id, &b->be);
	}
	if (err)
		goto out;
	want.app_id = dep->app_id < 0 ? UINT32_MAX : (uint32_t)dep->app_id;
	want.backend_count = (uint32_t)dep->backend_count;
	memcpy(want.version, dep->version, sizeof(want.version));
	/* a ring edited since the deploy (backend drain, weight) may not
	 * have reached the map before a crash: rebuild it */
	if (!edited && !slotlb_deployment_info(d->lb, dep->id, &have) &&
	    have.backend_count == want.backend_count &&
	    !strncmp(have.version, want.version, sizeof(want.version)) &&
	    (dep->app_id < 0 || have.app_id == want.app_id))
		goto out;
	err = slotlb_deployment_publish(d->lb, dep->id, &want, ids, weights,
					dep->backend_count);
	if (!err)
		(*published)++;
out:
	free(ids);
	free(weights);
	return err;
}

/* Endpoints in the map that the database does not know: the library
 * cannot list them, so walk the pinned map itself. */
static int prune_endpoints(struct daemon *d, const struct st_snapshot *s,
			   const char *pin_root, int *removed)
{
	struct slotlb_endpoint_key key, next, *stale = NULL, *grown;
	char path[PATH_MAX];
	size_t n = 0, i, j;
	void *prev = NULL;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/endpoints",
		 pin_root ? pin_root : SLOTLB_PIN_ROOT);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		for (j = 0; j < s->n_endpoints; j++)
			if (!memcmp(&s->endpoints[j].key, &next, sizeof(next)))
				break;
		if (j == s->n_endpoints) {
			grown = realloc(stale, (n + 1) * sizeof(*stale));
			if (!grown) {
				err = -ENOMEM;
				goto out;
			}
			stale = grown;
			stale[n++] = next;
		}
		key = next;
		prev = &key;
	}
	/* deleted after the walk: deleting during it restarts the walk */
	for (i = 0; i < n; i++)
		if (!slotlb_endpoint_delete(d->lb, &stale[i]))
			(*removed)++;
out:
	free(stale);
	close(fd);
	return err;
}

int reconcile(struct daemon *d)
{
	return reconcile_since(d, NULL);
}

/* Mark the snapshot's apps, deployments and backends known in k. */
static void known_add(struct reconcile_known *k, const struct st_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->n_apps; i++)
		k->apps[s->apps[i].id] = 1;
	for (i = 0; i < s->n_deployments; i++)
		k->deployments[s->deployments[i].id] = 1;
	for (i = 0; i < s->n_backends; i++)
		k->backends[s->backends[i].id] = 1;
}

int reconcile_note_known(struct daemon *d, struct reconcile_known *k)
{
	struct st_snapshot s = {0};
	int err;

	err = state_snapshot(d->st, -1, &s);
	if (err)
		return err;
	known_add(k, &s);
	state_snapshot_free(&s);
	return 0;
}

/* Was id (below n) known to the last reconcile of k? Without k, any id
 * may be stale: every one is checked. */
static bool maybe_stale(const uint8_t *prev, uint32_t id)
{
	return !prev || prev[id];
}

int reconcile_since(struct daemon *d, struct reconcile_known *k)
{
	const uint8_t *prev_apps = k && k->valid ? k->apps : NULL;
	const uint8_t *prev_deps = k && k->valid ? k->deployments : NULL;
	const uint8_t *prev_bes = k && k->valid ? k->backends : NULL;
	struct st_snapshot s = {0};
	struct slotlb_routing want, have;
	struct slotlb_deployment_info info;
	uint8_t *known = NULL;
	int published = 0, routed = 0, removed = 0, pruned = 0, orphans, err;
	size_t i;
	uint32_t id;

	/* a deploy that died between its two transactions (hook) left a
	 * deployment nothing refers to: retire it, and its maps go below */
	/* In a fleet another node may be between the two transactions
	 * of its deploy: the drain thread retires what it left once no
	 * live node deploys it (drain.c, store_drain.c). */
	orphans = 0;
	err = d->store ? 0 : state_deployment_retire_orphans(d->st, &orphans);
	if (err) {
		log_msg("Error: reconcile: database: %s", strerror(-err));
		return err;
	}
	if (orphans)
		log_msg("reconcile: %d deployments of unfinished deploys retired",
			orphans);
	err = state_snapshot(d->st, -1, &s);
	if (err) {
		log_msg("Error: reconcile: database: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < s.n_deployments; i++) {
		err = sync_deployment(d, &s, &s.deployments[i], &published);
		if (err) {
			log_msg("Error: reconcile: deployment %u: %s",
				s.deployments[i].id, strerror(-err));
			goto out;
		}
	}
	for (i = 0; i < s.n_endpoints; i++) {
		struct slotlb_endpoint ep = {
			.app_id = s.endpoints[i].app_id,
			.slot = s.endpoints[i].slot,
			.endpoint_id = s.endpoints[i].id,
		};

		err = slotlb_endpoint_set(d->lb, &s.endpoints[i].key, &ep);
		if (err) {
			log_msg("Error: reconcile: endpoint %u: %s",
				s.endpoints[i].id, strerror(-err));
			goto out;
		}
	}
	for (i = 0; i < s.n_apps; i++) {
		/* a rule the element cannot hold was refused when it was
		 * asked for; should one be here anyway, the rest is kept */
		err = routing_from_snapshot(&s, s.apps[i].id, &want);
		if (err)
			log_msg("Error: reconcile: app %s: audience and traffic rules: %s (the others are applied)",
				s.apps[i].name, strerror(-err));
		if (!slotlb_routing_get(d->lb, s.apps[i].id, &have) &&
		    !memcmp(&have, &want, sizeof(want)))
			continue;
		err = slotlb_routing_set(d->lb, s.apps[i].id, &want);
		if (err) {
			log_msg("Error: reconcile: app %s: routing: %s",
				s.apps[i].name, strerror(-err));
			goto out;
		}
		routed++;
	}

	/* what the database does not know goes, now nothing refers to it */
	known = calloc(SLOTLB_MAX_BACKENDS, 1);
	if (!known) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s.n_apps; i++)
		known[s.apps[i].id] = 1;
	for (id = 0; id < SLOTLB_MAX_APPS; id++)
		if (!known[id] && maybe_stale(prev_apps, id) &&
		    !slotlb_routing_get(d->lb, id, &have) &&
		    !slotlb_routing_delete(d->lb, id))
			removed++;
	memset(known, 0, SLOTLB_MAX_BACKENDS);
	for (i = 0; i < s.n_deployments; i++)
		known[s.deployments[i].id] = 1;
	for (id = 1; id < SLOTLB_MAX_DEPLOYMENTS; id++) {
		uint32_t pos0;

		if (known[id] || !maybe_stale(prev_deps, id))
			continue;
		/* info is an array (always found): a ring or a count says
		 * something is there */
		if ((!slotlb_deployment_ring_get(d->lb, id, AF_INET, 0,
						 &pos0) ||
		     !slotlb_deployment_ring_get(d->lb, id, AF_INET6, 0,
						 &pos0) ||
		     (!slotlb_deployment_info(d->lb, id, &info) &&
		      info.backend_count)) &&
		    !slotlb_deployment_remove(d->lb, id))
			removed++;
	}
	memset(known, 0, SLOTLB_MAX_BACKENDS);
	for (i = 0; i < s.n_backends; i++)
		known[s.backends[i].id] = 1;
	for (id = 1; id < SLOTLB_MAX_BACKENDS; id++)
		if (!known[id] && maybe_stale(prev_bes, id))
			slotlb_backend_clear(d->lb, id);
	if (k) {
		memset(k, 0, sizeof(*k));
		known_add(k, &s);
		k->valid = true;
	}
	err = prune_endpoints(d, &s, reconcile_pin_root, &pruned);
	if (err) {
		log_msg("Error: reconcile: stale endpoints: %s",
			strerror(-err));
		goto out;
	}
	log_msg("reconcile: %zu apps, %zu endpoints, %zu deployments (%d rings published), %d routing elements written, %d stale objects and %d stale endpoints removed",
		s.n_apps, s.n_endpoints, s.n_deployments, published, routed,
		removed, pruned);
out:
	free(known);
	state_snapshot_free(&s);
	return err;
}

void reapply_interfaces(struct daemon *d)
{
	struct st_iface *list = NULL;
	unsigned int ifindex;
	size_t n = 0, i;
	int err;

	err = state_iface_list(d->st, &list, &n);
	if (err) {
		log_msg("Error: interfaces: database: %s", strerror(-err));
		return;
	}
	for (i = 0; i < n; i++) {
		ifindex = if_nametoindex(list[i].ifname);
		if (!ifindex) {
			log_msg("Error: %s: no such interface, not attached",
				list[i].ifname);
			continue;
		}
		/* replaces our older program atomically, flows untouched */
		err = slotlb_attach(d->lb, (int)ifindex,
				    list[i].generic ? SLOTLB_XDP_GENERIC
						    : SLOTLB_XDP_NATIVE,
				    list[i].force,
				    slotlb_parse_role(list[i].role));
		if (err)
			log_msg("Error: %s: attach: %s", list[i].ifname,
				strerror(-err));
		else
			log_msg("interface %s attached (%s)", list[i].ifname,
				list[i].role);
	}
	free(list);
}
