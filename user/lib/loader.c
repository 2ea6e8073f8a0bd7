// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loading and attaching the data path. Maps are pinned under the pin
 * root so a second load (a reload, an upgraded daemon) reuses them and
 * no flow is lost; attaching replaces an existing slotlb program in one
 * netlink call (XDP_FLAGS_REPLACE) so no packet meets an empty hook.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <net/if.h>
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

/* max_entries of a map pinned earlier, 0 when there is none. */
static uint32_t pinned_entries(const char *root, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	uint32_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		n = info.max_entries;
	close(fd);
	return n;
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 16;

	while (p < n && p < (1U << 30))
		p <<= 1;
	return p;
}

/* A random non-zero 32-bit value. */
static int random_u32(uint32_t *v)
{
	do {
		if (getrandom(v, sizeof(*v), 0) != sizeof(*v))
			return -errno;
	} while (!*v);
	return 0;
}

/* Seeds of new maps are drawn here; a Maglev seed asked for is set. */
static int settings_init(struct slotlb *lb, uint32_t hash_seed)
{
	int fd = bpf_map__fd(lb->skel->maps.settings);
	struct slotlb_settings s = {};
	__u32 zero = 0;
	int err;

	err = bpf_map_lookup_elem(fd, &zero, &s);
	if (err)
		return err;
	if (!s.index_seed) {
		err = random_u32(&s.index_seed);
		if (err)
			return err;
	}
	if (hash_seed)
		s.hash_seed = hash_seed;
	else if (!s.hash_seed && (err = random_u32(&s.hash_seed)))
		return err;
	return bpf_map_update_elem(fd, &zero, &s, BPF_ANY);
}

/* Map the IPv4 reply index for the GC. */
static int reply_index_map(struct slotlb *lb)
{
	const struct bpf_map *m = lb->skel->maps.reply_index;
	size_t len = (size_t)bpf_map__max_entries(m) * bpf_map__value_size(m);
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	len = (len + page - 1) / page * page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m),
		 0);
	if (p == MAP_FAILED)
		return -errno;
	lb->reply_index = p;
	lb->reply_index_len = len;
	lb->reply_index_mask = bpf_map__max_entries(m) - 1;
	return 0;
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
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

void lib_filter_set(struct slotlb *lb, const struct slotlb_addr_key *ak)
{
	__u32 bit = slotlb_filter_bit(ak->addr, ak->family);

	__atomic_fetch_or(&lb->endpoint_filter[SLOTLB_FILTER_WORD(bit)],
			  SLOTLB_FILTER_MASK(bit), __ATOMIC_SEQ_CST);
}

/*
 * Maps outside the pinned layout (and its fingerprint, upgrade.c), which
 * libbpf does not pin: the endpoint filter, derived from endpoint_addrs
 * at every open, and ring_history, a hint for handshakes in flight.
 * Every open reuses the one pinned under the root, if it has this
 * build's shape, and pins its own otherwise (the filter once its bits
 * are filled). An older build's program keeps its own.
 */
static void own_pin_path(const struct slotlb *lb, const struct bpf_map *m,
			 char *path, size_t len)
{
	snprintf(path, len, "%s/%s", lb->pin_root, bpf_map__name(m));
}

static int own_pin_reuse(struct slotlb *lb, struct bpf_map *m)
{
	char path[PATH_MAX + 32];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, err = 0;

	own_pin_path(lb, m, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    info.type == bpf_map__type(m) &&
	    info.key_size == bpf_map__key_size(m) &&
	    info.value_size == bpf_map__value_size(m) &&
	    info.max_entries == bpf_map__max_entries(m) &&
	    info.map_flags == bpf_map__map_flags(m))
		err = bpf_map__reuse_fd(m, fd);
	close(fd);
	return err;
}

/* Pin ours unless the pinned one is ours (reused) already. */
static int own_pin(struct slotlb *lb, const struct bpf_map *m)
{
	int fd = bpf_map__fd(m), old;
	struct bpf_map_info a = {}, b = {};
	char path[PATH_MAX + 32];
	__u32 len = sizeof(a);

	if (bpf_obj_get_info_by_fd(fd, &a, &len))
		return -errno;
	own_pin_path(lb, m, path, sizeof(path));
	old = bpf_obj_get(path);
	if (old >= 0) {
		len = sizeof(b);
		if (!bpf_obj_get_info_by_fd(old, &b, &len) && b.id == a.id) {
			close(old);
			return 0;
		}
		close(old);
		if (unlink(path) && errno != ENOENT)
			return -errno;
	}
	if (bpf_obj_pin(fd, path) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Map the endpoint filter, give every address of endpoint_addrs its
 * bit and set the checks word from the backends' health and drain; then
 * the program may trust it (word 0). Bits are only ever set
 * (a bit can be another address's too), so a running program never sees
 * one of a live address clear; a writer adding an address meanwhile sets
 * its own bit first (slotlb_endpoint_set). */
static int endpoint_filter_open(struct slotlb *lb)
{
	const struct bpf_map *m = lb->skel->maps.endpoint_filter;
	int fd = bpf_map__fd(lb->skel->maps.endpoint_addrs);
	size_t len = (size_t)bpf_map__max_entries(m) * bpf_map__value_size(m);
	long page = sysconf(_SC_PAGESIZE);
	struct slotlb_addr_key key, next;
	void *prev = NULL;
	void *p;
	int err;

	len = (len + page - 1) / page * page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m),
		 0);
	if (p == MAP_FAILED)
		return -errno;
	lb->endpoint_filter = p;
	lb->endpoint_filter_len = len;
	while (!(err = bpf_map_get_next_key(fd, prev, &next))) {
		lib_filter_set(lb, &next);
		key = next;
		prev = &key;
	}
	if (err != -ENOENT)
		return err;
	err = lib_checks_sync(lb);
	if (err)
		return err;
	__atomic_store_n(&lb->endpoint_filter[0], SLOTLB_FILTER_VALID,
			 __ATOMIC_SEQ_CST);
	return own_pin(lb, m);
}

int slotlb_open(struct slotlb **out, const struct slotlb_opts *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts);
	struct slotlb_opts o = opts ? *opts : (struct slotlb_opts){0};
	struct slotlb *lb;
	uint32_t pinned, buckets;
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
	lb->udp_timeout_s =
		or_default(o.udp_timeout_s, SLOTLB_DEFAULT_UDP_TIMEOUT_S);
	lb->tcp_timeout_s =
		or_default(o.tcp_timeout_s, SLOTLB_DEFAULT_TCP_TIMEOUT_S);
	lb->tcp_half_closed_timeout_s =
		or_default(o.tcp_half_closed_timeout_s,
			   SLOTLB_DEFAULT_TCP_HALF_CLOSED_TIMEOUT_S);
	lb->tcp_closed_timeout_s = or_default(
		o.tcp_closed_timeout_s, SLOTLB_DEFAULT_TCP_CLOSED_TIMEOUT_S);
	lb->tcp_handshake_timeout_s =
		or_default(o.tcp_handshake_timeout_s,
			   SLOTLB_DEFAULT_TCP_HANDSHAKE_TIMEOUT_S);

	if (o.maps_only && o.upgrade) {
		err = -EINVAL;
		goto out;
	}
	err = ensure_pin_root(lb->pin_root);
	if (err)
		goto out;

	/* Reuse the pinned tables' sizes unless asked for others. */
	pinned = pinned_entries(lb->pin_root, "flows4");
	lb->flow_capacity = o.flow_capacity ? o.flow_capacity
			    : pinned	    ? pinned
					    : SLOTLB_DEFAULT_FLOW_CAPACITY;
	/* an upgrade from layout 1 keeps its size (two entries a flow) */
	if (!o.flow_capacity && !pinned &&
	    pinned_entries(lb->pin_root, "flows") / 2 >= SLOTLB_MIN_HALF_OPEN)
		lb->flow_capacity = pinned_entries(lb->pin_root, "flows") / 2;
	if (pinned && pinned != lb->flow_capacity) {
		err = -EEXIST;
		goto out;
	}
	pinned = pinned_entries(lb->pin_root, "flows_new");
	lb->half_open_capacity =
		o.half_open_capacity ? o.half_open_capacity
		: pinned	     ? pinned
			 : lb->flow_capacity / SLOTLB_HALF_OPEN_DIVISOR;
	if (lb->half_open_capacity < SLOTLB_MIN_HALF_OPEN)
		lb->half_open_capacity = SLOTLB_MIN_HALF_OPEN;
	if (pinned && pinned != lb->half_open_capacity) {
		err = -EEXIST;
		goto out;
	}
	buckets = pow2_at_least(lb->flow_capacity /
				SLOTLB_REPLY_FLOWS_PER_BUCKET);

	oopts.pin_root_path = lb->pin_root;
	lb->skel = slotlb_bpf__open_opts(&oopts);
	if (!lb->skel) {
		err = -errno;
		goto out;
	}
	err = bpf_map__set_max_entries(lb->skel->maps.flows4,
				       lb->flow_capacity);
	if (!err)
		err = bpf_map__set_max_entries(lb->skel->maps.flows6,
					       lb->flow_capacity);
	if (!err)
		err = bpf_map__set_max_entries(lb->skel->maps.replies6,
					       lb->flow_capacity);
	if (!err)
		err = bpf_map__set_max_entries(lb->skel->maps.reply_index,
					       buckets);
	if (!err)
		err = bpf_map__set_max_entries(lb->skel->maps.flows_new,
					       lb->half_open_capacity);
	if (err)
		goto out;
	lb->skel->rodata->udp_timeout_s = lb->udp_timeout_s;
	lb->skel->rodata->tcp_timeout_s = lb->tcp_timeout_s;
	lb->skel->rodata->tcp_handshake_timeout_s = lb->tcp_handshake_timeout_s;
	lb->skel->rodata->nonsyn_policy = o.nonsyn_policy;
	lb->skel->rodata->reply_index_mask = buckets - 1;
	lb->skel->rodata->nexthop_ttl_ms =
		or_default(o.nexthop_ttl_ms, SLOTLB_DEFAULT_NEXTHOP_TTL_MS);

	/* An older layout is staged for an upgrade (upgrade.c), or
	 * refused with -ESTALE. */
	err = lib_upgrade_prepare(lb);
	if (err < 0)
		goto out;
	err = pins_compatible(lb->skel->obj);
	if (!err)
		err = own_pin_reuse(lb, lb->skel->maps.endpoint_filter);
	if (!err)
		err = own_pin_reuse(lb, lb->skel->maps.ring_history);
	if (err)
		goto out;
	/* The maps are the object's; the program is only loaded (and
	 * verified, seconds on a busy host) when it will run. */
	if (o.maps_only)
		err = bpf_program__set_autoload(lb->skel->progs.slotlb_xdp,
						false);
	if (!err)
		err = slotlb_bpf__load(lb->skel);
	if (err)
		goto out;
	lb->ncpus = libbpf_num_possible_cpus();
	if (lb->ncpus <= 0) {
		err = lb->ncpus ? lb->ncpus : -EINVAL;
		goto out;
	}
	/* An upgraded install keeps its old Maglev hash, so a flow that
	 * missed the conversion still finds its backend. */
	err = settings_init(lb, o.hash_seed ? o.hash_seed
					    : lib_upgrade_hash_seed(lb));
	if (!err)
		err = reply_index_map(lb);
	if (!err)
		err = lib_upgrade_finish(lb);
	lib_upgrade_free(lb);
	if (!err)
		err = lib_routing_open(lb);
	/* After an upgrade's conversion: endpoint_addrs is complete. */
	if (!err)
		err = endpoint_filter_open(lb);
	if (!err)
		err = own_pin(lb, lb->skel->maps.ring_history);
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
	if (lb->reply_index)
		munmap(lb->reply_index, lb->reply_index_len);
	if (lb->endpoint_filter)
		munmap(lb->endpoint_filter, lb->endpoint_filter_len);
	slotlb_bpf__destroy(lb->skel);
	free(lb);
}

int slotlb_prog_fd(const struct slotlb *lb)
{
	int fd = bpf_program__fd(lb->skel->progs.slotlb_xdp);

	return fd < 0 ? -ENOEXEC : fd;
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

static int iface_slot(struct slotlb *lb, int ifindex, struct slotlb_iface *v,
		      __u32 *slot)
{
	*slot = (__u32)ifindex % SLOTLB_MAX_IFACES;
	return bpf_map_lookup_elem(bpf_map__fd(lb->skel->maps.ifaces), slot, v);
}

int slotlb_iface_set(struct slotlb *lb, int ifindex, uint32_t role)
{
	struct slotlb_iface v = {}, want = {(__u32)ifindex, role};
	char name[IF_NAMESIZE];
	__u32 slot;
	int err;

	if (ifindex <= 0 || role & ~(SLOTLB_ROLE_PUBLIC | SLOTLB_ROLE_BACKEND))
		return -EINVAL;
	err = iface_slot(lb, ifindex, &v, &slot);
	if (err)
		return err;
	/* Another interface that still exists keeps its slot. */
	if (v.ifindex && v.ifindex != (__u32)ifindex &&
	    if_indextoname(v.ifindex, name))
		return -EEXIST;
	if (!role)
		memset(&want, 0, sizeof(want));
	return bpf_map_update_elem(bpf_map__fd(lb->skel->maps.ifaces), &slot,
				   &want, BPF_ANY);
}

uint32_t slotlb_iface_role(struct slotlb *lb, int ifindex)
{
	struct slotlb_iface v = {};
	__u32 slot;

	if (ifindex > 0 && !iface_slot(lb, ifindex, &v, &slot) &&
	    v.ifindex == (__u32)ifindex)
		return v.role;
	return SLOTLB_ROLE_PUBLIC;
}

int slotlb_attach(struct slotlb *lb, int ifindex, enum slotlb_xdp_mode mode,
		  bool force, uint32_t role)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, aopts);
	__u32 flags = mode == SLOTLB_XDP_GENERIC ? XDP_FLAGS_SKB_MODE
						 : XDP_FLAGS_DRV_MODE;
	bool ours = false, generic = false;
	uint32_t prog_id = 0;
	int old_fd = -1, err;

	if (!role)
		return -EINVAL;
	if (slotlb_prog_fd(lb) < 0)
		return -ENOEXEC;
	/* The role first: the first packet must already find it. */
	err = slotlb_iface_set(lb, ifindex, role);
	if (err)
		return err;
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
