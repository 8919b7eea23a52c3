// SPDX-License-Identifier: GPL-2.0
/*
 * The few answers tcpwatch needs from a kernel's BTF before loading (which
 * tracepoints have a tp_btf typedef, the arity of one, the names of one
 * enum), read by walking the raw file once. A full parse of our own (a
 * copy of ~6 MB, an index, a lookup per question) took ~10 ms of start-up
 * and libbpf parses it again to load anyway.
 *
 * The file may be a user's (--btf), so the walk bounds everything and
 * checks what libbpf's parse checks; whatever it cannot vouch for goes to
 * libbpf's parse, which then answers, or fails with its own error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <linux/btf.h>

#include "btf_scan.h"

#define TP_PREFIX	"btf_trace_"
#define MAX_STR_LEN	0x80000000u	/* libbpf's: offsets up to 0x7fffffff */

/* Raw BTF being walked. */
struct raw {
	const char *types;	/* the type section */
	const char *strs;	/* the string section, a NUL first and last */
	__u32 strs_len;
	__u32 *offs;		/* offs[id - 1]: where type id starts in types */
	size_t offs_size;
	__u32 n;		/* types, not counting [0] void */
};

/*
 * What follows struct btf_type in a record of each kind libbpf knows:
 * fixed bytes, and bytes per vlen element. Other kinds are not walked.
 */
static const struct record_layout {
	bool known;
	__u8 fixed;
	__u8 per_elem;
} layouts[] = {
	[BTF_KIND_INT]		= { true, sizeof(__u32), 0 },
	[BTF_KIND_PTR]		= { true, 0, 0 },
	[BTF_KIND_ARRAY]	= { true, sizeof(struct btf_array), 0 },
	[BTF_KIND_STRUCT]	= { true, 0, sizeof(struct btf_member) },
	[BTF_KIND_UNION]	= { true, 0, sizeof(struct btf_member) },
	[BTF_KIND_ENUM]		= { true, 0, sizeof(struct btf_enum) },
	[BTF_KIND_FWD]		= { true, 0, 0 },
	[BTF_KIND_TYPEDEF]	= { true, 0, 0 },
	[BTF_KIND_VOLATILE]	= { true, 0, 0 },
	[BTF_KIND_CONST]	= { true, 0, 0 },
	[BTF_KIND_RESTRICT]	= { true, 0, 0 },
	[BTF_KIND_FUNC]		= { true, 0, 0 },
	[BTF_KIND_FUNC_PROTO]	= { true, 0, sizeof(struct btf_param) },
	[BTF_KIND_VAR]		= { true, sizeof(struct btf_var), 0 },
	[BTF_KIND_DATASEC]	= { true, 0, sizeof(struct btf_var_secinfo) },
	[BTF_KIND_FLOAT]	= { true, 0, 0 },
	[BTF_KIND_DECL_TAG]	= { true, sizeof(struct btf_decl_tag), 0 },
	[BTF_KIND_TYPE_TAG]	= { true, 0, 0 },
	[BTF_KIND_ENUM64]	= { true, 0, sizeof(struct btf_enum64) },
};

#define NLAYOUTS	(sizeof(layouts) / sizeof(layouts[0]))

/*
 * The header, as libbpf checks it, and stricter: version 1 and a header of
 * this size only, since nothing else has been seen to check against.
 */
static int raw_sections(struct raw *r, const void *data, size_t size,
			__u32 *types_len)
{
	const struct btf_header *h = data;
	size_t body;

	if (size < sizeof(*h) || size > UINT32_MAX || h->magic != BTF_MAGIC ||
	    h->version != BTF_VERSION || h->hdr_len != sizeof(*h))
		return -1;
	body = size - sizeof(*h);
	if ((__u64)h->str_off + h->str_len > body ||
	    (__u64)h->type_off + h->type_len > h->str_off || h->type_off % 4)
		return -1;
	r->types = (const char *)data + sizeof(*h) + h->type_off;
	r->strs = (const char *)data + sizeof(*h) + h->str_off;
	r->strs_len = h->str_len;
	/* So that any offset inside the section names a string ending there. */
	if (!h->str_len || h->str_len > MAX_STR_LEN || r->strs[0] ||
	    r->strs[h->str_len - 1])
		return -1;
	*types_len = h->type_len;
	return 0;
}

/*
 * Index every record, each bounded by its kind's layout. The index (~0.5 MB
 * for a kernel) is mapped, not malloc'd: glibc raises its mmap threshold to
 * the size of a mapped chunk freed, and libbpf's parses after ours then
 * left ~400 kB more on the heap, raising the RSS peak of the next one.
 */
static int raw_index(struct raw *r, __u32 types_len)
{
	__u32 pos = 0;

	r->offs_size = (types_len / sizeof(struct btf_type) + 1) * sizeof(__u32);
	r->offs = mmap(NULL, r->offs_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->offs == MAP_FAILED) {
		r->offs = NULL;
		return -1;
	}
	while (types_len - pos >= sizeof(struct btf_type)) {
		const struct btf_type *t = (const void *)(r->types + pos);
		__u16 kind = btf_kind(t);
		__u64 len;

		if (kind >= NLAYOUTS || !layouts[kind].known)
			return -1;
		len = sizeof(*t) + layouts[kind].fixed +
		      (__u64)layouts[kind].per_elem * btf_vlen(t);
		if (len > types_len - pos)
			return -1;
		r->offs[r->n++] = pos;
		pos += (__u32)len;
	}
	return pos == types_len ? 0 : -1;
}

static const struct btf_type *raw_type(const struct raw *r, __u32 id)
{
	return id && id <= r->n ? (const void *)(r->types + r->offs[id - 1]) : NULL;
}

static bool str_ok(const struct raw *r, __u32 off)
{
	return off < r->strs_len;
}

/* Type 0 is void. */
static bool id_ok(const struct raw *r, __u32 id)
{
	return id <= r->n;
}

static bool members_ok(const struct raw *r, const struct btf_type *t)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!str_ok(r, m->name_off) || !id_ok(r, m->type))
			return false;
	return true;
}

static bool params_ok(const struct raw *r, const struct btf_type *t)
{
	const struct btf_param *p = btf_params(t);

	for (int i = 0; i < btf_vlen(t); i++, p++)
		if (!str_ok(r, p->name_off) || !id_ok(r, p->type))
			return false;
	return true;
}

static bool enum_ok(const struct raw *r, const struct btf_type *t)
{
	for (int i = 0; i < btf_vlen(t); i++) {
		__u32 name = btf_is_enum(t) ? btf_enum(t)[i].name_off
					    : btf_enum64(t)[i].name_off;

		if (!str_ok(r, name))
			return false;
	}
	return true;
}

static bool datasec_ok(const struct raw *r, const struct btf_type *t)
{
	const struct btf_var_secinfo *v = btf_var_secinfos(t);

	for (int i = 0; i < btf_vlen(t); i++, v++)
		if (!id_ok(r, v->type))
			return false;
	return true;
}

/*
 * What newer libbpf checks of every type once parsed: each name is in the
 * string section, each type referred to exists, a function's type is a
 * prototype.
 */
static bool raw_type_ok(const struct raw *r, const struct btf_type *t)
{
	const struct btf_type *proto;

	if (!str_ok(r, t->name_off))
		return false;
	switch (btf_kind(t)) {
	case BTF_KIND_FUNC:
		proto = raw_type(r, t->type);
		return proto && btf_is_func_proto(proto);
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
	case BTF_KIND_TYPE_TAG:
		return id_ok(r, t->type);
	case BTF_KIND_ARRAY:
		return id_ok(r, btf_array(t)->type) &&
		       id_ok(r, btf_array(t)->index_type);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return members_ok(r, t);
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		return enum_ok(r, t);
	case BTF_KIND_FUNC_PROTO:
		return params_ok(r, t);
	case BTF_KIND_DATASEC:
		return datasec_ok(r, t);
	default:
		return true;
	}
}

/* Arguments of a raw tracepoint from its typedef: pointer to prototype. */
static int raw_tp_args(const struct raw *r, const struct btf_type *typedef_t)
{
	const struct btf_type *ptr = raw_type(r, typedef_t->type), *proto;

	if (!ptr || !btf_is_ptr(ptr))
		return -1;
	proto = raw_type(r, ptr->type);
	if (!proto || !btf_is_func_proto(proto))
		return -1;
	return btf_vlen(proto) - 1;			/* less the void *ctx */
}

/* A btf_trace_ typedef: answer for its tracepoint, if asked and first. */
static void raw_typedef(const struct raw *r, const struct btf_type *t,
			struct btf_scan *s)
{
	const char *name = r->strs + t->name_off;

	if (strncmp(name, TP_PREFIX, strlen(TP_PREFIX)))
		return;
	name += strlen(TP_PREFIX);
	for (size_t i = 0; i < s->ntps; i++) {
		struct btf_scan_tp *tp = &s->tps[i];

		if (!tp->exists && !strcmp(name, tp->name)) {
			tp->exists = true;
			tp->nargs = raw_tp_args(r, t);
		}
	}
}

/* Check every type, answering as the asked ones go by. */
static int raw_walk(const struct raw *r, struct btf_scan *s, __u32 *enum_id)
{
	for (__u32 id = 1; id <= r->n; id++) {
		const struct btf_type *t = raw_type(r, id);

		if (!raw_type_ok(r, t))
			return -1;
		if (btf_is_typedef(t))
			raw_typedef(r, t, s);
		else if (btf_is_enum(t) && !*enum_id && s->enum_name &&
			 !strcmp(r->strs + t->name_off, s->enum_name))
			*enum_id = id;
	}
	return 0;
}

int btf_scan_raw(const void *data, size_t size, struct btf_scan *s)
{
	struct raw r = { .n = 0 };
	__u32 types_len, enum_id = 0;
	int err;

	for (size_t i = 0; i < s->ntps; i++) {
		s->tps[i].exists = false;
		s->tps[i].nargs = -1;
	}
	err = raw_sections(&r, data, size, &types_len);
	if (!err)
		err = raw_index(&r, types_len);
	if (!err)
		err = raw_walk(&r, s, &enum_id);
	/* Only now: a walk that fails must not have named anything. */
	if (!err && enum_id) {
		const struct btf_type *t = raw_type(&r, enum_id);
		const struct btf_enum *v = btf_enum(t);

		for (int i = 0; i < btf_vlen(t); i++, v++)
			s->enum_value(v->val, r.strs + v->name_off);
	}
	if (r.offs)
		munmap(r.offs, r.offs_size);
	return err;
}

static int libbpf_tp_args(const struct btf *btf, int typedef_id)
{
	const struct btf_type *t = btf__type_by_id(btf, typedef_id);

	t = btf__type_by_id(btf, t->type);		/* pointer */
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type);		/* prototype */
	if (!t || !btf_is_func_proto(t))
		return -1;
	return btf_vlen(t) - 1;				/* less the void *ctx */
}

void btf_scan_libbpf(const struct btf *btf, struct btf_scan *s)
{
	const struct btf_type *t;
	const struct btf_enum *v;
	int id;

	for (size_t i = 0; i < s->ntps; i++) {
		struct btf_scan_tp *tp = &s->tps[i];
		char name[128];

		snprintf(name, sizeof(name), TP_PREFIX "%s", tp->name);
		id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
		tp->exists = id > 0;
		tp->nargs = tp->exists ? libbpf_tp_args(btf, id) : -1;
	}
	id = s->enum_name ? btf__find_by_name_kind(btf, s->enum_name,
						   BTF_KIND_ENUM) : -1;
	if (id <= 0)
		return;
	t = btf__type_by_id(btf, id);
	v = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, v++) {
		const char *name = btf__name_by_offset(btf, v->name_off);

		if (name)
			s->enum_value(v->val, name);
	}
}

static int read_all(int fd, char *buf, size_t size)
{
	while (size) {
		ssize_t n = read(fd, buf, size);

		if (n <= 0)
			return -1;
		buf += n;
		size -= (size_t)n;
	}
	return 0;
}

/*
 * Walk the file, mapped where it can be (the kernel's BTF on recent
 * kernels, 6.18 here: then no copy at all), else read into memory.
 */
static int scan_raw_file(const char *path, struct btf_scan *s)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = -1;
	struct stat st;
	size_t size;
	void *data;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0)
		goto out_close;
	size = (size_t)st.st_size;
	data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data != MAP_FAILED) {
		err = btf_scan_raw(data, size, s);
		munmap(data, size);
	} else if ((data = malloc(size))) {
		if (!read_all(fd, data, size))
			err = btf_scan_raw(data, size, s);
		free(data);
	}
out_close:
	close(fd);
	return err;
}

int btf_scan_file(const char *path, struct btf_scan *s)
{
	struct btf *btf;

	if (!scan_raw_file(path, s))
		return 0;
	btf = btf__parse(path, NULL);
	if (!btf)
		return -errno;
	btf_scan_libbpf(btf, s);
	/* libbpf parses its own copy to load: never hold both. */
	btf__free(btf);
	return 0;
}
