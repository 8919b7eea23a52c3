// SPDX-License-Identifier: GPL-2.0
/* Escaping strings that come from the traced system. */
#include <stdbool.h>

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

void json_write_str(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = 0;

	while (n < len && s[n])
		n++;
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t l, run = i;

		/* Most strings are plain: written in one piece. */
		while (run < n && json_plain(s[run]))
			run++;
		if (run > i) {
			fwrite(s + i, 1, run - i, f);
			i = run;
			continue;
		}
		l = json_utf8_len(s + i, n - i);
		if (l > 1) {
			fwrite(s + i, 1, l, f);
			i += l;
			continue;
		}
		i++;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else
			fprintf(f, "\\u%04x", c);
	}
	fputc('"', f);
}

void json_put_u64(FILE *f, const char *key, unsigned long long v)
{
	char buf[20], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fputs(key, f);
	fwrite(p, 1, (size_t)(buf + sizeof(buf) - p), f);
}

void json_put_hex(FILE *f, const char *key, unsigned long long v)
{
	char buf[24], *p = buf + sizeof(buf);

	*--p = '"';
	do {
		*--p = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	*--p = '"';
	fputs(key, f);
	fwrite(p, 1, (size_t)(buf + sizeof(buf) - p), f);
}

void json_put_s64(FILE *f, const char *key, long long v)
{
	if (v >= 0) {
		json_put_u64(f, key, (unsigned long long)v);
		return;
	}
	fputs(key, f);
	json_put_u64(f, "-", -(unsigned long long)v);
}

void json_put_name(FILE *f, const char *key, const char *name)
{
	fputs(key, f);
	fputc('"', f);
	fputs(name, f);
	fputc('"', f);
}
