// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the loader's pure logic: log2 percentiles, zap reasons, kallsyms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "hist.h"
#include "ksyms.h"
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

/* /proc/kallsyms' format: modules after a tab, unsorted, types the stacks do not need. */
static void kallsyms_parsed_in_place(void **state)
{
	static const char text[] =
		"ffffffff81000000 T _stext\n"
		"ffffffffc0a01000 t kvm_vm_ioctl\t[kvm]\n"
		"ffffffff81001000 T do_syscall_64\n"
		"0000000000000000 A fixed_percpu_data\n"
		"ffffffff81002000 r __ksymtab_end\n"
		"ffffffffc0a00000 T kvm_vcpu_ioctl\t[kvm]\n"
		"garbage line\n"
		"ffffffffc0b00000 t svm_vcpu_run\t[kvm_amd]";	/* no final newline */
	char path[] = "/tmp/test_loader.XXXXXX";
	const struct ksym *k;
	struct ksyms *ks;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	ks = ksyms_load_file(path);
	unlink(path);
	assert_non_null(ks);
	assert_true(ksyms_usable(ks));
	assert_int_equal(ksyms_addr(ks, "kvm_vm_ioctl"), 0xffffffffc0a01000ULL);
	assert_int_equal(ksyms_addr(ks, "kvm_vcpu_ioctl"), 0xffffffffc0a00000ULL);
	assert_int_equal(ksyms_addr(ks, "fixed_percpu_data"), 0);	/* type A: left out */
	assert_int_equal(ksyms_addr(ks, "garbage"), 0);
	k = ksyms_find(ks, 0xffffffff81001234ULL);
	assert_non_null(k);
	assert_string_equal(k->name, "do_syscall_64");
	assert_null(k->module);
	k = ksyms_find(ks, 0xffffffffc0a01010ULL);
	assert_non_null(k);
	assert_string_equal(k->name, "kvm_vm_ioctl");
	assert_string_equal(k->module, "kvm");
	k = ksyms_find(ks, 0xffffffffc0b00004ULL);
	assert_non_null(k);
	assert_string_equal(k->module, "kvm_amd");
	k = ksyms_find(ks, 0xffffffff81002010ULL);	/* past a function: the data bounds it */
	assert_string_equal(k->name, "__ksymtab_end");
	assert_null(ksyms_find(ks, 0xffffffff80000000ULL));	/* before every symbol */
	assert_null(ksyms_find(ks, 0xffffffffc0c00001ULL));	/* over a megabyte past the last */
	ksyms_free(ks);
	assert_null(ksyms_load_file("/nonexistent/kallsyms"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(percentile_of_empty_is_zero),
		cmocka_unit_test(percentile_is_bucket_upper_bound),
		cmocka_unit_test(percentile_single_value),
		cmocka_unit_test(reason_innermost_known_caller_wins),
		cmocka_unit_test(kallsyms_parsed_in_place),
	};

	return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}
