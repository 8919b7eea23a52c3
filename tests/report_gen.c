// SPDX-License-Identifier: GPL-2.0
/*
 * Feeds the report collector N synthetic connections through its public
 * API (report_event, report_explain, report_conn_done, report_action: what
 * the tracer's sink hands it), then writes the report in every format and
 * prints how long each took and how big it is, as one JSON object.
 *
 * Why a driver and not a hidden tcpwatch option: it exercises the report
 * model on its own, deterministically, without root or BPF, and the shipped
 * binary keeps no test-only switch. tests/test_report_html.py builds it
 * against the objects in build/user/.
 *
 *   report_gen N DIR [EXT,...]   writes DIR/gen.txt, .md, .html, .json (or
 *                                 those named)
 *
 * The first connection retransmits 300 times: more than a connection's
 * events the report keeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "report.h"

#define NS	1000000000ULL
#define MS	1000000ULL

enum { ESTABLISHED = 1, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT,
       CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN };

/* Names any user can give a process (15 bytes at most), and longer strings. */
static const char *const comms[] = { "nginx", "curl", "<svg/onload=x>",
				     "<img src=x>", "a|b*c_d`e" };
static const char hostile[] = "<script>document.title='pwned'</script>"
	"<img src=x onerror=\"document.title='pwned'\">";

struct gen {
	struct report *r;
	struct tw_stats st;
	__u64 now;
};

static void tuple(struct tw_event *e, unsigned int i, bool passive)
{
	unsigned int svc = i % 50;

	e->family = AF_INET;
	e->saddr[0] = 10, e->saddr[1] = 1, e->saddr[2] = 0, e->saddr[3] = 1;
	e->daddr[0] = 10, e->daddr[1] = 2, e->daddr[2] = (__u8)svc, e->daddr[3] = 9;
	e->sport = (__u16)(20000 + i % 40000);
	e->dport = (__u16)(8000 + svc);
	if (passive) {
		e->sport = 443;
		e->dport = (__u16)(30000 + i % 30000);
	}
}

static void emit(struct gen *g, struct tw_event *e)
{
	g->st.events++;
	g->st.by_type[e->type]++;
	report_event(g->r, e);
}

static void state(struct gen *g, struct tw_event *e, int old, int new)
{
	e->type = TW_EV_STATE;
	e->oldstate = (__u8)old;
	e->newstate = (__u8)new;
	emit(g, e);
	e->ts_ns += 200000;
}

static void other(struct gen *g, struct tw_event *e, int type, __s32 value)
{
	struct tw_event x = *e;

	x.type = (__u8)type;
	x.value = value;
	emit(g, &x);
	e->ts_ns += 100000;
}

static void call(struct gen *g, struct tw_event *e, int call_nr, __s32 ret)
{
	struct tw_event x = *e;

	x.type = TW_EV_CALL;
	x.reason = (__u32)call_nr;
	x.value = ret;
	emit(g, &x);
	e->ts_ns += 50000;
}

static void explain(struct gen *g, struct conn *c, enum tw_code code, __u64 ts)
{
	struct explanation x;

	memset(&x, 0, sizeof(x));
	x.code = code;
	x.ts_ns = ts;
	x.conn_id = c->id;
	x.pid = c->pid;
	memcpy(x.comm, c->comm, sizeof(x.comm));
	x.t = c->t;
	snprintf(x.text, sizeof(x.text), "%s (pid %u) did what %s says, as the "
		 "analyzer would put it in about this many words, which is "
		 "typical of the real explanations: %s", c->comm, c->pid,
		 explain_code_name(code), hostile);
	c->codes |= 1ULL << code;
	report_explain(g->r, &x);
}

static void hist(struct conn *c, __u64 ts, int old, int new)
{
	conn_step_add(c, ts, old, new);
}

/* One connection: its events, explanations, and its timeline at the end. */
static void connection(struct gen *g, unsigned int i)
{
	unsigned int kind = i % 20;
	bool passive = kind >= 12 && kind < 14;
	struct tw_event e;
	struct conn c;
	__u64 t0;

	memset(&e, 0, sizeof(e));
	memset(&c, 0, sizeof(c));
	e.ts_ns = g->now;
	e.skaddr = 0xffff888000000000ULL + (__u64)i * 0x1000;
	e.pid = 1000 + i % 7;
	snprintf(e.comm, sizeof(e.comm), "%s", comms[i % 5]);
	tuple(&e, i, passive);
	c.id = i + 1;
	c.sk = e.skaddr;
	c.pid = e.pid;
	memcpy(c.comm, e.comm, sizeof(c.comm));
	conn_tuple_of_event(&c.t, &e);
	c.role = passive ? ROLE_PASSIVE : ROLE_ACTIVE;
	t0 = e.ts_ns;
	if (passive) {
		hist(&c, e.ts_ns, LISTEN, SYN_RECV);
		state(g, &e, LISTEN, SYN_RECV);
		hist(&c, e.ts_ns, SYN_RECV, ESTABLISHED);
		state(g, &e, SYN_RECV, ESTABLISHED);
		call(g, &e, TW_CALL_ACCEPT, 5);
		e.ts_ns += 20 * MS;
		hist(&c, e.ts_ns, ESTABLISHED, CLOSE_WAIT);
		state(g, &e, ESTABLISHED, CLOSE_WAIT);
		call(g, &e, TW_CALL_READ, 0);
		explain(g, &c, CODE_CLOSE_WAIT_LEAK, e.ts_ns + 30 * NS);
		report_conn_done(g->r, &c, g->now + 40 * NS);
		g->now += MS;
		return;
	}
	call(g, &e, TW_CALL_CONNECT, kind == 14 ? -111 : 0);
	hist(&c, e.ts_ns, CLOSE, SYN_SENT);
	state(g, &e, CLOSE, SYN_SENT);
	if (kind == 14) {		/* refused */
		struct tw_event rst = e;

		rst.type = TW_EV_RST_SENT;
		rst.skaddr = 0;
		rst.flags = TW_F_NO_SK | TW_F_HAS_REASON;
		memcpy(rst.saddr, e.daddr, 16);
		memcpy(rst.daddr, e.saddr, 16);
		rst.sport = e.dport;
		rst.dport = e.sport;
		emit(g, &rst);
		other(g, &e, TW_EV_RST_RECV, 0);
		other(g, &e, TW_EV_ERROR, 111);
		hist(&c, e.ts_ns, SYN_SENT, CLOSE);
		state(g, &e, SYN_SENT, CLOSE);
		explain(g, &c, CODE_RST_NO_LISTENER, e.ts_ns);
		e.oldstate = CLOSE;
		other(g, &e, TW_EV_DESTROY, 0);
		report_conn_done(g->r, &c, e.ts_ns);
		g->now += MS;
		return;
	}
	hist(&c, e.ts_ns, SYN_SENT, ESTABLISHED);
	state(g, &e, SYN_SENT, ESTABLISHED);
	e.ts_ns += (i % 13) * MS;
	for (int n = 1; i == 0 && n <= 300; n++) {
		e.oldstate = ESTABLISHED;
		other(g, &e, TW_EV_RETRANS, n);
	}
	if (kind >= 15 && kind < 17) {	/* reset by the peer after retransmissions */
		for (int n = 1; n <= 3; n++) {
			e.oldstate = ESTABLISHED;
			other(g, &e, TW_EV_RETRANS, n);
			e.ts_ns += 200 * MS;
		}
		other(g, &e, TW_EV_RST_RECV, 0);
		other(g, &e, TW_EV_ERROR, 104);
		hist(&c, e.ts_ns, ESTABLISHED, CLOSE);
		state(g, &e, ESTABLISHED, CLOSE);
		call(g, &e, TW_CALL_READ, -104);
		explain(g, &c, CODE_PEER_RESET, e.ts_ns);
		e.oldstate = CLOSE;
		other(g, &e, TW_EV_DESTROY, 0);
		report_conn_done(g->r, &c, e.ts_ns);
		g->now += MS;
		return;
	}
	/* An orderly close from this side: TIME_WAIT, still there at the end. */
	call(g, &e, TW_CALL_CLOSE, 0);
	hist(&c, e.ts_ns, ESTABLISHED, FIN_WAIT1);
	state(g, &e, ESTABLISHED, FIN_WAIT1);
	hist(&c, e.ts_ns, FIN_WAIT1, FIN_WAIT2);
	state(g, &e, FIN_WAIT1, FIN_WAIT2);
	state(g, &e, FIN_WAIT2, CLOSE);
	e.oldstate = CLOSE;
	other(g, &e, TW_EV_DESTROY, 0);
	{
		struct tw_event tw = e;

		tw.skaddr = 0;
		tw.flags = TW_F_SYNTHETIC | TW_F_TIMEWAIT_SK;
		tw.reason = CAUSE_PEER_FIN;
		tw.type = TW_EV_STATE;
		tw.oldstate = FIN_WAIT2;
		tw.newstate = TIME_WAIT;
		report_event(g->r, &tw);
		hist(&c, tw.ts_ns, FIN_WAIT2, TIME_WAIT);
	}
	explain(g, &c, CODE_TIME_WAIT, e.ts_ns);
	explain(g, &c, CODE_NORMAL_CLOSE, e.ts_ns);
	c.sk = 0x5eed0000 + i;	/* the timewait record's key, not the socket */
	c.first_ts = t0;
	report_conn_done(g->r, &c, g->now + 40 * NS);
	g->now += MS;
}

static void actions(struct gen *g)
{
	static const char *const lines[] = {
		"{\"ts_ns\":%llu,\"pid\":7,\"role\":\"<script>alert(1)</script>\","
		"\"call\":\"kill\",\"arg\":\"<img src=x onerror=alert(3)>\",\"ret\":0,"
		"\"errno\":null}",
		"{\"ts_ns\":%llu,\"pid\":7,\"role\":\"client\",\"call\":\"write\","
		"\"arg\":\"len=4 | *not* _md_\",\"ret\":-1,\"errno\":\"EPIPE\","
		"\"laddr\":\"10.1.0.1\",\"lport\":20001,\"raddr\":\"10.2.1.9\","
		"\"rport\":8001}",
	};
	char line[512];

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct jobject o;
		const char *err;

		snprintf(line, sizeof(line), lines[i], (unsigned long long)g->now);
		if (!jsonl_parse(line, strlen(line), &o, &err))
			report_action(g->r, &o, g->now);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char *const ext[] = { "txt", "md", "html", "json" };
	struct gen g = { .now = 1000 * NS };
	unsigned int n;
	double t;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: report_gen N DIR [EXT,...]\n");
		return 2;
	}
	n = (unsigned int)strtoul(argv[1], NULL, 10);
	g.r = report_new(NULL);
	if (!g.r)
		return 1;
	report_set_target(g.r, "synthetic load <b>not</b> a real trace");
	report_set_clock(g.r, 1700000000LL * (long long)NS);
	report_scenario_begin(g.r, "<i>generated</i>");
	t = now_s();
	for (unsigned int i = 0; i < n; i++)
		connection(&g, i);
	actions(&g);
	report_end_session(g.r, g.now + 40 * NS);
	report_scenario_end(g.r, 0, &g.st);
	printf("{\"collect_s\":%.3f", now_s() - t);
	for (int f = REPORT_TEXT; f <= REPORT_JSON; f++) {
		char path[4096];

		if (argc == 4 && !strstr(argv[3], ext[f]))
			continue;
		snprintf(path, sizeof(path), "%s/gen.%s", argv[2], ext[f]);
		t = now_s();
		if (report_write(g.r, path, (enum report_format)f, NULL))
			return 1;
		printf(",\"%s_s\":%.3f", ext[f], now_s() - t);
	}
	printf("}\n");
	report_free(g.r);
	return 0;
}
