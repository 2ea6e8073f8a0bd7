/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Command line of the load client. Every bad argument ends the program
 * with exit code 2 and one "Error: loadclient: <cause>" line, so a test
 * that calls it wrongly fails loudly instead of measuring nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "loadclient.h"

#define MAX_KEEPALIVE 10000
#define MAX_NEW_RATE 50000.0
#define MAX_DURATION_S 600.0

int lc_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("Error: loadclient: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'loadclient --help'.\n", stderr);
	return LC_EXIT_USAGE;
}

static void usage(void)
{
	puts("Usage: loadclient --target ADDR:PORT --duration S [OPTIONS]\n"
	     "  --target ADDR:PORT    server, IPv6 as [ADDR]:PORT\n"
	     "  --path PATH           request path (default /)\n"
	     "  --keepalive K         K keep-alive connections, GETs back to back\n"
	     "  --new-rate R          R new connections per second, one GET each\n"
	     "  --duration S          run length in seconds (required, <= 600)\n"
	     "  --timeout-ms MS       per request and per connect (default 2000)\n"
	     "  --expect-status N     status that counts as success (default 200)\n"
	     "  --expect-versions L   comma list of accepted version labels\n"
	     "  --interval-ms MS      timeline bucket (default 250, >= 10)\n"
	     "  --max-gap             report longest_gap_ms without a success\n"
	     "  --log-errors          name each connect error on stderr\n"
	     "  --json FILE           write the summary to FILE, not stdout\n"
	     "  --events FILE         CSV t_ms,kind,version,ok per response\n"
	     "  --source ADDR[,ADDR]  local addresses to connect from, in turn\n"
	     "                        (repeatable, at most 256; adds by_source\n"
	     "                        to the summary and a source column)");
}

static int parse_target(const char *s, struct lc_opts *o)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->addr;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&o->addr;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *end = NULL;
	bool bracketed = s[0] == '[';
	unsigned long port;
	char *pend;
	size_t n;

	memset(&o->addr, 0, sizeof(o->addr));
	if (bracketed) {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
		s++;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		end = colon;
	}
	n = end - s;
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &pend, 10);
	if (errno || *pend || pend == colon + 1 || port == 0 || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		o->addrlen = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 &&
		   bracketed) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		o->addrlen = sizeof(*a6);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* --source: a comma list of numeric addresses, appended to o. */
static int parse_sources(const char *s, struct lc_opts *o)
{
	struct sockaddr_storage *ss;
	const char *end;
	char addr[INET6_ADDRSTRLEN];
	size_t n;

	for (;; s = end + 1) {
		end = strchr(s, ',');
		n = end ? (size_t)(end - s) : strlen(s);
		if (!n || n >= sizeof(addr) || o->nsource == LC_SOURCES_MAX)
			return -EINVAL;
		memcpy(addr, s, n);
		addr[n] = '\0';
		ss = &o->source[o->nsource];
		memset(ss, 0, sizeof(*ss));
		if (inet_pton(AF_INET, addr,
			      &((struct sockaddr_in *)ss)->sin_addr) == 1)
			ss->ss_family = AF_INET;
		else if (inet_pton(AF_INET6, addr,
				   &((struct sockaddr_in6 *)ss)->sin6_addr) ==
			 1)
			ss->ss_family = AF_INET6;
		else
			return -EINVAL;
		memcpy(o->source_name[o->nsource++], addr, n + 1);
		if (!end)
			return 0;
	}
}

static bool parse_num(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return !errno && end != s && !*end && isfinite(*out) && *out >= min &&
	       *out <= max;
}

static bool path_valid(const char *p)
{
	if (p[0] != '/' || strlen(p) > 1024)
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' ||
		    *p == '\\')
			return false;
	return true;
}

/* Returns 0, or an exit code after printing the error. */
int lc_parse_args(int argc, char **argv, struct lc_opts *o)
{
	static const struct option longopts[] = {
		{"target", required_argument, NULL, 't'},
		{"path", required_argument, NULL, 'p'},
		{"keepalive", required_argument, NULL, 'k'},
		{"new-rate", required_argument, NULL, 'r'},
		{"duration", required_argument, NULL, 'd'},
		{"timeout-ms", required_argument, NULL, 'T'},
		{"expect-status", required_argument, NULL, 's'},
		{"expect-versions", required_argument, NULL, 'v'},
		{"interval-ms", required_argument, NULL, 'i'},
		{"max-gap", no_argument, NULL, 'g'},
		{"log-errors", no_argument, NULL, 'L'},
		{"json", required_argument, NULL, 'j'},
		{"events", required_argument, NULL, 'e'},
		{"source", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	double v;
	int c;

	memset(o, 0, sizeof(*o));
	o->path = "/";
	o->timeout_ms = 2000;
	o->expect_status = 200;
	o->interval_ms = 250;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_target(optarg, o))
				return lc_usage_error(
					"bad --target '%s': want ADDR:PORT or [ADDR]:PORT with a numeric address",
					optarg);
			o->target = optarg;
			break;
		case 'p':
			if (!path_valid(optarg))
				return lc_usage_error("bad --path '%s'",
						      optarg);
			o->path = optarg;
			break;
		case 'k':
			if (!parse_num(optarg, 0, MAX_KEEPALIVE, &v) ||
			    v != (int)v)
				return lc_usage_error(
					"bad --keepalive '%s': want 0..10000",
					optarg);
			o->keepalive = (int)v;
			break;
		case 'r':
			if (!parse_num(optarg, 0, MAX_NEW_RATE, &o->new_rate))
				return lc_usage_error(
					"bad --new-rate '%s': want 0..50000",
					optarg);
			break;
		case 'd':
			if (!parse_num(optarg, 0.001, MAX_DURATION_S,
				       &o->duration_s))
				return lc_usage_error(
					"bad --duration '%s': want seconds in (0, 600]",
					optarg);
			break;
		case 'T':
			if (!parse_num(optarg, 1, 600000, &v) || v != (int)v)
				return lc_usage_error("bad --timeout-ms '%s'",
						      optarg);
			o->timeout_ms = (int)v;
			break;
		case 's':
			if (!parse_num(optarg, 100, 599, &v) || v != (int)v)
				return lc_usage_error(
					"bad --expect-status '%s'", optarg);
			o->expect_status = (int)v;
			break;
		case 'v':
			if (lc_labels_parse(optarg, &o->expect))
				return lc_usage_error(
					"bad --expect-versions '%s': want up to 16 comma-separated labels",
					optarg);
			break;
		case 'i':
			if (!parse_num(optarg, 10, 600000, &v) || v != (int)v)
				return lc_usage_error(
					"bad --interval-ms '%s': want >= 10",
					optarg);
			o->interval_ms = (int)v;
			break;
		case 'g':
			o->max_gap = true;
			break;
		case 'L':
			o->log_errors = true;
			break;
		case 'j':
			o->json_path = optarg;
			break;
		case 'e':
			o->events_path = optarg;
			break;
		case 'S':
			if (parse_sources(optarg, o))
				return lc_usage_error(
					"bad --source '%s': want numeric addresses, comma-separated, at most %d in all",
					optarg, LC_SOURCES_MAX);
			break;
		case 'h':
			usage();
			exit(0);
		default:
			return lc_usage_error(
				"unknown or incomplete option '%s'",
				argv[optind - 1]);
		}
	}
	if (optind < argc)
		return lc_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->target)
		return lc_usage_error("%s", "--target is required");
	if (!o->duration_s)
		return lc_usage_error("%s", "--duration is required");
	if (!o->keepalive && !o->new_rate)
		return lc_usage_error(
			"%s", "no traffic: give --keepalive and/or --new-rate");
	for (c = 0; c < o->nsource; c++)
		if (o->source[c].ss_family != o->addr.ss_family)
			return lc_usage_error(
				"--source %s: not of --target's address family",
				o->source_name[c]);
	return 0;
}
