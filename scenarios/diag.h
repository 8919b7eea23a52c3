/*
 * sock_diag queries: the only way to see TIME_WAIT and the other timewait
 * sub-states, which no tracepoint reports (catalogue fact 1).
 */
#ifndef TW_DIAG_H
#define TW_DIAG_H

#include "actlog.h"

const char *tcp_state_name(int state);
int diag_count(int state, const struct endpoint *ep);

#endif
