/* limit.c - per-address send rate and waiting limits in a shared file. */
#include "limit.h"

#include <arpa/inet.h>
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
#include "log.h"

#define LIMIT_MAGIC 0x66636c6d   /* "fclm" */
#define LIMIT_VERSION 1
#define SLOTS 4096               /* addresses tracked at once */
#define PROCS 64                 /* worker processes per database */
#define PROBES 16

struct slot {
	uint8_t addr[16];            /* IPv6, or IPv4-mapped */
	uint8_t used;
	int64_t tokens;              /* thousandths of a send */
	int64_t last_ms;             /* CLOCK_MONOTONIC, same in all procs */
	uint16_t waiting[PROCS];     /* per process: a dead one's is cleared */
};

struct shared {
	uint32_t magic, version;
	pthread_mutex_t lock;        /* robust, process-shared */
	pid_t pids[PROCS];
	struct slot slots[SLOTS];
};

static struct shared *sh;
static int me = -1;              /* this process's column */
static struct limit_options opt;

/* --- the shared file ----------------------------------------------------- */

static int
shared_init(struct shared *s)
{
	pthread_mutexattr_t a;

	memset(s, 0, sizeof(*s));
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
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1)
		goto done;
	if (st.st_size != (off_t)sizeof(*s) &&
	    ftruncate(fd, (off_t)sizeof(*s)) == -1)
		goto done;
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED)
		goto done;
	if ((s->magic != LIMIT_MAGIC || s->version != LIMIT_VERSION) &&
	    shared_init(s) == -1) {
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

/* --- slots ----------------------------------------------------------------- */

static bool
parse_addr(const char *text, uint8_t out[16])
{
	struct in_addr v4;

	if (text == NULL)
		return false;
	if (inet_pton(AF_INET6, text, out) == 1)
		return true;
	if (inet_pton(AF_INET, text, &v4) != 1)
		return false;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &v4, 4);
	return true;
}

static int
slot_waiting(const struct slot *s)
{
	int n = 0;

	for (int p = 0; p < PROCS; p++)
		n += s->waiting[p];
	return n;
}

/* The slot of addr, claiming a free one or the stalest idle one among
 * its probes. NULL when all are busy (the caller then allows). Call with
 * the lock held. */
static struct slot *
slot_find(const uint8_t addr[16], int64_t now)
{
	unsigned h = chat_fnv1a(addr, 16);
	struct slot *free_slot = NULL, *stale = NULL;

	for (int i = 0; i < PROBES; i++) {
		struct slot *s = &sh->slots[(h + (unsigned)i) % SLOTS];
		if (s->used && memcmp(s->addr, addr, 16) == 0)
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
		memcpy(free_slot->addr, addr, 16);
		free_slot->used = 1;
		free_slot->tokens = (int64_t)opt.send_burst * 1000;
		free_slot->last_ms = now;
	}
	return free_slot;
}

/* --- the limits -------------------------------------------------------- */

int
limit_send(const char *addr)
{
	int64_t now = chat_mono_ms(), cap = (int64_t)opt.send_burst * 1000;
	uint8_t a[16];
	struct slot *s;
	int wait = 0;

	if (sh == NULL || opt.send_rate == 0 || !parse_addr(addr, a))
		return 0;
	lock();
	if ((s = slot_find(a, now)) != NULL) {
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
		}
	}
	unlock();
	return wait;
}

int
limit_wait_acquire(const char *addr)
{
	uint8_t a[16];
	struct slot *s;
	int handle = -1;

	if (sh == NULL || opt.max_waiting == 0 || me < 0 ||
	    !parse_addr(addr, a))
		return -1;
	lock();
	if ((s = slot_find(a, chat_mono_ms())) != NULL) {
		if (slot_waiting(s) >= opt.max_waiting) {
			handle = -2;
		} else {
			s->waiting[me]++;
			handle = (int)(s - sh->slots);
		}
	}
	unlock();
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
