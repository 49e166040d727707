/* ws_accept.c - the WebSocket door of one worker process: its socket, the
 * handshake, and the thread that stores WebSocket sends (ws_accept.h). */
#include "ws_accept.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "chat.h"
#include "conn.h"
#include "forwarded.h"
#include "http.h"
#include "identity.h"
#include "json.h"
#include "limit.h"
#include "log.h"
#include "origin.h"
#include "private.h"
#include "query.h"
#include "stats.h"
#include "store.h"
#include "validate.h"
#include "ws.h"
#include "ws_conn.h"

#define HEAD_TIMEOUT_MS 10000   /* for the web server to send a head */
#define BACKLOG_ROWS 1000       /* the backlog read before parking */
#define MAX_HANDSHAKES 1024     /* heads being read at once (door_pause) */

/* A connection whose request head is being read. */
struct handshake {
	struct handshake *prev, *next;
	int fd;
	int64_t deadline;
	struct http_head *head;
};

struct door {
	const struct config *cfg;
	struct hub *hub;
	struct store *store;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, lock_fd, ep;
	int jobs_fd, done_fd;              /* eventfds */
	pthread_mutex_t lock;              /* guards jobs and done */
	struct ws_send *jobs, *done;       /* newest first (ws_sends_oldest) */
	struct handshake *open;
	size_t n_open;
	bool full;                         /* listen_fd out of the epoll set */
	int64_t retry_at;                  /* out of descriptors: when to
	                                    * accept again (0: not waiting) */
	struct buf out, tmp;
	pthread_t thread;
};

static struct door *door;               /* this process's, or NULL */
static char tag_listen, tag_jobs;

/* --- the socket ----------------------------------------------------------- */

/* Takes path if no other live process holds it: an flock on path.lock,
 * held for the life of the process (the kernel lets go when it ends),
 * then the socket itself, made anew (a dead holder's file is left over).
 * Returns the listening socket, or -1 (*busy: another process has it). */
static int
door_take(struct door *d, const char *path, bool *busy)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char lock[sizeof(a.sun_path) + 8];
	mode_t old;
	int fd;

	*busy = false;
	if (strlen(path) >= sizeof(a.sun_path)) {
		log_errorx("ws_accept: socket path too long: %s", path);
		return -1;
	}
	snprintf(lock, sizeof(lock), "%s.lock", path);
	if ((d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_error("ws_accept: %s", lock);
		return -1;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		*busy = true;
		close(d->lock_fd);
		d->lock_fd = -1;
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	unlink(path);
	old = umask(0117);   /* rw for the user and group of the web server */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    listen(fd, CHAT_LISTEN_BACKLOG) == -1)) {
		close(fd);
		fd = -1;
	}
	umask(old);
	if (fd < 0) {
		log_error("ws_accept: cannot listen on %s", path);
		close(d->lock_fd);
		d->lock_fd = -1;
		return -1;
	}
	snprintf(d->path, sizeof(d->path), "%s", path);
	return fd;
}

/* The first free socket of the space-separated list. Returns its fd, or
 * -1 (*all_busy when each one was another process's). */
static int
door_listen(struct door *d, const char *list, bool *all_busy)
{
	char path[sizeof(d->path)];

	*all_busy = true;
	for (const char *p = list + strspn(list, " \t"); *p;
	    p += strspn(p, " \t")) {
		size_t n = strcspn(p, " \t");
		bool busy;
		int fd;
		snprintf(path, sizeof(path), "%.*s", (int)n, p);
		p += n;
		if ((fd = door_take(d, path, &busy)) >= 0)
			return fd;
		*all_busy &= busy;
	}
	return -1;
}

const char *
ws_accept_path(void)
{
	return door ? door->path : NULL;
}

/* --- answers before the upgrade ------------------------------------------- */

/* Writes a whole HTTP answer and closes: small enough for the socket's
 * buffer, so one non-blocking write; a client that cannot take it loses
 * nothing it asked for. */
static void
door_answer(int fd, int status, const char *reason, const char *extra,
    const struct buf *body)
{
	struct buf h = { 0 };

	buf_printf(&h, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n%s\r\n", status, reason, body->len,
	    extra ? extra : "");
	buf_append(&h, body->data, body->len);
	if (!h.oom && send(fd, h.data, h.len, MSG_NOSIGNAL) < 0)
		log_debug("ws_accept: answer %d: %s", status, strerror(errno));
	buf_free(&h);
	close(fd);
}

/* The one error path before the upgrade: kind -> status and the API.md
 * body, as api.c's reply_error. */
static void
door_error(struct door *d, int fd, const struct http_request *rq,
    enum chat_error e, const char *why)
{
	const struct chat_error_info *info = chat_error_info(e);
	char extra[128] = "", uri[160];

	if (e == CHAT_E_UPGRADE_REQUIRED)
		snprintf(extra, sizeof(extra), "Upgrade: websocket\r\n"
		    "Sec-WebSocket-Version: 13\r\n");
	else if (e == CHAT_E_METHOD_NOT_ALLOWED)
		snprintf(extra, sizeof(extra), "Allow: GET\r\n");
	else if (e == CHAT_E_UNAVAILABLE || e == CHAT_E_RATE_LIMITED)
		snprintf(extra, sizeof(extra), "Retry-After: 1\r\n");
	buf_reset(&d->out);
	json_error(&d->out, info->code, why ? why : info->message);
	stats_count(info->status >= 500 ? STATS_ERRORS_5XX : STATS_ERRORS_4XX,
	    1);
	if (log_level >= (info->status >= 500 ? LOG_LEVEL_WARN :
	    LOG_LEVEL_DEBUG)) {
		log_escape(rq && rq->path ? rq->path : "-",
		    rq && rq->path ? strlen(rq->path) : 1, uri, sizeof(uri));
		(info->status >= 500 ? log_warnx : log_debug)(
		    "ws_accept: %d %s: %s from %s", info->status, info->code,
		    uri, rq && rq->client ? rq->client : "-");
	}
	door_answer(fd, info->status, chat_status_reason(info->status),
	    extra, &d->out);
}

/* --- the handshake -------------------------------------------------------- */

/* The room of "<prefix>/rooms/<room>/ws" into room. Returns CHAT_OK, or
 * not_found / bad_room. */
static enum chat_error
door_room(const char *prefix, const char *path, char *room,
    const char **why)
{
	size_t plen = strlen(prefix), n;
	const char *seg;

	while (plen > 1 && prefix[plen - 1] == '/')
		plen--;
	if (strncmp(path, prefix, plen) != 0 ||
	    strncmp(path + plen, "/rooms/", 7) != 0)
		return CHAT_E_NOT_FOUND;
	seg = path + plen + 7;
	n = strcspn(seg, "/");
	if (strcmp(seg + n, "/ws") != 0)
		return CHAT_E_NOT_FOUND;
	if (validate_room(seg, n, why) != CHAT_OK)
		return CHAT_E_BAD_ROOM;
	memcpy(room, seg, n);
	room[n] = '\0';
	return CHAT_OK;
}

/* Checks the upgrade request as api.c checks a request: route, room,
 * query, Origin, who may see the room (*version: the access version of
 * that look), then the upgrade itself. */
static enum chat_error
door_check(struct door *d, const struct http_request *rq, char *room,
    struct query_params *q, char accept[WS_ACCEPT_LEN + 1], int64_t *version,
    const char **why)
{
	enum chat_error e;

	*why = NULL;
	if ((e = door_room(d->cfg->prefix, rq->path, room, why)) != CHAT_OK)
		return e;
	if (strcmp(rq->method, "GET") != 0)
		return CHAT_E_METHOD_NOT_ALLOWED;
	if ((e = query_parse(rq->query, q, why)) != CHAT_OK)
		return e;
	if (!origin_check_ws(d->cfg, rq->origin, rq->proto != NULL &&
	    strcasecmp(rq->proto, "https") == 0, rq->host))
		return chat_error_why(why, CHAT_E_FORBIDDEN, "Pages of another "
		    "origin may not open a WebSocket to this chat; the "
		    "server's FCGICHAT_ALLOW_ORIGINS lists those that may.");
	if ((e = validate_user(identity_ws(rq), why)) != CHAT_OK)
		return e;
	if ((e = private_check(d->store, room, identity_ws(rq), version)) !=
	    CHAT_OK)
		return chat_error_why(why, e, e == CHAT_E_NOT_FOUND ?
		    "There is no such room." : NULL);
	if (ws_handshake(rq->upgrade, rq->connection, rq->ws_version,
	    rq->ws_key, accept, why) != WS_HS_OK)
		return CHAT_E_UPGRADE_REQUIRED;
	return CHAT_OK;
}

/* 101, then what the socket is owed at once: limited (when retention
 * removed messages after the cursor) and the backlog after the cursor, as
 * frames. Moves *cursor past the backlog; *behind when it was cut short.
 * Fills *info from the read. */
static enum chat_error
door_welcome(struct door *d, const char *room, const char *accept,
    int64_t *cursor, bool *behind, struct store_read_info *info)
{
	struct store_query sq = { -1, -1, 1 };
	struct chat_list l = { 0 };
	enum chat_error e;

	if (*cursor < 0) {
		if ((e = store_read(d->store, room, &sq, NULL, info)) != CHAT_OK)
			return e;
		*cursor = info->room_last;
	}
	sq = (struct store_query){ *cursor, -1, BACKLOG_ROWS };
	if ((e = store_read(d->store, room, &sq, &l, info)) != CHAT_OK)
		return e;
	buf_reset(&d->out);
	buf_printf(&d->out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	if (*cursor < info->pruned_through) {
		buf_reset(&d->tmp);
		json_ws_limited(&d->tmp, room, info->pruned_through);
		ws_frame(&d->out, WS_OP_TEXT, d->tmp.data, d->tmp.len);
	}
	for (size_t i = 0; i < l.n; i++) {
		buf_reset(&d->tmp);
		if (l.v[i].deletes)
			json_ws_delete(&d->tmp, &l.v[i]);
		else
			json_ws_message(&d->tmp, &l.v[i]);
		ws_frame(&d->out, WS_OP_TEXT, d->tmp.data, d->tmp.len);
		*cursor = l.v[i].id;
	}
	*behind = l.n == BACKLOG_ROWS;
	chat_list_clear(&l);
	return d->out.oom || d->tmp.oom ? CHAT_E_INTERNAL : CHAT_OK;
}

/* A whole head arrived on fd: answer an error, or upgrade and park. */
static void
door_upgrade(struct door *d, int fd, const struct http_request *rq)
{
	char room[CHAT_MAX_ROOM + 1], accept[WS_ACCEPT_LEN + 1];
	char client[FORWARDED_ADDR_MAX];
	const char *addr, *why;
	struct store_read_info info = { 0 };
	struct query_params q;
	struct ws_conn *c;
	enum chat_error e;
	bool behind = false;
	int64_t cursor, version = 0, life = d->cfg->sse_lifetime;
	int handle;

	if ((e = door_check(d, rq, room, &q, accept, &version, &why)) !=
	    CHAT_OK) {
		door_error(d, fd, rq, e, why);
		return;
	}
	/* The address the web server gave FastCGI requests as REMOTE_ADDR:
	 * past the trusted proxies (both web servers append the address
	 * they saw; lighttpd the proxy's, Apache the rewritten one). */
	addr = forwarded_client(d->cfg->trusted_proxies, rq->forwarded_for,
	    client) ? client : rq->client ? rq->client : "local";
	if ((handle = limit_wait_acquire(addr, identity_ws(rq))) == -2) {
		door_error(d, fd, rq, CHAT_E_RATE_LIMITED, LIMIT_WAITING_WHY);
		return;
	}
	cursor = q.since;
	if ((e = door_welcome(d, room, accept, &cursor, &behind, &info)) !=
	    CHAT_OK || (c = ws_conn_new(addr, identity_ws(rq),
	    d->cfg->max_body)) == NULL) {
		limit_wait_release(handle);
		door_error(d, fd, rq, e != CHAT_OK ? e : CHAT_E_INTERNAL, NULL);
		return;
	}
	hub_park(d->hub, &(struct hub_park_req){ .kind = HUB_WS, .fd = fd,
	    .request_id = CONN_RAW, .room = room, .cursor = cursor,
	    .seen = info.db_max, .behind = behind,
	    .deadline_ms = life ? chat_mono_ms() + life * 1000 : 0,
	    .initial = &d->out, .limit_handle = handle, .priv = c,
	    .access_version = version,
	    .presence = q.presence, .verified = *c->user != '\0',
	    .person = *c->user ? c->user : *q.nick ? q.nick : NULL });
}

/* At MAX_HANDSHAKES the door stops accepting (full) and the kernel holds
 * the rest in the listen backlog, in order; a burst of upgrades (every
 * open page reconnecting after a restart) is served in turn, not closed.
 * Out of the epoll set while full; back in once a handshake ends, when
 * the level-triggered EPOLLIN fires again for whatever still waits. */
static void
door_pause(struct door *d, bool full)
{
	struct epoll_event ev = { .events = full ? 0 : EPOLLIN,
	    .data.ptr = &tag_listen };

	if (d->full == full)
		return;
	if (epoll_ctl(d->ep, EPOLL_CTL_MOD, d->listen_fd, &ev) == -1) {
		log_warn("ws_accept: %s the socket", full ? "pause" : "resume");
		return;
	}
	d->full = full;
}

static void
handshake_end(struct door *d, struct handshake *x)
{
	epoll_ctl(d->ep, EPOLL_CTL_DEL, x->fd, NULL);
	if (x->prev)
		x->prev->next = x->next;
	else
		d->open = x->next;
	if (x->next)
		x->next->prev = x->prev;
	assert(d->n_open > 0);
	d->n_open--;
	http_head_free(x->head);
	free(x);
	door_pause(d, false);
}

/* Reads what the web server sent of a head. */
static void
handshake_read(struct door *d, struct handshake *x)
{
	char in[4096];
	ssize_t n;
	size_t used;
	int fd = x->fd;

	while ((n = read(fd, in, sizeof(in))) < 0 && errno == EINTR)
		;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		handshake_end(d, x);
		close(fd);
		return;
	}
	switch (http_head_parse(x->head, in, (size_t)n, &used)) {
	case HTTP_MORE:
		return;
	case HTTP_BAD: {
		const struct http_error_info *i =
		    http_error_info(http_head_error(x->head));
		buf_reset(&d->out);
		json_error(&d->out, i->status == 400 ? "bad_request" :
		    "too_large", i->message);
		handshake_end(d, x);
		door_answer(fd, i->status, i->reason, NULL, &d->out);
		return;
	}
	case HTTP_DONE:
		/* A client speaks only after the 101 (RFC 6455 4.1): bytes
		 * past the head would be a client that did not wait. */
		if (used < (size_t)n)
			log_debug("ws_accept: %zu bytes after the head dropped",
			    (size_t)n - used);
		door_upgrade(d, fd, http_head_request(x->head));
		handshake_end(d, x);
		return;
	}
}

/* Takes the waiting connections of the listening socket, up to
 * MAX_HANDSHAKES being read at once (door_pause). Out of descriptors, it
 * pauses too, for CHAT_ACCEPT_RETRY_MS or until a handshake ends: the
 * socket stays readable and would wake the thread again at once, for
 * ever. */
static void
door_accept(struct door *d)
{
	int fd;

	while (d->n_open < MAX_HANDSHAKES) {
		struct handshake *x;
		struct epoll_event ev = { .events = EPOLLIN };
		if ((fd = accept4(d->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
			if (!chat_accept_starved(errno))
				break;
			if (d->retry_at == 0)
				log_warn("ws_accept: accept (upgrades wait in the "
				    "queue; trying again every %d ms)",
				    CHAT_ACCEPT_RETRY_MS);
			d->retry_at = chat_mono_ms() + CHAT_ACCEPT_RETRY_MS;
			door_pause(d, true);
			return;
		}
		x = calloc(1, sizeof(*x));
		if (x == NULL || (x->head = http_head_new()) == NULL) {
			log_warnx("ws_accept: out of memory");
			free(x);
			close(fd);
			continue;
		}
		x->fd = fd;
		x->deadline = chat_mono_ms() + HEAD_TIMEOUT_MS;
		ev.data.ptr = x;
		if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			http_head_free(x->head);
			free(x);
			close(fd);
			continue;
		}
		x->next = d->open;
		if (d->open)
			d->open->prev = x;
		d->open = x;
		d->n_open++;
	}
	d->retry_at = 0;
	door_pause(d, d->n_open >= MAX_HANDSHAKES);
}

/* epoll_wait's timeout: a second while heads are being read (their
 * deadlines), until the retry when out of descriptors, else none. */
static int
door_timeout(const struct door *d)
{
	int ms = d->open ? 1000 : -1;
	int64_t left;

	if (d->retry_at == 0)
		return ms;
	left = d->retry_at - chat_mono_ms();
	if (left <= 0)
		return 0;
	return ms < 0 || left < ms ? (int)left : ms;
}

/* Ends the handshakes whose web server has not sent a head in time. */
static void
door_expire(struct door *d, int64_t now)
{
	struct handshake *x, *next;

	for (x = d->open; x != NULL; x = next) {
		int fd = x->fd;
		next = x->next;
		if (x->deadline > now)
			continue;
		handshake_end(d, x);
		close(fd);
	}
}

/* --- sends ---------------------------------------------------------------- */

/* A queue (newest first) turned oldest first: a connection's sends are
 * stored, and answered, in the order it sent them. */
static struct ws_send *
ws_sends_oldest(struct ws_send *s)
{
	struct ws_send *prev = NULL, *next;

	for (; s != NULL; s = next) {
		next = s->next;
		s->next = prev;
		prev = s;
	}
	return prev;
}

int
ws_accept_submit(struct ws_send *s)
{
	uint64_t one = 1;
	bool was_empty;

	if (door == NULL)
		return -1;
	pthread_mutex_lock(&door->lock);
	was_empty = door->jobs == NULL;
	s->next = door->jobs;
	door->jobs = s;
	pthread_mutex_unlock(&door->lock);
	if (was_empty && write(door->jobs_fd, &one, sizeof(one)) < 0)
		log_warn("ws_accept_submit: eventfd");
	return 0;
}

/* Stores every queued send and hands the outcomes to the watcher. */
static void
door_store(struct door *d)
{
	struct ws_send *s, *next, *first;
	uint64_t one = 1, n;

	if (read(d->jobs_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("door_store: eventfd");
	pthread_mutex_lock(&d->lock);
	first = ws_sends_oldest(d->jobs);
	d->jobs = NULL;
	pthread_mutex_unlock(&d->lock);
	if (first == NULL)
		return;
	for (s = first; s != NULL; s = s->next)
		s->e = store_append_as(d->store, s->room,
		    s->conn->user[0] ? s->conn->user : NULL, s->req.nick,
		    s->req.text, s->req.client_id, &s->m, &s->created);
	pthread_mutex_lock(&d->lock);
	for (s = first; s != NULL; s = next) {
		next = s->next;
		s->next = d->done;
		d->done = s;
	}
	pthread_mutex_unlock(&d->lock);
	if (write(d->done_fd, &one, sizeof(one)) < 0)
		log_warn("door_store: eventfd");
}

/* On the watcher's thread (hub_add_source): answers the stored sends. */
static void
door_done(struct hub *h, void *arg)
{
	struct door *d = arg;
	struct ws_send *s, *next;
	uint64_t n;

	if (read(d->done_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("door_done: eventfd");
	pthread_mutex_lock(&d->lock);
	s = ws_sends_oldest(d->done);
	d->done = NULL;
	pthread_mutex_unlock(&d->lock);
	for (; s != NULL; s = next) {
		next = s->next;
		transport_ws_done(h, s);
	}
}

/* --- the thread ----------------------------------------------------------- */

static void *
door_main(void *arg)
{
	struct door *d = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(d->ep, evs, 64, door_timeout(d));
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &tag_listen)
				door_accept(d);
			else if (p == &tag_jobs)
				door_store(d);
			else
				handshake_read(d, p);
		}
		if (d->open)
			door_expire(d, chat_mono_ms());
		if (d->retry_at != 0 && chat_mono_ms() >= d->retry_at)
			door_accept(d);
	}
	return NULL;
}

/* Adds fd to the thread's epoll set with tag. */
static int
door_watch(struct door *d, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev);
}

int
ws_accept_start(const struct config *cfg, struct hub *hub)
{
	struct store_options so = store_options_from_config(cfg);
	struct door *d;
	bool all_busy;

	if (cfg->ws_sockets == NULL)
		return 0;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	*d = (struct door){ .cfg = cfg, .hub = hub, .lock_fd = -1 };
	pthread_mutex_init(&d->lock, NULL);
	if ((d->listen_fd = door_listen(d, cfg->ws_sockets, &all_busy)) < 0) {
		log_info("ws_accept: %s; this process serves no WebSocket",
		    all_busy ? "every socket of FCGICHAT_WS_SOCKETS is another "
		    "process's" : "no socket of FCGICHAT_WS_SOCKETS could be "
		    "taken");
		free(d);
		return 0;
	}
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	d->jobs_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->ep < 0 || d->jobs_fd < 0 || d->done_fd < 0 ||
	    (d->store = store_open(&so)) == NULL ||
	    door_watch(d, d->listen_fd, &tag_listen) == -1 ||
	    door_watch(d, d->jobs_fd, &tag_jobs) == -1 ||
	    hub_add_source(hub, d->done_fd, door_done, d) == -1) {
		log_errorx("ws_accept: cannot serve %s", d->path);
		return -1;   /* the process ends: nothing to free */
	}
	door = d;
	if (pthread_create(&d->thread, NULL, door_main, d) != 0) {
		door = NULL;
		log_errorx("ws_accept: cannot start its thread");
		return -1;
	}
	log_info("ws_accept: WebSocket upgrades on %s", d->path);
	return 0;
}
