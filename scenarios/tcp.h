/* The connection set-up most scenarios start with. */
#ifndef TW_TCP_H
#define TW_TCP_H

#include "harness.h"

int tcp_serve(struct run *r, int backlog);
int tcp_accept(struct run *r, int lfd);
int tcp_server_port(struct run *r);
int tcp_dial(struct run *r);

#endif
