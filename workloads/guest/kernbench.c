// SPDX-License-Identifier: GPL-2.0
/*
 * kernbench: time kernel builds inside the workload guest (static, from its initramfs),
 * after Con Kolivas' kernbench: W warm-up builds, then R timed ones, each after a
 * `make clean`, with `make -jN` in DIR. Per run: elapsed, user and system time, voluntary
 * and involuntary context switches of the build (the rusage of its processes, taken per
 * run: nothing accumulates from one run, or one -j level, to the next).
 *
 * Usage: kernbench [-j JOBS] [-r RUNS] [-w WARMUPS] [-p LIST] [-T TREE | -S SRC -k CONFIG] -C DIR [MAKE-ARG...]
 *   -T  copy TREE to DIR's parent first (a tree from workloads/kernbench-tree, into tmpfs);
 *       a TREE ending in .tar is unpacked there (one file to read over 9p, not hundreds)
 *   -S  configure a kbuild tree first: make -C SRC O=DIR CONFIG (tinyconfig, defconfig)
 *   -p  read every file LIST names (one path a line: the compiler, its libraries) before
 *       the first build: the page cache a warm-up build would leave, for the part of a
 *       warm-up that is reading the toolchain over 9p (measured in a nested guest under
 *       TCG, 2026-12-01: 3-10 s to read it against 10-13 s for a warm-up build; the
 *       first build after it took 11-14 s, a cold one 13-18 s, a warm one 9-11 s)
 * Setup and the prefetch are not timed; a freshly set up tree is not cleaned before its
 * first build.
 * Prints one JSON line: {"jobs", "prefetch": {files, mib, s} (with -p), "runs": [{elapsed_s,
 * user_s, sys_s, vol_cs, invol_cs}], "elapsed_s_median", "user_s_median", "sys_s_median",
 * "ctx_switches_median"}.
 * Exit: 0; 2 usage; 3 the setup, the prefetch or a build failed.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../median.h"
#include "cli.h"
#include "monoclock.h"

#define MAX_RUNS 64

struct run {
	double elapsed, user, sys;
	long vol, invol;
};

static double tv(struct timeval t)
{
	return t.tv_sec + t.tv_usec / 1e6;
}

/* Run ARGV, wait, return its exit status (-1: it could not run). */
static int run_cmd(char *const argv[], int quiet)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		if (quiet && !freopen("/dev/null", "w", stdout))
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "kernbench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Read every file LIST names, to the end; *files and *bytes: what was read. */
static int prefetch(const char *list, int *files, double *bytes)
{
	static char buf[1 << 20];
	char path[4096];
	FILE *l = fopen(list, "r");

	if (!l) {
		fprintf(stderr, "kernbench: cannot read the prefetch list %s: %s\n", list, strerror(errno));
		return -1;
	}
	while (fgets(path, sizeof(path), l)) {
		FILE *f;
		size_t n;

		path[strcspn(path, "\n")] = '\0';
		if (!path[0])
			continue;
		f = fopen(path, "r");
		if (!f) {
			fprintf(stderr, "kernbench: cannot prefetch %s: %s\n", path, strerror(errno));
			fclose(l);
			return -1;
		}
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			*bytes += (double)n;
		fclose(f);
		(*files)++;
	}
	fclose(l);
	return 0;
}

static double median(struct run *r, int n, size_t off)
{
	double v[MAX_RUNS];

	for (int i = 0; i < n; i++)
		v[i] = *(const double *)((const char *)&r[i] + off);
	return median_of(v, n);
}

/* A count from 0, or the usage error. */
static int number(const char *s, int opt)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 0 || v > 1 << 20)
		exit(cli_usage_error("kernbench", "-%c wants a number, got '%s'", opt, s));
	return (int)v;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: kernbench [-j JOBS] [-r RUNS] [-w WARMUPS] [-p LIST] [-T TREE | -S SRC -k CONFIG] -C DIR\n"
"                 [MAKE-ARG...]\n"
"Times kernel builds inside the workload guest: WARMUPS untimed builds, then RUNS timed ones,\n"
"each after a make clean, with make -jJOBS in DIR; one JSON line: each run's elapsed, user\n"
"and system time and context switches, and their medians.\n"
"  -j JOBS      make -j (default 1)         -r RUNS     timed builds (default 3)\n"
"  -w WARMUPS   untimed builds first (default 1)\n"
"  -p LIST      read every file LIST names (the toolchain) before the first build\n"
"  -T TREE      copy TREE (or unpack TREE.tar) to DIR's parent first\n"
"  -S SRC -k CONFIG  configure a kbuild tree first: make -C SRC O=DIR CONFIG\n"
"  -C DIR       the build directory (required)\n"
"  -h, --help   this text\n"
"Exit: 0; 2 usage; 3 the setup, the prefetch or a build failed.\n"
"Examples (workloads/l2kernbench runs it so):\n"
"  kernbench -j 2 -r 1 -w 0 -T TREE/.mmuscope/tree.tar -p TREE/.mmuscope/toolchain.list \\\n"
"      -C /tmp/kb/out SHELL=/usr/bin/sh\n"
"  kernbench -j 2 -S SRC -k tinyconfig -C /tmp/kb SHELL=/usr/bin/sh vmlinux\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	int jobs = 1, runs = 3, warm = 1, opt, nargs, pf_files = 0;
	const char *tree = NULL, *src = NULL, *config = NULL, *dir = NULL, *list = NULL;
	double pf_bytes = 0, pf_s = 0;
	size_t tlen;
	char setup[1024];
	struct run r[MAX_RUNS];
	char jarg[16], **build, *clean[] = { "make", "-s", "-C", NULL, "clean", NULL };

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":j:r:w:p:T:S:k:C:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': jobs = number(optarg, opt); break;
		case 'r': runs = number(optarg, opt); break;
		case 'w': warm = number(optarg, opt); break;
		case 'p': list = optarg; break;
		case 'T': tree = optarg; break;
		case 'S': src = optarg; break;
		case 'k': config = optarg; break;
		case 'C': dir = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option("kernbench", opt, argv);
		}
	}
	if (!dir)
		return cli_usage_error("kernbench", "-C DIR is needed");
	if (jobs < 1 || runs < 1 || runs > MAX_RUNS)
		return cli_usage_error("kernbench", "-j and -r from 1 (-r at most %d)", MAX_RUNS);
	if (!src != !config)
		return cli_usage_error("kernbench", "-S SRC and -k CONFIG go together");
	setup[0] = '\0';
	tlen = tree ? strlen(tree) : 0;
	if (tree && tlen > 4 && !strcmp(tree + tlen - 4, ".tar"))
		snprintf(setup, sizeof(setup), "mkdir -p %s/.. && tar -xf %s -C %s/..", dir, tree, dir);
	else if (tree)
		snprintf(setup, sizeof(setup), "mkdir -p %s/.. && cp -a %s/. %s/..", dir, tree, dir);
	else if (src)
		snprintf(setup, sizeof(setup), "mkdir -p %s && make -s -C %s O=%s %s", dir, src, dir, config);
	if (setup[0] && system(setup)) {
		fprintf(stderr, "kernbench: setup failed: %s\n", setup);
		return EXIT_INFRA;
	}
	if (list) {
		double t0 = mono_secs();

		if (prefetch(list, &pf_files, &pf_bytes))
			return EXIT_INFRA;
		pf_s = mono_secs() - t0;
		fprintf(stderr, "kernbench: prefetched %d files, %.1f MiB in %.2f s\n", pf_files,
			pf_bytes / (1 << 20), pf_s);
	}
	nargs = argc - optind;
	build = calloc(nargs + 6, sizeof(*build));
	if (!build)
		return EXIT_INFRA;
	snprintf(jarg, sizeof(jarg), "-j%d", jobs);
	build[0] = "make";
	build[1] = "-s";
	build[2] = jarg;
	build[3] = "-C";
	build[4] = (char *)dir;
	memcpy(build + 5, argv + optind, nargs * sizeof(*build));
	clean[3] = (char *)dir;

	for (int i = -warm; i < runs; i++) {
		struct rusage before, after;
		double t0, t1;
		int rc;

		if ((i > -warm || !setup[0]) && run_cmd(clean, 1)) {
			fprintf(stderr, "kernbench: make clean failed in %s\n", dir);
			return EXIT_INFRA;
		}
		getrusage(RUSAGE_CHILDREN, &before);
		t0 = mono_secs();
		rc = run_cmd(build, 0);
		t1 = mono_secs();
		getrusage(RUSAGE_CHILDREN, &after);
		if (rc) {
			fprintf(stderr, "kernbench: the build failed (exit %d) in %s\n", rc, dir);
			return EXIT_INFRA;
		}
		fprintf(stderr, "kernbench: %s %d: %.2f s\n", i < 0 ? "warm-up" : "run", i < 0 ? i + warm + 1 : i + 1,
			t1 - t0);
		if (i < 0)
			continue;
		r[i] = (struct run){
			.elapsed = t1 - t0,
			.user = tv(after.ru_utime) - tv(before.ru_utime),
			.sys = tv(after.ru_stime) - tv(before.ru_stime),
			.vol = after.ru_nvcsw - before.ru_nvcsw,
			.invol = after.ru_nivcsw - before.ru_nivcsw,
		};
	}
	printf("{\"jobs\": %d, ", jobs);
	if (list)
		printf("\"prefetch\": {\"files\": %d, \"mib\": %.1f, \"s\": %.3f}, ", pf_files,
		       pf_bytes / (1 << 20), pf_s);
	printf("\"runs\": [");
	for (int i = 0; i < runs; i++)
		printf("%s{\"elapsed_s\": %.3f, \"user_s\": %.3f, \"sys_s\": %.3f, \"vol_cs\": %ld, \"invol_cs\": %ld}",
		       i ? ", " : "", r[i].elapsed, r[i].user, r[i].sys, r[i].vol, r[i].invol);
	{
		double cs[MAX_RUNS];

		for (int i = 0; i < runs; i++)
			cs[i] = (double)(r[i].vol + r[i].invol);
		printf("], \"elapsed_s_median\": %.3f, \"user_s_median\": %.3f, \"sys_s_median\": %.3f, "
		       "\"ctx_switches_median\": %.0f}\n",
		       median(r, runs, offsetof(struct run, elapsed)), median(r, runs, offsetof(struct run, user)),
		       median(r, runs, offsetof(struct run, sys)),
		       median_of(cs, runs));
	}
	return EXIT_OK;
}
