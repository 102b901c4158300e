// SPDX-License-Identifier: GPL-2.0
/*
 * mmuprobe: what the KVM x86 MMU does while a workload runs, per VM (VMM process).
 *
 * Two tiers in one CO-RE object; the loader picks per program (see loader/mmuprobe.c):
 *  - full: fentry/fexit on kvm and the rwlock entry points, tp_btf on tracepoints;
 *  - degraded: raw_tp on the same tracepoints and syscall tracepoints, where a kernel
 *    refuses trampolines (the PVM host here) or a function is inlined away.
 * Programs that both tiers have (the ioctl timers, contention, zaps, faults) share the
 * static helpers below; twins differ only in how they get their arguments.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "mmuprobe.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile __u32 targ_tgid;			/* 0: every VMM */
/* kvm_vm_ioctl and kvm_vcpu_ioctl from kallsyms: a file whose f_op->unlocked_ioctl is one
 * of them is a VM or vCPU fd (text symbols: kallsyms has them even without KALLSYMS_ALL). */
const volatile __u64 kvm_vm_ioctl_addr;
const volatile __u64 kvm_vcpu_ioctl_addr;
const volatile __u64 stat_interval_ns = 10000000;	/* KVM stat refresh from the VM's ioctls */
/* Set when the task_file iterator samples KVM's stats: then the hot paths (KVM_RUN,
 * page faults) need not look at struct kvm at all. */
const volatile bool stats_from_iter;
/* Take the holder's kernel stack on one mmu_lock acquisition in this many (per CPU):
 * unwinding on every acquisition would dominate the probes' cost. Hold times are timed
 * on every acquisition regardless. */
const volatile __u32 holder_sample = 64;

/* KVM_GET_DIRTY_LOG/KVM_CLEAR_DIRTY_LOG ioctls in flight, all threads: a write hold of
 * mmu_lock looks up its thread's ioctl only while one is. */
__u64 dirty_log_inflight;

/* ioctl numbers from include/uapi/linux/kvm.h (stable ABI). */
#define KVM_GET_DIRTY_LOG		0x4010ae42u
#define KVM_CLEAR_DIRTY_LOG		0xc018aec0u
#define KVM_SET_USER_MEMORY_REGION	0x4020ae46u
#define KVM_SET_USER_MEMORY_REGION2	0x40a0ae49u
#define KVM_RUN				0x0000ae80u
#define KVM_MEM_LOG_DIRTY_PAGES		1u
#define LCB_F_READ			(1u << 1)
#define LCB_F_WRITE			(1u << 2)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MMUPROBE_MAX_VMS);
	__type(key, __u32);
	__type(value, struct mmuprobe_vm);
} vms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mmuprobe_zap_key);
	__type(value, __u64);
} zaps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mmuprobe_holder_key);
	__type(value, struct mmuprobe_holder);
} holders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MMUPROBE_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* &kvm->mmu_lock of every VM seen -> its VMM's tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MMUPROBE_MAX_VMS);
	__type(key, __u64);
	__type(value, __u32);
} mmu_locks SEC(".maps");

/* KVM's own counters per struct kvm, refreshed from the VM's ioctls and the iterator. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MMUPROBE_MAX_VMS);
	__type(key, __u64);
	__type(value, struct mmuprobe_kvm_stat);
} kvm_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MMUPROBE_MAX_VMS);
	__type(key, __u64);
	__type(value, struct mmuprobe_kvm_first);
} kvm_firsts SEC(".maps");

/* One timed call in flight per thread (fault, collapse; ioctls: ioctl_inflight below). */
struct inflight_key {
	__u32 tid;
	__u32 what;	/* enum mmuprobe_lat */
};

struct inflight {
	__u64 start;
	__u64 pages;
	__u64 region;	/* memslot ioctls: the new flags, bit 32 set when the slot is deleted */
	__u32 slot;
	__u32 kind;	/* enum mmuprobe_event_kind | enum mmuprobe_lat << 8 */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct inflight_key);
	__type(value, struct inflight);
} inflights SEC(".maps");

/*
 * The dirty-log or memslot ioctl in flight on a thread, in task storage: after the
 * thread's first one, no map update and delete around every timed ioctl. In a TCG test
 * host, dirty_log_perf_test -v 2 -b 16M -i 3 timed its two KVM_GET_DIRTY_LOGs (its own
 * clock) at 0.37-0.58 ms with that hash-map update and delete of `inflights`, 0.31-0.41
 * ms with task storage, 0.16-0.20 ms without probes; the probes' window, inside the
 * ioctl, did not change. start == 0: none in flight.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight);
} ioctl_inflight SEC(".maps");

static __always_inline struct inflight *ioctl_in_flight(void)
{
	struct inflight *in = bpf_task_storage_get(&ioctl_inflight, bpf_get_current_task_btf(), 0, 0);

	return in && in->start ? in : NULL;
}

/* Last flags of each memslot, to tell enable from disable. */
struct slot_key {
	__u32 tgid;
	__u32 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct slot_key);
	__type(value, __u32);
} slot_flags SEC(".maps");

/* mmu_lock held on this CPU (rwlock holders do not sleep or migrate). */
struct hold {
	__u64 lock;
	__u64 start;
	__u32 tgid;
	__s32 stackid;		/* -2: not sampled this time */
	__u32 write;
	__u32 seq;		/* acquisitions on this CPU, for sampling */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hold);
} holds SEC(".maps");

/* mmu_lock waited for on this CPU: an rwlock's waiter spins with preemption off, from
 * lock:contention_begin to lock:contention_end on the same CPU. */
struct wait {
	__u64 lock;
	__u64 start;
	__u32 tgid;
	__u32 kind;	/* LAT_LOCK_WAIT_WRITE or _READ */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wait);
} waits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DROP_NR);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

#define RINGBUF_SIZE (1 << 20)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_SIZE);
} events SEC(".maps");

/* --sp-trace: its records (the loader sizes it, and sets sp_trace, when asked for them). */
const volatile bool sp_trace = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} sp_events SEC(".maps");

static __always_inline void drop(__u32 why)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &why);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline __u32 cur_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline bool wanted(__u32 tgid)
{
	return !targ_tgid || tgid == targ_tgid;
}

static __always_inline struct mmuprobe_vm *vm_get(__u32 tgid)
{
	static const struct mmuprobe_vm zero;
	struct mmuprobe_vm *vm;

	vm = bpf_map_lookup_elem(&vms, &tgid);
	if (vm)
		return vm;
	bpf_map_update_elem(&vms, &tgid, &zero, BPF_NOEXIST);
	vm = bpf_map_lookup_elem(&vms, &tgid);
	if (!vm) {
		drop(DROP_VM_MAP);
		return NULL;
	}
	if (!vm->comm[0])
		bpf_get_current_comm(vm->comm, sizeof(vm->comm));
	return vm;
}

static __always_inline __u32 log2_u32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32(v);
}

static __always_inline void lat_add(__u32 tgid, __u32 what, __u64 ns)
{
	struct mmuprobe_vm *vm = vm_get(tgid);
	struct mmuprobe_lat_stat *s;
	__u32 slot;

	if (!vm)
		return;
	/* Callers pass what < LAT_NR; the mask (no compare, which the compiler would fold
	 * away) keeps the index provably inside the array for the verifier. */
	barrier_var(what);
	s = &vm->lat[what & (MMUPROBE_LAT_ARRAY - 1)];
	slot = log2_u64(ns);
	if (slot >= MMUPROBE_SLOTS)
		slot = MMUPROBE_SLOTS - 1;
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->sum, ns);
	__sync_fetch_and_add(&s->slots[slot], 1);
	if (ns > s->max)
		s->max = ns;	/* racy by design: a lost max is a near-equal one */
}

/* ---- KVM's own counters, read with CO-RE ------------------------------------------ */

static __always_inline void read_kvm_stat(struct kvm *kvm, struct mmuprobe_kvm_stat *st)
{
	st->kvm = (__u64)kvm;
	st->tgid = BPF_CORE_READ(kvm, userspace_pid);
	st->mmu_shadow_zapped = BPF_CORE_READ(kvm, stat.mmu_shadow_zapped);
	st->mmu_recycled = BPF_CORE_READ(kvm, stat.mmu_recycled);
	st->mmu_flooded = BPF_CORE_READ(kvm, stat.mmu_flooded);
	st->mmu_pte_write = BPF_CORE_READ(kvm, stat.mmu_pte_write);
	st->mmu_unsync = BPF_CORE_READ(kvm, stat.mmu_unsync);
	st->pages_4k = BPF_CORE_READ(kvm, stat.pages_4k.counter);
	st->pages_2m = BPF_CORE_READ(kvm, stat.pages_2m.counter);
	st->pages_1g = BPF_CORE_READ(kvm, stat.pages_1g.counter);
	st->remote_tlb_flush = BPF_CORE_READ(kvm, stat.generic.remote_tlb_flush);
	st->n_used_mmu_pages = BPF_CORE_READ(kvm, arch.n_used_mmu_pages);
	st->n_max_mmu_pages = BPF_CORE_READ(kvm, arch.n_max_mmu_pages);
}

/* A VM seen: remember its mmu_lock, take its baseline once, refresh its counters. */
static __always_inline void saw_kvm(struct kvm *kvm, __u64 now, bool force)
{
	__u64 key = (__u64)kvm, lock = (__u64)&kvm->mmu_lock;
	struct mmuprobe_kvm_stat st = {};
	struct mmuprobe_vm *vm;
	struct mmuprobe_kvm_first *f;
	__u32 tgid;

	if (!kvm)
		return;
	f = bpf_map_lookup_elem(&kvm_firsts, &key);
	if (f && !force && now - f->last_refresh < stat_interval_ns)
		return;
	read_kvm_stat(kvm, &st);
	tgid = st.tgid ? st.tgid : cur_tgid();
	vm = bpf_map_lookup_elem(&vms, &tgid);
	if (vm) {
		st.probe_zapped = vm->zapped;
		st.probe_recycled = vm->recycled;
	}
	if (!f) {
		struct mmuprobe_kvm_first nf = { .first = st, .last_refresh = now };

		bpf_map_update_elem(&kvm_firsts, &key, &nf, BPF_NOEXIST);
		bpf_map_update_elem(&mmu_locks, &lock, &tgid, BPF_ANY);
	} else {
		f->last_refresh = now;
	}
	bpf_map_update_elem(&kvm_stats, &key, &st, BPF_ANY);
}

/* The struct kvm behind a file descriptor of the current task, or NULL. */
static __always_inline struct kvm *kvm_of_fd(unsigned int fd, bool *is_vcpu)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds, *file;
	const void *fops;
	unsigned int max;

	fds = BPF_CORE_READ(task, files, fdt, fd);
	max = BPF_CORE_READ(task, files, fdt, max_fds);
	if (!fds || fd >= max)
		return NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	fops = BPF_CORE_READ(file, f_op, unlocked_ioctl);
	if (kvm_vm_ioctl_addr && (__u64)fops == kvm_vm_ioctl_addr) {
		*is_vcpu = false;
		return BPF_CORE_READ(file, private_data);
	}
	if (kvm_vcpu_ioctl_addr && (__u64)fops == kvm_vcpu_ioctl_addr) {
		struct kvm_vcpu *vcpu = BPF_CORE_READ(file, private_data);

		*is_vcpu = true;
		return BPF_CORE_READ(vcpu, kvm);
	}
	return NULL;
}

/* ---- ioctls: dirty-log harvest and dirty-log enable/disable, both tiers -------------- */

/*
 * Two ways in, one body: the syscalls:sys_{enter,exit}_ioctl trace events (CONFIG_FTRACE_
 * SYSCALLS; a perf buffer filled per ioctl before our program runs), used wherever they
 * exist, or tp_btf on the raw sys_enter/sys_exit tracepoints, keeping ioctl(2) by its
 * number. The loader prefers the trace events: they run with preemption off, while a
 * tp_btf program's bpf_task_storage_get() can fail its per-CPU trylock (see the loader).
 * Either way every syscall of every task goes through sys_enter/sys_exit while attached.
 * What the probes add to a dirty-log ioctl as its caller times it (tests/dirtylog_vmm,
 * 500 or 2000 gets and clears per run, medians of runs rotated with runs without probes):
 * TCG shadow test host, 9 runs each: get +66 us (tp_btf) vs +79 us (trace events) on a
 * 56 us ioctl, clear +35 vs +56 us; 6.18 PVM host, two sets of 15 and 21 runs: +1.3-1.9
 * us vs +1.7-2.4 us on a 2 us ioctl, within the spread between the sets. A 32-bit task's
 * syscall 16 (lchown16) passes the number test; its arguments are not a KVM fd and ioctl
 * number, so the fd check below drops it.
 */
#define NR_IOCTL 16	/* x86-64 */

static __always_inline int ioctl_begin(unsigned int fd, __u32 cmd, void *uarg)
{
	__u32 tgid = cur_tgid(), what, kind;
	struct inflight in = {}, *slot;
	__u64 now = bpf_ktime_get_ns();
	bool is_vcpu = false;
	struct kvm *kvm;
	__u32 region[2] = {};	/* slot, flags: the same prefix in both region structs */
	__u64 size = 0;

	if ((cmd & 0xff00) != 0xae00 || !wanted(tgid) || (cmd == KVM_RUN && stats_from_iter))
		return 0;
	kvm = kvm_of_fd(fd, &is_vcpu);
	if (!kvm)
		return 0;
	/* At most every stat_interval_ns, not on every VM ioctl: a full read of kvm->stat
	 * would be inside the time the caller measures (the iterator reads the rest). */
	saw_kvm(kvm, now, false);

	switch (cmd) {
	case KVM_GET_DIRTY_LOG:
	case KVM_CLEAR_DIRTY_LOG:
		bpf_probe_read_user(&in.slot, sizeof(in.slot), uarg);
		what = cmd == KVM_GET_DIRTY_LOG ? LAT_GET_DIRTY_LOG : LAT_CLEAR_DIRTY_LOG;
		kind = cmd == KVM_GET_DIRTY_LOG ? EV_GET_DIRTY_LOG : EV_CLEAR_DIRTY_LOG;
		break;
	case KVM_SET_USER_MEMORY_REGION:
	case KVM_SET_USER_MEMORY_REGION2: {
		struct slot_key sk = { .tgid = tgid };
		__u32 *old;

		bpf_probe_read_user(region, sizeof(region), uarg);
		bpf_probe_read_user(&size, sizeof(size), uarg + 16);
		sk.slot = region[0];
		old = bpf_map_lookup_elem(&slot_flags, &sk);
		in.slot = region[0];
		in.region = region[1] | (size ? 0 : 1ull << 32);
		if ((region[1] & KVM_MEM_LOG_DIRTY_PAGES) && size &&
		    !(old && (*old & KVM_MEM_LOG_DIRTY_PAGES))) {
			what = LAT_LOG_ENABLE;
			kind = EV_LOG_ENABLE;
		} else if (old && (*old & KVM_MEM_LOG_DIRTY_PAGES) &&
			   (!(region[1] & KVM_MEM_LOG_DIRTY_PAGES) || !size)) {
			what = LAT_LOG_DISABLE;
			kind = EV_LOG_DISABLE;
		} else {
			what = LAT_NR;	/* no dirty-log transition: only track the flags */
			kind = EV_NR;	/* and no event */
		}
		break;
	}
	default:
		return 0;
	}
	/* one ioctl at a time per thread */
	slot = bpf_task_storage_get(&ioctl_inflight, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!slot) {
		drop(DROP_INFLIGHT);
		return 0;
	}
	in.kind = kind | (what << 8);
	*slot = in;
	if (what == LAT_GET_DIRTY_LOG || what == LAT_CLEAR_DIRTY_LOG)
		__sync_fetch_and_add(&dirty_log_inflight, 1);
	slot->start = bpf_ktime_get_ns();	/* after our own work: not part of the ioctl */
	return 0;
}

static __always_inline int ioctl_end(long ret)
{
	__u32 tgid = cur_tgid(), what, kind;
	struct mmuprobe_event *e;
	struct inflight *in;
	__u64 now, d;

	in = ioctl_in_flight();
	if (!in)
		return 0;
	now = bpf_ktime_get_ns();
	d = now - in->start;
	what = in->kind >> 8;
	kind = in->kind & 0xff;
	if (what == LAT_GET_DIRTY_LOG || what == LAT_CLEAR_DIRTY_LOG)
		__sync_fetch_and_add(&dirty_log_inflight, -1);
	if (what == LAT_LOG_ENABLE || what == LAT_LOG_DISABLE || what == LAT_NR) {
		struct slot_key sk = { .tgid = tgid, .slot = in->slot };
		__u32 flags = (__u32)in->region;

		if (ret == 0) {
			if (in->region >> 32)
				bpf_map_delete_elem(&slot_flags, &sk);
			else
				bpf_map_update_elem(&slot_flags, &sk, &flags, BPF_ANY);
		}
	}
	if (what < LAT_NR && ret == 0) {
		lat_add(tgid, what, d);
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			e->ts = now;
			e->latency = d;
			e->pages = in->pages;
			e->tgid = tgid;
			e->kind = kind;
			e->slot = in->slot;
			e->ret = ret;
			/* No wakeup per event: the woken loader competes for the CPU with the
			 * thread still returning from the ioctl it timed (dlpt in a 2-CPU test
			 * host: a 65 us get-dirty-log took 490 us with a wakeup per event, 210 us
			 * without). The loader reads every 100 ms; a ring half full is worth a
			 * wakeup. */
			bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > RINGBUF_SIZE / 2 ?
					   BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
		} else {
			drop(DROP_RINGBUF);
		}
	}
	in->start = 0;
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(ioctl_enter_btf, struct pt_regs *regs, long id)
{
	if (id != NR_IOCTL)
		return 0;
	return ioctl_begin((unsigned int)regs->di, (__u32)regs->si, (void *)regs->dx);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(ioctl_exit_btf, struct pt_regs *regs, long ret)
{
	if (regs->orig_ax != NR_IOCTL)
		return 0;
	return ioctl_end(ret);
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int ioctl_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return ioctl_begin((unsigned int)ctx->args[0], (__u32)ctx->args[1], (void *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int ioctl_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return ioctl_end(ctx->ret);
}

/* ---- --sp-trace: the string of shadow-page lookups and zaps ----------------------------- */

static __always_inline void sp_emit(struct kvm_mmu_page *sp, __u32 tgid, __u8 op, __s32 stackid)
{
	struct mmuprobe_sp_event *e = bpf_ringbuf_reserve(&sp_events, sizeof(*e), 0);

	if (!e) {
		drop(DROP_SP_RINGBUF);
		return;
	}
	e->gfn = BPF_CORE_READ(sp, gfn);
	e->role = BPF_CORE_READ(sp, role.word);
	e->gen = BPF_CORE_READ(sp, mmu_valid_gen);
	e->tgid = tgid;
	e->stackid = stackid;
	e->op = op;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int handle_get_page(struct kvm_mmu_page *sp, bool created)
{
	__u32 tgid = cur_tgid();

	if (!sp_trace || !sp || !wanted(tgid))
		return 0;
	sp_emit(sp, tgid, created ? 'C' : 'G', -1);
	return 0;
}

SEC("tp_btf/kvm_mmu_get_page")
int BPF_PROG(sp_get_btf, struct kvm_mmu_page *sp, bool created)
{
	return handle_get_page(sp, created);
}

SEC("raw_tp/kvm_mmu_get_page")
int BPF_PROG(sp_get_raw, struct kvm_mmu_page *sp, bool created)
{
	return handle_get_page(sp, created);
}

/* ---- shadow-page zaps, by stack (the reason) and kind ----------------------------- */

static __always_inline int handle_zap(void *ctx, struct kvm_mmu_page *sp)
{
	struct mmuprobe_zap_key key = {};
	struct mmuprobe_vm *vm;
	__u64 one = 1, *n;

	key.tgid = cur_tgid();
	if (!sp || !wanted(key.tgid))	/* tp_btf args may be NULL to the verifier */
		return 0;
	/* The whole access path in the field argument: the relocation is an offset from
	 * sp, so (&sp->role, level) would count role's offset twice. */
	key.level = BPF_CORE_READ_BITFIELD_PROBED(sp, role.level);
	key.direct = BPF_CORE_READ_BITFIELD_PROBED(sp, role.direct);
	key.unsync = BPF_CORE_READ(sp, unsync);
	key.root = BPF_CORE_READ(sp, root_count) != 0;
	key.stackid = bpf_get_stackid(ctx, &stacks, 0);
	if (key.stackid < 0)
		drop(DROP_STACK);
	if (sp_trace)
		sp_emit(sp, key.tgid, 'Z', key.stackid);
	vm = vm_get(key.tgid);
	if (vm)
		__sync_fetch_and_add(&vm->zapped, 1);
	n = bpf_map_lookup_elem(&zaps, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&zaps, &key, &one, BPF_NOEXIST))
		drop(DROP_ZAP_MAP);
	return 0;
}

SEC("tp_btf/kvm_mmu_prepare_zap_page")
int BPF_PROG(zap_btf, struct kvm_mmu_page *sp)
{
	return handle_zap(ctx, sp);
}

SEC("raw_tp/kvm_mmu_prepare_zap_page")
int BPF_PROG(zap_raw, struct kvm_mmu_page *sp)
{
	return handle_zap(ctx, sp);
}

/* ---- vCPU page faults --------------------------------------------------------------- */

static __always_inline int handle_fault(struct kvm_vcpu *vcpu)
{
	__u32 tgid = cur_tgid();
	struct mmuprobe_vm *vm;

	if (!wanted(tgid))
		return 0;
	vm = vm_get(tgid);
	if (vm)
		__sync_fetch_and_add(&vm->page_faults, 1);
	return 0;
}

SEC("tp_btf/kvm_page_fault")
int BPF_PROG(fault_btf, struct kvm_vcpu *vcpu, __u64 addr, __u64 error_code)
{
	return handle_fault(vcpu);
}

SEC("raw_tp/kvm_page_fault")
int BPF_PROG(fault_raw, struct kvm_vcpu *vcpu, __u64 addr, __u64 error_code)
{
	return handle_fault(vcpu);
}

/* ---- mmu_lock contention (both tiers) -------------------------------------------------- */

static __always_inline int contention_begin(void *lock, unsigned int flags)
{
	__u64 addr = (__u64)lock;
	__u32 zero = 0, *tgid;
	struct wait *w;

	tgid = bpf_map_lookup_elem(&mmu_locks, &addr);
	if (!tgid)
		return 0;
	w = bpf_map_lookup_elem(&waits, &zero);
	if (!w)
		return 0;
	w->lock = addr;
	w->tgid = *tgid;
	w->kind = (flags & LCB_F_WRITE) ? LAT_LOCK_WAIT_WRITE : LAT_LOCK_WAIT_READ;
	w->start = bpf_ktime_get_ns();
	return 0;
}

/* Runs with mmu_lock just taken: a per-CPU slot, no hash lookup inside the critical section. */
static __always_inline int contention_end(void *lock)
{
	__u32 zero = 0;
	struct wait *w = bpf_map_lookup_elem(&waits, &zero);
	struct hold *h;
	__u64 now;

	if (!w || w->lock != (__u64)lock)
		return 0;
	now = bpf_ktime_get_ns();
	w->lock = 0;
	lat_add(w->tgid, w->kind, now - w->start);
	/* The hold timed from the lock function's entry starts now. */
	h = bpf_map_lookup_elem(&holds, &zero);
	if (h && h->lock == (__u64)lock)
		h->start = now;
	return 0;
}

SEC("tp_btf/contention_begin")
int BPF_PROG(contention_begin_btf, void *lock, unsigned int flags)
{
	return contention_begin(lock, flags);
}

SEC("raw_tp/contention_begin")
int BPF_PROG(contention_begin_raw, void *lock, unsigned int flags)
{
	return contention_begin(lock, flags);
}

SEC("tp_btf/contention_end")
int BPF_PROG(contention_end_btf, void *lock, int ret)
{
	return contention_end(lock);
}

SEC("raw_tp/contention_end")
int BPF_PROG(contention_end_raw, void *lock, int ret)
{
	return contention_end(lock);
}

/* ---- full tier: fentry/fexit ----------------------------------------------------------- */

SEC("fexit/kvm_mmu_zap_oldest_mmu_pages")
int BPF_PROG(recycle_exit, struct kvm *kvm, unsigned long nr_to_zap, unsigned long ret)
{
	__u32 tgid = cur_tgid();
	struct mmuprobe_vm *vm;

	if (!wanted(tgid))
		return 0;
	vm = vm_get(tgid);
	if (vm) {
		__sync_fetch_and_add(&vm->recycled, ret);
		__sync_fetch_and_add(&vm->recycle_calls, 1);
	}
	return 0;
}

SEC("fentry/kvm_arch_mmu_enable_log_dirty_pt_masked")
int BPF_PROG(harvest_mask, struct kvm *kvm, struct kvm_memory_slot *slot, __u64 gfn_offset,
	     unsigned long mask)
{
	__u32 tgid = cur_tgid();
	__u64 pages = __builtin_popcountl(mask);
	struct mmuprobe_vm *vm;
	struct inflight *in;

	if (!wanted(tgid))
		return 0;
	vm = vm_get(tgid);
	if (vm)
		__sync_fetch_and_add(&vm->harvested_pages, pages);
	in = ioctl_in_flight();
	if (in)
		in->pages += pages;
	return 0;
}

static __always_inline void timed_enter(__u32 what)
{
	struct inflight_key key = { .tid = (__u32)bpf_get_current_pid_tgid(), .what = what };
	struct inflight in = { .start = bpf_ktime_get_ns() };

	if (bpf_map_update_elem(&inflights, &key, &in, BPF_ANY))
		drop(DROP_INFLIGHT);
}

static __always_inline void timed_exit(__u32 what)
{
	struct inflight_key key = { .tid = (__u32)bpf_get_current_pid_tgid(), .what = what };
	struct inflight *in = bpf_map_lookup_elem(&inflights, &key);

	if (!in)
		return;
	lat_add(cur_tgid(), what, bpf_ktime_get_ns() - in->start);
	bpf_map_delete_elem(&inflights, &key);
}

SEC("fentry/kvm_mmu_zap_collapsible_sptes")
int BPF_PROG(collapse_enter)
{
	if (wanted(cur_tgid()))
		timed_enter(LAT_COLLAPSE);
	return 0;
}

SEC("fexit/kvm_mmu_zap_collapsible_sptes")
int BPF_PROG(collapse_exit)
{
	timed_exit(LAT_COLLAPSE);
	return 0;
}

SEC("fentry/kvm_mmu_page_fault")
int BPF_PROG(page_fault_enter, struct kvm_vcpu *vcpu)
{
	if (!vcpu || !wanted(cur_tgid()))
		return 0;
	if (!stats_from_iter)
		saw_kvm(BPF_CORE_READ(vcpu, kvm), bpf_ktime_get_ns(), false);
	timed_enter(LAT_PAGE_FAULT);
	return 0;
}

SEC("fexit/kvm_mmu_page_fault")
int BPF_PROG(page_fault_exit)
{
	timed_exit(LAT_PAGE_FAULT);
	return 0;
}

/* mmu_lock hold times: from fentry of the lock function (or from lock:contention_end when
 * it had to wait) to fentry of the unlock function. fentry, not fexit: an fexit trampoline
 * calls the lock function itself and costs about twice as much on this hot path. Holders
 * run with preemption off, so one slot per CPU suffices; a holder preempted between our
 * program and the lock function's preempt_disable() (preemptible kernels only) is lost,
 * never misattributed: its release on another CPU does not match that CPU's slot. */
static __always_inline void lock_acquired(void *ctx, void *lock, __u32 write)
{
	__u64 addr = (__u64)lock;
	__u32 zero = 0, *tgid;
	struct hold *h;

	tgid = bpf_map_lookup_elem(&mmu_locks, &addr);
	if (!tgid)
		return;
	h = bpf_map_lookup_elem(&holds, &zero);
	if (!h)
		return;
	h->lock = addr;
	h->start = bpf_ktime_get_ns();
	h->tgid = *tgid;
	h->write = write;
	h->stackid = -2;
	if (holder_sample <= 1 || h->seq++ % holder_sample == 0) {
		h->stackid = bpf_get_stackid(ctx, &stacks, 0);
		if (h->stackid < 0)
			drop(DROP_STACK);
	}
}

static __always_inline void lock_released(void *lock, __u32 write)
{
	struct mmuprobe_holder_key key = {};
	struct mmuprobe_holder *hv, nv = {};
	__u32 zero = 0;
	struct hold *h;
	__u64 d;

	h = bpf_map_lookup_elem(&holds, &zero);
	if (!h || h->lock != (__u64)lock || h->write != write)
		return;
	d = bpf_ktime_get_ns() - h->start;
	h->lock = 0;
	lat_add(h->tgid, write ? LAT_LOCK_HOLD_WRITE : LAT_LOCK_HOLD_READ, d);
	if (write) {
		/* The holds of the dirty-log ioctls: this thread is inside one. */
		struct inflight *in = NULL;

		if (dirty_log_inflight)
			in = ioctl_in_flight();
		if (in && ((in->kind >> 8) == LAT_GET_DIRTY_LOG || (in->kind >> 8) == LAT_CLEAR_DIRTY_LOG))
			lat_add(h->tgid, LAT_LOCK_HOLD_WRITE_DIRTY_LOG, d);
	}
	if (h->stackid == -2)
		return;
	key.tgid = h->tgid;
	key.stackid = h->stackid;
	key.write = write;
	hv = bpf_map_lookup_elem(&holders, &key);
	if (!hv) {
		bpf_map_update_elem(&holders, &key, &nv, BPF_NOEXIST);
		hv = bpf_map_lookup_elem(&holders, &key);
		if (!hv) {
			drop(DROP_HOLDER_MAP);
			return;
		}
	}
	__sync_fetch_and_add(&hv->count, 1);
	__sync_fetch_and_add(&hv->sum, d);
	if (d > hv->max)
		hv->max = d;
}

SEC("fentry/_raw_write_lock")
int BPF_PROG(write_lock_enter, rwlock_t *lock)
{
	lock_acquired(ctx, lock, 1);
	return 0;
}

SEC("fentry/_raw_write_unlock")
int BPF_PROG(write_unlock_enter, rwlock_t *lock)
{
	lock_released(lock, 1);
	return 0;
}

SEC("fentry/_raw_read_lock")
int BPF_PROG(read_lock_enter, rwlock_t *lock)
{
	lock_acquired(ctx, lock, 0);
	return 0;
}

SEC("fentry/_raw_read_unlock")
int BPF_PROG(read_unlock_enter, rwlock_t *lock)
{
	lock_released(lock, 0);
	return 0;
}

/* ---- iterator: KVM's counters of every VM, at start, end and each --interval ---------- */

SEC("iter/task_file")
int dump_kvm(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct file *file = ctx->file;
	struct mmuprobe_kvm_stat *copy;
	struct kvm *kvm;
	__u64 key;

	if (!file || !kvm_vm_ioctl_addr ||
	    (__u64)BPF_CORE_READ(file, f_op, unlocked_ioctl) != kvm_vm_ioctl_addr)
		return 0;
	kvm = file->private_data;
	if (!kvm)
		return 0;
	if (!wanted(BPF_CORE_READ(kvm, userspace_pid)))
		return 0;
	saw_kvm(kvm, bpf_ktime_get_ns(), true);
	key = (__u64)kvm;
	copy = bpf_map_lookup_elem(&kvm_stats, &key);
	if (copy)
		bpf_seq_write(seq, copy, sizeof(*copy));
	return 0;
}
