/*
 * tcpwatch-scenario: makes the kernel perform one TCP behaviour at a time,
 * logging every application call, for tcpwatch to trace and explain.
 *
 * The command line is a contract with tcpwatch: list, describe NAME,
 * run NAME --log FILE [--wait-fd N] [-v], cleanup.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

extern const struct scenario *const __start_tw_scenarios[];
extern const struct scenario *const __stop_tw_scenarios[];

static struct run run;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tcpwatch-scenario list\n"
		"       tcpwatch-scenario describe NAME\n"
		"       tcpwatch-scenario run NAME --log FILE [--wait-fd N] [-v]\n"
		"       tcpwatch-scenario cleanup\n"
		"\n"
		"  list        one line per scenario: NAME<TAB>SUMMARY\n"
		"  describe    what the scenario teaches\n"
		"  run         run it, appending each action to FILE as JSON Lines;\n"
		"              exit 0: the kernel behaved as expected, 1: it did not\n"
		"              (one 'expectation failed:' line each), 2: setup failed\n"
		"  --wait-fd N read one byte from fd N before starting\n"
		"  -v          progress on stderr\n"
		"  cleanup     remove namespaces left by runs that no longer exist\n"
		"\n"
		"examples:\n"
		"  tcpwatch-scenario list\n"
		"  tcpwatch-scenario describe linger-abort\n"
		"  tcpwatch-scenario run linger-abort --log /tmp/linger.jsonl\n");
}

static int by_name(const void *a, const void *b)
{
	const struct scenario *const *sa = a, *const *sb = b;

	return strcmp((*sa)->name, (*sb)->name);
}

static int cmd_list(void)
{
	size_t i, n = __stop_tw_scenarios - __start_tw_scenarios;
	const struct scenario **sorted;

	sorted = malloc(n * sizeof(*sorted));
	if (!sorted) {
		perror("tcpwatch-scenario");
		return 2;
	}
	memcpy(sorted, __start_tw_scenarios, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), by_name);
	for (i = 0; i < n; i++)
		printf("%s\t%s\n", sorted[i]->name, sorted[i]->summary);
	free(sorted);
	return 0;
}

static const struct scenario *scenario_find(const char *name)
{
	const struct scenario *const *sc;

	for (sc = __start_tw_scenarios; sc < __stop_tw_scenarios; sc++)
		if (!strcmp((*sc)->name, name))
			return *sc;
	fprintf(stderr, "tcpwatch-scenario: unknown scenario '%s' "
		"(see: tcpwatch-scenario list)\n", name);
	return NULL;
}

static int cmd_describe(const char *name)
{
	const struct scenario *sc = scenario_find(name);

	if (!sc)
		return 2;
	fputs(sc->takeaway, stdout);
	return 0;
}

static int parse_fd(const char *s, int *fd)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT_MAX) {
		fprintf(stderr, "tcpwatch-scenario: bad --wait-fd '%s'\n", s);
		return -1;
	}
	*fd = v;
	return 0;
}

static int run_scenario(const struct scenario *sc, const char *log_path,
			int wait_fd, bool verbose)
{
	int code;

	if (run_open(&run, log_path, verbose))
		goto out_close;
	if (wait_fd >= 0 && run_wait_start(&run, wait_fd))
		goto out_close;
	if (!net_create(&run, sc->net))
		sc->run(&run);
	run_finish(&run);
	net_destroy(&run);
out_close:
	code = run_exit_code(&run);
	run_close(&run);
	return code;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "wait-fd", required_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *log_path = NULL;
	const struct scenario *sc;
	bool verbose = false;
	int opt, wait_fd = -1;

	while ((opt = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			log_path = optarg;
			break;
		case 'w':
			if (parse_fd(optarg, &wait_fd))
				return 2;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !log_path) {
		usage(stderr);
		return 2;
	}
	sc = scenario_find(argv[optind]);
	if (!sc)
		return 2;
	return run_scenario(sc, log_path, wait_fd, verbose);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "list"))
		return cmd_list();
	if (argc == 3 && !strcmp(argv[1], "describe"))
		return cmd_describe(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "cleanup"))
		return net_cleanup_stale() ? 2 : 0;
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
