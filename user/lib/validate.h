/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every input rule the slotlb CLI and slotlbd share, in one place, so the
 * two can never disagree: the CLI refuses bad input before sending it,
 * with the very sentence the API would answer. Pure C (no libbpf, no
 * JSON), unit-tested in tests/unit/test_validate.c.
 *
 * A rule returns 0 or -EINVAL and, on error, sets *why (if why is not
 * NULL) to a static sentence naming what was wrong. The caller puts the
 * object in front: "Error: <object>: <why>" in the CLI,
 * {"error": "<object>: <why>"} in the API.
 *
 * To add a rule: a validate_<what>() here and in validate.c, its bounds
 * as macros beside it, a table of good and bad inputs in
 * test_validate.c, and a call from both the CLI and the API.
 */
#ifndef SLOTLB_VALIDATE_H
#define SLOTLB_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <slotlb/abi.h>
#include "traffic_parse.h"

/* --- names and labels --- */

/* App and slot names: [a-z0-9][a-z0-9._-]*, at most 63 characters. They
 * are URL path segments, table cells and history keys. */
#define VALIDATE_NAME_LEN 64
int validate_name(const char *name, const char **why);
/* The object a name rule's message names: the name, or what it is when
 * the name is empty or missing ("app", "slot"). */
const char *validate_name_object(const char *name, const char *what);

/* Version labels: letters, digits and ._+:-, at most
 * SLOTLB_VERSION_LEN - 1 characters; "" asks for the default label. */
int validate_version(const char *label, const char **why);

/* --- addresses (user/lib/addr.c parses; these are the rules) --- */

/* "ADDR:PORT[/tcp|/udp]"; key may be NULL. */
int validate_endpoint(const char *s, struct slotlb_endpoint_key *key,
		      const char **why);
/* "ADDR:PORT[,weight=W]", W 1..65535; be and weight may be NULL. */
int validate_backend(const char *s, struct slotlb_backend *be, uint32_t *weight,
		     const char **why);
/* "ADDR:PORT" alone: one backend named, as a backend's drain, undrain
 * and weight take it; be may be NULL. */
int validate_backend_address(const char *s, struct slotlb_backend *be,
			     const char **why);

/* --- warm-up policy --- */

#define WARMUP_MAX_STATUSES 16
#define WARMUP_PATH_LEN 256
#define WARMUP_DEFAULT_TIMEOUT_MS 90000 /* Azure: 90 s per request */
#define WARMUP_DEFAULT_RETRIES 5 /* Azure: retried up to 5 times */
#define WARMUP_DEFAULT_RETRY_DELAY_MS 1000 /* Azure pauses about 1 s */
/* Keeps a typo like "--warmup-retries 5000" from pinning a swap for
 * hours; the other bounds likewise keep one warm-up within a day. */
#define WARMUP_MAX_RETRIES 100
#define WARMUP_MAX_TIMEOUT_MS 3600000 /* an hour per attempt */
#define WARMUP_MAX_DEADLINE_MS 86400000 /* a day for the whole warm-up */
#define WARMUP_MAX_RETRY_DELAY_MS 600000 /* 10 minutes between attempts */
/* A DNS name: 253 characters, labels of at most 63. */
#define WARMUP_HOST_LEN 254

enum warmup_mode {
	WARMUP_HTTP = 0, /* GET path, status checked */
	WARMUP_TCP = 1, /* TCP connect succeeds */
	WARMUP_HTTPS = 2, /* GET path over TLS, status checked; the
			   * certificate is not verified (see warmup.c) */
};

struct warmup_policy {
	enum warmup_mode mode;
	char path[WARMUP_PATH_LEN]; /* "/" by default; must start with '/' */
	int statuses[WARMUP_MAX_STATUSES]; /* accepted; none = any status */
	size_t n_statuses;
	uint32_t timeout_ms; /* per attempt */
	uint32_t retries; /* attempts after the first */
	uint32_t retry_delay_ms; /* pause between attempts of one backend */
	uint32_t deadline_ms; /* whole warm-up; 0 = no overall bound */
	char host[WARMUP_HOST_LEN]; /* Host header and TLS name; "" = the
				     * backend's address */
};

/* Azure's defaults: GET /, any status, 90 s per attempt, 5 retries. */
void warmup_policy_default(struct warmup_policy *p);

/* One field at a time, in the units the API takes (the CLI converts
 * its options to them); on success *mode / the policy is set. */
int validate_warmup_mode(const char *s, enum warmup_mode *mode,
			 const char **why);
int validate_warmup_path(const char *path, const char **why);
int validate_warmup_status(long status, const char **why);
/* "200,202" -> p->statuses; p is untouched on error. */
int validate_warmup_statuses(const char *list, struct warmup_policy *p,
			     const char **why);
int validate_warmup_timeout_s(double s, const char **why);
int validate_warmup_retries(double n, const char **why);
int validate_warmup_deadline_s(double s, const char **why);
int validate_warmup_retry_delay_ms(double ms, const char **why);
/* A DNS name for the Host header ("" = none): letters, digits, '-' and
 * '.', labels of 1..63 not starting or ending with '-'. */
int validate_warmup_host(const char *host, const char **why);
/* "http", "https", "tcp": the names of enum warmup_mode. */
const char *warmup_mode_name(enum warmup_mode mode);
/* The whole policy, every field against the rules above. */
int validate_warmup_policy(const struct warmup_policy *p, const char **why);

/* --- traffic routing (user/lib/traffic_parse.c parses) ---
 *
 * These rules write their sentence into why (why_len bytes), since it
 * names the entry at fault ("qa=abc: ..."); the object in front is
 * "distribution", "percent" or "opt-in".
 */

/* The slot whose endpoints' new clients the shares divide: production,
 * as in Azure. It keeps what the other slots do not take. */
#define VALIDATE_TRAFFIC_FROM "production"

/* "staging=10,qa=2.5": percent per target slot (to 0.01%), total at most
 * 100, each target a slot name (validate_name) named once, and not
 * VALIDATE_TRAFFIC_FROM itself. Whether the slots exist is the
 * daemon's to say. */
int validate_distribution(const char *s, struct slotlb_distribution *d,
			  char *why, size_t why_len);
/* One slot's share, "2.5": percent 0..100 to 0.01%, into basis points. */
int validate_share(const char *s, uint16_t *share, char *why, size_t why_len);
/* Opt-in prefixes ("198.51.100.0/24", "2001:db8::/48"): no host bits,
 * a length within the family's, none twice, at most SLOTLB_MAX_AUDIENCE
 * in one request (the app's element holds at most that many in all). */
int validate_opt_ins(const char *const *list, size_t n,
		     struct slotlb_prefix *out, char *why, size_t why_len);

/* A client address to look up ("198.51.100.7", "2001:db8::7"): IPv4 in
 * addr[0], the other words zero; *family AF_INET or AF_INET6. */
#define VALIDATE_LOOKUP_MAX 64 /* addresses per lookup */
int validate_client(const char *s, __be32 addr[4], uint8_t *family,
		    const char **why);

/* --- settings (NAME=VALUE of an app's environment) --- */

/* Names are environment variable names: [A-Za-z_][A-Za-z0-9_]*, at most
 * 128 characters. Values are UTF-8 text of at most 4096 bytes without
 * NUL (they reach the hook as JSON and may end up in an environment). */
#define SETTING_NAME_LEN 129
#define SETTING_VALUE_MAX 4096
/* Settings per slot (sticky) and per deployment (swapped): keeps the
 * hook's stdin and a request under a few megabytes. */
#define SETTINGS_MAX 256
int validate_setting_name(const char *name, const char **why);
/* len bytes of value (a JSON string may hold a NUL). */
int validate_setting_value(const char *value, size_t len, const char **why);
/* "NAME=VALUE" as typed: on success *name_len is the length of NAME and
 * *value points after the first '='. */
int validate_setting_pair(const char *s, size_t *name_len, const char **value,
			  const char **why);

/* --- slot configuration --- */

/* The apply-settings hook: an absolute path of an executable regular
 * file, checked on this host (the CLI and slotlbd share it), at most
 * HOOK_PATH_LEN - 1 characters. */
#define HOOK_PATH_LEN 4096
#define HOOK_DEFAULT_TIMEOUT_MS 30000
#define HOOK_MAX_TIMEOUT_MS 3600000 /* an hour per run */
int validate_hook_exec(const char *path, const char **why);
int validate_hook_timeout_s(double s, const char **why);

/* Auto swap waits this long after a deploy before warming up. */
#define AUTO_SWAP_MAX_DELAY_MS 86400000
int validate_auto_swap_delay_s(double s, const char **why);

/* --- health policy (live probes of a slot's deployments) --- */

/* Probes of every backend of the deployment in a slot (and of the slot's
 * rollback target) while it serves: the warm-up prober with one attempt
 * per interval. After unhealthy_after failures in a row a backend
 * leaves its deployment's ring, after healthy_after successes it comes
 * back. Defaults are HAProxy's (fall 3, rise 2) on a 5 s interval. */
#define HEALTH_DEFAULT_INTERVAL_MS 5000
#define HEALTH_DEFAULT_TIMEOUT_MS 2000
#define HEALTH_DEFAULT_UNHEALTHY_AFTER 3
#define HEALTH_DEFAULT_HEALTHY_AFTER 2
#define HEALTH_MIN_INTERVAL_MS 100 /* probes of 1000 backends stay cheap */
#define HEALTH_MAX_INTERVAL_MS 3600000 /* an hour */
#define HEALTH_MAX_THRESHOLD 100

struct health_policy {
	/* mode, path, statuses, timeout_ms and host of the probes
	 * (retries, retry delay and deadline are not used) */
	struct warmup_policy probe;
	uint32_t interval_ms; /* from one probe of a backend to the next */
	uint32_t unhealthy_after; /* failures in a row: out of the ring */
	uint32_t healthy_after; /* successes in a row: back in */
	uint8_t tcp; /* enum slotlb_health_tcp: pinned TCP flows of a
		      * backend that is out (reset or leave) */
};

void health_policy_default(struct health_policy *p);
int validate_health_interval_s(double s, const char **why);
int validate_health_threshold(double n, const char **why);
/* "reset" or "leave" -> enum slotlb_health_tcp. */
int validate_health_tcp(const char *s, uint8_t *tcp, const char **why);
const char *health_tcp_name(uint8_t tcp);
/* The whole policy: each field, and an interval no shorter than the
 * timeout (a probe must end before the next one starts). */
int validate_health_policy(const struct health_policy *p, const char **why);

/* --- post-swap verification --- */

/* After a swap into a slot, slotlbd checks the slot's new deployment
 * once a second for for_ms and swaps back (or only records an alert)
 * when a check fails twice in a row. */
#define VERIFY_MAX_FOR_MS 86400000 /* a day */
#define VERIFY_INTERVAL_MS 1000
/* Ratios are judged once this many handshakes were seen. */
#define VERIFY_MIN_HANDSHAKES 10

enum verify_on_failure {
	VERIFY_ROLLBACK = 0, /* swap back (auto-rollback) */
	VERIFY_ALERT = 1, /* record it, change nothing */
};

struct verify_policy {
	uint32_t for_ms; /* 0: no verification */
	char http_path[WARMUP_PATH_LEN]; /* GET through the endpoint; "" none */
	int statuses[WARMUP_MAX_STATUSES]; /* accepted; none = 200..399 */
	size_t n_statuses;
	char exec[256]; /* absolute path of a check to run; "" none */
	double max_reset_ratio; /* backend resets / handshakes; < 0 none */
	double max_handshake_failure_ratio; /* unanswered / handshakes */
	enum verify_on_failure on_failure;
};

void verify_policy_default(struct verify_policy *p);
int validate_verify_for_s(double s, const char **why);
int validate_verify_ratio(double r, const char **why);
int validate_verify_on_failure(const char *s, enum verify_on_failure *f,
			       const char **why);
/* "PATH" or "PATH=STATUSES" (e.g. /healthz=200,204) into p. */
int validate_verify_http(const char *s, struct verify_policy *p,
			 const char **why);
/* An absolute path of an executable, at most 255 characters. */
int validate_verify_exec(const char *path, const char **why);
/* The keys of a verification object (a swap's "verify", a slot's
 * stored one, export), NULL-terminated. */
extern const char *const verify_policy_keys[];

/* --- swap actions --- */

/* What a swap request asks (Azure's --action): */
enum swap_action {
	SWAP_ACTION_FULL = 0, /* none given: warm up and swap in one go */
	SWAP_ACTION_SWAP, /* complete the pending preview */
	SWAP_ACTION_PREVIEW, /* phase 1: settings, warm-up, audience */
	SWAP_ACTION_RESET, /* cancel the pending preview */
	SWAP_ACTION_CANCEL, /* stop the warm-up under way */
};
int validate_swap_action(const char *s, enum swap_action *action,
			 const char **why);
/* A preview's timeout: 1 s .. 7 days. */
#define PREVIEW_MAX_TIMEOUT_S 604800
int validate_preview_timeout_s(double s, const char **why);
/* "reset" or "swap": what a timed-out preview does; *swap set. */
int validate_on_timeout(const char *s, bool *swap, const char **why);
/* A duration as typed: "90", "90s", "15m", "2h" (whole numbers) into
 * seconds. Bounds are the caller's rule's. */
int validate_duration(const char *s, double *seconds, const char **why);

/* --- drain control --- */

/* A slot's drain timeout: 1 s .. 7 days. */
#define DRAIN_MAX_TIMEOUT_S 604800
int validate_drain_timeout_s(double s, const char **why);
/* "reset" or "leave": what a drain's deadline does; *reset set. */
int validate_on_drain_timeout(const char *s, bool *reset, const char **why);
/* Resets a second at a drain's deadline: "N" or "N/s", 1..1000000. */
#define DRAIN_MAX_RESET_RATE 1000000
/* Resets a second at a drain's deadline unless the slot says otherwise. */
#define DRAIN_DEFAULT_RESET_RATE 100
int validate_reset_rate(const char *s, uint32_t *rate, const char **why);
/* A backend's weight as `backend weight` sets it: 0 (drain) .. 65535. */
#define BACKEND_MAX_WEIGHT 65535
int validate_backend_weight(double w, const char **why);

/* --- event hooks --- */

/* Events a hook may ask for, and the longest list of them. */
#define EVENT_NAME_LEN 16
#define EVENT_MAX_NAMES 32
/* "deploy,swap,drained": known event names, comma separated, no
 * repeats; *mask gets bit i for event_names[i]. */
extern const char *const event_names[];
int validate_event_list(const char *s, uint32_t *mask, const char **why);
/* A webhook address: http:// or https://, a host, at most
 * HOOK_URL_LEN - 1 printable ASCII characters. */
#define HOOK_URL_LEN 1024
int validate_hook_url(const char *url, const char **why);
/* An HMAC secret: 16..1024 printable ASCII characters, no spaces (a
 * file's first line). */
#define HOOK_SECRET_MIN 16
#define HOOK_SECRET_MAX 1024
int validate_hook_secret(const char *secret, size_t len, const char **why);

/* --- requests --- */

/* History entries per request: "1".."100000", default 100. */
#define HISTORY_DEFAULT_LIMIT 100
#define HISTORY_MAX_LIMIT 100000
int validate_history_limit(const char *s, size_t *limit, const char **why);

/* Who triggered an operation ("cli github-actions:deploy"), from an
 * environment or a header: never a reason to refuse an operation, so the
 * rule is a cleaner. At most TRIGGER_MAX_LEN bytes are kept, control
 * characters become spaces. */
#define TRIGGER_MAX_LEN 100
void validate_trigger_clean(char *s);
/* Text from outside (a caller, a hook's stderr) as history keeps and
 * shows it: valid UTF-8 (a byte that is not part of a valid sequence
 * becomes '?'), control characters (C0, DEL, C1) become spaces, at most
 * max bytes, never cutting a character. In place. */
void validate_text_clean(char *s, size_t max);

#endif /* SLOTLB_VALIDATE_H */
