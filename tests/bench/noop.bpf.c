// SPDX-License-Identifier: GPL-2.0
/*
 * The floor for make bench: a program that does nothing on each of the
 * hooks tcpwatch attaches to when it traces the whole host, with the same
 * program type (tp_btf). What a run costs with these attached is the cost
 * of the tracepoints and of entering BPF, which no tracer can go below.
 *
 * With --pid, tcpwatch also attaches to the raw syscall tracepoints (the
 * socket calls of the traced processes) and to process fork, exec and exit:
 * noop.c loads the programs below the TCP ones only when asked to, for the
 * floor of that configuration.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(noop_state)
{
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(noop_send_reset)
{
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(noop_receive_reset)
{
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(noop_retransmit)
{
	return 0;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(noop_retransmit_synack)
{
	return 0;
}

SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(noop_error_report)
{
	return 0;
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(noop_destroy)
{
	return 0;
}

/* ---- --pid's hooks ---- */

SEC("tp_btf/sys_enter")
int BPF_PROG(noop_sys_enter)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(noop_sys_exit)
{
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(noop_fork)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(noop_exec)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(noop_exit)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
