// SPDX-License-Identifier: GPL-2.0
/*
 * insns-mark: mark a window for the insns TCG plugin (tcgplugin/insns.c) in the guest.
 *   insns-mark start              start a window
 *   insns-mark end                end it: the plugin has written outdir/<window>.json and
 *                                 outdir/last.json when this returns
 *   insns-mark run [--] CMD...    start, fork and exec CMD, wait for it, end; exit with CMD's
 *                                 status (128+N for a signal N, 127 when CMD cannot run)
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
"usage: insns-mark start | end | run [--] CMD [ARG...]\n"
"Marks a window for the instruction-count plugin of a test host booted with\n"
"testhost --insns (tcgplugin/insns.c): start opens one, end closes it (the plugin has\n"
"written its document when end returns), run opens one around CMD.\n"
"Exit: 0; 2 usage; for run, CMD's status (128+N for a signal N, 126 when it could not be\n"
"started or waited for, 127 when it cannot run).\n"
"Example (what workloads/run wraps each repetition in):\n"
"  insns-mark run -- ./dirty_log_perf_test -i 3\n");
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
	if (argc < 2 || (strcmp(argv[1], "start") && strcmp(argv[1], "end") && strcmp(argv[1], "run")))
		return cli_usage_error("insns-mark", "want start, end or run [--] CMD [ARG...]");
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
