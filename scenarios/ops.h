/*
 * Socket calls as the scenarios make them: each performs the system call,
 * appends one line to the action log and returns the call's result with
 * errno preserved, so scenario code reads like the application it imitates.
 */
#ifndef TW_OPS_H
#define TW_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "harness.h"

int op_socket(struct run *r, int flags);
int op_bind(struct run *r, int fd, const char *ip, int port);
int op_listen(struct run *r, int fd, int backlog);
int op_connect(struct run *r, int fd, const char *ip, int port);
int op_accept(struct run *r, int fd);
ssize_t op_read(struct run *r, int fd, void *buf, size_t len);
ssize_t op_write(struct run *r, int fd, const void *buf, size_t len);
int op_shutdown(struct run *r, int fd, int how);
int op_close(struct run *r, int fd);
int op_setsockopt(struct run *r, int fd, int level, int name, int value,
		  const char *what);
int op_linger(struct run *r, int fd, int onoff, int seconds);
int op_poll(struct run *r, int fd, short events, int timeout_ms);
int op_catch_signal(struct run *r, int sig);
int signals_caught(int sig);
int op_kill(struct run *r, enum role_id role, int sig);
int op_diag(struct run *r, int state, const struct endpoint *ep);
int op_diag_wait(struct run *r, int state, const struct endpoint *ep,
		 int want, int timeout_ms);

void op_record(struct run *r, const char *call, const char *arg,
		uint64_t ts_ns, long ret, int err);

int endpoint_port(struct run *r, int fd);
const struct endpoint *endpoint_of(struct run *r, int fd);

#endif
