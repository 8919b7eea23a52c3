/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_REPLAY_H
#define TW_REPLAY_H

#include "options.h"

/* Exit status of tcpwatch report when some lines were bad (and skipped). */
#define TW_EXIT_BAD_LINES	3

/*
 * tcpwatch report FILE: read a recording (--record) and print what the live
 * run printed, the explanations rebuilt by the same analyzer: no BPF, no
 * privileges, no kernel BTF (reset reasons are named by the recording).
 * A bad line is reported as "tcpwatch: FILE:LINE: what is wrong" and
 * skipped. Returns the exit status: 0, TW_EXIT_BAD_LINES, or 1 when the
 * file cannot be read or the output cannot be written.
 */
int replay_main(const struct tw_options *o);

#endif
