// SPDX-License-Identifier: GPL-2.0
/* What /proc says about the processes we trace. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc.h"

bool proc_has_cap(int cap)
{
	unsigned long long eff;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	bool found = false;

	if (!f)
		return geteuid() == 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	if (!found)
		return geteuid() == 0;
	return eff & (1ULL << cap);
}

bool proc_has_bpf_caps(void)
{
	return proc_has_cap(PROC_CAP_SYS_ADMIN) ||
	       (proc_has_cap(PROC_CAP_BPF) && proc_has_cap(PROC_CAP_PERFMON));
}

bool proc_exists(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

void proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int proc_pidfd(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int proc_for_each_socket(pid_t pid, int (*fn)(__u64 ino, void *ctx), void *ctx)
{
	char dir[64], link[PATH_MAX], target[64];
	struct dirent *d;
	int n = 0, err = 0;
	DIR *fds;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	fds = opendir(dir);
	if (!fds)
		return -errno;
	while ((d = readdir(fds))) {
		unsigned long long ino;
		ssize_t len;

		if (d->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, d->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;	/* closed meanwhile */
		target[len] = '\0';
		if (sscanf(target, "socket:[%llu]", &ino) != 1)
			continue;
		err = fn(ino, ctx);
		if (err)
			break;
		n++;
	}
	closedir(fds);
	return err ? err : n;
}

__u32 proc_netns(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return stat(path, &st) ? 0 : (__u32)st.st_ino;
}

#define TCP_LISTEN_HEX	0x0A

/* One table of /proc/PID/net/tcp or tcp6; the layout is the same. */
static int scan_tcp_table(const char *path,
			  int (*fn)(__u16 port, __u64 ino, void *ctx), void *ctx)
{
	char line[512];
	int err = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (!fgets(line, sizeof(line), f))	/* header */
		goto out;
	while (!err && fgets(line, sizeof(line), f)) {
		unsigned int port, state;
		unsigned long long ino;

		/* sl local:port rem:port st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*s %*[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s %llu",
			   &port, &state, &ino) != 3)
			continue;
		if (state == TCP_LISTEN_HEX && port <= 0xffff)
			err = fn((__u16)port, ino, ctx);
	}
out:
	fclose(f);
	return err;
}

int proc_for_each_listener(pid_t pid, int (*fn)(__u16 port, __u64 ino, void *ctx),
			   void *ctx)
{
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/net/tcp", (int)pid);
	err = scan_tcp_table(path, fn, ctx);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/net/tcp6", (int)pid);
	return scan_tcp_table(path, fn, ctx);
}
