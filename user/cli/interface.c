/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb interface: attach the XDP program to the public (client-facing)
 * and backend-facing interfaces, detach it, list attachments.
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const iface_headers[] = {"IFNAME",	"ROLE",	   "MODE",
					    "ATTACHED", "PROG_ID", NULL};

static void print_interface(json_t *i)
{
	open_object(NULL);
	print_str(PR_ANY, "ifname", jstr(i, "ifname"));
	print_str(PR_ANY, "role", jstr(i, "role"));
	print_str(PR_ANY, "mode", jstr(i, "mode"));
	print_bool(PR_ANY, "attached",
		   json_is_true(json_object_get(i, "attached")));
	print_json(PR_ANY, "prog_id", json_object_get(i, "prog_id"));
	close_object();
	row_end();
}

static int check_ifname(const char *name)
{
	size_t len = strlen(name);

	/* The kernel's own rules: shorter than IFNAMSIZ, no '/' or space. */
	if (len == 0 || len >= IF_NAMESIZE || strpbrk(name, "/ \t\n:"))
		return usage_err("interface: bad interface name '%s'", name);
	return 0;
}

static bool one_of(const char *v, const char *a, const char *b)
{
	return !strcmp(v, a) || !strcmp(v, b);
}

static int do_attach(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "role", .has_arg = true},
		{.name = "mode", .has_arg = true},
		{.name = "force"},
		{NULL},
	};
	struct api_reply r;
	const char *pos[1];
	json_t *body;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (rc)
		return ARGS_RC(rc);
	if (check_ifname(pos[0]))
		return EXIT_USAGE;
	if (!opts[0].value)
		return usage_err("interface: --role public|backend is needed");
	if (!one_of(opts[0].value, "public", "backend"))
		return usage_err("interface: --role is public or backend, not "
				 "'%s'",
				 opts[0].value);
	if (opts[1].value && !one_of(opts[1].value, "native", "generic"))
		return usage_err("interface: --mode is native or generic, not "
				 "'%s'",
				 opts[1].value);
	body = json_pack("{s:s,s:s}", "ifname", pos[0], "role", opts[0].value);
	if (opts[1].value)
		json_object_set_new(body, "mode", json_string(opts[1].value));
	if (opts[2].given)
		json_object_set_new(body, "force", json_true());
	rc = api_call("POST", "/v1/interfaces", body, &r);
	json_decref(body);
	if (rc)
		return rc;
	out_begin();
	table_begin(iface_headers);
	print_interface(r.body);
	json_decref(r.body);
	return out_end();
}

static int do_detach(int argc, char **argv)
{
	struct api_reply r;
	const char *pos[1];
	char path[128], *esc;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, NULL, pos, 1, 1, &np);
	if (rc)
		return ARGS_RC(rc);
	if (check_ifname(pos[0]))
		return EXIT_USAGE;
	esc = api_escape(pos[0]);
	snprintf(path, sizeof(path), "/v1/interfaces/%s", esc ? esc : "");
	free(esc);
	rc = api_call("DELETE", path, NULL, &r);
	json_decref(r.body);
	return rc;
}

static int do_list(int argc, char **argv)
{
	struct api_reply r;
	const char *pos[1];
	size_t np;
	int rc;

	rc = parse_args(argc, argv, NULL, pos, 0, 0, &np);
	if (rc)
		return ARGS_RC(rc);
	rc = api_call("GET", "/v1/interfaces", NULL, &r);
	if (rc)
		return rc;
	return out_list(iface_headers, r.body, "interfaces", print_interface);
}

const struct cmd interface_cmds[] = {
	{"attach", do_attach,
	 "IFNAME --role public|backend [--mode native|generic] [--force]",
	 "Attach the XDP program to IFNAME. The public role faces clients,\n"
	 "the backend role faces backends; a NAT load balancer needs both.\n"
	 "\n"
	 "  --role public|backend   which side IFNAME faces (required)\n"
	 "  --mode native|generic   XDP mode (default native)\n"
	 "  --force                 replace a foreign XDP program\n"},
	{"detach", do_detach, "IFNAME",
	 "Detach the XDP program from IFNAME. Pinned flows stay in their\n"
	 "maps and resume when it is attached again.\n"},
	{"list", do_list, "",
	 "List interfaces with their role, XDP mode and program id.\n"},
	{NULL, NULL, NULL, NULL},
};
