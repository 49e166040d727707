/* fuzz_fcgi.c - libFuzzer target for the whole worker behind FastCGI: the
 * real worker_serve() (worker.c) runs inside this process on a unix socket, with
 * a fresh database in a temporary directory, and each input becomes one
 * FastCGI connection to it (so routing, the query and header parsers, the
 * handlers, parking and the hub all run on it, with coverage).
 *
 * The first byte picks how the rest is used:
 *   even: raw bytes, written to the connection as they are;
 *   odd:  one request built from fields separated by NUL bytes: method,
 *         SCRIPT_NAME, PATH_INFO, REQUEST_URI, QUERY_STRING, CONTENT_TYPE,
 *         HTTP_LAST_EVENT_ID, HTTP_ORIGIN, then the body (the rest, NULs
 *         included); an empty field is an absent parameter.
 *
 * The connection is then half-closed (no more input, as a web server
 * whose client left), and the worker must close it within 5 s: no hang,
 * whatever the bytes. Every answer must be well-formed FastCGI records.
 * A built request must get a CGI head whose lines cannot be forged (no
 * control characters), a known status other than 500, the API.md error
 * body with 4xx/5xx (Allow with 405, Retry-After with 429 and 503), and
 * leave the database unchanged unless it answered 201. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "chat.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "worker.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);
static bool ready(void);

/* libfcgi 2.4.2 leaks 48 bytes for every management record (request id 0)
 * of a type other than FCGI_GET_VALUES: ProcessManagementRecord's
 * NewParams(3) is freed on the GET_VALUES path only. Not ours to fix
 * (tests/fuzz/regress/fuzz_fcgi/libfcgi-mgmt-record-leak); memory that
 * libfcgi allocates itself is left out of the leak check, ours is not. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libfcgi.so\n";
}

#define IO_TIMEOUT_MS 5000
#define NFIELDS 8

static char dir[64];
static struct sockaddr_un addr;
static struct store *probe;   /* reads the database between inputs */
static struct config cfg;

static void *
serve_thread(void *arg)
{
	(void)arg;
	worker_serve(&cfg);
	abort();   /* worker_serve() returns only on failure */
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
cleanup(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
dial(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct store_options so = { .busy_timeout_ms = 5000 };
	struct chat_message m = { 0 };
	char db[128];
	pthread_t t;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/fcgichat-fuzz-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(db, sizeof(db), "%s/chat.db", dir);
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/sock", dir);
	setenv("FCGICHAT_DB", db, 1);
	setenv("FCGICHAT_LOG_LEVEL", "error", 1);
	setenv("FCGICHAT_THREADS", "2", 1);
	setenv("FCGICHAT_MAX_WAIT", "1", 1);
	setenv("FCGICHAT_SSE_LIFETIME", "1", 1);
	setenv("FCGICHAT_KEEPALIVE", "1", 1);
	setenv("FCGICHAT_SEND_RATE", "0", 1);
	setenv("FCGICHAT_MAX_WAITING", "0", 1);
	setenv("FCGICHAT_ALLOW_ORIGINS", "https://ok.example", 1);
	setenv("FCGICHAT_CORS_ORIGINS", "https://cors.example", 1);
	if (config_load(&cfg) == -1)
		abort();
	log_level = cfg.log_level;
	cfg.socket = addr.sun_path;
	if (pthread_create(&t, NULL, serve_thread, NULL) != 0)
		abort();
	/* The socket listens before the database is ready: ask until the
	 * worker answers. */
	for (int i = 0; i < 1000 && !ready(); i++)
		usleep(10000);
	so.path = db;
	if ((probe = store_open(&so)) == NULL)
		abort();
	/* One message, so that reads, long-polls and streams have some. */
	if (store_append(probe, "lobby", "fuzz", "hello", NULL, &m, NULL) !=
	    CHAT_OK)
		abort();
	chat_message_clear(&m);
	return 0;
}

/* --- building a request --------------------------------------------------- */

static void
record(struct buf *b, int type, const void *p, size_t n)
{
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1,
	    (unsigned char)(n >> 8), (unsigned char)n, 0, 0 };

	buf_append(b, h, sizeof(h));
	buf_append(b, p, n);
}

static void
pair_len(struct buf *b, size_t n)
{
	unsigned char l[4] = { (unsigned char)(n >> 24 | 0x80),
	    (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n };

	if (n < 128)
		buf_append(b, l + 3, 1);
	else
		buf_append(b, l, 4);
}

static void
param(struct buf *b, const char *name, const char *v, size_t n)
{
	if (n == 0)
		return;
	pair_len(b, strlen(name));
	pair_len(b, n);
	buf_append(b, name, strlen(name));
	buf_append(b, v, n);
}

/* Splits data into NFIELDS NUL-terminated fields and the body. */
static void
build(struct buf *out, const uint8_t *data, size_t size)
{
	static const char *const names[NFIELDS] = { "REQUEST_METHOD",
	    "SCRIPT_NAME", "PATH_INFO", "REQUEST_URI", "QUERY_STRING",
	    "CONTENT_TYPE", "HTTP_LAST_EVENT_ID", "HTTP_ORIGIN" };
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	struct buf params = { 0 };
	const char *p = (const char *)data, *end = p + size;
	char clen[32];

	for (int i = 0; i < NFIELDS; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);
		param(&params, names[i], p, n > 60000 ? 60000 : n);
		p = nul ? nul + 1 : end;
	}
	snprintf(clen, sizeof(clen), "%zu", (size_t)(end - p));
	param(&params, "CONTENT_LENGTH", clen, strlen(clen));
	param(&params, "REMOTE_ADDR", "127.0.0.1", 9);
	param(&params, "HTTP_HOST", "127.0.0.1:8080", 14);
	param(&params, "SERVER_PROTOCOL", "HTTP/1.1", 8);
	record(out, 1, begin, sizeof(begin));   /* FCGI_BEGIN_REQUEST */
	for (size_t o = 0; o < params.len; o += 65535) {
		size_t n = params.len - o < 65535 ? params.len - o : 65535;
		record(out, 4, params.data + o, n);   /* FCGI_PARAMS */
	}
	record(out, 4, "", 0);
	for (; p < end; p += 65535) {
		size_t n = (size_t)(end - p) < 65535 ? (size_t)(end - p) : 65535;
		record(out, 5, p, n);   /* FCGI_STDIN */
	}
	record(out, 5, "", 0);
	buf_free(&params);
}

/* --- the exchange ----------------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes req, half-closes, reads to EOF into resp. Aborts when the worker
 * neither reads nor closes within IO_TIMEOUT_MS (a hang). */
static void
exchange(const struct buf *req, struct buf *resp)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	size_t off = 0;
	bool wr = true;
	int fd = dial();

	assert(fd >= 0 && "the worker stopped accepting");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (req->len == 0) {
		shutdown(fd, SHUT_WR);
		wr = false;
	}
	for (;;) {
		struct pollfd pfd = { fd, POLLIN | (wr ? POLLOUT : 0), 0 };
		char chunk[65536];
		ssize_t n;
		int left = (int)(deadline - now_ms());

		if (left <= 0) {
			fprintf(stderr, "fuzz_fcgi: the worker kept the "
			    "connection open %d ms after the input ended\n",
			    IO_TIMEOUT_MS);
			abort();
		}
		if (poll(&pfd, 1, left) <= 0)
			continue;
		if (wr && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = send(fd, req->data + off, req->len - off,
			    MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			if (n < 0 && errno != EAGAIN)
				off = req->len;   /* the worker closed early */
			if (off == req->len) {
				shutdown(fd, SHUT_WR);
				wr = false;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, chunk, sizeof(chunk));
			if (n == 0 || (n < 0 && errno != EAGAIN))
				break;
			if (n > 0)
				buf_append(resp, chunk, (size_t)n);
		}
	}
	close(fd);
}

/* True once the worker answers GET /api/health with 200. */
static bool
ready(void)
{
	static const uint8_t health[] = "GET\0/api\0/health\0\0\0\0\0\0";
	struct buf req = { 0 }, resp = { 0 };
	int fd = dial();
	bool ok;

	if (fd < 0)
		return false;
	close(fd);
	build(&req, health, sizeof(health) - 1);
	exchange(&req, &resp);
	ok = resp.len > 16 && memmem(resp.data, resp.len, "Status: 200", 11);
	buf_free(&req);
	buf_free(&resp);
	return ok;
}

/* --- checking the answer ----------------------------------------------------- */

/* Rows (summed over the rooms table) and the newest id. */
static void
db_totals(int64_t *n, int64_t *max)
{
	struct chat_room_list l = { 0 };

	assert(store_max_id(probe, max) == CHAT_OK);
	assert(store_rooms(probe, &l) == CHAT_OK);
	*n = 0;
	for (size_t i = 0; i < l.n; i++)
		*n += l.v[i].messages;
	chat_room_list_clear(&l);
}

struct answer {
	struct buf out;      /* FCGI_STDOUT content of request 1 */
	bool ended;          /* FCGI_END_REQUEST seen */
};

/* The records must be well-formed; collects request 1's output. */
static void
parse_records(const struct buf *resp, struct answer *a)
{
	const unsigned char *p = (const unsigned char *)resp->data;
	size_t off = 0;

	while (off + 8 <= resp->len) {
		size_t n = (size_t)p[off + 4] << 8 | p[off + 5];
		size_t pad = p[off + 6];
		int type = p[off + 1], id = p[off + 2] << 8 | p[off + 3];

		assert(p[off] == 1 && "FastCGI version");
		assert(type == 3 || type == 6 || type == 7 || type == 10 ||
		    type == 11);
		if (off + 8 + n + pad > resp->len)
			break;   /* cut short: the worker dropped the waiter */
		if (type == 6 && id == 1)
			buf_append(&a->out, p + off + 8, n);
		if (type == 3 && id == 1) {
			assert(n == 8);
			a->ended = true;
		}
		off += 8 + n + pad;
	}
}

static bool
has_header(const char *head, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = head; l < head + len;) {
		const char *eol = memchr(l, '\n', (size_t)(head + len - l));
		if (strncasecmp(l, name, n) == 0 && l[n] == ':')
			return true;
		if (eol == NULL)
			break;
		l = eol + 1;
	}
	return false;
}

static void
check_error_body(const char *body, size_t len)
{
	static const char *const codes[] = { "bad_json", "bad_room",
	    "bad_nick", "bad_text", "bad_client_id", "bad_param", "too_large",
	    "unsupported_media_type", "method_not_allowed", "not_found",
	    "forbidden", "rate_limited", "unavailable" };
	cJSON *o = cJSON_ParseWithLength(body, len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	bool known = false;

	assert(cJSON_IsString(code) && cJSON_IsString(msg));
	assert(strlen(msg->valuestring) > 0);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		known |= strcmp(code->valuestring, codes[i]) == 0;
	assert(known);
	cJSON_Delete(o);
}

/* The CGI head and body of a built request's answer. */
static void
check_answer(const struct answer *a, int64_t n0, int64_t max0)
{
	const char *s = a->out.data, *sep;
	size_t len = a->out.len, hlen;
	int64_t n1, max1;
	int status;

	if (len == 0) {
		/* Nothing at all is only right for a request that never
		 * became one; a built request always does. */
		assert(!"a built request got no answer");
	}
	sep = memmem(s, len, "\r\n\r\n", 4);
	assert(sep != NULL && "the CGI head is complete");
	hlen = (size_t)(sep - s) + 2;
	for (size_t i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)s[i];
		/* Only CRLF line ends; nothing a client could take for a
		 * header or a response of its own. */
		if (c == '\r')
			assert(s[i + 1] == '\n');
		else if (c == '\n')
			assert(i > 0 && s[i - 1] == '\r');
		else
			assert(c >= 0x20 && c < 0x7f);
	}
	assert(sscanf(s, "Status: %d ", &status) == 1);
	assert(status == 200 || status == 201 || status == 204 ||
	    status == 400 || status == 403 || status == 404 ||
	    status == 405 || status == 413 || status == 415 ||
	    status == 429 || status == 503);
	if (status == 405)
		assert(has_header(s, hlen, "Allow"));
	if (status == 429 || status == 503)
		assert(has_header(s, hlen, "Retry-After"));
	if (status >= 400) {
		assert(a->ended && "an error answer is complete");
		check_error_body(sep + 4, len - hlen - 2);
	}
	db_totals(&n1, &max1);
	if (status == 201)
		assert(n1 == n0 + 1 && max1 > max0);
	else
		assert(n1 == n0 && max1 == max0 &&
		    "only a 201 changes the database");
}

/* libfcgi 2.4.2 (Debian's, with the CVE-2025-23016 patch) adds a
 * parameter's name and value lengths (each up to 2^31 - 1) in an int and
 * asserts that malloc of the sum succeeded: a name-value pair with lengths
 * near 2^31 aborts the whole worker process (tests/fuzz/regress/fuzz_fcgi/
 * libfcgi-*-abort). A web server never sends one (its header limits are
 * kilobytes); anyone who can write to the FastCGI socket can, and libfcgi
 * finds such lengths in places no record walk predicts (the padding of
 * FCGI_BEGIN_REQUEST and the content of unknown management records are
 * read as parameters). So raw inputs are tried only without the bytes
 * 0x81-0xff, with which a 4-byte length reaches 16 MiB; built requests
 * (always well-formed lengths) carry any byte. */
static bool
huge_pair_length(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] > 0x80)
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf req = { 0 }, resp = { 0 };
	struct answer a = { 0 };
	int64_t n0, max0;
	bool built;

	if (size == 0)
		return 0;
	built = data[0] & 1;
	if (!built && huge_pair_length(data + 1, size - 1))
		return 0;
	db_totals(&n0, &max0);
	if (built)
		build(&req, data + 1, size - 1);
	else
		buf_append(&req, data + 1, size - 1);
	exchange(&req, &resp);
	parse_records(&resp, &a);
	if (built)
		check_answer(&a, n0, max0);
	buf_free(&req);
	buf_free(&resp);
	buf_free(&a.out);
	return 0;
}
