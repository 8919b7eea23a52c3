// SPDX-License-Identifier: GPL-2.0
/*
 * The report as one JSON document: the same content as the other formats,
 * for programs. Every string goes through json_write_str().
 */
#include <string.h>
#include <sys/socket.h>

#include "json.h"
#include "names.h"
#include "report.h"

static const char *const row_kinds[ROW_MAX] = {
	[ROW_STATE] = "state",
	[ROW_RST_SENT] = "rst_sent",
	[ROW_RST_RECV] = "rst_received",
	[ROW_RETRANS] = "retransmit",
	[ROW_ERROR] = "error",
	[ROW_CALL] = "call",
	[ROW_CALL_FAILED] = "call_failed",
	[ROW_ACTION] = "action",
	[ROW_DESTROY] = "destroy",
};

/* As --json names them. */
static const char *const roles[] = {
	[ROLE_UNKNOWN] = "present_at_attach",
	[ROLE_ACTIVE] = "active",
	[ROLE_PASSIVE] = "passive",
	[ROLE_LISTENER] = "listener",
};

static void str(FILE *f, const char *s)
{
	if (s)
		json_write_str(f, s, strlen(s));
	else
		fputs("null", f);
}

static void kv_str(FILE *f, const char *key, const char *val)
{
	fprintf(f, ",\"%s\":", key);
	str(f, val);
}

static void kv_time(FILE *f, const struct report *r, const char *key, __u64 ts)
{
	char iso[48];

	report_iso(r, iso, sizeof(iso), ts);
	fprintf(f, ",\"%s_ns\":%llu,\"%s\":\"%s\"", key, (unsigned long long)ts,
		key, iso);
}

static void tuple(FILE *f, const struct conn_tuple *t)
{
	char a[64];

	fprintf(f, ",\"family\":\"%s\"", t->family == AF_INET6 ? "AF_INET6" : "AF_INET");
	addr_str(a, sizeof(a), t->family, t->saddr);
	fprintf(f, ",\"saddr\":\"%s\",\"sport\":%u", a, t->sport);
	addr_str(a, sizeof(a), t->family, t->daddr);
	fprintf(f, ",\"daddr\":\"%s\",\"dport\":%u", a, t->dport);
}

static void owner(FILE *f, __u32 pid, const char *comm)
{
	if (!pid) {
		fputs(",\"pid\":null,\"comm\":null", f);
		return;
	}
	fprintf(f, ",\"pid\":%u,\"comm\":", pid);
	json_write_str(f, comm, TW_COMM_LEN);
}

static void counts(FILE *f, const char *key, const __u64 *n, int max,
		   const char *(*name)(int))
{
	bool first = true;

	fprintf(f, ",\"%s\":{", key);
	for (int i = 0; i < max; i++) {
		if (!n[i])
			continue;
		fprintf(f, "%s\"%s\":%llu", first ? "" : ",", name(i),
			(unsigned long long)n[i]);
		first = false;
	}
	fputc('}', f);
}

static const char *code_name(int code)
{
	return explain_code_name(code);
}

static void summary(FILE *f, const struct report_view *v)
{
	const struct report *r = v->r;
	const struct tw_stats *st = v->st;
	unsigned long long nexpl = 0;

	for (int c = 0; c < CODE_MAX; c++)
		nexpl += r->by_code[c];
	fputs(",\"summary\":{\"traced\":", f);
	fputs(r->first_ts ? "true" : "false", f);
	kv_time(f, r, "start", r->first_ts);
	kv_time(f, r, "end", r->last_ts);
	fprintf(f, ",\"duration_ns\":%llu,\"connections\":%llu",
		(unsigned long long)(r->last_ts - r->first_ts),
		(unsigned long long)r->conns_seen);
	counts(f, "by_final_state", r->by_state, 16, tcp_state_name);
	fprintf(f, ",\"explanations\":%llu", nexpl);
	counts(f, "by_code", r->by_code, CODE_MAX, code_name);
	if (st) {
		fprintf(f, ",\"events\":%llu", (unsigned long long)st->events);
		counts(f, "by_type", st->by_type, TW_EV_MAX, event_type_name);
		fprintf(f, ",\"lost\":%llu,\"filtered\":%llu,\"malformed\":%llu,"
			"\"skipped\":%llu", (unsigned long long)st->lost,
			(unsigned long long)st->filtered,
			(unsigned long long)st->malformed,
			(unsigned long long)st->skipped);
	} else {
		fputs(",\"events\":null,\"lost\":null", f);
	}
	fprintf(f, ",\"not_kept\":{\"connections\":%llu,\"events\":%llu,"
		"\"explanations\":%llu,\"actions\":%llu,\"other_events\":%llu}",
		(unsigned long long)r->dropped.conns,
		(unsigned long long)r->dropped.events,
		(unsigned long long)r->dropped.explanations,
		(unsigned long long)r->dropped.actions,
		(unsigned long long)r->dropped.other);
	fprintf(f, ",\"limits\":{\"connections\":%d,\"events_per_connection\":%d,"
		"\"events\":%d,\"explanations\":%d,\"actions\":%d,"
		"\"other_events\":%d}}", REPORT_MAX_CONNS, REPORT_CONN_EVENTS,
		REPORT_MAX_EVENTS, REPORT_MAX_EXPLAIN, REPORT_MAX_ACTIONS,
		REPORT_MAX_OTHER);
}

static void scenarios(FILE *f, const struct report *r)
{
	fputs(",\"scenarios\":[", f);
	for (int i = 1; i <= r->nscn; i++) {
		const struct report_scenario *s = &r->scn[i];

		fputs(i > 1 ? ",{\"name\":" : "{\"name\":", f);
		str(f, s->name);
		if (s->ended)
			fprintf(f, ",\"ended\":true,\"status\":%d,\"as_expected\":%s",
				s->status, s->status ? "false" : "true");
		else
			fputs(",\"ended\":false,\"status\":null,\"as_expected\":null", f);
		fprintf(f, ",\"events\":%llu,\"lost\":%llu}",
			(unsigned long long)s->events, (unsigned long long)s->lost);
	}
	fputc(']', f);
}

static void explanation(FILE *f, const struct report_view *v,
			const struct report_expl *x, bool about)
{
	fprintf(f, "{\"code\":\"%s\",\"trouble\":%s", explain_code_name(x->code),
		report_code_is_trouble(x->code) ? "true" : "false");
	kv_time(f, v->r, "ts", x->ts);
	kv_str(f, "text", x->text);
	if (!about) {
		fputc('}', f);
		return;
	}
	kv_str(f, "scenario", report_scn_name(v->r, x->scn));
	if (x->conn_id) {
		fprintf(f, ",\"conn\":%llu,\"section\":%s", (unsigned long long)x->conn_id,
			report_expl_conn(v, x) ? "true" : "false");
		owner(f, x->pid, x->comm);
		tuple(f, &x->t);
	} else {
		fputs(",\"conn\":null", f);
	}
	fputc('}', f);
}

static void explanations(FILE *f, const struct report_view *v, const char *key,
			 const struct report_expl **x, size_t n)
{
	fprintf(f, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		explanation(f, v, x[i], true);
	}
	fputc(']', f);
}

static void action_fields(FILE *f, const struct report_action *a)
{
	fprintf(f, ",\"pid\":%lld", a->pid);
	kv_str(f, "role", a->role);
	kv_str(f, "call", a->call);
	kv_str(f, "arg", a->arg);
	fprintf(f, ",\"ret\":%lld", a->ret);
	kv_str(f, "errno", a->err);
}

static void event_fields(FILE *f, const struct report *r, const struct report_ev *e)
{
	const char *name;
	char tmp[32];

	switch (e->type) {
	case TW_EV_RST_SENT:
		name = rst_reason_name(e->reason);
		if (!(e->flags & TW_F_HAS_REASON) || !name)
			fputs(",\"reason\":null", f);
		else
			kv_str(f, "reason", name);
		fprintf(f, ",\"no_socket\":%s,\"timewait\":%s",
			e->flags & TW_F_NO_SK ? "true" : "false",
			e->flags & TW_F_TIMEWAIT_SK ? "true" : "false");
		break;
	case TW_EV_RETRANS:
		fprintf(f, ",\"count\":%d", e->value);
		if ((e->flags & TW_F_HAS_REASON) && e->reason)
			fprintf(f, ",\"errno\":\"%s\"",
				errno_name(e->reason, tmp, sizeof(tmp)));
		else
			fputs(",\"errno\":null", f);
		break;
	case TW_EV_SYNACK_RETRANS:
		fprintf(f, ",\"count\":%d", e->value);
		if (e->flags & TW_F_QUEUE)
			fprintf(f, ",\"accept_queue\":%u,\"backlog\":%d", e->arg, e->arg2);
		break;
	case TW_EV_ERROR:
		fprintf(f, ",\"errno\":\"%s\"", errno_name(e->value, tmp, sizeof(tmp)));
		break;
	case TW_EV_CALL:
		kv_str(f, "call", call_name(e->reason));
		if (e->value < 0)
			fprintf(f, ",\"ret\":-1,\"errno\":\"%s\"",
				errno_name(-(long)e->value, tmp, sizeof(tmp)));
		else
			fprintf(f, ",\"ret\":%d,\"errno\":null", e->value);
		break;
	case REPORT_EV_ACTION:
		if (e->reason < r->nact)
			action_fields(f, &r->act[e->reason]);
		break;
	default:
		break;
	}
}

static void states(FILE *f, const struct report_view *v, const struct report_conn *c)
{
	fputs(",\"states\":[", f);
	for (int i = 0; i < c->nhist; i++) {
		bool last = i + 1 == c->nhist;
		__u64 until = last ? c->end_ts : c->hist[i + 1].ts;

		fprintf(f, "%s{\"state\":\"%s\",\"from\":\"%s\"", i ? "," : "",
			tcp_state_name(c->hist[i].new), tcp_state_name(c->hist[i].old));
		kv_time(f, v->r, "since", c->hist[i].ts);
		fprintf(f, ",\"ns\":%llu,\"open_at_end\":%s}",
			(unsigned long long)(until > c->hist[i].ts ? until - c->hist[i].ts : 0),
			last && report_conn_open(c) ? "true" : "false");
	}
	fputc(']', f);
}

static void events(FILE *f, struct report_view *v, const struct report_conn *c)
{
	size_t n = report_rows(v, c);
	bool first = true;

	fputs(",\"events\":[", f);
	for (size_t i = 0; i < n; i++) {
		const struct report_row *w = &v->rows[i];

		if (w->kind == ROW_STATE)
			continue;
		fprintf(f, "%s{\"kind\":\"%s\",\"type\":\"%s\"", first ? "" : ",",
			row_kinds[w->kind], w->ev->type == REPORT_EV_ACTION ? "action" :
			event_type_name(w->ev->type));
		first = false;
		kv_time(f, v->r, "ts", w->ts);
		fprintf(f, ",\"state\":%s%s%s", w->state ? "\"" : "",
			w->state ? tcp_state_name(w->state) : "null", w->state ? "\"" : "");
		kv_str(f, "what", w->what);
		event_fields(f, v->r, w->ev);
		fputc('}', f);
	}
	fprintf(f, "],\"events_not_kept\":%u", c->ev_dropped);
}

static void connection(FILE *f, struct report_view *v, const struct report_conn *c,
		       const struct report_group *g)
{
	const struct report_expl **x;
	char codes[1024] = "";
	__u64 t0, t1;
	size_t nx;

	if (c->id)
		fprintf(f, "{\"conn\":%llu", (unsigned long long)c->id);
	else
		fputs("{\"conn\":null", f);
	kv_str(f, "scenario", report_scn_name(v->r, c->scn));
	fprintf(f, ",\"role\":\"%s\"", roles[c->role]);
	owner(f, c->pid, c->comm);
	tuple(f, &c->t);
	kv_str(f, "group", g->peer);
	report_conn_span(c, &t0, &t1);
	kv_time(f, v->r, "start", t0);
	kv_time(f, v->r, "end", t1);
	fprintf(f, ",\"final_state\":\"%s\",\"open_at_end\":%s,\"trouble\":%s",
		tcp_state_name(report_conn_final(c)),
		report_conn_open(c) ? "true" : "false",
		report_conn_is_troubled(c) ? "true" : "false");
	fprintf(f, ",\"retransmits\":%d,\"retransmits_unseen\":%u", c->retrans,
		c->retrans_unseen);
	for (int code = 0; code < CODE_MAX; code++)
		if (c->codes & (1ULL << code))
			snprintf(codes + strlen(codes), sizeof(codes) - strlen(codes),
				 "%s\"%s\"", codes[0] ? "," : "", explain_code_name(code));
	fprintf(f, ",\"codes\":[%s]", codes);
	states(f, v, c);
	events(f, v, c);
	x = report_conn_expl(v, c, &nx);
	fputs(",\"explanations\":[", f);
	for (size_t i = 0; i < nx; i++) {
		if (i)
			fputc(',', f);
		explanation(f, v, x[i], false);
	}
	fputs("]}", f);
}

static void others(FILE *f, const struct report_view *v)
{
	const struct report *r = v->r;
	char what[96];
	bool first = true;

	fputs(",\"other_events\":[", f);
	for (size_t i = 0; i < r->nother; i++) {
		const struct tw_event *e = &r->other[i];
		struct conn_tuple t;

		conn_tuple_of_event(&t, e);
		event_describe(what, sizeof(what), e);
		fprintf(f, "%s{\"type\":\"%s\"", i ? "," : "", event_type_name(e->type));
		kv_time(f, r, "ts", e->ts_ns);
		kv_str(f, "what", what);
		owner(f, e->pid, e->comm);
		tuple(f, &t);
		fputc('}', f);
	}
	fputs("],\"other_actions\":[", f);
	for (size_t i = 0; i < r->nact; i++) {
		if (r->act[i].attached)
			continue;
		fputs(first ? "{" : ",{", f);
		first = false;
		fputs("\"scenario\":", f);
		str(f, report_scn_name(r, r->act[i].scn));
		kv_time(f, r, "ts", r->act[i].ts);
		action_fields(f, &r->act[i]);
		fputc('}', f);
	}
	fputc(']', f);
}

void report_json(FILE *f, struct report_view *v)
{
	fputs("{\"tcpwatch_report\":1,\"target\":", f);
	str(f, report_target(v->r));
	summary(f, v);
	scenarios(f, v->r);
	explanations(f, v, "findings", v->findings, v->nfindings);
	fputs(",\"connections\":[", f);
	for (size_t g = 0; g < v->ngroups; g++) {
		for (size_t i = 0; i < v->groups[g].n; i++) {
			if (g || i)
				fputc(',', f);
			connection(f, v, v->conns[v->groups[g].first + i], &v->groups[g]);
		}
	}
	fputc(']', f);
	explanations(f, v, "other_explanations", v->loose, v->nloose);
	others(f, v);
	fputs("}\n", f);
}
