/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_NAMES_H
#define TW_NAMES_H

#include <stdbool.h>
#include <linux/types.h>

/* Kernel TCP state names without the TCP_ prefix; "UNKNOWN" out of range. */
const char *tcp_state_name(int state);
/* The inverse: TCP_* number, or -1. Accepts the name with or without TCP_. */
int tcp_state_parse(const char *name);

/* "state", "rst_sent", ...: the JSON "type" of an event type. */
const char *event_type_name(int type);
/* The inverse: the enum tw_event_type value, or -1. */
int event_type_parse(const char *name);
#define TW_EVENT_TYPES	9	/* enum tw_event_type values 1..8, plus 0 */

/* "ECONNRESET", or "E<n>" for a number glibc does not name. */
const char *errno_name(long err, char *buf, size_t len);

/*
 * Reset reasons, read from the running kernel's enum sk_rst_reason (the
 * numbering changes between versions): called with each of its values.
 * The name is copied; a value out of range is ignored.
 */
void rst_reason_from_btf(__s32 value, const char *name);
/* The name without SK_RST_REASON_, or NULL when unknown. */
const char *rst_reason_name(__u32 value);
/* Whether value and name can be a reset reason: in range, [A-Z0-9_]+. */
bool rst_reason_valid(__u32 value, const char *name);
/*
 * Name value as a recording says the traced kernel did (a replay has no
 * BTF). Returns -1, changing nothing, for a value or a name that cannot be
 * one (rst_reason_valid).
 */
int rst_reason_set(__u32 value, const char *name);

/* "connect", "accept", ...: the JSON "call" of an enum tw_call value. */
const char *call_name(__u32 call);
/* "SHUT_WR" and the like, or NULL. */
const char *shutdown_how_name(__u32 how);
/*
 * "SOL_SOCKET"/"IPPROTO_TCP", and the names of the options tcpwatch traces
 * ("SO_LINGER", "TCP_USER_TIMEOUT", ...); NULL for any other.
 */
const char *sockopt_level_name(int level);
const char *sockopt_name(int level, int name);

#endif
