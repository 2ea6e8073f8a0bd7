/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Access control (auth.h): peers of the Unix socket and bearer tokens.
 *
 * A peer's groups come from SO_PEERGROUPS, not /proc/PID/status nor
 * getgrouplist(): the kernel records them at connect(), with the uid of
 * SO_PEERCRED and from the same credentials its permission check of the
 * socket file used. /proc/PID/status is read later, by a pid that may
 * have exited and been reused (or belong to another pid namespace), and
 * shows the process as it is then, not as it connected; getgrouplist()
 * reads the group database (NSS, perhaps LDAP, in the request path) and
 * would grant a group to a process that dropped it (a sandboxed CI job)
 * or had not picked it up yet (usermod -aG without a new login).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auth.h"
#include "options.h"

#define TOKEN_FILE_MAX (64 * 1024)

int auth_peer_read(int fd, struct peer_cred *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t *groups = NULL, *grown;
	socklen_t glen = 64 * sizeof(gid_t);

	memset(c, 0, sizeof(*c));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	for (;;) {
		grown = realloc(groups, glen ? glen : 1);
		if (!grown) {
			free(groups);
			return -ENOMEM;
		}
		groups = grown;
		if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen))
			break;
		/* ERANGE: glen now says how much it needs */
		if (errno != ERANGE || glen > 65536 * sizeof(gid_t)) {
			free(groups);
			return -errno;
		}
	}
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->groups = groups;
	c->n_groups = glen / sizeof(gid_t);
	return 0;
}

void auth_peer_free(struct peer_cred *c)
{
	free(c->groups);
	c->groups = NULL;
	c->n_groups = 0;
}

static bool in_group(const struct peer_cred *c, gid_t gid)
{
	size_t i;

	if (c->gid == gid)
		return true;
	for (i = 0; i < c->n_groups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

enum access auth_peer_access(const struct auth_groups *g,
			     const struct peer_cred *c)
{
	if (c->uid == 0 || c->uid == g->owner || in_group(c, g->write_gid))
		return ACCESS_WRITE;
	if (g->has_read && in_group(c, g->read_gid))
		return ACCESS_READ;
	return ACCESS_NONE;
}

/* RFC 6750's b64token: these characters, then '=' padding only. */
static bool token_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || strchr("-._~+/", ch);
}

static bool valid_token(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && p[i] && token_char(p[i]))
		i++;
	if (i == 0)
		return false;
	while (i < len && p[i] == '=')
		i++;
	return i == len;
}

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
}

/* Words of [p, end): skips blanks, returns the next word's length. */
static size_t word(const char **p, const char *end)
{
	const char *s;

	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	for (s = *p; s < end && *s != ' ' && *s != '\t'; s++)
		;
	return (size_t)(s - *p);
}

/* One "NAME: TOKEN [read-only]" line into t; a static reason if not. */
static const char *parse_line(const char *p, const char *end,
			      struct auth_token *t)
{
	const char *colon = memchr(p, ':', (size_t)(end - p)), *w;
	size_t i, len;

	if (!colon)
		return "expected NAME: TOKEN";
	w = p;
	len = word(&w, colon);
	if (!len)
		return "missing token name before ':'";
	if (w + len != colon)
		return "space in the token name";
	if (len > AUTH_NAME_MAX)
		return "token name over 32 characters";
	for (i = 0; i < len; i++)
		if (!name_char(w[i]))
			return "token name may hold only letters, digits, "
			       "'.', '_' and '-'";
	memcpy(t->name, w, len);
	t->name[len] = 0;
	p = colon + 1;
	len = word(&p, end);
	if (!len)
		return "missing token after ':'";
	if (len < AUTH_TOKEN_MIN)
		return "token under 16 characters";
	if (len > AUTH_TOKEN_MAX)
		return "token over 256 characters";
	if (!valid_token(p, len))
		return "token may hold only letters, digits, '-._~+/' and "
		       "'=' padding";
	memset(t->token, 0, sizeof(t->token));
	memcpy(t->token, p, len);
	t->len = len;
	t->access = ACCESS_WRITE;
	p += len;
	len = word(&p, end);
	if (len == strlen("read-only") && !strncmp(p, "read-only", len)) {
		t->access = ACCESS_READ;
		p += len;
		len = word(&p, end);
	}
	if (len)
		return "unexpected text after the token (only read-only)";
	return NULL;
}

static bool has_nul(const char *p, const char *end)
{
	for (; p < end; p++)
		if (!*p)
			return true;
	return false;
}

int auth_tokens_parse(const char *text, size_t len, struct auth_tokens *out,
		      int *line, const char **why)
{
	const char *p = text, *end = text + len, *eol;
	struct auth_token t;
	size_t i;

	memset(out, 0, sizeof(*out));
	*line = 0;
	*why = NULL;
	while (p < end) {
		const char *s;

		(*line)++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		s = eol;
		if (s > p && s[-1] == '\r')
			s--;
		if (has_nul(p, s)) {
			*why = "NUL byte in the line";
			return -EINVAL;
		}
		while (p < s && (*p == ' ' || *p == '\t'))
			p++;
		if (p < s && *p != '#') {
			*why = parse_line(p, s, &t);
			if (!*why && out->n == AUTH_MAX_TOKENS)
				*why = "more than 64 tokens";
			for (i = 0; !*why && i < out->n; i++) {
				if (!strcmp(out->t[i].name, t.name))
					*why = "token name given twice";
				else if (out->t[i].len == t.len &&
					 !memcmp(out->t[i].token, t.token,
						 t.len))
					*why = "token given twice (the history "
					       "could not tell who)";
			}
			if (*why)
				return -EINVAL;
			out->t[out->n++] = t;
		}
		p = eol + 1;
	}
	*line = 0;
	if (!out->n) {
		*why = "no token";
		return -EINVAL;
	}
	return 0;
}

int auth_tokens_load(const char *path, struct auth_tokens *out)
{
	char *text = NULL;
	const char *why;
	struct stat st;
	ssize_t n = 0;
	int fd, line, rc = EXIT_USAGE;

	memset(&st, 0, sizeof(st));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "Error: api-token-file: %s: %s\n", path,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr,
			"Error: api-token-file: %s: not a regular file\n",
			path);
		goto out;
	}
	if (st.st_mode & 077) {
		fprintf(stderr,
			"Error: api-token-file: %s: mode %04o lets group or "
			"others at the tokens (chmod 600)\n",
			path, (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > TOKEN_FILE_MAX) {
		fprintf(stderr, "Error: api-token-file: %s: over 64 KiB\n",
			path);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		fprintf(stderr, "Error: api-token-file: %s: out of memory\n",
			path);
		goto out;
	}
	n = read(fd, text, (size_t)st.st_size);
	if (n < 0) {
		fprintf(stderr, "Error: api-token-file: %s: %s\n", path,
			strerror(errno));
		goto out;
	}
	if (auth_tokens_parse(text, (size_t)n, out, &line, &why)) {
		if (line)
			fprintf(stderr, "Error: api-token-file: %s:%d: %s\n",
				path, line, why);
		else
			fprintf(stderr, "Error: api-token-file: %s: %s\n", path,
				why);
		goto out;
	}
	rc = 0;
out:
	if (text) {
		memset(text, 0, (size_t)st.st_size);
		free(text);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

enum access auth_bearer(const struct auth_tokens *t, const char *header,
			const char **name)
{
	unsigned char given[AUTH_TOKEN_MAX];
	size_t len, i, j, found = 0;
	unsigned int diff, match = 0;
	enum access access = ACCESS_NONE;

	*name = NULL;
	if (!header || strncasecmp(header, "Bearer ", 7))
		return ACCESS_NONE;
	header += 7;
	while (*header == ' ')
		header++;
	len = strlen(header);
	while (len && header[len - 1] == ' ')
		len--;
	/* the presented length is the caller's own, not a secret */
	if (!len || len > AUTH_TOKEN_MAX)
		return ACCESS_NONE;
	memset(given, 0, sizeof(given));
	memcpy(given, header, len);
	/* Every byte of every token, whatever matches: no early exit, no
	 * branch on a secret. */
	for (i = 0; i < t->n; i++) {
		diff = (unsigned int)(t->t[i].len ^ len);
		for (j = 0; j < AUTH_TOKEN_MAX; j++)
			diff |= t->t[i].token[j] ^ given[j];
		/* 1 when diff == 0, else 0 */
		diff = ((diff | (0U - diff)) >> (sizeof(diff) * 8 - 1)) ^ 1U;
		found |= (size_t)(0U - diff) & i;
		match |= diff;
	}
	if (match) {
		*name = t->t[found].name;
		access = t->t[found].access;
	}
	return access;
}
