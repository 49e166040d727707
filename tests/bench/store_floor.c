/* store_floor.c - the store's own ceiling for sends: what fcgichat's store
 * (src/store*.c, linked from build/libchat.a) commits with no HTTP, no
 * FastCGI and no web server in front of it. Each send does what a send
 * asks of the store in the worker (api.c): the room's access check, then
 * store_append_as through the process's group commit. PROCS processes of
 * THREADS threads each, every thread with its own connection, as the
 * worker's processes and accept threads are (fcgichat's defaults: 2 and
 * 4), sending as fast as they can for SECONDS seconds to one room of a
 * fresh database with the worker's settings (FCGICHAT_SYNCHRONOUS as
 * shipped: normal). Paired with the HTTP floor (floor.c behind lighttpd,
 * no store), `make bench` shows which of the two bounds fcgichat's sends.
 *
 * Prints one JSON line like loadgen's send run: committed sends per
 * second, latency of one send (access check + commit) and the CPU time
 * of all its processes (server_cpu_s).
 *
 * Usage: store_floor --db PATH [--procs P] [--threads T] [--seconds S]
 *        [--label NAME] [--room ROOM]
 * Build (run.sh): cc ... -Isrc -Ibuild store_floor.c build/libchat.a
 *        -lfcgi -lsqlite3 -lpq -lcjson -lnettle -lpthread
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "log.h"
#include "private.h"
#include "store.h"

#define MAX_PROCS 16
#define MAX_THREADS 64
#define MAX_SAMPLES (1 << 21)   /* latencies kept per process */

struct opts {
	const char *db, *label, *room;
	int procs, threads;
	double seconds;
};

/* One process's threads share these. */
struct proc {
	const struct opts *o;
	int64_t deadline_ns;
	atomic_long sent, failed;
	atomic_long n_samples;
	uint32_t *samples;      /* latency of each send, ns/100 */
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *
sender(void *arg)
{
	struct proc *p = arg;
	struct store_options so = { .path = p->o->db, .busy_timeout_ms = 5000 };
	struct store *s = store_open(&so);
	char text[64];
	long k = 0;

	if (s == NULL) {
		atomic_fetch_add(&p->failed, 1);
		return NULL;
	}
	for (;;) {
		int64_t t0 = now_ns(), t1;
		struct chat_message m = { 0 };
		bool created;
		long i;

		if (t0 >= p->deadline_ns)
			break;
		snprintf(text, sizeof(text), "store %ld %" PRId64, k++, t0);
		if (private_check(s, p->o->room, NULL, NULL) != CHAT_OK ||
		    store_append_as(s, p->o->room, NULL, "bench", text, NULL,
		    &m, &created) != CHAT_OK) {
			atomic_fetch_add(&p->failed, 1);
			continue;
		}
		chat_message_clear(&m);
		t1 = now_ns();
		atomic_fetch_add(&p->sent, 1);
		i = atomic_fetch_add(&p->n_samples, 1);
		if (i < MAX_SAMPLES)
			p->samples[i] = (uint32_t)((t1 - t0) / 100);
	}
	store_free(s);
	return NULL;
}

/* A child: its threads send until the deadline; then it writes its counts
 * and latencies to fd. */
static int
child(const struct opts *o, int64_t deadline_ns, int fd)
{
	static struct proc p;
	pthread_t th[MAX_THREADS];
	long head[3], n;

	p.o = o;
	p.deadline_ns = deadline_ns;
	if ((p.samples = malloc(MAX_SAMPLES * sizeof(uint32_t))) == NULL)
		return 1;
	for (int i = 0; i < o->threads; i++)
		if (pthread_create(&th[i], NULL, sender, &p) != 0)
			return 1;
	for (int i = 0; i < o->threads; i++)
		pthread_join(th[i], NULL);
	n = atomic_load(&p.n_samples);
	if (n > MAX_SAMPLES)
		n = MAX_SAMPLES;
	head[0] = atomic_load(&p.sent);
	head[1] = atomic_load(&p.failed);
	head[2] = n;
	if (write(fd, head, sizeof(head)) != (ssize_t)sizeof(head) ||
	    write(fd, p.samples, (size_t)n * sizeof(uint32_t)) !=
	    (ssize_t)(n * sizeof(uint32_t)))
		return 1;
	return 0;
}

static int
read_all(int fd, void *buf, size_t len)
{
	char *b = buf;

	while (len > 0) {
		ssize_t r = read(fd, b, len);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		b += r;
		len -= (size_t)r;
	}
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct_ms(const uint32_t *v, long n, double q)
{
	long i = (long)(q * (double)(n - 1) + 0.5);

	return n ? v[i] / 10000.0 : 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: store_floor --db PATH [--procs P] "
	    "[--threads T] [--seconds S] [--label NAME] [--room ROOM]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct opts o = { .label = "store", .room = "store-floor", .procs = 2,
	    .threads = 4, .seconds = 5 };
	struct store_options so = { .busy_timeout_ms = 5000 };
	int fds[MAX_PROCS];
	pid_t pids[MAX_PROCS];
	uint32_t *all;
	long sent = 0, failed = 0, n_all = 0;
	int64_t t0, t1, deadline;
	struct rusage ru;
	double cpu;
	bool bad = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			usage();
		if (strcmp(a, "--db") == 0)
			o.db = v;
		else if (strcmp(a, "--procs") == 0)
			o.procs = atoi(v);
		else if (strcmp(a, "--threads") == 0)
			o.threads = atoi(v);
		else if (strcmp(a, "--seconds") == 0)
			o.seconds = atof(v);
		else if (strcmp(a, "--label") == 0)
			o.label = v;
		else if (strcmp(a, "--room") == 0)
			o.room = v;
		else
			usage();
		i++;
	}
	if (o.db == NULL || o.procs < 1 || o.procs > MAX_PROCS ||
	    o.threads < 1 || o.threads > MAX_THREADS || o.seconds <= 0 ||
	    o.seconds > 600)
		usage();
	log_init("store_floor", LOG_LEVEL_WARN);
	so.path = o.db;
	if (store_migrate(&so) == -1)
		return 1;
	t0 = now_ns();
	deadline = t0 + (int64_t)(o.seconds * 1e9);
	for (int i = 0; i < o.procs; i++) {
		int pfd[2];
		if (pipe(pfd) == -1 || (pids[i] = fork()) == -1) {
			perror("store_floor");
			return 1;
		}
		if (pids[i] == 0) {
			close(pfd[0]);
			_exit(child(&o, deadline, pfd[1]));
		}
		close(pfd[1]);
		fds[i] = pfd[0];
	}
	if ((all = malloc((size_t)o.procs * MAX_SAMPLES *
	    sizeof(uint32_t))) == NULL)
		return 1;
	for (int i = 0; i < o.procs; i++) {
		long head[3];
		int st;
		if (read_all(fds[i], head, sizeof(head)) == -1 ||
		    head[2] < 0 || head[2] > MAX_SAMPLES ||
		    read_all(fds[i], all + n_all,
		    (size_t)head[2] * sizeof(uint32_t)) == -1) {
			bad = true;
		} else {
			sent += head[0];
			failed += head[1];
			n_all += head[2];
		}
		close(fds[i]);
		if (waitpid(pids[i], &st, 0) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			bad = true;
	}
	t1 = now_ns();
	getrusage(RUSAGE_CHILDREN, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	qsort(all, (size_t)n_all, sizeof(uint32_t), cmp_u32);
	printf("{\"scenario\":\"send\",\"server\":\"%s\",\"clients\":%d,"
	    "\"seconds\":%.3f,\"path\":\"store\",\"requests\":%ld,"
	    "\"per_s\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
	    "\"max_ms\":%.3f,\"errors\":{\"total\":%ld},\"server_cpu_s\":%.2f,"
	    "\"ok\":%s}\n", o.label, o.procs * o.threads,
	    (t1 - t0) / 1e9, sent, sent / ((t1 - t0) / 1e9),
	    pct_ms(all, n_all, 0.5), pct_ms(all, n_all, 0.9),
	    pct_ms(all, n_all, 0.99), n_all ? all[n_all - 1] / 10000.0 : 0,
	    failed, cpu, bad || failed || sent == 0 ? "false" : "true");
	printf("# send %s P=%d T=%d: %.0f sends/s over %.1f s, p50 %.2f ms, "
	    "p99 %.2f, CPU %.2f s (%.0f us a send), %ld errors: %s\n",
	    o.label, o.procs, o.threads, sent / ((t1 - t0) / 1e9),
	    (t1 - t0) / 1e9, pct_ms(all, n_all, 0.5),
	    pct_ms(all, n_all, 0.99), cpu, sent ? cpu * 1e6 / sent : 0,
	    failed, bad || failed || sent == 0 ? "FAILED" : "OK");
	free(all);
	return bad || failed ? 1 : 0;
}
