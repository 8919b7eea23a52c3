// SPDX-License-Identifier: GPL-2.0
/*
 * Connection churn on loopback, for make bench: N client threads connect,
 * send a small request, read the answer, and the connection is closed; N
 * server threads accept and answer. Bounded by a connection count and a
 * duration, whichever comes first. Reports connections per second and the
 * exact number of events each kind of tracer should have seen.
 *
 *   churn    the server answers and closes first (FIN); the client reads
 *            EOF and closes: the orderly close of a request/response server
 *   rst      the client closes with SO_LINGER {1, 0}: an RST instead of a FIN
 *   retrans  an nft rule drops every segment that carries the request, so
 *            the client retransmits it until it gives up and aborts (RST)
 *
 * By default the whole run happens in a network namespace of its own
 * (unshare, so it vanishes with the process): nothing on the host's
 * loopback or firewall is touched, every socket of the run is in a
 * namespace whose inode the harness knows (tcpwatch reports it per event,
 * so events can be told apart from other TCP on the host), and the nft
 * rule of the retrans mode exists only there.
 *
 * Protocol with the harness: one JSON line {"ready":...} once set up, then
 * (with --wait) a line on standard input before the first socket is made,
 * so that a tracer can attach first; one JSON line with the results at the
 * end. Errors go to standard error and make the exit status 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQ_LEN		100	/* 152-byte IP packet: above the retrans rule's 64 */
#define RESP_LEN	64
#define NETNS_PORT	47999	/* a fixed port in our own namespace */
#define MAX_THREADS	256
#define RETRANS_GIVE_UP_NS	(5 * 1000000000LL)
#define NFT_TABLE	"tcpwatch_bench"

enum mode { MODE_CHURN, MODE_RST, MODE_RETRANS };

static const char *const mode_names[] = {
	[MODE_CHURN] = "churn",
	[MODE_RST] = "rst",
	[MODE_RETRANS] = "retrans",
};

struct config {
	enum mode mode;
	int threads;
	long count;
	double seconds;
	bool netns;
	bool wait;
	int retransmits;	/* retrans: retransmissions per connection */
	double rate;		/* connections per second in all; 0: flat out */
	int rto_min_us;		/* retrans: net.ipv4.tcp_rto_min_us in our netns */
};

static struct config cfg = {
	.mode = MODE_CHURN,
	.threads = 2,
	.count = 1000000,
	.seconds = 5,
	.netns = true,
	.wait = false,
	.retransmits = 2,
	.rto_min_us = 5000,
};

static struct sockaddr_in server_addr;
static int listen_fd = -1;
static atomic_long issued;		/* connections started (the count bound) */
static atomic_long completed;		/* connections that went as planned */
static atomic_long failed;
static atomic_int server_accepts_failed;	/* accept() that ended a server thread */
static atomic_long retransmitted;	/* retrans: the sockets' own counts, summed */
static int64_t deadline_ns;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	atomic_fetch_add(&failed, 1);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0 when len bytes were read, 1 at EOF before that, -1 on error. */
static int read_exact(int fd, char *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int abort_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		return -1;
	return close(fd);
}

/* The kernel's count of this socket's retransmissions. */
static int total_retrans(int fd, unsigned int *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -1;
	*out = ti.tcpi_total_retrans;
	return 0;
}

/*
 * The request is dropped on its way: wait for the retransmissions, and add
 * the socket's own count (tcpi_total_retrans, bumped where the tracepoint
 * fires) to the run's. Not the namespace's RetransSegs: that one also
 * counts attempts the kernel could not send (no tracepoint, no
 * total_retrans), so it is sometimes ahead.
 */
static int await_retransmits(int fd)
{
	struct timespec ms = { .tv_sec = 0, .tv_nsec = 1000000 };
	int64_t give_up = now_ns() + RETRANS_GIVE_UP_NS;
	unsigned int n = 0;

	while (!total_retrans(fd, &n) && n < (unsigned int)cfg.retransmits) {
		if (now_ns() > give_up) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&ms, NULL);
	}
	if (n < (unsigned int)cfg.retransmits)
		return -1;
	atomic_fetch_add(&retransmitted, n);
	return 0;
}

static int client_once(void)
{
	char req[REQ_LEN], resp[RESP_LEN], one;
	int fd, r;

	memset(req, 'q', sizeof(req));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) ||
	    write_all(fd, req, sizeof(req)))
		goto out_close;
	switch (cfg.mode) {
	case MODE_CHURN:
		if (read_exact(fd, resp, sizeof(resp)) || read(fd, &one, 1) != 0)
			goto out_close;
		return close(fd);
	case MODE_RST:
		if (read_exact(fd, resp, sizeof(resp)))
			goto out_close;
		return abort_close(fd);
	case MODE_RETRANS:
		if (await_retransmits(fd))
			goto out_close;
		return abort_close(fd);
	}
out_close:
	r = errno;
	close(fd);
	errno = r;
	return -1;
}

/* With --rate: connection n of the run is due at start + n / rate. */
static void pace(long n)
{
	int64_t due, now;
	struct timespec ts;

	if (cfg.rate <= 0)
		return;
	due = deadline_ns - (int64_t)(cfg.seconds * 1e9) + (int64_t)(n * 1e9 / cfg.rate);
	now = now_ns();
	if (due <= now)
		return;
	ts.tv_sec = (due - now) / 1000000000;
	ts.tv_nsec = (due - now) % 1000000000;
	nanosleep(&ts, NULL);
}

static void *client_thread(void *arg)
{
	long n;

	while ((n = atomic_fetch_add(&issued, 1)) < cfg.count && now_ns() < deadline_ns) {
		pace(n);
		if (client_once()) {
			fail("client (%s): %s", mode_names[cfg.mode], strerror(errno));
			break;
		}
		atomic_fetch_add(&completed, 1);
	}
	return NULL;
}

static int serve(int fd)
{
	char req[REQ_LEN], resp[RESP_LEN], one;

	memset(resp, 'r', sizeof(resp));
	switch (cfg.mode) {
	case MODE_CHURN:
		if (read_exact(fd, req, sizeof(req)) || write_all(fd, resp, sizeof(resp)))
			return -1;
		return 0;
	case MODE_RST:
		if (read_exact(fd, req, sizeof(req)) || write_all(fd, resp, sizeof(resp)))
			return -1;
		/* The client aborts: our next read sees its RST. */
		if (read(fd, &one, 1) != -1 || errno != ECONNRESET)
			return -1;
		return 0;
	case MODE_RETRANS:
		/* The request never arrives; the client's RST does. */
		if (read(fd, &one, 1) != -1 || errno != ECONNRESET)
			return -1;
		return 0;
	}
	return -1;
}

/* Until the listener is shut down (accept fails with EINVAL). */
static void *server_thread(void *arg)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0) {
			if (errno != EINVAL)
				fail("accept: %s", strerror(errno));
			atomic_fetch_add(&server_accepts_failed, 1);
			return NULL;
		}
		if (serve(fd))
			fail("server (%s): %s", mode_names[cfg.mode], strerror(errno));
		close(fd);
	}
}

/* ---- the private network namespace ------------------------------------ */

static unsigned long netns_inode(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (unsigned long)st.st_ino;
}

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

static int loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = -1;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		err = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return err;
}

/* Runs argv (no shell) in our namespace; 0 when it exits 0. */
static int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "loadgen: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/*
 * Drop every IPv4 segment to the server port that carries data: a SYN is
 * 60 bytes, an ACK or RST 52, the request 152. On input: a drop on output
 * is reported back to TCP as a failed send, not retransmitted as lost. Only
 * in our own namespace: checked first, so that this can never reach the
 * host's firewall.
 */
static int drop_requests(void)
{
	char port[16];

	if (!cfg.netns || netns_inode("/proc/self/ns/net") == netns_inode("/proc/1/ns/net")) {
		fprintf(stderr, "loadgen: refusing to add an nft rule outside a private "
			"network namespace\n");
		return -1;
	}
	snprintf(port, sizeof(port), "%d", NETNS_PORT);
	char *const table[] = { "nft", "add", "table", "inet", NFT_TABLE, NULL };
	char *const chain[] = { "nft", "add", "chain", "inet", NFT_TABLE, "in",
		"{ type filter hook input priority 0 ; }", NULL };
	char *const rule[] = { "nft", "add", "rule", "inet", NFT_TABLE, "in",
		"ip", "daddr", "127.0.0.1", "tcp", "dport", port, "ip", "length",
		"gt", "64", "drop", NULL };

	if (run(table) || run(chain) || run(rule)) {
		fprintf(stderr, "loadgen: cannot add the nft rule (is nftables installed?)\n");
		return -1;
	}
	return 0;
}

static int setup_netns(void)
{
	char rto[32];

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "loadgen: unshare(CLONE_NEWNET): %s (needs root)\n",
			strerror(errno));
		return -1;
	}
	if (loopback_up()) {
		fprintf(stderr, "loadgen: cannot bring lo up: %s\n", strerror(errno));
		return -1;
	}
	/* Our namespace alone: the widest port range, no sharing with the host. */
	write_sysctl("/proc/sys/net/ipv4/ip_local_port_range", "1024 65535");
	if (cfg.mode == MODE_RETRANS) {
		/* Retransmit after milliseconds, not the default 200 ms (Linux 6.11+). */
		snprintf(rto, sizeof(rto), "%d", cfg.rto_min_us);
		write_sysctl("/proc/sys/net/ipv4/tcp_rto_min_us", rto);
		/* RTO retransmissions only: no tail loss probe (see await_retransmits). */
		write_sysctl("/proc/sys/net/ipv4/tcp_early_retrans", "0");
		return drop_requests();
	}
	return 0;
}

/* ---- what a tracer should see ------------------------------------------ */

/*
 * Event counts by kind, as tcpwatch names them. Derived from the kernel's
 * TCP (net/ipv4/tcp*.c) and checked against tcpwatch's own output on Linux
 * 6.18 (make bench compares them every run and prints any difference).
 */
enum kind { K_STATE, K_RST_SENT, K_RST_RECV, K_RETRANS, K_SYNACK_RETRANS,
	    K_ERROR, K_DESTROY, K_CALL, K_MAX };

static const char *const kind_names[K_MAX] = {
	[K_STATE] = "state", [K_RST_SENT] = "rst_sent", [K_RST_RECV] = "rst_recv",
	[K_RETRANS] = "retransmit", [K_SYNACK_RETRANS] = "synack_retransmit",
	[K_ERROR] = "error", [K_DESTROY] = "destroy", [K_CALL] = "call",
};

/*
 * Kernel events per connection (whole-host tracing), both ends:
 *
 * churn: client CLOSE->SYN_SENT, SYN_SENT->ESTABLISHED, ESTABLISHED->
 *   CLOSE_WAIT, CLOSE_WAIT->LAST_ACK, LAST_ACK->CLOSE; server child
 *   LISTEN->SYN_RECV, SYN_RECV->ESTABLISHED, ESTABLISHED->FIN_WAIT1,
 *   FIN_WAIT1->FIN_WAIT2, FIN_WAIT2->CLOSE (handed to a timewait socket,
 *   which has no tracepoint): 10 state changes, and 2 tcp_destroy_sock.
 * rst: client CLOSE->SYN_SENT, SYN_SENT->ESTABLISHED, ESTABLISHED->CLOSE
 *   (SO_LINGER 0 close: tcp_disconnect), its RST, destroy; server child
 *   LISTEN->SYN_RECV, SYN_RECV->ESTABLISHED, RST received, ECONNRESET
 *   reported (inet_sk_error_report), ESTABLISHED->CLOSE, destroy.
 * retrans: as rst, plus the client's retransmissions of the dropped
 *   request (counted per socket, see await_retransmits()), and one more
 *   RST: the client's RST carries snd_nxt, past the data the server never
 *   got, so the server answers with a challenge ACK (RFC 5961), which the
 *   closed client answers with a NO_SOCKET RST the server accepts.
 * rst and retrans: the aborting client reports ECONNRESET to itself too
 *   (tcp_disconnect sets sk_err and calls sk_error_report): 2 errors.
 */
static const long per_conn[][K_MAX] = {
	[MODE_CHURN] = { [K_STATE] = 10, [K_DESTROY] = 2 },
	[MODE_RST] = { [K_STATE] = 6, [K_RST_SENT] = 1, [K_RST_RECV] = 1,
		       [K_ERROR] = 2, [K_DESTROY] = 2 },
	[MODE_RETRANS] = { [K_STATE] = 6, [K_RST_SENT] = 2, [K_RST_RECV] = 1,
			   [K_ERROR] = 2, [K_DESTROY] = 2 },
};

/* The listener, once per run: CLOSE->LISTEN, LISTEN->CLOSE (shutdown), destroy. */
static const long per_run[K_MAX] = { [K_STATE] = 2, [K_DESTROY] = 1 };

/*
 * Socket calls tcpwatch --pid reports when it traces this process (it
 * reports connect, accept, close, shutdown, listen, bind, the setsockopt
 * options it explains, and reads only at EOF or on error, writes only on
 * error). Measured with tcpwatch --pid on Linux 6.18 and matched to the
 * code paths:
 * churn: connect, read of EOF, close (client); accept, close (server) = 5.
 * rst and retrans: connect, setsockopt SO_LINGER, close (client); accept,
 *   read failing with ECONNRESET, close (server) = 6.
 * Per run: bind, listen, shutdown and close of the listener = 4, and the
 * accept() of every server thread that fails with EINVAL when it is shut.
 */
static const long calls_per_conn[] = {
	[MODE_CHURN] = 5, [MODE_RST] = 6, [MODE_RETRANS] = 6,
};
#define CALLS_PER_RUN	4

static void print_counts(const char *name, const long counts[K_MAX])
{
	long total = 0;

	printf(",\"%s\":{", name);
	for (int k = 0; k < K_MAX; k++) {
		printf("%s\"%s\":%ld", k ? "," : "", kind_names[k], counts[k]);
		total += counts[k];
	}
	printf("},\"%s_total\":%ld", name, total);
}

static void print_result(long conns, double secs, long retrans)
{
	long kernel[K_MAX] = { 0 }, traced[K_MAX];

	for (int k = 0; k < K_MAX; k++)
		kernel[k] = per_conn[cfg.mode][k] * conns + per_run[k];
	kernel[K_RETRANS] = retrans;
	memcpy(traced, kernel, sizeof(traced));
	traced[K_CALL] = calls_per_conn[cfg.mode] * conns + CALLS_PER_RUN +
			 atomic_load(&server_accepts_failed);
	printf("{\"mode\":\"%s\",\"threads\":%d,\"connections\":%ld,\"seconds\":%.6f,"
	       "\"conn_per_s\":%.1f,\"failed\":%ld", mode_names[cfg.mode],
	       cfg.threads, conns, secs, secs > 0 ? conns / secs : 0.0,
	       atomic_load(&failed));
	/* expected: tracing the whole host; expected_pid: --pid of this process. */
	print_counts("expected", kernel);
	print_counts("expected_pid", traced);
	printf("}\n");
	fflush(stdout);
}

/* ---- main ------------------------------------------------------------------ */

static const char usage[] =
"Usage: loadgen [--mode churn|rst|retrans] [--threads N] [--count N]\n"
"               [--seconds S] [--retransmits N] [--rate CONN/S] [--no-netns]\n"
"               [--wait]\n"
"Loopback connection churn for make bench (root: it makes a network namespace).\n";

static int parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "retransmits", required_argument, NULL, 'r' },
		{ "rate", required_argument, NULL, 'R' },
		{ "no-netns", no_argument, NULL, 'N' },
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, m;

	while ((c = getopt_long(argc, argv, "m:t:c:s:r:R:Nwh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			for (m = 0; m <= MODE_RETRANS && strcmp(optarg, mode_names[m]); m++)
				;
			if (m > MODE_RETRANS)
				goto bad;
			cfg.mode = (enum mode)m;
			break;
		case 't':
			cfg.threads = atoi(optarg);
			break;
		case 'c':
			cfg.count = atol(optarg);
			break;
		case 's':
			cfg.seconds = atof(optarg);
			break;
		case 'r':
			cfg.retransmits = atoi(optarg);
			break;
		case 'R':
			cfg.rate = atof(optarg);
			break;
		case 'N':
			cfg.netns = false;
			break;
		case 'w':
			cfg.wait = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind == argc && cfg.threads >= 1 && cfg.threads <= MAX_THREADS &&
	    cfg.count >= 1 && cfg.seconds > 0 && cfg.retransmits >= 1 &&
	    (cfg.netns || cfg.mode != MODE_RETRANS))
		return 0;
bad:
	fputs(usage, stderr);
	return 2;
}

static int start_listener(void)
{
	socklen_t len = sizeof(server_addr);

	memset(&server_addr, 0, sizeof(server_addr));
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server_addr.sin_port = htons(cfg.netns ? NETNS_PORT : 0);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) ||
	    listen(listen_fd, 4096) ||
	    getsockname(listen_fd, (struct sockaddr *)&server_addr, &len)) {
		fprintf(stderr, "loadgen: listener: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t clients[MAX_THREADS], servers[MAX_THREADS];
	char line[64];
	int64_t t0, t1;
	int err;

	err = parse(argc, argv);
	if (err)
		return err;
	if (cfg.netns && setup_netns())
		return 1;
	printf("{\"ready\":true,\"pid\":%d,\"netns\":%lu,\"port\":%d}\n", (int)getpid(),
	       netns_inode("/proc/self/ns/net"), cfg.netns ? NETNS_PORT : 0);
	fflush(stdout);
	if (cfg.wait && !fgets(line, sizeof(line), stdin))
		return 1;
	if (start_listener())
		return 1;
	for (int i = 0; i < cfg.threads; i++)
		if (pthread_create(&servers[i], NULL, server_thread, NULL))
			return 1;
	t0 = now_ns();
	deadline_ns = t0 + (int64_t)(cfg.seconds * 1e9);
	for (int i = 0; i < cfg.threads; i++)
		if (pthread_create(&clients[i], NULL, client_thread, NULL))
			return 1;
	for (int i = 0; i < cfg.threads; i++)
		pthread_join(clients[i], NULL);
	t1 = now_ns();
	/* Wakes every server thread in accept() (EINVAL), then closes it. */
	shutdown(listen_fd, SHUT_RDWR);
	for (int i = 0; i < cfg.threads; i++)
		pthread_join(servers[i], NULL);
	close(listen_fd);
	print_result(atomic_load(&completed), (double)(t1 - t0) / 1e9,
		     atomic_load(&retransmitted));
	return atomic_load(&failed) ? 1 : 0;
}
