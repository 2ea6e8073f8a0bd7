/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The benchmarks' private lab (see bench_lab.h). iproute2 builds the
 * namespace's links, routes and neighbours: it runs as our child and so
 * inherits the namespace, and it is already a dependency of the labs.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "bench_lab.h"
#include "bench_util.h"

#define CLIENT_IF "cli0"
#define BACKEND_IF "be0"
#define CLIENT_IF_MAC "02:00:00:00:0a:01"
#define BACKEND_IF_MAC "02:00:00:00:14:01"
#define ROUTER_MAC "02:00:00:00:0a:fe"
/* Client addresses per port: 4000 x (65535 - 20000) distinct tuples. */
#define CLIENTS_PER_PORT 4000
#define CLIENT_PORT_BASE 20000

void lab_backend_mac(unsigned int i, uint8_t mac[6])
{
	static const uint8_t base[6] = {0x02, 0, 0, 0, 0x14, 0};

	memcpy(mac, base, sizeof(base));
	mac[5] = (uint8_t)(LAB_BACKEND_BASE + i);
}

uint32_t lab_client_addr(uint32_t i)
{
	return LAB_CLIENT_NET + 1 + i % CLIENTS_PER_PORT;
}

uint16_t lab_client_port(uint32_t i)
{
	return (uint16_t)(CLIENT_PORT_BASE + i / CLIENTS_PER_PORT);
}

static int write_sysctl(const char *path, const char *value)
{
	ssize_t len = (ssize_t)strlen(value);
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != len)
		err = -EIO;
	close(fd);
	return err;
}

/* Feed the lab's configuration to one `ip -batch -`. */
static int run_ip_batch(void)
{
	unsigned int i;
	FILE *ip;
	int status;

	ip = popen("ip -batch -", "w");
	if (!ip)
		return -errno;
	fprintf(ip, "link set lo up\n");
	fprintf(ip, "link add %s address %s type veth peer name cli1\n",
		CLIENT_IF, CLIENT_IF_MAC);
	fprintf(ip, "link add %s address %s type veth peer name be1\n",
		BACKEND_IF, BACKEND_IF_MAC);
	fprintf(ip, "link set cli1 up\nlink set be1 up\n");
	fprintf(ip, "link set %s up\nlink set %s up\n", CLIENT_IF, BACKEND_IF);
	fprintf(ip, "addr add 10.10.0.1/24 dev %s\n", CLIENT_IF);
	fprintf(ip, "addr add 10.20.0.1/24 dev %s\n", BACKEND_IF);
	/* Clients sit behind a router on the client side: one permanent
	 * neighbour serves the replies to all of them. No default route:
	 * nothing in this namespace has a way out. */
	fprintf(ip, "neigh add 10.10.0.254 lladdr %s nud permanent dev %s\n",
		ROUTER_MAC, CLIENT_IF);
	fprintf(ip, "route add 198.18.0.0/15 via 10.10.0.254 dev %s\n",
		CLIENT_IF);
	/* bench-scale's million clients (scale.c) */
	fprintf(ip, "route add 10.128.0.0/9 via 10.10.0.254 dev %s\n",
		CLIENT_IF);
	for (i = 0; i < LAB_BACKENDS; i++)
		fprintf(ip,
			"neigh add 10.20.0.%u lladdr 02:00:00:00:14:%02x nud permanent dev %s\n",
			LAB_BACKEND_BASE + i, LAB_BACKEND_BASE + i, BACKEND_IF);
	status = pclose(ip);
	if (status < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

int lab_setup(struct lab *lab)
{
	int err;

	if (unshare(CLONE_NEWNET))
		return -errno;
	err = run_ip_batch();
	if (err)
		return err;
	/* bpf_fib_lookup() answers FWD_DISABLED unless the ingress device
	 * forwards; "all" sets every existing device too. */
	err = write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "1");
	if (err)
		return err;
	lab->client_ifindex = (int)if_nametoindex(CLIENT_IF);
	lab->backend_ifindex = (int)if_nametoindex(BACKEND_IF);
	if (!lab->client_ifindex || !lab->backend_ifindex)
		return -ENODEV;
	err = bench_if_mac(CLIENT_IF, lab->client_if_mac);
	if (!err)
		err = bench_if_mac(BACKEND_IF, lab->backend_if_mac);
	if (err)
		return err;
	sscanf(ROUTER_MAC, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &lab->router_mac[0],
	       &lab->router_mac[1], &lab->router_mac[2], &lab->router_mac[3],
	       &lab->router_mac[4], &lab->router_mac[5]);
	return 0;
}

static uint32_t csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static uint16_t csum_finish(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Ethernet and IPv4 headers of a frame carrying l4_len bytes of L4. */
static struct iphdr *lab_l3(struct lab_pkt *p, const uint8_t *smac,
			    const uint8_t *dmac, uint32_t saddr, uint32_t daddr,
			    uint8_t proto, size_t l4_len)
{
	struct ethhdr *eth = (struct ethhdr *)p->data;
	struct iphdr *iph = (struct iphdr *)(eth + 1);

	memset(p, 0, sizeof(*p));
	memcpy(eth->h_dest, dmac, ETH_ALEN);
	memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);
	iph->version = 4;
	iph->ihl = 5;
	iph->tot_len = htons((uint16_t)(sizeof(*iph) + l4_len));
	iph->id = htons(1);
	iph->frag_off = htons(0x4000); /* DF, as TCP stacks send */
	iph->ttl = 64;
	iph->protocol = proto;
	iph->saddr = htonl(saddr);
	iph->daddr = htonl(daddr);
	iph->check = csum_finish(csum_add(0, iph, sizeof(*iph)));
	p->len = (uint32_t)(sizeof(*eth) + sizeof(*iph) + l4_len);
	return iph;
}

/* L4 checksum over the IPv4 pseudo header and the segment. */
static uint16_t l4_csum(const struct iphdr *iph, const void *l4, size_t len)
{
	uint32_t sum;

	sum = csum_add(0, &iph->saddr, 8);
	sum += iph->protocol + (uint32_t)len;
	return csum_finish(csum_add(sum, l4, len));
}

void lab_tcp(struct lab_pkt *p, const uint8_t *smac, const uint8_t *dmac,
	     uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
	     uint8_t flags)
{
	lab_tcp_seq(p, smac, dmac, saddr, daddr, sport, dport, flags,
		    LAB_CLIENT_SEQ,
		    flags & LAB_TCP_ACK ? LAB_BACKEND_ISN + 1 : 0);
}

void lab_tcp_seq(struct lab_pkt *p, const uint8_t *smac, const uint8_t *dmac,
		 uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		 uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct iphdr *iph;
	struct tcphdr *th;

	iph = lab_l3(p, smac, dmac, saddr, daddr, IPPROTO_TCP, sizeof(*th));
	th = (struct tcphdr *)(iph + 1);
	th->source = htons(sport);
	th->dest = htons(dport);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = 5;
	((uint8_t *)th)[13] = flags;
	th->window = htons(65535);
	th->check = l4_csum(iph, th, sizeof(*th));
}

void lab_udp(struct lab_pkt *p, const uint8_t *smac, const uint8_t *dmac,
	     uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport)
{
	struct iphdr *iph;
	struct udphdr *uh;
	size_t len = sizeof(*uh) + 8;

	iph = lab_l3(p, smac, dmac, saddr, daddr, IPPROTO_UDP, len);
	uh = (struct udphdr *)(iph + 1);
	uh->source = htons(sport);
	uh->dest = htons(dport);
	uh->len = htons((uint16_t)len);
	memcpy(uh + 1, "slotlb!!", 8);
	uh->check = l4_csum(iph, uh, len);
}

/* One frame through the program, its output kept. */
static int run_out(int prog_fd, int ifindex, const struct lab_pkt *in,
		   struct lab_pkt *out, __u32 *verdict)
{
	struct xdp_md md = {
		.data_end = in->len,
		.ingress_ifindex = (__u32)ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data,
		    .data_size_in = in->len, .data_out = out->data,
		    .data_size_out = sizeof(out->data), .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		return err;
	out->len = o.data_size_out;
	*verdict = o.retval;
	return 0;
}

int lab_chosen_of(const struct lab_run *r, const struct lab_pkt *frame,
		  struct lab_chosen *c)
{
	const struct ethhdr *eth;
	const struct iphdr *iph;
	const struct tcphdr *th;
	struct lab_pkt out;
	__u32 verdict;
	int err;

	err = run_out(r->prog_fd, r->client_ifindex, frame, &out, &verdict);
	if (err)
		return err;
	if (verdict != XDP_REDIRECT || out.len < 14 + 20 + 8)
		return -EPROTO;
	eth = (const struct ethhdr *)out.data;
	iph = (const struct iphdr *)(eth + 1);
	th = (const struct tcphdr *)(iph + 1);
	c->addr = ntohl(iph->daddr);
	c->port = ntohs(th->dest);
	memcpy(c->mac, eth->h_dest, 6);
	return 0;
}

/* The client side of frame: address and port, host order. */
static void client_of(const struct lab_pkt *frame, uint32_t *addr,
		      uint16_t *port)
{
	const struct iphdr *iph = (const void *)(frame->data + 14);
	const struct tcphdr *th = (const void *)(iph + 1);

	*addr = ntohl(iph->saddr);
	*port = ntohs(th->source);
}

int lab_handshake(const struct lab_run *r, const struct lab_pkt *syn,
		  const struct lab_pkt *ack, struct lab_chosen *c)
{
	struct lab_pkt synack, out;
	uint32_t caddr;
	uint16_t cport;
	__u32 verdict;
	int err;

	err = lab_chosen_of(r, syn, c);
	if (err)
		return err;
	client_of(syn, &caddr, &cport);
	lab_tcp_seq(&synack, c->mac, r->backend_if_mac, c->addr, caddr, c->port,
		    cport, LAB_TCP_SYN | LAB_TCP_ACK, LAB_BACKEND_ISN,
		    LAB_CLIENT_SEQ + 1);
	err = run_out(r->prog_fd, r->backend_ifindex, &synack, &out, &verdict);
	if (!err && verdict != XDP_REDIRECT)
		err = -EPROTO;
	if (!err)
		err = run_out(r->prog_fd, r->client_ifindex, ack, &out,
			      &verdict);
	if (!err && verdict != XDP_REDIRECT)
		err = -EPROTO;
	return err;
}

int lab_udp_answered(const struct lab_run *r, const struct lab_pkt *dgram,
		     struct lab_chosen *c)
{
	struct lab_pkt answer, out;
	uint32_t caddr;
	uint16_t cport;
	__u32 verdict;
	int err;

	err = lab_chosen_of(r, dgram, c);
	if (err)
		return err;
	client_of(dgram, &caddr, &cport);
	lab_udp(&answer, c->mac, r->backend_if_mac, c->addr, caddr, c->port,
		cport);
	err = run_out(r->prog_fd, r->backend_ifindex, &answer, &out, &verdict);
	if (!err && verdict != XDP_REDIRECT)
		err = -EPROTO;
	return err;
}
