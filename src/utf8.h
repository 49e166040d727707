/* utf8.h - UTF-8 decoding and the Unicode properties API.md's rules need. */
#ifndef UTF8_H
#define UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s[0..len). Returns the bytes it used (1-4) and
 * sets *cp, or 0 when the bytes there are not well-formed UTF-8 (truncated,
 * overlong, a surrogate, above U+10FFFF, or len == 0). */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/* True when all of s[0..len) is well-formed UTF-8 (NUL bytes included). */
bool utf8_valid(const char *s, size_t len);

/* Unicode White_Space property (U+0009-000D, U+0020, U+0085, U+00A0,
 * U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000). */
bool utf8_is_white_space(uint32_t cp);

/* API.md control characters: U+0000-001F, U+007F, U+0080-009F. */
bool utf8_is_control(uint32_t cp);

#endif
