// SPDX-License-Identifier: GPL-2.0
/*
 * harvest: dirty-log harvesting while the guest keeps writing, the way a migrating VMM
 * does it, and what happens after dirty logging stops (a cancelled migration).
 *
 * Built against the KVM selftests library of the kernel tree under test (kvm_util,
 * memstress): testhost/build-selftests links it as $selftests/mmuscope/harvest.
 *
 * The upstream dirty_log_perf_test harvests only while its vCPUs wait at a barrier. Here
 * the vCPUs never stop: each rewrites its memory in passes, and the host logs when each
 * pass ends, so the guest's update rate is known over any window. Phases:
 *   before   dirty logging off, huge pages where the backing allows (-w ms)
 *   enable   KVM_MEM_LOG_DIRTY_PAGES set on the memslot (timed)
 *   harvest  -n harvests every -i ms: KVM_GET_DIRTY_LOG, and with -M KVM_CLEAR_DIRTY_LOG
 *   disable  dirty logging off again (timed): the cancel; skipped with -k. Timed twice:
 *            wall clock, and the CPU time of the thread in the ioctl, which leaves out
 *            the time the vCPU threads ran when the collapse walk yielded to them
 *   after    the update rate and the vCPU faults right after the cancel: the first -f ms
 *            ("after_first", where a refault storm shows) and the whole -w ms ("after").
 *            With -x PASSES (fixed work, for instruction counts): before the cancel every
 *            vCPU writes all of its memory once more after the last harvest and then waits,
 *            so that the cancel finds the same SPTEs every time and runs alone; after it the
 *            vCPUs write exactly PASSES passes and wait ("after_first": the first of them)
 * KVM's own stats (pages_4k/2m/1g; pf_taken, pf_fixed, pf_fast summed over vCPUs, and pf_slow:
 * the faults the lockless fast path could not fix, which take mmu_lock) are read
 * at every phase boundary, and right after the cancel ("disabled": are the huge pages back
 * before any vCPU faults? pf_* during the cancel ioctl, pf_*_since from its end to the end of
 * the after window). One JSON document on stdout. Under a test host with instruction counts
 * the phases harvest, cancel (the disable ioctl) and recovery (the rest of the after window)
 * are marked for the plugin (include/insns-mark.h).
 *
 * Usage: harvest [-v VCPUS] [-b BYTES] [-s BACKING] [-n HARVESTS] [-i MS] [-w MS] [-f MS]
 *                [-M] [-I] [-k | -x PASSES]
 * Exit: 0; 1 a TEST_ASSERT failed; 2 usage; 4 skipped (TEST_REQUIRE: kselftest's KSFT_SKIP).
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/bitmap.h>

#include "kvm_util.h"
#include "../include/cli.h"
#include "../include/insns-mark.h"
#include "../include/monoclock.h"
#include "median.h"
#include "memstress.h"
#include "test_util.h"
#include "ucall_common.h"

#define MAX_PASSES	(1 << 20)

struct stats_fd {
	int fd;
	struct kvm_stats_header header;
	struct kvm_stats_desc *desc;
};

struct kstats {
	uint64_t pages_4k, pages_2m, pages_1g;
	uint64_t pf_taken, pf_fixed, pf_fast;
};

struct harvest_rec {
	double t;		/* seconds since the start of the harvest phase */
	uint64_t get_ns, clear_ns, pages;
};

static int nr_vcpus = 2;
static struct kvm_vcpu *vcpus[KVM_MAX_VCPUS];
static struct stats_fd vcpu_stats[KVM_MAX_VCPUS];
static struct stats_fd vm_stats;
static uint64_t *pass_end[KVM_MAX_VCPUS];	/* ns timestamp at the end of each pass */
static uint64_t *pass_start[KVM_MAX_VCPUS];	/* ... and at its start (KVM_RUN entered) */
static _Atomic uint64_t passes[KVM_MAX_VCPUS];
static _Atomic uint64_t run_until = UINT64_MAX;	/* -x: a vCPU waits once it has this many passes */
static atomic_bool held[KVM_MAX_VCPUS];		/* -x: the vCPU is waiting, not in KVM_RUN */
static atomic_bool stop_vcpus;

static void sleep_ms(unsigned int ms);

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void stats_open(struct stats_fd *s, int fd)
{
	s->fd = fd;
	read_stats_header(fd, &s->header);
	s->desc = read_stats_descriptors(fd, &s->header);
}

static uint64_t stat_read(struct stats_fd *s, const char *name)
{
	size_t size = get_stats_descriptor_size(&s->header);
	uint64_t v;
	uint32_t i;

	for (i = 0; i < s->header.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)s->desc + i * size;

		if (strcmp(d->name, name))
			continue;
		read_stat_data(s->fd, &s->header, d, &v, 1);
		return v;
	}
	TEST_FAIL("KVM has no stat named %s", name);
	return 0;
}

static struct kstats kstats_read(void)
{
	struct kstats k = {
		.pages_4k = stat_read(&vm_stats, "pages_4k"),
		.pages_2m = stat_read(&vm_stats, "pages_2m"),
		.pages_1g = stat_read(&vm_stats, "pages_1g"),
	};
	int i;

	for (i = 0; i < nr_vcpus; i++) {
		k.pf_taken += stat_read(&vcpu_stats[i], "pf_taken");
		k.pf_fixed += stat_read(&vcpu_stats[i], "pf_fixed");
		k.pf_fast += stat_read(&vcpu_stats[i], "pf_fast");
	}
	return k;
}

static void vcpu_worker(struct memstress_vcpu_args *args)
{
	struct kvm_vcpu *vcpu = args->vcpu;
	int i = args->vcpu_idx;

	while (!atomic_load(&stop_vcpus)) {
		uint64_t n;

		n = atomic_load(&passes[i]);
		if (n >= atomic_load(&run_until)) {
			atomic_store(&held[i], true);
			sleep_ms(1);
			continue;
		}
		atomic_store(&held[i], false);
		if (n < MAX_PASSES)
			pass_start[i][n] = mono_ns();
		vcpu_run(vcpu);
		TEST_ASSERT(get_ucall(vcpu, NULL) == UCALL_SYNC,
			    "vCPU %d: unexpected exit %s", i,
			    exit_reason_str(vcpu->run->exit_reason));
		n = atomic_load(&passes[i]);
		if (n < MAX_PASSES)
			pass_end[i][n] = mono_ns();
		atomic_store(&passes[i], n + 1);
	}
}

/*
 * Passes vCPU @i had completed at time @t, interpolated linearly inside the pass that was
 * running then (from its start to its end: a vCPU held between passes by -x writes nothing),
 * so that a window shorter than a pass still gets its share of the writes.
 */
static double progress_at(int i, uint64_t t)
{
	uint64_t n = atomic_load(&passes[i]);
	uint64_t lo = 0, hi, prev;

	if (n > MAX_PASSES)
		n = MAX_PASSES;
	hi = n;
	while (lo < hi) {	/* first pass that ended after t */
		uint64_t mid = (lo + hi) / 2;

		if (pass_end[i][mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n)		/* inside the running pass: count it as not started */
		return (double)n;
	prev = pass_start[i][lo];	/* recorded for every pass that ran (lo < n <= MAX_PASSES) */
	if (t <= prev)
		return (double)lo;
	return lo + (double)(t - prev) / (double)(pass_end[i][lo] - prev);
}

struct window {
	const char *name;
	uint64_t t0, t1;
	struct kstats k0, k1;
};

static void print_window(const struct window *w, uint64_t pages_per_vcpu, bool last)
{
	double secs = (w->t1 - w->t0) / 1e9, pages = 0;
	int i;

	printf("    \"%s\": {\"seconds\": %.6f, \"vcpu_pages_per_s\": [", w->name, secs);
	for (i = 0; i < nr_vcpus; i++) {
		double p = (progress_at(i, w->t1) - progress_at(i, w->t0)) *
			   pages_per_vcpu;

		pages += p;
		printf("%s%.1f", i ? ", " : "", secs > 0 ? p / secs : 0);
	}
	printf("], \"pages_written\": %.0f, \"pages_per_s\": %.1f, "
	       "\"pf_taken\": %lu, \"pf_fixed\": %lu, \"pf_fast\": %lu, \"pf_slow\": %lu, "
	       "\"pages_4k\": [%lu, %lu], \"pages_2m\": [%lu, %lu], \"pages_1g\": [%lu, %lu]}%s\n",
	       pages, secs > 0 ? pages / secs : 0,
	       w->k1.pf_taken - w->k0.pf_taken, w->k1.pf_fixed - w->k0.pf_fixed,
	       w->k1.pf_fast - w->k0.pf_fast,
	       (w->k1.pf_taken - w->k0.pf_taken) - (w->k1.pf_fast - w->k0.pf_fast),
	       w->k0.pages_4k, w->k1.pages_4k,
	       w->k0.pages_2m, w->k1.pages_2m, w->k0.pages_1g, w->k1.pages_1g, last ? "" : ",");
}

static void window_begin(struct window *w, const char *name)
{
	w->name = name;
	w->k0 = kstats_read();
	w->t0 = mono_ns();
}

static void window_end(struct window *w)
{
	w->t1 = mono_ns();
	w->k1 = kstats_read();
}

static uint64_t count_bits(const unsigned long *bm, uint64_t nbits)
{
	uint64_t i, n = 0;

	for (i = 0; i < nbits / 64; i++)
		n += __builtin_popcountl(bm[i]);
	return n;
}

/* Median and maximum of one field over the harvests (@get: get_ns, else clear_ns). */
static void harvest_summary(const struct harvest_rec *r, unsigned int n, bool get,
			    uint64_t *median, uint64_t *max)
{
	double v[n];
	unsigned int i;

	for (i = 0; i < n; i++)
		v[i] = (double)(get ? r[i].get_ns : r[i].clear_ns);
	*median = (uint64_t)median_of(v, n);
	*max = (uint64_t)v[n - 1];
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

static void wait_passes(uint64_t want)
{
	int i;

	for (i = 0; i < nr_vcpus; i++)
		while (atomic_load(&passes[i]) < want)
			sleep_ms(1);
}

static uint64_t max_passes(void)
{
	uint64_t m = 0;
	int i;

	for (i = 0; i < nr_vcpus; i++)
		if (atomic_load(&passes[i]) > m)
			m = atomic_load(&passes[i]);
	return m;
}

/*
 * -x: every vCPU runs to @want passes and waits there, outside KVM_RUN. A vCPU that was
 * already past @want when the limit was set (it entered KVM_RUN before) raises it for all,
 * so that they stop at one count; returns that count.
 */
static uint64_t hold_vcpus(uint64_t want)
{
	for (;;) {
		uint64_t most;
		bool all;
		int i;

		atomic_store(&run_until, want);
		do {
			sleep_ms(1);
			all = true;
			for (i = 0; i < nr_vcpus; i++)
				all &= atomic_load(&held[i]) && atomic_load(&passes[i]) >= want;
		} while (!all);
		most = max_passes();
		if (most == want)
			return want;
		want = most;
	}
}

static void usage(const char *name)
{
	printf("usage: %s [-v VCPUS] [-b BYTES] [-s BACKING] [-n HARVESTS] [-i MS] [-w MS] [-f MS]\n"
	       "         [-M] [-I] [-k | -x PASSES]\n"
	       " -v  vCPUs writing continuously (default 2)\n"
	       " -b  bytes of guest memory per vCPU, with suffix (default 64M)\n"
	       " -n  harvests while the vCPUs write (default 5)\n"
	       " -i  milliseconds between harvests (default 100)\n"
	       " -w  milliseconds of the before and after windows (default 1000)\n"
	       " -f  milliseconds of the after_first window, from the cancel (default 100)\n"
	       " -M  manual protect: KVM_GET_DIRTY_LOG then KVM_CLEAR_DIRTY_LOG per harvest\n"
	       " -I  with -M, KVM_DIRTY_LOG_INITIALLY_SET: no write-protect when logging starts\n"
	       " -k  keep dirty logging on at the end (no cancel, no after window)\n"
	       " -x  fixed work around the cancel: the vCPUs stop for it after a whole pass, then\n"
	       "     write PASSES passes (the after windows; -f and -w's after part unused)\n"
	       " -h, --help  this text\n"
	       "Exit: 0; 1 a check failed (TEST_ASSERT); 2 usage; 4 skipped (KSFT_SKIP).\n"
	       "Example (the ci profile's harvest, one JSON document on stdout):\n"
	       "  %s -v 2 -b 16M -n 5 -i 100 -w 500 -k\n",
	       name, name);
	backing_src_help("-s");
}

int main(int argc, char *argv[])
{
	enum vm_mem_backing_src_type backing = DEFAULT_VM_MEM_SRC;
	uint64_t bytes = 64ull << 20, pages_per_vcpu, t;
	unsigned int nr_harvests = 5, interval_ms = 100, window_ms = 1000, first_ms = 100;
	unsigned int exact = 0;
	uint64_t hold = 0;
	bool manual = false, initially_set = false, cancel = true;
	struct window before, harvest, after, after_first;
	struct harvest_rec *recs;
	unsigned long *bitmaps[1];
	uint64_t enable_ns, disable_ns = 0, disable_cpu_ns = 0, nbits;
	uint64_t get_median, get_max, clear_median, clear_max;
	struct kstats populated, disabled = { 0 };
	struct kvm_vm *vm;
	unsigned int h;
	int opt, i;

	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hv:b:s:n:i:w:f:MIkx:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'v': nr_vcpus = atoi_positive("vCPUs", optarg); break;
		case 'b': bytes = parse_size(optarg); break;
		case 's': backing = parse_backing_src_type(optarg); break;
		case 'n': nr_harvests = atoi_positive("harvests", optarg); break;
		case 'i': interval_ms = atoi_non_negative("interval", optarg); break;
		case 'w': window_ms = atoi_positive("window", optarg); break;
		case 'f': first_ms = atoi_positive("first window", optarg); break;
		case 'M': manual = true; break;
		case 'I': initially_set = true; break;
		case 'k': cancel = false; break;
		case 'x': exact = atoi_positive("passes", optarg); break;
		case 'h': usage(argv[0]); return EXIT_OK;
		default: return cli_bad_option("harvest", opt, argv);
		}
	}
	TEST_REQUIRE(nr_vcpus <= KVM_MAX_VCPUS);
	if (initially_set && !manual)
		TEST_FAIL("-I needs -M");
	if (exact && !cancel)
		TEST_FAIL("-x needs the cancel: drop -k");
	if (first_ms > window_ms && !exact)
		TEST_FAIL("-f %u is longer than the -w %u window", first_ms, window_ms);

	vm = memstress_create_vm(VM_MODE_DEFAULT, nr_vcpus, bytes, 1, backing, true);
	if (manual) {
		uint64_t caps = kvm_check_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

		TEST_REQUIRE(caps & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
		if (initially_set)
			TEST_REQUIRE(caps & KVM_DIRTY_LOG_INITIALLY_SET);
		else
			caps &= ~KVM_DIRTY_LOG_INITIALLY_SET;
		vm_enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, caps);
	}
	pages_per_vcpu = memstress_args.vcpu_args[0].pages;
	stats_open(&vm_stats, vm_get_stats_fd(vm));
	for (i = 0; i < nr_vcpus; i++) {
		vcpus[i] = memstress_args.vcpu_args[i].vcpu;
		stats_open(&vcpu_stats[i], vcpu_get_stats_fd(vcpus[i]));
		pass_end[i] = calloc(MAX_PASSES, sizeof(uint64_t));
		pass_start[i] = calloc(MAX_PASSES, sizeof(uint64_t));
		TEST_ASSERT(pass_end[i] && pass_start[i], "out of memory");
	}
	nbits = DIV_ROUND_UP(memstress_args.size / memstress_args.guest_page_size, 64) * 64;
	bitmaps[0] = bitmap_zalloc(nbits);
	recs = calloc(nr_harvests, sizeof(*recs));
	TEST_ASSERT(bitmaps[0] && recs, "out of memory");

	memstress_start_vcpu_threads(nr_vcpus, vcpu_worker);
	wait_passes(1);		/* populated: every page was written once */
	populated = kstats_read();

	window_begin(&before, "before");
	sleep_ms(window_ms);
	window_end(&before);

	t = mono_ns();
	memstress_enable_dirty_logging(vm, 1);
	enable_ns = mono_ns() - t;

	window_begin(&harvest, "harvest");
	insns_mark_phase(INSNS_PHASE_HARVEST);
	for (h = 0; h < nr_harvests; h++) {
		sleep_ms(interval_ms);
		recs[h].t = (mono_ns() - harvest.t0) / 1e9;
		t = mono_ns();
		kvm_vm_get_dirty_log(vm, MEMSTRESS_MEM_SLOT_INDEX, bitmaps[0]);
		recs[h].get_ns = mono_ns() - t;
		recs[h].pages = count_bits(bitmaps[0], nbits);
		if (manual) {
			t = mono_ns();
			kvm_vm_clear_dirty_log(vm, MEMSTRESS_MEM_SLOT_INDEX, bitmaps[0], 0,
					       memstress_args.size / memstress_args.guest_page_size);
			recs[h].clear_ns = mono_ns() - t;
		}
	}
	insns_mark_phase(INSNS_PHASE_OTHER);
	window_end(&harvest);

	if (cancel && exact)
		hold = hold_vcpus(max_passes() + 2);
	if (cancel) {
		/* The after windows start with the cancel: its stall is part of what the guest sees. */
		window_begin(&after, "after");
		insns_mark_phase(INSNS_PHASE_CANCEL);
		t = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		memstress_disable_dirty_logging(vm, 1);
		disable_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t;
		insns_mark_phase(INSNS_PHASE_RECOVERY);
		disable_ns = mono_ns() - after.t0;
		disabled = kstats_read();
		after_first = after;
		after_first.name = "after_first";
		if (exact) {
			hold_vcpus(hold + 1);
			window_end(&after_first);
			hold_vcpus(hold + exact);
		} else {
			sleep_ms(first_ms);
			window_end(&after_first);
			sleep_ms(window_ms - first_ms);
		}
		insns_mark_phase(INSNS_PHASE_OTHER);
		window_end(&after);
	}

	atomic_store(&stop_vcpus, true);
	memstress_join_vcpu_threads(nr_vcpus);

	printf("{\n  \"tool\": \"harvest\",\n  \"vcpus\": %d,\n  \"bytes_per_vcpu\": %lu,\n"
	       "  \"pages_per_vcpu\": %lu,\n  \"backing\": \"%s\",\n  \"manual_protect\": %s,\n"
	       "  \"initially_set\": %s,\n  \"interval_ms\": %u,\n  \"cancelled\": %s,\n"
	       "  \"exact_passes\": %u,\n  \"fixed_work\": %s,\n",
	       nr_vcpus, bytes, pages_per_vcpu, vm_mem_backing_src_alias(backing)->name,
	       manual ? "true" : "false", initially_set ? "true" : "false", interval_ms,
	       cancel ? "true" : "false", exact, exact ? "1" : "null");
	printf("  \"populated\": {\"pages_4k\": %lu, \"pages_2m\": %lu, \"pages_1g\": %lu},\n",
	       populated.pages_4k, populated.pages_2m, populated.pages_1g);
	printf("  \"enable_dirty_log_s\": %.6f,\n", enable_ns / 1e9);
	if (cancel) {
		printf("  \"disable_dirty_log_s\": %.6f,\n", disable_ns / 1e9);
		printf("  \"disable_dirty_log_cpu_s\": %.6f,\n", disable_cpu_ns / 1e9);
		printf("  \"disabled\": {\"pages_4k\": %lu, \"pages_2m\": %lu, \"pages_1g\": %lu, "
		       "\"pf_taken\": %lu, \"pf_fast\": %lu, \"pf_taken_since\": %lu, \"pf_fast_since\": %lu},\n",
		       disabled.pages_4k, disabled.pages_2m, disabled.pages_1g,
		       disabled.pf_taken - after.k0.pf_taken, disabled.pf_fast - after.k0.pf_fast,
		       after.k1.pf_taken - disabled.pf_taken, after.k1.pf_fast - disabled.pf_fast);
	}
	printf("  \"windows\": {\n");
	print_window(&before, pages_per_vcpu, false);
	print_window(&harvest, pages_per_vcpu, !cancel);
	if (cancel) {
		print_window(&after_first, pages_per_vcpu, false);
		print_window(&after, pages_per_vcpu, true);
	}
	printf("  },\n  \"harvests\": [\n");
	for (h = 0; h < nr_harvests; h++)
		printf("    {\"t\": %.6f, \"get_ns\": %lu, \"clear_ns\": %lu, \"pages\": %lu}%s\n",
		       recs[h].t, recs[h].get_ns, recs[h].clear_ns, recs[h].pages,
		       h + 1 < nr_harvests ? "," : "");
	harvest_summary(recs, nr_harvests, true, &get_median, &get_max);
	harvest_summary(recs, nr_harvests, false, &clear_median, &clear_max);
	printf("  ],\n  \"summary\": {\"get_ns_median\": %lu, \"get_ns_max\": %lu, "
	       "\"clear_ns_median\": %lu, \"clear_ns_max\": %lu}\n}\n",
	       get_median, get_max, clear_median, clear_max);

	memstress_destroy_vm(vm);
	return 0;
}
