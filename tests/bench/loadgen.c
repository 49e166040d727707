/* loadgen.c - fcgichat's own load generator.
 *
 * One process, one thread, epoll, many non-blocking HTTP/1.1 keep-alive
 * connections to a server on the loopback interface (127.0.0.0/8 only).
 * Every loop is bounded: each scenario has a hard overall deadline, and
 * every request and connection attempt has its own timeout.
 *
 * Scenarios (each prints one JSON line, then a human line starting "# "):
 *   fanout    N waiting clients (long-poll, SSE or WebSocket) in one room;
 *             one sender posts M messages one at a time, each after every
 *             client got the previous one (or a timeout); per-delivery
 *             latency, and a check that every client got every message
 *             once, in order.
 *   send      C keep-alive senders for T seconds: committed messages/s.
 *   poll      C keep-alive clients GETting one URL for T seconds.
 *   idle      park N waiting clients and hold them S seconds.
 *   selftest  checks the HTTP, chunked, SSE, WebSocket and JSON scanners.
 * `loadgen help` lists the options. Exit status: 0 when the run passed its
 * checks, 1 when it did not, 2 on a usage error.
 *
 * Build: cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
 *            -o loadgen loadgen.c http_parse.c ws_client.c -lnettle
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http_parse.h"
#include "ws_client.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
#define OUT_MAX 1024
#define READ_BUF (64 * 1024)
#define MAX_CLIENTS 20000
#define MAX_MESSAGES 100000
#define MAX_FAILS 20          /* a client that fails this often gives up */
#define REQ_TIMEOUT_S 10      /* send, poll and the fan-out sender */
#define STREAM_HEAD_TIMEOUT_S 15 /* an SSE or WebSocket stream must start
				  * within this */
#define CONNECT_TIMEOUT_S 15
#define TIMER_EVERY_NS (20 * NS_PER_MS)
#define READS_PER_EVENT 8
#define DRAIN_NS (5 * NS_PER_S) /* closed loop: wait for the last answers */
#define STALL_NS (5 * NS_PER_S) /* no client got parked for this long */
#define MAX_MSG_TIMEOUTS 3    /* in a row: the fan-out run is given up */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

enum scenario { S_FANOUT, S_SEND, S_POLL, S_IDLE, S_PROBE };
enum transport { T_LONGPOLL, T_SSE, T_WS, T__MAX };
enum role { R_LONGPOLL, R_SSE, R_WS, R_PUBLISH, R_SEND, R_POLL };

/* Each transport's name, the role its waiting clients play, and whether it
 * is a stream (asked for once, then pushed to). */
static const struct {
	const char *name;
	enum role role;
	int stream;
} transports[T__MAX] = {
	[T_LONGPOLL] = {"longpoll", R_LONGPOLL, 0},
	[T_SSE] = {"sse", R_SSE, 1},
	[T_WS] = {"ws", R_WS, 1},
};

struct opts {
	enum scenario scenario;
	enum transport transport;
	int clients, messages;
	double seconds;
	char room[65];
	char host[16];
	int port;
	int send_port;       /* fanout's sender; 0: port */
	const char *prefix;
	const char *path;
	const char *label;
	const char *ready_file;
	int nchan;
	int wait_s, msg_timeout_ms, gap_ms, settle_ms, max_connecting;
	double deadline_s;
};

static const char usage[] =
"usage: loadgen SCENARIO [options]\n"
"  fanout --transport longpoll|sse|ws --clients N --messages M\n"
"  send   --clients C --seconds T\n"
"  poll   --clients C --seconds T [--path URL]\n"
"  idle   --transport longpoll|sse|ws --clients N --seconds S [--ready-file F]\n"
"  probe  --path URL [--seconds T]   exit 0 once URL answers 2xx\n"
"  probe  --transport ws --path URL  exit 0 if URL takes a WebSocket\n"
"  freeport   print a free TCP port on 127.0.0.1\n"
"  selftest\n"
"common: --host 127.0.0.1 --port P [--path-prefix /api] [--room R]\n"
"  [--nchan] (Nchan's long-poll protocol: Etag/Last-Modified)\n"
"  [--label NAME] (server name in the JSON line)\n"
"  [--send-port P] fanout: the sender posts to this port, another host of\n"
"    the same database (--port)\n"
"  [--wait S] long-poll hold asked for (30)\n"
"  [--msg-timeout-ms MS] per message in fanout (10000)\n"
"  [--gap-ms MS] pause between messages in fanout (200)\n"
"  [--settle-ms MS] after long-polls are sent, before sending (auto)\n"
"  [--max-connecting K] connection attempts in flight (256)\n"
"  [--deadline S] hard limit for the whole run (auto)\n";

static long parse_num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		die("bad %s '%s' (%ld..%ld)", what, s, lo, hi);
	return v;
}

static void set_host(struct opts *o, const char *h)
{
	struct in_addr a;
	if (inet_pton(AF_INET, h, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
		die("--host must be a loopback IPv4 address (127.x.x.x)");
	snprintf(o->host, sizeof o->host, "%s", h);
}

static void set_room(struct opts *o, const char *r)
{
	size_t n = strlen(r);
	if (n < 1 || n > 64 || strspn(r, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
		die("bad room name '%s'", r);
	memcpy(o->room, r, n + 1);
}

static enum scenario parse_scenario(const char *s)
{
	if (strcmp(s, "fanout") == 0)
		return S_FANOUT;
	if (strcmp(s, "send") == 0)
		return S_SEND;
	if (strcmp(s, "poll") == 0)
		return S_POLL;
	if (strcmp(s, "idle") == 0)
		return S_IDLE;
	if (strcmp(s, "probe") == 0)
		return S_PROBE;
	fputs(usage, stderr);
	exit(2);
}

static void defaults(struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->transport = T_LONGPOLL;
	o->clients = 10;
	o->messages = 10;
	o->seconds = 5;
	snprintf(o->room, sizeof o->room, "bench-%ld-%ld", (long)getpid(),
		 (long)time(NULL));
	snprintf(o->host, sizeof o->host, "127.0.0.1");
	o->prefix = "/api";
	o->label = "server";
	o->wait_s = 30;
	o->msg_timeout_ms = 10000;
	o->gap_ms = 200;
	o->settle_ms = -1;
	o->max_connecting = 256;
}

enum { O_TRANSPORT = 256, O_CLIENTS, O_MESSAGES, O_ROOM, O_HOST, O_PORT,
       O_PREFIX, O_PATH, O_SECONDS, O_NCHAN, O_WAIT, O_MSGTO, O_GAP,
       O_SETTLE, O_MAXCONN, O_DEADLINE, O_READY, O_LABEL, O_SENDPORT };

static const struct option long_opts[] = {
	{"transport", 1, 0, O_TRANSPORT}, {"clients", 1, 0, O_CLIENTS},
	{"messages", 1, 0, O_MESSAGES}, {"room", 1, 0, O_ROOM},
	{"host", 1, 0, O_HOST}, {"port", 1, 0, O_PORT},
	{"path-prefix", 1, 0, O_PREFIX}, {"path", 1, 0, O_PATH},
	{"seconds", 1, 0, O_SECONDS}, {"nchan", 0, 0, O_NCHAN},
	{"wait", 1, 0, O_WAIT}, {"msg-timeout-ms", 1, 0, O_MSGTO},
	{"gap-ms", 1, 0, O_GAP}, {"settle-ms", 1, 0, O_SETTLE},
	{"max-connecting", 1, 0, O_MAXCONN}, {"deadline", 1, 0, O_DEADLINE},
	{"ready-file", 1, 0, O_READY}, {"label", 1, 0, O_LABEL},
	{"send-port", 1, 0, O_SENDPORT}, {0, 0, 0, 0}};

static void set_transport(struct opts *o, const char *s)
{
	for (int t = 0; t < T__MAX; t++)
		if (strcmp(s, transports[t].name) == 0) {
			o->transport = (enum transport)t;
			return;
		}
	die("--transport is longpoll, sse or ws");
}

static void set_option(struct opts *o, int opt, const char *a)
{
	switch (opt) {
	case O_TRANSPORT: set_transport(o, a); break;
	case O_CLIENTS: o->clients = (int)parse_num(a, 1, MAX_CLIENTS, "clients"); break;
	case O_MESSAGES: o->messages = (int)parse_num(a, 1, MAX_MESSAGES, "messages"); break;
	case O_ROOM: set_room(o, a); break;
	case O_HOST: set_host(o, a); break;
	case O_PORT: o->port = (int)parse_num(a, 1, 65535, "port"); break;
	case O_PREFIX: o->prefix = a; break;
	case O_PATH: o->path = a; break;
	case O_SECONDS: o->seconds = (double)parse_num(a, 1, 3600, "seconds"); break;
	case O_NCHAN: o->nchan = 1; break;
	case O_WAIT: o->wait_s = (int)parse_num(a, 0, 60, "wait"); break;
	case O_MSGTO: o->msg_timeout_ms = (int)parse_num(a, 1, 600000, "msg-timeout-ms"); break;
	case O_GAP: o->gap_ms = (int)parse_num(a, 0, 60000, "gap-ms"); break;
	case O_SETTLE: o->settle_ms = (int)parse_num(a, 0, 60000, "settle-ms"); break;
	case O_MAXCONN: o->max_connecting = (int)parse_num(a, 1, 10000, "max-connecting"); break;
	case O_DEADLINE: o->deadline_s = (double)parse_num(a, 1, 3600, "deadline"); break;
	case O_READY: o->ready_file = a; break;
	case O_LABEL: o->label = a; break;
	case O_SENDPORT: o->send_port = (int)parse_num(a, 1, 65535, "send-port"); break;
	default: fputs(usage, stderr); exit(2);
	}
}

/* Fills in what depends on other options: settle time and deadline. */
static void finish_opts(struct opts *o)
{
	if (!o->port)
		die("--port is required");
	if (strlen(o->prefix) > 64 || (o->path && strlen(o->path) > 512))
		die("--path-prefix or --path too long");
	if (o->settle_ms < 0)
		o->settle_ms = transports[o->transport].stream ? 50
			     : 300 + o->clients / 10;
	if (o->deadline_s > 0)
		return;
	double connect = 30 + o->clients / 250.0;
	if (o->scenario == S_SEND || o->scenario == S_POLL)
		o->deadline_s = o->seconds + 30;
	else if (o->scenario == S_IDLE)
		o->deadline_s = connect + o->seconds + 30;
	else
		o->deadline_s = connect + 30 + o->messages *
			((o->msg_timeout_ms + 2.0 * o->gap_ms) / 1000.0 + 1);
	if (o->deadline_s > 3600)
		o->deadline_s = 3600;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	defaults(o);
	o->scenario = parse_scenario(argv[1]);
	int opt;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1)
		set_option(o, opt, optarg);
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	finish_opts(o);
}

/* ------------------------------------------------------------------ */
/* Results                                                             */

struct errors {
	long connect, http, reset, timeout, parse, dup, gap, missing, send,
	     deadline;
};

/* The kinds of errors, in the order the reports give them. */
static const struct { const char *name; size_t off; } error_kinds[] = {
#define KIND(k) { #k, offsetof(struct errors, k) }
	KIND(connect), KIND(http), KIND(reset), KIND(timeout), KIND(parse),
	KIND(dup), KIND(gap), KIND(missing), KIND(send), KIND(deadline),
#undef KIND
};
#define N_ERROR_KINDS (sizeof error_kinds / sizeof *error_kinds)

static long error_count(const struct errors *e, size_t k)
{
	return *(const long *)((const char *)e + error_kinds[k].off);
}

static long errors_total(const struct errors *e)
{
	long n = 0;

	for (size_t k = 0; k < N_ERROR_KINDS; k++)
		n += error_count(e, k);
	return n;
}

/* The kinds of the errors, for a summary line: " (http 3, reset 1)", or
 * "" when there were none. */
static const char *errors_brief(const struct errors *e)
{
	static char b[256];
	int n = 0;

	b[0] = '\0';
	for (size_t k = 0; k < N_ERROR_KINDS; k++)
		if (error_count(e, k) && n < (int)sizeof b - 1)
			n += snprintf(b + n, sizeof b - (size_t)n, "%s%s %ld",
				      n ? ", " : " (", error_kinds[k].name,
				      error_count(e, k));
	if (n > 0 && n < (int)sizeof b - 1)
		snprintf(b + n, sizeof b - (size_t)n, ")");
	return b;
}

struct lat {
	int64_t *v;
	size_t n, cap;
};

static void lat_push(struct lat *l, int64_t x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			die("out of memory");
	}
	l->v[l->n++] = x;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile in ms of the sorted samples; 0 with none. */
static double lat_ms(const struct lat *l, double pct)
{
	if (!l->n)
		return 0;
	size_t k = (size_t)(pct / 100.0 * (double)l->n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > l->n)
		k = l->n;
	return (double)l->v[k - 1] / NS_PER_MS;
}

/* ------------------------------------------------------------------ */
/* Connections and the run's state                                     */

enum cstate { C_OFF, C_QUEUED, C_DELAY, C_CONNECTING, C_SENDING, C_WAITING,
	      C_IDLE, C_DEAD };

struct conn {
	int fd;
	uint32_t ev;         /* events registered with epoll; 0 = none */
	enum role role;
	enum cstate st;
	int fails, reqs;     /* consecutive failures; requests on this fd */
	int64_t t_req, t_due;
	size_t out_len, out_off;
	struct http_resp resp;
	/* waiting clients */
	int parked, stream_ok;
	int64_t cursor;      /* fcgichat: since= of the next long-poll or
			      * WebSocket */
	int next_seq, got, dups, gaps;
	int pend_seq;        /* SSE data seen, delivered at the blank line */
	int64_t pend_ns;
	char last_event_id[64];
	char etag[96], last_modified[64]; /* Nchan long-poll cursor */
	char ws_accept[WS_ACCEPT_LEN + 1]; /* what the handshake must get */
	struct ws_reader ws;
	/* fan-out sender: the message being sent, -1 for the cursor read */
	int seq;
	char out[OUT_MAX];
};

enum phase { PH_PREP, PH_CONNECT, PH_SETTLE, PH_SEND, PH_DELIVER, PH_GAP,
	     PH_HOLD, PH_DRAIN, PH_ABORT };

struct ctx {
	const struct opts *o;
	int epfd;
	struct sockaddr_in addr;
	struct sockaddr_in send_addr;  /* the fan-out sender's host */
	struct conn *c;
	int n;               /* connections; the fan-out sender is the last */
	int nrecv;           /* waiting clients (fanout, idle) */
	int *queue;          /* ring of connections waiting to connect */
	int qhead, qlen;
	int connecting, parked, dead;
	int last_parked, aborted, timeouts_in_row;
	int64_t progress_t;
	int64_t t0, deadline;
	struct errors err;
	long reconnects, foreign;
	struct lat lat;
	/* fanout and idle */
	enum phase phase;
	int seq, pub_busy, prep_failed, msg_timeouts;
	int64_t phase_t, pub_t, cursor0, connect_ns, fan_ns;
	int64_t *send_ns, *last_recv;
	int *delivered;
	/* send and poll */
	int64_t t_end;
	int stopping;
	long ok, sent;
	char rbuf[READ_BUF];
};

static void ep_set(struct ctx *x, struct conn *c, uint32_t ev)
{
	if (c->ev == ev)
		return;
	struct epoll_event e = {.events = ev, .data.u32 = (uint32_t)(c - x->c)};
	if (epoll_ctl(x->epfd, c->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
		      &e) < 0)
		die("epoll_ctl: %s", strerror(errno));
	c->ev = ev;
}

static void conn_close(struct ctx *x, struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	if (c->st == C_CONNECTING)
		x->connecting--;
	c->fd = -1;
	c->ev = 0;
	c->st = C_OFF;
}

static void conn_queue(struct ctx *x, struct conn *c)
{
	if (x->qlen >= x->n) /* each connection is queued at most once */
		die("connect queue overflow");
	c->st = C_QUEUED;
	x->queue[(x->qhead + x->qlen) % x->n] = (int)(c - x->c);
	x->qlen++;
}

/* A failed request or connection: count it, close, retry a bit later
 * (the fan-out sender does not retry: its message then times out). */
static void conn_fail(struct ctx *x, struct conn *c, long *counter)
{
	(*counter)++;
	conn_close(x, c);
	c->fails++;
	if (c->role == R_PUBLISH) {
		x->pub_busy = 0;
		return;
	}
	if (c->fails > MAX_FAILS) {
		c->st = C_DEAD;
		x->dead++;
		return;
	}
	if (x->stopping)
		return;
	c->st = C_DELAY;
	c->t_due = now_ns() + (c->fails < 10 ? c->fails : 10) * 100 * NS_PER_MS;
}

static void mark_parked(struct ctx *x, struct conn *c)
{
	if (!c->parked) {
		c->parked = 1;
		x->parked++;
	}
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sb *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= s->cap - s->len)
		die("request too long");
	s->len += (size_t)n;
}

static void sb_head(struct sb *s, const struct ctx *x)
{
	sb_printf(s, " HTTP/1.1\r\nHost: %s:%d\r\n"
		  "User-Agent: fcgichat-loadgen\r\n", x->o->host, x->o->port);
}

static void sb_post(struct sb *s, const struct ctx *x, const char *text)
{
	char body[160];
	int n = snprintf(body, sizeof body,
			 "{\"nick\":\"bench\",\"text\":\"%s\"}", text);
	sb_printf(s, "POST %s/rooms/%s/messages", x->o->prefix, x->o->room);
	sb_head(s, x);
	sb_printf(s, "Content-Type: application/json\r\n"
		  "Content-Length: %d\r\n\r\n%s", n, body);
}

static void build_longpoll(struct sb *s, const struct ctx *x,
			   const struct conn *c)
{
	const struct opts *o = x->o;
	sb_printf(s, "GET %s/rooms/%s/messages", o->prefix, o->room);
	if (!o->nchan)
		sb_printf(s, "?since=%" PRId64 "&wait=%d", c->cursor, o->wait_s);
	sb_head(s, x);
	if (o->nchan && c->etag[0])
		sb_printf(s, "If-None-Match: %s\r\n", c->etag);
	if (o->nchan && c->last_modified[0])
		sb_printf(s, "If-Modified-Since: %s\r\n", c->last_modified);
	sb_printf(s, "Accept: application/json\r\n\r\n");
}

static void build_sse(struct sb *s, const struct ctx *x, const struct conn *c)
{
	const struct opts *o = x->o;
	sb_printf(s, "GET %s/rooms/%s/events", o->prefix, o->room);
	if (!o->nchan)
		sb_printf(s, "?since=%" PRId64, x->cursor0);
	sb_head(s, x);
	if (c->last_event_id[0])
		sb_printf(s, "Last-Event-ID: %s\r\n", c->last_event_id);
	sb_printf(s, "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n");
}

/* The opening handshake, with a new key each time (RFC 6455 4.1). */
static void build_ws(struct sb *s, const struct ctx *x, struct conn *c)
{
	const struct opts *o = x->o;
	char h[WS_HEADERS_MAX];
	ws_handshake(h, c->ws_accept);
	sb_printf(s, "GET %s/rooms/%s/ws", o->prefix, o->room);
	if (!o->nchan)
		sb_printf(s, "?since=%" PRId64, c->cursor);
	sb_head(s, x);
	sb_printf(s, "%s\r\n", h);
}

static void build_publish(struct sb *s, struct ctx *x, const struct conn *c)
{
	if (c->seq < 0) { /* where the room's history ends */
		sb_printf(s, "GET %s/rooms/%s/messages?limit=1", x->o->prefix,
			  x->o->room);
		sb_head(s, x);
		sb_printf(s, "Accept: application/json\r\n\r\n");
		return;
	}
	char text[64];
	int64_t t = now_ns();
	x->send_ns[c->seq] = t;
	snprintf(text, sizeof text, "%d %" PRId64, c->seq, t);
	sb_post(s, x, text);
}

static void build_request(struct ctx *x, struct conn *c)
{
	struct sb s = {c->out, 0, sizeof c->out};
	char text[64];
	switch (c->role) {
	case R_LONGPOLL: build_longpoll(&s, x, c); break;
	case R_SSE: build_sse(&s, x, c); break;
	case R_WS: build_ws(&s, x, c); break;
	case R_PUBLISH: build_publish(&s, x, c); break;
	case R_SEND:
		snprintf(text, sizeof text, "send %ld %" PRId64, x->sent++,
			 now_ns());
		sb_post(&s, x, text);
		break;
	case R_POLL:
		sb_printf(&s, "GET %s", x->o->path);
		sb_head(&s, x);
		sb_printf(&s, "Accept: application/json\r\n\r\n");
		break;
	}
	c->out_len = s.len;
	c->out_off = 0;
}

static int64_t request_timeout(const struct ctx *x, const struct conn *c)
{
	if (c->role == R_LONGPOLL)
		return (x->o->nchan ? 45 : x->o->wait_s + 15) * NS_PER_S;
	if (c->role == R_SSE || c->role == R_WS)
		return STREAM_HEAD_TIMEOUT_S * NS_PER_S;
	return REQ_TIMEOUT_S * NS_PER_S;
}

static void flush_out(struct ctx *x, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ep_set(x, c, EPOLLIN | EPOLLOUT);
			return;
		}
		if (n < 0) {
			conn_fail(x, c, &x->err.reset);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->st = C_WAITING;
	ep_set(x, c, EPOLLIN | EPOLLRDHUP);
	if (c->role == R_LONGPOLL)
		mark_parked(x, c);
}

static void start_request(struct ctx *x, struct conn *c)
{
	build_request(x, c);
	hp_reset(&c->resp);
	c->t_req = now_ns();
	c->t_due = c->t_req + request_timeout(x, c);
	c->reqs++;
	c->stream_ok = 0;
	c->pend_seq = -1;
	ws_reader_reset(&c->ws);
	c->st = C_SENDING;
	flush_out(x, c);
}

static void conn_connect(struct ctx *x, struct conn *c)
{
	int one = 1;
	c->reqs = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_fail(x, c, &x->err.connect);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	const struct sockaddr_in *a = c->role == R_PUBLISH ? &x->send_addr
							    : &x->addr;
	if (connect(c->fd, (const struct sockaddr *)a, sizeof *a) == 0) {
		start_request(x, c);
		return;
	}
	if (errno != EINPROGRESS) {
		conn_fail(x, c, &x->err.connect);
		return;
	}
	c->st = C_CONNECTING;
	x->connecting++;
	c->t_due = now_ns() + CONNECT_TIMEOUT_S * NS_PER_S;
	ep_set(x, c, EPOLLOUT);
}

static void pump_connects(struct ctx *x)
{
	while (x->qlen && x->connecting < x->o->max_connecting) {
		struct conn *c = &x->c[x->queue[x->qhead]];
		x->qhead = (x->qhead + 1) % x->n;
		x->qlen--;
		if (c->st == C_QUEUED)
			conn_connect(x, c);
	}
}

/* After an answer: ask again on the same connection, or on a new one. */
static void next_request(struct ctx *x, struct conn *c)
{
	if (c->resp.conn_close) {
		conn_close(x, c);
		conn_queue(x, c);
	} else {
		start_request(x, c);
	}
}

/* ------------------------------------------------------------------ */
/* Reading messages out of answers                                     */

/* Finds "key": in [p, end) and returns where its value starts. */
static const char *json_value(const char *p, const char *end, const char *key)
{
	char pat[40];
	int n = snprintf(pat, sizeof pat, "\"%s\"", key);
	while (p < end) {
		const char *k = memmem(p, (size_t)(end - p), pat, (size_t)n);
		if (!k)
			return NULL;
		const char *v = k + n;
		while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' ||
				   *v == '\r'))
			v++;
		if (v < end && *v == ':') {
			v++;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			return v;
		}
		p = k + n;
	}
	return NULL;
}

static const char *scan_i64(const char *p, const char *end, int64_t *out)
{
	int64_t v = 0;
	const char *s = p;
	while (p < end && *p >= '0' && *p <= '9' && v < INT64_MAX / 10 - 10)
		v = v * 10 + (*p++ - '0');
	if (p == s)
		return NULL;
	*out = v;
	return p;
}

/* A bench message's text is "<seq> <send-time-ns>". */
static int parse_text(const char *v, const char *end, int *seq, int64_t *ns)
{
	int64_t s;
	if (v >= end || *v++ != '"')
		return -1;
	v = scan_i64(v, end, &s);
	if (!v || v >= end || *v++ != ' ')
		return -1;
	v = scan_i64(v, end, ns);
	if (!v || v >= end || *v != '"' || s > MAX_MESSAGES)
		return -1;
	*seq = (int)s;
	return 0;
}

static void deliver(struct ctx *x, struct conn *c, int seq, int64_t ns,
		    int64_t now)
{
	if (!x->send_ns || seq >= x->o->messages) {
		x->foreign++;
		return;
	}
	if (ns != x->send_ns[seq]) {
		x->err.parse++;
		return;
	}
	if (seq < c->next_seq) {
		c->dups++;
		x->err.dup++;
		return;
	}
	if (seq > c->next_seq) {
		c->gaps += seq - c->next_seq;
		x->err.gap += seq - c->next_seq;
	}
	c->next_seq = seq + 1;
	c->got++;
	x->delivered[seq]++;
	lat_push(&x->lat, now - ns);
	if (now > x->last_recv[seq])
		x->last_recv[seq] = now;
}

/* Every message text in a JSON body, in order. */
static void deliver_body(struct ctx *x, struct conn *c, const char *p,
			 size_t len, int64_t now)
{
	const char *end = p + len, *v;
	while ((v = json_value(p, end, "text")) != NULL) {
		int seq;
		int64_t ns;
		if (parse_text(v, end, &seq, &ns) == 0)
			deliver(x, c, seq, ns, now);
		else
			x->foreign++;
		p = v;
	}
}

static int body_last_id(const struct http_resp *r, int64_t *id)
{
	const char *end = r->body.p + r->body.len;
	const char *v = r->body.p ? json_value(r->body.p, end, "last_id") : NULL;
	return v && scan_i64(v, end, id) ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Server-Sent Events                                                  */

static void sse_field(struct ctx *x, struct conn *c, const char *name,
		      size_t nl, const char *v, size_t vl)
{
	if (nl == 5 && memcmp(name, "retry", 5) == 0) {
		mark_parked(x, c);
	} else if (nl == 2 && memcmp(name, "id", 2) == 0) {
		if (vl >= sizeof c->last_event_id)
			vl = sizeof c->last_event_id - 1;
		memcpy(c->last_event_id, v, vl);
		c->last_event_id[vl] = '\0';
	} else if (nl == 4 && memcmp(name, "data", 4) == 0) {
		const char *t = json_value(v, v + vl, "text");
		int seq;
		int64_t ns;
		mark_parked(x, c);
		if (t && parse_text(t, v + vl, &seq, &ns) == 0) {
			c->pend_seq = seq;
			c->pend_ns = ns;
		} else {
			x->foreign++;
		}
	}
}

static void sse_line(struct ctx *x, struct conn *c, const char *l, size_t n,
		     int64_t now)
{
	if (n == 0) { /* end of an event: dispatch it */
		if (c->pend_seq >= 0)
			deliver(x, c, c->pend_seq, c->pend_ns, now);
		c->pend_seq = -1;
		return;
	}
	if (l[0] == ':') { /* comment: Nchan greets with ": hi" */
		mark_parked(x, c);
		return;
	}
	const char *colon = memchr(l, ':', n);
	size_t nl = colon ? (size_t)(colon - l) : n;
	const char *v = colon ? colon + 1 : l + n;
	if (v < l + n && *v == ' ')
		v++;
	sse_field(x, c, l, nl, v, (size_t)(l + n - v));
}

/* Handles the complete lines of the stream so far; returns bytes used. */
static size_t sse_lines(struct ctx *x, struct conn *c, const char *p,
			size_t len, int64_t now)
{
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(p + pos, '\n', len - pos);
		if (!nl)
			break;
		size_t ll = (size_t)(nl - (p + pos));
		if (ll && p[pos + ll - 1] == '\r')
			ll--;
		sse_line(x, c, p + pos, ll, now);
		pos = (size_t)(nl - p) + 1;
	}
	return pos;
}

static int sse_progress(struct ctx *x, struct conn *c, int64_t now)
{
	struct http_resp *r = &c->resp;
	if (!hp_headers_done(r))
		return 0;
	if (!c->stream_ok) {
		if (r->status != 200 || !r->event_stream) {
			conn_fail(x, c, &x->err.http);
			return -1;
		}
		c->stream_ok = 1;
		c->t_due = 0; /* a running stream has no time limit */
		c->fails = 0;
	}
	hp_body_consume(r, sse_lines(x, c, r->body.p, r->body.len, now));
	return 0;
}

/* ------------------------------------------------------------------ */
/* WebSocket                                                           */

/* Queues a frame after whatever is still unsent; 0, or -1 when the
 * connection failed. */
static int ws_send(struct ctx *x, struct conn *c, enum ws_op op,
		   const char *p, size_t n)
{
	assert(c->stream_ok && c->out_off <= c->out_len);
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	ssize_t k = ws_frame_build(c->out + c->out_len,
				   sizeof c->out - c->out_len, op, p, n);
	if (k < 0) { /* pongs pile up unsent: the server does not read */
		conn_fail(x, c, &x->err.timeout);
		return -1;
	}
	c->out_len += (size_t)k;
	c->st = C_SENDING;
	flush_out(x, c);
	return c->fd >= 0 ? 0 : -1;
}

/* A text message: fcgichat's {"type":"message","message":{"id":..,
 * "text":..}}, its {"type":"keepalive"}, or from Nchan the published body
 * as it is. */
static void ws_text(struct ctx *x, struct conn *c, const char *p, size_t n,
		    int64_t now)
{
	const char *end = p + n, *t = json_value(p, end, "text"), *v;
	int seq;
	int64_t ns;
	if (!t || parse_text(t, end, &seq, &ns) < 0) {
		v = json_value(p, end, "type");
		if (!v || end - v < 11 || memcmp(v, "\"keepalive\"", 11) != 0)
			x->foreign++;
		return;
	}
	deliver(x, c, seq, ns, now);
	/* Where a cut connection resumes: since= the last message's id. */
	if (!x->o->nchan && (v = json_value(p, end, "message")) != NULL &&
	    (v = json_value(v, end, "id")) != NULL)
		scan_i64(v, end, &c->cursor);
}

/* The server closes: echo its status (RFC 6455 5.5.1), then resume on a
 * new connection, as an SSE client does when its stream ends. */
static void ws_closed(struct ctx *x, struct conn *c, const char *p, size_t n)
{
	if (ws_send(x, c, WS_CLOSE, p, n >= 2 ? 2 : 0) < 0)
		return;
	x->reconnects++;
	conn_close(x, c);
	conn_queue(x, c);
}

struct ws_event {
	struct ctx *x;
	struct conn *c;
	int64_t now;
};

static int ws_on_frame(void *arg, enum ws_op op, const char *p, size_t n)
{
	struct ws_event *e = arg;
	switch (op) {
	case WS_TEXT:
		ws_text(e->x, e->c, p, n, e->now);
		return 0;
	case WS_PING:
		return ws_send(e->x, e->c, WS_PONG, p, n) < 0;
	case WS_CLOSE:
		ws_closed(e->x, e->c, p, n);
		return 1;
	case WS_PONG: /* unasked-for pongs are allowed (5.5.3) */
		return 0;
	default: /* binary: not ours */
		e->x->foreign++;
		return 0;
	}
}

/* Bytes of an open WebSocket; 0, or -1 when the connection is gone. */
static int ws_bytes(struct ctx *x, struct conn *c, const char *d, size_t n,
		    int64_t now)
{
	struct ws_event e = {x, c, now};
	int rc = ws_read(&c->ws, d, n, ws_on_frame, &e);
	if (rc < 0)
		conn_fail(x, c, &x->err.parse);
	return rc ? -1 : 0;
}

/* The handshake's answer: 101 with the accept value the key asked for. */
static void ws_upgraded(struct ctx *x, struct conn *c)
{
	if (!ws_handshake_accepted(&c->resp, c->ws_accept)) {
		conn_fail(x, c, &x->err.http);
		return;
	}
	c->stream_ok = 1;
	c->t_due = 0; /* a running stream has no time limit */
	c->fails = 0;
	mark_parked(x, c);
}

/* ------------------------------------------------------------------ */
/* Whole answers, by role                                              */

static void longpoll_done(struct ctx *x, struct conn *c, int64_t now)
{
	struct http_resp *r = &c->resp;
	if (x->o->nchan && (r->status == 304 || r->status == 408)) {
		/* Nchan: the hold ran out; ask again with the same cursor.
		 * A client that has no cursor yet (no message so far) starts
		 * again at "newest" and can miss a message sent meanwhile:
		 * Nchan's protocol. Starting from a past Last-Modified
		 * instead crashes Nchan 1.3.6 workers (spool.c assertion). */
	} else if (r->status != 200) {
		conn_fail(x, c, &x->err.http);
		return;
	} else if (x->o->nchan) {
		deliver_body(x, c, r->body.p, r->body.len, now);
		if (r->etag[0])
			memcpy(c->etag, r->etag, sizeof c->etag);
		if (r->last_modified[0])
			memcpy(c->last_modified, r->last_modified,
			       sizeof c->last_modified);
	} else {
		deliver_body(x, c, r->body.p, r->body.len, now);
		if (body_last_id(r, &c->cursor) < 0) {
			conn_fail(x, c, &x->err.parse);
			return;
		}
	}
	c->fails = 0;
	next_request(x, c);
}

static void publish_done(struct ctx *x, struct conn *c)
{
	struct http_resp *r = &c->resp;
	if (c->seq < 0) {
		if (r->status != 200 || body_last_id(r, &x->cursor0) < 0) {
			x->err.http++;
			x->prep_failed = 1;
		}
	} else if (r->status / 100 != 2) {
		x->err.send++;
	}
	x->pub_busy = 0;
	c->fails = 0;
	if (r->conn_close) {
		conn_close(x, c);
		return;
	}
	c->st = C_IDLE;
	ep_set(x, c, EPOLLIN | EPOLLRDHUP);
}

static void loop_done(struct ctx *x, struct conn *c, int64_t now)
{
	int ok = c->resp.status / 100 == 2;
	if (now <= x->t_end && ok) {
		x->ok++;
		lat_push(&x->lat, now - c->t_req);
	} else if (now <= x->t_end) {
		if (c->role == R_SEND)
			x->err.send++;
		else
			x->err.http++;
	}
	c->fails = 0;
	if (x->stopping) {
		conn_close(x, c);
		return;
	}
	next_request(x, c);
}

static void response_done(struct ctx *x, struct conn *c, int64_t now)
{
	switch (c->role) {
	case R_LONGPOLL: longpoll_done(x, c, now); break;
	case R_SSE: /* the server ended the stream: reconnect, resume */
		x->reconnects++;
		conn_close(x, c);
		conn_queue(x, c);
		break;
	case R_WS: ws_upgraded(x, c); break;
	case R_PUBLISH: publish_done(x, c); break;
	case R_SEND:
	case R_POLL: loop_done(x, c, now); break;
	}
}

/* ------------------------------------------------------------------ */
/* Socket events                                                       */

static int awaiting(const struct conn *c)
{
	return c->st == C_SENDING || c->st == C_WAITING;
}

/* Feeds received bytes; 0 to keep reading, -1 when the connection was
 * closed or has nothing more to read for now. */
static int feed(struct ctx *x, struct conn *c, const char *d, size_t n,
		int64_t now)
{
	size_t off = 0;
	int fd = c->fd;
	while (off < n) {
		if (!awaiting(c)) {
			conn_fail(x, c, &x->err.parse); /* unasked-for bytes */
			return -1;
		}
		if (c->role == R_WS && c->stream_ok)
			return ws_bytes(x, c, d + off, n - off, now);
		ssize_t u = hp_feed(&c->resp, d + off, n - off);
		if (u < 0) {
			conn_fail(x, c, &x->err.parse);
			return -1;
		}
		off += (size_t)u;
		if (c->role == R_SSE && sse_progress(x, c, now) < 0)
			return -1;
		if (c->resp.state == HP_DONE) {
			response_done(x, c, now);
			if (c->fd != fd)
				return -1;
		}
	}
	return 0;
}

/* The server closed the connection. */
static void on_eof(struct ctx *x, struct conn *c, int64_t now)
{
	struct http_resp *r = &c->resp;
	if (c->st == C_IDLE) { /* idle keep-alive closed: fine */
		conn_close(x, c);
		return;
	}
	if (c->role == R_WS && c->stream_ok) { /* no close frame: 1006 */
		conn_fail(x, c, &x->err.reset);
		return;
	}
	if (hp_eof(r) == 0) {
		response_done(x, c, now);
		if (c->fd >= 0) {
			conn_close(x, c);
			conn_queue(x, c);
		}
		return;
	}
	int clean_stream = c->role == R_SSE && c->stream_ok &&
			   r->state == HP_CHUNK_SIZE && r->line_len == 0;
	int ka_race = r->state == HP_STATUS && r->line_len == 0 && c->reqs > 1 &&
		      c->role != R_PUBLISH;
	if (clean_stream || ka_race) {
		x->reconnects++;
		conn_close(x, c);
		if (!x->stopping)
			conn_queue(x, c);
		return;
	}
	conn_fail(x, c, &x->err.reset);
}

static void conn_read(struct ctx *x, struct conn *c)
{
	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n = recv(c->fd, x->rbuf, sizeof x->rbuf, 0);
		int64_t now = now_ns();
		if (n > 0) {
			if (feed(x, c, x->rbuf, (size_t)n, now) < 0 ||
			    (size_t)n < sizeof x->rbuf)
				return;
		} else if (n == 0) {
			on_eof(x, c, now);
			return;
		} else {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_fail(x, c, &x->err.reset);
			return;
		}
	}
}

static void on_connected(struct ctx *x, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	x->connecting--;
	c->st = C_OFF;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		conn_fail(x, c, &x->err.connect);
		return;
	}
	start_request(x, c);
}

static void handle_event(struct ctx *x, struct conn *c, uint32_t ev)
{
	if (c->fd < 0)
		return;
	if (c->st == C_CONNECTING) {
		on_connected(x, c);
		return;
	}
	if (c->st == C_SENDING && (ev & EPOLLOUT))
		flush_out(x, c);
	if (c->fd >= 0 && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
		conn_read(x, c);
}

/* Retries due, connection attempts and requests that took too long. */
static void check_timers(struct ctx *x, int64_t now)
{
	for (int i = 0; i < x->n; i++) {
		struct conn *c = &x->c[i];
		if (c->st == C_DELAY && now >= c->t_due)
			conn_queue(x, c);
		else if (c->st == C_CONNECTING && now >= c->t_due)
			conn_fail(x, c, &x->err.connect);
		else if (awaiting(c) && c->t_due && now >= c->t_due)
			conn_fail(x, c, &x->err.timeout);
	}
}

/* Runs until tick says done (1) or the hard deadline passes. */
static void run_loop(struct ctx *x, int (*tick)(struct ctx *, int64_t))
{
	struct epoll_event ev[1024];
	int64_t next_timer = 0;
	for (;;) {
		int64_t now = now_ns();
		if (now >= x->deadline) {
			x->err.deadline++;
			fprintf(stderr, "loadgen: hard deadline reached\n");
			return;
		}
		if (now >= next_timer) {
			check_timers(x, now);
			next_timer = now + TIMER_EVERY_NS;
		}
		pump_connects(x);
		if (tick(x, now))
			return;
		int k = epoll_wait(x->epfd, ev, 1024, 5);
		if (k < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < k; i++)
			handle_event(x, &x->c[ev[i].data.u32], ev[i].events);
	}
}

/* ------------------------------------------------------------------ */
/* Scenarios: fanout and idle                                          */

static struct conn *publisher(struct ctx *x)
{
	return &x->c[x->n - 1];
}

static void publish(struct ctx *x, int seq)
{
	struct conn *c = publisher(x);
	c->seq = seq;
	x->pub_busy = 1;
	x->pub_t = now_ns();
	if (c->st == C_IDLE)
		start_request(x, c);
	else
		conn_queue(x, c); /* connects, then sends */
}

static int lp_waiting(const struct ctx *x)
{
	int k = 0;
	for (int i = 0; i < x->nrecv; i++)
		k += x->c[i].st == C_WAITING;
	return k;
}

static void write_ready_file(const struct ctx *x)
{
	if (!x->o->ready_file)
		return;
	FILE *f = fopen(x->o->ready_file, "w");
	if (!f)
		die("cannot write %s: %s", x->o->ready_file, strerror(errno));
	fprintf(f, "%d\n", x->parked);
	fclose(f);
}

static void phase_connect(struct ctx *x, int64_t now)
{
	for (int i = 0; i < x->nrecv; i++) {
		x->c[i].cursor = x->cursor0;
		conn_queue(x, &x->c[i]);
	}
	x->phase = PH_CONNECT;
	x->phase_t = now;
	x->progress_t = now;
}

static void phase_settled(struct ctx *x, int64_t now)
{
	fprintf(stderr, "# %d of %d clients waiting after %.2f s\n", x->parked,
		x->nrecv, (double)x->connect_ns / NS_PER_S);
	if (x->o->scenario == S_IDLE) {
		write_ready_file(x);
		x->phase = PH_HOLD;
		x->phase_t = now + (int64_t)(x->o->seconds * NS_PER_S);
		return;
	}
	x->phase = PH_SEND;
}

/* The current message reached every live client, or timed out. */
static int message_settled(struct ctx *x, int64_t now)
{
	int alive = x->nrecv - x->dead;
	int64_t sent = x->send_ns[x->seq];
	if (sent && x->delivered[x->seq] >= alive) {
		x->fan_ns += x->last_recv[x->seq] - sent;
		x->timeouts_in_row = 0;
		return 1;
	}
	if (now - x->pub_t < (int64_t)x->o->msg_timeout_ms * NS_PER_MS)
		return 0;
	fprintf(stderr, "loadgen: message %d reached %d of %d clients\n",
		x->seq, x->delivered[x->seq], alive);
	x->msg_timeouts++;
	x->fan_ns += now - (sent ? sent : x->pub_t);
	if (x->pub_busy) /* the send itself is stuck: give it up */
		conn_fail(x, publisher(x), &x->err.send);
	if (++x->timeouts_in_row >= MAX_MSG_TIMEOUTS)
		x->aborted = 1;
	return 1;
}

static int gap_over(struct ctx *x, int64_t now)
{
	int64_t since = now - x->phase_t;
	if (since < (int64_t)x->o->gap_ms * NS_PER_MS)
		return 0;
	if (x->o->transport != T_LONGPOLL ||
	    since > (int64_t)x->o->msg_timeout_ms * NS_PER_MS)
		return 1;
	return lp_waiting(x) >= x->nrecv - x->dead;
}

/* All clients wait, or none got to wait for a while, or time is up. */
static int connect_over(struct ctx *x, int64_t now)
{
	int64_t limit = (int64_t)((30 + x->nrecv / 250.0) * NS_PER_S);
	if (x->parked != x->last_parked) {
		x->last_parked = x->parked;
		x->progress_t = now;
	}
	if (x->parked + x->dead >= x->nrecv)
		return 1;
	if (now - x->progress_t > STALL_NS || now - x->phase_t > limit) {
		fprintf(stderr, "loadgen: only %d of %d clients got to wait\n",
			x->parked, x->nrecv);
		return 1;
	}
	return 0;
}

static int fanout_tick(struct ctx *x, int64_t now)
{
	switch (x->phase) {
	case PH_PREP:
		if (x->pub_busy)
			return 0;
		if (x->prep_failed) {
			x->phase = PH_ABORT;
			return 1;
		}
		phase_connect(x, now);
		return 0;
	case PH_CONNECT:
		if (!connect_over(x, now))
			return 0;
		x->connect_ns = now - x->phase_t;
		x->phase = PH_SETTLE;
		x->phase_t = now + (int64_t)x->o->settle_ms * NS_PER_MS;
		return 0;
	case PH_SETTLE:
		if (now >= x->phase_t)
			phase_settled(x, now);
		return 0;
	case PH_SEND:
		if (x->pub_busy)
			return 0;
		publish(x, x->seq);
		x->phase = PH_DELIVER;
		return 0;
	case PH_DELIVER:
		if (!message_settled(x, now))
			return 0;
		x->phase = ++x->seq == x->o->messages || x->aborted ? PH_DRAIN
								    : PH_GAP;
		x->phase_t = now;
		return 0;
	case PH_GAP:
		if (gap_over(x, now))
			x->phase = PH_SEND;
		return 0;
	case PH_HOLD:
		return now >= x->phase_t;
	case PH_DRAIN:
		return !x->pub_busy || now - x->phase_t > REQ_TIMEOUT_S * NS_PER_S;
	case PH_ABORT:
		return 1;
	}
	return 1;
}

static void fanout_start(struct ctx *x)
{
	int64_t now = now_ns();
	if (x->o->nchan) { /* Nchan has no history read: start at the end */
		phase_connect(x, now);
		return;
	}
	x->phase = PH_PREP;
	publish(x, -1);
}

/* ------------------------------------------------------------------ */
/* Scenarios: send and poll (closed loop)                              */

static int loop_tick(struct ctx *x, int64_t now)
{
	if (!x->stopping && now >= x->t_end) {
		x->stopping = 1;
		x->qlen = 0;
		for (int i = 0; i < x->n; i++)
			if (x->c[i].st == C_QUEUED || x->c[i].st == C_DELAY)
				x->c[i].st = C_OFF;
	}
	if (!x->stopping)
		return 0;
	for (int i = 0; i < x->n; i++)
		if (awaiting(&x->c[i]) || x->c[i].st == C_CONNECTING)
			return now > x->t_end + DRAIN_NS;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

/* CPU seconds loadgen itself used: it shares the machine's cores. */
static double self_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void json_errors(const struct ctx *x)
{
	const struct errors *e = &x->err;
	printf("\"errors\":{\"total\":%ld", errors_total(e));
	for (size_t k = 0; k < N_ERROR_KINDS; k++)
		printf(",\"%s\":%ld", error_kinds[k].name, error_count(e, k));
	printf("},\"reconnects\":%ld,\"foreign\":%ld,\"loadgen_cpu_s\":%.2f",
	       x->reconnects, x->foreign, self_cpu_s());
}

static void json_latency(const struct ctx *x)
{
	const struct lat *l = &x->lat;
	printf("\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f",
	       lat_ms(l, 50), lat_ms(l, 90), lat_ms(l, 99), lat_ms(l, 100));
}

static const char *transport_name(const struct opts *o)
{
	return transports[o->transport].name;
}

/* Per-client check: every message once, in order. */
static int count_clients_ok(struct ctx *x)
{
	int ok = 0;
	for (int i = 0; i < x->nrecv; i++) {
		struct conn *c = &x->c[i];
		if (c->got < x->o->messages)
			x->err.missing += x->o->messages - c->got;
		ok += c->got == x->o->messages && !c->dups && !c->gaps;
	}
	return ok;
}

static int report_fanout(struct ctx *x)
{
	const struct opts *o = x->o;
	int clients_ok = count_clients_ok(x);
	long expect = (long)o->clients * o->messages;
	double rate = x->fan_ns ? (double)x->lat.n * NS_PER_S / (double)x->fan_ns
				: 0;
	int pass = clients_ok == o->clients && errors_total(&x->err) == 0 &&
		   x->phase == PH_DRAIN && !x->aborted;
	qsort(x->lat.v, x->lat.n, sizeof *x->lat.v, cmp_i64);
	printf("{\"scenario\":\"fanout\",\"server\":\"%s\",\"transport\":\"%s\","
	       "\"clients\":%d,\"messages\":%d,\"parked\":%d,\"connect_s\":%.3f,"
	       "\"deliveries\":%zu,\"expected\":%ld,\"clients_ok\":%d,",
	       o->label, transport_name(o), o->clients, o->messages, x->parked,
	       (double)x->connect_ns / NS_PER_S, x->lat.n, expect, clients_ok);
	json_latency(x);
	printf(",\"deliveries_per_s\":%.0f,\"msg_timeouts\":%d,"
	       "\"aborted\":%s,", rate, x->msg_timeouts,
	       x->aborted ? "true" : "false");
	json_errors(x);
	printf(",\"ok\":%s}\n", pass ? "true" : "false");
	printf("# fanout %s %s N=%d M=%d: p50 %.2f ms, p90 %.2f, p99 %.2f, "
	       "max %.2f; %.0f deliveries/s; %zu/%ld delivered, %d/%d clients "
	       "got all once in order, %ld errors%s: %s\n", o->label,
	       transport_name(o), o->clients, o->messages, lat_ms(&x->lat, 50),
	       lat_ms(&x->lat, 90), lat_ms(&x->lat, 99), lat_ms(&x->lat, 100),
	       rate, x->lat.n, expect, clients_ok, o->clients,
	       errors_total(&x->err), errors_brief(&x->err),
	       pass ? "OK" : "FAILED");
	return pass;
}

static int report_idle(struct ctx *x)
{
	const struct opts *o = x->o;
	int still = 0;
	for (int i = 0; i < x->nrecv; i++)
		still += x->c[i].fd >= 0 && x->c[i].st != C_DEAD;
	int pass = x->parked == o->clients && still == o->clients &&
		   errors_total(&x->err) == 0 && x->phase == PH_HOLD;
	printf("{\"scenario\":\"idle\",\"server\":\"%s\",\"transport\":\"%s\","
	       "\"clients\":%d,\"seconds\":%.0f,\"parked\":%d,\"connected\":%d,"
	       "\"connect_s\":%.3f,", o->label, transport_name(o), o->clients,
	       o->seconds, x->parked, still, (double)x->connect_ns / NS_PER_S);
	json_errors(x);
	printf(",\"ok\":%s}\n", pass ? "true" : "false");
	printf("# idle %s %s N=%d: %d parked, %d connected after %.0f s, "
	       "%ld errors%s: %s\n", o->label, transport_name(o), o->clients,
	       x->parked, still, o->seconds, errors_total(&x->err),
	       errors_brief(&x->err), pass ? "OK" : "FAILED");
	return pass;
}

static int report_loop(struct ctx *x, double secs)
{
	const struct opts *o = x->o;
	const char *name = o->scenario == S_SEND ? "send" : "poll";
	double rate = (double)x->ok / secs;
	int pass = errors_total(&x->err) == 0 && x->ok > 0;
	qsort(x->lat.v, x->lat.n, sizeof *x->lat.v, cmp_i64);
	printf("{\"scenario\":\"%s\",\"server\":\"%s\",\"clients\":%d,"
	       "\"seconds\":%.3f,\"path\":\"%s\",\"requests\":%ld,"
	       "\"per_s\":%.1f,", name, o->label, o->clients, secs,
	       o->scenario == S_SEND ? "" : o->path, x->ok, rate);
	json_latency(x);
	printf(",");
	json_errors(x);
	printf(",\"ok\":%s}\n", pass ? "true" : "false");
	printf("# %s %s C=%d: %.0f %s/s over %.1f s, p50 %.2f ms, p99 %.2f, "
	       "max %.2f, %ld errors%s: %s\n", name, o->label, o->clients, rate,
	       o->scenario == S_SEND ? "messages" : "requests", secs,
	       lat_ms(&x->lat, 50), lat_ms(&x->lat, 99), lat_ms(&x->lat, 100),
	       errors_total(&x->err), errors_brief(&x->err),
	       pass ? "OK" : "FAILED");
	return pass;
}

/* ------------------------------------------------------------------ */
/* Set-up                                                              */

static void raise_nofile(int need)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)need)
		die("need %d file descriptors, the limit is %llu", need,
		    (unsigned long long)rl.rlim_cur);
}

static void ctx_init(struct ctx *x, const struct opts *o, int nconn)
{
	memset(x, 0, sizeof *x);
	x->o = o;
	x->n = nconn;
	x->c = calloc((size_t)nconn, sizeof *x->c);
	x->queue = calloc((size_t)nconn, sizeof *x->queue);
	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!x->c || !x->queue || x->epfd < 0)
		die("cannot set up: %s", strerror(errno));
	for (int i = 0; i < nconn; i++) {
		x->c[i].fd = -1;
		x->c[i].pend_seq = -1;
		hp_init(&x->c[i].resp);
	}
	x->addr.sin_family = AF_INET;
	x->addr.sin_port = htons((uint16_t)o->port);
	inet_pton(AF_INET, o->host, &x->addr.sin_addr);
	x->send_addr = x->addr;
	if (o->send_port)
		x->send_addr.sin_port = htons((uint16_t)o->send_port);
	x->t0 = now_ns();
	x->deadline = x->t0 + (int64_t)(o->deadline_s * NS_PER_S);
}

static void ctx_free(struct ctx *x)
{
	for (int i = 0; i < x->n; i++) {
		if (x->c[i].fd >= 0)
			close(x->c[i].fd);
		hp_free(&x->c[i].resp);
		ws_reader_free(&x->c[i].ws);
	}
	close(x->epfd);
	free(x->c);
	free(x->queue);
	free(x->lat.v);
	free(x->send_ns);
	free(x->last_recv);
	free(x->delivered);
}

static int run_fanout(const struct opts *o)
{
	struct ctx *x = malloc(sizeof *x);
	if (!x)
		die("out of memory");
	int m = o->scenario == S_IDLE ? 0 : o->messages;
	ctx_init(x, o, o->clients + 1);
	x->nrecv = o->clients;
	for (int i = 0; i < x->nrecv; i++)
		x->c[i].role = transports[o->transport].role;
	publisher(x)->role = R_PUBLISH;
	if (m) {
		x->send_ns = calloc((size_t)m, sizeof *x->send_ns);
		x->last_recv = calloc((size_t)m, sizeof *x->last_recv);
		x->delivered = calloc((size_t)m, sizeof *x->delivered);
		if (!x->send_ns || !x->last_recv || !x->delivered)
			die("out of memory");
	}
	fanout_start(x);
	run_loop(x, fanout_tick);
	int pass = o->scenario == S_IDLE ? report_idle(x) : report_fanout(x);
	ctx_free(x);
	free(x);
	return pass;
}

static int run_closed_loop(const struct opts *o)
{
	struct ctx *x = malloc(sizeof *x);
	if (!x)
		die("out of memory");
	ctx_init(x, o, o->clients);
	for (int i = 0; i < x->n; i++) {
		x->c[i].role = o->scenario == S_SEND ? R_SEND : R_POLL;
		conn_queue(x, &x->c[i]);
	}
	x->t_end = x->t0 + (int64_t)(o->seconds * NS_PER_S);
	run_loop(x, loop_tick);
	int pass = report_loop(x, o->seconds);
	ctx_free(x);
	free(x);
	return pass;
}

/* ------------------------------------------------------------------ */
/* Helpers for the driver script                                       */

static int cmd_freeport(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die("no free port: %s", strerror(errno));
	printf("%d\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

/* One blocking GET (with --transport ws a WebSocket handshake) with 1 s
 * timeouts; the status code (101 only with the right accept value: else
 * 0), or -1 without an answer. */
static int probe_once(const struct opts *o, const struct sockaddr_in *a)
{
	struct timeval tv = {1, 0};
	char req[800], buf[1024], h[WS_HEADERS_MAX] = "Connection: close\r\n";
	char accept[WS_ACCEPT_LEN + 1] = "";
	struct http_resp r;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (o->transport == T_WS)
		ws_handshake(h, accept);
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
			 "%s\r\n", o->path, o->host, o->port, h);
	hp_init(&r);
	if (connect(fd, (const struct sockaddr *)a, sizeof *a) == 0 &&
	    send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
		ssize_t k;
		while (!hp_headers_done(&r) &&
		       (k = recv(fd, buf, sizeof buf, 0)) > 0 &&
		       hp_feed(&r, buf, (size_t)k) >= 0)
			;
		if (hp_headers_done(&r))
			status = r.status;
	}
	if (status == 101 && !ws_handshake_accepted(&r, accept))
		status = 0;
	hp_free(&r);
	close(fd);
	return status;
}

/* Waits (bounded by --seconds) until the path answers 2xx. With
 * --transport ws: prints the status the handshake got, at the first
 * answer; true when it was 101. */
static int cmd_probe(const struct opts *o)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)o->port)};
	inet_pton(AF_INET, o->host, &a.sin_addr);
	int64_t end = now_ns() + (int64_t)(o->seconds * NS_PER_S);
	int status = -1, ws = o->transport == T_WS;
	while (now_ns() < end) {
		status = probe_once(o, &a);
		if (ws && status >= 0) { /* answered: no point asking again */
			printf("%d\n", status);
			return status == 101;
		}
		if (status / 100 == 2)
			return 1;
		struct timespec ts = {0, 100 * NS_PER_MS};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "loadgen: %s:%d%s not ready (last status %d)\n",
		o->host, o->port, o->path, status);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Self-test                                                           */

static int st_pass, st_fail;

static void check(int cond, const char *what)
{
	if (cond) {
		st_pass++;
	} else {
		st_fail++;
		fprintf(stderr, "selftest: FAILED: %s\n", what);
	}
}

/* Feeds s in pieces of `step` bytes; returns the parser's final state. */
static enum hp_state feed_steps(struct http_resp *r, const char *s,
				size_t step, size_t *used)
{
	size_t len = strlen(s), off = 0;
	while (off < len && r->state != HP_DONE && r->state != HP_ERROR) {
		size_t k = len - off < step ? len - off : step;
		ssize_t u = hp_feed(r, s + off, k);
		if (u < 0)
			break;
		off += (size_t)u;
	}
	*used = off;
	return r->state;
}

static void selftest_http(void)
{
	static const char chunked[] =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		"Etag: 7\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\n"
		"X-T: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
	struct http_resp r;
	size_t used;
	hp_init(&r);
	for (size_t step = 1; step <= sizeof chunked; step += 7) {
		hp_reset(&r);
		check(feed_steps(&r, chunked, step, &used) == HP_DONE &&
		      r.body.len == 11 && memcmp(r.body.p, "hello world", 11) == 0 &&
		      strcmp(r.etag, "7") == 0, "chunked body");
		hp_reset(&r);
		check(feed_steps(&r, chunked + used, step, &used) == HP_DONE &&
		      r.status == 204, "second response on the connection");
	}
	hp_reset(&r);
	check(feed_steps(&r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
			 "Content-Length: 2\r\n\r\nok", 3, &used) == HP_DONE &&
	      r.status == 200 && r.body.len == 2, "100 Continue then 200");
	hp_reset(&r);
	feed_steps(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
		   "\r\nabc", 4, &used);
	check(r.state == HP_BODY_EOF && r.event_stream && r.conn_close &&
	      hp_eof(&r) == 0 && r.body.len == 3, "body up to EOF");
	hp_reset(&r);
	check(feed_steps(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			 "\r\nzz\r\n", 5, &used) == HP_ERROR, "bad chunk size");
	hp_reset(&r);
	check(feed_steps(&r, "HTTP/1.0 304 Not Modified\r\n\r\n", 2, &used) ==
	      HP_DONE && r.conn_close, "304 without body, HTTP/1.0 closes");
	hp_reset(&r);
	check(feed_steps(&r, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: "
			 "websocket\r\n\r\n\x81\x01x", 3, &used) == HP_DONE &&
	      used == 56 && r.upgrade_websocket, "101 ends at the headers");
	hp_free(&r);
}

static void selftest_messages(void)
{
	static struct opts o;
	struct ctx *x = calloc(1, sizeof *x);
	struct conn *c = calloc(1, sizeof *c);
	int64_t sn[3] = {111, 222, 333}, lr[3] = {0};
	int dl[3] = {0};
	defaults(&o);
	o.messages = 3;
	x->o = &o;
	x->send_ns = sn;
	x->last_recv = lr;
	x->delivered = dl;
	c->pend_seq = -1;
	hp_init(&c->resp);
	const char *lp = "{\"messages\":[{\"id\":5,\"text\": \"0 111\"},"
			 "{\"id\":6,\"text\":\"1 222\"}],\"last_id\" : 6}";
	deliver_body(x, c, lp, strlen(lp), 500);
	c->resp.body.p = (char *)lp;
	c->resp.body.len = strlen(lp);
	int64_t id = 0;
	check(body_last_id(&c->resp, &id) == 0 && id == 6, "last_id");
	c->resp.body.p = NULL;
	c->resp.body.len = 0;
	const char *sse = ": hi\r\n\r\nretry: 3000\n\nid: 7\nevent: message\n"
			  "data: {\"id\":7,\"text\":\"2 333\"}\n\ndata: {\"te";
	size_t used = sse_lines(x, c, sse, strlen(sse), 600);
	check(used == strlen(sse) - strlen("data: {\"te"), "SSE lines used");
	check(c->got == 3 && c->next_seq == 3 && !c->dups && !c->gaps &&
	      x->lat.n == 3 && x->lat.v[2] == 600 - 333, "deliveries in order");
	check(strcmp(c->last_event_id, "7") == 0 && c->parked, "SSE id, parked");
	deliver(x, c, 1, 222, 700);
	check(c->dups == 1 && x->err.dup == 1, "duplicate counted");
	free(x->lat.v);
	free(c);
	free(x);
}

/* Frames of fcgichat's WebSocket: the checks see a duplicate and a gap,
 * and the count at the end the missing message. */
static void selftest_ws(void)
{
	static struct opts o;
	static const char *const frames[] = {
		"{\"type\":\"message\",\"message\":{\"id\":5,\"text\":\"0 111\"}}",
		"{\"type\":\"keepalive\"}",
		"{\"type\":\"message\",\"message\":{\"id\":6,\"text\":\"1 222\"}}",
		"{\"type\":\"message\",\"message\":{\"id\":6,\"text\":\"1 222\"}}",
		"{\"type\":\"message\",\"message\":{\"id\":8,\"text\":\"3 444\"}}",
	};
	struct ctx *x = calloc(1, sizeof *x);
	struct conn *c = calloc(1, sizeof *c);
	int64_t sn[4] = {111, 222, 333, 444}, lr[4] = {0};
	int dl[4] = {0};
	char buf[512];
	size_t len = 0;
	defaults(&o);
	o.messages = 4;
	*x = (struct ctx){.o = &o, .c = c, .nrecv = 1, .send_ns = sn,
			  .last_recv = lr, .delivered = dl};
	c->fd = -1;
	for (size_t i = 0; i < sizeof frames / sizeof *frames; i++) {
		buf[len++] = (char)0x81; /* FIN, text; short, unmasked */
		buf[len++] = (char)strlen(frames[i]);
		memcpy(buf + len, frames[i], strlen(frames[i]));
		len += strlen(frames[i]);
	}
	for (size_t i = 0; i < len; i++)
		ws_bytes(x, c, buf + i, 1, 900);
	check(c->got == 3 && c->dups == 1 && c->gaps == 1 && x->err.dup == 1 &&
	      x->err.gap == 1 && !x->foreign && x->lat.n == 3 &&
	      c->cursor == 8, "WebSocket: dup and gap seen, cursor kept");
	check(count_clients_ok(x) == 0 && x->err.missing == 1,
	      "WebSocket: the missing message counted");
	ws_reader_free(&c->ws);
	free(x->lat.v);
	free(c);
	free(x);
}

static int selftest(void)
{
	selftest_http();
	selftest_messages();
	selftest_ws();
	st_fail += ws_selftest(&st_pass);
	printf("selftest: %d passed, %d failed\n", st_pass, st_fail);
	return st_fail == 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "help") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "selftest") == 0)
		return selftest() ? 0 : 1;
	if (strcmp(argv[1], "freeport") == 0)
		return cmd_freeport();
	struct opts o;
	parse_args(&o, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(o.clients + 64);
	if (!o.path) {
		static char path[256];
		snprintf(path, sizeof path, "%s/rooms/%s/messages?limit=20",
			 o.prefix, o.room);
		o.path = path;
	}
	int pass;
	if (o.scenario == S_PROBE)
		pass = cmd_probe(&o);
	else if (o.scenario == S_SEND || o.scenario == S_POLL)
		pass = run_closed_loop(&o);
	else
		pass = run_fanout(&o);
	fflush(stdout);
	return pass ? 0 : 1;
}
