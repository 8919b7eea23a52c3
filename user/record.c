// SPDX-License-Identifier: GPL-2.0
/* --record: the raw trace, one JSON object per line. */
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "json.h"
#include "names.h"
#include "record.h"

static FILE *line_start(struct tw_recorder *r)
{
	return r && r->f && !r->failed ? r->f : NULL;
}

static void write_failed(struct tw_recorder *r)
{
	r->failed = true;
	r->err = errno ? errno : EIO;
	fprintf(stderr, "tcpwatch: cannot write %s: %s; the recording stops "
		"here\n", r->path, strerror(r->err));
}

void record_flush(struct tw_recorder *r)
{
	if (r && r->f && !r->failed && (ferror(r->f) || fflush(r->f)))
		write_failed(r);
}

/*
 * Lines are written whole, in batches, as the output's are (output.c): at
 * every drain of the ring buffer (record_flush), or once a batch passes
 * REC_BATCH.
 */
#define REC_BUF		(256 * 1024)
#define REC_BATCH	(128 * 1024)

/* Ours, as the output's is (glibc's setvbuf() sizes a NULL buffer itself). */
static char rec_buf[REC_BUF];

static void line_end(struct tw_recorder *r)
{
	if (ferror(r->f))
		write_failed(r);
	else if (__fpending(r->f) >= REC_BATCH)
		record_flush(r);
}

static void put_str(FILE *f, const char *key, const char *val, size_t len)
{
	fprintf(f, ",\"%s\":", key);
	json_write_str(f, val, len);
}

/* Text for AF_INET/AF_INET6 (IPv4 in the first 4 bytes), else 32 hex digits. */
static void put_addr(FILE *f, const char *key, __u16 family, const __u8 *addr)
{
	char a[64];

	if (family == AF_INET || family == AF_INET6) {
		addr_str(a, sizeof(a), family, addr);
		fprintf(f, ",\"%s\":\"%s\"", key, a);
		return;
	}
	fprintf(f, ",\"%s\":\"", key);
	for (int i = 0; i < 16; i++)
		fprintf(f, "%02x", addr[i]);
	fputc('"', f);
}

static void put_comm(FILE *f, const char *comm)
{
	put_str(f, "comm", comm, strnlen(comm, TW_COMM_LEN));
	json_comm_hex(f, comm);
}

static void put_list(FILE *f, const char *key, const int *v, int n)
{
	fprintf(f, ",\"%s\":\"", key);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%d", i ? "," : "", v[i]);
	fputc('"', f);
}

int record_open(struct tw_recorder *r, const struct tw_options *o,
		const struct tw_output *out)
{
	int pids[TW_MAX_PIDS], ports[TW_MAX_PORTS];
	struct utsname u;
	FILE *f;

	memset(r, 0, sizeof(*r));
	if (!o->record)
		return 0;
	r->path = o->record;
	r->f = fopen(o->record, "we");
	if (!r->f) {
		fprintf(stderr, "tcpwatch: cannot write %s: %s\n", o->record,
			strerror(errno));
		return -errno;
	}
	f = r->f;
	setvbuf(f, rec_buf, _IOFBF, sizeof(rec_buf));
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	for (int i = 0; i < o->npids; i++)
		pids[i] = o->pids[i];
	for (int i = 0; i < o->nports; i++)
		ports[i] = o->ports[i];
	fprintf(f, "{\"type\":\"recording\",\"version\":%d", RECORD_VERSION);
	put_str(f, "host", u.nodename, sizeof(u.nodename));
	put_str(f, "kernel", u.release, sizeof(u.release));
	fprintf(f, ",\"mono_to_real_ns\":%lld", (long long)out->mono_to_real_ns);
	if (o->scenario)
		put_str(f, "scenario", o->scenario, strlen(o->scenario));
	else
		fputs(",\"scenario\":null", f);
	put_list(f, "pids", pids, o->npids);
	put_list(f, "ports", ports, o->nports);
	fprintf(f, ",\"family\":%s,\"follow\":%s,\"calls\":%s,\"stuck\":%.17g}\n",
		o->family == AF_INET ? "\"AF_INET\"" :
		o->family == AF_INET6 ? "\"AF_INET6\"" : "null",
		o->follow ? "true" : "false", o->no_calls ? "false" : "true",
		o->stuck);
	record_flush(r);
	if (r->failed) {
		fclose(r->f);
		r->f = NULL;
		return -r->err;
	}
	return 0;
}

int record_close(struct tw_recorder *r)
{
	if (!r->f)
		return 0;
	if (fclose(r->f) && !r->failed) {
		r->failed = true;
		r->err = errno;
		fprintf(stderr, "tcpwatch: cannot write %s: %s\n", r->path,
			strerror(r->err));
	}
	r->f = NULL;
	return r->failed ? -r->err : 0;
}

void record_event(struct tw_recorder *r, const struct tw_event *e)
{
	FILE *f = line_start(r);
	const char *reason;

	if (!f)
		return;
	fprintf(f, "{\"type\":\"event\",\"event\":\"%s\",\"ts_ns\":%llu,"
		"\"sk\":\"0x%llx\",\"pid\":%u", event_type_name(e->type),
		(unsigned long long)e->ts_ns, (unsigned long long)e->skaddr, e->pid);
	put_comm(f, e->comm);
	fprintf(f, ",\"owner_how\":%u,\"cpu_pid\":%u,\"netns\":%u,\"family\":%u",
		e->owner_how, e->cpu_pid, e->netns, e->family);
	put_addr(f, "saddr", e->family, e->saddr);
	fprintf(f, ",\"sport\":%u", e->sport);
	put_addr(f, "daddr", e->family, e->daddr);
	fprintf(f, ",\"dport\":%u,\"oldstate\":%u,\"newstate\":%u,\"flags\":%u,"
		"\"value\":%d,\"reason\":%u", e->dport, e->oldstate, e->newstate,
		e->flags, e->value, e->reason);
	/* The name this kernel's BTF gives: a replay has no BTF to ask. */
	reason = e->type == TW_EV_RST_SENT && (e->flags & TW_F_HAS_REASON) ?
		 rst_reason_name(e->reason) : NULL;
	if (reason)
		fprintf(f, ",\"reason_name\":\"%s\"", reason);
	fprintf(f, ",\"fd\":%d,\"arg\":%u,\"arg2\":%d}\n", e->fd, e->arg, e->arg2);
	line_end(r);
}

void record_snapshot(struct tw_recorder *r, const struct tw_output *out,
		     const struct snapshot_sock *s)
{
	FILE *f = line_start(r);

	if (!f)
		return;
	json_snapshot(f, out, s, true);
	line_end(r);
}

static void record_stamp(struct tw_recorder *r, const char *type, __u64 ts)
{
	FILE *f = line_start(r);

	if (!f)
		return;
	fprintf(f, "{\"type\":\"%s\",\"ts_ns\":%llu}\n", type, (unsigned long long)ts);
	line_end(r);
}

void record_start(struct tw_recorder *r, __u64 now_ns)
{
	record_stamp(r, "start", now_ns);
}

void record_tick(struct tw_recorder *r, __u64 now_ns)
{
	record_stamp(r, "tick", now_ns);
}

void record_end(struct tw_recorder *r, __u64 now_ns)
{
	record_stamp(r, "end", now_ns);
}

void record_lost(struct tw_recorder *r, __u64 now_ns, __u64 lost, __u64 total)
{
	FILE *f = line_start(r);

	if (!f)
		return;
	fprintf(f, "{\"type\":\"lost\",\"ts_ns\":%llu,\"count\":%llu,\"total\":%llu}\n",
		(unsigned long long)now_ns, (unsigned long long)lost,
		(unsigned long long)total);
	line_end(r);
}

void record_stop(struct tw_recorder *r, const struct tw_stats *st, __u64 now_ns)
{
	FILE *f = line_start(r);

	if (!f)
		return;
	fprintf(f, "{\"type\":\"stop\",\"ts_ns\":%llu,\"lost\":%llu,\"filtered\":%llu,"
		"\"malformed\":%llu,\"skipped\":%llu}\n", (unsigned long long)now_ns,
		(unsigned long long)st->lost, (unsigned long long)st->filtered,
		(unsigned long long)st->malformed, (unsigned long long)st->skipped);
	line_end(r);
}

void record_action(struct tw_recorder *r, const struct jobject *o, __u64 ts_ns)
{
	struct tw_output out = { .f = line_start(r), .format = TW_FMT_JSON };

	if (!out.f)
		return;
	json_action(&out, o, ts_ns);
	line_end(r);
}

void record_scenario_start(struct tw_recorder *r, const char *name, pid_t pid)
{
	FILE *f = line_start(r);

	if (!f)
		return;
	fputs("{\"type\":\"scenario_start\"", f);
	put_str(f, "name", name, strlen(name));
	fprintf(f, ",\"pid\":%d}\n", (int)pid);
	line_end(r);
}

void record_scenario_end(struct tw_recorder *r, const char *name, int status,
			 const struct tw_stats *st)
{
	struct tw_output out = { .f = line_start(r), .format = TW_FMT_JSON };

	if (!out.f)
		return;
	json_scenario(&out, name, status, st);
	line_end(r);
}

void record_diag(void *ctx, const struct diag_query *q, const struct diag_answer *a)
{
	struct tw_recorder *r = ctx;
	FILE *f = line_start(r);

	if (!f)
		return;
	if (q->kind == DIAG_COUNT) {
		fprintf(f, "{\"type\":\"diag\",\"query\":\"count\",\"netns\":%u,"
			"\"state_mask\":%u,\"sport\":%u,\"ret\":%d}\n", q->netns,
			q->state_mask, q->sport, a->ret);
		line_end(r);
		return;
	}
	fprintf(f, "{\"type\":\"diag\",\"query\":\"lookup\",\"netns\":%u,\"family\":%u",
		q->netns, q->family);
	put_addr(f, "saddr", q->family, q->saddr);
	fprintf(f, ",\"sport\":%u", q->sport);
	put_addr(f, "daddr", q->family, q->daddr);
	fprintf(f, ",\"dport\":%u,\"ret\":%d,\"state\":%d,\"expires_ms\":%u,"
		"\"rqueue\":%u,\"wqueue\":%u,\"inode\":%llu,\"timer\":%u}\n",
		q->dport, a->ret, a->sock.state, a->sock.expires_ms, a->sock.rqueue,
		a->sock.wqueue, (unsigned long long)a->sock.inode, a->sock.timer);
	line_end(r);
}
