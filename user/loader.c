// SPDX-License-Identifier: GPL-2.0
/*
 * Loading the BPF side: pick tp_btf or the classic tracepoint for each hook,
 * skip (and say so) what this kernel lacks, fall back to classic tracepoints
 * when tracing programs are refused, and turn failures into one sentence.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "btf_scan.h"
#include "loader.h"
#include "names.h"
#include "syscalls.h"
#include "tcpwatch.skel.h"

#define KERNEL_BTF	"/sys/kernel/btf/vmlinux"

struct hook {
	const char *category;
	const char *name;
	const char *btf_prog;
	const char *tp_prog;
	const char *what;	/* what is not traced without it */
};

static const struct hook hooks[] = {
	{ "sock", "inet_sock_set_state", "btf_state", "tp_state", "state changes" },
	{ "tcp", "tcp_send_reset", "btf_send_reset", "tp_send_reset", "resets sent" },
	{ "tcp", "tcp_receive_reset", "btf_receive_reset", "tp_receive_reset",
	  "resets received" },
	{ "tcp", "tcp_retransmit_skb", "btf_retransmit", "tp_retransmit",
	  "retransmissions" },
	{ "tcp", "tcp_retransmit_synack", "btf_retransmit_synack",
	  "tp_retransmit_synack", "SYN-ACK retransmissions" },
	{ "sock", "inet_sk_error_report", "btf_error_report", "tp_error_report",
	  "errors reported to applications" },
	{ "tcp", "tcp_destroy_sock", "btf_destroy", "tp_destroy",
	  "socket destruction" },
	{ "sched", "sched_process_exit", "btf_exit", "tp_exit",
	  "exits of traced processes" },
	{ "sched", "sched_process_exec", "btf_exec", "tp_exec",
	  "new names of traced processes after exec" },
	{ "sched", "sched_process_fork", "btf_fork", "tp_fork",
	  "children forked after attach" },
};

#define NHOOKS	(sizeof(hooks) / sizeof(hooks[0]))

static int libbpf_print_verbose(enum libbpf_print_level level, const char *fmt,
				va_list args)
{
	return vfprintf(stderr, fmt, args);
}

static int libbpf_print_quiet(enum libbpf_print_level level, const char *fmt,
			      va_list args)
{
	return 0;
}

/* The fix for a refused bpf() call, as one sentence. */
static const char *bpf_fix(int err)
{
	switch (err) {
	case EPERM:
		return "needs CAP_BPF and CAP_PERFMON: run with sudo";
	case EACCES:
	case EINVAL:
		return "the kernel's verifier rejected it; run with -v to see why";
	case ENOMEM:
		return "the kernel could not allocate it: try a smaller --buffer";
	case E2BIG:
		return "--buffer is larger than the kernel allows";
	default:
		return "run with -v to see libbpf's log";
	}
}

static const char *tracefs_events(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing/events",
		"/sys/kernel/debug/tracing/events",
	};
	struct stat st;

	for (size_t i = 0; i < 2; i++)
		if (!stat(dirs[i], &st))
			return dirs[i];
	return NULL;
}

/*
 * Classic tracepoints are found through tracefs. A host without it mounted
 * gets it at its usual place (as systemd would).
 */
static const char *tracefs_mount(bool verbose)
{
	const char *dir = tracefs_events();

	if (dir)
		return dir;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		return NULL;
	if (verbose)
		fprintf(stderr, "tcpwatch: mounted tracefs on /sys/kernel/tracing\n");
	return tracefs_events();
}

const char *loader_tracefs(bool verbose)
{
	return tracefs_mount(verbose);
}

static bool classic_exists(const char *events, const struct hook *h)
{
	char path[256];

	if (!events)
		return false;
	snprintf(path, sizeof(path), "%s/%s/%s/id", events, h->category, h->name);
	return access(path, R_OK) == 0;
}

/* tps: what the kernel's BTF says of each hook's tracepoint, as hooks[]. */
static bool btf_exists(const struct btf_scan_tp *tps, const struct hook *h)
{
	return tps[h - hooks].exists;
}

/* Number of arguments of a raw tracepoint, from its btf_trace_ typedef. */
static int btf_tp_args(const struct btf_scan_tp *tps, const char *tp)
{
	for (size_t i = 0; i < NHOOKS; i++)
		if (!strcmp(tps[i].name, tp))
			return tps[i].nargs;
	return -1;
}

static bool hook_wanted(const struct hook *h, const struct tw_options *o)
{
	if (!strcmp(h->name, "sched_process_fork"))
		return o->npids && o->follow;
	if (!strncmp(h->name, "sched_", 6))
		return o->npids;
	return true;
}

/*
 * Choose a program for every hook. Returns the number of hooks that will be
 * attached; reports each one this kernel lacks, once.
 */
static int select_hooks(struct tw_loader *l, const struct btf_scan_tp *tps,
			const struct tw_options *o, bool classic)
{
	const char *events = NULL;
	int n = 0;

	if (classic)
		events = tracefs_mount(o->verbose);
	for (size_t i = 0; i < NHOOKS; i++) {
		const struct hook *h = &hooks[i];
		struct bpf_program *bp, *tp;
		bool use_btf = false, use_tp = false;

		bp = bpf_object__find_program_by_name(l->skel->obj, h->btf_prog);
		tp = bpf_object__find_program_by_name(l->skel->obj, h->tp_prog);
		if (hook_wanted(h, o)) {
			use_btf = !classic && btf_exists(tps, h);
			if (!use_btf) {
				if (!events)
					events = tracefs_mount(o->verbose);
				use_tp = classic_exists(events, h);
			}
			if (!use_btf && !use_tp)
				fprintf(stderr, "tcpwatch: this kernel has no tracepoint "
					"%s:%s: %s are not traced\n", h->category,
					h->name, h->what);
		}
		bpf_program__set_autoload(bp, use_btf);
		bpf_program__set_autoload(tp, use_tp);
		n += use_btf || use_tp;
	}
	return n;
}

/* Nothing loads but what select_hooks and syscalls_select choose. */
static void load_none(struct tcpwatch_bpf *s)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, s->obj)
		bpf_program__set_autoload(prog, false);
}

/* tps: the kernel's BTF on each hook, for tp_btf programs (unused when classic). */
static int open_skel(struct tw_loader *l, const struct btf_scan_tp *tps,
		     const struct tw_options *o, bool classic)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = o->btf_path);
	struct tcpwatch_bpf *s;
	int err;

	s = l->skel = tcpwatch_bpf__open_opts(&opts);
	if (!s) {
		err = -errno;
		fprintf(stderr, "tcpwatch: cannot open the BPF object: %s\n",
			strerror(-err));
		return err;
	}
	s->rodata->filter_pid = o->npids > 0;
	s->rodata->filter_port = o->nports > 0;
	s->rodata->filter_family = (__u16)o->family;
	s->rodata->follow_forks = o->follow;
	s->rodata->have_fd_owners = o->npids > 0;
	s->rodata->rst_reason_arg = !classic && btf_tp_args(tps, "tcp_send_reset") >= 3;
	s->rodata->retrans_err_arg = !classic && btf_tp_args(tps, "tcp_retransmit_skb") >= 3;
	/* Wake the reader early when an eighth of the buffer is waiting. */
	s->rodata->wakeup_bytes = o->buffer_bytes / 8;
	err = bpf_map__set_max_entries(s->maps.events, (__u32)o->buffer_bytes);
	if (err) {
		fprintf(stderr, "tcpwatch: invalid --buffer: %s\n", strerror(-err));
		return err;
	}
	load_none(s);
	if (!select_hooks(l, tps, o, classic)) {
		fprintf(stderr, "tcpwatch: this kernel has none of the TCP tracepoints "
			"tcpwatch needs\n");
		return -ENOENT;
	}
	s->rodata->errors_by_tuple = bpf_program__autoload(s->progs.tp_error_report);
	syscalls_select(s, o, classic);
	/*
	 * Tracing everything with tp_btf, nothing writes the owners by tuple,
	 * by inode or the held resets (user space names a timewait reset's
	 * owner): one entry each, not the 8 MB of kernel memory that 65,536
	 * tuples take. The programs still look them up (and find nothing).
	 */
	if (!o->npids && !s->rodata->errors_by_tuple &&
	    ((err = bpf_map__set_max_entries(s->maps.tuples, 1)) ||
	     (err = bpf_map__set_max_entries(s->maps.owners_by_inode, 1)) ||
	     (err = bpf_map__set_max_entries(s->maps.pending_rst, 1)))) {
		fprintf(stderr, "tcpwatch: cannot size the BPF maps: %s\n",
			strerror(-err));
		return err;
	}
	return 0;
}

/* What the kernel's BTF says of each hook (tps, as hooks[]), and reset reasons. */
static int load_btf(const struct tw_options *o, struct btf_scan_tp *tps)
{
	const char *path = o->btf_path ? o->btf_path : KERNEL_BTF;
	struct btf_scan want = {
		.tps = tps, .ntps = NHOOKS,
		.enum_name = "sk_rst_reason", .enum_value = rst_reason_from_btf,
	};
	int err;

	for (size_t i = 0; i < NHOOKS; i++)
		tps[i].name = hooks[i].name;
	err = btf_scan_file(path, &want);
	if (!o->btf_path && err == -ENOENT)
		fprintf(stderr, "tcpwatch: no kernel BTF at %s: this kernel was "
			"built without CONFIG_DEBUG_INFO_BTF; pass --btf FILE "
			"with its BTF\n", KERNEL_BTF);
	else if (err)
		fprintf(stderr, "tcpwatch: cannot read BTF from %s: %s\n",
			path, strerror(-err));
	return err;
}

/*
 * Load with tp_btf where the kernel has it; a kernel that refuses tracing
 * programs (some lockdown setups do) gets the classic tracepoints instead.
 */
static int load(struct tw_loader *l, const struct tw_options *o)
{
	struct btf_scan_tp tps[NHOOKS];
	int err;

	err = load_btf(o, tps);
	if (err)
		return err;
	err = open_skel(l, tps, o, o->classic);
	if (err)
		return err;
	err = tcpwatch_bpf__load(l->skel);
	if (err && !o->classic) {
		fprintf(stderr, "tcpwatch: tp_btf programs refused (%s); using "
			"classic tracepoints\n", strerror(-err));
		tcpwatch_bpf__destroy(l->skel);
		err = open_skel(l, NULL, o, true);
		if (err)
			return err;
		err = tcpwatch_bpf__load(l->skel);
	}
	if (err) {
		fprintf(stderr, "tcpwatch: cannot load the BPF programs: %s: %s\n",
			strerror(-err), bpf_fix(-err));
		return err;
	}
	l->classic = o->classic || !bpf_program__autoload(l->skel->progs.btf_state);
	return 0;
}

static int fill_filters(struct tw_loader *l, const struct tw_options *o)
{
	struct tw_target_buckets buckets = { .set = { 0 } };
	__u32 zero = 0;
	__u8 one = 1;
	int err;

	for (int i = 0; i < o->npids; i++) {
		__u32 pid = (__u32)o->pids[i];

		buckets.set[pid & (TW_TARGET_BUCKETS - 1)] = 1;
		err = bpf_map__update_elem(l->skel->maps.targets, &pid, sizeof(pid),
					   &one, sizeof(one), BPF_ANY);
		if (err)
			return err;
	}
	err = bpf_map__update_elem(l->skel->maps.target_buckets, &zero, sizeof(zero),
				   &buckets, sizeof(buckets), BPF_ANY);
	if (err)
		return err;
	for (int i = 0; i < o->nports; i++) {
		err = bpf_map__update_elem(l->skel->maps.ports, &o->ports[i],
					   sizeof(o->ports[i]), &one, sizeof(one),
					   BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

/* The program select_hooks chose for h, or NULL. */
static struct bpf_program *chosen(const struct tw_loader *l, const struct hook *h)
{
	const char *names[] = { h->btf_prog, h->tp_prog };

	for (size_t i = 0; i < 2; i++) {
		struct bpf_program *prog =
			bpf_object__find_program_by_name(l->skel->obj, names[i]);

		if (bpf_program__autoload(prog))
			return prog;
	}
	return NULL;
}

/* The hooks; the call programs are syscalls_attach's. */
static int attach(struct tw_loader *l)
{
	for (size_t i = 0; i < NHOOKS; i++) {
		struct bpf_program *prog = chosen(l, &hooks[i]);
		struct bpf_link *link;

		if (!prog)
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			fprintf(stderr, "tcpwatch: cannot attach %s: %s: %s\n",
				bpf_program__section_name(prog), strerror(errno),
				bpf_fix(errno));
			continue;
		}
		/* The skeleton destroys its links; keep ours with the object. */
		l->links[l->attached++] = link;
		if (prog == l->skel->progs.btf_exit || prog == l->skel->progs.tp_exit)
			l->exits_seen = true;
	}
	return l->attached ? 0 : -ENOENT;
}

int loader_start(struct tw_loader *l, const struct tw_options *o)
{
	int err;

	memset(l, 0, sizeof(*l));
	libbpf_set_print(o->verbose ? libbpf_print_verbose : libbpf_print_quiet);
	err = load(l, o);
	if (err)
		return err;
	err = fill_filters(l, o);
	if (err) {
		fprintf(stderr, "tcpwatch: cannot set the filters: %s\n", strerror(-err));
		return err;
	}
	err = attach(l);
	if (err) {
		fprintf(stderr, "tcpwatch: no hook could be attached\n");
		return err;
	}
	return 0;
}

int loader_events_fd(const struct tw_loader *l)
{
	return bpf_map__fd(l->skel->maps.events);
}

int loader_map_events(struct tw_loader *l, ring_buffer_sample_fn fn, void *ctx)
{
	int err;

	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.events), fn, ctx, NULL);
	if (!l->rb) {
		err = -errno;
		fprintf(stderr, "tcpwatch: cannot map the ring buffer: %s\n",
			strerror(-err));
		return err;
	}
	return 0;
}

void loader_stop(struct tw_loader *l)
{
	ring_buffer__free(l->rb);
	for (int i = l->attached - 1; i >= 0; i--)
		bpf_link__destroy(l->links[i]);
	tcpwatch_bpf__destroy(l->skel);
	memset(l, 0, sizeof(*l));
}

__u64 loader_counter(struct tw_loader *l, enum tw_counter c)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 vals[ncpu > 0 ? ncpu : 1], sum = 0;
	__u32 key = c;

	if (ncpu <= 0 || bpf_map__lookup_elem(l->skel->maps.counters, &key,
					      sizeof(key), vals,
					      sizeof(__u64) * ncpu, 0))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

__u64 loader_skipped(struct tw_loader *l)
{
	struct bpf_program *prog;
	__u64 sum = 0;

	bpf_object__for_each_program(prog, l->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		memset(&info, 0, sizeof(info));
		/* Kernels before 5.12 have no such count: 0. */
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			sum += info.recursion_misses;
	}
	return sum;
}

static void owner_init(struct tw_owner *o, __u32 pid, const char *comm)
{
	memset(o, 0, sizeof(*o));
	o->pid = pid;
	o->how = TW_OWNER_FD;
	strncpy(o->comm, comm, sizeof(o->comm) - 1);
}

int loader_add_fd_owner(struct tw_loader *l, __u64 ino, __u32 pid,
			const char *comm)
{
	struct tw_owner owner;

	int err;

	owner_init(&owner, pid, comm);
	err = bpf_map__update_elem(l->skel->maps.owners_by_inode, &ino,
				   sizeof(ino), &owner, sizeof(owner), BPF_ANY);
	/* Until now the BPF side did not look sockets up by inode. */
	if (!err)
		l->skel->bss->fd_owners_seeded = true;
	return err;
}

void loader_forget_target(struct tw_loader *l, pid_t pid)
{
	__u32 key = (__u32)pid;

	bpf_map__delete_elem(l->skel->maps.targets, &key, sizeof(key), 0);
}

bool loader_no_targets(struct tw_loader *l)
{
	__u32 key;

	return bpf_map_get_next_key(bpf_map__fd(l->skel->maps.targets), NULL,
				    &key) != 0;
}

int loader_add_listener(struct tw_loader *l, __u32 netns, __u16 port,
			__u32 pid, const char *comm)
{
	struct tw_listen_key key = { .netns = netns, .port = port };
	struct tw_listener val = { .sk = 0 };

	owner_init(&val.owner, pid, comm);
	return bpf_map__update_elem(l->skel->maps.listeners, &key, sizeof(key),
				    &val, sizeof(val), BPF_ANY);
}
