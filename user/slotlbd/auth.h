/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Who may do what through the API (docs/slotlbd.md, "Access control").
 * Each request is a read or a write (api_routes.c flags each route); a
 * caller may change state, only read, or nothing:
 *
 *  - on the Unix socket, by the peer's credentials as the kernel took
 *    them at connect(): root, the daemon's own user and members of the
 *    socket group write, members of the read-only group read;
 *  - on the TCP listener, by a bearer token of the token file.
 *
 * The parsers and the decisions are pure (no HTTP library), so unit
 * tests and the fuzz target run them alone.
 */
#ifndef SLOTLBD_AUTH_H
#define SLOTLBD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum access {
	ACCESS_NONE = 0, /* 403 (Unix socket) or 401 (no valid token) */
	ACCESS_READ, /* GET routes only */
	ACCESS_WRITE, /* every route */
};

/* --- Unix socket peers --- */

struct auth_groups {
	uid_t owner; /* the daemon's own user (writes, as root does) */
	gid_t write_gid; /* the socket's group */
	gid_t read_gid; /* the read-only group, if has_read */
	bool has_read;
};

/* A peer as SO_PEERCRED and SO_PEERGROUPS give it. */
struct peer_cred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups, malloc'd */
	size_t n_groups;
};

/* The peer of a connected Unix socket; 0 or -errno. Free with
 * auth_peer_free(). */
int auth_peer_read(int fd, struct peer_cred *c);
void auth_peer_free(struct peer_cred *c);
/* What the peer may do. */
enum access auth_peer_access(const struct auth_groups *g,
			     const struct peer_cred *c);

/* --- bearer tokens --- */

#define AUTH_TOKEN_MIN 16 /* bytes: shorter ones are guessable */
#define AUTH_TOKEN_MAX 256 /* bytes; every comparison reads this many */
#define AUTH_NAME_MAX 32 /* bytes of a token's name */
#define AUTH_MAX_TOKENS 64

struct auth_token {
	char name[AUTH_NAME_MAX + 1];
	unsigned char token[AUTH_TOKEN_MAX]; /* zero padded */
	size_t len;
	enum access access; /* ACCESS_WRITE, or ACCESS_READ (read-only) */
};

struct auth_tokens {
	struct auth_token t[AUTH_MAX_TOKENS];
	size_t n;
};

/*
 * A token file's text: one "NAME: TOKEN [read-only]" per line, '#'
 * comment lines and blank lines ignored. NAME is 1..32 of [A-Za-z0-9._-]
 * and unique; TOKEN is 16..256 characters of RFC 6750's token68 set
 * ([A-Za-z0-9-._~+/] then '=' padding) and unique. Returns 0, or -EINVAL
 * with *line (1-based) and *why (a static string) set.
 */
int auth_tokens_parse(const char *text, size_t len, struct auth_tokens *out,
		      int *line, const char **why);
/*
 * Read and parse the token file at path: it must be a regular file that
 * neither group nor others may read or write (the tokens are secrets).
 * Returns 0 or EXIT_USAGE after printing "Error: PATH...: ...".
 */
int auth_tokens_load(const char *path, struct auth_tokens *out);

/*
 * An Authorization header's value ("Bearer TOKEN") against every token,
 * in time independent of the tokens' contents and of which one matches.
 * Returns the matching token's access and its name in *name, or
 * ACCESS_NONE (*name NULL).
 */
enum access auth_bearer(const struct auth_tokens *t, const char *header,
			const char **name);

#endif /* SLOTLBD_AUTH_H */
