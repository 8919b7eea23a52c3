/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_JSONL_H
#define TW_JSONL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A strict parser for one flat JSON object per line (what the scenario
 * action logs hold): string, number, true/false and null values; nested
 * objects and arrays are refused, and so are strings that are not UTF-8.
 * Every copy is bounded; an over-long key or string is an error, not a
 * truncation.
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
	bool is_int;		/* an integer within long long or unsigned long long */
	bool fits;		/* i holds it */
	bool negative;
	long long i;		/* when it fits */
	unsigned long long u;	/* when it is not negative */
	double num;
	/* Decoded UTF-8, in the object's strs, for a string only (shorter than JSONL_STR_MAX). */
	const char *str;
};

/*
 * The strings are stored one after the other in strs, so an object touches
 * only the memory its fields use (a reader keeping many objects, or handing
 * them to another thread, moves less). Copy one with jsonl_copy().
 */
struct jobject {
	struct jfield f[JSONL_FIELDS];
	int n;
	size_t strs_used;
	char strs[JSONL_FIELDS * JSONL_STR_MAX];
};

/* 0 on success; -1 with *err saying what was wrong. */
int jsonl_parse(const char *s, size_t len, struct jobject *o, const char **err);
/* *dst = *src, its strings its own (only the part of strs in use is copied). */
void jsonl_copy(struct jobject *dst, const struct jobject *src);

/*
 * Fields by number: a reader that looks up the same keys in object after
 * object names them once (jsonl_keys_init), then finds all of an object's
 * fields in one pass (jsonl_index) rather than comparing names at every
 * look-up.
 */
#define JSONL_KEYS_MAX	64

struct jkeys {
	const char *const *names;
	int n;
	unsigned char slot[2 * JSONL_KEYS_MAX];	/* by hash: number + 1, or 0 */
	char padded[JSONL_KEYS_MAX][JSONL_KEY_MAX];	/* names, zero-padded */
};

/*
 * names: n different keys (n <= JSONL_KEYS_MAX, each shorter than
 * JSONL_KEY_MAX), numbered by position.
 */
void jsonl_keys_init(struct jkeys *k, const char *const *names, int n);
/*
 * by_key[i]: the first field of o (as jsonl_parse made it: its keys are
 * zero-padded) named k->names[i], or NULL, as jsonl_get.
 */
void jsonl_index(const struct jobject *o, const struct jkeys *k,
		 const struct jfield **by_key);

const struct jfield *jsonl_get(const struct jobject *o, const char *key);
/* The string value of key, or NULL when absent or not a string. */
const char *jsonl_str(const struct jobject *o, const char *key);
/* The integer value of key, or def (also when out of long long's range). */
long long jsonl_int(const struct jobject *o, const char *key, long long def);

#endif
