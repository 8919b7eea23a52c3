/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMTEST_PEER_H
#define VMTEST_PEER_H

#include <stdbool.h>
#include <sys/types.h>

#include "harness.h"

/*
 * Loopback clients and servers, each its own process (so that --pid has
 * an owner to attribute to) with its own name. A peer waits, before it
 * touches the network, until it is told to go: tcpwatch attaches first.
 */
enum role {
	SERVER_READ_TO_EOF,	/* accept, read to EOF, close */
	SERVER_CLOSE_UNREAD,	/* accept, close once data is queued, unread */
	CLIENT_SEND_CLOSE,	/* connect, send, close */
	CLIENT_EXPECT_RESET,	/* connect, send, block in recv() until reset */
};

struct peer {
	pid_t pid;
	bool done;		/* its result was read and it was reaped */
	int to;			/* parent -> peer: go (a client's port to connect to) */
	int from;		/* peer -> parent: a server's port, then the result */
};

#define PEER_INIT	{ .pid = 0, .done = false, .to = -1, .from = -1 }

/* What the application saw: errno values, 0 for success. */
struct peer_result {
	int port;		/* a server's listening port */
	int local_port;		/* a client's, once connected */
	int connect_err;
	int send_err;
	int recv_err;
	bool read_eof;
};

bool peer_start(struct tctx *t, struct peer *p, enum role role, const char *comm);
/* Tell a server to listen on 127.0.0.1; its port. 0 on failure. */
int peer_listen(struct tctx *t, struct peer *p);
/* Tell a client to connect to 127.0.0.1:port. */
bool peer_connect(struct tctx *t, struct peer *p, int port);
/* Its result once it is done; it has exited then. */
bool peer_result(struct tctx *t, struct peer *p, struct peer_result *r);
/* Kill it if still running, and let go of it (cleanup; any state). */
void peer_end(struct peer *p);

/* A port on 127.0.0.1 that nothing listens on. */
int closed_port(void);

#endif
