/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb: the command-line client of slotlbd.
 *
 *   slotlb [--socket PATH] [-o table|json] OBJECT COMMAND [ARGS]
 *
 * Objects and commands are looked up by exact name in tables (as in
 * iproute2 and bpftool): an abbreviation that matches today could match
 * a different command tomorrow, and a deployment tool must not guess.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "validate.h"

#ifndef SLOTLB_VERSION
#define SLOTLB_VERSION "0"
#endif

const char *socket_path = DEFAULT_SOCKET;
bool json_output;
const char *cur_object = "slotlb";
static const struct cmd *cur_cmd;
struct opt_probe opt_probe;

const struct object objects[] = {
	{"interface", interface_cmds, NULL,
	 "XDP attachment of the public and backend interfaces"},
	{"app", app_cmds, NULL, "apps and their endpoints"},
	{"slot", slot_cmds, NULL,
	 "slots of an app: settings, configuration, swap and rollback"},
	{"backend", backend_cmds, NULL,
	 "one backend of a slot: drain, undrain, weight"},
	{"deploy", NULL, &deploy_cmd, "deploy backends into a slot"},
	{"hook", hook_cmds, NULL, "event hooks of an app: add, list, delete"},
	{"swap", NULL, &swap_cmd, "the same as slot swap"},
	{"status", NULL, &status_cmd, "what every slot serves now"},
	{"history", NULL, &history_cmd, "deploys, swaps and rollbacks"},
	{"export", NULL, &export_cmd, "an app in the form apply takes"},
	{"apply", NULL, &apply_cmd, "make apps what a file describes"},
	{"flows", NULL, &flows_cmd, "pinned flows; where a client would go"},
	{"backend-agent", agent_cmds, NULL,
	 "on a backend of a dsr app: decapsulation and host setup"},
	{NULL, NULL, NULL, NULL},
};

void print_cmd_help(const char *object, const struct cmd *c)
{
	printf("Usage: slotlb %s%s%s%s%s\n\n%s", object, c->name ? " " : "",
	       c->name ? c->name : "", *c->usage ? " " : "", c->usage, c->help);
}

static void print_usage_line(FILE *f, const char *object, const struct cmd *c)
{
	fprintf(f, "  slotlb %s%s%s%s%s\n", object, c->name ? " " : "",
		c->name ? c->name : "", *c->usage ? " " : "", c->usage);
}

static void print_object_help(FILE *f, const struct object *o)
{
	const struct cmd *c;

	fprintf(f,
		"Usage: slotlb [OPTIONS] %s COMMAND [ARGS]\n\n%s.\n\n"
		"Commands:\n",
		o->name, o->help);
	for (c = o->cmds; c->name; c++)
		print_usage_line(f, o->name, c);
	fprintf(f, "\nslotlb %s COMMAND --help describes one command.\n",
		o->name);
}

static void print_main_help(FILE *f)
{
	const struct object *o;
	const struct cmd *c;

	fprintf(f,
		"Usage: slotlb [--socket PATH] [-o table|json] OBJECT COMMAND "
		"[ARGS]\n"
		"       slotlb --version\n"
		"       slotlb --completion bash\n\n"
		"Commands:\n");
	for (o = objects; o->name; o++) {
		if (!o->cmds) {
			print_usage_line(f, o->name, o->self);
			continue;
		}
		for (c = o->cmds; c->name; c++)
			print_usage_line(f, o->name, c);
	}
	fprintf(f, "\nOptions:\n"
		   "  --socket PATH      slotlbd's socket (env SLOTLB_SOCKET; "
		   "default " DEFAULT_SOCKET ")\n"
		   "  -o table|json      output format (default table)\n"
		   "  -h, --help         this help; after OBJECT or COMMAND, "
		   "theirs\n"
		   "  --version          print the version\n"
		   "  --completion bash  print the bash completion script\n\n"
		   "Exit status: 0 done, 1 slotlbd refused or failed, 2 bad "
		   "usage.\n");
}

static bool is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "help");
}

int parse_args(int argc, char **argv, struct opt *opts, const char **pos,
	       size_t max_pos, size_t min_pos, size_t *n_pos)
{
	size_t np = 0;
	int i;

	if (opt_probe.on) {
		opt_probe.called = true;
		for (; opts && opts->name && opt_probe.n < OPT_PROBE_MAX;
		     opts++) {
			opt_probe.names[opt_probe.n] = opts->name;
			opt_probe.has_arg[opt_probe.n++] = opts->has_arg;
		}
		return -1;
	}
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		struct opt *o;
		size_t len;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			print_cmd_help(cur_object, cur_cmd);
			return -1;
		}
		if (strncmp(a, "--", 2) || !a[2]) {
			if (np == max_pos)
				return usage_err("%s: unexpected argument '%s'",
						 cur_object, a);
			pos[np++] = a;
			continue;
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		for (o = opts; o && o->name; o++) {
			if (strlen(o->name) == len &&
			    !strncmp(a + 2, o->name, len))
				break;
		}
		if (!o || !o->name)
			return usage_err("%s: unknown option '%.*s'",
					 cur_object, (int)len + 2, a);
		if (o->has_arg) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return usage_err("%s: --%s needs a value",
						 cur_object, o->name);
		} else if (eq) {
			return usage_err("%s: --%s takes no value", cur_object,
					 o->name);
		}
		if (o->given && !o->repeat)
			return usage_err("%s: --%s given twice", cur_object,
					 o->name);
		o->given = true;
		o->value = val;
		if (o->repeat) {
			const char **v = realloc(o->values, (o->n_values + 1) *
								    sizeof(*v));

			if (!v)
				return usage_err("%s: out of memory",
						 cur_object);
			v[o->n_values++] = val;
			o->values = v;
		}
	}
	if (np < min_pos)
		return usage_err("%s: missing argument; see --help",
				 cur_object);
	*n_pos = np;
	return 0;
}

void free_opts(struct opt *opts)
{
	for (; opts && opts->name; opts++) {
		free(opts->values);
		opts->values = NULL;
	}
}

/* The daemon's own rules (user/lib/validate.c), refused before sending
 * with the sentence the API would answer. */
int check_name(const char *what, const char *name)
{
	const char *why;

	if (validate_name(name, &why))
		return usage_err("%s: %s", validate_name_object(name, what),
				 why);
	return 0;
}

int check_version(const char *label)
{
	const char *why;

	if (validate_version(label, &why))
		return usage_err("%s: %s", label, why);
	return 0;
}

int check_endpoint(const char *s)
{
	const char *why;

	if (validate_endpoint(s, NULL, &why))
		return usage_err("%s: bad endpoint '%s': %s", cur_object, s,
				 why);
	return 0;
}

int check_backend(const char *s)
{
	const char *why;

	if (validate_backend(s, NULL, NULL, &why))
		return usage_err("%s: bad backend '%s': %s", cur_object, s,
				 why);
	return 0;
}

/* The command argv names: one word ("swap"), or two for a command of a
 * sub-object ("setting set"); *words says how many it took. */
static const struct cmd *find_cmd(const struct cmd *cmds, int argc, char **argv,
				  int *words)
{
	const char *sp;

	for (; cmds->name; cmds++) {
		sp = strchr(cmds->name, ' ');
		if (!sp && !strcmp(cmds->name, argv[0])) {
			*words = 1;
			return cmds;
		}
		if (sp && argc > 1 &&
		    strlen(argv[0]) == (size_t)(sp - cmds->name) &&
		    !strncmp(cmds->name, argv[0], (size_t)(sp - cmds->name)) &&
		    !strcmp(sp + 1, argv[1])) {
			*words = 2;
			return cmds;
		}
	}
	return NULL;
}

/* Is word the first word of a two-word command ("setting")? */
static bool is_group(const struct cmd *cmds, const char *word)
{
	size_t len = strlen(word);

	for (; cmds->name; cmds++)
		if (!strncmp(cmds->name, word, len) && cmds->name[len] == ' ')
			return true;
	return false;
}

static int dispatch(int argc, char **argv)
{
	const struct object *o;
	const struct cmd *c;
	int words = 1;

	for (o = objects; o->name; o++) {
		if (!strcmp(o->name, argv[0]))
			break;
	}
	if (!o->name) {
		cur_object = "slotlb";
		return usage_err("slotlb: unknown object '%s'; see "
				 "slotlb --help",
				 argv[0]);
	}
	cur_object = o->name;
	if (!o->cmds) {
		cur_cmd = o->self;
		return o->self->func(argc - 1, argv + 1);
	}
	if (argc < 2 || is_help(argv[1])) {
		/* Asked for, help is data; forced, it explains an error. */
		print_object_help(argc < 2 ? stderr : stdout, o);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	c = find_cmd(o->cmds, argc - 1, argv + 1, &words);
	if (!c && is_group(o->cmds, argv[1]) && argc > 2)
		return usage_err("%s %s: unknown command '%s'; see slotlb %s "
				 "--help",
				 o->name, argv[1], argv[2], o->name);
	if (!c && is_group(o->cmds, argv[1]))
		return usage_err("%s %s: a command is missing; see slotlb %s "
				 "--help",
				 o->name, argv[1], o->name);
	if (!c)
		return usage_err("%s: unknown command '%s'; see slotlb %s "
				 "--help",
				 o->name, argv[1], o->name);
	cur_cmd = c;
	return c->func(argc - 1 - words, argv + 1 + words);
}

int main(int argc, char **argv)
{
	const char *env = getenv("SLOTLB_SOCKET");
	int i, rc;

	if (env && *env)
		socket_path = env;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (is_help(a)) {
			print_main_help(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf("slotlb %s (libcurl %s, jansson %s)\n",
			       SLOTLB_VERSION,
			       curl_version_info(CURLVERSION_NOW)->version,
			       jansson_version_str());
			return 0;
		} else if (!strcmp(a, "--completion") && i + 1 < argc) {
			return print_completion(argv[i + 1]);
		} else if (!strcmp(a, "--socket") && i + 1 < argc) {
			socket_path = argv[++i];
		} else if (!strncmp(a, "--socket=", 9)) {
			socket_path = a + 9;
		} else if (!strcmp(a, "-o") && i + 1 < argc) {
			a = argv[++i];
			if (!strcmp(a, "json")) {
				json_output = true;
			} else if (!strcmp(a, "table")) {
				json_output = false;
			} else {
				return usage_err("slotlb: -o takes table or "
						 "json, not '%s'",
						 a);
			}
		} else {
			return usage_err("slotlb: unknown option '%s'; see "
					 "slotlb --help",
					 a);
		}
	}
	if (i == argc) {
		print_main_help(stderr);
		return EXIT_USAGE;
	}
	/* Plain HTTP on a Unix socket: no TLS, so skip loading OpenSSL's
	 * configuration, which was a tenth of `slotlb status`'s time. */
	if (curl_global_init(CURL_GLOBAL_NOTHING)) {
		p_err("slotlb: cannot initialise libcurl");
		return EXIT_DAEMON;
	}
	rc = dispatch(argc - i, argv + i);
	fflush(stdout);
	curl_global_cleanup();
	return rc;
}
