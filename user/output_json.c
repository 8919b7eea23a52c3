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

static void json_kv_str(FILE *f, const char *key, const char *val)
{
	fprintf(f, ",\"%s\":", key);
	json_write_str(f, val, strlen(val));
}

/* family, saddr, sport, daddr, dport: of an event, a connection, a socket. */
static void json_endpoints(FILE *f, __u16 family, const __u8 *saddr, __u16 sport,
			   const __u8 *daddr, __u16 dport)
{
	char a[64];

	json_put_name(f, ",\"family\":", family == AF_INET6 ? "AF_INET6" : "AF_INET");
	addr_str(a, sizeof(a), family, saddr);
	json_put_name(f, ",\"saddr\":", a);
	json_put_u64(f, ",\"sport\":", sport);
	addr_str(a, sizeof(a), family, daddr);
	json_put_name(f, ",\"daddr\":", a);
	json_put_u64(f, ",\"dport\":", dport);
}

static void json_owner(FILE *f, const struct tw_event *e)
{
	if (!e->pid) {
		fputs(",\"pid\":null,\"comm\":null,\"owner\":\"unknown\"", f);
		return;
	}
	json_put_u64(f, ",\"pid\":", e->pid);
	fputs(",\"comm\":", f);
	json_write_str(f, e->comm, TW_COMM_LEN);
	json_put_name(f, ",\"owner\":",
		      e->owner_how < sizeof(owner_how) / sizeof(owner_how[0]) &&
		      owner_how[e->owner_how] ? owner_how[e->owner_how] : "unknown");
}

/* SO_LINGER's value is the timeout when on (-1 from the BPF side: off). */
static void json_sockopt(FILE *f, const struct tw_event *e)
{
	int level = (int)(e->arg >> 16), opt = (int)(e->arg & 0xffff);
	const char *level_name = sockopt_level_name(level);
	const char *opt_name = sockopt_name(level, opt);

	if (level_name)
		json_kv_str(f, "level", level_name);
	else
		fprintf(f, ",\"level\":\"%d\"", level);
	if (opt_name)
		json_kv_str(f, "option", opt_name);
	else
		fprintf(f, ",\"option\":\"%d\"", opt);
	if (level == SOL_SOCKET && opt == SO_LINGER && e->arg2 < 0)
		fputs(",\"onoff\":false,\"value\":null", f);
	else if (level == SOL_SOCKET && opt == SO_LINGER)
		fprintf(f, ",\"onoff\":true,\"value\":%d", e->arg2);
	else
		fprintf(f, ",\"value\":%d", e->arg2);
}

/* ret and errno as the application sees them: -1 and the errno's name. */
static void json_call(FILE *f, const struct tw_event *e)
{
	const char *how;
	char tmp[32];

	json_kv_str(f, "call", call_name(e->reason));
	if (e->value < 0)
		fprintf(f, ",\"ret\":-1,\"errno\":\"%s\"",
			errno_name(-(long)e->value, tmp, sizeof(tmp)));
	else
		fprintf(f, ",\"ret\":%d,\"errno\":null", e->value);
	fprintf(f, ",\"fd\":%d", e->fd);
	switch (e->reason) {
	case TW_CALL_ACCEPT:
		fprintf(f, ",\"listen_fd\":%d", (int)e->arg);
		break;
	case TW_CALL_SHUTDOWN:
		how = shutdown_how_name(e->arg);
		if (how)
			json_kv_str(f, "how", how);
		else
			fprintf(f, ",\"how\":\"%u\"", e->arg);
		break;
	case TW_CALL_SETSOCKOPT:
		json_sockopt(f, e);
		break;
	case TW_CALL_LISTEN:
		fprintf(f, ",\"backlog\":%d", (int)e->arg);
		break;
	case TW_CALL_BIND:
		fprintf(f, ",\"port\":%u", e->arg);
		break;
	default:
		break;
	}
}

static void json_details(FILE *f, const struct tw_event *e)
{
	const char *reason;
	char tmp[32];

	switch (e->type) {
	case TW_EV_STATE:
		json_put_name(f, ",\"old\":", tcp_state_name(e->oldstate));
		json_put_name(f, ",\"new\":", tcp_state_name(e->newstate));
		if (e->flags & TW_F_SYNTHETIC)
			fprintf(f, ",\"reconstructed\":true,\"cause\":\"%s\"",
				explain_cause_name((int)e->reason));
		return;
	case TW_EV_RST_SENT:
		reason = rst_reason_name(e->reason);
		if (!(e->flags & TW_F_HAS_REASON))
			fputs(",\"reason\":null", f);
		else if (reason)
			json_kv_str(f, "reason", reason);
		else
			fprintf(f, ",\"reason\":\"%u\"", e->reason);
		fprintf(f, ",\"no_socket\":%s,\"timewait\":%s",
			e->flags & TW_F_NO_SK ? "true" : "false",
			e->flags & TW_F_TIMEWAIT_SK ? "true" : "false");
		if (!(e->flags & TW_F_NO_SK))
			fprintf(f, ",\"state\":\"%s\"", tcp_state_name(e->oldstate));
		return;
	case TW_EV_RETRANS:
	case TW_EV_SYNACK_RETRANS:
		fprintf(f, ",\"count\":%d", e->value);
		break;
	case TW_EV_ERROR:
		fprintf(f, ",\"errno\":\"%s\",\"errno_num\":%d",
			errno_name(e->value, tmp, sizeof(tmp)), e->value);
		break;
	case TW_EV_CALL:
		json_call(f, e);
		break;
	default:
		break;
	}
	json_put_name(f, ",\"state\":", tcp_state_name(e->oldstate));
}

void json_event(struct tw_output *out, const struct tw_event *e)
{
	FILE *f = out->f;
	char when[48];

	clock_str(when, sizeof(when), out, e->ts_ns, true);
	json_put_name(f, "{\"type\":", event_type_name(e->type));
	json_put_u64(f, ",\"ts_ns\":", e->ts_ns);
	json_put_name(f, ",\"time\":", when);
	json_owner(f, e);
	json_endpoints(f, e->family, e->saddr, e->sport, e->daddr, e->dport);
	json_details(f, e);
	json_put_hex(f, ",\"sk\":", e->skaddr);
	json_put_u64(f, ",\"netns\":", e->netns);
	json_put_u64(f, ",\"cpu_pid\":", e->cpu_pid);
	fputs("}\n", f);
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
		"\"evicted\":%llu}\n", (unsigned long long)st->lost,
		(unsigned long long)st->filtered, (unsigned long long)st->malformed,
		(unsigned long long)st->evicted);
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
			json_write_str(f, fl->str, sizeof(fl->str));
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
		"\"lost\":%llu}\n", status, status ? "false" : "true",
		(unsigned long long)st->events, (unsigned long long)st->lost);
}

static void json_tuple(FILE *f, const struct conn_tuple *t)
{
	json_endpoints(f, t->family, t->saddr, t->sport, t->daddr, t->dport);
}

void json_explain(struct tw_output *out, const struct explanation *x)
{
	FILE *f = out->f;

	json_put_u64(f, "{\"type\":\"explain\",\"ts_ns\":", x->ts_ns);
	json_put_name(f, ",\"code\":", explain_code_name(x->code));
	fputs(",\"text\":", f);
	json_write_str(f, x->text, sizeof(x->text));
	if (x->count)
		json_put_u64(f, ",\"count\":", x->count);
	if (!x->conn_id && x->pid) {
		json_put_u64(f, ",\"pid\":", x->pid);
		fputs(",\"comm\":", f);
		json_write_str(f, x->comm, sizeof(x->comm));
	}
	if (x->conn_id) {
		json_put_u64(f, ",\"conn\":", x->conn_id);
		if (x->pid) {
			json_put_u64(f, ",\"pid\":", x->pid);
			fputs(",\"comm\":", f);
			json_write_str(f, x->comm, sizeof(x->comm));
		} else {
			fputs(",\"pid\":null,\"comm\":null", f);
		}
		json_tuple(f, &x->t);
	}
	fputs("}\n", f);
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
	char when[48];

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
	json_tuple(f, &s->t);
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
	fprintf(f, ",\"netns\":%u}\n", s->netns);
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
	FILE *f = out->f;
	bool first = true;

	json_put_u64(f, "{\"type\":\"connection\",\"ts_ns\":", end_ns);
	json_put_u64(f, ",\"conn\":", c->id);
	json_put_name(f, ",\"role\":", role_names[c->role]);
	if (c->pid) {
		json_put_u64(f, ",\"pid\":", c->pid);
		fputs(",\"comm\":", f);
		json_write_str(f, c->comm, sizeof(c->comm));
	} else {
		fputs(",\"pid\":null,\"comm\":null", f);
	}
	json_tuple(f, &c->t);
	fputs(",\"states\":[", f);
	for (int i = 0; i < c->nhist; i++) {
		struct conn_step h = conn_step(c, i);
		__u64 until = i + 1 < c->nhist ? conn_step(c, i + 1).ts : end_ns;

		json_put_name(f, i ? ",{\"state\":" : "{\"state\":",
			      tcp_state_name(h.new));
		json_put_u64(f, ",\"since_ns\":", h.ts);
		json_put_u64(f, ",\"ns\":", until - h.ts);
		fputc('}', f);
	}
	fputs("],\"codes\":[", f);
	for (int code = 0; code < CODE_MAX; code++) {
		if (!(c->codes & (1ULL << code)))
			continue;
		json_put_name(f, first ? "" : ",", explain_code_name(code));
		first = false;
	}
	fputs("]}\n", f);
}
