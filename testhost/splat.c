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
} splats[] = {
	{ "Kernel panic - not syncing", "panic" },
	{ "BUG: KASAN:", "KASAN report" },
	{ "BUG: KFENCE:", "KFENCE report" },
	{ "UBSAN:", "UBSAN report" },
	{ "BUG: sleeping function called from invalid context", "atomic sleep" },
	{ "BUG: scheduling while atomic", "atomic sleep" },
	{ "BUG: soft lockup", "soft lockup" },
	{ "watchdog: BUG: soft lockup", "soft lockup" },
	{ "BUG:", "BUG" },
	{ "kernel BUG at", "BUG" },
	{ "Oops:", "oops" },
	{ "general protection fault", "oops" },
	{ "WARNING: possible circular locking dependency", "lockdep" },
	{ "WARNING: possible recursive locking", "lockdep" },
	{ "WARNING: inconsistent lock state", "lockdep" },
	{ "WARNING: suspicious RCU usage", "lockdep (RCU)" },
	{ "WARNING: bad unlock balance", "lockdep" },
	{ "WARNING: lock held when returning to user space", "lockdep" },
	{ "WARNING: possible irq lock inversion", "lockdep" },
	{ "WARNING: HARDIRQ-safe", "lockdep" },
	{ "WARNING: SOFTIRQ-safe", "lockdep" },
	{ "WARNING: CPU:", "WARN" },
	{ "WARNING:", "WARN" },
	{ "INFO: task ", "hung task" },
	{ "INFO: rcu_", "RCU stall" },
	{ "rcu: INFO: rcu_", "RCU stall" },
	{ "list_add corruption", "list corruption" },
	{ "list_del corruption", "list corruption" },
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

const char *splat_kind(const char *line)
{
	const char *p = splat_strip_time(line);
	size_t i;

	for (i = 0; i < sizeof(splats) / sizeof(splats[0]); i++)
		if (!strncmp(p, splats[i].prefix, strlen(splats[i].prefix)))
			return splats[i].kind;
	return NULL;
}
