/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two halves of the BPF object share: the maps, the filter
 * settings, and how an event is read off a socket and handed to user space.
 * Include after vmlinux.h, the libbpf headers and tcpwatch.h.
 *
 * tcpwatch.bpf.c and syscalls.bpf.c are compiled apart and linked into one
 * object (bpftool gen object): both define what is marked __weak here, and
 * the static linker keeps one of each (it checks that they match).
 */
#ifndef TCPWATCH_COMMON_BPF_H
#define TCPWATCH_COMMON_BPF_H

#define AF_INET		2
#define AF_INET6	10

/* Set by the loader before load; frozen, so the verifier prunes on them. */
const volatile bool filter_port __weak = false;
const volatile __u16 filter_family __weak = 0;
const volatile __u64 wakeup_bytes __weak = 0;		/* wake user space past this backlog */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);	/* resized by the loader (--buffer) */
} events __weak SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters __weak SEC(".maps");

/* --pid: the tgids to trace (and, with follow_forks, their descendants). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} targets __weak SEC(".maps");

/* --pid: which buckets of tgids may hold a target (see tcpwatch.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_target_buckets);
} target_buckets __weak SEC(".maps");

/* --port: local or remote ports to trace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} ports __weak SEC(".maps");

/* Socket address -> owner. Deleted at tcp_destroy_sock; LRU bounds it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tw_owner);
} owners __weak SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/*
 * Whether tgid may be a target: false for most other processes, at the cost
 * of one load (the verifier inlines an array lookup). A stale bucket, or
 * one shared with a target, leaves the answer to the targets map.
 */
static __always_inline bool maybe_target(__u32 tgid)
{
	__u32 zero = 0;
	struct tw_target_buckets *b = bpf_map_lookup_elem(&target_buckets, &zero);

	return b && b->set[tgid & (TW_TARGET_BUCKETS - 1)];
}

/* A byte, not a bit: CPUs setting neighbouring buckets cannot undo each other. */
static __always_inline void mark_target(__u32 tgid)
{
	__u32 zero = 0;
	struct tw_target_buckets *b = bpf_map_lookup_elem(&target_buckets, &zero);

	if (b)
		b->set[tgid & (TW_TARGET_BUCKETS - 1)] = 1;
}

/* Whether tgid is a target (--pid). */
static __always_inline bool is_target(__u32 tgid)
{
	return maybe_target(tgid) && bpf_map_lookup_elem(&targets, &tgid);
}

/*
 * How to hand the next event over. Waking the reader per event costs more
 * than the event. The reader drains every few tens of milliseconds anyway;
 * wake it early once, when this event takes the backlog past the
 * threshold, not for every event after that (it is already on its way).
 */
static __always_inline __u64 wakeup_flags(void)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	if (waiting < wakeup_bytes &&
	    waiting + sizeof(struct tw_event) + 8 >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void submit(const struct tw_event *e)
{
	if (bpf_ringbuf_output(&events, (void *)e, sizeof(*e), wakeup_flags()))
		count(TW_CNT_LOST);
}

/*
 * A field of a kernel object. tp_btf programs get their arguments as BTF
 * pointers they may dereference: a plain load, which the verifier makes
 * fault-safe (PROBE_MEM), several times cheaper than the helper call of
 * BPF_CORE_READ that the classic tracepoints' plain pointers need. direct is
 * a constant in every entry point, so each gets a handler with one of the
 * two. The verifier checks a direct load against the pointer's own type:
 * not for a field past it (a struct sock * cast to an inet_sock *).
 * Only the hooks that fire on every connection (state changes, destruction)
 * use direct loads. For a pointer loaded through the tracepoint's own
 * argument (trusted) the verifier searches the kernel's BTF by name for the
 * types that would keep it trusted, ~1 ms a load on a 6.18 VM (a scalar
 * costs it next to nothing); through the tcp_sock of full_tcp_sock(),
 * which the verifier does not trust, it does not search. With a pointer
 * load through sk in each, direct loads in the hooks that fire on trouble
 * too had made tcpwatch ~10 ms slower to start.
 */
#define KREAD(direct, ptr, field) \
	((direct) ? (ptr)->field : BPF_CORE_READ(ptr, field))

/* The same for an IPv6 address, a word at a time. */
static __always_inline void kread_in6(bool direct, __u8 *dst,
				      const struct in6_addr *src)
{
	__u32 *d = (__u32 *)dst;

	if (!direct) {
		bpf_probe_read_kernel(dst, sizeof(*src), src);
		return;
	}
	d[0] = src->in6_u.u6_addr32[0];
	d[1] = src->in6_u.u6_addr32[1];
	d[2] = src->in6_u.u6_addr32[2];
	d[3] = src->in6_u.u6_addr32[3];
}

/*
 * A full TCP socket as the tcp_sock the kernel's helper (5.9) makes of a
 * BTF pointer, for direct loads past struct sock; NULL without direct
 * loads, without the helper or for another kind of socket.
 */
static __always_inline const struct tcp_sock *full_tcp_sock(const struct sock *sk,
							    bool direct)
{
	if (direct && bpf_core_enum_value_exists(enum bpf_func_id,
						 BPF_FUNC_skc_to_tcp_sock))
		return bpf_skc_to_tcp_sock((void *)sk);
	return NULL;
}

/* A socket's network namespace; through tp if there is one (see KREAD). */
static __always_inline __u32 netns_of(const struct sock *sk,
				      const struct tcp_sock *tp)
{
	if (tp)
		return tp->inet_conn.icsk_inet.sk.__sk_common.skc_net.net->ns.inum;
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* A socket's local port (host order), without a tcp_sock. */
static __always_inline __u16 local_port(const struct sock *sk, bool direct)
{
	__u8 state = KREAD(direct, sk, __sk_common.skc_state);

	/* skc_num is zeroed on a closing socket; inet_sport is not. */
	if (state == TCP_TIME_WAIT)
		return bpf_ntohs(BPF_CORE_READ((struct inet_timewait_sock *)sk,
					       tw_sport));
	if (state == TCP_NEW_SYN_RECV)
		return KREAD(direct, sk, __sk_common.skc_num);
	return bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
}

/*
 * Endpoints of a full, request or timewait socket, from sock_common (the
 * first member of all three, so direct loads through sk are in bounds).
 */
static __always_inline void read_endpoints(struct tw_event *e,
					   const struct sock *sk, bool direct)
{
	const struct sock_common *skc = &sk->__sk_common;
	const struct tcp_sock *tp = full_tcp_sock(sk, direct);

	/* First, so that the verifier's two ways (tp or not) meet again soon. */
	e->netns = netns_of(sk, tp);
	e->sport = tp ? bpf_ntohs(tp->inet_conn.icsk_inet.inet_sport) :
			local_port(sk, direct);
	e->family = KREAD(direct, skc, skc_family);
	e->dport = bpf_ntohs(KREAD(direct, skc, skc_dport));
	if (e->family == AF_INET6) {
		kread_in6(direct, e->saddr, &skc->skc_v6_rcv_saddr);
		kread_in6(direct, e->daddr, &skc->skc_v6_daddr);
	} else {
		*(__u32 *)e->saddr = KREAD(direct, skc, skc_rcv_saddr);
		*(__u32 *)e->daddr = KREAD(direct, skc, skc_daddr);
	}
}

#endif /* TCPWATCH_COMMON_BPF_H */
