// SPDX-License-Identifier: GPL-2.0
/*
 * tcpwatch kernel side: TCP state changes, resets, retransmissions, socket
 * errors and socket destruction, attributed to the process that owns the
 * socket and filtered in the kernel.
 *
 * Every hook has one handler taking a socket pointer, and two thin entry
 * points: tp_btf (preferred: typed arguments, cheapest) and the classic
 * tracepoint (fallback when tracing programs are refused). The loader picks
 * one of each pair before load.
 *
 * Ownership (see ../shared/tcp-behaviours.md, "the current pid is not the
 * socket's owner"): most events run in softirq or, on loopback, in the peer's
 * context, so the on-CPU task says nothing. The owner is recorded where the
 * kernel does run in the owner's context (CLOSE -> SYN_SENT inside connect(),
 * CLOSE -> LISTEN inside listen()), inherited by a listener's children,
 * found through the socket's inode for sockets that existed before attach
 * (user space seeds owners_by_inode from /proc/PID/fd), and kept by 4-tuple
 * for the timewait mini-socket that outlives a closed socket.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcpwatch.h"
#include "common.bpf.h"

#define IPPROTO_TCP	6

/* Set by the loader before load; frozen, so the verifier prunes on them. */
const volatile bool filter_pid = false;
const volatile bool follow_forks = true;
const volatile bool have_fd_owners = false;
const volatile bool rst_reason_arg = false;	/* tp_btf tcp_send_reset has 3 args */
const volatile bool retrans_err_arg = false;	/* tp_btf tcp_retransmit_skb has 3 args */
const volatile bool errors_by_tuple = false;	/* the classic error report: no sk */
/* Set by the loader once it put a socket in owners_by_inode (after load). */
bool fd_owners_seeded = false;

/*
 * A socket's local 4-tuple, and its namespace where that tells sockets
 * apart: every container has a 127.0.0.1 (see tuple_of()).
 */
struct tw_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 pad;
	__u32 netns;
};

/* Socket inode -> owner, for sockets that existed before attach. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tw_owner);
} owners_by_inode SEC(".maps");

/* (netns, port) -> listening socket and its owner, for accepted children. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tw_listen_key);
	__type(value, struct tw_listener);
} listeners SEC(".maps");

/*
 * Local 4-tuple -> owner, for what has no owned socket pointer: the timewait
 * mini-socket that replaces a closed socket, and sk-less hooks.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tw_tuple);
	__type(value, struct tw_owner);
} tuples SEC(".maps");

/*
 * RSTs sent with no socket (NO_SOCKET), keyed by the tuple of the socket
 * they are addressed to, held until that socket's tcp_receive_reset shows
 * whether its owner is traced. Only used with --pid.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tw_tuple);
	__type(value, struct tw_event);
} pending_rst SEC(".maps");

/*
 * --pid: the current name of a target that exec'd after attach. An owner
 * keeps the name it had when it was recorded; a process that re-execs
 * itself (a binary upgrade keeping its listener) shows its new name.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, char[TW_COMM_LEN]);
} comms SEC(".maps");

/* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
static __always_inline bool loopback_addr(const __u8 *a, __u16 family)
{
	__u64 hi, lo;

	if (family != AF_INET6)
		return a[0] == 127;
	__builtin_memcpy(&hi, a, 8);
	__builtin_memcpy(&lo, a + 8, 8);
	if (hi)
		return false;
	return lo == bpf_cpu_to_be64(1) ||
	       (!a[8] && !a[9] && a[10] == 0xff && a[11] == 0xff && a[12] == 127);
}

/*
 * The namespace in a key: a loopback connection never leaves its own, so
 * its tuple is only unique with it. Across a veth the two ends are in two
 * namespaces, and a key that one end makes for the other (a reset held for
 * the socket it is addressed to) cannot know the other's: 0 there. The
 * classic error report carries no namespace: 0 for what it looks up.
 */
static __always_inline __u32 key_netns(const struct tw_tuple *t, __u32 netns)
{
	if (errors_by_tuple)
		return 0;
	return loopback_addr(t->saddr, t->family) ||
	       loopback_addr(t->daddr, t->family) ? netns : 0;
}

static __always_inline void tuple_of(struct tw_tuple *t,
				     const struct tw_event *e)
{
	__builtin_memcpy(t->saddr, e->saddr, sizeof(t->saddr));
	__builtin_memcpy(t->daddr, e->daddr, sizeof(t->daddr));
	t->sport = e->sport;
	t->dport = e->dport;
	t->family = e->family;
	t->pad = 0;
	t->netns = key_netns(t, e->netns);
}

/* The same connection seen from the other end (in the same namespace). */
static __always_inline void tuple_of_peer(struct tw_tuple *t,
					  const struct tw_event *e)
{
	__builtin_memcpy(t->saddr, e->daddr, sizeof(t->saddr));
	__builtin_memcpy(t->daddr, e->saddr, sizeof(t->daddr));
	t->sport = e->dport;
	t->dport = e->sport;
	t->family = e->family;
	t->pad = 0;
	t->netns = key_netns(t, e->netns);
}

static __always_inline bool endpoints_wanted(const struct tw_event *e)
{
	if (filter_family && e->family != filter_family)
		return false;
	if (filter_port && !bpf_map_lookup_elem(&ports, &e->sport) &&
	    !bpf_map_lookup_elem(&ports, &e->dport))
		return false;
	return true;
}

static __always_inline bool tgid_wanted(__u32 tgid)
{
	return !filter_pid || is_target(tgid);
}

static __always_inline void owner_from_current(struct tw_owner *o, __u8 how)
{
	o->pid = current_tgid();
	o->how = how;
	/* The process name, not the thread's: comm of the group leader. */
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	BPF_CORE_READ_STR_INTO(&o->comm, task, group_leader, comm);
}

static __always_inline struct tw_owner *owner_by_inode(const struct sock *sk)
{
	struct socket *sock = BPF_CORE_READ(sk, sk_socket);
	__u64 ino;

	if (!sock)
		return NULL;
	/* struct socket is the first member of struct socket_alloc. */
	ino = BPF_CORE_READ((struct socket_alloc *)sock, vfs_inode.i_ino);
	return bpf_map_lookup_elem(&owners_by_inode, &ino);
}

/*
 * Find (or establish) the owner of the socket an event is about. Returns
 * NULL when the socket is not one we trace.
 */
static __always_inline struct tw_owner *
owner_of(const struct sock *sk, const struct tw_event *e)
{
	__u64 key = (__u64)sk;
	struct tw_owner *o;
	struct tw_tuple t;

	o = bpf_map_lookup_elem(&owners, &key);
	if (o)
		return o;
	if (e->flags & TW_F_TIMEWAIT_SK) {
		tuple_of(&t, e);
		return bpf_map_lookup_elem(&tuples, &t);
	}
	if (have_fd_owners && fd_owners_seeded) {
		o = owner_by_inode(sk);
		if (o) {
			struct tw_owner copy = *o;

			copy.how = TW_OWNER_FD;
			bpf_map_update_elem(&owners, &key, &copy, BPF_ANY);
			return bpf_map_lookup_elem(&owners, &key);
		}
	}
	return NULL;
}

static __always_inline void fill_owner(struct tw_event *e,
				       const struct tw_owner *o)
{
	const char *comm;

	if (!o)
		return;
	e->pid = o->pid;
	e->owner_how = o->how;
	/*
	 * Two copies, not one from either: comms holds a char[], which the
	 * compiler copies a byte at a time (32 instructions), even when
	 * nothing could come from it (tracing everything).
	 */
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	comm = filter_pid ? bpf_map_lookup_elem(&comms, &o->pid) : NULL;
	if (comm)
		__builtin_memcpy(e->comm, comm, sizeof(e->comm));
}

static __always_inline void event_init(struct tw_event *e, __u8 type)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->cpu_pid = current_tgid();
	e->type = type;
}

/*
 * Whether an event about a socket whose endpoints are already in *e passes
 * the filters (a rejection is counted). If so its owner, looked up unless
 * the caller just recorded it (known), is filled in and left in *owner
 * (NULL: unknown).
 */
static __always_inline bool admit(const struct sock *sk, struct tw_event *e,
				  const struct tw_owner *known,
				  const struct tw_owner **owner)
{
	const struct tw_owner *o;

	if (!endpoints_wanted(e))
		goto rejected;
	o = known ? known : owner_of(sk, e);
	if (!o && filter_pid)
		goto rejected;
	fill_owner(e, o);
	if (o && (e->flags & TW_F_TIMEWAIT_SK))
		e->owner_how = TW_OWNER_TUPLE;
	*owner = o;
	return true;
rejected:
	count(TW_CNT_FILTERED);
	return false;
}

/* Emit an event built on the stack, as admit() lets it through. */
static __always_inline void emit_for(const struct sock *sk, struct tw_event *e)
{
	const struct tw_owner *o;

	if (admit(sk, e, NULL, &o))
		submit(e);
}

/*
 * The hooks that fire on every connection build their event in place in
 * the ring buffer when no filter is set (nothing can reject it): that
 * spares the copy from the stack bpf_ringbuf_output() makes, 20-45 ns of a
 * state change's ~500. Otherwise they build it on the stack, and submit()
 * copies it once the filters let it through: a record reserved and then
 * rejected would hold its place in the buffer until the reader passed it.
 * NULL too with the buffer full: the event is built on the stack all the
 * same, for what it tells about later ones, and submit() counts it lost.
 */
static __always_inline struct tw_event *reserve_in_place(__u64 *flags)
{
	if (filter_pid || filter_port || filter_family)
		return NULL;
	/* Before reserving, as submit() does: the backlog without this one. */
	*flags = wakeup_flags();
	return bpf_ringbuf_reserve(&events, sizeof(struct tw_event), 0);
}

static __always_inline void commit_in_place(struct tw_event *e, __u64 flags,
					    bool admitted)
{
	if (admitted)
		bpf_ringbuf_submit(e, flags);
	else
		bpf_ringbuf_discard(e, 0);
}

/*
 * Until 6.10 tcp_send_reset and tcp_retransmit_skb shared the
 * tcp_event_sk_skb record; since then each has its own. Both start with
 * skbaddr, skaddr.
 */
struct trace_event_raw_tcp_event_sk_skb {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
} __attribute__((preserve_access_index));

#define classic_sk_skb(ctx, name, field)				\
	(bpf_core_type_exists(struct trace_event_raw_##name) ?			\
	 (const void *)BPF_CORE_READ((struct trace_event_raw_##name *)(ctx), field) : \
	 (const void *)BPF_CORE_READ((struct trace_event_raw_tcp_event_sk_skb *)(ctx), field))
#define classic_sk_skb_skaddr(ctx, name)					\
	((const struct sock *)classic_sk_skb(ctx, name, skaddr))
#define classic_sk_skb_skbaddr(ctx, name)					\
	((const struct sk_buff *)classic_sk_skb(ctx, name, skbaddr))

/* ---- state changes ---------------------------------------------------- */

static __always_inline void remember_listener(const struct sock *sk,
					      const struct tw_event *e,
					      const struct tw_owner *o)
{
	struct tw_listen_key k = { .netns = e->netns, .port = e->sport };
	struct tw_listener l = { .sk = (__u64)sk, .owner = *o };

	bpf_map_update_elem(&listeners, &k, &l, BPF_ANY);
}

static __always_inline void forget_listener(const struct sock *sk,
					    const struct tw_event *e)
{
	struct tw_listen_key k = { .netns = e->netns, .port = e->sport };
	struct tw_listener *l = bpf_map_lookup_elem(&listeners, &k);

	/* sk 0: a listener that existed before attach (seeded by the loader). */
	if (l && (l->sk == (__u64)sk || !l->sk))
		bpf_map_delete_elem(&listeners, &k);
}

/*
 * Record the owner at the transitions that run in the owner's context, or
 * that hand a listener's owner to its child. Everything else is looked up.
 * Returns whether *o is the owner now recorded, which spares the lookup.
 */
static __always_inline bool claim_owner(const struct sock *sk, int old,
					int new, const struct tw_event *e,
					struct tw_owner *o)
{
	__u64 key = (__u64)sk;

	__builtin_memset(o, 0, sizeof(*o));
	if (old == TCP_CLOSE && (new == TCP_SYN_SENT || new == TCP_LISTEN)) {
		if (!tgid_wanted(current_tgid()))
			return false;
		owner_from_current(o, new == TCP_LISTEN ? TW_OWNER_LISTEN
							: TW_OWNER_CONNECT);
	} else if (old == TCP_LISTEN && new == TCP_SYN_RECV) {
		struct tw_listen_key k = { .netns = e->netns, .port = e->sport };
		struct tw_listener *l = bpf_map_lookup_elem(&listeners, &k);

		if (!l)
			return false;
		*o = l->owner;
		o->how = TW_OWNER_LISTENER;
	} else {
		return false;
	}
	/* A reused socket address is a new socket: overwrite. */
	return !bpf_map_update_elem(&owners, &key, o, BPF_ANY);
}

/*
 * --pid: whether an event about sk may be a target's, decided before the
 * event is built (most sockets on a busy host are not). The full lookup in
 * admit() has the last word.
 */
static __always_inline bool maybe_owned(const struct sock *sk)
{
	__u64 key = (__u64)sk;

	return bpf_map_lookup_elem(&owners, &key) ||
	       (have_fd_owners && fd_owners_seeded && owner_by_inode(sk));
}

/* The same for a state change, some of which establish the owner. */
static __always_inline bool state_maybe_owned(const struct sock *sk, int old,
					      int new, bool direct)
{
	struct tw_listen_key k = {};

	/* In the caller's context; the socket may be a target's all the same. */
	if (old == TCP_CLOSE && (new == TCP_SYN_SENT || new == TCP_LISTEN))
		return is_target(current_tgid()) || maybe_owned(sk);
	if (old == TCP_LISTEN && new == TCP_SYN_RECV) {
		/* A child of a traced listener: its port is the listener's. */
		k.netns = netns_of(sk, full_tcp_sock(sk, direct));
		k.port = KREAD(direct, sk, __sk_common.skc_num);
		return bpf_map_lookup_elem(&listeners, &k);
	}
	return maybe_owned(sk);
}

/*
 * What a state change tells about later events: a listener's owner goes to
 * its children. With --pid, the owner by tuple outlives the socket's
 * handing over to a timewait mini-socket, a different kernel object (from
 * FIN_WAIT2 or CLOSING; FIN_WAIT1 in case a kernel skips the step), so that
 * its resets pass the filter. It is kept from FIN_WAIT1 on as well: the
 * hand-over's own events sometimes reach no BPF program (seen on 6.18),
 * and the remnant's reset would then be filtered out. Tracing everything, user space names their
 * owner from its own timewait record (analyzer_timewait_owner()): the
 * insert, which evicts under churn, was a quarter of the BPF cost of a
 * connection. The classic error report has no socket pointer: it needs the
 * tuple from ESTABLISHED on, and at every close (a refused connect reports
 * after SYN_SENT -> CLOSE).
 */
static __always_inline void keep_owner(const struct sock *sk, int old, int new,
				       const struct tw_event *e,
				       const struct tw_owner *o)
{
	struct tw_tuple t;

	if (new == TCP_LISTEN)
		remember_listener(sk, e, o);
	else if (old == TCP_LISTEN)
		forget_listener(sk, e);
	if (errors_by_tuple ? new == TCP_ESTABLISHED || new == TCP_CLOSE :
	    filter_pid && (new == TCP_FIN_WAIT1 || (new == TCP_CLOSE &&
	    (old == TCP_FIN_WAIT1 || old == TCP_FIN_WAIT2 || old == TCP_CLOSING)))) {
		tuple_of(&t, e);
		bpf_map_update_elem(&tuples, &t, o, BPF_ANY);
	}
}

/* A state change's event in *e; whether the filters let it through. */
static __always_inline bool state_event(struct tw_event *e,
					const struct sock *sk, int old,
					int new, bool direct)
{
	const struct tw_owner *o;
	struct tw_owner claimed;
	bool admitted;

	event_init(e, TW_EV_STATE);
	e->skaddr = (__u64)sk;
	e->oldstate = old;
	e->newstate = new;
	read_endpoints(e, sk, direct);
	/*
	 * Its whole count at the two points the analyzer takes it: at CLOSE,
	 * where the last attempts' events may have gone missing; and as an
	 * accepted socket is established, which starts with its request's
	 * SYN-ACK retransmissions (reported on the listener) already counted.
	 */
	if (new == TCP_CLOSE || (old == TCP_SYN_RECV && new == TCP_ESTABLISHED))
		e->value = BPF_CORE_READ((const struct tcp_sock *)sk, total_retrans);
	if (claim_owner(sk, old, new, e, &claimed))
		admitted = admit(sk, e, &claimed, &o);
	else
		admitted = admit(sk, e, NULL, &o);
	if (admitted && o)
		keep_owner(sk, old, new, e, o);
	return admitted;
}

static __always_inline void handle_state(const struct sock *sk, int old,
					 int new, bool direct)
{
	struct tw_event buf, *e;
	__u64 flags;

	if (filter_pid && !state_maybe_owned(sk, old, new, direct)) {
		count(TW_CNT_FILTERED);
		return;
	}
	e = reserve_in_place(&flags);
	if (e)
		commit_in_place(e, flags,
				state_event(e, sk, old, new, direct));
	else if (state_event(&buf, sk, old, new, direct))
		submit(&buf);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_state, const struct sock *sk, int old, int new)
{
	if (sk->sk_protocol == IPPROTO_TCP)
		handle_state(sk, old, new, true);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol == IPPROTO_TCP)
		handle_state(ctx->skaddr, ctx->oldstate, ctx->newstate, false);
	return 0;
}

/* ---- resets ------------------------------------------------------------ */

/*
 * A reset with no socket answers a segment nobody owns (a SYN to a closed
 * port). Its endpoints come from that segment, swapped: the RST goes back
 * to the sender.
 */
static __always_inline void read_skb_endpoints(struct tw_event *e,
					       const struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u8 ver = 0;
	__u16 port;

	e->netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	bpf_probe_read_kernel(&ver, 1, head + nh);
	if ((ver >> 4) == 6) {
		e->family = AF_INET6;
		bpf_probe_read_kernel(e->daddr, 16, head + nh + 8);
		bpf_probe_read_kernel(e->saddr, 16, head + nh + 24);
	} else {
		e->family = AF_INET;
		bpf_probe_read_kernel(e->daddr, 4, head + nh + 12);
		bpf_probe_read_kernel(e->saddr, 4, head + nh + 16);
	}
	bpf_probe_read_kernel(&port, 2, head + th);
	e->dport = bpf_ntohs(port);
	bpf_probe_read_kernel(&port, 2, head + th + 2);
	e->sport = bpf_ntohs(port);
}

static __always_inline void handle_send_reset(const struct sock *sk,
					      const struct sk_buff *skb,
					      __u32 reason, bool has_reason)
{
	struct tw_event e;
	struct tw_tuple t;

	event_init(&e, TW_EV_RST_SENT);
	e.skaddr = (__u64)sk;
	e.reason = reason;
	if (has_reason)
		e.flags |= TW_F_HAS_REASON;
	if (sk) {
		e.oldstate = BPF_CORE_READ(sk, __sk_common.skc_state);
		if (e.oldstate == TCP_TIME_WAIT)
			e.flags |= TW_F_TIMEWAIT_SK;
		read_endpoints(&e, sk, false);
		emit_for(sk, &e);
		return;
	}
	if (!skb)
		return;
	e.flags |= TW_F_NO_SK;
	read_skb_endpoints(&e, skb);
	if (!endpoints_wanted(&e)) {
		count(TW_CNT_FILTERED);
		return;
	}
	if (!filter_pid) {
		submit(&e);
		return;
	}
	tuple_of_peer(&t, &e);
	bpf_map_update_elem(&pending_rst, &t, &e, BPF_ANY);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(btf_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	__u32 reason = 0;

	if (rst_reason_arg)
		reason = (__u32)ctx[2];
	handle_send_reset(sk, skb, reason, rst_reason_arg);
	return 0;
}

SEC("tracepoint/tcp/tcp_send_reset")
int tp_send_reset(void *ctx)
{
	struct trace_event_raw_tcp_send_reset *r = ctx;
	const struct sock *sk = classic_sk_skb_skaddr(ctx, tcp_send_reset);
	bool has_reason = false;
	__u32 reason = 0;

	if (bpf_core_type_exists(struct trace_event_raw_tcp_send_reset) &&
	    bpf_core_field_exists(r->reason)) {
		has_reason = true;
		reason = BPF_CORE_READ(r, reason);
	}
	/*
	 * The classic event carries no skb we may parse; sk-less resets are
	 * only seen through tp_btf.
	 */
	if (sk)
		handle_send_reset(sk, NULL, reason, has_reason);
	return 0;
}

/* A held NO_SOCKET reset addressed to this socket: emit it as its owner's. */
static __always_inline void flush_pending_rst(const struct tw_event *recv)
{
	struct tw_event *p;
	struct tw_tuple t;

	tuple_of(&t, recv);
	p = bpf_map_lookup_elem(&pending_rst, &t);
	if (!p)
		return;
	struct tw_event e = *p;

	bpf_map_delete_elem(&pending_rst, &t);
	e.pid = recv->pid;
	e.owner_how = TW_OWNER_TUPLE;
	e.flags |= TW_F_DEFERRED;
	__builtin_memcpy(e.comm, recv->comm, sizeof(e.comm));
	submit(&e);
}

static __always_inline void handle_receive_reset(const struct sock *sk)
{
	struct tw_event e;

	event_init(&e, TW_EV_RST_RECV);
	e.skaddr = (__u64)sk;
	e.oldstate = BPF_CORE_READ(sk, __sk_common.skc_state);
	read_endpoints(&e, sk, false);
	if (!endpoints_wanted(&e)) {
		count(TW_CNT_FILTERED);
		return;
	}
	struct tw_owner *o = owner_of(sk, &e);

	if (!o && filter_pid) {
		count(TW_CNT_FILTERED);
		return;
	}
	fill_owner(&e, o);
	/* On loopback the RST was sent before this event: keep that order. */
	if (filter_pid)
		flush_pending_rst(&e);
	submit(&e);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(btf_receive_reset, struct sock *sk)
{
	handle_receive_reset(sk);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tp_receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	handle_receive_reset(BPF_CORE_READ(ctx, skaddr));
	return 0;
}

/* ---- retransmissions --------------------------------------------------- */

/*
 * Since 6.17 tcp_retransmit_skb fires for attempts that failed too (err:
 * the packet never left this host, e.g. EPERM from a netfilter drop on
 * output, EBUSY while the original is still queued). The kernel's count
 * moves for an attempt that failed in transmission (EPERM, observed), not
 * for one given up before it (EBUSY). Older kernels fire only for attempts
 * that went out.
 */
struct trace_event_raw_tcp_retransmit_skb___err {
	int err;
} __attribute__((preserve_access_index));

/*
 * The segments one attempt carries: tcp_skb_pcount(), kept in the skb's
 * shared info at head + end (end an offset on 64-bit kernels). The count
 * below grows by as many, so the analyzer can tell from a larger jump that
 * an attempt's event never arrived.
 */
static __always_inline __u32 skb_segments(const struct sk_buff *skb)
{
	const unsigned char *head = BPF_CORE_READ(skb, head);
	__u32 end = BPF_CORE_READ(skb, end);
	const struct skb_shared_info *shinfo = (const void *)(head + end);

	return BPF_CORE_READ(shinfo, gso_segs);
}

static __always_inline void handle_retransmit(const struct sock *sk, __u8 type,
					      const struct request_sock *req,
					      const struct sk_buff *skb,
					      int err, bool has_err)
{
	struct tw_event e;

	event_init(&e, type);
	e.skaddr = (__u64)sk;
	e.oldstate = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (has_err) {
		e.flags |= TW_F_HAS_REASON;
		e.reason = err < 0 ? -err : err;
	}
	if (skb)
		e.arg = skb_segments(skb);
	/*
	 * The kernel's own count: total_retrans already includes this one;
	 * a request socket's num_retrans is bumped only after the tracepoint.
	 * A SYN-ACK belongs to the request socket; the owner is the listener's.
	 */
	if (req) {
		e.value = BPF_CORE_READ(req, num_retrans) + 1;
		read_endpoints(&e, (const struct sock *)req, false);
		/*
		 * Whether the listener's accept queue was full: then the
		 * handshake's last ACK was dropped for it. A Fast Open child
		 * (SYN_RECV) retransmits its own SYN-ACK, from no queue.
		 */
		if (e.oldstate == TCP_LISTEN) {
			e.arg = BPF_CORE_READ(sk, sk_ack_backlog);
			e.arg2 = (__s32)BPF_CORE_READ(sk, sk_max_ack_backlog);
			e.flags |= TW_F_QUEUE;
		}
	} else {
		e.value = BPF_CORE_READ((struct tcp_sock *)sk, total_retrans);
		read_endpoints(&e, sk, false);
	}
	if (!endpoints_wanted(&e)) {
		count(TW_CNT_FILTERED);
		return;
	}
	__u64 key = (__u64)sk;
	struct tw_owner *o = bpf_map_lookup_elem(&owners, &key);

	if (!o && !req)
		o = owner_of(sk, &e);
	if (!o && filter_pid) {
		count(TW_CNT_FILTERED);
		return;
	}
	fill_owner(&e, o);
	submit(&e);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(btf_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	int err = 0;

	if (retrans_err_arg)
		err = (int)ctx[2];
	handle_retransmit(sk, TW_EV_RETRANS, NULL, skb, err, retrans_err_arg);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_retransmit(void *ctx)
{
	struct trace_event_raw_tcp_retransmit_skb___err *r = ctx;
	bool has_err = bpf_core_field_exists(r->err);
	int err = 0;

	if (has_err)
		err = BPF_CORE_READ(r, err);
	handle_retransmit(classic_sk_skb_skaddr(ctx, tcp_retransmit_skb),
			  TW_EV_RETRANS, NULL,
			  classic_sk_skb_skbaddr(ctx, tcp_retransmit_skb), err, has_err);
	return 0;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(btf_retransmit_synack, const struct sock *sk,
	     const struct request_sock *req)
{
	handle_retransmit(sk, TW_EV_SYNACK_RETRANS, req, NULL, 0, false);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_synack")
int tp_retransmit_synack(struct trace_event_raw_tcp_retransmit_synack *ctx)
{
	handle_retransmit(BPF_CORE_READ(ctx, skaddr), TW_EV_SYNACK_RETRANS,
			  BPF_CORE_READ(ctx, req), NULL, 0, false);
	return 0;
}

/* ---- errors reported to the application -------------------------------- */

SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(btf_error_report, const struct sock *sk)
{
	struct tw_event e;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	/* tcp_disconnect() reports after sock_error() took the error: nothing. */
	if (!BPF_CORE_READ(sk, sk_err))
		return 0;
	event_init(&e, TW_EV_ERROR);
	e.skaddr = (__u64)sk;
	e.value = BPF_CORE_READ(sk, sk_err);
	e.oldstate = BPF_CORE_READ(sk, __sk_common.skc_state);
	read_endpoints(&e, sk, false);
	emit_for(sk, &e);
	return 0;
}

/*
 * The classic event has no socket pointer: the owner can only be found by
 * tuple, which is known once the connection was established or closed.
 */
SEC("tracepoint/sock/inet_sk_error_report")
int tp_error_report(struct trace_event_raw_inet_sk_error_report *ctx)
{
	struct tw_owner *o = NULL;
	struct tw_event e;
	struct tw_tuple t;

	if (ctx->protocol != IPPROTO_TCP || !ctx->error)
		return 0;
	event_init(&e, TW_EV_ERROR);
	e.value = ctx->error;
	e.family = ctx->family;
	e.sport = ctx->sport;
	e.dport = ctx->dport;
	if (e.family == AF_INET6) {
		BPF_CORE_READ_INTO(&e.saddr, ctx, saddr_v6);
		BPF_CORE_READ_INTO(&e.daddr, ctx, daddr_v6);
	} else {
		BPF_CORE_READ_INTO((__u32 *)e.saddr, ctx, saddr);
		BPF_CORE_READ_INTO((__u32 *)e.daddr, ctx, daddr);
	}
	if (!endpoints_wanted(&e))
		goto filtered;
	tuple_of(&t, &e);
	o = bpf_map_lookup_elem(&tuples, &t);
	if (!o && filter_pid)
		goto filtered;
	fill_owner(&e, o);
	submit(&e);
	return 0;
filtered:
	count(TW_CNT_FILTERED);
	return 0;
}

/* ---- destruction -------------------------------------------------------- */

/* A destruction's event in *e; whether the filters let it through. */
static __always_inline bool destroy_event(struct tw_event *e,
					  const struct sock *sk, bool direct)
{
	const struct tw_owner *o;

	event_init(e, TW_EV_DESTROY);
	e->skaddr = (__u64)sk;
	e->oldstate = KREAD(direct, sk, __sk_common.skc_state);
	read_endpoints(e, sk, direct);
	return admit(sk, e, NULL, &o);
}

static __always_inline void handle_destroy(const struct sock *sk, bool direct)
{
	__u64 key = (__u64)sk;
	struct tw_event buf, *e;
	__u64 flags;

	if (filter_pid && !maybe_owned(sk)) {
		count(TW_CNT_FILTERED);
		return;
	}
	e = reserve_in_place(&flags);
	if (e)
		commit_in_place(e, flags, destroy_event(e, sk, direct));
	else if (destroy_event(&buf, sk, direct))
		submit(&buf);
	/* The address may be reused by an unrelated socket from now on. */
	bpf_map_delete_elem(&owners, &key);
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(btf_destroy, struct sock *sk)
{
	handle_destroy(sk, true);
	return 0;
}

SEC("tracepoint/tcp/tcp_destroy_sock")
int tp_destroy(struct trace_event_raw_tcp_event_sk *ctx)
{
	handle_destroy(BPF_CORE_READ(ctx, skaddr), false);
	return 0;
}

/* ---- process lifetime --------------------------------------------------- */

/*
 * A traced process is gone: forget its tgid, so that a new process given the
 * same pid is not traced. Runs in the exiting task, once per thread;
 * signal->live drops to 0 (before the tracepoint) only for the group's last
 * thread. The thread's own id goes too: the classic fork tracepoint adds
 * the ids of new threads (see tp_fork). Attached before the fork programs
 * (they come first here), so no followed child exits unseen.
 */
static __always_inline void forget_exited(struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u32 tid = BPF_CORE_READ(task, pid);

	if (!filter_pid)
		return;
	if (tid != tgid)
		bpf_map_delete_elem(&targets, &tid);
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return;
	bpf_map_delete_elem(&targets, &tgid);
	bpf_map_delete_elem(&comms, &tgid);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf_exit, struct task_struct *task)
{
	forget_exited(task);
	return 0;
}

/* Runs in the exiting task. */
SEC("tracepoint/sched/sched_process_exit")
int tp_exit(void *ctx)
{
	forget_exited((struct task_struct *)bpf_get_current_task());
	return 0;
}

/* A target exec'd: the later events of its sockets carry the new name. */
static __always_inline void renamed(struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	char comm[TW_COMM_LEN] = {};

	if (!filter_pid || !is_target(tgid))
		return;
	BPF_CORE_READ_STR_INTO(&comm, task, comm);
	bpf_map_update_elem(&comms, &tgid, &comm, BPF_ANY);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(btf_exec, struct task_struct *task)
{
	renamed(task);
	return 0;
}

/* Runs in the task that exec'd, its new name already set. */
SEC("tracepoint/sched/sched_process_exec")
int tp_exec(void *ctx)
{
	renamed((struct task_struct *)bpf_get_current_task());
	return 0;
}

static __always_inline void follow_fork(__u32 parent_tgid, __u32 child_tgid)
{
	__u8 one = 1;

	if (!follow_forks || !filter_pid || parent_tgid == child_tgid)
		return;
	if (!is_target(parent_tgid))
		return;
	/* The bucket first: the child may run before the update returns. */
	mark_target(child_tgid);
	bpf_map_update_elem(&targets, &child_tgid, &one, BPF_NOEXIST);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(btf_fork, struct task_struct *parent, struct task_struct *child)
{
	follow_fork(BPF_CORE_READ(parent, tgid), BPF_CORE_READ(child, tgid));
	return 0;
}

/*
 * Runs in the parent. child_pid is a thread id: a new thread of a target is
 * added too, a key no process uses (tp_btf, which has the tgid, is exact).
 */
SEC("tracepoint/sched/sched_process_fork")
int tp_fork(struct trace_event_raw_sched_process_fork *ctx)
{
	follow_fork(current_tgid(), BPF_CORE_READ(ctx, child_pid));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
