// SPDX-License-Identifier: GPL-2.0
/*
 * insns.so: a QEMU 7.2 TCG plugin that counts the instructions the guest executes inside
 * windows that the guest marks itself, per vCPU, split by address. Built by `make insns`
 * against the qemu-plugin.h of the installed QEMU (make deps); loaded with
 *   -plugin insns.so,outdir=DIR[,ranges=FILE][,range=NAME:START:END]...
 *
 * The window. The guest executes, at a user address, `xchg %bx,%bx` (66 87 db) to start
 * and `xchg %cx,%cx` (66 87 c9) to end a window: architectural no-ops, which
 * tcgplugin/insns-mark executes (`insns-mark start|end|run -- CMD`). The plugin recognises
 * them at translation by their bytes (exactly those 3 bytes, at an address below the kernel
 * half; an L2 guest's user space under emulated SVM marks windows as well: the plugin cannot
 * tell it from the test host's). Outside a window only those two instructions get a
 * callback: nothing else is instrumented. A start flushes QEMU's translation cache
 * (qemu_plugin_reset, the only flush 7.2 offers a plugin: it drops the plugin's callbacks,
 * which are registered again), so that all code translated from then on carries a per-TB
 * execution callback; an end writes the window's document and flushes again. The flush takes
 * effect at the next TB boundary, before any other TB runs (QEMU kicks every vCPU out of its
 * loop to run it; round-robin TCG runs it before the next vCPU's turn): the rest of the
 * marker's own TB is accounted for in the marker's callback, from counts precomputed at
 * translation. The two marker instructions are not counted. A start while a window is open discards it and starts the next one; an end without
 * an open window does nothing.
 *
 * The document. An end writes, synchronously in the end marker's callback (so before the
 * marker instruction completes: the guest can read it at once, e.g. through a 9p share),
 * DIR/<window>.json and DIR/last.json (each a temporary file renamed into place), schema
 * "mmuscope.insns/1" (tcgplugin/insns-json.md): {schema, window, ended_on_vcpu, vcpus:
 * [{vcpu, user, kernel}], total: {user, kernel, all}, buckets: {NAME: count},
 * uncounted_tbs, params: {...}}.
 * Windows are numbered 1, 2, ... per QEMU process. A window still open at exit writes
 * nothing (`-d plugin` shows a line).
 *
 * What each count holds, per vCPU index:
 *  - user, kernel: every instruction by its virtual address: kernel is x86-64 Linux's upper
 *    half, address >= 0xffff800000000000 (4- and 5-level paging), user below. The address is
 *    the one in the address space the vCPU runs in: under emulated SVM an L2 guest's
 *    instructions count by the L2's addresses (an L2 kernel instruction is "kernel"); 7.2
 *    cannot read the registers that would tell guest mode apart.
 *  - buckets: named address ranges [START, END) from ranges=FILE (lines `NAME START END`, hex,
 *    e.g. a function's kallsyms address and the next symbol's; `#` comments; several
 *    ranges= allowed) and range= arguments. Exclusive: ranges must not overlap (an error at
 *    load), so an instruction counts in at most the one bucket whose range contains it;
 *    ranges sharing a name add up (kallsyms repeats static functions' names). Empty ranges
 *    are ignored. For buckets of a test host's kernel, mind the L2 caveat above: module
 *    addresses (kvm.ko) are not used by a guest kernel without modules; vmlinux text
 *    addresses may be (tcgplugin/insns-ranges checks the workload guest's kernel).
 *
 * Ranges that arrive after boot. kvm.ko is loaded after QEMU started, so a ranges=FILE may
 * not exist at load (no ranges from it, no error) and is read again at a window's start
 * when it changed since it was last read: appeared, disappeared, or another inode, size or
 * mtime (write it atomically: a temporary file renamed over it). That happens in the reset
 * callback of the start's flush, where every vCPU is stopped and no TB is left: the new set
 * (all files and range= arguments) replaces the old one whole, per-vCPU bucket arrays are
 * resized, and what the window counted before the flush moves to the bucket of the same
 * name. A window's buckets are therefore those of the files as they were at its start. A
 * changed file that cannot be used (a malformed line, an overlap) is refused with a message
 * on stderr; the previous set stays until the file changes again. The document's params
 * say which file contents the buckets come from (ranges_files: path, present, dev, ino,
 * size, mtime, ranges, loaded_at_window: 0 at load, else the window whose start read it),
 * how many reloads happened (ranges_reloads) and why the last one was refused
 * (ranges_error, null when it was not).
 *
 * Counting. Each TB's counts (user, kernel, per bucket) are computed at translation and
 * interned (identical count vectors share one record, so memory stays bounded across the
 * flushes); one execution callback per TB (QEMU_PLUGIN_CB_NO_REGS) adds them to the running
 * vCPU's own counters. QEMU 7.2 calls callbacks in the vCPU's own thread and does not
 * serialise them under MTTCG (-accel tcg,thread=multi): each vCPU's counters are written only
 * by that thread, and the end marker reads the others' with relaxed atomic loads: no shared
 * counter, exact per vCPU. Inline ops are not used: in 7.2 an inline op is one counter shared
 * by all vCPUs without atomics. TB granularity: a TB's instructions count when it starts; a
 * TB left in its middle by an exception (a guest page fault, ...) also counts the
 * instructions after the faulting one, which count again when re-executed: an overcount of
 * a few instructions per such exception. A rep-prefixed string instruction counts once per
 * iteration (TCG runs each iteration as one execution of its TB: `rep stosb` of 1000 bytes
 * counts 1000).
 *
 * Cost. Outside a window: at translation only (each instruction's address classified, a
 * binary search when ranges are given, and its length compared with the markers'), nothing
 * at execution. Each window: two translation cache flushes (the working set retranslated
 * twice) and a stat() of each ranges= file. Inside: one helper call per TB executed, a few
 * loads and stores per TB and bucket.
 * Measured in user mode (qemu-x86_64, tests/insns.sh: 2e8 iterations of a 4-instruction loop,
 * one TB each, the worst case): 0.26-0.31 s CPU without the plugin, 0.29-0.44 s with it and
 * no window (noise of a busy 2-core machine), 1.02-1.11 s inside a window: ~3.8 ns per TB.
 *
 * vCPUs and determinism. With -accel tcg,thread=single (round-robin) the flush happens before
 * any other vCPU runs again: every vCPU's count is exact. With thread=multi the other vCPUs
 * join a window when the flush's exclusive section stops them (a few TBs late) and the end
 * marker reads their counters while they run: exact for the vCPU that marks, close for the
 * others. Identical runs give identical counts for a deterministic program (user mode); a
 * system-mode guest's counts also depend on timer interrupts and scheduling (QEMU's -icount
 * would remove that).
 *
 * QEMU 7.2 API (plugin API 1) only: no register or memory reads (so the guest cannot pass a
 * window name: windows are numbered), no per-vCPU scoreboards or conditional callbacks
 * (8.x/9.x), no TB flush other than qemu_plugin_reset.
 *
 * User mode (qemu-x86_64): one QEMU process emulates one guest process. A fork's child is a
 * separate QEMU process (with a copy of this plugin that never writes, as the window's end
 * is in the parent), and an execve'd x86-64 program runs natively (no binfmt_misc entry for
 * the host's own architecture): a window counts only the process that marks it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <qemu-plugin.h>

#include "atomicfile.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define SCHEMA "mmuscope.insns/1"
#define KERNEL_START 0xffff800000000000ULL
#define USER_VCPUS_MAX 1024	/* user mode: vCPU indexes (threads alive at once) counted */
#define MARK_LEN 3
static const uint8_t mark_start[MARK_LEN] = { 0x66, 0x87, 0xdb };	/* xchg %bx,%bx */
static const uint8_t mark_end[MARK_LEN] = { 0x66, 0x87, 0xc9 };	/* xchg %cx,%cx */

/* --- parameters -------------------------------------------------------------------------- */
static qemu_plugin_id_t plugin_id;
static const char *outdir;
static bool system_emulation;
static const char *target_name = "";

/* --- buckets: sorted non-overlapping ranges, each naming a bucket ------------------------ */
struct range {
	uint64_t start, end;	/* [start, end) */
	char *name;
	uint32_t bucket;
};

struct range_set {
	struct range *r;	/* by start once finished */
	size_t n, cap;
	char **names;		/* bucket index -> name (sorted by name; points into r[].name) */
	uint32_t nb;
};

/*
 * The set in use. Replaced only in the reset callback of a window's start, where every vCPU
 * is stopped and the translation cache is empty: translation (bucket_of), the per-TB counts
 * and the per-vCPU counters never see two sets at once.
 */
static struct range_set rs;

/* A ranges=FILE: the identity of the file the set was built from, and of the last one seen. */
struct ranges_file {
	const char *path;
	bool present;			/* it existed at the load the set comes from */
	struct stat st;			/* ... its identity then */
	size_t nranges;			/* ... and the ranges it gave */
	uint64_t loaded_at_window;	/* 0: at install */
	bool seen_present;		/* the last identity looked at (loaded, or failed to) */
	struct stat seen;
};
static struct ranges_file *rfiles;
static unsigned int nrfiles;
static const char **range_args;		/* range=NAME:START:END, kept for each reload */
static unsigned int nrange_args;
static uint64_t ranges_reloads;
static char ranges_error[640];		/* why the last reload was refused ("": it was not) */

static void range_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void range_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ranges_error, sizeof(ranges_error), fmt, ap);
	va_end(ap);
	fprintf(stderr, "insns: %s\n", ranges_error);
}

/* Bucket index of an address, or -1. */
static int64_t bucket_of(uint64_t va)
{
	size_t lo = 0, hi = rs.n;

	while (lo < hi) {	/* first range with start > va */
		size_t mid = lo + (hi - lo) / 2;

		if (rs.r[mid].start <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || va >= rs.r[lo - 1].end)
		return -1;
	return rs.r[lo - 1].bucket;
}

static void set_free(struct range_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->r[i].name);
	free(s->r);
	free(s->names);
	memset(s, 0, sizeof(*s));
}

static int add_range(struct range_set *s, const char *name, uint64_t start, uint64_t end,
		     const char *where)
{
	if (start > end) {
		range_error("%s: range %s starts at 0x%" PRIx64 " after its end 0x%" PRIx64,
			    where, name, start, end);
		return -1;
	}
	if (start == end)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		if (!s->r)
			abort();
	}
	s->r[s->n].start = start;
	s->r[s->n].end = end;
	s->r[s->n].name = strdup(name);
	if (!s->r[s->n].name)
		abort();
	s->n++;
	return 0;
}

static bool parse_hex(const char *s, uint64_t *v)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*v = strtoull(s, &end, 16);
	return !errno && !*end;
}

/*
 * The ranges of f->path into s; f's identity becomes that of the file read. A file that does
 * not exist gives no ranges (not an error: a test host writes its file once KVM is loaded).
 */
static int load_ranges_file(struct range_set *s, struct ranges_file *f)
{
	FILE *fp = fopen(f->path, "r");
	char line[1024], where[1100];
	size_t before = s->n;
	unsigned int n = 0;

	f->present = false;
	f->nranges = 0;
	memset(&f->st, 0, sizeof(f->st));
	if (!fp) {
		if (errno == ENOENT)
			return 0;
		range_error("ranges=%s: %s", f->path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &f->st)) {
		range_error("ranges=%s: %s", f->path, strerror(errno));
		fclose(fp);
		return -1;
	}
	f->present = true;
	while (fgets(line, sizeof(line), fp)) {
		char name[512], a[64], e[64], extra[2];
		uint64_t start, end;
		int got;

		n++;
		snprintf(where, sizeof(where), "%s:%u", f->path, n);
		line[strcspn(line, "#\n")] = 0;
		got = sscanf(line, "%511s %63s %63s %1s", name, a, e, extra);
		if (got <= 0)
			continue;
		if (got != 3 || !parse_hex(a, &start) || !parse_hex(e, &end)) {
			range_error("%s: not NAME START END (hex): %s", where, line);
			fclose(fp);
			return -1;
		}
		if (add_range(s, name, start, end, where)) {
			fclose(fp);
			return -1;
		}
	}
	fclose(fp);
	f->nranges = s->n - before;
	return 0;
}

/* range=NAME:START:END */
static int parse_range_arg(struct range_set *s, const char *arg)
{
	char *copy = strdup(arg), *a, *e;
	uint64_t start, end;
	bool added = false;
	int rc = -1;

	if (!copy)
		abort();
	e = strrchr(copy, ':');
	if (e) {
		*e++ = 0;
		a = strrchr(copy, ':');
		if (a) {
			*a++ = 0;
			if (*copy && parse_hex(a, &start) && parse_hex(e, &end)) {
				added = true;
				rc = add_range(s, copy, start, end, "range=");
			}
		}
	}
	if (rc && !added)
		range_error("range=%s: not NAME:START:END (hex)", arg);
	free(copy);
	return rc;
}

static int cmp_range_name(const void *a, const void *b)
{
	return strcmp(((const struct range *)a)->name, ((const struct range *)b)->name);
}

static int cmp_range_start(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Number the buckets (one per distinct name, in name order), sort by address, refuse overlaps. */
static int finish_ranges(struct range_set *s)
{
	qsort(s->r, s->n, sizeof(*s->r), cmp_range_name);
	s->names = calloc(s->n ? s->n : 1, sizeof(*s->names));
	if (!s->names)
		abort();
	for (size_t i = 0; i < s->n; i++) {
		if (i == 0 || strcmp(s->r[i].name, s->r[i - 1].name))
			s->names[s->nb++] = s->r[i].name;
		s->r[i].bucket = s->nb - 1;
	}
	qsort(s->r, s->n, sizeof(*s->r), cmp_range_start);
	for (size_t i = 1; i < s->n; i++) {
		if (s->r[i].start < s->r[i - 1].end) {
			range_error("ranges %s [0x%" PRIx64 ", 0x%" PRIx64 ") and %s [0x%" PRIx64
				    ", 0x%" PRIx64 ") overlap: an instruction counts in one bucket only",
				    s->r[i - 1].name, s->r[i - 1].start, s->r[i - 1].end,
				    s->r[i].name, s->r[i].start, s->r[i].end);
			return -1;
		}
	}
	return 0;
}

/* A new set from every ranges= file and range= argument, into s; files[] get their identities. */
static int build_ranges(struct range_set *s, struct ranges_file *files)
{
	memset(s, 0, sizeof(*s));
	for (unsigned int i = 0; i < nrfiles; i++)
		if (load_ranges_file(s, &files[i]))
			goto fail;
	for (unsigned int i = 0; i < nrange_args; i++)
		if (parse_range_arg(s, range_args[i]))
			goto fail;
	if (finish_ranges(s))
		goto fail;
	return 0;
fail:
	set_free(s);
	return -1;
}

static bool same_file(bool present, const struct stat *a, bool was_present, const struct stat *b)
{
	if (present != was_present)
		return false;
	return !present || (a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
			    a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
			    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec);
}

/* Bucket index of a name in s (names sorted), or -1. */
static int64_t bucket_named(const struct range_set *s, const char *name)
{
	size_t lo = 0, hi = s->nb;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->names[mid], name);

		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* --- per-TB counts, computed at translation and interned ---------------------------------- */
struct bcount {
	uint32_t bucket, n;
};

struct counts {
	uint32_t user, kernel, nb;
	struct bcount b[];	/* nb buckets, by bucket index */
};

static size_t counts_size(uint32_t nb)
{
	return sizeof(struct counts) + nb * sizeof(struct bcount);
}

static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct counts **itab;	/* open addressing, power-of-two size */
static size_t icap, ilen;

static uint64_t counts_hash(const struct counts *c)
{
	const unsigned char *p = (const unsigned char *)c;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < counts_size(c->nb); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static void itab_insert(const struct counts *c)
{
	size_t i = counts_hash(c) & (icap - 1);

	while (itab[i])
		i = (i + 1) & (icap - 1);
	itab[i] = c;
	ilen++;
}

/* The one shared copy of counts equal to *c. */
static const struct counts *intern(const struct counts *c)
{
	const struct counts *r = NULL;
	size_t sz = counts_size(c->nb);

	pthread_mutex_lock(&intern_lock);
	if (2 * (ilen + 1) > icap) {
		const struct counts **old = itab;
		size_t oldcap = icap;

		icap = icap ? 2 * icap : 1024;
		itab = calloc(icap, sizeof(*itab));
		if (!itab)
			abort();
		ilen = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				itab_insert(old[i]);
		free(old);
	}
	for (size_t i = counts_hash(c) & (icap - 1); itab[i]; i = (i + 1) & (icap - 1)) {
		if (itab[i]->nb == c->nb && !memcmp(itab[i], c, sz)) {
			r = itab[i];
			break;
		}
	}
	if (!r) {
		struct counts *n = malloc(sz);

		if (!n)
			abort();
		memcpy(n, c, sz);
		itab_insert(n);
		r = n;
	}
	pthread_mutex_unlock(&intern_lock);
	return r;
}

/*
 * An instruction's class: bit 0 kernel, bits 1.. bucket index + 1 (0: none). The counts of
 * instructions [from, to) of a TB, interned; scratch has room for to - from buckets.
 */
static const struct counts *counts_of(const uint32_t *cls, size_t from, size_t to,
				      struct counts *scratch)
{
	scratch->user = scratch->kernel = scratch->nb = 0;
	for (size_t i = from; i < to; i++) {
		uint32_t b = cls[i] >> 1, j;

		if (cls[i] & 1)
			scratch->kernel++;
		else
			scratch->user++;
		if (!b--)
			continue;
		for (j = 0; j < scratch->nb && scratch->b[j].bucket < b; j++)
			;
		if (j < scratch->nb && scratch->b[j].bucket == b) {
			scratch->b[j].n++;
			continue;
		}
		memmove(&scratch->b[j + 1], &scratch->b[j], (scratch->nb - j) * sizeof(scratch->b[0]));
		scratch->b[j].bucket = b;
		scratch->b[j].n = 1;
		scratch->nb++;
	}
	return intern(scratch);
}

/* --- per-vCPU counters, written only by the vCPU's own thread ----------------------------- */
struct vcpu {
	_Atomic uint64_t window;	/* the window these counts belong to */
	_Atomic uint64_t user, kernel;
	_Atomic uint64_t bucket[];	/* rs.nb */
};

static _Atomic(struct vcpu *) *vcpus;
static unsigned int vcpu_slots;
static pthread_mutex_t vcpu_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t uncounted_tbs;	/* TBs of vCPU indexes beyond vcpu_slots */

static struct vcpu *vcpu_alloc(void)
{
	struct vcpu *v = calloc(1, sizeof(*v) + rs.nb * sizeof(v->bucket[0]));

	if (!v)
		abort();
	return v;
}

static struct vcpu *vcpu_get(unsigned int idx)
{
	struct vcpu *v;

	if (idx >= vcpu_slots) {
		atomic_fetch_add_explicit(&uncounted_tbs, 1, memory_order_relaxed);
		return NULL;
	}
	v = atomic_load_explicit(&vcpus[idx], memory_order_acquire);
	if (v)
		return v;
	pthread_mutex_lock(&vcpu_lock);	/* user mode: a new thread's first TB */
	v = atomic_load_explicit(&vcpus[idx], memory_order_relaxed);
	if (!v) {
		v = vcpu_alloc();
		atomic_store_explicit(&vcpus[idx], v, memory_order_release);
	}
	pthread_mutex_unlock(&vcpu_lock);
	return v;
}

/* Owner-thread update of a counter: a plain load and store, race-free for the readers. */
static inline void counter_add(_Atomic uint64_t *c, int sign, uint64_t n)
{
	uint64_t v = atomic_load_explicit(c, memory_order_relaxed);

	v = sign > 0 ? v + n : (v > n ? v - n : 0);
	atomic_store_explicit(c, v, memory_order_relaxed);
}

/* --- the window -------------------------------------------------------------------------- */
static pthread_mutex_t window_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t window;		/* the current (or last) window's number */
static _Atomic bool window_open;

/* The owner thread's counters moved to the current window (zeroed when it changed). */
static void vcpu_sync(struct vcpu *v)
{
	uint64_t w = atomic_load_explicit(&window, memory_order_acquire);

	if (atomic_load_explicit(&v->window, memory_order_relaxed) == w)
		return;
	atomic_store_explicit(&v->user, 0, memory_order_relaxed);
	atomic_store_explicit(&v->kernel, 0, memory_order_relaxed);
	for (uint32_t b = 0; b < rs.nb; b++)
		atomic_store_explicit(&v->bucket[b], 0, memory_order_relaxed);
	atomic_store_explicit(&v->window, w, memory_order_release);
}

static void vcpu_add(struct vcpu *v, const struct counts *c, int sign)
{
	counter_add(&v->user, sign, c->user);
	counter_add(&v->kernel, sign, c->kernel);
	for (uint32_t i = 0; i < c->nb; i++)
		counter_add(&v->bucket[c->b[i].bucket], sign, c->b[i].n);
}

static void tb_exec(unsigned int vcpu_index, void *udata)
{
	struct vcpu *v;

	if (!atomic_load_explicit(&window_open, memory_order_acquire))
		return;		/* between the end marker and the flush */
	v = vcpu_get(vcpu_index);
	if (!v)
		return;
	vcpu_sync(v);
	vcpu_add(v, udata, 1);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static int write_file_atomic(const char *name, const char *buf, size_t len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	if (atomic_write(path, buf, len)) {
		fprintf(stderr, "insns: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The window's document, from every vCPU's counters of this window. Under window_lock. */
static void write_window(uint64_t w, unsigned int ended_on)
{
	uint64_t *btot = calloc(rs.nb ? rs.nb : 1, sizeof(*btot));
	uint64_t tu = 0, tk = 0;
	char *buf = NULL, name[64];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool first = true;

	if (!btot || !f)
		abort();
	fprintf(f, "{\"schema\":\"%s\",\"window\":%" PRIu64 ",\"ended_on_vcpu\":%u,\"vcpus\":[",
		SCHEMA, w, ended_on);
	for (unsigned int i = 0; i < vcpu_slots; i++) {
		struct vcpu *v = atomic_load_explicit(&vcpus[i], memory_order_acquire);
		uint64_t u = 0, k = 0;

		if (!v)
			continue;
		if (atomic_load_explicit(&v->window, memory_order_acquire) == w) {
			u = atomic_load_explicit(&v->user, memory_order_relaxed);
			k = atomic_load_explicit(&v->kernel, memory_order_relaxed);
			for (uint32_t b = 0; b < rs.nb; b++)
				btot[b] += atomic_load_explicit(&v->bucket[b], memory_order_relaxed);
		}
		tu += u;
		tk += k;
		fprintf(f, "%s{\"vcpu\":%u,\"user\":%" PRIu64 ",\"kernel\":%" PRIu64 "}",
			first ? "" : ",", i, u, k);
		first = false;
	}
	fprintf(f, "],\"total\":{\"user\":%" PRIu64 ",\"kernel\":%" PRIu64 ",\"all\":%" PRIu64 "},"
		"\"buckets\":{", tu, tk, tu + tk);
	for (uint32_t b = 0; b < rs.nb; b++) {
		fputs(b ? "," : "", f);
		json_string(f, rs.names[b]);
		fprintf(f, ":%" PRIu64, btot[b]);
	}
	fprintf(f, "},\"uncounted_tbs\":%" PRIu64 ",\"params\":{\"outdir\":",
		atomic_load_explicit(&uncounted_tbs, memory_order_relaxed));
	json_string(f, outdir);
	fputs(",\"ranges_files\":[", f);
	for (unsigned int i = 0; i < nrfiles; i++) {
		const struct ranges_file *rf = &rfiles[i];

		fputs(i ? ",{\"path\":" : "{\"path\":", f);
		json_string(f, rf->path);
		if (rf->present)
			fprintf(f, ",\"present\":true,\"dev\":%ju,\"ino\":%ju,\"size\":%jd,"
				"\"mtime\":\"%jd.%09ld\"", (uintmax_t)rf->st.st_dev,
				(uintmax_t)rf->st.st_ino, (intmax_t)rf->st.st_size,
				(intmax_t)rf->st.st_mtim.tv_sec, rf->st.st_mtim.tv_nsec);
		else
			fputs(",\"present\":false", f);
		fprintf(f, ",\"ranges\":%zu,\"loaded_at_window\":%" PRIu64 "}", rf->nranges,
			rf->loaded_at_window);
	}
	fprintf(f, "],\"range_args\":%u,\"ranges_reloads\":%" PRIu64 ",\"ranges_error\":",
		nrange_args, ranges_reloads);
	if (*ranges_error)
		json_string(f, ranges_error);
	else
		fputs("null", f);
	fprintf(f, ",\"ranges\":%zu,\"buckets\":%" PRIu32 ",\"kernel_start\":\"0x%llx\","
		"\"markers\":{\"start\":\"66 87 db\",\"end\":\"66 87 c9\"},\"counting\":\"tb-exec-callback\","
		"\"system_emulation\":%s,\"vcpu_slots\":%u,\"target\":",
		rs.n, rs.nb, KERNEL_START, system_emulation ? "true" : "false", vcpu_slots);
	json_string(f, target_name);
	fprintf(f, ",\"plugin_api\":%d}}\n", QEMU_PLUGIN_VERSION);
	if (fclose(f))
		abort();
	snprintf(name, sizeof(name), "%" PRIu64 ".json", w);
	if (!write_file_atomic(name, buf, len))
		write_file_atomic("last.json", buf, len);
	free(buf);
	free(btot);
}

/* A marker's instruction: its kind, and the counts of its TB's instructions after the start
 * marker, or from the end marker on. */
struct marker {
	bool end;
	const struct counts *rest;
};

static void register_callbacks(qemu_plugin_id_t id);

/*
 * At a window's start, in the reset callback (every vCPU stopped, no TB left): when a
 * ranges= file changed since the last look (appeared, disappeared, or another inode, size or
 * mtime), a new set from all of them and the range= arguments replaces the one in use. The
 * vCPUs' counters move to it: the window's counts so far (the rest of the start marker's TB,
 * other vCPUs' TBs before the flush) go to the bucket of the same name, if any. A set that
 * fails (a malformed line, overlapping ranges) is refused with a message, the old one stays
 * (the document's params.ranges_error says why) until the file changes again.
 */
static void ranges_refresh(uint64_t w)
{
	struct ranges_file *files;
	struct range_set ns, old;
	bool changed = false;

	for (unsigned int i = 0; i < nrfiles; i++) {
		struct stat st;
		bool present = !stat(rfiles[i].path, &st);

		if (!same_file(present, &st, rfiles[i].seen_present, &rfiles[i].seen))
			changed = true;
	}
	if (!changed)
		return;
	files = calloc(nrfiles, sizeof(*files));
	if (!files)
		abort();
	memcpy(files, rfiles, nrfiles * sizeof(*files));
	if (build_ranges(&ns, files)) {
		/* not again until a file changes: seen is what was just read */
		for (unsigned int i = 0; i < nrfiles; i++) {
			rfiles[i].seen_present = files[i].present;
			rfiles[i].seen = files[i].st;
		}
		fprintf(stderr, "insns: window %" PRIu64 " keeps the ranges it had (%zu ranges, "
			"%" PRIu32 " buckets)\n", w, rs.n, rs.nb);
		free(files);
		return;
	}
	for (unsigned int i = 0; i < nrfiles; i++) {
		files[i].seen_present = files[i].present;
		files[i].seen = files[i].st;
		files[i].loaded_at_window = w;
	}
	memcpy(rfiles, files, nrfiles * sizeof(*files));
	free(files);
	old = rs;
	rs = ns;
	for (unsigned int i = 0; i < vcpu_slots; i++) {
		struct vcpu *v = atomic_load_explicit(&vcpus[i], memory_order_relaxed), *nv;

		if (!v)
			continue;
		nv = vcpu_alloc();
		atomic_init(&nv->window, atomic_load(&v->window));
		atomic_init(&nv->user, atomic_load(&v->user));
		atomic_init(&nv->kernel, atomic_load(&v->kernel));
		for (uint32_t b = 0; b < old.nb && atomic_load(&v->window) == w; b++) {
			uint64_t n = atomic_load(&v->bucket[b]);
			int64_t to = n ? bucket_named(&rs, old.names[b]) : -1;

			if (to >= 0)
				atomic_store(&nv->bucket[to], atomic_load(&nv->bucket[to]) + n);
		}
		atomic_store_explicit(&vcpus[i], nv, memory_order_release);
		free(v);
	}
	set_free(&old);
	ranges_reloads++;
	*ranges_error = 0;
}

static void reset_done(qemu_plugin_id_t id)
{
	/* A window's start (or a start and an end in one TB, served by one flush: then the
	 * window is closed already and nothing changes here). */
	if (atomic_load(&window_open))
		ranges_refresh(atomic_load(&window));
	register_callbacks(id);
}

static void marker_exec(unsigned int vcpu_index, void *udata)
{
	const struct marker *m = udata;
	struct vcpu *v;
	char msg[128];

	pthread_mutex_lock(&window_lock);
	if (!m->end) {
		if (atomic_load(&window_open)) {
			snprintf(msg, sizeof(msg), "insns: window %" PRIu64 " discarded by a new start\n",
				 atomic_load(&window));
			qemu_plugin_outs(msg);
		}
		atomic_fetch_add(&window, 1);
		atomic_store_explicit(&window_open, true, memory_order_release);
		/* The rest of this TB, translated without a callback (or counted for the
		 * discarded window), runs before the flush. */
		v = vcpu_get(vcpu_index);
		if (v) {
			vcpu_sync(v);
			vcpu_add(v, m->rest, 1);
		}
	} else {
		if (!atomic_load(&window_open)) {
			pthread_mutex_unlock(&window_lock);
			return;
		}
		/* This TB counted itself whole (or its start marker counted its rest): not
		 * the end marker and what follows it. */
		v = vcpu_get(vcpu_index);
		if (v) {
			vcpu_sync(v);
			vcpu_add(v, m->rest, -1);
		}
		atomic_store_explicit(&window_open, false, memory_order_release);
		write_window(atomic_load(&window), vcpu_index);
	}
	pthread_mutex_unlock(&window_lock);
	/* Retranslate with (start) or without (end) per-TB callbacks; a flush already
	 * pending (two markers in one TB) is ignored by QEMU and serves both. */
	qemu_plugin_reset(plugin_id, reset_done);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	uint32_t *cls = calloc(n ? n : 1, sizeof(*cls));
	struct counts *scratch = malloc(counts_size(n));
	bool counting = atomic_load_explicit(&window_open, memory_order_acquire);

	(void)id;
	if (!cls || !scratch)
		abort();
	for (size_t i = 0; i < n; i++) {
		uint64_t va = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
		int64_t b = rs.n ? bucket_of(va) : -1;

		cls[i] = (uint32_t)(b + 1) << 1 | (va >= KERNEL_START);
	}
	if (counting)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
						     (void *)counts_of(cls, 0, n, scratch));
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *d;
		struct marker *m;
		bool end;

		if (qemu_plugin_insn_size(insn) != MARK_LEN || (cls[i] & 1))
			continue;
		d = qemu_plugin_insn_data(insn);
		if (!memcmp(d, mark_start, MARK_LEN))
			end = false;
		else if (!memcmp(d, mark_end, MARK_LEN))
			end = true;
		else
			continue;
		/* A few per window (the markers' TBs are retranslated after each flush). */
		m = malloc(sizeof(*m));
		if (!m)
			abort();
		m->end = end;
		m->rest = counts_of(cls, end ? i : i + 1, n, scratch);
		qemu_plugin_register_vcpu_insn_exec_cb(insn, marker_exec, QEMU_PLUGIN_CB_NO_REGS, m);
	}
	free(scratch);
	free(cls);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	char msg[128];

	(void)id;
	(void)udata;
	if (atomic_load(&window_open)) {
		snprintf(msg, sizeof(msg), "insns: window %" PRIu64 " still open at exit: nothing written\n",
			 atomic_load(&window));
		qemu_plugin_outs(msg);
	}
}

/* All of the plugin's callbacks: at install, and again after each flush (qemu_plugin_reset
 * drops them). */
static void register_callbacks(qemu_plugin_id_t id)
{
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	struct stat st;

	plugin_id = id;
	system_emulation = info->system_emulation;
	target_name = info->target_name ? strdup(info->target_name) : "";
	if (strcmp(target_name, "x86_64")) {
		fprintf(stderr, "insns: for x86_64 guests (kernel = address >= 0x%llx), not %s\n",
			KERNEL_START, target_name);
		return -1;
	}
	rfiles = calloc(argc ? argc : 1, sizeof(*rfiles));
	range_args = calloc(argc ? argc : 1, sizeof(*range_args));
	if (!rfiles || !range_args)
		abort();
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "outdir=", 7) && a[7]) {
			outdir = a + 7;
		} else if (!strncmp(a, "ranges=", 7) && a[7]) {
			rfiles[nrfiles++].path = a + 7;
		} else if (!strncmp(a, "range=", 6)) {
			range_args[nrange_args++] = a + 6;
		} else {
			fprintf(stderr, "insns: unknown argument '%s': use outdir=DIR, ranges=FILE, "
				"range=NAME:START:END\n", a);
			return -1;
		}
	}
	if (!outdir) {
		fprintf(stderr, "insns: no outdir=DIR: where each window's DIR/<window>.json goes\n");
		return -1;
	}
	if (mkdir(outdir, 0777) && errno != EEXIST) {
		fprintf(stderr, "insns: outdir=%s: %s\n", outdir, strerror(errno));
		return -1;
	}
	if (stat(outdir, &st) || !S_ISDIR(st.st_mode) || access(outdir, W_OK)) {
		fprintf(stderr, "insns: outdir=%s is not a writable directory\n", outdir);
		return -1;
	}
	if (build_ranges(&rs, rfiles))
		return -1;
	for (unsigned int i = 0; i < nrfiles; i++) {
		rfiles[i].seen_present = rfiles[i].present;
		rfiles[i].seen = rfiles[i].st;
	}
	/* System mode: one slot per possible vCPU, allocated now; user mode: per thread index,
	 * allocated at its first counted TB. */
	vcpu_slots = system_emulation ? (unsigned int)info->system.max_vcpus : USER_VCPUS_MAX;
	vcpus = calloc(vcpu_slots ? vcpu_slots : 1, sizeof(*vcpus));
	if (!vcpus)
		abort();
	for (unsigned int i = 0; system_emulation && i < vcpu_slots; i++)
		atomic_init(&vcpus[i], vcpu_alloc());
	register_callbacks(id);
	return 0;
}
