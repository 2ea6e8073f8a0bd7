/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlbd's options and config file (docs/slotlbd.md). Names match
 * exactly, as in the CLI: getopt_long's prefix matching made `--conf
 * FILE` mean --config and then skipped it, so a typo could start a
 * daemon on settings nobody asked for. Every error names the option or
 * the file and line, and nothing is started.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <grp.h>
#include <netinet/in.h>
#include "addr.h"
#include "options.h"
#include "slotlb/abi.h"
#include "etcd.h"
#include "store.h"

#define STR_(x) #x
#define STR(x) STR_(x)

enum opt_type {
	OT_PATH, /* a non-empty string that fits PATH_MAX */
	OT_LISTEN, /* "ADDR:PORT" into a struct listen_addr */
	OT_U32, /* a decimal number >= min */
	OT_FLAG, /* no value on the command line; true/false in the file */
	OT_HELP,
};

enum opt_where {
	OPT_CMDLINE = 1,
	OPT_CONFIG = 2,
	OPT_BOTH = OPT_CMDLINE | OPT_CONFIG,
};

struct opt_def {
	const char *name; /* --NAME, and the config key */
	char short_name; /* -X, or 0 */
	const char *arg; /* value placeholder in --help, NULL for a flag */
	enum opt_type type;
	size_t off; /* of the value in struct options */
	uint32_t min; /* OT_U32 */
	enum opt_where where;
	const char *help;
};

#define OFF(field) offsetof(struct options, field)

static const struct opt_def defs[] = {
	{"state-dir", 0, "DIR", OT_PATH, OFF(state_dir), 0, OPT_BOTH,
	 "database directory (default " DEFAULT_STATE_DIR ")"},
	{"socket", 0, "PATH", OT_PATH, OFF(socket), 0, OPT_BOTH,
	 "API socket (default " DEFAULT_SOCKET ")"},
	{"pin-root", 0, "DIR", OT_PATH, OFF(pin_root), 0, OPT_BOTH,
	 "bpffs directory of the maps (default " SLOTLB_PIN_ROOT ")"},
	{"flow-capacity", 0, "N", OT_U32, OFF(flow_capacity), 1, OPT_BOTH,
	 "concurrent flows (default: pinned, else " STR(
		 SLOTLB_DEFAULT_FLOW_CAPACITY) ")"},
	{"drain-interval", 0, "MS", OT_U32, OFF(drain_interval_ms), 10,
	 OPT_BOTH, "flow count and drain period (default 1000)"},
	{"verbose", 'v', NULL, OT_FLAG, OFF(verbose), 0, OPT_BOTH,
	 "debug log, libbpf log"},
	{"socket-group", 0, "GROUP", OT_PATH, OFF(socket_group), 0, OPT_BOTH,
	 "group of the socket: its members may change state"},
	{"readonly-group", 0, "GROUP", OT_PATH, OFF(readonly_group), 0,
	 OPT_BOTH, "its members may read (status, history, metrics)"},
	{"api-listen", 0, "ADDR:PORT", OT_LISTEN, OFF(api_listen), 0, OPT_BOTH,
	 "serve the API over TCP too (needs --api-token-file)"},
	{"api-token-file", 0, "FILE", OT_PATH, OFF(api_token_file), 0, OPT_BOTH,
	 "NAME: TOKEN lines, mode 0600 or stricter"},
	{"tls-cert", 0, "FILE", OT_PATH, OFF(tls_cert), 0, OPT_BOTH,
	 "TLS certificate (PEM) of --api-listen"},
	{"tls-key", 0, "FILE", OT_PATH, OFF(tls_key), 0, OPT_BOTH,
	 "its private key (PEM), not readable by others"},
	{"metrics-listen", 0, "ADDR:PORT", OT_LISTEN, OFF(metrics_listen), 0,
	 OPT_BOTH, "serve GET /metrics over TCP, without token"},
	{"metrics-backends", 0, NULL, OT_FLAG, OFF(metrics_backends), 0,
	 OPT_BOTH, "per-backend series in /metrics"},
	{"store", 0, "URL", OT_PATH, OFF(store), 0, OPT_BOTH,
	 "etcd://HOST:PORT[,HOST:PORT...]: the fleet's shared state"},
	{"node-name", 0, "NAME", OT_PATH, OFF(node_name), 0, OPT_BOTH,
	 "this node in the fleet (default: the host name)"},
	{"store-ca", 0, "FILE", OT_PATH, OFF(store_ca), 0, OPT_BOTH,
	 "etcds://: CA certificates of etcd's (default: the system's)"},
	{"store-cert", 0, "FILE", OT_PATH, OFF(store_cert), 0, OPT_BOTH,
	 "etcds://: this node's client certificate (PEM)"},
	{"store-key", 0, "FILE", OT_PATH, OFF(store_key), 0, OPT_BOTH,
	 "etcds://: its private key (PEM)"},
	{"store-snapshot-every", 0, "N", OT_U32, OFF(store_snapshot_every), 10,
	 OPT_BOTH, "snapshot the state, compact the log every N entries"},
	{"config", 0, "FILE", OT_PATH, OFF(config), 0, OPT_CMDLINE,
	 "config file (default " DEFAULT_CONFIG " if it exists)"},
	{"check-config", 0, NULL, OT_FLAG, OFF(check_config), 0, OPT_CMDLINE,
	 "print the settings as config lines and exit"},
	{"help", 'h', NULL, OT_HELP, 0, 0, OPT_CMDLINE, "this help"},
};

#define N_DEFS (sizeof(defs) / sizeof(defs[0]))

static void usage(FILE *f)
{
	char name[64];
	size_t i;

	fprintf(f, "Usage: slotlbd [OPTIONS]\n\nOptions:\n");
	for (i = 0; i < N_DEFS; i++) {
		const struct opt_def *d = &defs[i];

		if (d->short_name)
			snprintf(name, sizeof(name), "-%c, --%s%s%s",
				 d->short_name, d->name, d->arg ? " " : "",
				 d->arg ? d->arg : "");
		else
			snprintf(name, sizeof(name), "--%s%s%s", d->name,
				 d->arg ? " " : "", d->arg ? d->arg : "");
		fprintf(f, "  %-26s %s\n", name, d->help);
	}
	fprintf(f,
		"\nThe config file has KEY = VALUE lines and '#' comment "
		"lines; the keys\nare the long options above except --config, "
		"--check-config and --help\n(flags take true or false). The "
		"command line wins over the file.\n\n"
		"Exit status: 0 stopped by SIGTERM or SIGINT, 1 could not "
		"start, 2 bad\noption or config file.\n");
}

static const struct opt_def *find_long(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < N_DEFS; i++)
		if (strlen(defs[i].name) == len &&
		    !strncmp(defs[i].name, name, len))
			return &defs[i];
	return NULL;
}

static const struct opt_def *find_short(char c)
{
	size_t i;

	for (i = 0; i < N_DEFS; i++)
		if (defs[i].short_name && defs[i].short_name == c)
			return &defs[i];
	return NULL;
}

/* Stores val in o, or says what is wrong with it after "Error: WHERE: ". */
static int set_value(struct options *o, const struct opt_def *d,
		     const char *val, const char *where)
{
	char *field = (char *)o + d->off, *end;
	unsigned long long v;

	switch (d->type) {
	case OT_PATH:
		if (!*val || strlen(val) >= PATH_MAX) {
			fprintf(stderr, "Error: %s: %s\n", where,
				*val ? "path too long" : "empty value");
			return EXIT_USAGE;
		}
		memcpy(field, val, strlen(val) + 1);
		return 0;
	case OT_LISTEN: {
		struct listen_addr *l = (struct listen_addr *)(void *)field;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->sa;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&l->sa;
		const char *why;
		__be32 addr[4];
		uint8_t family;
		__be16 port;

		if (strlen(val) >= sizeof(l->text) ||
		    slotlb_parse_addr_port(val, addr, &family, &port, &why)) {
			fprintf(stderr, "Error: %s: '%s': %s\n", where, val,
				strlen(val) >= sizeof(l->text) ? "too long"
							       : why);
			return EXIT_USAGE;
		}
		memset(l, 0, sizeof(*l));
		memcpy(l->text, val, strlen(val) + 1);
		if (family == AF_INET6) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = port;
			memcpy(&s6->sin6_addr, addr, sizeof(s6->sin6_addr));
			l->len = sizeof(*s6);
		} else {
			s4->sin_family = AF_INET;
			s4->sin_port = port;
			s4->sin_addr.s_addr = addr[0];
			l->len = sizeof(*s4);
		}
		return 0;
	}
	case OT_U32:
		errno = 0;
		v = strtoull(val, &end, 10);
		if (errno || !*val || *end || *val == '-' || *val == '+' ||
		    v < d->min || v > UINT32_MAX) {
			fprintf(stderr,
				"Error: %s: '%s': not a whole number %u..%u\n",
				where, val, d->min, UINT32_MAX);
			return EXIT_USAGE;
		}
		*(uint32_t *)(void *)field = (uint32_t)v;
		return 0;
	case OT_FLAG:
		if (!strcmp(val, "true") || !strcmp(val, "1")) {
			*(bool *)field = true;
		} else if (!strcmp(val, "false") || !strcmp(val, "0")) {
			*(bool *)field = false;
		} else {
			fprintf(stderr, "Error: %s: '%s': not true or false\n",
				where, val);
			return EXIT_USAGE;
		}
		return 0;
	case OT_HELP:
		break;
	}
	return EXIT_USAGE;
}

static char *trim(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]))
		*--end = 0;
	return s;
}

/* KEY = VALUE lines; '#' starts a comment line; '_' may stand for '-' in
 * keys. Unknown or repeated keys and bad values are errors. */
static int load_config(struct options *o, const char *path, bool must_exist)
{
	bool seen[N_DEFS] = {false};
	const struct opt_def *d;
	char *line = NULL, *key, *val, *eq, *p, where[PATH_MAX + 96];
	size_t cap = 0;
	int lineno = 0, err = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		fprintf(stderr, "Error: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			fprintf(stderr,
				"Error: %s:%d: expected KEY = VALUE, got '%s'\n",
				path, lineno, key);
			err = EXIT_USAGE;
			break;
		}
		*eq = 0;
		key = trim(key);
		val = trim(eq + 1);
		for (p = key; *p; p++)
			if (*p == '_')
				*p = '-';
		d = find_long(key, strlen(key));
		if (!d || !(d->where & OPT_CONFIG)) {
			fprintf(stderr,
				"Error: %s:%d: '%s': unknown key (see "
				"slotlbd --help)\n",
				path, lineno, key);
			err = EXIT_USAGE;
			break;
		}
		if (seen[d - defs]) {
			fprintf(stderr, "Error: %s:%d: %s: given twice\n", path,
				lineno, key);
			err = EXIT_USAGE;
			break;
		}
		seen[d - defs] = true;
		snprintf(where, sizeof(where), "%s:%d: %s", path, lineno, key);
		err = set_value(o, d, val, where);
		if (err)
			break;
	}
	if (!err && ferror(f)) {
		fprintf(stderr, "Error: %s: %s\n", path, strerror(errno));
		err = EXIT_USAGE;
	}
	free(line);
	fclose(f);
	if (!err)
		snprintf(o->config, sizeof(o->config), "%s", path);
	return err;
}

static int __attribute__((format(printf, 1, 2))) opt_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "Error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see slotlbd --help)\n");
	return EXIT_USAGE;
}

int options_parse(struct options *o, int argc, char **argv)
{
	const char *given[N_DEFS] = {NULL};
	const struct opt_def *d,
		*config = find_long("config", strlen("config"));
	size_t i;
	int k, err;

	*o = (struct options){
		.state_dir = DEFAULT_STATE_DIR,
		.socket = DEFAULT_SOCKET,
		.drain_interval_ms = 1000,
		.store_snapshot_every = 1000,
	};
	/* First what was asked for, so a typo fails before any file is
	 * read; then the file; then the command line over it. */
	for (k = 1; k < argc; k++) {
		const char *a = argv[k], *eq = NULL, *val = "true";
		char label[80];

		if (a[0] != '-' || !a[1])
			return opt_err("'%s': unexpected argument", a);
		if (a[1] != '-') {
			d = a[2] ? NULL : find_short(a[1]);
		} else {
			eq = strchr(a, '=');
			d = find_long(a + 2, eq ? (size_t)(eq - a - 2)
						: strlen(a + 2));
		}
		snprintf(label, sizeof(label), "%.*s",
			 eq ? (int)(eq - a) : (int)strlen(a), a);
		if (!d)
			return opt_err("%s: unknown option", label);
		if (!d->arg && eq)
			return opt_err("--%s: takes no value", d->name);
		if (d->type == OT_HELP) {
			usage(stdout);
			return -1;
		}
		if (given[d - defs])
			return opt_err("--%s: given twice", d->name);
		if (d->arg) {
			if (eq)
				val = eq + 1;
			else if (k + 1 < argc)
				val = argv[++k];
			else
				return opt_err("--%s: needs a value %s",
					       d->name, d->arg);
		} else if (eq) {
			return opt_err("--%s: takes no value", d->name);
		}
		given[d - defs] = val;
	}

	if (given[config - defs])
		err = load_config(o, given[config - defs], true);
	else
		err = load_config(o, DEFAULT_CONFIG, false);
	if (err)
		return err;

	for (i = 0; i < N_DEFS; i++) {
		char where[64];

		if (!given[i] || &defs[i] == config)
			continue;
		snprintf(where, sizeof(where), "--%s", defs[i].name);
		err = set_value(o, &defs[i], given[i], where);
		if (err)
			return err;
	}
	return 0;
}

static int group_id(const char *key, const char *name, gid_t *gid)
{
	struct group gr, *found = NULL;
	char buf[16384];
	int err;

	err = getgrnam_r(name, &gr, buf, sizeof(buf), &found);
	if (err || !found) {
		fprintf(stderr, "Error: %s: '%s': %s\n", key, name,
			err ? strerror(err) : "no such group");
		return EXIT_USAGE;
	}
	*gid = gr.gr_gid;
	return 0;
}

static bool wildcard(const struct listen_addr *l)
{
	const struct sockaddr_in6 *s6 = (const void *)&l->sa;
	const struct sockaddr_in *s4 = (const void *)&l->sa;

	if (l->sa.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
	return s4->sin_addr.s_addr == htonl(INADDR_ANY);
}

static uint16_t listen_port(const struct listen_addr *l)
{
	const struct sockaddr_in *s4 = (const void *)&l->sa;
	const struct sockaddr_in6 *s6 = (const void *)&l->sa;

	return ntohs(l->sa.ss_family == AF_INET6 ? s6->sin6_port
						 : s4->sin_port);
}

/* Would binding both take the same port of one address? A wildcard
 * address takes the port of every address. */
static bool same_port(const struct listen_addr *a, const struct listen_addr *b)
{
	if (listen_port(a) != listen_port(b))
		return false;
	if (wildcard(a) || wildcard(b))
		return true;
	return a->len == b->len && !memcmp(&a->sa, &b->sa, a->len);
}

/* A node's name: what the fleet's status and etcd's keys show. */
/* --store-ca, --store-cert, --store-key: only with etcds://, the
 * certificate with its key, each a file slotlbd can read. */
static int check_store_tls(const struct options *o, bool tls)
{
	const struct {
		const char *name, *path;
	} f[] = {{"store-ca", o->store_ca},
		 {"store-cert", o->store_cert},
		 {"store-key", o->store_key}};
	FILE *fp;
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (!f[i].path[0])
			continue;
		if (!tls) {
			fprintf(stderr,
				"Error: %s: only with an etcds:// store\n",
				f[i].name);
			return EXIT_USAGE;
		}
		fp = fopen(f[i].path, "r");
		if (!fp) {
			fprintf(stderr, "Error: %s: '%s': %s\n", f[i].name,
				f[i].path, strerror(errno));
			return EXIT_USAGE;
		}
		fclose(fp);
	}
	if (!o->store_cert[0] != !o->store_key[0]) {
		fprintf(stderr, "Error: %s: needs %s too\n",
			o->store_cert[0] ? "store-cert" : "store-key",
			o->store_cert[0] ? "store-key" : "store-cert");
		return EXIT_USAGE;
	}
	return 0;
}

static int validate_node_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-") != n)
		return -EINVAL;
	return 0;
}

int options_check(struct options *o)
{
	bool api = o->api_listen.text[0];
	const char *why;
	struct etcd e;
	int err;

	if (o->socket_group[0] &&
	    group_id("socket-group", o->socket_group, &o->socket_gid))
		return EXIT_USAGE;
	if (o->readonly_group[0] &&
	    group_id("readonly-group", o->readonly_group, &o->readonly_gid))
		return EXIT_USAGE;
	if (o->readonly_group[0] && o->socket_group[0] &&
	    o->readonly_gid == o->socket_gid) {
		fprintf(stderr,
			"Error: readonly-group: '%s' is the socket group: its "
			"members may change state\n",
			o->readonly_group);
		return EXIT_USAGE;
	}
	/* without socket-group the writers' group is slotlbd's own (api.c) */
	if (o->readonly_group[0] && !o->socket_group[0] &&
	    o->readonly_gid == getegid()) {
		fprintf(stderr,
			"Error: readonly-group: '%s' is slotlbd's own group, "
			"the socket's without socket-group: its members may "
			"change state\n",
			o->readonly_group);
		return EXIT_USAGE;
	}
	if (api && !o->api_token_file[0]) {
		fprintf(stderr, "Error: api-listen: needs api-token-file "
				"(slotlbd never serves TCP without a token)\n");
		return EXIT_USAGE;
	}
	if (!api && (o->api_token_file[0] || o->tls_cert[0] || o->tls_key[0])) {
		fprintf(stderr, "Error: %s: only with api-listen\n",
			o->api_token_file[0] ? "api-token-file"
			: o->tls_cert[0]     ? "tls-cert"
					     : "tls-key");
		return EXIT_USAGE;
	}
	if (!o->tls_cert[0] != !o->tls_key[0]) {
		fprintf(stderr, "Error: %s: needs %s too\n",
			o->tls_cert[0] ? "tls-cert" : "tls-key",
			o->tls_cert[0] ? "tls-key" : "tls-cert");
		return EXIT_USAGE;
	}
	if (o->store[0] && etcd_parse_url(o->store, &e, &why)) {
		fprintf(stderr, "Error: store: '%s': %s\n", o->store, why);
		return EXIT_USAGE;
	}
	if (o->node_name[0] && validate_node_name(o->node_name)) {
		fprintf(stderr,
			"Error: node-name: '%s': 1..63 of letters, digits, '.', '_', '-'\n",
			o->node_name);
		return EXIT_USAGE;
	}
	if (o->node_name[0] && !o->store[0]) {
		fprintf(stderr, "Error: node-name: only with store\n");
		return EXIT_USAGE;
	}
	/* In a fleet the drain thread renews the node's 10 s lease every
	 * third of it and says, within the 10 s orphan grace, what the
	 * node deploys (store.h): a longer period loses both. */
	if (o->store[0] && o->drain_interval_ms > STORE_MAX_DRAIN_INTERVAL_MS) {
		fprintf(stderr,
			"Error: drain-interval: %u ms: at most %u with store "
			"(the node's drain lease and deploys under way are "
			"renewed each period)\n",
			o->drain_interval_ms, STORE_MAX_DRAIN_INTERVAL_MS);
		return EXIT_USAGE;
	}
	err = check_store_tls(o, o->store[0] && e.tls);
	if (err)
		return err;
	if (api && o->metrics_listen.text[0] &&
	    same_port(&o->api_listen, &o->metrics_listen)) {
		fprintf(stderr,
			"Error: metrics-listen: %s and api-listen %s share a "
			"port: metrics are served without a token, the API "
			"never is\n",
			o->metrics_listen.text, o->api_listen.text);
		return EXIT_USAGE;
	}
	return 0;
}

void options_print(const struct options *o, FILE *f)
{
	size_t i;

	if (o->config[0])
		fprintf(f, "# slotlbd settings from %s and the command line\n",
			o->config);
	else
		fprintf(f, "# slotlbd settings from the command line (no "
			   "config file)\n");
	for (i = 0; i < N_DEFS; i++) {
		const struct opt_def *d = &defs[i];
		const char *field = (const char *)o + d->off;
		uint32_t v;

		if (!(d->where & OPT_CONFIG))
			continue;
		switch (d->type) {
		case OT_PATH:
			if (*field || d->off == OFF(pin_root))
				fprintf(f, "%s = %s\n", d->name,
					*field ? field : SLOTLB_PIN_ROOT);
			else
				fprintf(f, "# %s not set\n", d->name);
			break;
		case OT_LISTEN:
			if (*field)
				fprintf(f, "%s = %s\n", d->name, field);
			else
				fprintf(f, "# %s not set\n", d->name);
			break;
		case OT_U32:
			v = *(const uint32_t *)(const void *)field;
			/* only --flow-capacity may stay 0 (unset) */
			if (v)
				fprintf(f, "%s = %u\n", d->name, v);
			else
				fprintf(f,
					"# %s not set: the pinned maps' size, "
					"else %u\n",
					d->name, SLOTLB_DEFAULT_FLOW_CAPACITY);
			break;
		case OT_FLAG:
			fprintf(f, "%s = %s\n", d->name,
				*(const bool *)field ? "true" : "false");
			break;
		case OT_HELP:
			break;
		}
	}
}

int socket_path_check(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	return S_ISSOCK(st.st_mode) ? 0 : -EEXIST;
}
