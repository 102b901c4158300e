/* SPDX-License-Identifier: GPL-2.0 */
/* Why KVM zapped a shadow page, told from the kernel stack of the zap. */
#ifndef MMUSCOPE_ZAPREASON_H
#define MMUSCOPE_ZAPREASON_H

/* frames[0] is the innermost function name. Returns a static reason string:
 * recycle, write_flooding, memslot, mmu_notifier, zap_all_fast, collapse, root_free,
 * sync, unprotect, vm_teardown, or "other". */
const char *zap_reason(const char *const *frames, int n);

#endif
