// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loading and attaching the data path. Maps are pinned under the pin
 * root so a second load (a reload, an upgraded daemon) reuses them and
 * no flow is lost; attaching replaces an existing slotlb program in one
 * netlink call (XDP_FLAGS_REPLACE) so no packet meets an empty hook.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "lib_int.h"
#include "slotlb.skel.h"

#define BPFFS_DEFAULT "/sys/fs/bpf"

static int print_verbose(enum libbpf_print_level level, const char *fmt,
			 va_list args)
{
	(void)level;
	return vfprintf(stderr, fmt, args);
}

static int print_silent(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	(void)level;
	(void)fmt;
	(void)args;
	return 0;
}

/* The pin root must live on a bpffs, else pins vanish with the process. */
static int ensure_pin_root(const char *root)
{
	char parent[PATH_MAX];
	struct statfs st;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", root);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &st))
		return -errno;
	if (st.f_type != BPF_FS_MAGIC) {
		/* Many distributions leave bpffs unmounted until first use;
		 * mount it where every BPF tool expects it, as libxdp does. */
		if (strcmp(parent, BPFFS_DEFAULT) ||
		    mount("bpf", BPFFS_DEFAULT, "bpf", 0, "mode=0700"))
			return -ENOTDIR;
	}
	if (mkdir(root, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Flow capacity of maps pinned earlier, 0 when there are none. */
static uint32_t pinned_flow_capacity(const char *root)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	uint32_t cap = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/flows", root);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		cap = info.max_entries / 2;
	close(fd);
	return cap;
}

/* Would libbpf reuse every map pinned under root? A map pinned by a
 * build with another layout cannot be reused; say so precisely instead
 * of libbpf's generic -EINVAL. */
static int pins_compatible(struct bpf_object *obj)
{
	struct bpf_map_info info;
	struct bpf_map *map;
	const char *path;
	int fd, err = 0;
	__u32 len;

	bpf_object__for_each_map(map, obj)
	{
		path = bpf_map__pin_path(map);
		fd = path ? bpf_obj_get(path) : -1;
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.type != bpf_map__type(map) ||
		    info.key_size != bpf_map__key_size(map) ||
		    info.value_size != bpf_map__value_size(map) ||
		    info.max_entries != bpf_map__max_entries(map) ||
		    info.map_flags != bpf_map__map_flags(map))
			err = -ESTALE;
		close(fd);
		if (err)
			break;
	}
	return err;
}

int slotlb_open(struct slotlb **out, const struct slotlb_opts *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts);
	struct slotlb_opts o = opts ? *opts : (struct slotlb_opts){0};
	struct slotlb *lb;
	uint32_t pinned;
	int err;

	*out = NULL;
	libbpf_set_print(o.verbose ? print_verbose : print_silent);
	lb = calloc(1, sizeof(*lb));
	if (!lb)
		return -ENOMEM;
	lb->barrier_outer = -1;
	lb->barrier_inner = -1;
	lb->writer_fd = -1;
	lb->held_lock_fd = -1;
	lb->allow_upgrade = o.upgrade;
	lb->why = o.why;
	lb->why_len = o.why_len;
	if (o.why && o.why_len)
		o.why[0] = 0;
	snprintf(lb->pin_root, sizeof(lb->pin_root), "%s",
		 o.pin_root ? o.pin_root : SLOTLB_PIN_ROOT);
	lb->udp_timeout_s = o.udp_timeout_s ? o.udp_timeout_s
					    : SLOTLB_DEFAULT_UDP_TIMEOUT_S;
	lb->tcp_closed_timeout_s =
		o.tcp_closed_timeout_s ? o.tcp_closed_timeout_s
				       : SLOTLB_DEFAULT_TCP_CLOSED_TIMEOUT_S;

	err = ensure_pin_root(lb->pin_root);
	if (err)
		goto out;

	/* Reuse the pinned table's size unless asked for another one. */
	pinned = pinned_flow_capacity(lb->pin_root);
	lb->flow_capacity = o.flow_capacity ? o.flow_capacity
			    : pinned	    ? pinned
					    : SLOTLB_DEFAULT_FLOW_CAPACITY;
	if (pinned && pinned != lb->flow_capacity) {
		err = -EEXIST;
		goto out;
	}

	oopts.pin_root_path = lb->pin_root;
	lb->skel = slotlb_bpf__open_opts(&oopts);
	if (!lb->skel) {
		err = -errno;
		goto out;
	}
	err = bpf_map__set_max_entries(lb->skel->maps.flows,
				       2 * lb->flow_capacity);
	if (err)
		goto out;
	lb->skel->rodata->udp_timeout_ns =
		(uint64_t)lb->udp_timeout_s * 1000000000ULL;
	lb->skel->rodata->nonsyn_policy = o.nonsyn_policy;

	err = lib_upgrade_prepare(lb);
	if (err < 0)
		goto out;
	err = pins_compatible(lb->skel->obj);
	if (err)
		goto out;
	err = slotlb_bpf__load(lb->skel);
	if (!err)
		err = lib_upgrade_finish(lb);
	lib_upgrade_free(lb);
	if (err)
		goto out;
	lb->ncpus = libbpf_num_possible_cpus();
	if (lb->ncpus <= 0) {
		err = lb->ncpus ? lb->ncpus : -EINVAL;
		goto out;
	}
	err = lib_routing_open(lb);
	if (err)
		goto out;
	*out = lb;
	return 0;
out:
	slotlb_close(lb);
	return err;
}

void slotlb_close(struct slotlb *lb)
{
	if (!lb)
		return;
	lib_upgrade_free(lb);
	lib_routing_close(lb);
	if (lb->held_lock_fd >= 0)
		close(lb->held_lock_fd);
	slotlb_bpf__destroy(lb->skel);
	free(lb);
}

int slotlb_prog_fd(const struct slotlb *lb)
{
	return bpf_program__fd(lb->skel->progs.slotlb_xdp);
}

uint32_t slotlb_flow_capacity(const struct slotlb *lb)
{
	return lb->flow_capacity;
}

/* Is the program with this id ours (by name)? */
static int prog_is_ours(uint32_t prog_id, bool *ours, int *fd_out)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd, err = 0;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	*ours = !strcmp(info.name, SLOTLB_PROG_NAME);
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return 0;
}

int slotlb_query(int ifindex, uint32_t *prog_id, bool *ours, bool *generic)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err;

	*prog_id = 0;
	*ours = false;
	*generic = false;
	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	if (!q.prog_id)
		return 0;
	*prog_id = q.prog_id;
	*generic = q.attach_mode == XDP_ATTACHED_SKB;
	return prog_is_ours(q.prog_id, ours, NULL);
}

int slotlb_attach(struct slotlb *lb, int ifindex, enum slotlb_xdp_mode mode,
		  bool force)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, aopts);
	__u32 flags = mode == SLOTLB_XDP_GENERIC ? XDP_FLAGS_SKB_MODE
						 : XDP_FLAGS_DRV_MODE;
	bool ours = false, generic = false;
	uint32_t prog_id = 0;
	int old_fd = -1, err;

	err = slotlb_query(ifindex, &prog_id, &ours, &generic);
	if (err)
		return err;
	if (prog_id && !ours && !force)
		return -EBUSY;
	if (prog_id && generic != (mode == SLOTLB_XDP_GENERIC)) {
		/* A program in the other mode cannot be replaced in place. */
		if (!force)
			return -EBUSY;
		err = bpf_xdp_detach(ifindex,
				     generic ? XDP_FLAGS_SKB_MODE
					     : XDP_FLAGS_DRV_MODE,
				     NULL);
		if (err)
			return err;
		prog_id = 0;
	}
	if (prog_id) {
		err = prog_is_ours(prog_id, &ours, &old_fd);
		if (err)
			return err;
		aopts.old_prog_fd = old_fd;
		flags |= XDP_FLAGS_REPLACE;
	}
	err = bpf_xdp_attach(ifindex, slotlb_prog_fd(lb), flags, &aopts);
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

int slotlb_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, dopts);
	bool ours = false, generic = false;
	uint32_t prog_id = 0;
	int fd = -1, err;

	err = slotlb_query(ifindex, &prog_id, &ours, &generic);
	if (err)
		return err;
	if (!prog_id)
		return -ENOENT;
	if (!ours)
		return -EBUSY;
	err = prog_is_ours(prog_id, &ours, &fd);
	if (err)
		return err;
	/* Detach only the program we saw, not one attached meanwhile. */
	dopts.old_prog_fd = fd;
	err = bpf_xdp_detach(ifindex,
			     XDP_FLAGS_REPLACE | (generic ? XDP_FLAGS_SKB_MODE
							  : XDP_FLAGS_DRV_MODE),
			     &dopts);
	close(fd);
	return err;
}
