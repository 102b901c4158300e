// SPDX-License-Identifier: GPL-2.0
/*
 * forkjob: the fork-heavy job of the constrained-shadow-page workload, run inside the
 * workload guest (static, from the guest's initramfs).
 *
 * Under shadow paging every guest page table the vCPU walks needs a shadow page in the
 * host. This job makes many of them and keeps some hot:
 *   - the parent maps a "hot" region and touches one word every STRIDE bytes of it between
 *     children, so its page tables are walked all the time (a long-lived server);
 *   - each child maps a fresh region, touches one word every STRIDE bytes, and exits: a
 *     short process with its own address space, whose page tables are cold once it is gone.
 * A STRIDE of 2M puts every touched page under its own last-level page table, so a small
 * host shadow-page budget must recycle: oldest-first recycling throws away the parent's hot
 * tables as readily as the dead children's.
 *
 * Prints one JSON line: {"procs", "parallel", "child_pages", "hot_pages", "stride",
 * "seconds", "hot_pass_ns_mean", "procs_per_s"}.
 *
 * Usage: forkjob [-n PROCS] [-p PARALLEL] [-c CHILD_PAGES] [-H HOT_PAGES] [-s STRIDE]
 * Exit: 0; 2 usage; 3 the job could not run (mmap, fork, a child that failed).
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "monoclock.h"

static void die(const char *what)
{
	fprintf(stderr, "forkjob: %s: %s\n", what, strerror(errno));
	exit(EXIT_INFRA);
}

static volatile char *map_region(unsigned long pages, unsigned long stride)
{
	void *p = mmap(NULL, pages * stride, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void touch(volatile char *p, unsigned long pages, unsigned long stride)
{
	unsigned long i;

	for (i = 0; i < pages; i++)
		p[i * stride]++;
}

static unsigned long arg(const char *s, const char *name)
{
	return cli_size_arg("forkjob", s, name);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: forkjob [-n PROCS] [-p PARALLEL] [-c CHILD_PAGES] [-H HOT_PAGES] [-s STRIDE]\n"
"The fork-heavy job of the constrained-shadow-page workload (inside the workload guest): PROCS\n"
"short processes, PARALLEL at a time, each touching CHILD_PAGES pages STRIDE apart, while\n"
"the parent keeps HOT_PAGES hot; one JSON line: procs, seconds, procs_per_s, ...\n"
"  -n PROCS        processes in all (default 200)\n"
"  -p PARALLEL     at once (default 1)\n"
"  -c CHILD_PAGES  pages each child touches (default 64)\n"
"  -H HOT_PAGES    pages the parent keeps touching (default 64)\n"
"  -s STRIDE       bytes between two touched pages, K/M suffix (default 2M: a page table each)\n"
"  -h, --help      this text\n"
"Exit: 0; 2 usage; 3 the job could not run (mmap, fork, a child that failed).\n"
"Example (the ci profile's shadow-fork):\n"
"  l2run -t 240 -S 256 -- /bin/forkjob -n 60 -p 2 -c 96 -H 48\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	unsigned long procs = 200, parallel = 1, child_pages = 64, hot_pages = 64;
	unsigned long stride = 2ul << 20, started = 0, running = 0, hot_passes = 0;
	uint64_t t0, hot_ns = 0, t;
	volatile char *hot;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:p:c:H:s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': procs = arg(optarg, "-n"); break;
		case 'p': parallel = arg(optarg, "-p"); break;
		case 'c': child_pages = arg(optarg, "-c"); break;
		case 'H': hot_pages = arg(optarg, "-H"); break;
		case 's': stride = arg(optarg, "-s"); break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option("forkjob", opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("forkjob", "no arguments, only options: '%s'", argv[optind]);

	hot = map_region(hot_pages, stride);
	touch(hot, hot_pages, stride);
	t0 = mono_ns();
	while (started < procs || running) {
		if (started < procs && running < parallel) {
			pid_t pid = fork();

			if (pid < 0)
				die("fork");
			if (!pid) {
				touch(map_region(child_pages, stride), child_pages, stride);
				_exit(0);
			}
			started++;
			running++;
			t = mono_ns();
			touch(hot, hot_pages, stride);
			hot_ns += mono_ns() - t;
			hot_passes++;
			continue;
		}
		{
			int status;

			if (wait(&status) < 0)
				die("wait");
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				fprintf(stderr, "forkjob: a child failed (status %#x)\n", status);
				return EXIT_INFRA;
			}
			running--;
		}
	}
	t = mono_ns() - t0;
	printf("{\"procs\": %lu, \"parallel\": %lu, \"child_pages\": %lu, \"hot_pages\": %lu, "
	       "\"stride\": %lu, \"seconds\": %.6f, \"hot_pass_ns_mean\": %.0f, \"procs_per_s\": %.2f}\n",
	       procs, parallel, child_pages, hot_pages, stride, t / 1e9,
	       hot_passes ? (double)hot_ns / hot_passes : 0.0, procs / (t / 1e9));
	return 0;
}
