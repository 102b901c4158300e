/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shadow-page pool replacement, offline: the logic of spsim, without its command line.
 *
 * A trace is what the probes record of a run, one event per line, OP<TAB>GFN<TAB>ROLE:
 *
 *   G  kvm_mmu_get_shadow_page found the page (gfn, role): a hit in the kernel's pool
 *   C  it created it: a miss
 *   Z  the page was zapped for a reason other than room (write flooding, unsync,
 *      invalidation): it leaves the pool of every policy
 *   R  the kernel recycled it to make room: its own policy's eviction, only counted
 *
 * GFN is decimal, or hex with 0x; ROLE is the 32-bit role word in hex (0x optional); a page
 * is the pair (gfn, role). '#' starts a comment; "# pool N" gives the pool's size
 * (kvm->arch.n_max_mmu_pages). The access string is the G and C events in order: the pages
 * the guest needed, whatever the kernel then had. Each policy replays it in a pool of N
 * pages (a miss creates the page, evicting one when the pool is full; a Z removes it):
 *
 *   FIFO   evict the oldest created (6.12's active_mmu_pages, zapped from its tail)
 *   CLOCK  second chance: a hit sets the page's reference bit; the hand, which starts at the
 *          oldest page, clears set bits as it passes and evicts the first page whose bit is
 *          clear. A created page starts with its bit clear (only a hit after its creation
 *          earns a second chance), so CLOCK without hits is FIFO
 *   LRU    evict the least recently accessed
 *   MIN    Belady's: evict the page whose next access is farthest; a page zapped before its
 *          next access, or never accessed again, is infinitely far. Among those, one never
 *          zapped goes first, then the one zapped last (one zapped soon frees its slot then)
 *
 * MIN has the fewest misses of any policy on the string, batched or not. Its evictions are
 * the fewest too when no page is zapped (misses - N for every policy once the pool is
 * full); with zaps, a policy that keeps a page until its zap frees its slot can need fewer
 * recycles than MIN for as many misses or more (evictions = misses - slots freed by zaps -
 * pages left at the end), so another policy's evictions can fall a little below MIN's.
 *
 * Batches (6.12 make_mmu_pages_available): FIFO, CLOCK and LRU can evict only when fewer
 * than min_free pages are free before a creation, and then until refill are free (or the
 * pool is empty); KVM's are KVM_MIN_FREE_MMU_PAGES (5) and KVM_REFILL_PAGES (25). One at a
 * time is min_free = refill = 1. MIN is always one at a time.
 *
 * Memory: the events (5 bytes each) and the pages (an open-addressing hash of their keys)
 * grow by doubling; a simulation allocates its per-page arrays once (MIN also 4 bytes per
 * event: the index of its page's next event). Nothing is allocated per event.
 */
#ifndef MMUSCOPE_SPSIMLOGIC_H
#define MMUSCOPE_SPSIMLOGIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The kernel's batch (arch/x86/kvm/mmu/mmu.c, 6.12). */
#define SP_KVM_MIN_FREE 5
#define SP_KVM_REFILL 25

enum sp_op { SP_ACCESS, SP_ZAP };

struct sp_event {
	uint32_t page;		/* index into the trace's pages */
	uint8_t op;		/* enum sp_op */
} __attribute__((packed));

struct sp_trace {
	struct sp_event *ev;	/* the access string and the zaps, in order */
	size_t n, cap;
	uint64_t *gfn;		/* per page (in order of first appearance) */
	uint32_t *role;
	uint8_t *state;		/* per page, while reading: seen, zapped since its last access */
	uint32_t npages, pages_cap;
	uint32_t *hash;		/* page index + 1 per slot, 0 empty; hash_cap a power of 2 */
	size_t hash_cap;

	/* what the trace says */
	unsigned long pool;	/* "# pool N"; 0 without one */
	unsigned long pool_line;
	uint64_t nG, nC, nZ, nR;
	uint64_t accesses;	/* nG + nC */
	uint64_t compulsory;	/* first accesses of a page: a miss for every policy */
	uint64_t after_zap;	/* accesses to a page zapped since its last access: ditto */
	uint64_t warm;		/* first accesses that were a G: pages created before the trace */

	/* the first bad line (sp_trace_read(), sp_trace_line() with EINVAL) */
	unsigned long err_line;
	char err[160];
};

struct sp_batch {
	unsigned long min_free;	/* evict only when fewer than this are free ... */
	unsigned long refill;	/* ... then until this many are (or the pool is empty) */
};

enum sp_policy { SP_FIFO, SP_CLOCK, SP_LRU, SP_MIN, SP_NPOLICIES };

struct sp_result {
	uint64_t hits, misses, evictions, compulsory;
};

/* An empty trace. */
void sp_trace_init(struct sp_trace *t);
void sp_trace_free(struct sp_trace *t);

/*
 * One line of a trace (without or with its newline; modified in place), line number lineno.
 * Returns 0, or -1 with errno EINVAL (t->err says what is wrong, t->err_line = lineno) or
 * ENOMEM.
 */
int sp_trace_line(struct sp_trace *t, char *line, unsigned long lineno);

/* Every line of f (getline). -1 with errno EINVAL (t->err, t->err_line), ENOMEM, or the read
 * error's. */
int sp_trace_read(struct sp_trace *t, FILE *f);

/* Append one event: op 'G', 'C', 'Z' or 'R'. 0, or -1 with errno EINVAL (another op) or
 * ENOMEM. (sp_trace_line() parses, then adds with this.) */
int sp_trace_add(struct sp_trace *t, char op, uint64_t gfn, uint32_t role);

/* The policy's name: "FIFO", "CLOCK", "LRU", "MIN". */
const char *sp_policy_name(enum sp_policy p);

/*
 * Replay t's access string with policy p in a pool of pool pages (>= 1). batch NULL: one
 * eviction at a time; else KVM's batches (not for MIN, 1 <= min_free <= refill). Returns 0
 * with *r filled, or -1 with errno EINVAL (bad arguments) or ENOMEM.
 */
int sp_simulate(const struct sp_trace *t, enum sp_policy p, unsigned long pool,
		const struct sp_batch *batch, struct sp_result *r);

#endif
