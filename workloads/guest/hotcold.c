// SPDX-License-Identifier: GPL-2.0
/*
 * hotcold: page tables with a hot and a cold working set, inside the workload guest (static,
 * from the guest's initramfs): the recency workload of [reclaim2].
 *
 * PROCS long-lived processes each map PAGES pages STRIDE apart (2M: a last-level page table
 * each, so a process needs PAGES + 3 shadow pages under shadow paging) and touch them: HOT of
 * them in a loop as fast as they can, the others once every COLD_MS. With a host shadow-page
 * budget between the hot set's page tables and all of them, a policy that keeps recently
 * used shadow pages keeps the hot processes' and recycles the cold ones'; oldest-first
 * recycling throws away either. Unlike forkjob no process ends: every page table stays live,
 * and which is hot never changes.
 *
 * Prints one JSON line: {"procs", "hot", "pages", "stride", "cold_ms", "seconds",
 * "hot_passes", "hot_passes_per_s", "hot_pass_ns_mean", "cold_passes"}.
 *
 * Usage: hotcold [-n PROCS] [-H HOT] [-c PAGES] [-s STRIDE] [-C COLD_MS] [-t SECONDS]
 * Exit: 0; 2 usage; 3 the job could not run (mmap, fork, a child that failed).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
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

/* What each process reports, in a shared mapping. */
struct tally {
	uint64_t passes;
	uint64_t pass_ns;
};

static void die(const char *what)
{
	fprintf(stderr, "hotcold: %s: %s\n", what, strerror(errno));
	exit(EXIT_INFRA);
}

static unsigned long arg(const char *s, const char *name)
{
	return cli_size_arg("hotcold", s, name);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: hotcold [-n PROCS] [-H HOT] [-c PAGES] [-s STRIDE] [-C COLD_MS] [-t SECONDS]\n"
"Page tables with a hot and a cold working set (inside the workload guest): PROCS processes\n"
"each touching PAGES pages STRIDE apart, HOT of them in a loop, the others every COLD_MS;\n"
"one JSON line: hot_passes_per_s, hot_pass_ns_mean, cold_passes, ...\n"
"  -n PROCS     processes (default 32)\n"
"  -H HOT       of them hot (default 4)\n"
"  -c PAGES     pages each touches (default 8)\n"
"  -s STRIDE    bytes between two touched pages, K/M suffix (default 2M: a page table each)\n"
"  -C COLD_MS   a cold process's period (default 200)\n"
"  -t SECONDS   how long (default 5)\n"
"  -h, --help   this text\n"
"Exit: 0; 2 usage; 3 the job could not run (mmap, fork, a child that failed).\n"
"Example (profile quick's shadow-hotcold):\n"
"  l2run -t 240 -S 160 -- /bin/hotcold -n 32 -H 4 -c 8 -t 5\n");
}

/* One process: touch the region until the deadline, every period_ns (0: back to back). */
static void run(struct tally *me, unsigned long pages, unsigned long stride, uint64_t period_ns,
		uint64_t deadline)
{
	volatile char *p = mmap(NULL, pages * stride, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t t;

	if (p == MAP_FAILED)
		_exit(EXIT_INFRA);
	while ((t = mono_ns()) < deadline) {
		for (unsigned long i = 0; i < pages; i++)
			p[i * stride]++;
		me->pass_ns += mono_ns() - t;
		me->passes++;
		if (period_ns) {
			struct timespec ts = { .tv_sec = (time_t)(period_ns / 1000000000u),
					       .tv_nsec = (long)(period_ns % 1000000000u) };

			nanosleep(&ts, NULL);
		}
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	unsigned long procs = 32, hot = 4, pages = 8, stride = 2ul << 20, cold_ms = 200, secs = 5;
	uint64_t hot_passes = 0, hot_ns = 0, cold_passes = 0, t0, deadline;
	struct tally *tally;
	int opt, failed = 0;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:H:c:s:C:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': procs = arg(optarg, "-n"); break;
		case 'H': hot = arg(optarg, "-H"); break;
		case 'c': pages = arg(optarg, "-c"); break;
		case 's': stride = arg(optarg, "-s"); break;
		case 'C': cold_ms = arg(optarg, "-C"); break;
		case 't': secs = arg(optarg, "-t"); break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option("hotcold", opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("hotcold", "no arguments, only options: '%s'", argv[optind]);
	if (hot > procs)
		return cli_usage_error("hotcold", "-H %lu is more than the %lu processes", hot, procs);

	tally = mmap(NULL, procs * sizeof(*tally), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tally == MAP_FAILED)
		die("mmap");
	memset(tally, 0, procs * sizeof(*tally));
	t0 = mono_ns();
	deadline = t0 + (uint64_t)secs * 1000000000u;
	for (unsigned long i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid)
			run(&tally[i], pages, stride, i < hot ? 0 : (uint64_t)cold_ms * 1000000u, deadline);
	}
	for (unsigned long i = 0; i < procs; i++) {
		int status;

		if (wait(&status) < 0)
			die("wait");
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	if (failed) {
		fprintf(stderr, "hotcold: %d process(es) failed\n", failed);
		return EXIT_INFRA;
	}
	for (unsigned long i = 0; i < procs; i++) {
		if (i < hot) {
			hot_passes += tally[i].passes;
			hot_ns += tally[i].pass_ns;
		} else {
			cold_passes += tally[i].passes;
		}
	}
	printf("{\"procs\": %lu, \"hot\": %lu, \"pages\": %lu, \"stride\": %lu, \"cold_ms\": %lu, "
	       "\"seconds\": %.6f, \"hot_passes\": %llu, \"hot_passes_per_s\": %.2f, "
	       "\"hot_pass_ns_mean\": %.0f, \"cold_passes\": %llu}\n",
	       procs, hot, pages, stride, cold_ms, (mono_ns() - t0) / 1e9,
	       (unsigned long long)hot_passes, hot_passes / (double)secs,
	       hot_passes ? (double)hot_ns / hot_passes : 0.0, (unsigned long long)cold_passes);
	return 0;
}
