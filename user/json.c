// SPDX-License-Identifier: GPL-2.0
/* Escaping strings that come from the traced system. */
#include <stdbool.h>
#include <string.h>

#include "json.h"

size_t json_utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Bytes that are written as they are: printable ASCII, less " \\ < > &. */
static bool json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' &&
	       c != '>' && c != '&';
}

static const char hex[] = "0123456789abcdef";

/*
 * Escape s[*i, n) into dst until it is done or dst (cap bytes) has no room
 * for the next character; *i is advanced past what was written. Returns
 * the bytes written. A UTF-8 sequence is judged whole (against n), never
 * split.
 */
static size_t escape_some(char *dst, size_t cap, const unsigned char *s, size_t n,
			  size_t *i)
{
	size_t out = 0;

	while (*i < n) {
		unsigned char c = s[*i];
		size_t l;

		if (json_plain(c)) {
			if (out + 1 > cap)
				break;
			dst[out++] = (char)c;
			(*i)++;
			continue;
		}
		l = json_utf8_len(s + *i, n - *i);
		if (l > 1) {
			if (out + l > cap)
				break;
			for (size_t k = 0; k < l; k++)
				dst[out++] = (char)s[(*i)++];
			continue;
		}
		if (out + 6 > cap)
			break;
		dst[out++] = '\\';
		if (c == '"' || c == '\\') {
			dst[out++] = (char)c;
		} else if (c == '\n') {
			dst[out++] = 'n';
		} else if (c == '\t') {
			dst[out++] = 't';
		} else {
			dst[out++] = 'u';
			dst[out++] = '0';
			dst[out++] = '0';
			dst[out++] = hex[c >> 4];
			dst[out++] = hex[c & 15];
		}
		(*i)++;
	}
	return out;
}

static size_t str_len(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && s[n])
		n++;
	return n;
}

void json_write_str(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = str_len(str, len), i = 0;
	char buf[1024];

	fputc('"', f);
	while (i < n)
		fwrite(buf, 1, escape_some(buf, sizeof(buf), s, n, &i), f);
	fputc('"', f);
}

static void jl_put(struct jline *l, const char *s, size_t n)
{
	if (l->cut || n > sizeof(l->buf) - l->n) {
		l->cut = true;
		return;
	}
	memcpy(l->buf + l->n, s, n);
	l->n += n;
}

void jl_raw(struct jline *l, const char *s)
{
	jl_put(l, s, strlen(s));
}

void jl_u64(struct jline *l, const char *key, unsigned long long v)
{
	char buf[20], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	jl_raw(l, key);
	jl_put(l, p, (size_t)(buf + sizeof(buf) - p));
}

void jl_s64(struct jline *l, const char *key, long long v)
{
	if (v >= 0) {
		jl_u64(l, key, (unsigned long long)v);
		return;
	}
	jl_raw(l, key);
	jl_u64(l, "-", -(unsigned long long)v);
}

void jl_hex(struct jline *l, const char *key, unsigned long long v)
{
	char buf[24], *p = buf + sizeof(buf);

	*--p = '"';
	do {
		*--p = hex[v & 15];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	*--p = '"';
	jl_raw(l, key);
	jl_put(l, p, (size_t)(buf + sizeof(buf) - p));
}

void jl_name(struct jline *l, const char *key, const char *name)
{
	jl_raw(l, key);
	jl_put(l, "\"", 1);
	jl_raw(l, name);
	jl_put(l, "\"", 1);
}

void jl_str(struct jline *l, const char *key, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = str_len(str, len), i = 0;

	jl_raw(l, key);
	jl_put(l, "\"", 1);
	if (!l->cut)
		l->n += escape_some(l->buf + l->n, sizeof(l->buf) - l->n, s, n, &i);
	if (i < n)
		l->cut = true;
	jl_put(l, "\"", 1);
}

bool jl_write(struct jline *l, FILE *f)
{
	jl_put(l, "\n", 1);
	if (l->cut)
		return false;
	fwrite(l->buf, 1, l->n, f);
	return true;
}
