/* json.h - the only module that knows cJSON: parses send bodies (json.c)
 * and encodes every JSON answer of API.md (json_encode.c). Encoders append
 * to a struct buf and return 0, or -1 when out of memory. */
#ifndef JSON_H
#define JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chat.h"
#include "error.h"
#include "limit.h"

/* A validated send body. Strings are NUL-terminated, owned by the struct;
 * free with send_request_clear. */
struct send_request {
	char *nick;        /* trimmed */
	char *text;        /* \r\n and \r turned into \n */
	char *client_id;   /* NULL when absent or null */
};

/* Parses and validates a send body (API.md "send"): body[0..len) must be
 * valid UTF-8 holding one JSON object (white space around it allowed);
 * "nick" and "text" are required strings, "client_id" an optional string or
 * null; unknown fields are ignored. An escape that decodes to U+0000 or to
 * a lone surrogate makes its field bad (bad_nick, bad_text,
 * bad_client_id). user is who the web server signed in (identity.h,
 * checked by validate_user) or NULL: when set, "nick" is not read at all
 * and out->nick is a copy of user (API.md: a verified sender's nick is
 * the user name). Returns CHAT_OK and fills *out, or the error kind
 * (bad_json, bad_nick, bad_text, bad_client_id; internal when out of
 * memory) with *why set (why may be NULL) and *out zeroed. */
enum chat_error json_parse_send(const char *body, size_t len,
    const char *user, struct send_request *out, const char **why);

/* Frees the strings of r and zeroes it. Accepts NULL. */
void send_request_clear(struct send_request *r);

/* A validated body of POST /api/rooms ({"room":"r","members":["u",...]})
 * or POST /api/dm ({"user":"u"}). Strings are owned by the struct; free
 * with room_request_clear. */
struct room_request {
	char *room;        /* POST /api/rooms; NULL for a DM */
	char **members;    /* distinct user names, in the order given */
	size_t n;          /* POST /api/dm: 1, the other user */
};

/* Parses and validates a body of POST /api/rooms: "room" a room name
 * (bad_room), "members" an optional array of at most max_members
 * distinct user names (bad_param; a name given twice counts once).
 * Unknown fields are ignored. Returns CHAT_OK and fills *out, or the
 * error kind (bad_json, bad_room, bad_param; internal when out of
 * memory) with *why set and *out zeroed. */
enum chat_error json_parse_room_create(const char *body, size_t len,
    size_t max_members, struct room_request *out, const char **why);

/* Parses and validates a body of POST /api/dm: "user", a user name
 * (bad_param), into out->members[0]. As json_parse_room_create
 * otherwise. */
enum chat_error json_parse_dm(const char *body, size_t len,
    struct room_request *out, const char **why);

/* Frees what r holds and zeroes it. Accepts NULL. */
void room_request_clear(struct room_request *r);

/* {"room":"r","private":true[,"direct":"u"],"members":[...]}: a private
 * room just made or opened (members may be NULL, n 0). */
int json_private_room(struct buf *b, const char *room, const char *direct,
    char *const *members, size_t n);

/* {"id":1,"room":"r","nick":"n","text":"t","ts":2}, with "user":"u"
 * after "nick" when m->user is set (a verified sender). */
int json_message(struct buf *b, const struct chat_message *m);

/* {"messages":[m,...],"last_id":N}; the tombstones of v are not messages
 * but their ids go into "deleted" (json_deleted). */
int json_messages(struct buf *b, const struct chat_message *v, size_t n,
    int64_t last_id);

/* json_messages for messages already encoded: joined[0..len) holds the
 * json_message of each message of v, joined with commas (a tombstone has
 * none), so that a batch encoded once answers many long-polls. The same
 * bytes as json_messages(b, v, n, last_id). */
int json_messages_encoded(struct buf *b, const char *joined, size_t len,
    const struct chat_message *v, size_t n, int64_t last_id);

/* The answer of a read: json_messages, with "limited":true when limited
 * (the client's cursor is older than what retention removed). */
int json_read_answer(struct buf *b, const struct chat_message *v, size_t n,
    int64_t last_id, bool limited);

/* ,"deleted":[id,...] with the deleted ids of the tombstones of v, or
 * nothing when v has none. */
int json_deleted(struct buf *b, const struct chat_message *v, size_t n);

/* The data of an SSE delete event for tombstone m: {"id":42,"room":"r"}
 * with the id of the deleted message. */
int json_delete_event(struct buf *b, const struct chat_message *m);

/* The data of an SSE limited event: {"room":"r","pruned_through":N}. */
int json_limited_event(struct buf *b, const char *room,
    int64_t pruned_through);

/* WebSocket frames' texts (API.md, GET /api/rooms/{room}/ws), each one
 * JSON object with a "type":
 * {"type":"message","message":m} around an encoded message, or with the
 * message itself (json_ws_message); */
int json_ws_wrap(struct buf *b, const char *message, size_t len);
int json_ws_message(struct buf *b, const struct chat_message *m);
/* {"type":"delete","id":42,"room":"r","seq":50} for tombstone m (seq: its
 * own id, the new cursor); */
int json_ws_delete(struct buf *b, const struct chat_message *m);
/* {"type":"limited","room":"r","pruned_through":N}; */
int json_ws_limited(struct buf *b, const char *room, int64_t pruned_through);
/* {"type":"ack","client_id":c,"message":m} (client_id null when NULL); */
int json_ws_ack(struct buf *b, const char *client_id,
    const struct chat_message *m);
/* {"type":"error","client_id":c,"error":{"code":..,"message":..}}. */
int json_ws_error(struct buf *b, const char *client_id, const char *code,
    const char *message);
#define JSON_WS_KEEPALIVE "{\"type\":\"keepalive\"}"

/* Parses a text message a WebSocket client sent: one JSON object whose
 * "type" is "send", with the fields of a send body checked exactly as
 * json_parse_send checks them. Returns CHAT_OK and fills *out (free with
 * send_request_clear), or bad_json (not a JSON object), bad_param (another
 * "type") or the send's error kind, with *why set and *out zeroed. Either
 * way *client_id is the frame's client_id when it was a valid one, for the
 * answer (a new string the caller frees), else NULL. */
enum chat_error json_parse_ws(const char *text, size_t len,
    const char *user, struct send_request *out, char **client_id,
    const char **why);

/* Parses one exported message (a line of `admin export`): a JSON object
 * with "room", "nick" and "text" (checked and normalised like a send),
 * and optional "id" (an integer >= 1; absent or null: 0, a new id), "ts"
 * (an integer >= 0; absent: default_ts) and "user" (a string, checked by
 * validate_user, or null: anonymous; with a user the nick is the user
 * name and "nick" is not read); other fields are ignored.
 * Returns CHAT_OK and fills *out (free with chat_message_clear), or the
 * error kind with *why set (why may be NULL) and *out zeroed. */
enum chat_error json_parse_message(const char *line, size_t len,
    int64_t default_ts, struct chat_message *out, const char **why);

/* {"error":{"code":"c","message":"m"}} */
int json_error(struct buf *b, const char *code, const char *message);

/* {"rooms":[{"name":"r","last_id":1,"messages":2},...]} */
int json_rooms(struct buf *b, const struct chat_room_list *l);

/* {"status":"ok","last_id":N} */
int json_health(struct buf *b, int64_t last_id);

/* {"user":"alice"}, or {"user":null} for NULL (anonymous): GET /api/me. */
int json_me(struct buf *b, const char *user);
/* Who is here (API.md, GET /api/rooms/{room}/presence):
 * {"room":"r","version":N,"people":[{"nick":"alice","user":"alice",
 * "verified":true,"since":T},{"nick":"bob","verified":false,"since":T}]}
 * (a user's nick is the user name). */
struct chat_people;
int json_presence(struct buf *b, const char *room, int64_t version,
    const struct chat_people *p);
/* A long-poll woken by a change of who is here:
 * {"messages":[],"last_id":N,"presence":P} around json_presence's P; */
int json_presence_answer(struct buf *b, int64_t last_id, const char *p,
    size_t len);
/* the same as a WebSocket frame's text: {"type":"presence","presence":P}. */
int json_ws_presence(struct buf *b, const char *p, size_t len);

/* One worker process's figures in GET /api/stats. */
struct json_stats_proc {
	int64_t pid;
	bool self;                   /* the process answering */
	int64_t uptime_s;
	const int64_t *counters;     /* json_stats.n_counters of them */
};

/* The figures of GET /api/stats, as stats.c collects them; encoded as
 * {"now":N,"uptime_s":N,"waiting":{"longpoll":N,"sse":N,"ws":N,"total":N},
 * <totals>,"processes":[{"pid":N,"self":B,"uptime_s":N,<counters>},...],
 * "database":{"path":S,"size_bytes":N,"wal_bytes":N,"schema":N,
 * "last_id":N,"rooms":N,"messages":N},"retention":{"days":N,
 * "messages":N,"interval_s":N},"limits":{"send_rate":N,"send_burst":N,
 * "max_waiting":N,"window_s":N,"top_waiting":[<client>,...],
 * "top_refused":[<client>,...]}} where <counters> is "name":N for each
 * counter name and <client> is {"user":S} or {"address":S} with
 * "waiting":N,"refused_send":N,"refused_waiting":N. */
struct json_stats {
	int64_t now;                 /* ms since the epoch */
	int64_t uptime_s;            /* of the oldest live process */
	int64_t waiting_longpoll, waiting_sse, waiting_ws;
	const char *const *names;    /* counter names, in order */
	size_t n_counters;
	const int64_t *totals;       /* over the processes */
	const struct json_stats_proc *procs;
	size_t n_procs;
	const char *db_path;
	int64_t db_bytes, wal_bytes, last_id, messages;
	int schema;
	size_t rooms;
	int retention_days, retention_interval_s;
	int64_t retention_messages;
	int send_rate, send_burst, max_waiting;
	const struct limit_entry *top_waiting, *top_refused;
	size_t n_top_waiting, n_top_refused;
};

int json_stats(struct buf *b, const struct json_stats *s);

/* Appends s as a JSON string literal with quotes (for other encoders). */
int json_string(struct buf *b, const char *s);

#endif
