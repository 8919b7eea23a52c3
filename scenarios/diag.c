/* Counting sockets by state and 4-tuple with NETLINK_SOCK_DIAG. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"

static const char *const tcp_state_names[] = {
	[TCP_ESTABLISHED] = "ESTABLISHED",
	[TCP_SYN_SENT] = "SYN_SENT",
	[TCP_SYN_RECV] = "SYN_RECV",
	[TCP_FIN_WAIT1] = "FIN_WAIT1",
	[TCP_FIN_WAIT2] = "FIN_WAIT2",
	[TCP_TIME_WAIT] = "TIME_WAIT",
	[TCP_CLOSE] = "CLOSE",
	[TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCP_LAST_ACK] = "LAST_ACK",
	[TCP_LISTEN] = "LISTEN",
	[TCP_CLOSING] = "CLOSING",
};

const char *tcp_state_name(int state)
{
	if (state < 0 || state >= (int)(sizeof(tcp_state_names) /
					 sizeof(tcp_state_names[0])) ||
	    !tcp_state_names[state])
		return "UNKNOWN";
	return tcp_state_names[state];
}

/* Fields of ep that are not known yet ("" or port 0) match anything. */
static bool ep_matches(const struct inet_diag_msg *m,
		       const struct endpoint *ep)
{
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];

	if (!ep)
		return true;
	inet_ntop(AF_INET, m->id.idiag_src, src, sizeof(src));
	inet_ntop(AF_INET, m->id.idiag_dst, dst, sizeof(dst));
	return (!ep->lport || ntohs(m->id.idiag_sport) == ep->lport) &&
	       (!ep->rport || ntohs(m->id.idiag_dport) == ep->rport) &&
	       (!ep->laddr[0] || !strcmp(src, ep->laddr)) &&
	       (!ep->raddr[0] || !strcmp(dst, ep->raddr));
}

/* Reads the dump's replies; returns the number of matches, or -1. */
static int count_replies(int fd, const struct endpoint *ep)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *h;
	int count = 0;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -1;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR) {
				errno = EPROTO;
				return -1;
			}
			count += ep_matches(NLMSG_DATA(h), ep);
		}
	}
}

int diag_count(int state, const struct endpoint *ep)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {
			.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		},
		.req = {
			.sdiag_family = AF_INET,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = 1u << state,
		},
	};
	int fd, count, err;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -1;
	if (send(fd, &msg, sizeof(msg), 0) != sizeof(msg))
		count = -1;
	else
		count = count_replies(fd, ep);
	err = errno;
	close(fd);
	errno = err;
	return count;
}
