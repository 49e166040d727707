/* identity.c - who a request is (identity.h). */
#include "identity.h"

#include <stddef.h>

#include "fcgi.h"
#include "http.h"

const char *
identity_fcgi(struct fcgi_req *fr)
{
	const char *u = fcgi_param(fr, "REMOTE_USER");

	return u != NULL && *u != '\0' ? u : NULL;
}

const char *
identity_ws(const struct http_request *rq)
{
	return rq->user;
}
