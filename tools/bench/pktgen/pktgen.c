// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pktgen: the forwarding-rate benchmark's packet generator and its helper
 * programs (see pktgen.bpf.c). The generator needs no NIC driver support:
 * BPF_PROG_TEST_RUN in live-frames mode sends what the program returns
 * XDP_TX for out of the given veth, from a page pool, at millions of
 * frames per second on one CPU.
 *
 *   pktgen send IFNAME DST_MAC ADDR:PORT udp|syn|ack [-f FLOWS] [-b BASE]
 *               [-s SECONDS] [-c CPU]     frames of FLOWS flows (0: each
 *                                         frame a new flow, from BASE)
 *   pktgen prime IFNAME BACKEND_IFNAME ADDR:PORT syn|udp [-f FLOWS]
 *                                         establish the flows `send`
 *                                         makes, through the XDP
 *                                         program on IFNAME (handshake,
 *                                         or a UDP answer, each)
 *   pktgen sink attach|read IFNAME        count-and-drop on IFNAME
 *   pktgen bare IFNAME OUT_IFNAME OUT_DST_MAC
 *                                         baseline redirect IFNAME -> OUT
 *   pktgen detach IFNAME
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tools/bench/pktgen/pktgen.skel.h"
#include "bench_lab.h"
#include "bench_util.h"

/* The lab's TCP frame, zero-padded to 64 bytes (its frames have room
 * for more: GUE frames of bench_dsr.c). */
#define FRAME_LEN 64
_Static_assert(LAB_PKT_MAX >= FRAME_LEN, "the lab's frames hold a template");
_Static_assert(sizeof(((struct pktgen_bpf *)0)->rodata->tmpl) == FRAME_LEN,
	       "the lab's frame must fill the program's template");
/* Frames per test run: 20-100 ms at the rates seen here, so the deadline
 * is kept within that and the syscall overhead is nil. */
#define CHUNK 65536
#define MAX_SECONDS 30
/* Clients: 10.128.0.0/9, sport 1024.. per address. */
#define CLIENT_NET 0x0a800000U

static int fail(const char *object, const char *cause)
{
	fprintf(stderr, "Error: %s: %s\n", object, cause);
	return 1;
}

static int fail_errno(const char *object, int err)
{
	return fail(object, strerror(err < 0 ? -err : err));
}

static int parse_mac(const char *s, __u8 mac[ETH_ALEN])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
		      &mac[2], &mac[3], &mac[4], &mac[5]) == 6
		       ? 0
		       : -EINVAL;
}

/* The template: source address and port 0 (the program adds its own),
 * checksums complete for that, zero padding to FRAME_LEN. */
static void build_template(struct lab_pkt *t, const __u8 *smac,
			   const __u8 *dmac, __u32 daddr, __u16 dport,
			   const char *kind)
{
	if (!strcmp(kind, "udp"))
		lab_udp(t, smac, dmac, 0, daddr, 0, dport);
	else
		lab_tcp(t, smac, dmac, 0, daddr, 0, dport,
			strcmp(kind, "syn") ? LAB_TCP_ACK : LAB_TCP_SYN);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_send(int argc, char **argv)
{
	unsigned long flows = 65536, base = 0, seconds = 3;
	struct pktgen_bpf *skel = NULL;
	__u8 smac[ETH_ALEN], dmac[ETH_ALEN];
	struct lab_pkt frame;
	unsigned long long frames = 0;
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct xdp_md md = {};
	struct in_addr dst;
	unsigned int port;
	int opt, ifindex, err, cpu = -1, rc = 1;
	char addr[32];
	double t0, t1;

	while ((opt = getopt(argc, argv, "f:b:s:c:")) != -1) {
		switch (opt) {
		case 'f':
			flows = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			base = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seconds = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		default:
			return fail("send", "bad option");
		}
	}
	if (argc - optind != 4)
		return fail("send", "usage: send IFNAME DST_MAC ADDR:PORT "
				    "udp|syn|ack [-f FLOWS] [-b BASE] [-s S]");
	if (!seconds || seconds > MAX_SECONDS)
		return fail("send", "seconds must be 1..30");
	argv += optind;
	ifindex = (int)if_nametoindex(argv[0]);
	if (!ifindex)
		return fail(argv[0], "no such interface");
	if (bench_if_mac(argv[0], smac) || parse_mac(argv[1], dmac))
		return fail(argv[1], "bad MAC address");
	if (sscanf(argv[2], "%31[0-9.]:%u", addr, &port) != 2 ||
	    !inet_aton(addr, &dst) || !port || port > 65535)
		return fail(argv[2], "expected IPV4:PORT");
	if (strcmp(argv[3], "udp") && strcmp(argv[3], "syn") &&
	    strcmp(argv[3], "ack"))
		return fail(argv[3], "expected udp, syn or ack");
	if (cpu >= 0 && bench_pin_cpu(cpu))
		return fail("cpu", strerror(errno));

	skel = pktgen_bpf__open();
	if (!skel)
		return fail_errno("pktgen.bpf.o", errno);
	build_template(&frame, smac, dmac, ntohl(dst.s_addr), (__u16)port,
		       argv[3]);
	memcpy((void *)skel->rodata->tmpl, frame.data, FRAME_LEN);
	skel->rodata->flow_count = (__u32)flows;
	skel->rodata->saddr_base = CLIENT_NET;
	skel->rodata->is_tcp = strcmp(argv[3], "udp") != 0;
	err = pktgen_bpf__load(skel);
	if (err) {
		fail_errno("pktgen.bpf.o: load", err);
		goto out;
	}
	skel->bss->seq = base;

	md.data_end = FRAME_LEN;
	md.ingress_ifindex = (__u32)ifindex;
	o.data_in = frame.data;
	o.data_size_in = FRAME_LEN;
	o.ctx_in = &md;
	o.ctx_size_in = sizeof(md);
	o.repeat = CHUNK;
	o.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
	t0 = now_s();
	t1 = t0;
	while (t1 - t0 < (double)seconds) {
		err = bpf_prog_test_run_opts(
			bpf_program__fd(skel->progs.pktgen_gen), &o);
		if (err) {
			fail_errno("BPF_PROG_TEST_RUN (live frames)", err);
			goto out;
		}
		frames += CHUNK;
		t1 = now_s();
	}
	printf("frames %llu seconds %.6f next %llu\n", frames, t1 - t0,
	       (unsigned long long)skel->bss->seq);
	rc = 0;
out:
	pktgen_bpf__destroy(skel);
	return rc;
}

/* Flow idx of `send`'s frames: its source address and port. */
static void flow_source(__u32 idx, __u32 *saddr, __u16 *sport)
{
	*saddr = CLIENT_NET + idx / 60000;
	*sport = (__u16)(1024 + idx % 60000);
}

static int cmd_prime(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct lab_run run = {0};
	unsigned long flows = 65536;
	struct lab_pkt first, ack;
	struct lab_chosen c;
	__u8 mac[ETH_ALEN] = {0};
	struct in_addr dst;
	unsigned int port;
	__u32 idx, saddr;
	__u16 sport;
	char addr[32];
	int opt, err = 0;

	while ((opt = getopt(argc, argv, "f:")) != -1) {
		if (opt != 'f')
			return fail("prime", "bad option");
		flows = strtoul(optarg, NULL, 10);
	}
	if (argc - optind != 4)
		return fail("prime", "usage: prime IFNAME BACKEND_IFNAME "
				     "ADDR:PORT syn|udp [-f FLOWS]");
	argv += optind;
	run.client_ifindex = (int)if_nametoindex(argv[0]);
	run.backend_ifindex = (int)if_nametoindex(argv[1]);
	if (!run.client_ifindex || !run.backend_ifindex)
		return fail(argv[0], "no such interface");
	if (bench_if_mac(argv[1], run.backend_if_mac))
		return fail(argv[1], "no MAC address");
	if (sscanf(argv[2], "%31[0-9.]:%u", addr, &port) != 2 ||
	    !inet_aton(addr, &dst) || !port || port > 65535)
		return fail(argv[2], "expected IPV4:PORT");
	if (strcmp(argv[3], "syn") && strcmp(argv[3], "udp"))
		return fail(argv[3], "expected syn or udp");
	err = bpf_xdp_query(run.client_ifindex, 0, &q);
	if (err || !q.prog_id)
		return fail(argv[0], "no XDP program attached");
	run.prog_fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (run.prog_fd < 0)
		return fail_errno(argv[0], errno);
	for (idx = 0; !err && idx < flows; idx++) {
		flow_source(idx, &saddr, &sport);
		if (!strcmp(argv[3], "udp")) {
			lab_udp(&first, mac, mac, saddr, ntohl(dst.s_addr),
				sport, (__u16)port);
			err = lab_udp_answered(&run, &first, &c);
			continue;
		}
		lab_tcp(&first, mac, mac, saddr, ntohl(dst.s_addr), sport,
			(__u16)port, LAB_TCP_SYN);
		lab_tcp(&ack, mac, mac, saddr, ntohl(dst.s_addr), sport,
			(__u16)port, LAB_TCP_ACK);
		err = lab_handshake(&run, &first, &ack, &c);
	}
	close(run.prog_fd);
	if (err)
		return fail_errno("prime", err);
	printf("primed %lu flows\n", flows);
	return 0;
}

/* The sink's counters, found through the program attached to ifindex,
 * so no pin (and no bpffs inside `ip netns exec`) is needed. */
static int sink_read(int ifindex, __u64 sums[2])
{
	__u32 prog_id = 0, map_ids[8], i, n_maps = 8, key;
	struct bpf_prog_info pinfo = {};
	struct bpf_map_info minfo;
	__u32 len = sizeof(pinfo);
	int ncpu = libbpf_num_possible_cpus();
	int pfd = -1, mfd = -1, err, c;
	__u64 *vals = NULL;

	err = bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &prog_id);
	if (!err && !prog_id)
		err = -ENOENT;
	if (err)
		goto out;
	pfd = bpf_prog_get_fd_by_id(prog_id);
	if (pfd < 0) {
		err = -errno;
		goto out;
	}
	pinfo.nr_map_ids = n_maps;
	pinfo.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(pfd, &pinfo, &len)) {
		err = -errno;
		goto out;
	}
	err = -ENOENT;
	for (i = 0; i < pinfo.nr_map_ids && i < n_maps && mfd < 0; i++) {
		mfd = bpf_map_get_fd_by_id(map_ids[i]);
		len = sizeof(minfo);
		memset(&minfo, 0, sizeof(minfo));
		if (mfd >= 0 && (bpf_obj_get_info_by_fd(mfd, &minfo, &len) ||
				 strcmp(minfo.name, "sink_count"))) {
			close(mfd);
			mfd = -1;
		}
	}
	vals = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*vals));
	if (mfd < 0 || !vals)
		goto out;
	for (key = 0; key < 2; key++) {
		err = bpf_map_lookup_elem(mfd, &key, vals) ? -errno : 0;
		if (err)
			goto out;
		for (sums[key] = 0, c = 0; c < ncpu; c++)
			sums[key] += vals[c];
	}
out:
	free(vals);
	if (mfd >= 0)
		close(mfd);
	if (pfd >= 0)
		close(pfd);
	return err;
}

/* Load the object with the given program to attach and attach it. */
static int attach_one(struct pktgen_bpf *skel, struct bpf_program *prog,
		      int ifindex)
{
	int err;

	err = pktgen_bpf__load(skel);
	if (err)
		return err;
	return bpf_xdp_attach(ifindex, bpf_program__fd(prog),
			      XDP_FLAGS_DRV_MODE, NULL);
}

static int cmd_sink(int argc, char **argv)
{
	struct pktgen_bpf *skel;
	__u64 sums[2] = {0, 0};
	int ifindex, err;

	if (argc != 3)
		return fail("sink", "usage: sink attach|read IFNAME");
	ifindex = (int)if_nametoindex(argv[2]);
	if (!ifindex)
		return fail(argv[2], "no such interface");
	if (!strcmp(argv[1], "read")) {
		err = sink_read(ifindex, sums);
		if (err)
			return fail_errno("sink: read", err);
		printf("%llu %llu\n", (unsigned long long)sums[0],
		       (unsigned long long)sums[1]);
		return 0;
	}
	if (strcmp(argv[1], "attach"))
		return fail("sink", "expected attach or read");
	skel = pktgen_bpf__open();
	if (!skel)
		return fail_errno("pktgen.bpf.o", errno);
	err = attach_one(skel, skel->progs.pktgen_sink, ifindex);
	pktgen_bpf__destroy(skel); /* the attachment keeps it alive */
	return err ? fail_errno(argv[2], err) : 0;
}

static int cmd_bare(int argc, char **argv)
{
	struct pktgen_bpf *skel;
	__u8 smac[ETH_ALEN], dmac[ETH_ALEN];
	int in, out, err;

	if (argc != 4)
		return fail("bare", "usage: bare IFNAME OUT_IFNAME DST_MAC");
	in = (int)if_nametoindex(argv[1]);
	out = (int)if_nametoindex(argv[2]);
	if (!in || !out)
		return fail(in ? argv[2] : argv[1], "no such interface");
	if (bench_if_mac(argv[2], smac) || parse_mac(argv[3], dmac))
		return fail(argv[3], "bad MAC address");
	skel = pktgen_bpf__open();
	if (!skel)
		return fail_errno("pktgen.bpf.o", errno);
	skel->rodata->out_ifindex = (__u32)out;
	memcpy((void *)skel->rodata->out_smac, smac, ETH_ALEN);
	memcpy((void *)skel->rodata->out_dmac, dmac, ETH_ALEN);
	err = attach_one(skel, skel->progs.pktgen_bare, in);
	pktgen_bpf__destroy(skel);
	return err ? fail_errno(argv[1], err) : 0;
}

int main(int argc, char **argv)
{
	int ifindex, err;

	if (argc < 2)
		return fail("pktgen",
			    "usage: pktgen send|sink|bare|detach ...");
	if (!strcmp(argv[1], "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sink"))
		return cmd_sink(argc - 1, argv + 1);
	if (!strcmp(argv[1], "prime"))
		return cmd_prime(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bare"))
		return cmd_bare(argc - 1, argv + 1);
	if (!strcmp(argv[1], "detach") && argc == 3) {
		ifindex = (int)if_nametoindex(argv[2]);
		if (!ifindex)
			return fail(argv[2], "no such interface");
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		return err ? fail_errno(argv[2], err) : 0;
	}
	return fail("pktgen",
		    "unknown command (send, prime, sink, bare, detach)");
}
