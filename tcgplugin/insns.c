// SPDX-License-Identifier: GPL-2.0
/*
 * insns.so: a QEMU 7.2 TCG plugin that counts the instructions the guest executes inside
 * windows that the guest marks itself, per vCPU, split by address. Built by `make insns`
 * against the qemu-plugin.h of the installed QEMU (make deps); loaded with
 *   -plugin insns.so,outdir=DIR[,ranges=FILE][,range=NAME:START:END]...[,inclusive=on|off]
 *           [,inclusive_depth=N][,inclusive_stacks=auto|blocks][,thread_size=BYTES]
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
 * inclusive: {NAME: count} or null, uncounted_tbs, params: {...}}.
 * Windows are numbered 1, 2, ... per QEMU process. A window still open at exit writes
 * nothing (`-d plugin` shows a line).
 *
 * Phases. Inside a window the guest may split its counts into phases by executing, at a user
 * address, `nopl 0x4d4d00NN(%rax)` (0f 1f 80 NN 00 4d 4d; insns_mark_phase(NN), NN < 16),
 * another architectural no-op: from it until the next phase marker or the window's end, the
 * instructions of every vCPU count in phase NN as well (phase 0 from the window's start).
 * The document then has "phases": {"NN": {entered, total, buckets}} (exclusive buckets,
 * only those not 0), null without a phase marker. A phase marker costs a read of every
 * vCPU's counters under the window's lock and no flush. The marker instruction itself counts
 * in the phase it ends; the other vCPUs' boundaries are where their counters were read
 * (exact for the marking vCPU, as the window's end is for the others under thread=multi).
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
 *  - inclusive: per bucket, the instructions executed while one of its functions is active:
 *    below.
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
 * Inclusive counts (inclusive=on, the default; nothing to count without buckets). Beside the
 * exclusive buckets, inclusive[NAME] counts, for each frame of a function of NAME (a call
 * into it, until its return), the instructions executed on the frame's stack from the first
 * instruction of the function to its return, both included: its own and its callees', in
 * any bucket or in none. A frame inside another frame of the same bucket on the same stack
 * (a recursion) adds nothing: only the outermost one counts. Sums over frames and vCPUs.
 * The plugin keeps shadow stacks from the calls and returns the guest executes:
 *  - Calls: E8 (call rel32) and FF /2 (call r/m), behind any legacy prefix and a REX prefix,
 *    not with an operand-size prefix (66: 16-bit pushes). Returns: C3 and C2 (ret imm16).
 *    Far calls and returns (9A, FF /3, CA, CB), iret, syscall, sysret, sysenter, interrupts
 *    and exceptions open and close no frame: what runs under them counts in the frames they
 *    came into, on their stack (an exception's handler on the kernel stack it came on:
 *    within the frame that faulted).
 *  - A frame: the return address (the instruction after the call), the slot (the address
 *    of the pushed return address, when known), the bucket, the entry: its stack's clock
 *    when the frame got its bucket. The slot comes from a memory callback, whose address is
 *    the access's (plugin API 1 reads no register, but a call's store is at the stack
 *    pointer). QEMU 7.2 only allows memory callbacks on instructions that do not end their
 *    TB, or end it without a helper call (tb_trans says why): so a call has its slot when it
 *    is a direct call to the page its TB started on; a return has one when the instruction
 *    before it in its TB, or before the jump that ended the TB before (the kernel's jmp
 *    __x86_return_thunk, when the next TB starts with the return), is a pop or a leave:
 *    that load was 8 bytes below the return's.
 *  - A return with a slot ends the frame of that slot; frames with a lower slot (below the
 *    stack pointer: left by a longjmp...) end with it, and so does any frame above those.
 *    Otherwise the frame that returned is the top one, among those above the first frame
 *    with a higher slot, whose return address the next TB starts at; those above it were
 *    left. When the next TB starts no candidate's return address: at the first address of
 *    a range, the return jumped into that function (a retpoline thunk's mov %rax, (%rsp);
 *    ret): the top frame ends and the function runs in the frame below; in system mode, an
 *    interrupt may have come first, and the return waits, matched by its top candidate at
 *    a later TB (when the interrupted code resumes; up to 4 per stack); otherwise it matched
 *    nothing (a frame entered before the window, a return used as a jump). A call with a
 *    slot ends the frames at or below its slot. A left frame counts up to the call or
 *    return that shows it gone.
 *  - A frame's bucket: a direct call's target's; an indirect call's (or a direct call's to
 *    an address in no bucket: a thunk's) is that of the first TB, while the frame is the
 *    top one, that starts at the first address of a range (the indirect call's target; the
 *    function a thunk or a tail call jumps to), counted from that TB on.
 *  - Stacks and clocks: each stack counts the instructions executed while it is its vCPU's
 *    current one; a frame adds its stack's clock at its end minus at its entry. User mode:
 *    one stack per vCPU (a guest thread). System mode: a kernel stack is the THREAD_SIZE
 *    block its slots lie in (thread_size=16384, x86-64 without KASAN; vmap'd task stacks
 *    are aligned to it), whichever vCPU it runs on; the vCPU changes stacks at a call or
 *    return with a slot in another block; a task's user frames go with the kernel stack
 *    that the vCPU last used (the task returned to user mode from there), and each TB's
 *    class (user or kernel address) selects the user or kernel stack. So a task switched
 *    out in a KVM function leaves its frames on its own stack, and the tasks that run
 *    meanwhile count on theirs: a frame counts its task's instructions only, on whichever
 *    vCPU the task runs. Between a VMRUN (emulated SVM) and the instruction after it, where
 *    the host resumes after #VMEXIT, the vCPU runs an L2 guest: its instructions, calls and
 *    returns are no stack's (they count in vcpus and total, and in buckets by address).
 *    inclusive_stacks=blocks keys user stacks by block too (tests: coroutines on aligned
 *    stacks).
 *  - The window: frames entered before it are unknown (their returns match nothing; their
 *    callees entered inside it count); frames open at its end close at its end; in user
 *    mode a thread's frames close at its exit. Calls beyond inclusive_depth frames (256)
 *    are not tracked (their instructions count in the frames below).
 * Approximate (params.inclusive counts what happened): a tail call (jmp) runs in its
 * caller's frame (and so do a PLT stub's target); a signal handler runs in the frame it
 * interrupted, and its return (into the restorer, a function's start) ends that frame; user
 * coroutines or sigaltstack in user mode share the vCPU's stack; in system mode a stack
 * change shows only at a call or return with a slot: what runs between a task switch (or
 * an interrupt stack's entry or exit) and the next such event counts for the previous
 * stack, and calls without slot in between are pushed on it; an interrupt stack not
 * aligned to the block may be two stacks; a stack block shared by two stacks in use
 * (params.inclusive.shared_stacks) gets a second shadow stack; a vCPU running an L2 guest
 * when a window starts counts L2's calls and returns until its first #VMEXIT. With
 * thread=multi, the other vCPUs' open frames are read at the window's end while they run.
 *
 * Cost. Outside a window: at translation only (each instruction's address classified, a
 * binary search when ranges are given, and its length compared with the markers'), nothing
 * at execution. Each window: two translation cache flushes (the working set retranslated
 * twice) and a stat() of each ranges= file. Inside: one helper call per TB executed, a few
 * loads and stores per TB and bucket; inclusive counts add a few compares per TB, a
 * callback per call and per return (and per pop or leave before a return), a push and a
 * pop of a frame.
 * Measured in user mode (qemu-x86_64, tests/insns.sh: 2e8 iterations of a 4-instruction loop,
 * one TB each, the worst case): 0.26-0.31 s CPU without the plugin, 0.29-0.44 s with it and
 * no window (noise of a busy 2-core machine), 1.02-1.11 s inside a window: ~3.8 ns per TB.
 * 2026-12-07, min of 5 runs, CPU s, inclusive=off / on: that loop 0.92 / 1.12 (+1 ns per TB);
 * insns-calls --cost 5e7 (a call and a return every 2 TBs, the worst case) 1.06 / 2.17 (+22 ns
 * per call and return); --sort 1e6 (glibc qsort, 5.7e8 instructions, a call every 28)
 * 1.02 / 1.58, without the plugin 0.47.
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
 * (8.x/9.x), no TB flush other than qemu_plugin_reset. Two 7.2 bugs shape the memory
 * callbacks (tb_trans, call_exec): a callback for loads alone never runs, and one on the
 * instruction that ends a TB with a helper call leaves cpu->plugin_mem_cbs dangling.
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
#define PHASE_LEN 7	/* nopl 0x4d4d00NN(%rax): 0f 1f 80 NN 00 4d 4d, phase NN < PHASES */
#define PHASES 16

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

/* Bucket index of an address, or -1; *at_start (if given): va is its range's first address. */
static int64_t bucket_at(uint64_t va, bool *at_start)
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
	if (at_start)
		*at_start = va == rs.r[lo - 1].start;
	return rs.r[lo - 1].bucket;
}

static int64_t bucket_of(uint64_t va)
{
	return bucket_at(va, NULL);
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
	int32_t first;		/* the TB starts at the first address of a range: its bucket, else -1 */
	uint32_t flags;		/* CF_* */
	struct bcount b[];	/* nb buckets, by bucket index */
};
#define CF_KERNEL 1u		/* the TB's instructions are kernel ones (a TB never spans both) */
#define CF_RESUME 2u		/* the TB starts right after a VMRUN: the host resumes after #VMEXIT */
#define CF_RET_FIRST 4u		/* its first instruction is a return (a return thunk's) */

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
 * instructions [from, to) of a TB, interned; scratch has room for to - from buckets. first
 * and flags: for a whole TB's counts (tb_exec), -1 and 0 for the rest of a marker's TB.
 */
static const struct counts *counts_of(const uint32_t *cls, size_t from, size_t to,
				      struct counts *scratch, int32_t first, uint32_t flags)
{
	scratch->user = scratch->kernel = scratch->nb = 0;
	scratch->first = first;
	scratch->flags = flags;
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

/* --- inclusive counting: parameters and stacks (see "Inclusive counts" above) -------------- */
#define INCL_DEPTH 256		/* frames per stack (inclusive_depth=N) */
#define THREAD_SIZE 16384	/* x86-64 kernel stacks without KASAN (thread_size=BYTES) */

static bool incl_arg = true;		/* inclusive=on|off */
static unsigned int incl_depth = INCL_DEPTH;
static uint64_t thread_size = THREAD_SIZE;
static bool incl_blocks;		/* inclusive_stacks=blocks: user stacks by block too */
static bool incl_on;			/* incl_arg and buckets to count: set at load and refresh */

/*
 * A frame: a call tracked on a stack until its return. slot: where the call pushed the return
 * address, known from the call's store when the plugin can watch it (a memory callback: only
 * on a direct call to the page of its TB's start, see tb_trans), else 0: such a frame is
 * matched at its return by its return address, the address of the TB after the return.
 */
struct frame {
	uint64_t slot;
	uint64_t ret;			/* the return address: the instruction after the call */
	_Atomic uint64_t entry;		/* the stack's clock when the frame got its bucket */
	_Atomic uint32_t lab;		/* 0: no bucket; else (bucket + 1) << 1 | outermost */
	bool may_label;			/* no bucket yet: the first TB at a range's start gives one */
	bool untracked;			/* it made calls beyond the depth */
};

#define NPEND 4

/*
 * A stack: the frames of one guest stack and its clock, the instructions executed while it
 * was its vCPU's current stack (clock: up to the last time it stopped being current; while
 * it is, add what its vCPU counted since: stack_clock). Written only by the vCPU it runs on
 * (a block stack moves between vCPUs with its task, handed over under istack_lock); the
 * window's end reads the atomic members of all of them. Frame arrays only grow (the
 * replaced ones are freed with the stacks, at a reset, when no vCPU runs).
 */
struct istack {
	uint64_t key;			/* the block's base (block stacks) */
	_Atomic uint64_t clock;
	_Atomic(struct frame *) f;
	_Atomic uint32_t n;
	uint32_t cap;
	bool lazy;			/* the top frame may still get a bucket */
	struct {			/* returns to match by address (tb_match): each */
		uint32_t lo, n;		/* ... one of the frames [lo, n), the latest last; */
		bool linger;		/* ... after their next TB, to match when the code */
	} pend[NPEND];			/* ... that an interrupt came into resumes */
	uint32_t npend;
	bool fresh;			/* the latest of them has not seen its next TB yet */
	uint32_t *active;		/* per bucket: its frames on this stack (NULL: none yet) */
	struct istack *user;		/* a kernel stack: its task's user stack (system mode) */
	int running_on;			/* block stacks: the vCPU using it, or -1 (istack_lock) */
	struct istack *next;		/* this window's stacks (istacks), by creation */
	struct istack *hnext;		/* block stacks: the hash chain */
};

static pthread_mutex_t istack_lock = PTHREAD_MUTEX_INITIALIZER;
static struct istack *istacks;		/* the current window's stacks */
static struct istack *istacks_old;	/* earlier windows': freed at the next reset */
static struct istack **ihash;		/* block stacks by key */
static size_t ihcap, ihlen;
static void **iretired;			/* frame arrays replaced by larger ones */
static size_t nretired, capretired;

/* What the shadow stacks saw, per vCPU (params.inclusive). */
enum { ST_CALLS, ST_CALLS_SLOT, ST_RETURNS, ST_RETURNS_SLOT, ST_BY_SLOT, ST_BY_ADDRESS,
	ST_INTO_FUNCTION, ST_DROPPED, ST_UNMATCHED, ST_ABANDONED, ST_BEYOND, ST_LATE, ST_SWITCHES,
	ST_SHARED, ST_EXIT, ST_VMRUNS, NSTAT };
static const char *const stat_names[NSTAT] = {
	"calls", "calls_with_slot", "returns", "returns_with_slot", "returns_by_slot",
	"returns_by_address", "returns_into_function", "returns_dropped", "unmatched_returns",
	"abandoned_frames", "beyond_depth", "late_labels", "stack_switches", "shared_stacks",
	"closed_at_thread_exit", "vmruns",
};

/* What a call's callback knows from translation. */
struct callsite {
	int32_t label;			/* the bucket of a direct call's target, or -1 */
	uint64_t ret;			/* the return address */
};

/* A TB's exec callback's data: its counts and its address. */
struct tbinfo {
	const struct counts *c;
	uint64_t pc;
};

/* --- per-vCPU counters, written only by the vCPU's own thread ----------------------------- */
struct vcpu {
	_Atomic uint64_t window;	/* the window these counts belong to */
	_Atomic uint64_t user, kernel;
	/* inclusive: the owner thread's (ranges_refresh copies them, every vCPU stopped) */
	unsigned int idx;
	uint8_t cls;			/* the last TB's: 0 none yet, CLS_USER, CLS_KERNEL */
	bool in_l2;			/* between a VMRUN and the host's resumption after it */
	struct istack *l2_cur;		/* ... and the stack current before it */
	_Atomic(struct istack *) cur;	/* the stack the instructions count for */
	_Atomic uint64_t since;		/* user + kernel when it became current */
	struct istack *ktask;		/* the last block stack (system mode: the kernel stack) */
	struct istack *anon;		/* user frames before ktask is known (user mode: all) */
	struct istack *kanon;		/* block frames before the first slot told the block */
	struct istack *pend[2];		/* stacks with returns to match by address, latest first */
	uint64_t hint;			/* the slot of the return that ends this TB (0: not known) */
	bool hint_next;			/* ... or starts the next one (a return thunk's) */
	_Atomic uint64_t stat[NSTAT];
	_Atomic uint64_t bucket[];	/* 2 * rs.nb: exclusive, then inclusive */
};
#define CLS_USER 1
#define CLS_KERNEL 2

static _Atomic(struct vcpu *) *vcpus;
static unsigned int vcpu_slots;
static pthread_mutex_t vcpu_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t uncounted_tbs;	/* TBs of vCPU indexes beyond vcpu_slots */

static struct vcpu *vcpu_alloc(unsigned int idx)
{
	struct vcpu *v = calloc(1, sizeof(*v) + 2 * rs.nb * sizeof(v->bucket[0]));

	if (!v)
		abort();
	v->idx = idx;
	return v;
}

static struct vcpu *vcpu_new(unsigned int idx, bool tb);

/* The vCPU's counters (allocated at its first use in user mode), or NULL for an index
 * beyond vcpu_slots (a TB of it counts in uncounted_tbs when tb is set). */
static inline struct vcpu *vcpu_find(unsigned int idx, bool tb)
{
	struct vcpu *v;

	if (idx < vcpu_slots && (v = atomic_load_explicit(&vcpus[idx], memory_order_acquire)))
		return v;
	return vcpu_new(idx, tb);
}

static __attribute__((noinline)) struct vcpu *vcpu_new(unsigned int idx, bool tb)
{
	struct vcpu *v;

	if (idx >= vcpu_slots) {
		if (tb)
			atomic_fetch_add_explicit(&uncounted_tbs, 1, memory_order_relaxed);
		return NULL;
	}
	pthread_mutex_lock(&vcpu_lock);	/* user mode: a new thread's first TB */
	v = atomic_load_explicit(&vcpus[idx], memory_order_relaxed);
	if (!v) {
		v = vcpu_alloc(idx);
		atomic_store_explicit(&vcpus[idx], v, memory_order_release);
	}
	pthread_mutex_unlock(&vcpu_lock);
	return v;
}

static struct vcpu *vcpu_get(unsigned int idx)
{
	return vcpu_find(idx, true);
}

/* Owner-thread update of a counter: a plain load and store, race-free for the readers. */
static inline void counter_add(_Atomic uint64_t *c, int sign, uint64_t n)
{
	uint64_t v = atomic_load_explicit(c, memory_order_relaxed);

	v = sign > 0 ? v + n : (v > n ? v - n : 0);
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static inline void stat_add(struct vcpu *v, int st, uint64_t n)
{
	counter_add(&v->stat[st], 1, n);
}

/* --- the window -------------------------------------------------------------------------- */
static pthread_mutex_t window_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t window;		/* the current (or last) window's number */
static _Atomic bool window_open;

static void vcpu_sync_new(struct vcpu *v, uint64_t w);

/* The window's phases (under window_lock): what each phase counted, and the window's counts
 * at the last phase marker. Allocated at a window's first phase marker, with the bucket set
 * of that window (which does not change until the next start). */
struct phase {
	uint64_t entered, user, kernel;
	uint64_t *b;			/* rs.nb exclusive bucket counts */
};
static struct {
	bool used;			/* a phase marker ran in this window */
	unsigned int cur;		/* the phase counting now */
	uint32_t nb;			/* the bucket count the arrays were made for */
	uint64_t user, kernel, *b;	/* the window's counts at the last marker */
	struct phase p[PHASES];
} ph;

/* The owner thread's counters moved to the current window (zeroed when it changed), and its
 * inclusive state dropped: the stacks of an earlier window are never used again. */
static inline void vcpu_sync(struct vcpu *v)
{
	uint64_t w = atomic_load_explicit(&window, memory_order_acquire);

	if (atomic_load_explicit(&v->window, memory_order_relaxed) != w)
		vcpu_sync_new(v, w);
}

static __attribute__((noinline)) void vcpu_sync_new(struct vcpu *v, uint64_t w)
{
	atomic_store_explicit(&v->user, 0, memory_order_relaxed);
	atomic_store_explicit(&v->kernel, 0, memory_order_relaxed);
	for (uint32_t b = 0; b < 2 * rs.nb; b++)
		atomic_store_explicit(&v->bucket[b], 0, memory_order_relaxed);
	for (int i = 0; i < NSTAT; i++)
		atomic_store_explicit(&v->stat[i], 0, memory_order_relaxed);
	v->cls = 0;
	v->in_l2 = false;
	atomic_store_explicit(&v->cur, NULL, memory_order_relaxed);
	atomic_store_explicit(&v->since, 0, memory_order_relaxed);
	v->l2_cur = v->ktask = v->anon = v->kanon = v->pend[0] = v->pend[1] = NULL;
	atomic_store_explicit(&v->window, w, memory_order_release);
}

static inline void vcpu_add(struct vcpu *v, const struct counts *c, int sign)
{
	counter_add(&v->user, sign, c->user);
	counter_add(&v->kernel, sign, c->kernel);
	for (uint32_t i = 0; i < c->nb; i++)
		counter_add(&v->bucket[c->b[i].bucket], sign, c->b[i].n);
}

/* --- inclusive counting: the shadow stacks ---------------------------------------------- */
static inline uint64_t vcpu_total(const struct vcpu *v)
{
	return atomic_load_explicit(&v->user, memory_order_relaxed) +
	       atomic_load_explicit(&v->kernel, memory_order_relaxed);
}

static inline struct istack *cur_of(const struct vcpu *v)
{
	return atomic_load_explicit(&v->cur, memory_order_relaxed);
}

/* A stack's clock now, for the vCPU it runs on. */
static inline uint64_t stack_clock(const struct vcpu *v, const struct istack *s)
{
	uint64_t c = atomic_load_explicit(&s->clock, memory_order_relaxed);

	if (s == cur_of(v))
		c += vcpu_total(v) - atomic_load_explicit(&v->since, memory_order_relaxed);
	return c;
}

/* The stack that the vCPU's instructions count for from now on (NULL: none). */
static void set_cur_slow(struct vcpu *v, struct istack *s);

static inline void set_cur(struct vcpu *v, struct istack *s)
{
	if (cur_of(v) != s)
		set_cur_slow(v, s);
}

static __attribute__((noinline)) void set_cur_slow(struct vcpu *v, struct istack *s)
{
	struct istack *old = cur_of(v);
	uint64_t t;

	t = vcpu_total(v);
	if (old)
		counter_add(&old->clock, 1, t - atomic_load_explicit(&v->since, memory_order_relaxed));
	atomic_store_explicit(&v->since, t, memory_order_relaxed);
	atomic_store_explicit(&v->cur, s, memory_order_relaxed);
}

static struct istack *istack_new_locked(uint64_t key)
{
	struct istack *s = calloc(1, sizeof(*s));
	struct frame *f = calloc(16, sizeof(*f));

	if (!s || !f)
		abort();
	s->key = key;
	s->cap = 16;
	s->running_on = -1;
	atomic_init(&s->f, f);
	s->next = istacks;
	istacks = s;
	return s;
}

static struct istack *istack_new(uint64_t key)
{
	struct istack *s;

	pthread_mutex_lock(&istack_lock);
	s = istack_new_locked(key);
	pthread_mutex_unlock(&istack_lock);
	return s;
}

static size_t ihash_of(uint64_t key)
{
	return (key / thread_size * 0x9e3779b97f4a7c15ULL) >> 20 & (ihcap - 1);
}

static void ihash_insert_locked(struct istack *s)
{
	if (2 * (ihlen + 1) > ihcap) {
		struct istack **old = ihash;
		size_t oldcap = ihcap;

		ihcap = ihcap ? 2 * ihcap : 256;
		ihash = calloc(ihcap, sizeof(*ihash));
		if (!ihash)
			abort();
		for (size_t i = 0; i < oldcap; i++) {
			for (struct istack *e = old[i], *nx; e; e = nx) {
				size_t h = ihash_of(e->key);

				nx = e->hnext;
				e->hnext = ihash[h];
				ihash[h] = e;
			}
		}
		free(old);
	}
	size_t h = ihash_of(s->key);

	s->hnext = ihash[h];
	ihash[h] = s;
	ihlen++;
}

/*
 * The vCPU's block stack becomes the one of key (it changed stacks: a task switch, an
 * interrupt stack, another task's stack after a migration). The stack is taken from the one
 * it last ran on, which has left it by then (a task runs on one vCPU at a time, and a vCPU
 * sees the next task's stack at its first return there, before that task can run
 * elsewhere); a stack that another vCPU still uses (a block shared by two stacks the plugin
 * cannot tell apart) gets a second one of the same key: shared_stacks.
 */
static void switch_block(struct vcpu *v, uint64_t key)
{
	struct istack *s = NULL;
	bool busy = false;

	pthread_mutex_lock(&istack_lock);
	if (v->ktask && v->ktask->running_on == (int)v->idx)
		v->ktask->running_on = -1;
	if (ihcap) {
		for (struct istack *e = ihash[ihash_of(key)]; e; e = e->hnext) {
			if (e->key != key)
				continue;
			if (e->running_on < 0 || e->running_on == (int)v->idx) {
				s = e;
				break;
			}
			busy = true;
		}
	}
	if (!s && v->kanon) {
		/* the frames of calls without slots from before the vCPU knew its stack:
		 * on this one, most likely */
		s = v->kanon;
		s->key = key;
		v->kanon = NULL;
		ihash_insert_locked(s);
	} else if (!s) {
		s = istack_new_locked(key);
		ihash_insert_locked(s);
	}
	s->running_on = v->idx;
	pthread_mutex_unlock(&istack_lock);
	v->ktask = s;
	v->pend[0] = v->pend[1] = NULL;	/* the stacks it left may move on: not watched */
	stat_add(v, ST_SWITCHES, 1);
	if (busy)
		stat_add(v, ST_SHARED, 1);
}

/*
 * The stack that user frames go to. User mode: the vCPU's (a guest thread's). System mode:
 * that of the task whose kernel stack the vCPU last used (it returned to user mode from
 * there); frames from before the vCPU used any kernel stack in this window go to the first
 * such task's.
 */
static struct istack *user_stack_new(struct vcpu *v);

static inline struct istack *user_stack(struct vcpu *v)
{
	if (!v->ktask && v->anon)
		return v->anon;
	if (v->ktask && v->ktask->user)
		return v->ktask->user;
	return user_stack_new(v);
}

static __attribute__((noinline)) struct istack *user_stack_new(struct vcpu *v)
{
	if (!v->ktask) {
		if (!v->anon)
			v->anon = istack_new(UINT64_MAX);
		return v->anon;
	}
	if (!v->ktask->user) {
		v->ktask->user = v->anon ? v->anon : istack_new(UINT64_MAX);
		v->anon = NULL;
	}
	return v->ktask->user;
}

/* The stack of a slot (a call's store or a return's load), made the vCPU's current one. */
static struct istack *stack_at(struct vcpu *v, uint64_t slot)
{
	if (incl_blocks || (system_emulation && slot >= KERNEL_START)) {
		uint64_t key = slot & ~(thread_size - 1);

		if (!v->ktask || v->ktask->key != key)
			switch_block(v, key);
		set_cur(v, v->ktask);
	} else {
		set_cur(v, user_stack(v));
	}
	return cur_of(v);
}

/* The block stack the vCPU is on, as far as it knows. */
static struct istack *block_now(struct vcpu *v)
{
	if (v->ktask)
		return v->ktask;
	if (!v->kanon)
		v->kanon = istack_new(UINT64_MAX);
	return v->kanon;
}

/* The stack of a call or return without a slot: the current one of its class. */
static inline struct istack *stack_now(struct vcpu *v, bool kernel)
{
	if (incl_blocks || (system_emulation && kernel))
		set_cur(v, block_now(v));
	else
		set_cur(v, user_stack(v));
	return cur_of(v);
}

static inline void frame_label(struct istack *s, struct frame *f, uint32_t b, uint64_t clock)
{
	if (!s->active) {
		s->active = calloc(rs.nb ? rs.nb : 1, sizeof(*s->active));
		if (!s->active)
			abort();
	}
	atomic_store_explicit(&f->entry, clock, memory_order_relaxed);
	atomic_store_explicit(&f->lab, (b + 1) << 1 | (s->active[b]++ == 0), memory_order_release);
	f->may_label = false;
}

/* A frame leaves its stack: its outermost frame adds what the stack ran since its entry. */
static void frame_close(struct vcpu *v, struct istack *s, struct frame *f, uint64_t clock)
{
	uint32_t lab = atomic_load_explicit(&f->lab, memory_order_relaxed);
	uint64_t entry = atomic_load_explicit(&f->entry, memory_order_relaxed);
	uint32_t b;

	if (!lab)
		return;
	b = (lab >> 1) - 1;
	s->active[b]--;
	if ((lab & 1) && clock >= entry)
		counter_add(&v->bucket[rs.nb + b], 1, clock - entry);
}

/* Close the frames from index n up, the top first; abandoned: how many of them were left
 * without their return (the others: one, that returned). */
static void istack_pop(struct vcpu *v, struct istack *s, uint32_t n, uint32_t abandoned)
{
	struct frame *f = atomic_load_explicit(&s->f, memory_order_relaxed);
	uint32_t top = atomic_load_explicit(&s->n, memory_order_relaxed);
	uint64_t clock = stack_clock(v, s);

	if (top <= n)
		return;
	stat_add(v, ST_ABANDONED, abandoned);
	while (top > n)
		frame_close(v, s, &f[--top], clock);
	atomic_store_explicit(&s->n, n, memory_order_release);
	s->lazy = n && f[n - 1].may_label;
	for (uint32_t i = 0, j = 0, np = s->npend; i < np; i++) {
		/* a waiting return keeps the candidates still on the stack; none, it goes */
		if (s->pend[i].n > n)
			s->pend[i].n = n;
		if (s->pend[i].lo < s->pend[i].n)
			s->pend[j++] = s->pend[i];
		if (i + 1 == np)
			s->npend = j;
	}
}

/*
 * The frames that a slot shows were left: a frame whose slot lies below the stack pointer
 * (below slot after a return from it, at or below it after a call pushed there) is no longer
 * on the stack, nor is any frame above it. Scanning from the top, up to the first frame with
 * a slot above: the index from which every frame was left (n: none), and in *stop that
 * first frame's index + 1 (0: none).
 */
static uint32_t left_from(const struct frame *f, uint32_t n, uint64_t slot, bool at_too,
			  uint32_t *stop)
{
	uint32_t left = n, i = n;

	while (i > 0) {
		const struct frame *fr = &f[i - 1];

		if (fr->slot && (fr->slot > slot || (fr->slot == slot && !at_too)))
			break;
		if (fr->slot)
			left = i - 1;
		i--;
	}
	*stop = i;
	return left;
}

/*
 * System mode (kernel-block stacks): only the kernel's frames. Plugin API 1 shows neither
 * registers nor CR3, so a user-mode call cannot be told to belong to one task or another: a
 * process's calls were filed under the kernel stack the vCPU last left, and a loop run by a
 * child of the marking process came out with an inclusive count of 0 against 8,000,004
 * exclusive (2026-12-07). User-mode calls and returns are not tracked there, and user
 * buckets have no inclusive count (null).
 */
static inline bool kernel_frames_only(void)
{
	return system_emulation && !incl_blocks;
}

/* A call: the frames its slot shows were left are closed (a longjmp left them...); a new
 * frame, with the bucket of the call's target when it is known (cs->label >= 0). */
static void incl_call(struct vcpu *v, uint64_t slot, const struct callsite *cs)
{
	struct istack *s;
	struct frame *f;
	uint32_t n, stop, left;
	uint64_t clock;

	if (kernel_frames_only() && cs->ret < KERNEL_START)
		return;
	s = slot ? stack_at(v, slot) : stack_now(v, cs->ret >= KERNEL_START);
	stat_add(v, ST_CALLS, 1);
	if (slot)
		stat_add(v, ST_CALLS_SLOT, 1);
	if (!s)
		return;
	if (slot) {
		f = atomic_load_explicit(&s->f, memory_order_relaxed);
		n = atomic_load_explicit(&s->n, memory_order_relaxed);
		left = left_from(f, n, slot, true, &stop);
		if (left < n)
			istack_pop(v, s, left, n - left);
	}
	f = atomic_load_explicit(&s->f, memory_order_relaxed);
	n = atomic_load_explicit(&s->n, memory_order_relaxed);
	clock = stack_clock(v, s);
	if (n >= incl_depth) {
		/* Not tracked: what it runs counts in its callers, and no TB labels the
		 * frame below it any more. Its return matches no frame: its slot is below
		 * theirs, the address it returns to is none of theirs (but in a recursion
		 * from one call site: then a frame of it closes early, not its outermost). */
		stat_add(v, ST_BEYOND, 1);
		if (n) {
			f[n - 1].may_label = false;
			f[n - 1].untracked = true;
		}
		s->lazy = false;
		return;
	}
	if (n == s->cap) {
		uint32_t cap = 2 * s->cap < incl_depth ? 2 * s->cap : incl_depth;
		struct frame *nf = calloc(cap, sizeof(*nf));

		if (!nf)
			abort();
		for (uint32_t i = 0; i < n; i++) {
			nf[i].slot = f[i].slot;
			nf[i].ret = f[i].ret;
			nf[i].may_label = f[i].may_label;
			nf[i].untracked = f[i].untracked;
			atomic_init(&nf[i].entry, atomic_load_explicit(&f[i].entry, memory_order_relaxed));
			atomic_init(&nf[i].lab, atomic_load_explicit(&f[i].lab, memory_order_relaxed));
		}
		atomic_store_explicit(&s->f, nf, memory_order_release);
		s->cap = cap;
		pthread_mutex_lock(&istack_lock);
		if (nretired == capretired) {
			capretired = capretired ? 2 * capretired : 64;
			iretired = realloc(iretired, capretired * sizeof(*iretired));
			if (!iretired)
				abort();
		}
		iretired[nretired++] = f;
		pthread_mutex_unlock(&istack_lock);
		f = nf;
	}
	f[n].slot = slot;
	f[n].ret = cs->ret;
	f[n].may_label = cs->label < 0;
	f[n].untracked = false;
	atomic_store_explicit(&f[n].lab, 0, memory_order_relaxed);
	if (cs->label >= 0)
		frame_label(s, &f[n], cs->label, clock);
	atomic_store_explicit(&s->n, n + 1, memory_order_release);
	s->lazy = cs->label < 0;
}

/*
 * A return, before it executes; slot: where it loads the return address from, when a pop
 * or leave right before it in its TB told (0: not known). A frame whose slot lies below the
 * stack pointer was left, with every frame above it, and the frame of that slot returns.
 * Otherwise the frame that returns is the top one whose return address the next TB starts
 * at (tb_match; with a slot, only those above the first frame with a higher slot): the
 * stack waits for that TB.
 */
static void incl_ret(struct vcpu *v, uint64_t slot, bool kernel)
{
	struct istack *s = slot ? stack_at(v, slot) : stack_now(v, kernel);
	struct frame *f;
	uint32_t n, stop = 0, left;

	stat_add(v, ST_RETURNS, 1);
	if (!s)
		return;
	f = atomic_load_explicit(&s->f, memory_order_relaxed);
	n = atomic_load_explicit(&s->n, memory_order_relaxed);
	left = n;		/* without a slot, every frame a candidate (stop 0) */
	if (slot) {
		stat_add(v, ST_RETURNS_SLOT, 1);
		left = left_from(f, n, slot, false, &stop);
		if (stop && f[stop - 1].slot == slot) {
			stat_add(v, ST_BY_SLOT, 1);
			istack_pop(v, s, stop - 1, n - stop);	/* its frame, those above left */
			return;
		}
	}
	if (left < n)
		istack_pop(v, s, left, n - left);
	if (left > stop) {
		if (s->npend == NPEND) {
			/* the oldest, not matched by the TBs since: dropped */
			memmove(&s->pend[0], &s->pend[1], (NPEND - 1) * sizeof(s->pend[0]));
			s->npend--;
			stat_add(v, ST_DROPPED, 1);
		}
		s->pend[s->npend].lo = stop;
		s->pend[s->npend].n = left;
		/* Only system mode has interrupts to wait over; and the return of a call
		 * beyond the depth matches none of these frames. */
		s->pend[s->npend].linger = system_emulation && !f[left - 1].untracked;
		s->npend++;
		s->fresh = true;
		if (v->pend[0] != s) {
			v->pend[1] = v->pend[0];
			v->pend[0] = s;
		}
	} else {
		stat_add(v, ST_UNMATCHED, 1);
	}
}

/*
 * A TB while returns wait on a stack: the latest return whose candidates hold a frame with
 * this TB's address as return address matched the top such frame (those above it were
 * left); after their next TB, returns are matched by their top candidate only. The TB right
 * after a return, at the start of a range that no candidate returns to: that return jumped
 * into the function (a retpoline thunk's: mov %rax, (%rsp); ret), the top candidate's frame
 * ends, and the function runs in the one below. Otherwise the latest return goes, unless it
 * lingers (system mode: an interrupt or an exception may have come before the TB it returns
 * to, which runs when the interrupted code resumes).
 */
static void tb_match(struct vcpu *v, struct istack *s, uint64_t pc, bool range_start)
{
	struct frame *f = atomic_load_explicit(&s->f, memory_order_relaxed);
	uint32_t n = atomic_load_explicit(&s->n, memory_order_relaxed);
	bool fresh = s->fresh;

	s->fresh = false;
	for (uint32_t k = s->npend; k > 0; k--) {
		uint32_t lo = fresh && k == s->npend ? s->pend[k - 1].lo : s->pend[k - 1].n - 1;

		for (uint32_t i = s->pend[k - 1].n; i > lo; i--) {
			if (f[i - 1].ret == pc) {
				uint32_t j = 0;

				/* It goes, with the later ones (above it) and the earlier ones
				 * that had this frame as a candidate: they did not return it. */
				for (uint32_t q = 0; q + 1 < k; q++) {
					if (s->pend[q].n < i)
						s->pend[j++] = s->pend[q];
					else
						stat_add(v, ST_DROPPED, 1);
				}
				s->npend = j;
				stat_add(v, ST_BY_ADDRESS, 1);
				istack_pop(v, s, i - 1, n - i);
				return;
			}
		}
	}
	if (fresh && range_start && s->pend[s->npend - 1].n == n) {
		s->npend--;
		stat_add(v, ST_INTO_FUNCTION, 1);
		istack_pop(v, s, n - 1, 0);
	} else if (fresh && !s->pend[s->npend - 1].linger) {
		s->npend--;
		stat_add(v, ST_UNMATCHED, 1);
	}
}

/* The stacks with waiting returns, at a TB (tb_match), forgotten once they have none. */
static void tb_pending(struct vcpu *v, uint64_t pc, bool range_start)
{
	for (int i = 0; i < 2; i++)
		if (v->pend[i] && v->pend[i]->npend)
			tb_match(v, v->pend[i], pc, range_start);
	if (v->pend[1] && !v->pend[1]->npend)
		v->pend[1] = NULL;
	if (v->pend[0] && !v->pend[0]->npend) {
		v->pend[0] = v->pend[1];
		v->pend[1] = NULL;
	}
}

/*
 * Each counted TB, before its instructions count: the host resumed after a VMRUN; the slot
 * of a return thunk's return kept or forgotten; waiting returns matched; the current stack
 * of the TB's class; a TB at the start of a range gives the top frame its bucket when it
 * has none yet. Nothing else per TB: the current stack's clock runs with the vCPU's counts.
 */
static void incl_tb(struct vcpu *v, const struct tbinfo *tbi)
{
	const struct counts *c = tbi->c;
	struct istack *s;
	uint8_t cls;

	if (v->in_l2) {
		if (!(c->flags & CF_RESUME))
			return;
		v->in_l2 = false;
		set_cur(v, v->l2_cur);
	}
	if (v->hint) {
		if (!(v->hint_next && (c->flags & CF_RET_FIRST)))
			v->hint = 0;
		v->hint_next = false;
	}
	if (v->pend[0])
		tb_pending(v, tbi->pc, c->first >= 0);
	cls = (c->flags & CF_KERNEL) ? CLS_KERNEL : CLS_USER;
	if (cls != v->cls) {
		v->cls = cls;
		set_cur(v, cls == CLS_KERNEL || incl_blocks ? v->ktask ? v->ktask : v->kanon :
			user_stack(v));
	}
	if (c->first >= 0 && (s = cur_of(v)) && s->lazy) {
		struct frame *f = atomic_load_explicit(&s->f, memory_order_relaxed);

		frame_label(s, &f[atomic_load_explicit(&s->n, memory_order_relaxed) - 1], c->first,
			    stack_clock(v, s));
		s->lazy = false;
		stat_add(v, ST_LATE, 1);
	}
}

/*
 * The callbacks of calls and returns. A watched call's (its store) and a pop's or leave's
 * before a return (its load) are memory callbacks: the access's address gives the slot.
 * QEMU 7.2 injects a memory callback into the code of an access when the callback's rw has a
 * bit of the access's rw + 1 (plugin-gen.c, op_rw): a callback for loads alone
 * (QEMU_PLUGIN_MEM_R) never runs, one for stores alone runs on loads too. Both register for
 * QEMU_PLUGIN_MEM_RW and look at what the access was.
 */
static inline struct vcpu *incl_vcpu(unsigned int vcpu_index)
{
	struct vcpu *v;

	if (!atomic_load_explicit(&window_open, memory_order_acquire) || !incl_on)
		return NULL;
	v = vcpu_find(vcpu_index, false);
	if (!v)
		return NULL;
	vcpu_sync(v);
	return v->in_l2 ? NULL : v;
}

/* A direct call to its TB's page: after its store. */
static void call_exec(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr,
		      void *udata)
{
	struct vcpu *v;

	if (!qemu_plugin_mem_is_store(info) || !(v = incl_vcpu(vcpu_index)))
		return;
	incl_call(v, vaddr ? vaddr : 1, udata);
}

/* Any other call: before it executes. */
static void call_noslot_exec(unsigned int vcpu_index, void *udata)
{
	struct vcpu *v = incl_vcpu(vcpu_index);

	if (v)
		incl_call(v, 0, udata);
}

/* A pop or leave right before a return, or before a jump that ends the TB (the kernel's
 * jmp __x86_return_thunk: a return if the next TB starts with one): the return loads from
 * 8 bytes above this load. */
static void hint_exec(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr,
		      void *udata)
{
	struct vcpu *v;

	if (qemu_plugin_mem_is_store(info) || !(v = incl_vcpu(vcpu_index)))
		return;
	v->hint = vaddr + 8;
	v->hint_next = udata != NULL;
}

/* A return, before it executes (udata: 2 at a kernel address, 1 at a user one). */
static void ret_exec(unsigned int vcpu_index, void *udata)
{
	struct vcpu *v = incl_vcpu(vcpu_index);
	uint64_t slot;

	if (!v)
		return;
	slot = v->hint;
	v->hint = 0;
	if (kernel_frames_only() && (uintptr_t)udata != 2)
		return;
	incl_ret(v, slot, (uintptr_t)udata == 2);
}

/* A VMRUN (emulated SVM): until the host resumes after it, the vCPU runs an L2 guest, whose
 * calls, returns and instructions are no stack's. */
static void vmrun_exec(unsigned int vcpu_index, void *udata)
{
	struct vcpu *v = incl_vcpu(vcpu_index);

	(void)udata;
	if (!v)
		return;
	v->l2_cur = cur_of(v);
	set_cur(v, NULL);
	v->in_l2 = true;
	stat_add(v, ST_VMRUNS, 1);
}

/* A thread's end (user mode): its frames close at its last instruction. */
static void vcpu_exit(qemu_plugin_id_t id, unsigned int vcpu_index)
{
	struct istack *ss[5];
	struct vcpu *v;

	(void)id;
	if (!atomic_load_explicit(&window_open, memory_order_acquire) || !incl_on)
		return;
	v = vcpu_find(vcpu_index, false);
	if (!v || atomic_load_explicit(&v->window, memory_order_relaxed) != atomic_load(&window))
		return;
	ss[0] = v->anon;
	ss[1] = v->ktask;
	ss[2] = v->ktask ? v->ktask->user : NULL;
	ss[3] = v->kanon;
	ss[4] = cur_of(v);
	for (int i = 0; i < 5; i++) {
		uint32_t n;

		if (!ss[i] || (i == 4 && (ss[4] == ss[0] || ss[4] == ss[1] || ss[4] == ss[2] ||
					  ss[4] == ss[3])))
			continue;
		n = atomic_load_explicit(&ss[i]->n, memory_order_relaxed);
		stat_add(v, ST_EXIT, n);
		istack_pop(v, ss[i], 0, 0);
	}
	pthread_mutex_lock(&istack_lock);
	if (v->ktask && v->ktask->running_on == (int)v->idx)
		v->ktask->running_on = -1;
	pthread_mutex_unlock(&istack_lock);
	set_cur(v, NULL);
	v->ktask = v->anon = v->kanon = v->pend[0] = v->pend[1] = NULL;
	v->cls = 0;
}

/* A window's start (its marker, under window_lock): the earlier windows' stacks are left
 * for the next reset to free; the vCPUs drop theirs at their next vcpu_sync. */
static void incl_window_start(void)
{
	pthread_mutex_lock(&istack_lock);
	if (istacks) {
		struct istack *last = istacks;

		while (last->next)
			last = last->next;
		last->next = istacks_old;
		istacks_old = istacks;
		istacks = NULL;
	}
	free(ihash);
	ihash = NULL;
	ihcap = ihlen = 0;
	pthread_mutex_unlock(&istack_lock);
}

/* What translation allocates for the callbacks of a window's TBs (struct callsite, struct
 * tbinfo): freed at each reset, when no TB is left. */
struct arena {
	struct arena *next;
	size_t used;
	_Alignas(16) unsigned char mem[65536 - 32];
};
static struct arena *arena;	/* under intern_lock */

static void *arena_alloc(size_t size)
{
	void *p;

	size = (size + 15) & ~(size_t)15;
	pthread_mutex_lock(&intern_lock);
	if (!arena || arena->used + size > sizeof(arena->mem)) {
		struct arena *a = malloc(sizeof(*a));

		if (!a)
			abort();
		a->next = arena;
		a->used = 0;
		arena = a;
	}
	p = arena->mem + arena->used;
	arena->used += size;
	pthread_mutex_unlock(&intern_lock);
	return p;
}

/* In a reset callback (no vCPU runs, no TB left): free what earlier windows left. */
static void incl_reset_free(void)
{
	pthread_mutex_lock(&istack_lock);
	for (struct istack *s = istacks_old, *nx; s; s = nx) {
		nx = s->next;
		free(atomic_load(&s->f));
		free(s->active);
		free(s);
	}
	istacks_old = NULL;
	for (size_t i = 0; i < nretired; i++)
		free(iretired[i]);
	nretired = 0;
	pthread_mutex_unlock(&istack_lock);
	pthread_mutex_lock(&intern_lock);
	for (struct arena *a = arena, *nx; a; a = nx) {
		nx = a->next;
		free(a);
	}
	arena = NULL;
	pthread_mutex_unlock(&intern_lock);
}

/* The new ranges at a window's start (no vCPU runs): the frames that have a bucket (at most
 * the call that ends a start marker's TB) move to the bucket of the same name. */
static void incl_remap(const struct range_set *old)
{
	pthread_mutex_lock(&istack_lock);
	for (struct istack *s = istacks; s; s = s->next) {
		struct frame *f = atomic_load(&s->f);
		uint32_t n = atomic_load(&s->n);

		free(s->active);
		s->active = NULL;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t lab = atomic_load(&f[i].lab);
			int64_t b = lab ? bucket_named(&rs, old->names[(lab >> 1) - 1]) : -1;

			atomic_store(&f[i].lab, 0);
			if (b >= 0)
				frame_label(s, &f[i], b, atomic_load(&f[i].entry));
		}
		s->lazy = n && f[n - 1].may_label;
	}
	pthread_mutex_unlock(&istack_lock);
}

/* The window's end: every stack's open frames close at its clock now (read while other
 * vCPUs may run: their stacks as they are at this moment). */
static void incl_open_frames(uint64_t w, uint64_t *incl, uint64_t *open)
{
	struct istack **cur = calloc(vcpu_slots ? vcpu_slots : 1, sizeof(*cur));
	uint64_t *ahead = calloc(vcpu_slots ? vcpu_slots : 1, sizeof(*ahead));

	if (!cur || !ahead)
		abort();
	/* each vCPU's current stack, and what it counted since that became current */
	for (unsigned int i = 0; i < vcpu_slots; i++) {
		struct vcpu *v = atomic_load_explicit(&vcpus[i], memory_order_acquire);
		uint64_t t;

		if (!v || atomic_load_explicit(&v->window, memory_order_acquire) != w)
			continue;
		cur[i] = cur_of(v);
		t = vcpu_total(v);
		ahead[i] = t - atomic_load_explicit(&v->since, memory_order_relaxed);
		if (ahead[i] > t)
			ahead[i] = 0;	/* read while it changed */
	}
	pthread_mutex_lock(&istack_lock);
	for (struct istack *s = istacks; s; s = s->next) {
		uint32_t n = atomic_load_explicit(&s->n, memory_order_acquire);
		struct frame *f = atomic_load_explicit(&s->f, memory_order_acquire);
		uint64_t clock = atomic_load_explicit(&s->clock, memory_order_relaxed);

		for (unsigned int i = 0; i < vcpu_slots; i++)
			if (cur[i] == s)
				clock += ahead[i];

		*open += n;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t lab = atomic_load_explicit(&f[i].lab, memory_order_acquire);
			uint64_t entry = atomic_load_explicit(&f[i].entry, memory_order_relaxed);

			if ((lab & 1) && (lab >> 1) - 1 < rs.nb && clock >= entry)
				incl[(lab >> 1) - 1] += clock - entry;
		}
	}
	pthread_mutex_unlock(&istack_lock);
	free(ahead);
	free(cur);
}

static void tb_exec(unsigned int vcpu_index, void *udata)
{
	const struct tbinfo *tbi = udata;
	struct vcpu *v;

	if (!atomic_load_explicit(&window_open, memory_order_acquire))
		return;		/* between the end marker and the flush */
	v = vcpu_get(vcpu_index);
	if (!v)
		return;
	vcpu_sync(v);
	if (incl_on)
		incl_tb(v, tbi);
	vcpu_add(v, tbi->c, 1);
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

/* --- phases (under window_lock) --------------------------------------------------------- */
static void phases_reset(void)
{
	free(ph.b);
	for (unsigned int i = 0; i < PHASES; i++)
		free(ph.p[i].b);
	memset(&ph, 0, sizeof(ph));
}

/* One phase bucket array of the old set moved to the new one (rs), by name. */
static uint64_t *phase_array_remap(uint64_t *a, const struct range_set *old)
{
	uint64_t *n;

	if (!a)
		return NULL;
	if (!(n = calloc(rs.nb ? rs.nb : 1, sizeof(*n))))
		abort();
	for (uint32_t b = 0; b < old->nb; b++) {
		int64_t to = a[b] ? bucket_named(&rs, old->names[b]) : -1;

		if (to >= 0)
			n[to] += a[b];
	}
	free(a);
	return n;
}

/* The ranges replaced at a window's start (ranges_refresh, every vCPU stopped) after a phase
 * marker of that window ran before the start's flush: its arrays follow the new set. */
static void phases_remap(const struct range_set *old)
{
	if (!ph.used)
		return;
	ph.b = phase_array_remap(ph.b, old);
	for (unsigned int i = 0; i < PHASES; i++)
		ph.p[i].b = phase_array_remap(ph.p[i].b, old);
	ph.nb = rs.nb;
}

/* The window's counts now, summed over vCPUs: user, kernel and the exclusive buckets. */
static void window_counts(uint64_t w, uint64_t *u, uint64_t *k, uint64_t *b)
{
	*u = *k = 0;
	memset(b, 0, ph.nb * sizeof(*b));
	for (unsigned int i = 0; i < vcpu_slots; i++) {
		struct vcpu *v = atomic_load_explicit(&vcpus[i], memory_order_acquire);

		if (!v || atomic_load_explicit(&v->window, memory_order_acquire) != w)
			continue;
		*u += atomic_load_explicit(&v->user, memory_order_relaxed);
		*k += atomic_load_explicit(&v->kernel, memory_order_relaxed);
		for (uint32_t j = 0; j < ph.nb; j++)
			b[j] += atomic_load_explicit(&v->bucket[j], memory_order_relaxed);
	}
}

/* What the window counted since the last phase marker (its counts now: u, k, b) goes to the
 * current phase. */
static void phase_close(uint64_t u, uint64_t k, const uint64_t *b)
{
	struct phase *p = &ph.p[ph.cur];

	if (!p->b && !(p->b = calloc(ph.nb ? ph.nb : 1, sizeof(*p->b))))
		abort();
	p->user += u > ph.user ? u - ph.user : 0;
	p->kernel += k > ph.kernel ? k - ph.kernel : 0;
	for (uint32_t j = 0; j < ph.nb; j++)
		p->b[j] += b[j] > ph.b[j] ? b[j] - ph.b[j] : 0;
	ph.user = u;
	ph.kernel = k;
	memcpy(ph.b, b, ph.nb * sizeof(*b));
}

/* A phase marker of window w: phase id counts from the marker's next instruction (rest: the
 * counts of its TB from there on, which that TB's callback has added already). */
static void phase_mark(uint64_t w, unsigned int id, const struct counts *rest)
{
	uint64_t u, k, *b;

	if (!ph.used) {
		ph.used = true;
		ph.nb = rs.nb;
		ph.cur = 0;
		ph.p[0].entered = 1;	/* at the window's start */
		if (!(ph.b = calloc(ph.nb ? ph.nb : 1, sizeof(*ph.b))))
			abort();
	}
	if (!(b = calloc(ph.nb ? ph.nb : 1, sizeof(*b))))
		abort();
	window_counts(w, &u, &k, b);
	u -= rest->user < u ? rest->user : u;
	k -= rest->kernel < k ? rest->kernel : k;
	for (uint32_t i = 0; i < rest->nb; i++) {
		uint32_t j = rest->b[i].bucket;

		if (j < ph.nb)
			b[j] -= rest->b[i].n < b[j] ? rest->b[i].n : b[j];
	}
	phase_close(u, k, b);
	ph.cur = id;
	ph.p[id].entered++;
	free(b);
}

/* The document's "phases", from the window's counts at its end (tu, tk, btot). */
static void write_phases(FILE *f, uint64_t tu, uint64_t tk, const uint64_t *btot)
{
	bool first = true;

	if (!ph.used) {
		fputs(",\"phases\":null", f);
		return;
	}
	if (ph.nb != rs.nb)	/* phases_remap keeps them equal */
		abort();
	phase_close(tu, tk, btot);
	fputs(",\"phases\":{", f);
	for (unsigned int i = 0; i < PHASES; i++) {
		const struct phase *p = &ph.p[i];
		bool bfirst = true;

		if (!p->entered)
			continue;
		fprintf(f, "%s\"%u\":{\"entered\":%" PRIu64 ",\"total\":{\"user\":%" PRIu64
			",\"kernel\":%" PRIu64 ",\"all\":%" PRIu64 "},\"buckets\":{", first ? "" : ",",
			i, p->entered, p->user, p->kernel, p->user + p->kernel);
		first = false;
		for (uint32_t j = 0; p->b && j < ph.nb; j++) {
			if (!p->b[j])
				continue;
			fputs(bfirst ? "" : ",", f);
			json_string(f, rs.names[j]);
			fprintf(f, ":%" PRIu64, p->b[j]);
			bfirst = false;
		}
		fputs("}}", f);
	}
	fputc('}', f);
}

/* The window's document, from every vCPU's counters of this window. Under window_lock. */
static void write_window(uint64_t w, unsigned int ended_on)
{
	uint64_t *btot = calloc(rs.nb ? 2 * rs.nb : 1, sizeof(*btot));
	uint64_t tu = 0, tk = 0, stat[NSTAT] = { 0 }, open = 0;
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
			for (uint32_t b = 0; b < 2 * rs.nb; b++)
				btot[b] += atomic_load_explicit(&v->bucket[b], memory_order_relaxed);
			for (int i = 0; i < NSTAT; i++)
				stat[i] += atomic_load_explicit(&v->stat[i], memory_order_relaxed);
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
	if (incl_on) {
		incl_open_frames(w, btot + rs.nb, &open);
		bool *kern = calloc(rs.nb ? rs.nb : 1, sizeof(*kern));

		for (size_t i = 0; kern && i < rs.n; i++)
			if (rs.r[i].start >= KERNEL_START)
				kern[rs.r[i].bucket] = true;
		fputs("},\"inclusive\":{", f);
		for (uint32_t b = 0; b < rs.nb; b++) {
			fputs(b ? "," : "", f);
			json_string(f, rs.names[b]);
			/* kernel frames only: a user bucket has no inclusive count */
			if (kernel_frames_only() && kern && !kern[b])
				fputs(":null", f);
			else
				fprintf(f, ":%" PRIu64, btot[rs.nb + b]);
		}
		fputc('}', f);
		free(kern);
	} else {
		fputs("},\"inclusive\":null", f);
	}
	write_phases(f, tu, tk, btot);
	fprintf(f, ",\"uncounted_tbs\":%" PRIu64 ",\"params\":{\"outdir\":",
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
		"\"markers\":{\"start\":\"66 87 db\",\"end\":\"66 87 c9\",\"phase\":\"0f 1f 80 NN 00 4d 4d\"},\"counting\":\"tb-exec-callback\","
		"\"system_emulation\":%s,\"vcpu_slots\":%u,\"target\":",
		rs.n, rs.nb, KERNEL_START, system_emulation ? "true" : "false", vcpu_slots);
	json_string(f, target_name);
	fprintf(f, ",\"plugin_api\":%d,\"inclusive\":", QEMU_PLUGIN_VERSION);
	if (incl_on) {
		fprintf(f, "{\"method\":\"call-ret shadow stack\",\"depth\":%u,\"stacks\":\"%s\","
			"\"user_frames\":%s", incl_depth,
			incl_blocks ? "blocks" : system_emulation ? "kernel-blocks" : "vcpu",
			kernel_frames_only() ? "false" : "true");
		if (incl_blocks || system_emulation)
			fprintf(f, ",\"thread_size\":%" PRIu64, thread_size);
		for (int i = 0; i < NSTAT; i++)
			fprintf(f, ",\"%s\":%" PRIu64, stat_names[i], stat[i]);
		fprintf(f, ",\"open_at_end\":%" PRIu64 "}", open);
	} else {
		fprintf(f, "{\"method\":\"off\",\"why\":\"%s\"}",
			incl_arg ? "no buckets" : "inclusive=off");
	}
	fputs("}}\n", f);
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
	int phase;			/* a phase marker's phase, else -1 */
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
		nv = vcpu_alloc(v->idx);
		atomic_init(&nv->window, atomic_load(&v->window));
		atomic_init(&nv->user, atomic_load(&v->user));
		atomic_init(&nv->kernel, atomic_load(&v->kernel));
		nv->cls = v->cls;
		nv->in_l2 = v->in_l2;
		nv->l2_cur = v->l2_cur;
		atomic_init(&nv->cur, cur_of(v));
		atomic_init(&nv->since, atomic_load(&v->since));
		nv->ktask = v->ktask;
		nv->anon = v->anon;
		nv->kanon = v->kanon;
		nv->pend[0] = v->pend[0];
		nv->pend[1] = v->pend[1];
		for (int i = 0; i < NSTAT; i++)
			atomic_init(&nv->stat[i], atomic_load(&v->stat[i]));
		for (uint32_t b = 0; b < 2 * old.nb && atomic_load(&v->window) == w; b++) {
			uint64_t n = atomic_load(&v->bucket[b]);
			int64_t to = n ? bucket_named(&rs, old.names[b % old.nb]) : -1;

			if (to >= 0) {
				to += b < old.nb ? 0 : rs.nb;
				atomic_store(&nv->bucket[to], atomic_load(&nv->bucket[to]) + n);
			}
		}
		atomic_store_explicit(&vcpus[i], nv, memory_order_release);
		free(v);
	}
	incl_remap(&old);
	phases_remap(&old);
	incl_on = incl_arg && rs.nb;
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
	incl_reset_free();
	register_callbacks(id);
}

static void marker_exec(unsigned int vcpu_index, void *udata)
{
	const struct marker *m = udata;
	struct vcpu *v;
	char msg[128];

	pthread_mutex_lock(&window_lock);
	if (m->phase >= 0) {
		if (atomic_load(&window_open))
			phase_mark(atomic_load(&window), (unsigned int)m->phase, m->rest);
		pthread_mutex_unlock(&window_lock);
		return;		/* no flush */
	}
	if (!m->end) {
		if (atomic_load(&window_open)) {
			snprintf(msg, sizeof(msg), "insns: window %" PRIu64 " discarded by a new start\n",
				 atomic_load(&window));
			qemu_plugin_outs(msg);
		}
		atomic_fetch_add(&window, 1);
		phases_reset();
		incl_window_start();
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
			vcpu_add(v, m->rest, -1);	/* the current stack's clock too */
		}
		atomic_store_explicit(&window_open, false, memory_order_release);
		write_window(atomic_load(&window), vcpu_index);
	}
	pthread_mutex_unlock(&window_lock);
	/* Retranslate with (start) or without (end) per-TB callbacks; a flush already
	 * pending (two markers in one TB) is ignored by QEMU and serves both. */
	qemu_plugin_reset(plugin_id, reset_done);
}

/*
 * What an instruction is for the shadow stacks, from its bytes: legacy prefixes (segment
 * overrides such as the cs prefix of the kernel's thunk calls, notrack, bnd and rep) and a
 * REX prefix skipped; with an operand-size prefix (16-bit pushes and pops) it is none.
 */
enum { INSN_OTHER, INSN_CALL, INSN_RET, INSN_POP, INSN_JMP, INSN_VMRUN };

static int insn_kind(const uint8_t *d, size_t len, uint64_t va, int64_t *target)
{
	size_t i = 0;

	*target = -1;
	if (len == 3 && d[0] == 0x0f && d[1] == 0x01 && d[2] == 0xd8)
		return INSN_VMRUN;
	for (; i < len; i++) {
		uint8_t p = d[i];

		if (p == 0x66)
			return INSN_OTHER;
		if (p != 0x67 && p != 0xf2 && p != 0xf3 && p != 0xf0 && p != 0x2e && p != 0x3e &&
		    p != 0x26 && p != 0x36 && p != 0x64 && p != 0x65)
			break;
	}
	if (i < len && (d[i] & 0xf0) == 0x40)
		i++;
	if (i >= len)
		return INSN_OTHER;
	switch (d[i]) {
	case 0xe8:		/* call rel32 */
		if (len == i + 5) {
			int32_t rel = (int32_t)((uint32_t)d[i + 1] | (uint32_t)d[i + 2] << 8 |
						(uint32_t)d[i + 3] << 16 | (uint32_t)d[i + 4] << 24);

			*target = (int64_t)(va + len + (uint64_t)(int64_t)rel);
			return INSN_CALL;
		}
		return INSN_OTHER;
	case 0xff:		/* FF /2: call near, indirect (FF /3, a far call, is not) */
		return i + 1 < len && ((d[i + 1] >> 3) & 7) == 2 ? INSN_CALL : INSN_OTHER;
	case 0xc3:		/* ret */
	case 0xc2:		/* ret imm16 */
		return INSN_RET;
	case 0xc9:		/* leave */
		return INSN_POP;
	case 0xe9:		/* jmp rel32 */
	case 0xeb:		/* jmp rel8 */
		return INSN_JMP;
	}
	return d[i] >= 0x58 && d[i] <= 0x5f ? INSN_POP : INSN_OTHER;	/* pop reg */
}

/* The addresses right after the VMRUN instructions translated so far (the test host's
 * kvm_amd has one): where the host resumes after a #VMEXIT. */
#define VMRUN_SITES 64
static _Atomic uint64_t vmrun_next[VMRUN_SITES];
static _Atomic unsigned int nvmrun;
static pthread_mutex_t vmrun_lock = PTHREAD_MUTEX_INITIALIZER;

static bool after_vmrun(uint64_t pc)
{
	unsigned int n = atomic_load_explicit(&nvmrun, memory_order_acquire);

	for (unsigned int i = 0; i < n; i++)
		if (atomic_load_explicit(&vmrun_next[i], memory_order_relaxed) == pc)
			return true;
	return false;
}

static void vmrun_site(uint64_t next)
{
	pthread_mutex_lock(&vmrun_lock);
	if (!after_vmrun(next)) {
		unsigned int n = atomic_load(&nvmrun);

		if (n < VMRUN_SITES) {
			atomic_store_explicit(&vmrun_next[n], next, memory_order_relaxed);
			atomic_store_explicit(&nvmrun, n + 1, memory_order_release);
		} else {
			qemu_plugin_outs("insns: more than 64 VMRUN sites: L2 not told apart after more\n");
		}
	}
	pthread_mutex_unlock(&vmrun_lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	uint32_t *cls = calloc(n ? n : 1, sizeof(*cls));
	int *kind = calloc(n ? n : 1, sizeof(*kind));
	int64_t *target = calloc(n ? n : 1, sizeof(*target));
	struct counts *scratch = malloc(counts_size(n));
	bool counting = atomic_load_explicit(&window_open, memory_order_acquire);
	bool start_marker = false, at_start = false, stacks;
	uint64_t tb_va = qemu_plugin_tb_vaddr(tb);
	int64_t first = -1;
	uint32_t flags = 0;

	(void)id;
	if (!cls || !kind || !target || !scratch)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t va = qemu_plugin_insn_vaddr(insn);
		int64_t b = rs.n ? bucket_at(va, i ? NULL : &at_start) : -1;

		cls[i] = (uint32_t)(b + 1) << 1 | (va >= KERNEL_START);
		if (i == 0 && at_start)
			first = b;
		if (qemu_plugin_insn_size(insn) == MARK_LEN && va < KERNEL_START &&
		    !memcmp(qemu_plugin_insn_data(insn), mark_start, MARK_LEN))
			start_marker = true;
		kind[i] = incl_on || system_emulation ?
			insn_kind(qemu_plugin_insn_data(insn), qemu_plugin_insn_size(insn), va,
				  &target[i]) : INSN_OTHER;
	}
	if (n && (cls[0] & 1))
		flags |= CF_KERNEL;
	if (n && system_emulation && after_vmrun(tb_va))
		flags |= CF_RESUME;
	if (n && kind[0] == INSN_RET)
		flags |= CF_RET_FIRST;
	if (counting) {
		struct tbinfo *tbi = arena_alloc(sizeof(*tbi));

		tbi->c = counts_of(cls, 0, n, scratch, first, flags);
		tbi->pc = tb_va;
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, tbi);
	}
	/* The shadow stacks' instructions: in a window, and in a start marker's TB (a call
	 * that ends it is the window's first). */
	stacks = incl_on && (counting || start_marker);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *d = qemu_plugin_insn_data(insn);
		size_t len = qemu_plugin_insn_size(insn);
		uint64_t va = qemu_plugin_insn_vaddr(insn);
		struct callsite *cs;
		struct marker *m;
		bool end;
		int phase;

		/*
		 * Memory callbacks only where QEMU 7.2 resets cpu->plugin_mem_cbs after the
		 * instruction. It sets that pointer for an instruction with memory callbacks
		 * whose code calls a helper, and resets it in code after the instruction,
		 * which the instruction that ends a TB never gets (translator_loop); ending
		 * a TB by a jump to another page than the TB's start (a return, an indirect
		 * call, a direct call to another page, or any instruction before a page
		 * boundary) calls a helper (lookup_and_goto_ptr). The pointer would then stay,
		 * to callbacks that the next TB flush frees, for any later helper's memory
		 * access (an atomic, an interrupt's pushes) to call. So: a memory callback on
		 * a direct call to its TB's own page (a goto_tb, no helper), and on a pop or
		 * leave right before a return or a TB's final jump (never the TB's last);
		 * returns and other calls get instruction callbacks, before they execute.
		 */
		switch (kind[i]) {
		case INSN_CALL:
			if (!stacks)
				continue;
			cs = arena_alloc(sizeof(*cs));
			cs->label = target[i] >= 0 ? bucket_of((uint64_t)target[i]) : -1;
			cs->ret = va + len;
			if (target[i] >= 0 && !(((uint64_t)target[i] ^ tb_va) & ~(uint64_t)4095))
				qemu_plugin_register_vcpu_mem_cb(insn, call_exec, QEMU_PLUGIN_CB_NO_REGS,
								 QEMU_PLUGIN_MEM_RW, cs);
			else
				qemu_plugin_register_vcpu_insn_exec_cb(insn, call_noslot_exec,
								       QEMU_PLUGIN_CB_NO_REGS, cs);
			continue;
		case INSN_RET:
			if (!stacks)
				continue;
			qemu_plugin_register_vcpu_insn_exec_cb(insn, ret_exec, QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)(1 + (cls[i] & 1)));
			if (i > 0 && kind[i - 1] == INSN_POP)
				qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i - 1),
								 hint_exec, QEMU_PLUGIN_CB_NO_REGS,
								 QEMU_PLUGIN_MEM_RW, NULL);
			continue;
		case INSN_JMP:
			if (stacks && i > 0 && i + 1 == n && kind[i - 1] == INSN_POP)
				qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i - 1),
								 hint_exec, QEMU_PLUGIN_CB_NO_REGS,
								 QEMU_PLUGIN_MEM_RW, (void *)1);
			continue;
		case INSN_VMRUN:
			if (!system_emulation || !(cls[i] & 1))
				continue;
			vmrun_site(va + len);
			if (incl_on && counting)
				qemu_plugin_register_vcpu_insn_exec_cb(insn, vmrun_exec,
								       QEMU_PLUGIN_CB_NO_REGS, NULL);
			continue;
		}
		if (cls[i] & 1)
			continue;
		phase = -1;
		end = false;
		if (len == PHASE_LEN && d[0] == 0x0f && d[1] == 0x1f && d[2] == 0x80 &&
		    d[3] < PHASES && !d[4] && d[5] == 0x4d && d[6] == 0x4d) {
			if (!counting && !start_marker)
				continue;	/* outside a window: nothing to split */
			phase = d[3];
		} else if (len != MARK_LEN) {
			continue;
		} else if (!memcmp(d, mark_end, MARK_LEN)) {
			end = true;
		} else if (memcmp(d, mark_start, MARK_LEN)) {
			continue;
		}
		/* A few per window (the markers' TBs are retranslated after each flush). */
		m = malloc(sizeof(*m));
		if (!m)
			abort();
		m->end = end;
		m->phase = phase;
		m->rest = counts_of(cls, end ? i : i + 1, n, scratch, -1, 0);
		qemu_plugin_register_vcpu_insn_exec_cb(insn, marker_exec, QEMU_PLUGIN_CB_NO_REGS, m);
	}
	free(scratch);
	free(target);
	free(kind);
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
	qemu_plugin_register_vcpu_exit_cb(id, vcpu_exit);
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
		} else if (!strncmp(a, "inclusive=", 10)) {
			if (!qemu_plugin_bool_parse("inclusive", a + 10, &incl_arg)) {
				fprintf(stderr, "insns: %s: want inclusive=on or off\n", a);
				return -1;
			}
		} else if (!strncmp(a, "inclusive_depth=", 16)) {
			char *e;
			unsigned long d = strtoul(a + 16, &e, 0);

			if (*e || !a[16] || d < 1 || d > 65536) {
				fprintf(stderr, "insns: %s: want a depth of 1 to 65536 frames\n", a);
				return -1;
			}
			incl_depth = d;
		} else if (!strncmp(a, "inclusive_stacks=", 17)) {
			if (strcmp(a + 17, "auto") && strcmp(a + 17, "blocks")) {
				fprintf(stderr, "insns: %s: want inclusive_stacks=auto or blocks\n", a);
				return -1;
			}
			incl_blocks = !strcmp(a + 17, "blocks");
		} else if (!strncmp(a, "thread_size=", 12)) {
			char *e;
			unsigned long long t = strtoull(a + 12, &e, 0);

			if (*e || !a[12] || t < 4096 || t > (1ULL << 30) || (t & (t - 1))) {
				fprintf(stderr, "insns: %s: want a power of two from 4096 to 2^30\n", a);
				return -1;
			}
			thread_size = t;
		} else {
			fprintf(stderr, "insns: unknown argument '%s': use outdir=DIR, ranges=FILE, "
				"range=NAME:START:END, inclusive=on|off, inclusive_depth=N, "
				"inclusive_stacks=auto|blocks, thread_size=BYTES\n", a);
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
	incl_on = incl_arg && rs.nb;
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
		atomic_init(&vcpus[i], vcpu_alloc(i));
	register_callbacks(id);
	return 0;
}
