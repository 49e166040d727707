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

/*
 * Either front end's shipped config overwrites both headers a browser
 * could send (conf/): lighttpd removes X-Remote-User and appends its own
 * Forwarded element (remote_user when signed in); Apache sets
 * X-Remote-User ("" when anonymous: NULL here) and removes Forwarded.
 * So the one that survives is the web server's.
 */
const char *
identity_ws(const struct http_request *rq)
{
	const char *u = rq->user != NULL ? rq->user : rq->fwd_user;

	return u != NULL && *u != '\0' ? u : NULL;
}
