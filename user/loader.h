/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_LOADER_H
#define TW_LOADER_H

#include <stdbool.h>
#include <bpf/libbpf.h>

#include "options.h"
#include "tcpwatch.h"

struct tcpwatch_bpf;

struct tw_loader {
	struct tcpwatch_bpf *skel;
	struct ring_buffer *rb;
	bool classic;		/* classic tracepoints are in use */
	struct bpf_link *links[16];
	int attached;		/* number of hooks attached */
	bool exits_seen;	/* sched_process_exit is attached: targets shrink */
};

/*
 * Open, configure, load and attach everything. Prints one line saying what
 * failed and returns -errno on failure; the caller then calls loader_stop().
 */
int loader_start(struct tw_loader *l, const struct tw_options *o);
/*
 * Map the ring buffer, with fn as its callback; same on failure. Its data
 * is mapped twice and resident at once (8 MB at the default --buffer):
 * after the BPF object has loaded, whose BTF parsing needs as much for a
 * moment. Events wait in the kernel meanwhile.
 */
int loader_map_events(struct tw_loader *l, ring_buffer_sample_fn fn, void *ctx);
void loader_stop(struct tw_loader *l);
/* The ring buffer's map (after loader_start). */
int loader_events_fd(const struct tw_loader *l);

/*
 * The tracefs events directory classic tracepoints are found in, mounting
 * tracefs if the host has not; NULL when there is none.
 */
const char *loader_tracefs(bool verbose);

/* Sum of a per-CPU counter kept by the BPF programs. */
__u64 loader_counter(struct tw_loader *l, enum tw_counter c);
/*
 * Runs of tcpwatch's programs the kernel skipped: a hook fired on a CPU
 * where the same program was already running (an interrupt in the middle
 * of it), so the event never reached tcpwatch. The kernel's own count.
 */
__u64 loader_skipped(struct tw_loader *l);

/* Record that the socket with this inode belongs to pid (pre-existing). */
int loader_add_fd_owner(struct tw_loader *l, __u64 ino, __u32 pid,
			const char *comm);

/* Stop tracing pid (it has exited: its pid may be given to another process). */
void loader_forget_target(struct tw_loader *l, pid_t pid);
/* Whether no traced process is left: the named ones and their followed children. */
bool loader_no_targets(struct tw_loader *l);

/* Record that the listening socket on (netns, port) belongs to pid. */
int loader_add_listener(struct tw_loader *l, __u32 netns, __u16 port,
			__u32 pid, const char *comm);

#endif
