#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "util/log.h"

enum log_level log_current_level = LOG_INFO;

static const char *log_tag = "rcfs";
static unsigned long long log_node_id;
static int log_fd = STDERR_FILENO;     /* stderr, or log_path opened for append */
static char *log_path;

static void log_libevent_cb(int severity, const char *msg);

static const char *const log_names[] = { "error", "warn", "info", "debug" };

static void
log_libevent_cb(int severity, const char *msg)
{
	enum log_level l;

	switch (severity) {
	case EVENT_LOG_DEBUG: l = LOG_DEBUG; break;
	case EVENT_LOG_MSG:   l = LOG_INFO; break;
	case EVENT_LOG_WARN:  l = LOG_WARN; break;
	default:              l = LOG_ERR; break;
	}
	log_at(l, "libevent: %s", msg);
}

void
log_init(const char *tag, unsigned long long node_id, enum log_level level)
{
	log_tag = tag;
	log_node_id = node_id;
	log_current_level = level;
	event_set_log_callback(log_libevent_cb);
}

void
log_set_level(enum log_level level)
{
	log_current_level = level;
}

int
log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof log_names / sizeof log_names[0]; i++)
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

void
log_write(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (log_node_id != 0)
		n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s[%llu] %s: ", tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_tag, log_node_id, log_names[level]);
	else
		n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s %s: ", tm.tm_hour, tm.tm_min,
		    tm.tm_sec, ts.tv_nsec / 1000000, log_tag, log_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = (int)strnlen(line, sizeof line - 1);
	line[n++] = '\n';
	/* One write per line (O_APPEND for files) so concurrent processes do
	 * not interleave mid-line. */
	while (write(log_fd, line, (size_t)n) < 0 && errno == EINTR)
		;
}

int
log_open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open log file %s: %s", path, strerror(errno));
		return -1;
	}
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	if (path != log_path) {
		free(log_path);
		log_path = strdup(path);
	}
	return 0;
}

int
log_reopen(void)
{
	char err[256];

	if (log_path == NULL)
		return 0;
	if (log_open(log_path, err, sizeof err) != 0) {
		log_err("%s (still writing to the old file)", err);
		return -1;
	}
	log_info("log file %s reopened", log_path);
	return 0;
}
