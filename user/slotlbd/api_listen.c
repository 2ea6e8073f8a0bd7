/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The API's sockets: the Unix socket with its owner, group, mode and,
 * for a read-only group, an ACL entry; the TCP listeners of the remote
 * API and of metrics; the TLS files. TCP sockets are bound before
 * anything else starts, so an address in use stops slotlbd before it
 * touched the database or the maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "api_int.h"

#define PEM_MAX (1 << 20)

/* The socket's ACL: owner and group rw, plus the read-only group rw
 * (connect() needs write permission; what it may do is the daemon's
 * call), others nothing. Entries sorted by tag, as the kernel wants. */
static int set_readonly_acl(const char *path, gid_t read_gid)
{
	struct {
		struct posix_acl_xattr_header h;
		struct posix_acl_xattr_entry e[5];
	} __attribute__((packed)) acl = {
		.h = {.a_version = POSIX_ACL_XATTR_VERSION},
		.e =
			{
				{ACL_USER_OBJ, ACL_READ | ACL_WRITE,
				 ACL_UNDEFINED_ID},
				{ACL_GROUP_OBJ, ACL_READ | ACL_WRITE,
				 ACL_UNDEFINED_ID},
				{ACL_GROUP, ACL_READ | ACL_WRITE, read_gid},
				{ACL_MASK, ACL_READ | ACL_WRITE,
				 ACL_UNDEFINED_ID},
				{ACL_OTHER, 0, ACL_UNDEFINED_ID},
			},
	};

	if (setxattr(path, "system.posix_acl_access", &acl, sizeof(acl), 0))
		return -errno;
	return 0;
}

int listen_unix(const char *path, struct unix_perms *perms, int *fdp)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)], *slash;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		for (char *p = dir + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = 0;
			mkdir(dir, 0755);
			*p = '/';
		}
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		err = -EADDRINUSE;
		goto out;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/* Nobody can connect before listen(): owner, group, mode and ACL
	 * are all in place by then. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		goto out;
	}
	if (perms->has_group && chown(path, (uid_t)-1, perms->group)) {
		err = -errno;
		perms->failed = "chown to the socket group";
		goto unlink;
	}
	if (chmod(path, 0660)) {
		err = -errno;
		goto unlink;
	}
	if (perms->has_read && set_readonly_acl(path, perms->read_group)) {
		err = -errno;
		perms->failed = "ACL entry for the read-only group";
		goto unlink;
	}
	if (listen(fd, 64)) {
		err = -errno;
		goto unlink;
	}
	*fdp = fd;
	return 0;
unlink:
	unlink(path);
out:
	close(fd);
	return err;
}

int listen_tcp(const struct listen_addr *l, int *fdp)
{
	int fd, one = 1, err;

	fd = socket(l->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a restart must not wait for TIME_WAIT; SO_REUSEADDR still
	 * refuses a port another socket listens on */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->sa, l->len) ||
	    listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

char *read_pem(const char *what, const char *path, bool secret)
{
	struct stat st;
	char *text = NULL;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "Error: %s: %s: %s\n", what, path,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PEM_MAX) {
		fprintf(stderr, "Error: %s: %s: %s\n", what, path,
			S_ISREG(st.st_mode) ? "over 1 MiB"
					    : "not a regular file");
		goto out;
	}
	if (secret && (st.st_mode & 007)) {
		fprintf(stderr,
			"Error: %s: %s: mode %04o lets others read the private "
			"key (chmod o-rwx)\n",
			what, path, (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	text = calloc(1, (size_t)st.st_size + 1);
	if (!text) {
		fprintf(stderr, "Error: %s: %s: out of memory\n", what, path);
		goto out;
	}
	n = read(fd, text, (size_t)st.st_size);
	if (n < 0 || !strstr(text, "-----BEGIN ")) {
		fprintf(stderr, "Error: %s: %s: %s\n", what, path,
			n < 0 ? strerror(errno) : "not PEM");
		free(text);
		text = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	return text;
}
