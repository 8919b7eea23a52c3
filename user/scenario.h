/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_SCENARIO_H
#define TW_SCENARIO_H

#include "options.h"

/* --scenario list: the bundled scenarios, one per line. Returns the exit status. */
int scenario_list(void);
/* --scenario NAME|all: run under tracing, print the merged timeline. */
int scenario_main(const struct tw_options *o);

#endif
