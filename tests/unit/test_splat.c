// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the test host's console splat recogniser (testhost/splat.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "splat.h"

static void strips_printk_time(void **state)
{
	(void)state;
	assert_string_equal(splat_strip_time("[    1.234567] hello"), "hello");
	assert_string_equal(splat_strip_time("[12345.000001] x"), "x");
	assert_string_equal(splat_strip_time("[ not a time] x"), "[ not a time] x");
	assert_string_equal(splat_strip_time("plain"), "plain");
	assert_string_equal(splat_strip_time("[1.0"), "[1.0");
}

static void recognises_splats(void **state)
{
	(void)state;
	assert_string_equal(splat_kind("[    3.1] Kernel panic - not syncing: Requested init /x failed"), "panic");
	assert_string_equal(splat_kind("[    3.1] BUG: KASAN: slab-use-after-free in pte_list_remove+0x1/0x2"), "KASAN report");
	assert_string_equal(splat_kind("[    3.1] WARNING: possible circular locking dependency detected"), "lockdep");
	assert_string_equal(splat_kind("[    3.1] WARNING: suspicious RCU usage"), "lockdep (RCU)");
	assert_string_equal(splat_kind("[    3.1] WARNING: CPU: 1 PID: 77 at arch/x86/kvm/mmu/mmu.c:1234 f+0x1/0x2 [kvm]"), "WARN");
	assert_string_equal(splat_kind("[  245.1] INFO: task kworker/0:1:12 blocked for more than 122 seconds."), "hung task");
	assert_string_equal(splat_kind("[    3.1] BUG: sleeping function called from invalid context at mm/slub.c:1"), "atomic sleep");
	assert_string_equal(splat_kind("[    3.1] Oops: general protection fault, probably for non-canonical address"), "oops");
	assert_string_equal(splat_kind("[    3.1] BUG: unable to handle page fault for address: 0000000000000008"), "BUG");
	assert_string_equal(splat_kind("[    3.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s!"), "soft lockup");
	assert_string_equal(splat_kind("Kernel panic - not syncing: Attempted to kill init!"), "panic");
}

static void tells_hangs_from_bugs(void **state)
{
	(void)state;
	assert_true(splat_is_hang("[  780.8] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"));
	assert_true(splat_is_hang("[  605.3] INFO: task khugepaged:37 blocked for more than 120 seconds."));
	assert_true(splat_is_hang("[    3.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s!"));
	assert_false(splat_is_hang("[    3.1] BUG: unable to handle page fault for address: 0000000000000008"));
	assert_false(splat_is_hang("[    3.1] WARNING: CPU: 1 PID: 77 at arch/x86/kvm/mmu/mmu.c:1234 f+0x1/0x2 [kvm]"));
	assert_false(splat_is_hang("[    3.1] Kernel panic - not syncing: Attempted to kill init!"));
	assert_false(splat_is_hang("[    2.0] kvm_amd: Nested Virtualization enabled"));
}

static void ignores_ordinary_lines(void **state)
{
	(void)state;
	assert_null(splat_kind("[    0.000000] Linux version 6.12.117-mmuscope-baseline"));
	assert_null(splat_kind("[    2.0] kvm_amd: Nested Virtualization enabled"));
	assert_null(splat_kind("mmuscope-exit-0123456789abcdef: 0"));
	assert_null(splat_kind("[    2.0] no BUG: here, it is not at the start"));
	assert_null(splat_kind(""));
}

/* [debugboot]: the report of a debug boot with LA57, as the console printed it (2026-12-07). */
static void names_the_known_la57_report(void **state)
{
	char *report[] = {
		"[    4.912345] BUG: KASAN: wild-memory-access in rcu_is_watching+0x20/0x40",
		"[    4.912350] Read of size 4 at addr ff11000189635380 by task swapper/0/0",
		"[    4.912360]  kasan_report+0xc1/0x100",
		"[    4.912361]  rcu_is_watching+0x20/0x40",
		"[    4.912362]  trace_hardirqs_off_finish+0x37/0x60",
		"[    4.912363]  irqentry_enter+0x2c/0x50",
		"[    4.912364]  common_interrupt+0x1a/0xa0",
		"[    4.912365]  asm_common_interrupt+0x26/0x40",
		"[    4.912366] RIP: 0010:cpu_detect+0x88/0x140",
	};
	char *other[] = {
		"[    9.1] BUG: KASAN: wild-memory-access in rcu_is_watching+0x20/0x40",
		"[    9.2]  kvm_mmu_page_fault+0x11/0x300 [kvm]",
	};
	char *uaf[] = {
		"[    9.1] BUG: KASAN: slab-use-after-free in identify_cpu+0x20/0x40",
	};

	(void)state;
	assert_non_null(splat_known(report, 9));
	assert_non_null(strstr(splat_known(report, 9), "5-level paging"));
	assert_null(splat_known(report, 1));	/* no trace seen: cannot tell */
	assert_null(splat_known(other, 2));
	assert_null(splat_known(uaf, 1));
	assert_null(splat_known(report, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strips_printk_time),
		cmocka_unit_test(recognises_splats),
		cmocka_unit_test(tells_hangs_from_bugs),
		cmocka_unit_test(ignores_ordinary_lines),
		cmocka_unit_test(names_the_known_la57_report),
	};

	return cmocka_run_group_tests_name("splat", tests, NULL, NULL);
}
