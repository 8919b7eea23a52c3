/*
 * The action log: one JSON object per line for every call a process of the
 * run makes, so that tcpwatch can line the kernel's events up with the
 * application's calls.
 */
#ifndef TW_ACTLOG_H
#define TW_ACTLOG_H

#include <netinet/in.h>
#include <stdint.h>

struct run;

/* A socket's addresses as getsockname/getpeername last reported them. */
struct endpoint {
	char laddr[INET_ADDRSTRLEN];	/* "" until known */
	char raddr[INET_ADDRSTRLEN];
	int lport;			/* 0 until known */
	int rport;
	uint64_t cookie;		/* SO_COOKIE, the tracepoints' sock_cookie */
};

struct log_call {
	uint64_t ts_ns;			/* CLOCK_MONOTONIC when the call began */
	uint64_t end_ns;		/* ... and when it returned */
	const char *call;
	const char *arg;
	int fd;				/* -1: not about a socket */
	long ret;
	int err;			/* 0: the call succeeded */
	const struct endpoint *ep;	/* NULL: no socket */
};

void actlog_write(struct run *r, const struct log_call *c);
const char *errno_name(int err);

#endif
