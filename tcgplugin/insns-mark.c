// SPDX-License-Identifier: GPL-2.0
/*
 * insns-mark: mark a window for the insns TCG plugin (tcgplugin/insns.c) in the guest.
 *   insns-mark start              start a window
 *   insns-mark end                end it: the plugin has written outdir/<window>.json and
 *                                 outdir/last.json when this returns
 *   insns-mark run [--] CMD...    start, fork and exec CMD, wait for it, end; exit with CMD's
 *                                 status (128+N for a signal N, 127 when CMD cannot run)
 *   insns-mark phase N            from here on the open window counts in phase N too (0-15)
 * The window of `run` holds the fork, CMD from its exec to its exit, and the wait. Under
 * user-mode QEMU (qemu-x86_64) only this process is emulated: CMD's instructions are not in
 * the window there (see insns.c); under a system-mode QEMU they are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "insns-mark.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: insns-mark start | end | run [--] CMD [ARG...] | phase N\n"
"Marks a window for the instruction-count plugin of a test host booted with\n"
"testhost --insns (tcgplugin/insns.c): start opens one, end closes it (the plugin has\n"
"written its document when end returns), run opens one around CMD, phase N\n"
"makes the open window's instructions count in phase N (0-15) from then on.\n"
"Exit: 0; 2 usage; for run, CMD's status (128+N for a signal N, 126 when it could not be\n"
"started or waited for, 127 when it cannot run).\n"
"Example (what workloads/run wraps each repetition in):\n"
"  insns-mark run -- ./dirty_log_perf_test -i 3\n");
}

/* insns-mark phase N: the marker takes its phase as a constant, so one per phase. */
#define PHASE_CASE(n) case n: insns_mark_phase(n); break
static int phase(int argc, char **argv)
{
	char *e;
	long n = argc == 3 ? strtol(argv[2], &e, 10) : -1;

	if (argc != 3 || !argv[2][0] || *e || n < 0 || n > 15)
		return cli_usage_error("insns-mark", "phase takes one number from 0 to 15");
	switch (n) {
	PHASE_CASE(0); PHASE_CASE(1); PHASE_CASE(2); PHASE_CASE(3);
	PHASE_CASE(4); PHASE_CASE(5); PHASE_CASE(6); PHASE_CASE(7);
	PHASE_CASE(8); PHASE_CASE(9); PHASE_CASE(10); PHASE_CASE(11);
	PHASE_CASE(12); PHASE_CASE(13); PHASE_CASE(14); PHASE_CASE(15);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int status, i = 2;
	pid_t pid;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "start")) {
		insns_mark_start();
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "end")) {
		insns_mark_end();
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "phase"))
		return phase(argc, argv);
	if (argc < 2 || (strcmp(argv[1], "start") && strcmp(argv[1], "end") && strcmp(argv[1], "run")))
		return cli_usage_error("insns-mark", "want start, end, run [--] CMD [ARG...] or phase N");
	if (argc < 3 || strcmp(argv[1], "run"))
		return cli_usage_error("insns-mark", "%s takes %s", argv[1],
				       strcmp(argv[1], "run") ? "no argument" : "a command");
	if (!strcmp(argv[2], "--"))
		i = 3;
	if (i >= argc)
		return cli_usage_error("insns-mark", "run takes a command");
	fflush(NULL);
	insns_mark_start();
	pid = fork();
	if (pid == 0) {
		execvp(argv[i], &argv[i]);
		fprintf(stderr, "insns-mark: cannot run %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		insns_mark_end();
		fprintf(stderr, "insns-mark: fork: %s\n", strerror(errno));
		return 126;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			insns_mark_end();
			fprintf(stderr, "insns-mark: waitpid: %s\n", strerror(errno));
			return 126;
		}
	}
	insns_mark_end();
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
