/* One log module (house rule 9): levels checked before formatting, one line per
 * event on stderr (journald adds the time), every line tagged with the node id.
 * libevent's own messages are routed here by log_init(). */
#ifndef RCFS_LOG_H
#define RCFS_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_current_level;

/* Set the process tag ("rcfsd", "rcfs"), the node id (0: none) and the level;
 * route libevent's log callback into this module. */
void log_init(const char *tag, unsigned long long node_id, enum log_level level);
void log_set_level(enum log_level level);
/* Parse "error" | "warn" | "info" | "debug"; returns -1 if unknown. */
int log_level_parse(const char *s);
/* Send log lines to path (appended, created 0640) instead of stderr.
 * Returns 0, or -1 with a message in err[errlen] (the old destination stays). */
int log_open(const char *path, char *err, size_t errlen);
/* Reopen the log file (after logrotate moved it; SIGHUP).  No-op without
 * one.  Returns 0, or -1 (logged; lines keep going to the old file). */
int log_reopen(void);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...) do { if ((lvl) <= log_current_level) log_write((lvl), __VA_ARGS__); } while (0)
#define log_err(...)   log_at(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)

#endif
