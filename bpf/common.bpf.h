/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What both BPF objects share: the maps the loader makes one (the syscalls
 * object reuses the main object's with bpf_map__reuse_fd, so their
 * definitions must be the same: they are, being this file), the filter
 * settings, and how an event is read off a socket and handed to user space.
 * Include after vmlinux.h, the libbpf headers and tcpwatch.h.
 */
#ifndef TCPWATCH_COMMON_BPF_H
#define TCPWATCH_COMMON_BPF_H

#define AF_INET		2
#define AF_INET6	10

/* Set by the loader before load; frozen, so the verifier prunes on them. */
const volatile bool filter_port = false;
const volatile __u16 filter_family = 0;
const volatile __u64 wakeup_bytes = 0;		/* wake user space past this backlog */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);	/* resized by the loader (--buffer) */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* --pid: the tgids to trace (and, with follow_forks, their descendants). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* --pid: which buckets of tgids may hold a target (see tcpwatch.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_target_buckets);
} target_buckets SEC(".maps");

/* --port: local or remote ports to trace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} ports SEC(".maps");

/* Socket address -> owner. Deleted at tcp_destroy_sock; LRU bounds it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tw_owner);
} owners SEC(".maps");

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

static __always_inline void submit(const struct tw_event *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	/*
	 * Waking the reader per event costs more than the event. The reader
	 * drains every few tens of milliseconds anyway; wake it early once,
	 * when this event takes the backlog past the threshold, not for every
	 * event after that (it is already on its way).
	 */
	if (waiting < wakeup_bytes && waiting + sizeof(*e) + 8 >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, (void *)e, sizeof(*e), flags))
		count(TW_CNT_LOST);
}

/* Endpoints of a full, request or timewait socket, from sock_common. */
static __always_inline void read_endpoints(struct tw_event *e,
					   const struct sock *sk)
{
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	/* skc_num is zeroed on a closing socket; inet_sport is not. */
	if (state == TCP_TIME_WAIT)
		e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_timewait_sock *)sk,
						   tw_sport));
	else if (state == TCP_NEW_SYN_RECV)
		e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	else
		e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk,
						   inet_sport));
	if (e->family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)e->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)e->daddr, sk, __sk_common.skc_daddr);
	}
}

#endif /* TCPWATCH_COMMON_BPF_H */
