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
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include "auth.h"
#include "daemon.h"
#include "events.h"
#include "health.h"
#include "verify.h"
#include "ops.h"
#include "options.h"
#include "store.h"

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

/* An existing file that is not a socket (a mistyped --socket naming a
 * config file, say) is refused, never unlinked to bind over it. */
static int check_socket_path(const char *path)
{
	int err = socket_path_check(path);

	if (!err)
		return 0;
	fprintf(stderr, "Error: %s: %s\n", path,
		err == -EEXIST ? "exists and is not a socket; slotlbd "
				 "replaces only a stale socket"
			       : strerror(-err));
	return EXIT_FAILED;
}

extern const char *reconcile_pin_root;

/* What slotlb_open did to the maps of an older layout, if anything. */
static void log_upgrade(struct daemon *d)
{
	struct slotlb_upgrade_info u;

	slotlb_upgrade_info(d->lb, &u);
	if (u.from)
		log_msg("data path: upgraded the pinned maps from layout %u to %u: %u maps kept as they were, %u converted (%s: %u entries), the program replaced on %u interfaces",
			u.from, u.to, u.maps_kept, u.maps_converted,
			u.converted, u.entries_converted, u.interfaces);
}

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
		log_msg("%s: was mode %04o, now 0700 (it holds settings)", dir,
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
	struct options o;
	struct slotlb_opts lopts = {0};
	struct api *api = NULL;
	char db[PATH_MAX + 16], why[256];
	const char *failed;
	sigset_t sigs;
	int err, sig = 0;

	err = options_parse(&o, argc, argv);
	if (err)
		return err < 0 ? 0 : err;
	err = options_check(&o);
	if (err)
		return err;
	if (o.check_config) {
		struct auth_tokens *t = calloc(1, sizeof(*t));

		/* what a start would refuse before anything else */
		err = o.api_token_file[0] && t
			      ? auth_tokens_load(o.api_token_file, t)
			      : 0;
		free(t);
		if (err)
			return err;
		options_print(&o, stdout);
		return 0;
	}
	/* Before anything starts: never replace what is not a socket. */
	err = check_socket_path(o.socket);
	if (err)
		return err;
	log_verbose = o.verbose;
	/* TCP listeners first: an address in use, a bad token file or TLS
	 * file stops slotlbd before the database or the maps are touched */
	err = api_open(&o, &api);
	if (err)
		return err;
	d.verbose = o.verbose;
	d.drain_interval_ms = o.drain_interval_ms;
	d.metrics_backends = o.metrics_backends;
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
	if (o.store[0]) {
		const char *why = "";

		struct store_config sc = {o.store,     o.node_name,
					  o.store_ca,  o.store_cert,
					  o.store_key, o.store_snapshot_every,
					  o.state_dir};

		err = store_open(&d, &sc, &why);
		if (err) {
			fprintf(stderr, "Error: store: %s: %s\n", o.store, why);
			state_close(d.st);
			return 1;
		}
		/* what the fleet did while this node was away, before the
		 * maps are made equal to the copy */
		store_catch_up_at_start(&d);
	}
	lopts.pin_root = o.pin_root[0] ? o.pin_root : NULL;
	lopts.flow_capacity = o.flow_capacity;
	lopts.verbose = o.verbose;
	/* an upgraded slotlbd upgrades the maps the old one pinned */
	lopts.upgrade = true;
	lopts.why = why;
	lopts.why_len = sizeof(why);
	reconcile_pin_root = lopts.pin_root;
	err = slotlb_open(&d.lb, &lopts);
	if (err) {
		if (why[0])
			fprintf(stderr, "Error: data path: %s\n", why);
		else
			fprintf(stderr, "Error: data path: %s%s\n",
				strerror(-err),
				err == -EEXIST ? " (pinned maps have another "
						 "flow capacity)"
					       : "");
		goto out;
	}
	log_upgrade(&d);
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
	err = traffic_measure_init(&d);
	ops_preview_timers_start(&d);
	if (err) {
		fprintf(stderr, "Error: traffic measurement: %s\n",
			strerror(-err));
		goto out;
	}
	err = health_start(&d);
	if (err)
		log_msg("Error: health checks: %s", strerror(-err));
	err = events_start(&d);
	if (err) {
		fprintf(stderr, "Error: events thread: %s\n", strerror(-err));
		goto out;
	}
	err = drain_start(&d);
	if (err) {
		fprintf(stderr, "Error: drain thread: %s\n", strerror(-err));
		goto out;
	}
	if (d.store) {
		err = store_start(&d);
		if (err) {
			fprintf(stderr, "Error: store thread: %s\n",
				strerror(-err));
			goto out;
		}
	}
	err = check_socket_path(o.socket);
	if (err)
		goto out;
	err = api_serve(api, &d, o.socket, &failed);
	if (err) {
		fprintf(stderr, "Error: %s: %s%s%s\n", o.socket,
			failed ? failed : "", failed ? ": " : "",
			err == -EADDRINUSE ? "another slotlbd serves it"
					   : strerror(-err));
		goto out;
	}
	log_msg("serving on %s, state %s, maps %s", o.socket, db,
		o.pin_root[0] ? o.pin_root : SLOTLB_PIN_ROOT);
	/* Type=notify: started means reconciled, re-attached and serving. */
	sd_notifyf(0, "READY=1\nSTATUS=serving on %s", o.socket);
	do {
		if (sigwait(&sigs, &sig))
			break;
	} while (sig == SIGHUP);
	sd_notify(0, "STOPPING=1");
	log_msg("%s: exiting, program and maps stay in place", strsignal(sig));
out:
	atomic_store(&d.stopping, true);
	/* an operation mid warm-up changed nothing yet: do not wait for it */
	api_stop(api, atomic_load(&d.busy_count) == 0);
	verify_stop(&d);
	drain_stop(&d);
	store_stop(&d);
	events_stop(&d);
	traffic_measure_free(&d);
	health_stop(&d);
	pthread_mutex_lock(&d.lock);
	/* no transaction is open while we hold the lock */
	slotlb_close(d.lb);
	state_close(d.st);
	store_close(&d);
	return err ? 1 : 0;
}
