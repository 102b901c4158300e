// SPDX-License-Identifier: GPL-2.0
/*
 * mmuprobe: record what the KVM x86 MMU does while a workload runs.
 *
 * open -> configure (rodata) -> pick a tier per program -> load -> attach -> poll ->
 * final snapshot -> JSON (atomically) + text summary. See bpf/mmuprobe.bpf.c for the
 * programs and loader/mmuprobe-json.md for the output schema. The jobs apart from the
 * command line and this sequence have their own files: caps.c (what the kernel allows),
 * tiers.c (each program's and metric's tier), maps.c (reading the maps), report.c (the
 * document) and supervise.c (the workload).
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "caps.h"
#include "ksyms.h"
#include "mmuprobe.h"
#include "mmuprobe.skel.h"
#include "report.h"
#include "sptrace.h"
#include "supervise.h"
#include "tiers.h"

/* Long options without a short one. */
enum { OPT_SP_TRACE = 0x100 };

#define EXIT_SKIP 4	/* KVM or BTF absent: nothing to probe (kselftest's skip code) */
#define EXIT_FAIL 3	/* mmuprobe itself failed (README.md, "Exit codes"); usage is 2 */

static volatile sig_atomic_t exiting;

static struct env {
	const char *output;
	long duration;		/* s, 0: until signal or workload end */
	long interval;		/* ms, 0: no time series */
	pid_t pid;
	bool verbose;
	bool quiet;
	const char *tier;	/* auto, full, degraded */
	bool no_lock_hold, no_fault_count, no_fault_latency, no_harvest;	/* --add, --exclude */
	bool cost;
	const char *sp_trace;	/* --sp-trace FILE */
	long holder_sample;
	char **cmd;		/* workload to run, optional */
} env = { .tier = "auto", .holder_sample = 64,
	    .no_lock_hold = true, .no_fault_count = true, .no_fault_latency = true, .no_harvest = true };

const char *argp_program_version = "mmuprobe (mmuscope) 1";
static const char doc[] =
"Record the KVM x86 MMU per VM: recycled and zapped shadow pages, mmu_lock hold and wait,\n"
"get/clear-dirty-log latency, dirty-log enable/disable and collapse time, page faults.\n"
"\n"
"USAGE: mmuprobe [-o FILE] [-d SECS] [-i MS] [-p PID] [-- COMMAND...]\n"
"\n"
"EXAMPLES:\n"
"    mmuprobe -d 10                   # 10 s of every VM, summary on stdout\n"
"    mmuprobe -o run.json -i 100 -- ./dirty_log_perf_test -i 5\n"
"                                     # around a workload, 100 ms time series\n"
"    mmuprobe -p 1234 -o vm.json      # one VMM until Ctrl-C\n"
"\n"
"Exit: 0 ok, 2 usage, 3 mmuprobe failed, 4 nothing to probe (no KVM or no BTF), else the\n"
"workload's status.";

static const struct argp_option opts[] = {
	{ "output", 'o', "FILE", 0, "Write the JSON document here (atomically, at exit)", 0 },
	{ "duration", 'd', "SECS", 0, "Stop after SECS seconds", 0 },
	{ "interval", 'i', "MS", 0, "Snapshot counters every MS ms (time series)", 0 },
	{ "pid", 'p', "PID", 0, "Only this VMM process", 0 },
	{ "tier", 't', "TIER", 0, "auto (default), full or degraded", 0 },
	{ "add", 'a', "METRIC,...", 0, "Add the probes that are off by default for their cost "
	  "(a program on a hot path): lock_hold (fentry on every rwlock lock and unlock), "
	  "page_faults (kvm:kvm_page_fault on every vCPU fault), fault_latency (fentry/fexit on "
	  "every KVM page fault), dirty_log_pages (fentry on every 64-page word a dirty-log "
	  "harvest write-protects: inside the timed ioctl), or all", 0 },
	{ "exclude", 'x', "METRIC,...", 0, "Leave out probes an --add before asked for (-a all -x "
	  "lock_hold)", 0 },
	{ "holder-sample", 's', "N", 0, "Record the mmu_lock holder's stack on 1 acquisition in N "
	  "(default 64; 1 = every one)", 0 },
	{ "quiet", 'q', NULL, 0, "No text summary", 0 },
	{ "cost", 'c', NULL, 0, "Report what the probes cost: each program's runs and run time "
	  "(the kernel's BPF run-time stats, which add two clock reads to every run)", 0 },
	{ "sp-trace", OPT_SP_TRACE, "FILE", 0, "Record every shadow-page lookup and zap of the VM "
	  "into FILE (TSV for analysis/spsim: Belady's MIN and other policies replayed on the "
	  "run's string; one record per lookup, so off by default)", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output", 0 },
	{},
};

static long parse_num(const char *arg, long min, long max, struct argp_state *state)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v < min || v > max)
		argp_error(state, "'%s' is not a number from %ld to %ld", arg, min, max);
	return v;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'o': env.output = arg; break;
	case 'd': env.duration = parse_num(arg, 1, 7 * 86400, state); break;
	case 'i': env.interval = parse_num(arg, 10, 3600000, state); break;
	case 'p': env.pid = (pid_t)parse_num(arg, 1, 1 << 22, state); break;
	case 'q': env.quiet = true; break;
	case 's': env.holder_sample = parse_num(arg, 1, 1 << 20, state); break;
	case 'x':
	case 'a': {
		char *copy = strdup(arg), *save = NULL, *tok;
		bool out = key == 'x';

		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			bool all = !strcmp(tok, "all");

			if (all || !strcmp(tok, "lock_hold"))
				env.no_lock_hold = out;
			if (all || !strcmp(tok, "page_faults"))
				env.no_fault_count = out;
			if (all || !strcmp(tok, "fault_latency"))
				env.no_fault_latency = out;
			if (all || !strcmp(tok, "dirty_log_pages"))
				env.no_harvest = out;
			if (!all && strcmp(tok, "lock_hold") && strcmp(tok, "page_faults") &&
			    strcmp(tok, "fault_latency") && strcmp(tok, "dirty_log_pages"))
				argp_error(state, "--%s knows lock_hold, page_faults, fault_latency, "
					   "dirty_log_pages and all, not '%s'", out ? "exclude" : "add", tok);
		}
		free(copy);
		break;
	}
	case 'v': env.verbose = true; break;
	case 'c': env.cost = true; break;
	case OPT_SP_TRACE: env.sp_trace = arg; break;
	case 't':
		if (strcmp(arg, "auto") && strcmp(arg, "full") && strcmp(arg, "degraded"))
			argp_error(state, "--tier is auto, full or degraded, not '%s'", arg);
		env.tier = arg;
		break;
	case ARGP_KEY_ARG:
		env.cmd = state->argv + state->next - 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (env.pid && env.cmd)
			argp_error(state, "--pid and a COMMAND exclude each other");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	if (level == LIBBPF_WARN && !env.verbose)
		return 0;	/* a refused probe is reported by the tier table, not as noise */
	return vfprintf(stderr, fmt, args);
}

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

/* The preconditions: root, BTF, kallsyms, KVM, tracefs. 0, EXIT_SKIP or EXIT_FAIL, said why. */
static int preconditions(struct ksyms **ksyms)
{
	if (geteuid() != 0) {
		fprintf(stderr, "mmuprobe: error: needs root (CAP_BPF and CAP_PERFMON): run it with sudo\n");
		return EXIT_FAIL;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "mmuprobe: skip: no kernel BTF (/sys/kernel/btf/vmlinux): boot a kernel "
			"built with CONFIG_DEBUG_INFO_BTF=y\n");
		return EXIT_SKIP;
	}
	*ksyms = ksyms_load();
	if (!ksyms_usable(*ksyms)) {
		fprintf(stderr, "mmuprobe: error: /proc/kallsyms shows no addresses: set "
			"kernel.kptr_restrict=0 or run as root\n");
		return EXIT_FAIL;
	}
	if (!ksyms_addr(*ksyms, "kvm_vm_ioctl")) {
		fprintf(stderr, "mmuprobe: skip: KVM is not loaded (no kvm_vm_ioctl in /proc/kallsyms): "
			"modprobe kvm-amd or kvm-intel\n");
		return EXIT_SKIP;
	}
	return tracefs_ensure() ? EXIT_FAIL : 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc,
					  .args_doc = "[-- COMMAND...]" };
	struct caps caps = { .module_fd = -1 };
	struct ring_buffer *rb = NULL;
	struct mmuprobe_bpf *skel = NULL;
	struct bpf_link *iter = NULL;
	struct json_object *doc = NULL;
	struct report report = {};
	struct workload workload = {};
	struct tier_opts tier_opts;
	struct ksyms *ksyms = NULL;
	struct sptrace sptrace = { 0 };
	uint64_t next_snap, deadline;
	int err, stats_fd = -1;

	argp_err_exit_status = 2;
	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 2;
	libbpf_set_print(libbpf_print);
	tier_opts = (struct tier_opts){
		.tier = env.tier, .holder_sample = env.holder_sample,
		.no_lock_hold = env.no_lock_hold, .no_fault_count = env.no_fault_count,
		.no_fault_latency = env.no_fault_latency, .no_harvest = env.no_harvest,
		.no_sp_trace = !env.sp_trace,
	};
	sptrace.path = env.sp_trace;

	err = preconditions(&ksyms);
	if (err)
		return err;
	err = caps_open(&caps);
	if (err) {
		fprintf(stderr, "mmuprobe: skip: cannot read the kernel's BTF: %s\n", strerror(-err));
		return EXIT_SKIP;
	}

open_again:
	skel = mmuprobe_bpf__open();
	if (!skel) {
		fprintf(stderr, "mmuprobe: error: cannot open the BPF object: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	skel->rodata->targ_tgid = (__u32)env.pid;
	skel->rodata->holder_sample = (__u32)env.holder_sample;
	skel->rodata->kvm_vm_ioctl_addr = ksyms_addr(ksyms, "kvm_vm_ioctl");
	skel->rodata->kvm_vcpu_ioctl_addr = ksyms_addr(ksyms, "kvm_vcpu_ioctl");
	tiers_choose(skel, &caps, &tier_opts);
	sptrace_configure(&sptrace, skel);
	skel->rodata->stats_from_iter = bpf_program__autoload(skel->progs.dump_kvm);

	err = mmuprobe_bpf__load(skel);
	if (!err && env.cost && stats_fd < 0) {
		/* Held open until we exit: the kernel counts while any such fd is open. */
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0) {
			err = -errno;
			fprintf(stderr, "mmuprobe: error: --cost: cannot enable the kernel's BPF run-time "
				"stats (%s): run as root, or drop --cost\n", strerror(-err));
			goto cleanup;
		}
	}
	if (!err) {
		/* Attach all but the iterator (attached below, read on demand). */
		bpf_program__set_autoattach(skel->progs.dump_kvm, false);
		err = mmuprobe_bpf__attach(skel);
	}
	if (err && !caps.thorough) {
		/* A target of an allowed class refused: ask the kernel about each one. */
		mmuprobe_bpf__destroy(skel);
		caps.thorough = true;
		goto open_again;
	}
	if (err) {
		fprintf(stderr, "mmuprobe: error: loading or attaching the BPF programs failed (%s): "
			"rerun with -v for libbpf's and the verifier's log\n", strerror(-err));
		goto cleanup;
	}
	if (bpf_program__autoload(skel->progs.dump_kvm)) {
		iter = bpf_program__attach_iter(skel->progs.dump_kvm, NULL);
		if (!iter)
			tier_set(M_KVM_STATS, "degraded", "attaching iter/task_file failed; struct kvm read at ioctls");
	}

	report_init(&report, skel, iter, ksyms);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), report_event, &report, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "mmuprobe: error: cannot create the ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	err = sptrace_attach(&sptrace, rb, skel);
	if (err) {
		fprintf(stderr, "mmuprobe: error: --sp-trace: cannot poll its ring buffer: %s\n",
			strerror(-err));
		goto cleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	report_start(&report);
	if (env.interval)
		report_snapshot(&report);
	if (!env.quiet)
		fprintf(stderr, "mmuprobe: recording%s%s\n", env.cmd ? " around " : "",
			env.cmd ? env.cmd[0] : (env.duration ? "" : "; Ctrl-C to stop"));
	if (env.cmd) {
		err = workload_start(&workload, env.cmd);
		if (err)
			goto cleanup;
	}
	deadline = env.duration ? report.t_start + (uint64_t)env.duration * 1000000000ULL : 0;
	next_snap = report.t_start + (uint64_t)env.interval * 1000000ULL;

	while (!exiting) {
		uint64_t now;

		/* The BPF side wakes us only when the ring is half full (see ioctl_end): the
		 * timeout is the normal way out of the poll, and consume reads what is there. */
		err = ring_buffer__poll(rb, 100);
		if (err >= 0)
			err = ring_buffer__consume(rb);
		if (err == -EINTR) {
			err = 0;
			break;
		}
		if (err < 0) {
			fprintf(stderr, "mmuprobe: error: polling the ring buffer: %s\n", strerror(-err));
			break;
		}
		err = 0;
		now = mono_ns();
		if (env.interval && now >= next_snap) {
			report_snapshot(&report);
			next_snap += (uint64_t)env.interval * 1000000ULL;
		}
		if (deadline && now >= deadline)
			break;
		if (workload_ended(&workload))
			break;
	}
	workload_stop(&workload);
	ring_buffer__consume(rb);
	if (env.interval)
		report_snapshot(&report);
	doc = report_doc(&report, mono_ns(), env.cmd ? &workload : NULL, env.cost);
	if (env.output && report_write(env.output, doc))
		err = -EIO;
	if (sptrace_write(&sptrace, skel, iter, ksyms))
		err = -EIO;
	if (!env.quiet)
		report_print(&report, doc);

cleanup:
	workload_cleanup(&workload);
	sptrace_free(&sptrace);
	json_object_put(doc);
	report_free(&report);
	ring_buffer__free(rb);
	bpf_link__destroy(iter);
	mmuprobe_bpf__destroy(skel);
	caps_close(&caps);
	ksyms_free(ksyms);
	if (stats_fd >= 0)
		close(stats_fd);
	if (err)
		return EXIT_FAIL;
	return workload.status;
}
