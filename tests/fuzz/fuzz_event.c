// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the decoding and printing of events from the ring
 * buffer. The kernel side is trusted code, but every field is still used
 * through bounds-checked tables: any bytes must print, as text and JSON,
 * without reading out of bounds, and the JSON must parse as one object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "output.h"
#include "tcpwatch.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct tw_output out = { .format = TW_FMT_JSON };
	struct tw_event e;
	struct jobject o;
	const char *err;
	char *buf = NULL;
	size_t len = 0;

	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	/* Reconstructed events carry a cause; any value must be safe. */
	out.f = open_memstream(&buf, &len);
	if (!out.f)
		return 0;
	out.path = "memory";
	json_event(&out, &e);
	fclose(out.f);
	/* One line, one flat object (the explain/connection records nest). */
	if (!len || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1) ||
	    jsonl_parse(buf, len - 1, &o, &err))
		abort();
	free(buf);
	buf = NULL;
	out.f = open_memstream(&buf, &len);
	if (!out.f)
		return 0;
	out.format = TW_FMT_TEXT;
	text_event(&out, &e);
	fclose(out.f);
	if (!len || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1) ||
	    memchr(buf, '\x1b', len))
		abort();
	free(buf);
	return 0;
}
