/* origin.c - which pages may use the API (see origin.h). */
#include "origin.h"

#include <string.h>

bool
origin_listed(const char *list, const char *origin)
{
	size_t n = strlen(origin);

	if (list == NULL)
		return false;
	if (strcmp(list, "*") == 0)
		return true;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, " \t,");
		if (len == n && strncmp(p, origin, n) == 0)
			return true;
		p += len;
		p += strspn(p, " \t,");
	}
	return false;
}

bool
origin_same(const char *origin, bool https, const char *host)
{
	const char *scheme = https ? "https://" : "http://";
	size_t sl = strlen(scheme);

	return host != NULL && strncmp(origin, scheme, sl) == 0 &&
	    strcmp(origin + sl, host) == 0;
}

bool
origin_check(const struct config *c, const char *origin, bool https,
    const char *host, const char **cors)
{
	bool is_cors;

	if (origin == NULL)
		return true;
	if ((is_cors = origin_listed(c->cors_origins, origin)))
		*cors = strcmp(c->cors_origins, "*") == 0 ? "*" : origin;
	return c->allow_origins == NULL || is_cors ||
	    origin_same(origin, https, host) ||
	    origin_listed(c->allow_origins, origin);
}

bool
origin_check_ws(const struct config *c, const char *origin, bool https,
    const char *host)
{
	return origin == NULL || origin_same(origin, https, host) ||
	    origin_listed(c->allow_origins, origin) ||
	    origin_listed(c->cors_origins, origin);
}
