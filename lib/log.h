/* log.h: hnvgwd's log (stderr, read by journald) and its rate limiter.
 * Logs are for control events; per-packet problems are counters. */
#ifndef HNV_LOG_H
#define HNV_LOG_H

#include <stdbool.h>

/* syslog priorities, so journald reads "<N>" prefixes directly. */
enum hnv_log_level {
	HNV_LOG_ERR = 3,
	HNV_LOG_WARNING = 4,
	HNV_LOG_NOTICE = 5,
	HNV_LOG_INFO = 6,
	HNV_LOG_DEBUG = 7,
};

/* Messages above max are dropped. With journal, lines carry "<N>" prefixes
 * (stderr connected to journald); otherwise a timestamp and level name. */
void hnv_log_init(enum hnv_log_level max, bool journal);
/* "err", "warning", "notice", "info", "debug": 0 or -EINVAL. */
int hnv_log_level_parse(const char *s, enum hnv_log_level *out);
/* One event, one line: control bytes in the message become '?', so nothing
 * a client sent can forge a log line. */
void hnv_log(enum hnv_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rate limit for events that can repeat quickly (one per call site): at most
 * HNV_LOG_BURST messages per HNV_LOG_WINDOW seconds; the next message after
 * a suppressed stretch says how many were suppressed. Zero-initialized. */
#define HNV_LOG_BURST 10
#define HNV_LOG_WINDOW 60
struct hnv_ratelimit {
	long window_start;
	unsigned count;
	unsigned suppressed;
};
/* The policy, for callers with a log sink of their own: true when this
 * message may go out. *suppressed is set to the count suppressed in the
 * window that just ended (0 if none): say so before the message. */
bool hnv_ratelimit_pass(struct hnv_ratelimit *rl, unsigned *suppressed);
void hnv_log_rl(struct hnv_ratelimit *rl, enum hnv_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
