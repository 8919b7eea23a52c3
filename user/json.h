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

/*
 * Numbers without printf's format parsing (the per-event path): key is
 * written as it is (",\"sport\":"), then the value.
 */
void json_put_u64(FILE *f, const char *key, unsigned long long v);
void json_put_s64(FILE *f, const char *key, long long v);
/* As a string: "0x1f". */
void json_put_hex(FILE *f, const char *key, unsigned long long v);
/* A string known to need no escaping (names from tcpwatch's own tables). */
void json_put_name(FILE *f, const char *key, const char *name);

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
size_t json_utf8_len(const unsigned char *s, size_t n);

#endif
