/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The bottom layer of slotlbd: its log and its two clocks. Every file of
 * the daemon may call these; they call nothing of the daemon.
 *
 * Log: one line per event on stderr ("slotlbd HH:MM:SS: ..."), which
 * systemd or the test harness collects. Errors read
 * "Error: <object>: <cause>" as everywhere else; log_debug() lines only
 * with -v.
 *
 * Clocks, one name each, so every number says which clock it came from:
 *
 * - wall_*(): CLOCK_REALTIME, unix time. For what people and the history
 *   read ("created", "time", "draining since", the default version
 *   label) and for what is stored. It may jump (NTP, an operator's
 *   date), so it never measures a duration.
 * - mono_*(): CLOCK_MONOTONIC. For durations, deadlines, timeouts and
 *   margins (warm-up deadlines, switch_us, the drain margin). It never
 *   jumps, but means nothing across a reboot: it is never stored.
 */
#ifndef SLOTLBD_UTIL_H
#define SLOTLBD_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- log --- */
extern bool log_verbose;

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define log_debug(...)                        \
	do {                                  \
		if (log_verbose)              \
			log_msg(__VA_ARGS__); \
	} while (0)

/* Append to the string in buf (of len bytes), cut short if it does not
 * fit: for messages, where the end may be lost but never overrun. */
void str_append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Test hook: SIGKILL ourselves here if SLOTLBD_CRASH_AT names this point,
 * so tests can prove a crash anywhere reconciles to a whole state. */
void crash_point(const char *name);

/* --- clocks --- */
int64_t wall_s(void);
int64_t wall_ms(void);
/* Unix seconds as UTC text: "2026-11-26T09:00:00Z" (API "time" fields),
 * or compact "20261126T090000Z" (the default version label). */
void wall_format(int64_t s, bool compact, char *buf, size_t len);

int64_t mono_ms(void);
int64_t mono_us(void);
/* Sleep ms on the monotonic clock (a wall clock jump neither shortens
 * nor stretches it). */
void mono_sleep_ms(uint32_t ms);

/* --- cancel: asking an operation that waits (warm-up, hooks) to stop --- */

/*
 * One per running operation. Whoever waits checks cancel_requested()
 * between steps and may register a wake function (curl_multi_wakeup of
 * the warm-up) so that a request ends its sleep at once rather than at
 * its next timeout. by says who asked, for the history.
 */
struct cancel {
	atomic_bool requested;
	pthread_mutex_t lock; /* wake, wake_arg, by */
	void (*wake)(void *arg);
	void *wake_arg;
	char by[160];
};

void cancel_init(struct cancel *c);
void cancel_destroy(struct cancel *c);
/* Ask once; later requests keep the first asker. */
void cancel_request(struct cancel *c, const char *by);
/* c may be NULL: nothing can cancel then. */
bool cancel_requested(struct cancel *c);
/* wake NULL: no waiter any more. */
void cancel_set_wake(struct cancel *c, void (*wake)(void *), void *arg);
/* Who asked, into buf ("" if nobody). */
void cancel_by(struct cancel *c, char *buf, size_t len);

#endif /* SLOTLBD_UTIL_H */
