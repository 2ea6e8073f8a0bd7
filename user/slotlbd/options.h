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
#include <stdint.h>
#include <stdio.h>

#define DEFAULT_STATE_DIR "/var/lib/slotlb"
#define DEFAULT_SOCKET "/run/slotlb/slotlb.sock"
#define DEFAULT_CONFIG "/etc/slotlb/slotlbd.conf"

struct options {
	char state_dir[PATH_MAX];
	char socket[PATH_MAX];
	char pin_root[PATH_MAX]; /* "" = SLOTLB_PIN_ROOT */
	uint32_t flow_capacity; /* 0 = the pinned maps' size, or the default */
	uint32_t drain_interval_ms;
	bool verbose;
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

/* The effective settings as config lines, for --check-config. */
void options_print(const struct options *o, FILE *f);

/* A socket path slotlbd may bind: absent, or a socket (a stale one is
 * replaced). Anything else is never removed: -EEXIST. */
int socket_path_check(const char *path);

#endif /* SLOTLBD_OPTIONS_H */
