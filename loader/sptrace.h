/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --sp-trace FILE: the string of shadow-page lookups and zaps of a run, for analysis/spsim
 * (Belady's MIN and the other replacement policies replayed on it, [reclaim2]).
 *
 * FILE is TSV, one event a line, OP GFN ROLE: G a lookup found the page, C it created it,
 * R the page was zapped to make room (kvm_mmu_zap_oldest_mmu_pages on the zap's stack), Z
 * zapped for another reason (write flooding, unsync, memslot, ...); GFN in hex with the
 * page's mmu_valid_gen in bits 56-63 (a fast zap-all makes every page obsolete: the next
 * lookup is a new page), ROLE the kvm_mmu_page_role word in hex. Header comments say what
 * was recorded, then "# pool N" (kvm->arch.n_max_mmu_pages) and the counts. One VM: the
 * events of the first VMM process seen; others are counted and left out.
 */
#ifndef MMUSCOPE_SPTRACE_H
#define MMUSCOPE_SPTRACE_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_link;
struct ksyms;
struct mmuprobe_bpf;
struct mmuprobe_sp_event;
struct ring_buffer;

struct sptrace {
	const char *path;		/* NULL: off */
	struct mmuprobe_sp_event *ev;
	size_t n, cap;
	unsigned long other_vms;	/* events of another process, left out */
	bool oom;
};

/* Between open and load: the programs' switch and the ring buffer's size. */
void sptrace_configure(struct sptrace *t, struct mmuprobe_bpf *skel);

/* After load: its ring buffer polled with rb's. 0, or a negative errno. */
int sptrace_attach(struct sptrace *t, struct ring_buffer *rb, struct mmuprobe_bpf *skel);

/* At the end: FILE written atomically. 0, or -1 (the error printed). */
int sptrace_write(struct sptrace *t, struct mmuprobe_bpf *skel, struct bpf_link *iter,
		  const struct ksyms *ksyms);

void sptrace_free(struct sptrace *t);

#endif
