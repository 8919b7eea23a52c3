// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the JSON Lines reader (scenario action logs,
 * recordings). Whatever the bytes, it must return an answer, stay in
 * bounds, and a line it accepts must survive re-encoding (what --json does
 * with it) as a line it accepts again with the same fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonl.h"

static void reencode(FILE *f, const struct jobject *o)
{
	fputc('{', f);
	for (int i = 0; i < o->n; i++) {
		const struct jfield *fl = &o->f[i];

		if (i)
			fputc(',', f);
		json_write_str(f, fl->key, sizeof(fl->key));
		fputc(':', f);
		if (fl->type == J_STR)
			json_write_str(f, fl->str, JSONL_STR_MAX);
		else if (fl->type == J_NUM && fl->is_int && fl->fits)
			fprintf(f, "%lld", fl->i);
		else if (fl->type == J_NUM && fl->is_int)
			fprintf(f, "%llu", fl->u);
		else if (fl->type == J_NUM)
			fprintf(f, "%.17g", fl->num);
		else if (fl->type == J_BOOL)
			fputs(fl->b ? "true" : "false", f);
		else
			fputs("null", f);
	}
	fputc('}', f);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct jobject a, b;
	const char *err;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (jsonl_parse((const char *)data, size, &a, &err)) {
		if (!err)
			abort();	/* a refusal must say why */
		return 0;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		return 0;
	reencode(f, &a);
	fclose(f);
	if (jsonl_parse(buf, len, &b, &err) || b.n != a.n)
		abort();
	for (int i = 0; i < a.n; i++)
		if (strcmp(a.f[i].key, b.f[i].key) || a.f[i].type != b.f[i].type ||
		    (a.f[i].type == J_STR && strcmp(a.f[i].str, b.f[i].str)))
			abort();
	free(buf);
	return 0;
}
