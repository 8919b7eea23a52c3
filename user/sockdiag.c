// SPDX-License-Identifier: GPL-2.0
/*
 * NETLINK_SOCK_DIAG (what ss uses): the sockets the tracepoints cannot show,
 * such as timewait sockets, and queue lengths. A netlink socket answers for
 * the network namespace it was created in, so one is made inside the
 * namespace of the process that owns the socket asked about.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "sockdiag.h"

#define DIAG_BUF	16384

#define NETNS_CACHE	32

static void (*record_fn)(void *ctx, const struct diag_query *q,
			 const struct diag_answer *a);
static void *record_ctx;
static void (*replay_fn)(void *ctx, const struct diag_query *q,
			 struct diag_answer *a);
static void *replay_ctx;

static const char *const timer_names[DIAG_TIMER_MAX] = {
	[DIAG_TIMER_OFF] = "off",
	[DIAG_TIMER_RETRANS] = "retransmit",
	[DIAG_TIMER_KEEPALIVE] = "keepalive",
	[DIAG_TIMER_TIMEWAIT] = "timewait",
	[DIAG_TIMER_PROBE] = "probe",
};

const char *diag_timer_name(int timer)
{
	return timer >= 0 && timer < DIAG_TIMER_MAX ? timer_names[timer] : NULL;
}

int diag_timer_parse(const char *name)
{
	for (int i = 0; i < DIAG_TIMER_MAX; i++)
		if (!strcmp(timer_names[i], name))
			return i;
	return -1;
}

void sockdiag_record(void (*fn)(void *ctx, const struct diag_query *q,
				const struct diag_answer *a), void *ctx)
{
	record_fn = fn;
	record_ctx = ctx;
}

void sockdiag_replay(void (*fn)(void *ctx, const struct diag_query *q,
				struct diag_answer *a), void *ctx)
{
	replay_fn = fn;
	replay_ctx = ctx;
}

/*
 * Handles on the namespaces seen, oldest replaced first, each with the
 * NETLINK_SOCK_DIAG socket made inside it once (a TIME_WAIT hand-over asks
 * about every connection: making a socket each time meant two setns).
 */
static struct {
	__u32 inode;
	int fd;			/* > 0: open handle; else not found */
	int diag_fd;		/* > 0: its sock_diag socket, made on first use */
	time_t retry_at;	/* not found: look again from then */
} netns_cache[NETNS_CACHE];
static unsigned int netns_next;
static int own_diag_fd = -1;	/* ours */
static __u32 diag_seq;		/* answers to an earlier, abandoned question are skipped */

static __u32 own_netns(void)
{
	static __u32 own;
	struct stat st;

	if (!own && !stat("/proc/self/ns/net", &st))
		own = (__u32)st.st_ino;
	return own;
}

/* The slot of inode, or -1. */
static int netns_slot(__u32 inode)
{
	for (int i = 0; i < NETNS_CACHE; i++)
		if (netns_cache[i].inode == inode)
			return i;
	return -1;
}

/* A cached handle, -1 when not cached, -ESRCH when recently not found. */
static int cached_netns(__u32 inode)
{
	int i = netns_slot(inode);
	struct timespec now;

	if (i < 0)
		return -1;
	if (netns_cache[i].fd > 0)
		return netns_cache[i].fd;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < netns_cache[i].retry_at ? -ESRCH : -1;
}

static void close_slot(int i)
{
	if (netns_cache[i].fd > 0)
		close(netns_cache[i].fd);
	if (netns_cache[i].diag_fd > 0)
		close(netns_cache[i].diag_fd);
	memset(&netns_cache[i], 0, sizeof(netns_cache[i]));
}

static void cache_netns(__u32 inode, int fd)
{
	int slot = netns_slot(inode);
	struct timespec now;

	if (slot < 0)
		slot = (int)(netns_next++ % NETNS_CACHE);
	close_slot(slot);
	clock_gettime(CLOCK_MONOTONIC, &now);
	netns_cache[slot].inode = inode;
	netns_cache[slot].fd = fd;
	netns_cache[slot].retry_at = now.tv_sec + 1;
}

/* A handle on namespace inode through path, or -1. */
static int open_netns(const char *path, __u32 inode)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	/* A process may have moved on to another namespace since. */
	if (fstat(fd, &st) || (__u32)st.st_ino != inode) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Look in dir for an entry that is namespace inode: dir/NAME, or with
 * suffix "/ns/net" for /proc's per-process entries.
 */
static int scan_netns(const char *dir, const char *suffix, __u32 inode)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dp = opendir(dir);
	int fd = -1;

	if (!dp)
		return -1;
	while (fd < 0 && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", dir, d->d_name, suffix);
		fd = open_netns(path, inode);
	}
	closedir(dp);
	return fd;
}

/*
 * Namespace inode's processes may all be gone (a scenario's killed server):
 * a named namespace (ip netns) or any other process in it still leads there.
 */
static int find_netns(__u32 inode)
{
	int fd = cached_netns(inode);

	if (fd != -1)
		return fd;
	fd = scan_netns("/run/netns", "", inode);
	if (fd < 0)
		fd = scan_netns("/proc", "/ns/net", inode);
	cache_netns(inode, fd);
	return fd < 0 ? -ESRCH : fd;
}

int sockdiag_remember_netns(__u32 netns, pid_t pid)
{
	char path[64];
	int fd;

	/* A replayed pid is another machine's. */
	if (replay_fn || !netns || netns == own_netns() || cached_netns(netns) > 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open_netns(path, netns);
	if (fd < 0)
		return -ESRCH;
	cache_netns(netns, fd);
	return 0;
}

void sockdiag_forget_netns(void)
{
	for (int i = 0; i < NETNS_CACHE; i++)
		close_slot(i);
	if (own_diag_fd >= 0)
		close(own_diag_fd);
	own_diag_fd = -1;
}

/* A new NETLINK_SOCK_DIAG socket inside the namespace of handle target. */
static int new_diag_socket(int target)
{
	int self, fd, err;

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(target, CLONE_NEWNET)) {
		err = errno;
		if (self >= 0)
			close(self);
		errno = err;
		return -1;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	err = errno;
	/* Back home; failing that, this thread would trace the wrong netns. */
	if (setns(self, CLONE_NEWNET)) {
		perror("tcpwatch: setns back to our network namespace");
		_exit(1);
	}
	close(self);
	errno = err;
	return fd;
}

/*
 * The NETLINK_SOCK_DIAG socket of namespace netns (0: ours), made on first
 * use and kept: the caller does not close it.
 */
static int diag_socket(__u32 netns)
{
	int target, slot;

	if (!netns || netns == own_netns()) {
		if (own_diag_fd < 0)
			own_diag_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
					     NETLINK_SOCK_DIAG);
		return own_diag_fd;
	}
	target = find_netns(netns);
	if (target < 0) {
		errno = ESRCH;
		return -1;
	}
	slot = netns_slot(netns);
	if (netns_cache[slot].diag_fd <= 0) {
		int fd = new_diag_socket(target);

		if (fd < 0)
			return -1;
		netns_cache[slot].diag_fd = fd;
	}
	return netns_cache[slot].diag_fd;
}

struct diag_request {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 req;
};

static int diag_send(int fd, struct diag_request *r)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

	r->nlh.nlmsg_len = sizeof(*r);
	r->nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	r->nlh.nlmsg_seq = ++diag_seq;
	r->req.sdiag_protocol = IPPROTO_TCP;
	if (sendto(fd, r, sizeof(*r), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0)
		return -errno;
	return 0;
}

/*
 * Read answers until NLMSG_DONE (dump) or one answer (lookup), calling fn
 * for each socket. Returns the number of sockets or -errno.
 */
static int diag_recv(int fd, bool dump,
		     void (*fn)(const struct inet_diag_msg *m, void *ctx), void *ctx)
{
	static __thread char buf[DIAG_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	int n = 0;

	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		/*
		 * A signal (Ctrl-C) must not turn into an answer: a lookup cut
		 * short would read as "no such socket". The kernel answers at
		 * once, so wait for it.
		 */
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -errno;
		for (; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != diag_seq)
				continue;	/* the rest of an interrupted answer */
			if (h->nlmsg_type == NLMSG_DONE)
				return n;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : n;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			fn(NLMSG_DATA(h), ctx);
			n++;
		}
		if (!dump && n)
			return n;
	}
}

static void fill_one(const struct inet_diag_msg *m, void *ctx)
{
	struct diag_sock *d = ctx;
	size_t alen = m->idiag_family == AF_INET6 ? 16 : 4;

	memset(d, 0, sizeof(*d));
	d->state = m->idiag_state;
	d->expires_ms = m->idiag_expires;
	d->rqueue = m->idiag_rqueue;
	d->wqueue = m->idiag_wqueue;
	d->inode = m->idiag_inode;
	d->family = m->idiag_family;
	d->sport = ntohs(m->id.idiag_sport);
	d->dport = ntohs(m->id.idiag_dport);
	memcpy(d->saddr, m->id.idiag_src, alen);
	memcpy(d->daddr, m->id.idiag_dst, alen);
	d->timer = m->idiag_timer;
	d->retrans = m->idiag_retrans;
}

/* A query answered from the recording, or asked and maybe recorded. */
static bool replayed(const struct diag_query *q, struct diag_answer *a)
{
	memset(a, 0, sizeof(*a));
	if (!replay_fn)
		return false;
	replay_fn(replay_ctx, q, a);
	return true;
}

static int recorded(const struct diag_query *q, struct diag_answer *a, int ret)
{
	a->ret = ret;
	if (record_fn)
		record_fn(record_ctx, q, a);
	return ret;
}

static int lookup_live(const struct diag_query *q, struct diag_sock *out)
{
	struct diag_request r;
	size_t alen = q->family == AF_INET6 ? 16 : 4;
	int fd, n;

	memset(&r, 0, sizeof(r));
	r.nlh.nlmsg_flags = NLM_F_REQUEST;
	r.req.sdiag_family = (__u8)q->family;
	r.req.idiag_states = ~0U;
	r.req.id.idiag_sport = htons(q->sport);
	r.req.id.idiag_dport = htons(q->dport);
	memcpy(r.req.id.idiag_src, q->saddr, alen);
	memcpy(r.req.id.idiag_dst, q->daddr, alen);
	r.req.id.idiag_if = 0;
	r.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	r.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	fd = diag_socket(q->netns);
	if (fd < 0)
		return -errno;
	n = diag_send(fd, &r);
	if (!n)
		n = diag_recv(fd, false, fill_one, out);
	if (n < 0)
		return n;
	return n ? 0 : -ENOENT;
}

int sockdiag_lookup(__u32 netns, __u16 family, const __u8 *saddr, __u16 sport,
		    const __u8 *daddr, __u16 dport, struct diag_sock *out)
{
	struct diag_query q = {
		.kind = DIAG_LOOKUP, .netns = netns, .family = family,
		.sport = sport, .dport = dport, .state_mask = 0,
	};
	size_t alen = family == AF_INET6 ? 16 : 4;
	struct diag_answer a;

	memcpy(q.saddr, saddr, alen);
	memcpy(q.daddr, daddr, alen);
	if (replayed(&q, &a)) {
		*out = a.sock;
		return a.ret > 0 ? -EINVAL : a.ret;
	}
	a.ret = lookup_live(&q, &a.sock);
	*out = a.sock;
	return recorded(&q, &a, a.ret);
}

struct port_count {
	__u16 sport;
	int n;
};

static void count_port(const struct inet_diag_msg *m, void *ctx)
{
	struct port_count *c = ctx;

	if (!c->sport || ntohs(m->id.idiag_sport) == c->sport)
		c->n++;
}

/* A dump of both families' sockets in states state_mask, each to fn. */
static int dump_live(__u32 netns, __u32 state_mask,
		     void (*fn)(const struct inet_diag_msg *m, void *ctx), void *ctx)
{
	static const __u8 families[] = { AF_INET, AF_INET6 };
	int fd, err = 0, total = 0;

	fd = diag_socket(netns);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(families) && !err; i++) {
		struct diag_request r;

		memset(&r, 0, sizeof(r));
		r.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		r.req.sdiag_family = families[i];
		r.req.idiag_states = state_mask;
		err = diag_send(fd, &r);
		if (!err) {
			int n = diag_recv(fd, true, fn, ctx);

			err = n < 0 ? n : 0;
			total += n > 0 ? n : 0;
		}
	}
	return err ? err : total;
}

int sockdiag_count(__u32 netns, __u32 state_mask, __u16 sport)
{
	struct diag_query q = {
		.kind = DIAG_COUNT, .netns = netns, .family = 0, .sport = sport,
		.dport = 0, .state_mask = state_mask,
	};
	struct port_count c = { .sport = sport };
	struct diag_answer a;
	int err;

	if (replayed(&q, &a))
		return a.ret;
	err = dump_live(netns, state_mask, count_port, &c);
	return recorded(&q, &a, err < 0 ? err : c.n);
}

struct dump_ctx {
	int (*fn)(const struct diag_sock *d, void *ctx);
	void *ctx;
	bool stopped;
};

static void dump_one(const struct inet_diag_msg *m, void *ctx)
{
	struct dump_ctx *dc = ctx;
	struct diag_sock d;

	if (dc->stopped)
		return;		/* the rest of the dump is read and dropped */
	fill_one(m, &d);
	dc->stopped = dc->fn(&d, dc->ctx) != 0;
}

int sockdiag_dump(__u32 netns, __u32 state_mask,
		  int (*fn)(const struct diag_sock *d, void *ctx), void *ctx)
{
	struct dump_ctx dc = { .fn = fn, .ctx = ctx, .stopped = false };

	return dump_live(netns, state_mask, dump_one, &dc);
}
