// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksyms.h"

struct ksyms {
	struct ksym *syms;
	size_t n, cap;
};

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct ksyms *ksyms_load(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	struct ksyms *ks;
	char line[512];

	if (!f)
		return NULL;
	ks = calloc(1, sizeof(*ks));
	while (ks && fgets(line, sizeof(line), f)) {
		char name[256], mod[128] = "", type;
		unsigned long long addr;
		int n = sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type, name, mod);

		if (n < 3 || (type != 't' && type != 'T' && type != 'd' && type != 'D' &&
			      type != 'r' && type != 'R' && type != 'b' && type != 'B'))
			continue;
		if (ks->n == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 65536;
			struct ksym *s = realloc(ks->syms, cap * sizeof(*s));

			if (!s)
				break;
			ks->syms = s;
			ks->cap = cap;
		}
		ks->syms[ks->n].addr = addr;
		ks->syms[ks->n].name = strdup(name);
		ks->syms[ks->n].module = n == 4 ? strdup(mod) : NULL;
		ks->n++;
	}
	fclose(f);
	if (ks)
		qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_addr);
	return ks;
}

void ksyms_free(struct ksyms *ks)
{
	size_t i;

	if (!ks)
		return;
	for (i = 0; i < ks->n; i++) {
		free(ks->syms[i].name);
		free(ks->syms[i].module);
	}
	free(ks->syms);
	free(ks);
}

const struct ksym *ksyms_find(const struct ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->n;

	if (!ks->n || addr < ks->syms[0].addr)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* No function is a megabyte long: an address that far past the nearest symbol is in
	 * code kallsyms does not list (a BPF trampoline, say), not in that symbol. */
	if (addr - ks->syms[lo].addr > (1u << 20))
		return NULL;
	return &ks->syms[lo];
}

uint64_t ksyms_addr(const struct ksyms *ks, const char *name)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		if (!strcmp(ks->syms[i].name, name))
			return ks->syms[i].addr;
	return 0;
}

int ksyms_usable(const struct ksyms *ks)
{
	return ks && ks->n && ks->syms[ks->n - 1].addr != 0;
}
