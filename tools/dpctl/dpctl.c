// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * dpctl: drive the data path directly through libslotlb, without the
 * controller. For data-path tests, labs and debugging; operators use
 * slotlb/slotlbd, which own the state. Every command loads the program
 * against the pinned maps, so `dpctl attach` on an interface that
 * already runs slotlb is a reload: flows survive.
 *
 *   dpctl [--pin-root DIR] [--flow-capacity N] [--upgrade] [-v] COMMAND ...
 *     attach --role public|backend|both IFNAME... [--role ...]
 *            [--generic] [--force]
 *     detach IFNAME...
 *     endpoint add ENDPOINT --app ID --slot N --id N
 *     endpoint del ENDPOINT
 *     backend set ID ADDR:PORT
 *     deployment publish ID VERSION BACKEND_ID[:WEIGHT]...
 *     routing set APP DEPLOYMENT_OF_SLOT0 [DEPLOYMENT_OF_SLOT1 ...]
 *     routing traffic APP --from SLOT [--distribution SLOT=PERCENT,...]
 *                         [--audience SLOT=CIDR[,CIDR...]]... [--clear]
 *     routing lookup APP SLOT ADDR...
 *     routing show APP
 *     stats
 *     flows
 *     seed [SEED]
 *     gc
 */
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slotlb.h"
#include "addr.h"
#include "traffic.h"
#include "traffic_parse.h"

static struct slotlb_opts opts;
static bool generic, force;
static uint32_t role;

static int fail(const char *object, const char *cause)
{
	fprintf(stderr, "Error: %s: %s\n", object, cause);
	return 1;
}

static int fail_errno(const char *object, int err)
{
	return fail(object, strerror(-err));
}

/* Whole decimal number in [min, max], or -1. */
static long number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

/* attach: --role applies to the interfaces after it. */
static int cmd_attach(struct slotlb *lb, int argc, char **argv, bool attach)
{
	uint32_t roles[64];
	int i, err, n = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--generic")) {
			generic = true;
		} else if (!strcmp(argv[i], "--force")) {
			force = true;
		} else if (!strcmp(argv[i], "--role") && i + 1 < argc) {
			role = slotlb_parse_role(argv[++i]);
			if (!role)
				return fail(argv[i], "role is public, backend "
						     "or both");
		} else if (n < 64) {
			if (attach && !role)
				return fail(argv[i],
					    "--role public|backend|both must "
					    "come before the interface");
			roles[n] = role;
			argv[n++] = argv[i];
		}
	}
	if (!n)
		return fail(attach ? "attach" : "detach", "no interface given");
	for (i = 0; i < n; i++) {
		int ifindex = if_nametoindex(argv[i]);

		if (!ifindex)
			return fail(argv[i], "no such interface");
		err = attach ? slotlb_attach(lb, ifindex,
					     generic ? SLOTLB_XDP_GENERIC
						     : SLOTLB_XDP_NATIVE,
					     force, roles[i])
			     : slotlb_detach(ifindex);
		if (err == -EBUSY)
			return fail(argv[i], "another XDP program is attached "
					     "(use --force to replace it)");
		if (err == -ENOENT && !attach)
			return fail(argv[i], "no slotlb program attached");
		if (err == -EEXIST && attach)
			return fail(argv[i], "its slot of the role table is "
					     "another interface's");
		if (err)
			return fail_errno(argv[i], err);
	}
	return 0;
}

static int cmd_endpoint(struct slotlb *lb, int argc, char **argv)
{
	struct slotlb_endpoint_key key;
	struct slotlb_endpoint ep = {};
	const char *why = NULL;
	long v;
	int i, err;

	if (argc < 2)
		return fail("endpoint", "usage: endpoint add|del ENDPOINT ...");
	if (slotlb_parse_endpoint(argv[1], &key, &why))
		return fail(argv[1], why);
	if (!strcmp(argv[0], "del")) {
		err = slotlb_endpoint_delete(lb, &key);
		return err ? fail_errno(argv[1], err) : 0;
	}
	if (strcmp(argv[0], "add"))
		return fail("endpoint", "unknown command (add or del)");
	for (i = 2; i + 1 < argc; i += 2) {
		v = number(argv[i + 1], 0, SLOTLB_MAX_ENDPOINTS - 1);
		if (v < 0)
			return fail(argv[i], "bad number");
		if (!strcmp(argv[i], "--app"))
			ep.app_id = v;
		else if (!strcmp(argv[i], "--slot"))
			ep.slot = v;
		else if (!strcmp(argv[i], "--id"))
			ep.endpoint_id = v;
		else
			return fail(argv[i], "unknown option");
	}
	if (i != argc)
		return fail("endpoint", "option without value");
	err = slotlb_endpoint_set(lb, &key, &ep);
	return err ? fail_errno(argv[1], err) : 0;
}

static int cmd_backend(struct slotlb *lb, int argc, char **argv)
{
	struct slotlb_backend be;
	const char *why = NULL;
	uint32_t weight;
	long id;
	int err;

	if (argc != 3 || strcmp(argv[0], "set"))
		return fail("backend", "usage: backend set ID ADDR:PORT");
	id = number(argv[1], 1, SLOTLB_MAX_BACKENDS - 1);
	if (id < 0)
		return fail(argv[1], "bad backend id");
	if (slotlb_parse_backend(argv[2], &be, &weight, &why))
		return fail(argv[2], why);
	err = slotlb_backend_set(lb, id, &be);
	return err ? fail_errno(argv[2], err) : 0;
}

static int cmd_deployment(struct slotlb *lb, int argc, char **argv)
{
	struct slotlb_deployment_info info = {};
	uint32_t ids[256], weights[256];
	int i, n = 0, err;
	long id;

	if (argc < 4 || strcmp(argv[0], "publish"))
		return fail("deployment", "usage: deployment publish ID "
					  "VERSION BACKEND_ID[:WEIGHT]...");
	id = number(argv[1], 1, SLOTLB_MAX_DEPLOYMENTS - 1);
	if (id < 0)
		return fail(argv[1], "bad deployment id");
	snprintf(info.version, sizeof(info.version), "%s", argv[2]);
	for (i = 3; i < argc && n < 256; i++, n++) {
		char *colon = strchr(argv[i], ':');
		long b, w = 1;

		if (colon) {
			*colon = '\0';
			w = number(colon + 1, 1, 65535);
		}
		b = number(argv[i], 1, SLOTLB_MAX_BACKENDS - 1);
		if (b < 0 || w < 0)
			return fail(argv[i], "bad BACKEND_ID[:WEIGHT]");
		ids[n] = b;
		weights[n] = w;
	}
	err = slotlb_deployment_publish(lb, id, &info, ids, weights, n);
	return err ? fail_errno(argv[1], err) : 0;
}

/* A slot number as dpctl takes it: 0..SLOTLB_MAX_SLOTS-1. */
static int slot_number(const char *s)
{
	return (int)number(s, 0, SLOTLB_MAX_SLOTS - 1);
}

static int routing_write(struct slotlb *lb, long app, struct slotlb_routing *r)
{
	int err;

	r->generation++;
	err = slotlb_routing_set(lb, app, r);
	if (err == -EBUSY)
		return fail("routing", "another process (slotlbd?) owns the "
				       "routing elements of this pin root");
	return err ? fail_errno("routing", err) : 0;
}

static int routing_show(const struct slotlb_routing *r)
{
	char buf[SLOTLB_PREFIX_STRLEN], share[SLOTLB_SHARE_STRLEN];
	int i;

	for (i = 0; i < SLOTLB_MAX_SLOTS; i++)
		if (r->deployment[i])
			printf("slot %d deployment %u\n", i, r->deployment[i]);
	for (i = 0; i < r->split_count && i < SLOTLB_MAX_SPLITS; i++) {
		const struct slotlb_split *s = &r->split[i];

		slotlb_format_share(s->to - s->from, share, sizeof(share));
		printf("split slot %u -> slot %u buckets [%u, %u) %s%%\n",
		       s->from_slot, s->to_slot, s->from, s->to, share);
	}
	for (i = 0; i < r->audience_count && i < SLOTLB_MAX_AUDIENCE; i++) {
		const struct slotlb_prefix *p = &r->audience[i];

		if (slotlb_format_prefix(p, buf, sizeof(buf)))
			snprintf(buf, sizeof(buf), "(bad prefix)");
		printf("audience slot %u -> slot %u %s\n", p->from_slot,
		       p->to_slot, buf);
	}
	return 0;
}

/* --distribution SLOT=PERCENT,...: from's shares, laid out after the
 * element's current ranges so raising a share only adds clients. */
static int set_distribution(struct slotlb_routing *r, int from, const char *arg)
{
	struct slotlb_share want[SLOTLB_MAX_SPLITS];
	struct slotlb_split out[SLOTLB_MAX_SPLITS];
	char why[SLOTLB_TRAFFIC_WHY_LEN];
	struct slotlb_layout_report rep;
	struct slotlb_distribution d;
	size_t i, n;
	int to, err;

	if (slotlb_parse_distribution(arg, &d, why, sizeof(why)))
		return fail("distribution", why);
	for (i = 0; i < d.n; i++) {
		to = slot_number(d.target[i].slot);
		if (to < 0 || to == from)
			return fail(d.target[i].slot,
				    to < 0 ? "bad slot number"
					   : "a slot cannot be its own target");
		want[i].to_slot = (uint8_t)to;
		want[i].share = d.target[i].share;
	}
	err = slotlb_split_layout((uint8_t)from, r->split, r->split_count, want,
				  d.n, out, &n, &rep);
	if (!err)
		err = slotlb_routing_set_splits(r, (uint8_t)from, out, n);
	if (err == -ENOSPC)
		return fail("distribution", "more than 8 splits in the app");
	if (err)
		return fail_errno("distribution", err);
	if (rep.against) {
		fprintf(stderr,
			"note: %u of %d client buckets moved against "
			"the ramp rules; ranges moved for slot(s)",
			rep.against, SLOTLB_SHARE_SCALE);
		for (to = 0; to < SLOTLB_MAX_SLOTS; to++)
			if (rep.relocated >> to & 1)
				fprintf(stderr, " %d", to);
		fprintf(stderr, "\n");
	}
	return 0;
}

/* --audience SLOT=CIDR[,CIDR...]: the prefixes from's clients see
 * SLOT's deployment from; "SLOT=" clears them. */
static int set_audience(struct slotlb_routing *r, int from, char *arg)
{
	struct slotlb_prefix p[SLOTLB_MAX_AUDIENCE];
	char why[SLOTLB_TRAFFIC_WHY_LEN], *eq, *tok, *save = NULL;
	const char *list[SLOTLB_MAX_AUDIENCE + 1];
	size_t n = 0;
	int to, err;

	eq = strchr(arg, '=');
	if (!eq)
		return fail(arg, "want SLOT=CIDR[,CIDR...]");
	*eq = '\0';
	to = slot_number(arg);
	if (to < 0)
		return fail(arg, "bad slot number");
	for (tok = strtok_r(eq + 1, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == SLOTLB_MAX_AUDIENCE + 1)
			break;
		list[n++] = tok;
	}
	if (slotlb_parse_prefixes(list, n, p, why, sizeof(why)))
		return fail("audience", why);
	err = slotlb_routing_set_audience(r, (uint8_t)from, (uint8_t)to, p, n);
	if (err == -ENOSPC)
		return fail("audience", "more than 16 prefixes in the app");
	if (err == -EEXIST)
		return fail("audience", "a prefix already sends these clients "
					"to another slot");
	return err ? fail_errno("audience", err) : 0;
}

/* routing traffic APP --from SLOT [--clear] [--distribution D]
 * [--audience SLOT=CIDRS]...: one element update, in that order. */
static int routing_traffic(struct slotlb *lb, long app, int argc, char **argv)
{
	char *distribution = NULL, *audience[SLOTLB_MAX_SLOTS];
	int i, n_audience = 0, from = -1, to, err;
	struct slotlb_routing r;
	bool clear = false;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--clear")) {
			clear = true;
			continue;
		}
		if (i + 1 >= argc)
			return fail(argv[i], "option without value");
		if (!strcmp(argv[i], "--from"))
			from = slot_number(argv[++i]);
		else if (!strcmp(argv[i], "--distribution"))
			distribution = argv[++i];
		else if (!strcmp(argv[i], "--audience") &&
			 n_audience < SLOTLB_MAX_SLOTS)
			audience[n_audience++] = argv[++i];
		else
			return fail(argv[i], "unknown or repeated option");
	}
	if (from < 0)
		return fail("routing traffic", "--from SLOT missing or bad");
	err = slotlb_routing_get(lb, app, &r);
	if (err == -ENOENT)
		return fail("routing", "app has no routing element "
				       "(routing set first)");
	if (err)
		return fail_errno("routing", err);
	if (clear) {
		err = slotlb_routing_set_splits(&r, (uint8_t)from, NULL, 0);
		for (to = 0; !err && to < SLOTLB_MAX_SLOTS; to++)
			err = slotlb_routing_set_audience(&r, (uint8_t)from,
							  (uint8_t)to, NULL, 0);
		if (err)
			return fail_errno("routing", err);
	}
	if (distribution) {
		err = set_distribution(&r, from, distribution);
		if (err)
			return err;
	}
	for (i = 0; i < n_audience; i++) {
		err = set_audience(&r, from, audience[i]);
		if (err)
			return err;
	}
	return routing_write(lb, app, &r);
}

static const char *const route_why[] = {
	[SLOTLB_ROUTE_OWN] = "own slot",
	[SLOTLB_ROUTE_AUDIENCE] = "audience",
	[SLOTLB_ROUTE_SPLIT] = "split",
	[SLOTLB_ROUTE_FALLBACK] = "own slot (the rule's slot is empty)",
};

/* Where a new flow from each ADDR on SLOT's endpoints goes, as the
 * data path would choose it; one line per address. */
static int routing_lookup(struct slotlb *lb, long app, int argc, char **argv)
{
	struct slotlb_routing r;
	struct slotlb_route route;
	uint8_t family;
	int i, slot, err;

	if (argc < 2)
		return fail("routing",
			    "usage: routing lookup APP SLOT ADDR...");
	slot = slot_number(argv[0]);
	if (slot < 0)
		return fail(argv[0], "bad slot number");
	err = slotlb_routing_get(lb, app, &r);
	if (err)
		return fail_errno("routing", err);
	for (i = 1; i < argc; i++) {
		__be32 addr[4] = {0};

		family = AF_INET;
		if (inet_pton(AF_INET, argv[i], addr) != 1) {
			family = AF_INET6;
			if (inet_pton(AF_INET6, argv[i], addr) != 1)
				return fail(argv[i], "bad IPv4/IPv6 address");
		}
		err = slotlb_route_client(&r, slot, addr, family, &route);
		if (err)
			return fail_errno(argv[i], err);
		printf("%s slot %u deployment %u bucket %u by %s\n", argv[i],
		       route.slot, route.deployment, route.bucket,
		       route_why[route.why]);
	}
	return 0;
}

/* Say what an upgrade of older pinned maps did, on stderr. */
static void upgraded(struct slotlb *lb)
{
	struct slotlb_upgrade_info u;

	slotlb_upgrade_info(lb, &u);
	if (u.from)
		fprintf(stderr,
			"dpctl: upgraded the pinned maps from layout %u to %u: %u kept, %u converted (%u entries), program replaced on %u interfaces\n",
			u.from, u.to, u.maps_kept, u.maps_converted,
			u.entries_converted, u.interfaces);
}

static int cmd_routing(struct slotlb *lb, int argc, char **argv)
{
	struct slotlb_routing r = {};
	long app, dep;
	int i, err;

	if (argc < 2)
		return fail("routing",
			    "usage: routing set|traffic|lookup|show APP ...");
	app = number(argv[1], 0, SLOTLB_MAX_APPS - 1);
	if (app < 0)
		return fail(argv[1], "bad app id");
	if (!strcmp(argv[0], "show")) {
		err = slotlb_routing_get(lb, app, &r);
		return err ? fail_errno(argv[1], err) : routing_show(&r);
	}
	if (!strcmp(argv[0], "traffic"))
		return routing_traffic(lb, app, argc - 2, argv + 2);
	if (!strcmp(argv[0], "lookup"))
		return routing_lookup(lb, app, argc - 2, argv + 2);
	if (strcmp(argv[0], "set") || argc - 2 > SLOTLB_MAX_SLOTS)
		return fail("routing", "usage: routing set APP DEPLOYMENT...");
	/* The deployments change; the traffic rules stay. */
	err = slotlb_routing_get(lb, app, &r);
	if (err && err != -ENOENT)
		return fail_errno(argv[1], err);
	memset(r.deployment, 0, sizeof(r.deployment));
	for (i = 2; i < argc; i++) {
		dep = number(argv[i], 0, SLOTLB_MAX_DEPLOYMENTS - 1);
		if (dep < 0)
			return fail(argv[i], "bad deployment id");
		r.deployment[i - 2] = dep;
	}
	return routing_write(lb, app, &r);
}

static int cmd_stats(struct slotlb *lb)
{
	struct slotlb_reason_counter sum[SLOTLB_REASON_MAX];
	uint64_t events[SLOTLB_EVENT_MAX];
	int r, err;

	err = slotlb_reasons_read(lb, sum);
	if (!err)
		err = slotlb_events_read(lb, events);
	if (err)
		return fail_errno("stats", err);
	for (r = 0; r < SLOTLB_REASON_MAX; r++)
		printf("%-24s %12llu packets %14llu bytes\n",
		       slotlb_reason_name(r),
		       (unsigned long long)sum[r].packets,
		       (unsigned long long)sum[r].bytes);
	for (r = 0; r < SLOTLB_EVENT_MAX; r++)
		printf("%-24s %12llu events\n", slotlb_event_name(r),
		       (unsigned long long)events[r]);
	return 0;
}

static int print_flow(const struct slotlb_flow_info *f, void *ctx)
{
	char src[64], dst[64], to[64], state[160];

	(void)ctx;
	slotlb_format_addr(f->client, f->family, src, sizeof(src));
	slotlb_format_addr(f->endpoint, f->family, dst, sizeof(dst));
	slotlb_format_addr(f->backend, f->family, to, sizeof(to));
	slotlb_format_flow_state(f->state, state, sizeof(state));
	printf("%s %s %s:%u -> %s:%u => %s:%u deployment %u backend %u "
	       "state %s age %llu ms idle %llu ms%s\n",
	       f->stage == SLOTLB_STAGE_ESTABLISHED ? "established"
						    : "half-open",
	       f->proto == 6 ? "tcp" : "udp", src, ntohs(f->client_port), dst,
	       ntohs(f->endpoint_port), to, ntohs(f->backend_port),
	       f->deployment_id, f->backend_id, state,
	       (unsigned long long)f->age_ms, (unsigned long long)f->idle_ms,
	       f->live ? "" : " (not live)");
	return 0;
}

static int cmd_seed(struct slotlb *lb, int argc, char **argv)
{
	uint32_t seed;
	char *end;
	int err;

	if (argc > 1)
		return fail("seed", "usage: seed [SEED]");
	if (argc == 1) {
		errno = 0;
		seed = strtoul(argv[0], &end, 0);
		if (errno || *end || !*argv[0] || !seed)
			return fail(argv[0],
				    "seed is a non-zero 32-bit number");
		err = slotlb_hash_seed_set(lb, seed);
		return err ? fail_errno("seed", err) : 0;
	}
	err = slotlb_hash_seed_get(lb, &seed);
	if (err)
		return fail_errno("seed", err);
	printf("0x%08x\n", seed);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"Usage: dpctl [--pin-root DIR] [--flow-capacity N] [--upgrade] [-v] COMMAND\n"
		"  (--upgrade: maps of an older layout are upgraded, keeping flows)\n"
		"  attach --role public|backend|both IFNAME... [--role ROLE IFNAME...]\n"
		"         [--generic] [--force]\n"
		"  detach IFNAME...\n"
		"  endpoint add ENDPOINT --app ID --slot N --id N\n"
		"  endpoint del ENDPOINT\n"
		"  backend set ID ADDR:PORT\n"
		"  deployment publish ID VERSION BACKEND_ID[:WEIGHT]...\n"
		"  routing set APP DEPLOYMENT_OF_SLOT0 [...]   (keeps traffic rules)\n"
		"  routing traffic APP --from SLOT [--distribution SLOT=PERCENT,...]\n"
		"                  [--audience SLOT=CIDR[,CIDR...]]... [--clear]\n"
		"  routing lookup APP SLOT ADDR...\n"
		"  routing show APP\n"
		"  stats\n"
		"  flows\n"
		"  seed [SEED]\n"
		"  gc\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pin-root", required_argument, NULL, 'p'},
		{"flow-capacity", required_argument, NULL, 'c'},
		{"generic", no_argument, NULL, 'g'},
		{"force", no_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"upgrade", no_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char why[256];
	struct slotlb *lb = NULL;
	const char *cmd;
	int c, err, rc;
	long cap;

	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opts.pin_root = optarg;
			break;
		case 'c':
			cap = number(optarg, 1, 1L << 30);
			if (cap < 0)
				return fail(optarg, "bad flow capacity");
			opts.flow_capacity = cap;
			break;
		case 'g':
			generic = true;
			break;
		case 'f':
			force = true;
			break;
		case 'v':
			opts.verbose = true;
			break;
		case 'u':
			opts.upgrade = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "detach"))
		return cmd_attach(NULL, argc, argv, false);

	opts.why = why;
	opts.why_len = sizeof(why);
	/* Only attach (and an upgrade, which replaces the program where
	 * it runs) needs the program; the rest reads and writes maps and
	 * skips the verifier's seconds. */
	opts.maps_only = !opts.upgrade && strcmp(cmd, "attach");
	err = slotlb_open(&lb, &opts);
	if (err == -EEXIST)
		return fail("flows", "pinned flow table has another capacity");
	if (err && why[0])
		return fail("load", why);
	if (err)
		return fail_errno("load", err);
	upgraded(lb);
	if (!strcmp(cmd, "attach"))
		rc = cmd_attach(lb, argc, argv, true);
	else if (!strcmp(cmd, "endpoint"))
		rc = cmd_endpoint(lb, argc, argv);
	else if (!strcmp(cmd, "backend"))
		rc = cmd_backend(lb, argc, argv);
	else if (!strcmp(cmd, "deployment"))
		rc = cmd_deployment(lb, argc, argv);
	else if (!strcmp(cmd, "routing"))
		rc = cmd_routing(lb, argc, argv);
	else if (!strcmp(cmd, "stats"))
		rc = cmd_stats(lb);
	else if (!strcmp(cmd, "flows"))
		rc = slotlb_flows_foreach(lb, print_flow, NULL)
			     ? fail("flows", "cannot read")
			     : 0;
	else if (!strcmp(cmd, "seed"))
		rc = cmd_seed(lb, argc, argv);
	else if (!strcmp(cmd, "gc")) {
		err = slotlb_flows_gc(lb);
		rc = err < 0 ? fail_errno("gc", err) : 0;
		if (err >= 0)
			printf("%d flows removed\n", err);
	} else {
		usage();
		rc = 2;
	}
	slotlb_close(lb);
	return rc;
}
