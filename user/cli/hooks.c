/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb hook add|list|delete: an app's event hooks, where slotlbd sends
 * its events (every history entry, named by its action) as they happen,
 * asynchronously. Not the apply-settings hook of a slot (slotlb slot
 * hook set), which slotlbd runs on the backends as part of an operation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "validate.h"

/* The first line of path, checked as a secret. */
static int read_secret(const char *path, char *buf, size_t len)
{
	const char *why = NULL;
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return usage_err("%s: %s", path, strerror(errno));
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = 0;
	if (validate_hook_secret(buf, n, &why))
		return usage_err("%s: %s", path, why);
	return 0;
}

static void print_hook(json_t *h)
{
	printf("%-4lld %-32s %-40s %s delivered %lld failed %lld%s%s\n",
	       (long long)jint(h, "id"), jstr(h, "events"),
	       jstr(h, "url") ? jstr(h, "url") : jstr(h, "exec"),
	       json_is_true(json_object_get(h, "signed")) ? "signed"
							  : "unsigned",
	       (long long)jint(h, "delivered"), (long long)jint(h, "failed"),
	       jstr(h, "last_error") && *jstr(h, "last_error") ? ", last: "
							       : "",
	       jstr(h, "last_error") ? jstr(h, "last_error") : "");
}

static int do_hook_add(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "event", .has_arg = true},
		{.name = "url", .has_arg = true},
		{.name = "exec", .has_arg = true},
		{.name = "secret-file", .has_arg = true},
		{NULL},
	};
	char secret[HOOK_SECRET_MAX + 2], *path = NULL;
	struct api_reply r = {0};
	const char *pos[1], *why = NULL;
	json_t *body = NULL;
	uint32_t mask;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc && check_name("app", pos[0]))
		rc = EXIT_USAGE;
	if (!rc && !opts[0].value)
		rc = usage_err("hook: --event LIST is needed");
	if (!rc && validate_event_list(opts[0].value, &mask, &why))
		rc = usage_err("hook: --event: %s", why);
	if (!rc && !opts[1].value == !opts[2].value)
		rc = usage_err("hook: give either --url URL or --exec PATH");
	if (!rc && opts[1].value && validate_hook_url(opts[1].value, &why))
		rc = usage_err("%s: %s", opts[1].value, why);
	if (!rc && opts[2].value && validate_hook_exec(opts[2].value, &why))
		rc = usage_err("%s: %s", opts[2].value, why);
	if (!rc && opts[3].value && opts[2].value)
		rc = usage_err("hook: --secret-file signs a --url hook only");
	if (!rc && opts[3].value)
		rc = read_secret(opts[3].value, secret, sizeof(secret));
	if (!rc) {
		path = app_path(pos[0], NULL, "/hooks");
		if (!path)
			rc = usage_err("hook: out of memory");
	}
	if (rc)
		goto out;
	body = json_pack("{s:s}", "events", opts[0].value);
	if (opts[1].value)
		json_object_set_new(body, "url", json_string(opts[1].value));
	if (opts[2].value)
		json_object_set_new(body, "exec", json_string(opts[2].value));
	if (opts[3].value)
		json_object_set_new(body, "secret", json_string(secret));
	rc = api_call("POST", path, body, &r);
	if (!rc) {
		if (json_output) {
			json_dumpf(r.body, stdout,
				   JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
		} else {
			print_hook(r.body);
		}
		json_decref(r.body);
	}
out:
	memset(secret, 0, sizeof(secret));
	json_decref(body);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

static int do_hook_list(int argc, char **argv)
{
	struct opt opts[] = {{NULL}};
	struct api_reply r = {0};
	const char *pos[1];
	char *path = NULL;
	json_t *h;
	size_t np, i;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc && check_name("app", pos[0]))
		rc = EXIT_USAGE;
	if (!rc) {
		path = app_path(pos[0], NULL, "/hooks");
		rc = path ? api_call("GET", path, NULL, &r)
			  : usage_err("hook: out of memory");
	}
	if (!rc) {
		if (json_output) {
			json_dumpf(r.body, stdout,
				   JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
		} else {
			json_array_foreach(json_object_get(r.body, "hooks"), i,
					   h) print_hook(h);
		}
		json_decref(r.body);
	}
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

static int do_hook_delete(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "id", .has_arg = true},
		{NULL},
	};
	struct api_reply r = {0};
	const char *pos[1];
	char *path = NULL, tail[48], *end;
	long long id = 0;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc && check_name("app", pos[0]))
		rc = EXIT_USAGE;
	if (!rc && opts[0].value)
		id = strtoll(opts[0].value, &end, 10);
	if (!rc && (!opts[0].value || !*opts[0].value || *end || id <= 0))
		rc = usage_err("hook: --id N (a positive number) is needed");
	if (!rc) {
		snprintf(tail, sizeof(tail), "/hooks/%lld", id);
		path = app_path(pos[0], NULL, tail);
		rc = path ? api_call("DELETE", path, NULL, &r)
			  : usage_err("hook: out of memory");
	}
	if (!rc)
		json_decref(r.body);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

const struct cmd hook_cmds[] = {
	{"add", do_hook_add,
	 "APP --event LIST (--url URL [--secret-file FILE] | --exec PATH)",
	 "Send APP's events to a URL or an executable as they happen. Every\n"
	 "history entry is an event named by its action: deploy, swap,\n"
	 "rollback, auto-rollback, health, drained, preview, reset, auto-swap,\n"
	 "settings, config, backend, drain-timeout, retire, hook, create,\n"
	 "delete. Delivery is\n"
	 "asynchronous (an operation never waits for it), tried at once and\n"
	 "again after 1, 2, 4 and 8 s; failures are counted (hook list).\n"
	 "\n"
	 "  --event LIST            events to send, comma separated\n"
	 "  --url URL               POST the event as JSON (http or https);\n"
	 "                          2xx within 5 s is delivered\n"
	 "  --secret-file FILE      sign it: X-Slotlb-Signature: sha256=HEX,\n"
	 "                          the HMAC-SHA256 of the body under the\n"
	 "                          file's first line (16..1024 characters)\n"
	 "  --exec PATH             run PATH with the event on stdin and\n"
	 "                          SLOTLB_APP, SLOTLB_SLOT, SLOTLB_REASON (the\n"
	 "                          event) set; exit 0 within 10 s is delivered\n"
	 "\n"
	 "Not the slot's apply-settings hook (slot hook set), which runs on\n"
	 "the backends during an operation.\n"},
	{"list", do_hook_list, "APP",
	 "List APP's event hooks with their delivery counts (never secrets).\n"},
	{"delete", do_hook_delete, "APP --id N",
	 "Delete event hook N of APP.\n"
	 "\n"
	 "  --id N                  the hook's id (hook list)\n"},
	{NULL, NULL, NULL, NULL},
};
