/* api.c - routes requests, checks them in full, and answers or parks. */
#include "api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "chat.h"
#include "error.h"
#include "identity.h"
#include "json.h"
#include "limit.h"
#include "log.h"
#include "origin.h"
#include "private.h"
#include "presence.h"
#include "query.h"
#include "sse.h"
#include "stats.h"
#include "validate.h"

#define JSON_HEADERS \
	"Content-Type: application/json; charset=utf-8\r\n" \
	"Cache-Control: no-store\r\n"
#define MAX_PATH 1024

struct api_thread {
	const struct config *cfg;
	struct hub *hub;
	struct store *store;
	struct buf body;     /* request body */
	struct buf out;      /* response body */
	struct buf tmp;
};

/* One request as the handlers see it: checked path, room and query. */
struct request {
	struct api_thread *t;
	struct fcgi_req *fr;
	const struct route *route;
	char room[CHAT_MAX_ROOM + 1];
	struct query_params q;
	bool body_too_large;
	const char *user;          /* REMOTE_USER (identity.h), or NULL */
	int64_t access_version;    /* of the room's access check */
	const char *cors_origin;   /* echo in Access-Control-Allow-Origin */
	int retry_after;           /* seconds, for 429 and 503 */
};

/* A handler answers (returns false) or parks the request (returns true). */
typedef bool (*handler_fn)(struct request *);

static bool api_send(struct request *);
static bool api_read(struct request *);
static bool api_events(struct request *);
static bool api_rooms(struct request *);
static bool api_health(struct request *);
static bool api_stats(struct request *);
static bool api_ws(struct request *);
static bool api_me(struct request *);
static bool api_room_create(struct request *);
static bool api_dm(struct request *);

/* Who may reach a route's handler: anyone; or, for a room's endpoints,
 * only those who may see the room (private.h): everyone else gets the
 * 404 of a room that does not exist. */
enum route_access { ROUTE_ANYONE, ROUTE_ROOM_VISIBLE };
static bool api_presence(struct request *);

/* The API in one screen. A '*' segment is a room name. */
static const struct route {
	const char *method;
	const char *pattern;
	handler_fn fn;
	enum route_access access;
} routes[] = {
	{ "GET", "/rooms/*/messages", api_read, ROUTE_ROOM_VISIBLE },
	{ "POST", "/rooms/*/messages", api_send, ROUTE_ROOM_VISIBLE },
	{ "GET", "/rooms/*/events", api_events, ROUTE_ROOM_VISIBLE },
	{ "GET", "/rooms/*/ws", api_ws, ROUTE_ROOM_VISIBLE },
	{ "GET", "/rooms/*/presence", api_presence, ROUTE_ROOM_VISIBLE },
	{ "GET", "/rooms", api_rooms, ROUTE_ANYONE },
	{ "POST", "/rooms", api_room_create, ROUTE_ANYONE },
	{ "POST", "/dm", api_dm, ROUTE_ANYONE },
	{ "GET", "/health", api_health, ROUTE_ANYONE },
	{ "GET", "/stats", api_stats, ROUTE_ANYONE },
	{ "GET", "/me", api_me, ROUTE_ANYONE },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void api_allow(const struct request *r, char *out, size_t outsz);

/* --- answers ------------------------------------------------------------ */

/* Appends the CGI head of an answer to b: status, the type's headers,
 * CORS headers when the origin is allowed, extra header lines (each
 * ending in \r\n, may be NULL), and the blank line. */
static void
api_head(const struct request *r, struct buf *b, int status,
    const char *type, const char *extra)
{
	buf_printf(b, "Status: %d %s\r\n%s", status, chat_status_reason(status), type);
	if (r->cors_origin != NULL)
		buf_printf(b, "Access-Control-Allow-Origin: %s\r\n"
		    "Vary: Origin\r\n", r->cors_origin);
	buf_printf(b, "%s\r\n", extra ? extra : "");
}

/* Writes a whole JSON answer: the head and the body. */
static void
reply_json(struct request *r, int status, const char *extra,
    const struct buf *body)
{
	struct buf *h = &r->t->tmp;

	buf_reset(h);
	api_head(r, h, status, JSON_HEADERS, extra);
	if (fcgi_write(r->fr, h->data, h->len) == 0)
		fcgi_write(r->fr, body->data, body->len);
}

/* One log line per failed request, with the client's method, URI and
 * address escaped: 5xx at warn (something to fix), 4xx at debug (the
 * client's doing; a flood of them must not fill the log: /api/stats
 * counts them). */
static void
log_failure(struct request *r, const struct chat_error_info *info)
{
	static const char *const names[] = { "REQUEST_METHOD", "REQUEST_URI",
	    "REMOTE_ADDR" };
	static void (*const say[])(const char *, ...) = {
		[LOG_LEVEL_WARN] = log_warnx, [LOG_LEVEL_DEBUG] = log_debug,
	};
	enum log_level lvl = info->status >= 500 ? LOG_LEVEL_WARN :
	    LOG_LEVEL_DEBUG;
	char v[3][160];

	if (log_level < lvl)
		return;
	for (int i = 0; i < 3; i++) {
		const char *p = fcgi_param(r->fr, names[i]);
		if (p == NULL)
			p = "-";
		log_escape(p, strlen(p), v[i], sizeof(v[i]));
	}
	say[lvl]("api: %d %s: %s %s from %s", info->status, info->code, v[0],
	    v[1], v[2]);
}

/* The one error path: kind -> status, code and API.md error body. */
static void
reply_error(struct request *r, enum chat_error e, const char *why)
{
	const struct chat_error_info *info = chat_error_info(e);
	struct buf *b = &r->t->out;
	char extra[128] = "";

	if (e == CHAT_E_METHOD_NOT_ALLOWED)
		api_allow(r, extra, sizeof(extra));
	else if (e == CHAT_E_UPGRADE_REQUIRED)
		snprintf(extra, sizeof(extra), "Upgrade: websocket\r\n"
		    "Sec-WebSocket-Version: 13\r\n");
	else if (e == CHAT_E_UNAVAILABLE || e == CHAT_E_RATE_LIMITED)
		snprintf(extra, sizeof(extra), "Retry-After: %d\r\n",
		    r->retry_after > 0 ? r->retry_after : 1);
	buf_reset(b);
	json_error(b, info->code, why ? why : info->message);
	stats_count(info->status >= 500 ? STATS_ERRORS_5XX : STATS_ERRORS_4XX,
	    1);
	log_failure(r, info);
	reply_json(r, info->status, extra, b);
}

static void
reply_ok(struct request *r, int status, const char *extra)
{
	if (r->t->out.oom) {
		reply_error(r, CHAT_E_INTERNAL, NULL);
		return;
	}
	reply_json(r, status, extra, &r->t->out);
}

/* --- routing ------------------------------------------------------------ */

/* Matches path against pattern; a '*' takes one segment (possibly empty,
 * which the room check then refuses) into seg. */
static bool
route_match(const char *pattern, const char *path, const char **seg,
    size_t *seglen)
{
	while (*pattern) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");
			*seg = path;
			*seglen = n;
			path += n;
			pattern++;
		} else if (*pattern++ != *path++) {
			return false;
		}
	}
	return *path == '\0';
}

/* "Allow: GET, POST\r\n" for the path of r. */
static void
api_allow(const struct request *r, char *out, size_t outsz)
{
	size_t o = (size_t)snprintf(out, outsz, "Allow:");

	for (size_t i = 0; i < NROUTES && o < outsz; i++)
		if (strcmp(routes[i].pattern, r->route->pattern) == 0)
			o += (size_t)snprintf(out + o, outsz - o, "%s %s",
			    o > 6 ? "," : "", routes[i].method);
	if (o < outsz)
		snprintf(out + o, outsz - o, "\r\n");
}

/* The request path below the API prefix: SCRIPT_NAME + PATH_INFO as the
 * server split them (lighttpd, mod_fcgid), else REQUEST_URI (some
 * mod_proxy_fcgi setups). Returns NULL when the path is not ours. */
static const char *
api_path(struct request *r, char *path, size_t pathsz)
{
	const char *sn = fcgi_param(r->fr, "SCRIPT_NAME");
	const char *pi = fcgi_param(r->fr, "PATH_INFO");
	const char *uri = fcgi_param(r->fr, "REQUEST_URI");
	const char *prefix = r->t->cfg->prefix;
	size_t plen = strlen(prefix);

	while (plen > 1 && prefix[plen - 1] == '/')
		plen--;
	snprintf(path, pathsz, "%s%s", sn ? sn : "", pi ? pi : "");
	if (strncmp(path, prefix, plen) != 0 &&
	    (uri == NULL || query_uri_path(uri, path, pathsz) == -1))
		return NULL;
	if (strncmp(path, prefix, plen) != 0 ||
	    (path[plen] != '/' && path[plen] != '\0'))
		return NULL;
	return path + plen;
}

/* --- origins -------------------------------------------------------------- */

/* Browsers send Origin with cross-site requests: those from origins not
 * allowed get 403 when an allow-list is set; listed CORS origins get
 * CORS headers. Returns false after answering. */
static bool
api_origin(struct request *r)
{
	const char *https = fcgi_param(r->fr, "HTTPS");

	if (origin_check(r->t->cfg, fcgi_param(r->fr, "HTTP_ORIGIN"),
	    https && strcasecmp(https, "on") == 0,
	    fcgi_param(r->fr, "HTTP_HOST"), &r->cors_origin))
		return true;
	reply_error(r, CHAT_E_FORBIDDEN, "Pages of this origin may not use "
	    "this chat; the server's FCGICHAT_ALLOW_ORIGINS lists those that "
	    "may.");
	return false;
}

/* An allowed CORS preflight: 204 with what the route accepts. */
static void
reply_preflight(struct request *r)
{
	char allow[128];
	struct buf *h = &r->t->tmp;

	api_allow(r, allow, sizeof(allow));
	buf_reset(h);
	buf_printf(h, "Access-Control-Allow-Methods:%s", allow + 6);
	buf_puts(h, "Access-Control-Allow-Headers: Content-Type, "
	    "Last-Event-ID\r\nAccess-Control-Max-Age: 600\r\n");
	buf_reset(&r->t->out);
	api_head(r, &r->t->out, 204, "Cache-Control: no-store\r\n", h->data);
	fcgi_write(r->fr, r->t->out.data, r->t->out.len);
}

/* Finds the route; on failure answers 404 or 405 and returns false. */
static bool
api_route(struct request *r, const char *path, const char *method)
{
	const char *seg = NULL;
	size_t seglen = 0;
	const char *why;

	r->route = NULL;
	for (size_t i = 0; i < NROUTES; i++) {
		if (!route_match(routes[i].pattern, path, &seg, &seglen))
			continue;
		r->route = &routes[i];
		if (strcmp(routes[i].method, method) == 0)
			break;
	}
	if (r->route == NULL) {
		reply_error(r, CHAT_E_NOT_FOUND, NULL);
		return false;
	}
	if (strcmp(r->route->method, method) != 0) {
		if (strcmp(method, "OPTIONS") == 0 && r->cors_origin != NULL)
			reply_preflight(r);
		else
			reply_error(r, CHAT_E_METHOD_NOT_ALLOWED, NULL);
		return false;
	}
	if (seg != NULL) {
		if (validate_room(seg, seglen, &why) != CHAT_OK) {
			reply_error(r, CHAT_E_BAD_ROOM, why);
			return false;
		}
		memcpy(r->room, seg, seglen);
		r->room[seglen] = '\0';
	}
	return true;
}

/* --- parking ----------------------------------------------------------- */

#define SSE_HEADERS \
	"Content-Type: text/event-stream\r\n" \
	"Cache-Control: no-store\r\n" \
	"X-Accel-Buffering: no\r\n"

/* Counts a waiting request against its user, or its address when
 * anonymous. Returns false after answering 429 when it has too many
 * waiting already. */
static bool
api_wait_acquire(struct request *r, int *handle)
{
	*handle = limit_wait_acquire(fcgi_param(r->fr, "REMOTE_ADDR"),
	    r->user);
	if (*handle != -2)
		return true;
	r->retry_after = 1;
	reply_error(r, CHAT_E_RATE_LIMITED, LIMIT_WAITING_WHY);
	return false;
}

/* Hands the request, with its waiting handle, to the hub with initial as
 * its first bytes. The request is consumed either way: returns true. */
static bool
api_park(struct request *r, enum hub_kind kind, int handle, int64_t cursor,
    int64_t seen, bool behind, int64_t deadline, const struct buf *initial)
{
	/* A copy of the user: fcgi_release frees the request's parameters,
	 * REMOTE_USER too (validate_user kept it within CHAT_MAX_USER). */
	char user[CHAT_MAX_USER + 1];
	struct hub_park_req p = {
		.kind = kind, .room = r->room, .cursor = cursor,
		.limit = r->q.limit, .seen = seen, .behind = behind,
		.deadline_ms = deadline, .initial = initial,
		.limit_handle = handle, .access_version = r->access_version,
		.presence = r->q.presence,
	};

	/* Who is here: the user, else the nick the page passed. */
	if (r->user != NULL) {
		snprintf(user, sizeof(user), "%s", r->user);
		p.person = user;
		p.verified = true;
	} else if (*r->q.nick != '\0') {
		p.person = r->q.nick;
	}
	if (fcgi_release(r->fr, &p.fd, &p.request_id) == 0)
		hub_park(r->t->hub, &p);
	else
		limit_wait_release(handle);
	return true;
}

/* --- handlers ----------------------------------------------------------- */

static bool
api_send(struct request *r)
{
	struct api_thread *t = r->t;
	struct send_request s = { 0 };
	struct chat_message m = { 0 };
	const char *why = NULL;
	char loc[256];
	enum chat_error e;
	bool created;

	if ((r->retry_after = limit_send(fcgi_param(r->fr, "REMOTE_ADDR"),
	    r->user)) > 0)
		e = CHAT_E_RATE_LIMITED;
	else if (!validate_json_type(fcgi_param(r->fr, "CONTENT_TYPE")))
		e = CHAT_E_UNSUPPORTED_MEDIA_TYPE;
	else if (r->body_too_large)
		e = CHAT_E_TOO_LARGE;
	else if ((e = json_parse_send(t->body.data, t->body.len, r->user, &s,
	    &why)) == CHAT_OK)
		e = store_append_as(t->store, r->room, r->user, s.nick, s.text,
		    s.client_id, &m, &created);
	if (e == CHAT_OK) {
		stats_count(STATS_SENDS, created);
		buf_reset(&t->out);
		json_message(&t->out, &m);
		snprintf(loc, sizeof(loc), "Location: %s/rooms/%s/messages"
		    "?since=%" PRId64 "&limit=1\r\n", t->cfg->prefix, r->room,
		    m.id - 1);
		/* Location only with 201: Apache (mod_fcgid, mod_cgi) turns
		 * a 200 with a local Location into an internal GET of it. */
		reply_ok(r, created ? 201 : 200, created ? loc : NULL);
	} else {
		reply_error(r, e, why);
	}
	send_request_clear(&s);
	chat_message_clear(&m);
	return false;
}

/* The cursor a client sends next when a read found nothing. */
static int64_t
empty_cursor(const struct query_params *q, int64_t room_last)
{
	return q->since >= 0 ? q->since : room_last;
}

/* Parks a long-poll that found nothing after its cursor; seen: the newest
 * id its read (or the watcher) saw. The headers go out now: lighttpd
 * watches a client whose answer has started, so one that leaves is
 * noticed at once (tcp-fin-propagate; without them a vanished long-poll
 * holds its worker's socket until its deadline). */
static bool
api_longpoll_park(struct request *r, int64_t seen)
{
	struct api_thread *t = r->t;
	int wait = r->q.wait < t->cfg->max_wait ? r->q.wait : t->cfg->max_wait;
	int handle;

	buf_reset(&t->out);
	api_head(r, &t->out, 200, JSON_HEADERS, NULL);
	return api_wait_acquire(r, &handle) &&
	    api_park(r, HUB_LONGPOLL, handle, r->q.since, seen, false,
	    chat_mono_ms() + wait * 1000, &t->out);
}

static bool
api_read(struct request *r)
{
	struct api_thread *t = r->t;
	struct store_query sq = { r->q.since, r->q.before, r->q.limit };
	struct chat_list l = { 0 };
	struct store_read_info in = { 0 };
	enum chat_error e;
	bool parked = false, limited;
	int64_t last;

	/* Asking from the newest id the watcher has read, or past it: there
	 * is nothing to read yet, and a row committed since (by any process)
	 * reaches the request through the watcher, which reads after that id.
	 * The round skips its database read. As seen: since itself, which
	 * the watcher's read must pass before it has anything for the
	 * request (hub_file catches the request up if it has meanwhile). */
	if (r->q.since >= 0 && r->q.wait > 0 && r->q.since >= hub_seen(t->hub))
		return api_longpoll_park(r, r->q.since);
	e = store_read(t->store, r->room, &sq, &l, &in);
	/* Retention removed messages after the client's cursor. */
	limited = r->q.since >= 0 && r->q.since < in.pruned_through;
	if (e != CHAT_OK) {
		reply_error(r, e, NULL);
	} else if (l.n == 0 && r->q.since >= 0 && r->q.wait > 0 && !limited) {
		parked = api_longpoll_park(r, in.db_max);
	} else {
		last = l.n ? l.v[l.n - 1].id : empty_cursor(&r->q,
		    in.room_last);
		buf_reset(&t->out);
		json_read_answer(&t->out, l.v, l.n, last, limited);
		reply_ok(r, 200, NULL);
	}
	chat_list_clear(&l);
	return parked;
}

/* The SSE cursor: Last-Event-ID, else since, else the room's newest id
 * (read with one row). Returns false after answering an error. */
static bool
events_cursor(struct request *r, int64_t *cursor)
{
	const char *leid = fcgi_param(r->fr, "HTTP_LAST_EVENT_ID");
	struct store_query sq = { -1, -1, 1 };
	struct store_read_info in = { 0 };
	enum chat_error e;

	if (leid != NULL) {
		if (query_last_event_id(leid, cursor) == 0)
			return true;
		reply_error(r, CHAT_E_BAD_PARAM,
		    "Last-Event-ID must be a message id (a decimal integer).");
		return false;
	}
	if (r->q.since >= 0) {
		*cursor = r->q.since;
		return true;
	}
	e = store_read(r->t->store, r->room, &sq, NULL, &in);
	*cursor = in.room_last;
	if (e != CHAT_OK)
		reply_error(r, e, NULL);
	return e == CHAT_OK;
}

static bool
api_events(struct request *r)
{
	struct api_thread *t = r->t;
	struct store_query sq = { -1, -1, 1000 };
	struct chat_list l = { 0 };
	struct store_read_info in = { 0 };
	int64_t cursor, life = t->cfg->sse_lifetime;
	bool parked;
	enum chat_error e;
	int handle;

	if (!events_cursor(r, &cursor))
		return false;
	sq.since = cursor;
	if ((e = store_read(t->store, r->room, &sq, &l, &in)) != CHAT_OK) {
		reply_error(r, e, NULL);
		return false;
	}
	if (!api_wait_acquire(r, &handle)) {
		chat_list_clear(&l);
		return false;
	}
	buf_reset(&t->out);
	api_head(r, &t->out, 200, SSE_HEADERS, NULL);
	sse_start(&t->out);
	if (cursor < in.pruned_through)
		sse_limited(&t->out, &t->tmp, r->room, in.pruned_through);
	for (size_t i = 0; i < l.n; i++) {
		sse_row(&t->out, &t->tmp, &l.v[i]);
		cursor = l.v[i].id;
	}
	parked = api_park(r, HUB_SSE, handle, cursor, in.db_max,
	    l.n == (size_t)sq.limit, life ? chat_mono_ms() + life * 1000 : 0,
	    &t->out);
	chat_list_clear(&l);
	return parked;
}

static bool
api_rooms(struct request *r)
{
	struct chat_room_list l = { 0 };
	enum chat_error e = store_rooms_for(r->t->store, r->user, &l);

	if (e == CHAT_OK) {
		buf_reset(&r->t->out);
		json_rooms(&r->t->out, &l);
		reply_ok(r, 200, NULL);
	} else {
		reply_error(r, e, NULL);
	}
	chat_room_list_clear(&l);
	return false;
}

static bool
api_health(struct request *r)
{
	int64_t last = 0;
	enum chat_error e = store_max_id(r->t->store, &last);

	if (e == CHAT_OK) {
		buf_reset(&r->t->out);
		json_health(&r->t->out, last);
		reply_ok(r, 200, NULL);
	} else {
		reply_error(r, CHAT_E_UNAVAILABLE, NULL);
	}
	return false;
}

/* Operators' figures (src/stats.c), off the public by default. */
static bool
api_stats(struct request *r)
{
	const char *why = NULL;
	enum chat_error e = stats_allowed(r->t->cfg,
	    fcgi_param(r->fr, "REMOTE_ADDR"),
	    fcgi_param(r->fr, "HTTP_AUTHORIZATION"), &why);

	buf_reset(&r->t->out);
	if (e == CHAT_OK)
		e = stats_answer(&r->t->out, r->t->cfg, r->t->store, r->t->hub);
	if (e == CHAT_OK)
		reply_ok(r, 200, NULL);
	else
		reply_error(r, e, why);
	return false;
}

/* Who the web server says this is: the page asks, to show a signed-in
 * person their name instead of a Name box. */
static bool
api_me(struct request *r)
{
	buf_reset(&r->t->out);
	json_me(&r->t->out, r->user);
	reply_ok(r, 200, NULL);
	return false;
}

/* Who is here (presence.c): the people with a live connection. */
static bool
api_presence(struct request *r)
{
	enum chat_error e;

	buf_reset(&r->t->out);
	if ((e = presence_read(r->t->store, r->room, &r->t->out)) == CHAT_OK)
		reply_ok(r, 200, NULL);
	else
		reply_error(r, e, NULL);
	return false;
}

/* The WebSocket path reached over FastCGI: the upgrade was not passed
 * through (the web server's config proxies it to ws_accept.c), or this was
 * no upgrade. */
static bool
api_ws(struct request *r)
{
	reply_error(r, CHAT_E_UPGRADE_REQUIRED, NULL);
	return false;
}

/* --- private rooms and DMs ------------------------------------------------ */

/* The checks every room-making request passes first: a user, the send
 * rate, a JSON body that fits. Returns CHAT_OK or the failure. */
static enum chat_error
private_request_ok(struct request *r, const char **why)
{
	if (r->user == NULL)
		return chat_error_why(why, CHAT_E_FORBIDDEN, "Only a signed-in "
		    "user (the web server's authentication) can make private "
		    "rooms and direct messages.");
	if ((r->retry_after = limit_send(fcgi_param(r->fr, "REMOTE_ADDR"),
	    r->user)) > 0)
		return CHAT_E_RATE_LIMITED;
	if (!validate_json_type(fcgi_param(r->fr, "CONTENT_TYPE")))
		return CHAT_E_UNSUPPORTED_MEDIA_TYPE;
	if (r->body_too_large)
		return CHAT_E_TOO_LARGE;
	return CHAT_OK;
}

/* Makes rq's private room (its creator a member too) and answers 201,
 * or 200 when fresh is false and it was there already. */
static void
private_room_reply(struct request *r, struct room_request *rq,
    const char *room, enum chat_room_kind kind, bool fresh)
{
	struct api_thread *t = r->t;
	struct store_members m = { 0 };
	const char *direct = kind == CHAT_ROOM_DIRECT ? rq->members[0] : NULL;
	const char **users = malloc((rq->n + 1) * sizeof(*users));
	enum chat_error e = users ? CHAT_OK : CHAT_E_INTERNAL;
	bool created = false;

	for (size_t i = 0; e == CHAT_OK && i < rq->n; i++)
		users[i] = rq->members[i];
	if (e == CHAT_OK) {
		users[rq->n] = r->user;
		e = store_private_make(t->store, room, kind, r->user, users,
		    rq->n + 1, fresh, &created);
	}
	if (e == CHAT_OK)
		e = store_members(t->store, room, &m, NULL);
	if (e == CHAT_OK) {
		buf_reset(&t->out);
		json_private_room(&t->out, room, direct, m.v, m.n);
		reply_ok(r, created ? 201 : 200, NULL);
	} else {
		reply_error(r, e, e == CHAT_E_CONFLICT ? "A room of that name "
		    "exists already; pick another name." : NULL);
	}
	store_members_clear(&m);
	free(users);
}

/* POST /rooms: a private room of the user and the members they name. */
static bool
api_room_create(struct request *r)
{
	struct room_request rq = { 0 };
	const char *why = NULL;
	enum chat_error e;

	if ((e = private_request_ok(r, &why)) == CHAT_OK &&
	    (e = json_parse_room_create(r->t->body.data, r->t->body.len,
	    PRIVATE_MAX_MEMBERS - 1, &rq, &why)) == CHAT_OK &&
	    strncmp(rq.room, PRIVATE_DM_PREFIX, strlen(PRIVATE_DM_PREFIX)) ==
	    0)
		e = chat_error_why(&why, CHAT_E_BAD_ROOM, "Room names starting "
		    "with dm- are kept for direct messages (POST /api/dm).");
	if (e == CHAT_OK)
		private_room_reply(r, &rq, rq.room, CHAT_ROOM_PRIVATE, true);
	else
		reply_error(r, e, why);
	room_request_clear(&rq);
	return false;
}

/* POST /dm: the DM of the user and another, made on first use. */
static bool
api_dm(struct request *r)
{
	struct room_request rq = { 0 };
	char room[CHAT_MAX_ROOM + 1];
	const char *why = NULL;
	enum chat_error e;

	if ((e = private_request_ok(r, &why)) == CHAT_OK &&
	    (e = json_parse_dm(r->t->body.data, r->t->body.len, &rq, &why)) ==
	    CHAT_OK && strcmp(rq.members[0], r->user) == 0)
		e = chat_error_why(&why, CHAT_E_BAD_PARAM, "A direct message "
		    "needs another user than yourself.");
	if (e == CHAT_OK) {
		private_dm_name(r->user, rq.members[0], room);
		private_room_reply(r, &rq, room, CHAT_ROOM_DIRECT, false);
	} else {
		reply_error(r, e, why);
	}
	room_request_clear(&rq);
	return false;
}

/* A room route's check before its handler: a room that user may not see
 * answers as one that does not exist. Returns false after answering. */
static bool
api_access(struct request *r)
{
	enum chat_error e;

	if (r->route->access != ROUTE_ROOM_VISIBLE)
		return true;
	e = private_check(r->t->store, r->room, r->user, &r->access_version);
	if (e == CHAT_OK)
		return true;
	reply_error(r, e, e == CHAT_E_NOT_FOUND ? "There is no such room." :
	    NULL);
	return false;
}

/* --- the entry point ---------------------------------------------------- */

void
api_handle(struct api_thread *t, struct fcgi_req *fr)
{
	struct request r = { .t = t, .fr = fr, .user = identity_fcgi(fr) };
	const char *method = fcgi_param(fr, "REQUEST_METHOD");
	const char *path, *why = NULL;
	char pathbuf[MAX_PATH];
	bool consumed = false;
	enum chat_error e;

	/* Read the body to its end first, whatever the answer: a server
	 * left with unread input answers 503 (Apache) or keeps polling. */
	stats_count(STATS_REQUESTS, 1);
	buf_reset(&t->body);
	if (fcgi_read_body(fr, t->cfg->max_body, &t->body,
	    &r.body_too_large) == -1) {
		fcgi_finish(fr);
		return;
	}
	if ((path = api_path(&r, pathbuf, sizeof(pathbuf))) == NULL) {
		r.route = NULL;
		reply_error(&r, CHAT_E_NOT_FOUND, NULL);
	} else if (api_origin(&r) && api_route(&r, path, method ? method : "")) {
		e = validate_user(r.user, NULL);
		if (e == CHAT_OK)
			e = query_parse(fcgi_param(fr, "QUERY_STRING"), &r.q,
			    &why);
		if (e != CHAT_OK)
			reply_error(&r, e, why);
		else if (api_access(&r))
			consumed = r.route->fn(&r);
	}
	if (!consumed)
		fcgi_finish(fr);
}

struct api_thread *
api_thread_new(const struct config *cfg, struct hub *hub)
{
	struct api_thread *t = calloc(1, sizeof(*t));
	struct store_options so = store_options_from_config(cfg);

	if (t == NULL)
		return NULL;
	t->cfg = cfg;
	t->hub = hub;
	if ((t->store = store_open(&so)) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
api_thread_free(struct api_thread *t)
{
	if (t == NULL)
		return;
	store_free(t->store);
	buf_free(&t->body);
	buf_free(&t->out);
	buf_free(&t->tmp);
	free(t);
}
