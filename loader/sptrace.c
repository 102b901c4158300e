// SPDX-License-Identifier: GPL-2.0
/*
 * --sp-trace: shadow-page lookups and zaps, recorded as they happen, written at the end
 * (sptrace.h says the format).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "atomicfile.h"
#include "maps.h"
#include "mmuprobe.h"
#include "mmuprobe.skel.h"
#include "sptrace.h"
#include "zapreason.h"

/* Records in flight between two polls (100 ms): 24 bytes each plus the ring's 8-byte
 * header; a fork job makes tens of thousands a second under TCG. */
#define SP_RINGBUF_SIZE (64u << 20)

void sptrace_configure(struct sptrace *t, struct mmuprobe_bpf *skel)
{
	skel->rodata->sp_trace = t->path != NULL;
	if (t->path)
		bpf_map__set_max_entries(skel->maps.sp_events, SP_RINGBUF_SIZE);
}

static int sp_event(void *ctx, void *data, size_t size)
{
	struct sptrace *t = ctx;
	const struct mmuprobe_sp_event *e = data;

	if (size < sizeof(*e))
		return 0;
	if (t->n && e->tgid != t->ev[0].tgid) {
		t->other_vms++;
		return 0;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1 << 16;
		struct mmuprobe_sp_event *ev = realloc(t->ev, cap * sizeof(*ev));

		if (!ev) {
			t->oom = true;
			return 0;
		}
		t->ev = ev;
		t->cap = cap;
	}
	t->ev[t->n++] = *e;
	return 0;
}

int sptrace_attach(struct sptrace *t, struct ring_buffer *rb, struct mmuprobe_bpf *skel)
{
	if (!t->path)
		return 0;
	return ring_buffer__add(rb, bpf_map__fd(skel->maps.sp_events), sp_event, t);
}

/* Was the zap with this stack a recycle? Stack ids repeat: each is resolved once. */
struct reasons {
	int *id;
	char *recycle;
	size_t n, cap;
};

static bool is_recycle(struct reasons *r, struct mmuprobe_bpf *skel, const struct ksyms *ksyms,
		       int stackid)
{
	const char *frames[MMUPROBE_STACK_DEPTH];
	size_t i;
	int n;
	bool rec;

	for (i = 0; i < r->n; i++)
		if (r->id[i] == stackid)
			return r->recycle[i];
	n = stackid < 0 ? 0 : maps_stack(skel, ksyms, stackid, frames, MMUPROBE_STACK_DEPTH);
	rec = n && !strcmp(zap_reason(frames, n), "recycle");
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		int *id = realloc(r->id, cap * sizeof(*id));
		char *re = id ? realloc(r->recycle, cap) : NULL;

		if (id)
			r->id = id;
		if (!re)
			return rec;	/* not remembered: asked again next time */
		r->recycle = re;
		r->cap = cap;
	}
	r->id[r->n] = stackid;
	r->recycle[r->n++] = rec;
	return rec;
}

/* The pool of the traced VM: kvm->arch.n_max_mmu_pages (0 when not known). */
static unsigned long pool_of(struct mmuprobe_bpf *skel, struct bpf_link *iter, __u32 tgid)
{
	struct mmuprobe_kvm_stat st[MAX_STATS];
	int i, n = maps_kvm_stats(skel, iter, st, MAX_STATS, true);

	for (i = 0; i < n; i++)
		if (st[i].tgid == tgid)
			return (unsigned long)st[i].n_max_mmu_pages;
	return 0;
}

int sptrace_write(struct sptrace *t, struct mmuprobe_bpf *skel, struct bpf_link *iter,
		  const struct ksyms *ksyms)
{
	struct reasons reasons = { 0 };
	unsigned long counts[4] = { 0 };	/* G C R Z */
	struct atomic_file af;
	unsigned long pool;
	size_t i;

	if (!t->path)
		return 0;
	if (atomic_open(&af, t->path)) {
		fprintf(stderr, "mmuprobe: error: --sp-trace: cannot write %s: %s\n", t->path,
			strerror(errno));
		return -1;
	}
	pool = t->n ? pool_of(skel, iter, t->ev[0].tgid) : 0;
	fprintf(af.f, "# mmuprobe --sp-trace: shadow-page lookups (G found, C created) and zaps "
		"(R to make room, Z other), OP GFN ROLE; GFN with mmu_valid_gen in bits 56-63\n");
	if (t->n)
		fprintf(af.f, "# vmm pid %u\n", t->ev[0].tgid);
	if (pool)
		fprintf(af.f, "# pool %lu\n", pool);
	for (i = 0; i < t->n; i++) {
		const struct mmuprobe_sp_event *e = &t->ev[i];
		char op = (char)e->op;

		if (op == 'Z' && is_recycle(&reasons, skel, ksyms, e->stackid))
			op = 'R';
		counts[op == 'G' ? 0 : op == 'C' ? 1 : op == 'R' ? 2 : 3]++;
		fprintf(af.f, "%c\t0x%llx\t0x%x\n", op,
			(unsigned long long)(e->gfn | (__u64)e->gen << 56), e->role);
	}
	fprintf(af.f, "# events: %lu G, %lu C, %lu R, %lu Z; lost: %llu (ring buffer full), %s; "
		"other VMs' events left out: %lu\n", counts[0], counts[1], counts[2], counts[3],
		(unsigned long long)maps_drops(skel, DROP_SP_RINGBUF),
		t->oom ? "some (out of memory)" : "none in memory", t->other_vms);
	free(reasons.id);
	free(reasons.recycle);
	if (atomic_commit(&af)) {
		fprintf(stderr, "mmuprobe: error: --sp-trace: cannot write %s: %s\n", t->path,
			strerror(errno));
		return -1;
	}
	if (maps_drops(skel, DROP_SP_RINGBUF) || t->oom)
		fprintf(stderr, "mmuprobe: warning: --sp-trace: %llu records lost (ring buffer full)%s: "
			"the trace in %s is incomplete\n",
			(unsigned long long)maps_drops(skel, DROP_SP_RINGBUF),
			t->oom ? " and some for want of memory" : "", t->path);
	return 0;
}

void sptrace_free(struct sptrace *t)
{
	free(t->ev);
	t->ev = NULL;
	t->n = t->cap = 0;
}
