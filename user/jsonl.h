/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_JSONL_H
#define TW_JSONL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A strict parser for one flat JSON object per line (what the scenario
 * action logs hold): string, number, true/false and null values; nested
 * objects and arrays are refused. Every copy is bounded; an over-long key
 * or string is an error, not a truncation.
 */
enum jtype {
	J_STR,
	J_NUM,
	J_BOOL,
	J_NULL,
};

#define JSONL_KEY_MAX	32
#define JSONL_STR_MAX	256
#define JSONL_FIELDS	32

struct jfield {
	char key[JSONL_KEY_MAX];
	enum jtype type;
	bool b;
	bool is_int;
	long long i;
	double num;
	char str[JSONL_STR_MAX];	/* decoded UTF-8 */
};

struct jobject {
	struct jfield f[JSONL_FIELDS];
	int n;
};

/* 0 on success; -1 with *err saying what was wrong. */
int jsonl_parse(const char *s, size_t len, struct jobject *o, const char **err);
const struct jfield *jsonl_get(const struct jobject *o, const char *key);
/* The string value of key, or NULL when absent or not a string. */
const char *jsonl_str(const struct jobject *o, const char *key);
/* The integer value of key, or def. */
long long jsonl_int(const struct jobject *o, const char *key, long long def);

#endif
