// SPDX-License-Identifier: GPL-2.0
/*
 * Which console lines mean the test host's kernel is broken. A run with any of these fails
 * even if the command exited 0: a performance number from a kernel that splatted is not
 * worth anything. The list follows the headers the kernel prints (lib/bug.c, kernel/panic.c,
 * kernel/locking/lockdep.c, mm/kasan/report.c, kernel/hung_task.c, kernel/watchdog.c,
 * kernel/rcu/tree_stall.h).
 */
#include <ctype.h>
#include <string.h>

#include "splat.h"

static const struct {
	const char *prefix;
	const char *kind;
	bool hang;	/* the kernel reports that it stopped making progress */
} splats[] = {
	{ "Kernel panic - not syncing", "panic", false },
	{ "BUG: KASAN:", "KASAN report", false },
	{ "BUG: KFENCE:", "KFENCE report", false },
	{ "UBSAN:", "UBSAN report", false },
	{ "BUG: sleeping function called from invalid context", "atomic sleep", false },
	{ "BUG: scheduling while atomic", "atomic sleep", false },
	{ "BUG: soft lockup", "soft lockup", true },
	{ "watchdog: BUG: soft lockup", "soft lockup", true },
	{ "BUG:", "BUG", false },
	{ "kernel BUG at", "BUG", false },
	{ "Oops:", "oops", false },
	{ "general protection fault", "oops", false },
	{ "WARNING: possible circular locking dependency", "lockdep", false },
	{ "WARNING: possible recursive locking", "lockdep", false },
	{ "WARNING: inconsistent lock state", "lockdep", false },
	{ "WARNING: suspicious RCU usage", "lockdep (RCU)", false },
	{ "WARNING: bad unlock balance", "lockdep", false },
	{ "WARNING: lock held when returning to user space", "lockdep", false },
	{ "WARNING: possible irq lock inversion", "lockdep", false },
	{ "WARNING: HARDIRQ-safe", "lockdep", false },
	{ "WARNING: SOFTIRQ-safe", "lockdep", false },
	{ "WARNING: CPU:", "WARN", false },
	{ "WARNING:", "WARN", false },
	{ "INFO: task ", "hung task", true },
	{ "INFO: rcu_", "RCU stall", true },
	{ "rcu: INFO: rcu_", "RCU stall", true },
	{ "list_add corruption", "list corruption", false },
	{ "list_del corruption", "list corruption", false },
};

const char *splat_strip_time(const char *line)
{
	const char *p = line;

	if (*p != '[')
		return line;
	p++;
	while (*p == ' ')
		p++;
	if (!isdigit((unsigned char)*p))
		return line;
	while (isdigit((unsigned char)*p) || *p == '.')
		p++;
	if (*p != ']')
		return line;
	p++;
	if (*p == ' ')
		p++;
	return p;
}

static int splat_index(const char *line)
{
	const char *p = splat_strip_time(line);
	size_t i;

	for (i = 0; i < sizeof(splats) / sizeof(splats[0]); i++)
		if (!strncmp(p, splats[i].prefix, strlen(splats[i].prefix)))
			return (int)i;
	return -1;
}

const char *splat_kind(const char *line)
{
	int i = splat_index(line);

	return i < 0 ? NULL : splats[i].kind;
}

bool splat_is_hang(const char *line)
{
	int i = splat_index(line);

	return i >= 0 && splats[i].hang;
}

/*
 * 6.12 with 5-level paging: until alternatives are patched, pgtable_l5_enabled() reads
 * X86_FEATURE_LA57 from boot_cpu_data, which identify_boot_cpu() zeroes and fills again
 * with interrupts on; an interrupt in between makes KASAN's addr_has_metadata() take the
 * 5-level direct map (0xff11...) for a wild address. Recognised by the header and the
 * CPU identification in the report's trace.
 */
static bool la57_identify_kasan(char *const *lines, unsigned int n)
{
	bool identify = false;

	if (!n || strncmp(splat_strip_time(lines[0]), "BUG: KASAN: wild-memory-access in rcu_is_watching", 49))
		return false;
	for (unsigned int i = 1; i < n; i++)
		if (strstr(lines[i], "cpu_detect") || strstr(lines[i], "identify_cpu") ||
		    strstr(lines[i], "identify_boot_cpu") || strstr(lines[i], "generic_identify"))
			identify = true;
	return identify;
}

const char *splat_known(char *const *lines, unsigned int nlines)
{
	if (la57_identify_kasan(lines, nlines))
		return "the known false KASAN report of a boot with 5-level paging (an interrupt "
		       "while identify_boot_cpu() re-reads the CPU's features; README: The test "
		       "host): boot without LA57 (testhost's default --cpu)";
	return NULL;
}
