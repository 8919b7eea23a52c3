/*
 * ip(8) and nft(8) run with fork+execvp and an argv array, optionally inside
 * a namespace (setns in the child: `ip netns exec` would remount /sys and
 * hide tracefs from the run).  A failure becomes one line: the command and
 * the first line it printed on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "harness.h"

static void exec_sbin(const char *const argv[])
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin" };
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], argv[0]);
		execv(path, (char *const *)argv);
	}
	errno = ENOENT;
}

static void __attribute__((noreturn))
cmd_child(int netns_fd, const char *const argv[], int err_fd)
{
	int null_fd = open("/dev/null", O_RDWR);

	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		dup2(null_fd, STDOUT_FILENO);
	}
	dup2(err_fd, STDERR_FILENO);
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET)) {
		dprintf(STDERR_FILENO, "setns: %s\n", strerror(errno));
		_exit(126);
	}
	/* exec takes char *const[]; it does not modify the strings. */
	execvp(argv[0], (char *const *)argv);
	/* ip and nft live in sbin, which a user's PATH often lacks. */
	if (errno == ENOENT)
		exec_sbin(argv);
	dprintf(STDERR_FILENO, "%s\n", strerror(errno));
	_exit(127);
}

static void format_argv(char *buf, size_t len, const char *const argv[])
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; argv[i] && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s", i ? " " : "",
				 argv[i]);
}

/* Reads the child's stderr to the end, keeping its first line. */
static void read_first_line(int fd, char *buf, size_t len)
{
	char chunk[256];
	size_t used = 0, take;
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		take = (size_t)n < len - 1 - used ? (size_t)n : len - 1 - used;
		memcpy(buf + used, chunk, take);
		used += take;
	}
	buf[used] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int cmd_run(int netns_fd, const char *const argv[], bool verbose)
{
	char line[320], err[200];
	int pipefd[2], status;
	pid_t pid;

	format_argv(line, sizeof(line), argv);
	if (verbose)
		say("+ %s", line);
	if (pipe2(pipefd, O_CLOEXEC)) {
		say("tcpwatch-scenario: setup failed: pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0)
		cmd_child(netns_fd, argv, pipefd[1]);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		say("tcpwatch-scenario: setup failed: fork: %s", strerror(errno));
		return -1;
	}
	read_first_line(pipefd[0], err, sizeof(err));
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	say("tcpwatch-scenario: setup failed: `%s`: %s", line,
	    *err ? err : "failed");
	return -1;
}
