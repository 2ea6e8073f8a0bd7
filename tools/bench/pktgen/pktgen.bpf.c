// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The forwarding-rate benchmark's XDP programs (tools/bench/pktgen):
 *
 * pktgen_gen   run by BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES:
 *              writes the next frame of the flow sequence and sends it
 *              out of the generator's veth (XDP_TX).
 * pktgen_bare  the baseline load balancer: no lookups at all, just the
 *              backend side's MACs and a redirect to its interface.
 * pktgen_sink  on the backends' veth: counts what arrives and drops it.
 *
 * Load-time constants are rodata set by pktgen.c before load.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define FRAME_WORDS 8 /* 64-byte frames */
#define L4_OFF (sizeof(struct ethhdr) + sizeof(struct iphdr))

/* Generator: the frame with source address and port 0, checksums
 * complete for that; each frame adds its own address and port. */
const volatile __u64 tmpl[FRAME_WORDS];
const volatile __u32 flow_count = 1; /* flows cycled through; 0: endless */
const volatile __u32 ports_per_addr = 60000;
const volatile __u32 saddr_base; /* host order */
const volatile __u16 sport_base = 1024;
const volatile __u8 is_tcp;

/* Baseline redirect: egress interface and the MACs it needs. */
const volatile __u32 out_ifindex;
const volatile __u8 out_smac[ETH_ALEN];
const volatile __u8 out_dmac[ETH_ALEN];

/* Frame sequence number; the generator is single-threaded. Userspace
 * sets it before each run to pick where in the flow space to start. */
__u64 seq;

/* Sink: [0] every frame, [1] frames whose destination port is the
 * backends' (i.e. NATed to a backend), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} sink_count SEC(".maps");

const volatile __u16 backend_port = 8080;

/* Add 16-bit words to a one's-complement checksum. Byte order does not
 * matter as long as every word is read the same way (RFC 1071). */
static __always_inline __u16 csum_add(__u16 check, __u32 words)
{
	__u32 sum = (__u16)~check + words;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int pktgen_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *w = data;
	__u32 idx, saddr, words;
	__u16 sport;
	struct iphdr *iph;
	int i;

	if (data + FRAME_WORDS * 8 > data_end)
		return XDP_ABORTED;
	/* Pages are recycled after the load balancer rewrote them, so
	 * every frame is written whole. */
	for (i = 0; i < FRAME_WORDS; i++)
		w[i] = tmpl[i];

	idx = (__u32)seq++;
	if (flow_count)
		idx %= flow_count;
	saddr = bpf_htonl(saddr_base + idx / ports_per_addr);
	sport = bpf_htons(sport_base + idx % ports_per_addr);
	words = (saddr & 0xffff) + (saddr >> 16);

	iph = data + sizeof(struct ethhdr);
	iph->saddr = saddr;
	iph->check = csum_add(iph->check, words);
	if (is_tcp) {
		struct tcphdr *th = data + L4_OFF;

		th->source = sport;
		th->check = csum_add(th->check, words + sport);
	} else {
		struct udphdr *uh = data + L4_OFF;
		__u16 c;

		uh->source = sport;
		c = csum_add(uh->check, words + sport);
		uh->check = c ? c : 0xffff;
	}
	return XDP_TX;
}

SEC("xdp")
int pktgen_bare(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	int i;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	for (i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = out_dmac[i];
		eth->h_source[i] = out_smac[i];
	}
	return bpf_redirect(out_ifindex, 0);
}

SEC("xdp")
int pktgen_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *l4 = data + L4_OFF; /* ports sit alike in TCP */
	__u32 key = 0;
	__u64 *n;

	n = bpf_map_lookup_elem(&sink_count, &key);
	if (n)
		*n += 1;
	if ((void *)(l4 + 1) > data_end || l4->dest != bpf_htons(backend_port))
		return XDP_DROP;
	key = 1;
	n = bpf_map_lookup_elem(&sink_count, &key);
	if (n)
		*n += 1;
	return XDP_DROP;
}
