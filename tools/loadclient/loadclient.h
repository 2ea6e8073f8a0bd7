/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared by the load client's files: the checked command line
 * (options.c), and the counters of a run that the event loop in
 * loadclient.c records and report.c turns into the JSON summary and the
 * events CSV. Kept apart so the loop reads as I/O only.
 */
#ifndef LOADCLIENT_H
#define LOADCLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "response.h"

/* Exit code for a bad command line. */
#define LC_EXIT_USAGE 2

/* Labels past LC_VERSIONS_MAX share one counter under this name. */
#define LC_OTHER_LABEL "~other"
#define LC_VERSION_SLOTS (LC_VERSIONS_MAX + 1)

/* Source addresses of --source: enough for a client namespace that
 * plays a few hundred clients. */
#define LC_SOURCES_MAX 256

/* Which traffic a request belongs to. */
enum lc_kind {
	LC_KEEPALIVE = 0,
	LC_NEW,
	LC_KIND_COUNT,
};

/* One --interval-ms slice of the run, by completion time. */
struct lc_bucket {
	uint32_t ok;
	uint32_t failed;
	uint32_t versions[LC_VERSION_SLOTS]; /* answers, any connection */
	uint32_t
		new_versions[LC_VERSION_SLOTS]; /* answers on new connections */
};

/* Answers per source address (--source). */
struct lc_source {
	uint64_t ok;
	uint64_t failed;
	uint64_t versions[LC_VERSION_SLOTS]; /* any connection */
	uint64_t new_versions[LC_VERSION_SLOTS]; /* new connections */
};

struct lc_stats {
	uint64_t ok;
	uint64_t failed;
	uint64_t by_reason[LC_REASON_COUNT];
	uint64_t kind_ok[LC_KIND_COUNT];
	uint64_t kind_failed[LC_KIND_COUNT];
	uint64_t connect_errors; /* refused, unreachable, timed out */
	uint64_t resets; /* ECONNRESET on an open connection */
	uint64_t io_errors; /* other errors on an open connection */
	uint64_t keepalive_reconnects; /* keep-alive slots re-established */
	uint64_t new_skipped; /* new connections not started: no fd */
	uint64_t abandoned; /* requests in flight when time ran out */
	struct lc_labels seen; /* labels answered, first-seen order */
	uint64_t versions[LC_VERSION_SLOTS];
	uint64_t last_ok_ns; /* completion of the last success */
	uint64_t gap_ns; /* longest stretch without a success */
	uint64_t gap_start_ns;
	uint64_t elapsed_ns;
	uint64_t start_wall_ms; /* CLOCK_REALTIME at t_ms 0 */
	uint64_t interval_ns;
	size_t nbuckets;
	struct lc_bucket *buckets;
	FILE *events; /* CSV of every response, or NULL */
	int nsources; /* --source addresses, 0: none given */
	const char (*source_names)[INET6_ADDRSTRLEN];
	struct lc_source *by_source; /* [nsources] */
};

/* What the summary echoes back about how the run was set up. */
struct lc_report_info {
	const char *target;
	const char *path;
	int keepalive;
	double new_rate;
	int timeout_ms;
	bool max_gap;
};

/* nsources names (--source) get their own counters and a CSV column. */
int lc_stats_init(struct lc_stats *s, uint64_t duration_ns,
		  uint64_t interval_ns, FILE *events, int nsources,
		  const char (*source_names)[INET6_ADDRSTRLEN]);
void lc_stats_free(struct lc_stats *s);

/* Count one finished request; t_ns is its completion since the start,
 * source the index of its --source address (-1: none). */
void lc_stats_record(struct lc_stats *s, uint64_t t_ns, enum lc_kind kind,
		     int source, enum lc_reason reason, const char *version);

/* Close the books at elapsed_ns: the trailing gap counts too. */
void lc_stats_finish(struct lc_stats *s, uint64_t elapsed_ns);

/* Write the JSON summary; 0 or -errno. */
int lc_stats_write_json(const struct lc_stats *s,
			const struct lc_report_info *info, FILE *f);

/* The command line, checked. */
struct lc_opts {
	struct sockaddr_storage addr; /* --target */
	socklen_t addrlen;
	const char *target; /* as given, for Host: and the summary */
	const char *path;
	int keepalive;
	double new_rate; /* new connections per second */
	double duration_s;
	int timeout_ms;
	int expect_status;
	struct lc_labels expect; /* empty: any label is fine */
	const char *json_path; /* NULL: stdout */
	const char *events_path; /* NULL: no CSV */
	int interval_ms;
	bool max_gap;
	bool log_errors; /* --log-errors: each connect error on stderr */
	/* --source: local addresses the connections bind to, in turn */
	struct sockaddr_storage source[LC_SOURCES_MAX];
	char source_name[LC_SOURCES_MAX][INET6_ADDRSTRLEN];
	int nsource;
};

/* Parse argv into o; 0, or LC_EXIT_USAGE after printing the error. */
int lc_parse_args(int argc, char **argv, struct lc_opts *o);

/* Print "Error: loadclient: <cause>" and return LC_EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int lc_usage_error(const char *fmt, ...);

#endif /* LOADCLIENT_H */
