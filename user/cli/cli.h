/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared pieces of the slotlb CLI: command tables, argument parsing, the
 * API client and the output helpers. Each object's commands live in their
 * own file and are reached through one exact-match table in main.c.
 */
#ifndef SLOTLB_CLI_H
#define SLOTLB_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Exit codes: 0 done, 1 the daemon refused or failed, 2 bad usage. */
#define EXIT_DAEMON 1
#define EXIT_USAGE 2

#define DEFAULT_SOCKET "/run/slotlb/slotlb.sock"

struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
	const char *usage; /* after "slotlb OBJECT COMMAND " */
	const char *help; /* what it does and its options */
};

struct object {
	const char *name;
	const struct cmd *cmds; /* NULL: the object is itself a command */
	const struct cmd *self; /* when cmds is NULL */
	const char *help;
};

extern const struct object objects[];
extern const char *socket_path;
extern bool json_output;
extern const char *cur_object; /* names the object in errors */

/* --- arguments --- */
struct opt {
	const char *name; /* without "--" */
	bool has_arg;
	bool repeat; /* may be given more than once */
	const char *value; /* last value, or NULL */
	const char **values; /* every value when repeat */
	size_t n_values;
	bool given;
};

/* While `slotlb --completion` lists the options of each command,
 * parse_args records them here and returns -1 without parsing, so the
 * completion comes from the very tables that parse the command line. */
#define OPT_PROBE_MAX 32
struct opt_probe {
	bool on;
	bool called; /* the command reached parse_args */
	size_t n;
	const char *names[OPT_PROBE_MAX];
	bool has_arg[OPT_PROBE_MAX];
};
extern struct opt_probe opt_probe;

/* Parses argv against opts; positional arguments go to pos[] (at most
 * max_pos). Prints the error and returns EXIT_USAGE on bad usage, -1
 * after printing the command's help for --help, 0 otherwise. Callers
 * return ARGS_RC(rc) when rc is not 0. */
#define ARGS_RC(rc) ((rc) < 0 ? 0 : (rc))
int parse_args(int argc, char **argv, struct opt *opts, const char **pos,
	       size_t max_pos, size_t min_pos, size_t *n_pos);
void free_opts(struct opt *opts);
void print_cmd_help(const char *object, const struct cmd *c);

/* Local checks; print "Error: ..." and return EXIT_USAGE, or 0. */
int check_name(const char *what, const char *name);
int check_version(const char *label);
int check_endpoint(const char *s);
int check_backend(const char *s);

/* Prints the completion script of SHELL (bash); returns an exit code. */
int print_completion(const char *shell);

/* --- errors --- */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- API client --- */
struct api_reply {
	long status; /* HTTP status, 0 if no answer */
	json_t *body; /* parsed JSON body or NULL */
};

typedef int (*event_cb)(json_t *event, void *ctx);

/* Sends a request; on success (2xx) returns 0 with the reply. On any
 * failure prints the error once and returns EXIT_DAEMON. */
int api_call(const char *method, const char *path, json_t *body,
	     struct api_reply *reply);
/* Like api_call for ?progress=1 answers: cb gets every NDJSON line. */
int api_stream(const char *path, json_t *body, event_cb cb, void *ctx,
	       struct api_reply *reply);
/* Escaped path segment; free() the result. */
char *api_escape(const char *s);
/* "/v1/apps/APP[/slots/SLOT]TAIL", names escaped; NULL on no memory. */
char *app_path(const char *app, const char *slot, const char *tail);
/* The first word of X-Slotlb-Trigger: "cli", or "apply" for apply. */
extern const char *trigger_word;
/* Ctrl-C while a request runs: cb(ctx) once, from within the request
 * (it may make requests of its own); a second Ctrl-C ends the CLI. */
void api_on_interrupt(void (*cb)(void *ctx), void *ctx);

/* --- output: each helper serves the table and the JSON form --- */
enum print_where {
	PR_ANY, /* both */
	PR_JSON, /* JSON only */
	PR_TABLE, /* table only */
};

void out_begin(void);
int out_end(void);
void open_object(const char *key);
void close_object(void);
void open_array(const char *key);
void close_array(void);
void table_begin(const char *const *headers);
void row_end(void);
void print_str(enum print_where w, const char *key, const char *value);
void print_uint(enum print_where w, const char *key, json_int_t v);
void print_bool(enum print_where w, const char *key, bool v);
void print_json(enum print_where w, const char *key, json_t *v);
/* The array body[key] as a table (headers, a row per item) or as
 * {"key": [...]}; takes the reference to body. Returns out_end(). */
int out_list(const char *const *headers, json_t *body, const char *key,
	     void (*print)(json_t *item));
/* A slot's endpoints: a JSON array, or one comma-joined table cell. */
void print_endpoints(json_t *slot);

/* Field accessors with defaults, so a missing field is not a crash. */
const char *jstr(json_t *o, const char *key);
json_int_t jint(json_t *o, const char *key);

/* Commands, by object. */
int do_status(int argc, char **argv);
int do_history(int argc, char **argv);
int do_deploy(int argc, char **argv);
int do_flows(int argc, char **argv);
void print_app(json_t *app);
void print_app_table(json_t *app);
void print_deployment_rows(json_t *d, int lead_cols);

extern const struct cmd agent_cmds[];
extern const struct cmd interface_cmds[];
extern const struct cmd app_cmds[];
extern const struct cmd slot_cmds[];
extern const struct cmd backend_cmds[];
extern const struct cmd hook_cmds[];
extern const struct cmd deploy_cmd, status_cmd, history_cmd, flows_cmd;

#define WARMUP_USAGE                                                        \
	"[--warmup-path PATH] [--warmup-status LIST] [--warmup-timeout S] " \
	"[--warmup-retries N] [--warmup-deadline S] "                       \
	"[--warmup-retry-delay MS] [--warmup-mode http|https|tcp] "         \
	"[--warmup-host NAME]"
#define VERIFY_USAGE                                               \
	"[--verify-for DURATION] [--verify-http PATH[=STATUSES]] " \
	"[--verify-exec PATH] [--max-reset-ratio R] "              \
	"[--max-handshake-failure-ratio R] [--on-failure rollback|alert]"
/* The warm-up options, at index base of a command's option table. */
enum {
	W_PATH,
	W_STATUS,
	W_TIMEOUT,
	W_RETRIES,
	W_DEADLINE,
	W_RETRY_DELAY,
	W_MODE,
	W_HOST,
	W_COUNT
};
#define WARMUP_OPTS(base)                                                     \
	[(base) + W_PATH] = {.name = "warmup-path", .has_arg = true},         \
		  [(base) + W_STATUS] = {.name = "warmup-status",             \
					 .has_arg = true},                    \
		  [(base) + W_TIMEOUT] = {.name = "warmup-timeout",           \
					  .has_arg = true},                   \
		  [(base) + W_RETRIES] = {.name = "warmup-retries",           \
					  .has_arg = true},                   \
		  [(base) + W_DEADLINE] = {.name = "warmup-deadline",         \
					   .has_arg = true},                  \
		  [(base) + W_RETRY_DELAY] = {.name = "warmup-retry-delay",   \
					      .has_arg = true},               \
		  [(base) +                                                   \
			  W_MODE] = {.name = "warmup-mode", .has_arg = true}, \
		  [(base) + W_HOST] = {.name = "warmup-host", .has_arg = true}
/* The "warmup" object of the W_COUNT options at o (NULL when none was
 * given), checked with the daemon's rules; EXIT_USAGE after saying why. */
int warmup_json(const struct opt *o, json_t **out);
/* --verify-for, --verify-http, --verify-exec, --max-reset-ratio,
 * --max-handshake-failure-ratio, --on-failure: six options from o, in
 * this order, as a "verify" object (NULL if --verify-for is not given);
 * EXIT_USAGE naming cmd if wrong (swap.c). */
enum {
	VERIFY_OPT_FOR,
	VERIFY_OPT_HTTP,
	VERIFY_OPT_EXEC,
	VERIFY_OPT_MAX_RESET,
	VERIFY_OPT_MAX_HANDSHAKE,
	VERIFY_OPT_ON_FAILURE,
};
#define VERIFY_OPTS(first)                                            \
	[(first)] = {.name = "verify-for", .has_arg = true},          \
	[(first) + 1] = {.name = "verify-http", .has_arg = true},     \
	[(first) + 2] = {.name = "verify-exec", .has_arg = true},     \
	[(first) + 3] = {.name = "max-reset-ratio", .has_arg = true}, \
	[(first) + 4] = {.name = "max-handshake-failure-ratio",       \
			 .has_arg = true},                            \
	[(first) + 5] = {.name = "on-failure", .has_arg = true}
int verify_json(const char *cmd, const struct opt *o, json_t **out);

extern const char swap_help[], rollback_help[], traffic_help[];
int do_slot_swap(int argc, char **argv);
int do_slot_rollback(int argc, char **argv);
int do_slot_traffic(int argc, char **argv);
/* A swap (or deploy --wait) followed to its outcome, in swap.c. */
struct swap_ctx {
	const char *action; /* "swap", "rollback", "preview", "reset" */
	const char *app;
	bool done;
	long status; /* of the done event */
	json_t *history;
	char error[512];
	char last_failure[256]; /* "backend: why" of the last failed probe */
};
int swap_follow(const char *path, json_t *body, struct swap_ctx *c);

/* Commands of the release workflow, by file. */
extern const struct cmd swap_cmd, export_cmd, apply_cmd;
int do_slot_config(int argc, char **argv);
int do_slot_hook_set(int argc, char **argv);
int do_slot_hook_delete(int argc, char **argv);
int do_slot_auto_swap(int argc, char **argv);
int do_slot_health(int argc, char **argv);
int do_setting_set(int argc, char **argv);
int do_setting_list(int argc, char **argv);
int do_setting_delete(int argc, char **argv);
extern const char config_help[], hook_set_help[], auto_swap_help[];
extern const char health_help[];

#endif /* SLOTLB_CLI_H */
