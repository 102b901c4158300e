/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guestvm: the workload guest under QEMU, for the programs that boot it (l2run.c, one job
 * between two barriers; migrate.c, migrated between QEMU instances).
 *
 * The guest (workloads/guest/init) boots the kernel and initramfs of `make guest` with the
 * parameters of guest_images (scripts/lib.sh, passed in: -A), prints its console on ttyS0
 * and meets the host on ttyS1, its control channel:
 *   guest -> "mmuscope-guest-ready"     host -> "go"   (the job starts)
 *   guest -> "mmuscope-guest-done RC"   host -> "go"   (the guest powers off)
 * Both serial ports are unix sockets of QEMU's that this library reads; it keeps the
 * console in DIR/console.log, watches it for a kernel splat (testhost/splat.c) and ends the
 * run when one comes, when QEMU dies, or at the deadline.
 *
 * One run per process: guestvm_init() once, then guestvm_start() for each QEMU instance (two
 * at most at a time). A failure ends the process through guestvm_die(), which stops every
 * QEMU; exit codes as README.md, "Exit codes": 3 the work could not be done (QEMU failed,
 * the guest crashed), 124 a hang (the deadline, or the guest reported a hang), 2 usage.
 * SIGTERM (timeout(1) around a workload), SIGINT and SIGHUP kill every QEMU and remove the
 * disk before the signal ends the process.
 *
 * The pure parts (command line, control lines, console lines, splats) are unit-tested
 * (tests/unit/test_guestvm.c).
 */
#ifndef MMUSCOPE_GUESTVM_H
#define MMUSCOPE_GUESTVM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "qmpc.h"

#define GUESTVM_MAX_ARGS 64
#define GUESTVM_MAX_VMS 2
/* The x86 kernel's COMMAND_LINE_SIZE, its terminating NUL included. */
#define GUESTVM_CMDLINE_MAX 2048
/* Lines of a splat shown and kept, and of the console's tail shown on an error. */
#define GUESTVM_SPLAT_LINES 60
#define GUESTVM_TAIL_LINES 20
/* A console line longer than this is cut there (a job's JSON line is ~10-50 KiB). */
#define GUESTVM_LINE_MAX (16 << 20)
/*
 * After the first splat line, the seconds given to the rest of its report, unless QEMU
 * exits before (the guest's panic=-1 reboots it at once, and -no-reboot ends QEMU).
 */
#define GUESTVM_SPLAT_GRACE 3
/* The exit status of a hang (timeout(1)'s, as testhost's). */
#define GUESTVM_EXIT_HANG 124

/* What every QEMU instance of a run boots: QEMU's command line is made of this. */
struct guestvm_conf {
	const char *accel;	/* "kvm" (NULL: kvm) or "tcg" (no KVM: to try the launcher) */
	const char *kernel;	/* the guest's bzImage */
	const char *initrd;	/* its initramfs */
	const char *kargs;	/* its kernel parameters before the job's (guest_cmdline) */
	const char *job;	/* the job's command line, the words joined by spaces */
	const char *mem;	/* QEMU's -m: "256M", "1G", or MiB */
	int cpus;		/* vCPUs, one socket each (the guest finds them in the MADT) */
	const char *backing;	/* NULL: QEMU's own RAM; "anon", "thp" (memory-backend-ram;
				 * anon without THP) or "hugetlb" (memfd, 2M pages) */
	int shadow_pages;	/* KVM_SET_NR_MMU_PAGES through kvm-shadow-mem; 0: KVM's */
	int dirty_ring;		/* the dirty ring's entries; 0: the dirty bitmap */
	bool hostroot;		/* this host's / over 9p, read-only ("mmuscope.hostroot") */
	int disk_mib;		/* a scratch virtio-blk disk of this size (DIR/disk.img); 0: none */
};

/* A QEMU command line; its strings are the struct's own (guestvm_cmd_free()). */
struct guestvm_cmd {
	char *argv[GUESTVM_MAX_ARGS + 1];
	int argc;
	char err[256];		/* why guestvm_cmdline() failed */
};

/*
 * QEMU's command line for instance NAME of conf C, its sockets and disk in DIR: with
 * INCOMING it waits for a migration (-incoming defer), else with PAUSED it starts stopped
 * (-S: the host connects to its serial ports before the guest prints anything, then
 * continues it). 0, or -1 with cmd->err: a conf that cannot boot (usage).
 */
int guestvm_cmdline(const struct guestvm_conf *c, const char *dir, const char *name,
		    bool incoming, bool paused, struct guestvm_cmd *cmd);
void guestvm_cmd_free(struct guestvm_cmd *cmd);

/* The guest kernel's command line: kargs [mmuscope.hostroot] -- job. Malloc'd; NULL: ENOMEM. */
char *guestvm_append(const struct guestvm_conf *c);

/* WORDS[0..N) joined by single spaces (a job's command line). Malloc'd; NULL: ENOMEM. */
char *guestvm_join(char *const *words, int n);

/* A line of the control channel (ttyS1). */
enum guestvm_ctl {
	GUESTVM_CTL_NONE,	/* not a barrier (noise, an echo) */
	GUESTVM_CTL_READY,	/* "mmuscope-guest-ready": the job is about to start */
	GUESTVM_CTL_DONE,	/* "mmuscope-guest-done RC": the job ended with status RC */
	GUESTVM_CTL_BAD,	/* "mmuscope-guest-..." this side does not know: the two sides
				 * (workloads/guest/init and this file) disagree */
};
enum guestvm_ctl guestvm_parse_ctl(const char *line, int *rc);

/*
 * Lines out of a byte stream (a serial port): each complete line, without its "\n" or
 * "\r\n", is passed to FN; a line longer than GUESTVM_LINE_MAX is passed cut at that size.
 */
typedef void guestvm_line_fn(void *arg, char *line);
struct guestvm_lines {
	char *buf;
	size_t len, cap;
};
/* 0, or -1 when out of memory (the bytes are dropped). */
int guestvm_lines_feed(struct guestvm_lines *l, const char *data, size_t n,
		       guestvm_line_fn *fn, void *arg);
/* At the end of the stream: the last line, if it has no "\n". */
void guestvm_lines_flush(struct guestvm_lines *l, guestvm_line_fn *fn, void *arg);
void guestvm_lines_free(struct guestvm_lines *l);

/*
 * The first kernel splat on a console (testhost/splat.c's recogniser), with the lines that
 * follow it, as testhost keeps the test host's.
 */
struct guestvm_splat {
	const char *kind;	/* splat_kind() of its first line; NULL: none yet */
	bool hang;		/* the kernel reports a hang (soft lockup, RCU stall, hung task) */
	char *lines[GUESTVM_SPLAT_LINES];	/* from its first line on */
	unsigned int nlines;
};
/*
 * One console line: 1 when it starts the first splat, else 0. Only the kernel's lines can
 * start one: those with printk's time (the guest kernel has PRINTK_TIME, guest.config), as
 * the job's output shares the console (a kernel build's "WARNING: modpost: ..." is no
 * splat); a line is looked at from that time on, as what came before it on the same line
 * (SeaBIOS's terminal codes before a quiet kernel's first line, a job's unfinished line)
 * is not the kernel's. The lines after the first are kept whatever they are.
 */
int guestvm_splat_feed(struct guestvm_splat *s, const char *line);
/* LINE from its first printk time ("[   12.345678] ") on; NULL when it has none. */
const char *guestvm_kernel_text(const char *line);
void guestvm_splat_free(struct guestvm_splat *s);

/* --- the run: QEMU instances and their guests ---------------------------------------- */

/* One QEMU instance: the guest runs in one at a time (in two while it migrates). */
struct guestvm {
	char name[16];
	pid_t pid;		/* 0 once it exited and was reaped */
	int status;		/* its wait status then */
	bool expendable;	/* it may exit: quit, the guest powered off, a cancelled
				 * migration's destination */
	int con, ctl;		/* its console (ttyS0) and control (ttyS1) sockets; -1 closed */
	struct guestvm_lines conl, ctll;
	struct qmp qmp;
	enum guestvm_ctl barrier;	/* the barrier the guest waits at, until guestvm_go() */
	int rc;			/* the job's status, with GUESTVM_CTL_DONE */
};

/* A console line of the guest's (not a splat's: those are the library's). */
typedef void guestvm_console_fn(struct guestvm *vm, const char *line);

struct guestvm_run {
	const char *prog;	/* the program's name in messages */
	struct guestvm_conf conf;
	int timeout_s;		/* from guestvm_init(): exit 124 after it */
	bool job_ends;		/* the job is to end (its done barrier); else that is an error */
	guestvm_console_fn *on_console;	/* or NULL */
};

/*
 * Check the conf (exit 2 naming what is wrong), KVM (exit 3 without /dev/kvm under kvm),
 * make the run's directory (/tmp/PROG.XXXXXX) with its console log and disk, and start
 * the clock of guestvm_now() and the deadline. R is copied.
 */
void guestvm_init(const struct guestvm_run *r);
/* Only check the conf: 0, or -1 with ERR (a usage error). For --check, before images exist. */
int guestvm_check(const struct guestvm_conf *c, char *err, size_t errsz);

/*
 * Start instance NAME (incoming: the destination of a migration) and connect to its QMP
 * and serial ports; ROLE, if not NULL, goes to mmuprobe's $MMUPROBE_ROLES for its pid.
 */
struct guestvm *guestvm_start(const char *name, bool incoming, const char *role);
/* Ask it to quit (QMP quit), not waiting: it is expendable from now on. */
void guestvm_quit(struct guestvm *vm);
/* Quit it, wait for it (5 s, then SIGKILL), read the rest of its output, free it. */
void guestvm_stop(struct guestvm *vm);
/* Read its output until it exits (it must be expendable) or SECS pass: whether it did. */
bool guestvm_wait_exit(struct guestvm *vm, int secs);

/*
 * Read the guests' output for MS milliseconds: console lines to on_console, barriers to
 * vm->barrier. Ends the process when a QEMU that is not expendable exits, at a splat's end,
 * at the deadline, or when the job ends and !job_ends.
 */
void guestvm_pump(int ms);
/* Pump until VM's guest waits at a barrier, and return it. */
enum guestvm_ctl guestvm_wait_barrier(struct guestvm *vm);
/* Let the guest go past its barrier. */
void guestvm_go(struct guestvm *vm);
/* What the run is doing, for errors ("booting", "running /bin/forkjob"). */
void guestvm_phase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* KVM's stats of the VM and the sum over its vCPUs (qmp_kvm_stats()); dies on failure. */
struct json_object *guestvm_stats(struct guestvm *vm);
/* A QMP command (qmp_execf()); dies on failure. The caller puts the answer. */
struct json_object *guestvm_qmp(struct guestvm *vm, const char *cmd, const char *args_json);

/* Seconds since guestvm_init(). */
double guestvm_now(void);
/* The run's directory (its sockets, console.log, qemu-NAME.log). */
const char *guestvm_dir(void);
/* The last console lines (at most GUESTVM_TAIL_LINES) to stderr, as the guest printed them. */
void guestvm_print_tail(void);
/*
 * The end of a failed run: "mmuscope: error: PROG: WHAT" on stderr, every QEMU killed, the
 * disk removed, the directory kept for its logs; exit STATUS. Usable before guestvm_init().
 */
void guestvm_die(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* The end of a run that went well: every QEMU stopped, the directory removed. */
void guestvm_finish(void);

#endif
