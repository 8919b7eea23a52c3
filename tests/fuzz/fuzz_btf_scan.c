// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the walk of raw BTF (the kernel's, or any file given
 * with --btf). Whatever the bytes, it must stay in bounds; and BTF it
 * accepts must be BTF libbpf accepts too, with the same answers, since
 * libbpf's parse is what answers when the walk refuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>

#include "btf_scan.h"

#define MAX_VALUES	64

/* The enum values one way of answering reported. */
static struct values {
	int n;
	__s32 val[MAX_VALUES];
	char name[MAX_VALUES][32];
} *seen;

static void record(__s32 value, const char *name)
{
	if (seen->n < MAX_VALUES) {
		seen->val[seen->n] = value;
		snprintf(seen->name[seen->n++], sizeof(seen->name[0]), "%s", name);
	}
}

#define QUESTIONS(list) {						\
	.tps = list, .ntps = sizeof(list) / sizeof(list[0]),		\
	.enum_name = "sk_rst_reason", .enum_value = record,		\
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct btf_scan_tp raw_tps[] = {
		{ .name = "tcp_send_reset" }, { .name = "a" }, { .name = "" },
	};
	struct btf_scan_tp lib_tps[] = {
		{ .name = "tcp_send_reset" }, { .name = "a" }, { .name = "" },
	};
	struct btf_scan raw_q = QUESTIONS(raw_tps);
	struct btf_scan lib_q = QUESTIONS(lib_tps);
	struct values raw_values = { 0 }, lib_values = { 0 };
	struct btf *btf;
	/* A copy of its own size: reads past the end are caught. */
	void *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	seen = &raw_values;
	if (btf_scan_raw(copy, size, &raw_q)) {
		free(copy);
		return 0;
	}
	btf = btf__new(copy, (__u32)size);
	if (!btf)
		abort();		/* accepted what libbpf refuses */
	seen = &lib_values;
	btf_scan_libbpf(btf, &lib_q);
	btf__free(btf);
	free(copy);
	for (size_t i = 0; i < sizeof(raw_tps) / sizeof(raw_tps[0]); i++)
		if (raw_tps[i].exists != lib_tps[i].exists ||
		    raw_tps[i].nargs != lib_tps[i].nargs)
			abort();
	if (memcmp(&raw_values, &lib_values, sizeof(raw_values)))
		abort();
	return 0;
}
