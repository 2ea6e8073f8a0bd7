/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The bottom layer of util.h: the log, the crash points of the tests and
 * the wall and monotonic clocks. One function per clock and unit, so a
 * caller cannot take the wall clock for a deadline by passing the wrong
 * flag: the name says which clock it reads.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util.h"

bool log_verbose;

/* Lines from many threads (API connections, warm-up, drain) are written
 * whole: the stream is locked for the line. */
void log_msg(const char *fmt, ...)
{
	time_t t = (time_t)wall_s();
	char stamp[32];
	struct tm tm;
	va_list ap;

	/* local time: the operator reads it next to other logs */
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "slotlbd %s: ", stamp);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void str_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(buf, len);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

void crash_point(const char *name)
{
	const char *at = getenv("SLOTLBD_CRASH_AT");

	if (at && !strcmp(at, name)) {
		log_msg("crash point %s: SIGKILL", name);
		raise(SIGKILL);
	}
}

static struct timespec read_clock(clockid_t id)
{
	struct timespec ts;

	/* CLOCK_REALTIME and CLOCK_MONOTONIC cannot fail on Linux */
	clock_gettime(id, &ts);
	return ts;
}

int64_t wall_s(void)
{
	return (int64_t)read_clock(CLOCK_REALTIME).tv_sec;
}

int64_t wall_ms(void)
{
	struct timespec ts = read_clock(CLOCK_REALTIME);

	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void wall_format(int64_t s, bool compact, char *buf, size_t len)
{
	time_t t = (time_t)s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ",
		 &tm);
}

int64_t mono_ms(void)
{
	struct timespec ts = read_clock(CLOCK_MONOTONIC);

	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_us(void)
{
	struct timespec ts = read_clock(CLOCK_MONOTONIC);

	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void mono_sleep_ms(uint32_t ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	/* a relative sleep on CLOCK_MONOTONIC; a signal restarts it with
	 * what is left */
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

void cancel_init(struct cancel *c)
{
	memset(c, 0, sizeof(*c));
	atomic_init(&c->requested, false);
	pthread_mutex_init(&c->lock, NULL);
}

void cancel_destroy(struct cancel *c)
{
	pthread_mutex_destroy(&c->lock);
}

void cancel_request(struct cancel *c, const char *by)
{
	pthread_mutex_lock(&c->lock);
	if (!atomic_exchange(&c->requested, true))
		snprintf(c->by, sizeof(c->by), "%s", by ? by : "");
	/* under the lock: the waiter cannot free what wake uses meanwhile */
	if (c->wake)
		c->wake(c->wake_arg);
	pthread_mutex_unlock(&c->lock);
}

bool cancel_requested(struct cancel *c)
{
	return c && atomic_load(&c->requested);
}

void cancel_set_wake(struct cancel *c, void (*wake)(void *), void *arg)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->wake = wake;
	c->wake_arg = arg;
	pthread_mutex_unlock(&c->lock);
}

void cancel_by(struct cancel *c, char *buf, size_t len)
{
	pthread_mutex_lock(&c->lock);
	snprintf(buf, len, "%s", c->by);
	pthread_mutex_unlock(&c->lock);
}
