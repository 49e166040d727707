/* config.h - the worker's settings, read once at start from FCGICHAT_*
 * environment variables (set in the web server's config) and validated;
 * every problem is logged with the variable's name. One table,
 * config_vars, holds each variable's name, default, range and help. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "store.h"

/* Who may read GET /api/stats (see stats.h). */
enum stats_access { STATS_LOOPBACK, STATS_TOKEN, STATS_OPEN };

/* Each field is one FCGICHAT_* variable of config_vars, which says its
 * default and range. */
struct config {
	const char *db_path;    /* FCGICHAT_DB */
	const char *state_path; /* FCGICHAT_STATE: this host's files are it +
	                         * "-limits", "-stats", "-lock"; db_path
	                         * when unset and that is a file, else
	                         * "var/chat" */
	const char *prefix;     /* FCGICHAT_PREFIX */
	const char *socket;     /* FCGICHAT_SOCKET or --socket, NULL: none */
	const char *ws_sockets; /* FCGICHAT_WS_SOCKETS, NULL: no WebSocket */
	int max_wait;           /* FCGICHAT_MAX_WAIT, seconds */
	int sse_lifetime;       /* FCGICHAT_SSE_LIFETIME, seconds, 0: none */
	int keepalive;          /* FCGICHAT_KEEPALIVE, seconds */
	size_t max_body;        /* FCGICHAT_MAX_BODY, bytes */
	int threads;            /* FCGICHAT_THREADS, accept threads */
	int busy_timeout_ms;    /* FCGICHAT_BUSY_TIMEOUT */
	bool sync_full;         /* FCGICHAT_SYNCHRONOUS=full */
	int send_rate;          /* FCGICHAT_SEND_RATE sends/s/client, 0 off */
	int send_burst;         /* FCGICHAT_SEND_BURST */
	int max_waiting;        /* FCGICHAT_MAX_WAITING per client, 0 off */
	const char *trusted_proxies;  /* FCGICHAT_TRUSTED_PROXIES, NULL: none */
	const char *allow_origins;  /* FCGICHAT_ALLOW_ORIGINS, NULL: any */
	const char *cors_origins;   /* FCGICHAT_CORS_ORIGINS, NULL: none */
	enum log_level log_level;   /* FCGICHAT_LOG_LEVEL */
	int retention_days;     /* FCGICHAT_RETENTION_DAYS, 0: keep all */
	int64_t retention_messages; /* FCGICHAT_RETENTION_MESSAGES per room */
	int retention_interval; /* FCGICHAT_RETENTION_INTERVAL, seconds */
	enum stats_access stats_allow;  /* FCGICHAT_STATS_ALLOW */
	const char *stats_token;        /* FCGICHAT_STATS_TOKEN, NULL: none */
};

/* How a variable's text becomes its field. */
enum config_kind {
	CONFIG_TEXT,    /* const char *, NULL when unset; check may refuse */
	CONFIG_INT,     /* int in [min, max] */
	CONFIG_SIZE,    /* size_t in [min, max] */
	CONFIG_INT64,   /* int64_t in [min, max] */
	CONFIG_ENUM,    /* an enum: the index of the text in words */
	CONFIG_BOOL,    /* bool: words[0] is false, words[1] true */
	CONFIG__MAX
};

/* One row per variable, for --help, the README and config_load. */
struct config_var {
	const char *name;           /* FCGICHAT_... */
	const char *def;            /* taken when unset or empty; NULL: none */
	enum config_kind kind;
	size_t offset, size;        /* of the field in struct config */
	int64_t min, max;           /* CONFIG_INT, _SIZE, _INT64: the range */
	const char *const *words;   /* CONFIG_ENUM, _BOOL: NULL-terminated */
	bool (*check)(const char *);  /* CONFIG_TEXT: NULL, or false refuses */
	const char *rule;           /* CONFIG_TEXT: what check wants */
	bool secret;                /* the log never shows the value */
	const char *help;
};

/* Ends with a row whose name is NULL. */
extern const struct config_var config_vars[];

/* Fills c from the environment (getenv; the strings stay owned by the
 * environment). Returns 0, or -1 after logging each invalid variable (c
 * is then partly filled). */
int config_load(struct config *c);

/* Writes one line per variable of config_vars (name, help, default). */
void config_usage(FILE *f);

/* The options of the store a configuration asks for (read-write). The
 * strings stay owned by c. */
struct store_options store_options_from_config(const struct config *c);

#endif
