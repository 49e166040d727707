/* floor.c - the floor of fcgichat's stack: a minimal libfcgi responder that
 * answers every request with the same small JSON body, doing no routing,
 * no SQLite and no JSON work. Measured behind the same lighttpd settings
 * as fcgichat (floor-lighttpd.conf), it shows what lighttpd + mod_fastcgi
 * + libfcgi cost by themselves, so `make bench` can report fcgichat/floor.
 *
 * Like fcgichat it reads the request body to EOF before answering, and
 * runs FLOOR_THREADS accept threads (default 4) on the socket lighttpd
 * passes as descriptor 0.
 *
 * Build: cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
 *            -o floor.fcgi floor.c -lfcgi -lpthread
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_THREADS 64

static const char answer[] =
	"Status: 200 OK\r\n"
	"Content-Type: application/json; charset=utf-8\r\n"
	"Cache-Control: no-store\r\n"
	"Content-Length: 27\r\n"
	"\r\n"
	"{\"messages\":[],\"last_id\":0}";

static void drain_body(FCGX_Stream *in)
{
	char buf[4096];
	while (FCGX_GetStr(buf, sizeof buf, in) > 0)
		;
}

static void *serve(void *arg)
{
	(void)arg;
	FCGX_Request req;
	if (FCGX_InitRequest(&req, 0, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&req) >= 0) {
		drain_body(req.in);
		FCGX_PutStr(answer, (int)(sizeof answer - 1), req.out);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

static int thread_count(void)
{
	const char *s = getenv("FLOOR_THREADS");
	int n = s ? atoi(s) : 4;
	return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

int main(void)
{
	pthread_t t[MAX_THREADS];
	int n = thread_count();
	if (FCGX_Init() != 0)
		return 1;
	/* FCGX_Init makes SIGTERM only set a flag: let it end the process. */
	signal(SIGTERM, SIG_DFL);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, serve, NULL) != 0)
			return 1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
