/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The HTTP/JSON API (docs/api.md) on a Unix socket, optionally on TCP
 * with bearer tokens, and /metrics on a TCP listener of its own.
 * libmicrohttpd runs a thread per connection, so a swap that warms up
 * for minutes blocks only its own client; bodies are parsed strictly
 * (unknown fields are errors) before any operation starts.
 *
 * Access control comes first (auth.h): a caller who may not make a
 * request is answered 401 (TCP: no valid token) or 403 at the request's
 * first call, before its body is read and before any handler runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "addr.h"
#include "api.h"
#include "api_int.h"
#include "auth.h"

enum listener_kind {
	LISTEN_UNIX, /* every route, by peer credentials */
	LISTEN_API, /* every route, by bearer token */
	LISTEN_METRICS, /* GET /metrics only, open */
};

struct api;

struct listener {
	struct api *api;
	enum listener_kind kind;
	struct MHD_Daemon *mhd;
	int fd; /* -1: not open */
};

struct api {
	struct daemon *d; /* set once serving */
	atomic_bool ready; /* until then TCP listeners answer 503 */
	struct auth_groups groups;
	struct auth_tokens tokens;
	char *tls_cert, *tls_key; /* PEM text, used by libmicrohttpd */
	struct listener unix_l, api_l, metrics_l;
	char socket_group[64], readonly_group[64]; /* for messages */
	struct unix_perms perms;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* A connection's caller. */
struct peer {
	struct listener *l;
	enum access access; /* Unix socket: from the credentials */
	bool cred_ok;
	struct peer_cred cred;
	char addr[INET6_ADDRSTRLEN]; /* TCP: the client's address */
	char token[AUTH_NAME_MAX + 1]; /* TCP: the current request's */
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
	if (r->auth[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					r->auth);
	ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct peer *peer_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void api_caller(struct MHD_Connection *conn, char *buf, size_t len)
{
	struct peer *p = peer_of(conn);
	struct passwd pw, *found = NULL;
	char pwbuf[4096];

	if (!p) {
		snprintf(buf, len, "unknown");
	} else if (p->l->kind != LISTEN_UNIX) {
		snprintf(buf, len, "token=%s addr=%s", p->token, p->addr);
	} else if (!p->cred_ok) {
		snprintf(buf, len, "uid=? pid=0");
	} else {
		getpwuid_r(p->cred.uid, &pw, pwbuf, sizeof(pwbuf), &found);
		if (found)
			snprintf(buf, len, "user=%s uid=%u pid=%d", pw.pw_name,
				 p->cred.uid, p->cred.pid);
		else
			snprintf(buf, len, "uid=%u pid=%d", p->cred.uid,
				 p->cred.pid);
	}
}

/* The refusal of a caller without a valid token: 401 and nothing else,
 * whatever the path. */
static void unauthorized(struct reply *r)
{
	reply_error(r, 401, "unauthorized: a valid bearer token is needed");
	snprintf(r->auth, sizeof(r->auth), "Bearer realm=\"slotlb\"");
}

/* May this request run? Fills r with the refusal if not. */
static bool admit(struct listener *l, struct MHD_Connection *conn,
		  const char *url, const char *method, struct reply *r)
{
	struct api *api = l->api;
	struct peer *p = peer_of(conn);
	enum access access = ACCESS_NONE;
	const char *name;
	char who[128], refusal[384];
	int need;

	if (!p || !atomic_load(&api->ready)) {
		reply_error(r, 503, "slotlbd: starting");
		return false;
	}
	switch (l->kind) {
	case LISTEN_METRICS:
		if (strcmp(url, "/metrics")) {
			reply_error(r, 404,
				    "%s %s: no such resource (this listener "
				    "serves GET /metrics only)",
				    method, url);
			return false;
		}
		if (strcmp(method, "GET")) {
			snprintf(r->allow, sizeof(r->allow), "GET");
			reply_error(r, 405,
				    "%s %s: method not allowed "
				    "(allowed: GET)",
				    method, url);
			return false;
		}
		return true;
	case LISTEN_API:
		access = auth_bearer(&api->tokens,
				     MHD_lookup_connection_value(
					     conn, MHD_HEADER_KIND,
					     MHD_HTTP_HEADER_AUTHORIZATION),
				     &name);
		if (access == ACCESS_NONE) {
			log_debug("refused %s %s from %s: no valid token",
				  method, url, p->addr);
			unauthorized(r);
			return false;
		}
		snprintf(p->token, sizeof(p->token), "%s", name);
		break;
	case LISTEN_UNIX:
		access = p->access;
		break;
	}
	need = route_access_of(method, url);
	if (access == ACCESS_WRITE && need == ROUTE_WRITE &&
	    strncmp(url, "/v1/interfaces", 14) &&
	    store_refusal(api->d, refusal, sizeof(refusal))) {
		/* interfaces are this node's own: they need no store */
		reply_error(r, 503, "%s %s: %s", method, url, refusal);
		return false;
	}
	if (access == ACCESS_WRITE ||
	    (access == ACCESS_READ && need != ROUTE_WRITE))
		return true;
	api_caller(conn, who, sizeof(who));
	log_msg("refused %s %s: %s may %s", method, url, who,
		access == ACCESS_READ ? "only read" : "not use slotlbd");
	if (access == ACCESS_READ)
		reply_error(r, 403, "%s %s: forbidden: %s may only read",
			    method, url, who);
	else if (api->socket_group[0])
		reply_error(
			r, 403,
			"%s %s: forbidden: %s is not root nor in group %s%s%s",
			method, url, who, api->socket_group,
			api->readonly_group[0] ? " or " : "",
			api->readonly_group);
	else
		reply_error(r, 403, "%s %s: forbidden: %s is not root", method,
			    url, who);
	return false;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	struct listener *l = cls;
	struct request *req = *con_cls;
	struct reply r = {.status = 500};
	enum MHD_Result ret;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		if (admit(l, conn, url, method, &r))
			return MHD_YES;
		/* answered before the body is read: no work for a caller
		 * who may not ask */
		req->refused = true;
		ret = send_reply(conn, &r);
		json_decref(r.json);
		return ret;
	}
	if (req->refused) {
		*upload_size = 0;
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
	route(l->api->d, conn, url, method, req, &r);
	log_debug("%s %s -> %d", method, url, r.status);
	ret = send_reply(conn, &r);
	json_decref(r.json);
	return ret;
}

/* A connection starts: who is it? Closes: forget. */
static void notify_connection(void *cls, struct MHD_Connection *conn,
			      void **socket_context,
			      enum MHD_ConnectionNotificationCode code)
{
	struct listener *l = cls;
	const union MHD_ConnectionInfo *ci;
	struct peer *p;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		p = *socket_context;
		if (p)
			auth_peer_free(&p->cred);
		free(p);
		*socket_context = NULL;
		return;
	}
	p = calloc(1, sizeof(*p));
	*socket_context = p;
	if (!p)
		return;
	p->l = l;
	if (l->kind == LISTEN_UNIX) {
		ci = MHD_get_connection_info(conn,
					     MHD_CONNECTION_INFO_CONNECTION_FD);
		p->cred_ok = ci && !auth_peer_read(ci->connect_fd, &p->cred);
		p->access =
			p->cred_ok ? auth_peer_access(&l->api->groups, &p->cred)
				   : ACCESS_NONE;
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET,
			  &((struct sockaddr_in *)ci->client_addr)->sin_addr,
			  p->addr, sizeof(p->addr));
	else if (ci && ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((struct sockaddr_in6 *)ci->client_addr)->sin6_addr,
			  p->addr, sizeof(p->addr));
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

/* URL and query decoding: libmicrohttpd's own, except that a "%00"
 * would end the string there and "DELETE /v1/apps/web%00x" would delete
 * web; such a string is kept as sent, which names nothing. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	if (strstr(s, "%00"))
		return strlen(s);
	return MHD_http_unescape(s);
}

/* Connections at once: a thread each. TCP listeners may face callers
 * who never authenticate, so they get fewer, and fewer per address. */
#define UNIX_CONNECTIONS 1020 /* libmicrohttpd's default (select) */
#define TCP_CONNECTIONS 128
#define TCP_CONNECTIONS_PER_ADDR 32

static int start_mhd(struct listener *l, bool tls)
{
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
			     MHD_USE_ERROR_LOG;
	bool tcp = l->kind != LISTEN_UNIX;
	unsigned int limit = tcp ? TCP_CONNECTIONS : UNIX_CONNECTIONS;
	unsigned int per_addr = tcp ? TCP_CONNECTIONS_PER_ADDR : 0;
	struct api *api = l->api;

	if (tls)
		l->mhd = MHD_start_daemon(
			flags | MHD_USE_TLS, 0, NULL, NULL, handle, l,
			MHD_OPTION_LISTEN_SOCKET, l->fd,
			MHD_OPTION_HTTPS_MEM_CERT, api->tls_cert,
			MHD_OPTION_HTTPS_MEM_KEY, api->tls_key,
			MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
			MHD_OPTION_NOTIFY_CONNECTION, notify_connection, l,
			MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)600,
			MHD_OPTION_CONNECTION_LIMIT, limit,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_addr,
			MHD_OPTION_END);
	else
		l->mhd = MHD_start_daemon(
			flags, 0, NULL, NULL, handle, l,
			MHD_OPTION_LISTEN_SOCKET, l->fd,
			MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
			MHD_OPTION_NOTIFY_CONNECTION, notify_connection, l,
			MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)600,
			MHD_OPTION_CONNECTION_LIMIT, limit,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_addr,
			MHD_OPTION_END);
	return l->mhd ? 0 : -EIO;
}

/* Open one TCP listener: bind, then serve (gated by ready). */
static int open_tcp(struct api *api, struct listener *l,
		    enum listener_kind kind, const char *key,
		    const struct listen_addr *addr, bool tls)
{
	int err;

	l->api = api;
	l->kind = kind;
	err = listen_tcp(addr, &l->fd);
	if (err) {
		fprintf(stderr, "Error: %s: %s: %s\n", key, addr->text,
			err == -EADDRINUSE	? "address in use"
			: err == -EADDRNOTAVAIL ? "no such local address"
						: strerror(-err));
		return EXIT_FAILED;
	}
	err = start_mhd(l, tls);
	if (err) {
		fprintf(stderr, "Error: %s: %s: %s\n", key, addr->text,
			tls ? "cannot serve TLS with tls-cert and tls-key "
			      "(see the log above)"
			    : "cannot serve");
		return EXIT_FAILED;
	}
	return 0;
}

int api_open(const struct options *o, struct api **out)
{
	struct api *api;
	bool tls = o->tls_cert[0];
	int rc = EXIT_USAGE;

	api = calloc(1, sizeof(*api));
	if (!api) {
		fprintf(stderr, "Error: slotlbd: out of memory\n");
		return EXIT_FAILED;
	}
	api->unix_l.fd = api->api_l.fd = api->metrics_l.fd = -1;
	api->groups.owner = geteuid();
	api->groups.write_gid = o->socket_group[0] ? o->socket_gid : getegid();
	api->groups.has_read = o->readonly_group[0];
	api->groups.read_gid = o->readonly_gid;
	api->perms.has_group = o->socket_group[0];
	api->perms.group = o->socket_gid;
	api->perms.has_read = o->readonly_group[0];
	api->perms.read_group = o->readonly_gid;
	snprintf(api->socket_group, sizeof(api->socket_group), "%.63s",
		 o->socket_group);
	snprintf(api->readonly_group, sizeof(api->readonly_group), "%.63s",
		 o->readonly_group);
	if (o->api_listen.text[0]) {
		if (auth_tokens_load(o->api_token_file, &api->tokens))
			goto fail;
		if (tls && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			fprintf(stderr, "Error: tls-cert: this libmicrohttpd "
					"has no TLS\n");
			goto fail;
		}
		if (tls) {
			api->tls_cert =
				read_pem("tls-cert", o->tls_cert, false);
			api->tls_key =
				api->tls_cert
					? read_pem("tls-key", o->tls_key, true)
					: NULL;
			if (!api->tls_key)
				goto fail;
		}
	}
	rc = EXIT_FAILED;
	if (o->metrics_listen.text[0] &&
	    open_tcp(api, &api->metrics_l, LISTEN_METRICS, "metrics-listen",
		     &o->metrics_listen, false))
		goto fail;
	if (o->api_listen.text[0] &&
	    open_tcp(api, &api->api_l, LISTEN_API, "api-listen", &o->api_listen,
		     tls))
		goto fail;
	*out = api;
	return 0;
fail:
	api_stop(api, true);
	return rc;
}

int api_serve(struct api *api, struct daemon *d, const char *socket_path,
	      const char **failed)
{
	struct listener *l = &api->unix_l;
	int err;

	*failed = NULL;
	api->d = d;
	snprintf(api->path, sizeof(api->path), "%s", socket_path);
	l->api = api;
	l->kind = LISTEN_UNIX;
	err = listen_unix(socket_path, &api->perms, &l->fd);
	if (err) {
		*failed = api->perms.failed;
		return err;
	}
	err = start_mhd(l, false);
	if (err) {
		close(l->fd);
		l->fd = -1;
		unlink(socket_path);
		api->path[0] = 0;
		return err;
	}
	atomic_store(&api->ready, true);
	return 0;
}

static void stop_listener(struct listener *l, bool wait_for_requests)
{
	if (l->mhd) {
		if (wait_for_requests)
			MHD_stop_daemon(l->mhd);
		else
			/* a warm-up may run for minutes: stop taking
			 * connections and leave the rest to process exit */
			MHD_quiesce_daemon(l->mhd);
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

void api_stop(struct api *api, bool wait_for_requests)
{
	if (!api)
		return;
	stop_listener(&api->unix_l, wait_for_requests);
	stop_listener(&api->api_l, wait_for_requests);
	stop_listener(&api->metrics_l, wait_for_requests);
	if (api->path[0])
		unlink(api->path);
	if (!wait_for_requests)
		return;
	free(api->tls_cert);
	if (api->tls_key) {
		memset(api->tls_key, 0, strlen(api->tls_key));
		free(api->tls_key);
	}
	memset(&api->tokens, 0, sizeof(api->tokens));
	free(api);
}
