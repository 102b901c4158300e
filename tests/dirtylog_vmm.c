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
 * Usage: dirtylog_vmm [-n GETS] [-m CLEARS] [-t] [-s NR_MMU_PAGES]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

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

static void die(const char *what)
{
	fprintf(stderr, "dirtylog_vmm: %s: %s\n", what, strerror(errno));
	exit(errno == ENOENT || errno == ENODEV ? 4 : 1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
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
			exit(1);
		}
	}
}

static void set_slot(int vm, void *mem, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .flags = flags, .guest_phys_addr = 0,
		.memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)mem,
	};

	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
}

int main(int argc, char **argv)
{
	int gets = 10, clears = 5, toggle = 0, nr_mmu_pages = 0, opt, kvm, vm, vcpu, i;
	uint64_t bitmap[MEM_SIZE / PAGE_SIZE / 64 + 1];
	uint64_t get_ns = 0, clear_ns = 0, t0, dirty_seen = 0;
	int manual, did_clears = 0;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	void *mem;

	while ((opt = getopt(argc, argv, "n:m:ts:")) != -1) {
		switch (opt) {
		case 'n': gets = atoi(optarg); break;
		case 'm': clears = atoi(optarg); break;
		case 't': toggle = 1; break;
		case 's': nr_mmu_pages = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: dirtylog_vmm [-n GETS] [-m CLEARS] [-t] [-s NR_MMU_PAGES]\n");
			return 2;
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

	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	memcpy((char *)mem + CODE_GPA, guest_code, sizeof(guest_code));
	set_slot(vm, mem, KVM_MEM_LOG_DIRTY_PAGES);

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		   MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
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

	/* Harvest with KVM_GET_DIRTY_LOG (which also write-protects without manual protect). */
	for (i = 0; i < gets; i++) {
		struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };

		run_pass(vcpu, run);
		memset(bitmap, 0, sizeof(bitmap));
		t0 = now_ns();
		if (ioctl(vm, KVM_GET_DIRTY_LOG, &log) < 0)
			die("KVM_GET_DIRTY_LOG");
		get_ns += now_ns() - t0;
		dirty_seen += (uint64_t)count_bits(bitmap, sizeof(bitmap) / 8);
	}
	/* Manual protect: clear (and so write-protect) what the last get returned. */
	if (clears > 0) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
					      .args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE } };

		if (ioctl(vm, KVM_ENABLE_CAP, &cap) < 0)
			die("KVM_ENABLE_CAP MANUAL_DIRTY_LOG_PROTECT2");
		for (i = 0; i < clears; i++) {
			struct kvm_clear_dirty_log cl = { .slot = 0, .first_page = 0,
							  .num_pages = MEM_SIZE / PAGE_SIZE,
							  .dirty_bitmap = bitmap };

			run_pass(vcpu, run);
			memset(bitmap, 0xff, sizeof(bitmap));
			t0 = now_ns();
			if (ioctl(vm, KVM_CLEAR_DIRTY_LOG, &cl) < 0)
				die("KVM_CLEAR_DIRTY_LOG");
			clear_ns += now_ns() - t0;
			did_clears++;
		}
	}
	if (toggle) {
		set_slot(vm, mem, 0);
		run_pass(vcpu, run);
		set_slot(vm, mem, KVM_MEM_LOG_DIRTY_PAGES);
	}
	/* A last VM ioctl after the work, so that sampled KVM stats are current. */
	ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);

	printf("{\"pid\":%d,\"get_dirty_log\":%d,\"clear_dirty_log\":%d,\"manual_protect\":%s,"
	       "\"get_dirty_log_ns\":%llu,\"clear_dirty_log_ns\":%llu,\"dirty_pages_seen\":%llu,"
	       "\"toggles\":%d}\n", getpid(), gets, did_clears, manual ? "true" : "false",
	       (unsigned long long)get_ns, (unsigned long long)clear_ns,
	       (unsigned long long)dirty_seen, toggle);
	return 0;
}
