/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb slot swap / rollback: ask slotlbd for the warm-up-gated swap
 * with ?progress=1 and print every probe attempt as it arrives, so an
 * operator watching a 90 s warm-up sees which backend holds it up. The
 * exit status is 0 only when the daemon says the swap took effect.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "validate.h"

#define WARMUP_OPTS_HELP                                                       \
	"\n"                                                                   \
	"Warm-up: every backend of the incoming deployment is probed before\n" \
	"the swap; if any fails every attempt, both slots stay untouched.\n"   \
	"  --warmup-path PATH      HTTP path to GET (default /)\n"             \
	"  --warmup-status LIST    accepted statuses, e.g. 200,202 (default\n" \
	"                          any status)\n"                              \
	"  --warmup-timeout S      seconds per attempt (default 90)\n"         \
	"  --warmup-retries N      attempts after the first (default 5)\n"     \
	"  --warmup-mode http|tcp  GET PATH, or only a TCP connect (default\n" \
	"                          http)\n"                                    \
	"\n"                                                                   \
	"One line is printed per probe attempt, then the outcome. Exit 0\n"    \
	"only when the swap took effect.\n"

/* Kept by hand: clang-format would glue the macro onto a full line. */
/* clang-format off */
const char swap_help[] =
	"Swap the deployments of slot SOURCE and TARGET (default production)\n"
	"of APP after warming up SOURCE's deployment. Endpoints stay with\n"
	"their slots; flows already pinned stay on their backends.\n"
	"\n"
	"  --slot SOURCE           slot whose deployment goes live\n"
	"  --target-slot TARGET    slot it goes into (default production)\n"
	WARMUP_OPTS_HELP;

const char rollback_help[] =
	"Put the previous deployment back into SLOT (default production) of\n"
	"APP, after it passes warm-up again.\n"
	"\n"
	"  --slot SLOT             slot to roll back (default production)\n"
	WARMUP_OPTS_HELP;
/* clang-format on */

/* --target-slot last: rollback ends the list before it. */
enum { O_SLOT, O_PATH, O_STATUS, O_TIMEOUT, O_RETRIES, O_MODE, O_TARGET };

struct swap_ctx {
	const char *action; /* "swap" or "rollback" */
	bool done;
	long status; /* of the done event */
	json_t *history;
	char error[512];
	char last_failure[256]; /* "backend: why" of the last failed probe */
};

/* A whole number for --OPT, or EXIT_USAGE; its bounds are the rule's. */
static int parse_count(const char *opt, const char *s, unsigned long *v)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-' || (*v = strtoul(s, &end, 10), *end) || errno)
		return usage_err("%s: --%s must be a whole number", cur_object,
				 opt);
	return 0;
}

/* Builds the "warmup" body member from the options that were given,
 * checked with the daemon's own rules (user/lib/validate.c). */
static int warmup_json(struct opt *o, json_t **out)
{
	struct warmup_policy p;
	const char *why = NULL;
	unsigned long v;
	json_t *w = json_object();
	int rc = 0;

	warmup_policy_default(&p);
	*out = NULL;
	if (o[O_PATH].value) {
		if (validate_warmup_path(o[O_PATH].value, &why)) {
			rc = usage_err("%s: warm-up %s", cur_object, why);
			goto out;
		}
		json_object_set_new(w, "path", json_string(o[O_PATH].value));
	}
	if (o[O_STATUS].value) {
		json_t *a = json_array();
		size_t i;

		if (validate_warmup_statuses(o[O_STATUS].value, &p, &why)) {
			rc = usage_err("%s: --warmup-status: %s", cur_object,
				       why);
			json_decref(a);
			goto out;
		}
		for (i = 0; i < p.n_statuses; i++)
			json_array_append_new(a, json_integer(p.statuses[i]));
		json_object_set_new(w, "statuses", a);
	}
	if (o[O_TIMEOUT].value) {
		rc = parse_count("warmup-timeout", o[O_TIMEOUT].value, &v);
		if (!rc && validate_warmup_timeout_s((double)v, &why))
			rc = usage_err("%s: --warmup-timeout: %s", cur_object,
				       why);
		if (rc)
			goto out;
		json_object_set_new(w, "timeout_s", json_integer((long)v));
	}
	if (o[O_RETRIES].value) {
		rc = parse_count("warmup-retries", o[O_RETRIES].value, &v);
		if (!rc && validate_warmup_retries((double)v, &why))
			rc = usage_err("%s: --warmup-retries: %s", cur_object,
				       why);
		if (rc)
			goto out;
		json_object_set_new(w, "retries", json_integer((long)v));
	}
	if (o[O_MODE].value) {
		if (validate_warmup_mode(o[O_MODE].value, &p.mode, &why)) {
			rc = usage_err("%s: --warmup-mode: %s", cur_object,
				       why);
			goto out;
		}
		json_object_set_new(w, "mode", json_string(o[O_MODE].value));
	}
	if (json_object_size(w))
		*out = json_incref(w);
out:
	json_decref(w);
	return rc;
}

static void print_probe(json_t *ev, struct swap_ctx *c)
{
	const char *be = jstr(ev, "backend"), *err = jstr(ev, "error");
	bool ok = json_is_true(json_object_get(ev, "ok"));
	json_int_t status = jint(ev, "status");

	if (!ok)
		snprintf(c->last_failure, sizeof(c->last_failure), "%s: %s",
			 be ? be : "?", err ? err : "failed");
	if (json_output)
		return;
	printf("warm-up %s attempt %lld: %s", be ? be : "?",
	       (long long)jint(ev, "attempt"), ok ? "ok" : "failed");
	if (status)
		printf(", status %lld", (long long)status);
	if (json_object_get(ev, "ms"))
		printf(", %lld ms", (long long)jint(ev, "ms"));
	if (!ok && err)
		printf(": %s", err);
	putchar('\n');
}

static int on_event(json_t *ev, void *ctx)
{
	struct swap_ctx *c = ctx;
	const char *type = jstr(ev, "event");

	/* JSON mode passes the daemon's events through, one per line. */
	if (json_output) {
		json_dumpf(ev, stdout, JSON_COMPACT);
		putchar('\n');
	}
	if (type && !strcmp(type, "probe")) {
		print_probe(ev, c);
	} else if (type && !strcmp(type, "done")) {
		c->done = true;
		c->status = (long)jint(ev, "status");
		c->history = json_incref(json_object_get(ev, "history"));
		snprintf(c->error, sizeof(c->error), "%s",
			 jstr(ev, "error") ? jstr(ev, "error") : "");
	}
	fflush(stdout);
	return 0;
}

static void print_outcome(struct swap_ctx *c)
{
	json_t *h = c->history, *d = json_object_get(h, "deployments"), *v;
	const char *slot, *reset;
	char deps[256] = "";

	if (json_output)
		return;
	json_object_foreach(d, slot, v)
	{
		snprintf(deps + strlen(deps), sizeof(deps) - strlen(deps),
			 " %s=%lld", slot, (long long)json_integer_value(v));
	}
	printf("%s: %s%s%s done; deployments:%s\n", c->action,
	       jstr(h, "slot") ? jstr(h, "slot") : "",
	       jstr(h, "target_slot") ? " -> " : "",
	       jstr(h, "target_slot") ? jstr(h, "target_slot") : "",
	       deps[0] ? deps : " -");
	/* a swap ends the traffic shares of the slots it swaps */
	reset = jstr(h, "detail") ? strstr(jstr(h, "detail"), "; traffic share")
				  : NULL;
	if (reset)
		printf("note: %s\n", reset + 2);
}

/* Names the backend that failed when the daemon's words do not. */
static int report_failure(struct swap_ctx *c)
{
	const char *why = c->error[0] ? c->error : jstr(c->history, "detail");
	const char *colon = strchr(c->last_failure, ':');
	size_t be_len = colon ? (size_t)(colon - c->last_failure) : 0;
	char be[128];

	snprintf(be, sizeof(be), "%.*s", (int)be_len, c->last_failure);
	if (!why || !*why)
		why = "warm-up failed";
	if (be_len && !strstr(why, be))
		p_err("%s: %s (%s)", c->action, why, c->last_failure);
	else
		p_err("%s: %s", c->action, why);
	return EXIT_DAEMON;
}

static int swap_or_rollback(int argc, char **argv, bool swap)
{
	struct opt opts[] = {
		[O_SLOT] = {.name = "slot", .has_arg = true},
		[O_PATH] = {.name = "warmup-path", .has_arg = true},
		[O_STATUS] = {.name = "warmup-status", .has_arg = true},
		[O_TIMEOUT] = {.name = "warmup-timeout", .has_arg = true},
		[O_RETRIES] = {.name = "warmup-retries", .has_arg = true},
		[O_MODE] = {.name = "warmup-mode", .has_arg = true},
		[O_TARGET] = {.name = swap ? "target-slot" : NULL,
			      .has_arg = true},
		{NULL},
	};
	struct swap_ctx c = {.action = swap ? "swap" : "rollback"};
	json_t *body = NULL, *warmup = NULL;
	struct api_reply r = {0};
	const char *pos[1];
	char *esc = NULL, path[256];
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (rc)
		return ARGS_RC(rc);
	if (check_name("app", pos[0]))
		return EXIT_USAGE;
	if (swap && !opts[O_SLOT].value)
		return usage_err("swap: --slot SOURCE is needed");
	if ((opts[O_SLOT].value && check_name("slot", opts[O_SLOT].value)) ||
	    (opts[O_TARGET].value && check_name("slot", opts[O_TARGET].value)))
		return EXIT_USAGE;
	if (swap && opts[O_TARGET].value &&
	    !strcmp(opts[O_SLOT].value, opts[O_TARGET].value))
		return usage_err("swap: --slot and --target-slot are the same");
	rc = warmup_json(opts, &warmup);
	if (rc)
		return rc;

	body = json_object();
	if (opts[O_SLOT].value)
		json_object_set_new(body, "slot",
				    json_string(opts[O_SLOT].value));
	if (opts[O_TARGET].value)
		json_object_set_new(body, "target_slot",
				    json_string(opts[O_TARGET].value));
	if (warmup)
		json_object_set_new(body, "warmup", warmup);
	esc = api_escape(pos[0]);
	snprintf(path, sizeof(path), "/v1/apps/%s/%s?progress=1",
		 esc ? esc : "", c.action);
	rc = api_stream(path, body, on_event, &c, &r);
	if (rc)
		goto out;
	if (!c.done && r.body) {
		/* A daemon that did not stream: a plain 200 {"history"}. */
		c.done = true;
		c.status = r.status;
		c.history = json_incref(json_object_get(r.body, "history"));
	}
	if (!c.done) {
		rc = EXIT_DAEMON;
		p_err("%s: slotlbd closed the connection before the outcome; "
		      "see slotlb history %s",
		      c.action, pos[0]);
		goto out;
	}
	if (c.status != 200) {
		rc = report_failure(&c);
		goto out;
	}
	print_outcome(&c);
out:
	json_decref(c.history);
	json_decref(r.body);
	json_decref(body);
	free(esc);
	return rc;
}

int do_slot_swap(int argc, char **argv)
{
	return swap_or_rollback(argc, argv, true);
}

int do_slot_rollback(int argc, char **argv)
{
	return swap_or_rollback(argc, argv, false);
}
