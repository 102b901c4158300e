// SPDX-License-Identifier: GPL-2.0
/*
 * dirtylog_vmm: the smallest VMM that exercises dirty logging, for the probe tests.
 *
 * One VM, one memslot with KVM_MEM_LOG_DIRTY_PAGES, one vCPU in real mode that writes a
 * byte to each of NPAGES pages and then exits with an OUT. After each pass the VMM issues
 * KVM_GET_DIRTY_LOG (N times) and then, with manual protect, KVM_CLEAR_DIRTY_LOG (M times).
 * It times its own ioctls and prints what it did as JSON, so a probe's counts can be
 * checked against it exactly. It also toggles dirty logging off and on once per run
 * (-t) to give the enable/disable probe something to count.
 *
 * With -L MIB the vCPU runs in 64-bit mode instead, touching every 4K page of MIB MiB
 * mapped with 4K PTEs: with -s a small KVM_SET_NR_MMU_PAGES, a shadow-paging host must
 * then recycle shadow pages on every pass, which is what the recycle probes are for.
 *
 * Usage: dirtylog_vmm [-n GETS] [-m CLEARS] [-t] [-s NR_MMU_PAGES] [-L MIB]
 * Exit: 0; 2 usage; 3 KVM failed (an ioctl, an unexpected exit); 4 no KVM here (skip).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "monoclock.h"

#define MEM_SIZE	0x60000		/* 384 KiB: code at 0x1000, data 0x10000-0x4ffff */
#define CODE_GPA	0x1000
#define NPAGES		64
#define PAGE_SIZE	4096

/* Real mode: for (bx = 0x1000; bx < 0x5000; bx += 0x100) { ds = bx; [0] = al++; } out 0x10 */
static const uint8_t guest_code[] = {
	0xbb, 0x00, 0x10,		/* 0:  mov bx, 0x1000 */
	0x8e, 0xdb,			/* 3:  mov ds, bx */
	0xa2, 0x00, 0x00,		/* 5:  mov [0], al */
	0xfe, 0xc0,			/* 8:  inc al */
	0x81, 0xc3, 0x00, 0x01,		/* 10: add bx, 0x100 */
	0x81, 0xfb, 0x00, 0x50,		/* 14: cmp bx, 0x5000 */
	0x72, 0xef,			/* 18: jb 3 */
	0xe6, 0x10,			/* 20: out 0x10, al */
	0xeb, 0xe8,			/* 22: jmp 0 */
};

/* 64-bit: for (p = DATA; p < END; p += 4096) ++*(u8 *)p; out 0x10; repeat */
static const uint8_t guest_code64[] = {
	0x48, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0:  mov rdi, imm64 (patched: start) */
	0x48, 0xbe, 0, 0, 0, 0, 0, 0, 0, 0,	/* 10: mov rsi, imm64 (patched: end) */
	0xfe, 0x07,				/* 20: inc byte [rdi] */
	0x48, 0x81, 0xc7, 0x00, 0x10, 0, 0,	/* 22: add rdi, 4096 */
	0x48, 0x39, 0xf7,			/* 29: cmp rdi, rsi */
	0x72, 0xf2,				/* 32: jb 20 */
	0xe6, 0x10,				/* 34: out 0x10, al */
	0xeb, 0xda,				/* 36: jmp 0 */
};

#define LM_TABLES	0x2000		/* PML4, PDPT, then PDs and PTs follow */
#define LM_LOW_SIZE	(2u << 20)	/* code + tables: the 2M page at 0 */
#define LM_DATA		(1ull << 30)	/* data at 1 GiB, its own slot */

static void die(const char *what)
{
	fprintf(stderr, "dirtylog_vmm: %s: %s\n", what, strerror(errno));
	exit(errno == ENOENT || errno == ENODEV ? EXIT_SKIP : EXIT_INFRA);
}

static int count_bits(const uint64_t *bm, size_t words)
{
	int n = 0;
	size_t i;

	for (i = 0; i < words; i++)
		n += __builtin_popcountll(bm[i]);
	return n;
}

static void run_pass(int vcpu, struct kvm_run *run)
{
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0 && errno != EINTR)
			die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x10)
			return;
		if (run->exit_reason != KVM_EXIT_INTR) {
			fprintf(stderr, "dirtylog_vmm: unexpected exit reason %u\n", run->exit_reason);
			exit(EXIT_INFRA);
		}
	}
}

static void set_slot(int vm, uint32_t slot, void *mem, uint32_t flags, uint64_t gpa,
		     uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)mem,
	};

	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
}

/* Identity-map [0, 2 MiB) with one 2M page and the data slot with 4K pages. */
static void setup_long_mode(int vcpu, uint8_t *low, uint64_t data_size)
{
	uint64_t *pml4 = (uint64_t *)(low + LM_TABLES), *pdpt = pml4 + 512, *pd0 = pdpt + 512;
	uint64_t *pd1 = pd0 + 512, *pt = pd1 + 512, gpa_pt = LM_TABLES + 4 * PAGE_SIZE;
	uint64_t i, npt = data_size >> 21;
	struct kvm_segment seg = { .base = 0, .limit = 0xffffffff, .present = 1, .s = 1, .g = 1 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2 };

	pml4[0] = (LM_TABLES + PAGE_SIZE) | 3;
	pdpt[0] = (LM_TABLES + 2 * PAGE_SIZE) | 3;
	pdpt[1] = (LM_TABLES + 3 * PAGE_SIZE) | 3;
	pd0[0] = 0x83;				/* 2M page at 0 */
	for (i = 0; i < npt; i++) {
		pd1[i] = (gpa_pt + i * PAGE_SIZE) | 3;
		for (int j = 0; j < 512; j++)
			pt[i * 512 + j] = (LM_DATA + (i * 512 + j) * PAGE_SIZE) | 3;
	}
	memcpy(low + CODE_GPA, guest_code64, sizeof(guest_code64));
	*(uint64_t *)(low + CODE_GPA + 2) = LM_DATA;
	*(uint64_t *)(low + CODE_GPA + 12) = LM_DATA + data_size;

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cr3 = LM_TABLES;
	sregs.cr4 = 1u << 5;					/* PAE */
	sregs.cr0 = 1u | (1u << 4) | (1u << 5) | (1u << 16) | (1u << 31); /* PE ET NE WP PG */
	sregs.efer = (1u << 8) | (1u << 10);			/* LME LMA */
	seg.type = 11;
	seg.selector = 8;
	seg.l = 1;
	sregs.cs = seg;
	seg.type = 3;
	seg.selector = 16;
	seg.l = 0;
	seg.db = 1;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS (long mode)");
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	int gets = 10, clears = 5, toggle = 0, nr_mmu_pages = 0, opt, kvm, vm, vcpu, i;
	uint64_t lm_mib = 0, log_pages = MEM_SIZE / PAGE_SIZE;
	static uint64_t bitmap[(1u << 30) / PAGE_SIZE / 64];	/* up to 1 GiB logged */
	void *data = NULL;
	uint64_t get_ns = 0, clear_ns = 0, t0, dirty_seen = 0;
	int manual, did_clears = 0;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	void *mem;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:m:ts:L:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'L':
			lm_mib = strtoull(optarg, NULL, 10);
			if (lm_mib < 2 || lm_mib > 512 || lm_mib % 2)
				return cli_usage_error("dirtylog_vmm", "-L takes an even number of MiB, 2 to 512");
			break;
		case 'n': gets = atoi(optarg); break;
		case 'm': clears = atoi(optarg); break;
		case 't': toggle = 1; break;
		case 's': nr_mmu_pages = atoi(optarg); break;
		case 'h':
			printf("usage: dirtylog_vmm [-n GETS] [-m CLEARS] [-t] [-s NR_MMU_PAGES] [-L MIB]\n"
			       "The smallest VMM that exercises dirty logging, for the probe tests: one vCPU\n"
			       "writes every page, then GETS KVM_GET_DIRTY_LOG and CLEARS KVM_CLEAR_DIRTY_LOG;\n"
			       "what it did, and its own timings, as JSON on stdout.\n"
			       "  -t  toggle dirty logging off and on once   -s  KVM_SET_NR_MMU_PAGES\n"
			       "  -L  64-bit mode over MIB MiB of 4K PTEs (with -s: shadow pages recycled)\n"
			       "Exit: 0; 2 usage; 3 KVM failed; 4 no KVM here.\n"
			       "Example: mmuprobe -o p.json -- dirtylog_vmm -n 7 -m 3 -t\n");
			return EXIT_OK;
		default: return cli_bad_option("dirtylog_vmm", opt, argv);
		}
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	if (nr_mmu_pages && ioctl(vm, KVM_SET_NR_MMU_PAGES, nr_mmu_pages) < 0)
		die("KVM_SET_NR_MMU_PAGES");
	manual = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) > 0;
	if (!manual)
		clears = 0;

	mem = mmap(NULL, lm_mib ? LM_LOW_SIZE : MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	if (lm_mib) {
		/* Slot 0: code and page tables, not logged. Slot 1: the data, logged. */
		log_pages = (lm_mib << 20) / PAGE_SIZE;
		data = mmap(NULL, lm_mib << 20, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (data == MAP_FAILED)
			die("mmap data");
		set_slot(vm, 0, mem, 0, 0, LM_LOW_SIZE);
		set_slot(vm, 1, data, KVM_MEM_LOG_DIRTY_PAGES, LM_DATA, lm_mib << 20);
	} else {
		memcpy((char *)mem + CODE_GPA, guest_code, sizeof(guest_code));
		set_slot(vm, 0, mem, KVM_MEM_LOG_DIRTY_PAGES, 0, MEM_SIZE);
	}

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		   MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
	if (lm_mib) {
		/* Long mode needs the LM CPUID bit: give the vCPU what KVM supports. */
		struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[256]; } cpuid = {
			.c.nent = 256 };

		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0)
			die("KVM_GET_SUPPORTED_CPUID");
		if (ioctl(vcpu, KVM_SET_CPUID2, &cpuid) < 0)
			die("KVM_SET_CPUID2");
		setup_long_mode(vcpu, mem, lm_mib << 20);
	} else {
		if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
			die("KVM_GET_SREGS");
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
			die("KVM_SET_SREGS");
		memset(&regs, 0, sizeof(regs));
		regs.rip = CODE_GPA;
		regs.rflags = 2;
		if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
			die("KVM_SET_REGS");
	}

	/* Harvest with KVM_GET_DIRTY_LOG (which also write-protects without manual protect). */
	for (i = 0; i < gets; i++) {
		struct kvm_dirty_log log = { .slot = lm_mib ? 1 : 0, .dirty_bitmap = bitmap };

		run_pass(vcpu, run);
		memset(bitmap, 0, (log_pages + 63) / 64 * 8);
		t0 = mono_ns();
		if (ioctl(vm, KVM_GET_DIRTY_LOG, &log) < 0)
			die("KVM_GET_DIRTY_LOG");
		get_ns += mono_ns() - t0;
		dirty_seen += (uint64_t)count_bits(bitmap, (log_pages + 63) / 64);
	}
	/* Manual protect: clear (and so write-protect) what the last get returned. */
	if (clears > 0) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
					      .args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE } };

		if (ioctl(vm, KVM_ENABLE_CAP, &cap) < 0)
			die("KVM_ENABLE_CAP MANUAL_DIRTY_LOG_PROTECT2");
		for (i = 0; i < clears; i++) {
			struct kvm_clear_dirty_log cl = { .slot = lm_mib ? 1 : 0, .first_page = 0,
							  .num_pages = (uint32_t)log_pages,
							  .dirty_bitmap = bitmap };

			run_pass(vcpu, run);
			memset(bitmap, 0xff, (log_pages + 63) / 64 * 8);
			t0 = mono_ns();
			if (ioctl(vm, KVM_CLEAR_DIRTY_LOG, &cl) < 0)
				die("KVM_CLEAR_DIRTY_LOG");
			clear_ns += mono_ns() - t0;
			did_clears++;
		}
	}
	if (toggle) {
		if (lm_mib) {
			set_slot(vm, 1, data, 0, LM_DATA, lm_mib << 20);
			run_pass(vcpu, run);
			set_slot(vm, 1, data, KVM_MEM_LOG_DIRTY_PAGES, LM_DATA, lm_mib << 20);
		} else {
			set_slot(vm, 0, mem, 0, 0, MEM_SIZE);
			run_pass(vcpu, run);
			set_slot(vm, 0, mem, KVM_MEM_LOG_DIRTY_PAGES, 0, MEM_SIZE);
		}
	}
	/* A last VM ioctl after the work, so that sampled KVM stats are current. */
	ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);

	printf("{\"pid\":%d,\"get_dirty_log\":%d,\"clear_dirty_log\":%d,\"manual_protect\":%s,"
	       "\"get_dirty_log_ns\":%llu,\"clear_dirty_log_ns\":%llu,\"dirty_pages_seen\":%llu,"
	       "\"toggles\":%d,\"pages_per_pass\":%llu}\n", getpid(), gets, did_clears,
	       manual ? "true" : "false", (unsigned long long)get_ns, (unsigned long long)clear_ns,
	       (unsigned long long)dirty_seen, toggle,
	       (unsigned long long)(lm_mib ? log_pages : NPAGES));
	return 0;
}
