/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_JSON_H
#define TW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/*
 * Write s (at most len bytes, stopping at NUL) as a JSON string, quotes
 * included. Control characters, quotes and backslashes are escaped; so are
 * <, > and & (the output may end up inside HTML) and every byte that is not
 * part of valid UTF-8 (written as the code point U+00XX, so no byte from the
 * traced system reaches the output unescaped).
 */
void json_write_str(FILE *f, const char *s, size_t len);

/*
 * A JSON line built in memory and written with one fwrite(): the
 * per-event path, where stdio's cost per call was most of the work. The
 * longest line tcpwatch makes is an explanation whose every byte needs
 * escaping (about 5 KB); a line that does not fit is marked cut and
 * jl_write() writes nothing of it.
 */
struct jline {
	size_t n;
	bool cut;
	char buf[8192];		/* an explanation's text escaped at worst: 5 KB */
};

/* An empty line (not an initializer: that would clear the 8 KB each time). */
static inline void jl_start(struct jline *l)
{
	l->n = 0;
	l->cut = false;
}

/*
 * Room for a value of at most max bytes, written in place and ended with
 * jl_end(); NULL (the line cut) if there is none.
 */
static inline char *jl_room(struct jline *l, size_t max)
{
	if (l->cut || max > sizeof(l->buf) - l->n) {
		l->cut = true;
		return NULL;
	}
	return l->buf + l->n;
}

static inline void jl_end(struct jline *l, const char *end)
{
	l->n = (size_t)(end - l->buf);
}

/*
 * Appends n bytes, or marks the line cut. Inline, like the appenders below:
 * keys are string literals, so their length and copy are known at compile
 * time, where a call to strlen() and memcpy() per key was a tenth of the
 * tracer's time.
 */
static inline void jl_put(struct jline *l, const char *s, size_t n)
{
	char *p = jl_room(l, n);

	if (p) {
		memcpy(p, s, n);
		l->n += n;
	}
}

static inline void jl_raw(struct jline *l, const char *s)
{
	jl_put(l, s, strlen(s));
}

/* The values alone (the appenders below put the key first). */
void jl_put_u64(struct jline *l, unsigned long long v);
void jl_put_hex(struct jline *l, unsigned long long v);
void jl_put_str(struct jline *l, const char *s, size_t len);

/* Each appends key as it is (",\"sport\":"), then the value. */
static inline void jl_u64(struct jline *l, const char *key, unsigned long long v)
{
	jl_raw(l, key);
	jl_put_u64(l, v);
}

static inline void jl_s64(struct jline *l, const char *key, long long v)
{
	jl_raw(l, key);
	if (v < 0)
		jl_put(l, "-", 1);
	jl_put_u64(l, v < 0 ? -(unsigned long long)v : (unsigned long long)v);
}

/* As a string: "0x1f". */
static inline void jl_hex(struct jline *l, const char *key, unsigned long long v)
{
	jl_raw(l, key);
	jl_put_hex(l, v);
}

/* A string that needs no escaping (names from tcpwatch's own tables). */
static inline void jl_name(struct jline *l, const char *key, const char *name)
{
	jl_raw(l, key);
	jl_put(l, "\"", 1);
	jl_raw(l, name);
	jl_put(l, "\"", 1);
}

/* A string from the traced system: escaped as json_write_str() does. */
static inline void jl_str(struct jline *l, const char *key, const char *s,
			  size_t len)
{
	jl_raw(l, key);
	jl_put_str(l, s, len);
}

/* The line and its newline to f; false (nothing written) if it was cut. */
bool jl_write(struct jline *l, FILE *f);

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
size_t json_utf8_len(const unsigned char *s, size_t n);

#endif
