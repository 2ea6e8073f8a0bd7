// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The backend agent's program (bpf/backend_agent.bpf.c): load it with
 * the endpoints it serves, attach it to a backend's interface toward the
 * balancers, find it again there to read its counters or detach it. It
 * needs no pins: the attachment holds the program, the program its
 * maps, so nothing outlives a detach.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "backend_agent.skel.h"

#define AGENT_PROG_NAME "slotlb_decap"

/* The program attached to ifindex: its fd if it is the agent's (-EBUSY
 * if another one, -ENOENT if none); *generic: its XDP mode. */
static int agent_prog(int ifindex, bool *generic)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd, err;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	if (!q.prog_id)
		return -ENOENT;
	*generic = q.attach_mode == XDP_ATTACHED_SKB;
	fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (strcmp(info.name, AGENT_PROG_NAME)) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

int slotlb_agent_attach(int ifindex, const __be32 *endpoints, size_t n,
			bool generic, bool force)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, aopts);
	__u32 flags = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	struct backend_agent_bpf *skel;
	bool old_generic = false;
	int old_fd, err = 0;
	__u8 one = 1;
	size_t i;

	if (n > 256)
		return -E2BIG;
	skel = backend_agent_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->endpoint_count = (__u32)n;
	err = backend_agent_bpf__load(skel);
	for (i = 0; !err && i < n; i++)
		err = bpf_map_update_elem(
			bpf_map__fd(skel->maps.agent_endpoints), &endpoints[i],
			&one, BPF_ANY);
	if (err)
		goto out;
	old_fd = agent_prog(ifindex, &old_generic);
	if (old_fd == -EBUSY && !force) {
		err = -EBUSY;
		goto out;
	}
	if (old_fd >= 0 || old_fd == -EBUSY) {
		if (old_generic != generic) {
			/* the other mode cannot be replaced in place */
			if (old_fd >= 0)
				close(old_fd);
			err = bpf_xdp_detach(ifindex,
					     old_generic ? XDP_FLAGS_SKB_MODE
							 : XDP_FLAGS_DRV_MODE,
					     NULL);
			if (err)
				goto out;
		} else if (old_fd >= 0) {
			/* the agent again (new endpoints): no gap */
			aopts.old_prog_fd = old_fd;
			flags |= XDP_FLAGS_REPLACE;
		}
	} else if (old_fd != -ENOENT) {
		err = old_fd;
		goto out;
	}
	err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.slotlb_decap),
			     flags, &aopts);
	if (aopts.old_prog_fd > 0)
		close(aopts.old_prog_fd);
out:
	backend_agent_bpf__destroy(skel);
	return err;
}

int slotlb_agent_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, dopts);
	bool generic = false;
	int fd, err;

	fd = agent_prog(ifindex, &generic);
	if (fd < 0)
		return fd;
	/* Detach only the program we saw, not one attached meanwhile. */
	dopts.old_prog_fd = fd;
	err = bpf_xdp_detach(ifindex,
			     XDP_FLAGS_REPLACE | (generic ? XDP_FLAGS_SKB_MODE
							  : XDP_FLAGS_DRV_MODE),
			     &dopts);
	close(fd);
	return err;
}

int slotlb_agent_stats(
	int ifindex, struct slotlb_reason_counter sum[SLOTLB_AGENT_REASON_MAX])
{
	struct slotlb_reason_counter per_cpu[512];
	__u32 ids[8], len, i, r, c;
	struct bpf_prog_info info;
	struct bpf_map_info minfo;
	bool generic;
	int fd, mfd = -1, ncpu, err;

	memset(sum, 0, sizeof(*sum) * SLOTLB_AGENT_REASON_MAX);
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0 || ncpu > 512)
		return ncpu <= 0 ? ncpu : -E2BIG;
	fd = agent_prog(ifindex, &generic);
	if (fd < 0)
		return fd;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : -ENOENT;
	for (i = 0; err == -ENOENT && i < info.nr_map_ids &&
		    i < sizeof(ids) / sizeof(ids[0]);
	     i++) {
		mfd = bpf_map_get_fd_by_id(ids[i]);
		if (mfd < 0)
			continue;
		memset(&minfo, 0, sizeof(minfo));
		len = sizeof(minfo);
		if (!bpf_obj_get_info_by_fd(mfd, &minfo, &len) &&
		    !strcmp(minfo.name, "agent_stats"))
			err = 0;
		else
			close(mfd);
	}
	close(fd);
	if (err)
		return err;
	for (r = 0; !err && r < SLOTLB_AGENT_REASON_MAX; r++) {
		if (bpf_map_lookup_elem(mfd, &r, per_cpu)) {
			err = -errno;
			break;
		}
		for (c = 0; c < (__u32)ncpu; c++) {
			sum[r].packets += per_cpu[c].packets;
			sum[r].bytes += per_cpu[c].bytes;
		}
	}
	close(mfd);
	return err;
}

const char *slotlb_agent_reason_name(unsigned int reason)
{
	static const char *const names[SLOTLB_AGENT_REASON_MAX] = {
		[SLOTLB_AGENT_PASS] = "pass",
		[SLOTLB_AGENT_DELIVER] = "deliver",
		[SLOTLB_AGENT_DELIVER_OWNED] = "deliver_owned",
		[SLOTLB_AGENT_FORWARD] = "forward_second",
		[SLOTLB_AGENT_PASS_NO_NEIGH] = "pass_no_neigh",
		[SLOTLB_AGENT_DROP_MALFORMED] = "drop_malformed",
		[SLOTLB_AGENT_DROP_NOT_ENDPOINT] = "drop_not_endpoint",
		[SLOTLB_AGENT_DROP_FIB] = "drop_fib",
	};

	return reason < SLOTLB_AGENT_REASON_MAX ? names[reason] : "?";
}
