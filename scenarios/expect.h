/*
 * Checks of what the application sees.  Each returns true when the kernel
 * did what the scenario predicts; otherwise it prints one "expectation
 * failed:" line and the run will exit 1, so a scenario reads
 * "if (!expect_ok(r, fd, "connect")) goto out_close;".
 */
#ifndef TW_EXPECT_H
#define TW_EXPECT_H

#include <stdbool.h>

#include "harness.h"

bool expect_ok(struct run *r, long ret, const char *what);
bool expect_err(struct run *r, long ret, int err, const char *what);
bool expect_eq(struct run *r, long got, long want, const char *what);
bool expect_true(struct run *r, bool cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
