/* json_encode.c - the encoders of json.h: every JSON answer of API.md,
 * written directly into a struct buf, without cJSON. */
#include "json.h"
#include "store.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#define JSON_ESC_LEN 6	/* \uXXXX */

/*
 * Hot path: a message goes out to every listener, so strings are copied in
 * runs between the few bytes that need an escape. Appends after a failed
 * one do nothing, so encoders check b->oom once at the end.
 */

/* Short escapes; other bytes below 0x20 become \u00XX. */
static const char *const json_short_esc[0x60] = {
	['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n", ['\f'] = "\\f",
	['\r'] = "\\r", ['"'] = "\\\"", ['\\'] = "\\\\",
};

/* True for bytes that may start an escape: controls, '"', '\\' and 0xE2,
 * the lead byte of U+2028 and U+2029 (E2 80 A8, E2 80 A9). */
static bool
json_special(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\' || c == 0xE2;
}

/* Appends the escape for the special byte at p; returns the bytes used. */
static size_t
json_escape(struct buf *b, const unsigned char *p)
{
	static const char hex[] = "0123456789abcdef";
	char u[JSON_ESC_LEN] = { '\\', 'u', '0', '0', 0, 0 };

	if (p[0] == 0xE2) {
		if (p[1] != 0x80 || (p[2] != 0xA8 && p[2] != 0xA9)) {
			buf_append(b, p, 1);
			return 1;
		}
		buf_puts(b, p[2] == 0xA8 ? "\\u2028" : "\\u2029");
		return 3;
	}
	if (json_short_esc[p[0]] != NULL) {
		buf_puts(b, json_short_esc[p[0]]);
		return 1;
	}
	u[4] = hex[p[0] >> 4];
	u[5] = hex[p[0] & 0xF];
	buf_append(b, u, sizeof(u));
	return 1;
}

int
json_string(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;

	buf_append(b, "\"", 1);
	for (;;) {
		for (run = p; *p != '\0' && !json_special(*p); p++)
			;
		buf_append(b, run, (size_t)(p - run));
		if (*p == '\0')
			break;
		p += json_escape(b, p);
	}
	buf_append(b, "\"", 1);
	return b->oom ? -1 : 0;
}

static void
json_message_fields(struct buf *b, const struct chat_message *m)
{
	buf_printf(b, "{\"id\":%" PRId64 ",\"room\":", m->id);
	json_string(b, m->room);
	buf_puts(b, ",\"nick\":");
	json_string(b, m->nick);
	if (m->user != NULL) {
		buf_puts(b, ",\"user\":");
		json_string(b, m->user);
	}
	buf_puts(b, ",\"text\":");
	json_string(b, m->text);
	buf_printf(b, ",\"ts\":%" PRId64 "}", m->ts);
}

int
json_message(struct buf *b, const struct chat_message *m)
{
	json_message_fields(b, m);
	return b->oom ? -1 : 0;
}

int
json_deleted(struct buf *b, const struct chat_message *v, size_t n)
{
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (v[i].deletes == 0)
			continue;
		buf_puts(b, any ? "," : ",\"deleted\":[");
		buf_printf(b, "%" PRId64, v[i].deletes);
		any = true;
	}
	if (any)
		buf_append(b, "]", 1);
	return b->oom ? -1 : 0;
}

int
json_read_answer(struct buf *b, const struct chat_message *v, size_t n,
    int64_t last_id, bool limited)
{
	bool first = true;

	buf_puts(b, "{\"messages\":[");
	for (size_t i = 0; i < n; i++) {
		if (v[i].deletes != 0)
			continue;
		if (!first)
			buf_append(b, ",", 1);
		json_message_fields(b, &v[i]);
		first = false;
	}
	buf_append(b, "]", 1);
	json_deleted(b, v, n);
	buf_printf(b, ",\"last_id\":%" PRId64 "%s}", last_id,
	    limited ? ",\"limited\":true" : "");
	return b->oom ? -1 : 0;
}

int
json_messages(struct buf *b, const struct chat_message *v, size_t n,
    int64_t last_id)
{
	return json_read_answer(b, v, n, last_id, false);
}

int
json_messages_encoded(struct buf *b, const char *joined, size_t len,
    const struct chat_message *v, size_t n, int64_t last_id)
{
	buf_puts(b, "{\"messages\":[");
	buf_append(b, joined, len);
	buf_append(b, "]", 1);
	json_deleted(b, v, n);
	buf_printf(b, ",\"last_id\":%" PRId64 "}", last_id);
	return b->oom ? -1 : 0;
}

int
json_delete_event(struct buf *b, const struct chat_message *m)
{
	buf_printf(b, "{\"id\":%" PRId64 ",\"room\":", m->deletes);
	json_string(b, m->room);
	buf_append(b, "}", 1);
	return b->oom ? -1 : 0;
}

int
json_limited_event(struct buf *b, const char *room, int64_t pruned_through)
{
	buf_puts(b, "{\"room\":");
	json_string(b, room);
	buf_printf(b, ",\"pruned_through\":%" PRId64 "}", pruned_through);
	return b->oom ? -1 : 0;
}

int
json_ws_wrap(struct buf *b, const char *message, size_t len)
{
	buf_puts(b, "{\"type\":\"message\",\"message\":");
	buf_append(b, message, len);
	buf_append(b, "}", 1);
	return b->oom ? -1 : 0;
}

int
json_ws_message(struct buf *b, const struct chat_message *m)
{
	buf_puts(b, "{\"type\":\"message\",\"message\":");
	json_message_fields(b, m);
	buf_append(b, "}", 1);
	return b->oom ? -1 : 0;
}

int
json_ws_delete(struct buf *b, const struct chat_message *m)
{
	buf_printf(b, "{\"type\":\"delete\",\"id\":%" PRId64 ",\"room\":",
	    m->deletes);
	json_string(b, m->room);
	buf_printf(b, ",\"seq\":%" PRId64 "}", m->id);
	return b->oom ? -1 : 0;
}

int
json_ws_limited(struct buf *b, const char *room, int64_t pruned_through)
{
	buf_puts(b, "{\"type\":\"limited\",\"room\":");
	json_string(b, room);
	buf_printf(b, ",\"pruned_through\":%" PRId64 "}", pruned_through);
	return b->oom ? -1 : 0;
}

/* ,"client_id":"c" or ,"client_id":null */
static void
json_client_id(struct buf *b, const char *client_id)
{
	buf_puts(b, ",\"client_id\":");
	if (client_id != NULL)
		json_string(b, client_id);
	else
		buf_puts(b, "null");
}

int
json_ws_ack(struct buf *b, const char *client_id,
    const struct chat_message *m)
{
	buf_puts(b, "{\"type\":\"ack\"");
	json_client_id(b, client_id);
	buf_puts(b, ",\"message\":");
	json_message_fields(b, m);
	buf_append(b, "}", 1);
	return b->oom ? -1 : 0;
}

int
json_ws_error(struct buf *b, const char *client_id, const char *code,
    const char *message)
{
	buf_puts(b, "{\"type\":\"error\"");
	json_client_id(b, client_id);
	buf_puts(b, ",\"error\":{\"code\":");
	json_string(b, code);
	buf_puts(b, ",\"message\":");
	json_string(b, message);
	buf_puts(b, "}}");
	return b->oom ? -1 : 0;
}

int
json_error(struct buf *b, const char *code, const char *message)
{
	buf_puts(b, "{\"error\":{\"code\":");
	json_string(b, code);
	buf_puts(b, ",\"message\":");
	json_string(b, message);
	buf_puts(b, "}}");
	return b->oom ? -1 : 0;
}

int
json_rooms(struct buf *b, const struct chat_room_list *l)
{
	buf_puts(b, "{\"rooms\":[");
	for (size_t i = 0; i < l->n; i++) {
		buf_puts(b, i > 0 ? ",{\"name\":" : "{\"name\":");
		json_string(b, l->v[i].name);
		buf_printf(b, ",\"last_id\":%" PRId64 ",\"messages\":%" PRId64,
		    l->v[i].last_id, l->v[i].messages);
		if (l->v[i].kind != CHAT_ROOM_PUBLIC)
			buf_puts(b, ",\"private\":true");
		if (l->v[i].kind == CHAT_ROOM_DIRECT) {
			buf_puts(b, ",\"direct\":");
			json_string(b, l->v[i].direct);
		}
		buf_puts(b, "}");
	}
	buf_puts(b, "]}");
	return b->oom ? -1 : 0;
}

int
json_private_room(struct buf *b, const char *room, const char *direct,
    char *const *members, size_t n)
{
	buf_puts(b, "{\"room\":");
	json_string(b, room);
	buf_puts(b, ",\"private\":true");
	if (direct != NULL) {
		buf_puts(b, ",\"direct\":");
		json_string(b, direct);
	}
	buf_puts(b, ",\"members\":[");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_puts(b, ",");
		json_string(b, members[i]);
	}
	buf_puts(b, "]}");
	return b->oom ? -1 : 0;
}

int
json_health(struct buf *b, int64_t last_id)
{
	buf_printf(b, "{\"status\":\"ok\",\"last_id\":%" PRId64 "}", last_id);
	return b->oom ? -1 : 0;
}

int
json_me(struct buf *b, const char *user)
{
	buf_puts(b, "{\"user\":");
	if (user != NULL)
		json_string(b, user);
	else
		buf_puts(b, "null");
	buf_puts(b, "}");
	return b->oom ? -1 : 0;
}

int
json_presence(struct buf *b, const char *room, int64_t version,
    const struct chat_people *p)
{
	buf_puts(b, "{\"room\":");
	json_string(b, room);
	buf_printf(b, ",\"version\":%" PRId64 ",\"people\":[", version);
	for (size_t i = 0; i < p->n; i++) {
		buf_puts(b, i ? ",{\"nick\":" : "{\"nick\":");
		json_string(b, p->v[i].name);
		if (p->v[i].verified) {
			buf_puts(b, ",\"user\":");
			json_string(b, p->v[i].name);
		}
		buf_printf(b, ",\"verified\":%s,\"since\":%" PRId64 "}",
		    p->v[i].verified ? "true" : "false", p->v[i].since_ms);
	}
	buf_puts(b, "]}");
	return b->oom ? -1 : 0;
}

int
json_presence_answer(struct buf *b, int64_t last_id, const char *p,
    size_t len)
{
	buf_printf(b, "{\"messages\":[],\"last_id\":%" PRId64
	    ",\"presence\":", last_id);
	buf_append(b, p, len);
	buf_puts(b, "}");
	return b->oom ? -1 : 0;
}

int
json_ws_presence(struct buf *b, const char *p, size_t len)
{
	buf_puts(b, "{\"type\":\"presence\",\"presence\":");
	buf_append(b, p, len);
	buf_puts(b, "}");
	return b->oom ? -1 : 0;
}

/* "name":N for each counter: the same names at the top (totals) and in
 * each process. */
static void
json_counters(struct buf *b, const char *const *names, const int64_t *v,
    size_t n)
{
	for (size_t k = 0; k < n; k++)
		buf_printf(b, "%s\"%s\":%" PRId64, k ? "," : "", names[k],
		    v[k]);
}

static void
json_stats_proc(struct buf *b, const struct json_stats *s,
    const struct json_stats_proc *p)
{
	buf_printf(b, "{\"pid\":%" PRId64 ",\"self\":%s,\"uptime_s\":%" PRId64
	    ",", p->pid, p->self ? "true" : "false", p->uptime_s);
	json_counters(b, s->names, p->counters, s->n_counters);
	buf_append(b, "}", 1);
}

/* One client of the limits' top lists: a key "u:NAME" is a user. */
static void
json_limit_list(struct buf *b, const char *name,
    const struct limit_entry *v, size_t n)
{
	buf_printf(b, ",\"%s\":[", name);
	for (size_t i = 0; i < n; i++) {
		bool user = strncmp(v[i].key, "u:", 2) == 0;
		buf_printf(b, "%s{\"%s\":", i > 0 ? "," : "",
		    user ? "user" : "address");
		json_string(b, user ? v[i].key + 2 : v[i].key);
		buf_printf(b, ",\"waiting\":%d,\"refused_send\":%d,"
		    "\"refused_waiting\":%d}", v[i].waiting, v[i].refused_send,
		    v[i].refused_waiting);
	}
	buf_append(b, "]", 1);
}

int
json_stats(struct buf *b, const struct json_stats *s)
{
	buf_printf(b, "{\"now\":%" PRId64 ",\"uptime_s\":%" PRId64
	    ",\"waiting\":{\"longpoll\":%" PRId64 ",\"sse\":%" PRId64
	    ",\"ws\":%" PRId64 ",\"total\":%" PRId64 "},", s->now,
	    s->uptime_s, s->waiting_longpoll, s->waiting_sse, s->waiting_ws,
	    s->waiting_longpoll + s->waiting_sse + s->waiting_ws);
	json_counters(b, s->names, s->totals, s->n_counters);
	buf_puts(b, ",\"processes\":[");
	for (size_t i = 0; i < s->n_procs; i++) {
		if (i > 0)
			buf_append(b, ",", 1);
		json_stats_proc(b, s, &s->procs[i]);
	}
	buf_puts(b, "],\"database\":{\"path\":");
	json_string(b, s->db_path);
	buf_printf(b, ",\"size_bytes\":%" PRId64 ",\"wal_bytes\":%" PRId64
	    ",\"schema\":%d,\"last_id\":%" PRId64 ",\"rooms\":%zu,"
	    "\"messages\":%" PRId64 "}", s->db_bytes, s->wal_bytes, s->schema,
	    s->last_id, s->rooms, s->messages);
	buf_printf(b, ",\"retention\":{\"days\":%d,\"messages\":%" PRId64
	    ",\"interval_s\":%d}", s->retention_days, s->retention_messages,
	    s->retention_interval_s);
	buf_printf(b, ",\"limits\":{\"send_rate\":%d,\"send_burst\":%d,"
	    "\"max_waiting\":%d,\"window_s\":%d", s->send_rate, s->send_burst,
	    s->max_waiting, LIMIT_WINDOW_S);
	json_limit_list(b, "top_waiting", s->top_waiting, s->n_top_waiting);
	json_limit_list(b, "top_refused", s->top_refused, s->n_top_refused);
	buf_puts(b, "}}");
	return b->oom ? -1 : 0;
}
