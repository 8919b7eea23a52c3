/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMTEST_EVENTS_H
#define VMTEST_EVENTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * tcpwatch's --json output, read back strictly: every line must be one
 * valid JSON object. Top-level members are kept (strings decoded); nested
 * objects and arrays are validated and skipped, no test looks into them.
 */
enum jtype {
	J_STR,
	J_NUM,
	J_BOOL,
	J_NULL,
	J_NESTED,
};

#define EV_FIELDS	48

struct field {
	const char *key;
	enum jtype type;
	const char *str;	/* J_STR: the decoded string */
	char lit[32];		/* J_NUM, J_BOOL: the text as written */
};

struct ev {
	char *line;		/* owns the storage key and str point into */
	struct field f[EV_FIELDS];
	int n;
};

struct events {
	struct ev *v;
	int n;
};

#define EV_NO_INT	LLONG_MIN

/* 0, or -1 with err set to what was wrong and where. */
int events_load(struct events *evs, const char *path, char *err, size_t errlen);
void events_free(struct events *evs);

const char *ev_str(const struct ev *e, const char *key);
bool ev_is(const struct ev *e, const char *key, const char *value);
long long ev_int(const struct ev *e, const char *key);	/* or EV_NO_INT */
bool ev_null(const struct ev *e, const char *key);
bool ev_true(const struct ev *e, const char *key);
bool ev_false(const struct ev *e, const char *key);

/* An event a kernel hook produced (not an explanation, summary, or reconstruction). */
bool ev_kernel(const struct ev *e);
/* Kernel events of type (any when NULL) with port as local or remote port (any when 0). */
int events_select(const struct events *evs, const char *type, int port,
		  const struct ev **out, int max);

/*
 * The state changes of the sockets that were bound to local port, in order,
 * as "OLD>NEW,OLD>NEW". Sockets, not ports: at CLOSE -> SYN_SENT the kernel
 * has not chosen the local port yet. A listener's own CLOSE>LISTEN and
 * LISTEN>CLOSE are left out when skip_listener is set.
 */
void events_transitions(const struct events *evs, int port, bool skip_listener,
			char *buf, size_t len);

#endif
