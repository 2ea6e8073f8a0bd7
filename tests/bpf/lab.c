/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The BPF tests' lab (see lab.h): namespace and topology, slotlb setup and
 * teardown, the test_run runner and the asserts on output packets. The
 * namespace dies with the process; pinned maps do not, so every pin root
 * is removed at close and again at exit for any a failure left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lab.h"

int lab_pub_ifindex, lab_back_ifindex;
const uint8_t lab_pub_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x01};
const uint8_t lab_back_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x02, 0x01};

struct lab_client {
	int family;
	const char *addr;
	uint8_t mac[6];
};

static const struct lab_client clients[] = {
	{AF_INET, CLIENT4, {0x02, 0xc1, 0, 0, 0x04, 0x02}},
	{AF_INET, CLIENT4B, {0x02, 0xc1, 0, 0, 0x04, 0x03}},
	{AF_INET6, CLIENT6, {0x02, 0xc1, 0, 0, 0x06, 0x02}},
	{AF_INET6, CLIENT6B, {0x02, 0xc1, 0, 0, 0x06, 0x03}},
};

/* A router on pub for the clients of the traffic tests (10.0.0.0/8,
 * 2001:db8::/32): replies to them go to its MAC. */
static const uint8_t router_mac[6] = {0x02, 0xc1, 0, 0, 0xfe, 0x01};

#define MAC4(n)                           \
	{                                 \
		0x02, 0xbe, 0, 0, 0x04, n \
	}
#define MAC6(n)                           \
	{                                 \
		0x02, 0xbe, 0, 0, 0x06, n \
	}

static const struct lab_backend backends[] = {
	{1, AF_INET, "198.19.1.11", 8080, MAC4(0x11)},
	{2, AF_INET, "198.19.1.12", 8080, MAC4(0x12)},
	{3, AF_INET, "198.19.1.13", 8080, MAC4(0x13)},
	{4, AF_INET, "198.19.1.21", 9090, MAC4(0x21)},
	{5, AF_INET, "198.19.1.22", 9090, MAC4(0x22)},
	{6, AF_INET, "198.19.1.23", 9090, MAC4(0x23)},
	{7, AF_INET, "198.19.1.31", 7070, MAC4(0x31)},
	{8, AF_INET, "198.19.1.32", 7070, MAC4(0x32)},
	{9, AF_INET, "198.19.1.33", 7070, MAC4(0x33)},
	{11, AF_INET6, "fd00:5107:1001::11", 8080, MAC6(0x11)},
	{12, AF_INET6, "fd00:5107:1001::12", 8080, MAC6(0x12)},
	{13, AF_INET6, "fd00:5107:1001::13", 8080, MAC6(0x13)},
	{14, AF_INET6, "fd00:5107:1001::21", 9090, MAC6(0x21)},
	{15, AF_INET6, "fd00:5107:1001::22", 9090, MAC6(0x22)},
	{16, AF_INET6, "fd00:5107:1001::23", 9090, MAC6(0x23)},
	{20, AF_INET, "198.19.1.99", 8080, {0}}, /* no neighbour */
	{17, AF_INET6, "fd00:5107:1001::31", 7070, MAC6(0x31)},
	{18, AF_INET6, "fd00:5107:1001::32", 7070, MAC6(0x32)},
	{19, AF_INET6, "fd00:5107:1001::33", 7070, MAC6(0x33)},
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

struct lab_deployment {
	uint32_t id;
	uint32_t backend_ids[3];
	uint32_t weights[3];
	size_t n;
};

static const struct lab_deployment deployments[] = {
	{DEP_A4, {1, 2, 3}, {1, 1, 1}, 3},
	{DEP_B4, {4, 5, 6}, {1, 2, 1}, 3},
	{DEP_A6, {11, 12, 13}, {1, 1, 1}, 3},
	{DEP_B6, {14, 15, 16}, {1, 1, 1}, 3},
	{DEP_NONEIGH, {20}, {1}, 1},
	{DEP_C4, {1, 2, 3}, {1, 1, 1}, 3},
	{DEP_D4, {4, 5, 6}, {1, 1, 1}, 3},
	{DEP_Q4, {7, 8, 9}, {1, 1, 1}, 3},
	{DEP_Q6, {17, 18, 19}, {1, 1, 1}, 3},
	{DEP_E4, {7, 8, 9}, {1, 1, 1}, 3},
};
#define NDEPLOYMENTS (sizeof(deployments) / sizeof(deployments[0]))

struct lab_endpoint {
	int family;
	const char *addr;
	uint16_t port;
	uint8_t proto;
	uint32_t app, slot, id;
};

static const struct lab_endpoint endpoints[] = {
	{AF_INET, VIP4, PORT_HTTP, IPPROTO_TCP, APP_WEB4, 0, EP_WEB4_TCP},
	{AF_INET, VIP4, PORT_DNS, IPPROTO_UDP, APP_WEB4, 0, EP_WEB4_UDP},
	{AF_INET, VIP4, PORT_STAGING, IPPROTO_TCP, APP_WEB4, 1,
	 EP_WEB4_STAGING},
	{AF_INET6, VIP6, PORT_HTTP, IPPROTO_TCP, APP_WEB6, 0, EP_WEB6_TCP},
	{AF_INET6, VIP6, PORT_DNS, IPPROTO_UDP, APP_WEB6, 0, EP_WEB6_UDP},
	{AF_INET, VIP4_NONEIGH, PORT_HTTP, IPPROTO_TCP, APP_NONEIGH, 0,
	 EP_NONEIGH},
	{AF_INET, VIP4_DRAIN, PORT_HTTP, IPPROTO_TCP, APP_DRAIN, 0, EP_DRAIN},
	{AF_INET, VIP4_TRAFFIC, PORT_HTTP, IPPROTO_TCP, APP_TRAFFIC4, 0,
	 EP_T4_PROD},
	{AF_INET, VIP4_TRAFFIC, PORT_DNS, IPPROTO_UDP, APP_TRAFFIC4, 0,
	 EP_T4_UDP},
	{AF_INET, VIP4_TRAFFIC, PORT_STAGING, IPPROTO_TCP, APP_TRAFFIC4, 1,
	 EP_T4_STAGING},
	{AF_INET, VIP4_TRAFFIC, PORT_QA, IPPROTO_TCP, APP_TRAFFIC4, 2,
	 EP_T4_QA},
	{AF_INET6, VIP6_TRAFFIC, PORT_HTTP, IPPROTO_TCP, APP_TRAFFIC6, 0,
	 EP_T6_PROD},
	{AF_INET6, VIP6_TRAFFIC, PORT_QA, IPPROTO_TCP, APP_TRAFFIC6, 2,
	 EP_T6_QA},
	{AF_INET, VIP4, PORT_SLOT2, IPPROTO_TCP, APP_WEB4, 2, EP_WEB4_SLOT2},
	{AF_INET, VIP4, PORT_SLOT19, IPPROTO_TCP, APP_WEB4,
	 SLOTLB_MAX_SLOTS - 1, EP_WEB4_SLOT19},
};
#define NENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

/* Pin roots to remove at exit if a failure skipped lab_close. */
static char leftover[4][96];

static void remove_pin_root(const char *root)
{
	char path[512];
	struct dirent *d;
	DIR *dir;

	dir = opendir(root);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, d->d_name);
		unlink(path);
	}
	closedir(dir);
	rmdir(root);
}

/* Pin roots of test processes that died without cleaning up (a crash,
 * a kill): removed by the next run. */
static void remove_stale_pin_roots(void)
{
	char path[512];
	struct dirent *d;
	DIR *dir;
	int pid;

	dir = opendir("/sys/fs/bpf");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (sscanf(d->d_name, "slotlb-test-%d-", &pid) != 1 ||
		    pid <= 0 || pid == getpid() ||
		    !(kill(pid, 0) && errno == ESRCH))
			continue;
		snprintf(path, sizeof(path), "/sys/fs/bpf/%s", d->d_name);
		remove_pin_root(path);
	}
	closedir(dir);
}

static void remove_leftovers(void)
{
	size_t i;

	for (i = 0; i < sizeof(leftover) / sizeof(leftover[0]); i++)
		if (leftover[i][0])
			remove_pin_root(leftover[i]);
}

static void remember(const char *root)
{
	size_t i, free_slot = SIZE_MAX;

	for (i = 0; i < sizeof(leftover) / sizeof(leftover[0]); i++) {
		if (!strcmp(leftover[i], root))
			return;
		if (!leftover[i][0] && free_slot == SIZE_MAX)
			free_slot = i;
	}
	if (free_slot != SIZE_MAX)
		snprintf(leftover[free_slot], sizeof(leftover[0]), "%s", root);
}

static void forget(const char *root)
{
	size_t i;

	for (i = 0; i < sizeof(leftover) / sizeof(leftover[0]); i++)
		if (!strcmp(leftover[i], root))
			leftover[i][0] = '\0';
}

static int write_file(const char *path, const char *val)
{
	int fd, ok;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -EIO;
}

static void fmt_mac(char *buf, const uint8_t *m)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		m[4], m[5]);
}

/* The topology as one `ip -batch` script. */
static int build_topology(void)
{
	char mac[18];
	FILE *ip;
	size_t i;

	ip = popen("ip -batch -", "w");
	if (!ip)
		return -errno;
	fprintf(ip, "link set lo up\n");
	fmt_mac(mac, lab_pub_mac);
	fprintf(ip, "link add pub address %s type veth peer name pub-peer\n",
		mac);
	fmt_mac(mac, lab_back_mac);
	fprintf(ip, "link add back address %s type veth peer name back-peer\n",
		mac);
	fprintf(ip, "link set pub up\nlink set pub-peer up\n"
		    "link set back up\nlink set back-peer up\n"
		    "addr add 198.18.0.1/24 dev pub\n"
		    "addr add fd00:5107::1/64 dev pub nodad\n"
		    "addr add 198.19.1.1/24 dev back\n"
		    "addr add fd00:5107:1001::1/64 dev back nodad\n");
	for (i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		fmt_mac(mac, clients[i].mac);
		fprintf(ip, "neigh add %s lladdr %s dev pub nud permanent\n",
			clients[i].addr, mac);
	}
	fmt_mac(mac, router_mac);
	fprintf(ip,
		"neigh add %s lladdr %s dev pub nud permanent\n"
		"neigh add %s lladdr %s dev pub nud permanent\n"
		"route add 10.0.0.0/8 via %s dev pub\n"
		"route add 2001:db8::/32 via %s dev pub\n",
		ROUTER4, mac, ROUTER6, mac, ROUTER4, ROUTER6);
	for (i = 0; i < NBACKENDS; i++) {
		if (!backends[i].mac[0])
			continue;
		fmt_mac(mac, backends[i].mac);
		fprintf(ip, "neigh add %s lladdr %s dev back nud permanent\n",
			backends[i].addr, mac);
	}
	return pclose(ip) ? -EIO : 0;
}

int lab_enter_netns(void)
{
	int err;

	if (geteuid()) {
		printf("SKIP: BPF tests need root (BPF, netns, bpffs)\n");
		return LAB_SKIP;
	}
	if (unshare(CLONE_NEWNET)) {
		printf("SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return LAB_SKIP;
	}
	atexit(remove_leftovers);
	remove_stale_pin_roots();
	/* Per-netns sysctls: bpf_fib_lookup refuses to route without them. */
	err = write_file("/proc/sys/net/ipv4/ip_forward", "1");
	if (!err)
		err = write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	if (!err)
		err = build_topology();
	if (err) {
		fprintf(stderr, "Error: lab: topology: %s\n", strerror(-err));
		return 1;
	}
	lab_pub_ifindex = (int)if_nametoindex("pub");
	lab_back_ifindex = (int)if_nametoindex("back");
	if (!lab_pub_ifindex || !lab_back_ifindex) {
		fprintf(stderr, "Error: lab: interfaces missing\n");
		return 1;
	}
	return 0;
}

static int populate(struct lab *lab)
{
	struct slotlb_deployment_info info = {};
	size_t i;
	int err;

	for (i = 0; i < NBACKENDS; i++) {
		struct slotlb_backend be = {};
		uint8_t a[16];

		pkt_addr(backends[i].family, backends[i].addr, a);
		memcpy(be.addr, a, sizeof(be.addr));
		be.port = htons(backends[i].port);
		be.family = (uint8_t)backends[i].family;
		err = slotlb_backend_set(lab->lb, backends[i].id, &be);
		if (err)
			return err;
	}
	for (i = 0; i < NDEPLOYMENTS; i++) {
		snprintf(info.version, sizeof(info.version), "v%u",
			 deployments[i].id);
		err = slotlb_deployment_publish(
			lab->lb, deployments[i].id, &info,
			deployments[i].backend_ids, deployments[i].weights,
			deployments[i].n);
		if (err)
			return err;
	}
	for (i = 0; i < NENDPOINTS; i++) {
		const struct lab_endpoint *e = &endpoints[i];
		struct slotlb_endpoint_key key = {};
		struct slotlb_endpoint ep = {
			.app_id = e->app,
			.slot = e->slot,
			.endpoint_id = e->id,
		};
		uint8_t a[16];

		pkt_addr(e->family, e->addr, a);
		memcpy(key.addr, a, sizeof(key.addr));
		key.port = htons(e->port);
		key.proto = e->proto;
		key.family = (uint8_t)e->family;
		err = slotlb_endpoint_set(lab->lb, &key, &ep);
		if (err)
			return err;
	}
	lab_route_default(lab);
	return 0;
}

int lab_open(struct lab *lab, const char *tag, const struct slotlb_opts *opts,
	     bool populate_maps)
{
	struct slotlb_opts o = *opts;
	int err;

	snprintf(lab->pin_root, sizeof(lab->pin_root),
		 "/sys/fs/bpf/slotlb-test-%d-%s", (int)getpid(), tag);
	remember(lab->pin_root);
	o.pin_root = lab->pin_root;
	err = slotlb_open(&lab->lb, &o);
	if (err) {
		fprintf(stderr, "Error: slotlb: open %s: %s\n", lab->pin_root,
			strerror(-err));
		return err;
	}
	/* The interfaces' roles, as an attach would set them. */
	err = slotlb_iface_set(lab->lb, lab_pub_ifindex, SLOTLB_ROLE_PUBLIC);
	if (!err)
		err = slotlb_iface_set(lab->lb, lab_back_ifindex,
				       SLOTLB_ROLE_BACKEND);
	if (err) {
		fprintf(stderr, "Error: lab: interface roles: %s\n",
			strerror(-err));
		return err;
	}
	if (populate_maps) {
		err = populate(lab);
		if (err)
			fprintf(stderr, "Error: lab: populate: %s\n",
				strerror(-err));
	}
	return err;
}

void lab_close_keep(struct lab *lab)
{
	slotlb_close(lab->lb);
	lab->lb = NULL;
}

void lab_close(struct lab *lab)
{
	lab_close_keep(lab);
	remove_pin_root(lab->pin_root);
	forget(lab->pin_root);
}

/* Slot 0's deployment per app, for the previous one of the next change
 * (as slotlbd records it). */
static uint32_t routed[8];

void lab_route_slots(struct lab *lab, uint32_t app, const uint32_t *deps,
		     const uint32_t *prev, size_t n)
{
	static uint32_t generation;
	struct slotlb_routing r = {};
	size_t s;
	int err;

	for (s = 0; s < n && s < SLOTLB_MAX_SLOTS; s++) {
		r.deployment[s] = deps[s];
		r.previous[s] = prev ? prev[s] : 0;
	}
	r.generation = ++generation;
	err = slotlb_routing_set(lab->lb, app, &r);
	if (err)
		fail_msg("routing_set app %u: %s", app, strerror(-err));
	if (n && app < sizeof(routed) / sizeof(routed[0]))
		routed[app] = deps[0];
}

void lab_route_prev(struct lab *lab, uint32_t app, uint32_t dep, uint32_t prev)
{
	lab_route_slots(lab, app, &dep, &prev, 1);
}

void lab_route(struct lab *lab, uint32_t app, uint32_t dep)
{
	uint32_t prev =
		app < sizeof(routed) / sizeof(routed[0]) ? routed[app] : 0;

	lab_route_prev(lab, app, dep, prev != dep ? prev : 0);
}

void lab_route_default(struct lab *lab)
{
	memset(routed, 0, sizeof(routed));
	lab_route(lab, APP_WEB4, DEP_A4);
	lab_route(lab, APP_WEB6, DEP_A6);
	lab_route(lab, APP_NONEIGH, DEP_NONEIGH);
	lab_route(lab, APP_DRAIN, DEP_C4);
}

const uint8_t *lab_client_mac(int family, const char *addr)
{
	uint8_t a[16];
	size_t i;

	for (i = 0; i < sizeof(clients) / sizeof(clients[0]); i++)
		if (clients[i].family == family &&
		    !strcmp(clients[i].addr, addr))
			return clients[i].mac;
	if (inet_pton(family, addr, a) != 1)
		return NULL;
	if ((family == AF_INET && a[0] == 10) ||
	    (family == AF_INET6 && !memcmp(a, "\x20\x01\x0d\xb8", 4)))
		return router_mac;
	return NULL;
}

static const struct lab_backend *backend_at(int family, const uint8_t *addr,
					    uint16_t port)
{
	size_t i;

	for (i = 0; i < NBACKENDS; i++)
		if (backends[i].family == family && backends[i].port == port &&
		    pkt_addr_eq(family, addr, backends[i].addr))
			return &backends[i];
	return NULL;
}

const struct lab_backend *lab_backend_by_dst(const struct pkt_info *pi)
{
	return backend_at(pi->family, pi->dst, pi->dport);
}

static const struct lab_deployment *deployment(uint32_t dep)
{
	size_t i;

	for (i = 0; i < NDEPLOYMENTS; i++)
		if (deployments[i].id == dep)
			return &deployments[i];
	return NULL;
}

bool lab_in_deployment(const struct lab_backend *be, uint32_t dep)
{
	const struct lab_deployment *d = deployment(dep);
	size_t i;

	for (i = 0; be && d && i < d->n; i++)
		if (d->backend_ids[i] == be->id)
			return true;
	return false;
}

const struct lab_backend *lab_deployment_backend(uint32_t dep, unsigned i)
{
	const struct lab_deployment *d = deployment(dep);
	size_t j;

	for (j = 0; d && i < d->n && j < NBACKENDS; j++)
		if (backends[j].id == d->backend_ids[i])
			return &backends[j];
	return NULL;
}

void lab_republish(struct lab *lab, uint32_t dep, uint32_t out)
{
	const struct lab_deployment *d = deployment(dep);
	struct slotlb_deployment_info info = {};
	uint32_t weights[3];
	size_t i;

	if (!d)
		fail_msg("republish: no deployment %u in the lab", dep);
	for (i = 0; i < d->n; i++)
		weights[i] = d->backend_ids[i] == out ? 0 : d->weights[i];
	snprintf(info.version, sizeof(info.version), "v%u", dep);
	if (slotlb_deployment_publish(lab->lb, dep, &info, d->backend_ids,
				      weights, d->n))
		fail_msg("republishing deployment %u failed", dep);
}

uint16_t lab_port(void)
{
	static uint16_t next = 20000;

	return next++;
}

const char *lab_verdict_name(int verdict)
{
	static const char *const names[] = {"XDP_ABORTED", "XDP_DROP",
					    "XDP_PASS", "XDP_TX",
					    "XDP_REDIRECT"};

	if (verdict >= 0 && verdict <= XDP_REDIRECT)
		return names[verdict];
	return "error";
}

int lab_run_fast(struct lab *lab, int ifindex, const uint8_t *in, size_t len,
		 struct xdp_out *out)
{
	struct xdp_md ctx = {
		.data_end = (__u32)len,
		.ingress_ifindex = (__u32)ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = out->data,
		    .data_size_out = sizeof(out->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(slotlb_prog_fd(lab->lb), &o);
	out->verdict = err ? -1 : (int)o.retval;
	out->len = o.data_size_out;
	return err;
}

int lab_run_meta(struct lab *lab, int ifindex, const uint8_t *in, size_t len,
		 uint32_t metalen, struct xdp_out *out)
{
	struct slotlb_reason_counter before[SLOTLB_REASON_MAX];
	struct slotlb_reason_counter after[SLOTLB_REASON_MAX];
	struct xdp_md ctx = {
		.data = metalen,
		.data_end = (__u32)len,
		.ingress_ifindex = (__u32)ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = out->data,
		    .data_size_out = sizeof(out->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err, r;

	if (slotlb_reasons_read(lab->lb, before))
		fail_msg("reasons_read failed");
	err = bpf_prog_test_run_opts(slotlb_prog_fd(lab->lb), &o);
	if (err)
		return err;
	out->verdict = (int)o.retval;
	out->len = o.data_size_out;
	if (slotlb_reasons_read(lab->lb, after))
		fail_msg("reasons_read failed");
	out->reason = -1;
	for (r = 0; r < SLOTLB_REASON_MAX; r++) {
		uint64_t d = after[r].packets - before[r].packets;

		if (!d)
			continue;
		out->reason = out->reason == -1 && d == 1 ? r : -2;
	}
	return 0;
}

void lab_run(struct lab *lab, int ifindex, const uint8_t *in, size_t len,
	     struct xdp_out *out)
{
	int err = lab_run_meta(lab, ifindex, in, len, 0, out);

	if (err)
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(-err));
}

void assert_untouched(const char *desc, const struct xdp_out *out,
		      const uint8_t *in, size_t len, int verdict, int reason)
{
	assert_verdict(desc, out, verdict);
	assert_reason(desc, out, reason);
	if (out->len != len || memcmp(out->data, in, len)) {
		pkt_diff(out->data, out->len, in, len);
		fail_msg("%s: output differs from input", desc);
	}
}

void assert_checksums(const char *desc, const uint8_t *buf, size_t len)
{
	const char *why;

	if (!pkt_csum_ok(buf, len, &why))
		fail_msg("%s: bad checksum in output: %s", desc, why);
}

static void assert_frame(const char *desc, const struct xdp_out *out,
			 const uint8_t *want, size_t want_len)
{
	if (out->len != want_len || memcmp(out->data, want, want_len)) {
		pkt_diff(out->data, out->len, want, want_len);
		fail_msg("%s: output differs from the expected frame", desc);
	}
	assert_checksums(desc, out->data, out->len);
}

/* Output addressed to a backend of dep; returns it. */
static const struct lab_backend *
to_backend(const char *desc, const struct xdp_out *out, uint32_t dep)
{
	const struct lab_backend *be;
	struct pkt_info pi;

	if (!pkt_parse(out->data, out->len, &pi))
		fail_msg("%s: output is not a TCP/UDP frame", desc);
	be = lab_backend_by_dst(&pi);
	if (!be)
		fail_msg("%s: output goes to no backend (dport %u)", desc,
			 pi.dport);
	if (!lab_in_deployment(be, dep))
		fail_msg("%s: backend %s:%u is not in deployment %u", desc,
			 be->addr, be->port, dep);
	return be;
}

const struct lab_backend *assert_forwarded(const char *desc,
					   const struct xdp_out *out,
					   const struct pkt_spec *s,
					   int ifindex, uint32_t dep,
					   int reason)
{
	const struct lab_backend *be;
	struct pkt_spec want = *s;
	uint8_t frame[PKT_MAX];
	size_t len;

	assert_verdict(desc, out,
		       ifindex == lab_back_ifindex ? XDP_TX : XDP_REDIRECT);
	assert_reason(desc, out, reason);
	be = to_backend(desc, out, dep);
	want.dst = be->addr;
	want.dport = be->port;
	want.ttl = (s->ttl ? s->ttl : 64) - 1;
	want.smac = lab_back_mac;
	want.dmac = be->mac;
	len = pkt_build(frame, &want);
	assert_frame(desc, out, frame, len);
	return be;
}

void assert_replied(const char *desc, const struct xdp_out *out,
		    const struct pkt_spec *s, const char *ep_addr,
		    uint16_t ep_port)
{
	struct pkt_spec want = *s;
	uint8_t frame[PKT_MAX];
	size_t len;

	assert_verdict(desc, out, XDP_REDIRECT);
	assert_reason(desc, out, SLOTLB_REASON_REPLY);
	want.src = ep_addr;
	want.sport = ep_port;
	want.ttl = (s->ttl ? s->ttl : 64) - 1;
	want.smac = lab_pub_mac;
	want.dmac = lab_client_mac(s->family, s->dst);
	len = pkt_build(frame, &want);
	assert_frame(desc, out, frame, len);
}

const struct lab_backend *assert_rewritten_pass(const char *desc,
						const struct xdp_out *out,
						const struct pkt_spec *s,
						uint32_t dep)
{
	const struct lab_backend *be;
	struct pkt_spec want = *s;
	uint8_t frame[PKT_MAX];
	size_t len;

	assert_verdict(desc, out, XDP_PASS);
	assert_reason(desc, out, SLOTLB_REASON_PASS_NO_NEIGH);
	be = to_backend(desc, out, dep);
	want.dst = be->addr;
	want.dport = be->port;
	len = pkt_build(frame, &want);
	assert_frame(desc, out, frame, len);
	return be;
}

int lab_flow4(struct lab *lab, const struct pkt_spec *c,
	      struct slotlb_flow4_key *k, struct slotlb_flow4 *f)
{
	uint8_t a[16];
	char path[160];
	int fd;

	memset(k, 0, sizeof(*k));
	pkt_addr(AF_INET, c->src, a);
	memcpy(&k->client, a, 4);
	pkt_addr(AF_INET, c->dst, a);
	memcpy(&k->endpoint, a, 4);
	k->client_port = htons(c->sport);
	k->endpoint_port = htons(c->dport);
	k->proto = c->proto;
	snprintf(path, sizeof(path), "%s/flows4", lab->pin_root);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	if (bpf_map_lookup_elem(fd, k, f))
		fail_msg("no established entry for client port %u", c->sport);
	return fd;
}
