/* log.c - leveled logging to stderr. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_level = LOG_LEVEL_INFO;
static const char *log_prog = "fcgichat";
const char *const log_level_names[] = {
	[LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info", [LOG_LEVEL_DEBUG] = "debug", NULL
};

void
log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_level = level;
}

static void log_emit(enum log_level, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
log_emit(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char msg[1024], stamp[32];
	struct tm tm;
	time_t now = time(NULL);

	vsnprintf(msg, sizeof(msg), fmt, ap);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (errnum)
		fprintf(stderr, "%s %s[%ld] %s: %s: %s\n", stamp, log_prog,
		    (long)getpid(), log_level_names[lvl], msg,
		    strerror(errnum));
	else
		fprintf(stderr, "%s %s[%ld] %s: %s\n", stamp, log_prog,
		    (long)getpid(), log_level_names[lvl], msg);
}

#define LOG_BODY(lvl, witherr)                                  \
	va_list ap;                                             \
	int saved = errno;                                      \
	if (log_level < (lvl))                                  \
		return;                                         \
	va_start(ap, fmt);                                      \
	log_emit((lvl), (witherr) ? saved : 0, fmt, ap);        \
	va_end(ap);                                             \
	errno = saved

void log_error(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_ERROR, 1); }
void log_errorx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_ERROR, 0); }
void log_warn(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARN, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARN, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_DEBUG, 0); }

char *
log_escape(const char *s, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outsz == 0)
		return out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;
		if (o + need + 4 > outsz) {
			if (o + 4 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
