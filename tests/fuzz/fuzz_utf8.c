/* fuzz_utf8.c - libFuzzer target for utf8.c: utf8_decode agrees at every
 * position with a bit-pattern reference decoder, every decoded code point
 * re-encodes to exactly the bytes it came from, and utf8_valid agrees with
 * a decode loop. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The shortest UTF-8 form of cp into out; returns its length. */
static size_t
encode(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Reference decoder, written differently on purpose: length from the
 * lead byte's bit pattern, then range checks on the value. */
static size_t
ref_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n;
	uint32_t v;

	if (len == 0)
		return 0;
	if (p[0] < 0x80)
		n = 1, v = p[0];
	else if ((p[0] & 0xE0) == 0xC0)
		n = 2, v = p[0] & 0x1F;
	else if ((p[0] & 0xF0) == 0xE0)
		n = 3, v = p[0] & 0x0F;
	else if ((p[0] & 0xF8) == 0xF0)
		n = 4, v = p[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3F);
	}
	if (v < min[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	unsigned char enc[4];
	size_t i, n, rn;
	uint32_t cp, rcp;
	bool valid = true;

	for (i = 0; i < size; i++) {
		n = utf8_decode(s + i, size - i, &cp);
		rn = ref_decode(data + i, size - i, &rcp);
		assert(n == rn);
		if (n == 0)
			continue;
		assert(cp == rcp);
		assert(encode(cp, enc) == n && memcmp(enc, s + i, n) == 0);
		assert(!utf8_is_control(cp) || cp < 0x20 ||
		    (cp >= 0x7F && cp <= 0x9F));
		assert(!utf8_is_white_space(cp) || cp <= 0x3000);
	}
	for (i = 0; i < size; i += n)
		if ((n = utf8_decode(s + i, size - i, &cp)) == 0) {
			valid = false;
			break;
		}
	assert(utf8_valid(s, size) == valid);
	return 0;
}
