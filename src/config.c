/* config.c - reads and validates the FCGICHAT_* environment variables, as
 * the table config_vars says. */
#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "forwarded.h"
#include "query.h"

/* Enum fields are stored through an int (config_store). */
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum log_level");
_Static_assert(sizeof(enum stats_access) == sizeof(int), "enum stats_access");

static const char *const sync_words[] = { "normal", "full", NULL };
static const char *const stats_access_words[] = {
	[STATS_LOOPBACK] = "loopback", [STATS_TOKEN] = "token",
	[STATS_OPEN] = "open", NULL
};

static bool
prefix_ok(const char *p)
{
	return p[0] == '/' && strlen(p) <= 64;
}

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

#define FIELD(f) .offset = offsetof(struct config, f), \
	.size = sizeof(((struct config *)0)->f)
#define TEXT(f) .kind = CONFIG_TEXT, FIELD(f)
#define NUMBER(k, f, lo, hi) .kind = (k), FIELD(f), .min = (lo), .max = (hi)
#define WORDS(k, f, w) .kind = (k), FIELD(f), .words = (w)

const struct config_var config_vars[] = {
	{ "FCGICHAT_DB", "var/chat.db", TEXT(db_path),
	    .help = "SQLite database file, or a postgresql:// URI (libpq) "
	    "for PostgreSQL" },
	{ "FCGICHAT_STATE", NULL, TEXT(state_path),
	    .help = "path prefix of this host's own files (per-client "
	    "limits, stats, the retention lock); unset: FCGICHAT_DB when it "
	    "is a file, else var/chat" },
	{ "FCGICHAT_PREFIX", "/api", TEXT(prefix), .check = prefix_ok,
	    .rule = "must start with / and be at most 64 bytes",
	    .help = "URL path the API is mounted at" },
	{ "FCGICHAT_SOCKET", NULL, TEXT(socket),
	    .help = "socket to listen on when not spawned by the web server: "
	    "a path, or host:port" },
	{ "FCGICHAT_WS_SOCKETS", NULL, TEXT(ws_sockets),
	    .help = "space-separated unix socket paths on which the worker "
	    "processes take WebSocket upgrades proxied by the web server, one "
	    "each (the first free); empty: no WebSocket" },
	{ "FCGICHAT_MAX_WAIT", "30", NUMBER(CONFIG_INT, max_wait, 1,
	    CHAT_MAX_WAIT), .help = "longest long-poll hold, seconds (1-60); "
	    "larger wait= values are lowered to it" },
	{ "FCGICHAT_SSE_LIFETIME", "600", NUMBER(CONFIG_INT, sse_lifetime, 0,
	    86400), .help = "seconds after which an event stream is ended "
	    "(the browser resumes it; 0-86400, 0 = never)" },
	{ "FCGICHAT_KEEPALIVE", "15", NUMBER(CONFIG_INT, keepalive, 1, 15),
	    .help = "seconds between SSE keepalive comments while idle "
	    "(1-15)" },
	{ "FCGICHAT_MAX_BODY", "16384", NUMBER(CONFIG_SIZE, max_body, 64,
	    1048576), .help = "largest request body, bytes (64-1048576)" },
	{ "FCGICHAT_THREADS", "4", NUMBER(CONFIG_INT, threads, 1, 64),
	    .help = "accept threads per process (1-64)" },
	{ "FCGICHAT_BUSY_TIMEOUT", "5000", NUMBER(CONFIG_INT, busy_timeout_ms,
	    0, 60000), .help = "ms a commit waits for the database lock "
	    "before its sends answer 503 (0-60000); a send queued behind a "
	    "waiting commit may wait twice that" },
	{ "FCGICHAT_SYNCHRONOUS", "normal", WORDS(CONFIG_BOOL, sync_full,
	    sync_words), .help = "normal or full (fsync every commit)" },
	{ "FCGICHAT_LOG_LEVEL", "info", WORDS(CONFIG_ENUM, log_level,
	    log_level_names), .help = "error, warn, info or debug" },
	{ "FCGICHAT_SEND_RATE", "20", NUMBER(CONFIG_INT, send_rate, 0,
	    100000), .help = "sends per second per client (its user when "
	    "signed in, else its address), shared by all processes "
	    "(0-100000, 0 = no limit)" },
	{ "FCGICHAT_SEND_BURST", "100", NUMBER(CONFIG_INT, send_burst, 1,
	    100000), .help = "sends a client may make at once before the "
	    "rate applies (1-100000)" },
	{ "FCGICHAT_MAX_WAITING", "500", NUMBER(CONFIG_INT, max_waiting, 0,
	    100000), .help = "long-polls, event streams and WebSockets one "
	    "client (its user when signed in, else its address) may hold "
	    "open at once (0-100000, 0 = no limit)" },
	{ "FCGICHAT_TRUSTED_PROXIES", NULL, TEXT(trusted_proxies),
	    .check = forwarded_trusted_ok, .rule = "must be 1-64 IPv4 or IPv6 "
	    "addresses or CIDR ranges, separated by spaces",
	    .help = "space-separated addresses (or CIDR ranges) of the reverse "
	    "proxies the web server trusts (mod_extforward, mod_remoteip): "
	    "the WebSocket door takes the client's address from their "
	    "X-Forwarded-For as the web server does; empty: none" },
	{ "FCGICHAT_ALLOW_ORIGINS", NULL, TEXT(allow_origins),
	    .help = "space-separated origins (e.g. https://chat.example.org) "
	    "whose pages may use the API besides the server's own; requests "
	    "with another Origin get 403; empty: no check" },
	{ "FCGICHAT_CORS_ORIGINS", NULL, TEXT(cors_origins),
	    .help = "space-separated origins that get CORS headers "
	    "(cross-origin reads and sends), or *; empty: none" },
	{ "FCGICHAT_RETENTION_DAYS", "0", NUMBER(CONFIG_INT, retention_days,
	    0, 36500), .help = "messages older than this many days are "
	    "deleted (0-36500, 0 = kept forever)" },
	{ "FCGICHAT_RETENTION_MESSAGES", "0", NUMBER(CONFIG_INT64,
	    retention_messages, 0, 1000000000), .help = "each room keeps at "
	    "most this many newest messages (0-1000000000, 0 = no limit)" },
	{ "FCGICHAT_RETENTION_INTERVAL", "300", NUMBER(CONFIG_INT,
	    retention_interval, 1, 86400), .help = "seconds between retention "
	    "runs, done by one worker process (1-86400)" },
	{ "FCGICHAT_STATS_ALLOW", "loopback", WORDS(CONFIG_ENUM, stats_allow,
	    stats_access_words), .help = "who may read /api/stats: loopback "
	    "(127.0.0.1 and ::1, or the token), token (the token only) or "
	    "open" },
	{ "FCGICHAT_STATS_TOKEN", NULL, TEXT(stats_token), .check = token_ok,
	    .rule = "must be 16-256 printable ASCII characters without spaces",
	    .secret = true, .help = "secret for /api/stats, sent as "
	    "Authorization: Bearer TOKEN (16-256 printable characters)" },
	{ .name = NULL }
};

/* Each parser returns 0 and sets *n (the number, or the index of the
 * word), or -1 after logging. */
typedef int config_parse_fn(const struct config_var *, const char *,
    int64_t *);

static int
config_text(const struct config_var *v, const char *s, int64_t *n)
{
	*n = 0;
	if (v->check == NULL || v->check(s))
		return 0;
	if (v->secret)
		log_errorx("config: %s %s", v->name, v->rule);
	else
		log_errorx("config: %s=%s %s", v->name, s, v->rule);
	return -1;
}

static int
config_number(const struct config_var *v, const char *s, int64_t *n)
{
	if (query_int(s, strlen(s), v->min, v->max, n) == 0)
		return 0;
	log_errorx("config: %s=%s is not an integer from %" PRId64 " to %"
	    PRId64, v->name, s, v->min, v->max);
	return -1;
}

/* "a, b or c" from the words of v into out. */
static void
config_words_list(const struct config_var *v, char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; v->words[i] != NULL && o < outsz; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s",
		    i == 0 ? "" : v->words[i + 1] == NULL ? " or " : ", ",
		    v->words[i]);
}

static int
config_word(const struct config_var *v, const char *s, int64_t *n)
{
	char list[128];

	for (*n = 0; v->words[*n] != NULL; (*n)++)
		if (strcmp(s, v->words[*n]) == 0)
			return 0;
	config_words_list(v, list, sizeof(list));
	log_errorx("config: %s=%s is not %s", v->name, s, list);
	return -1;
}

static const struct {
	config_parse_fn *parse;
	size_t size;    /* of the field it fills */
} kinds[CONFIG__MAX] = {
	[CONFIG_TEXT] = { config_text, sizeof(const char *) },
	[CONFIG_INT] = { config_number, sizeof(int) },
	[CONFIG_SIZE] = { config_number, sizeof(size_t) },
	[CONFIG_INT64] = { config_number, sizeof(int64_t) },
	[CONFIG_ENUM] = { config_word, sizeof(int) },
	[CONFIG_BOOL] = { config_word, sizeof(bool) },
};

static void
config_store(struct config *c, const struct config_var *v, const char *s,
    int64_t n)
{
	char *f = (char *)c + v->offset;

	switch (v->kind) {
	case CONFIG_TEXT: *(const char **)f = s; break;
	case CONFIG_INT: case CONFIG_ENUM: *(int *)f = (int)n; break;
	case CONFIG_SIZE: *(size_t *)f = (size_t)n; break;
	case CONFIG_INT64: *(int64_t *)f = n; break;
	case CONFIG_BOOL: *(bool *)f = n != 0; break;
	case CONFIG__MAX: break;
	}
}

/* Reads, checks and stores one variable. Returns 0, or -1 (logged). */
static int
config_var_load(struct config *c, const struct config_var *v)
{
	const char *s = getenv(v->name);
	int64_t n = 0;
	int rc = 0;

	assert(v->kind < CONFIG__MAX && v->size == kinds[v->kind].size);
	assert(v->offset + v->size <= sizeof(*c));
	if (s == NULL || *s == '\0')
		s = v->def;
	assert(s != NULL || v->kind == CONFIG_TEXT);
	if (s != NULL && (rc = kinds[v->kind].parse(v, s, &n)) == -1)
		n = 0;
	config_store(c, v, s, n);
	return rc;
}

int
config_load(struct config *c)
{
	int bad = 0;

	memset(c, 0, sizeof(*c));
	for (const struct config_var *v = config_vars; v->name; v++)
		bad |= config_var_load(c, v);
	/* A server's URI is no place for files: PostgreSQL's hosts keep
	 * their own under FCGICHAT_STATE. */
	if (c->state_path == NULL && c->db_path != NULL)
		c->state_path = store_is_file(c->db_path) ? c->db_path :
		    "var/chat";
	if (c->stats_allow == STATS_TOKEN && c->stats_token == NULL) {
		log_errorx("config: FCGICHAT_STATS_ALLOW=token needs "
		    "FCGICHAT_STATS_TOKEN");
		bad = -1;
	}
	return bad ? -1 : 0;
}

void
config_usage(FILE *f)
{
	for (const struct config_var *v = config_vars; v->name; v++)
		fprintf(f, "  %-22s %s (default: %s)\n", v->name, v->help,
		    v->def ? v->def : "none");
}

struct store_options
store_options_from_config(const struct config *c)
{
	struct store_options so = {
		.path = c->db_path, .sync_full = c->sync_full,
		.busy_timeout_ms = c->busy_timeout_ms,
	};
	return so;
}
