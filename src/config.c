/* config.c - reads and validates the FCGICHAT_* environment variables. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "query.h"

const struct config_var config_vars[] = {
	{ "FCGICHAT_DB", "var/chat.db", "SQLite database file" },
	{ "FCGICHAT_PREFIX", "/api", "URL path the API is mounted at" },
	{ "FCGICHAT_SOCKET", "", "socket to listen on when not spawned by "
	    "the web server: a path, or host:port" },
	{ "FCGICHAT_MAX_WAIT", "30", "longest long-poll hold, seconds "
	    "(1-60); larger wait= values are lowered to it" },
	{ "FCGICHAT_SSE_LIFETIME", "600", "seconds after which an event "
	    "stream is ended (the browser resumes it), 0 = never" },
	{ "FCGICHAT_KEEPALIVE", "15", "seconds between SSE keepalive "
	    "comments while idle (1-15)" },
	{ "FCGICHAT_MAX_BODY", "16384", "largest request body, bytes "
	    "(64-1048576)" },
	{ "FCGICHAT_THREADS", "4", "accept threads per process (1-64)" },
	{ "FCGICHAT_BUSY_TIMEOUT", "5000", "ms a commit waits for the "
	    "database lock before its sends answer 503 (0-60000); a send "
	    "queued behind a waiting commit may wait twice that" },
	{ "FCGICHAT_SYNCHRONOUS", "normal", "normal or full (fsync every "
	    "commit)" },
	{ "FCGICHAT_LOG_LEVEL", "info", "error, warn, info or debug" },
	{ "FCGICHAT_SEND_RATE", "5", "sends per second per client address, "
	    "shared by all processes (0-100000, 0 = no limit)" },
	{ "FCGICHAT_SEND_BURST", "20", "sends an address may make at once "
	    "before the rate applies (1-100000)" },
	{ "FCGICHAT_MAX_WAITING", "100", "long-polls and event streams one "
	    "client address may hold open at once (0-100000, 0 = no limit)" },
	{ "FCGICHAT_ALLOW_ORIGINS", "", "space-separated origins (e.g. "
	    "https://chat.example.org) whose pages may use the API besides "
	    "the server's own; requests with another Origin get 403; empty: "
	    "no check" },
	{ "FCGICHAT_CORS_ORIGINS", "", "space-separated origins that get "
	    "CORS headers (cross-origin reads and sends), or *; empty: none" },
	{ "FCGICHAT_RETENTION_DAYS", "0", "messages older than this many "
	    "days are deleted (0-36500, 0 = kept forever)" },
	{ "FCGICHAT_RETENTION_MESSAGES", "0", "each room keeps at most this "
	    "many newest messages (0-1000000000, 0 = no limit)" },
	{ "FCGICHAT_RETENTION_INTERVAL", "300", "seconds between retention "
	    "runs, done by one worker process (1-86400)" },
	{ "FCGICHAT_STATS_ALLOW", "loopback", "who may read /api/stats: "
	    "loopback (127.0.0.1 and ::1, or the token), token (the token "
	    "only) or open" },
	{ "FCGICHAT_STATS_TOKEN", "", "secret for /api/stats, sent as "
	    "Authorization: Bearer TOKEN (16-256 printable characters)" },
	{ NULL, NULL, NULL }
};

static const char *
env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : def;
}

static int
env_int(const char *name, const char *def, long min, long max, long *out)
{
	const char *v = env_or(name, def);
	int64_t n;

	if (query_int(v, strlen(v), min, max, &n) == -1) {
		log_errorx("config: %s=%s is not an integer from %ld to %ld",
		    name, v, min, max);
		return -1;
	}
	*out = (long)n;
	return 0;
}

static const char *const stats_access_names[] = {
	[STATS_LOOPBACK] = "loopback", [STATS_TOKEN] = "token",
	[STATS_OPEN] = "open",
};
#define NACCESS (sizeof(stats_access_names) / sizeof(stats_access_names[0]))

/* The token is compared with what clients send: printable ASCII only. */
static bool
token_ok(const char *t)
{
	size_t n = strlen(t);

	for (const char *p = t; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return n >= 16 && n <= 256;
}

/* Retention and /api/stats. Returns 0, or -1 after logging. */
static int
config_ops(struct config *c)
{
	const char *allow = env_or("FCGICHAT_STATS_ALLOW", "loopback");
	long days = 0, msgs = 0, every = 0;
	int bad = 0;
	size_t k;

	bad |= env_int("FCGICHAT_RETENTION_DAYS", "0", 0, 36500, &days);
	bad |= env_int("FCGICHAT_RETENTION_MESSAGES", "0", 0, 1000000000,
	    &msgs);
	bad |= env_int("FCGICHAT_RETENTION_INTERVAL", "300", 1, 86400, &every);
	for (k = 0; k < NACCESS && strcmp(allow, stats_access_names[k]) != 0;
	    k++)
		continue;
	if (k == NACCESS) {
		log_errorx("config: FCGICHAT_STATS_ALLOW=%s is not loopback, "
		    "token or open", allow);
		bad = -1;
	}
	c->stats_token = env_or("FCGICHAT_STATS_TOKEN", NULL);
	if (c->stats_token != NULL && !token_ok(c->stats_token)) {
		log_errorx("config: FCGICHAT_STATS_TOKEN must be 16-256 "
		    "printable ASCII characters without spaces");
		bad = -1;
	}
	if (k == STATS_TOKEN && c->stats_token == NULL) {
		log_errorx("config: FCGICHAT_STATS_ALLOW=token needs "
		    "FCGICHAT_STATS_TOKEN");
		bad = -1;
	}
	c->retention_days = (int)days;
	c->retention_messages = msgs;
	c->retention_interval = (int)every;
	c->stats_allow = (enum stats_access)k;
	return bad;
}

int
config_load(struct config *c)
{
	long wait, life, ka, body, thr, busy, rate, burst, waiting;
	const char *sync = env_or("FCGICHAT_SYNCHRONOUS", "normal");
	const char *lvl = env_or("FCGICHAT_LOG_LEVEL", "info");
	int bad = 0;

	c->db_path = env_or("FCGICHAT_DB", "var/chat.db");
	c->prefix = env_or("FCGICHAT_PREFIX", "/api");
	c->socket = env_or("FCGICHAT_SOCKET", NULL);
	bad |= env_int("FCGICHAT_MAX_WAIT", "30", 1, CHAT_MAX_WAIT, &wait);
	bad |= env_int("FCGICHAT_SSE_LIFETIME", "600", 0, 86400, &life);
	bad |= env_int("FCGICHAT_KEEPALIVE", "15", 1, 15, &ka);
	bad |= env_int("FCGICHAT_MAX_BODY", "16384", 64, 1048576, &body);
	bad |= env_int("FCGICHAT_THREADS", "4", 1, 64, &thr);
	bad |= env_int("FCGICHAT_BUSY_TIMEOUT", "5000", 0, 60000, &busy);
	bad |= env_int("FCGICHAT_SEND_RATE", "5", 0, 100000, &rate);
	bad |= env_int("FCGICHAT_SEND_BURST", "20", 1, 100000, &burst);
	bad |= env_int("FCGICHAT_MAX_WAITING", "100", 0, 100000, &waiting);
	c->allow_origins = env_or("FCGICHAT_ALLOW_ORIGINS", NULL);
	c->cors_origins = env_or("FCGICHAT_CORS_ORIGINS", NULL);
	bad |= config_ops(c);
	if (strcmp(sync, "normal") != 0 && strcmp(sync, "full") != 0) {
		log_errorx("config: FCGICHAT_SYNCHRONOUS=%s is not normal "
		    "or full", sync);
		bad = -1;
	}
	if (log_level_parse(lvl, &c->log_level) == -1) {
		log_errorx("config: FCGICHAT_LOG_LEVEL=%s is not error, "
		    "warn, info or debug", lvl);
		bad = -1;
	}
	if (c->prefix[0] != '/' || strlen(c->prefix) > 64) {
		log_errorx("config: FCGICHAT_PREFIX=%s must start with / "
		    "and be at most 64 bytes", c->prefix);
		bad = -1;
	}
	if (bad)
		return -1;
	c->max_wait = (int)wait;
	c->sse_lifetime = (int)life;
	c->keepalive = (int)ka;
	c->max_body = (size_t)body;
	c->threads = (int)thr;
	c->busy_timeout_ms = (int)busy;
	c->sync_full = strcmp(sync, "full") == 0;
	c->send_rate = (int)rate;
	c->send_burst = (int)burst;
	c->max_waiting = (int)waiting;
	return 0;
}
