/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmuprobe's document (loader/mmuprobe-json.md): the per-call events and the time series
 * gathered while recording, then the final document from the maps, written atomically,
 * and the text summary.
 */
#ifndef MMUSCOPE_REPORT_H
#define MMUSCOPE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monoclock.h"	/* mono_ns(): the clock of t_start, t_end and every t_ns */

struct bpf_link;
struct json_object;
struct ksyms;
struct mmuprobe_bpf;
struct workload;

#define MMUPROBE_SCHEMA "mmuscope.mmuprobe/2"

struct report {
	struct mmuprobe_bpf *skel;
	struct bpf_link *iter;		/* the kvm_stats iterator, or NULL */
	const struct ksyms *ksyms;	/* names the frames of stacks */
	uint64_t t_start;		/* CLOCK_MONOTONIC ns: t_ns 0 */
	uint64_t cpu_at_start;		/* the loader's own CPU time then, ns */
	struct json_object *events;	/* events[] so far */
	struct json_object *series;	/* series[] so far */
};

void report_init(struct report *r, struct mmuprobe_bpf *skel, struct bpf_link *iter,
		 const struct ksyms *ksyms);
/* The recording starts now: t_ns 0, and KVM's counters of the VMs already there read
 * once (their baselines). */
void report_start(struct report *r);
/* The ring buffer's callback (ctx: the report): one entry of events[]. */
int report_event(void *ctx, void *data, size_t size);
/* One entry of series[] per VM: KVM's counters now. */
void report_snapshot(struct report *r);
/* The document at t_end (CLOCK_MONOTONIC ns). w: the workload after `--`, or NULL. */
struct json_object *report_doc(struct report *r, uint64_t t_end, const struct workload *w, bool cost);
/* path written through a temporary file and rename(). 0, or -1 after saying why. */
int report_write(const char *path, struct json_object *doc);
/* The text summary on stdout: the tiers, each VM's counters and latency histograms. */
void report_print(struct report *r, struct json_object *doc);
void report_free(struct report *r);

#endif
