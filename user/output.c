// SPDX-License-Identifier: GPL-2.0
/* Where events go, and what the formats share. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "names.h"
#include "output.h"

static __s64 mono_to_real_offset(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return (real.tv_sec - mono.tv_sec) * 1000000000LL +
	       (real.tv_nsec - mono.tv_nsec);
}

/*
 * Lines are written whole, in batches: the tracer flushes after every
 * drain of the ring buffer (events reach user space only then, so a reader
 * of the pipe or file sees each line as soon as before), and a batch is
 * written early once it passes OUT_BATCH, at the end of a line. Lines are
 * far shorter than OUT_BUF - OUT_BATCH, so stdio never splits one. A
 * terminal keeps stdio's line buffering.
 */
#define OUT_BUF		(256 * 1024)
#define OUT_BATCH	(128 * 1024)

/*
 * The buffer is ours: given none, glibc's setvbuf() keeps the file's block
 * size (4 KiB) whatever size is asked, and every write into a new page of
 * the page cache costs as much as a few lines. Static, since the process
 * has one output and stdout may be flushed after output_close(), at exit.
 */
static char out_buf[OUT_BUF];

static void set_buffer(struct tw_output *out)
{
	/* One thread writes: stdio need not lock for every character. */
	__fsetlocking(out->f, FSETLOCKING_BYCALLER);
	if (isatty(fileno(out->f)))
		return;
	out->batched = !setvbuf(out->f, out_buf, _IOFBF, sizeof(out_buf));
}

int output_open(struct tw_output *out, const struct tw_options *o)
{
	memset(out, 0, sizeof(*out));
	out->format = o->format;
	out->mono_to_real_ns = mono_to_real_offset();
	if (!o->output) {
		out->f = stdout;
		out->path = "standard output";
		set_buffer(out);
		return 0;
	}
	out->path = o->output;
	out->f = fopen(o->output, "we");
	if (!out->f) {
		fprintf(stderr, "tcpwatch: cannot write %s: %s\n", o->output,
			strerror(errno));
		return -errno;
	}
	set_buffer(out);
	return 0;
}

void output_flush(struct tw_output *out)
{
	if (fflush(out->f) && !out->failed) {
		out->failed = true;
		out->err = errno;
	}
}

/* After each line: written now if unbatched or the batch is big enough. */
static void line_done(struct tw_output *out)
{
	if (!out->batched || __fpending(out->f) >= OUT_BATCH)
		output_flush(out);
}

int output_close(struct tw_output *out)
{
	if (!out->f)
		return 0;
	output_flush(out);
	if (out->f != stdout && fclose(out->f) && !out->failed) {
		out->failed = true;
		out->err = errno;
	}
	out->f = NULL;
	return out->failed ? -out->err : 0;
}

void output_header(struct tw_output *out)
{
	if (out->format == TW_FMT_TEXT) {
		text_header(out);
		output_flush(out);
	}
}

void output_event(struct tw_output *out, const struct tw_event *e)
{
	if (out->failed)
		return;
	if (out->format == TW_FMT_JSON)
		json_event(out, e);
	else
		text_event(out, e);
	line_done(out);
}

void output_lost(struct tw_output *out, __u64 now_ns, __u64 lost, __u64 total)
{
	fprintf(stderr, "tcpwatch: %llu events lost (%llu in all): the ring buffer "
		"was full; raise --buffer\n", (unsigned long long)lost,
		(unsigned long long)total);
	if (out->format == TW_FMT_JSON && !out->failed) {
		json_lost(out, now_ns, lost, total);
		output_flush(out);
	}
}

void output_summary(struct tw_output *out, const struct tw_stats *st)
{
	fprintf(stderr, "\n%llu events:", (unsigned long long)st->events);
	for (int t = 1; t < TW_EV_MAX; t++)
		fprintf(stderr, " %s %llu%s", event_type_name(t),
			(unsigned long long)st->by_type[t],
			t + 1 < TW_EV_MAX ? "," : ";");
	fprintf(stderr, " %llu lost, %llu filtered in the kernel",
		(unsigned long long)st->lost, (unsigned long long)st->filtered);
	if (st->evicted)
		fprintf(stderr, "; %llu connections evicted from full tables",
			(unsigned long long)st->evicted);
	if (st->skipped)
		fprintf(stderr, "; %llu hook runs skipped by the kernel (a hook fired "
			"while a program ran on that CPU): their events are missing",
			(unsigned long long)st->skipped);
	fputc('\n', stderr);
	if (out->format == TW_FMT_JSON && !out->failed) {
		json_summary(out, st);
		output_flush(out);
	}
}

void output_action(struct tw_output *out, const struct jobject *o, __u64 ts_ns)
{
	if (out->failed)
		return;
	if (out->format == TW_FMT_JSON)
		json_action(out, o, ts_ns);
	else
		text_action(out, o, ts_ns);
	line_done(out);
}

void output_scenario(struct tw_output *out, const char *name, int status,
		     const struct tw_stats *st)
{
	if (status == 0)
		fprintf(stderr, "scenario %s: the application saw what the scenario "
			"expects", name);
	else
		fprintf(stderr, "scenario %s: the application did NOT see what the "
			"scenario expects (exit %d)", name, status);
	fprintf(stderr, "; %llu kernel events, %llu lost",
		(unsigned long long)st->events, (unsigned long long)st->lost);
	if (st->skipped)
		fprintf(stderr, ", %llu hook runs skipped by the kernel",
			(unsigned long long)st->skipped);
	fputc('\n', stderr);
	if (out->format == TW_FMT_JSON && !out->failed) {
		json_scenario(out, name, status, st);
		output_flush(out);
	}
}

void output_explain(struct tw_output *out, const struct explanation *x)
{
	if (out->failed)
		return;
	if (out->format == TW_FMT_JSON)
		json_explain(out, x);
	else
		text_explain(out, x);
	line_done(out);
}

void output_snapshot(struct tw_output *out, const struct snapshot_sock *s)
{
	if (out->failed)
		return;
	if (out->format == TW_FMT_JSON)
		json_snapshot(out->f, out, s, false);
	else
		text_snapshot(out, s);
	line_done(out);
}

void output_connection(struct tw_output *out, const struct conn *c, __u64 end_ns)
{
	if (out->failed || out->format != TW_FMT_JSON)
		return;
	json_connection(out, c, end_ns);
	line_done(out);
}

/* v in decimal at p; returns the end. */
static char *put_uint(char *p, unsigned int v)
{
	char digits[10];
	int n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*p++ = digits[--n];
	return p;
}

/* An address byte in decimal at p; returns the end. */
static char *put_octet(char *p, unsigned int v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* v < 10^width in width digits, zeros first, at p; returns the end. */
static char *put_fixed(char *p, unsigned long v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + width;
}

/* s[0, n) into buf, a string of at most len - 1 bytes, as snprintf() cuts it. */
static void put_cut(char *buf, size_t len, const char *s, size_t n)
{
	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

void str_join(char *buf, size_t len, ...)
{
	const char *s;
	size_t n = 0;
	va_list ap;

	if (!len)
		return;
	va_start(ap, len);
	while ((s = va_arg(ap, const char *))) {
		size_t m = strlen(s);

		if (m > len - 1 - n)
			m = len - 1 - n;
		memcpy(buf + n, s, m);
		n += m;
	}
	va_end(ap);
	buf[n] = '\0';
}

void uint_str(char *buf, size_t len, unsigned int v)
{
	char s[16];

	put_cut(buf, len, s, (size_t)(put_uint(s, v) - s));
}

/*
 * Every line of text shows two endpoints, and so does every explanation:
 * an IPv4 address is spelled here as inet_ntop() spells it, without the
 * sprintf() it makes per byte. IPv6 (with its :: rules) is left to it.
 */
char *addr_put(char *p, __u16 family, const __u8 *addr)
{
	if (family != AF_INET6) {
		for (int i = 0; i < 4; i++) {
			if (i)
				*p++ = '.';
			p = put_octet(p, addr[i]);
		}
		return p;
	}
	if (!inet_ntop(AF_INET6, addr, p, ADDR_TEXT_MAX))
		return stpcpy(p, "?");
	return p + strlen(p);
}

_Static_assert(ADDR_TEXT_MAX == INET6_ADDRSTRLEN, "room for inet_ntop()");

void addr_str(char *buf, size_t len, __u16 family, const __u8 *addr)
{
	char s[ADDR_TEXT_MAX];

	put_cut(buf, len, s, (size_t)(addr_put(s, family, addr) - s));
}

/* ss's spelling: 127.0.0.1:80, [::1]:80 (cut to len as snprintf() would). */
void endpoint_str(char *buf, size_t len, __u16 family, const __u8 *addr,
		  __u16 port)
{
	char a[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN + 8], *p = s;

	addr_str(a, sizeof(a), family, addr);
	if (family == AF_INET6)
		*p++ = '[';
	p = stpcpy(p, a);
	if (family == AF_INET6)
		*p++ = ']';
	*p++ = ':';
	p = put_uint(p, port);
	put_cut(buf, len, s, (size_t)(p - s));
}

/*
 * Wall-clock time of a monotonic stamp: HH:MM:SS.mmm, or ISO 8601 UTC.
 * Every event is stamped and most share their second with the one before:
 * the broken-down time of the last second is kept, for each form.
 */
char *clock_put(char *p, const struct tw_output *out, __u64 ts_ns, bool iso)
{
	static struct {
		bool valid;
		time_t sec;
		size_t len;
		char hms[32];
	} last[2];
	/* Unsigned: a stamp from a hostile recording may be anything. */
	__s64 real = (__s64)(ts_ns + (__u64)out->mono_to_real_ns);
	time_t sec = (time_t)(real / 1000000000LL);
	long nsec = (long)(real % 1000000000LL);
	struct tm tm;

	/* Floor division: a stamp before the epoch still has a positive fraction. */
	if (nsec < 0) {
		nsec += 1000000000L;
		sec--;
	}
	if (!last[iso].valid || last[iso].sec != sec) {
		if (iso) {
			gmtime_r(&sec, &tm);
			strftime(last[iso].hms, sizeof(last[iso].hms),
				 "%Y-%m-%dT%H:%M:%S", &tm);
		} else {
			localtime_r(&sec, &tm);
			strftime(last[iso].hms, sizeof(last[iso].hms), "%H:%M:%S", &tm);
		}
		last[iso].len = strnlen(last[iso].hms, sizeof(last[iso].hms) - 1);
		last[iso].sec = sec;
		last[iso].valid = true;
	}
	/* "%s.%06ldZ" or "%s.%03ld", without printf: a stamp on every line. */
	memcpy(p, last[iso].hms, last[iso].len);
	p += last[iso].len;
	*p++ = '.';
	if (iso) {
		p = put_fixed(p, (unsigned long)nsec / 1000, 6);
		*p++ = 'Z';
	} else {
		p = put_fixed(p, (unsigned long)nsec / 1000000, 3);
	}
	return p;
}

void clock_str(char *buf, size_t len, const struct tw_output *out,
	       __u64 ts_ns, bool iso)
{
	char s[CLOCK_TEXT_MAX];

	put_cut(buf, len, s, (size_t)(clock_put(s, out, ts_ns, iso) - s));
}
