// SPDX-License-Identifier: GPL-2.0
/*
 * tcpwatch kernel side, the socket calls of the traced processes (--pid
 * only), as TW_EV_CALL events on the sockets they act on. Linked into the
 * object of tcpwatch.bpf.c (its maps, its license); the loader leaves these
 * programs out of a run without --pid.
 *
 * Each traced syscall has an entry and an exit program on its own syscall
 * tracepoint (not raw_syscalls, which would run on every syscall of the
 * host). The entry rejects other processes first, resolves the fd to its
 * TCP socket and stashes what the exit needs, per thread; the exit decides
 * from the return value whether the call is worth an event. Events are
 * stamped at entry, so a call sorts before the kernel events it causes.
 *
 * close() is the exception: it is reported at entry. Its fd is gone at
 * exit and, since close() does the final fput synchronously, so may be the
 * socket (its state changes and destruction come first). On a socket whose
 * fd resolved it cannot fail (sockets have no ->flush), so it returns 0.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcpwatch.h"
#include "common.bpf.h"

#define S_IFMT		00170000
#define S_IFSOCK	0140000

#define SOL_SOCKET	1
#define SO_REUSEADDR	2
#define SO_KEEPALIVE	9
#define SO_LINGER	13
#define SO_REUSEPORT	15
#define TCP_KEEPIDLE	4
#define TCP_KEEPINTVL	5
#define TCP_KEEPCNT	6
#define TCP_USER_TIMEOUT 18

#define EINTR		4
#define EAGAIN		11	/* also EWOULDBLOCK */
/* Kernel-internal returns (ERESTARTSYS .. ERESTART_RESTARTBLOCK). */
#define ERESTART_FIRST	512
#define ERESTART_LAST	516


/* What a call's exit needs from its entry. */
struct call_entry {
	__u64 ts_ns;
	__u64 sk;
	__s32 fd;
	__u32 call;		/* enum tw_call */
	__u32 arg;
	__s32 arg2;
};

/*
 * A slot per traced thread (pid_tgid) for its call in progress, reused in
 * place from call to call: an insert and a delete per read() would cost more
 * than the rest. call 0: no call in progress. LRU drops the slots of threads
 * that are gone.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct call_entry);
} calls SEC(".maps");

/*
 * -4/-6 and --port, as endpoints_wanted() in tcpwatch.bpf.c; a bind() also
 * matches by the port it asked for, which it may not have got.
 */
static __always_inline bool endpoints_wanted(const struct tw_event *e)
{
	__u16 asked = e->arg;

	if (filter_family && e->family != filter_family)
		return false;
	if (filter_port && !bpf_map_lookup_elem(&ports, &e->sport) &&
	    !bpf_map_lookup_elem(&ports, &e->dport) &&
	    !(e->reason == TW_CALL_BIND && bpf_map_lookup_elem(&ports, &asked)))
		return false;
	return true;
}

static __always_inline bool traced(void)
{
	return is_target(current_tgid());
}

/*
 * The TCP socket behind fd in the caller's fd table, or NULL. The inode
 * type says the file is a socket; the socket's pointer back to the file
 * confirms that private_data really is one.
 */
static __always_inline struct sock *tcp_sock_of_fd(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	struct socket *sock;
	struct sock *sk;
	__u16 family;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock || BPF_CORE_READ(sock, file) != file ||
	    BPF_CORE_READ(sock, type) != SOCK_STREAM)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	return family == AF_INET || family == AF_INET6 ? sk : NULL;
}

/* ---- entry --------------------------------------------------------------- */

static __always_inline void stash(__u32 call, int fd, const struct sock *sk,
				  __u32 arg, __s32 arg2)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_entry *slot = bpf_map_lookup_elem(&calls, &id);
	struct call_entry c = {
		.ts_ns = bpf_ktime_get_ns(),
		.sk = (__u64)sk,
		.fd = fd,
		.call = call,
		.arg = arg,
		.arg2 = arg2,
	};

	if (slot)
		*slot = c;
	else
		bpf_map_update_elem(&calls, &id, &c, BPF_ANY);
}

static __always_inline void enter_fd(int fd, __u32 call, __u32 arg)
{
	struct sock *sk;

	if (!traced())
		return;
	sk = tcp_sock_of_fd(fd);
	if (sk)
		stash(call, fd, sk, arg, 0);
}

static __always_inline bool sockopt_wanted(int level, int name)
{
	if (level == SOL_SOCKET)
		return name == SO_LINGER || name == SO_REUSEADDR ||
		       name == SO_REUSEPORT || name == SO_KEEPALIVE;
	if (level == IPPROTO_TCP)
		return name == TCP_USER_TIMEOUT || name == TCP_KEEPIDLE ||
		       name == TCP_KEEPINTVL || name == TCP_KEEPCNT;
	return false;
}

/* The option's value as one number; SO_LINGER: the timeout when on, -1 off. */
static __always_inline __s32 sockopt_value(int level, int name,
					   const void *uval)
{
	struct linger l = {};
	int v = 0;

	if (level == SOL_SOCKET && name == SO_LINGER) {
		bpf_probe_read_user(&l, sizeof(l), uval);
		return l.l_onoff ? l.l_linger : -1;
	}
	bpf_probe_read_user(&v, sizeof(v), uval);
	return v;
}

static __always_inline void stash_setsockopt(int fd, int level, int name,
					     const void *uval)
{
	struct sock *sk;

	if (!traced() || !sockopt_wanted(level, name))
		return;
	sk = tcp_sock_of_fd(fd);
	if (sk)
		stash(TW_CALL_SETSOCKOPT, fd, sk, (__u32)level << 16 | (__u16)name,
		      sockopt_value(level, name, uval));
}

/* The port asked for: sin_port and sin6_port are both at offset 2. */
static __always_inline void stash_bind(int fd, const struct sockaddr_in *uaddr)
{
	struct sock *sk;
	__u16 port = 0;

	if (!traced())
		return;
	sk = tcp_sock_of_fd(fd);
	if (!sk)
		return;
	bpf_probe_read_user(&port, sizeof(port), &uaddr->sin_port);
	stash(TW_CALL_BIND, fd, sk, bpf_ntohs(port), 0);
}

/* ---- exit ---------------------------------------------------------------- */

/* Nothing happened yet: the app retries (EAGAIN) or was interrupted. */
static __always_inline bool retry_later(long ret)
{
	return ret == -EAGAIN || ret == -EINTR;
}

/*
 * Which outcomes are events. The app never sees a restart code: the call is
 * restarted (and reported when it completes) or fails with EINTR. Reads and
 * writes succeed all the time: only EOF and errors are worth an event.
 */
static __always_inline bool ret_wanted(__u32 call, long ret)
{
	if (ret <= -ERESTART_FIRST && ret >= -ERESTART_LAST)
		return false;
	switch (call) {
	case TW_CALL_READ:
		return ret == 0 || (ret < 0 && !retry_later(ret));
	case TW_CALL_WRITE:
		return ret < 0 && !retry_later(ret);
	case TW_CALL_ACCEPT:
		return !retry_later(ret);
	default:
		return true;
	}
}

/* How the pid of a call event was established: the caller, by its call. */
static __always_inline __u8 caller_how(__u32 call)
{
	switch (call) {
	case TW_CALL_CONNECT:
		return TW_OWNER_CONNECT;
	case TW_CALL_ACCEPT:
		return TW_OWNER_ACCEPT;
	case TW_CALL_LISTEN:
		return TW_OWNER_LISTEN;
	default:
		return TW_OWNER_FD;	/* the caller holds the socket's fd */
	}
}

/*
 * The accepting process holds the child, so it owns it. tcpwatch.bpf.c
 * gave the child its listener's owner: the same process, unless several
 * share the listener (pre-fork servers); only then is the owner replaced,
 * so the child's later events go to the process that serves it.
 */
static __always_inline void claim_accepted(const struct sock *sk,
					   const struct tw_event *e)
{
	__u64 key = (__u64)sk;
	struct tw_owner *cur = bpf_map_lookup_elem(&owners, &key);
	struct tw_owner o = { .pid = e->pid, .how = TW_OWNER_ACCEPT };

	if (cur && cur->pid == e->pid)
		return;
	__builtin_memcpy(o.comm, e->comm, sizeof(o.comm));
	bpf_map_update_elem(&owners, &key, &o, BPF_ANY);
}

/*
 * A socket a traced process works on is its own, even if it never reaches
 * connect() or listen() (a failed bind(), say): without an owner, the rest
 * of its life (its destruction) would be filtered out.
 */
static __always_inline void claim_used(const struct sock *sk,
				       const struct tw_event *e)
{
	__u64 key = (__u64)sk;
	struct tw_owner o = { .pid = e->pid, .how = TW_OWNER_FD };

	__builtin_memcpy(o.comm, e->comm, sizeof(o.comm));
	bpf_map_update_elem(&owners, &key, &o, BPF_NOEXIST);
}

/*
 * accept's event is about the new socket (its fd is the return value); a
 * failed accept stays on the listener. arg: the listening fd.
 */
static __always_inline const struct sock *
accepted(struct tw_event *e, const struct sock *listener, long ret)
{
	const struct sock *sk;

	e->arg = e->fd;
	if (ret < 0) {
		e->fd = -1;
		return listener;
	}
	e->fd = ret;
	sk = tcp_sock_of_fd(ret);
	if (sk)
		claim_accepted(sk, e);
	return sk;
}

static __always_inline void report(const struct call_entry *c, long ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	const struct sock *sk = (const struct sock *)c->sk;
	struct tw_event e;

	__builtin_memset(&e, 0, sizeof(e));
	e.ts_ns = c->ts_ns;
	e.type = TW_EV_CALL;
	e.reason = c->call;
	e.value = ret;
	e.fd = c->fd;
	e.arg = c->arg;
	e.arg2 = c->arg2;
	e.pid = e.cpu_pid = current_tgid();
	e.owner_how = caller_how(c->call);
	BPF_CORE_READ_STR_INTO(&e.comm, task, group_leader, comm);
	if (c->call == TW_CALL_ACCEPT)
		sk = accepted(&e, sk, ret);
	if (!sk)
		return;
	e.skaddr = (__u64)sk;
	e.oldstate = BPF_CORE_READ(sk, __sk_common.skc_state);
	read_endpoints(&e, sk, false);
	claim_used(sk, &e);
	if (endpoints_wanted(&e))
		submit(&e);
	else
		count(TW_CNT_FILTERED);
}

/* call: the syscall's, checked against what its entry stashed; 0: any. */
static __always_inline void call_exit(__u32 call, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_entry *slot;
	struct call_entry c;

	/* Only traced threads have slots; most processes are not even that. */
	if (!maybe_target(id >> 32))
		return;
	slot = bpf_map_lookup_elem(&calls, &id);
	if (!slot || !slot->call)
		return;
	c = *slot;
	slot->call = 0;
	/* Left by an earlier call whose exit was not seen. */
	if ((call && c.call != call) || !ret_wanted(c.call, ret))
		return;
	report(&c, ret);
}

static __always_inline void report_close(int fd)
{
	struct call_entry c = { .fd = fd, .call = TW_CALL_CLOSE };
	struct sock *sk;

	if (!traced())
		return;
	sk = tcp_sock_of_fd(fd);
	if (!sk)
		return;
	c.ts_ns = bpf_ktime_get_ns();
	c.sk = (__u64)sk;
	report(&c, 0);
}

/* ---- the tracepoints ----------------------------------------------------- */

#define EXIT(sys, call)							\
SEC("tracepoint/syscalls/sys_exit_" #sys)				\
int exit_##sys(struct trace_event_raw_sys_exit *ctx)			\
{									\
	call_exit(call, ctx->ret);					\
	return 0;							\
}

/* A call whose entry needs the fd (args[0]) and at most one argument. */
#define FD_CALL(sys, call, arg)						\
SEC("tracepoint/syscalls/sys_enter_" #sys)				\
int enter_##sys(struct trace_event_raw_sys_enter *ctx)			\
{									\
	enter_fd(ctx->args[0], call, arg);				\
	return 0;							\
}									\
EXIT(sys, call)

/* A read asking for nothing (args[2]: length or count) returns 0, not EOF. */
#define SIZED_READ(sys)							\
SEC("tracepoint/syscalls/sys_enter_" #sys)				\
int enter_##sys(struct trace_event_raw_sys_enter *ctx)			\
{									\
	if (ctx->args[2])						\
		enter_fd(ctx->args[0], TW_CALL_READ, 0);		\
	return 0;							\
}									\
EXIT(sys, TW_CALL_READ)

FD_CALL(connect, TW_CALL_CONNECT, 0)
FD_CALL(accept, TW_CALL_ACCEPT, 0)
FD_CALL(accept4, TW_CALL_ACCEPT, 0)
FD_CALL(shutdown, TW_CALL_SHUTDOWN, ctx->args[1])
FD_CALL(listen, TW_CALL_LISTEN, ctx->args[1])
SIZED_READ(read)
SIZED_READ(readv)
SIZED_READ(recvfrom)
SIZED_READ(recvmmsg)
/* recvmsg's length is inside the msghdr: an empty one reads as EOF. */
FD_CALL(recvmsg, TW_CALL_READ, 0)
FD_CALL(write, TW_CALL_WRITE, 0)
FD_CALL(writev, TW_CALL_WRITE, 0)
FD_CALL(sendto, TW_CALL_WRITE, 0)
FD_CALL(sendmsg, TW_CALL_WRITE, 0)
FD_CALL(sendmmsg, TW_CALL_WRITE, 0)

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	report_close(ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_setsockopt")
int enter_setsockopt(struct trace_event_raw_sys_enter *ctx)
{
	stash_setsockopt(ctx->args[0], ctx->args[1], ctx->args[2],
			 (const void *)ctx->args[3]);
	return 0;
}
EXIT(setsockopt, TW_CALL_SETSOCKOPT)

SEC("tracepoint/syscalls/sys_enter_bind")
int enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	stash_bind(ctx->args[0], (const struct sockaddr_in *)ctx->args[1]);
	return 0;
}
EXIT(bind, TW_CALL_BIND)

/* ---- the raw syscall tracepoints (x86-64, tp_btf) ---------------------- */

#if defined(__TARGET_ARCH_x86)
/*
 * With tp_btf, two programs on the raw sys_enter/sys_exit tracepoints take
 * the place of the 36 above. They run for every syscall of every process,
 * but another process costs them one load (maybe_target), where a syscall
 * tracepoint costs every process's matching calls a perf record, even when
 * its program rejects them at once. The loader fills the table of what
 * each syscall number is (from <sys/syscall.h>) before load.
 */
const volatile __u8 sys_kind[TW_SYS_NR_MAX] = {};
const volatile __u8 sys_call[TW_SYS_NR_MAX] = {};

#define TS_COMPAT	0x0002	/* arch/x86/include/asm/thread_info.h */

/* A 32-bit task's numbers are another table's (syscall tracepoints skip them too). */
static __always_inline bool compat_task(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, thread_info.status) & TS_COMPAT;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	__u32 kind, call;
	long fd;

	if (!maybe_target(current_tgid()) || id < 0 || id >= TW_SYS_NR_MAX)
		return 0;
	kind = sys_kind[id];
	call = sys_call[id];
	if (kind == TW_SYS_NONE || compat_task())
		return 0;
	fd = PT_REGS_PARM1_CORE_SYSCALL(regs);
	switch (kind) {
	case TW_SYS_FD:
		enter_fd(fd, call, 0);
		break;
	case TW_SYS_FD_ARG:
		enter_fd(fd, call, PT_REGS_PARM2_CORE_SYSCALL(regs));
		break;
	case TW_SYS_SIZED_READ:
		if (PT_REGS_PARM3_CORE_SYSCALL(regs))
			enter_fd(fd, call, 0);
		break;
	case TW_SYS_CLOSE:
		report_close(fd);
		break;
	case TW_SYS_SETSOCKOPT:
		stash_setsockopt(fd, PT_REGS_PARM2_CORE_SYSCALL(regs),
				 PT_REGS_PARM3_CORE_SYSCALL(regs),
				 (const void *)PT_REGS_PARM4_CORE_SYSCALL(regs));
		break;
	case TW_SYS_BIND:
		stash_bind(fd, (const struct sockaddr_in *)PT_REGS_PARM2_CORE_SYSCALL(regs));
		break;
	}
	return 0;
}

/* A thread's syscalls do not nest: a stashed entry is this exit's. */
SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	call_exit(0, ret);
	return 0;
}
#endif
