// SPDX-License-Identifier: GPL-2.0
/*
 * testhost: boot a built kernel as a throw-away test host under QEMU, load KVM in a chosen
 * MMU mode, run one command inside and return its exit status.
 *
 * The guest's root is the host's root, read-only over virtio-9p; a host directory (the
 * share) is mounted read-write at the same path inside, so the command can write results
 * where the host expects them. testhost/guest-init (PID 1 inside) mounts, loads KVM, runs
 * the job this program writes into the share, and prints an exit marker with a per-run
 * nonce on the console. Console (ttyS0) is saved to a file and scanned for splats; the
 * command's own output comes back on ttyS1 and is copied to our stdout.
 *
 * Exit status: the command's, or TH_EXIT_* below when the test host itself failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "cli.h"
#include "monoclock.h"
#include "splat.h"

/*
 * testhost returns its command's status, so its own codes are those no command of ours
 * returns (timeout(1)'s range), except for usage: README.md, "Exit codes", says how the
 * callers map them into the convention (ci/bench: 124 and 126 are 3, 125 is 1).
 */
enum {
	TH_EXIT_TIMEOUT = 124,	/* guest hang: timeout, or a hung-task/RCU-stall/lockup report */
	TH_EXIT_SPLAT = 125,	/* oops/panic/lockdep/KASAN/WARN in the console */
	TH_EXIT_NOSTATUS = 126,	/* the test host could not start (fork, a file, the plugin),
				 * or QEMU exited before the command finished */
	TH_EXIT_USAGE = 2,	/* a bad option, a missing kernel or directory: nothing booted */
};

#define SPLAT_LINES 60		/* lines of a splat we show */
/*
 * After a splat the command's result is not trusted whatever it does next: the test host
 * is stopped this long after the first splat line (time for the rest of the report and
 * the next ones to reach the console log), not left to a timeout. A vCPU that stopped
 * answering under TCG keeps printing RCU stall reports, which no idle timeout notices.
 */
#define SPLAT_GRACE 30
/* --icount=auto: QEMU's adaptive shift. */
#define ICOUNT_AUTO 100
#define TAIL_LINES 30		/* console tail shown when the guest dies */
#define MAX_ARGS 128

static volatile sig_atomic_t exiting;

struct opts {
	const char *kernel;
	const char *moddir;
	const char *mode;
	const char *share;
	const char *console;
	const char *append;
	const char *cpu;	/* --cpu: QEMU's -cpu under TCG */
	const char *mem;
	const char *accel;
	const char *workdir;
	const char *insns;	/* --insns: NULL (off), "multi" or "single" (TCG's threads) */
	int icount;		/* --icount=SHIFT: -1 off, else QEMU's -icount shift */
	int machine;		/* --machine=PORT: 0 off, else the host port of the guest's sshd */
	char *insns_plugin;	/* its insns.so */
	char *insns_dir;	/* SHARE/insns */
	int smp;
	int timeout;
	int idle_timeout;	/* 0: none */
	bool verbose;
	char **cmd;
	int ncmd;
};

struct console {
	FILE *log;
	char line[4096];
	size_t len;
	char *tail[TAIL_LINES];		/* ring of the last lines */
	unsigned int ntail;
	char *splat[SPLAT_LINES];	/* first splat seen, from its header on */
	unsigned int nsplat;
	const char *splat_kind;
	bool splat_hang;		/* that splat reports a hang */
	char marker[64];		/* "mmuscope-exit-<nonce>: " */
	int status;			/* command status from the marker, -1 until seen */
	bool started;			/* guest-init reached the job */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: testhost [OPTIONS] -- COMMAND [ARG...]\n"
"Boot KERNEL under QEMU as a test host, load KVM in MODE, run COMMAND inside, exit with\n"
"its status. The host root is the guest's root (read-only, 9p); SHARE is writable.\n"
"\n"
"  -k, --kernel=BZIMAGE   kernel to boot (required)\n"
"  -d, --modules=DIR      kbuild output dir holding kvm.ko (default: BZIMAGE's, 3 levels up)\n"
"  -m, --mode=MODE        shadow (npt=0/ept=0), tdp-legacy (tdp_mmu=0), tdp, or none\n"
"                         (KVM not loaded); default shadow\n"
"  -s, --share=DIR        host dir mounted read-write at the same path (default: a temp dir)\n"
"  -c, --console=FILE     save the serial console here (default: SHARE/console.log)\n"
"  -t, --timeout=SECS     hard timeout for boot+command (default 900)\n"
"  -I, --idle-timeout=SECS  a hang too when neither the console nor COMMAND printed\n"
"                         anything for SECS (default: off)\n"
"  -C, --cwd=DIR          working directory of COMMAND (default: the current one)\n"
"      --mem=SIZE         guest memory (default 6G)\n"
"      --smp=N            vCPUs (default: host CPUs; 1 for tdp modes under TCG)\n"
"      --accel=A          auto, tcg or kvm (default auto: kvm only if /proc/cpuinfo has vmx/svm)\n"
"      --cpu=MODEL        QEMU's CPU model under TCG (default max,la57=off: 4-level paging;\n"
"                         with LA57 a debug kernel's boot reported a false KASAN\n"
"                         wild-memory-access about once in five boots, see the README)\n"
"      --print-smp        print the vCPUs a test host of MODE would get here and exit\n"
"                         (no kernel or command needed; ci/bench boots two side by side\n"
"                         when they fit in the host's CPUs)\n"
"      --insns[=THREADS]  count instructions with the TCG plugin (TCG only; `make insns`):\n"
"                         QEMU loads lib/insns.so beside this program's bin/, writing into\n"
"                         SHARE/insns/ (emptied of the plugin's files first), whose path\n"
"                         COMMAND gets as MMUSCOPE_INSNS; a window is what\n"
"                         `insns-mark run CMD` runs (tcgplugin/insns.c). The ranges file\n"
"                         SHARE/insns/ranges (KVM's functions) is written once KVM is\n"
"                         loaded. THREADS: multi (default; -accel tcg,thread=multi: exact\n"
"                         for the vCPU that marks, close for the others) or single\n"
"                         (thread=single: exact on every vCPU, slower with several)\n"
"      --icount=SHIFT     deterministic virtual time under TCG: -icount shift=SHIFT,sleep=off\n"
"                         (each instruction advances the guest's clocks by 2^SHIFT ns, so\n"
"                         its own timers measure instructions, not host time; TCG single-\n"
"                         threaded; 0-10, auto for QEMU's adaptive mode)\n"
"      --machine=PORT     a stand-in test machine (ci/remote's checks): the guest may\n"
"                         reboot and kexec (no -no-reboot: a reboot or a panic starts\n"
"                         KERNEL again, its default kernel), a virtio NIC on QEMU's user\n"
"                         network with 127.0.0.1:PORT forwarded to the guest's port 22;\n"
"                         every boot runs COMMAND (it starts sshd: tests/standin-sshd).\n"
"                         Splats are reported, not fatal: the machine's kernel decides.\n"
"                         Runs until a signal (exit 0) or --timeout (124); mode none\n"
"  -a, --append=ARGS      extra kernel command line\n"
"  -v, --verbose          echo the console to stderr\n"
"\n"
"Environment: MMUSCOPE_* and PATH are passed to COMMAND; MMUSCOPE_KVM_PARAMS adds kvm.ko\n"
"parameters (e.g. \"eager_page_split=0\").\n"
"Exit: COMMAND's status; 124 guest hang (timeout, or a hung-task, RCU-stall or soft-lockup\n"
"report), 125 other kernel splat, 126 the test host could not start or died; 2 usage or bad\n"
"input (nothing booted). After a splat the test host is stopped within %d s. ci/bench maps\n"
"124 and 126 to 3 (not done), 125 to 1 (the kernel failed): README.md, \"Exit codes\".\n"
"Example: testhost -k out/arch/x86/boot/bzImage -m shadow -- ./dirty_log_test -i 4\n",
	SPLAT_GRACE);
}

static void __attribute__((noreturn)) vfail(int status, const char *fmt, va_list ap)
{
	fputs("testhost: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(status);
}

/* Usage or bad input, before anything boots: one line, exit 2. */
static void __attribute__((noreturn, format(printf, 1, 2))) fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(TH_EXIT_USAGE, fmt, ap);
}

/* The test host cannot be started (memory, a file, fork): one line, exit 126. */
static void __attribute__((noreturn, format(printf, 1, 2))) setup_failed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(TH_EXIT_NOSTATUS, fmt, ap);
}

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		setup_failed("out of memory");
	return s;
}

static void on_signal(int sig)
{
	exiting = sig;
}

/* Write s as one single-quoted shell word. */
static void shell_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

static bool cpu_has_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = strstr(line, " vmx") || strstr(line, " svm");
		break;
	}
	fclose(f);
	return found;
}

/*
 * Under TCG the guest's TSC ticks at the host's rate, but calibrating it against the
 * emulated PIT is timing-sensitive and fails now and then ("tsc: Unable to calibrate
 * against PIT"); then tsc_khz is 0 and KVM_GET_TSC_KHZ, which the selftests need,
 * fails. So we tell the guest the host's TSC frequency. 0 if unknown.
 */
static long host_tsc_khz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	double mhz = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
			break;
	fclose(f);
	return (long)(mhz * 1000.0);
}

static bool use_kvm(const struct opts *o)
{
	return !strcmp(o->accel, "kvm") || (!strcmp(o->accel, "auto") && cpu_has_virt());
}

static void write_job(const struct opts *o, const char *jobdir, const char *nonce)
{
	char *path = xasprintf("%s/job", jobdir);
	extern char **environ;
	struct atomic_file af;
	FILE *f;
	int i;

	if (atomic_open(&af, path))
		setup_failed("cannot write %s: %s", path, strerror(errno));
	f = af.f;
	fprintf(f, "# written by testhost, sourced by guest-init\n");
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');

		if (!eq || (strncmp(*e, "MMUSCOPE_", 9) && strncmp(*e, "PATH=", 5) &&
			    strncmp(*e, "CI=", 3)))
			continue;
		if (!strncmp(*e, "MMUSCOPE_INSNS=", 15))
			continue;	/* set below, only with --insns */
		fprintf(f, "export %.*s=", (int)(eq - *e), *e);
		shell_quote(f, eq + 1);
		fputc('\n', f);
	}
	/* The accelerator tells the job whether nested SVM/VMX is emulated by TCG. */
	fprintf(f, "export MMUSCOPE_ACCEL=%s\n", use_kvm(o) ? "kvm" : "tcg");
	/* The MMU mode KVM was loaded in: workloads that only make sense in some modes check it. */
	fprintf(f, "export MMUSCOPE_MODE=%s\n", o->mode);
	/* --insns: where the plugin writes (workloads/run marks a window per repetition). */
	if (o->insns) {
		fprintf(f, "export MMUSCOPE_INSNS=");
		shell_quote(f, o->insns_dir);
		fputc('\n', f);
	}
	fprintf(f, "MMUSCOPE_NONCE=%s\nMMUSCOPE_MODDIR=", nonce);
	shell_quote(f, o->moddir);
	fprintf(f, "\nMMUSCOPE_CWD=");
	shell_quote(f, o->workdir);
	fprintf(f, "\nset --");
	for (i = 0; i < o->ncmd; i++) {
		fputc(' ', f);
		shell_quote(f, o->cmd[i]);
	}
	fputc('\n', f);
	if (atomic_commit(&af))
		setup_failed("cannot write %s: %s", path, strerror(errno));
	free(path);
}

static void remember(char **ring, unsigned int size, unsigned int *n, const char *line)
{
	unsigned int slot = *n % size;

	free(ring[slot]);
	ring[slot] = strdup(line);
	(*n)++;
}

static void console_line(struct console *c, bool verbose)
{
	const char *kind, *text;

	c->line[c->len] = '\0';
	if (c->len && c->line[c->len - 1] == '\r')
		c->line[--c->len] = '\0';
	if (c->log)
		fprintf(c->log, "%s\n", c->line);
	if (verbose)
		fprintf(stderr, "%s\n", c->line);
	remember(c->tail, TAIL_LINES, &c->ntail, c->line);

	text = splat_strip_time(c->line);
	if (!strncmp(text, c->marker, strlen(c->marker)))
		c->status = atoi(text + strlen(c->marker));
	else if (!strncmp(text, "mmuscope-start", 14))
		c->started = true;

	if (c->splat_kind) {
		if (c->nsplat < SPLAT_LINES)
			c->splat[c->nsplat++] = strdup(c->line);
	} else if ((kind = splat_kind(c->line))) {
		c->splat_kind = kind;
		c->splat_hang = splat_is_hang(c->line);
		c->splat[c->nsplat++] = strdup(c->line);
	}
	c->len = 0;
}

static void console_feed(struct console *c, const char *buf, size_t n, bool verbose)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n' || c->len == sizeof(c->line) - 1) {
			console_line(c, verbose);
			if (buf[i] == '\n')
				continue;
		}
		c->line[c->len++] = buf[i];
	}
}

/*
 * --machine: a splat is the machine's business (its kernel reboots on a panic, as a real
 * machine's would): say so once per report, then look for the next one.
 */
static void machine_splat(struct console *c)
{
	fprintf(stderr, "testhost: machine: %s in the console: %s\n", c->splat_kind,
		splat_strip_time(c->splat[0]));
	for (unsigned int i = 0; i < c->nsplat; i++) {
		free(c->splat[i]);
		c->splat[i] = NULL;
	}
	c->nsplat = 0;
	c->splat_kind = NULL;
	c->splat_hang = false;
}

static void print_tail(const struct console *c)
{
	unsigned int n = c->ntail < TAIL_LINES ? c->ntail : TAIL_LINES;
	unsigned int i;

	fprintf(stderr, "testhost: last %u console lines:\n", n);
	for (i = c->ntail - n; i < c->ntail; i++)
		fprintf(stderr, "  | %s\n", c->tail[i % TAIL_LINES]);
}

/*
 * Copy what the command wrote to ttyS1 (a file QEMU appends to) to our stdout; returns
 * how many bytes it read (the idle timeout counts them as signs of life).
 */
static size_t pump_output(int fd)
{
	char buf[65536];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		size_t off = 0;

		total += (size_t)n;
		/* The UART gives us CRLF line ends; print plain LF. */
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\r')
				continue;
			buf[off++] = buf[i];
		}
		fwrite(buf, 1, off, stdout);
	}
	fflush(stdout);
	return total;
}

/* A value inside a QEMU option (-plugin FILE,KEY=VALUE,...): its commas doubled. */
static char *opt_escape(const char *s)
{
	char *r = malloc(2 * strlen(s) + 1), *p = r;

	if (!r)
		setup_failed("out of memory");
	for (; *s; s++) {
		*p++ = *s;
		if (*s == ',')
			*p++ = ',';
	}
	*p = '\0';
	return r;
}

static pid_t start_qemu(const struct opts *o, const char *share, const char *jobdir,
			const char *nonce, int console_fd)
{
	static char root_fsdev[] = "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap";
	const char *init = getenv("MMUSCOPE_GUEST_INIT");
	char *share_fsdev, *out_serial, *append, smp[32], tcg[96] = "";
	long tsc_khz;
	const char *argv[MAX_ARGS];
	bool kvm;
	int n = 0;
	pid_t pid;

	kvm = use_kvm(o);
	share_fsdev = xasprintf("local,id=share,path=%s,security_model=none,multidevs=remap", share);
	out_serial = xasprintf("file:%s/output", jobdir);
	/*
	 * One socket per vCPU: the kernel has no ACPI, so it finds CPUs in SeaBIOS's MP table,
	 * which lists only the first CPU of each socket ("-smp 2" = one socket of two cores
	 * booted one CPU, unnoticed until 2026-11-23).
	 */
	snprintf(smp, sizeof(smp), "%d,sockets=%d", o->smp, o->smp);
	if (!init)
		init = MMUSCOPE_TESTHOST_DIR "/guest-init";
	/*
	 * Under TCG: the host's TSC rate when known; tsc=reliable, as for any VM: TCG derives
	 * every vCPU's TSC from one host clock, but with two vCPUs the boot-time sync check
	 * found them "unsynchronized" and the kernel fell back to refined-jiffies, so every
	 * latency the probes took came in 4 ms steps (mostly 0); and watchdog_thresh=60 (a
	 * soft lockup after 120 s, not 20): the machine's own host can stop QEMU's threads for
	 * tens of seconds (a 50 s stall, seen by both clocksources, failed a CI run as a "soft
	 * lockup" on 2026-11-22); a real lockup still shows, two minutes later.
	 */
	if (!kvm) {
		tsc_khz = host_tsc_khz();
		snprintf(tcg, sizeof(tcg), "watchdog_thresh=60 tsc=reliable ");
		if (tsc_khz > 0)
			snprintf(tcg + strlen(tcg), sizeof(tcg) - strlen(tcg), "tsc_early_khz=%ld ",
				 tsc_khz);
	}
	append = xasprintf("%sconsole=ttyS0 root=/dev/root rootfstype=9p "
			   "rootflags=trans=virtio,version=9p2000.L,msize=512000 ro "
			   "init=%s panic=-1 oops=panic printk.devkmsg=on "
			   "MMUSCOPE_SHARE=%s MMUSCOPE_JOB=%s/job MMUSCOPE_NONCE=%s %s",
		 tcg, init, share, jobdir, nonce, o->append ? o->append : "");
	if (strlen(append) >= 2048)	/* COMMAND_LINE_SIZE on x86 */
		fatal("kernel command line too long (%zu bytes): shorten the share path or --append",
		      strlen(append));

	argv[n++] = "qemu-system-x86_64";
	if (kvm) {
		argv[n++] = "-accel"; argv[n++] = "kvm";
		argv[n++] = "-cpu"; argv[n++] = "host";
	} else {
		argv[n++] = "-accel";
		/* -icount runs TCG in one thread: QEMU refuses it with thread=multi. */
		argv[n++] = (o->insns && !strcmp(o->insns, "single")) || o->icount >= 0 ?
			"tcg,thread=single" : "tcg,thread=multi";
		if (o->icount >= 0) {
			argv[n++] = "-icount";
			argv[n++] = o->icount == ICOUNT_AUTO ? "shift=auto,sleep=off" :
				xasprintf("shift=%d,sleep=off", o->icount);
		}
		/*
		 * No LA57: in 6.12 pgtable_l5_enabled() reads X86_FEATURE_LA57 from
		 * boot_cpu_data until alternatives are patched, and identify_boot_cpu()
		 * zeroes those bits and reads CPUID again with interrupts on. An interrupt
		 * in between sees 4-level paging, so KASAN's addr_has_metadata() takes the
		 * 5-level direct map (0xff11...) for a wild address: a false "BUG: KASAN:
		 * wild-memory-access in rcu_is_watching" from lockdep's irq entry, about once
		 * in five debug boots. 4-level paging is also what most real hosts run.
		 */
		argv[n++] = "-cpu"; argv[n++] = o->cpu ? o->cpu : "max,la57=off";
	}
	if (o->insns) {
		argv[n++] = "-plugin";
		argv[n++] = xasprintf("%s,outdir=%s,ranges=%s/ranges", opt_escape(o->insns_plugin),
				      opt_escape(o->insns_dir), opt_escape(o->insns_dir));
	}
	argv[n++] = "-m"; argv[n++] = o->mem;
	argv[n++] = "-smp"; argv[n++] = smp;
	argv[n++] = "-nodefaults";
	if (!o->machine)
		argv[n++] = "-no-reboot";
	else {
		argv[n++] = "-nic";
		argv[n++] = xasprintf("user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:%d-:22",
				      o->machine);
	}
	argv[n++] = "-display"; argv[n++] = "none";
	argv[n++] = "-serial"; argv[n++] = "stdio";
	argv[n++] = "-serial"; argv[n++] = out_serial;
	argv[n++] = "-kernel"; argv[n++] = o->kernel;
	argv[n++] = "-append"; argv[n++] = append;
	argv[n++] = "-fsdev"; argv[n++] = root_fsdev;
	argv[n++] = "-device"; argv[n++] = "virtio-9p-pci,fsdev=root,mount_tag=/dev/root";
	argv[n++] = "-fsdev"; argv[n++] = share_fsdev;
	argv[n++] = "-device"; argv[n++] = "virtio-9p-pci,fsdev=share,mount_tag=mmuscope_share";
	argv[n] = NULL;

	pid = fork();
	if (pid < 0)
		setup_failed("fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, STDIN_FILENO);
		dup2(console_fd, STDOUT_FILENO);
		dup2(console_fd, STDERR_FILENO);
		setpgid(0, 0);	/* keep terminal ^C for us: we stop QEMU ourselves */
		execvp(argv[0], (char **)argv);
		fprintf(stderr, "testhost: cannot run qemu-system-x86_64: %s "
			"(install qemu-system-x86: make deps)\n", strerror(errno));
		_exit(127);
	}
	fprintf(stderr, "testhost: booting %s (%s, %d vCPU%s, %s, mode %s, timeout %ds%s%s%s)\n",
		o->kernel, kvm ? "KVM" : "TCG", o->smp, o->smp == 1 ? "" : "s", o->mem, o->mode,
		o->timeout, o->insns ? ", insns plugin thread=" : "", o->insns ? o->insns : "",
		o->icount < 0 ? "" : o->icount == ICOUNT_AUTO ? ", icount shift=auto" :
		xasprintf(", icount shift=%d: 2^%d ns per instruction", o->icount, o->icount));
	return pid;
}

/*
 * Default vCPUs: the host's CPUs, but one for the NPT modes under TCG. There, with two
 * vCPUs, the pristine 6.12.117 test host itself oopsed in qemu-system-x86 (recursive
 * page faults in exc_page_fault until the stack guard page, the GS base lost), killing
 * the nested guest's QEMU, in 2 of 10 runs of the cancelled-migration loop on a
 * THP-backed guest, and in 3 of the 6 of a bench run (both kernels; 2026-11-23); with
 * one vCPU never, over dozens of bench runs. Most likely QEMU 7.2's SVM/NPT emulation
 * under multi-threaded TCG, not proven. Shadow mode (npt=0) runs SMP clean, the
 * lockdep+KASAN build included.
 */
static int default_smp(const struct opts *o)
{
	if (!use_kvm(o) && (!strcmp(o->mode, "tdp") || !strcmp(o->mode, "tdp-legacy")))
		return 1;
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* --insns: lib/insns.so beside the directory of this program (build/bin/testhost). */
static char *insns_plugin_path(void)
{
	char exe[PATH_MAX], *slash, *path, *real;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		setup_failed("--insns: cannot find this program's directory (/proc/self/exe): %s",
		      strerror(errno));
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	path = xasprintf("%s/../lib/insns.so", exe);
	real = realpath(path, NULL);
	if (!real || access(real, R_OK))
		setup_failed("--insns: no TCG plugin %s: run 'make insns'", path);
	free(path);
	return real;
}

/* SHARE/insns/, without what a plugin wrote there before (windows are numbered per boot). */
static char *insns_dir(const char *share)
{
	char *dir = xasprintf("%s/insns", share);
	struct dirent *e;
	DIR *d;

	if (mkdir(dir, 0755) && errno != EEXIST)
		setup_failed("mkdir %s: %s", dir, strerror(errno));
	d = opendir(dir);
	if (!d)
		setup_failed("%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		const char *name = e->d_name;
		size_t digits = strspn(name, "0123456789");

		if (!strcmp(name, "ranges") || !strcmp(name, "last.json") ||
		    (digits && !strcmp(name + digits, ".json")) ||
		    (name[0] == '.' && (strstr(name, ".json.tmp.") || !strncmp(name, ".ranges.", 8)))) {
			char *path = xasprintf("%s/%s", dir, name);

			if (unlink(path) && errno != ENOENT)
				setup_failed("cannot remove %s: %s", path, strerror(errno));
			free(path);
		}
	}
	closedir(d);
	return dir;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "modules", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "share", required_argument, NULL, 's' },
		{ "console", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "cwd", required_argument, NULL, 'C' },
		{ "append", required_argument, NULL, 'a' },
		{ "mem", required_argument, NULL, 'M' },
		{ "smp", required_argument, NULL, 'S' },
		{ "accel", required_argument, NULL, 'A' },
		{ "cpu", required_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "print-smp", no_argument, NULL, 'P' },
		{ "insns", optional_argument, NULL, 'N' },
		{ "icount", required_argument, NULL, 'Q' },
		{ "machine", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool print_smp = false;
	char *end;
	long v;
	int c;

	o->mode = "shadow";
	o->mem = "6G";
	o->accel = "auto";
	o->timeout = 900;
	o->icount = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:k:d:m:s:c:t:I:C:a:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o->kernel = optarg; break;
		case 'd': o->moddir = optarg; break;
		case 'm': o->mode = optarg; break;
		case 's': o->share = optarg; break;
		case 'c': o->console = optarg; break;
		case 'C': o->workdir = optarg; break;
		case 'a': o->append = optarg; break;
		case 'M': o->mem = optarg; break;
		case 'A': o->accel = optarg; break;
		case 'U': o->cpu = optarg; break;
		case 'v': o->verbose = true; break;
		case 'P': print_smp = true; break;
		case 'N': o->insns = optarg ? optarg : "multi"; break;
		case 'Q':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (!strcmp(optarg, "auto"))
				o->icount = ICOUNT_AUTO;
			else if (errno || *end || end == optarg || v < 0 || v > 10)
				fatal("--icount takes a shift from 0 to 10 or auto, not '%s'", optarg);
			else
				o->icount = (int)v;
			break;
		case 'R':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1024 || v > 65535)
				fatal("--machine takes a port from 1024 to 65535, not '%s'", optarg);
			o->machine = (int)v;
			break;
		case 't':
		case 'I':
		case 'S':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 86400)
				fatal("--%s takes a number from 1 to 86400, not '%s'",
				      c == 't' ? "timeout" : c == 'I' ? "idle-timeout" : "smp", optarg);
			if (c == 't')
				o->timeout = (int)v;
			else if (c == 'I')
				o->idle_timeout = (int)v;
			else
				o->smp = (int)v;
			break;
		case 'h': usage(stdout); exit(0);
		default: exit(cli_bad_option("testhost", c, argv));
		}
	}
	if (strcmp(o->mode, "shadow") && strcmp(o->mode, "tdp-legacy") &&
	    strcmp(o->mode, "tdp") && strcmp(o->mode, "none"))
		fatal("unknown --mode '%s': use shadow, tdp-legacy, tdp or none", o->mode);
	if (strcmp(o->accel, "auto") && strcmp(o->accel, "tcg") && strcmp(o->accel, "kvm"))
		fatal("unknown --accel '%s': use auto, tcg or kvm", o->accel);
	if (o->insns && strcmp(o->insns, "multi") && strcmp(o->insns, "single"))
		fatal("unknown --insns=%s: use multi (the default) or single", o->insns);
	if (o->insns && use_kvm(o))
		fatal("--insns counts instructions with a TCG plugin, and there is no plugin under "
		      "KVM: add --accel=tcg");
	if (o->icount >= 0 && use_kvm(o))
		fatal("--icount is TCG's virtual time, and KVM has none: add --accel=tcg");
	if (o->machine && strcmp(o->mode, "none"))
		fatal("--machine boots with --mode=none: the machine's own bench loads KVM");
	if (o->machine && (o->insns || o->idle_timeout))
		fatal("--machine runs until stopped: no --insns or --idle-timeout");
	if (!o->smp)
		o->smp = default_smp(o);
	if (print_smp) {
		printf("%d\n", o->smp);
		exit(0);
	}
	if (!o->kernel)
		fatal("--kernel is required (e.g. $(make -s kernel-path))");
	if (optind >= argc)
		fatal("no command given: testhost [OPTIONS] -- COMMAND [ARG...]");
	if (access(o->kernel, R_OK))
		fatal("kernel %s: %s (build it: make kernels)", o->kernel, strerror(errno));
	if (o->insns)
		o->insns_plugin = insns_plugin_path();
	o->cmd = argv + optind;
	o->ncmd = argc - optind;
}

/* The kbuild output dir of a bzImage: <out>/arch/x86/boot/bzImage. */
static char *default_moddir(const char *kernel)
{
	char *dir = realpath(kernel, NULL);
	int up;

	if (!dir)
		fatal("kernel %s: %s", kernel, strerror(errno));
	for (up = 0; up < 4; up++) {
		char *slash = strrchr(dir, '/');

		if (!slash || slash == dir)
			fatal("cannot derive the module dir from %s: pass --modules", kernel);
		*slash = '\0';
	}
	return dir;
}

static char *absolute(const char *path)
{
	char *abs = realpath(path, NULL);

	if (!abs)
		fatal("%s: %s", path, strerror(errno));
	if (strpbrk(abs, " \t\n'\""))
		fatal("%s: paths with blanks or quotes cannot cross the kernel command line", abs);
	return abs;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct console con = { .status = -1 };
	char tmpl[] = "/tmp/mmuscope-testhost.XXXXXX";
	char *jobdir, *outpath, *jobfile, nonce[17], cwd[PATH_MAX], buf[8192];
	bool own_share = false, marker_seen = false;
	double t0, deadline, marker_time = 0, splat_time = 0, last_output;
	bool hung = false;
	int pipefd[2], outfd = -1, wstatus = 0, ret;
	pid_t qemu;
	struct sigaction sa = { .sa_handler = on_signal };

	parse_args(&o, argc, argv);
	if (!o.moddir)
		o.moddir = default_moddir(o.kernel);
	o.moddir = absolute(o.moddir);
	if (!o.workdir)
		o.workdir = getcwd(cwd, sizeof(cwd));
	if (!o.share) {
		if (!mkdtemp(tmpl))
			setup_failed("mkdtemp: %s", strerror(errno));
		o.share = tmpl;
		own_share = true;
	}
	o.share = absolute(o.share);
	if (o.insns)
		o.insns_dir = insns_dir(o.share);

	srandom((unsigned int)(time(NULL) ^ getpid()));
	snprintf(nonce, sizeof(nonce), "%08lx%08lx", random() & 0xffffffffL, random() & 0xffffffffL);
	jobdir = xasprintf("%s/.testhost-%s", o.share, nonce);
	if (mkdir(jobdir, 0755))
		setup_failed("mkdir %s: %s", jobdir, strerror(errno));
	write_job(&o, jobdir, nonce);
	outpath = xasprintf("%s/output", jobdir);
	outfd = open(outpath, O_RDONLY | O_CREAT, 0644);
	snprintf(con.marker, sizeof(con.marker), "mmuscope-exit-%s: ", nonce);

	if (!o.console) {
		/* A temp share is removed at exit: its console log goes beside it. */
		o.console = xasprintf(own_share ? "%s.console.log" : "%s/console.log", o.share);
	}
	con.log = fopen(o.console, "w");
	if (!con.log)
		setup_failed("cannot write the console log %s: %s", o.console, strerror(errno));
	setvbuf(con.log, NULL, _IOLBF, 0);

	if (pipe2(pipefd, O_CLOEXEC))
		setup_failed("pipe: %s", strerror(errno));
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	t0 = mono_secs();
	deadline = t0 + o.timeout;
	last_output = t0;
	qemu = start_qemu(&o, o.share, jobdir, nonce, pipefd[1]);
	close(pipefd[1]);

	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		int r = poll(&pfd, 1, 200);

		if (pump_output(outfd))
			last_output = mono_secs();
		if (r > 0) {
			ssize_t n = read(pipefd[0], buf, sizeof(buf));

			if (n > 0) {
				last_output = mono_secs();
				console_feed(&con, buf, (size_t)n, o.verbose);
				if (con.status >= 0 && !marker_seen) {
					marker_seen = true;
					marker_time = mono_secs();
				}
				if (con.splat_kind && o.machine)
					machine_splat(&con);
				else if (con.splat_kind && !splat_time)
					splat_time = mono_secs();
				continue;
			}
			if (n == 0)
				break;	/* QEMU closed its stdout: it is exiting */
		}
		if (exiting) {
			fprintf(stderr, "testhost: %s, stopping the %s\n",
				o.machine ? "stopped" : "interrupted",
				o.machine ? "machine" : "test host");
			break;
		}
		if (mono_secs() > deadline) {
			fprintf(stderr, "testhost: error: guest hang: no exit after %d s "
				"(raise --timeout, or see the console %s)\n", o.timeout, o.console);
			hung = true;
			break;
		}
		if (o.idle_timeout && !marker_seen && mono_secs() - last_output > o.idle_timeout) {
			fprintf(stderr, "testhost: error: guest hang: nothing on the console or from "
				"the command for %d s (raise --idle-timeout, or see the console %s)\n",
				o.idle_timeout, o.console);
			hung = true;
			break;
		}
		if (splat_time && !marker_seen && mono_secs() - splat_time > SPLAT_GRACE) {
			fprintf(stderr, "testhost: stopping the test host %d s after its %s report\n",
				SPLAT_GRACE, con.splat_kind);
			break;
		}
		/* After the marker the guest only has to reboot; don't wait forever. */
		if (marker_seen && !o.machine && mono_secs() - marker_time > 20)
			break;
	}
	if (con.len)
		console_line(&con, o.verbose);
	kill(qemu, SIGTERM);
	for (int i = 0; i < 50 && waitpid(qemu, &wstatus, WNOHANG) == 0; i++)
		usleep(100000);
	if (waitpid(qemu, &wstatus, WNOHANG) == 0) {
		kill(qemu, SIGKILL);
		waitpid(qemu, &wstatus, 0);
	}
	pump_output(outfd);
	close(outfd);
	fclose(con.log);

	if (o.machine) {
		/* A stand-in machine ends when it is stopped; its reboots are its own. */
		ret = exiting ? 0 : hung ? TH_EXIT_TIMEOUT : TH_EXIT_NOSTATUS;
		if (ret == TH_EXIT_NOSTATUS) {
			fprintf(stderr, "testhost: error: the machine's QEMU exited (console %s)\n",
				o.console);
			print_tail(&con);
		}
	} else if (con.splat_kind) {
		fprintf(stderr, "testhost: error: %s%s in the test host's console (%s):\n",
			con.splat_hang ? "guest hang: " : "", con.splat_kind, o.console);
		for (unsigned int i = 0; i < con.nsplat; i++)
			fprintf(stderr, "  | %s\n", con.splat[i]);
		if (splat_known(con.splat, con.nsplat))
			fprintf(stderr, "testhost: this is %s\n", splat_known(con.splat, con.nsplat));
		ret = con.splat_hang ? TH_EXIT_TIMEOUT : TH_EXIT_SPLAT;
	} else if (exiting) {
		ret = 128 + exiting;
	} else if (con.status >= 0) {
		ret = con.status;
	} else if (hung) {
		print_tail(&con);
		ret = TH_EXIT_TIMEOUT;
	} else {
		fprintf(stderr, "testhost: error: the test host stopped before the command "
			"finished (%s; console %s)\n",
			con.started ? "during the command" : "during boot", o.console);
		print_tail(&con);
		ret = TH_EXIT_NOSTATUS;
	}
	fprintf(stderr, "testhost: exit %d after %.0f s\n", ret, mono_secs() - t0);

	unlink(outpath);
	jobfile = xasprintf("%s/job", jobdir);
	unlink(jobfile);
	rmdir(jobdir);
	if (own_share && o.insns)
		fprintf(stderr, "testhost: the insns documents are in %s (a temporary share)\n",
			o.insns_dir);
	else if (own_share)
		rmdir(o.share);
	return ret;
}
