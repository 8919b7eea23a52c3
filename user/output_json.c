// SPDX-License-Identifier: GPL-2.0
/* --json: one object per line (JSON Lines). The schema is in README.md. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "explain.h"
#include "json.h"
#include "names.h"
#include "output.h"
#include "snapshot.h"
#include "sockdiag.h"

static const char *const owner_how[] = {
	[TW_OWNER_NONE] = "unknown",
	[TW_OWNER_CONNECT] = "connect",
	[TW_OWNER_LISTEN] = "listen",
	[TW_OWNER_LISTENER] = "listener",
	[TW_OWNER_FD] = "fd",
	[TW_OWNER_TUPLE] = "tuple",
	[TW_OWNER_ACCEPT] = "accept",
};

static void jl_kv_str(struct jline *l, const char *key, const char *val)
{
	jl_str(l, key, val, strlen(val));
}

/* Written straight into the line: no copy, no strlen(). */
static void jl_addr(struct jline *l, const char *key, __u16 family,
		    const __u8 *addr)
{
	char *p;

	jl_raw(l, key);
	jl_put(l, "\"", 1);
	p = jl_room(l, ADDR_TEXT_MAX);
	if (p)
		jl_end(l, addr_put(p, family, addr));
	jl_put(l, "\"", 1);
}

static void jl_clock(struct jline *l, const char *key,
		     const struct tw_output *out, __u64 ts_ns)
{
	char *p;

	jl_raw(l, key);
	jl_put(l, "\"", 1);
	p = jl_room(l, CLOCK_TEXT_MAX);
	if (p)
		jl_end(l, clock_put(p, out, ts_ns, true));
	jl_put(l, "\"", 1);
}

/* family, saddr, sport, daddr, dport: of an event, a connection, a socket. */
static void json_endpoints(struct jline *l, __u16 family, const __u8 *saddr,
			   __u16 sport, const __u8 *daddr, __u16 dport)
{
	jl_raw(l, family == AF_INET6 ? ",\"family\":\"AF_INET6\"" :
				       ",\"family\":\"AF_INET\"");
	jl_addr(l, ",\"saddr\":", family, saddr);
	jl_u64(l, ",\"sport\":", sport);
	jl_addr(l, ",\"daddr\":", family, daddr);
	jl_u64(l, ",\"dport\":", dport);
}

static void json_owner(struct jline *l, const struct tw_event *e)
{
	if (!e->pid) {
		jl_raw(l, ",\"pid\":null,\"comm\":null,\"owner\":\"unknown\"");
		return;
	}
	jl_u64(l, ",\"pid\":", e->pid);
	jl_str(l, ",\"comm\":", e->comm, TW_COMM_LEN);
	jl_name(l, ",\"owner\":",
		e->owner_how < sizeof(owner_how) / sizeof(owner_how[0]) &&
		owner_how[e->owner_how] ? owner_how[e->owner_how] : "unknown");
}

/* A name from a table, or the number as a string when the table has none. */
static void jl_name_or_num(struct jline *l, const char *key, const char *name,
			   long long num)
{
	char tmp[24];

	if (name) {
		jl_kv_str(l, key, name);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%lld", num);
	jl_name(l, key, tmp);
}

/* SO_LINGER's value is the timeout when on (-1 from the BPF side: off). */
static void json_sockopt(struct jline *l, const struct tw_event *e)
{
	int level = (int)(e->arg >> 16), opt = (int)(e->arg & 0xffff);

	jl_name_or_num(l, ",\"level\":", sockopt_level_name(level), level);
	jl_name_or_num(l, ",\"option\":", sockopt_name(level, opt), opt);
	if (level == SOL_SOCKET && opt == SO_LINGER && e->arg2 < 0) {
		jl_raw(l, ",\"onoff\":false,\"value\":null");
		return;
	}
	if (level == SOL_SOCKET && opt == SO_LINGER)
		jl_raw(l, ",\"onoff\":true");
	jl_s64(l, ",\"value\":", e->arg2);
}

/* ret and errno as the application sees them: -1 and the errno's name. */
static void json_call(struct jline *l, const struct tw_event *e)
{
	char tmp[32];

	jl_kv_str(l, ",\"call\":", call_name(e->reason));
	if (e->value < 0) {
		jl_raw(l, ",\"ret\":-1");
		jl_name(l, ",\"errno\":", errno_name(-(long)e->value, tmp, sizeof(tmp)));
	} else {
		jl_s64(l, ",\"ret\":", e->value);
		jl_raw(l, ",\"errno\":null");
	}
	jl_s64(l, ",\"fd\":", e->fd);
	switch (e->reason) {
	case TW_CALL_ACCEPT:
		jl_s64(l, ",\"listen_fd\":", (int)e->arg);
		break;
	case TW_CALL_SHUTDOWN:
		jl_name_or_num(l, ",\"how\":", shutdown_how_name(e->arg), e->arg);
		break;
	case TW_CALL_SETSOCKOPT:
		json_sockopt(l, e);
		break;
	case TW_CALL_LISTEN:
		jl_s64(l, ",\"backlog\":", (int)e->arg);
		break;
	case TW_CALL_BIND:
		jl_u64(l, ",\"port\":", e->arg);
		break;
	default:
		break;
	}
}

static void json_details(struct jline *l, const struct tw_event *e)
{
	char tmp[32];

	switch (e->type) {
	case TW_EV_STATE:
		jl_name(l, ",\"old\":", tcp_state_name(e->oldstate));
		jl_name(l, ",\"new\":", tcp_state_name(e->newstate));
		if (e->flags & TW_F_SYNTHETIC) {
			jl_raw(l, ",\"reconstructed\":true");
			jl_name(l, ",\"cause\":", explain_cause_name((int)e->reason));
		}
		return;
	case TW_EV_RST_SENT:
		if (!(e->flags & TW_F_HAS_REASON))
			jl_raw(l, ",\"reason\":null");
		else
			jl_name_or_num(l, ",\"reason\":", rst_reason_name(e->reason),
				       e->reason);
		jl_raw(l, e->flags & TW_F_NO_SK ? ",\"no_socket\":true" :
						  ",\"no_socket\":false");
		jl_raw(l, e->flags & TW_F_TIMEWAIT_SK ? ",\"timewait\":true" :
							",\"timewait\":false");
		if (!(e->flags & TW_F_NO_SK))
			jl_name(l, ",\"state\":", tcp_state_name(e->oldstate));
		return;
	case TW_EV_RETRANS:
		jl_s64(l, ",\"count\":", e->value);
		jl_s64(l, ",\"segments\":", e->arg);
		if (tw_retrans_failed(e))
			jl_name(l, ",\"errno\":", errno_name(e->reason, tmp, sizeof(tmp)));
		else
			jl_raw(l, ",\"errno\":null");
		break;
	case TW_EV_SYNACK_RETRANS:
		jl_s64(l, ",\"count\":", e->value);
		if (e->flags & TW_F_QUEUE) {
			jl_s64(l, ",\"accept_queue\":", e->arg);
			jl_s64(l, ",\"backlog\":", e->arg2);
		}
		break;
	case TW_EV_ERROR:
		jl_name(l, ",\"errno\":", errno_name(e->value, tmp, sizeof(tmp)));
		jl_s64(l, ",\"errno_num\":", e->value);
		break;
	case TW_EV_CALL:
		json_call(l, e);
		break;
	default:
		break;
	}
	jl_name(l, ",\"state\":", tcp_state_name(e->oldstate));
}

/* A line too long for a jline cannot come from an event: say so if it does. */
static void write_line(struct jline *l, FILE *f)
{
	if (!jl_write(l, f))
		fprintf(stderr, "tcpwatch: internal error: a JSON line over %zu bytes "
			"was dropped\n", sizeof(l->buf));
}

void json_event(struct tw_output *out, const struct tw_event *e)
{
	struct jline l;

	jl_start(&l);
	jl_name(&l, "{\"type\":", event_type_name(e->type));
	jl_u64(&l, ",\"ts_ns\":", e->ts_ns);
	jl_clock(&l, ",\"time\":", out, e->ts_ns);
	json_owner(&l, e);
	json_endpoints(&l, e->family, e->saddr, e->sport, e->daddr, e->dport);
	json_details(&l, e);
	jl_hex(&l, ",\"sk\":", e->skaddr);
	jl_u64(&l, ",\"netns\":", e->netns);
	jl_u64(&l, ",\"cpu_pid\":", e->cpu_pid);
	jl_raw(&l, "}");
	write_line(&l, out->f);
}

void json_lost(struct tw_output *out, __u64 now_ns, __u64 lost, __u64 total)
{
	fprintf(out->f, "{\"type\":\"lost\",\"ts_ns\":%llu,\"count\":%llu,\"total\":%llu}\n",
		(unsigned long long)now_ns, (unsigned long long)lost,
		(unsigned long long)total);
}

void json_summary(struct tw_output *out, const struct tw_stats *st)
{
	FILE *f = out->f;

	fprintf(f, "{\"type\":\"summary\",\"events\":%llu,\"by_type\":{",
		(unsigned long long)st->events);
	for (int t = 1; t < TW_EV_MAX; t++)
		fprintf(f, "%s\"%s\":%llu", t > 1 ? "," : "", event_type_name(t),
			(unsigned long long)st->by_type[t]);
	fprintf(f, "},\"lost\":%llu,\"filtered\":%llu,\"malformed\":%llu,"
		"\"evicted\":%llu,\"skipped\":%llu}\n", (unsigned long long)st->lost,
		(unsigned long long)st->filtered, (unsigned long long)st->malformed,
		(unsigned long long)st->evicted, (unsigned long long)st->skipped);
}

/* An action log line, re-encoded field by field (never passed through). */
void json_action(struct tw_output *out, const struct jobject *o, __u64 ts_ns)
{
	FILE *f = out->f;

	fprintf(f, "{\"type\":\"action\",\"ts_ns\":%llu", (unsigned long long)ts_ns);
	for (int i = 0; i < o->n; i++) {
		const struct jfield *fl = &o->f[i];

		if (!strcmp(fl->key, "type") || !strcmp(fl->key, "ts_ns"))
			continue;
		fputc(',', f);
		json_write_str(f, fl->key, sizeof(fl->key));
		fputc(':', f);
		switch (fl->type) {
		case J_STR:
			json_write_str(f, fl->str, JSONL_STR_MAX);
			break;
		case J_NUM:
			if (fl->is_int && fl->fits)
				fprintf(f, "%lld", fl->i);
			else if (fl->is_int)
				fprintf(f, "%llu", fl->u);
			else
				fprintf(f, "%.17g", fl->num);
			break;
		case J_BOOL:
			fputs(fl->b ? "true" : "false", f);
			break;
		case J_NULL:
			fputs("null", f);
			break;
		}
	}
	fputs("}\n", f);
}

void json_scenario(struct tw_output *out, const char *name, int status,
		   const struct tw_stats *st)
{
	fputs("{\"type\":\"scenario\",\"name\":", out->f);
	json_write_str(out->f, name, strlen(name));
	fprintf(out->f, ",\"status\":%d,\"as_expected\":%s,\"events\":%llu,"
		"\"lost\":%llu,\"skipped\":%llu}\n", status, status ? "false" : "true",
		(unsigned long long)st->events, (unsigned long long)st->lost,
		(unsigned long long)st->skipped);
}

static void json_tuple(struct jline *l, const struct conn_tuple *t)
{
	json_endpoints(l, t->family, t->saddr, t->sport, t->daddr, t->dport);
}

void json_explain(struct tw_output *out, const struct explanation *x)
{
	struct jline l;

	jl_start(&l);
	jl_u64(&l, "{\"type\":\"explain\",\"ts_ns\":", x->ts_ns);
	jl_name(&l, ",\"code\":", explain_code_name(x->code));
	jl_str(&l, ",\"text\":", x->text, sizeof(x->text));
	if (x->count)
		jl_u64(&l, ",\"count\":", x->count);
	if (!x->conn_id && x->pid) {
		jl_u64(&l, ",\"pid\":", x->pid);
		jl_str(&l, ",\"comm\":", x->comm, sizeof(x->comm));
	}
	if (x->conn_id) {
		jl_u64(&l, ",\"conn\":", x->conn_id);
		if (x->pid) {
			jl_u64(&l, ",\"pid\":", x->pid);
			jl_str(&l, ",\"comm\":", x->comm, sizeof(x->comm));
		} else {
			jl_raw(&l, ",\"pid\":null,\"comm\":null");
		}
		json_tuple(&l, &x->t);
	}
	jl_raw(&l, "}");
	write_line(&l, out->f);
}

void json_comm_hex(FILE *f, const char *comm)
{
	size_t n = strnlen(comm, TW_COMM_LEN);
	bool plain = true;

	for (size_t i = 0; i < n; i++)
		plain &= comm[i] >= 0x20 && comm[i] < 0x7f;
	if (plain)
		return;
	fputs(",\"comm_hex\":\"", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", (unsigned char)comm[i]);
	fputc('"', f);
}

void json_snapshot(FILE *f, const struct tw_output *out,
		   const struct snapshot_sock *s, bool exact)
{
	const char *timer = diag_timer_name(s->timer);
	struct jline tuple;
	char when[48];

	jl_start(&tuple);
	clock_str(when, sizeof(when), out, s->ts_ns, true);
	fprintf(f, "{\"type\":\"snapshot\",\"ts_ns\":%llu,\"time\":\"%s\"",
		(unsigned long long)s->ts_ns, when);
	if (s->pid) {
		fprintf(f, ",\"pid\":%u,\"comm\":", s->pid);
		json_write_str(f, s->comm, TW_COMM_LEN);
		if (exact)
			json_comm_hex(f, s->comm);
	} else {
		fputs(",\"pid\":null,\"comm\":null", f);
	}
	json_tuple(&tuple, &s->t);
	fwrite(tuple.buf, 1, tuple.n, f);
	fprintf(f, ",\"state\":\"%s\",\"rqueue\":%u,\"wqueue\":%u",
		tcp_state_name(s->state), s->rqueue, s->wqueue);
	if (timer)
		fprintf(f, ",\"timer\":\"%s\"", timer);
	else
		fprintf(f, ",\"timer\":\"%u\"", s->timer);
	fprintf(f, ",\"expires_ms\":%u,\"retrans\":%u", s->expires_ms, s->retrans);
	if (s->inode)
		fprintf(f, ",\"inode\":%llu", (unsigned long long)s->inode);
	else
		fputs(",\"inode\":null", f);
	fprintf(f, ",\"netns\":%u}\n", s->t.netns);
}

static const char *const role_names[] = {
	[ROLE_UNKNOWN] = "present_at_attach",
	[ROLE_ACTIVE] = "active",
	[ROLE_PASSIVE] = "passive",
	[ROLE_LISTENER] = "listener",
};

/* The states the connection went through and how long it spent in each. */
void json_connection(struct tw_output *out, const struct conn *c, __u64 end_ns)
{
	struct jline l;
	bool first = true;

	jl_start(&l);
	jl_u64(&l, "{\"type\":\"connection\",\"ts_ns\":", end_ns);
	jl_u64(&l, ",\"conn\":", c->id);
	jl_name(&l, ",\"role\":", role_names[c->role]);
	if (c->pid) {
		jl_u64(&l, ",\"pid\":", c->pid);
		jl_str(&l, ",\"comm\":", c->comm, sizeof(c->comm));
	} else {
		jl_raw(&l, ",\"pid\":null,\"comm\":null");
	}
	json_tuple(&l, &c->t);
	jl_s64(&l, ",\"retransmits\":", c->retrans);
	jl_u64(&l, ",\"retransmits_unseen\":", c->retrans_unseen);
	jl_raw(&l, ",\"states\":[");
	for (int i = 0; i < c->nhist; i++) {
		struct conn_step h = conn_step(c, i);
		__u64 until = i + 1 < c->nhist ? conn_step(c, i + 1).ts : end_ns;

		jl_name(&l, i ? ",{\"state\":" : "{\"state\":", tcp_state_name(h.new));
		jl_u64(&l, ",\"since_ns\":", h.ts);
		jl_u64(&l, ",\"ns\":", until - h.ts);
		jl_raw(&l, "}");
	}
	jl_raw(&l, "],\"codes\":[");
	for (int code = 0; code < CODE_MAX; code++) {
		if (!(c->codes & (1ULL << code)))
			continue;
		jl_name(&l, first ? "" : ",", explain_code_name(code));
		first = false;
	}
	jl_raw(&l, "]}");
	write_line(&l, out->f);
}
