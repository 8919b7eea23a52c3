/*
 * The private network of a run: a client and a server namespace (named after
 * the harness pid, so that concurrent runs never share one and leftovers can
 * be matched to a dead owner), joined by a veth pair or by the userspace wire.
 */
#ifndef TW_NETNS_H
#define TW_NETNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

enum role_id {
	ROLE_HARNESS,
	ROLE_CLIENT,
	ROLE_SERVER,
	ROLE_COUNT,
};

enum net_kind {
	NET_LOOPBACK,	/* 127.0.0.1 in the caller's namespace */
	NET_VETH,	/* two namespaces joined by a veth pair */
	NET_WIRE,	/* two namespaces joined by tun devices and wire.c */
};

#define NETNS_NAME_MAX	24

struct net {
	enum net_kind kind;
	char name[ROLE_COUNT][NETNS_NAME_MAX];	/* "" where none */
	int fd[ROLE_COUNT];			/* -1 where none */
	char ip[ROLE_COUNT][INET_ADDRSTRLEN];
	int home_fd;				/* the harness's own namespace */
	bool faulted;				/* nft rules are in place */
	bool held;				/* the wire holds packets */
	pid_t wire_pid;
	int wire_ctl;				/* commands to the wire */
	int wire_ack;				/* ... and its replies */
};

struct run;

void net_init(struct net *n);
int net_create(struct run *r, enum net_kind kind);
void net_destroy(struct run *r);
int net_enter(struct run *r, enum role_id side);
int net_leave(struct run *r);
int net_sysctl(struct run *r, enum role_id side, const char *key,
	       const char *value);
struct endpoint;
int net_diag(struct run *r, enum role_id side, int state,
	     const struct endpoint *ep);
int net_diag_wait(struct run *r, enum role_id side, int state,
		  const struct endpoint *ep, int want, int timeout_ms);
int net_cleanup_stale(void);

#endif
