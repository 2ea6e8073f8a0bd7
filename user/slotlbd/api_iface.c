/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * /v1/interfaces: attach the XDP program to an interface, persisted so
 * the daemon re-applies it at start, and detach it again. The listing
 * asks the kernel what is attached, not only what the database wants.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"

static json_t *iface_json(const struct iface_view *v)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:I, s:b}", "ifname",
			 v->want.ifname, "role", v->want.role, "mode",
			 v->generic ? "generic" : "native", "attached",
			 v->attached, "prog_id", (json_int_t)v->prog_id,
			 "exists", v->exists);
}

void api_ifaces_list(struct call *c)
{
	struct iface_view *list = NULL;
	struct reply *r = c->r;
	size_t n = 0, i;
	json_t *arr;
	int err;

	err = ops_iface_list(c->d, &list, &n);
	if (err) {
		reply_error(r, 500, "interfaces: database: %s", strerror(-err));
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, iface_json(&list[i]));
	free(list);
	r->status = 200;
	r->json = json_pack("{s:o}", "interfaces", arr);
}

void api_iface_attach(struct call *c)
{
	struct daemon *d = c->d;
	struct reply *r = c->r;
	static const char *const fields[] = {"ifname", "role", "mode", "force",
					     NULL};
	struct op_result res = {0};
	struct st_iface iface = {0};
	struct iface_view view;
	const char *ifname, *role, *mode;
	char trigger[160];
	json_t *body, *force;

	body = parse_body(c->req, "interface", fields, r);
	if (!body)
		return;
	if (!get_string(body, "ifname", "interface", &ifname, r) ||
	    !get_string(body, "role", "interface", &role, r) ||
	    !get_string(body, "mode", "interface", &mode, r))
		goto out;
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		reply_error(r, 400,
			    "interface: ifname must be 1..%d characters",
			    IF_NAMESIZE - 1);
		goto out;
	}
	if (!role || (strcmp(role, "public") && strcmp(role, "backend"))) {
		reply_error(r, 400,
			    "%s: role must be \"public\" or \"backend\"",
			    ifname);
		goto out;
	}
	if (mode && strcmp(mode, "native") && strcmp(mode, "generic")) {
		reply_error(r, 400,
			    "%s: mode must be \"native\" or \"generic\"",
			    ifname);
		goto out;
	}
	force = json_object_get(body, "force");
	if (force && !json_is_boolean(force)) {
		reply_error(r, 400, "%s: force must be true or false", ifname);
		goto out;
	}
	snprintf(iface.ifname, sizeof(iface.ifname), "%s", ifname);
	snprintf(iface.role, sizeof(iface.role), "%s", role);
	iface.generic = mode && !strcmp(mode, "generic");
	iface.force = force && json_is_true(force);
	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_iface_attach(d, &iface, trigger, &res);
	reply_op(r, &res);
	if (res.status == 201) {
		ops_iface_view(&iface, &view);
		r->json = iface_json(&view);
	}
out:
	json_decref(body);
}

void api_iface_detach(struct call *c)
{
	struct op_result res = {0};
	char trigger[160];

	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_iface_detach(c->d, call_param(c, "ifname"), trigger, &res);
	reply_op(c->r, &res);
}
