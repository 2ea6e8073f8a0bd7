// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Layouts of the pinned maps, and the upgrade from an older one.
 *
 * Pinned maps outlive the program that made them, so a new build may
 * find the maps of an older layout (include/slotlb/abi.h,
 * SLOTLB_LAYOUT_VERSION) under its pin root. The `layout` map says which
 * one; release 69017f1 (layout 1) pinned none and is known by the
 * shapes of its maps. A layout this build does not know (a newer one, an
 * older one it has no conversion from, or its own version over other
 * maps) is refused with -ESTALE and left as it is.
 *
 * An upgrade keeps every connection:
 *
 *  1. It takes the pin root's lock (the routing writer's flock: no other
 *     writer, e.g. the old slotlbd, may run) and builds the new set of
 *     pins in a staging directory beside the root: each map whose
 *     meaning did not change is the very same map, pinned there too
 *     (the flow table above all: nothing is copied, nothing is lost);
 *     each map the layout change touched is created afresh and filled
 *     by its conversion from the old one; maps new in this layout are
 *     created empty.
 *  2. The new program is loaded over that set and replaces the old one
 *     on every interface where it runs (XDP_FLAGS_REPLACE: one netlink
 *     call per interface, no packet meets an empty hook). If one
 *     replacement fails, those done are put back and nothing changed.
 *     Flows the old program pins after the first conversion are not in
 *     the new tables yet: until a second conversion, once the old
 *     program is gone, the new program finds their replies in the old
 *     flow table (its legacy_flows for layout 1's, legacy_new for
 *     layout 2's half-open table, bpf/upgrade.bpf.h).
 *  3. After an RCU grace period (no old program run is left), the two
 *     directories are exchanged in one rename (RENAME_EXCHANGE), so the
 *     pin root holds either the whole old set or the whole new one, and
 *     the old pins are removed. A crash before the exchange leaves the
 *     old set, and the next start upgrades again; one after it leaves
 *     the new set, whose `layout` map says so.
 *
 * The conversions of each older layout are in steps[] below; adding a
 * layout means adding its conversion from every layout still upgraded
 * from.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "lib_int.h"
#include "upgrade_int.h"
#include "slotlb.skel.h"

/* Layouts this build upgrades from, each straight to this one. */
static const struct step *const steps[] = {
	&lib_upgrade_from_v1,
	&lib_upgrade_from_v2,
};

#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static int refuse(struct slotlb *lb, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct slotlb *lb, int err, const char *fmt, ...)
{
	va_list ap;

	if (lb->why && lb->why_len) {
		va_start(ap, fmt);
		vsnprintf(lb->why, lb->why_len, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* The flow tables are sized at load: any size is this layout's. */
static bool sized_at_load(const char *name)
{
	static const char *const names[] = {"flows4", "flows6", "replies6",
					    "reply_index", "flows_new"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* FNV-1a over the shapes of the maps this build pins, so a map changed
 * without a new SLOTLB_LAYOUT_VERSION does not pass for the old one. */
static uint32_t fingerprint(struct bpf_object *obj)
{
	uint32_t h = 2166136261u, v[5];
	struct bpf_map *map;
	const char *name;
	size_t i;

	bpf_object__for_each_map(map, obj)
	{
		if (!bpf_map__pin_path(map))
			continue;
		name = bpf_map__name(map);
		v[0] = bpf_map__type(map);
		v[1] = bpf_map__key_size(map);
		v[2] = bpf_map__value_size(map);
		v[3] = bpf_map__map_flags(map);
		v[4] = sized_at_load(name) ? 0 : bpf_map__max_entries(map);
		for (i = 0; name[i]; i++)
			h = (h ^ (uint8_t)name[i]) * 16777619u;
		for (i = 0; i < sizeof(v); i++)
			h = (h ^ ((const uint8_t *)v)[i]) * 16777619u;
	}
	return h;
}

static int pinned_map(const char *dir, const char *name,
		      struct bpf_map_info *info)
{
	char path[PATH_MAX + 64];
	__u32 len = sizeof(*info);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(info, 0, len);
	if (bpf_obj_get_info_by_fd(fd, info, &len)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static bool same_shape(const struct bpf_map_info *info,
		       const struct map_shape *s)
{
	return info->type == s->type && info->key_size == s->key &&
	       info->value_size == s->value &&
	       (!s->max_entries || info->max_entries == s->max_entries) &&
	       info->map_flags == s->flags;
}

/* This build's shape of map (the flow table at any size). */
static void our_shape(struct bpf_map *map, struct map_shape *s)
{
	s->name = bpf_map__name(map);
	s->type = bpf_map__type(map);
	s->key = bpf_map__key_size(map);
	s->value = bpf_map__value_size(map);
	s->max_entries = sized_at_load(s->name) ? 0 : bpf_map__max_entries(map);
	s->flags = bpf_map__map_flags(map);
}

static const struct map_shape *step_shape(const struct step *st,
					  const char *name)
{
	size_t i;

	for (i = 0; i < st->n_maps; i++)
		if (!strcmp(st->maps[i].name, name))
			return &st->maps[i];
	return NULL;
}

static const struct migration *step_migration(const struct step *st,
					      const char *name)
{
	size_t i;

	for (i = 0; i < st->n_migrations; i++)
		if (!st->migrations[i].from &&
		    !strcmp(st->migrations[i].map, name))
			return &st->migrations[i];
	return NULL;
}

/* The layout pinned under root: 0 when nothing is pinned there (a new
 * root), its version, or -ESTALE with why filled. */
static int pinned_layout(struct slotlb *lb, const struct step **step)
{
	struct bpf_object *obj = lb->skel->obj;
	struct slotlb_layout l = {0};
	struct bpf_map_info info;
	struct map_shape ours;
	const struct map_shape *old;
	const struct step *st;
	struct bpf_map *map;
	__u32 zero = 0;
	bool older = false;
	size_t i;
	int fd;

	*step = NULL;
	fd = pinned_map(lb->pin_root, "layout", &info);
	if (fd >= 0) {
		if (info.value_size != sizeof(l) ||
		    bpf_map_lookup_elem(fd, &zero, &l))
			l.version = UINT32_MAX;
		close(fd);
		if (l.version == SLOTLB_LAYOUT_VERSION &&
		    l.fingerprint != fingerprint(obj))
			return refuse(
				lb, -ESTALE,
				"layout %u pinned by a build whose maps differ from this build's (a map changed without a new SLOTLB_LAYOUT_VERSION)",
				l.version);
		if (l.version == SLOTLB_LAYOUT_VERSION)
			return (int)l.version;
		for (i = 0; i < N_STEPS; i++)
			if (steps[i]->from == l.version && !steps[i]->legacy)
				*step = steps[i];
		if (*step)
			return (int)l.version;
		return refuse(
			lb, -ESTALE,
			l.version > SLOTLB_LAYOUT_VERSION
				? "pinned maps have layout %u, newer than this build's %u: run a build that knows it"
				: "pinned maps have layout %u, which this build (layout %u) cannot upgrade",
			l.version, SLOTLB_LAYOUT_VERSION);
	}
	/* No layout map: nothing pinned, a build of this layout from
	 * before the map, or layout 1. Every pinned map must be one of
	 * layout 1's, in its old shape or already in this build's. */
	st = steps[0];
	bpf_object__for_each_map(map, obj)
	{
		if (!bpf_map__pin_path(map))
			continue;
		fd = pinned_map(lb->pin_root, bpf_map__name(map), &info);
		if (fd < 0)
			continue;
		close(fd);
		our_shape(map, &ours);
		old = step_shape(st, ours.name);
		if (same_shape(&info, &ours))
			continue;
		if (old && same_shape(&info, old)) {
			older = true;
			continue;
		}
		return refuse(
			lb, -ESTALE,
			"%s is pinned with key %u, value %u bytes, type %u, flags %#x, %u entries: a layout this build does not know",
			ours.name, info.key_size, info.value_size, info.type,
			info.map_flags, info.max_entries);
	}
	/* and its maps this build no longer has (the flow table) */
	for (i = 0; i < st->n_maps; i++) {
		if (bpf_object__find_map_by_name(obj, st->maps[i].name))
			continue;
		fd = pinned_map(lb->pin_root, st->maps[i].name, &info);
		if (fd < 0)
			continue;
		close(fd);
		if (!same_shape(&info, &st->maps[i]))
			return refuse(
				lb, -ESTALE,
				"%s is pinned with key %u, value %u bytes, type %u, flags %#x: a layout this build does not know",
				st->maps[i].name, info.key_size,
				info.value_size, info.type, info.map_flags);
		older = true;
	}
	if (!older)
		return 0; /* nothing, or this layout: stamped after the load */
	*step = st;
	return (int)st->from;
}

/* Unpin everything in dir and remove it (a stale or old set). */
static void remove_set(const char *dir)
{
	char path[PATH_MAX + 256];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

static int lock_dir(const char *dir, int *fd_out)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

void lib_upgrade_free(struct slotlb *lb)
{
	struct lib_upgrade *u = lb->upgrade;
	size_t i;

	if (!u)
		return;
	for (i = 0; i < u->n_conv; i++)
		close(u->conv[i].old_fd);
	for (i = 0; i < u->n_swapped; i++)
		close(u->swapped[i].old_prog_fd);
	if (u->staging_fd >= 0) {
		/* not exchanged: the staged set goes, the root stays */
		remove_set(u->staging);
		close(u->staging_fd);
	}
	if (u->root_fd >= 0)
		close(u->root_fd);
	free(u);
	lb->upgrade = NULL;
}

/* Point map at the staging directory: kept (the pinned map itself,
 * pinned there too at load) or fresh (converted, or new). */
static int stage_map(struct slotlb *lb, struct lib_upgrade *u,
		     struct bpf_map *map)
{
	char path[PATH_MAX + 64];
	const struct map_shape *old;
	const struct migration *m;
	struct bpf_map_info info;
	struct map_shape ours;
	int fd, err;

	our_shape(map, &ours);
	snprintf(path, sizeof(path), "%s/%s", u->staging, ours.name);
	err = bpf_map__set_pin_path(map, path);
	if (err)
		return err;
	fd = pinned_map(lb->pin_root, ours.name, &info);
	if (fd == -ENOENT)
		return 0; /* new in this layout: created empty */
	if (fd < 0)
		return fd;
	m = step_migration(u->step, ours.name);
	old = step_shape(u->step, ours.name);
	/* A map the layout change touched is converted from its old shape
	 * (even one of the same size: layout 2's flows6), and only from it
	 * (a layout map saying 2 over other maps is not layout 2); a layout
	 * 1 set, known by shapes alone, may hold it in this build's. */
	if (m && old && same_shape(&info, old)) {
		if (u->n_conv == MAX_CONVERT) {
			close(fd);
			return -E2BIG;
		}
		u->conv[u->n_conv].map = map;
		u->conv[u->n_conv].old_fd = fd;
		u->conv[u->n_conv].m = m;
		u->n_conv++;
		return 0;
	}
	if (m && !(u->step->legacy && same_shape(&info, &ours))) {
		close(fd);
		return refuse(
			lb, -ESTALE,
			"%s: pinned with key %u, value %u bytes, type %u, flags %#x: not layout %u's (key %u, value %u bytes)",
			ours.name, info.key_size, info.value_size, info.type,
			info.map_flags, u->step->from, old ? old->key : 0,
			old ? old->value : 0);
	}
	if (!same_shape(&info, &ours)) {
		close(fd);
		return refuse(
			lb, -ESTALE,
			"%s: pinned with key %u, value %u bytes, and layout %u has no conversion for it",
			ours.name, info.key_size, info.value_size,
			u->step->from);
	}
	if (!strcmp(ours.name, "app_routing"))
		u->app_routing_id = info.id;
	err = bpf_map__reuse_fd(map, fd);
	close(fd);
	u->n_kept++;
	return err;
}

/* The old maps this layout no longer has, read by the conversions that
 * replace them (layout 1's flow table). */
static int stage_retired(struct slotlb *lb, struct lib_upgrade *u)
{
	const struct migration *m;
	struct bpf_map_info info;
	struct bpf_map *map;
	size_t i;
	int fd;

	for (i = 0; i < u->step->n_migrations; i++) {
		m = &u->step->migrations[i];
		if (!m->from)
			continue;
		map = bpf_object__find_map_by_name(lb->skel->obj, m->map);
		fd = pinned_map(lb->pin_root, m->from, &info);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return fd;
		if (!map || u->n_conv == MAX_CONVERT) {
			close(fd);
			return -E2BIG;
		}
		u->conv[u->n_conv].map = map;
		u->conv[u->n_conv].old_fd = fd;
		u->conv[u->n_conv].m = m;
		u->n_conv++;
	}
	return 1;
}

uint32_t lib_upgrade_hash_seed(const struct slotlb *lb)
{
	return lb->upgrade ? lb->upgrade->step->hash_seed : 0;
}

int lib_upgrade_prepare(struct slotlb *lb)
{
	const struct step *step;
	struct lib_upgrade *u;
	struct bpf_map *map;
	int version, err;

	version = pinned_layout(lb, &step);
	if (version < 0)
		return version;
	if (!step)
		return 0; /* this layout, or nothing pinned yet */
	if (!lb->allow_upgrade)
		return refuse(
			lb, -ESTALE,
			"pinned maps have layout %u, this build %u: an upgrade converts them and keeps every flow (slotlbd upgrades at start)",
			version, SLOTLB_LAYOUT_VERSION);
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	lb->upgrade = u;
	u->step = step;
	u->root_fd = u->staging_fd = -1;
	snprintf(u->root, sizeof(u->root), "%s", lb->pin_root);
	snprintf(u->staging, sizeof(u->staging), "%.*s-upgrade",
		 (int)sizeof(u->staging) - 9, lb->pin_root);
	err = lock_dir(u->root, &u->root_fd);
	if (err)
		return refuse(
			lb, err,
			err == -EBUSY
				? "another process (slotlbd?) holds the pin root: stop it before the upgrade"
				: "locking the pin root: %s",
			strerror(-err));
	remove_set(u->staging); /* left by an upgrade that died */
	if (mkdir(u->staging, 0700))
		return -errno;
	err = lock_dir(u->staging, &u->staging_fd);
	if (err)
		return err;
	bpf_object__for_each_map(map, lb->skel->obj)
	{
		if (!bpf_map__pin_path(map))
			continue;
		err = stage_map(lb, u, map);
		if (err)
			return err;
	}
	return stage_retired(lb, u);
}

/* The XDP program on ifindex in mode, if it is one of ours over the old
 * set (it uses the kept app_routing); its fd, or -1. */
static int old_program(struct lib_upgrade *u, uint32_t prog_id)
{
	struct bpf_prog_info info;
	__u32 ids[64], len, i;
	int fd;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    !strcmp(info.name, SLOTLB_PROG_NAME))
		for (i = 0; i < info.nr_map_ids && i < 64; i++)
			if (ids[i] == u->app_routing_id)
				return fd;
	close(fd);
	return -1;
}

/* Replace the old program by prog_fd wherever it runs in this network
 * namespace; on a failure put back those replaced. */
static int swap_programs(struct slotlb *lb, struct lib_upgrade *u, int prog_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, a);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct if_nameindex *ifs, *i;
	int old_fd, err = 0;
	uint32_t mode;

	ifs = if_nameindex();
	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index && !err; i++) {
		if (bpf_xdp_query((int)i->if_index, 0, &q) || !q.prog_id ||
		    (q.attach_mode != XDP_ATTACHED_DRV &&
		     q.attach_mode != XDP_ATTACHED_SKB))
			continue;
		old_fd = old_program(u, q.prog_id);
		if (old_fd < 0)
			continue;
		if (u->n_swapped == MAX_SWAPPED) {
			close(old_fd);
			err = -E2BIG;
			break;
		}
		mode = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE
							 : XDP_FLAGS_DRV_MODE;
		/* layout 1 had no roles: its interfaces faced both ways;
		 * the role first, as the first packet needs it (a layout
		 * with roles keeps its ifaces map) */
		err = u->step->roles
			      ? 0
			      : slotlb_iface_set(lb, (int)i->if_index,
						 SLOTLB_ROLE_PUBLIC |
							 SLOTLB_ROLE_BACKEND);
		if (err) {
			refuse(lb, err, "%s: its role: %s", i->if_name,
			       strerror(-err));
			close(old_fd);
			break;
		}
		a.old_prog_fd = old_fd;
		err = bpf_xdp_attach((int)i->if_index, prog_fd,
				     mode | XDP_FLAGS_REPLACE, &a);
		if (err) {
			refuse(lb, err, "%s: replacing the program: %s",
			       i->if_name, strerror(-err));
			close(old_fd);
			break;
		}
		u->swapped[u->n_swapped].ifindex = (int)i->if_index;
		u->swapped[u->n_swapped].old_prog_fd = old_fd;
		u->swapped[u->n_swapped].mode = mode;
		u->n_swapped++;
	}
	if_freenameindex(ifs);
	while (err && u->n_swapped) {
		u->n_swapped--;
		a.old_prog_fd = prog_fd;
		bpf_xdp_attach(
			u->swapped[u->n_swapped].ifindex,
			u->swapped[u->n_swapped].old_prog_fd,
			u->swapped[u->n_swapped].mode | XDP_FLAGS_REPLACE, &a);
		close(u->swapped[u->n_swapped].old_prog_fd);
	}
	return err;
}

/* Every program run that started before now has ended: the kernel waits
 * for an RCU grace period in each update of an array of maps. */
static int grace_period(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	int inner, outer, err = 0;
	__u32 zero = 0;

	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "slotlb_upg_in", 4, 4, 1,
			       NULL);
	if (inner < 0)
		return -errno;
	o.inner_map_fd = inner;
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "slotlb_upg", 4, 4,
			       1, &o);
	if (outer < 0 || bpf_map_update_elem(outer, &zero, &inner, BPF_ANY))
		err = -errno;
	if (outer >= 0)
		close(outer);
	close(inner);
	return err;
}

/* Let the new program read the old flow table (bpf/upgrade.bpf.h) while
 * the flows the old program pins are not all converted yet, or stop it
 * (the old table is gone, or about to go). */
static int legacy_flows_set(struct slotlb *lb, struct lib_upgrade *u, bool on)
{
	const struct migration *m;
	__u32 zero = 0;
	size_t i;
	int fd;

	if (!u->step->legacy_map)
		return 0;
	fd = bpf_map__fd(bpf_object__find_map_by_name(lb->skel->obj,
						      u->step->legacy_map));
	if (fd < 0)
		return fd;
	if (!on)
		return bpf_map_delete_elem(fd, &zero) && errno != ENOENT
			       ? -errno
			       : 0;
	for (i = 0; i < u->n_conv; i++) {
		m = u->conv[i].m;
		if (strcmp(m->from ? m->from : m->map, u->step->flow_table))
			continue;
		return bpf_map_update_elem(fd, &zero, &u->conv[i].old_fd,
					   BPF_ANY)
			       ? -errno
			       : 0;
	}
	return 0;
}

/* Run the conversions (on the second pass only those that run again). */
static int convert_all(struct slotlb *lb, struct lib_upgrade *u)
{
	size_t i, len;
	int n;

	for (i = 0; i < u->n_conv; i++) {
		if (u->second_pass && !u->conv[i].m->again)
			continue;
		n = u->conv[i].m->convert(lb, u, u->conv[i].old_fd,
					  bpf_map__fd(u->conv[i].map));
		if (n < 0)
			return refuse(lb, n, "%s: converting: %s",
				      bpf_map__name(u->conv[i].map),
				      strerror(-n));
		if (!u->second_pass) {
			lb->upgraded.maps_converted++;
			len = strlen(lb->upgraded.converted);
			snprintf(lb->upgraded.converted + len,
				 sizeof(lb->upgraded.converted) - len, "%s%s",
				 len ? ", " : "",
				 u->conv[i].m->from ? u->conv[i].m->from
						    : u->conv[i].m->map);
		}
		lb->upgraded.entries_converted += (uint32_t)n;
	}
	return 0;
}

int lib_upgrade_finish(struct slotlb *lb)
{
	struct lib_upgrade *u = lb->upgrade;
	struct slotlb_layout l = {SLOTLB_LAYOUT_VERSION, 0};
	__u32 zero = 0;
	int err;

	if (!u)
		return lib_layout_stamp(lb);
	lb->upgraded.from = u->step->from;
	lb->upgraded.to = SLOTLB_LAYOUT_VERSION;
	lb->upgraded.maps_kept = u->n_kept;
	err = convert_all(lb, u);
	if (err)
		return err;
	l.fingerprint = fingerprint(lb->skel->obj);
	if (bpf_map_update_elem(bpf_map__fd(lb->skel->maps.layout), &zero, &l,
				BPF_ANY))
		return -errno;
	/* the replies of flows the old program pins from now on */
	err = legacy_flows_set(lb, u, true);
	if (err)
		return refuse(lb, err, "the old flow table: %s",
			      strerror(-err));
	err = swap_programs(lb, u, bpf_program__fd(lb->skel->progs.slotlb_xdp));
	if (err) {
		legacy_flows_set(lb, u, false);
		return err;
	}
	lb->upgraded.interfaces = (uint32_t)u->n_swapped;
	/* What the old program pinned since the first pass began, once its
	 * last run has ended (a grace period); until then the new program
	 * finds their replies in the old table. */
	err = grace_period();
	u->second_pass = true;
	if (!err)
		err = convert_all(lb, u);
	/* every flow is in the new tables: the old table may go (a reader
	 * that still holds it finds the same flows there) */
	if (!err)
		err = legacy_flows_set(lb, u, false);
	if (!err &&
	    renameat2(AT_FDCWD, u->staging, AT_FDCWD, u->root, RENAME_EXCHANGE))
		err = -errno;
	if (err) {
		legacy_flows_set(lb, u, false);
		/* the old set stays: put the old program back */
		while (u->n_swapped) {
			LIBBPF_OPTS(bpf_xdp_attach_opts, a);

			u->n_swapped--;
			a.old_prog_fd =
				bpf_program__fd(lb->skel->progs.slotlb_xdp);
			bpf_xdp_attach(u->swapped[u->n_swapped].ifindex,
				       u->swapped[u->n_swapped].old_prog_fd,
				       u->swapped[u->n_swapped].mode |
					       XDP_FLAGS_REPLACE,
				       &a);
		}
		return refuse(lb, err, "exchanging the pin directories: %s",
			      strerror(-err));
	}
	/* the old set is at the staging path now: it goes; the new root
	 * keeps its lock for the routing writer */
	remove_set(u->staging);
	lb->held_lock_fd = u->staging_fd;
	u->staging_fd = -1;
	return 0;
}

int lib_layout_stamp(struct slotlb *lb)
{
	struct slotlb_layout l = {0};
	int fd = bpf_map__fd(lb->skel->maps.layout);
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &l))
		return -errno;
	if (l.version)
		return 0;
	l.version = SLOTLB_LAYOUT_VERSION;
	l.fingerprint = fingerprint(lb->skel->obj);
	return bpf_map_update_elem(fd, &zero, &l, BPF_ANY) ? -errno : 0;
}

void slotlb_upgrade_info(const struct slotlb *lb,
			 struct slotlb_upgrade_info *info)
{
	*info = lb->upgraded;
}
