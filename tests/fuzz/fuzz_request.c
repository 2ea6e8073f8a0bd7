/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fuzz target: request bodies (user/slotlbd/api_request.c) as the
 * handlers parse them: the body as a JSON object of allowed fields, its
 * endpoints, its backends (each through validate_backend()), its warm-up
 * policy. A body either parses or gets a 4xx reply with an error.
 */
#include "api.h"
#include "fuzz.h"

/* api.c's, not linked here: no connection ever exists in this target. */
void api_caller(struct MHD_Connection *conn, char *buf, size_t len)
{
	(void)conn;
	snprintf(buf, len, "fuzz");
}

static void refused(struct reply *r)
{
	FUZZ_ASSERT(r->status >= 400 && r->status < 500);
	FUZZ_ASSERT(json_is_string(json_object_get(r->json, "error")));
	json_decref(r->json);
	r->json = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const allowed[] = {
		"name", "endpoints",   "backends", "version",
		"slot", "target_slot", "warmup",   NULL};
	struct request req = {.body = (char *)data, .len = size};
	struct slotlb_endpoint_key *keys = NULL;
	struct reply r = {.status = 500};
	struct warmup_override o = {0};
	struct warmup_policy p;
	struct slotlb_backend be;
	const char *str, *why;
	json_t *body, *list, *e;
	uint32_t weight;
	size_t n, i;

	if (size > MAX_BODY)
		req.too_big = true;
	body = parse_body(&req, "fuzz", allowed, &r);
	if (!body) {
		refused(&r);
		return 0;
	}
	if (parse_endpoints(body, "fuzz", &keys, &n, &r))
		refused(&r);
	free(keys);
	list = string_list(body, "backends", "fuzz", true, &r);
	if (!list) {
		refused(&r);
	} else {
		json_array_foreach(list, i, e) validate_backend(
			json_string_value(e), &be, &weight, &why);
	}
	if (!get_string(body, "version", "fuzz", &str, &r))
		refused(&r);
	else if (str)
		validate_version(str, &why);
	/* the fields given, laid over the defaults: what a swap would use
	 * when the slot has no stored policy */
	if (parse_warmup(body, &o, &r)) {
		refused(&r);
	} else {
		warmup_policy_default(&p);
		warmup_policy_apply(&p, &o);
		FUZZ_ASSERT(!validate_warmup_policy(&p, &why));
	}
	json_decref(body);
	return 0;
}
