/* limit.c - per-client send rate and waiting limits in a shared file. */
#include "limit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chat.h"
#include "forwarded.h"
#include "log.h"

#define LIMIT_MAGIC 0x66636c6d   /* "fclm" */
#define LIMIT_VERSION 3          /* 2: keys are users or addresses; refusals;
                                  * 3: the boot it belongs to */
#define SLOTS 4096               /* clients tracked at once */
#define PROCS 64                 /* worker processes per database */
#define PROBES 16
#define MINUTES (LIMIT_WINDOW_S / 60)   /* refusal buckets of a minute */

enum refusal { REFUSED_SEND, REFUSED_WAITING, REFUSED__MAX };

struct slot {
	char key[LIMIT_KEY_MAX];     /* limit_key() */
	uint8_t used;
	int64_t tokens;              /* thousandths of a send */
	int64_t last_ms;             /* CLOCK_MONOTONIC, same in all procs */
	int64_t logged_ms;           /* the last refusal logged; 0 none */
	uint32_t unlogged;           /* refusals since */
	int64_t minute[MINUTES];     /* which minute each bucket counts */
	uint32_t refused[MINUTES][REFUSED__MAX];
	uint16_t waiting[PROCS];     /* per process: a dead one's is cleared */
};

struct shared {
	uint32_t magic, version;
	char boot[40];               /* /proc/sys/kernel/random/boot_id */
	pthread_mutex_t lock;        /* robust, process-shared */
	pid_t pids[PROCS];
	struct slot slots[SLOTS];
};

static struct shared *sh;
static int me = -1;              /* this process's column */
static struct limit_options opt;

/* --- the shared file ----------------------------------------------------- */

/* This boot's id into out (zeroed when unknown): CLOCK_MONOTONIC times and
 * process ids in the file mean something only within the boot that wrote
 * them, and the file may outlive it. */
static void
boot_id(char out[40])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	memset(out, 0, 40);
	if (f != NULL) {
		if (fgets(out, 40, f) == NULL)
			memset(out, 0, 40);
		fclose(f);
	}
}

static int
shared_init(struct shared *s, const char boot[40])
{
	pthread_mutexattr_t a;

	memset(s, 0, sizeof(*s));
	memcpy(s->boot, boot, sizeof(s->boot));
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pthread_mutex_init(&s->lock, &a) != 0)
		return -1;
	pthread_mutexattr_destroy(&a);
	s->version = LIMIT_VERSION;
	s->magic = LIMIT_MAGIC;
	return 0;
}

/* A process killed while holding the lock leaves it to the next taker. */
static void
lock(void)
{
	if (pthread_mutex_lock(&sh->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&sh->lock);
}

static void
unlock(void)
{
	pthread_mutex_unlock(&sh->lock);
}

static bool
pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

/* Frees the columns of dead processes, then claims one. */
static void
claim_column(void)
{
	lock();
	for (int p = 0; p < PROCS; p++) {
		if (sh->pids[p] == 0 || pid_alive(sh->pids[p]))
			continue;
		for (int i = 0; i < SLOTS; i++)
			sh->slots[i].waiting[p] = 0;
		sh->pids[p] = 0;
	}
	for (int p = 0; p < PROCS && me < 0; p++)
		if (sh->pids[p] == 0) {
			sh->pids[p] = getpid();
			me = p;
		}
	unlock();
	if (me < 0)
		log_warnx("limit_init: more than %d worker processes; waiting "
		    "requests of this one are not limited", PROCS);
}

static struct shared *
shared_map(const char *path)
{
	struct shared *s = MAP_FAILED;
	struct stat st;
	char boot[40];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	boot_id(boot);

	if (fd < 0 || flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1)
		goto done;
	if (st.st_size != (off_t)sizeof(*s) &&
	    ftruncate(fd, (off_t)sizeof(*s)) == -1)
		goto done;
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED)
		goto done;
	if ((s->magic != LIMIT_MAGIC || s->version != LIMIT_VERSION ||
	    memcmp(s->boot, boot, sizeof(boot)) != 0) &&
	    shared_init(s, boot) == -1) {
		munmap(s, sizeof(*s));
		s = MAP_FAILED;
	}
done:
	if (s == MAP_FAILED)
		log_error("limit_init: %s", path);
	if (fd >= 0) {
		/* The mapping keeps the open file, and with it the flock,
		 * alive: unlock explicitly. */
		flock(fd, LOCK_UN);
		close(fd);
	}
	return s == MAP_FAILED ? NULL : s;
}

int
limit_init(const struct limit_options *o)
{
	char path[4096];

	opt = *o;
	if (opt.send_burst < 1)
		opt.send_burst = 1;
	if (opt.send_rate == 0 && opt.max_waiting == 0)
		return 0;
	snprintf(path, sizeof(path), "%s-limits", o->db_path);
	if ((sh = shared_map(path)) == NULL)
		return -1;
	claim_column();
	return 0;
}

/* --- keys and slots ------------------------------------------------------ */

/* ::ffff:192.0.2.1 is the same client as 192.0.2.1 (forwarded_addr). */
_Static_assert(LIMIT_KEY_MAX >= FORWARDED_ADDR_MAX, "LIMIT_KEY_MAX");

bool
limit_key(const char *addr, const char *user, char out[LIMIT_KEY_MAX])
{
	if (user != NULL && *user != '\0') {
		snprintf(out, LIMIT_KEY_MAX, "u:%s", user);
		return true;
	}
	return forwarded_addr(addr, out);
}

static int
slot_waiting(const struct slot *s)
{
	int n = 0;

	for (int p = 0; p < PROCS; p++)
		n += s->waiting[p];
	return n;
}

/* Refusals of kind k in the window. */
static int
slot_refused(const struct slot *s, enum refusal k, int64_t now)
{
	int64_t minute = now / 60000;
	int n = 0;

	for (int i = 0; i < MINUTES; i++)
		if (s->minute[i] > minute - MINUTES)
			n += (int)s->refused[i][k];
	return n;
}

/* The slot of key, claiming a free one or the stalest idle one among
 * its probes. NULL when all are busy (the caller then allows). Call with
 * the lock held. */
static struct slot *
slot_find(const char *key, int64_t now)
{
	unsigned h = chat_fnv1a(key, strlen(key));
	struct slot *free_slot = NULL, *stale = NULL;

	for (int i = 0; i < PROBES; i++) {
		struct slot *s = &sh->slots[(h + (unsigned)i) % SLOTS];
		if (s->used && strcmp(s->key, key) == 0)
			return s;
		if (!s->used && free_slot == NULL)
			free_slot = s;
		if (s->used && slot_waiting(s) == 0 &&
		    (stale == NULL || s->last_ms < stale->last_ms))
			stale = s;
	}
	if (free_slot == NULL)
		free_slot = stale;
	if (free_slot != NULL) {
		memset(free_slot, 0, sizeof(*free_slot));
		snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
		free_slot->used = 1;
		free_slot->tokens = (int64_t)opt.send_burst * 1000;
		free_slot->last_ms = now;
	}
	return free_slot;
}

/* --- refusals -------------------------------------------------------------- */

/* What to log of a refusal, taken under the lock and written after. */
struct refusal_note {
	char key[LIMIT_KEY_MAX];
	uint32_t count;              /* refusals this line reports; 0: none */
};

/* Counts a refusal of kind k in s; fills *note when this one is to be
 * logged (the first, then at most one per LIMIT_LOG_S). Lock held. */
static void
slot_refuse(struct slot *s, enum refusal k, int64_t now,
    struct refusal_note *note)
{
	int64_t minute = now / 60000;
	int b = (int)(minute % MINUTES);

	if (s->minute[b] != minute) {
		s->minute[b] = minute;
		memset(s->refused[b], 0, sizeof(s->refused[b]));
	}
	s->refused[b][k]++;
	s->unlogged++;
	if (s->logged_ms != 0 && now - s->logged_ms < LIMIT_LOG_S * 1000)
		return;
	memcpy(note->key, s->key, sizeof(note->key));
	note->count = s->unlogged;
	s->unlogged = 0;
	s->logged_ms = now;
}

/* The log line of a refusal (info), the key escaped: a user name is
 * whatever the web server's authentication accepted. */
static void
refusal_log(const char *fn, const struct refusal_note *note, const char *why)
{
	char esc[LIMIT_KEY_MAX * 4 + 4];

	if (note->count == 0 || log_level < LOG_LEVEL_INFO)
		return;
	log_escape(note->key, strlen(note->key), esc, sizeof(esc));
	log_info("%s: 429 for %s: %s (%u refused since the last such line, "
	    "at most one a key per %d s)", fn, esc, why, note->count,
	    LIMIT_LOG_S);
}

/* --- the limits -------------------------------------------------------- */

int
limit_send(const char *addr, const char *user)
{
	int64_t now = chat_mono_ms(), cap = (int64_t)opt.send_burst * 1000;
	struct refusal_note note = { .count = 0 };
	char key[LIMIT_KEY_MAX], why[64];
	struct slot *s;
	int wait = 0;

	if (sh == NULL || opt.send_rate == 0 || !limit_key(addr, user, key))
		return 0;
	lock();
	if ((s = slot_find(key, now)) != NULL) {
		s->tokens += (now - s->last_ms) * opt.send_rate;
		if (s->tokens > cap)
			s->tokens = cap;
		s->last_ms = now;
		if (s->tokens >= 1000) {
			s->tokens -= 1000;
		} else {
			int64_t ms = (1000 - s->tokens + opt.send_rate - 1) /
			    opt.send_rate;
			wait = (int)((ms + 999) / 1000);
			slot_refuse(s, REFUSED_SEND, now, &note);
		}
	}
	unlock();
	snprintf(why, sizeof(why), "over %d sends/s (burst %d)",
	    opt.send_rate, opt.send_burst);
	refusal_log("limit_send", &note, why);
	return wait;
}

int
limit_wait_acquire(const char *addr, const char *user)
{
	struct refusal_note note = { .count = 0 };
	char key[LIMIT_KEY_MAX], why[64];
	int64_t now = chat_mono_ms();
	struct slot *s;
	int handle = -1;

	if (sh == NULL || opt.max_waiting == 0 || me < 0 ||
	    !limit_key(addr, user, key))
		return -1;
	lock();
	if ((s = slot_find(key, now)) != NULL) {
		if (slot_waiting(s) >= opt.max_waiting) {
			handle = -2;
			s->last_ms = now;
			slot_refuse(s, REFUSED_WAITING, now, &note);
		} else {
			s->waiting[me]++;
			handle = (int)(s - sh->slots);
		}
	}
	unlock();
	snprintf(why, sizeof(why), "%d waiting already", opt.max_waiting);
	refusal_log("limit_wait_acquire", &note, why);
	return handle;
}

void
limit_wait_release(int handle)
{
	if (sh == NULL || handle < 0 || handle >= SLOTS || me < 0)
		return;
	lock();
	if (sh->slots[handle].waiting[me] > 0)
		sh->slots[handle].waiting[me]--;
	sh->slots[handle].last_ms = chat_mono_ms();
	unlock();
}

/* --- the state, for /api/stats ------------------------------------------- */

static int
entry_score(const struct limit_entry *e, enum limit_order by)
{
	return by == LIMIT_BY_WAITING ? e->waiting :
	    e->refused_send + e->refused_waiting;
}

/* Puts e into out[0..*n), kept sorted most first, at most max. */
static void
top_insert(struct limit_entry *out, size_t *n, size_t max,
    const struct limit_entry *e, enum limit_order by)
{
	size_t i = *n < max ? (*n)++ : max;
	int score = entry_score(e, by);

	if (i == max && score <= entry_score(&out[max - 1], by))
		return;
	if (i == max)
		i = max - 1;
	for (; i > 0 && entry_score(&out[i - 1], by) < score; i--)
		out[i] = out[i - 1];
	out[i] = *e;
}

size_t
limit_top(enum limit_order by, struct limit_entry *out, size_t max)
{
	int64_t now = chat_mono_ms();
	struct limit_entry e;
	size_t n = 0;

	if (sh == NULL || max == 0)
		return 0;
	lock();
	for (int i = 0; i < SLOTS; i++) {
		const struct slot *s = &sh->slots[i];
		if (!s->used)
			continue;
		e.waiting = slot_waiting(s);
		e.refused_send = slot_refused(s, REFUSED_SEND, now);
		e.refused_waiting = slot_refused(s, REFUSED_WAITING, now);
		if (entry_score(&e, by) == 0)
			continue;
		memcpy(e.key, s->key, sizeof(e.key));
		top_insert(out, &n, max, &e, by);
	}
	unlock();
	return n;
}
