/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The HTTP/JSON API on a Unix socket (docs/api.md). libmicrohttpd runs a
 * thread per connection, so a swap that warms up for minutes blocks only
 * its own client; bodies are parsed strictly (unknown fields are errors)
 * before any operation starts.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "addr.h"
#include "api.h"

struct api {
	struct MHD_Daemon *mhd;
	struct daemon *d;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct reply *r)
{
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret;
	char *text = NULL;
	const char *type = "application/json";

	if (r->stream) {
		resp = r->stream;
		type = "application/x-ndjson";
	} else if (r->text) {
		text = r->text;
		type = "text/plain; version=0.0.4";
	} else if (r->json) {
		text = json_dumps(r->json, JSON_COMPACT);
		if (text) {
			size_t l = strlen(text);
			char *nl = realloc(text, l + 2);

			if (nl) {
				text = nl;
				memcpy(text + l, "\n", 2);
			}
		}
	}
	if (!r->stream)
		resp = MHD_create_response_from_buffer(
			text ? strlen(text) : 0, text ? text : (char *)"",
			text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (r->allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	struct api *api = cls;
	struct request *req = *con_cls;
	struct reply r = {.status = 500};
	enum MHD_Result ret;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size) {
		if (req->len + *upload_size > MAX_BODY) {
			req->too_big = true;
		} else {
			char *grown =
				realloc(req->body, req->len + *upload_size + 1);

			if (!grown)
				return MHD_NO;
			req->body = grown;
			memcpy(req->body + req->len, upload_data, *upload_size);
			req->len += *upload_size;
			req->body[req->len] = 0;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	route(api->d, conn, url, method, req, &r);
	log_debug("%s %s -> %d", method, url, r.status);
	ret = send_reply(conn, &r);
	json_decref(r.json);
	return ret;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req) {
		free(req->body);
		free(req);
		*con_cls = NULL;
	}
}

/* Our own socket: mode 0660, parent created, a stale file replaced but a
 * live daemon's socket left alone. */
static int listen_unix(const char *path, int *fdp)
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
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0660) ||
	    listen(fd, 64)) {
		err = -errno;
		goto out;
	}
	*fdp = fd;
	return 0;
out:
	close(fd);
	return err;
}

int api_start(struct daemon *d, const char *socket_path, struct api **out)
{
	struct api *api;
	int err;

	api = calloc(1, sizeof(*api));
	if (!api)
		return -ENOMEM;
	api->d = d;
	snprintf(api->path, sizeof(api->path), "%s", socket_path);
	err = listen_unix(socket_path, &api->fd);
	if (err)
		goto out;
	api->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
					    MHD_USE_INTERNAL_POLLING_THREAD |
					    MHD_USE_ITC | MHD_USE_ERROR_LOG,
				    0, NULL, NULL, handle, api,
				    MHD_OPTION_LISTEN_SOCKET, api->fd,
				    MHD_OPTION_NOTIFY_COMPLETED, request_done,
				    NULL, MHD_OPTION_CONNECTION_TIMEOUT,
				    (unsigned int)600, MHD_OPTION_END);
	if (!api->mhd) {
		err = -EIO;
		close(api->fd);
		unlink(socket_path);
		goto out;
	}
	*out = api;
	return 0;
out:
	free(api);
	return err;
}

void api_stop(struct api *api, bool wait_for_requests)
{
	if (!api)
		return;
	if (wait_for_requests) {
		MHD_stop_daemon(api->mhd);
		close(api->fd);
	} else {
		/* a warm-up may run for minutes: stop taking connections and
		 * leave the rest to process exit */
		MHD_quiesce_daemon(api->mhd);
		close(api->fd);
	}
	unlink(api->path);
	if (wait_for_requests)
		free(api);
}
