/* config.h - the worker's settings, read once at start from FCGICHAT_*
 * environment variables (set in the web server's config) and validated;
 * every problem is logged with the variable's name. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* Who may read GET /api/stats (see stats.h). */
enum stats_access { STATS_LOOPBACK, STATS_TOKEN, STATS_OPEN };

struct config {
	const char *db_path;    /* FCGICHAT_DB, default var/chat.db */
	const char *prefix;     /* FCGICHAT_PREFIX, default /api */
	const char *socket;     /* FCGICHAT_SOCKET or --socket, NULL: none */
	int max_wait;           /* FCGICHAT_MAX_WAIT s, 1-60, default 30 */
	int sse_lifetime;       /* FCGICHAT_SSE_LIFETIME s, 0 = none, 600 */
	int keepalive;          /* FCGICHAT_KEEPALIVE s, 1-15, default 15 */
	size_t max_body;        /* FCGICHAT_MAX_BODY bytes, default 16384 */
	int threads;            /* FCGICHAT_THREADS accept threads, 4 */
	int busy_timeout_ms;    /* FCGICHAT_BUSY_TIMEOUT ms, default 5000 */
	bool sync_full;         /* FCGICHAT_SYNCHRONOUS=full|normal */
	int send_rate;          /* FCGICHAT_SEND_RATE sends/s/address, 0 off */
	int send_burst;         /* FCGICHAT_SEND_BURST */
	int max_waiting;        /* FCGICHAT_MAX_WAITING per address, 0 off */
	const char *allow_origins;  /* FCGICHAT_ALLOW_ORIGINS, NULL: any */
	const char *cors_origins;   /* FCGICHAT_CORS_ORIGINS, NULL: none */
	enum log_level log_level;  /* FCGICHAT_LOG_LEVEL, default info */
	int retention_days;     /* FCGICHAT_RETENTION_DAYS, 0: keep all */
	int64_t retention_messages; /* FCGICHAT_RETENTION_MESSAGES per room */
	int retention_interval; /* FCGICHAT_RETENTION_INTERVAL s, 300 */
	enum stats_access stats_allow;  /* FCGICHAT_STATS_ALLOW */
	const char *stats_token;        /* FCGICHAT_STATS_TOKEN, NULL: none */
};

/* One row per setting, for --help, the README and config_load. */
struct config_var {
	const char *name;
	const char *def;
	const char *help;
};
extern const struct config_var config_vars[];

/* Fills c from the environment (getenv; the strings stay owned by the
 * environment). Returns 0, or -1 after logging each invalid variable. */
int config_load(struct config *c);

#endif
