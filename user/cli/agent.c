/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb backend-agent: run on a backend of a DSR app (docs/dsr.md), not
 * on the balancer, and talks to no slotlbd. Attach loads the
 * decapsulation program onto the interface toward the balancers and
 * sets up what direct server return needs of the host, saying what it
 * changed: the endpoint addresses on loopback (the stack accepts the
 * decapsulated packets and answers from them), ARP that never answers
 * or announces them on other links (arp_ignore=1, arp_announce=2),
 * loose reverse-path filtering on the interface (the client's address
 * arrives there although the replies leave elsewhere), forwarding on
 * it (second chance sends packets on to another backend) and
 * accept_local on it (a packet sent on whose next hop has no neighbour
 * entry yet goes through the kernel, which would drop it as a martian:
 * its outer source is the endpoint address, local here).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "slotlb.h"

/* What the host configuration did, line by line (JSON: "actions"). */
static json_t *actions;

static void did(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void did(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_array_append_new(actions, json_string(line));
}

static int finish(const char *ifname, const char *what)
{
	json_t *o;
	size_t i;

	if (json_output) {
		o = json_pack("{s:s,s:s,s:O}", "ifname", ifname, "agent", what,
			      "actions", actions);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s: decapsulation program %s\n", ifname, what);
		for (i = 0; i < json_array_size(actions); i++)
			printf("  %s\n",
			       json_string_value(json_array_get(actions, i)));
	}
	json_decref(actions);
	return 0;
}

/* Set /proc/sys/net/ipv4/conf/<dev>/<key> to want unless it is; records
 * what happened. */
static int sysctl_set(const char *dev, const char *key, int want)
{
	char path[128], buf[32] = "";
	FILE *f;
	int have;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", dev, key);
	f = fopen(path, "r+");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	have = atoi(buf);
	if (have == want) {
		did("net.ipv4.conf.%s.%s = %d (already)", dev, key, want);
		return fclose(f) ? -errno : 0;
	}
	rewind(f);
	fprintf(f, "%d\n", want);
	if (fclose(f))
		return -errno;
	did("net.ipv4.conf.%s.%s = %d (was %d)", dev, key, want, have);
	return 0;
}

static bool on_loopback(__be32 addr)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa))
		return false;
	for (i = ifa; i && !found; i = i->ifa_next)
		found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
			(i->ifa_flags & IFF_LOOPBACK) &&
			((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
				addr;
	freeifaddrs(ifa);
	return found;
}

/* ip -4 addr add|del ADDR/32 dev lo (iproute2, in Debian's base). */
static int lo_addr(const char *verb, const char *addr)
{
	char prefix[INET_ADDRSTRLEN + 4];
	int status;
	pid_t pid;

	snprintf(prefix, sizeof(prefix), "%s/32", addr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		execlp("ip", "ip", "-4", "addr", verb, prefix, "dev", "lo",
		       (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

static int check_ifname(const char *name, int *ifindex)
{
	size_t len = strlen(name);

	if (len == 0 || len >= IF_NAMESIZE || strpbrk(name, "/ \t\n:"))
		return usage_err("backend-agent: bad interface name '%s'",
				 name);
	*ifindex = (int)if_nametoindex(name);
	if (!*ifindex)
		return usage_err("backend-agent: %s: no such interface", name);
	return 0;
}

/* --endpoint values as IPv4 addresses (DSR tunnels IPv4 only). */
static int parse_endpoints(const struct opt *o, __be32 *out)
{
	size_t i;

	if (o->n_values > 256)
		return usage_err("backend-agent: at most 256 --endpoint");
	for (i = 0; i < o->n_values; i++)
		if (inet_pton(AF_INET, o->values[i], &out[i]) != 1)
			return usage_err(
				"backend-agent: endpoint '%s': not an IPv4 address",
				o->values[i]);
	return 0;
}

static int do_agent_attach(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "endpoint", .has_arg = true, .repeat = true},
		{.name = "mode", .has_arg = true},
		{.name = "force"},
		{NULL},
	};
	__be32 eps[256];
	const char *pos[1], *mode;
	int rc, ifindex = 0, err;
	unsigned int mtu = 0;
	char path[128];
	size_t np, i;
	FILE *f;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (rc)
		return ARGS_RC(rc);
	mode = opts[1].value ? opts[1].value : "native";
	if (strcmp(mode, "native") && strcmp(mode, "generic"))
		rc = usage_err(
			"backend-agent: --mode '%s': not native or generic",
			mode);
	if (!rc)
		rc = check_ifname(pos[0], &ifindex);
	if (!rc)
		rc = parse_endpoints(&opts[0], eps);
	if (rc)
		goto out;
	actions = json_array();
	err = slotlb_agent_attach(ifindex, eps, opts[0].n_values,
				  !strcmp(mode, "generic"), opts[2].given);
	if (err) {
		p_err("backend-agent: %s: %s", pos[0],
		      err == -EBUSY
			      ? "another XDP program is attached (--force replaces it)"
			      : strerror(-err));
		json_decref(actions);
		rc = EXIT_DAEMON;
		goto out;
	}
	did("XDP program slotlb_decap attached (%s), GUE on UDP port %u", mode,
	    SLOTLB_GUE_PORT);
	for (i = 0; !err && i < opts[0].n_values; i++) {
		if (on_loopback(eps[i])) {
			did("%s/32 on lo (already)", opts[0].values[i]);
			continue;
		}
		err = lo_addr("add", opts[0].values[i]);
		if (!err)
			did("%s/32 added on lo", opts[0].values[i]);
	}
	if (!err)
		err = sysctl_set("all", "arp_ignore", 1);
	if (!err)
		err = sysctl_set("all", "arp_announce", 2);
	if (!err)
		err = sysctl_set(pos[0], "rp_filter", 2);
	if (!err)
		err = sysctl_set(pos[0], "forwarding", 1);
	if (!err)
		err = sysctl_set(pos[0], "accept_local", 1);
	if (err) {
		p_err("backend-agent: %s: host setup: %s (the program stays attached)",
		      pos[0], strerror(-err));
		json_decref(actions);
		rc = EXIT_DAEMON;
		goto out;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/mtu", pos[0]);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%u", &mtu) == 1 && mtu > SLOTLB_DSR_OVERHEAD)
			did("MTU %u: client packets up to %u bytes arrive whole (GUE adds %u)",
			    mtu, mtu - SLOTLB_DSR_OVERHEAD,
			    SLOTLB_DSR_OVERHEAD);
		fclose(f);
	}
	rc = finish(pos[0], "attached");
out:
	free_opts(opts);
	return ARGS_RC(rc);
}

static int do_agent_detach(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "endpoint", .has_arg = true, .repeat = true},
		{NULL},
	};
	__be32 eps[256];
	const char *pos[1];
	int rc, ifindex = 0, err;
	size_t np, i;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = check_ifname(pos[0], &ifindex);
	if (!rc)
		rc = parse_endpoints(&opts[0], eps);
	if (rc)
		goto out;
	err = slotlb_agent_detach(ifindex);
	if (err) {
		p_err("backend-agent: %s: %s", pos[0],
		      err == -ENOENT ? "no program attached"
		      : err == -EBUSY
			      ? "the attached program is not the agent's"
			      : strerror(-err));
		rc = EXIT_DAEMON;
		goto out;
	}
	actions = json_array();
	did("XDP program slotlb_decap detached");
	for (i = 0; i < opts[0].n_values; i++) {
		if (!on_loopback(eps[i]))
			continue;
		if (lo_addr("del", opts[0].values[i]))
			did("%s/32 on lo: could not remove", opts[0].values[i]);
		else
			did("%s/32 removed from lo", opts[0].values[i]);
	}
	did("sysctls left as they are (arp_ignore, arp_announce, rp_filter, forwarding, accept_local)");
	rc = finish(pos[0], "detached");
out:
	free_opts(opts);
	return ARGS_RC(rc);
}

static int do_agent_status(int argc, char **argv)
{
	struct slotlb_reason_counter sum[SLOTLB_AGENT_REASON_MAX];
	const char *pos[1];
	int rc, ifindex = 0, err;
	unsigned int r;
	size_t np;
	json_t *o;

	rc = parse_args(argc, argv, NULL, pos, 1, 1, &np);
	if (!rc)
		rc = check_ifname(pos[0], &ifindex);
	if (rc)
		return ARGS_RC(rc);
	err = slotlb_agent_stats(ifindex, sum);
	if (err) {
		p_err("backend-agent: %s: %s", pos[0],
		      err == -ENOENT ? "no program attached"
		      : err == -EBUSY
			      ? "the attached program is not the agent's"
			      : strerror(-err));
		return EXIT_DAEMON;
	}
	o = json_object();
	for (r = 0; r < SLOTLB_AGENT_REASON_MAX; r++)
		json_object_set_new(o, slotlb_agent_reason_name(r),
				    json_integer((json_int_t)sum[r].packets));
	if (json_output) {
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		printf("%-20s %s\n", "REASON", "PACKETS");
		for (r = 0; r < SLOTLB_AGENT_REASON_MAX; r++)
			printf("%-20s %llu\n", slotlb_agent_reason_name(r),
			       (unsigned long long)sum[r].packets);
	}
	json_decref(o);
	return 0;
}

const struct cmd agent_cmds[] = {
	{"attach", do_agent_attach,
	 "IFNAME [--endpoint ADDR ...] [--mode native|generic] [--force]",
	 "On a backend of a dsr app: attach the GUE decapsulation program to\n"
	 "IFNAME (toward the balancers) and set the host up for direct server\n"
	 "return, saying what changed: each endpoint address on lo,\n"
	 "arp_ignore=1 and arp_announce=2, rp_filter=2, forwarding=1 and\n"
	 "accept_local=1 on IFNAME (second chance sends packets on to another\n"
	 "backend, through the kernel when its neighbour is not resolved).\n"
	 "\n"
	 "  --endpoint ADDR          an IPv4 endpoint address this backend\n"
	 "                           serves (repeat); none: any\n"
	 "  --mode native|generic    XDP mode (default native)\n"
	 "  --force                  replace another XDP program\n"},
	{"detach", do_agent_detach, "IFNAME [--endpoint ADDR ...]",
	 "Detach the agent's program from IFNAME and remove the given\n"
	 "endpoint addresses from lo; sysctls are left as they are.\n"},
	{"status", do_agent_status, "IFNAME",
	 "Counters of the agent's program on IFNAME, by reason.\n"},
	{NULL, NULL, NULL, NULL},
};
