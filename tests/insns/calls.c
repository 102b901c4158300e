// SPDX-License-Identifier: GPL-2.0
/*
 * The insns plugin's test program for inclusive counts (tests/insns.sh): a known call tree
 * in a window that it marks itself (start; tree(K, D); end). Every function is a bucket of
 * its own when the ranges come from nm, so that each inclusive count is a sum of exclusive
 * ones (insns_calls in tests/insns.sh says which):
 *   tree(K, D) calls
 *     outer(K)    inner() K times through a function pointer (indirect calls); inner runs
 *                 a fixed loop
 *     rec(D)      D levels of recursion, each calling rleaf()
 *     catcher()   (assembly) _setjmp, then escape(), which loops and calls deeper(), which
 *                 longjmps back into catcher: escape and deeper never return
 *     via_thunk() (assembly) thunked() through ind_thunk, a retpoline-style thunk
 *                 (call 2f; 2: mov %rax, (%rsp); ret), as the kernel's indirect calls may go
 *     tramp()     (assembly) 4 instructions: a push and a return to its own next instruction,
 *                 then its return: a return that returns no frame
 *     rethunk()   (assembly) 4 instructions, returning through ret_thunk (1: ret) as the
 *                 kernel's functions return through __x86_return_thunk
 *   rec, rleaf, escape, fb and work_b sit on pages of their own: calls to them are direct
 *   calls to another page, tracked without their slot.
 *   calls [--threads T] [K [D]]    K, D: 10, 8; --threads T: T threads created and joined
 *                                  inside the window each run tree() from thread_main()
 *   calls --coroutines             main switches to coroutine A (co_a_entry, fa) on a
 *                                  16 KiB-aligned stack of its own; A switches to B (co_b_entry,
 *                                  fb) on another, B back to A, A to main: fb stays open
 *   calls --cost N                 N calls of tiny(), 2 TBs and a call and a return each
 *                                  (what the shadow stacks cost at worst, tests/insns.sh)
 *   calls --sort N                 glibc's qsort of N pseudo-random ints, a comparator called
 *                                  through a pointer (library code's mix of calls)
 * Built with -fno-optimize-sibling-calls, its functions noinline: every call in the source
 * is a call.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insns-mark.h"

#define NOINLINE __attribute__((noinline, noclone))
/* On a page of its own: the calls to it are direct calls to another page, which the plugin
 * tracks without their slot (tcgplugin/insns.c); calls within a page have theirs. */
#define OWN_PAGE __attribute__((aligned(4096)))
#define LOOP(n) for (int i_ = 0; i_ < (n); i_++) __asm__ volatile("" ::: "memory")

static _Thread_local jmp_buf *calls_jb;	/* tree()'s, where deeper() longjmps to */
volatile unsigned long calls_sink;

NOINLINE void inner(void) { LOOP(50); }
void (*volatile inner_ptr)(void) = inner;
NOINLINE void outer(int k) { for (int i = 0; i < k; i++) inner_ptr(); }

NOINLINE OWN_PAGE void rleaf(void) { LOOP(5); }
NOINLINE OWN_PAGE void rec(int d)
{
	rleaf();
	if (d > 0)
		rec(d - 1);
	calls_sink += d;
}

NOINLINE __attribute__((noreturn)) void deeper(void)
{
	LOOP(20);
	longjmp(*calls_jb, 1);
}
NOINLINE OWN_PAGE void escape(void)
{
	LOOP(30);
	deeper();
}
NOINLINE void thunked(void) { LOOP(40); }

/*
 * catcher(jb): 9 instructions (push, call _setjmp(jb); test, jnz, call escape; after the
 * longjmp test, jnz, pop, ret), 4 of them after the longjmp lands. via_thunk calls thunked
 * through ind_thunk, which returns into it instead of calling it.
 */
void catcher(jmp_buf jb);
void via_thunk(void);
void tramp(void);
void rethunk(void);
__asm__(".text\n"
	".globl catcher\n"
	".type catcher, @function\n"
	"catcher:\n"
	"	push %rbx\n"
	"	call _setjmp\n"
	"	test %eax, %eax\n"
	"	jnz 1f\n"
	"	call escape\n"
	"1:	pop %rbx\n"
	"	ret\n"
	".size catcher, .-catcher\n"
	".globl via_thunk\n"
	".type via_thunk, @function\n"
	"via_thunk:\n"
	"	push %rbx\n"
	"	lea thunked(%rip), %rax\n"
	"	call ind_thunk\n"
	"	pop %rbx\n"
	"	ret\n"
	".size via_thunk, .-via_thunk\n"
	".globl ind_thunk\n"
	".type ind_thunk, @function\n"
	"ind_thunk:\n"
	"	call 2f\n"
	"	int3\n"
	"2:	mov %rax, (%rsp)\n"
	"	ret\n"
	".size ind_thunk, .-ind_thunk\n"
	".globl tramp\n"
	".type tramp, @function\n"
	"tramp:\n"
	"	lea 3f(%rip), %rax\n"
	"	push %rax\n"
	"	ret\n"
	"3:	ret\n"
	".size tramp, .-tramp\n"
	".globl rethunk\n"
	".type rethunk, @function\n"
	"rethunk:\n"
	"	push %rbx\n"
	"	mov $5, %ebx\n"
	"	pop %rbx\n"
	"	jmp ret_thunk\n"
	".size rethunk, .-rethunk\n"
	".globl ret_thunk\n"
	".type ret_thunk, @function\n"
	"ret_thunk:\n"
	"	ret\n"
	"	int3\n"
	".size ret_thunk, .-ret_thunk\n");

NOINLINE void tree(int k, int d)
{
	jmp_buf jb;

	calls_jb = &jb;
	outer(k);
	rec(d);
	catcher(jb);
	via_thunk();
	tramp();
	rethunk();
}

static int tree_k = 10, tree_d = 8;

NOINLINE void *thread_main(void *arg)
{
	tree(tree_k, tree_d);
	return arg;
}

/* Coroutines: co_X_to_Y(from, to) saves the callee-saved registers on the current stack and
 * its stack pointer in *from, and resumes to (15 instructions, one per switch site). */
struct co {
	void *sp;
};
struct co co_main, co_a, co_b;
#define CO_SWITCH(name) \
	".globl " #name "\n.type " #name ", @function\n" #name ":\n" \
	"	push %rbp\n	push %rbx\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n" \
	"	mov %rsp, (%rdi)\n	mov (%rsi), %rsp\n" \
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbx\n	pop %rbp\n" \
	"	ret\n.size " #name ", .-" #name "\n"
void co_main_to_a(struct co *from, struct co *to);
void co_a_to_b(struct co *from, struct co *to);
void co_b_to_a(struct co *from, struct co *to);
void co_a_to_main(struct co *from, struct co *to);
__asm__(".text\n" CO_SWITCH(co_main_to_a) CO_SWITCH(co_a_to_b) CO_SWITCH(co_b_to_a)
	CO_SWITCH(co_a_to_main));

NOINLINE void work_a(void) { LOOP(25); }
NOINLINE OWN_PAGE void work_b(void) { LOOP(35); }
NOINLINE void fa(void)
{
	work_a();
	co_a_to_b(&co_a, &co_b);
	work_a();
}
NOINLINE OWN_PAGE void fb(void)
{
	work_b();
	co_b_to_a(&co_b, &co_a);
	work_b();	/* never: A does not switch back to B */
}
NOINLINE __attribute__((noreturn)) void co_a_entry(void)
{
	fa();
	co_a_to_main(&co_a, &co_main);
	__builtin_unreachable();
}
NOINLINE __attribute__((noreturn)) void co_b_entry(void)
{
	fb();
	__builtin_unreachable();
}

/* A coroutine's stack: a 16 KiB-aligned block whose top holds the 6 registers that its first
 * switch pops, then entry as the address its ret goes to (entered with rsp = top - 8). */
static void co_init(struct co *c, void (*entry)(void))
{
	unsigned char *stk = aligned_alloc(16384, 16384);
	uint64_t *sp;

	if (!stk)
		exit(1);
	sp = (uint64_t *)(stk + 16384) - 8;
	memset(sp, 0, 8 * sizeof(*sp));
	sp[6] = (uint64_t)(uintptr_t)entry;
	c->sp = sp;
}

NOINLINE void tiny(void) { __asm__ volatile("" ::: "memory"); }

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: calls [--threads T<=64] [K [D]] | --coroutines | --cost N | --sort N\n"
		"The insns plugin's inclusive-count test program: a known call tree in a window it\n"
		"marks itself (this file's header; tests/insns.sh).\n"
		"Exit: 0; 1 a thread or a stack could not be made; 2 usage.\n"
		"Example: qemu-x86_64 -plugin build/lib/insns.so,outdir=/tmp/i,ranges=R "
		"build/bin/insns-calls 10 8\n");
	return status;
}

int main(int argc, char **argv)
{
	long threads = 0;
	int i = 1;

	if (argc > 1 && !strcmp(argv[1], "--help"))
		return usage(stdout, 0);
	if (argc == 2 && !strcmp(argv[1], "--coroutines")) {
		co_init(&co_a, co_a_entry);
		co_init(&co_b, co_b_entry);
		insns_mark_start();
		co_main_to_a(&co_main, &co_a);
		insns_mark_end();
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--cost")) {
		long n = strtol(argv[2], NULL, 0);

		insns_mark_start();
		for (long j = 0; j < n; j++)
			tiny();
		insns_mark_end();
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--sort")) {
		long n = strtol(argv[2], NULL, 0);
		int *a = malloc((n > 0 ? n : 1) * sizeof(*a));
		unsigned int x = 1;

		if (!a)
			return 1;
		for (long j = 0; j < n; j++)
			a[j] = (int)(x = x * 1103515245u + 12345u);
		insns_mark_start();
		qsort(a, n, sizeof(*a), cmp_int);
		insns_mark_end();
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "--threads")) {
		threads = strtol(argv[2], NULL, 0);
		i = 3;
	}
	if (argc - i > 2 || threads < 0 || threads > 64 || (i < argc && argv[i][0] == '-'))
		return usage(stderr, 2);
	if (i < argc)
		tree_k = atoi(argv[i]);
	if (i + 1 < argc)
		tree_d = atoi(argv[i + 1]);
	if (!threads) {
		insns_mark_start();
		tree(tree_k, tree_d);
		insns_mark_end();
	} else {
		pthread_t tid[64];

		insns_mark_start();
		for (long t = 0; t < threads; t++)
			if (pthread_create(&tid[t], NULL, thread_main, NULL))
				return 1;
		for (long t = 0; t < threads; t++)
			pthread_join(tid[t], NULL);
		insns_mark_end();
	}
	return 0;
}
