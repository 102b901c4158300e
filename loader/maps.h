/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading what the BPF side recorded: per-VM counters and latencies, zaps and mmu_lock
 * holders by stack, KVM's own counters of each VM (the iterator, or the copies the probes
 * refreshed), drops. Map reads only: the document is built in report.c.
 */
#ifndef MMUSCOPE_MAPS_H
#define MMUSCOPE_MAPS_H

#include <stdbool.h>
#include <linux/types.h>

#include "mmuprobe.h"

struct bpf_link;
struct ksyms;
struct mmuprobe_bpf;

#define MAX_STATS 256	/* struct kvm read at once */

/*
 * KVM's counters of every VM now, from the iterator (NULL: none); include_gone adds the
 * VMs it no longer sees (destroyed), from the copies the probes refreshed at their last
 * ioctls. Returns how many, -1 if the iterator cannot run.
 */
int maps_kvm_stats(struct mmuprobe_bpf *skel, struct bpf_link *iter,
		   struct mmuprobe_kvm_stat *out, int max, bool include_gone);
/* A VM's counters at first sight, by struct kvm address. */
bool maps_kvm_first(struct mmuprobe_bpf *skel, __u64 kvm, struct mmuprobe_kvm_first *f);
/* A VMM process's counters and latencies. */
bool maps_vm(struct mmuprobe_bpf *skel, __u32 tgid, struct mmuprobe_vm *vm);
__u64 maps_drops(struct mmuprobe_bpf *skel, enum mmuprobe_drop what);

/* Each entry, in the map's order. */
void maps_for_each_vm(struct mmuprobe_bpf *skel,
		      void (*fn)(__u32 tgid, const struct mmuprobe_vm *vm, void *ctx), void *ctx);
void maps_for_each_zap(struct mmuprobe_bpf *skel,
		       void (*fn)(const struct mmuprobe_zap_key *key, __u64 count, void *ctx), void *ctx);
void maps_for_each_holder(struct mmuprobe_bpf *skel,
			  void (*fn)(const struct mmuprobe_holder_key *key,
				     const struct mmuprobe_holder *h, void *ctx), void *ctx);

/* Innermost-first function names of a recorded stack (NULL where unknown); how many. */
int maps_stack(struct mmuprobe_bpf *skel, const struct ksyms *ksyms, int stackid,
	       const char **frames, int max);

#endif
