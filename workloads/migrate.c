// SPDX-License-Identifier: GPL-2.0
/*
 * migrate: the live-migration loop. Boots the workload guest under QEMU/KVM on the test
 * host, with a memory-dirtying job in it (guest/dirtier.c), and migrates it between two
 * QEMU instances over a unix socket, as a VMM does: a sequence of completed ping-pong
 * migrations and cancelled ones (QMP migrate_cancel after K dirty-sync rounds, so that
 * the source keeps running once dirty logging stops: the case of seed 001).
 *
 * Per migration it records what QEMU says (query-migrate polled every POLL ms: status,
 * dirty-sync rounds, bytes, total time, downtime), what KVM says (query-stats of the VM
 * and its vCPUs: pages_4k/pages_2m, faults, at the start, at the end and after the AFTER
 * window), and what the guest says: its own update rate, one line every period, stamped
 * on arrival with the host's clock, averaged over the window before the migration, during
 * it, the first period after it ended, and the AFTER window. The guest also checks its
 * memory (a page that lost a write is stale): stale pages are counted per migration and
 * in total, and any make the exit status 1 (a check failed) after the JSON is written.
 *
 * A completed migration runs K rounds and then raises downtime-limit, so that it converges
 * at a known point whatever the guest's dirty rate; the destination then becomes the
 * source of the next one.
 *
 * The QEMU instances, the guest's barriers and console, its splats: guestvm.c, shared with
 * l2run.
 *
 * Usage: migrate -K BZIMAGE -I INITRD -A ARGS [options] -- JOB [ARG...]
 *   -A ARGS    the guest kernel's parameters before the job's: guest_cmdline of
 *              scripts/lib.sh, which workloads/l2migrate passes
 *   -s SEQ     migrations in order: m = completed, c = cancelled (default "mc")
 *   -k K       dirty-sync rounds before the cancel or the switch-over (default 2)
 *   -m MIB     guest memory (default 512)      -c CPUS   vCPUs (default 1)
 *   -b BACKING anon | thp | hugetlb (default thp): guest RAM in the test host
 *   -R N       QEMU's dirty ring with N entries instead of the dirty bitmap
 *   -S PAGES   KVM_SET_NR_MMU_PAGES through QEMU's kvm-shadow-mem (shadow MMU budget)
 *   -B MIBPS   migration bandwidth limit (default 1024)
 *   -W MS      run before the first migration, and between two (default 1000)
 *   -a MS      the window after a migration ends (default 1000)
 *   -t SECS    give up after SECS (default 600): exit 124, a hang
 *   --accel tcg  QEMU's TCG instead of KVM, to try it where there is no KVM to use
 * Under a test host with instruction counts (include/insns-mark.h) a cancelled migration
 * marks phase cancel from migrate_cancel until QEMU says "cancelled", then phase recovery
 * until its after window ends.
 * Prints one JSON document on stdout; progress on stderr. Exit (README.md, "Exit codes"):
 * 0; 1 stale pages; 2 usage; 3 QEMU, KVM or the guest failed (the work was not done: also
 * a splat on the guest's console, or its job ending); 124 the guest or QEMU hung, or the
 * guest reported a hang (timeout(1)'s code, as l2run and testhost).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "guestvm.h"
#include "insns-mark.h"
#include "median.h"

#define POLL_MS 20
#define MAX_SAMPLES 100000
#define MAX_EVENTS 1024

enum { OPT_ACCEL = 256, OPT_CHECK };

static struct {
	const char *kernel, *initrd, *kargs, *seq, *backing, *accel;
	int rounds, mem_mib, cpus, ring, shadow_pages, bandwidth, warm_ms, after_ms, timeout_s;
	char *job;
} opt = { .seq = "mc", .backing = "thp", .rounds = 2, .mem_mib = 512, .cpus = 1,
	  .bandwidth = 1024, .warm_ms = 1000, .after_ms = 1000, .timeout_s = 600 };

static struct { double t, mibps; } samples[MAX_SAMPLES];
static int nsamples;
static struct json_object *events;
static bool guest_ready;
static uint64_t guest_bad;	/* stale pages the dirtier found so far */

static void progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mmuscope: migrate: [%6.1fs] ", guestvm_now());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void event(const char *what, int i)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "t", json_object_new_double(guestvm_now()));
	json_object_object_add(e, "event", json_object_new_string(what));
	json_object_object_add(e, "migration", json_object_new_int(i));
	json_object_array_add(events, e);
}

/* A line of the guest's console: the dirtier's. */
static void guest_line(struct guestvm *vm, const char *line)
{
	double ms, mibps;
	unsigned long long bad = 0;

	(void)vm;
	if (!strncmp(line, "dirtier-ready", 13)) {
		guest_ready = true;
		event("guest-ready", -1);
	} else if (!strncmp(line, "dirtier-bad ", 12)) {
		progress("the guest found a stale page (page, found, expected): %s", line + 12);
		event("guest-stale-page", -1);
	} else if (sscanf(line, "dirtier %lf %lf %llu", &ms, &mibps, &bad) >= 2) {
		if (bad > guest_bad)
			guest_bad = bad;
		if (nsamples < MAX_SAMPLES) {
			samples[nsamples].t = guestvm_now();
			samples[nsamples++].mibps = mibps;
		}
	}
}

static int64_t stat_of(struct json_object *s, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(s, name, &v) ? json_object_get_int64(v) : 0;
}

/* after - before, for the counters a migration moves. */
static struct json_object *stats_delta(struct json_object *before, struct json_object *after)
{
	static const char *const names[] = { "pf_taken", "pf_fixed", "pf_fast", "pf_spurious",
		"pf_emulate", "exits", "mmu_recycled", "mmu_shadow_zapped", "remote_tlb_flush" };
	struct json_object *d = json_object_new_object();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		json_object_object_add(d, names[i],
				       json_object_new_int64(stat_of(after, names[i]) -
							     stat_of(before, names[i])));
	return d;
}

static struct json_object *pages(struct json_object *s)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "pages_4k", json_object_new_int64(stat_of(s, "pages_4k")));
	json_object_object_add(p, "pages_2m", json_object_new_int64(stat_of(s, "pages_2m")));
	json_object_object_add(p, "pages_1g", json_object_new_int64(stat_of(s, "pages_1g")));
	return p;
}

/* The guest's mean update rate over samples that arrived in [from, to), or null. */
static struct json_object *rate(double from, double to)
{
	double sum = 0;
	int n = 0;

	for (int i = 0; i < nsamples; i++)
		if (samples[i].t >= from && samples[i].t < to) {
			sum += samples[i].mibps;
			n++;
		}
	return n ? json_object_new_double(sum / n) : NULL;
}

static int64_t member_int(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v))
		return -1;
	if (b && !json_object_object_get_ex(v, b, &v))
		return -1;
	return json_object_get_int64(v);
}

static const char *member_str(struct json_object *o, const char *a)
{
	struct json_object *v;

	return json_object_object_get_ex(o, a, &v) ? json_object_get_string(v) : "";
}

/* One migration, cancelled or not; returns its record and updates *src. */
static struct json_object *migrate_once(struct guestvm **src, int i, bool cancel, int *nb)
{
	struct json_object *rec = json_object_new_object(), *info = NULL, *sb, *s0, *s1, *s2;
	char args[256], uri[160], name[16];
	struct guestvm *dst, *run;
	double t_start, t_end, t_poll;
	int64_t rounds = 0, bytes = 0;
	bool asked = false;
	const char *status = "";
	uint64_t bad_before = guest_bad;

	guestvm_phase("migration %d (%s)", i, cancel ? "to cancel" : "to complete");
	snprintf(name, sizeof(name), "q%d", ++*nb);
	dst = guestvm_start(name, true, "destination");
	snprintf(uri, sizeof(uri), "{\"uri\": \"unix:%s/migrate-%d.sock\"}", guestvm_dir(), i);
	json_object_put(guestvm_qmp(dst, "migrate-incoming", uri));
	snprintf(args, sizeof(args), "{\"max-bandwidth\": %lld, \"downtime-limit\": 1}",
		 (long long)opt.bandwidth << 20);
	json_object_put(guestvm_qmp(*src, "migrate-set-parameters", args));
	/*
	 * The window before, with the destination already started: nothing blocks while it
	 * runs, so the guest's lines are stamped as they come.
	 */
	sb = guestvm_stats(*src);
	guestvm_pump(opt.warm_ms);
	s0 = guestvm_stats(*src);
	t_start = guestvm_now();
	event(cancel ? "cancel-start" : "migrate-start", i);
	json_object_put(guestvm_qmp(*src, "migrate", uri));
	for (;;) {
		int64_t sync;

		t_poll = guestvm_now();
		json_object_put(info);
		info = guestvm_qmp(*src, "query-migrate", NULL);
		status = member_str(info, "status");
		sync = member_int(info, "ram", "dirty-sync-count");
		if (member_int(info, "ram", "transferred") >= 0)
			bytes = member_int(info, "ram", "transferred");
		if (sync > rounds) {
			rounds = sync;
			event("dirty-sync", i);
		}
		if (!strcmp(status, "completed") || !strcmp(status, "cancelled") ||
		    !strcmp(status, "failed"))
			break;
		if (!asked && rounds >= opt.rounds && !strcmp(status, "active")) {
			asked = true;
			event(cancel ? "cancel" : "switch-over", i);
			if (cancel)
				insns_mark_phase(INSNS_PHASE_CANCEL);
			dst->expendable = cancel;
			json_object_put(guestvm_qmp(*src, cancel ? "migrate_cancel" : "migrate-set-parameters",
						 cancel ? NULL : "{\"downtime-limit\": 60000}"));
		}
		guestvm_pump(POLL_MS - (int)((guestvm_now() - t_poll) * 1000));
	}
	t_end = guestvm_now();
	event(status, i);
	/* Right at the switch to "completed" QEMU may not have filled in its times yet. */
	for (int k = 0; k < 10 && !strcmp(status, "completed") && member_int(info, "total-time", NULL) <= 0; k++) {
		guestvm_pump(POLL_MS);
		json_object_put(info);
		info = guestvm_qmp(*src, "query-migrate", NULL);
		status = member_str(info, "status");	/* it pointed into the old answer */
	}
	if (!strcmp(status, "failed"))
		guestvm_die(EXIT_INFRA, "migration %d failed: %s (logs in %s)", i, member_str(info, "error-desc"), guestvm_dir());
	if (cancel != !strcmp(status, "cancelled"))
		guestvm_die(EXIT_INFRA, "migration %d ended %s, not %s as asked", i, status, cancel ? "cancelled" : "completed");
	/*
	 * The instance the guest runs in now; the other one quits at once (its exit runs
	 * during the window, as on a real host) and is reaped after the window.
	 */
	run = cancel ? *src : dst;
	if (cancel)
		insns_mark_phase(INSNS_PHASE_RECOVERY);
	s1 = guestvm_stats(run);
	guestvm_quit(cancel ? dst : *src);
	guestvm_pump(opt.after_ms);
	s2 = guestvm_stats(run);
	if (cancel)
		insns_mark_phase(INSNS_PHASE_OTHER);
	guestvm_stop(cancel ? dst : *src);
	*src = run;

	json_object_object_add(rec, "i", json_object_new_int(i));
	json_object_object_add(rec, "kind", json_object_new_string(cancel ? "cancelled" : "completed"));
	json_object_object_add(rec, "status", json_object_new_string(status));
	json_object_object_add(rec, "dirty_sync_rounds", json_object_new_int64(rounds));
	json_object_object_add(rec, "start_s", json_object_new_double(t_start));
	json_object_object_add(rec, "seconds", json_object_new_double(t_end - t_start));
	json_object_object_add(rec, "total_ms", json_object_new_int64(member_int(info, "total-time", NULL)));
	json_object_object_add(rec, "downtime_ms", json_object_new_int64(member_int(info, "downtime", NULL)));
	json_object_object_add(rec, "setup_ms", json_object_new_int64(member_int(info, "setup-time", NULL)));
	json_object_object_add(rec, "bytes", json_object_new_int64(bytes));
	json_object_object_add(rec, "rate_before", rate(t_start - opt.warm_ms / 1000.0, t_start));
	json_object_object_add(rec, "rate_during", rate(t_start, t_end));
	/* The first period that ends after the migration did: it holds the disable. */
	json_object_object_add(rec, "rate_after_first", NULL);
	for (int k = 0; k < nsamples; k++)
		if (samples[k].t >= t_end) {
			json_object_object_add(rec, "rate_after_first",
					       json_object_new_double(samples[k].mibps));
			break;
		}
	json_object_object_add(rec, "rate_after", rate(t_end, t_end + opt.after_ms / 1000.0));
	json_object_object_add(rec, "kvm_start", pages(s0));
	json_object_object_add(rec, "kvm_end", pages(s1));
	json_object_object_add(rec, "kvm_after", pages(s2));
	json_object_object_add(rec, "kvm_before_delta", stats_delta(sb, s0));
	if (cancel)
		json_object_object_add(rec, "kvm_during", stats_delta(s0, s1));
	json_object_object_add(rec, "kvm_after_delta", stats_delta(s1, s2));
	/*
	 * Found from its start to the end of its after window. A stale page is found when the
	 * dirtier next reaches it, so it may count in the next migration: the total is exact.
	 */
	json_object_object_add(rec, "guest_stale_pages", json_object_new_int64((int64_t)(guest_bad - bad_before)));
	progress("migration %d (%s): %s after %lld rounds, %.2f s, %.0f MiB sent; guest %.0f -> %.0f -> %.0f MiB/s",
		 i, cancel ? "cancel" : "complete", status, (long long)rounds, t_end - t_start,
		 bytes / 1048576.0,
		 json_object_get_double(json_object_object_get(rec, "rate_before")),
		 json_object_get_double(json_object_object_get(rec, "rate_during")),
		 json_object_get_double(json_object_object_get(rec, "rate_after")));
	json_object_put(info);
	json_object_put(sb);
	json_object_put(s0);
	json_object_put(s1);
	json_object_put(s2);
	return rec;
}

static int count(struct json_object *migs, const char *kind)
{
	int n = 0;

	for (size_t i = 0; i < json_object_array_length(migs); i++)
		n += !strcmp(member_str(json_object_array_get_idx(migs, i), "kind"), kind);
	return n;
}

/* Median over the migrations of KIND of a member (dotted once: "a" or "a.b"). */
static struct json_object *median(struct json_object *migs, const char *kind, const char *a,
				  const char *b)
{
	double v[256];
	size_t n = 0;

	for (size_t i = 0; i < json_object_array_length(migs) && n < 256; i++) {
		struct json_object *m = json_object_array_get_idx(migs, i), *x;

		if (strcmp(member_str(m, "kind"), kind) || !json_object_object_get_ex(m, a, &x))
			continue;
		if (b && !json_object_object_get_ex(x, b, &x))
			continue;
		if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int))
			continue;
		v[n++] = json_object_get_double(x);
	}
	if (!n)
		return NULL;
	return json_object_new_double(median_of(v, n));
}

static int num(const char *s, char o)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 0 || v > 1 << 30)
		guestvm_die(EXIT_USAGE, "-%c wants a number, got '%s'", o, s);
	return (int)v;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: migrate -K BZIMAGE -I INITRD -A ARGS [-s SEQ] [-k ROUNDS] [-m MIB] [-c CPUS]\n"
"               [-b anon|thp|hugetlb] [-R RING] [-S PAGES] [-B MIBPS] [-W MS] [-a MS] [-t SECS]\n"
"               [--accel kvm|tcg] -- JOB [ARG...]\n"
"The live-migration loop: the workload guest (BZIMAGE, INITRD, kernel parameters ARGS, then\n"
"JOB as its job) under QEMU/KVM, migrated between two QEMUs over a unix socket; one JSON\n"
"document per run on stdout (QEMU's, KVM's and the guest's numbers per migration).\n"
"  -s SEQ      migrations in order: m completed, c cancelled (default mc)\n"
"  -k ROUNDS   dirty-sync rounds before the cancel or the switch-over (default 2)\n"
"  -m MIB      guest memory (default 512)        -c CPUS   vCPUs (default 1)\n"
"  -b BACKING  guest RAM in this host: anon, thp or hugetlb (default thp)\n"
"  -R RING     QEMU's dirty ring with RING entries instead of the dirty bitmap\n"
"  -S PAGES    KVM_SET_NR_MMU_PAGES through QEMU's kvm-shadow-mem\n"
"  -B MIBPS    migration bandwidth limit (default 1024)\n"
"  -W MS       run before the first migration and between two (default 1000)\n"
"  -a MS       the window after a migration ends (default 1000)\n"
"  -t SECS     give up after SECS (default 600)\n"
"  --accel tcg QEMU's TCG instead of KVM, to try it where there is no KVM to use (no\n"
"              KVM stats; not with -S or -R)\n"
"  --check     only check the command line (workloads/l2migrate, before looking for images)\n"
"  -h, --help  this text\n"
"The guest's console is watched for kernel splats (testhost/splat.c); its job (the\n"
"dirtier) runs until the loop stops it.\n"
"Exit: 0; 1 the guest found stale pages (writes lost across a migration: the kernel under\n"
"test is broken); 2 usage; 3 QEMU, KVM or the guest failed (a splat on its console, its job\n"
"ended); 124 the guest or QEMU hung, or the guest reported a hang.\n"
"Example (workloads/l2migrate passes -K, -I and -A):\n"
"  workloads/l2migrate -s mcmc -m 512 -- /bin/dirtier -w 384\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "accel", required_argument, NULL, OPT_ACCEL }, { "check", no_argument, NULL, OPT_CHECK },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct json_object *out, *migs, *sum, *params;
	struct guestvm_run run = { .prog = "migrate", .on_console = guest_line };
	struct guestvm *src;
	int o, nb = 0;
	bool check = false;
	char mem[16], err[256];

	opterr = 0;
	while ((o = getopt_long(argc, argv, ":K:I:A:s:k:m:c:b:R:S:B:W:a:t:h", longopts, NULL)) != -1) {
		switch (o) {
		case 'K': opt.kernel = optarg; break;
		case 'I': opt.initrd = optarg; break;
		case 'A': opt.kargs = optarg; break;
		case 's': opt.seq = optarg; break;
		case 'k': opt.rounds = num(optarg, o); break;
		case 'm': opt.mem_mib = num(optarg, o); break;
		case 'c': opt.cpus = num(optarg, o); break;
		case 'b': opt.backing = optarg; break;
		case 'R': opt.ring = num(optarg, o); break;
		case 'S': opt.shadow_pages = num(optarg, o); break;
		case 'B': opt.bandwidth = num(optarg, o); break;
		case 'W': opt.warm_ms = num(optarg, o); break;
		case 'a': opt.after_ms = num(optarg, o); break;
		case 't': opt.timeout_s = num(optarg, o); break;
		case OPT_ACCEL: opt.accel = optarg; break;
		case OPT_CHECK: check = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option("migrate", o, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("migrate", "a JOB after -- is needed");
	if (strspn(opt.seq, "mc") != strlen(opt.seq) || !*opt.seq)
		guestvm_die(EXIT_USAGE, "-s wants a sequence of m (completed) and c (cancelled), got '%s'", opt.seq);
	opt.job = guestvm_join(argv + optind, argc - optind);
	if (!opt.job)
		guestvm_die(EXIT_INFRA, "out of memory");
	snprintf(mem, sizeof(mem), "%d", opt.mem_mib);
	run.conf = (struct guestvm_conf){
		.accel = opt.accel, .kernel = opt.kernel, .initrd = opt.initrd, .kargs = opt.kargs,
		.job = opt.job, .mem = mem, .cpus = opt.cpus, .backing = opt.backing,
		.shadow_pages = opt.shadow_pages, .dirty_ring = opt.ring,
	};
	run.timeout_s = opt.timeout_s;
	if (guestvm_check(&run.conf, err, sizeof(err)))
		return cli_usage_error("migrate", "%s", err);
	if (check)
		return EXIT_OK;
	if (!opt.kernel || !opt.initrd || !opt.kargs)
		return cli_usage_error("migrate", "-K, -I and -A are needed (workloads/l2migrate passes them)");
	guestvm_init(&run);
	events = json_object_new_array();
	migs = json_object_new_array();

	src = guestvm_start("q0", false, "source");
	progress("guest booting (%d MiB %s, %d vCPU%s%s), job: %s", opt.mem_mib, opt.backing, opt.cpus,
		 opt.cpus > 1 ? "s" : "", opt.ring ? ", dirty ring" : "", opt.job);
	if (guestvm_wait_barrier(src) == GUESTVM_CTL_READY)
		guestvm_go(src);
	guestvm_phase("starting %s", opt.job);
	while (!guest_ready)
		guestvm_pump(100);
	progress("guest ready; %zu migrations: %s", strlen(opt.seq), opt.seq);
	for (int i = 0; opt.seq[i]; i++)
		json_object_array_add(migs, migrate_once(&src, i, opt.seq[i] == 'c', &nb));
	guestvm_finish();

	params = json_object_new_object();
	json_object_object_add(params, "sequence", json_object_new_string(opt.seq));
	json_object_object_add(params, "rounds", json_object_new_int(opt.rounds));
	json_object_object_add(params, "mem_mib", json_object_new_int(opt.mem_mib));
	json_object_object_add(params, "cpus", json_object_new_int(opt.cpus));
	json_object_object_add(params, "backing", json_object_new_string(opt.backing));
	json_object_object_add(params, "dirty_ring", json_object_new_int(opt.ring));
	json_object_object_add(params, "shadow_pages", json_object_new_int(opt.shadow_pages));
	json_object_object_add(params, "bandwidth_mibps", json_object_new_int(opt.bandwidth));
	json_object_object_add(params, "after_ms", json_object_new_int(opt.after_ms));
	json_object_object_add(params, "job", json_object_new_string(opt.job));

	sum = json_object_new_object();
	json_object_object_add(sum, "migrations", json_object_new_int((int)strlen(opt.seq)));
	json_object_object_add(sum, "completed", json_object_new_int(count(migs, "completed")));
	json_object_object_add(sum, "cancelled", json_object_new_int(count(migs, "cancelled")));
	json_object_object_add(sum, "guest_stale_pages", json_object_new_int64((int64_t)guest_bad));
	static const struct { const char *key, *kind, *a, *b; } meds[] = {
		{ "completed_seconds", "completed", "seconds", NULL },
		{ "completed_downtime_ms", "completed", "downtime_ms", NULL },
		{ "completed_rounds", "completed", "dirty_sync_rounds", NULL },
		{ "completed_rate_during", "completed", "rate_during", NULL },
		{ "cancelled_seconds", "cancelled", "seconds", NULL },
		{ "cancelled_rate_before", "cancelled", "rate_before", NULL },
		{ "cancelled_rate_during", "cancelled", "rate_during", NULL },
		{ "cancelled_rate_after_first", "cancelled", "rate_after_first", NULL },
		{ "cancelled_rate_after", "cancelled", "rate_after", NULL },
		{ "cancelled_pages_2m_start", "cancelled", "kvm_start", "pages_2m" },
		{ "cancelled_pages_2m_end", "cancelled", "kvm_end", "pages_2m" },
		{ "cancelled_pages_2m_after", "cancelled", "kvm_after", "pages_2m" },
		{ "cancelled_faults_before", "cancelled", "kvm_before_delta", "pf_taken" },
		{ "cancelled_faults_after", "cancelled", "kvm_after_delta", "pf_taken" },
	};
	for (size_t i = 0; i < sizeof(meds) / sizeof(meds[0]); i++)
		json_object_object_add(sum, meds[i].key, median(migs, meds[i].kind, meds[i].a, meds[i].b));

	out = json_object_new_object();
	json_object_object_add(out, "params", params);
	json_object_object_add(out, "summary", sum);
	json_object_object_add(out, "migrations", migs);
	json_object_object_add(out, "events", events);
	{
		struct json_object *s = json_object_new_array();

		for (int i = 0; i < nsamples; i++) {
			struct json_object *p = json_object_new_array();

			json_object_array_add(p, json_object_new_double(samples[i].t));
			json_object_array_add(p, json_object_new_double(samples[i].mibps));
			json_object_array_add(s, p);
		}
		json_object_object_add(out, "samples", s);
	}
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	if (guest_bad) {
		fprintf(stderr, "migrate: the guest found %llu stale pages: writes were lost across a migration (dirty pages not logged); the kernel under test is broken\n",
			(unsigned long long)guest_bad);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}
