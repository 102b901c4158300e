// SPDX-License-Identifier: GPL-2.0
/*
 * huge_wrprot_race_test: a guest page table written through a stale writable 2M TLB
 * entry while KVM_CLEAR_DIRTY_LOG write-protects huge SPTEs without mmu_lock.
 *
 * Built against the KVM selftests library of the kernel tree under test:
 * testhost/build-selftests links it as $selftests/mmuscope/huge_wrprot_race_test
 * (testhost/tests/tests.mk).
 *
 * The interleaving was found in the review of kernel-patches/0006 (finding B1, fixed by
 * mmuscope commit 3727847): with KVM_DIRTY_LOG_INITIALLY_SET, KVM_CLEAR_DIRTY_LOG
 * write-protects the huge SPTEs at both ends of each cleared 64-page word
 * (kvm_mmu_dirty_log_wrprot_huge()), and patch 6 does that without mmu_lock, flushing
 * TLBs only once the whole bitmap has been walked. Its first version cleared
 * MMU-writable along with W on those huge SPTEs:
 *
 *   CLEAR thread        cmpxchg's the huge SPTE H that maps gfn g: !W, !MMU-writable.
 *                       vCPU1 still holds a writable 2M TLB entry for H.
 *   vCPU0 (mmu_lock)    g becomes a guest page table: account_shadowed() ->
 *                       kvm_mmu_slot_gfn_write_protect() -> spte_write_protect(H)
 *                       finds H neither W nor MMU-writable: no change, NO TLB flush.
 *   vCPU1               writes a PTE in g through its stale TLB entry: no trap, so
 *                       the shadow page of g, synced, keeps the old translation.
 *   vCPU0               INVLPG (which does not re-read the guest PTE of a synced
 *                       shadow page) and read: the OLD frame.
 *   CLEAR thread        flushes the TLBs: too late.
 *
 * With the fix, H stays MMU-writable, the lock holder's mmu_spte_update() asks for the
 * flush, vCPU1's write to g traps (KVM unsyncs g or emulates the write), and vCPU0
 * sees the new PTE after INVLPG.
 *
 * One round:
 *   host   dirty logging off on the test slot; a memslot move of a 1-page dummy slot
 *          zaps every shadow page (KVM_X86_QUIRK_SLOT_ZAP_ALL), so that no gfn of R,
 *          the first 2M page of the slot, is shadowed any more and KVM may map R huge
 *          again; g's PTE back to frame A. Releases both vCPUs.
 *   vCPU1  writes g (a scratch, non-present entry): with logging off, KVM maps R
 *          with a writable 2M SPTE H; "ready"; keeps writing g, which keeps its
 *          writable TLB entry for g alive.
 *   host   checks pages_2m >= 1, dirty logging on (initially-set: nothing is
 *          write-protected), waits until vCPU1 wrote g again after the kick of that
 *          memslot update, "go", then KVM_CLEAR_DIRTY_LOG of every page of the slot:
 *          the first 64-page word write-protects H, the TLB flush comes after the
 *          last word, so the bigger the slot (-b), the longer the window.
 *   vCPU0  on "go", waits a random delay (0..-w % of the mean CLEAR time, in TSC
 *          cycles), then reads the test VA, whose PDE points at g: KVM shadows g
 *          (account_shadowed). "shadowed".
 *   vCPU1  on "shadowed", rewrites the test VA's PTE in g, through R's 2M mapping,
 *          from frame A to frame B. "written".
 *   vCPU0  on "written", INVLPG of the test VA and a read: must be B's marker.
 * The host records whether "shadowed" and "written" were already set when the CLEAR
 * ioctl returned: "written" before the return means the whole interleaving ran inside
 * the CLEAR, which a round must do to catch the bug.
 *
 * Needs shadow paging (kvm_amd npt=0, kvm_intel ept=0), 2M hugetlb pages for the slot,
 * and 3 CPUs: vCPU1 must stay in guest mode from before the CLEAR reaches H until its
 * PTE write (any exit of it to KVM ends its TLB entry: under TCG and nested SVM every
 * VMRUN/#VMEXIT flushes), while vCPU0 takes its fault and the CLEAR is still walking.
 */
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#include "mmuscope_tests.h"
#include "../../include/monoclock.h"

#define TEST_SLOT		1
#define DUMMY_SLOT		2
/* Above the library's slot 0; the test slot is mapped 1:1 (GVA == GPA) with 2M pages. */
#define TEST_GPA		(4ull << 30)
#define MAX_SLOT_SIZE		(1ull << 30)
#define DUMMY_GPA		(TEST_GPA + MAX_SLOT_SIZE)
/* A VA of its own: its PDE points at g, the guest page table inside R. */
#define TEST_GVA		(TEST_GPA + 2 * MAX_SLOT_SIZE)
/* g: the 4K page at 1M into R; the PTE of TEST_GVA is its entry 0. */
#define G_OFFSET		(1ull << 20)
#define PTE_IDX			0
/* vCPU1's scratch writes: a non-present entry, outside KVM's prefetch of entry 0. */
#define SCRATCH_IDX		511

#define MARK_A			0xaaaaaaaaaaaa0001ull
#define MARK_B			0xbbbbbbbbbbbb0002ull

#define WAIT_TIMEOUT_S		120

/* Flags shared by host and guest: each holds the round it was last set in. */
struct race_shared {
	uint64_t round;		/* host: the round the vCPUs run when released */
	uint64_t delay;		/* host: TSC cycles vCPU0 waits after "go" */
	uint64_t go;		/* host: the CLEAR of this round is about to start */
	uint64_t ready;		/* vCPU1: wrote R with dirty logging off */
	uint64_t logging_on;	/* host: dirty logging is on again */
	uint64_t logging_ack;	/* vCPU1: wrote g after it saw logging_on */
	uint64_t shadowed;	/* vCPU0: its first read of TEST_GVA returned */
	uint64_t written;	/* vCPU1: rewrote the PTE in g */
	uint64_t seen;		/* vCPU0: what TEST_GVA read after INVLPG */
	uint64_t fault_cycles;	/* vCPU0: TSC cycles of its first (faulting) read */
	uint64_t write_cycles;	/* vCPU1: TSC cycles of its PTE write */
	uint64_t stall_cycles;	/* vCPU1: longest gap between its writes to g after the ack */
};

static struct race_shared shared;
/* Set by the host before the vCPUs first run (sync_global_to_guest). */
static uint64_t g_gva;
static uint64_t pte_b;

struct test_params {
	uint64_t slot_size;
	unsigned int seconds;
	uint64_t rounds;	/* 0: run for @seconds */
	unsigned int delay_pct;
	unsigned int print_every;
	unsigned int seed;
	bool force;
};

struct vcpu_thread {
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	sem_t go, done;
	int pcpu;		/* -1: not pinned */
	int id;
};

static struct vcpu_thread vcpu_threads[2];
static pthread_barrier_t start_barrier;
static struct race_shared *hs;	/* the guest's copy of @shared */
static uint64_t cur_round;
static bool stop_vcpus;

static void guest_invlpg(uint64_t gva)
{
	asm volatile("invlpg (%0)" : : "r"(gva) : "memory");
}

static void guest_vcpu0(uint64_t r)
{
	volatile uint64_t *va = (volatile uint64_t *)TEST_GVA;
	uint64_t t, v;

	while (READ_ONCE(shared.go) != r)
		;
	t = rdtsc();
	while (rdtsc() - t < READ_ONCE(shared.delay))
		;

	/* The first access of the round: KVM shadows g, the page table of TEST_GVA. */
	t = rdtsc();
	v = *va;
	WRITE_ONCE(shared.fault_cycles, rdtsc() - t);
	WRITE_ONCE(shared.shadowed, r);
	GUEST_ASSERT_EQ(v, MARK_A);

	while (READ_ONCE(shared.written) != r)
		;
	guest_invlpg(TEST_GVA);
	WRITE_ONCE(shared.seen, *va);
}

static void guest_vcpu1(uint64_t r)
{
	volatile uint64_t *pt = (volatile uint64_t *)g_gva;
	uint64_t n = 0, t, last, stall = 0;
	bool acked = false;

	/* Faults: with dirty logging off and nothing shadowed in R, KVM maps R huge. */
	pt[SCRATCH_IDX] = 0;
	WRITE_ONCE(shared.ready, r);

	/*
	 * Keep writing g, so that a writable TLB entry for it is there whenever the CLEAR
	 * write-protects H. Turning logging on kicked this vCPU out of the guest (every
	 * memslot update does, kvm_arch_memslots_updated()), which under nested SVM or TCG
	 * flushes its TLB: write g again after seeing logging_on, and only then ack, so that
	 * the host starts the CLEAR with the entry in place. No PAUSE (a pause-loop exit
	 * would drop the entry). The longest gap between two writes shows an exit.
	 */
	last = rdtsc();
	while (READ_ONCE(shared.shadowed) != r) {
		if (!acked && READ_ONCE(shared.logging_on) == r) {
			pt[SCRATCH_IDX] = ++n << 12;
			WRITE_ONCE(shared.logging_ack, r);
			acked = true;
			stall = 0;
			last = rdtsc();
		}
		pt[SCRATCH_IDX] = ++n << 12;
		t = rdtsc();
		if (t - last > stall)
			stall = t - last;
		last = t;
	}

	t = rdtsc();
	pt[PTE_IDX] = pte_b;
	WRITE_ONCE(shared.write_cycles, rdtsc() - t);
	WRITE_ONCE(shared.stall_cycles, stall);
	WRITE_ONCE(shared.written, r);
}

static void guest_code(uint64_t id)
{
	uint64_t r;

	for (r = 1;; r++) {
		GUEST_ASSERT_EQ(READ_ONCE(shared.round), r);
		if (id == 0)
			guest_vcpu0(r);
		else
			guest_vcpu1(r);
		GUEST_SYNC(r);
	}
}

static void *vcpu_thread_main(void *arg)
{
	struct vcpu_thread *t = arg;
	struct ucall uc;

	if (t->pcpu >= 0)
		kvm_pin_this_task_to_pcpu(t->pcpu);
	pthread_barrier_wait(&start_barrier);

	for (;;) {
		sem_wait(&t->go);
		if (READ_ONCE(stop_vcpus))
			break;
		vcpu_run(t->vcpu);
		switch (get_ucall(t->vcpu, &uc)) {
		case UCALL_SYNC:
			TEST_ASSERT(uc.args[1] == READ_ONCE(cur_round),
				    "vCPU%d finished round %lu in round %lu", t->id,
				    (unsigned long)uc.args[1], (unsigned long)READ_ONCE(cur_round));
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			TEST_FAIL("vCPU%d: unexpected exit %s (ucall %lu)", t->id,
				  exit_reason_str(t->vcpu->run->exit_reason), (unsigned long)uc.cmd);
		}
		sem_post(&t->done);
	}
	return NULL;
}

static void wait_vcpu_done(struct vcpu_thread *t, uint64_t round)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_TIMEOUT_S;
	while (sem_timedwait(&t->done, &ts)) {
		TEST_ASSERT(errno == EINTR, "round %lu: vCPU%d did not finish within %d s",
			    (unsigned long)round, t->id, WAIT_TIMEOUT_S);
	}
}

static void wait_guest_flag(uint64_t *flag, uint64_t round, const char *what)
{
	uint64_t start = mono_ns();
	unsigned long spins = 0;

	while (READ_ONCE(*flag) != round) {
		if (++spins % 1024)
			continue;
		TEST_ASSERT(mono_ns() - start < WAIT_TIMEOUT_S * NSEC_PER_SEC,
			    "round %lu: %s did not happen within %d s", (unsigned long)round,
			    what, WAIT_TIMEOUT_S);
		sched_yield();
	}
}

static void require_shadow_paging(void)
{
	const char *param = host_cpu_is_intel ? "/sys/module/kvm_intel/parameters/ept" :
						"/sys/module/kvm_amd/parameters/npt";

	__TEST_REQUIRE(host_cpu_is_intel || host_cpu_is_amd,
		       "neither an Intel nor an AMD host: cannot tell whether KVM uses TDP");
	__TEST_REQUIRE(!access(param, R_OK),
		       "%s is missing (%s not loaded): cannot tell whether KVM shadows guest page tables",
		       param, host_cpu_is_intel ? "kvm_intel" : "kvm_amd");
	__TEST_REQUIRE(!kvm_is_tdp_enabled(),
		       "TDP is on (%s=Y): the race needs shadow paging (kvm_amd npt=0, kvm_intel ept=0)",
		       param);
}

/*
 * kvm.dirty_log_wrprot_lockless (patch 6): 1 if set, 0 if not, -1 without the parameter.
 * Read when a VM is created: the VM of this test uses the value read before it.
 */
static int lockless_clear(void)
{
	FILE *f = fopen("/sys/module/kvm/parameters/dirty_log_wrprot_lockless", "r");
	int c;

	if (!f)
		return -1;
	c = fgetc(f);
	fclose(f);
	return c == 'Y' || c == 'y' || c == '1';
}

/* The allowed CPUs, the first @max of them in @cpus; returns how many are allowed. */
static int usable_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int c, n = 0;

	TEST_ASSERT(!sched_getaffinity(0, sizeof(set), &set), "sched_getaffinity() failed");
	for (c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return CPU_COUNT(&set);
}

/*
 * Move the dummy slot: KVM_MR_MOVE makes kvm_arch_flush_shadow_memslot() zap every
 * shadow page (KVM_X86_QUIRK_SLOT_ZAP_ALL), g's included, which gives R back its huge
 * mapping (account_shadowed() disallowed it).
 */
static void zap_all_shadow_pages(struct kvm_vm *vm, void *dummy_hva, uint64_t round)
{
	vm_set_user_memory_region(vm, DUMMY_SLOT, 0, DUMMY_GPA + (round & 1) * PG_SIZE_2M,
				  getpagesize(), dummy_hva);
}

static void help(const char *name)
{
	puts("");
	printf("usage: %s [-h] [-b slot size] [-s seconds] [-n rounds] [-w percent]\n"
	       "       [-p rounds] [-r seed] [-f]\n", name);
	puts("");
	printf(" Catches a guest page table written through a stale writable 2M TLB entry\n"
	       " after KVM_CLEAR_DIRTY_LOG (initially-set) write-protected the huge SPTE\n"
	       " without mmu_lock and an mmu_lock holder skipped its TLB flush when it\n"
	       " shadowed that page (kernel-patches/0006 before review finding B1).\n"
	       " Needs shadow paging (kvm_amd npt=0 or kvm_intel ept=0), 3 CPUs and\n"
	       " 2M hugetlb pages. Exit 0: no stale translation, and with a lockless\n"
	       " CLEAR (kvm.dirty_log_wrprot_lockless=Y) the interleaving completed inside\n"
	       " a CLEAR at least once; 4 (skip): it could not run, or a lockless CLEAR\n"
	       " never had the interleaving inside it (nothing was tested).\n");
	puts("");
	printf(" -b: size of the test memslot, a multiple of 2M up to 1G (default: 128M).\n"
	       "     Backed by 2M hugetlb pages: reserve SIZE/2M of them first, e.g.\n"
	       "     echo 64 >/proc/sys/vm/nr_hugepages for 128M (run-selftests reserves\n"
	       "     HUGETLB_PAGES, 192 by default). Every round clears the dirty log of\n"
	       "     the whole slot; the huge SPTE under test is write-protected by its\n"
	       "     first word and the TLB flush comes after its last, so a bigger slot\n"
	       "     means a longer window.\n");
	printf(" -s: run rounds for this many seconds (default: 20)\n");
	printf(" -n: run exactly this many rounds instead\n");
	printf(" -w: vCPU0 shadows the page table after a random delay from the CLEAR's\n"
	       "     start, up to this percentage of the mean CLEAR time (default: 25)\n");
	printf(" -p: print a line every this many rounds (default: 100)\n");
	printf(" -r: seed of the delays (default: 1)\n");
	printf(" -f: run even with fewer than 3 usable CPUs (the window then needs the\n"
	       "     CLEAR to be preempted: preempt=full at least)\n");
	puts("");
	exit(0);
}

int main(int argc, char *argv[])
{
	struct test_params p = {
		.slot_size = 128ull << 20,
		.seconds = 20,
		.delay_pct = 25,
		.print_every = 100,
		.seed = 1,
	};
	uint64_t want_caps = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;
	uint64_t npages, g_gpa, a_gva, b_gva, pte_a, *g_hva, *pde;
	uint64_t r, start, clear_ns_sum = 0, clear_ns_max = 0, clear_cycles_avg = 0;
	uint64_t fault_sum = 0, shadowed_inside = 0, written_inside = 0;
	struct kvm_vcpu *vcpus[2];
	unsigned long *bitmap;
	int cpus[3], ncpus, host_cpu = -1, level, opt, i, lockless;
	long huge_free;
	void *dummy_hva;
	struct kvm_vm *vm;

	setvbuf(stdout, NULL, _IOLBF, 0);

	while ((opt = getopt(argc, argv, "hb:s:n:w:p:r:f")) != -1) {
		switch (opt) {
		case 'b':
			p.slot_size = parse_size(optarg);
			break;
		case 's':
			p.seconds = atoi_positive("Seconds", optarg);
			break;
		case 'n':
			p.rounds = atoi_positive("Rounds", optarg);
			break;
		case 'w':
			p.delay_pct = atoi_non_negative("Delay percentage", optarg);
			break;
		case 'p':
			p.print_every = atoi_positive("Print interval", optarg);
			break;
		case 'r':
			p.seed = atoi_non_negative("Seed", optarg);
			break;
		case 'f':
			p.force = true;
			break;
		case 'h':
		default:
			help(argv[0]);
		}
	}
	TEST_ASSERT(p.slot_size && !(p.slot_size % PG_SIZE_2M) && p.slot_size <= MAX_SLOT_SIZE,
		    "-b must be a multiple of 2M up to 1G, got %lu", (unsigned long)p.slot_size);
	npages = p.slot_size / PG_SIZE_4K;

	require_shadow_paging();
	__TEST_REQUIRE((kvm_check_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) & want_caps) == want_caps,
		       "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 without MANUAL_PROTECT_ENABLE | INITIALLY_SET");

	ncpus = usable_cpus(cpus, 3);
	__TEST_REQUIRE(ncpus >= 3 || p.force,
		       "%d usable CPU(s): the CLEAR thread and both vCPUs must run at once (3 CPUs, e.g. testhost --smp=3; -f runs anyway)",
		       ncpus);
	if (ncpus >= 3) {
		host_cpu = cpus[0];
		vcpu_threads[0].pcpu = cpus[1];
		vcpu_threads[1].pcpu = cpus[2];
	} else if (ncpus == 2) {
		/* vCPU1 alone; vCPU0 can then only shadow g if the CLEAR is preempted. */
		host_cpu = cpus[0];
		vcpu_threads[0].pcpu = cpus[0];
		vcpu_threads[1].pcpu = cpus[1];
	} else {
		vcpu_threads[0].pcpu = vcpu_threads[1].pcpu = -1;
	}

	huge_free = free_huge_2m_pages();
	__TEST_REQUIRE(huge_free >= (long)(p.slot_size / PG_SIZE_2M),
		       "%ld free 2M hugetlb pages, the %lu MiB slot needs %lu (see -h)",
		       huge_free, (unsigned long)(p.slot_size >> 20),
		       (unsigned long)(p.slot_size / PG_SIZE_2M));

	if (host_cpu >= 0)
		kvm_pin_this_task_to_pcpu(host_cpu);
	srandom(p.seed);

	lockless = lockless_clear();
	vm = __vm_create_with_vcpus(VM_SHAPE_DEFAULT, 2, npages, guest_code, vcpus);
	TEST_ASSERT(((DUMMY_GPA + PG_SIZE_2M) >> vm->page_shift) <= vm->max_gfn,
		    "GPA 0x%llx is beyond the VM's physical address space",
		    DUMMY_GPA + PG_SIZE_2M);
	vm_enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, want_caps);

	/* The test slot, dirty logging off, mapped 1:1 with 2M guest pages. */
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB, TEST_GPA, TEST_SLOT,
				    npages, 0);
	virt_map_level(vm, TEST_GPA, TEST_GPA, p.slot_size, PG_LEVEL_2M);
	dummy_hva = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(dummy_hva != MAP_FAILED, "mmap() of the dummy slot failed");
	zap_all_shadow_pages(vm, dummy_hva, 0);

	/* Frames A and B, each with its marker. */
	a_gva = vm_vaddr_alloc_page(vm);
	b_gva = vm_vaddr_alloc_page(vm);
	*(uint64_t *)addr_gva2hva(vm, a_gva) = MARK_A;
	*(uint64_t *)addr_gva2hva(vm, b_gva) = MARK_B;
	pte_a = addr_gva2gpa(vm, a_gva) | PTE_PRESENT_MASK | PTE_ACCESSED_MASK;
	pte_b = addr_gva2gpa(vm, b_gva) | PTE_PRESENT_MASK | PTE_ACCESSED_MASK;

	/*
	 * TEST_GVA: let the library build its upper levels, then point its PDE at g, a
	 * page of R, instead of the page table the library allocated.
	 */
	g_gpa = TEST_GPA + G_OFFSET;
	g_gva = g_gpa;
	g_hva = addr_gpa2hva(vm, g_gpa);
	virt_pg_map(vm, TEST_GVA, addr_gva2gpa(vm, a_gva));
	level = PG_LEVEL_2M;
	pde = __vm_get_page_table_entry(vm, TEST_GVA, &level);
	*pde = g_gpa | PTE_PRESENT_MASK | PTE_WRITABLE_MASK | PTE_ACCESSED_MASK;
	memset(g_hva, 0, PG_SIZE_4K);

	sync_global_to_guest(vm, g_gva);
	sync_global_to_guest(vm, pte_b);
	hs = addr_gva2hva(vm, (vm_vaddr_t)&shared);

	bitmap = malloc(npages / 8);
	TEST_ASSERT(bitmap, "out of memory");
	memset(bitmap, 0xff, npages / 8);

	pr_info("slot: %lu MiB of 2M hugetlb at GPA 0x%llx; page table g at 0x%lx in its first 2M page\n",
		(unsigned long)(p.slot_size >> 20), TEST_GPA, (unsigned long)g_gpa);
	pr_info("CPUs: %d usable; host on %d, vCPU0 on %d, vCPU1 on %d (-1: not pinned)\n",
		ncpus, host_cpu, vcpu_threads[0].pcpu, vcpu_threads[1].pcpu);
	pr_info("kvm.dirty_log_wrprot_lockless: %s\n",
		lockless == 1 ? "Y (the CLEAR walks without mmu_lock)" :
		lockless == 0 ? "N (the CLEAR holds mmu_lock)" :
		"absent (a kernel without patch 6: the CLEAR holds mmu_lock)");
	if (ncpus < 3)
		pr_info("NOTE: fewer than 3 CPUs (-f): the window is only reachable if the CLEAR is preempted\n");

	pthread_barrier_init(&start_barrier, NULL, 3);
	for (i = 0; i < 2; i++) {
		vcpu_threads[i].vcpu = vcpus[i];
		vcpu_threads[i].id = i;
		vcpu_args_set(vcpus[i], 1, (uint64_t)i);
		sem_init(&vcpu_threads[i].go, 0, 0);
		sem_init(&vcpu_threads[i].done, 0, 0);
		pthread_create(&vcpu_threads[i].thread, NULL, vcpu_thread_main, &vcpu_threads[i]);
	}
	pthread_barrier_wait(&start_barrier);

	start = mono_ns();
	for (r = 1;; r++) {
		uint64_t span, delay, c0, c1, t0, clear_ns, seen, pages_2m;
		bool shadowed_in, written_in;

		if (p.rounds ? r > p.rounds : mono_ns() - start >= p.seconds * NSEC_PER_SEC)
			break;

		/* Both vCPUs are parked in userspace: reset R and g. */
		if (r > 1)
			vm_mem_region_set_flags(vm, TEST_SLOT, 0);
		zap_all_shadow_pages(vm, dummy_hva, r);
		WRITE_ONCE(g_hva[PTE_IDX], pte_a);
		WRITE_ONCE(g_hva[SCRATCH_IDX], 0);

		span = clear_cycles_avg * p.delay_pct / 100;
		delay = span ? (((uint64_t)random() << 31) | random()) % (span + 1) : 0;
		WRITE_ONCE(hs->delay, delay);
		WRITE_ONCE(hs->round, r);
		WRITE_ONCE(cur_round, r);
		sem_post(&vcpu_threads[0].go);
		sem_post(&vcpu_threads[1].go);

		wait_guest_flag(&hs->ready, r, "vCPU1's first write to R");
		pages_2m = vm_get_stat(vm, "pages_2m");
		__TEST_REQUIRE(pages_2m >= 1,
			       "round %lu: no 2M SPTE after vCPU1 wrote R (pages_2m = %lu): KVM did not map the hugetlb-backed R huge",
			       (unsigned long)r, (unsigned long)pages_2m);

		/* Initially-set: turning logging on write-protects nothing, H stays writable. */
		vm_mem_region_set_flags(vm, TEST_SLOT, KVM_MEM_LOG_DIRTY_PAGES);
		WRITE_ONCE(hs->logging_on, r);
		wait_guest_flag(&hs->logging_ack, r, "vCPU1's write to g after logging was turned on");

		t0 = mono_ns();
		c0 = rdtsc();
		WRITE_ONCE(hs->go, r);
		kvm_vm_clear_dirty_log(vm, TEST_SLOT, bitmap, 0, npages);
		c1 = rdtsc();
		shadowed_in = READ_ONCE(hs->shadowed) == r;
		written_in = READ_ONCE(hs->written) == r;
		clear_ns = mono_ns() - t0;

		wait_vcpu_done(&vcpu_threads[0], r);
		wait_vcpu_done(&vcpu_threads[1], r);

		seen = READ_ONCE(hs->seen);
		TEST_ASSERT(seen != MARK_A,
			    "round %lu: after vCPU1 rewrote the PTE of GVA 0x%llx in the guest page table at GPA 0x%lx (frame A -> frame B) and vCPU0 did INVLPG, vCPU0 still read frame A's marker 0x%llx: a write through a stale writable TLB entry after the clear write-protected the huge SPTE: the mmu_lock holder skipped its flush (the shadow page of that page table is out of sync)%s",
			    (unsigned long)r, TEST_GVA, (unsigned long)g_gpa, MARK_A,
			    written_in ? "" : " [the write came after the CLEAR ioctl returned]");
		TEST_ASSERT(seen == MARK_B,
			    "round %lu: vCPU0 read 0x%lx at GVA 0x%llx after INVLPG, neither frame A's nor frame B's marker",
			    (unsigned long)r, (unsigned long)seen, TEST_GVA);

		shadowed_inside += shadowed_in;
		written_inside += written_in;
		clear_ns_sum += clear_ns;
		if (clear_ns > clear_ns_max)
			clear_ns_max = clear_ns;
		clear_cycles_avg = clear_cycles_avg ? (clear_cycles_avg * 7 + (c1 - c0)) / 8 : c1 - c0;
		fault_sum += READ_ONCE(hs->fault_cycles);

		if (r == 1 || !(r % p.print_every))
			pr_info("round %lu: CLEAR %lu us, delay %lu cycles, shadowing read %lu cycles, PTE write %lu cycles, vCPU1 stall %lu cycles, %s; inside a CLEAR so far: shadowed %lu, rewritten %lu\n",
				(unsigned long)r, (unsigned long)(clear_ns / 1000),
				(unsigned long)delay, (unsigned long)READ_ONCE(hs->fault_cycles),
				(unsigned long)READ_ONCE(hs->write_cycles),
				(unsigned long)READ_ONCE(hs->stall_cycles),
				written_in ? "rewritten inside the CLEAR" :
				shadowed_in ? "shadowed inside the CLEAR" : "after the CLEAR",
				(unsigned long)shadowed_inside, (unsigned long)written_inside);
	}
	r--;

	WRITE_ONCE(stop_vcpus, true);
	for (i = 0; i < 2; i++) {
		sem_post(&vcpu_threads[i].go);
		pthread_join(vcpu_threads[i].thread, NULL);
	}

	pr_info("%lu rounds in %.1f s, no stale translation: vCPU0 shadowed g before the CLEAR ioctl returned in %lu, vCPU1 rewrote the PTE before it returned in %lu (the interleaving the bug needs)\n",
		(unsigned long)r, (mono_ns() - start) / 1e9, (unsigned long)shadowed_inside,
		(unsigned long)written_inside);
	if (r)
		pr_info("CLEAR_DIRTY_LOG of %lu pages: mean %lu us, max %lu us (%lu cycles, moving mean); vCPU0's shadowing read: mean %lu cycles\n",
			(unsigned long)npages, (unsigned long)(clear_ns_sum / r / 1000),
			(unsigned long)(clear_ns_max / 1000), (unsigned long)clear_cycles_avg,
			(unsigned long)(fault_sum / r));

	kvm_vm_free(vm);
	munmap(dummy_hva, getpagesize());
	free(bitmap);

	/*
	 * A CLEAR that holds mmu_lock makes vCPU0's fault wait for its walk: the interleaving
	 * cannot complete inside it, and no stale translation is all there is to check.
	 */
	if (lockless != 1) {
		pr_info("the CLEAR holds mmu_lock on this kernel: the interleaving cannot run inside it\n");
		return 0;
	}
	__TEST_REQUIRE(written_inside,
		       "the interleaving never completed inside a CLEAR ioctl in %lu rounds: nothing was tested (a bigger -b makes the CLEAR longer; see the CLEAR and shadowing-read times above)",
		       (unsigned long)r);
	return 0;
}
