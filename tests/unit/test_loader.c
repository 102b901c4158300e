// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the loader's pure logic: log2 percentiles and zap reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hist.h"
#include "zapreason.h"

static void percentile_of_empty_is_zero(void **state)
{
	__u64 slots[8] = { 0 };

	(void)state;
	assert_int_equal(log2_hist_percentile(slots, 8, 50), 0);
}

static void percentile_is_bucket_upper_bound(void **state)
{
	/* 10 values in [1024, 2047], 90 in [16, 31]: p50 -> 31, p95 -> 2047, p90 -> 31 */
	__u64 slots[16] = { 0 };

	(void)state;
	slots[4] = 90;
	slots[10] = 10;
	assert_int_equal(log2_hist_percentile(slots, 16, 50), 31);
	assert_int_equal(log2_hist_percentile(slots, 16, 90), 31);
	assert_int_equal(log2_hist_percentile(slots, 16, 90.5), 2047);
	assert_int_equal(log2_hist_percentile(slots, 16, 99), 2047);
	assert_int_equal(log2_hist_percentile(slots, 16, 100), 2047);
}

static void percentile_single_value(void **state)
{
	__u64 slots[4] = { 0, 0, 1, 0 };

	(void)state;
	assert_int_equal(log2_hist_percentile(slots, 4, 1), 7);
	assert_int_equal(log2_hist_percentile(slots, 4, 100), 7);
}

static void reason_innermost_known_caller_wins(void **state)
{
	const char *recycle[] = { "__kvm_mmu_prepare_zap_page", "kvm_mmu_prepare_zap_page",
				  "kvm_mmu_zap_oldest_mmu_pages.isra.0", "make_mmu_pages_available",
				  "kvm_mmu_page_fault", "vcpu_enter_guest" };
	const char *flooding[] = { "__kvm_mmu_prepare_zap_page", "kvm_mmu_track_write",
				   "kvm_page_track_write", "emulator_write_phys" };
	const char *notifier[] = { "__kvm_mmu_prepare_zap_page", NULL, "kvm_unmap_gfn_range",
				   "kvm_mmu_notifier_invalidate_range_start" };
	const char *teardown[] = { "__kvm_mmu_prepare_zap_page", "kvm_mmu_zap_all",
				   "kvm_arch_flush_shadow_all", "kvm_destroy_vm" };
	const char *unknown[] = { "__kvm_mmu_prepare_zap_page", "something_new" };
	const char *prefix_only[] = { "kvm_mmu_zap_oldest_mmu_pages_v2" };

	(void)state;
	assert_string_equal(zap_reason(recycle, 6), "recycle");
	assert_string_equal(zap_reason(flooding, 4), "write_flooding");
	assert_string_equal(zap_reason(notifier, 4), "mmu_notifier");
	assert_string_equal(zap_reason(teardown, 4), "vm_teardown");
	assert_string_equal(zap_reason(unknown, 2), "other");
	assert_string_equal(zap_reason(prefix_only, 1), "other");
	assert_string_equal(zap_reason(recycle, 0), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(percentile_of_empty_is_zero),
		cmocka_unit_test(percentile_is_bucket_upper_bound),
		cmocka_unit_test(percentile_single_value),
		cmocka_unit_test(reason_innermost_known_caller_wins),
	};

	return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}
