/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel symbols from /proc/kallsyms: address -> function, name -> address. */
#ifndef MMUSCOPE_KSYMS_H
#define MMUSCOPE_KSYMS_H

#include <stdint.h>

struct ksym {
	uint64_t addr;
	const char *name;
	const char *module;	/* NULL for vmlinux */
};

struct ksyms;

struct ksyms *ksyms_load(void);
/* The same from a file in /proc/kallsyms' format. */
struct ksyms *ksyms_load_file(const char *path);
void ksyms_free(struct ksyms *ks);
/* The symbol containing addr, or NULL. */
const struct ksym *ksyms_find(const struct ksyms *ks, uint64_t addr);
/* The address of the first symbol called name (any module), or 0. */
uint64_t ksyms_addr(const struct ksyms *ks, const char *name);
/* Whether addresses are visible (not all zero, as with kptr_restrict for non-root). */
int ksyms_usable(const struct ksyms *ks);

#endif
