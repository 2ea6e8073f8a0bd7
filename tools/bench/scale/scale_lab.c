// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The scale benchmark's private lab and frames: a network namespace of
 * this process only, with a client-facing and a backend-facing veth,
 * forwarding and permanent neighbours, so bpf_fib_lookup() succeeds and
 * slotlb takes its real forwarding path under BPF_PROG_TEST_RUN.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#include "scale.h"

#define ROUTER_MAC "02:00:00:00:0a:fe"

static int write_file(const char *path, const char *value)
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

static int if_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr = {};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

int scale_lab_setup(struct scale_lab *lab)
{
	unsigned int i;
	int status, err;
	FILE *ip;

	if (unshare(CLONE_NEWNET))
		return -errno;
	ip = popen("ip -batch -", "w");
	if (!ip)
		return -errno;
	fprintf(ip, "link set lo up\n"
		    "link add cli0 type veth peer name cli1\n"
		    "link add be0 type veth peer name be1\n"
		    "link set cli0 up\nlink set cli1 up\n"
		    "link set be0 up\nlink set be1 up\n"
		    "addr add 10.10.0.1/24 dev cli0\n"
		    "addr add 10.20.0.1/24 dev be0\n");
	for (i = 0; i < SCALE_BACKENDS; i++)
		fprintf(ip,
			"neigh add 10.20.0.%u lladdr 02:00:00:00:14:%02x nud permanent dev be0\n",
			SCALE_BACKEND_BASE + i, SCALE_BACKEND_BASE + i);
	status = pclose(ip);
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -EIO;
	err = write_file("/proc/sys/net/ipv4/conf/all/forwarding", "1");
	if (err)
		return err;
	lab->client_ifindex = (int)if_nametoindex("cli0");
	if (!lab->client_ifindex)
		return -ENODEV;
	sscanf(ROUTER_MAC, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &lab->router_mac[0],
	       &lab->router_mac[1], &lab->router_mac[2], &lab->router_mac[3],
	       &lab->router_mac[4], &lab->router_mac[5]);
	return if_mac("cli0", lab->client_if_mac);
}

static uint32_t sum16(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

void scale_frame(struct scale_pkt *p, const struct scale_lab *lab,
		 uint32_t flow, bool syn)
{
	struct ethhdr *eth = (struct ethhdr *)p->data;
	struct iphdr *iph = (struct iphdr *)(eth + 1);
	struct tcphdr *th = (struct tcphdr *)(iph + 1);
	uint32_t sum;

	memset(p, 0, sizeof(*p));
	memcpy(eth->h_dest, lab->client_if_mac, ETH_ALEN);
	memcpy(eth->h_source, lab->router_mac, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);
	iph->version = 4;
	iph->ihl = 5;
	iph->tot_len = htons(sizeof(*iph) + sizeof(*th));
	iph->frag_off = htons(0x4000);
	iph->ttl = 64;
	iph->protocol = IPPROTO_TCP;
	iph->saddr = htonl(SCALE_CLIENT_NET + flow / SCALE_PORTS);
	iph->daddr = htonl(SCALE_VIP);
	iph->check = fold(sum16(0, iph, sizeof(*iph)));
	th->source = htons((uint16_t)(SCALE_PORT_BASE + flow % SCALE_PORTS));
	th->dest = htons(SCALE_VIP_PORT);
	th->seq = htonl(1000);
	th->doff = 5;
	th->window = htons(65535);
	if (syn) {
		th->syn = 1;
	} else {
		th->ack = 1;
		th->ack_seq = htonl(2000);
	}
	sum = sum16(0, &iph->saddr, 8) + IPPROTO_TCP + sizeof(*th);
	th->check = fold(sum16(sum, th, sizeof(*th)));
	p->len = sizeof(*eth) + sizeof(*iph) + sizeof(*th);
}
