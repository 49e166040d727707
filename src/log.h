/* log.h - leveled logging to stderr, which the web server keeps in its
 * error log. Messages start with the function name; user text must go
 * through log_escape first. */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG };

extern enum log_level log_level;

/* "error", "warn", "info", "debug": each level's name, indexed by the
 * level, then NULL. */
extern const char *const log_level_names[];

void log_init(const char *progname, enum log_level level);

#define LOG_FMT __attribute__((format(printf, 1, 2)))
void log_error(const char *fmt, ...) LOG_FMT;   /* with strerror(errno) */
void log_errorx(const char *fmt, ...) LOG_FMT;
void log_warn(const char *fmt, ...) LOG_FMT;    /* with strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_FMT;
void log_info(const char *fmt, ...) LOG_FMT;
void log_debug(const char *fmt, ...) LOG_FMT;

/* Writes s[0..len) into out (size outsz, always NUL-terminated) with
 * non-printable and non-ASCII bytes as \xNN, cut with "..." if too long.
 * Returns out. */
char *log_escape(const char *s, size_t len, char *out, size_t outsz);

#endif
