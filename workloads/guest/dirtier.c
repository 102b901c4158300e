// SPDX-License-Identifier: GPL-2.0
/*
 * dirtier: the memory-dirtying job of the migration workload, run inside the workload
 * guest (static, from the guest's initramfs), after the stress program of QEMU's
 * guestperf: it keeps writing its working set and reports its own update rate, so that
 * what migration and dirty logging cost the guest is measured by the guest.
 *
 * It maps WSS MiB, touches all of it, prints "dirtier-ready WSS_MIB", then writes one
 * word in every 4 KiB page, page after page, round and round (each write dirties a page,
 * as memstress does), at most RATE MiB/s of pages if -r is given. Every PERIOD ms it
 * prints one line:
 *     dirtier MS MIBPS BAD
 * MS: guest milliseconds since the ready line; MIBPS: MiB of pages written per second
 * over that period; BAD: pages found stale so far (below). Runs for SECS seconds (-d),
 * forever by default (the host stops it).
 *
 * It also checks its memory, as QEMU's migration-test does for its guests: pass P writes P
 * into each page's word, so the page it is about to write must hold P - 1. A page that
 * holds anything else lost a write: after a live migration, a page that was dirtied but
 * not logged, and so never sent again. Each such page counts in BAD; the first few are
 * printed as "dirtier-bad PAGE FOUND EXPECTED". The check is one load per write. -X turns
 * one page stale by hand when the second pass begins, to test the check and its reporting.
 *
 * Usage: dirtier [-w WSS_MIB] [-r RATE_MIBPS] [-p PERIOD_MS] [-d SECS] [-X]
 * Exit: 0 (-d) or never (the host stops it); 2 usage; 3 the working set cannot be mapped.
 * A stale page is reported, not an exit: migrate counts them and fails the run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "monoclock.h"

#define PAGE 4096ul
#define CHUNK 64ul	/* pages written between two looks at the clock */

static unsigned long arg(const char *s, char opt)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s)
		exit(cli_usage_error("dirtier", "-%c wants a number, got '%s'", opt, s));
	return v;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: dirtier [-w WSS_MIB] [-r RATE_MIBPS] [-p PERIOD_MS] [-d SECS] [-X]\n"
"The migration workload's job (inside the workload guest): writes one word in every 4K page\n"
"of WSS_MIB, round and round, checking that each page still holds its previous pass; prints\n"
"\"dirtier-ready WSS\", then every PERIOD_MS \"dirtier MS MIBPS BAD\" (BAD: stale pages so far)\n"
"and \"dirtier-bad PAGE FOUND EXPECTED\" for the first stale ones.\n"
"  -w WSS_MIB     working set (default 64)\n"
"  -r RATE_MIBPS  at most this many MiB of pages a second (default: as fast as it can)\n"
"  -p PERIOD_MS   between two rate lines (default 100)\n"
"  -d SECS        stop after SECS (default: never, the host stops it)\n"
"  -X             make one page stale by hand when the second pass begins (tests the check)\n"
"  -h, --help     this text\n"
"Exit: 0 after -d; 2 usage; 3 the working set cannot be mapped.\n"
"Examples:\n"
"  dirtier -w 1 -d 1 -p 200 -X          # one stale page reported\n"
"  workloads/l2migrate -s mc -- /bin/dirtier -w 384\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	unsigned long wss = 64, rate = 0, period = 100, secs = 0, npages, pos = 0, done = 0;
	uint64_t pass = 1, bad = 0;
	int inject = 0;
	uint64_t t0, tlast, tend, budget_ns = 0;
	volatile uint64_t *mem;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":w:r:p:d:Xh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'w': wss = arg(optarg, opt); break;
		case 'r': rate = arg(optarg, opt); break;
		case 'p': period = arg(optarg, opt); break;
		case 'd': secs = arg(optarg, opt); break;
		case 'X': inject = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option("dirtier", opt, argv);
		}
	}
	if (!wss || !period)
		return cli_usage_error("dirtier", "-w and -p must be positive");
	if (optind < argc)
		return cli_usage_error("dirtier", "no arguments, only options: '%s'", argv[optind]);
	npages = wss * (1024 * 1024 / PAGE);
	mem = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "dirtier: cannot map %lu MiB: %s\n", wss, strerror(errno));
		return EXIT_INFRA;
	}
	for (unsigned long i = 0; i < npages; i++)
		mem[i * (PAGE / sizeof(*mem))] = 0;
	/* Time budget of one chunk at the requested rate. */
	if (rate)
		budget_ns = CHUNK * PAGE * 1000000000ull / (rate * 1024 * 1024);
	printf("dirtier-ready %lu\n", wss);
	fflush(stdout);
	t0 = tlast = mono_ns();
	tend = secs ? t0 + secs * 1000000000ull : UINT64_MAX;
	for (;;) {
		uint64_t t, next = mono_ns() + budget_ns;

		for (unsigned long i = 0; i < CHUNK; i++) {
			volatile uint64_t *word = &mem[pos * (PAGE / sizeof(*mem))];
			uint64_t found = *word;

			if (found != pass - 1 && ++bad <= 10)
				printf("dirtier-bad %lu %llu %llu\n", pos, (unsigned long long)found,
				       (unsigned long long)(pass - 1));
			*word = pass;
			if (++pos == npages) {
				pos = 0;
				pass++;
				if (inject && pass == 2)	/* a lost write in the middle */
					mem[npages / 2 * (PAGE / sizeof(*mem))] = 0;
			}
		}
		done += CHUNK;
		t = mono_ns();
		if (rate && t < next) {
			nanosleep(&(struct timespec){ 0, (long)(next - t) }, NULL);
			t = mono_ns();
		}
		if (t - tlast >= period * 1000000ull) {
			printf("dirtier %.1f %.2f %llu\n", (t - t0) / 1e6,
			       done * (double)PAGE / (1024 * 1024) / ((t - tlast) / 1e9),
			       (unsigned long long)bad);
			fflush(stdout);
			tlast = t;
			done = 0;
		}
		if (t >= tend)
			return 0;
	}
}
