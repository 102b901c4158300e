// SPDX-License-Identifier: GPL-2.0
/*
 * mmuprobe: record what the KVM x86 MMU does while a workload runs.
 *
 * open -> configure (rodata) -> pick a tier per program -> load -> attach -> poll ->
 * final snapshot -> JSON (atomically) + text summary. See bpf/mmuprobe.bpf.c for the
 * programs and loader/mmuprobe-json.md for the output schema.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "hist.h"
#include "ksyms.h"
#include "mmuprobe.h"
#include "mmuprobe.skel.h"
#include "zapreason.h"

#define SCHEMA "mmuscope.mmuprobe/2"
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

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- what the kernel allows: one probe per program kind ------------------------------- */

/* The fd of a module's BTF object (e.g. "kvm"), or -1. */
static int module_btf_fd(const char *module)
{
	__u32 id = 0;

	while (!bpf_btf_get_next_id(id, &id)) {
		struct bpf_btf_info info = {};
		__u32 len = sizeof(info);
		char name[64] = "";
		int fd = bpf_btf_get_fd_by_id(id);

		if (fd < 0)
			continue;
		info.name = (__u64)(unsigned long)name;
		info.name_len = sizeof(name);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.kernel_btf &&
		    !strcmp(name, module))
			return fd;
		close(fd);
	}
	return -1;
}

struct btf_place {
	struct btf *vmlinux;
	struct btf *module;	/* kvm's split BTF, NULL when KVM is built in */
	int module_fd;
};

/* Find name of kind in vmlinux or the kvm module. *obj_fd: 0 for vmlinux. */
static int btf_find(struct btf_place *bp, const char *name, int kind, int *obj_fd)
{
	int id = btf__find_by_name_kind(bp->vmlinux, name, kind);

	*obj_fd = 0;
	if (id > 0)
		return id;
	if (bp->module) {
		id = btf__find_by_name_kind(bp->module, name, kind);
		if (id > 0) {
			*obj_fd = bp->module_fd;
			return id;
		}
	}
	return -ENOENT;
}

/*
 * Each attach type's first answer, reused for the other targets of that type: a kernel
 * refuses fentry, fexit, tp_btf or iterators as a class (EPERM, at load time). For fentry
 * and fexit the first answer is the load's alone: attaching a trampoline and taking it
 * down again cost 0.1-0.2 s each under TCG, before the real ones are attached. If a
 * target of an allowed class still fails to load or attach, the loader starts again with
 * every target loaded and attached on its own (thorough).
 */
static bool thorough;
static struct class_answer {
	enum bpf_attach_type type;
	int allowed;		/* -1 not asked yet */
	const char *why;
} class_answers[] = {
	{ BPF_TRACE_RAW_TP, -1, NULL }, { BPF_TRACE_FENTRY, -1, NULL },
	{ BPF_TRACE_FEXIT, -1, NULL }, { BPF_TRACE_ITER, -1, NULL },
};

static struct class_answer *class_answer(enum bpf_attach_type type)
{
	for (size_t i = 0; i < sizeof(class_answers) / sizeof(class_answers[0]); i++)
		if (class_answers[i].type == type)
			return &class_answers[i];
	return NULL;
}

/* Load and attach a do-nothing tracing program at name: the kernel's real answer. */
static int tracing_allowed(struct btf_place *bp, const char *name, int kind,
			   enum bpf_attach_type type, const char **why)
{
	const struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },	/* r0 = 0 */
		{ .code = 0x95 },				/* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o);
	struct class_answer *ca = class_answer(type);
	int id, obj_fd, fd, link;

	id = btf_find(bp, name, kind, &obj_fd);
	if (id < 0) {
		*why = "not in the kernel's BTF (inlined, renamed or absent)";
		return 0;
	}
	if (ca && ca->allowed >= 0 && !thorough) {
		*why = ca->why;
		return ca->allowed;
	}
	if (ca)
		ca->allowed = 0;
	o.expected_attach_type = type;
	o.attach_btf_id = id;
	o.attach_btf_obj_fd = obj_fd;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "mmuprobe_chk", "GPL", insns, 2, &o);
	if (fd < 0) {
		*why = errno == EPERM ? "the kernel refuses it (EPERM)" : "the kernel refuses it";
		if (ca)
			ca->why = *why;
		return 0;
	}
	if ((type == BPF_TRACE_FENTRY || type == BPF_TRACE_FEXIT) && !thorough) {
		close(fd);
		if (ca)
			ca->allowed = 1;
		return 1;
	}
	if (type == BPF_TRACE_ITER)
		link = bpf_link_create(fd, 0, BPF_TRACE_ITER, NULL);
	else
		link = bpf_raw_tracepoint_open(NULL, fd);
	close(fd);
	if (link < 0) {
		*why = errno == EPERM ? "attaching is refused (EPERM)" : "attaching fails";
		if (ca)
			ca->why = *why;
		return 0;
	}
	close(link);
	if (ca)
		ca->allowed = 1;
	return 1;
}

static bool tracepoint_exists(const char *category, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/%s", category, name);
	if (!access(path, F_OK))
		return true;
	snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/%s/%s", category, name);
	return !access(path, F_OK);
}

/* ---- the tier table: every metric says how it was measured -------------------------- */

enum metric {
	M_RECYCLED, M_ZAPS, M_LOCK_HOLD, M_LOCK_WAIT, M_DIRTY_LOG, M_HARVEST, M_LOG_TOGGLE,
	M_COLLAPSE, M_FAULTS, M_FAULT_LAT, M_KVM_STATS, M_NR
};

static const char *metric_names[M_NR] = {
	"mmu_recycled", "zaps", "mmu_lock_hold", "mmu_lock_wait", "dirty_log_latency",
	"dirty_log_pages", "dirty_log_enable_disable", "collapse_time", "page_faults",
	"page_fault_latency", "kvm_stats",
};

static struct tier {
	const char *status;	/* exact, degraded, unavailable */
	char how[200];
} tiers[M_NR];

static void set_tier(enum metric m, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_tier(enum metric m, const char *status, const char *fmt, ...)
{
	va_list ap;

	tiers[m].status = status;
	va_start(ap, fmt);
	vsnprintf(tiers[m].how, sizeof(tiers[m].how), fmt, ap);
	va_end(ap);
}

/* Did this run measure the metric at all (null in the document when not)? */
static bool measured(enum metric m)
{
	return tiers[m].status && (!strcmp(tiers[m].status, "exact") || !strcmp(tiers[m].status, "degraded"));
}

struct choice {
	struct bpf_program *full;	/* fentry/fexit/tp_btf */
	struct bpf_program *fallback;	/* raw_tp, or NULL */
	const char *name;		/* function or tracepoint */
	int kind;			/* BTF_KIND_FUNC or BTF_KIND_TYPEDEF */
	enum bpf_attach_type type;
	const bool *off;		/* an env flag that leaves it out (--add/--exclude), or NULL */
	const char *off_why;		/* ... and how to have it */
	bool use_full, use_fallback;
	const char *why;		/* why full is not used */
};

static void choose(struct btf_place *bp, struct choice *c, bool tp_exists)
{
	char tname[128];
	const char *name = c->name;

	c->why = NULL;
	if (c->type == BPF_TRACE_RAW_TP) {
		snprintf(tname, sizeof(tname), "btf_trace_%s", c->name);
		name = tname;
	}
	if (!strcmp(env.tier, "degraded") && c->fallback)
		c->why = "--tier degraded";
	else if (c->type == BPF_TRACE_RAW_TP && !tp_exists)
		c->why = "the tracepoint does not exist (is KVM loaded?)";
	else
		c->use_full = tracing_allowed(bp, name, c->kind, c->type, &c->why);
	c->use_fallback = !c->use_full && c->fallback && tp_exists;
	bpf_program__set_autoload(c->full, c->use_full);
	if (c->fallback)
		bpf_program__set_autoload(c->fallback, c->use_fallback);
}

/* ---- collected data -------------------------------------------------------------------- */

static struct json_object *events_json, *series_json;
static uint64_t t_start;
/* What the workload (and the children it waited for) used, from wait4(); with env.cmd. */
static struct rusage workload_ru;
static struct ksyms *ksyms;

static int on_event(void *ctx, void *data, size_t size)
{
	static const char *kinds[] = { "get_dirty_log", "clear_dirty_log", "log_enable",
				       "log_disable", "mark" };
	const struct mmuprobe_event *e = data;
	struct json_object *o;

	(void)ctx;
	if (size < sizeof(*e) || e->kind > EV_MARK)
		return 0;
	o = json_object_new_object();
	json_object_object_add(o, "t_ns", json_object_new_int64((int64_t)(e->ts - t_start)));
	json_object_object_add(o, "pid", json_object_new_int((int)e->tgid));
	json_object_object_add(o, "kind", json_object_new_string(kinds[e->kind]));
	json_object_object_add(o, "latency_ns", json_object_new_int64((int64_t)e->latency));
	json_object_object_add(o, "pages", measured(M_HARVEST) ? json_object_new_int64((int64_t)e->pages) : NULL);
	json_object_object_add(o, "slot", json_object_new_int((int)e->slot));
	json_object_array_add(events_json, o);
	return 0;
}

#define MAX_STATS 256

/* Run the iterator: KVM's counters of every VM now. Returns how many, -1 if unavailable. */
static int read_kvm_stats(struct mmuprobe_bpf *skel, struct bpf_link *iter,
			  struct mmuprobe_kvm_stat *out, int max, bool include_gone)
{
	int fd, n = 0;
	ssize_t r;

	if (iter) {
		fd = bpf_iter_create(bpf_link__fd(iter));
		if (fd < 0)
			return -1;
		while (n < max && (r = read(fd, &out[n], sizeof(out[n]))) == sizeof(out[n]))
			n++;
		close(fd);
		if (!include_gone)
			return n;
	}
	/* VMs the iterator no longer sees (destroyed), or no iterator at all: the copies the
	 * probes refreshed at the VMs' last ioctls. */
	{
		int have = n;

		int map = bpf_map__fd(skel->maps.kvm_stats);
		__u64 key, *prev = NULL;

		while (n < max && !bpf_map_get_next_key(map, prev, &key)) {
			bool dup = false;
			int j;

			prev = &key;
			for (j = 0; j < have; j++)
				dup |= out[j].kvm == key;
			if (!dup && !bpf_map_lookup_elem(map, &key, &out[n]))
				n++;
		}
	}
	return n;
}

static struct json_object *kvm_stat_json(const struct mmuprobe_kvm_stat *s)
{
	struct json_object *o = json_object_new_object();

#define F(x) json_object_object_add(o, #x, json_object_new_int64((int64_t)s->x))
	F(mmu_shadow_zapped); F(mmu_recycled); F(mmu_flooded); F(mmu_pte_write);
	F(mmu_unsync); F(pages_4k); F(pages_2m); F(pages_1g); F(remote_tlb_flush);
	F(n_used_mmu_pages); F(n_max_mmu_pages);
#undef F
	return o;
}

static void snapshot(struct mmuprobe_bpf *skel, struct bpf_link *iter)
{
	struct mmuprobe_kvm_stat st[MAX_STATS];
	int n = read_kvm_stats(skel, iter, st, MAX_STATS, false), i;
	uint64_t t = mono_ns() - t_start;

	for (i = 0; i < n; i++) {
		struct mmuprobe_vm vm = {};
		struct json_object *o = json_object_new_object();
		__u32 tgid = st[i].tgid;

		bpf_map_lookup_elem(bpf_map__fd(skel->maps.vms), &tgid, &vm);
		json_object_object_add(o, "t_ns", json_object_new_int64((int64_t)t));
		json_object_object_add(o, "pid", json_object_new_int((int)tgid));
		json_object_object_add(o, "n_used_mmu_pages", json_object_new_int64((int64_t)st[i].n_used_mmu_pages));
		json_object_object_add(o, "mmu_recycled", json_object_new_int64((int64_t)st[i].mmu_recycled));
		json_object_object_add(o, "mmu_shadow_zapped", json_object_new_int64((int64_t)st[i].mmu_shadow_zapped));
		json_object_object_add(o, "pages_4k", json_object_new_int64((int64_t)st[i].pages_4k));
		json_object_object_add(o, "pages_2m", json_object_new_int64((int64_t)st[i].pages_2m));
		json_object_object_add(o, "probe_zapped", json_object_new_int64((int64_t)vm.zapped));
		json_object_object_add(o, "probe_page_faults", measured(M_FAULTS) ?
				       json_object_new_int64((int64_t)vm.page_faults) : NULL);
		json_object_array_add(series_json, o);
	}
}

/* ---- the final document ---------------------------------------------------------------- */

static const char *lat_names[LAT_NR] = {
	"get_dirty_log", "clear_dirty_log", "log_enable", "log_disable", "collapse",
	"lock_wait_write", "lock_wait_read", "lock_hold_write", "lock_hold_read", "page_fault",
	"lock_hold_write_dirty_log",
};

/* The metric (tier) each latency belongs to: an unmeasured one is null, not a count of 0. */
static const enum metric lat_metric[LAT_NR] = {
	M_DIRTY_LOG, M_DIRTY_LOG, M_LOG_TOGGLE, M_LOG_TOGGLE, M_COLLAPSE,
	M_LOCK_WAIT, M_LOCK_WAIT, M_LOCK_HOLD, M_LOCK_HOLD, M_FAULT_LAT,
	M_LOCK_HOLD,
};

static struct json_object *lat_json(const struct mmuprobe_lat_stat *s)
{
	struct json_object *o = json_object_new_object(), *h = json_object_new_array();
	int i, last = -1;

	json_object_object_add(o, "count", json_object_new_int64((int64_t)s->count));
	json_object_object_add(o, "sum_ns", json_object_new_int64((int64_t)s->sum));
	json_object_object_add(o, "max_ns", json_object_new_int64((int64_t)s->max));
	json_object_object_add(o, "mean_ns", json_object_new_double(s->count ? (double)s->sum / (double)s->count : 0));
	json_object_object_add(o, "p50_ns_le", json_object_new_int64((int64_t)log2_hist_percentile(s->slots, MMUPROBE_SLOTS, 50)));
	json_object_object_add(o, "p99_ns_le", json_object_new_int64((int64_t)log2_hist_percentile(s->slots, MMUPROBE_SLOTS, 99)));
	for (i = 0; i < MMUPROBE_SLOTS; i++)
		if (s->slots[i])
			last = i;
	for (i = 0; i <= last; i++)
		json_object_array_add(h, json_object_new_int64((int64_t)s->slots[i]));
	json_object_object_add(o, "log2_hist", h);
	return o;
}

/* Innermost-first function names of a stack, outside the lock/tracing plumbing. */
static int stack_frames(struct mmuprobe_bpf *skel, int stackid, const char **frames, int max)
{
	__u64 ips[MMUPROBE_STACK_DEPTH] = {};
	int i, n = 0;

	if (stackid < 0 || bpf_map_lookup_elem(bpf_map__fd(skel->maps.stacks), &stackid, ips))
		return 0;
	for (i = 0; i < MMUPROBE_STACK_DEPTH && ips[i] && n < max; i++) {
		const struct ksym *s = ksyms ? ksyms_find(ksyms, ips[i]) : NULL;

		frames[n++] = s ? s->name : NULL;
	}
	return n;
}

static struct json_object *stack_json(const char *const *frames, int n)
{
	struct json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < n && i < 12; i++)
		json_object_array_add(a, json_object_new_string(frames[i] ? frames[i] : "?"));
	return a;
}

/* Who took the lock: the frame after the lock function (the stack starts in the BPF
 * trampoline, then _raw_{write,read}_lock, then its caller). */
static const char *lock_caller(const char *const *frames, int n)
{
	int i, after = 0;

	for (i = 0; i < n && i < 6; i++)
		if (frames[i] && strstr(frames[i], "_raw_"))
			after = i + 1;
	for (i = after; i < n; i++)
		if (frames[i] && strncmp(frames[i], "bpf_", 4))
			return frames[i];
	return "?";
}

static void add_zaps(struct mmuprobe_bpf *skel, __u32 tgid, struct json_object *vmo)
{
	struct json_object *arr = json_object_new_array(), *reasons = json_object_new_object();
	int fd = bpf_map__fd(skel->maps.zaps);
	struct mmuprobe_zap_key key, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		const char *frames[MMUPROBE_STACK_DEPTH];
		struct json_object *o, *r;
		__u64 count = 0;
		const char *why;
		int n;

		prev = &key;
		if (key.tgid != tgid || bpf_map_lookup_elem(fd, &key, &count))
			continue;
		n = stack_frames(skel, key.stackid, frames, MMUPROBE_STACK_DEPTH);
		why = n ? zap_reason(frames, n) : "unknown_stack";
		o = json_object_new_object();
		json_object_object_add(o, "reason", json_object_new_string(why));
		json_object_object_add(o, "level", json_object_new_int(key.level));
		json_object_object_add(o, "direct", json_object_new_boolean(key.direct));
		json_object_object_add(o, "unsync", json_object_new_boolean(key.unsync));
		json_object_object_add(o, "root", json_object_new_boolean(key.root));
		json_object_object_add(o, "count", json_object_new_int64((int64_t)count));
		json_object_array_add(arr, o);
		if (json_object_object_get_ex(reasons, why, &r))
			json_object_set_int64(r, json_object_get_int64(r) + (int64_t)count);
		else
			json_object_object_add(reasons, why, json_object_new_int64((int64_t)count));
	}
	json_object_object_add(vmo, "zaps", arr);
	json_object_object_add(vmo, "zap_reasons", reasons);
}

static void add_holders(struct mmuprobe_bpf *skel, __u32 tgid, struct json_object *vmo)
{
	struct json_object *arr = json_object_new_array();
	int fd = bpf_map__fd(skel->maps.holders);
	struct mmuprobe_holder_key key, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		const char *frames[MMUPROBE_STACK_DEPTH];
		struct mmuprobe_holder h;
		struct json_object *o;
		int n;

		prev = &key;
		if (key.tgid != tgid || bpf_map_lookup_elem(fd, &key, &h))
			continue;
		n = stack_frames(skel, key.stackid, frames, MMUPROBE_STACK_DEPTH);
		o = json_object_new_object();
		json_object_object_add(o, "function", json_object_new_string(lock_caller(frames, n)));
		json_object_object_add(o, "stack", stack_json(frames, n));
		json_object_object_add(o, "write", json_object_new_boolean(key.write));
		json_object_object_add(o, "count", json_object_new_int64((int64_t)h.count));
		json_object_object_add(o, "sum_ns", json_object_new_int64((int64_t)h.sum));
		json_object_object_add(o, "max_ns", json_object_new_int64((int64_t)h.max));
		json_object_array_add(arr, o);
	}
	json_object_object_add(vmo, "lock_holders", arr);
}

static void comm_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* The probes' count against KVM's delta for the same VM: they must be equal. */
static void crosscheck(struct json_object *cc, const char *name, uint64_t probe, uint64_t kvm,
		       bool counted)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "probe", json_object_new_int64((int64_t)probe));
	json_object_object_add(o, "kvm", json_object_new_int64((int64_t)kvm));
	json_object_object_add(o, "equal", counted ? json_object_new_boolean(probe == kvm) : NULL);
	json_object_object_add(cc, name, o);
}

static uint64_t cpu_at_start;

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
}

/*
 * --cost: every loaded program's runs and run time since the stats were enabled (before
 * attaching), from the kernel's own accounting. Iterators count too, but they run on our
 * read(), not on the workload's time.
 */
static struct json_object *self_cost_json(struct mmuprobe_bpf *skel, uint64_t wall_ns)
{
	struct json_object *o = json_object_new_object(), *progs = json_object_new_array();
	__u64 runs = 0, ns = 0;
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		struct json_object *p;
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		p = json_object_new_object();
		json_object_object_add(p, "name", json_object_new_string(bpf_program__name(prog)));
		json_object_object_add(p, "runs", json_object_new_int64((int64_t)info.run_cnt));
		json_object_object_add(p, "run_time_ns", json_object_new_int64((int64_t)info.run_time_ns));
		json_object_array_add(progs, p);
		if (bpf_program__type(prog) != BPF_PROG_TYPE_TRACING ||
		    bpf_program__expected_attach_type(prog) != BPF_TRACE_ITER) {
			runs += info.run_cnt;
			ns += info.run_time_ns;
		}
	}
	json_object_object_add(o, "runs", json_object_new_int64((int64_t)runs));
	json_object_object_add(o, "run_time_ns", json_object_new_int64((int64_t)ns));
	json_object_object_add(o, "cpu_share", json_object_new_double(
		wall_ns ? (double)ns / (double)wall_ns : 0.0));
	/* The loader's own CPU time while recording (the iterator's reads, the ring buffer,
	 * the snapshots), and before it (BTF, kallsyms, loading and attaching). */
	json_object_object_add(o, "loader_cpu_ns", json_object_new_int64((int64_t)(cpu_ns() - cpu_at_start)));
	json_object_object_add(o, "loader_startup_cpu_ns", json_object_new_int64((int64_t)cpu_at_start));
	json_object_object_add(o, "programs", progs);
	return o;
}

/* The workload's resource use: what `perf stat` gives as task-clock, context switches and
 * page faults, without another process to start around each command. */
static struct json_object *rusage_json(const struct rusage *ru)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "user_ns", json_object_new_int64(
		(int64_t)ru->ru_utime.tv_sec * 1000000000 + (int64_t)ru->ru_utime.tv_usec * 1000));
	json_object_object_add(o, "sys_ns", json_object_new_int64(
		(int64_t)ru->ru_stime.tv_sec * 1000000000 + (int64_t)ru->ru_stime.tv_usec * 1000));
	json_object_object_add(o, "voluntary_ctxt_switches", json_object_new_int64(ru->ru_nvcsw));
	json_object_object_add(o, "involuntary_ctxt_switches", json_object_new_int64(ru->ru_nivcsw));
	json_object_object_add(o, "minor_faults", json_object_new_int64(ru->ru_minflt));
	json_object_object_add(o, "major_faults", json_object_new_int64(ru->ru_majflt));
	json_object_object_add(o, "max_rss_kb", json_object_new_int64(ru->ru_maxrss));
	return o;
}

/* ---- VM roles ---------------------------------------------------------------------------- */

/*
 * A workload with several VMMs names what each is in the file $MMUPROBE_ROLES names, one
 * "PID ROLE" line per process (workloads/migrate.c: "source", "destination"), so that a
 * metric reads the same VM in every repetition instead of whichever the map listed first.
 */
#define MAX_ROLES 64
static char roles_path[64];
static struct { int pid; char role[16]; } roles[MAX_ROLES];
static int nroles;

static void read_roles(void)
{
	FILE *f;

	if (!roles_path[0] || !(f = fopen(roles_path, "r")))
		return;
	while (nroles < MAX_ROLES &&
	       fscanf(f, "%d %15s", &roles[nroles].pid, roles[nroles].role) == 2)
		nroles++;
	fclose(f);
}

static const char *role_of(int pid)
{
	for (int i = 0; i < nroles; i++)
		if (roles[i].pid == pid)
			return roles[i].role;
	return NULL;
}

static int role_rank(struct json_object *vmo)
{
	static const char *const order[] = { "vm", "source", "destination" };
	struct json_object *r;

	if (!json_object_object_get_ex(vmo, "role", &r))
		return 4;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (!strcmp(json_object_get_string(r), order[i]))
			return (int)i;
	return 3;
}

static int vm_order(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a, *y = *(struct json_object *const *)b;
	int rx = role_rank(x), ry = role_rank(y);

	if (rx != ry)
		return rx - ry;
	return json_object_get_int(json_object_object_get(x, "pid")) -
	       json_object_get_int(json_object_object_get(y, "pid"));
}

/*
 * Each VM's role: the workload's word for it, "vm" for the only VM of a recording, none
 * otherwise; the list in a stable order: vm, source, destination, other roles, none,
 * then by pid.
 */
static void name_and_order_vms(struct json_object *vms)
{
	size_t i, n = json_object_array_length(vms);

	read_roles();
	for (i = 0; i < n; i++) {
		struct json_object *vmo = json_object_array_get_idx(vms, i);
		const char *role = role_of(json_object_get_int(json_object_object_get(vmo, "pid")));

		if (!role && n == 1)
			role = "vm";
		if (role)
			json_object_object_add(vmo, "role", json_object_new_string(role));
	}
	json_object_array_sort(vms, vm_order);
}

static struct json_object *build_doc(struct mmuprobe_bpf *skel, struct bpf_link *iter,
				     uint64_t t_end, int workload_status)
{
	struct json_object *doc = json_object_new_object(), *vms = json_object_new_array();
	struct json_object *tj = json_object_new_object(), *dj = json_object_new_object();
	static const char *drop_names[DROP_NR] = { "ringbuf", "vm_map", "zap_map",
						   "holder_map", "stack", "inflight" };
	struct mmuprobe_kvm_stat last[MAX_STATS];
	int nlast = read_kvm_stats(skel, iter, last, MAX_STATS, true);
	int vfd = bpf_map__fd(skel->maps.vms);
	__u32 tgid, *prev = NULL;
	struct utsname u;
	int i;

	uname(&u);
	json_object_object_add(doc, "schema", json_object_new_string(SCHEMA));
	json_object_object_add(doc, "kernel", json_object_new_string(u.release));
	json_object_object_add(doc, "duration_ns", json_object_new_int64((int64_t)(t_end - t_start)));
	if (env.cmd) {
		json_object_object_add(doc, "workload_status", json_object_new_int(workload_status));
		json_object_object_add(doc, "workload_rusage", rusage_json(&workload_ru));
	}
	for (i = 0; i < M_NR; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "status", json_object_new_string(tiers[i].status));
		json_object_object_add(o, "how", json_object_new_string(tiers[i].how));
		json_object_object_add(tj, metric_names[i], o);
	}
	json_object_object_add(doc, "tiers", tj);
	for (i = 0; i < DROP_NR; i++) {
		__u32 k = (__u32)i;
		__u64 v = 0;

		bpf_map_lookup_elem(bpf_map__fd(skel->maps.drops), &k, &v);
		json_object_object_add(dj, drop_names[i], json_object_new_int64((int64_t)v));
	}
	json_object_object_add(doc, "drops", dj);
	if (env.cost)
		json_object_object_add(doc, "self_cost", self_cost_json(skel, t_end - t_start));

	while (!bpf_map_get_next_key(vfd, prev, &tgid)) {
		struct json_object *vmo = json_object_new_object(), *lat = json_object_new_object();
		struct json_object *cnt = json_object_new_object(), *ks = json_object_new_array();
		struct json_object *cc = json_object_new_object();
		uint64_t d_zapped = 0, d_recycled = 0, p_zapped = 0, p_recycled = 0;
		struct json_object *reasons, *rr;
		struct mmuprobe_vm vm;
		char comm[32];
		int nkvm = 0;

		prev = &tgid;
		if (bpf_map_lookup_elem(vfd, &tgid, &vm))
			continue;
		snprintf(comm, sizeof(comm), "%.*s", MMUPROBE_COMM_LEN, vm.comm);
		if (!comm[0])
			comm_of((pid_t)tgid, comm, sizeof(comm));
		json_object_object_add(vmo, "pid", json_object_new_int((int)tgid));
		json_object_object_add(vmo, "comm", json_object_new_string(comm));
#define C(x) json_object_object_add(cnt, #x, json_object_new_int64((int64_t)vm.x))
		C(recycled); C(recycle_calls); C(zapped);
#undef C
		json_object_object_add(cnt, "harvested_pages", measured(M_HARVEST) ?
				       json_object_new_int64((int64_t)vm.harvested_pages) : NULL);
		json_object_object_add(cnt, "page_faults", measured(M_FAULTS) ?
				       json_object_new_int64((int64_t)vm.page_faults) : NULL);
		json_object_object_add(vmo, "counters", cnt);
		for (i = 0; i < LAT_NR; i++)
			json_object_object_add(lat, lat_names[i], measured(lat_metric[i]) ?
					       lat_json(&vm.lat[i]) : NULL);
		json_object_object_add(vmo, "latency", lat);
		add_zaps(skel, tgid, vmo);
		add_holders(skel, tgid, vmo);

		/* KVM's own counters of this process's VMs: first sight and now. */
		for (i = 0; i < nlast; i++) {
			struct mmuprobe_kvm_first f;
			struct json_object *o;

			if (last[i].tgid != tgid ||
			    bpf_map_lookup_elem(bpf_map__fd(skel->maps.kvm_firsts), &last[i].kvm, &f))
				continue;
			o = json_object_new_object();
			json_object_object_add(o, "first", kvm_stat_json(&f.first));
			json_object_object_add(o, "last", kvm_stat_json(&last[i]));
			json_object_array_add(ks, o);
			d_zapped += last[i].mmu_shadow_zapped - f.first.mmu_shadow_zapped;
			d_recycled += last[i].mmu_recycled - f.first.mmu_recycled;
			p_zapped += last[i].probe_zapped - f.first.probe_zapped;
			p_recycled += last[i].probe_recycled - f.first.probe_recycled;
			nkvm++;
		}
		json_object_object_add(vmo, "kvm_stats", ks);
		/* Degraded recycled: the pages of zaps whose stack says recycle, whole run. */
		if (strcmp(tiers[M_RECYCLED].status, "exact") &&
		    json_object_object_get_ex(vmo, "zap_reasons", &reasons)) {
			p_recycled = json_object_object_get_ex(reasons, "recycle", &rr) ?
				     (uint64_t)json_object_get_int64(rr) : 0;
			json_object_object_add(cnt, "recycled", json_object_new_int64((int64_t)p_recycled));
		}
		crosscheck(cc, "mmu_shadow_zapped", p_zapped, d_zapped,
			   nkvm > 0 && strcmp(tiers[M_ZAPS].status, "unavailable"));
		crosscheck(cc, "mmu_recycled", p_recycled, d_recycled,
			   nkvm > 0 && strcmp(tiers[M_ZAPS].status, "unavailable"));
		json_object_object_add(vmo, "crosscheck", cc);
		json_object_array_add(vms, vmo);
	}
	name_and_order_vms(vms);
	json_object_object_add(doc, "vms", vms);
	json_object_object_add(doc, "events", json_object_get(events_json));
	json_object_object_add(doc, "series", json_object_get(series_json));
	return doc;
}

static int write_atomically(const char *path, struct json_object *doc)
{
	char tmp[4096];
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "mmuprobe: error: cannot write %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	fputs(text, f);
	fputc('\n', f);
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "mmuprobe: error: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void print_summary(struct json_object *doc, struct mmuprobe_bpf *skel)
{
	struct json_object *vms, *tj;
	size_t i;
	int j;

	json_object_object_get_ex(doc, "tiers", &tj);
	printf("tiers:\n");
	for (j = 0; j < M_NR; j++)
		printf("  %-26s %-11s %s\n", metric_names[j], tiers[j].status, tiers[j].how);
	if (json_object_object_get_ex(doc, "self_cost", &tj))
		printf("probe cost: %" PRId64 " runs, %.1f ms of BPF run time (%.2f%% of one CPU over "
		       "the recording); the loader: %.1f ms of CPU while recording\n",
		       json_object_get_int64(json_object_object_get(tj, "runs")),
		       (double)json_object_get_int64(json_object_object_get(tj, "run_time_ns")) / 1e6,
		       100.0 * json_object_get_double(json_object_object_get(tj, "cpu_share")),
		       (double)json_object_get_int64(json_object_object_get(tj, "loader_cpu_ns")) / 1e6);
	json_object_object_get_ex(doc, "vms", &vms);
	for (i = 0; i < json_object_array_length(vms); i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i), *o;
		__u32 tgid = (__u32)json_object_get_int(json_object_object_get(vm, "pid"));
		struct mmuprobe_vm v;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.vms), &tgid, &v))
			continue;
		printf("\nVM pid %u (%s): recycled %llu in %llu calls, zapped %llu",
		       tgid, json_object_get_string(json_object_object_get(vm, "comm")),
		       (unsigned long long)v.recycled, (unsigned long long)v.recycle_calls,
		       (unsigned long long)v.zapped);
		if (measured(M_HARVEST))
			printf(", harvested pages %llu", (unsigned long long)v.harvested_pages);
		if (measured(M_FAULTS))
			printf(", faults %llu", (unsigned long long)v.page_faults);
		printf("\n");
		if (json_object_object_get_ex(vm, "zap_reasons", &o))
			printf("  zap reasons: %s\n", json_object_to_json_string(o));
		if (json_object_object_get_ex(vm, "crosscheck", &o))
			printf("  crosscheck with KVM's stats: %s\n", json_object_to_json_string(o));
		for (j = 0; j < LAT_NR; j++) {
			if (!v.lat[j].count)
				continue;
			printf("\n  %s: %llu calls, mean %.1f us, max %.1f us\n", lat_names[j],
			       (unsigned long long)v.lat[j].count,
			       (double)v.lat[j].sum / (double)v.lat[j].count / 1000.0,
			       (double)v.lat[j].max / 1000.0);
			print_log2_hist(stdout, v.lat[j].slots, MMUPROBE_SLOTS, "nsecs");
		}
	}
}

/* ---- main ------------------------------------------------------------------------------- */

static pid_t start_workload(char **cmd)
{
	pid_t pid;
	int fd;

	snprintf(roles_path, sizeof(roles_path), "/tmp/mmuprobe-roles.XXXXXX");
	fd = mkstemp(roles_path);
	if (fd < 0) {
		fprintf(stderr, "mmuprobe: warning: no roles file (%s): VMs of several VMMs get no role\n",
			strerror(errno));
		roles_path[0] = 0;
	} else {
		close(fd);
	}
	pid = fork();
	if (pid == 0) {
		if (roles_path[0])
			setenv("MMUPROBE_ROLES", roles_path, 1);
		execvp(cmd[0], cmd);
		fprintf(stderr, "mmuprobe: error: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/*
 * Stops the workload when we stop first (signal, --duration): SIGTERM, ten seconds to
 * exit, then SIGKILL, so that a workload that ignores SIGTERM cannot keep us (and the
 * final JSON) waiting forever. Returns its status as a shell would.
 */
static int stop_workload(pid_t child)
{
	int st, i;

	kill(child, SIGTERM);
	for (i = 0; i < 100 && wait4(child, &st, WNOHANG, &workload_ru) == 0; i++)
		usleep(100000);
	if (i == 100) {
		fprintf(stderr, "mmuprobe: warning: %d still running 10 s after SIGTERM: killed\n",
			(int)child);
		kill(child, SIGKILL);
		wait4(child, &st, 0, &workload_ru);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc,
					  .args_doc = "[-- COMMAND...]" };
	struct btf_place bp = { .module_fd = -1 };
	struct ring_buffer *rb = NULL;
	struct mmuprobe_bpf *skel = NULL;
	struct bpf_link *iter = NULL;
	struct json_object *doc = NULL;
	uint64_t next_snap, deadline;
	int err, workload_status = 0, i;
	pid_t child = 0;
	int stats_fd = -1;
	bool kvm_present;

	argp_err_exit_status = 2;
	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 2;
	libbpf_set_print(libbpf_print);

	if (geteuid() != 0) {
		fprintf(stderr, "mmuprobe: error: needs root (CAP_BPF and CAP_PERFMON): run it with sudo\n");
		return EXIT_FAIL;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "mmuprobe: skip: no kernel BTF (/sys/kernel/btf/vmlinux): boot a kernel "
			"built with CONFIG_DEBUG_INFO_BTF=y\n");
		return EXIT_SKIP;
	}
	ksyms = ksyms_load();
	if (!ksyms_usable(ksyms)) {
		fprintf(stderr, "mmuprobe: error: /proc/kallsyms shows no addresses: set "
			"kernel.kptr_restrict=0 or run as root\n");
		return EXIT_FAIL;
	}
	kvm_present = ksyms_addr(ksyms, "kvm_vm_ioctl") != 0;
	if (!kvm_present) {
		fprintf(stderr, "mmuprobe: skip: KVM is not loaded (no kvm_vm_ioctl in /proc/kallsyms): "
			"modprobe kvm-amd or kvm-intel\n");
		return EXIT_SKIP;
	}
	/*
	 * Tracepoint attachment finds the tracepoints' ids in tracefs, which a host
	 * without systemd may not have mounted: mount it, as root may.
	 */
	if (access("/sys/kernel/tracing/events", F_OK) && access("/sys/kernel/debug/tracing/events", F_OK)) {
		if (mount("none", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
			fprintf(stderr, "mmuprobe: error: tracefs is not mounted and mounting it failed (%s): "
				"mount -t tracefs none /sys/kernel/tracing\n", strerror(errno));
			return EXIT_FAIL;
		}
		fprintf(stderr, "mmuprobe: tracefs was not mounted: mounted it at /sys/kernel/tracing\n");
	}

	bp.vmlinux = btf__load_vmlinux_btf();
	if (!bp.vmlinux) {
		fprintf(stderr, "mmuprobe: skip: cannot read the kernel's BTF: %s\n", strerror(errno));
		return EXIT_SKIP;
	}
	if (!access("/sys/kernel/btf/kvm", R_OK)) {
		bp.module = btf__load_module_btf("kvm", bp.vmlinux);
		bp.module_fd = module_btf_fd("kvm");
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

	{
		bool kvmmmu = tracepoint_exists("kvmmmu", "kvm_mmu_prepare_zap_page");
		bool kvmtp = tracepoint_exists("kvm", "kvm_page_fault");
		bool locktp = tracepoint_exists("lock", "contention_begin");
		bool ioctltp = tracepoint_exists("syscalls", "sys_enter_ioctl");
		bool forced_degraded = !strcmp(env.tier, "degraded");
		const char *off_faults = "off by default (a program on every vCPU fault): --add page_faults";
		const char *off_harvest = "off by default (a trampoline on every harvested 64-page word, "
					  "inside the timed ioctl): --add dirty_log_pages";
		const char *off_fault_lat = "off by default (a trampoline pair on every KVM page fault): "
					    "--add fault_latency";
		const char *off_lock = "off by default (a program on every rwlock lock and unlock): --add lock_hold";
		const char *ioctl_door = NULL;
		struct choice c[] = {
			{ .full = skel->progs.zap_btf, .fallback = skel->progs.zap_raw, .name = "kvm_mmu_prepare_zap_page", .kind = BTF_KIND_TYPEDEF, .type = BPF_TRACE_RAW_TP },
			{ .full = skel->progs.fault_btf, .fallback = skel->progs.fault_raw, .name = "kvm_page_fault", .kind = BTF_KIND_TYPEDEF, .type = BPF_TRACE_RAW_TP, .off = &env.no_fault_count, .off_why = off_faults },
			{ .full = skel->progs.contention_begin_btf, .fallback = skel->progs.contention_begin_raw, .name = "contention_begin", .kind = BTF_KIND_TYPEDEF, .type = BPF_TRACE_RAW_TP },
			{ .full = skel->progs.contention_end_btf, .fallback = skel->progs.contention_end_raw, .name = "contention_end", .kind = BTF_KIND_TYPEDEF, .type = BPF_TRACE_RAW_TP },
			{ .full = skel->progs.recycle_exit, .fallback = NULL, .name = "kvm_mmu_zap_oldest_mmu_pages", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_FEXIT },
			{ .full = skel->progs.harvest_mask, .fallback = NULL, .name = "kvm_arch_mmu_enable_log_dirty_pt_masked", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_FENTRY, .off = &env.no_harvest, .off_why = off_harvest },
			{ .full = skel->progs.collapse_enter, .fallback = NULL, .name = "kvm_mmu_zap_collapsible_sptes", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_FENTRY },
			{ .full = skel->progs.collapse_exit, .fallback = NULL, .name = "kvm_mmu_zap_collapsible_sptes", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_FEXIT },
			{ .full = skel->progs.page_fault_enter, .fallback = NULL, .name = "kvm_mmu_page_fault", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_FENTRY, .off = &env.no_fault_latency, .off_why = off_fault_lat },
			{ .full = skel->progs.page_fault_exit, .fallback = NULL, .name = "kvm_mmu_page_fault", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_FEXIT, .off = &env.no_fault_latency, .off_why = off_fault_lat },
			{ .full = skel->progs.write_lock_enter, .fallback = NULL, .name = "_raw_write_lock", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_FENTRY, .off = &env.no_lock_hold, .off_why = off_lock },
			{ .full = skel->progs.write_unlock_enter, .fallback = NULL, .name = "_raw_write_unlock", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_FENTRY, .off = &env.no_lock_hold, .off_why = off_lock },
			{ .full = skel->progs.read_lock_enter, .fallback = NULL, .name = "_raw_read_lock", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_FENTRY, .off = &env.no_lock_hold, .off_why = off_lock },
			{ .full = skel->progs.read_unlock_enter, .fallback = NULL, .name = "_raw_read_unlock", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_FENTRY, .off = &env.no_lock_hold, .off_why = off_lock },
			{ .full = skel->progs.dump_kvm, .fallback = NULL, .name = "bpf_iter_task_file", .kind = BTF_KIND_FUNC, .type = BPF_TRACE_ITER },
			{ .full = skel->progs.ioctl_enter_btf, .fallback = skel->progs.ioctl_enter_tp, .name = "sys_enter", .kind = BTF_KIND_TYPEDEF, .type = BPF_TRACE_RAW_TP },
			{ .full = skel->progs.ioctl_exit_btf, .fallback = skel->progs.ioctl_exit_tp, .name = "sys_exit", .kind = BTF_KIND_TYPEDEF, .type = BPF_TRACE_RAW_TP },
		};
		/* Whether each fallback's trace event exists (the tp_btf targets are always there). */
		bool tp_ok[] = { kvmmmu, kvmtp, locktp, locktp, [15] = ioctltp, [16] = ioctltp };
		int nc = sizeof(c) / sizeof(c[0]);

		for (i = 0; i < nc; i++) {
			bool excluded = c[i].off && *c[i].off;

			if (excluded || (forced_degraded && !c[i].fallback)) {
				c[i].why = excluded ? c[i].off_why : "--tier degraded";
				bpf_program__set_autoload(c[i].full, false);
				if (c[i].fallback && excluded)
					bpf_program__set_autoload(c[i].fallback, false);
				continue;
			}
			choose(&bp, &c[i], i < 4 || i >= 15 ? tp_ok[i] : true);
		}
		/*
		 * Both ioctl ends through the same door, and the trace events wherever they
		 * exist: a tp_btf program runs preemptible (migration disabled only), and
		 * bpf_task_storage_get() from it takes a per-CPU trylock that fails while a
		 * task preempted inside task storage holds it on that CPU; one CI run counted a
		 * drop with tp_btf, none of the runs with the trace events (which run with
		 * preemption off). tp_btf is the door where CONFIG_FTRACE_SYSCALLS is off.
		 */
		if (ioctltp || c[15].use_full != c[16].use_full) {
			c[15].use_full = c[16].use_full = false;
			c[15].use_fallback = c[16].use_fallback = ioctltp;
			bpf_program__set_autoload(c[15].full, false);
			bpf_program__set_autoload(c[16].full, false);
			bpf_program__set_autoload(c[15].fallback, ioctltp);
			bpf_program__set_autoload(c[16].fallback, ioctltp);
		}
		/* The tier table: what each metric rests on. */
		if (c[0].use_full || c[0].use_fallback)
			set_tier(M_ZAPS, "exact", "%s kvmmmu:kvm_mmu_prepare_zap_page, reason from the kernel stack",
				 c[0].use_full ? "tp_btf" : "raw_tp");
		else
			set_tier(M_ZAPS, "unavailable", "kvmmmu:kvm_mmu_prepare_zap_page: %s", c[0].why);
		if (c[4].use_full)
			set_tier(M_RECYCLED, "exact", "fexit kvm_mmu_zap_oldest_mmu_pages (its return value)");
		else
			set_tier(M_RECYCLED, "degraded", "fexit kvm_mmu_zap_oldest_mmu_pages: %s; "
				 "zaps with reason recycle count the pages instead", c[4].why);
		if (env.no_lock_hold)
			set_tier(M_LOCK_HOLD, "off", "fentry on the rwlock functions: %s", c[10].why);
		else if (c[10].use_full && c[11].use_full && c[12].use_full && c[13].use_full)
			set_tier(M_LOCK_HOLD, "exact", "fentry _raw_{write,read}_lock (or lock:contention_end "
				 "after a wait) to fentry _raw_{write,read}_unlock on &kvm->mmu_lock; holders' "
				 "stacks sampled 1 in %ld", env.holder_sample);
		else
			set_tier(M_LOCK_HOLD, "unavailable", "fentry on the rwlock functions: %s",
				 c[10].why ? c[10].why : c[11].why ? c[11].why : c[12].why ? c[12].why : c[13].why);
		if (c[2].use_full || c[2].use_fallback)
			set_tier(M_LOCK_WAIT, "exact", "lock:contention_begin/end (%s) filtered to &kvm->mmu_lock",
				 c[2].use_full ? "tp_btf" : "raw_tp");
		else
			set_tier(M_LOCK_WAIT, "unavailable", "lock:contention_*: %s", c[2].why);
		if (c[15].use_full)
			ioctl_door = "tp_btf sys_enter/sys_exit, ioctl(2)";
		else if (c[15].use_fallback)
			ioctl_door = "syscalls:sys_{enter,exit}_ioctl";
		if (ioctl_door)
			set_tier(M_DIRTY_LOG, "exact", "%s KVM_GET_DIRTY_LOG/KVM_CLEAR_DIRTY_LOG (whole ioctl)", ioctl_door);
		else
			set_tier(M_DIRTY_LOG, "unavailable", "tp_btf sys_enter: %s; no syscalls:sys_enter_ioctl "
				 "(CONFIG_FTRACE_SYSCALLS off)", c[15].why);
		if (env.no_harvest)
			set_tier(M_HARVEST, "off", "fentry kvm_arch_mmu_enable_log_dirty_pt_masked: %s", c[5].why);
		else if (c[5].use_full)
			set_tier(M_HARVEST, "exact", "fentry kvm_arch_mmu_enable_log_dirty_pt_masked, popcount of the mask");
		else
			set_tier(M_HARVEST, "unavailable", "fentry kvm_arch_mmu_enable_log_dirty_pt_masked: %s", c[5].why);
		if (ioctl_door)
			set_tier(M_LOG_TOGGLE, "exact", "%s KVM_SET_USER_MEMORY_REGION(2) whose "
				 "KVM_MEM_LOG_DIRTY_PAGES flips", ioctl_door);
		else
			set_tier(M_LOG_TOGGLE, "unavailable", "as dirty_log_latency: no way to see ioctl(2)");
		if (c[6].use_full && c[7].use_full)
			set_tier(M_COLLAPSE, "exact", "fentry/fexit kvm_mmu_zap_collapsible_sptes");
		else
			set_tier(M_COLLAPSE, "unavailable", "fentry/fexit kvm_mmu_zap_collapsible_sptes: %s", c[6].why);
		if (env.no_fault_count)
			set_tier(M_FAULTS, "off", "kvm:kvm_page_fault: %s", c[1].why);
		else if (c[1].use_full || c[1].use_fallback)
			set_tier(M_FAULTS, "exact", "%s kvm:kvm_page_fault", c[1].use_full ? "tp_btf" : "raw_tp");
		else
			set_tier(M_FAULTS, "unavailable", "kvm:kvm_page_fault: %s", c[1].why);
		if (env.no_fault_latency)
			set_tier(M_FAULT_LAT, "off", "fentry/fexit kvm_mmu_page_fault: %s", c[8].why);
		else if (c[8].use_full && c[9].use_full)
			set_tier(M_FAULT_LAT, "exact", "fentry/fexit kvm_mmu_page_fault");
		else
			set_tier(M_FAULT_LAT, "unavailable", "fentry/fexit kvm_mmu_page_fault: %s", c[8].why);
		if (c[14].use_full)
			set_tier(M_KVM_STATS, "exact", "struct kvm read with CO-RE by a task_file iterator at start, end and each interval");
		else
			set_tier(M_KVM_STATS, "degraded", "iter/task_file: %s; struct kvm read with CO-RE at the VM's ioctls "
				 "(KVM_RUN at most every 10 ms), so the last value may be stale", c[14].why);
	}

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
	if (err && !thorough) {
		/* A target of an allowed class refused: ask the kernel about each one. */
		mmuprobe_bpf__destroy(skel);
		thorough = true;
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
			set_tier(M_KVM_STATS, "degraded", "attaching iter/task_file failed; struct kvm read at ioctls");
	}

	events_json = json_object_new_array();
	series_json = json_object_new_array();
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "mmuprobe: error: cannot create the ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	t_start = mono_ns();
	cpu_at_start = cpu_ns();
	read_kvm_stats(skel, iter, (struct mmuprobe_kvm_stat[MAX_STATS]){}, MAX_STATS, false);	/* baselines */
	if (env.interval)
		snapshot(skel, iter);
	if (!env.quiet)
		fprintf(stderr, "mmuprobe: recording%s%s\n", env.cmd ? " around " : "",
			env.cmd ? env.cmd[0] : (env.duration ? "" : "; Ctrl-C to stop"));
	if (env.cmd)
		child = start_workload(env.cmd);
	deadline = env.duration ? t_start + (uint64_t)env.duration * 1000000000ULL : 0;
	next_snap = t_start + (uint64_t)env.interval * 1000000ULL;

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
			snapshot(skel, iter);
			next_snap += (uint64_t)env.interval * 1000000ULL;
		}
		if (deadline && now >= deadline)
			break;
		if (child) {
			int st;

			if (wait4(child, &st, WNOHANG, &workload_ru) == child) {
				workload_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				child = 0;
				break;
			}
		}
	}
	if (child)
		workload_status = stop_workload(child);
	ring_buffer__consume(rb);
	if (env.interval)
		snapshot(skel, iter);
	doc = build_doc(skel, iter, mono_ns(), workload_status);
	if (env.output && write_atomically(env.output, doc))
		err = -EIO;
	if (!env.quiet)
		print_summary(doc, skel);

cleanup:
	if (roles_path[0])
		unlink(roles_path);
	json_object_put(doc);
	json_object_put(events_json);
	json_object_put(series_json);
	ring_buffer__free(rb);
	bpf_link__destroy(iter);
	mmuprobe_bpf__destroy(skel);
	btf__free(bp.module);
	btf__free(bp.vmlinux);
	if (bp.module_fd >= 0)
		close(bp.module_fd);
	ksyms_free(ksyms);
	if (stats_fd >= 0)
		close(stats_fd);
	if (err)
		return EXIT_FAIL;
	return workload_status;
}
