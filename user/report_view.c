// SPDX-License-Identifier: GPL-2.0
/*
 * What every report format renders: connections grouped and ordered, each
 * one's timeline as rows, explanations indexed by connection, the findings;
 * and the wording, time formats and escaping the formats share.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "json.h"
#include "names.h"
#include "report.h"

#define NS		1000000000ULL
#define MAX_ROWS	(CONN_HIST + REPORT_CONN_EVENTS)

enum { S_TIME_WAIT = 6, S_CLOSE = 7 };

bool report_code_is_trouble(enum tw_code code)
{
	return code != CODE_NORMAL_CLOSE && code != CODE_TIME_WAIT &&
	       code != CODE_HALF_CLOSE;
}

bool report_conn_is_troubled(const struct report_conn *c)
{
	for (int code = 0; code < CODE_MAX; code++)
		if ((c->codes & (1ULL << code)) && report_code_is_trouble(code))
			return true;
	return false;
}

bool report_conn_open(const struct report_conn *c)
{
	return c->nhist && c->hist[c->nhist - 1].new != S_CLOSE;
}

void report_conn_span(const struct report_conn *c, __u64 *t0, __u64 *t1)
{
	*t0 = c->first_ts;
	*t1 = c->end_ts > c->first_ts ? c->end_ts : c->first_ts;
	for (int i = 0; i < c->nhist; i++) {
		if (c->hist[i].ts < *t0)
			*t0 = c->hist[i].ts;
		if (c->hist[i].ts > *t1)
			*t1 = c->hist[i].ts;
	}
	for (unsigned int i = 0; i < c->nev; i++) {
		if (c->ev[i].ts < *t0)
			*t0 = c->ev[i].ts;
		if (c->ev[i].ts > *t1)
			*t1 = c->ev[i].ts;
	}
}

/* ---- grouping ---------------------------------------------------------------- */

struct gkey {
	struct report_conn *c;
	char peer[160];
	int final;
	bool troubled;
	__u64 t0, t1;
};

static bool no_remote(const struct conn_tuple *t)
{
	static const __u8 zero[16];

	return !t->dport && !memcmp(t->daddr, zero, sizeof(zero));
}

/* The remote endpoint; for accepted connections the local service instead of
 * the client's port, which differs for each. */
static void group_peer(char *buf, size_t len, const struct report_conn *c)
{
	char l[64], rem[64];

	endpoint_str(l, sizeof(l), c->t.family, c->t.saddr, c->t.sport);
	if (c->role == ROLE_LISTENER) {
		snprintf(buf, len, "listening on %s", l);
	} else if (c->role == ROLE_PASSIVE) {
		addr_str(rem, sizeof(rem), c->t.family, c->t.daddr);
		snprintf(buf, len, "from %s to %s", rem, l);
	} else if (no_remote(&c->t)) {
		snprintf(buf, len, "on %s", l);
	} else {
		endpoint_str(rem, sizeof(rem), c->t.family, c->t.daddr, c->t.dport);
		snprintf(buf, len, "to %s", rem);
	}
}

static int cmp_gkey(const void *x, const void *y)
{
	const struct gkey *a = x, *b = y;
	int d;

	if (a->c->scn != b->c->scn)
		return a->c->scn < b->c->scn ? -1 : 1;
	d = strcmp(a->peer, b->peer);
	if (d)
		return d;
	if (a->final != b->final)
		return a->final < b->final ? -1 : 1;
	if (a->troubled != b->troubled)
		return a->troubled ? -1 : 1;
	if (a->t0 != b->t0)
		return a->t0 < b->t0 ? -1 : 1;
	return a->c->id < b->c->id ? -1 : a->c->id > b->c->id;
}

/* Within a scenario: groups with findings first, then the biggest. */
static int cmp_group(const void *x, const void *y)
{
	const struct report_group *a = x, *b = y;
	int d;

	if (a->scn != b->scn)
		return a->scn < b->scn ? -1 : 1;
	if (!a->troubled != !b->troubled)
		return a->troubled ? -1 : 1;
	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	d = strcmp(a->peer, b->peer);
	if (d)
		return d;
	return a->final < b->final ? -1 : a->final > b->final;
}

static int build_groups(struct report_view *v)
{
	size_t n = v->nconns, ng = 0;
	struct gkey *k = calloc(n ? n : 1, sizeof(*k));

	v->groups = calloc(n ? n : 1, sizeof(*v->groups));
	if (!k || !v->groups) {
		free(k);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		k[i].c = v->r->conns[i];
		group_peer(k[i].peer, sizeof(k[i].peer), k[i].c);
		k[i].final = report_conn_final(k[i].c);
		k[i].troubled = report_conn_is_troubled(k[i].c);
		report_conn_span(k[i].c, &k[i].t0, &k[i].t1);
	}
	qsort(k, n, sizeof(*k), cmp_gkey);
	for (size_t i = 0; i < n; i++) {
		struct report_group *g = &v->groups[ng ? ng - 1 : 0];

		if (!ng || k[i].c->scn != g->scn || strcmp(k[i].peer, g->peer) ||
		    k[i].final != g->final) {
			g = &v->groups[ng++];
			g->scn = k[i].c->scn;
			memcpy(g->peer, k[i].peer, sizeof(g->peer));
			g->final = k[i].final;
			g->first = i;
			g->t0 = k[i].t0;
			g->t1 = k[i].t1;
		}
		g->n++;
		g->troubled += k[i].troubled;
		if (k[i].t0 < g->t0)
			g->t0 = k[i].t0;
		if (k[i].t1 > g->t1)
			g->t1 = k[i].t1;
	}
	qsort(v->groups, ng, sizeof(*v->groups), cmp_group);
	n = 0;
	for (size_t g = 0; g < ng; g++) {
		for (size_t i = 0; i < v->groups[g].n; i++)
			v->conns[n + i] = k[v->groups[g].first + i].c;
		v->groups[g].first = n;
		n += v->groups[g].n;
	}
	v->ngroups = ng;
	free(k);
	return 0;
}

/* ---- explanations ------------------------------------------------------------ */

static int cmp_expl(const void *x, const void *y)
{
	const struct report_expl *a = *(const struct report_expl *const *)x;
	const struct report_expl *b = *(const struct report_expl *const *)y;

	if (a->scn != b->scn)
		return a->scn < b->scn ? -1 : 1;
	if (a->conn_id != b->conn_id)
		return a->conn_id < b->conn_id ? -1 : 1;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int cmp_by_id(const void *x, const void *y)
{
	const struct report_conn *a = *(struct report_conn *const *)x;
	const struct report_conn *b = *(struct report_conn *const *)y;

	if (a->scn != b->scn)
		return a->scn < b->scn ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Findings by code, the code seen first first; then by time. */
static int cmp_finding(const void *x, const void *y, void *ctx)
{
	const struct report_expl *a = *(const struct report_expl *const *)x;
	const struct report_expl *b = *(const struct report_expl *const *)y;
	const __u64 *first = ctx;

	if (a->code != b->code) {
		if (first[a->code] != first[b->code])
			return first[a->code] < first[b->code] ? -1 : 1;
		return a->code < b->code ? -1 : 1;
	}
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a < b ? -1 : a > b;
}

const struct report_conn *report_expl_conn(const struct report_view *v,
					   const struct report_expl *x)
{
	struct report_conn key = { .id = x->conn_id, .scn = x->scn }, *kp = &key;
	struct report_conn **hit;

	if (!x->conn_id)
		return NULL;
	hit = bsearch(&kp, v->by_id, v->nconns, sizeof(*v->by_id), cmp_by_id);
	return hit ? *hit : NULL;
}

const struct report_expl **report_conn_expl(const struct report_view *v,
					    const struct report_conn *c,
					    size_t *n)
{
	size_t lo = 0, hi = v->r->nexpl, i;

	*n = 0;
	if (!c->id)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct report_expl *x = v->expl[mid];

		if (x->scn < c->scn || (x->scn == c->scn && x->conn_id < c->id))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < v->r->nexpl && v->expl[i]->scn == c->scn &&
		     v->expl[i]->conn_id == c->id; i++)
		(*n)++;
	return v->expl + lo;
}

bool report_findings_next(const struct report_view *v,
			  struct report_findings_run *run)
{
	size_t i = run->next;

	if (i >= v->nfindings)
		return false;
	run->code = v->findings[i]->code;
	run->x = v->findings + i;
	for (run->n = 0; i + run->n < v->nfindings &&
	     v->findings[i + run->n]->code == run->code; run->n++)
		;
	run->next = i + run->n;
	return true;
}

static int build_explanations(struct report_view *v)
{
	const struct report *r = v->r;
	__u64 first[CODE_MAX];

	v->expl = calloc(r->nexpl ? r->nexpl : 1, sizeof(*v->expl));
	v->findings = calloc(r->nexpl ? r->nexpl : 1, sizeof(*v->findings));
	v->loose = calloc(r->nexpl ? r->nexpl : 1, sizeof(*v->loose));
	if (!v->expl || !v->findings || !v->loose)
		return -ENOMEM;
	memset(first, 0xff, sizeof(first));
	for (size_t i = 0; i < r->nexpl; i++) {
		const struct report_expl *x = &r->expl[i];

		v->expl[i] = x;
		if (x->code < CODE_MAX && x->ts < first[x->code])
			first[x->code] = x->ts;
		if (report_code_is_trouble(x->code))
			v->findings[v->nfindings++] = x;
		else if (!report_expl_conn(v, x))
			v->loose[v->nloose++] = x;
	}
	qsort(v->expl, r->nexpl, sizeof(*v->expl), cmp_expl);
	qsort_r(v->findings, v->nfindings, sizeof(*v->findings), cmp_finding, first);
	return 0;
}

int report_view_build(struct report_view *v, const struct report *r,
		      const struct tw_stats *st)
{
	size_t n = r->nconns;

	memset(v, 0, sizeof(*v));
	v->r = r;
	v->st = st;
	v->nconns = n;
	v->conns = calloc(n ? n : 1, sizeof(*v->conns));
	v->by_id = calloc(n ? n : 1, sizeof(*v->by_id));
	v->rows = calloc(MAX_ROWS, sizeof(*v->rows));
	if (!v->conns || !v->by_id || !v->rows)
		goto nomem;
	if (n)	/* r->conns is NULL when there is none */
		memcpy(v->by_id, r->conns, n * sizeof(*v->by_id));
	qsort(v->by_id, n, sizeof(*v->by_id), cmp_by_id);
	if (build_groups(v) || build_explanations(v))
		goto nomem;
	return 0;
nomem:
	report_view_free(v);
	return -ENOMEM;
}

void report_view_free(struct report_view *v)
{
	free(v->conns);
	free(v->groups);
	free(v->expl);
	free(v->findings);
	free(v->loose);
	free(v->by_id);
	free(v->rows);
	memset(v, 0, sizeof(*v));
}

/* ---- a connection's timeline --------------------------------------------------- */

void report_action_str(char *buf, size_t len, const struct report_action *a)
{
	snprintf(buf, len, "%s: %s(%s) = %lld%s%s", a->role ? a->role : "app",
		 a->call ? a->call : "?", a->arg ? a->arg : "", a->ret,
		 a->err ? " " : "", a->err ? a->err : "");
}

static void event_of(struct tw_event *e, const struct report_ev *v)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = v->ts;
	e->reason = v->reason;
	e->value = v->value;
	e->arg = v->arg;
	e->arg2 = v->arg2;
	e->type = v->type;
	e->oldstate = v->old;
	e->newstate = v->new;
	e->flags = v->flags;
}

static enum report_row_kind row_kind(const struct report_ev *v)
{
	switch (v->type) {
	case TW_EV_RST_SENT:
		/* Sent to it by a peer with no socket: it came at this one. */
		return v->flags & TW_F_NO_SK ? ROW_RST_RECV : ROW_RST_SENT;
	case TW_EV_RST_RECV:
		return ROW_RST_RECV;
	case TW_EV_RETRANS:
	case TW_EV_SYNACK_RETRANS:
		return ROW_RETRANS;
	case TW_EV_ERROR:
		return ROW_ERROR;
	case TW_EV_CALL:
		return v->value < 0 ? ROW_CALL_FAILED : ROW_CALL;
	case REPORT_EV_ACTION:
		return ROW_ACTION;
	default:
		return ROW_DESTROY;
	}
}

static void describe_ev(const struct report *r, char *buf, size_t len,
			const struct report_ev *v)
{
	struct tw_event e;
	char what[96];

	if (v->type == REPORT_EV_ACTION) {
		if (v->reason < r->nact)
			report_action_str(buf, len, &r->act[v->reason]);
		else
			snprintf(buf, len, "action");
		return;
	}
	event_of(&e, v);
	event_describe(what, sizeof(what), &e);
	if (v->type == TW_EV_RST_SENT && (v->flags & TW_F_NO_SK))
		snprintf(buf, len, "the peer's kernel: %s, no socket there", what);
	else
		snprintf(buf, len, "%s", what);
}

/* The scenario's action first at the same instant, as in scenario mode. */
static int cmp_row(const void *x, const void *y)
{
	const struct report_row *a = x, *b = y;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if ((a->kind == ROW_ACTION) != (b->kind == ROW_ACTION))
		return a->kind == ROW_ACTION ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

size_t report_rows(struct report_view *v, const struct report_conn *c)
{
	struct report_row *rows = v->rows;
	size_t n = 0;
	int cur;

	for (int i = 0; i < c->nhist && n < MAX_ROWS; i++, n++) {
		struct report_row *w = &rows[n];
		bool last = i + 1 == c->nhist;
		__u64 until = last ? c->end_ts : c->hist[i + 1].ts;
		int old = c->hist[i].old, new = c->hist[i].new;

		memset(w, 0, sizeof(*w));
		w->ts = c->hist[i].ts;
		w->kind = ROW_STATE;
		w->state = new;
		w->seq = (unsigned int)i;
		w->open = last && new != S_CLOSE;
		w->in_state = new == S_CLOSE || until < w->ts ? 0 : until - w->ts;
		/* No tracepoint shows TIME_WAIT: tcpwatch works it out. */
		snprintf(w->what, sizeof(w->what), "%s -> %s%s", tcp_state_name(old),
			 tcp_state_name(new),
			 old == S_TIME_WAIT || new == S_TIME_WAIT ? " (reconstructed)" : "");
	}
	for (unsigned int i = 0; i < c->nev && n < MAX_ROWS; i++) {
		const struct report_ev *e = &c->ev[i];
		struct report_row *w;

		if (e->type == TW_EV_STATE)
			continue;
		w = &rows[n++];
		memset(w, 0, sizeof(*w));
		w->ts = e->ts;
		w->kind = row_kind(e);
		w->seq = CONN_HIST + i;
		w->ev = e;
		/* A call's state is read at its exit, its time is its entry. */
		w->state = e->type == REPORT_EV_ACTION || e->type == TW_EV_CALL ?
			   0 : e->old;
		describe_ev(v->r, w->what, sizeof(w->what), e);
	}
	qsort(rows, n, sizeof(*rows), cmp_row);
	/* An accepted socket did not exist before SYN_RECV (LISTEN is its listener's). */
	cur = c->nhist && c->role != ROLE_PASSIVE ? c->hist[0].old : 0;
	for (size_t i = 0; i < n; i++) {
		if (rows[i].kind == ROW_STATE)
			cur = rows[i].state;
		else if (!rows[i].state)
			rows[i].state = cur;
	}
	return n;
}

/* ---- words, times, escaping ------------------------------------------------------ */

void report_time(const struct report *r, char *buf, size_t len, __u64 ts,
		 bool date)
{
	__s64 real = (__s64)(ts + (__u64)r->mono_to_real_ns);
	time_t sec = (time_t)(real / (__s64)NS);
	long ms = (long)(real % (__s64)NS) / 1000000;
	char hms[64];
	struct tm tm;

	if (ms < 0) {
		ms += 1000;
		sec--;
	}
	localtime_r(&sec, &tm);
	strftime(hms, sizeof(hms), date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ld", hms, ms);
	if (date) {
		size_t used = strlen(buf);

		strftime(buf + used, len - used, " %Z", &tm);
	}
}

void report_iso(const struct report *r, char *buf, size_t len, __u64 ts)
{
	struct tw_output clock = { .mono_to_real_ns = r->mono_to_real_ns };

	clock_str(buf, len, &clock, ts, true);
}

void report_dur(char *buf, size_t len, __u64 ns)
{
	double s = (double)ns / NS;

	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.0f µs", ns / 1e3);
	else if (ns < 10000000)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else if (ns < 100000000)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else if (ns < NS)
		snprintf(buf, len, "%.0f ms", ns / 1e6);
	else if (s < 60)
		snprintf(buf, len, "%.2f s", s);
	else if (s < 3600)
		snprintf(buf, len, "%d min %d s", (int)(s / 60), (int)s % 60);
	else
		snprintf(buf, len, "%d h %d min", (int)(s / 3600),
			 (int)(s / 60) % 60);
}

void report_tuple_str(char *buf, size_t len, const struct conn_tuple *t)
{
	char l[64], rem[64];

	endpoint_str(l, sizeof(l), t->family, t->saddr, t->sport);
	if (no_remote(t)) {
		snprintf(buf, len, "%s", l);
		return;
	}
	endpoint_str(rem, sizeof(rem), t->family, t->daddr, t->dport);
	snprintf(buf, len, "%s -> %s", l, rem);
}

void report_event_words(const struct report *r, const struct tw_event *e,
			struct report_event_words *w)
{
	struct conn_tuple t;

	conn_tuple_of_event(&t, e);
	report_time(r, w->when, sizeof(w->when), e->ts_ns, false);
	report_tuple_str(w->tuple, sizeof(w->tuple), &t);
	event_describe(w->what, sizeof(w->what), e);
}

void report_retrans_str(char *buf, size_t len, const struct report_conn *c,
			const char *sep)
{
	int n;

	buf[0] = '\0';
	if (c->retrans <= 0)
		return;
	n = snprintf(buf, len, "%s%d retransmission%s", sep, c->retrans,
		     c->retrans == 1 ? "" : "s");
	if (c->retrans_unseen && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " (%u without an event)", c->retrans_unseen);
}

const char *report_role_name(enum conn_role role)
{
	static const char *const names[] = {
		[ROLE_UNKNOWN] = "origin unknown",
		[ROLE_ACTIVE] = "outgoing",
		[ROLE_PASSIVE] = "accepted",
		[ROLE_LISTENER] = "listener",
	};

	return (unsigned int)role < sizeof(names) / sizeof(names[0]) ?
	       names[role] : "?";
}

const char *report_target(const struct report *r)
{
	return r->target[0] ? r->target : "(not recorded)";
}

static void put_bad(FILE *f, enum report_esc esc)
{
	fputs(esc == ESC_HTML ? "&#xfffd;" : "?", f);
}

void report_put(FILE *f, enum report_esc esc, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strnlen(str, len);

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t l = esc == ESC_TEXT ? c < 0x80 : json_utf8_len(s + i, n - i);

		if (l > 1) {
			/* C1 controls (U+0080-U+009F) drive some terminals too. */
			if (c == 0xc2 && s[i + 1] < 0xa0)
				put_bad(f, esc);
			else
				fwrite(s + i, 1, l, f);
			i += l;
			continue;
		}
		i++;
		if (!l || c < 0x20 || c == 0x7f) {
			put_bad(f, esc);
			continue;
		}
		if (esc == ESC_HTML) {
			switch (c) {
			case '&': fputs("&amp;", f); continue;
			case '<': fputs("&lt;", f); continue;
			case '>': fputs("&gt;", f); continue;
			case '"': fputs("&quot;", f); continue;
			case '\'': fputs("&#39;", f); continue;
			}
		} else if (esc == ESC_MD) {
			if (c == '&') {
				fputs("&amp;", f);
				continue;
			}
			if (c == '<') {
				fputs("&lt;", f);
				continue;
			}
			if (strchr("\\`*_~[]|", c))
				fputc('\\', f);
		}
		fputc(c, f);
	}
}

void report_puts(FILE *f, enum report_esc esc, const char *s)
{
	report_put(f, esc, s, strlen(s));
}

/* ---- the summary, in words --------------------------------------------------------- */

static void add(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

void report_range_str(const struct report *r, char *buf, size_t len)
{
	char a[64], b[64], d[32];

	if (!r->first_ts) {
		snprintf(buf, len, "nothing was traced");
		return;
	}
	report_time(r, a, sizeof(a), r->first_ts, true);
	report_time(r, b, sizeof(b), r->last_ts, false);
	report_dur(d, sizeof(d), r->last_ts - r->first_ts);
	snprintf(buf, len, "%s to %s (%s)", a, b, d);
}

void report_states_str(const struct report *r, char *buf, size_t len)
{
	buf[0] = '\0';
	add(buf, len, "%llu", (unsigned long long)r->conns_seen);
	for (int s = 0, n = 0; s < 16; s++)
		if (r->by_state[s])
			add(buf, len, "%s%s %llu", n++ ? ", " : " by final state: ",
			    tcp_state_name(s), (unsigned long long)r->by_state[s]);
}

void report_codes_str(const struct report *r, char *buf, size_t len)
{
	unsigned long long all = 0;

	buf[0] = '\0';
	for (int c = 0; c < CODE_MAX; c++)
		all += r->by_code[c];
	add(buf, len, "%llu", all);
	for (int c = 0, n = 0; c < CODE_MAX; c++)
		if (r->by_code[c])
			add(buf, len, "%s%s %llu", n++ ? ", " : ": ",
			    explain_code_name(c), (unsigned long long)r->by_code[c]);
}

void report_events_str(const struct report_view *v, char *buf, size_t len)
{
	const struct tw_stats *st = v->st;

	buf[0] = '\0';
	if (!st) {
		snprintf(buf, len, "not counted");
		return;
	}
	add(buf, len, "%llu (", (unsigned long long)st->events);
	for (int t = 1; t < TW_EV_MAX; t++)
		add(buf, len, "%s%s %llu", t > 1 ? ", " : "", event_type_name(t),
		    (unsigned long long)st->by_type[t]);
	add(buf, len, "); %llu lost to a full ring buffer, %llu filtered in "
	    "the kernel", (unsigned long long)st->lost,
	    (unsigned long long)st->filtered);
	if (st->skipped)
		add(buf, len, "; %llu hook runs skipped by the kernel (a hook fired "
		    "while a program ran on that CPU)",
		    (unsigned long long)st->skipped);
}

bool report_dropped_any(const struct report *r)
{
	return r->dropped.conns || r->dropped.events || r->dropped.explanations ||
	       r->dropped.actions || r->dropped.other;
}

void report_dropped_str(const struct report *r, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!report_dropped_any(r)) {
		snprintf(buf, len, "nothing: everything traced is in this report");
		return;
	}
	if (r->dropped.conns)
		add(buf, len, "%llu connection sections (past %d), ",
		    (unsigned long long)r->dropped.conns, REPORT_MAX_CONNS);
	if (r->dropped.events)
		add(buf, len, "%llu events (past %d per connection or %d in all), ",
		    (unsigned long long)r->dropped.events, REPORT_CONN_EVENTS,
		    REPORT_MAX_EVENTS);
	if (r->dropped.explanations)
		add(buf, len, "%llu explanation texts (past %d), ",
		    (unsigned long long)r->dropped.explanations, REPORT_MAX_EXPLAIN);
	if (r->dropped.actions)
		add(buf, len, "%llu scenario actions (past %d), ",
		    (unsigned long long)r->dropped.actions, REPORT_MAX_ACTIONS);
	if (r->dropped.other)
		add(buf, len, "%llu events of no connection (past %d), ",
		    (unsigned long long)r->dropped.other, REPORT_MAX_OTHER);
	add(buf, len, "to bound memory; the counts above include them");
}

/* The scenario's name, or NULL outside scenarios. */
const char *report_scn_name(const struct report *r, int scn)
{
	return scn > 0 && scn <= r->nscn && r->scn[scn].name ? r->scn[scn].name : NULL;
}
