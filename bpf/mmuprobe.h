/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmuprobe: the records shared by bpf/mmuprobe.bpf.c and loader/mmuprobe.c.
 * Every latency is in nanoseconds; every histogram is log2 (slot i counts values in
 * [2^i, 2^(i+1)) ns, slot 0 also counts 0).
 */
#ifndef MMUSCOPE_MMUPROBE_H
#define MMUSCOPE_MMUPROBE_H

#define MMUPROBE_SLOTS 36		/* 2^35 ns = 34 s: nothing we time is longer */
/* Frames kept per kernel stack. The unwinder stops here, and unwinding is most of a zap's
 * cost: the zap reasons are decided within the first ten frames and a holder's stack is
 * shown to twelve. */
#define MMUPROBE_STACK_DEPTH 14
#define MMUPROBE_MAX_VMS 64
#define MMUPROBE_COMM_LEN 16

/* Latency distributions kept per VM. */
enum mmuprobe_lat {
	LAT_GET_DIRTY_LOG,	/* ioctl KVM_GET_DIRTY_LOG */
	LAT_CLEAR_DIRTY_LOG,	/* ioctl KVM_CLEAR_DIRTY_LOG */
	LAT_LOG_ENABLE,		/* KVM_SET_USER_MEMORY_REGION(2) turning dirty logging on */
	LAT_LOG_DISABLE,	/* ... turning it off (includes the collapse below) */
	LAT_COLLAPSE,		/* kvm_mmu_zap_collapsible_sptes */
	LAT_LOCK_WAIT_WRITE,	/* mmu_lock contention, writer */
	LAT_LOCK_WAIT_READ,	/* mmu_lock contention, reader */
	LAT_LOCK_HOLD_WRITE,	/* mmu_lock held for write */
	LAT_LOCK_HOLD_READ,	/* mmu_lock held for read */
	LAT_PAGE_FAULT,		/* kvm_mmu_page_fault */
	LAT_LOCK_HOLD_WRITE_DIRTY_LOG,	/* ... held for write inside KVM_{GET,CLEAR}_DIRTY_LOG */
	LAT_NR,
};
#define MMUPROBE_LAT_ARRAY 16	/* >= LAT_NR, a power of two: indexes are masked */

struct mmuprobe_lat_stat {
	__u64 count;
	__u64 sum;
	__u64 max;
	__u64 slots[MMUPROBE_SLOTS];
};

/* Per-VM counters (one VM = one VMM process, keyed by tgid). */
struct mmuprobe_vm {
	char comm[MMUPROBE_COMM_LEN];	/* of the thread that created the entry */
	__u64 recycled;		/* pages zapped by kvm_mmu_zap_oldest_mmu_pages */
	__u64 recycle_calls;
	__u64 zapped;		/* kvmmmu:kvm_mmu_prepare_zap_page events */
	__u64 page_faults;	/* kvm:kvm_page_fault events */
	__u64 harvested_pages;	/* pages write-protected for get/clear-dirty-log */
	struct mmuprobe_lat_stat lat[MMUPROBE_LAT_ARRAY];
};

/* The key of a zap count: who, why (a stack), and what kind of shadow page. */
struct mmuprobe_zap_key {
	__u32 tgid;
	__s32 stackid;
	__u8 level;
	__u8 direct;
	__u8 unsync;
	__u8 root;		/* root_count != 0 */
};

/* The key of an mmu_lock holder: who and where it took the lock. */
struct mmuprobe_holder_key {
	__u32 tgid;
	__s32 stackid;
	__u32 write;
	__u32 pad;
};

struct mmuprobe_holder {
	__u64 count;
	__u64 sum;
	__u64 max;
};

/* KVM's own counters of one VM, read from struct kvm with CO-RE. */
struct mmuprobe_kvm_stat {
	__u64 kvm;		/* struct kvm address: tells VMs of one process apart */
	__u32 tgid;		/* kvm->userspace_pid */
	__u32 pad;
	__u64 mmu_shadow_zapped;
	__u64 mmu_recycled;
	__u64 mmu_flooded;
	__u64 mmu_pte_write;
	__u64 mmu_unsync;
	__u64 pages_4k;
	__u64 pages_2m;
	__u64 pages_1g;
	__u64 remote_tlb_flush;
	__u64 n_used_mmu_pages;	/* shadow pages in use (the saw-tooth) */
	__u64 n_max_mmu_pages;
	/* The probes' own counters of this VM's process at the same moment: cross-checks
	 * compare the two over the same window, so zaps after the last sample (VM
	 * teardown) do not count on one side only. */
	__u64 probe_zapped;
	__u64 probe_recycled;
};

/* A VM's counters at first sight (the baseline of every delta) and when last refreshed. */
struct mmuprobe_kvm_first {
	struct mmuprobe_kvm_stat first;
	__u64 last_refresh;
};

/* Per-call records on the ring buffer, for time series. */
enum mmuprobe_event_kind {
	EV_GET_DIRTY_LOG,
	EV_CLEAR_DIRTY_LOG,
	EV_LOG_ENABLE,
	EV_LOG_DISABLE,
	EV_NR,			/* none: a memslot ioctl that flips no dirty logging */
};

struct mmuprobe_event {
	__u64 ts;		/* CLOCK_MONOTONIC ns at the end of the call */
	__u64 latency;
	__u64 pages;		/* pages harvested (full tier), else 0 */
	__u32 tgid;
	__u32 kind;
	__u32 slot;		/* memslot id */
	__s32 ret;
};

/*
 * --sp-trace: one record per shadow-page lookup (kvmmmu:kvm_mmu_get_page: found or created)
 * and per zap (kvmmmu:kvm_mmu_prepare_zap_page, with its stack: the loader tells recycling
 * from the other reasons), on their own ring buffer, for analysis/spsim.
 */
struct mmuprobe_sp_event {
	__u64 gfn;
	__u32 role;		/* kvm_mmu_page_role.word */
	__u32 tgid;
	__s32 stackid;		/* a zap's stack; -1 for a lookup */
	__u8 op;		/* 'G' found, 'C' created, 'Z' zapped */
	__u8 gen;		/* the page's mmu_valid_gen: a fast zap-all makes every page obsolete */
	__u16 pad;
};

/* Things the BPF side could not record: reported, never hidden. */
enum mmuprobe_drop {
	DROP_RINGBUF,		/* ring buffer full: per-call record lost (aggregates kept) */
	DROP_VM_MAP,		/* more than MMUPROBE_MAX_VMS processes */
	DROP_ZAP_MAP,
	DROP_HOLDER_MAP,
	DROP_STACK,		/* bpf_get_stackid failed: counted under stack -1 */
	DROP_INFLIGHT,
	DROP_SP_RINGBUF,	/* --sp-trace: its ring buffer full, a record lost */
	DROP_NR,
};

#endif
