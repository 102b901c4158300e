/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tier of every metric: which of each program's twins loads (fentry/fexit/tp_btf,
 * raw_tp or syscall trace events, or none), chosen from the kernel's answers (caps.h),
 * and what each metric then rests on: exact, degraded, unavailable or off, and how.
 */
#ifndef MMUSCOPE_TIERS_H
#define MMUSCOPE_TIERS_H

#include <stdbool.h>

struct caps;
struct mmuprobe_bpf;

/* The metrics, as the document's "tiers" keys name them (metric_name()). */
enum metric {
	M_RECYCLED, M_ZAPS, M_LOCK_HOLD, M_LOCK_WAIT, M_DIRTY_LOG, M_HARVEST, M_LOG_TOGGLE,
	M_COLLAPSE, M_FAULTS, M_FAULT_LAT, M_KVM_STATS, M_SP_TRACE, M_NR
};

struct tier_opts {
	const char *tier;	/* auto, full, degraded */
	/* Left out (off): the probes that --add asks for. */
	bool no_lock_hold, no_fault_count, no_fault_latency, no_harvest;
	bool no_sp_trace;	/* --sp-trace not given */
	long holder_sample;	/* named in mmu_lock_hold's how */
};

/* Sets each program's autoload and fills the tier table. Call between open and load;
 * again after a failed load with caps->thorough set. */
void tiers_choose(struct mmuprobe_bpf *skel, struct caps *caps, const struct tier_opts *o);

void tier_set(enum metric m, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *metric_name(enum metric m);
const char *tier_status(enum metric m);
const char *tier_how(enum metric m);
/* Did this run measure the metric at all (exact or degraded; null in the document when not)? */
bool tier_measured(enum metric m);

#endif
