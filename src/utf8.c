/* utf8.c - strict UTF-8 decoding (Unicode Table 3-7) and the two code
 * point classes API.md's rules use: White_Space and control characters. */
#include "utf8.h"

/*
 * Well-formed byte sequences by lead byte, Unicode 15 Table 3-7. Narrowing
 * the second byte's range per lead rejects overlongs (E0, F0), surrogates
 * (ED) and code points above U+10FFFF (F4) without further checks; leads
 * C0, C1 and F5-FF never appear. Every later byte is 80-BF.
 */
static const struct utf8_lead {
	unsigned char lo, hi;	/* lead byte range */
	unsigned char len;	/* bytes in the sequence */
	unsigned char lo2, hi2;	/* second byte range */
} leads[] = {
	{ 0xC2, 0xDF, 2, 0x80, 0xBF },
	{ 0xE0, 0xE0, 3, 0xA0, 0xBF },
	{ 0xE1, 0xEC, 3, 0x80, 0xBF },
	{ 0xED, 0xED, 3, 0x80, 0x9F },
	{ 0xEE, 0xEF, 3, 0x80, 0xBF },
	{ 0xF0, 0xF0, 4, 0x90, 0xBF },
	{ 0xF1, 0xF3, 4, 0x80, 0xBF },
	{ 0xF4, 0xF4, 4, 0x80, 0x8F },
};

/* Inclusive code point ranges, sorted. */
struct utf8_range {
	uint32_t lo, hi;
};

static const struct utf8_range white_space[] = {
	{ 0x0009, 0x000D }, { 0x0020, 0x0020 }, { 0x0085, 0x0085 },
	{ 0x00A0, 0x00A0 }, { 0x1680, 0x1680 }, { 0x2000, 0x200A },
	{ 0x2028, 0x2029 }, { 0x202F, 0x202F }, { 0x205F, 0x205F },
	{ 0x3000, 0x3000 },
};

static const struct utf8_range control[] = {
	{ 0x0000, 0x001F }, { 0x007F, 0x009F },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct utf8_lead *
utf8_lead(unsigned char c)
{
	for (size_t i = 0; i < NELEM(leads); i++)
		if (c >= leads[i].lo && c <= leads[i].hi)
			return &leads[i];
	return NULL;
}

size_t
utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	const struct utf8_lead *l;
	uint32_t v;

	if (len == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((l = utf8_lead(p[0])) == NULL || len < l->len ||
	    p[1] < l->lo2 || p[1] > l->hi2)
		return 0;
	v = p[0] & (0x7F >> l->len);
	for (size_t i = 1; i < l->len; i++) {
		if (i > 1 && (p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	*cp = v;
	return l->len;
}

bool
utf8_valid(const char *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((unsigned char)s[i] < 0x80) {	/* ASCII fast path */
			i++;
			continue;
		}
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0)
			return false;
		i += n;
	}
	return true;
}

static bool
utf8_in(const struct utf8_range *r, size_t n, uint32_t cp)
{
	for (size_t i = 0; i < n && r[i].lo <= cp; i++)
		if (cp <= r[i].hi)
			return true;
	return false;
}

bool
utf8_is_white_space(uint32_t cp)
{
	return utf8_in(white_space, NELEM(white_space), cp);
}

bool
utf8_is_control(uint32_t cp)
{
	return utf8_in(control, NELEM(control), cp);
}
