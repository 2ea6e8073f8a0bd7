/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlbd's options: one table serves the command line, the config file,
 * --help and --check-config, so an option cannot exist in one and be
 * missing (or silently ignored) in another.
 */
#ifndef SLOTLBD_OPTIONS_H
#define SLOTLBD_OPTIONS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <stdint.h>
#include <stdio.h>

#define DEFAULT_STATE_DIR "/var/lib/slotlb"
#define DEFAULT_SOCKET "/run/slotlb/slotlb.sock"
#define DEFAULT_CONFIG "/etc/slotlb/slotlbd.conf"

/* A TCP listen address as given and as bind() takes it. */
struct listen_addr {
	char text[PATH_MAX]; /* "127.0.0.1:9464", "" = none */
	struct sockaddr_storage sa;
	socklen_t len;
};

struct options {
	char state_dir[PATH_MAX];
	char socket[PATH_MAX];
	char pin_root[PATH_MAX]; /* "" = SLOTLB_PIN_ROOT */
	uint32_t flow_capacity; /* 0 = the pinned maps' size, or the default */
	uint32_t drain_interval_ms;
	bool verbose;
	/* access control: "" = none; the gids once resolved */
	char socket_group[PATH_MAX];
	char readonly_group[PATH_MAX];
	gid_t socket_gid, readonly_gid;
	/* the remote API (with a token file, optionally TLS) and metrics */
	struct listen_addr api_listen;
	char api_token_file[PATH_MAX];
	char tls_cert[PATH_MAX];
	char tls_key[PATH_MAX];
	struct listen_addr metrics_listen;
	bool metrics_backends; /* per-backend series */
	/* the fleet: "etcd://HOST:PORT[,...]" ("" = the local database
	 * alone) and this node's name in it ("" = the host name) */
	char store[PATH_MAX];
	char node_name[PATH_MAX];
	uint32_t store_snapshot_every;
	char store_ca[PATH_MAX];
	char store_cert[PATH_MAX];
	char store_key[PATH_MAX];
	/* command line only */
	char config[PATH_MAX]; /* the file read, "" if none */
	bool check_config; /* print the settings and exit */
};

/* Exit status of slotlbd: 0 stopped by a signal, 1 could not start or
 * serve, 2 bad option or config file (nothing was started). */
#define EXIT_FAILED 1
#define EXIT_USAGE 2

/* Fills o from the defaults, the config file (--config FILE, else
 * DEFAULT_CONFIG if it exists) and the command line, which wins. Strict:
 * an unknown option or key, a bad value, a repeated option, a missing
 * --config file is an error. Prints "Error: ..." and returns EXIT_USAGE,
 * or 0; for --help prints the usage and returns -1 (exit 0). */
int options_parse(struct options *o, int argc, char **argv);

/* What the settings name on this machine, before anything starts:
 * the groups must exist, a listen address must parse and the two must
 * not share a port, the remote API needs a token file, TLS both files.
 * Prints "Error: ..." and returns EXIT_USAGE, or 0. */
int options_check(struct options *o);

/* The effective settings as config lines, for --check-config. */
void options_print(const struct options *o, FILE *f);

/* A socket path slotlbd may bind: absent, or a socket (a stale one is
 * replaced). Anything else is never removed: -EEXIST. */
int socket_path_check(const char *path);

#endif /* SLOTLBD_OPTIONS_H */
