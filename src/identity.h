/* identity.h - who a request is: the user the web server authenticated
 * (REMOTE_USER), never a name the client chose. One place decides, for
 * FastCGI requests and for the WebSocket door alike, so that limits,
 * private rooms, presence and message authors all agree. */
#ifndef IDENTITY_H
#define IDENTITY_H

#include "chat.h"

struct fcgi_req;
struct http_request;

/* A user name is at most CHAT_MAX_USER bytes (chat.h): e-mail addresses,
 * Kerberos principals. A longer or malformed REMOTE_USER is refused, not
 * cut. */

/* The authenticated user of a FastCGI request: REMOTE_USER when the web
 * server set it and it is not empty, else NULL (anonymous). The string
 * lives as long as the request. */
const char *identity_fcgi(struct fcgi_req *fr);

/* The authenticated user of a proxied WebSocket request head: taken only
 * from the header the front end's shipped config overwrites (see
 * conf/), else NULL. Lives as long as rq. */
const char *identity_ws(const struct http_request *rq);

/* What a user name must be is validate_user's (validate.h): a request
 * whose name breaks it is refused whole (403 bad_user), never served as
 * anonymous or under a cut name. */

#endif
