// SPDX-License-Identifier: GPL-2.0
/* A strict reader for tcpwatch's JSON Lines: the guest has no JSON parser. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

#define MAX_DEPTH	16

struct parser {
	char *p;		/* cursor; strings are decoded in place behind it */
	const char *err;
};

static bool fail(struct parser *ps, const char *what)
{
	if (!ps->err)
		ps->err = what;
	return false;
}

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n')
		ps->p++;
}

static bool hex4(const char *s, unsigned int *out)
{
	unsigned int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

static char *put_utf8(char *w, unsigned int cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* \uXXXX at r (past the backslash and u); a surrogate must come paired. */
static bool unicode_escape(struct parser *ps, char **r, unsigned int *cp)
{
	unsigned int lo;

	if (!hex4(*r, cp))
		return fail(ps, "bad \\u escape");
	*r += 4;
	if (*cp >= 0xdc00 && *cp < 0xe000)
		return fail(ps, "unpaired low surrogate");
	if (*cp < 0xd800 || *cp >= 0xdc00)
		return true;
	if ((*r)[0] != '\\' || (*r)[1] != 'u' || !hex4(*r + 2, &lo) ||
	    lo < 0xdc00 || lo >= 0xe000)
		return fail(ps, "unpaired high surrogate");
	*r += 6;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return true;
}

/* The string at the cursor, decoded in place (it only shrinks). */
static char *parse_string(struct parser *ps)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
	char *r = ps->p, *w, *start;

	if (*r != '"') {
		fail(ps, "expected a string");
		return NULL;
	}
	start = w = ++r;
	for (;;) {
		unsigned char c = (unsigned char)*r++;
		const char *e;
		unsigned int cp;

		if (c == '"')
			break;
		if (c < 0x20) {
			fail(ps, "unterminated string or raw control character");
			return NULL;
		}
		if (c != '\\') {
			*w++ = (char)c;
			continue;
		}
		c = (unsigned char)*r++;
		if (c == 'u') {
			if (!unicode_escape(ps, &r, &cp))
				return NULL;
			w = put_utf8(w, cp);
		} else if (c && (e = strchr(esc_in, c))) {
			*w++ = esc_out[e - esc_in];
		} else {
			fail(ps, "bad escape");
			return NULL;
		}
	}
	*w = '\0';
	ps->p = r;
	return start;
}

static bool parse_number(struct parser *ps, struct field *f)
{
	const char *s = ps->p, *q = s;

	if (*q == '-')
		q++;
	if (*q == '0')
		q++;
	else if (isdigit((unsigned char)*q))
		while (isdigit((unsigned char)*q))
			q++;
	else
		return fail(ps, "bad number");
	if (*q == '.') {
		if (!isdigit((unsigned char)*++q))
			return fail(ps, "bad fraction");
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!isdigit((unsigned char)*q))
			return fail(ps, "bad exponent");
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (f) {
		if ((size_t)(q - s) >= sizeof(f->lit))
			return fail(ps, "number too long");
		memcpy(f->lit, s, (size_t)(q - s));
		f->lit[q - s] = '\0';
		f->type = J_NUM;
	}
	ps->p += q - s;
	return true;
}

static bool parse_literal(struct parser *ps, struct field *f)
{
	static const char *const words[] = { "true", "false", "null" };

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);

		if (strncmp(ps->p, words[i], n))
			continue;
		ps->p += n;
		if (f) {
			f->type = i < 2 ? J_BOOL : J_NULL;
			strcpy(f->lit, words[i]);
		}
		return true;
	}
	return fail(ps, "unexpected character");
}

static bool parse_object(struct parser *ps, struct ev *e, int depth);
static bool parse_array(struct parser *ps, int depth);

/* A value; f is NULL inside nested objects and arrays (validated, not kept). */
static bool parse_value(struct parser *ps, struct field *f, int depth)
{
	char *s;

	if (depth > MAX_DEPTH)
		return fail(ps, "nested too deep");
	switch (*ps->p) {
	case '"':
		s = parse_string(ps);
		if (s && f) {
			f->type = J_STR;
			f->str = s;
		}
		return s != NULL;
	case '{':
		if (f)
			f->type = J_NESTED;
		return parse_object(ps, NULL, depth + 1);
	case '[':
		if (f)
			f->type = J_NESTED;
		return parse_array(ps, depth + 1);
	case '-':
	case '0' ... '9':
		return parse_number(ps, f);
	default:
		return parse_literal(ps, f);
	}
}

static struct field *new_field(struct parser *ps, struct ev *e, const char *key)
{
	for (int i = 0; i < e->n; i++) {
		if (!strcmp(e->f[i].key, key)) {
			fail(ps, "duplicate member");
			return NULL;
		}
	}
	if (e->n == EV_FIELDS) {
		fail(ps, "too many members");
		return NULL;
	}
	memset(&e->f[e->n], 0, sizeof(e->f[0]));
	e->f[e->n].key = key;
	return &e->f[e->n++];
}

/* e: where members go (the top level), or NULL for a nested object. */
static bool parse_object(struct parser *ps, struct ev *e, int depth)
{
	if (*ps->p != '{')
		return fail(ps, "expected an object");
	ps->p++;
	skip_ws(ps);
	if (*ps->p == '}') {
		ps->p++;
		return true;
	}
	for (;;) {
		struct field *f = NULL;
		char *key;

		skip_ws(ps);
		key = parse_string(ps);
		if (!key)
			return false;
		skip_ws(ps);
		if (*ps->p++ != ':')
			return fail(ps, "expected ':'");
		skip_ws(ps);
		if (e && !(f = new_field(ps, e, key)))
			return false;
		if (!parse_value(ps, f, depth))
			return false;
		skip_ws(ps);
		if (*ps->p == '}') {
			ps->p++;
			return true;
		}
		if (*ps->p++ != ',')
			return fail(ps, "expected ',' or '}'");
	}
}

static bool parse_array(struct parser *ps, int depth)
{
	ps->p++;
	skip_ws(ps);
	if (*ps->p == ']') {
		ps->p++;
		return true;
	}
	for (;;) {
		skip_ws(ps);
		if (!parse_value(ps, NULL, depth))
			return false;
		skip_ws(ps);
		if (*ps->p == ']') {
			ps->p++;
			return true;
		}
		if (*ps->p++ != ',')
			return fail(ps, "expected ',' or ']'");
	}
}

/* One line, which e takes over; NULL on success, else what was wrong. */
static const char *parse_line(struct ev *e, char *line)
{
	struct parser ps = { .p = line, .err = NULL };

	memset(e, 0, sizeof(*e));
	e->line = line;
	if (parse_object(&ps, e, 0)) {
		skip_ws(&ps);
		if (*ps.p)
			fail(&ps, "text after the object");
	}
	return ps.err;
}

int events_load(struct events *evs, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;

	memset(evs, 0, sizeof(*evs));
	if (!f) {
		snprintf(err, errlen, "cannot open %s", path);
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *why;
		struct ev *v;

		lineno++;
		if (len == 0 || line[len - 1] != '\n') {
			snprintf(err, errlen, "line %d: not terminated by a newline", lineno);
			goto out_err;
		}
		line[len - 1] = '\0';
		v = realloc(evs->v, sizeof(*v) * (size_t)(evs->n + 1));
		if (!v) {
			snprintf(err, errlen, "out of memory");
			goto out_err;
		}
		evs->v = v;
		why = parse_line(&evs->v[evs->n++], line);
		line = NULL;	/* the event owns it now */
		cap = 0;
		if (why) {
			snprintf(err, errlen, "line %d: %s", lineno, why);
			goto out_err;
		}
	}
	free(line);
	fclose(f);
	return 0;
out_err:
	free(line);
	fclose(f);
	return -1;
}

void events_free(struct events *evs)
{
	for (int i = 0; i < evs->n; i++)
		free(evs->v[i].line);
	free(evs->v);
	memset(evs, 0, sizeof(*evs));
}

static const struct field *find(const struct ev *e, const char *key)
{
	for (int i = 0; i < e->n; i++)
		if (!strcmp(e->f[i].key, key))
			return &e->f[i];
	return NULL;
}

const char *ev_str(const struct ev *e, const char *key)
{
	const struct field *f = find(e, key);

	return f && f->type == J_STR ? f->str : NULL;
}

bool ev_is(const struct ev *e, const char *key, const char *value)
{
	const char *s = ev_str(e, key);

	return s && !strcmp(s, value);
}

long long ev_int(const struct ev *e, const char *key)
{
	const struct field *f = find(e, key);
	char *end;
	long long v;

	if (!f || f->type != J_NUM)
		return EV_NO_INT;
	v = strtoll(f->lit, &end, 10);
	return *end ? EV_NO_INT : v;
}

bool ev_null(const struct ev *e, const char *key)
{
	const struct field *f = find(e, key);

	return f && f->type == J_NULL;
}

bool ev_true(const struct ev *e, const char *key)
{
	const struct field *f = find(e, key);

	return f && f->type == J_BOOL && !strcmp(f->lit, "true");
}

bool ev_false(const struct ev *e, const char *key)
{
	const struct field *f = find(e, key);

	return f && f->type == J_BOOL && !strcmp(f->lit, "false");
}

bool ev_kernel(const struct ev *e)
{
	static const char *const kernel_types[] = {
		"state", "rst_sent", "rst_recv", "retransmit", "synack_retransmit",
		"error", "destroy", "call",
	};
	const char *type = ev_str(e, "type");

	if (!type || ev_true(e, "reconstructed"))
		return false;
	for (size_t i = 0; i < sizeof(kernel_types) / sizeof(kernel_types[0]); i++)
		if (!strcmp(type, kernel_types[i]))
			return true;
	return false;
}

int events_select(const struct events *evs, const char *type, int port,
		  const struct ev **out, int max)
{
	int n = 0;

	for (int i = 0; i < evs->n; i++) {
		const struct ev *e = &evs->v[i];

		if (!ev_kernel(e) || (type && !ev_is(e, "type", type)))
			continue;
		if (port && ev_int(e, "sport") != port && ev_int(e, "dport") != port)
			continue;
		if (n < max)
			out[n] = e;
		n++;
	}
	return n;
}

static bool listener_own(const struct ev *e)
{
	return (ev_is(e, "old", "CLOSE") && ev_is(e, "new", "LISTEN")) ||
	       (ev_is(e, "old", "LISTEN") && ev_is(e, "new", "CLOSE"));
}

void events_transitions(const struct events *evs, int port, bool skip_listener,
			char *buf, size_t len)
{
	const char *sks[16];
	int nsks = 0;
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < evs->n; i++) {
		const struct ev *e = &evs->v[i];
		const char *sk = ev_str(e, "sk");
		bool known = false;

		if (!ev_kernel(e) || !ev_is(e, "type", "state") || !sk ||
		    ev_int(e, "sport") != port)
			continue;
		for (int j = 0; j < nsks; j++)
			known |= !strcmp(sks[j], sk);
		if (!known && nsks < 16)
			sks[nsks++] = sk;
	}
	for (int i = 0; i < evs->n; i++) {
		const struct ev *e = &evs->v[i];
		const char *sk = ev_str(e, "sk");
		bool mine = false;

		if (!ev_kernel(e) || !ev_is(e, "type", "state") || !sk ||
		    (skip_listener && listener_own(e)))
			continue;
		for (int j = 0; j < nsks; j++)
			mine |= !strcmp(sks[j], sk);
		if (mine && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s>%s",
						 used ? "," : "", ev_str(e, "old") ?: "?",
						 ev_str(e, "new") ?: "?");
	}
}
