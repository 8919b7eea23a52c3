/*
 * JSON Lines writer for the action log.  Each line goes out in a single
 * write() on an O_APPEND descriptor shared by all processes of the run, so
 * lines never interleave.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actlog.h"
#include "harness.h"

#define LINE_MAX_LEN	1024

struct line {
	char buf[LINE_MAX_LEN];
	size_t len;
	bool truncated;
};

static void line_add(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void line_add(struct line *l, const char *fmt, ...)
{
	size_t room = sizeof(l->buf) - l->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		l->truncated = true;
		return;
	}
	l->len += n;
}

static void line_str(struct line *l, const char *key, const char *val)
{
	const unsigned char *p;

	if (!val || !*val) {
		line_add(l, ",\"%s\":null", key);
		return;
	}
	line_add(l, ",\"%s\":\"", key);
	for (p = (const unsigned char *)val; *p; p++) {
		if (*p == '"' || *p == '\\')
			line_add(l, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			line_add(l, "\\u%04x", *p);
		else
			line_add(l, "%c", *p);
	}
	line_add(l, "\"");
}

static void line_port(struct line *l, const char *key, int port)
{
	if (port)
		line_add(l, ",\"%s\":%d", key, port);
	else
		line_add(l, ",\"%s\":null", key);
}

const char *errno_name(int err)
{
	static char unknown[16];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(unknown, sizeof(unknown), "E%d", err);
	return unknown;
}

/* The namespace's inode, as in sk->__sk_common.skc_net->ns.inum. */
static uint64_t current_netns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return 0;
	return st.st_ino;
}

void actlog_write(struct run *r, const struct log_call *c)
{
	const struct endpoint *ep = c->ep;
	struct line l = { .len = 0 };

	line_add(&l, "{\"ts_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64, c->ts_ns,
		 c->end_ns);
	line_add(&l, ",\"pid\":%d", (int)getpid());
	line_str(&l, "role", role_name(r->self));
	/* Per line: the harness visits the roles' namespaces. */
	line_add(&l, ",\"netns\":%" PRIu64, current_netns());
	if (c->fd >= 0)
		line_add(&l, ",\"fd\":%d", c->fd);
	else
		line_add(&l, ",\"fd\":null");
	line_str(&l, "call", c->call);
	line_str(&l, "arg", c->arg);
	line_add(&l, ",\"ret\":%ld", c->ret);
	line_str(&l, "errno", c->err ? errno_name(c->err) : NULL);
	line_str(&l, "laddr", ep ? ep->laddr : NULL);
	line_port(&l, "lport", ep ? ep->lport : 0);
	line_str(&l, "raddr", ep ? ep->raddr : NULL);
	line_port(&l, "rport", ep ? ep->rport : 0);
	if (ep && ep->cookie)
		line_add(&l, ",\"cookie\":%" PRIu64, ep->cookie);
	else
		line_add(&l, ",\"cookie\":null");
	line_add(&l, "}\n");

	if (l.truncated) {
		setup_error(r, "action log line for %s is too long", c->call);
		return;
	}
	run_debug(r, "%.*s", (int)l.len - 1, l.buf);
	if (write(r->log_fd, l.buf, l.len) == (ssize_t)l.len || r->log_failed)
		return;
	r->log_failed = true;
	setup_error(r, "cannot write the action log: %s", strerror(errno));
}
