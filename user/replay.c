// SPDX-License-Identifier: GPL-2.0
/*
 * tcpwatch report FILE: a recording (user/record.c) fed through the same
 * analyzer and output as a live run. The recording holds what the analyzer
 * depends on besides the events: the snapshot, the clock of its ticks, and
 * the answers sock_diag gave it, which are written right after the record
 * that made it ask. So each record that drives the analyzer (event,
 * snapshot, tick, end) is read together with the diag records that follow
 * it, and the analyzer's questions are answered from those, matched by
 * question, in order.
 *
 * The file is untrusted: every line is bounded, parsed strictly, and
 * checked field by field; a bad one is reported and skipped.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "explain.h"
#include "jsonl.h"
#include "names.h"
#include "output.h"
#include "record.h"
#include "replay.h"
#include "report.h"
#include "scenario.h"
#include "snapshot.h"
#include "sockdiag.h"

#define LINE_MAX_BYTES	65536
#define READ_BYTES	(256 * 1024)	/* read from the file at a time */
#define MAX_ANSWERS	256	/* sock_diag answers after one record */
#define RING_LINES	256	/* lines the reader thread may be ahead */
#define RING_BATCH	32	/* lines it parses between two looks at the ring */
#define RING_WAKE	(RING_LINES / 2)	/* lines ready, or room, to wake for */

/* The keys record.c writes, looked up by number (see jsonl_index). */
enum key {
	/* every record */
	K_TYPE, K_TS_NS,
	/* the header */
	K_VERSION, K_MONO_TO_REAL_NS, K_STUCK, K_FOLLOW, K_CALLS, K_SCENARIO,
	K_PIDS, K_PORTS,
	/* events */
	K_EVENT, K_SK, K_PID, K_COMM, K_COMM_HEX, K_OWNER_HOW, K_CPU_PID,
	K_NETNS, K_FAMILY, K_SADDR, K_SPORT, K_DADDR, K_DPORT, K_OLDSTATE,
	K_NEWSTATE, K_FLAGS, K_VALUE, K_REASON, K_REASON_NAME, K_FD, K_ARG,
	K_ARG2,
	/* snapshots and sock_diag answers */
	K_STATE, K_RQUEUE, K_WQUEUE, K_TIMER, K_EXPIRES_MS, K_RETRANS, K_INODE,
	K_QUERY, K_RET, K_STATE_MASK,
	/* lost, stop and scenario records */
	K_COUNT, K_TOTAL, K_LOST, K_FILTERED, K_MALFORMED, K_SKIPPED, K_NAME,
	K_STATUS, K_EVENTS,
	NKEYS
};

static const char *const key_names[NKEYS] = {
	[K_TYPE] = "type",
	[K_TS_NS] = "ts_ns",
	[K_VERSION] = "version",
	[K_MONO_TO_REAL_NS] = "mono_to_real_ns",
	[K_STUCK] = "stuck",
	[K_FOLLOW] = "follow",
	[K_CALLS] = "calls",
	[K_SCENARIO] = "scenario",
	[K_PIDS] = "pids",
	[K_PORTS] = "ports",
	[K_EVENT] = "event",
	[K_SK] = "sk",
	[K_PID] = "pid",
	[K_COMM] = "comm",
	[K_COMM_HEX] = "comm_hex",
	[K_OWNER_HOW] = "owner_how",
	[K_CPU_PID] = "cpu_pid",
	[K_NETNS] = "netns",
	[K_FAMILY] = "family",
	[K_SADDR] = "saddr",
	[K_SPORT] = "sport",
	[K_DADDR] = "daddr",
	[K_DPORT] = "dport",
	[K_OLDSTATE] = "oldstate",
	[K_NEWSTATE] = "newstate",
	[K_FLAGS] = "flags",
	[K_VALUE] = "value",
	[K_REASON] = "reason",
	[K_REASON_NAME] = "reason_name",
	[K_FD] = "fd",
	[K_ARG] = "arg",
	[K_ARG2] = "arg2",
	[K_STATE] = "state",
	[K_RQUEUE] = "rqueue",
	[K_WQUEUE] = "wqueue",
	[K_TIMER] = "timer",
	[K_EXPIRES_MS] = "expires_ms",
	[K_RETRANS] = "retrans",
	[K_INODE] = "inode",
	[K_QUERY] = "query",
	[K_RET] = "ret",
	[K_STATE_MASK] = "state_mask",
	[K_COUNT] = "count",
	[K_TOTAL] = "total",
	[K_LOST] = "lost",
	[K_FILTERED] = "filtered",
	[K_SKIPPED] = "skipped",
	[K_MALFORMED] = "malformed",
	[K_NAME] = "name",
	[K_STATUS] = "status",
	[K_EVENTS] = "events",
};

_Static_assert(NKEYS <= JSONL_KEYS_MAX, "more keys than struct jkeys holds");

/* The records, by their "type". */
enum record_type {
	R_UNKNOWN,
	R_EVENT,
	R_DIAG,
	R_SNAPSHOT,
	R_TICK,
	R_START,
	R_END,
	R_LOST,
	R_STOP,
	R_ACTION,
	R_SCENARIO_START,
	R_SCENARIO,
	R_RECORDING,
	NRECORD_TYPES
};

static const char *const record_type_names[NRECORD_TYPES] = {
	[R_EVENT] = "event",
	[R_DIAG] = "diag",
	[R_SNAPSHOT] = "snapshot",
	[R_TICK] = "tick",
	[R_START] = "start",
	[R_END] = "end",
	[R_LOST] = "lost",
	[R_STOP] = "stop",
	[R_ACTION] = "action",
	[R_SCENARIO_START] = "scenario_start",
	[R_SCENARIO] = "scenario",
	[R_RECORDING] = "recording",
};

struct line {
	struct jobject o;
	const struct jfield *field[NKEYS];	/* o's fields by key, or NULL */
	enum record_type type;
	unsigned long no;
	char bad[160];		/* why the line is not a record, or "" */
	/* An event record, decoded by the reader: ev, or why not (ev_bad). */
	struct tw_event ev;
	char ev_bad[160];
	size_t len;
	char text[LINE_MAX_BYTES + 1];	/* the line as read (actions keep it) */
};

/*
 * Reading and parsing lines (and decoding events) is half the work of a
 * replay, and needs nothing the analyzer has: a thread of its own does it,
 * up to RING_LINES lines ahead. Lines [head, tail) of the ring are parsed and not yet given back;
 * head is the record in hand (the replay's cur), which stays put until the
 * next one is taken. Each side takes the lock once per batch of lines, and
 * wakes the other only when it sleeps. The reader reports nothing: a bad
 * line carries its message, printed when the replay reaches it, so messages
 * come in the file's order whatever the thread did.
 */
struct ring {
	struct line *lines;	/* RING_LINES */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* for whichever side sleeps */
	unsigned long head, tail;	/* the lines given back, the lines parsed */
	bool done;		/* the reader has read the last line */
	bool stop;		/* the replay needs no more */
	bool reader_asleep, replay_asleep;
};

struct answer {
	struct diag_query q;
	struct diag_answer a;
	bool used;
};

struct replay {
	const char *path;
	FILE *f;
	struct jkeys keys;	/* key_names, for jsonl_index */
	/* The reader thread's (the ring's lines are shared through it). */
	char *in;		/* READ_BYTES read from f, */
	size_t in_pos, in_len;	/* in[in_pos, in_len) not yet used */
	unsigned long lineno;	/* lines read so far */
	bool eof;
	struct ring ring;
	/* The replay's. */
	unsigned long bad;
	struct line *cur;	/* the record in hand, */
	unsigned long cur_at;	/* at this ring index (or copied to spare) */
	unsigned long next_at;	/* the ring index of the next line to use */
	unsigned long seen;	/* lines [next_at, seen) known to be parsed */
	struct line *spare;	/* cur, when answers go further than the ring */
	unsigned long last_no;	/* the number of the last line reached */
	/* The recorded run. */
	bool have_header;
	bool headless_said;
	struct tw_options opts;
	char scenario_all[JSONL_STR_MAX];
	struct tw_output *out;
	struct report *report;	/* --report, fed as tracer.c feeds it */
	/* The session (a run, or one scenario of --scenario). */
	struct analyzer *an;
	struct analyzer_ops sink;
	struct tw_stats stats;
	bool ended;		/* its end record was read */
	bool stopped;		/* its stop record was read */
	__u64 last_ts;
	/* sock_diag's answers for the record in hand. */
	struct answer answers[MAX_ANSWERS];
	unsigned int nanswers;
	bool unanswered_said;
	/* Scenario recordings. */
	struct scenario_timeline *tl;
	char scenario[JSONL_STR_MAX];
	int nscenarios, failed;
};

/*
 * The line the reader thread is decoding: what bad_line() says about it is
 * kept with it (ev_bad), and said when the replay reaches it.
 */
static __thread struct line *decoding;

__attribute__((format(printf, 3, 4)))
static bool bad_line(struct replay *r, unsigned long no, const char *fmt, ...)
{
	va_list ap;

	if (decoding) {
		if (!decoding->ev_bad[0]) {
			va_start(ap, fmt);
			vsnprintf(decoding->ev_bad, sizeof(decoding->ev_bad), fmt, ap);
			va_end(ap);
		}
		return false;
	}
	fprintf(stderr, "tcpwatch: %s:%lu: ", r->path, no);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	r->bad++;
	return false;
}

/* The string value of key k, or NULL when absent or not a string. */
static const char *str_field(const struct line *l, enum key k)
{
	const struct jfield *f = l->field[k];

	return f && f->type == J_STR ? f->str : NULL;
}

static enum record_type record_type(const char *type)
{
	for (int t = R_UNKNOWN + 1; t < NRECORD_TYPES; t++)
		if (!strcmp(type, record_type_names[t]))
			return t;
	return R_UNKNOWN;
}

/* ---- reading (the reader thread) ---------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void line_bad(struct line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->bad, sizeof(l->bad), fmt, ap);
	va_end(ap);
}

/*
 * The next line into l, at most LINE_MAX_BYTES (a longer one is marked bad,
 * its rest skipped). False at the end of the file.
 */
static bool read_line(struct replay *r, struct line *l)
{
	size_t n = 0;
	bool over = false, ended = false;

	while (!ended) {
		const char *p = r->in + r->in_pos, *nl;
		size_t piece;

		if (r->in_pos == r->in_len) {
			r->in_pos = 0;
			r->in_len = fread(r->in, 1, READ_BYTES, r->f);
			if (!r->in_len)
				break;
			p = r->in;
		}
		nl = memchr(p, '\n', r->in_len - r->in_pos);
		piece = nl ? (size_t)(nl - p) : r->in_len - r->in_pos;
		r->in_pos += piece + (nl != NULL);
		ended = nl != NULL;
		if (piece > LINE_MAX_BYTES - n) {
			piece = LINE_MAX_BYTES - n;
			over = true;
		}
		memcpy(l->text + n, p, piece);
		n += piece;
	}
	if (!ended && n == 0 && !over) {
		r->eof = true;
		return false;
	}
	l->no = ++r->lineno;
	l->text[n] = '\0';
	l->len = n;
	l->bad[0] = '\0';
	if (!ended)
		r->eof = true;
	if (over)
		line_bad(l, "line longer than %d bytes: skipped", LINE_MAX_BYTES);
	return true;
}

static bool parse_event(struct replay *r, const struct line *l, struct tw_event *e);

/* The next line into l, parsed, or marked bad; false at the end. */
static bool parse_line(struct replay *r, struct line *l)
{
	const char *err;

	if (!read_line(r, l))
		return false;
	if (l->bad[0])
		return true;
	if (l->len && l->text[l->len - 1] == '\r')
		l->text[--l->len] = '\0';
	if (!l->len)
		line_bad(l, "empty line");
	else if (memchr(l->text, '\0', l->len))
		line_bad(l, "NUL byte in the line");
	else if (jsonl_parse(l->text, l->len, &l->o, &err))
		line_bad(l, "not a record (%s)%s", err,
			 r->eof ? ": the recording is cut short here" : "");
	if (l->bad[0])
		return true;
	jsonl_index(&l->o, &r->keys, l->field);
	if (!str_field(l, K_TYPE)) {
		line_bad(l, "no \"type\" string");
		return true;
	}
	l->type = record_type(str_field(l, K_TYPE));
	/* Most records are events: decoded here too, off the analyzer's thread. */
	l->ev_bad[0] = '\0';
	if (l->type == R_EVENT) {
		decoding = l;
		parse_event(r, l, &l->ev);
		decoding = NULL;
	}
	return true;
}

static void *reader_main(void *arg)
{
	struct replay *r = arg;
	struct ring *g = &r->ring;
	unsigned long tail = 0, room;
	bool more = true;

	while (more) {
		pthread_mutex_lock(&g->lock);
		g->tail = tail;
		if (g->replay_asleep && tail - g->head >= RING_WAKE) {
			g->replay_asleep = false;
			pthread_cond_broadcast(&g->wake);
		}
		while (tail - g->head >= RING_LINES && !g->stop) {
			g->reader_asleep = true;
			pthread_cond_wait(&g->wake, &g->lock);
		}
		room = RING_LINES - (tail - g->head);
		more = !g->stop;
		pthread_mutex_unlock(&g->lock);
		for (unsigned long i = 0; more && i < room && i < RING_BATCH; i++) {
			more = parse_line(r, &g->lines[tail % RING_LINES]);
			tail += more;
		}
	}
	pthread_mutex_lock(&g->lock);
	g->tail = tail;
	g->done = true;
	pthread_cond_broadcast(&g->wake);
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

static int ring_start(struct replay *r)
{
	struct ring *g = &r->ring;
	int err;

	g->lines = malloc(RING_LINES * sizeof(*g->lines));
	if (!g->lines)
		return -ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	err = pthread_create(&g->thread, NULL, reader_main, r);
	if (err) {
		pthread_mutex_destroy(&g->lock);
		pthread_cond_destroy(&g->wake);
		return -err;
	}
	g->started = true;
	return 0;
}

static void ring_stop(struct replay *r)
{
	struct ring *g = &r->ring;

	if (g->started) {
		pthread_mutex_lock(&g->lock);
		g->stop = true;
		pthread_cond_broadcast(&g->wake);
		pthread_mutex_unlock(&g->lock);
		pthread_join(g->thread, NULL);
		pthread_mutex_destroy(&g->lock);
		pthread_cond_destroy(&g->wake);
		g->started = false;
	}
	free(g->lines);
	g->lines = NULL;
}

/* ---- taking lines (the replay) ------------------------------------------- */

/*
 * The line at ring index i, once the reader has parsed it; NULL past the
 * last. Gives back the lines before the record in hand.
 */
static struct line *line_at(struct replay *r, unsigned long i)
{
	struct ring *g = &r->ring;

	if (i < r->seen)
		return &g->lines[i % RING_LINES];
	pthread_mutex_lock(&g->lock);
	g->head = r->cur == r->spare ? r->next_at : r->cur_at;
	if (g->reader_asleep &&
	    (g->tail - g->head <= RING_LINES - RING_WAKE || i >= g->tail)) {
		g->reader_asleep = false;
		pthread_cond_broadcast(&g->wake);
	}
	while (i >= g->tail && !g->done) {
		g->replay_asleep = true;
		pthread_cond_wait(&g->wake, &g->lock);
	}
	r->seen = g->tail;
	pthread_mutex_unlock(&g->lock);
	return i < r->seen ? &g->lines[i % RING_LINES] : NULL;
}

/* The next record, not yet taken, bad lines reported on the way; NULL at the end. */
static struct line *peek(struct replay *r)
{
	struct line *l;

	while ((l = line_at(r, r->next_at)) && l->bad[0]) {
		bad_line(r, l->no, "%s", l->bad);
		r->last_no = l->no;
		r->next_at++;
	}
	if (l)
		r->last_no = l->no;
	return l;
}

/* Make r->cur the next record; false at the end. */
static bool advance(struct replay *r)
{
	struct line *l = peek(r);

	if (!l)
		return false;
	r->cur = l;
	r->cur_at = r->next_at++;
	return true;
}

/*
 * Past the record peek() returned: a sock_diag answer, used while cur is
 * still in hand. The ring would not hold more answers than it has lines:
 * cur is copied out of the ring the first time it would.
 */
static void skip_peeked(struct replay *r)
{
	const struct line *c = r->cur;
	struct line *sp = r->spare;

	r->next_at++;
	if (c == sp || r->next_at - r->cur_at < RING_LINES - 1)
		return;
	/* All of it (the text as long as it is); then o's pointers made sp's. */
	memcpy(sp, c, offsetof(struct line, text) + c->len + 1);
	jsonl_copy(&sp->o, &c->o);
	jsonl_index(&sp->o, &r->keys, sp->field);
	r->cur = sp;
}

/* ---- fields ------------------------------------------------------------- */

static bool missing(struct replay *r, const struct line *l, enum key k,
		    const char *what)
{
	if (!l->field[k])
		return bad_line(r, l->no, "missing field \"%s\"", key_names[k]);
	return bad_line(r, l->no, "field \"%s\": expected %s", key_names[k], what);
}

static bool get_u64(struct replay *r, const struct line *l, enum key k,
		    __u64 max, __u64 *v)
{
	const struct jfield *f = l->field[k];

	if (!f || f->type != J_NUM || !f->is_int || f->negative || f->u > max)
		return missing(r, l, k, "a non-negative integer in range");
	*v = f->u;
	return true;
}

static bool get_u32(struct replay *r, const struct line *l, enum key k,
		    __u32 max, __u32 *v)
{
	__u64 x;

	if (!get_u64(r, l, k, max, &x))
		return false;
	*v = (__u32)x;
	return true;
}

static bool get_s32(struct replay *r, const struct line *l, enum key k,
		    __s32 *v)
{
	const struct jfield *f = l->field[k];

	if (!f || f->type != J_NUM || !f->is_int || !f->fits ||
	    f->i < INT_MIN || f->i > INT_MAX)
		return missing(r, l, k, "a 32-bit integer");
	*v = (__s32)f->i;
	return true;
}

static bool get_str(struct replay *r, const struct line *l, enum key k,
		    const char **v)
{
	*v = str_field(l, k);
	return *v ? true : missing(r, l, k, "a string");
}

/* A number, or null for 0 (pid, inode). */
static bool get_u64_or_null(struct replay *r, const struct line *l,
			    enum key k, __u64 max, __u64 *v)
{
	const struct jfield *f = l->field[k];

	if (f && f->type == J_NULL) {
		*v = 0;
		return true;
	}
	return get_u64(r, l, k, max, v);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly len bytes as 2 * len hex digits. */
static bool parse_hex(const char *s, __u8 *out, size_t len)
{
	if (strlen(s) != 2 * len)
		return false;
	for (size_t i = 0; i < len; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (__u8)(hi << 4 | lo);
	}
	return true;
}

/* The socket's address: "0x" and 1 to 16 hexadecimal digits. */
static bool parse_sk(const char *s, __u64 *v)
{
	int n = 0, d;

	if (!s || s[0] != '0' || s[1] != 'x')
		return false;
	for (*v = 0, s += 2; (d = hex_digit(*s)) >= 0; s++, n++)
		*v = *v << 4 | (__u64)d;
	return !*s && n >= 1 && n <= 16;
}

/* As record.c writes it: text for AF_INET/AF_INET6, else 32 hex digits. */
static bool get_addr(struct replay *r, const struct line *l, enum key k,
		     __u16 family, __u8 *addr)
{
	const char *s;

	memset(addr, 0, 16);
	if (!get_str(r, l, k, &s))
		return false;
	if (family == AF_INET || family == AF_INET6 ? inet_pton(family, s, addr) == 1 :
	    parse_hex(s, addr, 16))
		return true;
	return bad_line(r, l->no, "field \"%s\": not an address", key_names[k]);
}

static bool get_family_name(struct replay *r, const struct line *l, __u16 *family)
{
	const char *s;

	if (!get_str(r, l, K_FAMILY, &s))
		return false;
	if (!strcmp(s, "AF_INET") || !strcmp(s, "AF_INET6")) {
		*family = !strcmp(s, "AF_INET") ? AF_INET : AF_INET6;
		return true;
	}
	return bad_line(r, l->no, "field \"family\": expected AF_INET or AF_INET6");
}

/* comm_hex when present (exact bytes), else comm; null: no name. */
static bool get_comm(struct replay *r, const struct line *l, char *comm)
{
	const char *hex = str_field(l, K_COMM_HEX);
	const struct jfield *f = l->field[K_COMM];
	size_t n;

	memset(comm, 0, TW_COMM_LEN);
	if (hex) {
		n = strlen(hex) / 2;
		if (n >= TW_COMM_LEN || !parse_hex(hex, (__u8 *)comm, n))
			return bad_line(r, l->no, "field \"comm_hex\": expected at most "
					"%d bytes in hex", TW_COMM_LEN - 1);
		return true;
	}
	if (f && f->type == J_NULL)
		return true;
	if (!f || f->type != J_STR)
		return missing(r, l, K_COMM, "a string or null");
	n = strlen(f->str);
	if (n >= TW_COMM_LEN)
		return bad_line(r, l->no, "field \"comm\": longer than a process name");
	memcpy(comm, f->str, n);
	return true;
}

/* ---- records ------------------------------------------------------------ */

static bool parse_event(struct replay *r, const struct line *l, struct tw_event *e)
{
	__u32 family, sport, dport, old, new, owner, flags;
	const char *type, *reason;
	__s32 fd, value, arg2;
	int t;

	memset(e, 0, sizeof(*e));
	if (!get_str(r, l, K_EVENT, &type))
		return false;
	t = event_type_parse(type);
	if (t < 0)
		return bad_line(r, l->no, "field \"event\": unknown event type");
	e->type = (__u8)t;
	if (!get_u64(r, l, K_TS_NS, ~0ULL, &e->ts_ns) ||
	    !get_u32(r, l, K_PID, ~0U, &e->pid) || !get_comm(r, l, e->comm) ||
	    !get_u32(r, l, K_OWNER_HOW, 255, &owner) ||
	    !get_u32(r, l, K_CPU_PID, ~0U, &e->cpu_pid) ||
	    !get_u32(r, l, K_NETNS, ~0U, &e->netns) ||
	    !get_u32(r, l, K_FAMILY, 65535, &family) ||
	    !get_addr(r, l, K_SADDR, (__u16)family, e->saddr) ||
	    !get_u32(r, l, K_SPORT, 65535, &sport) ||
	    !get_addr(r, l, K_DADDR, (__u16)family, e->daddr) ||
	    !get_u32(r, l, K_DPORT, 65535, &dport) ||
	    !get_u32(r, l, K_OLDSTATE, 255, &old) ||
	    !get_u32(r, l, K_NEWSTATE, 255, &new) ||
	    !get_u32(r, l, K_FLAGS, 255, &flags) ||
	    !get_s32(r, l, K_VALUE, &value) ||
	    !get_u32(r, l, K_REASON, ~0U, &e->reason) ||
	    !get_s32(r, l, K_FD, &fd) || !get_u32(r, l, K_ARG, ~0U, &e->arg) ||
	    !get_s32(r, l, K_ARG2, &arg2))
		return false;
	if (!parse_sk(str_field(l, K_SK), &e->skaddr))
		return missing(r, l, K_SK, "a hexadecimal string (\"0x...\")");
	reason = str_field(l, K_REASON_NAME);
	if (reason && !rst_reason_valid(e->reason, reason))
		return bad_line(r, l->no, "field \"reason_name\": not a reset reason");
	e->family = (__u16)family;
	e->sport = (__u16)sport;
	e->dport = (__u16)dport;
	e->oldstate = (__u8)old;
	e->newstate = (__u8)new;
	e->owner_how = (__u8)owner;
	e->flags = (__u8)flags;
	e->value = value;
	e->fd = fd;
	e->arg2 = arg2;
	return true;
}

static bool parse_snapshot(struct replay *r, const struct line *l,
			   struct snapshot_sock *s)
{
	__u32 sport, dport, retrans;
	const char *state, *timer;
	__u64 pid;
	int t;

	memset(s, 0, sizeof(*s));
	if (!get_u64(r, l, K_TS_NS, ~0ULL, &s->ts_ns) ||
	    !get_u64_or_null(r, l, K_PID, ~0U, &pid) || !get_comm(r, l, s->comm) ||
	    !get_family_name(r, l, &s->t.family) ||
	    !get_addr(r, l, K_SADDR, s->t.family, s->t.saddr) ||
	    !get_u32(r, l, K_SPORT, 65535, &sport) ||
	    !get_addr(r, l, K_DADDR, s->t.family, s->t.daddr) ||
	    !get_u32(r, l, K_DPORT, 65535, &dport) ||
	    !get_str(r, l, K_STATE, &state) ||
	    !get_u32(r, l, K_RQUEUE, ~0U, &s->rqueue) ||
	    !get_u32(r, l, K_WQUEUE, ~0U, &s->wqueue) ||
	    !get_str(r, l, K_TIMER, &timer) ||
	    !get_u32(r, l, K_EXPIRES_MS, ~0U, &s->expires_ms) ||
	    !get_u32(r, l, K_RETRANS, 255, &retrans) ||
	    !get_u64_or_null(r, l, K_INODE, ~0ULL, &s->inode) ||
	    !get_u32(r, l, K_NETNS, ~0U, &s->t.netns))
		return false;
	s->state = tcp_state_parse(state);
	if (s->state < 0)
		return bad_line(r, l->no, "field \"state\": not a TCP state");
	t = diag_timer_parse(timer);
	if (t < 0)
		return bad_line(r, l->no, "field \"timer\": unknown timer");
	s->pid = (__u32)pid;
	s->t.sport = (__u16)sport;
	s->t.dport = (__u16)dport;
	s->timer = (__u8)t;
	s->retrans = (__u8)retrans;
	return true;
}

static bool parse_diag(struct replay *r, const struct line *l, struct answer *a)
{
	const char *kind;
	__u32 family = 0, sport = 0, dport = 0, state, timer = DIAG_TIMER_OFF;
	__s32 ret;

	memset(a, 0, sizeof(*a));
	if (!get_str(r, l, K_QUERY, &kind) ||
	    !get_u32(r, l, K_NETNS, ~0U, &a->q.netns) ||
	    !get_s32(r, l, K_RET, &ret) || !get_u32(r, l, K_SPORT, 65535, &sport))
		return false;
	a->a.ret = ret;
	a->q.sport = (__u16)sport;
	if (!strcmp(kind, "count")) {
		a->q.kind = DIAG_COUNT;
		return get_u32(r, l, K_STATE_MASK, ~0U, &a->q.state_mask);
	}
	if (strcmp(kind, "lookup"))
		return bad_line(r, l->no, "field \"query\": expected lookup or count");
	a->q.kind = DIAG_LOOKUP;
	if (!get_u32(r, l, K_FAMILY, 65535, &family) ||
	    !get_addr(r, l, K_SADDR, (__u16)family, a->q.saddr) ||
	    !get_addr(r, l, K_DADDR, (__u16)family, a->q.daddr) ||
	    !get_u32(r, l, K_DPORT, 65535, &dport) ||
	    !get_u32(r, l, K_STATE, 255, &state) ||
	    !get_u32(r, l, K_EXPIRES_MS, ~0U, &a->a.sock.expires_ms) ||
	    !get_u32(r, l, K_RQUEUE, ~0U, &a->a.sock.rqueue) ||
	    !get_u32(r, l, K_WQUEUE, ~0U, &a->a.sock.wqueue) ||
	    !get_u64(r, l, K_INODE, ~0ULL, &a->a.sock.inode))
		return false;
	/* Written since the analyzer tells a timewait socket by it; else off. */
	if (l->field[K_TIMER] &&
	    !get_u32(r, l, K_TIMER, DIAG_TIMER_MAX - 1, &timer))
		return false;
	a->a.sock.timer = (__u8)timer;
	a->q.family = (__u16)family;
	a->q.dport = (__u16)dport;
	a->a.sock.state = (int)state;
	return true;
}

/* "1234,1240": at most max numbers in [1, limit], separated by commas. */
static bool parse_list(struct replay *r, const struct line *l, enum key k,
		       long limit, int max, long *v, int *n)
{
	const char *s;
	char *end;

	*n = 0;
	if (!get_str(r, l, k, &s))
		return false;
	while (*s) {
		long x = strtol(s, &end, 10);

		if (end == s || x <= 0 || x > limit || *n == max ||
		    (*end && *end != ','))
			return bad_line(r, l->no, "field \"%s\": expected numbers "
					"separated by commas", key_names[k]);
		v[(*n)++] = x;
		s = *end ? end + 1 : end;
	}
	return true;
}

/* What was traced: pids, ports, family, as the options said. */
static bool parse_target(struct replay *r, const struct line *l, struct tw_options *o)
{
	const char *family = str_field(l, K_FAMILY);
	long pids[TW_MAX_PIDS], ports[TW_MAX_PORTS];
	int npids, nports;

	if (!parse_list(r, l, K_PIDS, INT_MAX, TW_MAX_PIDS, pids, &npids) ||
	    !parse_list(r, l, K_PORTS, 65535, TW_MAX_PORTS, ports, &nports))
		return false;
	if (family && strcmp(family, "AF_INET") && strcmp(family, "AF_INET6"))
		return bad_line(r, l->no, "field \"family\": expected AF_INET, "
				"AF_INET6 or null");
	o->npids = npids;
	for (int i = 0; i < npids; i++)
		o->pids[i] = (pid_t)pids[i];
	o->nports = nports;
	for (int i = 0; i < nports; i++)
		o->ports[i] = (__u16)ports[i];
	o->family = !family ? 0 : !strcmp(family, "AF_INET") ? AF_INET : AF_INET6;
	return true;
}

/*
 * Scenario names are [a-z0-9-]: a recording is untrusted input, and the
 * name ends up on the terminal and in every output format.
 */
static bool scenario_name_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-");

	return n && n <= 64 && !s[n];
}

static bool parse_header(struct replay *r, const struct line *l)
{
	const struct jfield *stuck = l->field[K_STUCK];
	const struct jfield *follow = l->field[K_FOLLOW];
	const struct jfield *calls = l->field[K_CALLS];
	const char *scenario = str_field(l, K_SCENARIO);
	__u64 version;
	__s64 offset;
	const struct jfield *off = l->field[K_MONO_TO_REAL_NS];

	if (!get_u64(r, l, K_VERSION, ~0ULL, &version))
		return false;
	if (version != RECORD_VERSION)
		return bad_line(r, l->no, "recording format version %llu: this tcpwatch "
				"reads version %d", (unsigned long long)version,
				RECORD_VERSION);
	if (!off || off->type != J_NUM || !off->is_int || !off->fits)
		return missing(r, l, K_MONO_TO_REAL_NS, "an integer");
	offset = off->i;
	if (!stuck || stuck->type != J_NUM || !(stuck->num > 0) || stuck->num > 1e7)
		return missing(r, l, K_STUCK, "seconds > 0");
	if (!follow || follow->type != J_BOOL)
		return missing(r, l, K_FOLLOW, "true or false");
	/* Not in recordings older than --no-calls: they traced the calls. */
	if (calls && calls->type != J_BOOL)
		return missing(r, l, K_CALLS, "true or false");
	if (!parse_target(r, l, &r->opts))
		return false;
	r->opts.stuck = stuck->num;
	r->opts.follow = follow->b;
	r->opts.no_calls = calls && !calls->b;
	r->out->mono_to_real_ns = offset;
	if (scenario && !scenario_name_ok(scenario))
		return bad_line(r, l->no, "field \"scenario\": not a scenario name");
	if (scenario) {
		snprintf(r->scenario_all, sizeof(r->scenario_all), "%s", scenario);
		r->opts.scenario = r->scenario_all;
	}
	r->have_header = true;
	return true;
}

/* ---- sessions ----------------------------------------------------------- */

static void print_event(void *ctx, const struct tw_event *e)
{
	output_event(ctx, e);
}

static void print_explain(void *ctx, const struct explanation *x)
{
	output_explain(ctx, x);
}

static void print_connection(void *ctx, const struct conn *c, __u64 end_ns)
{
	output_connection(ctx, c, end_ns);
}

static bool session_open(struct replay *r, unsigned long no)
{
	if (r->an)
		return true;
	if (!r->have_header && !r->tl && !r->headless_said) {
		bad_line(r, no, "no recording header before this record: using the "
			 "default settings");
		r->headless_said = true;
	}
	r->sink = r->tl ? scenario_timeline_sink(r->tl) :
		  (struct analyzer_ops){ .event = print_event,
			.explain = print_explain, .conn_done = print_connection,
			.ctx = r->out };
	memset(&r->stats, 0, sizeof(r->stats));
	r->ended = r->stopped = false;
	if (r->report)
		report_attach(r->report, &r->sink);
	r->an = analyzer_new(&r->opts, &r->sink);
	if (!r->an)
		fprintf(stderr, "tcpwatch: out of memory\n");
	return r->an != NULL;
}

/* Tracing ended there: the analyzer's last checks, unless recorded already. */
static void session_end(struct replay *r, __u64 ts)
{
	if (!r->an || r->ended)
		return;
	analyzer_end(r->an, ts);
	r->ended = true;
}

/* Tracing stopped at ts (the report settles what is still open). */
static void session_stop(struct replay *r, __u64 ts)
{
	if (!r->an || r->stopped)
		return;
	session_end(r, ts);
	r->stats.evicted = analyzer_evicted(r->an);
	if (r->report)
		report_end_session(r->report, ts);
	r->stopped = true;
}

static void session_close(struct replay *r)
{
	if (!r->an)
		return;
	session_stop(r, r->last_ts);
	analyzer_free(r->an);
	r->an = NULL;
}

/* The question asked, answered as the live run was, by the first match. */
static void answer(void *ctx, const struct diag_query *q, struct diag_answer *a)
{
	struct replay *r = ctx;
	size_t alen = q->family == AF_INET6 ? 16 : 4;

	for (unsigned int i = 0; i < r->nanswers; i++) {
		struct answer *x = &r->answers[i];

		if (x->used || x->q.kind != q->kind || x->q.netns != q->netns ||
		    x->q.sport != q->sport)
			continue;
		if (q->kind == DIAG_COUNT ? x->q.state_mask != q->state_mask :
		    x->q.family != q->family || x->q.dport != q->dport ||
		    memcmp(x->q.saddr, q->saddr, alen) ||
		    memcmp(x->q.daddr, q->daddr, alen))
			continue;
		x->used = true;
		*a = x->a;
		return;
	}
	a->ret = -ESRCH;	/* as if the namespace could not be reached */
	if (!r->unanswered_said)
		fprintf(stderr, "tcpwatch: %s:%lu: the analyzer asked sock_diag a "
			"question the recording has no answer to; the explanations "
			"may differ from the live run's\n", r->path, r->cur->no);
	r->unanswered_said = true;
}

/* The diag records that follow the record in hand: its answers. */
static void collect_answers(struct replay *r)
{
	const struct line *next;

	r->nanswers = 0;
	while ((next = peek(r)) && next->type == R_DIAG) {
		struct answer a;

		if (parse_diag(r, next, &a) && r->nanswers < MAX_ANSWERS)
			r->answers[r->nanswers++] = a;
		skip_peeked(r);
	}
}

static void on_event(struct replay *r, const struct line *l)
{
	const struct tw_event *e = &l->ev;
	const char *reason = str_field(l, K_REASON_NAME);

	if (l->ev_bad[0])
		return (void)bad_line(r, l->no, "%s", l->ev_bad);
	/* Valid, or the reader would have said so. */
	if (reason)
		rst_reason_set(e->reason, reason);
	if (!session_open(r, l->no))
		return;
	if (r->ended)
		return (void)bad_line(r, l->no, "an event after the end of tracing");
	r->last_ts = e->ts_ns;
	r->stats.events++;
	r->stats.by_type[e->type]++;
	r->sink.event(r->sink.ctx, e);
	analyzer_event(r->an, e);
}

static void on_snapshot(struct replay *r, const struct line *l)
{
	struct snapshot_sock s;

	if (!parse_snapshot(r, l, &s) || !session_open(r, l->no))
		return;
	r->last_ts = s.ts_ns;
	if (!r->tl)
		output_snapshot(r->out, &s);
	analyzer_snapshot(r->an, &s);
}

/* start: the session begins; tick: the detectors run; end: the last checks. */
static void on_stamp(struct replay *r, const struct line *l)
{
	__u64 ts;

	if (!get_u64(r, l, K_TS_NS, ~0ULL, &ts) || !session_open(r, l->no))
		return;
	r->last_ts = ts;
	if (l->type == R_START) {
		if (r->report)
			report_begin_session(r->report, ts);
	} else if (l->type == R_END) {
		session_end(r, ts);
	} else if (!r->ended) {
		analyzer_tick(r->an, ts);
	}
}

static void on_lost(struct replay *r, const struct line *l)
{
	__u64 ts, count, total;

	if (!get_u64(r, l, K_TS_NS, ~0ULL, &ts) ||
	    !get_u64(r, l, K_COUNT, ~0ULL, &count) ||
	    !get_u64(r, l, K_TOTAL, ~0ULL, &total))
		return;
	output_lost(r->out, ts, count, total);
	r->stats.lost = total;
}

static void on_stop(struct replay *r, const struct line *l)
{
	__u64 ts;

	if (!get_u64(r, l, K_TS_NS, ~0ULL, &ts) ||
	    !get_u64(r, l, K_LOST, ~0ULL, &r->stats.lost) ||
	    !get_u64(r, l, K_FILTERED, ~0ULL, &r->stats.filtered) ||
	    !get_u64(r, l, K_MALFORMED, ~0ULL, &r->stats.malformed))
		return;
	/* Not in recordings made before tcpwatch counted them. */
	if (l->field[K_SKIPPED] &&
	    !get_u64(r, l, K_SKIPPED, ~0ULL, &r->stats.skipped))
		return;
	session_stop(r, ts);
}

/* A scenario of --scenario begins: its own analyzer, its own timeline. */
static void on_scenario_start(struct replay *r, const struct line *l)
{
	const char *name;
	__u64 pid;

	if (!get_str(r, l, K_NAME, &name) || !get_u64(r, l, K_PID, INT_MAX, &pid))
		return;
	if (!scenario_name_ok(name)) {
		bad_line(r, l->no, "field \"name\": not a scenario name");
		return;
	}
	if (r->tl)
		bad_line(r, l->no, "scenario %s begins before scenario %s ended",
			 name, r->scenario);
	session_close(r);
	scenario_timeline_free(r->tl);
	r->tl = scenario_timeline_new();
	if (!r->tl)
		return;
	snprintf(r->scenario, sizeof(r->scenario), "%s", name);
	r->opts.pids[0] = (pid_t)pid;
	r->opts.npids = 1;
	if (r->report)
		report_scenario_begin(r->report, r->scenario);
	session_open(r, l->no);
}

/*
 * The scenario ends: its merged timeline, then its result, as live (st
 * NULL: the recording ends before the result).
 */
static void scenario_done(struct replay *r, int status, const struct tw_stats *st)
{
	session_stop(r, r->last_ts);
	scenario_timeline_print(r->tl, r->out);
	if (st) {
		output_scenario(r->out, r->scenario, status, st);
		r->nscenarios++;
		r->failed += status != 0;
	}
	if (r->report) {
		scenario_timeline_report(r->tl, r->report);
		if (st)
			report_scenario_end(r->report, status, st);
	}
	session_close(r);
	scenario_timeline_free(r->tl);
	r->tl = NULL;
}

static void on_scenario_end(struct replay *r, const struct line *l)
{
	struct tw_stats st = r->stats;	/* the events' counts, the stop record's */
	const char *name;
	__s32 status;

	if (!get_str(r, l, K_NAME, &name) || !get_s32(r, l, K_STATUS, &status) ||
	    !get_u64(r, l, K_EVENTS, ~0ULL, &st.events) ||
	    !get_u64(r, l, K_LOST, ~0ULL, &st.lost))
		return;
	if (!scenario_name_ok(name)) {
		bad_line(r, l->no, "field \"name\": not a scenario name");
		return;
	}
	if (!r->tl || strcmp(name, r->scenario))
		return (void)bad_line(r, l->no, "the end of scenario %s, which did not "
				      "begin", name);
	scenario_done(r, status, &st);
}

static void on_action(struct replay *r, const struct line *l)
{
	__u64 ts;

	if (!get_u64(r, l, K_TS_NS, ~0ULL, &ts))
		return;
	if (!r->tl)
		return (void)bad_line(r, l->no, "a scenario action outside a scenario");
	scenario_timeline_action(r->tl, l->text, ts);
}

static void dispatch(struct replay *r, const struct line *l)
{
	switch (l->type) {
	case R_EVENT:
		on_event(r, l);
		break;
	case R_SNAPSHOT:
		on_snapshot(r, l);
		break;
	case R_TICK:
	case R_END:
	case R_START:
		on_stamp(r, l);
		break;
	case R_DIAG:
		bad_line(r, l->no, "a sock_diag answer with no question before it");
		break;
	case R_LOST:
		on_lost(r, l);
		break;
	case R_STOP:
		on_stop(r, l);
		break;
	case R_ACTION:
		on_action(r, l);
		break;
	case R_SCENARIO_START:
		on_scenario_start(r, l);
		break;
	case R_SCENARIO:
		on_scenario_end(r, l);
		break;
	case R_RECORDING:
		bad_line(r, l->no, "a recording header in the middle of a recording");
		break;
	default:
		bad_line(r, l->no, "unknown record type");
		break;
	}
}

/* What drives the analyzer comes with the sock_diag answers it got then. */
static bool asks(const struct line *l)
{
	return l->type == R_EVENT || l->type == R_SNAPSHOT || l->type == R_TICK ||
	       l->type == R_END;
}

static void replay_all(struct replay *r)
{
	while (!r->out->failed && advance(r)) {
		if (asks(r->cur))
			collect_answers(r);
		else
			r->nanswers = 0;
		dispatch(r, r->cur);
	}
	if (r->tl) {
		fprintf(stderr, "tcpwatch: %s:%lu: the recording ends inside scenario "
			"%s, before its result: the run was cut short\n", r->path,
			r->last_no, r->scenario);
		scenario_done(r, 0, NULL);
	} else if (r->an && !r->stopped) {
		fprintf(stderr, "tcpwatch: %s:%lu: the recording ends before tracing "
			"stopped: the run was cut short\n", r->path, r->last_no);
	}
	session_stop(r, r->last_ts);
}

static void print_start(const struct replay *r)
{
	fprintf(stderr, "Replaying %s: TCP connections of ", r->path);
	if (r->scenario_all[0]) {
		fprintf(stderr, "scenario %s", r->scenario_all);
	} else if (r->opts.npids) {
		fprintf(stderr, "pid");
		for (int i = 0; i < r->opts.npids; i++)
			fprintf(stderr, "%s%d", i ? "," : " ", r->opts.pids[i]);
	} else {
		fprintf(stderr, "every process");
	}
	fprintf(stderr, "\n");
}

static int replay_file(struct replay *r)
{
	const struct line *first;
	int err;

	r->spare = malloc(sizeof(*r->spare));
	r->in = malloc(READ_BYTES);
	if (!r->spare || !r->in) {
		fprintf(stderr, "tcpwatch: out of memory\n");
		return 1;
	}
	err = ring_start(r);
	if (err) {
		fprintf(stderr, "tcpwatch: cannot start reading %s: %s\n", r->path,
			strerror(-err));
		return 1;
	}
	/* The header first: it sets the clock the times are printed with. */
	first = peek(r);
	if (first && first->no == 1 && first->type == R_RECORDING) {
		advance(r);
		parse_header(r, r->cur);
	}
	/* What the recording says was traced, as the live run described it. */
	if (report_open(&r->report, &r->opts))
		return 1;
	if (r->report)
		report_set_clock(r->report, r->out->mono_to_real_ns);
	print_start(r);
	output_header(r->out);
	sockdiag_replay(answer, r);
	replay_all(r);
	sockdiag_replay(NULL, NULL);
	if (r->nscenarios > 1)
		fprintf(stderr, "%d scenarios: %d as expected, %d not\n", r->nscenarios,
			r->nscenarios - r->failed, r->failed);
	if (!r->scenario_all[0]) {
		session_close(r);
		output_summary(r->out, &r->stats);
	}
	session_close(r);
	scenario_timeline_free(r->tl);
	/* As live: a scenario run's report has no counters of its own. */
	return report_close(r->report, &r->opts,
			    r->scenario_all[0] ? NULL : &r->stats, true) ? 1 : 0;
}

int replay_main(const struct tw_options *o)
{
	struct replay r;
	struct tw_output out;
	int err, status;

	memset(&r, 0, sizeof(r));
	jsonl_keys_init(&r.keys, key_names, NKEYS);
	r.path = o->replay;
	r.f = fopen(o->replay, "re");
	if (!r.f) {
		fprintf(stderr, "tcpwatch: cannot read %s: %s\n", o->replay,
			strerror(errno));
		return 1;
	}
	if (output_open(&out, o)) {
		fclose(r.f);
		return 1;
	}
	r.out = &out;
	r.opts = *o;
	r.opts.replay = NULL;
	status = replay_file(&r);
	ring_stop(&r);
	if (ferror(r.f)) {
		fprintf(stderr, "tcpwatch: cannot read %s: %s\n", o->replay,
			strerror(errno));
		status = 1;
	}
	fclose(r.f);
	free(r.spare);
	free(r.in);
	err = output_close(&out);
	if (err && err != -EPIPE && !status) {
		fprintf(stderr, "tcpwatch: cannot write %s: %s\n", out.path,
			strerror(-err));
		status = 1;
	}
	return status ? status : r.bad ? TW_EXIT_BAD_LINES : 0;
}
