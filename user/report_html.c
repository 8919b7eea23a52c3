// SPDX-License-Identifier: GPL-2.0
/*
 * The report as one self-contained HTML page: inline CSS and SVG, no script,
 * nothing fetched (a Content-Security-Policy says so to the browser too).
 * A swimlane per connection: bars for the time in each TCP state, markers
 * for resets, retransmissions, errors and the application's calls, <title>
 * tooltips; lanes grouped by remote endpoint and final state, the first
 * LANES_SHOWN of each group shown and the rest folded in a <details>, so a
 * page of 10,000 connections stays quick to open. Every string from the
 * traced system is entity-escaped, in text and in attributes.
 */
#include <string.h>

#include "names.h"
#include "report.h"

#define LANE_W		600	/* px: the time axis of a lane */
#define LANE_H		20
#define LANES_SHOWN	12	/* per group; the rest folded */
#define OPEN_MAX	24	/* lanes with findings shown unfolded */
#define SHOW_FINDINGS	8	/* per code; the rest folded */

enum { S_TIME_WAIT = 6, S_CLOSE = 7, S_CLOSE_WAIT = 8 };

/* Colour per TCP state (the kernel's numbers); TIME_WAIT and CLOSE_WAIT loud. */
static const struct {
	const char *fill;
	const char *text;
} colours[] = {
	[0] = { "#9e9e9e", "#000" },
	[1] = { "#43a047", "#fff" },	/* ESTABLISHED */
	[2] = { "#90caf9", "#000" },	/* SYN_SENT */
	[3] = { "#64b5f6", "#000" },	/* SYN_RECV */
	[4] = { "#ffe082", "#000" },	/* FIN_WAIT1 */
	[5] = { "#ffb300", "#000" },	/* FIN_WAIT2 */
	[6] = { "#6a1b9a", "#fff" },	/* TIME_WAIT */
	[7] = { "#9e9e9e", "#000" },	/* CLOSE */
	[8] = { "#d50000", "#fff" },	/* CLOSE_WAIT */
	[9] = { "#ffab91", "#000" },	/* LAST_ACK */
	[10] = { "#b0bec5", "#000" },	/* LISTEN */
	[11] = { "#ff8a65", "#000" },	/* CLOSING */
	[12] = { "#64b5f6", "#000" },	/* NEW_SYN_RECV */
	[13] = { "#9e9e9e", "#000" },	/* BOUND_INACTIVE */
};

#define NCOLOURS	(int)(sizeof(colours) / sizeof(colours[0]))

static int colour(int state)
{
	return state >= 0 && state < NCOLOURS ? state : 0;
}

static void h(FILE *f, const char *s)
{
	report_puts(f, ESC_HTML, s);
}

static const char style[] =
"*{box-sizing:border-box}"
"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
"'DejaVu Sans',sans-serif;color:#1f2328;background:#fff}"
"header{padding:12px 24px;background:#24292f;color:#fff}"
"header h1{margin:0;font-size:20px}header p{margin:2px 0 0;color:#d0d7de}"
".page{display:grid;grid-template-columns:minmax(0,1fr) 420px;"
"grid-template-areas:'sum find' 'leg find' 'tl find' 'etc find';"
"gap:0 24px;padding:8px 24px 40px}"
"@media (max-width:1300px){.page{grid-template-columns:minmax(0,1fr);"
"grid-template-areas:'sum' 'find' 'leg' 'tl' 'etc'}}"
"#summary{grid-area:sum}#legend{grid-area:leg}#timeline{grid-area:tl}"
"#other{grid-area:etc}"
"#findings{grid-area:find;align-self:start;position:sticky;top:0;"
"max-height:100vh;overflow:auto;padding-bottom:16px}"
"h2{font-size:17px;margin:18px 0 8px}h3{font-size:14px;margin:0}"
"table{border-collapse:collapse}"
"td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}"
".sum th{white-space:nowrap;color:#57606a;font-weight:600}"
".tl td,.tl th{border-bottom:1px solid #eaeef2;padding:1px 12px 1px 0}"
".tl th{color:#57606a;font-weight:600}"
".m,.ep,.tl td{font-family:ui-monospace,'DejaVu Sans Mono',monospace;"
"font-size:12px}"
".muted{color:#57606a}"
".code{display:inline-block;padding:0 7px;margin:1px 3px 1px 0;"
"border-radius:9px;font:11px ui-monospace,'DejaVu Sans Mono',monospace;"
"background:#eaeef2;color:#24292f;white-space:nowrap}"
".code.bad{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}"
".chip{display:inline-block;padding:0 6px;border-radius:3px;"
"font:12px ui-monospace,'DejaVu Sans Mono',monospace}"
".scn{margin:22px 0 4px;padding-bottom:2px;border-bottom:2px solid #24292f}"
".group{margin:10px 0;border:1px solid #d0d7de;border-radius:6px}"
".gh{padding:5px 10px;background:#f6f8fa;border-bottom:1px solid #d0d7de}"
".row{display:grid;grid-template-columns:14px 250px 600px minmax(0,1fr);"
"gap:0 8px;align-items:center;padding:1px 10px}"
"summary.row{cursor:pointer;list-style:none}"
"summary.row::-webkit-details-marker{display:none}"
"summary.row::before{content:'\\25B8';color:#57606a}"
"details[open]>summary.row::before{content:'\\25BE'}"
"summary.row:hover{background:#f6f8fa}"
".who{overflow:hidden;white-space:nowrap;text-overflow:ellipsis;"
"font-size:12px;line-height:1.25}"
".who .ep{color:#57606a;font-size:11px}"
"svg.l{display:block;background:#f3f4f6}"
".body{padding:4px 10px 10px 32px;border-top:1px dashed #d0d7de;"
"border-bottom:1px dashed #d0d7de}"
".body ul{margin:4px 0;padding-left:18px}.body li{margin:3px 0}"
".body pre{margin:4px 0;font-size:11.5px;white-space:pre-wrap}"
".more>summary{cursor:pointer;padding:4px 10px;color:#0969da}"
".ax text{font:10px ui-monospace,'DejaVu Sans Mono',monospace;fill:#57606a}"
".ax line{stroke:#afb8c1}"
".open{stroke:#000;stroke-width:1.2;stroke-dasharray:3 2}"
".mr{fill:#b71c1c;stroke:#fff;stroke-width:.7}"
".mx{fill:#ff6d00;stroke:#fff;stroke-width:.7}"
".me{fill:#000;stroke:#fff;stroke-width:.7}"
".mc{fill:#0550ae}.mf{fill:#bf3989}.ma{fill:#6e7781}"
".legend{display:flex;flex-wrap:wrap;gap:4px 16px;padding:0;margin:0;"
"list-style:none;font-size:12.5px}"
".legend li{display:flex;align-items:center;gap:5px}"
".fd{margin:10px 0 14px}.fd ol{margin:4px 0;padding-left:20px}"
".fd li{margin:6px 0}.fd p{margin:2px 0 0}"
"a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}";

static void head(FILE *f, const struct report *r)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	      "'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
	      "form-action 'none'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>tcpwatch report: ", f);
	h(f, report_target(r));
	fprintf(f, "</title>\n<style>%s", style);
	for (int s = 0; s < NCOLOURS; s++)
		fprintf(f, ".s%d{fill:%s}.k%d{background:%s;color:%s}", s,
			colours[s].fill, s, colours[s].fill, colours[s].text);
	fputs("</style></head>\n<body>\n", f);
}

static void chip(FILE *f, int state)
{
	fprintf(f, "<span class=\"chip k%d\">%s</span>", colour(state),
		tcp_state_name(state));
}

static void anchor(char *buf, size_t len, const struct report_conn *c)
{
	snprintf(buf, len, "c%d-%llu", c->scn, (unsigned long long)c->id);
}

static void who(FILE *f, __u32 pid, const char *comm)
{
	if (!pid) {
		fputs("<i>an untraced process</i>", f);
		return;
	}
	fputs("<b>", f);
	report_put(f, ESC_HTML, comm, TW_COMM_LEN);
	fprintf(f, "</b> (pid %u)", pid);
}

static void sum_row(FILE *f, const char *name, const char *value)
{
	fprintf(f, "<tr><th>%s</th><td>", name);
	h(f, value);
	fputs("</td></tr>\n", f);
}

static void summary(FILE *f, const struct report_view *v)
{
	const struct report *r = v->r;
	char buf[2048];

	fputs("<header><h1>tcpwatch report</h1><p>", f);
	h(f, report_target(r));
	report_range_str(r, buf, sizeof(buf));
	fputs(" · ", f);
	h(f, buf);
	fputs("</p></header>\n<div class=\"page\">\n<section id=\"summary\">"
	      "<h2>Summary</h2>\n<table class=\"sum\">\n", f);
	sum_row(f, "Target", report_target(r));
	sum_row(f, "Time", buf);
	report_states_str(r, buf, sizeof(buf));
	sum_row(f, "Connections", buf);
	report_codes_str(r, buf, sizeof(buf));
	sum_row(f, "Explanations", buf);
	report_events_str(v, buf, sizeof(buf));
	sum_row(f, "Events", buf);
	report_dropped_str(r, buf, sizeof(buf));
	sum_row(f, "Not kept", buf);
	fputs("</table>\n", f);
	if (r->nscn) {
		fputs("<table class=\"sum\"><tr><th>scenario</th><th>what the "
		      "application saw</th><th>events</th><th>lost</th></tr>\n", f);
		for (int i = 1; i <= r->nscn; i++) {
			const struct report_scenario *s = &r->scn[i];

			fputs("<tr><td class=\"m\">", f);
			h(f, s->name ? s->name : "?");
			fprintf(f, "</td><td>%s</td><td>%llu</td><td>%llu</td></tr>\n",
				!s->ended ? "interrupted" : s->status ?
				"<b>not</b> what the scenario expects" :
				"what the scenario expects",
				(unsigned long long)s->events, (unsigned long long)s->lost);
		}
		fputs("</table>\n", f);
	}
	fputs("</section>\n", f);
}

static void legend(FILE *f)
{
	static const int shown[] = { 10, 2, 3, 1, 4, 5, 11, 9, 8, 6 };
	static const struct {
		const char *cls, *shape, *what;
	} marks[] = {
		{ "mr", "M6,0h10l-5,7z", "RST sent" },
		{ "mr", "M6,20h10l-5,-7z", "RST received" },
		{ "mx", "M11,6a4,4 0 1,0 0.01,0z", "retransmission" },
		{ "me", "M11,3l6,7l-6,7l-6,-7z", "error reported" },
		{ "mc", "M10,2h2v16h-2z", "application call" },
		{ "mf", "M10,2h2v16h-2z", "failed call" },
		{ "ma", "M8,14h6v6h-6z", "scenario action" },
	};

	fputs("<section id=\"legend\"><h2>Legend</h2><ul class=\"legend\">\n", f);
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		fprintf(f, "<li><svg width=\"26\" height=\"14\"><rect class=\"s%d\" "
			"width=\"26\" height=\"14\"/></svg>%s</li>\n", shown[i],
			tcp_state_name(shown[i]));
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		fprintf(f, "<li><svg class=\"l\" width=\"22\" height=\"20\"><path "
			"class=\"%s\" d=\"%s\"/></svg>%s</li>\n", marks[i].cls,
			marks[i].shape, marks[i].what);
	fputs("<li><svg width=\"26\" height=\"14\"><rect class=\"s8 open\" x=\"1\" "
	      "y=\"1\" width=\"24\" height=\"12\"/></svg>still in that state when "
	      "tracing ended</li>\n</ul><p class=\"muted\">Hover over a bar or a "
	      "marker for its details; click a lane for the connection's timeline "
	      "and explanations. TIME_WAIT and CLOSE_WAIT bars are drawn full "
	      "height.</p></section>\n", f);
}

static void finding(FILE *f, const struct report_view *v, const struct report_expl *x)
{
	const struct report_conn *c = report_expl_conn(v, x);
	const char *scn = report_scn_name(v->r, x->scn);
	char when[32], tuple[160], id[48];

	report_time(v->r, when, sizeof(when), x->ts, false);
	fputs("<li>", f);
	if (c) {
		anchor(id, sizeof(id), c);
		fprintf(f, "<a href=\"#%s\">", id);
	}
	fputs(when, f);
	if (scn) {
		fputs(" · ", f);
		h(f, scn);
	}
	if (c)
		fprintf(f, " · #%llu</a>", (unsigned long long)c->id);
	if (x->conn_id) {
		report_tuple_str(tuple, sizeof(tuple), &x->t);
		fputs(" · ", f);
		who(f, x->pid, x->comm);
		fputs("<br><span class=\"ep\">", f);
		h(f, tuple);
		fputs("</span>", f);
	} else {
		fputs(" · the whole host", f);
	}
	fputs("<p>", f);
	report_put(f, ESC_HTML, x->text, EXPLAIN_TEXT_MAX);
	fputs("</p></li>\n", f);
}

static void findings(FILE *f, const struct report_view *v)
{
	fputs("<aside id=\"findings\"><h2>Findings</h2>\n", f);
	if (!v->nfindings)
		fputs("<p>No trouble found: every connection closed in an orderly "
		      "way, or is still open.</p>\n", f);
	for (struct report_findings_run run = { 0 }; report_findings_next(v, &run);) {
		fprintf(f, "<section class=\"fd\"><h3><span class=\"code bad\">%s</span>"
			" %zu</h3>\n<ol>\n", explain_code_name(run.code), run.n);
		for (size_t i = 0; i < run.n && i < SHOW_FINDINGS; i++)
			finding(f, v, run.x[i]);
		fputs("</ol>", f);
		/* The rest are in the lanes marked with the code. */
		if (run.n > SHOW_FINDINGS)
			fprintf(f, "<p class=\"muted\">… and %zu more: the lanes marked "
				"<span class=\"code bad\">%s</span> in the timeline.</p>",
				run.n - SHOW_FINDINGS, explain_code_name(run.code));
		fputs("</section>\n", f);
	}
	fputs("</aside>\n", f);
}

/* ---- lanes ------------------------------------------------------------------- */

struct scale {
	__u64 t0;
	double px_per_ns;
};

static double xpos(const struct scale *s, __u64 ts)
{
	double x = ts > s->t0 ? (double)(ts - s->t0) * s->px_per_ns : 0;

	return x > LANE_W ? LANE_W : x;
}

static void bar(FILE *f, const struct report *r, const struct scale *s,
		int state, __u64 from, __u64 to, bool open)
{
	double x = xpos(s, from), w = xpos(s, to) - x;
	bool loud = state == S_TIME_WAIT || state == S_CLOSE_WAIT;
	char when[32], dur[32];

	if (to < from)
		to = from;
	if (w < 2)
		w = 2;
	if (x + w > LANE_W)
		x = LANE_W - w;
	report_time(r, when, sizeof(when), from, false);
	report_dur(dur, sizeof(dur), to - from);
	fprintf(f, "<rect class=\"s%d%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
		"height=\"%d\"><title>%s for %s%s, from %s</title></rect>",
		colour(state), open ? " open" : "", x, loud ? 1 : 5, w,
		loud ? LANE_H - 2 : LANE_H - 10, tcp_state_name(state), dur,
		open ? " (still in it when tracing ended)" : "", when);
}

static void marker(FILE *f, const struct report *r, const struct scale *s,
		   const struct report_row *w)
{
	double x = xpos(s, w->ts);
	char when[32];

	switch (w->kind) {
	case ROW_RST_SENT:
		fprintf(f, "<path class=\"mr\" d=\"M%.1f,0h10l-5,7z\">", x - 5);
		break;
	case ROW_RST_RECV:
		fprintf(f, "<path class=\"mr\" d=\"M%.1f,20h10l-5,-7z\">", x - 5);
		break;
	case ROW_RETRANS:
		fprintf(f, "<circle class=\"mx\" cx=\"%.1f\" cy=\"10\" r=\"4\">", x);
		break;
	case ROW_ERROR:
		fprintf(f, "<path class=\"me\" d=\"M%.1f,3l6,7l-6,7l-6,-7z\">", x);
		break;
	case ROW_CALL:
	case ROW_CALL_FAILED:
		fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"2\" width=\"2\" "
			"height=\"16\">", w->kind == ROW_CALL ? "mc" : "mf", x - 1);
		break;
	case ROW_ACTION:
		fprintf(f, "<rect class=\"ma\" x=\"%.1f\" y=\"14\" width=\"6\" "
			"height=\"6\">", x - 3);
		break;
	default:
		return;
	}
	report_time(r, when, sizeof(when), w->ts, false);
	fprintf(f, "<title>%s ", when);
	report_put(f, ESC_HTML, w->what, sizeof(w->what));
	switch (w->kind) {
	case ROW_RST_SENT:
	case ROW_RST_RECV:
	case ROW_ERROR:
		fputs("</title></path>", f);
		break;
	case ROW_RETRANS:
		fputs("</title></circle>", f);
		break;
	default:
		fputs("</title></rect>", f);
	}
}

static void lane_svg(FILE *f, struct report_view *v, const struct report_conn *c,
		     const struct scale *s, size_t nrows)
{
	fprintf(f, "<svg class=\"l\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">",
		LANE_W, LANE_H, LANE_W, LANE_H);
	/* A connection present at attach was in its first state already. */
	if (c->role == ROLE_UNKNOWN && c->nhist && c->hist[0].old &&
	    c->hist[0].old != S_CLOSE && c->first_ts < c->hist[0].ts)
		bar(f, v->r, s, c->hist[0].old, c->first_ts, c->hist[0].ts, false);
	for (int i = 0; i < c->nhist; i++) {
		bool last = i + 1 == c->nhist;

		if (c->hist[i].new == S_CLOSE)
			continue;
		bar(f, v->r, s, c->hist[i].new, c->hist[i].ts,
		    last ? c->end_ts : c->hist[i + 1].ts, last);
	}
	for (size_t i = 0; i < nrows; i++)
		if (v->rows[i].kind != ROW_STATE)
			marker(f, v->r, s, &v->rows[i]);
	fputs("</svg>", f);
}

static void timeline_table(FILE *f, struct report_view *v,
			   const struct report_conn *c, size_t n)
{
	__u64 t0 = n ? v->rows[0].ts : c->first_ts;
	char when[32], el[32], dur[32];

	fputs("<table class=\"tl\"><tr><th>time</th><th>elapsed</th><th>state</th>"
	      "<th>time in state</th><th>event</th></tr>\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct report_row *w = &v->rows[i];

		report_time(v->r, when, sizeof(when), w->ts, false);
		report_dur(el, sizeof(el), w->ts - t0);
		dur[0] = '\0';
		if (w->kind == ROW_STATE && w->in_state)
			report_dur(dur, sizeof(dur), w->in_state);
		fprintf(f, "<tr><td>%s</td><td>+%s</td><td>", when, el);
		if (w->state)
			chip(f, w->state);
		fprintf(f, "</td><td>%s%s</td><td>%s", dur,
			w->open ? " (still in it)" : "", w->kind == ROW_STATE ? "<b>" : "");
		report_put(f, ESC_HTML, w->what, sizeof(w->what));
		fprintf(f, "%s</td></tr>\n", w->kind == ROW_STATE ? "</b>" : "");
	}
	fputs("</table>\n", f);
	if (c->ev_dropped)
		fprintf(f, "<p class=\"muted\">%u more events were not kept.</p>\n",
			c->ev_dropped);
}

/*
 * The folded lanes' timelines as preformatted text: one text node instead
 * of a table's hundred elements keeps a page of 10,000 lanes quick to load.
 */
static void timeline_pre(FILE *f, struct report_view *v, const struct report_conn *c,
			 const struct report_expl **x, size_t nx, size_t n)
{
	__u64 t0 = n ? v->rows[0].ts : c->first_ts;
	char when[32], el[32], dur[32];

	fputs("<pre>", f);
	for (size_t i = 0; i < nx; i++) {
		fprintf(f, "%s: ", explain_code_name(x[i]->code));
		report_put(f, ESC_HTML, x[i]->text, EXPLAIN_TEXT_MAX);
		fputs("\n", f);
	}
	for (size_t i = 0; i < n; i++) {
		const struct report_row *w = &v->rows[i];

		report_time(v->r, when, sizeof(when), w->ts, false);
		el[0] = '+';
		report_dur(el + 1, sizeof(el) - 1, w->ts - t0);
		/* ">": still in it when tracing ended (maybe no time yet). */
		snprintf(dur, sizeof(dur), "%s", w->open ? ">" : "");
		if (w->kind == ROW_STATE && w->in_state)
			report_dur(dur + w->open, sizeof(dur) - 1, w->in_state);
		fprintf(f, "%s %-10s %-12s %-10s ", when, el,
			w->state ? tcp_state_name(w->state) : "-", dur);
		report_put(f, ESC_HTML, w->what, sizeof(w->what));
		fputc('\n', f);
	}
	if (c->ev_dropped)
		fprintf(f, "(%u more events not kept)\n", c->ev_dropped);
	fputs("</pre>", f);
}

static void explanations(FILE *f, const struct report_expl **x, size_t nx)
{
	if (!nx)
		return;
	fputs("<ul>\n", f);
	for (size_t i = 0; i < nx; i++) {
		fprintf(f, "<li><span class=\"code%s\">%s</span> ",
			report_code_is_trouble(x[i]->code) ? " bad" : "",
			explain_code_name(x[i]->code));
		report_put(f, ESC_HTML, x[i]->text, EXPLAIN_TEXT_MAX);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
}

/* A lane; rich: its timeline as a table, else as text (a folded lane). */
static void lane(FILE *f, struct report_view *v, const struct report_conn *c,
		 const struct scale *s, bool open, bool rich)
{
	const struct report_expl **x;
	char tuple[160], id[48], a[32], b[32], d[32], rt[64];
	size_t n = report_rows(v, c), nx;
	__u64 t0, t1;

	x = report_conn_expl(v, c, &nx);
	anchor(id, sizeof(id), c);
	report_tuple_str(tuple, sizeof(tuple), &c->t);
	/* The summary's ::before (the fold marker) fills the first column. */
	fprintf(f, "<details%s%s%s%s><summary class=\"row\"><span class=\"who\">", c->id ? " id=\"" : "", c->id ? id : "",
		c->id ? "\"" : "", open ? " open" : "");
	who(f, c->pid, c->comm);
	fputs("<br><span class=\"ep\">", f);
	h(f, tuple);
	fputs("</span></span>", f);
	lane_svg(f, v, c, s, n);
	fputs("<span>", f);
	for (int code = 0; code < CODE_MAX; code++)
		if (c->codes & (1ULL << code))
			fprintf(f, "<span class=\"code%s\">%s</span>",
				report_code_is_trouble(code) ? " bad" : "",
				explain_code_name(code));
	fputs("</span></summary>\n<div class=\"body\"><p class=\"muted\">", f);
	report_conn_span(c, &t0, &t1);
	report_time(v->r, a, sizeof(a), t0, false);
	report_time(v->r, b, sizeof(b), t1, false);
	report_dur(d, sizeof(d), t1 - t0);
	if (c->id)
		fprintf(f, "connection #%llu · ", (unsigned long long)c->id);
	report_retrans_str(rt, sizeof(rt), c, " · ");
	fprintf(f, "%s · %s to %s (%s)%s%s</p>\n", report_role_name(c->role), a, b, d,
		report_conn_open(c) ? " · still open when tracing ended" : "", rt);
	if (rich) {
		explanations(f, x, nx);
		timeline_table(f, v, c, n);
	} else {
		timeline_pre(f, v, c, x, nx, n);
	}
	fputs("</div></details>\n", f);
}

/* Ticks at a round step: 1, 2 or 5 times a power of ten. */
static void axis(FILE *f, const struct scale *s, __u64 span)
{
	__u64 step = 1;
	char label[32];

	while (step * 10 <= span / 4)
		step *= 10;
	if (step * 5 <= span / 4)
		step *= 5;
	else if (step * 2 <= span / 4)
		step *= 2;
	fprintf(f, "<div class=\"row\"><span></span><span class=\"muted\">time since "
		"the first event</span><svg class=\"ax\" width=\"%d\" height=\"16\">",
		LANE_W);
	for (__u64 t = 0; t <= span && step; t += step) {
		double x = xpos(s, s->t0 + t);

		report_dur(label, sizeof(label), t);
		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"11\" y2=\"16\"/>"
			"<text x=\"%.1f\" y=\"9\"%s>+%s</text>", x, x,
			x > LANE_W - 40 ? x : x + 2,
			x > LANE_W - 40 ? " text-anchor=\"end\"" : "",
			t ? label : "0");
	}
	fputs("</svg><span></span></div>\n", f);
}

static void group(FILE *f, struct report_view *v, const struct report_group *g,
		  int *opened)
{
	__u64 span = g->t1 > g->t0 ? g->t1 - g->t0 : 1;
	struct scale s = { g->t0, (double)LANE_W / (double)span };
	char when[32], d[32];

	report_time(v->r, when, sizeof(when), g->t0, false);
	report_dur(d, sizeof(d), span);
	fputs("<section class=\"group\"><div class=\"gh\"><h3>", f);
	h(f, g->peer);
	fputs(" · ended in ", f);
	chip(f, g->final);
	fprintf(f, " · %zu connection%s", g->n, g->n == 1 ? "" : "s");
	if (g->troubled)
		fprintf(f, " · <span class=\"code bad\">%zu with findings</span>",
			g->troubled);
	fprintf(f, "</h3><span class=\"muted\">from %s, over %s</span></div>\n",
		when, d);
	axis(f, &s, span);
	for (size_t i = 0; i < g->n; i++) {
		const struct report_conn *c = v->conns[g->first + i];
		bool open = i < LANES_SHOWN && *opened < OPEN_MAX &&
			    report_conn_is_troubled(c);

		if (i == LANES_SHOWN)
			fprintf(f, "<details class=\"more\"><summary>%zu more "
				"connections</summary>\n", g->n - i);
		*opened += open;
		lane(f, v, c, &s, open, i < LANES_SHOWN);
	}
	if (g->n > LANES_SHOWN)
		fputs("</details>\n", f);
	fputs("</section>\n", f);
}

static void timeline(FILE *f, struct report_view *v)
{
	int scn = -1, opened = 0;

	fputs("<section id=\"timeline\"><h2>Connections</h2>\n", f);
	if (!v->nconns)
		fputs("<p>No connection was traced.</p>\n", f);
	for (size_t g = 0; g < v->ngroups; g++) {
		const char *name = report_scn_name(v->r, v->groups[g].scn);

		if (v->groups[g].scn != scn && name) {
			fputs("<h3 class=\"scn\">Scenario <span class=\"m\">", f);
			h(f, name);
			fputs("</span></h3>\n", f);
		}
		scn = v->groups[g].scn;
		group(f, v, &v->groups[g], &opened);
	}
	fputs("</section>\n", f);
}

static void others(FILE *f, const struct report_view *v)
{
	const struct report *r = v->r;
	char when[32], line[1200];
	bool head = false;

	fputs("<section id=\"other\">", f);
	if (v->nloose)
		fputs("<h2>Other explanations (no connection section)</h2><ol>\n", f);
	for (size_t i = 0; i < v->nloose; i++)
		finding(f, v, v->loose[i]);
	if (v->nloose)
		fputs("</ol>\n", f);
	if (r->nother)
		fputs("<h2>Events of no traced connection</h2><table class=\"tl\">\n", f);
	for (size_t i = 0; i < r->nother; i++) {
		struct report_event_words w;

		report_event_words(r, &r->other[i], &w);
		fprintf(f, "<tr><td>%s</td><td>", w.when);
		h(f, w.tuple);
		fputs("</td><td>", f);
		h(f, w.what);
		fputs("</td></tr>\n", f);
	}
	if (r->nother)
		fputs("</table>\n", f);
	for (size_t i = 0; i < r->nact; i++) {
		const char *scn = report_scn_name(r, r->act[i].scn);

		if (r->act[i].attached)
			continue;
		if (!head)
			fputs("<h2>What the scenarios' programs did outside a "
			      "connection</h2><table class=\"tl\">\n", f);
		head = true;
		report_time(r, when, sizeof(when), r->act[i].ts, false);
		report_action_str(line, sizeof(line), &r->act[i]);
		fprintf(f, "<tr><td>%s</td><td>", when);
		h(f, scn ? scn : "");
		fputs("</td><td>", f);
		h(f, line);
		fputs("</td></tr>\n", f);
	}
	if (head)
		fputs("</table>\n", f);
	fputs("</section>\n", f);
}

void report_html(FILE *f, struct report_view *v)
{
	head(f, v->r);
	summary(f, v);
	findings(f, v);
	legend(f);
	timeline(f, v);
	others(f, v);
	fputs("</div>\n<footer class=\"muted\" style=\"padding:0 24px 24px\">Written "
	      "by tcpwatch. Self-contained: no script, nothing fetched.</footer>\n"
	      "</body></html>\n", f);
}
