/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb slot swap / rollback (and the shorthand slotlb swap): ask
 * slotlbd for the warm-up-gated swap with ?progress=1 and print every
 * probe attempt as it arrives, so an operator watching a 90 s warm-up
 * sees which backend holds it up. The exit status is 0 only when the
 * daemon says the swap (or the phase asked for) took effect.
 *
 * The multi-phase swap is --action preview, then --action swap
 * (complete) or --action reset; --action cancel stops a warm-up under
 * way, and so does Ctrl-C (asking first on a terminal); --dry-run shows
 * what a swap would do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "traffic_parse.h"
#include "validate.h"

#define WARMUP_OPTS_HELP                                                        \
	"\n"                                                                    \
	"Warm-up: every backend of the incoming deployment is probed before\n"  \
	"the swap; if any fails every attempt, both slots stay untouched.\n"    \
	"The target slot's stored policy (slotlb slot config) applies; these\n" \
	"options override its fields for this call:\n"                          \
	"  --warmup-path PATH      HTTP path to GET (default /)\n"              \
	"  --warmup-status LIST    accepted statuses, e.g. 200,202 (default\n"  \
	"                          any status)\n"                               \
	"  --warmup-timeout S      seconds per attempt (default 90)\n"          \
	"  --warmup-retries N      attempts after the first (default 5)\n"      \
	"  --warmup-deadline S     seconds for the whole warm-up (default 0:\n" \
	"                          none)\n"                                     \
	"  --warmup-retry-delay MS pause between attempts (default 1000)\n"     \
	"  --warmup-mode http|https|tcp\n"                                      \
	"                          GET PATH, over TLS (certificate not\n"       \
	"                          verified), or only a TCP connect\n"          \
	"  --warmup-host NAME      Host header (and TLS name) of the probes\n"  \
	"\n"                                                                    \
	"One line is printed per probe attempt, then the outcome. Exit 0\n"     \
	"only when the swap took effect. Ctrl-C asks whether to cancel the\n"   \
	"warm-up (without a terminal it cancels).\n"

/* Kept by hand: clang-format would glue the macro onto a full line. */
/* clang-format off */
const char swap_help[] =
	"Swap the deployments of slot SOURCE and TARGET (default production)\n"
	"of APP after applying TARGET's settings to SOURCE's deployment (its\n"
	"apply-settings hook) and warming it up. Endpoints stay with their\n"
	"slots; flows already pinned stay on their backends.\n"
	"\n"
	"  --slot SOURCE           slot whose deployment goes live\n"
	"  --target-slot TARGET    slot it goes into (default production)\n"
	"  --action ACTION         a phase of a multi-phase swap instead:\n"
	"      preview             TARGET's settings and warm-up, then pending:\n"
	"                          the audience sees SOURCE's deployment on\n"
	"                          TARGET's endpoints, everyone else TARGET's\n"
	"      swap                complete the pending swap (warm-up again)\n"
	"      reset               cancel it: SOURCE's settings back\n"
	"      cancel              stop the warm-up under way (swap, rollback,\n"
	"                          preview, auto swap); nothing changes\n"
	"  --audience CIDR         client prefix of the preview (repeat it)\n"
	"  --timeout DURATION      the preview ends by itself after DURATION\n"
	"                          (90, 90s, 15m, 2h)\n"
	"  --on-timeout reset|swap what it does then (default reset)\n"
	"  --dry-run               change nothing: show the deployments that\n"
	"                          would move, each side's settings changes,\n"
	"                          the warm-up policy and the endpoints\n"
	"  --show-values           with --dry-run: setting values too\n"
	"  --verify-for DURATION   after the swap, check TARGET's new\n"
	"                          deployment once a second for DURATION (the\n"
	"                          app is verifying); a check failing twice in\n"
	"                          a row fails it: any of its backends down by\n"
	"                          the health checks, and these:\n"
	"  --verify-http PATH[=STATUSES]\n"
	"                          GET PATH through TARGET's endpoint, status\n"
	"                          in STATUSES (default 200..399)\n"
	"  --verify-exec PATH      an executable that must exit 0\n"
	"  --max-reset-ratio R     backend resets / new connections, 0..1\n"
	"  --max-handshake-failure-ratio R\n"
	"                          unanswered SYNs / new connections, 0..1\n"
	"  --on-failure rollback|alert\n"
	"                          swap back by itself (auto-rollback, the\n"
	"                          default) or only record it\n"
	WARMUP_OPTS_HELP;

const char rollback_help[] =
	"Put the previous deployment back into SLOT (default production) of\n"
	"APP, after it passes warm-up again.\n"
	"\n"
	"  --slot SLOT             slot to roll back (default production)\n"
	WARMUP_OPTS_HELP;
/* clang-format on */

enum {
	O_SLOT,
	O_TARGET,
	O_WARMUP, /* W_COUNT entries */
	O_ACTION = O_WARMUP + W_COUNT,
	O_AUDIENCE,
	O_TIMEOUT,
	O_ON_TIMEOUT,
	O_DRY_RUN,
	O_SHOW_VALUES,
	O_VERIFY_FOR,
	O_VERIFY_HTTP,
	O_VERIFY_EXEC,
	O_MAX_RESET,
	O_MAX_HANDSHAKE,
	O_ON_FAILURE,
	RB_WARMUP = 1, /* rollback: --slot and the warm-up options */
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

/* A whole-number warm-up option checked by its rule into w[key]. */
static int count_field(const struct opt *o, const char *key,
		       int (*rule)(double, const char **), json_t *w)
{
	const char *why = NULL;
	unsigned long v = 0;
	int rc;

	if (!o->value)
		return 0;
	rc = parse_count(o->name, o->value, &v);
	if (!rc && rule((double)v, &why))
		rc = usage_err("%s: --%s: %s", cur_object, o->name, why);
	if (!rc)
		json_object_set_new(w, key, json_integer((json_int_t)v));
	return rc;
}

int warmup_json(const struct opt *o, json_t **out)
{
	struct warmup_policy p;
	const char *why = NULL;
	json_t *w = json_object();
	int rc = 0;

	warmup_policy_default(&p);
	*out = NULL;
	if (o[W_PATH].value) {
		if (validate_warmup_path(o[W_PATH].value, &why)) {
			rc = usage_err("%s: warm-up %s", cur_object, why);
			goto out;
		}
		json_object_set_new(w, "path", json_string(o[W_PATH].value));
	}
	if (o[W_STATUS].value) {
		json_t *a = json_array();
		size_t i;

		if (validate_warmup_statuses(o[W_STATUS].value, &p, &why)) {
			rc = usage_err("%s: --warmup-status: %s", cur_object,
				       why);
			json_decref(a);
			goto out;
		}
		for (i = 0; i < p.n_statuses; i++)
			json_array_append_new(a, json_integer(p.statuses[i]));
		json_object_set_new(w, "statuses", a);
	}
	rc = count_field(&o[W_TIMEOUT], "timeout_s", validate_warmup_timeout_s,
			 w);
	if (!rc)
		rc = count_field(&o[W_RETRIES], "retries",
				 validate_warmup_retries, w);
	if (!rc)
		rc = count_field(&o[W_DEADLINE], "deadline_s",
				 validate_warmup_deadline_s, w);
	if (!rc)
		rc = count_field(&o[W_RETRY_DELAY], "retry_delay_ms",
				 validate_warmup_retry_delay_ms, w);
	if (rc)
		goto out;
	if (o[W_MODE].value) {
		if (validate_warmup_mode(o[W_MODE].value, &p.mode, &why)) {
			rc = usage_err("%s: --warmup-mode: %s", cur_object,
				       why);
			goto out;
		}
		json_object_set_new(w, "mode", json_string(o[W_MODE].value));
	}
	if (o[W_HOST].value) {
		if (validate_warmup_host(o[W_HOST].value, &why)) {
			rc = usage_err("%s: --warmup-host: %s", cur_object,
				       why);
			goto out;
		}
		json_object_set_new(w, "host", json_string(o[W_HOST].value));
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

static int swap_on_event(json_t *ev, void *ctx)
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
	} else if (type && !strcmp(type, "auto-swap") && !json_output) {
		printf("auto swap %s -> %s in %g s\n", jstr(ev, "slot"),
		       jstr(ev, "target_slot"),
		       json_number_value(json_object_get(ev, "delay_s")));
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
	const char *slot, *reset, *action = jstr(h, "action");
	char deps[256] = "";

	if (json_output)
		return;
	json_object_foreach(d, slot, v)
	{
		snprintf(deps + strlen(deps), sizeof(deps) - strlen(deps),
			 " %s=%lld", slot, (long long)json_integer_value(v));
	}
	printf("%s: %s%s%s done; deployments:%s\n", action ? action : c->action,
	       jstr(h, "slot") ? jstr(h, "slot") : "",
	       jstr(h, "target_slot") ? " -> " : "",
	       jstr(h, "target_slot") ? jstr(h, "target_slot") : "",
	       deps[0] ? deps : " -");
	/* a swap ends the traffic shares of the slots it swaps */
	reset = jstr(h, "detail") ? strstr(jstr(h, "detail"), "; traffic share")
				  : NULL;
	if (reset)
		printf("note: %s\n", reset + 2);
	if (jstr(h, "detail") && action &&
	    (!strcmp(action, "preview") || !strcmp(action, "reset")))
		printf("%s\n", jstr(h, "detail"));
	if (action && !strcmp(action, "preview"))
		printf("pending: complete with slotlb slot swap %s --action "
		       "swap, cancel with --action reset\n",
		       c->app);
}

/* Names the backend that failed when the daemon's words do not. */
static int swap_report_failure(struct swap_ctx *c)
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

/* Ctrl-C during a warm-up: cancel it (asking first on a terminal). */
static void cancel_on_interrupt(void *ctx)
{
	struct swap_ctx *c = ctx;
	json_t *body = json_pack("{s:s}", "action", "cancel");
	struct api_reply r = {0};
	char answer[16] = "", *path;

	if (isatty(STDIN_FILENO)) {
		fprintf(stderr, "\nCancel the %s of %s? [y/N] ", c->action,
			c->app);
		if (!fgets(answer, sizeof(answer), stdin) ||
		    (answer[0] != 'y' && answer[0] != 'Y')) {
			fprintf(stderr, "continuing (Ctrl-C again ends slotlb; "
					"the daemon then cancels)\n");
			json_decref(body);
			return;
		}
	}
	fprintf(stderr, "cancelling the %s of %s\n", c->action, c->app);
	path = app_path(c->app, NULL, "/swap");
	if (path && !api_call("POST", path, body, &r))
		json_decref(r.body);
	free(path);
	json_decref(body);
}

/* Follow a streamed swap (or deploy --wait) to its outcome. */
int swap_follow(const char *path, json_t *body, struct swap_ctx *c)
{
	struct api_reply r = {0};
	int rc;

	api_on_interrupt(cancel_on_interrupt, c);
	rc = api_stream(path, body, swap_on_event, c, &r);
	api_on_interrupt(NULL, NULL);
	if (rc)
		goto out;
	if (!c->done && r.body) {
		/* A daemon that did not stream: a plain answer. */
		c->done = true;
		c->status = r.status;
		c->history = json_incref(json_object_get(r.body, "history"));
		if (jstr(r.body, "error"))
			snprintf(c->error, sizeof(c->error), "%s",
				 jstr(r.body, "error"));
	}
	if (!c->done) {
		rc = EXIT_DAEMON;
		p_err("%s: slotlbd closed the connection before the outcome; "
		      "see slotlb history %s",
		      c->action, c->app);
		goto out;
	}
	if (c->status != 200) {
		rc = swap_report_failure(c);
		goto out;
	}
	print_outcome(c);
out:
	json_decref(c->history);
	c->history = NULL;
	json_decref(r.body);
	return rc;
}

/* The dry run's answer for people. */
static void print_side(json_t *dry, const char *side, const char *title)
{
	json_t *l = json_object_get(json_object_get(dry, "settings"), side), *e;
	size_t i;

	printf("%s:%s\n", title, json_array_size(l) ? "" : " none");
	json_array_foreach(l, i, e)
	{
		const char *ch = jstr(e, "change");

		printf("  %c %s",
		       ch && ch[0] == 'a'   ? '+'
		       : ch && ch[0] == 'r' ? '-'
					    : '~',
		       jstr(e, "name"));
		if (jstr(e, "before") || jstr(e, "after"))
			printf(": %s -> %s",
			       jstr(e, "before") ? jstr(e, "before") : "(none)",
			       jstr(e, "after") ? jstr(e, "after") : "(none)");
		putchar('\n');
	}
}

static int print_dry_run(json_t *dry)
{
	const char *slot = jstr(dry, "slot"),
		   *target = jstr(dry, "target_slot");
	json_t *m, *hooks = json_object_get(dry, "hooks");
	size_t i;
	char title[256];

	if (json_output) {
		json_dumpf(dry, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		return 0;
	}
	printf("dry run: swap %s -> %s would (nothing changed):\n", slot,
	       target);
	json_array_foreach(json_object_get(dry, "moves"), i, m)
	{
		if (json_is_object(m))
			printf("move deployment %lld (%s) %s -> %s\n",
			       (long long)jint(m, "deployment"),
			       jstr(m, "version"), jstr(m, "from"),
			       jstr(m, "to"));
	}
	snprintf(title, sizeof(title),
		 "source changes (its deployment in %s, then in %s)", slot,
		 target);
	print_side(dry, "source", title);
	snprintf(title, sizeof(title),
		 "target changes (its deployment in %s, then in %s)", target,
		 slot);
	print_side(dry, "target", title);
	printf("warm-up: %s\n", jstr(dry, "warmup_text"));
	printf("hooks: %s %s, %s %s\n", slot,
	       jstr(hooks, "source") ? jstr(hooks, "source") : "(none)", target,
	       jstr(hooks, "target") ? jstr(hooks, "target") : "(none)");
	for (i = 0; i < 2; i++) {
		const char *s = i ? target : slot;
		json_t *eps = json_object_get(json_object_get(dry, "endpoints"),
					      s),
		       *e;
		size_t k;

		printf("endpoints staying with %s:", s);
		json_array_foreach(eps, k, e)
			printf(" %s", json_string_value(e));
		putchar('\n');
	}
	if (json_is_true(json_object_get(dry, "pending")))
		printf("note: a swap is pending: this swap would be refused "
		       "until it is completed or reset\n");
	return 0;
}

/* A ratio option (0..1) into v, or EXIT_USAGE. */
static int ratio_opt(const char *cmd, const struct opt *o, json_t *v,
		     const char *field)
{
	const char *why = NULL;
	char *end;
	double r;

	if (!o->value)
		return 0;
	errno = 0;
	r = strtod(o->value, &end);
	if (errno || end == o->value || *end || validate_verify_ratio(r, &why))
		return usage_err("%s: --%s: %s", cmd, o->name,
				 why ? why : "must be a number");
	json_object_set_new(v, field, json_real(r));
	return 0;
}

int verify_json(const char *cmd, const struct opt *o, json_t **out)
{
	struct verify_policy p;
	const char *why = NULL;
	enum verify_on_failure f;
	double secs = 0;
	json_t *v;
	int i, rc;

	*out = NULL;
	for (i = VERIFY_OPT_HTTP; i <= VERIFY_OPT_ON_FAILURE; i++)
		if (o[i].given && !o[VERIFY_OPT_FOR].given)
			return usage_err("%s: --%s goes with --verify-for", cmd,
					 o[i].name);
	if (!o[VERIFY_OPT_FOR].given)
		return 0;
	if (validate_duration(o[VERIFY_OPT_FOR].value, &secs, &why) ||
	    validate_verify_for_s(secs, &why))
		return usage_err("%s: --verify-for: %s", cmd, why);
	verify_policy_default(&p);
	if (o[VERIFY_OPT_HTTP].value &&
	    validate_verify_http(o[VERIFY_OPT_HTTP].value, &p, &why))
		return usage_err("%s: --verify-http: %s", cmd, why);
	if (o[VERIFY_OPT_EXEC].value &&
	    validate_verify_exec(o[VERIFY_OPT_EXEC].value, &why))
		return usage_err("%s: --verify-exec: %s", cmd, why);
	if (o[VERIFY_OPT_ON_FAILURE].value &&
	    validate_verify_on_failure(o[VERIFY_OPT_ON_FAILURE].value, &f,
				       &why))
		return usage_err("%s: --on-failure: %s", cmd, why);
	v = json_pack("{s:f}", "for_s", secs);
	if (o[VERIFY_OPT_HTTP].value)
		json_object_set_new(v, "http",
				    json_string(o[VERIFY_OPT_HTTP].value));
	if (o[VERIFY_OPT_EXEC].value)
		json_object_set_new(v, "exec",
				    json_string(o[VERIFY_OPT_EXEC].value));
	if (o[VERIFY_OPT_ON_FAILURE].value)
		json_object_set_new(
			v, "on_failure",
			json_string(o[VERIFY_OPT_ON_FAILURE].value));
	rc = ratio_opt(cmd, &o[VERIFY_OPT_MAX_RESET], v, "max_reset_ratio");
	if (!rc)
		rc = ratio_opt(cmd, &o[VERIFY_OPT_MAX_HANDSHAKE], v,
			       "max_handshake_failure_ratio");
	if (rc) {
		json_decref(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* --verify-* and --on-failure into body's "verify" object. */
static int verify_fields(struct opt *o, json_t *body, enum swap_action a)
{
	json_t *v;
	int rc;

	if (o[O_VERIFY_FOR].given && a != SWAP_ACTION_FULL &&
	    a != SWAP_ACTION_SWAP)
		return usage_err("swap: --verify-for goes with a swap or "
				 "--action swap");
	rc = verify_json("swap", &o[O_VERIFY_FOR], &v);
	if (!rc && v)
		json_object_set_new(body, "verify", v);
	return rc;
}

/* --action, --audience, --timeout, --on-timeout into body. */
static int action_fields(struct opt *o, json_t *body, enum swap_action *a)
{
	const char *why = NULL;
	double secs = 0;
	bool swap;
	size_t i;

	*a = SWAP_ACTION_FULL;
	if (o[O_ACTION].value &&
	    validate_swap_action(o[O_ACTION].value, a, &why))
		return usage_err("swap: --action: %s", why);
	if ((o[O_AUDIENCE].given || o[O_TIMEOUT].given ||
	     o[O_ON_TIMEOUT].given) &&
	    *a != SWAP_ACTION_PREVIEW)
		return usage_err("swap: --audience, --timeout and --on-timeout "
				 "go with --action preview");
	if (o[O_DRY_RUN].given && *a != SWAP_ACTION_FULL)
		return usage_err("swap: --dry-run goes with a swap, not with "
				 "--action");
	if (o[O_SHOW_VALUES].given && !o[O_DRY_RUN].given)
		return usage_err("swap: --show-values goes with --dry-run");
	if (o[O_ACTION].value)
		json_object_set_new(body, "action",
				    json_string(o[O_ACTION].value));
	if (o[O_AUDIENCE].n_values) {
		struct slotlb_prefix pfx[SLOTLB_MAX_AUDIENCE];
		char pwhy[SLOTLB_TRAFFIC_WHY_LEN];
		json_t *l;

		/* the daemon's own parser (user/lib/traffic_parse.c) */
		if (slotlb_parse_prefixes(o[O_AUDIENCE].values,
					  o[O_AUDIENCE].n_values, pfx, pwhy,
					  sizeof(pwhy)))
			return usage_err("swap: audience: %s", pwhy);
		l = json_array();
		for (i = 0; i < o[O_AUDIENCE].n_values; i++)
			json_array_append_new(
				l, json_string(o[O_AUDIENCE].values[i]));
		json_object_set_new(body, "audience", l);
	}
	if (o[O_TIMEOUT].value) {
		if (validate_duration(o[O_TIMEOUT].value, &secs, &why) ||
		    validate_preview_timeout_s(secs, &why))
			return usage_err("swap: --timeout: %s", why);
		json_object_set_new(body, "timeout_s",
				    json_integer((json_int_t)secs));
	}
	if (o[O_ON_TIMEOUT].value) {
		if (!o[O_TIMEOUT].value)
			return usage_err("swap: --on-timeout needs --timeout");
		if (validate_on_timeout(o[O_ON_TIMEOUT].value, &swap, &why))
			return usage_err("swap: %s", why);
		json_object_set_new(body, "on_timeout",
				    json_string(o[O_ON_TIMEOUT].value));
	}
	if (o[O_DRY_RUN].given)
		json_object_set_new(body, "dry_run", json_true());
	if (o[O_SHOW_VALUES].given)
		json_object_set_new(body, "show_values", json_true());
	return 0;
}

static int swap_or_rollback(int argc, char **argv, bool swap)
{
	struct opt opts[] = {
		[O_SLOT] = {.name = "slot", .has_arg = true},
		[O_TARGET] = {.name = "target-slot", .has_arg = true},
		WARMUP_OPTS(O_WARMUP),
		[O_ACTION] = {.name = "action", .has_arg = true},
		[O_AUDIENCE] = {.name = "audience",
				.has_arg = true,
				.repeat = true},
		[O_TIMEOUT] = {.name = "timeout", .has_arg = true},
		[O_ON_TIMEOUT] = {.name = "on-timeout", .has_arg = true},
		[O_DRY_RUN] = {.name = "dry-run"},
		[O_SHOW_VALUES] = {.name = "show-values"},
		[O_VERIFY_FOR] = {.name = "verify-for", .has_arg = true},
		[O_VERIFY_HTTP] = {.name = "verify-http", .has_arg = true},
		[O_VERIFY_EXEC] = {.name = "verify-exec", .has_arg = true},
		[O_MAX_RESET] = {.name = "max-reset-ratio", .has_arg = true},
		[O_MAX_HANDSHAKE] = {.name = "max-handshake-failure-ratio",
				     .has_arg = true},
		[O_ON_FAILURE] = {.name = "on-failure", .has_arg = true},
		{NULL},
	};
	struct opt rb_opts[] = {
		[O_SLOT] = {.name = "slot", .has_arg = true},
		WARMUP_OPTS(RB_WARMUP),
		{NULL},
	};
	struct opt *o = swap ? opts : rb_opts;
	const struct opt *target = swap ? &o[O_TARGET] : NULL;
	const struct opt *warm = swap ? &o[O_WARMUP] : &o[RB_WARMUP];
	struct swap_ctx c = {.action = swap ? "swap" : "rollback"};
	enum swap_action action = SWAP_ACTION_FULL;
	json_t *body = NULL, *warmup = NULL;
	struct api_reply r = {0};
	const char *pos[1];
	char *path = NULL;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, o, pos, 1, 1, &np);
	if (rc)
		goto out_args;
	c.app = pos[0];
	if (check_name("app", pos[0])) {
		rc = EXIT_USAGE;
		goto out_args;
	}
	body = json_object();
	if (swap) {
		rc = action_fields(o, body, &action);
		if (!rc)
			rc = verify_fields(o, body, action);
		if (rc)
			goto out;
	}
	if (swap && !o[O_SLOT].value &&
	    (action == SWAP_ACTION_FULL || action == SWAP_ACTION_PREVIEW)) {
		rc = usage_err("swap: --slot SOURCE is needed");
		goto out;
	}
	if ((o[O_SLOT].value && check_name("slot", o[O_SLOT].value)) ||
	    (target && target->value && check_name("slot", target->value))) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (target && target->value && o[O_SLOT].value &&
	    !strcmp(o[O_SLOT].value, target->value)) {
		rc = usage_err("swap: --slot and --target-slot are the same");
		goto out;
	}
	rc = warmup_json(warm, &warmup);
	if (rc)
		goto out;
	if (o[O_SLOT].value)
		json_object_set_new(body, "slot", json_string(o[O_SLOT].value));
	if (target && target->value)
		json_object_set_new(body, "target_slot",
				    json_string(target->value));
	if (warmup)
		json_object_set_new(body, "warmup", warmup);
	if (swap && (action == SWAP_ACTION_CANCEL || o[O_DRY_RUN].given)) {
		path = app_path(pos[0], NULL, "/swap");
		rc = path ? api_call("POST", path, body, &r)
			  : usage_err("swap: out of memory");
		if (rc)
			goto out;
		if (action == SWAP_ACTION_CANCEL) {
			if (json_output)
				json_dumpf(r.body, stdout, JSON_COMPACT);
			else
				printf("cancelled: %s: %s\n", pos[0],
				       jstr(r.body, "cancelled"));
			if (json_output)
				putchar('\n');
		} else {
			rc = print_dry_run(r.body);
		}
		goto out;
	}
	if (action == SWAP_ACTION_PREVIEW)
		c.action = "preview";
	else if (action == SWAP_ACTION_RESET)
		c.action = "reset";
	path = app_path(pos[0], NULL,
			swap ? "/swap?progress=1" : "/rollback?progress=1");
	rc = path ? swap_follow(path, body, &c)
		  : usage_err("%s: out of memory", c.action);
out:
	json_decref(r.body);
	json_decref(body);
	free(path);
out_args:
	free_opts(o);
	return ARGS_RC(rc);
}

int do_slot_swap(int argc, char **argv)
{
	return swap_or_rollback(argc, argv, true);
}

int do_slot_rollback(int argc, char **argv)
{
	return swap_or_rollback(argc, argv, false);
}
