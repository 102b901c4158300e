// SPDX-License-Identifier: GPL-2.0
/*
 * huge_recover_test: when dirty logging stops, kernel-patches/0002 ("Recover huge pages
 * in place on the rmap path when dirty logging stops") must put back, without a single
 * vCPU fault, a 2M SPTE for every 2M page of the slot that dirty logging had broken into
 * 4K SPTEs, and the guest must read what it wrote through those new SPTEs.
 *
 * Built against the KVM selftests library of the kernel tree under test:
 * testhost/build-selftests links it as $selftests/mmuscope/huge_recover_test
 * (testhost/tests/tests.mk, testhost/selftests.list).
 *
 * The bug it catches (the review of patch 2). kvm_rmap_recover_huge_page() replaces a
 * direct shadow page C (the 512 4K SPTEs of one 2M range, gfn G = C->gfn) with a 2M SPTE
 * in its only parent P, after checking that P's entry for C maps G:
 *
 *	kvm_mmu_page_get_gfn(P, spte_index(parent_sptep)) != C->gfn  ->  zap instead
 *
 * Under the shadow MMU's TDP mode (kvm.tdp_mmu=0 with npt/ept on) P is direct too, and
 * kvm_mmu_page_get_gfn() computes P->gfn + index * 512: the check holds by construction.
 * Under shadow paging (npt=0 or ept=0) a guest 2M page is shadowed by a direct C below
 * an *indirect* level-2 P, the shadow of the guest's page directory, and
 * kvm_mmu_page_get_gfn() returns P->shadowed_translation[index] >> PAGE_SHIFT. That array
 * is written only by kvm_mmu_page_set_translation() from __rmap_add(), i.e. for leaf
 * SPTEs; link_shadow_page(), which makes P's entry point to C, writes nothing there. And
 * its page comes from vcpu->arch.mmu_shadowed_info_cache, the one MMU cache with neither
 * gfp_zero nor init_value: __get_free_page() hands it over with whatever the page held
 * before. So the check compares C->gfn with garbage. It passes, and the 2M page comes
 * back in place, only when the garbage happens to be (G << 12 | anything): in practice
 * a translation left in that very page by an earlier 2M leaf for G at the same index.
 * Everywhere else recovery silently falls back to the zap, and the guest pays one fault
 * per 2M page again, which is what patch 2 set out to remove. No data is at stake; the
 * test sees it only by counting.
 *
 * Measured with the VM's binary stats pages_4k and pages_2m (leaf SPTEs per level, all
 * memory of the VM, so only differences are used), read right before and right after
 * KVM_SET_USER_MEMORY_REGION clears KVM_MEM_LOG_DIRTY_PAGES on the test slot, with the
 * only vCPU stopped in userspace in between:
 *   in place   pages_2m rises by SIZE/2M at once, pages_4k drops by SIZE/4K;
 *   zap        pages_4k drops by SIZE/4K, pages_2m does not move until the vCPU faults
 *              on each 2M page again (after the read-back it is up by SIZE/2M as well).
 * Nothing else of the VM changes meanwhile: only the test slot is walked.
 *
 * One VM, one vCPU. The test slot (slot 1, -b SIZE, -s BACKING: a 2M hugetlb type, so
 * that every 2M range is one host huge page) sits at GPA 64G. The guest maps it, with
 * 2M pages, through a "window": window w maps the slot from GVA 1T + w * (2G + 2M), so
 * that 2M page j of the slot is at index (w + j) % 512 of a guest page directory (a
 * window may straddle two of them). Every iteration (-i, default 3):
 *   1. dirty logging on for the test slot;
 *   2. a memslot move of a 1-page dummy slot (slot 2), which zaps every shadow page
 *      (kvm_arch_flush_shadow_memslot(), KVM_X86_QUIRK_SLOT_ZAP_ALL): no parent P and
 *      no 2M leaf of any earlier iteration survives;
 *   3. the guest writes, through the window of this iteration, a pattern into the first
 *      and the last 8 bytes of every 4K page: a tag | the page's GPA, a tag | the
 *      iteration. With logging on, each write faults and KVM builds new level-2 parents
 *      and one 4K direct child per 2M page, all 512 of its SPTEs present: fresh parents,
 *      that never held a leaf at these indices. The host checks the pattern through its
 *      own mapping of the slot;
 *   4. pages_4k/pages_2m, dirty logging off, pages_4k/pages_2m again;
 *   5. the guest reads every pattern back (GUEST_ASSERT on a mismatch: a 2M SPTE to the
 *      wrong frame), then pages_2m again.
 * After the last iteration: a summary line, then the checks of every iteration, in
 * order: all SIZE/4K 4K SPTEs of the slot went when logging stopped, SIZE/2M of them
 * were replaced in place (none with -n), and after the read-back the slot is mapped
 * with SIZE/2M more 2M SPTEs than before logging stopped.
 *
 * Why the order, and what makes a parent fresh (the question whether the unfixed check
 * can pass by chance). The check passes iff the 8 bytes at index i of P's translation
 * page are (G << 12 | x), x < 4096. What can those bytes be?
 *   - Zero, with init_on_alloc=1 or init_on_free=1 (off in the bench config, but one
 *     kernel parameter away) or on a page that was never written: G is never 0 here.
 *   - A translation that a 2M leaf mapping G at index i left: equal. This is where the
 *     unfixed kernel "works". In the same P, when that leaf was there before dirty
 *     logging replaced it with the link to C: the usual case when a migration is
 *     cancelled, and the reason for steps 1 and 2 (logging on first, so that no 2M leaf
 *     of the slot is created any more, then every shadow page zapped, so that no P
 *     that held one survives). Or in a recycled page, far from rare in a repeated test:
 *     step 2 frees the previous iteration's parents, whose translation pages hold G at
 *     i (written by the read-back's faults after a zap, or by __rmap_add() after an
 *     in-place recovery), and the page allocator's per-CPU lists hand the last freed
 *     pages out first, to the vCPU's cache refills among others. Hence the windows:
 *     iteration k uses window (w0 + k - 1) % 512, and a translation page left by window
 *     v holds at index i the gfn of page (i - v) % 512, never the gfn window w needs
 *     there, unless v == w (512 iterations apart). The first window w0 comes from the
 *     PID (-w sets it), so that a second run in the same boot, whose freed pages may be
 *     recycled too, starts elsewhere (511 times in 512).
 *   - A translation of a level-1 shadow page (a guest 4K PTE): the guest maps G only
 *     through 2M PDEs, and no other test of the list puts memory at 64G.
 *   - Anything else: it would need bits 63..36 clear and bits 35..12 exactly G (G is
 *     0x1000000 + 512 * j). SPTEs, leaf or not, and host page-table entries hold host
 *     frame numbers, which cannot reach 64G in a test host of a few GiB (6G by
 *     default): the GPA is chosen above any RAM for this; a zapped SPTE is
 *     SHADOW_NONPRESENT_VALUE (bit 63). Kernel pointers have their high bits set, and
 *     this test's own data a tag in bits 52..63 (its hugetlb pages go back to the
 *     buddy allocator when the pool shrinks). Random bits match with probability
 *     2^-52.
 * So on a kernel with patch 2 but without the fix, each iteration sees "in place: 0 of
 * SIZE/2M" under shadow paging, and the test fails; in tdp-legacy it passes (the direct
 * parent branch is right). With the fix, all SIZE/2M come back in place in both modes
 * (and on the debug build, where the fix poisons shadowed_translation under
 * CONFIG_KVM_PROVE_MMU, anything still reading an unset entry on this path warns).
 *
 * Modes: shadow paging (kvm_amd npt=0, kvm_intel ept=0) or the shadow MMU's TDP mode
 * (kvm.tdp_mmu=0); with the TDP MMU (tdp_mmu=Y and TDP on), where huge pages are
 * recovered by the TDP MMU, not by the rmap path, it exits 4 (skip), as it does without
 * enough free 2M hugetlb pages. -n expects no recovery in place at all (the baseline,
 * without patch 2); by default that is expected only from mmuscope's baseline build
 * (kernel release ending in -mmuscope-baseline), everything else must recover in place.
 * The data checks run in every case.
 *
 *   testhost -k BZIMAGE -m shadow -- /bin/sh -c \
 *	'echo 64 >/proc/sys/vm/nr_hugepages && exec huge_recover_test -b 64M -i 3'
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#include "mmuscope_tests.h"

#define TEST_SLOT		1
#define DUMMY_SLOT		2
/* 1G-aligned and above the RAM of any test host: see the header. */
#define TEST_GPA		((uint64_t)64 << 30)
#define MAX_SLOT_SIZE		((uint64_t)1 << 30)
#define DUMMY_GPA		(TEST_GPA + MAX_SLOT_SIZE)

/* Window w maps the slot at GVA_BASE + w * WINDOW_STRIDE: 2M page j at PD index (w + j) % 512. */
#define GVA_BASE		((uint64_t)1 << 40)
#define WINDOW_STRIDE		((uint64_t)(2 * MAX_SLOT_SIZE + PG_SIZE_2M))
#define NR_WINDOWS		512

/* Bits 52..63 set: no pattern word can pass for a translation (gfn << 12 | access). */
#define HEAD_TAG		0xfeed000000000000ull
#define TAIL_TAG		0xd1a0000000000000ull
#define LAST_QWORD		(PG_SIZE_4K / sizeof(uint64_t) - 1)

#define BASELINE_RELEASE	"-mmuscope-baseline"

enum { STAGE_WRITTEN = 1, STAGE_READ };

/* Set by the host before each run (sync_global_to_guest). */
static uint64_t guest_gva;
static uint64_t guest_size;
static uint64_t guest_iter;
static uint64_t guest_last_iter;

static inline uint64_t head_pattern(uint64_t gpa)
{
	return HEAD_TAG | gpa;
}

static inline uint64_t tail_pattern(uint64_t iter)
{
	return TAIL_TAG | iter;
}

static void guest_code(void)
{
	volatile uint64_t *p;
	uint64_t iter, gva, size, off, head, tail;

	for (;;) {
		iter = READ_ONCE(guest_iter);
		gva = READ_ONCE(guest_gva);
		size = READ_ONCE(guest_size);

		/* Dirty logging is on: each first write takes a 4K SPTE. */
		for (off = 0; off < size; off += PG_SIZE_4K) {
			p = (volatile uint64_t *)(gva + off);
			p[0] = head_pattern(TEST_GPA + off);
			p[LAST_QWORD] = tail_pattern(iter);
		}
		GUEST_SYNC2(STAGE_WRITTEN, iter);

		/* Dirty logging is off: through the 2M SPTEs, recovered or faulted in. */
		for (off = 0; off < size; off += PG_SIZE_4K) {
			p = (volatile uint64_t *)(gva + off);
			head = p[0];
			tail = p[LAST_QWORD];
			__GUEST_ASSERT(head == head_pattern(TEST_GPA + off) &&
				       tail == tail_pattern(iter),
				       "iteration %lu: after dirty logging stopped, the page at GVA 0x%lx (GPA 0x%lx) reads 0x%lx/0x%lx where 0x%lx/0x%lx was written: its 2M mapping points to another frame",
				       iter, gva + off, TEST_GPA + off, head, tail,
				       head_pattern(TEST_GPA + off), tail_pattern(iter));
		}
		if (iter == READ_ONCE(guest_last_iter))
			GUEST_DONE();
		else
			GUEST_SYNC2(STAGE_READ, iter);
	}
}

struct counts {
	uint64_t p4k;
	uint64_t p2m;
};

/* One iteration's stats: before/after dirty logging stops, after the read-back. */
struct iteration {
	struct counts before, after, readback;
	unsigned int window;
};

static struct counts read_counts(struct kvm_vm *vm)
{
	struct counts c = {
		.p4k = vm_get_stat(vm, "pages_4k"),
		.p2m = vm_get_stat(vm, "pages_2m"),
	};

	return c;
}

/* A bool module parameter: 1 (Y), 0 (N), -1 if the file is missing or unreadable. */
static int read_bool_param(const char *path)
{
	FILE *f = fopen(path, "r");
	int c;

	if (!f)
		return -1;
	c = fgetc(f);
	fclose(f);
	if (c == 'Y' || c == 'y' || c == '1')
		return 1;
	if (c == 'N' || c == 'n' || c == '0')
		return 0;
	return -1;
}

static char param_char(int v)
{
	return v < 0 ? '?' : v ? 'Y' : 'N';
}

static uint64_t window_gva(unsigned int w)
{
	return GVA_BASE + (uint64_t)w * WINDOW_STRIDE;
}

/*
 * Move the dummy slot between two GPAs: the move makes KVM zap every shadow page of the
 * VM (KVM_X86_QUIRK_SLOT_ZAP_ALL), the level-2 parents of the test slot included.
 */
static void zap_all_shadow_pages(struct kvm_vm *vm, void *dummy_hva, uint64_t iter)
{
	vm_set_user_memory_region(vm, DUMMY_SLOT, 0, DUMMY_GPA + (iter & 1) * PG_SIZE_2M,
				  getpagesize(), dummy_hva);
}

static void run_guest(struct kvm_vcpu *vcpu, uint64_t stage, uint64_t iter, bool last)
{
	struct ucall uc;

	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		TEST_ASSERT(!(last && stage == STAGE_READ) && uc.args[0] == stage && uc.args[1] == iter,
			    "iteration %lu: the guest reported stage %lu of iteration %lu, expected %s %lu",
			    (unsigned long)iter, (unsigned long)uc.args[0], (unsigned long)uc.args[1],
			    last && stage == STAGE_READ ? "its end after stage" : "stage",
			    (unsigned long)stage);
		break;
	case UCALL_DONE:
		TEST_ASSERT(last && stage == STAGE_READ,
			    "iteration %lu: the guest ended before stage %lu", (unsigned long)iter,
			    (unsigned long)stage);
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("iteration %lu: unexpected exit %s", (unsigned long)iter,
			  exit_reason_str(vcpu->run->exit_reason));
	}
}

/* The host's view of the slot after the guest's writes. */
static void check_host_view(const uint64_t *hva, uint64_t size, uint64_t iter)
{
	uint64_t off;

	for (off = 0; off < size; off += PG_SIZE_4K) {
		const uint64_t *p = hva + off / sizeof(uint64_t);

		TEST_ASSERT(p[0] == head_pattern(TEST_GPA + off) && p[LAST_QWORD] == tail_pattern(iter),
			    "iteration %lu: the host reads 0x%lx/0x%lx in the page at GPA 0x%lx, the guest wrote 0x%lx/0x%lx there through its 4K mapping (dirty logging on)",
			    (unsigned long)iter, (unsigned long)p[0], (unsigned long)p[LAST_QWORD],
			    TEST_GPA + off, (unsigned long)head_pattern(TEST_GPA + off),
			    (unsigned long)tail_pattern(iter));
	}
}

static void help(const char *name)
{
	puts("");
	printf("usage: %s [-h] [-b slot size] [-s backing] [-i iterations] [-n] [-w window]\n", name);
	puts("");
	printf(" Stops dirty logging on a slot the guest maps with 2M pages and has written\n"
	       " in full, and checks that every 2M page gets its 2M SPTE back at once, in\n"
	       " place (kernel-patches/0002), with the data intact. Under shadow paging that\n"
	       " needs the fix of kvm_rmap_recover_huge_page() for indirect parents.\n"
	       " Shadow paging (kvm_amd npt=0, kvm_intel ept=0) or kvm.tdp_mmu=0; skips (4)\n"
	       " with the TDP MMU or without enough free 2M hugetlb pages.\n");
	puts("");
	printf(" -b: size of the test memslot, a multiple of 2M up to 1G (default: 64M).\n"
	       "     Reserve SIZE/2M hugetlb pages first, e.g.\n"
	       "     echo 32 >/proc/sys/vm/nr_hugepages for 64M\n");
	printf(" -s: backing of the test memslot, a 2M hugetlb type (default:\n"
	       "     anonymous_hugetlb_2mb; shared_hugetlb and anonymous_hugetlb if the\n"
	       "     default hugetlb size is 2M)\n");
	printf(" -i: iterations, each on freshly built shadow pages (default: 3)\n");
	printf(" -n: expect no recovery in place (a kernel without patch 2). Default: only\n"
	       "     on a kernel release ending in %s\n", BASELINE_RELEASE);
	printf(" -w: the guest window of the first iteration, 0-%d (default: from the PID)\n",
	       NR_WINDOWS - 1);
	puts("");
	exit(0);
}

int main(int argc, char *argv[])
{
	enum vm_mem_backing_src_type src = VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB;
	uint64_t size = 64ull << 20, iterations = 3, npages, nhuge, it;
	unsigned int w0 = getpid() % NR_WINDOWS, nr_windows, k;
	const char *tdp_param, *tdp_name, *mode, *why_expect;
	int opt, tdp, tdp_mmu, window_opt = -1;
	bool expect_in_place, force_none = false;
	struct iteration *res;
	struct utsname uts;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *hva;
	void *dummy_hva;
	long huge_free;
	size_t rl;

	setvbuf(stdout, NULL, _IOLBF, 0);

	while ((opt = getopt(argc, argv, "hb:s:i:nw:")) != -1) {
		switch (opt) {
		case 'b':
			size = parse_size(optarg);
			break;
		case 's':
			src = parse_backing_src_type(optarg);
			break;
		case 'i':
			iterations = atoi_positive("Iterations", optarg);
			break;
		case 'n':
			force_none = true;
			break;
		case 'w':
			window_opt = atoi_non_negative("Window", optarg);
			break;
		case 'h':
		default:
			help(argv[0]);
		}
	}
	TEST_ASSERT(size && !(size % PG_SIZE_2M) && size <= MAX_SLOT_SIZE,
		    "-b must be a multiple of 2M up to 1G, got %lu", (unsigned long)size);
	TEST_ASSERT(window_opt < NR_WINDOWS, "-w must be below %d, got %d", NR_WINDOWS, window_opt);
	if (window_opt >= 0)
		w0 = window_opt;
	npages = size / PG_SIZE_4K;
	nhuge = size / PG_SIZE_2M;
	nr_windows = iterations < NR_WINDOWS ? iterations : NR_WINDOWS;

	/* The mode: the rmap path runs under shadow paging and under kvm.tdp_mmu=0. */
	__TEST_REQUIRE(host_cpu_is_intel || host_cpu_is_amd,
		       "neither an Intel nor an AMD host: cannot tell whether KVM uses TDP");
	tdp_param = host_cpu_is_intel ? "/sys/module/kvm_intel/parameters/ept" :
					"/sys/module/kvm_amd/parameters/npt";
	tdp_name = host_cpu_is_intel ? "kvm_intel.ept" : "kvm_amd.npt";
	tdp = read_bool_param(tdp_param);
	__TEST_REQUIRE(tdp >= 0, "%s is missing (%s not loaded): cannot tell the MMU mode",
		       tdp_param, host_cpu_is_intel ? "kvm_intel" : "kvm_amd");
	/* Absent (32-bit KVM): no TDP MMU at all. */
	tdp_mmu = read_bool_param("/sys/module/kvm/parameters/tdp_mmu");
	__TEST_REQUIRE(!(tdp && tdp_mmu == 1),
		       "the TDP MMU is on (%s=Y, kvm.tdp_mmu=Y): it recovers huge pages itself, not through the rmap path of patch 2; run under shadow paging (npt=0/ept=0) or with kvm.tdp_mmu=0",
		       tdp_name);
	mode = tdp ? "tdp-legacy" : "shadow";

	/* The backing: every 2M range of the slot must be one host huge page. */
	TEST_ASSERT(is_backing_src_hugetlb(src) && get_backing_src_pagesz(src) == PG_SIZE_2M,
		    "-s %s: the slot needs a 2M hugetlb backing (e.g. anonymous_hugetlb_2mb)",
		    vm_mem_backing_src_alias(src)->name);
	huge_free = free_huge_2m_pages();
	__TEST_REQUIRE(huge_free >= (long)nhuge,
		       "%ld free 2M hugetlb pages, the %lu MiB slot needs %lu (echo %lu >/proc/sys/vm/nr_hugepages)",
		       huge_free, (unsigned long)(size >> 20), (unsigned long)nhuge,
		       (unsigned long)nhuge);

	/* What to expect: in place, unless told otherwise or on mmuscope's baseline build. */
	TEST_ASSERT(!uname(&uts), "uname() failed");
	rl = strlen(uts.release);
	if (force_none) {
		expect_in_place = false;
		why_expect = "-n";
	} else if (rl >= strlen(BASELINE_RELEASE) &&
		   !strcmp(uts.release + rl - strlen(BASELINE_RELEASE), BASELINE_RELEASE)) {
		expect_in_place = false;
		why_expect = "a baseline kernel, without patch 2";
	} else {
		expect_in_place = true;
		why_expect = "patch 2";
	}

	/* Page tables for the windows: up to two page directories each, and the PDPTs. */
	vm = __vm_create_with_one_vcpu(&vcpu, (2 * nr_windows + 8) * PTES_PER_MIN_PAGE / 2,
				       guest_code);
	__TEST_REQUIRE(((DUMMY_GPA + 2 * PG_SIZE_2M) >> vm->page_shift) <= vm->max_gfn,
		       "the guest physical address space ends at 0x%lx, below the slots at 0x%lx",
		       (unsigned long)((vm->max_gfn + 1) << vm->page_shift), TEST_GPA);

	vm_userspace_mem_region_add(vm, src, TEST_GPA, TEST_SLOT, npages, 0);
	hva = addr_gpa2hva(vm, TEST_GPA);
	for (k = 0; k < nr_windows; k++)
		virt_map_level(vm, window_gva((w0 + k) % NR_WINDOWS), TEST_GPA, size, PG_LEVEL_2M);

	dummy_hva = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(dummy_hva != MAP_FAILED, "mmap() of the dummy slot failed");
	zap_all_shadow_pages(vm, dummy_hva, 0);

	guest_size = size;
	guest_last_iter = iterations;
	sync_global_to_guest(vm, guest_size);
	sync_global_to_guest(vm, guest_last_iter);

	res = calloc(iterations, sizeof(*res));
	TEST_ASSERT(res, "out of memory");

	pr_info("kernel %s, %s (%s=%c, kvm.tdp_mmu=%c): expecting %s (%s)\n", uts.release, mode,
		tdp_name, param_char(tdp), param_char(tdp_mmu),
		expect_in_place ? "every 2M page back in place" : "no 2M page back in place",
		why_expect);
	pr_info("test slot: %lu MiB (%lu 2M pages) of %s at GPA 0x%lx; guest windows of 2M pages from %u, at GVA 0x%lx + window * 0x%lx\n",
		(unsigned long)(size >> 20), (unsigned long)nhuge,
		vm_mem_backing_src_alias(src)->name, TEST_GPA, w0, GVA_BASE, WINDOW_STRIDE);

	for (it = 1; it <= iterations; it++) {
		struct iteration *r = &res[it - 1];
		bool last = it == iterations;

		r->window = (w0 + it - 1) % NR_WINDOWS;
		guest_iter = it;
		guest_gva = window_gva(r->window);
		sync_global_to_guest(vm, guest_iter);
		sync_global_to_guest(vm, guest_gva);

		/* Logging first, then no shadow page left: the parents built next are fresh. */
		vm_mem_region_set_flags(vm, TEST_SLOT, KVM_MEM_LOG_DIRTY_PAGES);
		zap_all_shadow_pages(vm, dummy_hva, it);

		run_guest(vcpu, STAGE_WRITTEN, it, last);
		check_host_view(hva, size, it);

		/* The vCPU stays in userspace from here to the read-back. */
		r->before = read_counts(vm);
		vm_mem_region_set_flags(vm, TEST_SLOT, 0);
		r->after = read_counts(vm);

		run_guest(vcpu, STAGE_READ, it, last);
		r->readback = read_counts(vm);

		pr_info("iteration %lu, window %u (GVA 0x%lx): dirty logging off: pages_4k %lu -> %lu, pages_2m %lu -> %lu (in place: %ld of %lu); after the read-back pages_2m %lu; data intact\n",
			(unsigned long)it, r->window, (unsigned long)guest_gva,
			(unsigned long)r->before.p4k, (unsigned long)r->after.p4k,
			(unsigned long)r->before.p2m, (unsigned long)r->after.p2m,
			(long)(r->after.p2m - r->before.p2m), (unsigned long)nhuge,
			(unsigned long)r->readback.p2m);
	}

	printf("huge_recover_test: %s, %lu MiB, %lu iteration(s), expected in place %lu of %lu per iteration (%s); in place:",
	       mode, (unsigned long)(size >> 20), (unsigned long)iterations,
	       (unsigned long)(expect_in_place ? nhuge : 0), (unsigned long)nhuge, why_expect);
	for (it = 0; it < iterations && it < 16; it++)
		printf(" %ld", (long)(res[it].after.p2m - res[it].before.p2m));
	if (iterations > 16)
		printf(" ...");
	printf("; iteration %lu: pages_4k %lu -> %lu, pages_2m %lu -> %lu when logging stopped, pages_2m %lu after the read-back; data intact\n",
	       (unsigned long)iterations, (unsigned long)res[iterations - 1].before.p4k,
	       (unsigned long)res[iterations - 1].after.p4k,
	       (unsigned long)res[iterations - 1].before.p2m,
	       (unsigned long)res[iterations - 1].after.p2m,
	       (unsigned long)res[iterations - 1].readback.p2m);

	for (it = 1; it <= iterations; it++) {
		struct iteration *r = &res[it - 1];
		int64_t gone_4k = r->before.p4k - r->after.p4k;
		int64_t in_place = r->after.p2m - r->before.p2m;
		int64_t back_2m = r->readback.p2m - r->before.p2m;

		TEST_ASSERT(gone_4k == (int64_t)npages,
			    "iteration %lu: stopping dirty logging dropped %ld 4K SPTEs (pages_4k %lu -> %lu), not the %lu of the test slot, each of which the guest had written while logging",
			    (unsigned long)it, (long)gone_4k, (unsigned long)r->before.p4k,
			    (unsigned long)r->after.p4k, (unsigned long)npages);
		if (expect_in_place)
			TEST_ASSERT(in_place == (int64_t)nhuge,
				    "iteration %lu: stopping dirty logging mapped %ld of the %lu 2M pages of the test slot huge in place (pages_2m %lu -> %lu before any vCPU ran); the rest were zapped and wait for a fault each. %s",
				    (unsigned long)it, (long)in_place, (unsigned long)nhuge,
				    (unsigned long)r->before.p2m, (unsigned long)r->after.p2m,
				    tdp ? "The parents are direct here: a condition of kvm_rmap_recover_huge_page() other than the parent's gfn failed" :
					  "Under shadow paging, the likely cause: kvm_rmap_recover_huge_page() compared sp->gfn with kvm_mmu_page_get_gfn() of the indirect level-2 parent, i.e. with a shadowed_translation entry that no leaf ever set (the parents are fresh, see the header)");
		else
			TEST_ASSERT(in_place == 0,
				    "iteration %lu: %ld of the %lu 2M pages came back huge in place when dirty logging stopped (pages_2m %lu -> %lu before any vCPU ran), on a kernel expected without patch 2 (%s)",
				    (unsigned long)it, (long)in_place, (unsigned long)nhuge,
				    (unsigned long)r->before.p2m, (unsigned long)r->after.p2m, why_expect);
		TEST_ASSERT(back_2m >= (int64_t)nhuge,
			    "iteration %lu: after the guest read the slot back, pages_2m is %lu, up %ld from %lu before logging stopped: not all %lu 2M pages of the test slot are mapped huge again",
			    (unsigned long)it, (unsigned long)r->readback.p2m, (long)back_2m,
			    (unsigned long)r->before.p2m, (unsigned long)nhuge);
	}

	free(res);
	kvm_vm_free(vm);
	munmap(dummy_hva, getpagesize());
	return 0;
}
