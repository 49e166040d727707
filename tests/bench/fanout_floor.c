/* fanout_floor.c - the fan-out floor of fcgichat's stack: the least a
 * FastCGI responder behind lighttpd can do to fan a message out. Each
 * process is one thread, epoll, raw FastCGI on the socket lighttpd passes
 * as descriptor 0; messages live in memory only (no database). Like
 * fcgichat it runs as several processes (lighttpd's max-procs), so that
 * lighttpd has as many backend sockets: a message posted to one is sent to
 * the others as one datagram each (FLOOR_BUS_DIR/bus-PID.sock), and ids
 * come from one counter they share (FLOOR_BUS_DIR/ids, mapped). It speaks
 * fcgichat's URLs as far as
 * tests/bench/loadgen.c uses them:
 *   GET  .../rooms/R/messages?limit=L          the newest L, and last_id
 *   GET  .../rooms/R/messages?since=S&wait=W   those after S, or parks up
 *                                               to W s until one comes
 *   GET  .../rooms/R/events?since=S            an event stream (Last-Event-ID
 *                                               wins over since)
 *   POST .../rooms/R/messages  {"text":"..."}  stores it and answers every
 *                                               waiter of R at once
 *   GET  .../rooms/R/ws?since=S                WebSocket, through lighttpd's
 *                                               mod_proxy to FLOOR_WS_SOCKETS
 * Each message is encoded once per wake-up and the same bytes written to
 * every waiter that asked from the same point. Measured behind
 * floor-lighttpd.conf (fcgichat's lighttpd settings), `make bench` gives
 * each fan-out figure as a ratio fcgichat/floor.
 *
 * Build (run.sh does): cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
 *     -o fanout_floor.fcgi fanout_floor.c ws_client.c http_parse.c -lnettle
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http_parse.h"
#include "ws_client.h"

#define RING 4096          /* messages kept (all rooms) */
#define ROOM_MAX 64
#define TEXT_MAX 256
#define IN_MAX (1 << 16)   /* a request's records, or a handshake */
#define FCGI_STDOUT_MAX 65535

enum { FCGI_BEGIN = 1, FCGI_ABORT = 2, FCGI_END = 3, FCGI_PARAMS = 4,
       FCGI_STDIN = 5, FCGI_STDOUT = 6 };
enum kind { K_LISTEN_FCGI, K_LISTEN_WS, K_BUS, K_FCGI, K_WS_HANDSHAKE, K_WS };
enum park { P_NONE, P_LONGPOLL, P_SSE, P_WS };

struct msg {
	int64_t id;
	char room[ROOM_MAX];
	char text[TEXT_MAX];
};

struct conn {
	int fd;
	enum kind kind;
	enum park park;
	int widx;            /* index in the waiters, when parked */
	int closing;         /* close once out is written */
	int dead;            /* closed; freed after this round of events */
	struct conn *next_dead;
	unsigned reqid;
	char room[ROOM_MAX];
	int64_t since, deadline_ns;
	char *in, *params, *body, *out;
	size_t in_len, params_len, body_len, out_len, out_off, out_cap;
};

static struct msg ring[RING];
static int64_t last_id;
static struct conn **waiters;
static int nwaiters, capwaiters;
static int epfd;
static struct conn *graveyard; /* closed in this round of events */
static _Atomic int64_t *ids;   /* the processes' shared id counter */
static int bus_fd = -1;
static char bus_dir[108], bus_self[128];

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fputs("fanout_floor: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

/* ---------------------------------------------------------- buffers */

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sb *s, const void *d, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2 + 256;
		s->p = xrealloc(s->p, s->cap);
	}
	memcpy(s->p + s->len, d, n);
	s->len += n;
}

static void sb_printf(struct sb *s, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void fcgi_header(struct sb *s, int type, unsigned reqid, size_t len)
{
	unsigned char h[8] = {1, (unsigned char)type, (unsigned char)(reqid >> 8),
			      (unsigned char)reqid, (unsigned char)(len >> 8),
			      (unsigned char)len, 0, 0};
	sb_add(s, h, sizeof h);
}

/* data as FCGI_STDOUT records of request reqid. */
static void fcgi_stdout(struct sb *s, unsigned reqid, const char *d, size_t n)
{
	while (n) {
		size_t k = n > FCGI_STDOUT_MAX ? FCGI_STDOUT_MAX : n;
		fcgi_header(s, FCGI_STDOUT, reqid, k);
		sb_add(s, d, k);
		d += k;
		n -= k;
	}
}

/* The end of a request's answer: an empty stdout and FCGI_END_REQUEST. */
static void fcgi_end(struct sb *s, unsigned reqid)
{
	static const unsigned char end[8] = {0};
	fcgi_header(s, FCGI_STDOUT, reqid, 0);
	fcgi_header(s, FCGI_END, reqid, 8);
	sb_add(s, end, sizeof end);
}

/* ------------------------------------------------------ connections */

static void ep(struct conn *c, int op, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};
	epoll_ctl(epfd, op, c->fd, &e);
}

static void unpark(struct conn *c)
{
	if (c->park == P_NONE)
		return;
	struct conn *last = waiters[--nwaiters];
	waiters[c->widx] = last;
	last->widx = c->widx;
	c->park = P_NONE;
}

static void park(struct conn *c, enum park p)
{
	if (nwaiters == capwaiters) {
		capwaiters = capwaiters ? capwaiters * 2 : 1024;
		waiters = xrealloc(waiters, (size_t)capwaiters * sizeof *waiters);
	}
	c->park = p;
	c->widx = nwaiters;
	waiters[nwaiters++] = c;
}

/* Closes c; its memory goes when no event of this round can name it. */
static void conn_free(struct conn *c)
{
	if (c->dead)
		return;
	unpark(c);
	close(c->fd);
	c->dead = 1;
	c->next_dead = graveyard;
	graveyard = c;
}

static void bury(void)
{
	while (graveyard) {
		struct conn *c = graveyard;
		graveyard = c->next_dead;
		free(c->in);
		free(c->params);
		free(c->body);
		free(c->out);
		free(c);
	}
}

/* Writes what it can of out, then of d; keeps the rest for EPOLLOUT.
 * Returns -1 when the connection is gone (and freed). */
static int conn_send(struct conn *c, const char *d, size_t n)
{
	if (c->out_off == c->out_len && n) {
		ssize_t k = send(c->fd, d, n, MSG_NOSIGNAL);
		if (k < 0 && errno != EAGAIN) {
			conn_free(c);
			return -1;
		}
		if (k > 0) {
			d += k;
			n -= (size_t)k;
		}
	}
	if (n) {
		if (c->out_off == c->out_len)
			c->out_off = c->out_len = 0;
		if (c->out_len + n > c->out_cap) {
			c->out_cap = (c->out_len + n) * 2;
			c->out = xrealloc(c->out, c->out_cap);
		}
		memcpy(c->out + c->out_len, d, n);
		c->out_len += n;
		ep(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
		return 0;
	}
	if (c->closing) {
		conn_free(c);
		return -1;
	}
	return 0;
}

static void conn_flush(struct conn *c)
{
	ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL);
	if (k < 0 && errno != EAGAIN) {
		conn_free(c);
		return;
	}
	if (k > 0)
		c->out_off += (size_t)k;
	if (c->out_off < c->out_len)
		return;
	if (c->closing) {
		conn_free(c);
		return;
	}
	ep(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
}

/* ----------------------------------------------------------- answers */

static void json_message(struct sb *s, const struct msg *m)
{
	sb_printf(s, "{\"id\":%" PRId64 ",\"room\":\"%s\",\"nick\":\"bench\","
		  "\"text\":\"%s\"}", m->id, m->room, m->text);
}

/* The messages of room after since, as a JSON array's items. */
static int messages_after(struct sb *s, const char *room, int64_t since,
			  int limit)
{
	int64_t from = last_id - RING + 1 > since + 1 ? last_id - RING + 1
						      : since + 1;
	int n = 0;
	for (int64_t id = from; id <= last_id; id++) {
		const struct msg *m = &ring[id % RING];
		if (m->id != id || strcmp(m->room, room) != 0)
			continue;
		if (n++)
			sb_add(s, ",", 1);
		json_message(s, m);
	}
	(void)limit;
	return n;
}

static void answer(struct conn *c, int status, const char *type,
		   const char *body, size_t n)
{
	struct sb h = {0}, r = {0};
	sb_printf(&h, "Status: %d\r\nContent-Type: %s\r\nCache-Control: "
		  "no-store\r\nContent-Length: %zu\r\n\r\n", status, type, n);
	sb_add(&h, body, n);
	fcgi_stdout(&r, c->reqid, h.p, h.len);
	fcgi_end(&r, c->reqid);
	c->closing = 1;
	conn_send(c, r.p, r.len);
	free(h.p);
	free(r.p);
}

static void answer_json(struct conn *c, int status, struct sb *body)
{
	answer(c, status, "application/json; charset=utf-8", body->p,
	       body->len);
}

/* {"messages":[...],"last_id":N} of room after since, as a whole answer. */
static void longpoll_body(struct sb *s, const char *room, int64_t since)
{
	sb_printf(s, "{\"messages\":[");
	messages_after(s, room, since, 0);
	sb_printf(s, "],\"last_id\":%" PRId64 "}", last_id);
}

static void sse_event(struct sb *s, const struct msg *m)
{
	sb_printf(s, "id: %" PRId64 "\nevent: message\ndata: ", m->id);
	json_message(s, m);
	sb_add(s, "\n\n", 2);
}

static void ws_frame(struct sb *s, const struct msg *m)
{
	struct sb p = {0};
	sb_printf(&p, "{\"type\":\"message\",\"message\":");
	json_message(&p, m);
	sb_add(&p, "}", 1);
	unsigned char h[4] = {0x81};
	size_t hl = 2;
	if (p.len < 126) {
		h[1] = (unsigned char)p.len;
	} else {
		h[1] = 126;
		h[2] = (unsigned char)(p.len >> 8);
		h[3] = (unsigned char)p.len;
		hl = 4;
	}
	sb_add(s, h, hl);
	sb_add(s, p.p, p.len);
	free(p.p);
}

/* The bytes for a stream waiter of room after since (backlog, or one new
 * message): SSE events wrapped in FastCGI stdout, or WebSocket frames. */
static void stream_bytes(struct sb *s, const struct conn *c, int64_t since)
{
	struct sb e = {0};
	int64_t from = since + 1 > last_id - RING + 1 ? since + 1
						      : last_id - RING + 1;
	for (int64_t id = from; id <= last_id; id++) {
		const struct msg *m = &ring[id % RING];
		if (m->id != id || strcmp(m->room, c->room) != 0)
			continue;
		if (c->park == P_WS)
			ws_frame(&e, m);
		else
			sse_event(&e, m);
	}
	if (c->park == P_WS)
		sb_add(s, e.p, e.len);
	else if (e.len)
		fcgi_stdout(s, c->reqid, e.p, e.len);
	free(e.p);
}

/* Every waiter of m's room gets m: the bytes are made once per kind of
 * waiter (and long-poll cursor, FastCGI request id) and written to all. */
static void fan_out(const struct msg *m)
{
	struct sb cache[3] = {{0}};
	int64_t key_since[3] = {-1, -1, -1};
	unsigned key_req[3] = {0};
	for (int i = nwaiters - 1; i >= 0; i--) {
		if (i >= nwaiters)
			continue; /* a write freed waiters above */
		struct conn *c = waiters[i];
		if (strcmp(c->room, m->room) != 0)
			continue;
		int k = c->park == P_LONGPOLL ? 0 : c->park == P_SSE ? 1 : 2;
		int64_t since = k == 0 ? c->since : m->id - 1;
		if (cache[k].len == 0 || key_since[k] != since ||
		    key_req[k] != c->reqid) {
			cache[k].len = 0;
			key_since[k] = since;
			key_req[k] = c->reqid;
			if (k == 0) {
				struct sb b = {0}, h = {0};
				longpoll_body(&b, c->room, since);
				sb_printf(&h, "Status: 200\r\nContent-Type: "
					  "application/json; charset=utf-8\r\n"
					  "Cache-Control: no-store\r\n"
					  "Content-Length: %zu\r\n\r\n", b.len);
				sb_add(&h, b.p, b.len);
				fcgi_stdout(&cache[k], c->reqid, h.p, h.len);
				fcgi_end(&cache[k], c->reqid);
				free(b.p);
				free(h.p);
			} else {
				stream_bytes(&cache[k], c, since);
			}
		}
		if (k == 0) {
			unpark(c);
			c->closing = 1;
		}
		conn_send(c, cache[k].p, cache[k].len);
	}
	for (int k = 0; k < 3; k++)
		free(cache[k].p);
}

/* --------------------------------------------------------------- bus */

/* Keeps m in the ring; the newest id moves on. */
static struct msg *store(const struct msg *m)
{
	struct msg *slot = &ring[m->id % RING];
	*slot = *m;
	if (m->id > last_id)
		last_id = m->id;
	return slot;
}

/* m to every other process's bus socket in FLOOR_BUS_DIR. */
static void bus_send(const struct msg *m)
{
	DIR *d = bus_fd >= 0 ? opendir(bus_dir) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		if (strncmp(e->d_name, "bus-", 4) != 0 ||
		    snprintf(a.sun_path, sizeof a.sun_path, "%s/%s", bus_dir,
			     e->d_name) >= (int)sizeof a.sun_path ||
		    strcmp(a.sun_path, bus_self) == 0)
			continue;
		sendto(bus_fd, m, sizeof *m, 0, (struct sockaddr *)&a, sizeof a);
	}
	if (d)
		closedir(d);
}

/* Messages posted to the other processes: kept and fanned out here. */
static void bus_read(void)
{
	struct msg m;
	while (recv(bus_fd, &m, sizeof m, 0) == (ssize_t)sizeof m) {
		m.room[ROOM_MAX - 1] = m.text[TEXT_MAX - 1] = '\0';
		fan_out(store(&m));
	}
}

/* The bus socket and the id counter, when FLOOR_BUS_DIR is set. */
static int bus_open(const char *dir)
{
	char path[160];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(bus_dir, sizeof bus_dir, "%s", dir);
	snprintf(path, sizeof path, "%s/ids", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof *ids) < 0)
		return -1;
	ids = mmap(NULL, sizeof *ids, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (ids == MAP_FAILED)
		return -1;
	snprintf(bus_self, sizeof bus_self, "%s/bus-%ld.sock", dir,
		 (long)getpid());
	if (strlen(bus_self) >= sizeof a.sun_path)
		return -1;
	strcpy(a.sun_path, bus_self);
	unlink(bus_self);
	bus_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int big = 1 << 22;
	setsockopt(bus_fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	return bus_fd < 0 ||
	       bind(bus_fd, (struct sockaddr *)&a, sizeof a) < 0 ? -1 : 0;
}

/* ---------------------------------------------------------- requests */

/* "/.../rooms/ROOM/WHAT?QUERY": ROOM into room, WHAT's start returned. */
static const char *room_of(const char *uri, char room[ROOM_MAX])
{
	const char *r = strstr(uri, "/rooms/");
	if (!r)
		return NULL;
	r += 7;
	const char *e = strchr(r, '/');
	if (!e || e == r || e - r >= ROOM_MAX)
		return NULL;
	memcpy(room, r, (size_t)(e - r));
	room[e - r] = '\0';
	return e + 1;
}

static int64_t query_num(const char *uri, const char *name, int64_t dflt)
{
	const char *q = strchr(uri, '?');
	size_t n = strlen(name);
	while (q) {
		q++;
		if (strncmp(q, name, n) == 0 && q[n] == '=')
			return strtoll(q + n + 1, NULL, 10);
		q = strchr(q, '&');
	}
	return dflt;
}

static void post_message(struct conn *c)
{
	struct sb r = {0};
	const char *t = c->body ? memmem(c->body, c->body_len, "\"text\":\"", 8)
				: NULL;
	const char *e = t ? memchr(t + 8, '"', c->body_len - (size_t)(t + 8 - c->body))
			  : NULL;
	if (!e || e - (t + 8) >= TEXT_MAX) {
		sb_printf(&r, "{\"error\":{\"code\":\"bad_request\"}}");
		answer_json(c, 400, &r);
		free(r.p);
		return;
	}
	struct msg in = {.id = atomic_fetch_add(ids, 1) + 1};
	snprintf(in.room, sizeof in.room, "%s", c->room);
	memcpy(in.text, t + 8, (size_t)(e - (t + 8)));
	in.text[e - (t + 8)] = '\0';
	bus_send(&in);
	struct msg *m = store(&in);
	fan_out(m);
	sb_printf(&r, "{\"id\":%" PRId64 "}", m->id);
	answer_json(c, 201, &r);
	free(r.p);
}

static void get_messages(struct conn *c, const char *uri)
{
	int64_t since = query_num(uri, "since", -1);
	int64_t wait = query_num(uri, "wait", 0);
	struct sb r = {0};
	if (since < 0) { /* the newest ones: last_id is all the bench needs */
		int64_t limit = query_num(uri, "limit", 50);
		longpoll_body(&r, c->room, last_id - limit);
		answer_json(c, 200, &r);
	} else if (since >= last_id && wait > 0) {
		c->since = since;
		c->deadline_ns = now_ns() + wait * 1000000000;
		park(c, P_LONGPOLL);
	} else {
		longpoll_body(&r, c->room, since);
		answer_json(c, 200, &r);
	}
	free(r.p);
}

static void get_events(struct conn *c, const char *uri, const char *leid)
{
	int64_t since = leid ? strtoll(leid, NULL, 10)
			     : query_num(uri, "since", last_id);
	static const char head[] = "Status: 200\r\nContent-Type: "
				   "text/event-stream\r\nCache-Control: "
				   "no-store\r\n\r\nretry: 1000\n\n";
	struct sb r = {0};
	fcgi_stdout(&r, c->reqid, head, sizeof head - 1);
	park(c, P_SSE);
	stream_bytes(&r, c, since);
	conn_send(c, r.p, r.len);
	free(r.p);
}

/* A name-value pair's length (FastCGI 3.4): 1 byte, or 4 with the top bit. */
static int nv_len(const unsigned char **p, const unsigned char *end,
		  size_t *n)
{
	if (*p >= end)
		return -1;
	if (!(**p & 0x80)) {
		*n = *(*p)++;
		return 0;
	}
	if (end - *p < 4)
		return -1;
	*n = ((size_t)((*p)[0] & 0x7f) << 24) | ((size_t)(*p)[1] << 16) |
	     ((size_t)(*p)[2] << 8) | (*p)[3];
	*p += 4;
	return 0;
}

/* The params lighttpd sent: REQUEST_METHOD, REQUEST_URI, Last-Event-ID. */
static void handle_request(struct conn *c)
{
	char method[8] = "", uri[1024] = "", leid[32] = "";
	int has_leid = 0;
	const unsigned char *p = (const unsigned char *)c->params,
			    *end = p + c->params_len;
	while (p < end) {
		size_t nl, vl;
		if (nv_len(&p, end, &nl) || nv_len(&p, end, &vl) ||
		    (size_t)(end - p) < nl + vl)
			break;
		const char *name = (const char *)p, *val = name + nl;
		char *dst = NULL;
		size_t cap = 0;
		if (nl == 14 && !memcmp(name, "REQUEST_METHOD", 14))
			dst = method, cap = sizeof method;
		else if (nl == 11 && !memcmp(name, "REQUEST_URI", 11))
			dst = uri, cap = sizeof uri;
		else if (nl == 18 && !memcmp(name, "HTTP_LAST_EVENT_ID", 18))
			dst = leid, cap = sizeof leid, has_leid = 1;
		if (dst && vl < cap) {
			memcpy(dst, val, vl);
			dst[vl] = '\0';
		}
		p += nl + vl;
	}
	const char *what = room_of(uri, c->room);
	struct sb r = {0};
	if (what && !strcmp(method, "POST") && !strncmp(what, "messages", 8)) {
		post_message(c);
	} else if (what && !strcmp(method, "GET") &&
		   !strncmp(what, "messages", 8)) {
		get_messages(c, uri);
	} else if (what && !strcmp(method, "GET") &&
		   !strncmp(what, "events", 6)) {
		get_events(c, uri, has_leid ? leid : NULL);
	} else {
		sb_printf(&r, "{\"error\":{\"code\":\"not_found\"}}");
		answer_json(c, 404, &r);
	}
	free(r.p);
}

/* The records read so far; -1 when the connection was freed. */
static int fcgi_records(struct conn *c)
{
	size_t pos = 0;
	while (c->in_len - pos >= 8) {
		const unsigned char *h = (const unsigned char *)c->in + pos;
		size_t clen = (size_t)h[4] << 8 | h[5], total = 8 + clen + h[6];
		if (c->in_len - pos < total)
			break;
		const char *d = c->in + pos + 8;
		pos += total;
		switch (h[1]) {
		case FCGI_BEGIN:
			c->reqid = (unsigned)h[2] << 8 | h[3];
			break;
		case FCGI_PARAMS:
			c->params = xrealloc(c->params, c->params_len + clen + 1);
			memcpy(c->params + c->params_len, d, clen);
			c->params_len += clen;
			break;
		case FCGI_STDIN:
			if (clen == 0) {
				memmove(c->in, c->in + pos, c->in_len - pos);
				c->in_len -= pos;
				handle_request(c);
				return 0;
			}
			c->body = xrealloc(c->body, c->body_len + clen);
			memcpy(c->body + c->body_len, d, clen);
			c->body_len += clen;
			break;
		case FCGI_ABORT:
			conn_free(c);
			return -1;
		}
	}
	memmove(c->in, c->in + pos, c->in_len - pos);
	c->in_len -= pos;
	return 0;
}

/* The proxied handshake: 101 with the accept of its key, then the
 * messages after since= and every new one as a text frame. */
static void ws_handshake_done(struct conn *c)
{
	char accept[WS_ACCEPT_LEN + 1], key[64] = "";
	c->in[c->in_len] = '\0';
	char *eol = strstr(c->in, "\r\n"), *k = c->in;
	while ((k = strcasestr(k, "\nSec-WebSocket-Key:")) != NULL) {
		k += 19;
		k += strspn(k, " \t");
		size_t n = strcspn(k, "\r\n");
		if (n < sizeof key) {
			memcpy(key, k, n);
			key[n] = '\0';
		}
		break;
	}
	if (eol)
		*eol = '\0';
	if (!key[0] || !room_of(c->in, c->room)) {
		static const char bad[] = "HTTP/1.1 400 Bad Request\r\n"
					  "Content-Length: 0\r\n\r\n";
		c->closing = 1;
		conn_send(c, bad, sizeof bad - 1);
		return;
	}
	ws_accept_for(key, accept);
	struct sb r = {0};
	sb_printf(&r, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		  accept);
	c->kind = K_WS;
	c->in_len = 0;
	park(c, P_WS);
	stream_bytes(&r, c, query_num(c->in, "since", last_id));
	conn_send(c, r.p, r.len);
	free(r.p);
}

static void conn_read(struct conn *c)
{
	for (;;) {
		if (c->in_len >= IN_MAX - 1) {
			if (c->kind != K_WS) {
				conn_free(c);
				return;
			}
			c->in_len = 0; /* a client's frames: not needed */
		}
		ssize_t n = read(c->fd, c->in + c->in_len, IN_MAX - 1 - c->in_len);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		c->in_len += (size_t)n;
		if (c->kind == K_FCGI && c->park == P_NONE && !c->closing) {
			if (fcgi_records(c) < 0 || c->dead)
				return;
		} else if (c->kind == K_WS_HANDSHAKE &&
			   memmem(c->in, c->in_len, "\r\n\r\n", 4)) {
			ws_handshake_done(c);
			return;
		} else if (c->kind == K_WS) {
			c->in_len = 0;
		}
	}
}

static void accept_all(struct conn *l)
{
	int fd;
	while ((fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->kind = l->kind == K_LISTEN_WS ? K_WS_HANDSHAKE : K_FCGI;
		c->in = xrealloc(NULL, IN_MAX);
		ep(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLRDHUP);
	}
}

/* Long-polls past their wait get the empty answer fcgichat gives. */
static void expire(int64_t now)
{
	for (int i = nwaiters - 1; i >= 0; i--) {
		if (i >= nwaiters)
			continue;
		struct conn *c = waiters[i];
		if (c->park != P_LONGPOLL || c->deadline_ns > now)
			continue;
		struct sb r = {0};
		unpark(c);
		longpoll_body(&r, c->room, c->since);
		answer_json(c, 200, &r);
		free(r.p);
	}
}

static struct conn *listener(int fd, enum kind kind)
{
	struct conn *l = calloc(1, sizeof *l);
	if (!l)
		exit(1);
	l->fd = fd;
	l->kind = kind;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ep(l, EPOLL_CTL_ADD, EPOLLIN);
	return l;
}

/* The first socket of the list (paths between spaces) that no other
 * process has taken, as fcgichat's workers take theirs. */
static int ws_listen(const char *list)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	while (fd >= 0 && *list) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		size_t n = strcspn(list, " ");
		if (n < sizeof a.sun_path) {
			memcpy(a.sun_path, list, n);
			if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0)
				return listen(fd, 4096) == 0 ? fd : -1;
		}
		list += n;
		list += strspn(list, " ");
	}
	errno = EADDRINUSE;
	return -1;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return 1;
	listener(0, K_LISTEN_FCGI);
	const char *dir = getenv("FLOOR_BUS_DIR");
	static _Atomic int64_t own_ids;
	ids = &own_ids;
	if (dir && *dir) {
		if (bus_open(dir) < 0) {
			fprintf(stderr, "fanout_floor: %s: %s\n", dir,
				strerror(errno));
			return 1;
		}
		listener(bus_fd, K_BUS);
	}
	const char *ws = getenv("FLOOR_WS_SOCKETS");
	if (ws && *ws) {
		int fd = ws_listen(ws);
		if (fd < 0) {
			fprintf(stderr, "fanout_floor: %s: %s\n", ws,
				strerror(errno));
			return 1;
		}
		listener(fd, K_LISTEN_WS);
	}
	struct epoll_event ev[256];
	int64_t next_expiry = now_ns() + 1000000000;
	for (;;) {
		int n = epoll_wait(epfd, ev, 256, 1000);
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			if (c->kind == K_LISTEN_FCGI || c->kind == K_LISTEN_WS) {
				accept_all(c);
				continue;
			}
			if (c->kind == K_BUS) {
				bus_read();
				continue;
			}
			if (!c->dead && (ev[i].events & EPOLLOUT))
				conn_flush(c);
			if (!c->dead && (ev[i].events & ~(uint32_t)EPOLLOUT))
				conn_read(c);
		}
		bury();
		int64_t now = now_ns();
		if (now >= next_expiry) {
			expire(now);
			next_expiry = now + 1000000000;
		}
	}
}
