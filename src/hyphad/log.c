/*
 * log.c: where the daemon's and the library's log lines go. In the
 * foreground they go to stderr with a level prefix; otherwise to syslog
 * (facility daemon). The level is chosen once at start from -v.
 *
 * The sink's settings are the only file-scope state of the daemon: the
 * library's log callback and the daemon's own lines must agree on them
 * before any other state exists.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "hyphad.h"

static struct {
	int foreground;
	enum hy_log_level max;
} sink = { 1, HY_LOG_INFO };

void
hyd_log_init(int foreground, int verbose)
{
	sink.foreground = foreground;
	/* default: errors, warnings and notable events; -v: debug */
	sink.max = verbose > 0 ? HY_LOG_DEBUG : HY_LOG_INFO;
	if (!foreground)
		openlog(HYD_NAME, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

enum hy_log_level
hyd_log_level(void)
{
	return sink.max;
}

static const char *
level_name(enum hy_log_level level)
{
	switch (level) {
	case HY_LOG_ERR:
		return "error";
	case HY_LOG_WARN:
		return "warning";
	case HY_LOG_INFO:
		return "info";
	case HY_LOG_DEBUG:
		return "debug";
	}
	return "?";
}

static int
level_prio(enum hy_log_level level)
{
	switch (level) {
	case HY_LOG_ERR:
		return LOG_ERR;
	case HY_LOG_WARN:
		return LOG_WARNING;
	case HY_LOG_INFO:
		return LOG_INFO;
	case HY_LOG_DEBUG:
		return LOG_DEBUG;
	}
	return LOG_NOTICE;
}

/* The library's log callback (hy_log_cb); msg is borrowed. */
void
hyd_log_lib(enum hy_log_level level, const char *msg, void *arg)
{
	(void)arg;
	if (level > sink.max)
		return;
	if (sink.foreground)
		fprintf(stderr, "%s: %s: %s\n", HYD_NAME, level_name(level),
		    msg);
	else
		syslog(level_prio(level), "%s", msg);
}

void
hyd_log(enum hy_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	hyd_log_lib(level, buf, NULL);
}

uint64_t
hyd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
