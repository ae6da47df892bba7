/* log.c: the log and its rate limiter (log.h). */
#include "log.h"

#include "clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum hnv_log_level log_max = HNV_LOG_INFO;
static bool log_journal;

static const char *const level_names[] = {
	[HNV_LOG_ERR] = "err",   [HNV_LOG_WARNING] = "warning", [HNV_LOG_NOTICE] = "notice",
	[HNV_LOG_INFO] = "info", [HNV_LOG_DEBUG] = "debug",
};

void hnv_log_init(enum hnv_log_level max, bool journal)
{
	log_max = max;
	log_journal = journal;
}

int hnv_log_level_parse(const char *s, enum hnv_log_level *out)
{
	for (int l = HNV_LOG_ERR; l <= HNV_LOG_DEBUG; l++)
		if (strcmp(s, level_names[l]) == 0) {
			*out = (enum hnv_log_level)l;
			return 0;
		}
	if (strcmp(s, "error") == 0) {
		*out = HNV_LOG_ERR;
		return 0;
	}
	if (strcmp(s, "warn") == 0) {
		*out = HNV_LOG_WARNING;
		return 0;
	}
	return -EINVAL;
}

static void vlog(enum hnv_log_level lvl, const char *fmt, va_list ap)
{
	if (lvl > log_max)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", (int)lvl, msg);
	} else {
		/* to the millisecond: a takeover's steps are apart by less
		 * than a second (docs/gateway-pool.md) */
		char ts[32];
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime_r(&now.tv_sec, &tm));
		fprintf(stderr, "%s.%03ld hnvgwd[%d]: %s: %s\n", ts, now.tv_nsec / 1000000,
			(int)getpid(), level_names[lvl], msg);
	}
	fflush(stderr);
}

void hnv_log(enum hnv_log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

bool hnv_ratelimit_pass(struct hnv_ratelimit *rl, unsigned *suppressed)
{
	long now = (long)(hnv_mono_ms() / 1000);
	*suppressed = 0;
	if (rl->window_start == 0 || now - rl->window_start >= HNV_LOG_WINDOW) {
		*suppressed = rl->suppressed;
		rl->window_start = now ? now : 1;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count >= HNV_LOG_BURST) {
		rl->suppressed++;
		return false;
	}
	rl->count++;
	return true;
}

void hnv_log_rl(struct hnv_ratelimit *rl, enum hnv_log_level lvl, const char *fmt, ...)
{
	unsigned suppressed;
	bool pass = hnv_ratelimit_pass(rl, &suppressed);
	if (suppressed)
		hnv_log(lvl, "%u similar messages suppressed in the last %d s", suppressed,
			HNV_LOG_WINDOW);
	if (!pass)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}
