// SPDX-License-Identifier: GPL-2.0
/* Command line: what to trace, how to print it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "options.h"
#include "report.h"

#define DEFAULT_BUFFER	(4ULL << 20)
#define DEFAULT_STUCK	30.0
#define TW_VERSION	"0.1"

static const char usage_text[] =
"Usage: tcpwatch [OPTIONS]\n"
"       tcpwatch report RECORDING [OUTPUT OPTIONS]\n"
"Trace what the kernel's TCP does to connections: state changes, resets sent\n"
"and received (with the kernel's reason), retransmissions, errors reported to\n"
"the application and socket destruction, each attributed to the process that\n"
"owns the socket (not the task that happened to be on CPU).\n"
"\n"
"Filters (applied in the kernel):\n"
"  -p, --pid PID[,PID...]    only sockets owned by these processes, their\n"
"                            threads and the children they fork\n"
"  -P, --port PORT[,PORT...] only connections with this local or remote port\n"
"  -4, --ipv4                only IPv4\n"
"  -6, --ipv6                only IPv6\n"
"      --no-follow           with --pid: do not follow forked children\n"
"      --no-calls            with --pid: do not trace the processes' socket\n"
"                            calls (connect, accept, close, ... and what\n"
"                            each returned), and so spare every process\n"
"                            on the host the cost of syscall tracing\n"
"\n"
"Output:\n"
"  -j, --json                JSON Lines, one object per event; lines are\n"
"                            flushed whole, as events are read (every 50 ms)\n"
"  -o, --output FILE         write events to FILE instead of standard output\n"
"      --record FILE         also write the raw trace to FILE (JSON Lines);\n"
"                            'tcpwatch report FILE' replays it anywhere,\n"
"                            without root, with the same explanations\n"
"      --report FILE         when tracing ends, write a report to FILE: a\n"
"                            summary, the findings first, then each\n"
"                            connection's state timeline, explained\n"
"      --format FORMAT       the report's format: text, md, html or json\n"
"                            (default: from FILE's extension)\n"
"\n"
"Scenarios (the bundled reproductions of TCP behaviours, see scenarios/):\n"
"      --scenario NAME       run scenario NAME under tracing and print its\n"
"                            timeline merged with what its programs did;\n"
"                            'list' lists them, 'all' runs every one\n"
"\n"
"Explanations:\n"
"      --stuck SECONDS       report sockets stuck in CLOSE_WAIT or FIN_WAIT2\n"
"                            longer than SECONDS (default 30)\n"
"\n"
"Running:\n"
"  -d, --duration SECONDS    stop after SECONDS\n"
"  -k, --keep-going          with --pid: keep tracing after the processes exit\n"
"  -b, --buffer SIZE         ring buffer size, power of two, K/M suffix\n"
"                            (default 4M); events lost to a full buffer are\n"
"                            counted and reported\n"
"      --no-yield            keep the event reader at normal priority; by\n"
"                            default it runs when a CPU is idle, and at\n"
"                            normal priority only while its buffer fills\n"
"      --classic             use classic tracepoints even where tp_btf works\n"
"      --btf FILE            kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
"  -v, --verbose             show libbpf's messages\n"
"  -h, --help                show this help\n"
"  -V, --version             show the version\n"
"\n"
"Examples:\n"
"  sudo tcpwatch                       # every TCP connection on the host\n"
"  sudo tcpwatch -p 1234               # connections of process 1234\n"
"  sudo tcpwatch -p 1234,1240 -P 443   # two processes, port 443 only\n"
"  sudo tcpwatch -p 1234 --no-calls    # lighter on a busy host\n"
"  sudo tcpwatch -j -o trace.jsonl -p \"$(pidof -s nginx)\"\n"
"  sudo tcpwatch -d 60 -P 5432         # one minute of PostgreSQL traffic\n"
"  sudo tcpwatch --scenario close-wait-leak\n"
"  sudo tcpwatch -p 1234 -d 60 --report incident.html\n"
"  sudo tcpwatch -p 1234 --record incident.jsonl\n"
"  tcpwatch report incident.jsonl --json   # later, anywhere, as any user\n";

static const struct option long_options[] = {
	{ "pid",	required_argument, NULL, 'p' },
	{ "port",	required_argument, NULL, 'P' },
	{ "ipv4",	no_argument,	   NULL, '4' },
	{ "ipv6",	no_argument,	   NULL, '6' },
	{ "json",	no_argument,	   NULL, 'j' },
	{ "output",	required_argument, NULL, 'o' },
	{ "duration",	required_argument, NULL, 'd' },
	{ "keep-going",	no_argument,	   NULL, 'k' },
	{ "buffer",	required_argument, NULL, 'b' },
	{ "verbose",	no_argument,	   NULL, 'v' },
	{ "help",	no_argument,	   NULL, 'h' },
	{ "version",	no_argument,	   NULL, 'V' },
	{ "no-follow",	no_argument,	   NULL, 'F' },
	{ "no-calls",	no_argument,	   NULL, 'N' },
	{ "no-yield",	no_argument,	   NULL, 'I' },
	{ "classic",	no_argument,	   NULL, 'C' },
	{ "btf",	required_argument, NULL, 'B' },
	{ "scenario",	required_argument, NULL, 'S' },
	{ "stuck",	required_argument, NULL, 'T' },
	{ "record",	required_argument, NULL, 'Y' },
	{ "report",	required_argument, NULL, 'R' },
	{ "format",	required_argument, NULL, 'f' },
	{ NULL,		0,		   NULL, 0 },
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tcpwatch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see tcpwatch --help)\n");
	return TW_EXIT_USAGE;
}

/* A whole decimal number in [min, max], or -1 with errno set. */
static long long parse_ll(const char *s, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		errno = errno ? errno : EINVAL;
		return -1;
	}
	return v;
}

static int parse_pids(struct tw_options *o, char *list)
{
	char *save = NULL;

	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long long pid = parse_ll(t, 1, INT_MAX);

		if (pid < 0)
			return usage_error("invalid pid '%s'", t);
		if (o->npids == TW_MAX_PIDS)
			return usage_error("too many pids (at most %d)", TW_MAX_PIDS);
		o->pids[o->npids++] = (pid_t)pid;
	}
	return 0;
}

static int parse_ports(struct tw_options *o, char *list)
{
	char *save = NULL;

	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long long port = parse_ll(t, 1, 65535);

		if (port < 0)
			return usage_error("invalid port '%s': expected 1-65535", t);
		if (o->nports == TW_MAX_PORTS)
			return usage_error("too many ports (at most %d)", TW_MAX_PORTS);
		o->ports[o->nports++] = (__u16)port;
	}
	return 0;
}

/* SIZE with an optional K or M suffix; a power of two of at least 4K. */
static int parse_buffer(struct tw_options *o, const char *s)
{
	unsigned long long v, mult = 1;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		mult = 1ULL << 10, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1ULL << 20, end++;
	if (errno || end == s || *end || s[0] == '-' || v == 0 ||
	    v > (1ULL << 30) / mult)
		return usage_error("invalid buffer size '%s'", s);
	v *= mult;
	if (v < 4096 || (v & (v - 1)))
		return usage_error("buffer size '%s' must be a power of two, at least 4K", s);
	o->buffer_bytes = v;
	return 0;
}

/* Seconds > 0, fractions allowed; name is the option, for the message. */
static int parse_seconds(double *out, const char *name, const char *s)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !(*out > 0) || *out > 1e7)
		return usage_error("invalid %s '%s': expected seconds > 0", name, s);
	return 0;
}

static int parse_one(struct tw_options *o, int c, char *arg, bool *done,
		     bool *format_set)
{
	switch (c) {
	case 'p': return parse_pids(o, arg);
	case 'P': return parse_ports(o, arg);
	case 'b': return parse_buffer(o, arg);
	case 'd': return parse_seconds(&o->duration, "duration", arg);
	case 'T': return parse_seconds(&o->stuck, "stuck time", arg);
	case '4': o->family = AF_INET; return 0;
	case '6': o->family = AF_INET6; return 0;
	case 'j': o->format = TW_FMT_JSON; return 0;
	case 'o': o->output = arg; return 0;
	case 'k': o->keep_going = true; return 0;
	case 'v': o->verbose = true; return 0;
	case 'F': o->follow = false; return 0;
	case 'N': o->no_calls = true; return 0;
	case 'I': o->no_yield = true; return 0;
	case 'C': o->classic = true; return 0;
	case 'B': o->btf_path = arg; return 0;
	case 'S': o->scenario = arg; return 0;
	case 'Y': o->record = arg; return 0;
	case 'R': o->report = arg; return 0;
	case 'f':
		if (report_format_parse(arg, &o->report_format))
			return usage_error("invalid report format '%s': expected text, "
					   "md, html or json", arg);
		*format_set = true;
		return 0;
	case 'h':
		fputs(usage_text, stdout);
		*done = true;
		return 0;
	case 'V':
		printf("tcpwatch %s\n", TW_VERSION);
		*done = true;
		return 0;
	default:
		/* getopt has already said what was wrong. */
		fprintf(stderr, "tcpwatch: see tcpwatch --help\n");
		return TW_EXIT_USAGE;
	}
}

/*
 * tcpwatch report RECORDING: the recording decides what was traced and how;
 * only the options about output apply.
 */
static int check_report_options(const struct tw_options *o)
{
	const struct { bool given; const char *name; } tracing[] = {
		{ o->npids > 0, "--pid" }, { o->nports > 0, "--port" },
		{ o->family == AF_INET, "--ipv4" }, { o->family == AF_INET6, "--ipv6" },
		{ !o->follow, "--no-follow" }, { o->no_calls, "--no-calls" },
		{ o->scenario, "--scenario" },
		{ o->duration > 0, "--duration" }, { o->keep_going, "--keep-going" },
		{ o->buffer_bytes != DEFAULT_BUFFER, "--buffer" },
		{ o->classic, "--classic" }, { o->btf_path, "--btf" },
		{ o->no_yield, "--no-yield" },
		{ o->record, "--record" }, { o->stuck != DEFAULT_STUCK, "--stuck" },
	};

	for (size_t i = 0; i < sizeof(tracing) / sizeof(tracing[0]); i++)
		if (tracing[i].given)
			return usage_error("%s does not apply to tcpwatch report: the "
					   "recording says what was traced",
					   tracing[i].name);
	return 0;
}

int options_parse(struct tw_options *o, int argc, char **argv, bool *done)
{
	bool report_cmd = argc > 1 && !strcmp(argv[1], "report");
	bool format_set = false;
	int c, err;

	memset(o, 0, sizeof(*o));
	o->buffer_bytes = DEFAULT_BUFFER;
	o->stuck = DEFAULT_STUCK;
	o->follow = true;
	*done = false;
	opterr = 1;
	if (report_cmd) {
		/* The subcommand is not an argument: getopt sees the rest. */
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, "p:P:46jo:d:kb:vhV", long_options,
				NULL)) != -1) {
		err = parse_one(o, c, optarg, done, &format_set);
		if (err || *done)
			return err;
	}
	if (report_cmd && optind == argc)
		return usage_error("report needs the recording to read: tcpwatch report "
				   "FILE");
	if (report_cmd)
		o->replay = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (report_cmd && (err = check_report_options(o)))
		return err;
	if (o->keep_going && !o->npids)
		return usage_error("%s needs --pid", "--keep-going");
	if (!o->follow && !o->npids)
		return usage_error("%s needs --pid", "--no-follow");
	if (o->no_calls && !o->npids)
		return usage_error("%s needs --pid (without it no calls are traced)",
				   "--no-calls");
	if (o->scenario && o->npids)
		return usage_error("%s traces the scenario's own processes: drop --pid",
				   "--scenario");
	if (format_set && !o->report)
		return usage_error("%s needs --report", "--format");
	if (o->report && !format_set &&
	    report_format_of_path(o->report, &o->report_format))
		return usage_error("no report format for '%s': name it .txt, .md, "
				   ".html or .json, or pass --format", o->report);
	return 0;
}
