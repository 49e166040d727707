/* fcgi.c - libfcgi behind a small interface: accept, params, body, answer,
 * hand-over of a connection for parking, and the records framed around
 * what is later written to it. */
#include "fcgi.h"

#include <assert.h>
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chat.h"
#include "log.h"

#define FCGI_VERSION_1 1
#define FCGI_END_REQUEST 3
#define FCGI_STDOUT 6
#define PARKED_FD_MIN 1024

struct fcgi_req {
	FCGX_Request r;
};

/* True when fd 0 is a listening socket: a web server spawned us. */
static bool
fcgi_is_spawned(void)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	/* getpeername fails with ENOTCONN on a listening socket. */
	return getpeername(0, (struct sockaddr *)&sa, &len) == -1 &&
	    errno == ENOTCONN;
}

/* True when the parent is a web server that stays as long as it serves:
 * lighttpd, or Apache's mod_fcgid process manager; not a launcher that
 * exits once it has started us (spawn-fcgi). */
static bool
parent_is_server(pid_t ppid)
{
	static const char *const servers[] = { "lighttpd", "apache2", "httpd" };
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)ppid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	if (fgets(comm, sizeof(comm), f) == NULL)
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++)
		if (strcmp(comm, servers[i]) == 0)
			return true;
	return false;
}

static int
systemd_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return -1;
	if (atoi(fds) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	return 3;   /* SD_LISTEN_FDS_START */
}

int
fcgi_init(const char *bind_path)
{
	int fd;

	if (FCGX_Init() != 0) {
		log_errorx("fcgi_init: FCGX_Init failed");
		return -1;
	}
	/* FCGX_Init made SIGTERM only set a flag; workers must die with the
	 * server that spawned them. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	if (bind_path != NULL && *bind_path != '\0') {
		mode_t old = umask(0117);   /* socket rw for user and group */
		/* As lighttpd's listen-backlog in
		 * conf/lighttpd-fcgichat.conf. */
		fd = FCGX_OpenSocket(bind_path, CHAT_LISTEN_BACKLOG);
		umask(old);
		if (fd < 0)
			log_error("fcgi_init: cannot listen on %s", bind_path);
		return fd < 0 ? -1 : fd;
	}
	if ((fd = systemd_fd()) >= 0)
		return fd;
	if (fcgi_is_spawned()) {
		/* A server that goes without stopping them (killed, crashed)
		 * takes them along too, rather than leaving them holding the
		 * database and a socket nobody connects to. */
		pid_t ppid = getppid();
		if (parent_is_server(ppid) &&
		    prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 && getppid() != ppid)
			raise(SIGTERM);   /* it died before the signal was set */
		return 0;
	}
	log_errorx("fcgi_init: not started by a web server; give --socket "
	    "PATH or set FCGICHAT_SOCKET to listen on a socket of its own");
	return -1;
}

struct fcgi_req *
fcgi_req_new(int listen_fd)
{
	struct fcgi_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	if (FCGX_InitRequest(&r->r, listen_fd, 0) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

void
fcgi_req_free(struct fcgi_req *r)
{
	if (r == NULL)
		return;
	fcgi_finish(r);
	free(r);
}

int
fcgi_accept(struct fcgi_req *r)
{
	bool starved = false;
	int rc;

	while ((rc = FCGX_Accept_r(&r->r)) < 0) {
		if (rc == -EINTR || rc == -ECONNABORTED)
			continue;
		/* Out of descriptors (thousands of clients waiting): the
		 * request stays in the queue. Returning would end this
		 * accept thread for good, and with the last one the worker
		 * would answer nothing while it lives. */
		if (chat_accept_starved(-rc)) {
			if (!starved)
				log_warnx("fcgi_accept: %s (requests wait in the "
				    "queue; trying again every %d ms)",
				    strerror(-rc), CHAT_ACCEPT_RETRY_MS);
			starved = true;
			usleep(CHAT_ACCEPT_RETRY_MS * 1000);
			continue;
		}
		log_warnx("fcgi_accept: FCGX_Accept_r returned %d", rc);
		return -1;
	}
	return 0;
}

const char *
fcgi_param(struct fcgi_req *r, const char *name)
{
	return FCGX_GetParam(name, r->r.envp);
}

int
fcgi_read_body(struct fcgi_req *r, size_t max, struct buf *out,
    bool *too_large)
{
	char chunk[8192];
	int n;

	*too_large = false;
	while ((n = FCGX_GetStr(chunk, sizeof(chunk), r->r.in)) > 0) {
		size_t keep = 0;
		if (out->len < max)
			keep = max - out->len < (size_t)n ? max - out->len :
			    (size_t)n;
		if (keep < (size_t)n)
			*too_large = true;
		if (keep && buf_append(out, chunk, keep) == -1)
			return -1;
	}
	return FCGX_GetError(r->r.in) ? -1 : 0;
}

int
fcgi_write(struct fcgi_req *r, const void *p, size_t n)
{
	while (n > 0) {
		int chunk = n > 1 << 30 ? 1 << 30 : (int)n;
		if (FCGX_PutStr(p, chunk, r->r.out) != chunk)
			return -1;
		p = (const char *)p + chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

void
fcgi_finish(struct fcgi_req *r)
{
	if (r->r.ipcFd >= 0 && !r->r.keepConnection)
		FCGX_Detach(&r->r);
	FCGX_Finish_r(&r->r);
}

/* Moves fd above the numbers select() can handle, so that libfcgi's
 * select() on freshly accepted connections stays within FD_SETSIZE. */
static int
move_high(int fd)
{
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, PARKED_FD_MIN);

	if (hi < 0)
		return fd;
	close(fd);
	return hi;
}

int
fcgi_release(struct fcgi_req *r, int *fd, int *request_id)
{
	if (FCGX_FFlush(r->r.out) != 0 || r->r.ipcFd < 0) {
		fcgi_finish(r);
		return -1;
	}
	*fd = move_high(r->r.ipcFd);
	*request_id = r->r.requestId;
	fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
	/* Free streams and params without touching the connection, then
	 * leave r looking like a request with no connection. */
	r->r.ipcFd = -1;
	r->r.keepConnection = 0;
	FCGX_Free(&r->r, 0);
	return 0;
}

/* Fills h with the header of an FCGI_STDOUT record of len bytes. */
static void
fcgi_stdout_header(unsigned char h[FCGI_HEADER_LEN], int request_id,
    size_t len)
{
	assert(len <= FCGI_MAX_CONTENT);
	h[0] = FCGI_VERSION_1;
	h[1] = FCGI_STDOUT;
	h[2] = (unsigned char)(request_id >> 8);
	h[3] = (unsigned char)request_id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0;   /* no padding */
	h[7] = 0;
}

/* Fills e with the records that end request_id successfully. */
static void
fcgi_end_records(unsigned char e[FCGI_END_LEN], int request_id)
{
	fcgi_stdout_header(e, request_id, 0);
	e[8] = FCGI_VERSION_1;
	e[9] = FCGI_END_REQUEST;
	e[10] = (unsigned char)(request_id >> 8);
	e[11] = (unsigned char)request_id;
	e[12] = 0;
	e[13] = 8;      /* body: appStatus(4) protocolStatus(1) reserved(3) */
	e[14] = 0;
	e[15] = 0;
	memset(e + 16, 0, 8);   /* appStatus 0, FCGI_REQUEST_COMPLETE */
}

int
fcgi_frame(struct buf *out, int request_id, const void *data, size_t len,
    bool end)
{
	unsigned char hdr[FCGI_HEADER_LEN], tail[FCGI_END_LEN];
	const char *p = data;

	while (len > 0) {
		size_t n = len > FCGI_MAX_CONTENT ? FCGI_MAX_CONTENT : len;
		fcgi_stdout_header(hdr, request_id, n);
		buf_append(out, hdr, sizeof(hdr));
		buf_append(out, p, n);
		p += n;
		len -= n;
	}
	if (end) {
		fcgi_end_records(tail, request_id);
		buf_append(out, tail, sizeof(tail));
	}
	return out->oom ? -1 : 0;
}

int
fcgi_frame_iov(struct fcgi_iov *f, int request_id, const void *data,
    size_t len, bool end)
{
	const char *p = data;
	size_t k = 0;

	if (len > (size_t)FCGI_IOV_RECORDS * FCGI_MAX_CONTENT)
		return -1;
	f->total = 0;
	for (; len > 0; k++) {
		size_t c = len > FCGI_MAX_CONTENT ? FCGI_MAX_CONTENT : len;
		fcgi_stdout_header(f->hdr[k], request_id, c);
		f->iov[2 * k] = (struct iovec){ f->hdr[k], FCGI_HEADER_LEN };
		f->iov[2 * k + 1] = (struct iovec){ (void *)p, c };
		p += c;
		len -= c;
		f->total += FCGI_HEADER_LEN + c;
	}
	k *= 2;
	if (end) {
		fcgi_end_records(f->tail, request_id);
		f->iov[k++] = (struct iovec){ f->tail, sizeof(f->tail) };
		f->total += sizeof(f->tail);
	}
	assert(k <= sizeof(f->iov) / sizeof(f->iov[0]));
	f->n = (int)k;
	return 0;
}
