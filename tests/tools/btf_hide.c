// SPDX-License-Identifier: GPL-2.0
/*
 * btf_hide IN OUT NAME: copy of the kernel BTF IN in which the raw
 * tracepoint NAME does not exist (its btf_trace_NAME typedef is renamed),
 * for testing how tcpwatch copes with a kernel that lacks a hook. Every
 * other type is untouched, so CO-RE relocations against OUT still work.
 */
#include <stdio.h>
#include <bpf/btf.h>

int main(int argc, char **argv)
{
	char name[128], hidden[128];
	struct btf_type *t;
	const void *raw;
	struct btf *btf;
	__u32 size;
	int id, off;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: btf_hide IN OUT TRACEPOINT\n");
		return 2;
	}
	btf = btf__parse(argv[1], NULL);
	if (!btf) {
		perror(argv[1]);
		return 1;
	}
	snprintf(name, sizeof(name), "btf_trace_%s", argv[3]);
	snprintf(hidden, sizeof(hidden), "tcpwatch_test_hid_%s", argv[3]);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	/* Adding the string makes the BTF writable: look the type up after. */
	off = btf__add_str(btf, hidden);
	if (id <= 0 || off < 0) {
		fprintf(stderr, "btf_hide: no %s\n", name);
		return 1;
	}
	t = (struct btf_type *)btf__type_by_id(btf, id);
	t->name_off = off;
	raw = btf__raw_data(btf, &size);
	f = fopen(argv[2], "wb");
	if (!f || fwrite(raw, 1, size, f) != size || fclose(f)) {
		perror(argv[2]);
		return 1;
	}
	btf__free(btf);
	return 0;
}
