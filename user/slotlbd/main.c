/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlbd: the slotlb controller daemon. Runs in the foreground and logs
 * to stderr (systemd or the test harness supervises it). At start it
 * loads the program onto the pinned maps, reconciles the maps to the
 * database and re-attaches the persisted interfaces; on SIGTERM it stops
 * serving and exits, leaving the program attached and the maps pinned so
 * traffic flows on while no controller runs.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "daemon.h"
#include "ops.h"

#define DEFAULT_STATE_DIR "/var/lib/slotlb"
#define DEFAULT_SOCKET "/run/slotlb/slotlb.sock"

struct options {
	char state_dir[PATH_MAX];
	char socket[PATH_MAX];
	char pin_root[PATH_MAX]; /* "" = SLOTLB_PIN_ROOT */
	uint32_t flow_capacity;
	uint32_t drain_interval_ms;
	bool verbose;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: slotlbd [--state-dir DIR] [--socket PATH] [--config FILE]\n"
		"               [--pin-root DIR] [--flow-capacity N]\n"
		"               [--drain-interval MS] [-v]\n"
		"  --state-dir DIR      database directory (default %s)\n"
		"  --socket PATH        API socket (default %s)\n"
		"  --config FILE        key=value file with the same options\n"
		"  --pin-root DIR       bpffs directory of the maps (default %s)\n"
		"  --flow-capacity N    concurrent flows (default: pinned or %u)\n"
		"  --drain-interval MS  flow count and drain period (default 1000)\n"
		"  -v, --verbose        debug log, libbpf log\n",
		DEFAULT_STATE_DIR, DEFAULT_SOCKET, SLOTLB_PIN_ROOT,
		SLOTLB_DEFAULT_FLOW_CAPACITY);
}

static int parse_u32(const char *s, uint32_t lo, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || v < lo || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* One option by its long name, from the command line or the config. */
static int set_option(struct options *o, const char *key, const char *val)
{
	if (!strcmp(key, "state-dir"))
		return snprintf(o->state_dir, sizeof(o->state_dir), "%s",
				val) >= (int)sizeof(o->state_dir)
			       ? -ENAMETOOLONG
			       : 0;
	if (!strcmp(key, "socket"))
		return snprintf(o->socket, sizeof(o->socket), "%s", val) >=
				       (int)sizeof(o->socket)
			       ? -ENAMETOOLONG
			       : 0;
	if (!strcmp(key, "pin-root"))
		return snprintf(o->pin_root, sizeof(o->pin_root), "%s", val) >=
				       (int)sizeof(o->pin_root)
			       ? -ENAMETOOLONG
			       : 0;
	if (!strcmp(key, "flow-capacity"))
		return parse_u32(val, 1, &o->flow_capacity);
	if (!strcmp(key, "drain-interval"))
		return parse_u32(val, 10, &o->drain_interval_ms);
	if (!strcmp(key, "verbose")) {
		if (strcmp(val, "0") && strcmp(val, "1") &&
		    strcmp(val, "true") && strcmp(val, "false"))
			return -EINVAL;
		o->verbose = !strcmp(val, "1") || !strcmp(val, "true");
		return 0;
	}
	return -ENOENT;
}

/* key=value lines, '#' comments; keys are the long option names
 * (underscores accepted for dashes). */
static int load_config(struct options *o, const char *path)
{
	char line[PATH_MAX + 64], *key, *val, *end, *p;
	int lineno = 0, err = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "Error: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		key = line + strspn(line, " \t");
		if (*key == '#' || *key == '\n' || !*key)
			continue;
		val = strchr(key, '=');
		if (!val) {
			fprintf(stderr, "Error: %s:%d: expected key=value\n",
				path, lineno);
			err = -EINVAL;
			break;
		}
		for (end = val; end > key && strchr(" \t=", end[-1]); end--)
			;
		*end = 0;
		val += 1 + strspn(val + 1, " \t");
		val[strcspn(val, "\r\n")] = 0;
		for (end = val + strlen(val);
		     end > val && strchr(" \t", end[-1]); end--)
			end[-1] = 0;
		for (p = key; *p; p++)
			if (*p == '_')
				*p = '-';
		err = set_option(o, key, val);
		if (err) {
			fprintf(stderr, "Error: %s:%d: %s: %s\n", path, lineno,
				key,
				err == -ENOENT ? "unknown option"
					       : "invalid value");
			break;
		}
	}
	fclose(f);
	return err;
}

static int parse_args(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'},
		{"config", required_argument, NULL, 'c'},
		{"pin-root", required_argument, NULL, 'p'},
		{"flow-capacity", required_argument, NULL, 'f'},
		{"drain-interval", required_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c, i, err;

	/* the config file first, so the command line overrides it */
	for (i = 1; i < argc - 1; i++)
		if (!strcmp(argv[i], "--config") && load_config(o, argv[i + 1]))
			return -EINVAL;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		if (c == 'c')
			continue;
		if (c == 'v') {
			o->verbose = true;
			continue;
		}
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == '?') {
			usage(stderr);
			return -EINVAL;
		}
		for (i = 0; longopts[i].name && longopts[i].val != c; i++)
			;
		err = set_option(o, longopts[i].name, optarg);
		if (err) {
			fprintf(stderr, "Error: --%s: %s: invalid value\n",
				longopts[i].name, optarg);
			return err;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "Error: %s: unexpected argument\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

extern const char *reconcile_pin_root;

/* The database holds the apps' settings, which may be secrets: its
 * directory is 0700 and its files 0600 (SQLite gives the -wal and -shm
 * files the database's mode), whatever an older slotlbd or an
 * operator's umask made them. */
static int secure_state(const char *dir, const char *db)
{
	static const char *const tails[] = {"", "-wal", "-shm"};
	char path[PATH_MAX + 32];
	struct stat st;
	size_t i;
	int fd;

	if (stat(dir, &st))
		return -errno;
	if ((st.st_mode & 077) && chmod(dir, 0700))
		return -errno;
	if (st.st_mode & 077)
		log_msg("%s: was mode %03o, now 0700 (it holds settings)", dir,
			st.st_mode & 0777);
	fd = open(db, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", db, tails[i]);
		if (chmod(path, 0600) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	struct options o = {
		.state_dir = DEFAULT_STATE_DIR,
		.socket = DEFAULT_SOCKET,
		.drain_interval_ms = 1000,
	};
	struct slotlb_opts lopts = {0};
	struct api *api = NULL;
	char db[PATH_MAX + 16];
	sigset_t sigs;
	int err, sig = 0;

	if (parse_args(&o, argc, argv))
		return 2;
	log_verbose = o.verbose;
	d.verbose = o.verbose;
	d.drain_interval_ms = o.drain_interval_ms;
	pthread_mutex_init(&d.lock, NULL);
	pthread_mutex_init(&d.flows_lock, NULL);
	{
		pthread_condattr_t ca;

		/* waits for an idle app are bounded on the monotonic clock */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&d.idle, &ca);
		pthread_condattr_destroy(&ca);
	}

	/* every thread inherits the mask; main takes signals by sigwait */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = mkdir_p(o.state_dir, 0700);
	if (err) {
		fprintf(stderr, "Error: %s: %s\n", o.state_dir, strerror(-err));
		return 1;
	}
	snprintf(db, sizeof(db), "%s/slotlb.db", o.state_dir);
	err = secure_state(o.state_dir, db);
	if (err) {
		fprintf(stderr, "Error: %s: %s\n", o.state_dir, strerror(-err));
		return 1;
	}
	err = state_open(&d.st, db);
	if (err) {
		fprintf(stderr, "Error: %s: %s\n", db,
			err == -EPROTONOSUPPORT
				? "written by a newer slotlbd (schema version)"
				: strerror(-err));
		return 1;
	}
	lopts.pin_root = o.pin_root[0] ? o.pin_root : NULL;
	lopts.flow_capacity = o.flow_capacity;
	lopts.verbose = o.verbose;
	reconcile_pin_root = lopts.pin_root;
	err = slotlb_open(&d.lb, &lopts);
	if (err) {
		fprintf(stderr, "Error: data path: %s%s\n", strerror(-err),
			err == -EEXIST ? " (pinned maps have another flow "
					 "capacity)"
			: err == -ESTALE
				? " (maps pinned under the pin root "
				  "have another layout than this build's; "
				  "removing them loses every flow)"
				: "");
		goto out;
	}
	/* Own the routing elements from the start: a second writer is an
	 * error now, not in the middle of a swap. */
	err = slotlb_routing_claim(d.lb);
	if (err) {
		fprintf(stderr, "Error: data path: routing elements: %s\n",
			err == -EBUSY ? "another process (slotlbd or dpctl) "
					"writes them under this pin root"
				      : strerror(-err));
		goto out;
	}
	err = reconcile(&d);
	if (err) {
		fprintf(stderr, "Error: reconcile: %s\n", strerror(-err));
		goto out;
	}
	reapply_interfaces(&d);
	ops_preview_timers_start(&d);
	err = drain_start(&d);
	if (err) {
		fprintf(stderr, "Error: drain thread: %s\n", strerror(-err));
		goto out;
	}
	err = api_start(&d, o.socket, &api);
	if (err) {
		fprintf(stderr, "Error: %s: %s\n", o.socket,
			err == -EADDRINUSE ? "another slotlbd serves it"
					   : strerror(-err));
		goto out;
	}
	log_msg("serving on %s, state %s, maps %s", o.socket, db,
		o.pin_root[0] ? o.pin_root : SLOTLB_PIN_ROOT);
	do {
		if (sigwait(&sigs, &sig))
			break;
	} while (sig == SIGHUP);
	log_msg("%s: exiting, program and maps stay in place", strsignal(sig));
out:
	atomic_store(&d.stopping, true);
	/* an operation mid warm-up changed nothing yet: do not wait for it */
	api_stop(api, atomic_load(&d.busy_count) == 0);
	drain_stop(&d);
	pthread_mutex_lock(&d.lock);
	/* no transaction is open while we hold the lock */
	slotlb_close(d.lb);
	state_close(d.st);
	return err ? 1 : 0;
}
