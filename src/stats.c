/* stats.c - per-process counters in shared files, and the figures of
 * GET /api/stats (json_stats writes them). */
#include "stats.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chat.h"
#include "json.h"
#include "limit.h"
#include "log.h"

#define STATS_MAGIC 0x66637374u   /* "fcst" */
#define STATS_VERSION 3   /* 2: waiting_ws, 3: presence_writes */
#define STATS_MAX_PROCS 256       /* files read per answer */
#define STATS_TOP 10              /* clients in each of the limits' lists */

/*
 * One process's file. The process holds an exclusive flock on it for its
 * whole life, so a reader that can take a shared lock has found the file
 * of a dead process (a crash leaves it behind): it is skipped and removed.
 * That survives pid reuse, which a kill(pid, 0) test would not. A new file
 * is made under a dot name and renamed once locked, so readers never see
 * an unlocked live one.
 */
struct stats_file {
	uint32_t magic, version;
	int64_t pid;
	int64_t started_ms;              /* chat_now_ms() */
	_Atomic int64_t v[STATS__MAX];
};

/* Counter names, in JSON; how a total over processes is formed. */
static const struct {
	const char *name;
	bool max;                        /* the largest, not the sum */
} counters[STATS__MAX] = {
	[STATS_REQUESTS] = { "requests", false },
	[STATS_SENDS] = { "sends", false },
	[STATS_ERRORS_4XX] = { "errors_4xx", false },
	[STATS_ERRORS_5XX] = { "errors_5xx", false },
	[STATS_WAITING_LONGPOLL] = { "waiting_longpoll", false },
	[STATS_WAITING_SSE] = { "waiting_sse", false },
	[STATS_WAITING_WS] = { "waiting_ws", false },
	[STATS_PARKED] = { "parked", false },
	[STATS_DELIVERED] = { "delivered", false },
	[STATS_DROPPED] = { "dropped", false },
	[STATS_PRUNED] = { "pruned", false },
	[STATS_LAST_ID] = { "last_id", true },
	[STATS_PRESENCE_WRITES] = { "presence_writes", false },
};

/* Counters before stats_open, or for good when it failed. */
static struct stats_file local = { STATS_MAGIC, STATS_VERSION };
static struct stats_file *self = &local;

/* --- this process ------------------------------------------------------ */

static int
stats_dir(const char *db_path, char *out, size_t outsz)
{
	return snprintf(out, outsz, "%s-stats", db_path) < (int)outsz ? 0 : -1;
}

/* Makes, locks and maps the file under its dot name, then renames it. */
static struct stats_file *
stats_create(const char *dir)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	struct stats_file *f = MAP_FAILED;
	long pid = (long)getpid();
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s/.%ld", dir, pid) >=
	    (int)sizeof(tmp) || snprintf(path, sizeof(path), "%s/%ld", dir,
	    pid) >= (int)sizeof(path)) {
		log_warnx("stats_open: %s: path too long", dir);
		return NULL;
	}
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || flock(fd, LOCK_EX | LOCK_NB) == -1 ||
	    ftruncate(fd, sizeof(*f)) == -1 ||
	    (f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0)) == MAP_FAILED) {
		log_warn("stats_open: %s", tmp);
		if (fd != -1)
			close(fd);
		unlink(tmp);
		return NULL;
	}
	*f = (struct stats_file){ STATS_MAGIC, STATS_VERSION, pid,
	    chat_now_ms() };
	for (int k = 0; k < STATS__MAX; k++)
		atomic_store(&f->v[k], atomic_load(&local.v[k]));
	if (rename(tmp, path) == -1) {
		log_warn("stats_open: %s", path);
		munmap(f, sizeof(*f));
		close(fd);
		unlink(tmp);
		return NULL;
	}
	return f;   /* fd stays open: the lock lives as long as we do */
}

int
stats_open(const char *db_path)
{
	char dir[PATH_MAX];
	struct stats_file *f;

	local.pid = (long)getpid();
	local.started_ms = chat_now_ms();
	if (stats_dir(db_path, dir, sizeof(dir)) == -1) {
		log_warnx("stats_open: %s: path too long", db_path);
		return -1;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("stats_open: mkdir %s", dir);
		return -1;
	}
	if ((f = stats_create(dir)) == NULL)
		return -1;
	self = f;
	return 0;
}

void
stats_count(enum stats_counter c, int64_t n)
{
	if ((unsigned)c < STATS__MAX)
		atomic_fetch_add(&self->v[c], n);
}

void
stats_publish(struct hub *h)
{
	struct hub_stats hs = { 0 };

	if (h == NULL)
		return;
	hub_stats(h, &hs);
	atomic_store(&self->v[STATS_WAITING_LONGPOLL],
	    hs.waiting[HUB_LONGPOLL]);
	atomic_store(&self->v[STATS_WAITING_SSE], hs.waiting[HUB_SSE]);
	atomic_store(&self->v[STATS_WAITING_WS], hs.waiting[HUB_WS]);
	atomic_store(&self->v[STATS_PARKED], hs.parked);
	atomic_store(&self->v[STATS_DELIVERED], hs.delivered);
	atomic_store(&self->v[STATS_DROPPED], hs.dropped);
	atomic_store(&self->v[STATS_LAST_ID], hs.last_id);
}

/* --- who may ask -------------------------------------------------------- */

static bool
is_loopback(const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (addr == NULL)
		return false;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		return a6.s6_addr[12] == 127;
	return IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Compares without an early exit, so the time taken tells nothing about
 * how much of a guess was right. */
static bool
same_secret(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char d = na != nb;

	for (size_t i = 0; i < na; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i % (nb ? nb : 1)];
	return d == 0;
}

/* The token of "Bearer TOKEN" (scheme in any case), or NULL. */
static const char *
bearer(const char *authorization)
{
	const char *p = authorization;

	if (p == NULL || strncasecmp(p, "Bearer ", 7) != 0)
		return NULL;
	for (p += 7; *p == ' '; p++)
		continue;
	return p;
}

enum chat_error
stats_allowed(const struct config *c, const char *remote_addr,
    const char *authorization, const char **why)
{
	const char *token = bearer(authorization);

	*why = NULL;
	if (c->stats_allow == STATS_OPEN)
		return CHAT_OK;
	if (token != NULL || authorization != NULL) {
		if (token != NULL && c->stats_token != NULL &&
		    same_secret(token, c->stats_token))
			return CHAT_OK;
		*why = "The statistics token is wrong.";
		return CHAT_E_FORBIDDEN;
	}
	if (c->stats_allow == STATS_LOOPBACK && is_loopback(remote_addr))
		return CHAT_OK;
	*why = "Statistics are for the server's operators: ask from the "
	    "server itself, or send Authorization: Bearer with the token.";
	return CHAT_E_FORBIDDEN;
}

/* --- all processes ------------------------------------------------------ */

/* Reads one process's file into *out. Returns 1 for a live process, 0
 * for a dead one (its file is then removed) or an unreadable one. */
static int
stats_read_one(const char *dir, const char *name, struct stats_file *out)
{
	char path[PATH_MAX];
	struct stat a, b;
	int fd, live = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path) || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		/* Nobody holds it: a leftover. Remove it unless a new
		 * process of the same pid has just put its own there. */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_ino == b.st_ino)
			unlink(path);
	} else if (pread(fd, out, sizeof(*out), 0) == (ssize_t)sizeof(*out) &&
	    out->magic == STATS_MAGIC && out->version == STATS_VERSION)
		live = 1;
	close(fd);
	return live;
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* The files of the live processes, this one's first, into v (at most
 * max). Returns how many. */
static size_t
stats_collect(const char *db_path, struct stats_file *v, size_t max)
{
	char dir[PATH_MAX];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	v[n++] = *self;   /* live figures, even if the file is missing */
	if (stats_dir(db_path, dir, sizeof(dir)) == -1 ||
	    (d = opendir(dir)) == NULL)
		return n;
	while (n < max && (e = readdir(d)) != NULL)
		if (all_digits(e->d_name) && strtol(e->d_name, NULL, 10) !=
		    (long)self->pid)
			n += (size_t)stats_read_one(dir, e->d_name, &v[n]);
	closedir(d);
	return n;
}

/* --- the answer --------------------------------------------------------- */

/* What one answer collects, for json_stats: one allocation. */
struct stats_answer {
	char db_name[PATH_MAX];   /* the database, its password hidden */
	struct stats_file files[STATS_MAX_PROCS];
	int64_t v[STATS_MAX_PROCS][STATS__MAX];
	struct json_stats_proc procs[STATS_MAX_PROCS];
	const char *names[STATS__MAX];
	int64_t totals[STATS__MAX];
	struct limit_entry top[2][STATS_TOP];
	struct json_stats j;
};

/* Each live process's figures, the totals over them (a sum, or the
 * largest), and the service's uptime (its oldest live process). */
static void
stats_sum(struct stats_answer *a, size_t n, int64_t now)
{
	int64_t oldest = now;

	for (int k = 0; k < STATS__MAX; k++)
		a->names[k] = counters[k].name;
	for (size_t i = 0; i < n; i++) {
		const struct stats_file *f = &a->files[i];
		for (int k = 0; k < STATS__MAX; k++) {
			int64_t x = a->v[i][k] = atomic_load(&f->v[k]);
			a->totals[k] = counters[k].max ? (x > a->totals[k] ?
			    x : a->totals[k]) : a->totals[k] + x;
		}
		a->procs[i] = (struct json_stats_proc){ f->pid,
		    f->pid == self->pid, (now - f->started_ms) / 1000,
		    a->v[i] };
		if (f->started_ms < oldest)
			oldest = f->started_ms;
	}
	a->j = (struct json_stats){ .now = now,
	    .uptime_s = (now - oldest) / 1000,
	    .waiting_longpoll = a->totals[STATS_WAITING_LONGPOLL],
	    .waiting_sse = a->totals[STATS_WAITING_SSE],
	    .waiting_ws = a->totals[STATS_WAITING_WS],
	    .names = a->names, .n_counters = STATS__MAX,
	    .totals = a->totals, .procs = a->procs, .n_procs = n };
}

/* The database's figures, and the retention settings, into a->j. */
static enum chat_error
stats_database(struct stats_answer *a, const struct config *c,
    struct store *s)
{
	struct json_stats *j = &a->j;
	struct chat_room_list rooms = { 0 };
	enum chat_error e;

	if ((e = store_max_id(s, &j->last_id)) != CHAT_OK ||
	    (e = store_size(s, &j->db_bytes, &j->wal_bytes)) != CHAT_OK ||
	    (e = store_rooms(s, &rooms)) != CHAT_OK) {
		chat_room_list_clear(&rooms);
		return e;
	}
	for (size_t i = 0; i < rooms.n; i++)
		j->messages += rooms.v[i].messages;
	j->rooms = rooms.n;
	j->db_path = store_display_path(c->db_path, a->db_name,
	    sizeof(a->db_name));
	j->schema = store_schema_version();
	j->retention_days = c->retention_days;
	j->retention_messages = c->retention_messages;
	j->retention_interval_s = c->retention_interval;
	chat_room_list_clear(&rooms);
	return CHAT_OK;
}

/* The limits' settings, and who is waiting and refused most (from the
 * shared file all processes of this host count in: limit.c). */
static void
stats_limits(struct stats_answer *a, const struct config *c)
{
	struct json_stats *j = &a->j;

	j->send_rate = c->send_rate;
	j->send_burst = c->send_burst;
	j->max_waiting = c->max_waiting;
	j->top_waiting = a->top[0];
	j->n_top_waiting = limit_top(LIMIT_BY_WAITING, a->top[0], STATS_TOP);
	j->top_refused = a->top[1];
	j->n_top_refused = limit_top(LIMIT_BY_REFUSED, a->top[1], STATS_TOP);
}

enum chat_error
stats_answer(struct buf *b, const struct config *c, struct store *s,
    struct hub *h)
{
	struct stats_answer *a = calloc(1, sizeof(*a));
	int64_t now = chat_now_ms();
	enum chat_error e = CHAT_E_INTERNAL;

	if (a == NULL)
		return e;
	stats_publish(h);
	stats_sum(a, stats_collect(c->state_path, a->files, STATS_MAX_PROCS), now);
	stats_limits(a, c);
	if ((e = stats_database(a, c, s)) == CHAT_OK &&
	    json_stats(b, &a->j) == -1)
		e = CHAT_E_INTERNAL;
	free(a);
	return e;
}
