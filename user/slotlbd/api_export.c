/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * GET /v1/apps/APP/export[?show_values=1]: the app in the declarative
 * form `slotlb apply` takes (ops_export.c).
 */
#include <string.h>
#include "api.h"

void api_export(struct call *c)
{
	const char *v = call_query(c, "show_values");
	struct op_result res = {0};
	json_t *o;

	o = ops_export(c->d, call_param(c, "app"),
		       v && strcmp(v, "0") && strcmp(v, "false"), &res);
	reply_op(c->r, &res);
	if (o)
		c->r->json = o;
}
