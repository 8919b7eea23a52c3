/* Expectations: one "expectation failed:" line on stderr per mismatch. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "expect.h"

static bool fail(struct run *r, const char *what, const char *detail)
{
	say("expectation failed: %s: %s: %s", role_name(r->self), what, detail);
	r->failures++;
	return false;
}

static void format_result(char *buf, size_t len, long ret, int err)
{
	if (ret == -1)
		snprintf(buf, len, "-1 %s", errno_name(err));
	else
		snprintf(buf, len, "%ld", ret);
}

bool expect_ok(struct run *r, long ret, const char *what)
{
	char detail[96];

	if (ret >= 0)
		return true;
	snprintf(detail, sizeof(detail), "got -1 %s, want success",
		 errno_name(errno));
	return fail(r, what, detail);
}

bool expect_err(struct run *r, long ret, int err, const char *what)
{
	char got[48], detail[96];

	if (ret == -1 && errno == err)
		return true;
	format_result(got, sizeof(got), ret, errno);
	snprintf(detail, sizeof(detail), "got %s, want -1 %s", got,
		 errno_name(err));
	return fail(r, what, detail);
}

bool expect_eq(struct run *r, long got, long want, const char *what)
{
	char detail[96];

	if (got == want)
		return true;
	snprintf(detail, sizeof(detail), "got %ld, want %ld", got, want);
	return fail(r, what, detail);
}

bool expect_true(struct run *r, bool cond, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (cond)
		return true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	say("expectation failed: %s: %s", role_name(r->self), what);
	r->failures++;
	return false;
}
