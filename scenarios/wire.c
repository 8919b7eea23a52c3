/*
 * The wire process: forwards IP packets between the client's and the
 * server's tun device.  While holding it queues them, and on release it
 * delivers them in arrival order - so both peers can send before either
 * receives, which is what a simultaneous close needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "wire.h"

#define WIRE_HELD_MAX	64
#define WIRE_PKT_MAX	2048
#define WIRE_ACK_MS	2000

struct held_packet {
	int to;
	size_t len;
	unsigned char data[WIRE_PKT_MAX];
};

struct wire {
	int tun[2];
	bool holding;
	int nheld;
	struct held_packet held[WIRE_HELD_MAX];
};

static void deliver(int to, const void *pkt, size_t len)
{
	/* A packet the device refuses is lost, as on a real wire. */
	if (write(to, pkt, len) != (ssize_t)len)
		return;
}

static void wire_forward(struct wire *w, int from)
{
	unsigned char buf[WIRE_PKT_MAX];
	int to = w->tun[!from];
	struct held_packet *p;
	ssize_t n;

	n = read(w->tun[from], buf, sizeof(buf));
	if (n <= 0)
		return;
	if (!w->holding) {
		deliver(to, buf, n);
		return;
	}
	/* Like a full queue, a wire that holds too much drops. */
	if (w->nheld == WIRE_HELD_MAX)
		return;
	p = &w->held[w->nheld++];
	p->to = to;
	p->len = n;
	memcpy(p->data, buf, n);
}

static void wire_release(struct wire *w)
{
	int i;

	for (i = 0; i < w->nheld; i++)
		deliver(w->held[i].to, w->held[i].data, w->held[i].len);
	w->nheld = 0;
	w->holding = false;
}

static void __attribute__((noreturn)) wire_main(struct wire *w, int ctl, int ack)
{
	struct pollfd pfd[3] = {
		{ .fd = w->tun[0], .events = POLLIN },
		{ .fd = w->tun[1], .events = POLLIN },
		{ .fd = ctl, .events = POLLIN },
	};
	char cmd;
	int i;

	for (;;) {
		if (poll(pfd, 3, -1) < 0)
			continue;
		if (pfd[2].revents) {
			if (read(ctl, &cmd, 1) != 1)
				_exit(0);
			if (cmd == WIRE_HOLD)
				w->holding = true;
			else
				wire_release(w);
			if (write(ack, &cmd, 1) != 1)
				_exit(1);
		}
		for (i = 0; i < 2; i++)
			if (pfd[i].revents & POLLIN)
				wire_forward(w, i);
	}
}

pid_t wire_start(int client_tun, int server_tun, int *ctl, int *ack)
{
	static struct wire w;
	int ctl_pipe[2], ack_pipe[2];
	pid_t pid;

	if (pipe2(ctl_pipe, O_CLOEXEC))
		return -1;
	if (pipe2(ack_pipe, O_CLOEXEC))
		goto out_close_ctl;
	pid = fork();
	if (pid < 0)
		goto out_close_ack;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ctl_pipe[1]);
		close(ack_pipe[0]);
		w.tun[0] = client_tun;
		w.tun[1] = server_tun;
		wire_main(&w, ctl_pipe[0], ack_pipe[1]);
	}
	close(ctl_pipe[0]);
	close(ack_pipe[1]);
	*ctl = ctl_pipe[1];
	*ack = ack_pipe[0];
	return pid;

out_close_ack:
	close(ack_pipe[0]);
	close(ack_pipe[1]);
out_close_ctl:
	close(ctl_pipe[0]);
	close(ctl_pipe[1]);
	return -1;
}

/* Sends a command and waits for the wire to confirm it took effect. */
int wire_command(int ctl, int ack, enum wire_cmd cmd)
{
	struct pollfd pfd = { .fd = ack, .events = POLLIN };
	char c = cmd, reply;

	if (write(ctl, &c, 1) != 1)
		return -1;
	if (poll(&pfd, 1, WIRE_ACK_MS) != 1 || read(ack, &reply, 1) != 1)
		return -1;
	return reply == c ? 0 : -1;
}
