/* store_pg_wake.c - PostgreSQL's wake-ups: one dedicated connection per
 * watcher that only LISTENs (a listener inside a transaction would get
 * nothing until it ended), the insert trigger's NOTIFY after every
 * commit, on any host. store_wake_fd is an epoll set holding that
 * connection's socket, so the descriptor the hub polls stays the same
 * when the connection is lost and made again. */
#include "store_pg.h"

#include <sys/epoll.h>

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Connects and LISTENs, at most once per backoff pause; adds the socket
 * to the set. A watcher whose connection was lost learns nothing while
 * it is gone, but loses nothing either: the hub's fallback timer
 * compares the newest id with its cursor, and so catches up. */
static void
pg_listen_connect(struct store *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char why[256];
	PGresult *r = NULL;
	int64_t now = chat_mono_ms();

	assert(s->listen == NULL && s->listen_sock == -1);
	if (now < s->listen_retry_at)
		return;
	if ((s->listen = pg_connect(s->uri, s->busy_timeout_ms, why,
	    sizeof(why))) != NULL) {
		r = PQexec(s->listen, "LISTEN " STORE_PG_CHANNEL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			snprintf(why, sizeof(why), "LISTEN: %s",
			    PQresultErrorMessage(r));
	}
	if (s->listen != NULL && PQresultStatus(r) == PGRES_COMMAND_OK &&
	    PQsetnonblocking(s->listen, 1) == 0 &&
	    (ev.data.fd = PQsocket(s->listen)) >= 0 &&
	    epoll_ctl(s->wake_fd, EPOLL_CTL_ADD, ev.data.fd, &ev) == 0) {
		PQclear(r);
		s->listen_sock = ev.data.fd;
		s->listen_fresh = true;
		if (s->listen_backoff_ms != 0)
			log_info("store_wake: listening again");
		s->listen_backoff_ms = 0;
		return;
	}
	PQclear(r);
	if (s->listen_backoff_ms == 0)
		log_warnx("store_wake: cannot LISTEN (%.*s); waiting clients "
		    "learn of new messages within a second until it can",
		    (int)strcspn(why, "\n"), why);
	PQfinish(s->listen);
	s->listen = NULL;
	s->listen_backoff_ms = pg_backoff(s->listen_backoff_ms);
	s->listen_retry_at = now + s->listen_backoff_ms;
}

/* Drops a lost connection: its socket leaves the set (a closed socket
 * would keep the set readable). libpq may have closed the socket already
 * when it saw the end of the connection, which took it out of the set
 * (EBADF, or ENOENT when the number is another file's by now). */
static void
pg_listen_drop(struct store *s)
{
	if (s->listen_sock >= 0 &&
	    epoll_ctl(s->wake_fd, EPOLL_CTL_DEL, s->listen_sock, NULL) == -1 &&
	    errno != EBADF && errno != ENOENT)
		log_warn("store_wake: epoll_ctl");
	s->listen_sock = -1;
	PQfinish(s->listen);
	s->listen = NULL;
}

int
store_pg_wake_fd(struct store *s)
{
	if (s->wake_tried)
		return s->wake_fd;
	s->wake_tried = true;
	if ((s->wake_fd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("store_wake_fd: epoll_create1; commits wake no one "
		    "here");
		return -1;
	}
	pg_listen_connect(s);
	return s->wake_fd;
}

/* The notifications say nothing the database does not: it is the truth,
 * they are only the hint to look. Their payload says what to look at:
 * 'access' from the access trigger, '' from a message or a presence write
 * (or a NOTIFY typed in psql: it wakes message readers as before). A
 * LISTEN made since the last drain, or none, may have missed some: the
 * caller then looks at everything. */
bool
store_pg_wake_drain(struct store *s)
{
	PGnotify *n;
	bool access;

	if (s->wake_fd == -1)
		return true;
	if (s->listen != NULL) {
		if (PQconsumeInput(s->listen) == 1 &&
		    PQstatus(s->listen) == CONNECTION_OK) {
			access = s->listen_fresh;
			s->listen_fresh = false;
			while ((n = PQnotifies(s->listen)) != NULL) {
				access = access || strcmp(n->extra,
				    STORE_PG_ACCESS_PAYLOAD) == 0;
				PQfreemem(n);
			}
			return access;
		}
		log_warnx("store_wake: lost the LISTEN connection: %.*s",
		    (int)strcspn(PQerrorMessage(s->listen), "\n"),
		    PQerrorMessage(s->listen));
		pg_listen_drop(s);
		s->listen_retry_at = 0;
	}
	pg_listen_connect(s);
	s->listen_fresh = false;
	return true;
}

void
pg_wake_close(struct store *s)
{
	if (s->listen != NULL)
		pg_listen_drop(s);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	s->wake_fd = -1;
}
