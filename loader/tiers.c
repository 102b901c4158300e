// SPDX-License-Identifier: GPL-2.0
/* Each program's tier and each metric's (tiers.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "caps.h"
#include "mmuprobe.skel.h"
#include "tiers.h"

static const char *const metric_names[M_NR] = {
	[M_RECYCLED] = "mmu_recycled",
	[M_ZAPS] = "zaps",
	[M_LOCK_HOLD] = "mmu_lock_hold",
	[M_LOCK_WAIT] = "mmu_lock_wait",
	[M_DIRTY_LOG] = "dirty_log_latency",
	[M_HARVEST] = "dirty_log_pages",
	[M_LOG_TOGGLE] = "dirty_log_enable_disable",
	[M_COLLAPSE] = "collapse_time",
	[M_FAULTS] = "page_faults",
	[M_SP_TRACE] = "shadow_page_trace",
	[M_FAULT_LAT] = "page_fault_latency",
	[M_KVM_STATS] = "kvm_stats",
};

static struct tier {
	const char *status;	/* exact, degraded, unavailable, off */
	char how[200];
} tiers[M_NR];

void tier_set(enum metric m, const char *status, const char *fmt, ...)
{
	va_list ap;

	tiers[m].status = status;
	va_start(ap, fmt);
	vsnprintf(tiers[m].how, sizeof(tiers[m].how), fmt, ap);
	va_end(ap);
}

const char *metric_name(enum metric m)
{
	return metric_names[m];
}

const char *tier_status(enum metric m)
{
	return tiers[m].status;
}

const char *tier_how(enum metric m)
{
	return tiers[m].how;
}

bool tier_measured(enum metric m)
{
	return tiers[m].status && (!strcmp(tiers[m].status, "exact") || !strcmp(tiers[m].status, "degraded"));
}

/*
 * The programs whose tier is chosen, by name: every use of the table below says which
 * program it means, so that no order of entries can re-attribute a metric. The order is
 * the order the kernel is asked in (each attach type's first answer is reused).
 */
enum prog {
	P_ZAP,			/* kvmmmu:kvm_mmu_prepare_zap_page */
	P_FAULT_COUNT,		/* kvm:kvm_page_fault */
	P_SP_GET,		/* kvmmmu:kvm_mmu_get_page (--sp-trace) */
	P_CONTENTION_BEGIN,	/* lock:contention_begin */
	P_CONTENTION_END,	/* lock:contention_end */
	P_RECYCLE_EXIT,		/* fexit kvm_mmu_zap_oldest_mmu_pages */
	P_HARVEST,		/* fentry kvm_arch_mmu_enable_log_dirty_pt_masked */
	P_COLLAPSE_ENTER,	/* fentry/fexit kvm_mmu_zap_collapsible_sptes */
	P_COLLAPSE_EXIT,
	P_FAULT_ENTER,		/* fentry/fexit kvm_mmu_page_fault */
	P_FAULT_EXIT,
	P_WRITE_LOCK,		/* fentry on the rwlock functions */
	P_WRITE_UNLOCK,
	P_READ_LOCK,
	P_READ_UNLOCK,
	P_KVM_ITER,		/* iter/task_file */
	P_IOCTL_ENTER,		/* tp_btf sys_enter, or syscalls:sys_enter_ioctl */
	P_IOCTL_EXIT,		/* tp_btf sys_exit, or syscalls:sys_exit_ioctl */
	P_NR
};

struct choice {
	struct bpf_program *full;	/* fentry/fexit/tp_btf */
	struct bpf_program *fallback;	/* raw_tp, or NULL */
	const char *name;		/* function or tracepoint */
	int kind;			/* BTF_KIND_FUNC or BTF_KIND_TYPEDEF */
	enum bpf_attach_type type;
	const char *event;		/* the trace event ("category/name") that a tracepoint
					 * program needs, either tier; NULL: none */
	const bool *off;		/* a tier_opts flag that leaves it out (--add/--exclude), or NULL */
	const char *off_why;		/* ... and how to have it */
	bool event_ok;			/* event exists (or none is needed) */
	bool use_full, use_fallback;
	const char *why;		/* why full is not used */
};

static const char off_faults[] = "off by default (a program on every vCPU fault): --add page_faults";
static const char off_harvest[] = "off by default (a trampoline on every harvested 64-page word, "
				  "inside the timed ioctl): --add dirty_log_pages";
static const char off_fault_lat[] = "off by default (a trampoline pair on every KVM page fault): "
				    "--add fault_latency";
static const char off_sp_trace[] = "off by default (a record on every shadow-page lookup): "
				   "--sp-trace FILE";
static const char off_lock[] = "off by default (a program on every rwlock lock and unlock): --add lock_hold";

/* The fields of a function's program, and of a tracepoint's tp_btf/raw_tp twins. */
#define FUNC(prog, fn, t) .full = skel->progs.prog, .name = fn, .kind = BTF_KIND_FUNC, .type = t
#define TP(btf, raw, tp, ev) .full = skel->progs.btf, .fallback = skel->progs.raw, .name = tp, \
			     .kind = BTF_KIND_TYPEDEF, .type = BPF_TRACE_RAW_TP, .event = ev

static void programs_init(struct mmuprobe_bpf *skel, const struct tier_opts *o, struct choice c[P_NR])
{
	const struct choice table[P_NR] = {
		[P_ZAP] = { TP(zap_btf, zap_raw, "kvm_mmu_prepare_zap_page",
			       "kvmmmu/kvm_mmu_prepare_zap_page") },
		[P_FAULT_COUNT] = { TP(fault_btf, fault_raw, "kvm_page_fault", "kvm/kvm_page_fault"),
				    .off = &o->no_fault_count, .off_why = off_faults },
		[P_SP_GET] = { TP(sp_get_btf, sp_get_raw, "kvm_mmu_get_page", "kvmmmu/kvm_mmu_get_page"),
			       .off = &o->no_sp_trace, .off_why = off_sp_trace },
		[P_CONTENTION_BEGIN] = { TP(contention_begin_btf, contention_begin_raw, "contention_begin",
					    "lock/contention_begin") },
		[P_CONTENTION_END] = { TP(contention_end_btf, contention_end_raw, "contention_end",
					  "lock/contention_end") },
		[P_RECYCLE_EXIT] = { FUNC(recycle_exit, "kvm_mmu_zap_oldest_mmu_pages", BPF_TRACE_FEXIT) },
		[P_HARVEST] = { FUNC(harvest_mask, "kvm_arch_mmu_enable_log_dirty_pt_masked", BPF_TRACE_FENTRY),
				.off = &o->no_harvest, .off_why = off_harvest },
		[P_COLLAPSE_ENTER] = { FUNC(collapse_enter, "kvm_mmu_zap_collapsible_sptes", BPF_TRACE_FENTRY) },
		[P_COLLAPSE_EXIT] = { FUNC(collapse_exit, "kvm_mmu_zap_collapsible_sptes", BPF_TRACE_FEXIT) },
		[P_FAULT_ENTER] = { FUNC(page_fault_enter, "kvm_mmu_page_fault", BPF_TRACE_FENTRY),
				    .off = &o->no_fault_latency, .off_why = off_fault_lat },
		[P_FAULT_EXIT] = { FUNC(page_fault_exit, "kvm_mmu_page_fault", BPF_TRACE_FEXIT),
				   .off = &o->no_fault_latency, .off_why = off_fault_lat },
		[P_WRITE_LOCK] = { FUNC(write_lock_enter, "_raw_write_lock", BPF_TRACE_FENTRY),
				   .off = &o->no_lock_hold, .off_why = off_lock },
		[P_WRITE_UNLOCK] = { FUNC(write_unlock_enter, "_raw_write_unlock", BPF_TRACE_FENTRY),
				     .off = &o->no_lock_hold, .off_why = off_lock },
		[P_READ_LOCK] = { FUNC(read_lock_enter, "_raw_read_lock", BPF_TRACE_FENTRY),
				  .off = &o->no_lock_hold, .off_why = off_lock },
		[P_READ_UNLOCK] = { FUNC(read_unlock_enter, "_raw_read_unlock", BPF_TRACE_FENTRY),
				    .off = &o->no_lock_hold, .off_why = off_lock },
		[P_KVM_ITER] = { FUNC(dump_kvm, "bpf_iter_task_file", BPF_TRACE_ITER) },
		/* tp_btf sys_enter/sys_exit always exist; both doors are tried only where the
		 * syscall trace events do (CONFIG_FTRACE_SYSCALLS), as they always were. */
		[P_IOCTL_ENTER] = { TP(ioctl_enter_btf, ioctl_enter_tp, "sys_enter", "syscalls/sys_enter_ioctl") },
		[P_IOCTL_EXIT] = { TP(ioctl_exit_btf, ioctl_exit_tp, "sys_exit", "syscalls/sys_exit_ioctl") },
	};

	memcpy(c, table, sizeof(table));
}
#undef FUNC
#undef TP

static void choose(struct caps *caps, const struct tier_opts *o, struct choice *c)
{
	char tname[128];
	const char *name = c->name;

	c->why = NULL;
	if (c->type == BPF_TRACE_RAW_TP) {
		snprintf(tname, sizeof(tname), "btf_trace_%s", c->name);
		name = tname;
	}
	if (!strcmp(o->tier, "degraded") && c->fallback)
		c->why = "--tier degraded";
	else if (c->type == BPF_TRACE_RAW_TP && !c->event_ok)
		c->why = "the tracepoint does not exist (is KVM loaded?)";
	else
		c->use_full = caps_tracing_allowed(caps, name, c->kind, c->type, &c->why);
	c->use_fallback = !c->use_full && c->fallback && c->event_ok;
	bpf_program__set_autoload(c->full, c->use_full);
	if (c->fallback)
		bpf_program__set_autoload(c->fallback, c->use_fallback);
}

/* Each program's tier (which twin loads, or none), in enum prog's order. */
static void choose_all(struct caps *caps, const struct tier_opts *o, struct choice c[P_NR])
{
	struct choice *in = &c[P_IOCTL_ENTER], *out = &c[P_IOCTL_EXIT];
	bool forced_degraded = !strcmp(o->tier, "degraded");
	int p;

	for (p = 0; p < P_NR; p++) {
		bool excluded = c[p].off && *c[p].off;

		c[p].event_ok = !c[p].event || tracepoint_exists(c[p].event);
		if (excluded || (forced_degraded && !c[p].fallback)) {
			c[p].why = excluded ? c[p].off_why : "--tier degraded";
			bpf_program__set_autoload(c[p].full, false);
			if (c[p].fallback && excluded)
				bpf_program__set_autoload(c[p].fallback, false);
			continue;
		}
		choose(caps, o, &c[p]);
	}
	/*
	 * Both ioctl ends through the same door, and the trace events wherever they
	 * exist: a tp_btf program runs preemptible (migration disabled only), and
	 * bpf_task_storage_get() from it takes a per-CPU trylock that fails while a
	 * task preempted inside task storage holds it on that CPU; one CI run counted a
	 * drop with tp_btf, none of the runs with the trace events (which run with
	 * preemption off). tp_btf is the door where CONFIG_FTRACE_SYSCALLS is off.
	 */
	if (in->event_ok || in->use_full != out->use_full) {
		in->use_full = out->use_full = false;
		in->use_fallback = out->use_fallback = in->event_ok;
		bpf_program__set_autoload(in->full, false);
		bpf_program__set_autoload(out->full, false);
		bpf_program__set_autoload(in->fallback, in->event_ok);
		bpf_program__set_autoload(out->fallback, in->event_ok);
	}
}

/* The tier table: what each metric rests on. */
static void set_tiers(const struct choice c[P_NR], const struct tier_opts *o)
{
	const char *ioctl_door = NULL;

	if (c[P_ZAP].use_full || c[P_ZAP].use_fallback)
		tier_set(M_ZAPS, "exact", "%s kvmmmu:kvm_mmu_prepare_zap_page, reason from the kernel stack",
			 c[P_ZAP].use_full ? "tp_btf" : "raw_tp");
	else
		tier_set(M_ZAPS, "unavailable", "kvmmmu:kvm_mmu_prepare_zap_page: %s", c[P_ZAP].why);
	if (c[P_RECYCLE_EXIT].use_full)
		tier_set(M_RECYCLED, "exact", "fexit kvm_mmu_zap_oldest_mmu_pages (its return value)");
	else
		tier_set(M_RECYCLED, "degraded", "fexit kvm_mmu_zap_oldest_mmu_pages: %s; "
			 "zaps with reason recycle count the pages instead", c[P_RECYCLE_EXIT].why);
	if (o->no_lock_hold)
		tier_set(M_LOCK_HOLD, "off", "fentry on the rwlock functions: %s", c[P_WRITE_LOCK].why);
	else if (c[P_WRITE_LOCK].use_full && c[P_WRITE_UNLOCK].use_full &&
		 c[P_READ_LOCK].use_full && c[P_READ_UNLOCK].use_full)
		tier_set(M_LOCK_HOLD, "exact", "fentry _raw_{write,read}_lock (or lock:contention_end "
			 "after a wait) to fentry _raw_{write,read}_unlock on &kvm->mmu_lock; holders' "
			 "stacks sampled 1 in %ld", o->holder_sample);
	else
		tier_set(M_LOCK_HOLD, "unavailable", "fentry on the rwlock functions: %s",
			 c[P_WRITE_LOCK].why ? c[P_WRITE_LOCK].why : c[P_WRITE_UNLOCK].why ?
			 c[P_WRITE_UNLOCK].why : c[P_READ_LOCK].why ? c[P_READ_LOCK].why : c[P_READ_UNLOCK].why);
	if (c[P_CONTENTION_BEGIN].use_full || c[P_CONTENTION_BEGIN].use_fallback)
		tier_set(M_LOCK_WAIT, "exact", "lock:contention_begin/end (%s) filtered to &kvm->mmu_lock",
			 c[P_CONTENTION_BEGIN].use_full ? "tp_btf" : "raw_tp");
	else
		tier_set(M_LOCK_WAIT, "unavailable", "lock:contention_*: %s", c[P_CONTENTION_BEGIN].why);
	if (c[P_IOCTL_ENTER].use_full)
		ioctl_door = "tp_btf sys_enter/sys_exit, ioctl(2)";
	else if (c[P_IOCTL_ENTER].use_fallback)
		ioctl_door = "syscalls:sys_{enter,exit}_ioctl";
	if (ioctl_door)
		tier_set(M_DIRTY_LOG, "exact", "%s KVM_GET_DIRTY_LOG/KVM_CLEAR_DIRTY_LOG (whole ioctl)", ioctl_door);
	else
		tier_set(M_DIRTY_LOG, "unavailable", "tp_btf sys_enter: %s; no syscalls:sys_enter_ioctl "
			 "(CONFIG_FTRACE_SYSCALLS off)", c[P_IOCTL_ENTER].why);
	if (o->no_harvest)
		tier_set(M_HARVEST, "off", "fentry kvm_arch_mmu_enable_log_dirty_pt_masked: %s", c[P_HARVEST].why);
	else if (c[P_HARVEST].use_full)
		tier_set(M_HARVEST, "exact", "fentry kvm_arch_mmu_enable_log_dirty_pt_masked, popcount of the mask");
	else
		tier_set(M_HARVEST, "unavailable", "fentry kvm_arch_mmu_enable_log_dirty_pt_masked: %s",
			 c[P_HARVEST].why);
	if (ioctl_door)
		tier_set(M_LOG_TOGGLE, "exact", "%s KVM_SET_USER_MEMORY_REGION(2) whose "
			 "KVM_MEM_LOG_DIRTY_PAGES flips", ioctl_door);
	else
		tier_set(M_LOG_TOGGLE, "unavailable", "as dirty_log_latency: no way to see ioctl(2)");
	if (c[P_COLLAPSE_ENTER].use_full && c[P_COLLAPSE_EXIT].use_full)
		tier_set(M_COLLAPSE, "exact", "fentry/fexit kvm_mmu_zap_collapsible_sptes");
	else
		tier_set(M_COLLAPSE, "unavailable", "fentry/fexit kvm_mmu_zap_collapsible_sptes: %s",
			 c[P_COLLAPSE_ENTER].why);
	if (o->no_fault_count)
		tier_set(M_FAULTS, "off", "kvm:kvm_page_fault: %s", c[P_FAULT_COUNT].why);
	else if (c[P_FAULT_COUNT].use_full || c[P_FAULT_COUNT].use_fallback)
		tier_set(M_FAULTS, "exact", "%s kvm:kvm_page_fault", c[P_FAULT_COUNT].use_full ? "tp_btf" : "raw_tp");
	else
		tier_set(M_FAULTS, "unavailable", "kvm:kvm_page_fault: %s", c[P_FAULT_COUNT].why);
	if (o->no_fault_latency)
		tier_set(M_FAULT_LAT, "off", "fentry/fexit kvm_mmu_page_fault: %s", c[P_FAULT_ENTER].why);
	else if (c[P_FAULT_ENTER].use_full && c[P_FAULT_EXIT].use_full)
		tier_set(M_FAULT_LAT, "exact", "fentry/fexit kvm_mmu_page_fault");
	else
		tier_set(M_FAULT_LAT, "unavailable", "fentry/fexit kvm_mmu_page_fault: %s", c[P_FAULT_ENTER].why);
	if (o->no_sp_trace)
		tier_set(M_SP_TRACE, "off", "kvmmmu:kvm_mmu_get_page: %s", c[P_SP_GET].why);
	else if ((c[P_SP_GET].use_full || c[P_SP_GET].use_fallback) &&
		 (c[P_ZAP].use_full || c[P_ZAP].use_fallback))
		tier_set(M_SP_TRACE, "exact", "%s kvmmmu:kvm_mmu_get_page and the zaps' program, recycling "
			 "told from the zap's stack", c[P_SP_GET].use_full ? "tp_btf" : "raw_tp");
	else
		tier_set(M_SP_TRACE, "unavailable", "kvmmmu:kvm_mmu_get_page or the zaps: %s",
			 c[P_SP_GET].why ? c[P_SP_GET].why : c[P_ZAP].why);
	if (c[P_KVM_ITER].use_full)
		tier_set(M_KVM_STATS, "exact", "struct kvm read with CO-RE by a task_file iterator at start, "
			 "end and each interval");
	else
		tier_set(M_KVM_STATS, "degraded", "iter/task_file: %s; struct kvm read with CO-RE at the VM's "
			 "ioctls (KVM_RUN at most every 10 ms), so the last value may be stale", c[P_KVM_ITER].why);
}

void tiers_choose(struct mmuprobe_bpf *skel, struct caps *caps, const struct tier_opts *o)
{
	struct choice c[P_NR];

	programs_init(skel, o, c);
	choose_all(caps, o, c);
	set_tiers(c, o);
}
