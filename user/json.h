/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_JSON_H
#define TW_JSON_H

#include <stddef.h>
#include <stdio.h>

/*
 * Write s (at most len bytes, stopping at NUL) as a JSON string, quotes
 * included. Control characters, quotes and backslashes are escaped; so are
 * <, > and & (the output may end up inside HTML) and every byte that is not
 * part of valid UTF-8 (written as the code point U+00XX, so no byte from the
 * traced system reaches the output unescaped).
 */
void json_write_str(FILE *f, const char *s, size_t len);

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
size_t json_utf8_len(const unsigned char *s, size_t n);

#endif
