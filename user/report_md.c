// SPDX-License-Identifier: GPL-2.0
/*
 * The report as Markdown (GitHub's flavour): for an issue or a wiki page.
 * Every string from the traced system is escaped so that it can neither
 * format, link, nor become HTML.
 */
#include <string.h>

#include "names.h"
#include "report.h"

#define SHOW_FINDINGS	10	/* per code; the rest are counted */

static void md(FILE *f, const char *s)
{
	report_puts(f, ESC_MD, s);
}

static void who(FILE *f, __u32 pid, const char *comm)
{
	if (!pid) {
		fputs("an untraced process", f);
		return;
	}
	report_put(f, ESC_MD, comm, TW_COMM_LEN);
	fprintf(f, " (pid %u)", pid);
}

static void anchor(char *buf, size_t len, const struct report_conn *c)
{
	snprintf(buf, len, "c%d-%llu", c->scn, (unsigned long long)c->id);
}

/* value: tcpwatch's own words (raw), or from the traced system (escaped). */
static void row(FILE *f, const char *name, const char *value, bool ours)
{
	fprintf(f, "| **%s** | ", name);
	if (ours)
		fputs(value, f);
	else
		md(f, value);
	fputs(" |\n", f);
}

static void summary(FILE *f, const struct report_view *v)
{
	const struct report *r = v->r;
	char buf[2048];

	fputs("# tcpwatch report\n\n| | |\n|---|---|\n", f);
	row(f, "Target", report_target(r), false);
	report_range_str(r, buf, sizeof(buf));
	row(f, "Time", buf, true);
	report_states_str(r, buf, sizeof(buf));
	row(f, "Connections", buf, true);
	report_codes_str(r, buf, sizeof(buf));
	row(f, "Explanations", buf, true);
	report_events_str(v, buf, sizeof(buf));
	row(f, "Events", buf, true);
	report_dropped_str(r, buf, sizeof(buf));
	row(f, "Not kept", buf, true);
	if (!r->nscn)
		return;
	fputs("\n## Scenarios\n\n| scenario | what the application saw | events | lost |\n"
	      "|---|---|---|---|\n", f);
	for (int i = 1; i <= r->nscn; i++) {
		const struct report_scenario *s = &r->scn[i];

		fputs("| ", f);
		md(f, s->name ? s->name : "?");
		fprintf(f, " | %s | %llu | %llu |\n",
			!s->ended ? "interrupted" : s->status ?
			"**not** what the scenario expects" : "what the scenario expects",
			(unsigned long long)s->events, (unsigned long long)s->lost);
	}
}

static void expl_about(FILE *f, const struct report_view *v,
		       const struct report_expl *x)
{
	const struct report_conn *c = report_expl_conn(v, x);
	const char *scn = report_scn_name(v->r, x->scn);
	char when[32], tuple[160], id[48];

	report_time(v->r, when, sizeof(when), x->ts, false);
	fprintf(f, "- %s", when);
	if (scn) {
		fputs(" · ", f);
		md(f, scn);
	}
	if (!x->conn_id) {
		fputs(" · the whole host  \n  ", f);
		return;
	}
	if (c) {
		anchor(id, sizeof(id), c);
		fprintf(f, " · [connection #%llu](#%s)", (unsigned long long)c->id, id);
	}
	fputs(": ", f);
	who(f, x->pid, x->comm);
	report_tuple_str(tuple, sizeof(tuple), &x->t);
	fputs(", ", f);
	md(f, tuple);
	fputs("  \n  ", f);
}

static void findings(FILE *f, const struct report_view *v)
{
	fputs("\n## Findings\n", f);
	if (!v->nfindings)
		fputs("\nNo trouble found: every connection closed in an orderly way, "
		      "or is still open.\n", f);
	for (struct report_findings_run run = { 0 }; report_findings_next(v, &run);) {
		fprintf(f, "\n### %s (%zu)\n\n", explain_code_name(run.code), run.n);
		for (size_t i = 0; i < run.n && i < SHOW_FINDINGS; i++) {
			expl_about(f, v, run.x[i]);
			report_put(f, ESC_MD, run.x[i]->text, EXPLAIN_TEXT_MAX);
			fputc('\n', f);
		}
		if (run.n > SHOW_FINDINGS)
			fprintf(f, "- … and %zu more: see the connections\n",
				run.n - SHOW_FINDINGS);
	}
}

static void timeline(FILE *f, struct report_view *v, const struct report_conn *c)
{
	size_t n = report_rows(v, c);
	__u64 t0 = n ? v->rows[0].ts : c->first_ts;
	char when[32], el[32], dur[32];

	fputs("\n| time | elapsed | state | time in state | event |\n"
	      "|---|---|---|---|---|\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct report_row *w = &v->rows[i];

		report_time(v->r, when, sizeof(when), w->ts, false);
		report_dur(el, sizeof(el), w->ts - t0);
		dur[0] = '\0';
		if (w->kind == ROW_STATE && w->in_state)
			report_dur(dur, sizeof(dur), w->in_state);
		fprintf(f, "| %s | +%s | %s | %s%s | ", when, el,
			w->state ? tcp_state_name(w->state) : "", dur,
			w->open ? " (still in it at the end)" : "");
		if (w->kind == ROW_STATE)
			fputs("**", f);
		report_put(f, ESC_MD, w->what, sizeof(w->what));
		fputs(w->kind == ROW_STATE ? "** |\n" : " |\n", f);
	}
	if (c->ev_dropped)
		fprintf(f, "\n%u more events were not kept.\n", c->ev_dropped);
}

static void connection(FILE *f, struct report_view *v, const struct report_conn *c)
{
	const struct report_expl **x;
	char tuple[160], a[32], b[32], d[32], id[48], rt[64];
	__u64 t0, t1;
	size_t nx;

	report_tuple_str(tuple, sizeof(tuple), &c->t);
	report_retrans_str(rt, sizeof(rt), c, " · ");
	report_conn_span(c, &t0, &t1);
	report_time(v->r, a, sizeof(a), t0, false);
	report_time(v->r, b, sizeof(b), t1, false);
	report_dur(d, sizeof(d), t1 - t0);
	anchor(id, sizeof(id), c);
	if (c->id)
		fprintf(f, "\n<a id=\"%s\"></a>\n**#%llu**", id,
			(unsigned long long)c->id);
	else
		fputs("\n**#**", f);
	fprintf(f, " %s · ", report_role_name(c->role));
	who(f, c->pid, c->comm);
	fputs(" · ", f);
	md(f, tuple);
	fprintf(f, " · %s to %s (%s)%s%s\n", a, b, d,
		report_conn_open(c) ? ", still open when tracing ended" : "", rt);
	timeline(f, v, c);
	x = report_conn_expl(v, c, &nx);
	if (nx)
		fputc('\n', f);
	for (size_t i = 0; i < nx; i++) {
		fprintf(f, "- **%s**: ", explain_code_name(x[i]->code));
		report_put(f, ESC_MD, x[i]->text, EXPLAIN_TEXT_MAX);
		fputc('\n', f);
	}
}

static void connections(FILE *f, struct report_view *v)
{
	int scn = -1;

	fputs("\n## Connections\n", f);
	if (!v->nconns)
		fputs("\nNo connection was traced.\n", f);
	for (size_t g = 0; g < v->ngroups; g++) {
		const struct report_group *gr = &v->groups[g];
		const char *name = report_scn_name(v->r, gr->scn);

		if (gr->scn != scn && name) {
			fputs("\n### Scenario ", f);
			md(f, name);
			fputc('\n', f);
		}
		scn = gr->scn;
		fputs("\n#### ", f);
		md(f, gr->peer);
		fprintf(f, " · ended in %s · %zu connection%s", tcp_state_name(gr->final),
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
		fputs("\n## Other explanations (no connection section)\n\n", f);
	for (size_t i = 0; i < v->nloose; i++) {
		expl_about(f, v, v->loose[i]);
		fprintf(f, "**%s**: ", explain_code_name(v->loose[i]->code));
		report_put(f, ESC_MD, v->loose[i]->text, EXPLAIN_TEXT_MAX);
		fputc('\n', f);
	}
	if (r->nother)
		fputs("\n## Events of no traced connection\n\n", f);
	for (size_t i = 0; i < r->nother; i++) {
		struct report_event_words w;

		report_event_words(r, &r->other[i], &w);
		fprintf(f, "- %s ", w.when);
		md(f, w.tuple);
		fputs(": ", f);
		md(f, w.what);
		fputc('\n', f);
	}
	for (size_t i = 0; i < r->nact; i++) {
		const char *scn = report_scn_name(r, r->act[i].scn);
		char line[1200];

		if (r->act[i].attached)
			continue;
		if (!head)
			fputs("\n## What the scenarios' programs did outside a "
			      "connection\n\n", f);
		head = true;
		report_time(r, when, sizeof(when), r->act[i].ts, false);
		fprintf(f, "- %s", when);
		if (scn) {
			fputs(" · ", f);
			md(f, scn);
		}
		report_action_str(line, sizeof(line), &r->act[i]);
		fputs(": ", f);
		md(f, line);
		fputc('\n', f);
	}
}

void report_md(FILE *f, struct report_view *v)
{
	summary(f, v);
	findings(f, v);
	connections(f, v);
	loose(f, v);
}
