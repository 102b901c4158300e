// SPDX-License-Identifier: GPL-2.0
/*
 * notifier_zap_test: MMU-notifier zaps of the rmaps while a vCPU faults the same
 * memory in again, for the debug kernels' atomic-sleep and lock checks.
 *
 * Built against the KVM selftests library of the kernel tree under test:
 * testhost/build-selftests links it as $selftests/mmuscope/notifier_zap_test
 * (testhost/tests/tests.mk).
 *
 * Why (review of 2026-12-07, finding 2 on kernel-patches/0004): the rmap lock bit's
 * writers used to disable preemption while they held it. With PREEMPT_RT, mmu_lock is a
 * sleeping lock and a chain change may call what sleeps there: an MMU-notifier unmap
 * runs kvm_zap_all_rmap_sptes() -> mmu_spte_clear_track_bits() -> kvm_set_pfn_accessed()
 * -> mark_page_accessed(), which activates a folio that was already referenced (KVM's
 * slow-path GUP marks it so) by taking a local_lock, a sleeping lock with PREEMPT_RT:
 * "BUG: sleeping function called from invalid context" under DEBUG_ATOMIC_SLEEP, which
 * the test host turns into exit 125. None of the upstream selftests of the subset makes
 * KVM zap through the MMU notifier while a vCPU keeps the pages mapped, so this does:
 *
 *   vCPU    writes one word per 4K page of the test slot, pass after pass, GUEST_SYNC
 *           after each pass; with -a it also reads each page back through a second
 *           mapping of the slot, so that under shadow paging every gfn has two SPTEs
 *           and its rmap a descriptor (pte_list_desc), which the zap frees: with
 *           PREEMPT_RT kmem_cache_free() takes the slab's local_lock, a sleeping lock.
 *   host    after every pass: madvise(MADV_DONTNEED) on a window of the slot's memory
 *           (the windows walk the slot), so KVM zaps those gfns' SPTEs through their
 *           rmaps (kvm_unmap_gfn_range -> kvm_zap_rmap) while the vCPU faults them in
 *           again on its next pass; every -r passes, a full-slot MADV_DONTNEED.
 *
 * Any MMU mode works (shadow, tdp-legacy: the rmap paths; tdp: the TDP MMU's).
 * Checks: every pass completes; KVM's own count of zaps through the notifier is not
 * observable from here, so the summary prints the VM's pages_4k/pages_2m and faults
 * (binary stats) instead. It fails on a vCPU exit other than the ucalls; the kernel
 * splats are the test host's business.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#define TEST_SLOT	1
#define TEST_GPA	(4ull << 30)
/* -a: the slot mapped a second time, here. */
#define ALIAS_GVA	(TEST_GPA + (8ull << 30))

static uint64_t test_pages;
static bool alias;

static void guest_code(void)
{
	uint64_t pass, i;

	for (pass = 1;; pass++) {
		for (i = 0; i < test_pages; i++) {
			*(volatile uint64_t *)(TEST_GPA + i * PAGE_SIZE) = pass;
			if (alias)
				GUEST_ASSERT_EQ(*(volatile uint64_t *)(ALIAS_GVA + i * PAGE_SIZE),
						pass);
		}
		GUEST_SYNC(pass);
	}
}

static void usage(const char *name)
{
	printf("usage: %s [-a] [-b SIZE] [-n PASSES] [-w WINDOW] [-r FULL_EVERY]\n"
	       "  -a             map the slot twice, read it through the second mapping\n"
	       "  -b SIZE        test slot size (default 64M)\n"
	       "  -n PASSES      guest passes over the slot (default 40)\n"
	       "  -w WINDOW      bytes dropped with MADV_DONTNEED after each pass (default 8M)\n"
	       "  -r FULL_EVERY  drop the whole slot every this many passes (default 10)\n",
	       name);
}

int main(int argc, char *argv[])
{
	uint64_t size = 64ull << 20, window = 8ull << 20, off = 0, pass;
	unsigned int passes = 40, full_every = 10;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	char *hva;
	int opt;

	while ((opt = getopt(argc, argv, "ab:n:w:r:h")) != -1) {
		switch (opt) {
		case 'a':
			alias = true;
			break;
		case 'b':
			size = parse_size(optarg);
			break;
		case 'n':
			passes = atoi_positive("Passes", optarg);
			break;
		case 'w':
			window = parse_size(optarg);
			break;
		case 'r':
			full_every = atoi_positive("Full-drop period", optarg);
			break;
		default:
			usage(argv[0]);
			exit(opt == 'h' ? 0 : KSFT_FAIL);
		}
	}
	TEST_ASSERT(size && !(size % PAGE_SIZE) && window && !(window % PAGE_SIZE) &&
		    window <= size, "-b and -w must be non-zero multiples of 4K, -w <= -b");

	test_pages = size / PAGE_SIZE;
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA, TEST_SLOT,
				    test_pages, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, test_pages);
	if (alias)
		virt_map(vm, ALIAS_GVA, TEST_GPA, test_pages);
	sync_global_to_guest(vm, test_pages);
	sync_global_to_guest(vm, alias);
	hva = addr_gpa2hva(vm, TEST_GPA);

	for (pass = 1; pass <= passes; pass++) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			TEST_ASSERT(uc.args[1] == pass, "guest pass %lu, host expected %lu",
				    uc.args[1], pass);
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
		/* The last pass's values are there before KVM's mappings go. */
		TEST_ASSERT(*(uint64_t *)(hva + off) == pass,
			    "pass %lu: the guest's write to gpa 0x%lx is not in host memory",
			    pass, (uint64_t)(TEST_GPA + off));
		if (pass % full_every == 0) {
			TEST_ASSERT(!madvise(hva, size, MADV_DONTNEED), "madvise: %m");
			off = 0;
		} else {
			TEST_ASSERT(!madvise(hva + off, window, MADV_DONTNEED), "madvise: %m");
			off = (off + window) % (size - window + PAGE_SIZE);
			off -= off % PAGE_SIZE;
		}
	}

	printf("notifier_zap_test: %u passes over %lu MiB%s, %lu MiB dropped after each "
	       "(whole slot every %u); pages_4k %lu pages_2m %lu\n", passes, size >> 20,
	       alias ? " (mapped twice)" : "", window >> 20, full_every,
	       vm_get_stat(vm, "pages_4k"),
	       vm_get_stat(vm, "pages_2m"));
	kvm_vm_free(vm);
	return 0;
}
