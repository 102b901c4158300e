// SPDX-License-Identifier: GPL-2.0
/*
 * The insns plugin's test program (tests/insns.sh): insns_loop(n) executes exactly
 * 4 + 4n instructions for n >= 1 (xor, test, jz; n x {add, nop, dec, jnz}; ret), written in
 * assembly so that no compiler changes it.
 *   loop [--mark | --phases] [--threads T] [--between CMD] N [WINDOWS]
 * runs insns_loop(N); --mark: inside a window that this process marks (start; insns_loop(N);
 * end), for user-mode QEMU, where `insns-mark run` cannot see its child; WINDOWS such windows
 * one after the other; --threads T: T threads created inside the window each run
 * insns_loop(N) (T vCPUs under qemu-x86_64), joined before its end; --between CMD: between
 * two windows, outside both, run the shell command CMD with INSNS_LOOP_WINDOW set to the
 * number of windows done (under qemu-x86_64 the shell runs natively, not counted); a CMD
 * that fails stops the program (exit 1); --phases (no threads): each window is
 * insns_phases(N), assembly that marks its own window and phases (the plugin's rules,
 * tcgplugin/insns-json.md, "Phases": a marker counts in the phase it ends, the window's
 * markers in none):
 *   start; nop; phase 1; mov; call insns_loop(N); phase 2; lea; call insns_loop(2N);
 *   phase 3; lea; call insns_loop(3N); nop; nop; nop; end
 * phase 0 = nop + the marker = 2, phase 1 = mov + call + 4 + 4N + the marker = 7 + 4N,
 * phase 2 = 7 + 8N, phase 3 = lea + call + 4 + 12N + 3 = 9 + 12N; the start, its nop and
 * phase 1's marker share a TB (the call ends it): what follows a marker in its TB counts in
 * the marker's phase, and a phase marker in the start's TB counts.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insns-mark.h"

unsigned long insns_loop(unsigned long n);
__asm__(".text\n"
	".globl insns_loop\n"
	".type insns_loop, @function\n"
	"insns_loop:\n"
	"	xor %eax, %eax\n"
	"	test %rdi, %rdi\n"
	"	jz 2f\n"
	"1:	add %rdi, %rax\n"
	"	nop\n"
	"	dec %rdi\n"
	"	jnz 1b\n"
	"2:	ret\n"
	".size insns_loop, .-insns_loop\n"
	/* the next symbol, so that nm gives the loop's end */
	".globl insns_loop_end\n"
	".type insns_loop_end, @function\n"
	"insns_loop_end:\n"
	"	ret\n"
	".size insns_loop_end, .-insns_loop_end\n");

/* --phases: the window and its phases, in assembly so that every count is known. */
void insns_phases(unsigned long n);
__asm__(".text\n"
	".globl insns_phases\n"
	".type insns_phases, @function\n"
	"insns_phases:\n"
	"	push %rbx\n"
	"	mov %rdi, %rbx\n"
	"	.byte 0x66, 0x87, 0xdb\n"		/* start */
	"	nop\n"
	"	.byte 0x0f, 0x1f, 0x80\n	.long 0x4d4d0001\n"	/* phase 1 */
	"	mov %rbx, %rdi\n"
	"	call insns_loop\n"
	"	.byte 0x0f, 0x1f, 0x80\n	.long 0x4d4d0002\n"	/* phase 2 */
	"	lea (%rbx,%rbx), %rdi\n"
	"	call insns_loop\n"
	"	.byte 0x0f, 0x1f, 0x80\n	.long 0x4d4d0003\n"	/* phase 3 */
	"	lea (%rbx,%rbx,2), %rdi\n"
	"	call insns_loop\n"
	"	nop\n"
	"	nop\n"
	"	nop\n"
	"	.byte 0x66, 0x87, 0xc9\n"		/* end */
	"	pop %rbx\n"
	"	ret\n"
	".size insns_phases, .-insns_phases\n");

static unsigned long n;

static void *thread_loop(void *sum)
{
	*(unsigned long *)sum = insns_loop(n);
	return NULL;
}

static unsigned long run(long threads)
{
	pthread_t tid[64];
	unsigned long sums[64], sum = 0;

	if (!threads)
		return insns_loop(n);
	for (long i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, thread_loop, &sums[i]))
			exit(1);
	for (long i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		sum += sums[i];
	}
	return sum;
}

int main(int argc, char **argv)
{
	int i = 1, mark = 0, phases = 0;
	const char *between = NULL;
	long windows = 1, threads = 0;
	unsigned long sum = 0;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--help")) {
			printf("usage: loop [--mark | --phases] [--threads T<=64] [--between CMD] N [WINDOWS]\n"
			       "The insns plugin's test program: insns_loop(N), 4 + 4N instructions, in\n"
			       "WINDOWS windows (tests/insns.sh; this file's header).\n"
			       "Exit: 0; 1 a --between CMD failed; 2 usage.\n"
			       "Example: qemu-x86_64 -plugin build/lib/insns.so,outdir=/tmp/i "
			       "build/bin/insns-loop --mark 1000 2\n");
			return 0;
		}
		if (!strcmp(argv[i], "--mark"))
			mark = 1;
		else if (!strcmp(argv[i], "--phases"))
			phases = 1;
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = strtol(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--between") && i + 1 < argc)
			between = argv[++i];
		else {
			fprintf(stderr, "loop: error: unknown option '%s' (loop --help)\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc || argc - i > 2 || threads < 0 || threads > 64 || (phases && (threads || mark))) {
		fprintf(stderr, "loop: error: want [--mark | --phases] [--threads T<=64] [--between CMD] N [WINDOWS], --phases without threads (loop --help)\n");
		return 2;
	}
	n = strtoul(argv[i], NULL, 0);
	if (argc - i == 2)
		windows = strtol(argv[i + 1], NULL, 0);
	for (long w = 0; w < windows; w++) {
		if (between && w > 0) {
			char done[32];
			int status;

			snprintf(done, sizeof(done), "%ld", w);
			setenv("INSNS_LOOP_WINDOW", done, 1);
			fflush(NULL);
			status = system(between);
			if (status) {
				fprintf(stderr, "loop: --between '%s' after window %ld: status %d\n",
					between, w, status);
				return 1;
			}
		}
		if (phases) {
			insns_phases(n);
			continue;
		}
		if (mark)
			insns_mark_start();
		sum += run(threads);
		if (mark)
			insns_mark_end();
	}
	printf("%lu\n", sum);
	return 0;
}
