/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb slot setting set|list|delete: NAME=VALUE settings of an app's
 * environment. A sticky setting stays with the slot (production's
 * database URL stays in production); a swapped one belongs to the
 * deployment in the slot and moves with it. Values are shown only with
 * --show-values; a change prints the names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "validate.h"

static const char *const setting_headers[] = {"NAME", "STICKY", "EFFECTIVE",
					      NULL};
static const char *const value_headers[] = {"NAME", "STICKY", "EFFECTIVE",
					    "VALUE", NULL};

static bool with_values;

static void print_setting(json_t *s)
{
	open_object(NULL);
	print_str(PR_ANY, "name", jstr(s, "name"));
	print_bool(PR_ANY, "sticky",
		   json_is_true(json_object_get(s, "sticky")));
	print_bool(PR_ANY, "effective",
		   json_is_true(json_object_get(s, "effective")));
	if (with_values)
		print_str(PR_ANY, "value", jstr(s, "value"));
	close_object();
	row_end();
}

static int print_settings(json_t *body)
{
	return out_list(with_values ? value_headers : setting_headers, body,
			"settings", print_setting);
}

/* APP --slot S: the settings path (with tail), checked. */
static int settings_path(const char *app, const struct opt *slot,
			 const char *tail, char **path)
{
	*path = NULL;
	if (check_name("app", app))
		return EXIT_USAGE;
	if (!slot->value)
		return usage_err("slot: --slot NAME is needed");
	if (check_name("slot", slot->value))
		return EXIT_USAGE;
	*path = app_path(app, slot->value, tail);
	return *path ? 0 : usage_err("slot: out of memory");
}

int do_setting_set(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{.name = "sticky"},
		{NULL},
	};
	const char *pos[1 + SETTINGS_MAX], *value, *why;
	json_t *settings = json_object(), *body = NULL;
	struct api_reply r = {0};
	char *path = NULL, name[SETTING_NAME_LEN];
	size_t np, i, len;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1 + SETTINGS_MAX, 1, &np);
	if (!rc)
		rc = settings_path(pos[0], &opts[0], "/settings", &path);
	if (!rc && np < 2)
		rc = usage_err("slot: at least one NAME=VALUE is needed");
	for (i = 1; !rc && i < np; i++) {
		if (validate_setting_pair(pos[i], &len, &value, &why)) {
			rc = usage_err(
				"%.*s: %s",
				(int)(strchr(pos[i], '=')
					      ? strchr(pos[i], '=') - pos[i]
					      : (long)strlen(pos[i])),
				pos[i], why);
			break;
		}
		snprintf(name, sizeof(name), "%.*s", (int)len, pos[i]);
		if (json_object_get(settings, name))
			rc = usage_err("%s: setting given twice", name);
		else
			json_object_set_new(settings, name, json_string(value));
	}
	if (rc)
		goto out;
	body = json_pack("{s:O, s:b}", "settings", settings, "sticky",
			 opts[1].given);
	rc = api_call("POST", path, body, &r);
	if (!rc) {
		with_values = false;
		rc = print_settings(r.body);
	}
out:
	json_decref(settings);
	json_decref(body);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

int do_setting_list(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{.name = "show-values"},
		{NULL},
	};
	struct api_reply r = {0};
	const char *pos[1];
	char *path = NULL;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = settings_path(pos[0], &opts[0],
				   opts[1].given ? "/settings?show_values=1"
						 : "/settings",
				   &path);
	if (!rc)
		rc = api_call("GET", path, NULL, &r);
	if (!rc) {
		with_values = opts[1].given;
		rc = print_settings(r.body);
	}
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

int do_setting_delete(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{NULL},
	};
	struct api_reply r = {0};
	const char *pos[2], *why;
	char *path = NULL, *tail = NULL, *esc = NULL;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 2, 2, &np);
	if (!rc && validate_setting_name(pos[1], &why))
		rc = usage_err("%s: %s", pos[1], why);
	if (!rc) {
		esc = api_escape(pos[1]);
		if (!esc || asprintf(&tail, "/settings/%s", esc) < 0) {
			tail = NULL;
			rc = usage_err("slot: out of memory");
		}
	}
	if (!rc)
		rc = settings_path(pos[0], &opts[0], tail, &path);
	if (!rc)
		rc = api_call("DELETE", path, NULL, &r);
	json_decref(r.body);
	free(esc);
	free(tail);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}
