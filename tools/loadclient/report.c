/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bookkeeping of a load client run: totals, the per-interval timeline,
 * the longest stretch without a success, the events CSV and the JSON
 * summary. Labels were validated by the parser, so they are written into
 * JSON and CSV without escaping.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "loadclient.h"

#define NS_PER_MS ((uint64_t)1000000)

int lc_stats_init(struct lc_stats *s, uint64_t duration_ns,
		  uint64_t interval_ns, FILE *events, int nsources,
		  const char (*source_names)[INET6_ADDRSTRLEN])
{
	memset(s, 0, sizeof(*s));
	s->interval_ns = interval_ns;
	s->nbuckets = (duration_ns + interval_ns - 1) / interval_ns;
	if (s->nbuckets == 0)
		s->nbuckets = 1;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets)
		return -ENOMEM;
	s->nsources = nsources;
	s->source_names = source_names;
	if (nsources) {
		s->by_source = calloc(nsources, sizeof(*s->by_source));
		if (!s->by_source)
			return -ENOMEM;
	}
	s->events = events;
	if (events)
		fputs(nsources ? "t_ms,kind,version,ok,source\n"
			       : "t_ms,kind,version,ok\n",
		      events);
	return 0;
}

void lc_stats_free(struct lc_stats *s)
{
	free(s->buckets);
	free(s->by_source);
	s->buckets = NULL;
	s->by_source = NULL;
}

/* Counter slot of a label; labels past the limit share the last slot. */
static int version_slot(struct lc_stats *s, const char *version)
{
	int i = lc_labels_find(&s->seen, version);

	if (i >= 0)
		return i;
	if (s->seen.count == LC_VERSIONS_MAX)
		return LC_VERSIONS_MAX;
	strcpy(s->seen.name[s->seen.count], version);
	return s->seen.count++;
}

static void note_success(struct lc_stats *s, uint64_t t_ns)
{
	if (t_ns > s->last_ok_ns && t_ns - s->last_ok_ns > s->gap_ns) {
		s->gap_ns = t_ns - s->last_ok_ns;
		s->gap_start_ns = s->last_ok_ns;
	}
	if (t_ns > s->last_ok_ns)
		s->last_ok_ns = t_ns;
}

void lc_stats_record(struct lc_stats *s, uint64_t t_ns, enum lc_kind kind,
		     int source, enum lc_reason reason, const char *version)
{
	size_t b = t_ns / s->interval_ns;
	struct lc_source *src = NULL;
	struct lc_bucket *bucket;
	int slot;

	if (source >= 0 && source < s->nsources) {
		src = &s->by_source[source];
		if (reason == LC_OK)
			src->ok++;
		else
			src->failed++;
	}

	if (b >= s->nbuckets)
		b = s->nbuckets - 1;
	bucket = &s->buckets[b];
	if (reason == LC_OK) {
		s->ok++;
		s->kind_ok[kind]++;
		bucket->ok++;
		note_success(s, t_ns);
	} else {
		s->failed++;
		s->kind_failed[kind]++;
		s->by_reason[reason]++;
		bucket->failed++;
	}
	/*
	 * Versions count answers that got as far as naming one: successes
	 * and wrong versions. A 503 or a torn body says nothing reliable.
	 */
	if (reason == LC_OK || reason == LC_FAIL_WRONG_VERSION) {
		slot = version_slot(s, version);
		s->versions[slot]++;
		bucket->versions[slot]++;
		if (kind == LC_NEW)
			bucket->new_versions[slot]++;
		if (src)
			src->versions[slot]++;
		if (src && kind == LC_NEW)
			src->new_versions[slot]++;
	}
	if (s->events)
		fprintf(s->events, "%" PRIu64 ",%s,%s,%d%s%s\n",
			t_ns / NS_PER_MS, kind == LC_NEW ? "new" : "keepalive",
			version, reason == LC_OK, src ? "," : "",
			src ? s->source_names[source] : "");
}

void lc_stats_finish(struct lc_stats *s, uint64_t elapsed_ns)
{
	s->elapsed_ns = elapsed_ns;
	note_success(s, elapsed_ns);
}

static const char *slot_name(const struct lc_stats *s, int slot)
{
	return slot < s->seen.count ? s->seen.name[slot] : LC_OTHER_LABEL;
}

static void write_versions64(const struct lc_stats *s, const uint64_t *v,
			     FILE *f)
{
	const char *sep = "";
	int i;

	fputc('{', f);
	for (i = 0; i < LC_VERSION_SLOTS; i++) {
		if (!v[i])
			continue;
		fprintf(f, "%s\"%s\": %" PRIu64, sep, slot_name(s, i), v[i]);
		sep = ", ";
	}
	fputc('}', f);
}

/* "by_source": per --source address, its answers and versions. */
static void write_sources(const struct lc_stats *s, FILE *f)
{
	const struct lc_source *src;
	int i;

	if (!s->nsources)
		return;
	fputs("  \"by_source\": {", f);
	for (i = 0; i < s->nsources; i++) {
		src = &s->by_source[i];
		fprintf(f,
			"%s\n    \"%s\": {\"ok\": %" PRIu64
			", \"failed\": %" PRIu64 ", \"versions\": ",
			i ? "," : "", s->source_names[i], src->ok, src->failed);
		write_versions64(s, src->versions, f);
		fputs(", \"new_conn_versions\": ", f);
		write_versions64(s, src->new_versions, f);
		fputc('}', f);
	}
	fputs("\n  },\n", f);
}

static void write_versions32(const struct lc_stats *s, const uint32_t *v,
			     FILE *f)
{
	const char *sep = "";
	int i;

	fputc('{', f);
	for (i = 0; i < LC_VERSION_SLOTS; i++) {
		if (!v[i])
			continue;
		fprintf(f, "%s\"%s\": %" PRIu32, sep, slot_name(s, i), v[i]);
		sep = ", ";
	}
	fputc('}', f);
}

static void write_timeline(const struct lc_stats *s, FILE *f)
{
	size_t used = (s->elapsed_ns + s->interval_ns - 1) / s->interval_ns;
	const struct lc_bucket *b;
	size_t i;

	if (used > s->nbuckets)
		used = s->nbuckets;
	fputs("  \"timeline\": [", f);
	for (i = 0; i < used; i++) {
		b = &s->buckets[i];
		fprintf(f,
			"%s\n    {\"t_ms\": %" PRIu64 ", \"ok\": %" PRIu32
			", \"failed\": %" PRIu32 ", \"versions\": ",
			i ? "," : "", (uint64_t)i * s->interval_ns / NS_PER_MS,
			b->ok, b->failed);
		write_versions32(s, b->versions, f);
		fputs(", \"new_conn_versions\": ", f);
		write_versions32(s, b->new_versions, f);
		fputc('}', f);
	}
	fputs(used ? "\n  ]\n" : "]\n", f);
}

int lc_stats_write_json(const struct lc_stats *s,
			const struct lc_report_info *info, FILE *f)
{
	double secs = s->elapsed_ns / 1e9;
	const char *sep = "";
	int i;

	fprintf(f, "{\n  \"target\": \"%s\",\n  \"path\": \"%s\",\n",
		info->target, info->path);
	fprintf(f, "  \"keepalive\": %d,\n  \"new_rate\": %g,\n",
		info->keepalive, info->new_rate);
	fprintf(f, "  \"timeout_ms\": %d,\n  \"duration_s\": %.3f,\n",
		info->timeout_ms, secs);
	fprintf(f, "  \"start_wall_ms\": %" PRIu64 ",\n", s->start_wall_ms);
	fprintf(f, "  \"requests_ok\": %" PRIu64 ",\n", s->ok);
	fprintf(f, "  \"requests_failed\": %" PRIu64 ",\n", s->failed);
	fprintf(f, "  \"requests_per_s\": %.1f,\n",
		secs > 0 ? (s->ok + s->failed) / secs : 0.0);
	fputs("  \"failed_by_reason\": {", f);
	for (i = LC_OK + 1; i < LC_REASON_COUNT; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i > LC_OK + 1 ? ", " : "",
			lc_reason_name(i), s->by_reason[i]);
	fputs("},\n", f);
	fprintf(f,
		"  \"by_kind\": {\"keepalive\": {\"ok\": %" PRIu64
		", \"failed\": %" PRIu64 "}, \"new\": {\"ok\": %" PRIu64
		", \"failed\": %" PRIu64 "}},\n",
		s->kind_ok[LC_KEEPALIVE], s->kind_failed[LC_KEEPALIVE],
		s->kind_ok[LC_NEW], s->kind_failed[LC_NEW]);
	fprintf(f, "  \"connect_errors\": %" PRIu64 ",\n", s->connect_errors);
	fprintf(f, "  \"resets\": %" PRIu64 ",\n", s->resets);
	fprintf(f, "  \"io_errors\": %" PRIu64 ",\n", s->io_errors);
	fprintf(f, "  \"keepalive_reconnects\": %" PRIu64 ",\n",
		s->keepalive_reconnects);
	fprintf(f, "  \"new_conn_skipped\": %" PRIu64 ",\n", s->new_skipped);
	fprintf(f, "  \"abandoned_at_end\": %" PRIu64 ",\n", s->abandoned);
	if (info->max_gap)
		fprintf(f,
			"  \"longest_gap_ms\": %.1f,\n"
			"  \"longest_gap_start_ms\": %.1f,\n",
			s->gap_ns / 1e6, s->gap_start_ns / 1e6);
	fputs("  \"versions\": {", f);
	for (i = 0; i < LC_VERSION_SLOTS; i++) {
		if (!s->versions[i])
			continue;
		fprintf(f, "%s\"%s\": %" PRIu64, sep, slot_name(s, i),
			s->versions[i]);
		sep = ", ";
	}
	fputs("},\n", f);
	write_sources(s, f);
	write_timeline(s, f);
	fputs("}\n", f);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
