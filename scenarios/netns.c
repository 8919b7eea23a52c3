/*
 * Client and server namespaces for one run.  Names and the /30 subnet are
 * derived from the harness pid: concurrent runs get different namespaces and,
 * because tcpwatch sees every namespace at once, different 4-tuples too.
 * Nothing is changed in the namespace the harness was started in.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "harness.h"
#include "ops.h"
#include "wire.h"

#define NETNS_DIR	"/run/netns"
#define LINK_NAME	"tw0"
/* 198.18.0.0/15 (RFC 2544, benchmarking) holds 32768 /30 subnets. */
#define SUBNET_BASE	((198u << 24) | (18u << 16))
#define SUBNET_COUNT	32768
/* /proc/PID/comm of this program, truncated by the kernel to 15 bytes */
#define OWNER_COMM	"tcpwatch-scenar"

static const char *const ns_prefix[ROLE_COUNT] = {
	[ROLE_CLIENT] = "twc",
	[ROLE_SERVER] = "tws",
};

void net_init(struct net *n)
{
	int role;

	memset(n, 0, sizeof(*n));
	n->kind = NET_LOOPBACK;
	n->home_fd = n->wire_ctl = n->wire_ack = -1;
	for (role = 0; role < ROLE_COUNT; role++) {
		n->fd[role] = -1;
		snprintf(n->ip[role], sizeof(n->ip[role]), "127.0.0.1");
	}
}

static int run_cmd(struct run *r, int netns_fd, const char *const argv[])
{
	if (!cmd_run(netns_fd, argv, r->verbose))
		return 0;
	r->setup_failed = true;
	return -1;
}

static void pick_addresses(struct net *n, pid_t owner)
{
	uint32_t base = SUBNET_BASE + (owner % SUBNET_COUNT) * 4;
	struct in_addr a;

	a.s_addr = htonl(base + 1);
	inet_ntop(AF_INET, &a, n->ip[ROLE_CLIENT], sizeof(n->ip[ROLE_CLIENT]));
	a.s_addr = htonl(base + 2);
	inet_ntop(AF_INET, &a, n->ip[ROLE_SERVER], sizeof(n->ip[ROLE_SERVER]));
}

static int ns_add(struct run *r, enum role_id side, pid_t owner)
{
	struct net *n = &r->net;
	char path[64], name[NETNS_NAME_MAX];

	snprintf(name, sizeof(name), "%s-%d", ns_prefix[side], (int)owner);
	snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
	/* A namespace named after our own pid is a dead run's leftover. */
	if (!access(path, F_OK) &&
	    run_cmd(r, -1, (const char *[]){ "ip", "netns", "del", name, NULL }))
		return -1;
	if (run_cmd(r, -1, (const char *[]){ "ip", "netns", "add", name, NULL }))
		return -1;
	snprintf(n->name[side], sizeof(n->name[side]), "%s", name);
	n->fd[side] = open(path, O_RDONLY | O_CLOEXEC);
	if (n->fd[side] < 0)
		return setup_error(r, "cannot open %s: %s", path, strerror(errno));
	return run_cmd(r, -1, (const char *[]){ "ip", "-n", name, "link", "set",
					  "lo", "up", NULL });
}

static int link_veth(struct run *r)
{
	struct net *n = &r->net;

	return run_cmd(r, -1, (const char *[]){ "ip", "link", "add", LINK_NAME,
		"netns", n->name[ROLE_CLIENT], "type", "veth", "peer", "name",
		LINK_NAME, "netns", n->name[ROLE_SERVER], NULL });
}

static int tun_open(struct run *r, enum role_id side)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	int fd, err;

	if (net_enter(r, side))
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), LINK_NAME);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd >= 0 && ioctl(fd, TUNSETIFF, &ifr)) {
		err = errno;
		close(fd);
		fd = -1;
		errno = err;
	}
	err = errno;
	if (net_leave(r)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0)
		return setup_error(r, "cannot create a tun device in %s: %s",
				   r->net.name[side], strerror(err));
	return fd;
}

static int link_wire(struct run *r)
{
	struct net *n = &r->net;
	int client_tun, server_tun;

	client_tun = tun_open(r, ROLE_CLIENT);
	if (client_tun < 0)
		return -1;
	server_tun = tun_open(r, ROLE_SERVER);
	if (server_tun < 0)
		goto out_close_client;
	n->wire_pid = wire_start(client_tun, server_tun, &n->wire_ctl,
				 &n->wire_ack);
	if (n->wire_pid < 0)
		setup_error(r, "cannot start the wire: %s", strerror(errno));
	/* The wire process holds the devices now. */
	close(server_tun);
out_close_client:
	close(client_tun);
	return n->wire_pid > 0 ? 0 : -1;
}

static int link_up(struct run *r, enum role_id side)
{
	char cidr[INET_ADDRSTRLEN + 4], *name = r->net.name[side];

	snprintf(cidr, sizeof(cidr), "%s/30", r->net.ip[side]);
	if (run_cmd(r, -1, (const char *[]){ "ip", "-n", name, "addr", "add", cidr,
				       "dev", LINK_NAME, NULL }))
		return -1;
	return run_cmd(r, -1, (const char *[]){ "ip", "-n", name, "link", "set",
					  LINK_NAME, "up", NULL });
}

int net_create(struct run *r, enum net_kind kind)
{
	struct net *n = &r->net;
	pid_t owner = getpid();

	n->kind = kind;
	if (kind == NET_LOOPBACK)
		return 0;
	n->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->home_fd < 0)
		return setup_error(r, "cannot open /proc/self/ns/net: %s",
				   strerror(errno));
	pick_addresses(n, owner);
	if (ns_add(r, ROLE_CLIENT, owner) || ns_add(r, ROLE_SERVER, owner))
		return -1;
	if (kind == NET_VETH ? link_veth(r) : link_wire(r))
		return -1;
	if (link_up(r, ROLE_CLIENT) || link_up(r, ROLE_SERVER))
		return -1;
	return 0;
}

void net_destroy(struct run *r)
{
	struct net *n = &r->net;
	int side;

	if (n->wire_pid > 0) {
		kill(n->wire_pid, SIGKILL);
		waitpid(n->wire_pid, NULL, 0);
		n->wire_pid = 0;
	}
	if (n->wire_ctl >= 0)
		close(n->wire_ctl);
	if (n->wire_ack >= 0)
		close(n->wire_ack);
	n->wire_ctl = n->wire_ack = -1;
	for (side = ROLE_CLIENT; side < ROLE_COUNT; side++) {
		if (n->fd[side] >= 0)
			close(n->fd[side]);
		n->fd[side] = -1;
		if (n->name[side][0])
			run_cmd(r, -1, (const char *[]){ "ip", "netns", "del",
						   n->name[side], NULL });
		n->name[side][0] = '\0';
	}
	if (n->home_fd >= 0)
		close(n->home_fd);
	n->home_fd = -1;
}

int net_enter(struct run *r, enum role_id side)
{
	if (r->net.fd[side] < 0)
		return 0;
	if (setns(r->net.fd[side], CLONE_NEWNET))
		return setup_error(r, "cannot enter netns %s: %s",
				   r->net.name[side], strerror(errno));
	return 0;
}

int net_leave(struct run *r)
{
	if (r->net.home_fd < 0)
		return 0;
	if (setns(r->net.home_fd, CLONE_NEWNET))
		return setup_error(r, "cannot return to the harness's netns: %s",
				   strerror(errno));
	return 0;
}

/* key is relative to net.ipv4, e.g. "tcp_syn_retries". */
int net_sysctl(struct run *r, enum role_id side, const char *key,
	       const char *value)
{
	char path[128], arg[96];
	uint64_t ts = now_ns();
	int fd, ret = -1, err = 0;
	ssize_t len = strlen(value);

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", key);
	snprintf(arg, sizeof(arg), "%s net.ipv4.%s=%s", r->net.name[side], key,
		 value);
	if (net_enter(r, side))
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, value, len) == len)
		ret = 0;
	err = ret ? errno : 0;
	if (fd >= 0)
		close(fd);
	if (net_leave(r))
		return -1;
	op_record(r, "sysctl", arg, ts, ret, err);
	if (ret)
		return setup_error(r, "cannot set %s: %s", arg, strerror(err));
	return 0;
}

/* sock_diag from the harness, inside one of the roles' namespaces. */
int net_diag(struct run *r, enum role_id side, int state,
	     const struct endpoint *ep)
{
	int n;

	if (net_enter(r, side))
		return -1;
	n = op_diag(r, state, ep);
	if (net_leave(r))
		return -1;
	return n;
}

int net_diag_wait(struct run *r, enum role_id side, int state,
		  const struct endpoint *ep, int want, int timeout_ms)
{
	int n;

	if (net_enter(r, side))
		return -1;
	n = op_diag_wait(r, state, ep, want, timeout_ms);
	if (net_leave(r))
		return -1;
	return n;
}

static bool owner_alive(int pid)
{
	char path[64], comm[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	return n > 0 && !strncmp(comm, OWNER_COMM, strlen(OWNER_COMM));
}

static bool is_stale(const char *name)
{
	char side[2];
	int pid, len = 0;

	if (sscanf(name, "tw%1[cs]-%d%n", side, &pid, &len) != 2 ||
	    name[len] != '\0' || pid <= 0)
		return false;
	return !owner_alive(pid);
}

int net_cleanup_stale(void)
{
	struct dirent *de;
	int failed = 0;
	DIR *dir;

	dir = opendir(NETNS_DIR);
	if (!dir) {
		if (errno == ENOENT)
			return 0;
		say("tcpwatch-scenario: cannot list " NETNS_DIR ": %s",
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(dir))) {
		if (!is_stale(de->d_name))
			continue;
		if (cmd_run(-1, (const char *[]){ "ip", "netns", "del", de->d_name,
					    NULL }, false)) {
			failed++;
			continue;
		}
		printf("removed netns %s\n", de->d_name);
	}
	closedir(dir);
	return failed ? -1 : 0;
}
