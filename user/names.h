/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_NAMES_H
#define TW_NAMES_H

#include <linux/types.h>

struct btf;

/* Kernel TCP state names without the TCP_ prefix; "UNKNOWN" out of range. */
const char *tcp_state_name(int state);
/* The inverse: TCP_* number, or -1. Accepts the name with or without TCP_. */
int tcp_state_parse(const char *name);

/* "state", "rst_sent", ...: the JSON "type" of an event type. */
const char *event_type_name(int type);
#define TW_EVENT_TYPES	9	/* enum tw_event_type values 1..8, plus 0 */

/* "ECONNRESET", or "E<n>" for a number glibc does not name. */
const char *errno_name(int err, char *buf, size_t len);

/*
 * Reset reasons, read from the running kernel's enum sk_rst_reason (the
 * numbering changes between versions). Returns the number of names found;
 * 0 when the kernel has no such enum. Names point into btf, which must
 * outlive their use.
 */
int rst_reasons_load(const struct btf *btf);
/* The name without SK_RST_REASON_, or NULL when unknown. */
const char *rst_reason_name(__u32 value);

#endif
