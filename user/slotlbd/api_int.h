/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inside the API's server (api.c) and its sockets (api_listen.c).
 */
#ifndef SLOTLBD_API_INT_H
#define SLOTLBD_API_INT_H

#include <stdbool.h>
#include <sys/types.h>
#include "options.h"

/* Who the Unix socket lets connect, besides root (mode 0660). */
struct unix_perms {
	bool has_group; /* chown to group (else the daemon's group) */
	gid_t group;
	bool has_read; /* an ACL entry lets read_group connect too */
	gid_t read_group;
	const char *failed; /* set: which step failed (for the error) */
};

/* Bind and listen on path with perms; a live socket there is
 * -EADDRINUSE, a stale one is replaced. */
int listen_unix(const char *path, struct unix_perms *perms, int *fdp);
/* Bind and listen on a TCP address (IPv6 sockets take IPv6 only). */
int listen_tcp(const struct listen_addr *l, int *fdp);
/* A PEM file's text, or NULL after printing "Error: WHAT: PATH: ...";
 * secret: refuse a file others may read. */
char *read_pem(const char *what, const char *path, bool secret);

#endif /* SLOTLBD_API_INT_H */
