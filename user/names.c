// SPDX-License-Identifier: GPL-2.0
/* Names of TCP states, event types, errnos and reset reasons. */
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "names.h"
#include "tcpwatch.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Indexed by the kernel's TCP_* numbers (include/net/tcp_states.h). */
static const char *const tcp_states[] = {
	[1] = "ESTABLISHED",
	[2] = "SYN_SENT",
	[3] = "SYN_RECV",
	[4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2",
	[6] = "TIME_WAIT",
	[7] = "CLOSE",
	[8] = "CLOSE_WAIT",
	[9] = "LAST_ACK",
	[10] = "LISTEN",
	[11] = "CLOSING",
	[12] = "NEW_SYN_RECV",
	[13] = "BOUND_INACTIVE",
};

const char *tcp_state_name(int state)
{
	if (state < 0 || (size_t)state >= ARRAY_SIZE(tcp_states) ||
	    !tcp_states[state])
		return "UNKNOWN";
	return tcp_states[state];
}

int tcp_state_parse(const char *name)
{
	if (!strncmp(name, "TCP_", 4))
		name += 4;
	for (size_t i = 0; i < ARRAY_SIZE(tcp_states); i++)
		if (tcp_states[i] && !strcmp(tcp_states[i], name))
			return (int)i;
	return -1;
}

static const char *const event_types[TW_EVENT_TYPES] = {
	[TW_EV_STATE] = "state",
	[TW_EV_RST_SENT] = "rst_sent",
	[TW_EV_RST_RECV] = "rst_recv",
	[TW_EV_RETRANS] = "retransmit",
	[TW_EV_SYNACK_RETRANS] = "synack_retransmit",
	[TW_EV_ERROR] = "error",
	[TW_EV_DESTROY] = "destroy",
	[TW_EV_CALL] = "call",
};

_Static_assert(TW_EV_MAX == TW_EVENT_TYPES, "event type table out of date");

const char *event_type_name(int type)
{
	if (type <= 0 || type >= TW_EVENT_TYPES || !event_types[type])
		return "unknown";
	return event_types[type];
}

int event_type_parse(const char *name)
{
	for (int t = 1; t < TW_EVENT_TYPES; t++)
		if (event_types[t] && !strcmp(event_types[t], name))
			return t;
	return -1;
}

const char *errno_name(long err, char *buf, size_t len)
{
	/* Errnos are small positive numbers; anything else is shown as is. */
	const char *name = err > 0 && err < 4096 ? strerrorname_np((int)err) : NULL;

	if (name)
		return name;
	snprintf(buf, len, "E%ld", err);
	return buf;
}

#define RST_PREFIX	"SK_RST_REASON_"
#define MAX_REASONS	256

#define REASON_LEN	48

/* Copied: tcpwatch does not keep the kernel's BTF once the BPF objects load. */
static char rst_reasons[MAX_REASONS][REASON_LEN];

void rst_reason_from_btf(__s32 value, const char *name)
{
	if (value < 0 || value >= MAX_REASONS)
		return;
	if (!strncmp(name, RST_PREFIX, strlen(RST_PREFIX)))
		name += strlen(RST_PREFIX);
	snprintf(rst_reasons[value], REASON_LEN, "%s", name);
}

const char *rst_reason_name(__u32 value)
{
	return value < MAX_REASONS && rst_reasons[value][0] ? rst_reasons[value] : NULL;
}

bool rst_reason_valid(__u32 value, const char *name)
{
	size_t n = strlen(name);

	return value < MAX_REASONS && n && n < REASON_LEN &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

int rst_reason_set(__u32 value, const char *name)
{
	if (!rst_reason_valid(value, name))
		return -1;
	memcpy(rst_reasons[value], name, strlen(name) + 1);
	return 0;
}

static const char *const calls[TW_CALL_MAX] = {
	[TW_CALL_CONNECT] = "connect",
	[TW_CALL_ACCEPT] = "accept",
	[TW_CALL_CLOSE] = "close",
	[TW_CALL_SHUTDOWN] = "shutdown",
	[TW_CALL_READ] = "read",
	[TW_CALL_WRITE] = "write",
	[TW_CALL_SETSOCKOPT] = "setsockopt",
	[TW_CALL_LISTEN] = "listen",
	[TW_CALL_BIND] = "bind",
};

const char *call_name(__u32 call)
{
	if (call >= TW_CALL_MAX || !calls[call])
		return "unknown";
	return calls[call];
}

/* A case returning the constant's own name. */
#define NAME(c)	case c: return #c

const char *shutdown_how_name(__u32 how)
{
	switch (how) {
	NAME(SHUT_RD);
	NAME(SHUT_WR);
	NAME(SHUT_RDWR);
	default:
		return NULL;
	}
}

const char *sockopt_level_name(int level)
{
	switch (level) {
	NAME(SOL_SOCKET);
	NAME(IPPROTO_TCP);
	default:
		return NULL;
	}
}

const char *sockopt_name(int level, int name)
{
	if (level == SOL_SOCKET) {
		switch (name) {
		NAME(SO_REUSEADDR);
		NAME(SO_KEEPALIVE);
		NAME(SO_LINGER);
		NAME(SO_REUSEPORT);
		}
	} else if (level == IPPROTO_TCP) {
		switch (name) {
		NAME(TCP_KEEPIDLE);
		NAME(TCP_KEEPINTVL);
		NAME(TCP_KEEPCNT);
		NAME(TCP_USER_TIMEOUT);
		}
	}
	return NULL;
}
