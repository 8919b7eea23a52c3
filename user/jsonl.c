// SPDX-License-Identifier: GPL-2.0
/* Reading JSON Lines: one flat object per line, strictly. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonl.h"

struct cursor {
	const char *p;
	const char *end;
	const char *err;
};

static void skip_ws_slow(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' ||
				 *c->p == '\n'))
		c->p++;
}

/* Recordings have none: one comparison, inline, says so. */
static inline __attribute__((always_inline)) void skip_ws(struct cursor *c)
{
	if (c->p < c->end && (unsigned char)*c->p <= ' ')
		skip_ws_slow(c);
}

static bool fail(struct cursor *c, const char *why)
{
	if (!c->err)
		c->err = why;
	return false;
}

static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char ch = p[i];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v |= ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			v |= ch - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Append code point cp as UTF-8 to out (len used of cap); false if full. */
static bool put_utf8(char *out, size_t *len, size_t cap, unsigned int cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80)
		b[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	else
		b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)),
		n = 4;
	if (*len + n >= cap)
		return false;
	memcpy(out + *len, b, n);
	*len += n;
	return true;
}

static bool parse_escape(struct cursor *c, unsigned int *cp)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	int hi, lo;

	if (c->p >= c->end)
		return fail(c, "unterminated string");
	hit = strchr(from, *c->p);
	if (*c->p && hit) {
		*cp = (unsigned char)to[hit - from];
		c->p++;
		return true;
	}
	if (*c->p != 'u' || c->end - c->p < 5 || (hi = hex4(c->p + 1)) < 0)
		return fail(c, "invalid escape in string");
	c->p += 5;
	*cp = (unsigned int)hi;
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' ||
		    (lo = hex4(c->p + 2)) < 0xdc00 || lo > 0xdfff)
			return fail(c, "invalid surrogate pair in string");
		c->p += 6;
		*cp = 0x10000 + (((unsigned int)hi - 0xd800) << 10) +
		      ((unsigned int)lo - 0xdc00);
	} else if (hi >= 0xdc00 && hi <= 0xdfff) {
		return fail(c, "invalid surrogate in string");
	}
	if (*cp == 0)
		return fail(c, "NUL in string");
	return true;
}

/* Bytes of a string that stand for themselves and are whole characters. */
static const bool plain_ascii[256] = {
	[' ' ... '!'] = true,		/* not '"' */
	['#' ... '['] = true,		/* not '\\' */
	[']' ... 0x7f] = true,
};

/* A string into out (cap bytes with its NUL); *out_len: its length. */
static bool parse_string(struct cursor *c, char *out, size_t cap, size_t *out_len)
{
	size_t len = 0;

	if (c->p >= c->end || *c->p != '"')
		return fail(c, "expected a string");
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		unsigned int cp = (unsigned char)*c->p;
		const char *run = c->p;

		/* Plain ASCII, the common case: copied in one piece. */
		while (run < c->end && plain_ascii[(unsigned char)*run])
			run++;
		if (run > c->p) {
			if (len + (size_t)(run - c->p) >= cap)
				return fail(c, "string too long");
			memcpy(out + len, c->p, (size_t)(run - c->p));
			len += (size_t)(run - c->p);
			c->p = run;
			continue;
		}
		if (cp < 0x20)
			return fail(c, "control character in string");
		if (cp == '\\') {
			c->p++;
			if (!parse_escape(c, &cp))
				return false;
			if (!put_utf8(out, &len, cap, cp))
				return fail(c, "string too long");
			continue;
		}
		/* Raw bytes must be UTF-8: what is re-encoded must mean the same. */
		size_t n = json_utf8_len((const unsigned char *)c->p,
					 (size_t)(c->end - c->p));

		if (!n)
			return fail(c, "invalid UTF-8 in string");
		if (len + n >= cap)
			return fail(c, "string too long");
		memcpy(out + len, c->p, n);
		len += n;
		c->p += n;
	}
	if (c->p >= c->end)
		return fail(c, "unterminated string");
	c->p++;
	out[len] = '\0';
	*out_len = len;
	return true;
}

/* What strchr("0123456789.eE+-", ch) finds: NUL too. */
static inline bool number_char(char ch)
{
	return (ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' ||
	       ch == '+' || ch == '-' || ch == '\0';
}

/*
 * The numbers of a recording are integers of at most 19 digits, which fit
 * in 64 bits: those are read here, in one pass, with the results strtod()
 * and strtoll()/strtoull() give. False, with nothing consumed, for any
 * other value (and any error), left to parse_literal and parse_number.
 */
static bool parse_short_int(struct cursor *c, struct jfield *f)
{
	const char *p = c->p;
	bool negative = *p == '-';
	unsigned long long v = 0;
	int digits = 0;

	p += negative;
	while (p < c->end && *p >= '0' && *p <= '9' && digits < 19) {
		v = v * 10 + (unsigned long long)(*p - '0');
		p++;
		digits++;
	}
	if (!digits || (digits > 1 && p[-digits] == '0') ||
	    (p < c->end && number_char(*p)) || (negative && v > 1ULL << 63))
		return false;
	c->p = p;
	f->type = J_NUM;
	f->is_int = true;
	f->negative = negative;
	f->fits = negative || v <= LLONG_MAX;
	if (negative) {
		f->i = v == 1ULL << 63 ? LLONG_MIN : -(long long)v;
		f->num = -(double)v;
	} else {
		f->u = v;
		f->i = v > LLONG_MAX ? 0 : (long long)v;
		f->num = (double)v;
	}
	return true;
}

static bool parse_number(struct cursor *c, struct jfield *f)
{
	const char *s = c->p;
	char buf[64], *end;
	size_t n;

	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p >= c->end || *c->p < '0' || *c->p > '9')
		return fail(c, "invalid value");
	if (*c->p == '0' && c->p + 1 < c->end && c->p[1] >= '0' && c->p[1] <= '9')
		return fail(c, "invalid number");
	f->is_int = true;
	while (c->p < c->end && number_char(*c->p)) {
		if (strchr(".eE", *c->p))
			f->is_int = false;
		c->p++;
	}
	n = (size_t)(c->p - s);
	if (n >= sizeof(buf))
		return fail(c, "number too long");
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	f->num = strtod(buf, &end);
	if (*end)
		return fail(c, "invalid number");
	/* 1e999 is valid JSON but no number we could write back. */
	if (!isfinite(f->num))
		return fail(c, "number out of range");
	if (f->is_int) {
		bool negative = buf[0] == '-';

		errno = 0;
		if (negative) {
			f->i = strtoll(buf, &end, 10);
		} else {
			f->u = strtoull(buf, &end, 10);
			f->i = f->u > LLONG_MAX ? 0 : (long long)f->u;
		}
		if (errno == ERANGE || *end)
			return fail(c, "number out of range");
		f->fits = negative || f->u <= LLONG_MAX;
		f->negative = negative;
	}
	f->type = J_NUM;
	return true;
}

static bool parse_literal(struct cursor *c, struct jfield *f)
{
	static const struct { const char *word; enum jtype type; bool b; } lits[] = {
		{ "true", J_BOOL, true }, { "false", J_BOOL, false }, { "null", J_NULL, false },
	};

	if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))
		return parse_number(c, f);
	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t n = strlen(lits[i].word);

		if ((size_t)(c->end - c->p) >= n && !memcmp(c->p, lits[i].word, n)) {
			c->p += n;
			f->type = lits[i].type;
			f->b = lits[i].b;
			return true;
		}
	}
	return parse_number(c, f);
}

static bool parse_value(struct cursor *c, struct jobject *o, struct jfield *f)
{
	if (c->p >= c->end)
		return fail(c, "missing value");
	if (*c->p == '"') {
		/* Room for JSONL_STR_MAX a field: strs never runs short. */
		char *out = o->strs + o->strs_used;
		size_t n;

		f->type = J_STR;
		if (!parse_string(c, out, JSONL_STR_MAX, &n))
			return false;
		f->str = out;
		o->strs_used += n + 1;
		return true;
	}
	if (*c->p == '{' || *c->p == '[')
		return fail(c, "nested values are not expected here");
	return parse_short_int(c, f) || parse_literal(c, f);
}

static bool parse_member(struct cursor *c, struct jobject *o)
{
	struct jfield *f;
	size_t n;

	if (o->n == JSONL_FIELDS)
		return fail(c, "too many fields");
	f = &o->f[o->n];
	memset(f, 0, sizeof(*f));
	if (!parse_string(c, f->key, sizeof(f->key), &n))
		return false;
	skip_ws(c);
	if (c->p >= c->end || *c->p != ':')
		return fail(c, "expected ':'");
	c->p++;
	skip_ws(c);
	if (!parse_value(c, o, f))
		return false;
	o->n++;
	return true;
}

int jsonl_parse(const char *s, size_t len, struct jobject *o, const char **err)
{
	struct cursor c = { .p = s, .end = s + len };

	o->n = 0;
	o->strs_used = 0;
	skip_ws(&c);
	if (c.p >= c.end || *c.p != '{') {
		fail(&c, "not a JSON object");
		goto out;
	}
	c.p++;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
	} else {
		for (;;) {
			skip_ws(&c);
			if (!parse_member(&c, o))
				goto out;
			skip_ws(&c);
			if (c.p < c.end && *c.p == ',') {
				c.p++;
				continue;
			}
			if (c.p < c.end && *c.p == '}') {
				c.p++;
				break;
			}
			fail(&c, "expected ',' or '}'");
			goto out;
		}
	}
	skip_ws(&c);
	if (c.p != c.end)
		fail(&c, "trailing characters after the object");
out:
	*err = c.err;
	return c.err ? -1 : 0;
}

void jsonl_copy(struct jobject *dst, const struct jobject *src)
{
	memcpy(dst->f, src->f, sizeof(src->f[0]) * (size_t)src->n);
	dst->n = src->n;
	dst->strs_used = src->strs_used;
	memcpy(dst->strs, src->strs, src->strs_used);
	for (int i = 0; i < src->n; i++)
		if (src->f[i].type == J_STR)
			dst->f[i].str = dst->strs + (src->f[i].str - src->strs);
}

/*
 * A key, zero-padded to JSONL_KEY_MAX bytes (as jsonl_parse leaves them),
 * hashed from its first 16 bytes into the slots of struct jkeys: keys
 * that share those only share a probe sequence.
 */
static unsigned int key_slot(const char *key)
{
	const unsigned long long m = 0x9e3779b97f4a7c15ULL;
	unsigned long long a, b;

	memcpy(&a, key, sizeof(a));
	memcpy(&b, key + sizeof(a), sizeof(b));
	return (unsigned int)(((a * m) ^ b) * m >> 57) % (2 * JSONL_KEYS_MAX);
}

void jsonl_keys_init(struct jkeys *k, const char *const *names, int n)
{
	memset(k, 0, sizeof(*k));
	k->names = names;
	k->n = n;
	for (int i = 0; i < n; i++) {
		unsigned int s;

		strncpy(k->padded[i], names[i], JSONL_KEY_MAX - 1);
		s = key_slot(k->padded[i]);
		while (k->slot[s])
			s = (s + 1) % (2 * JSONL_KEYS_MAX);
		k->slot[s] = (unsigned char)(i + 1);
	}
}

void jsonl_index(const struct jobject *o, const struct jkeys *k,
		 const struct jfield **by_key)
{
	memset(by_key, 0, sizeof(*by_key) * (size_t)k->n);
	for (int i = 0; i < o->n; i++) {
		unsigned int s = key_slot(o->f[i].key);

		/* At most n slots are taken: the probe ends at a free one. */
		for (; k->slot[s]; s = (s + 1) % (2 * JSONL_KEYS_MAX)) {
			int id = k->slot[s] - 1;

			if (!memcmp(k->padded[id], o->f[i].key, JSONL_KEY_MAX)) {
				if (!by_key[id])
					by_key[id] = &o->f[i];
				break;
			}
		}
	}
}

const struct jfield *jsonl_get(const struct jobject *o, const char *key)
{
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->f[i].key, key))
			return &o->f[i];
	return NULL;
}

const char *jsonl_str(const struct jobject *o, const char *key)
{
	const struct jfield *f = jsonl_get(o, key);

	return f && f->type == J_STR ? f->str : NULL;
}

long long jsonl_int(const struct jobject *o, const char *key, long long def)
{
	const struct jfield *f = jsonl_get(o, key);

	return f && f->type == J_NUM && f->is_int && f->fits ? f->i : def;
}
