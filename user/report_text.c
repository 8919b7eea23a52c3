// SPDX-License-Identifier: GPL-2.0
/* The report as plain text: for a terminal, a ticket or an e-mail. */
#include <string.h>

#include "names.h"
#include "report.h"

#define WIDTH		96
#define SHOW_FINDINGS	10	/* per code; the rest are counted */

/* Strings from the traced system may hold terminal escapes: '?' for those. */
static void sanitize(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* Text wrapped at WIDTH, starting at column col, continued at indent. */
static void wrap(FILE *f, const char *s, int col, int indent)
{
	char text[2048];
	const char *p = text;

	sanitize(text, s, sizeof(text));
	while (*p) {
		size_t word = strcspn(p, " ");

		if (col + (int)word > WIDTH && col > indent) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		}
		fwrite(p, 1, word, f);
		col += (int)word;
		p += word;
		if (*p == ' ') {
			fputc(' ', f);
			col++;
			p++;
		}
	}
	fputc('\n', f);
}

/* printf's widths count bytes; "µs" is one column in two bytes. */
static void pad(FILE *f, const char *s, int width)
{
	int cols = 0;

	for (const char *p = s; *p; p++)
		cols += ((unsigned char)*p & 0xc0) != 0x80;
	fputs(s, f);
	fprintf(f, "%*s", width > cols ? width - cols : 0, "");
}

static void who(FILE *f, __u32 pid, const char *comm)
{
	char safe[TW_COMM_LEN + 1];

	if (!pid) {
		fputs("an untraced process", f);
		return;
	}
	sanitize(safe, comm, sizeof(safe));
	fprintf(f, "%s (pid %u)", safe, pid);
}

static void scn_tag(FILE *f, const struct report *r, int scn)
{
	const char *name = report_scn_name(r, scn);

	if (name) {
		fputc('[', f);
		report_puts(f, ESC_TEXT, name);
		fputs("] ", f);
	}
}

static void summary(FILE *f, const struct report_view *v)
{
	const struct report *r = v->r;
	char buf[2048];

	fputs("tcpwatch report\n===============\n\n", f);
	fputs("Target        ", f);
	report_puts(f, ESC_TEXT, report_target(r));
	report_range_str(r, buf, sizeof(buf));
	fprintf(f, "\nTime          %s\n", buf);
	report_states_str(r, buf, sizeof(buf));
	fputs("Connections   ", f);
	wrap(f, buf, 14, 14);
	report_codes_str(r, buf, sizeof(buf));
	fputs("Explanations  ", f);
	wrap(f, buf, 14, 14);
	report_events_str(v, buf, sizeof(buf));
	fputs("Events        ", f);
	wrap(f, buf, 14, 14);
	report_dropped_str(r, buf, sizeof(buf));
	fputs("Not kept      ", f);
	wrap(f, buf, 14, 14);
	if (!r->nscn)
		return;
	fputs("\nScenarios\n", f);
	for (int i = 1; i <= r->nscn; i++) {
		const struct report_scenario *s = &r->scn[i];

		fputs("  ", f);
		report_put(f, ESC_TEXT, s->name ? s->name : "?", 40);
		fprintf(f, ": %s; %llu events, %llu lost\n",
			!s->ended ? "interrupted" : s->status ?
			"the application did NOT see what the scenario expects" :
			"the application saw what the scenario expects",
			(unsigned long long)s->events, (unsigned long long)s->lost);
	}
}

static void expl_about(FILE *f, const struct report_view *v,
		       const struct report_expl *x)
{
	char when[32], tuple[160];
	const struct report_conn *c = report_expl_conn(v, x);

	report_time(v->r, when, sizeof(when), x->ts, false);
	fprintf(f, "  %s ", when);
	scn_tag(f, v->r, x->scn);
	if (!x->conn_id) {
		fputs("the whole host\n", f);
		return;
	}
	if (c)
		fprintf(f, "connection #%llu: ", (unsigned long long)x->conn_id);
	who(f, x->pid, x->comm);
	report_tuple_str(tuple, sizeof(tuple), &x->t);
	fprintf(f, ", %s\n", tuple);
}

static void findings(FILE *f, const struct report_view *v)
{
	fputs("\nFindings\n--------\n", f);
	if (!v->nfindings)
		fputs("\nNo trouble found: every connection closed in an orderly way, "
		      "or is still open.\n", f);
	for (struct report_findings_run run = { 0 }; report_findings_next(v, &run);) {
		fprintf(f, "\n%s (%zu)\n", explain_code_name(run.code), run.n);
		for (size_t i = 0; i < run.n && i < SHOW_FINDINGS; i++) {
			expl_about(f, v, run.x[i]);
			fputs("    ", f);
			wrap(f, run.x[i]->text, 4, 4);
		}
		if (run.n > SHOW_FINDINGS)
			fprintf(f, "  ... and %zu more: see the connections below\n",
				run.n - SHOW_FINDINGS);
	}
}

static void timeline(FILE *f, struct report_view *v, const struct report_conn *c)
{
	size_t n = report_rows(v, c);
	__u64 t0 = n ? v->rows[0].ts : c->first_ts;
	char when[32], el[32], dur[32];

	fprintf(f, "     %-12s  %-10s  %-12s  %-10s  %s\n", "TIME", "ELAPSED",
		"STATE", "IN STATE", "EVENT");
	for (size_t i = 0; i < n; i++) {
		const struct report_row *w = &v->rows[i];

		report_time(v->r, when, sizeof(when), w->ts, false);
		el[0] = '+';
		report_dur(el + 1, sizeof(el) - 1, w->ts - t0);
		/* ">": still in it when tracing ended (maybe no time yet). */
		snprintf(dur, sizeof(dur), "%s", w->open ? ">" : "");
		if (w->kind == ROW_STATE && w->in_state)
			report_dur(dur + w->open, sizeof(dur) - 1, w->in_state);
		fprintf(f, "     %-12s  ", when);
		pad(f, el, 10);
		fprintf(f, "  %-12s  ", w->state ? tcp_state_name(w->state) : "-");
		pad(f, dur, 10);
		fputs("  ", f);
		report_put(f, ESC_TEXT, w->what, sizeof(w->what));
		fputc('\n', f);
	}
	if (c->ev_dropped)
		fprintf(f, "     (%u more events not kept)\n", c->ev_dropped);
}

static void connection(FILE *f, struct report_view *v, const struct report_conn *c)
{
	const struct report_expl **x;
	char tuple[160], a[32], b[32], d[32], rt[64];
	__u64 t0, t1;
	size_t nx;

	report_tuple_str(tuple, sizeof(tuple), &c->t);
	report_conn_span(c, &t0, &t1);
	report_time(v->r, a, sizeof(a), t0, false);
	report_time(v->r, b, sizeof(b), t1, false);
	report_dur(d, sizeof(d), t1 - t0);
	if (c->id)
		fprintf(f, "\n  #%llu ", (unsigned long long)c->id);
	else
		fputs("\n  # ", f);
	fprintf(f, "%s, ", report_role_name(c->role));
	who(f, c->pid, c->comm);
	report_retrans_str(rt, sizeof(rt), c, "; ");
	fprintf(f, ": %s\n     %s to %s (%s)%s%s\n", tuple, a, b, d,
		report_conn_open(c) ? ", still open when tracing ended" : "", rt);
	timeline(f, v, c);
	x = report_conn_expl(v, c, &nx);
	for (size_t i = 0; i < nx; i++) {
		int col = fprintf(f, "     => %s: ", explain_code_name(x[i]->code));

		wrap(f, x[i]->text, col, 8);
	}
}

static void connections(FILE *f, struct report_view *v)
{
	int scn = -1;

	fputs("\nConnections\n-----------\n", f);
	if (!v->nconns)
		fputs("\nNo connection was traced.\n", f);
	for (size_t g = 0; g < v->ngroups; g++) {
		const struct report_group *gr = &v->groups[g];

		if (gr->scn != scn && report_scn_name(v->r, gr->scn)) {
			fputs("\n== scenario ", f);
			report_puts(f, ESC_TEXT, report_scn_name(v->r, gr->scn));
			fputs(" ==\n", f);
		}
		scn = gr->scn;
		fputc('\n', f);
		report_puts(f, ESC_TEXT, gr->peer);
		fprintf(f, ", ended in %s: %zu connection%s", tcp_state_name(gr->final),
			gr->n, gr->n == 1 ? "" : "s");
		if (gr->troubled)
			fprintf(f, ", %zu with findings", gr->troubled);
		fputc('\n', f);
		for (size_t i = 0; i < gr->n; i++)
			connection(f, v, v->conns[gr->first + i]);
	}
}

static void loose(FILE *f, const struct report_view *v)
{
	const struct report *r = v->r;
	char when[32];
	bool head = false;

	if (v->nloose)
		fputs("\nOther explanations (no connection section)\n", f);
	for (size_t i = 0; i < v->nloose; i++) {
		expl_about(f, v, v->loose[i]);
		fprintf(f, "    %s: ", explain_code_name(v->loose[i]->code));
		wrap(f, v->loose[i]->text, 6 + (int)strlen(
			explain_code_name(v->loose[i]->code)), 4);
	}
	if (r->nother)
		fputs("\nEvents of no traced connection\n", f);
	for (size_t i = 0; i < r->nother; i++) {
		struct report_event_words w;

		report_event_words(r, &r->other[i], &w);
		fprintf(f, "  %s %s: ", w.when, w.tuple);
		report_puts(f, ESC_TEXT, w.what);
		fputc('\n', f);
	}
	for (size_t i = 0; i < r->nact; i++) {
		char line[1200];

		if (r->act[i].attached)
			continue;
		if (!head)
			fputs("\nWhat the scenarios' programs did outside a connection\n", f);
		head = true;
		report_time(r, when, sizeof(when), r->act[i].ts, false);
		fprintf(f, "  %s ", when);
		scn_tag(f, r, r->act[i].scn);
		report_action_str(line, sizeof(line), &r->act[i]);
		report_puts(f, ESC_TEXT, line);
		fputc('\n', f);
	}
}

void report_text(FILE *f, struct report_view *v)
{
	summary(f, v);
	findings(f, v);
	connections(f, v);
	loose(f, v);
}
