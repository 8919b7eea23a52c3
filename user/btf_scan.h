/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_BTF_SCAN_H
#define TW_BTF_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct btf;

/* A raw tracepoint asked about, and what the BTF says of it. */
struct btf_scan_tp {
	const char *name;	/* in: the tracepoint, without btf_trace_ */
	bool exists;		/* its btf_trace_<name> typedef exists */
	int nargs;		/* its arguments less the context; -1: unknown */
};

/* The questions tcpwatch asks of a kernel's BTF. */
struct btf_scan {
	struct btf_scan_tp *tps;
	size_t ntps;
	const char *enum_name;
	/* Called for each value of the first enum named enum_name. */
	void (*enum_value)(__s32 value, const char *name);
};

/*
 * Answer s from the BTF file at path: from the raw file, mapped (or read)
 * and walked once, when it is raw BTF that passes every check libbpf would
 * make; otherwise (ELF, other byte order, damage) through libbpf's
 * btf__parse(), which then decides. Returns 0, or -errno as btf__parse()
 * fails.
 */
int btf_scan_file(const char *path, struct btf_scan *s);

/*
 * Answer s from raw BTF in memory (4-byte aligned). Returns 0, or -1 when
 * the data is not raw BTF of this byte order that libbpf would take, or
 * has a kind this walk does not know: then nothing is answered.
 */
int btf_scan_raw(const void *data, size_t size, struct btf_scan *s);

/* Answer s from BTF libbpf has parsed: the same answers, the slow way. */
void btf_scan_libbpf(const struct btf *btf, struct btf_scan *s);

#endif
