/* forwarded.c - the client of an X-Forwarded-For chain (forwarded.h). */
#include "forwarded.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "query.h"

/* An address as 16 bytes (IPv4 as ::ffff:a.b.c.d), and the prefix length
 * of a range (128 for one address). */
struct net {
	uint8_t a[16];
	int bits;
};

static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

/* Reads s[0..n), an address, into *a. */
static bool
addr_parse(const char *s, size_t n, uint8_t a[16], bool *v4)
{
	char text[FORWARDED_ADDR_MAX];
	struct in_addr x;

	if (n == 0 || n >= sizeof(text))
		return false;
	memcpy(text, s, n);
	text[n] = '\0';
	if ((*v4 = inet_pton(AF_INET, text, &x) == 1)) {
		memcpy(a, mapped, sizeof(mapped));
		memcpy(a + 12, &x, 4);
		return true;
	}
	return inet_pton(AF_INET6, text, a) == 1;
}

/* Reads s[0..n), "ADDR" or "ADDR/BITS", into *net. */
static bool
net_parse(const char *s, size_t n, struct net *net)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash != NULL ? (size_t)(slash - s) : n;
	int64_t bits;
	bool v4;

	if (!addr_parse(s, alen, net->a, &v4))
		return false;
	net->bits = 128;
	if (slash == NULL)
		return true;
	if (query_int(slash + 1, n - alen - 1, 0, v4 ? 32 : 128, &bits) != 0)
		return false;
	net->bits = (int)bits + (v4 ? 96 : 0);
	return true;
}

static bool
net_has(const struct net *net, const uint8_t a[16])
{
	int whole = net->bits / 8, rest = net->bits % 8;

	if (memcmp(net->a, a, (size_t)whole) != 0)
		return false;
	return rest == 0 ||
	    ((net->a[whole] ^ a[whole]) & (0xff00 >> rest) & 0xff) == 0;
}

/* Calls each element of the list s (separated by any of seps, empty ones
 * skipped), in order, from the right when reverse, until fn returns
 * false. Returns the number of elements seen. */
typedef bool element_fn(const char *e, size_t n, void *arg);

static size_t
each_element(const char *s, const char *seps, bool reverse, element_fn *fn,
    void *arg)
{
	size_t len = strlen(s), seen = 0;

	for (size_t i = 0; i < len;) {
		size_t end = reverse ? len - i : 0, start, n;
		if (reverse) {
			while (end > 0 && strchr(seps, s[end - 1]) != NULL)
				end--;
			for (start = end; start > 0 &&
			    strchr(seps, s[start - 1]) == NULL; start--)
				continue;
			i = len - start;
		} else {
			for (start = i; start < len &&
			    strchr(seps, s[start]) != NULL; start++)
				continue;
			for (end = start; end < len &&
			    strchr(seps, s[end]) == NULL; end++)
				continue;
			i = end;
		}
		if ((n = end - start) == 0)
			break;
		seen++;
		if (!fn(s + start, n, arg))
			break;
	}
	return seen;
}

#define TRUSTED_SEPS " \t"
#define XFF_SEPS ", \t"

static bool
trusted_check(const char *e, size_t n, void *arg)
{
	struct net net;
	bool *ok = arg;

	*ok = net_parse(e, n, &net);
	return *ok;
}

bool
forwarded_trusted_ok(const char *list)
{
	bool ok = true;
	size_t n = each_element(list, TRUSTED_SEPS, false, trusted_check, &ok);

	return ok && n >= 1 && n <= FORWARDED_TRUSTED_MAX;
}

struct trusted_match {
	const uint8_t *a;
	bool found;
};

static bool
trusted_match(const char *e, size_t n, void *arg)
{
	struct trusted_match *m = arg;
	struct net net;

	if (net_parse(e, n, &net) && net_has(&net, m->a))
		m->found = true;
	return !m->found;
}

struct walk {
	const char *trusted;
	const char *e;               /* the element taken so far */
	size_t n;
	bool done;
};

/* One element of the chain, from the right: taken; and the walk goes on
 * past it only when it is a trusted proxy. */
static bool
walk_step(const char *e, size_t n, void *arg)
{
	struct walk *w = arg;
	struct trusted_match m = { .found = false };
	uint8_t a[16];
	bool v4;

	w->e = e;
	w->n = n;
	if (w->trusted == NULL || !addr_parse(e, n, a, &v4))
		return false;
	m.a = a;
	each_element(w->trusted, TRUSTED_SEPS, false, trusted_match, &m);
	return m.found;
}

/* s[0..n) in inet_ntop's form into out, an IPv4-mapped IPv6 address
 * as IPv4. */
static bool
addr_format(const char *s, size_t n, char out[FORWARDED_ADDR_MAX])
{
	uint8_t a[16];
	bool v4;

	if (!addr_parse(s, n, a, &v4))
		return false;
	if (v4 || memcmp(a, mapped, sizeof(mapped)) == 0)
		return inet_ntop(AF_INET, a + 12, out, FORWARDED_ADDR_MAX) !=
		    NULL;
	return inet_ntop(AF_INET6, a, out, FORWARDED_ADDR_MAX) != NULL;
}

bool
forwarded_addr(const char *text, char out[FORWARDED_ADDR_MAX])
{
	return text != NULL && addr_format(text, strlen(text), out);
}

bool
forwarded_client(const char *trusted, const char *xff,
    char out[FORWARDED_ADDR_MAX])
{
	struct walk w = { .trusted = trusted };

	return xff != NULL && each_element(xff, XFF_SEPS, true, walk_step,
	    &w) > 0 && addr_format(w.e, w.n, out);
}
