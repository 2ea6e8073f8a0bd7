/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * POST /v1/apps/APP/slots/SLOT/deploy: backends and a version label,
 * checked with the rules the CLI shares (user/lib/validate.c), then one
 * ops_deploy(); the answer is the deployment as the slot now shows it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"

void api_deploy(struct call *c)
{
	static const char *const fields[] = {"backends", "version", NULL};
	const char *app = call_param(c, "app"), *slot = call_param(c, "slot");
	struct daemon *d = c->d;
	struct reply *r = c->r;
	struct slotlb_backend *bes = NULL;
	struct op_result res = {0};
	const char *version = NULL, *why;
	uint32_t *weights = NULL;
	char trigger[160];
	json_t *body, *list, *e, *obj;
	int64_t serial = 0;
	size_t i, j, n;
	int status;

	body = parse_body(c->req, "deploy", fields, r);
	if (!body)
		return;
	list = string_list(body, "backends", "deploy", true, r);
	if (!list || !get_string(body, "version", "deploy", &version, r))
		goto out;
	if (version && validate_version(version, &why)) {
		reply_error(r, 400, "%s: %s", version, why);
		goto out;
	}
	n = json_array_size(list);
	bes = calloc(n, sizeof(*bes));
	weights = calloc(n, sizeof(*weights));
	if (!bes || !weights) {
		reply_error(r, 500, "deploy: out of memory");
		goto out;
	}
	json_array_foreach(list, i, e)
	{
		if (validate_backend(json_string_value(e), &bes[i], &weights[i],
				     &why)) {
			reply_error(r, 400, "%s: %s", json_string_value(e),
				    why);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (!memcmp(&bes[j], &bes[i], sizeof(bes[i]))) {
				reply_error(r, 400, "%s: backend listed twice",
					    json_string_value(e));
				goto out;
			}
	}
	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_deploy(d, app, slot, bes, weights, n, version, trigger, &serial,
		   &res);
	reply_op(r, &res);
	if (res.status != 201)
		goto out;
	/* answer with the deployment as the slot now shows it */
	obj = api_app_object(d, app, &status);
	json_array_foreach(
		json_object_get(obj, "slots"), i,
		e) if (!strcmp(json_string_value(json_object_get(e, "name")),
			       slot)) r->json =
		json_incref(json_object_get(e, "deployment"));
	json_decref(obj);
out:
	free(bes);
	free(weights);
	json_decref(body);
}
