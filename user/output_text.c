// SPDX-License-Identifier: GPL-2.0
/* The default output: one line per event, under 100 columns. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "explain.h"
#include "names.h"
#include "output.h"
#include "snapshot.h"
#include "sockdiag.h"

#define COMM_W	11
#define ADDR_W	17

/* The columns of an event's line; the last one takes the rest. */
enum column { COL_TIME, COL_PID, COL_COMM, COL_LOCAL, COL_REMOTE, COL_EVENT, NCOLS };

static const struct {
	const char *header;
	int width;
	bool cut;	/* to its width */
} columns[NCOLS] = {
	[COL_TIME] = { .header = "TIME", .width = 12 },
	[COL_PID] = { .header = "PID", .width = 7 },
	[COL_COMM] = { .header = "COMM", .width = COMM_W, .cut = true },
	[COL_LOCAL] = { .header = "LOCAL", .width = ADDR_W },
	[COL_REMOTE] = { .header = "REMOTE", .width = ADDR_W },
	[COL_EVENT] = { .header = "EVENT", .width = 0 },
};

/*
 * One line, as printf's "%-12s %-7s %-11.11s %-17s %-17s %s\n" wrote it,
 * without parsing that format for every event. Cells come from buffers of
 * at most 96 bytes, so a line fits; a longer one would be cut, not overrun.
 */
static void put_row(FILE *f, const char *const cell[NCOLS])
{
	char line[512], *p = line, *end = line + sizeof(line) - 1;

	for (int i = 0; i < NCOLS; i++) {
		size_t n = strlen(cell[i]);

		if (columns[i].cut && n > (size_t)columns[i].width)
			n = (size_t)columns[i].width;
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		memcpy(p, cell[i], n);
		p += n;
		for (; (int)n < columns[i].width && p < end; n++)
			*p++ = ' ';
		if (p < end)
			*p++ = i < NCOLS - 1 ? ' ' : '\n';
	}
	fwrite(line, 1, (size_t)(p - line), f);
}

/* Strings from the traced system may hold terminal escapes: show '?'. */
static void printable(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

/* Arguments worth showing: SHUT_WR, SO_LINGER {1,0}, the backlog, the port. */
static void call_args(char *buf, size_t len, const struct tw_event *e)
{
	int level = (int)(e->arg >> 16), opt = (int)(e->arg & 0xffff);
	const char *name;

	buf[0] = '\0';
	switch (e->reason) {
	case TW_CALL_SHUTDOWN:
		name = shutdown_how_name(e->arg);
		if (name)
			snprintf(buf, len, "%s", name);
		else
			snprintf(buf, len, "%u", e->arg);
		break;
	case TW_CALL_SETSOCKOPT:
		name = sockopt_name(level, opt);
		if (!name)
			snprintf(buf, len, "%d,%d %d", level, opt, e->arg2);
		else if (level == SOL_SOCKET && opt == SO_LINGER && e->arg2 < 0)
			snprintf(buf, len, "%s off", name);
		else if (level == SOL_SOCKET && opt == SO_LINGER)
			snprintf(buf, len, "%s {1,%d}", name, e->arg2);
		else
			snprintf(buf, len, "%s %d", name, e->arg2);
		break;
	case TW_CALL_LISTEN:
		snprintf(buf, len, "%d", (int)e->arg);
		break;
	case TW_CALL_BIND:
		snprintf(buf, len, "%u", e->arg);
		break;
	default:
		break;
	}
}

/* As the application sees it: "write() = -1 EPIPE", "read() = 0 (EOF)". */
static void describe_call(char *buf, size_t len, const struct tw_event *e)
{
	const char *name = call_name(e->reason);
	char args[48], tmp[32];

	call_args(args, sizeof(args), e);
	if (e->value < 0)
		snprintf(buf, len, "%s(%s) = -1 %s", name, args,
			 errno_name(-(long)e->value, tmp, sizeof(tmp)));
	else if (e->reason == TW_CALL_READ)
		snprintf(buf, len, "%s(%s) = %d (EOF)", name, args, e->value);
	else
		snprintf(buf, len, "%s(%s) = %d", name, args, e->value);
}

void event_describe(char *buf, size_t len, const struct tw_event *e)
{
	const char *name;
	char tmp[32];

	switch (e->type) {
	case TW_EV_STATE:
		if (e->flags & TW_F_SYNTHETIC)
			str_join(buf, len, tcp_state_name(e->oldstate), " -> ",
				 tcp_state_name(e->newstate), " (reconstructed: ",
				 explain_cause_text((int)e->reason), ")", NULL);
		else
			str_join(buf, len, tcp_state_name(e->oldstate), " -> ",
				 tcp_state_name(e->newstate), NULL);
		break;
	case TW_EV_RST_SENT:
		name = rst_reason_name(e->reason);
		if (!(e->flags & TW_F_HAS_REASON))
			snprintf(buf, len, "RST sent");
		else if (name)
			snprintf(buf, len, "RST sent (%s)", name);
		else
			snprintf(buf, len, "RST sent (reason %u)", e->reason);
		break;
	case TW_EV_RST_RECV:
		snprintf(buf, len, "RST received in %s", tcp_state_name(e->oldstate));
		break;
	case TW_EV_RETRANS:
		if (e->oldstate == 2 /* TCP_SYN_SENT */)
			snprintf(buf, len, "SYN retransmit #%d", e->value);
		else
			snprintf(buf, len, "retransmit #%d in %s", e->value,
				 tcp_state_name(e->oldstate));
		if (tw_retrans_failed(e)) {
			size_t used = strlen(buf);

			snprintf(buf + used, len - used, " not sent (%s)",
				 errno_name(e->reason, tmp, sizeof(tmp)));
		}
		break;
	case TW_EV_SYNACK_RETRANS:
		if (e->flags & TW_F_QUEUE)
			snprintf(buf, len, "SYN-ACK retransmit #%d, accept queue %u/%d",
				 e->value, e->arg, e->arg2);
		else
			snprintf(buf, len, "SYN-ACK retransmit #%d", e->value);
		break;
	case TW_EV_ERROR:
		snprintf(buf, len, "error %s", errno_name(e->value, tmp, sizeof(tmp)));
		break;
	case TW_EV_DESTROY:
		snprintf(buf, len, "socket destroyed");
		break;
	case TW_EV_CALL:
		describe_call(buf, len, e);
		break;
	default:
		snprintf(buf, len, "event type %u", e->type);
	}
}

void text_header(struct tw_output *out)
{
	const char *cell[NCOLS];

	for (int i = 0; i < NCOLS; i++)
		cell[i] = columns[i].header;
	put_row(out->f, cell);
}

/* A row about a socket: its owner ("-" when unknown), comm made printable. */
static void put_socket_row(FILE *f, const char *when, __u32 owner,
			   const char *owner_comm, const char *local,
			   const char *remote, const char *what)
{
	char pid[16] = "-", comm[TW_COMM_LEN + 1] = "-";

	if (owner) {
		uint_str(pid, sizeof(pid), owner);
		printable(comm, owner_comm, TW_COMM_LEN);
	}
	put_row(f, (const char *const[NCOLS]){ [COL_TIME] = when,
		[COL_PID] = pid, [COL_COMM] = comm, [COL_LOCAL] = local,
		[COL_REMOTE] = remote, [COL_EVENT] = what });
}

void text_event(struct tw_output *out, const struct tw_event *e)
{
	char when[32], local[64], remote[64], what[64];

	clock_str(when, sizeof(when), out, e->ts_ns, false);
	endpoint_str(local, sizeof(local), e->family, e->saddr, e->sport);
	endpoint_str(remote, sizeof(remote), e->family, e->daddr, e->dport);
	event_describe(what, sizeof(what), e);
	put_socket_row(out->f, when, e->pid, e->comm, local, remote, what);
}

/* "present: CLOSE_WAIT q 512/0 keepalive 7s": what a socket was at attach. */
void text_snapshot(struct tw_output *out, const struct snapshot_sock *s)
{
	char when[32], local[64], remote[64], what[96];
	const char *timer = diag_timer_name(s->timer);
	int n;

	clock_str(when, sizeof(when), out, s->ts_ns, false);
	endpoint_str(local, sizeof(local), s->t.family, s->t.saddr, s->t.sport);
	endpoint_str(remote, sizeof(remote), s->t.family, s->t.daddr, s->t.dport);
	n = snprintf(what, sizeof(what), "present: %s", tcp_state_name(s->state));
	if ((s->rqueue || s->wqueue) && n < (int)sizeof(what))
		n += snprintf(what + n, sizeof(what) - (size_t)n, " q %u/%u",
			      s->rqueue, s->wqueue);
	/* A timewait socket's timer is when it goes: "59s left". */
	if (s->timer == DIAG_TIMER_TIMEWAIT && n < (int)sizeof(what))
		n += snprintf(what + n, sizeof(what) - (size_t)n, " %us left",
			      (s->expires_ms + 999) / 1000);
	else if (s->timer && n < (int)sizeof(what))
		n += snprintf(what + n, sizeof(what) - (size_t)n, " %s %us",
			      timer ? timer : "timer", (s->expires_ms + 999) / 1000);
	if (s->retrans && n < (int)sizeof(what))
		snprintf(what + n, sizeof(what) - (size_t)n, " #%u", s->retrans);
	put_socket_row(out->f, when, s->pid, s->comm, local, remote, what);
}

/* The action's endpoint from its log fields, if it has one. */
static void action_endpoint(char *buf, size_t len, const struct jobject *o,
			    const char *addr_key, const char *port_key)
{
	const char *addr = jsonl_str(o, addr_key);
	char safe[JSONL_STR_MAX];

	if (!addr) {
		snprintf(buf, len, "-");
		return;
	}
	printable(safe, addr, sizeof(safe) - 1);
	snprintf(buf, len, strchr(safe, ':') ? "[%s]:%lld" : "%s:%lld", safe,
		 jsonl_int(o, port_key, 0));
}

void text_action(struct tw_output *out, const struct jobject *o, __u64 ts_ns)
{
	char when[32], local[JSONL_STR_MAX + 16], remote[JSONL_STR_MAX + 16];
	char role[JSONL_STR_MAX], call[JSONL_STR_MAX], arg[JSONL_STR_MAX];
	char err[JSONL_STR_MAX];
	const char *v;

	clock_str(when, sizeof(when), out, ts_ns, false);
	action_endpoint(local, sizeof(local), o, "laddr", "lport");
	action_endpoint(remote, sizeof(remote), o, "raddr", "rport");
	printable(role, (v = jsonl_str(o, "role")) ? v : "app", sizeof(role) - 1);
	printable(call, (v = jsonl_str(o, "call")) ? v : "?", sizeof(call) - 1);
	printable(arg, (v = jsonl_str(o, "arg")) ? v : "", sizeof(arg) - 1);
	printable(err, (v = jsonl_str(o, "errno")) ? v : "", sizeof(err) - 1);
	fprintf(out->f, "%-12s %-7lld %-*.*s %-*s %-*s %s(%s) = %lld%s%s\n", when,
		jsonl_int(o, "pid", 0), COMM_W, COMM_W, role, ADDR_W, local, ADDR_W,
		remote, call, arg, jsonl_int(o, "ret", 0), *err ? " " : "", err);
}

/* The explanation under the events, indented, wrapped at 96 columns. */
void text_explain(struct tw_output *out, const struct explanation *x)
{
	char text[EXPLAIN_TEXT_MAX];
	const char *p = text, *line = text;	/* line: not written yet */
	int col = fprintf(out->f, "  => %s: ", explain_code_name(x->code));

	printable(text, x->text, sizeof(text) - 1);
	while (*p) {
		size_t word = (size_t)(strchrnul(p, ' ') - p);

		if (col + (int)word > 96 && col > 8) {
			fwrite(line, 1, (size_t)(p - line), out->f);
			fputs("\n     ", out->f);
			line = p;
			col = 5;
		}
		col += (int)word;
		p += word;
		if (*p == ' ') {
			col++;
			p++;
		}
	}
	fwrite(line, 1, (size_t)(p - line), out->f);
	fputc('\n', out->f);
}
