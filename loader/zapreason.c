// SPDX-License-Identifier: GPL-2.0
/*
 * The callers of kvm_mmu_prepare_zap_page() in arch/x86/kvm/mmu/mmu.c (6.12), grouped by
 * why they zap. The innermost frame that names a known caller decides, so a recycle that
 * happens inside a page fault counts as recycle, not as the fault.
 */
#include <string.h>

#include "zapreason.h"

static const struct {
	const char *func;
	const char *reason;
} callers[] = {
	{ "kvm_mmu_zap_oldest_mmu_pages", "recycle" },
	{ "make_mmu_pages_available", "recycle" },
	{ "kvm_mmu_change_mmu_pages", "recycle" },
	{ "kvm_mmu_track_write", "write_flooding" },
	{ "kvm_mmu_pte_write", "write_flooding" },
	{ "detect_write_flooding", "write_flooding" },
	{ "kvm_mmu_zap_collapsible_sptes", "collapse" },
	{ "kvm_zap_obsolete_pages", "zap_all_fast" },
	{ "kvm_mmu_zap_all_fast", "zap_all_fast" },
	{ "kvm_unmap_gfn_range", "mmu_notifier" },
	{ "kvm_mmu_notifier_invalidate_range_start", "mmu_notifier" },
	{ "kvm_mmu_notifier_release", "vm_teardown" },
	{ "kvm_arch_flush_shadow_memslot", "memslot" },
	{ "kvm_mmu_zap_memslot", "memslot" },
	{ "kvm_mmu_zap_memslot_leafs", "memslot" },
	{ "kvm_arch_flush_shadow_all", "vm_teardown" },
	{ "kvm_mmu_zap_all", "vm_teardown" },
	{ "kvm_arch_destroy_vm", "vm_teardown" },
	{ "kvm_mmu_unprotect_gfn_and_retry", "unprotect" },
	{ "kvm_mmu_unprotect_page", "unprotect" },
	{ "kvm_sync_page", "sync" },
	{ "kvm_mmu_sync_roots", "sync" },
	{ "mmu_sync_children", "sync" },
	{ "mmu_free_root_page", "root_free" },
	{ "kvm_mmu_free_roots", "root_free" },
	{ "kvm_mmu_free_guest_mode_roots", "root_free" },
	{ "kvm_mmu_unload", "root_free" },
};

static int same_func(const char *frame, const char *func)
{
	size_t n = strlen(func);

	/* gcc clones: "foo.isra.0", "foo.constprop.0", "foo.part.0" are foo */
	return !strncmp(frame, func, n) && (frame[n] == '\0' || frame[n] == '.');
}

const char *zap_reason(const char *const *frames, int n)
{
	int i;
	size_t j;

	for (i = 0; i < n; i++) {
		if (!frames[i])
			continue;
		for (j = 0; j < sizeof(callers) / sizeof(callers[0]); j++)
			if (same_func(frames[i], callers[j].func))
				return callers[j].reason;
	}
	return "other";
}
