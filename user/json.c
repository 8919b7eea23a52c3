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

/* Bytes written as they are: printable ASCII, less " \ < > &. */
static const bool json_plain[256] = {
	[' ' ... '!'] = true,	/* not " */
	['#' ... '%'] = true,	/* not & */
	['\'' ... ';'] = true,	/* not < */
	['='] = true,		/* not > */
	['?' ... '['] = true,	/* not \ */
	[']' ... '~'] = true,
};

static const char hex[] = "0123456789abcdef";

/*
 * Whether the 16 bytes at s are all plain, as json_plain[] says, judged
 * together: an explanation's few hundred bytes are nearly all plain. The
 * compiler's generic vectors make this SIMD where the machine has it.
 */
typedef unsigned char u8x16 __attribute__((vector_size(16)));

static bool plain_16(const unsigned char *s)
{
	unsigned long long w[2];
	u8x16 v, bad;

	memcpy(&v, s, sizeof(v));
	bad = (u8x16)((v < ' ') | (v > '~') | (v == '"') | (v == '\\') |
		      (v == '<') | (v == '>') | (v == '&'));
	memcpy(w, &bad, sizeof(w));
	return !(w[0] | w[1]);
}

/*
 * Escape s[*i, n) into dst until it is done or dst (cap bytes) has no room
 * for the next character; *i is advanced past what was written. Returns
 * the bytes written. A UTF-8 sequence is judged whole (against n), never
 * split. Most strings need no escaping at all: plain bytes are copied a
 * run at a time.
 */
static size_t escape_some(char *dst, size_t cap, const unsigned char *s, size_t n,
			  size_t *i)
{
	/* A local index: stores through dst may alias *i, which would be reread. */
	size_t k = *i, out = 0;

	while (k < n) {
		size_t run = 0, fit, l;
		unsigned char c;

		while (k + run + 16 <= n && plain_16(s + k + run))
			run += 16;
		while (k + run < n && json_plain[s[k + run]])
			run++;
		fit = run < cap - out ? run : cap - out;
		memcpy(dst + out, s + k, fit);
		out += fit;
		k += fit;
		if (fit < run || k == n)
			break;
		c = s[k];
		l = json_utf8_len(s + k, n - k);
		if (l > 1) {
			if (out + l > cap)
				break;
			memcpy(dst + out, s + k, l);
			out += l;
			k += l;
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
		k++;
	}
	*i = k;
	return out;
}

void json_write_str(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strnlen(str, len), i = 0;
	char buf[1024];

	fputc('"', f);
	while (i < n)
		fwrite(buf, 1, escape_some(buf, sizeof(buf), s, n, &i), f);
	fputc('"', f);
}

/* "00" to "99": two digits per division by 100, half the divisions. */
static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324"
	"25262728293031323334353637383940414243444546474849"
	"50515253545556575859606162636465666768697071727374"
	"75767778798081828384858687888990919293949596979899";

/* 10^0 to 10^19: every power of ten an unsigned long long holds. */
static const unsigned long long powers_of_ten[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

/*
 * Digits of v, from its bit length: 1233 / 4096 is just above log10(2), so
 * bits * 1233 >> 12 is the digit count or one less, and one comparison
 * settles which (a timestamp has 14 digits: no loop over them).
 */
static unsigned int u64_digits(unsigned long long v)
{
	unsigned int bits = 64 - (unsigned int)__builtin_clzll(v | 1);
	unsigned int t = bits * 1233 >> 12;

	return v < powers_of_ten[t] ? (t ? t : 1) : t + 1;
}

/* Written in place, last digits first: no copy from a scratch buffer. */
void jl_put_u64(struct jline *l, unsigned long long v)
{
	unsigned int d = u64_digits(v);
	char *p = jl_room(l, d);

	if (!p)
		return;
	p += d;
	jl_end(l, p);
	while (v >= 100) {
		p -= 2;
		memcpy(p, digit_pairs + v % 100 * 2, 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(p - 2, digit_pairs + v * 2, 2);
	else
		p[-1] = (char)('0' + v);
}

void jl_put_str(struct jline *l, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strnlen(str, len), i = 0;

	jl_put(l, "\"", 1);
	if (!l->cut)
		l->n += escape_some(l->buf + l->n, sizeof(l->buf) - l->n, s, n, &i);
	if (i < n)
		l->cut = true;
	jl_put(l, "\"", 1);
}

void jl_put_hex(struct jline *l, unsigned long long v)
{
	unsigned int d = (67 - (unsigned int)__builtin_clzll(v | 1)) / 4;
	char *p = jl_room(l, d + 4);

	if (!p)
		return;
	memcpy(p, "\"0x", 3);
	for (unsigned int i = d; i; i--, v >>= 4)
		p[2 + i] = hex[v & 15];
	p[3 + d] = '"';
	jl_end(l, p + d + 4);
}

bool jl_write(struct jline *l, FILE *f)
{
	jl_put(l, "\n", 1);
	if (l->cut)
		return false;
	fwrite(l->buf, 1, l->n, f);
	return true;
}
