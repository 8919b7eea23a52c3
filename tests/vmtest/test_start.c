// SPDX-License-Identifier: GPL-2.0
/*
 * tcpwatch loads and attaches in this kernel: tp_btf where the kernel has
 * it, the classic tracepoints with --classic (tw_stop checks the start line,
 * the messages and the summary of every run).
 */
#include "harness.h"

void test_start(struct tctx *t, const struct mode *m)
{
	const struct ev *summary;

	if (!tw_start(t, m, NULL) || !tw_stop(t))
		return;
	/* Nothing else in the guest uses TCP. */
	summary = &t->tw.evs.v[t->tw.evs.n - 1];
	CHECK(t, ev_int(summary, "events") == 0, "%lld events in an idle guest",
	      ev_int(summary, "events"));
}
