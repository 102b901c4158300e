// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksyms.h"

struct ksyms {
	struct ksym *syms;
	size_t n, cap;
	char *text;	/* /proc/kallsyms as read; names and modules point into it */
};

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The whole of a /proc file (its size is not known in advance), NUL-terminated. */
static char *read_all(const char *path)
{
	size_t len = 0, cap = 4 << 20;
	char *buf = malloc(cap + 1), *b;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || !buf)
		goto fail;
	while ((r = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)r;
		if (len == cap) {
			b = realloc(buf, 2 * cap + 1);
			if (!b)
				goto fail;
			buf = b;
			cap *= 2;
		}
	}
	if (r < 0)
		goto fail;
	close(fd);
	buf[len] = '\0';
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/*
 * Lines are "ADDR TYPE NAME" or "ADDR TYPE NAME\t[MODULE]". Parsed in place: at start-up,
 * under a TCG test host, sscanf and a strdup per symbol were a quarter of the loader's
 * start-up time. Text, data, read-only and bss symbols are kept: the data ones bound the
 * text before them, so that an address past a function's end is not taken for it.
 */
struct ksyms *ksyms_load_file(const char *path)
{
	struct ksyms *ks = calloc(1, sizeof(*ks));
	char *p, *next;

	if (!ks || !(ks->text = read_all(path))) {
		free(ks);
		return NULL;
	}
	for (p = ks->text; *p; p = next) {
		char *end, *name, *mod = NULL, type;
		unsigned long long addr;

		next = strchr(p, '\n');
		next = next ? (*next = '\0', next + 1) : p + strlen(p);
		addr = strtoull(p, &end, 16);
		if (end == p || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		if (!strchr("tTdDrRbB", type))
			continue;
		name = end + 3;
		end = strchr(name, '\t');
		if (end) {
			*end = '\0';
			if (end[1] == '[') {
				mod = end + 2;
				end = strchr(mod, ']');
				if (end)
					*end = '\0';
			}
		}
		if (ks->n == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 65536;
			struct ksym *sy = realloc(ks->syms, cap * sizeof(*sy));

			if (!sy)
				break;
			ks->syms = sy;
			ks->cap = cap;
		}
		ks->syms[ks->n].addr = addr;
		ks->syms[ks->n].name = name;
		ks->syms[ks->n].module = mod;
		ks->n++;
	}
	qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_addr);
	return ks;
}

struct ksyms *ksyms_load(void)
{
	return ksyms_load_file("/proc/kallsyms");
}

void ksyms_free(struct ksyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->text);
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
