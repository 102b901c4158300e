// SPDX-License-Identifier: GPL-2.0
/*
 * migrate: the live-migration loop. Boots the workload guest under QEMU/KVM on the test
 * host, with a memory-dirtying job in it (guest/dirtier.c), and migrates it between two
 * QEMU instances over a unix socket, as a VMM does: a sequence of completed ping-pong
 * migrations and cancelled ones (QMP migrate_cancel after K dirty-sync rounds, so that
 * the source keeps running once dirty logging stops: the case of seed 001).
 *
 * Per migration it records what QEMU says (query-migrate polled every POLL ms: status,
 * dirty-sync rounds, bytes, total time, downtime), what KVM says (query-stats of the VM
 * and its vCPUs: pages_4k/pages_2m, faults, at the start, at the end and after the AFTER
 * window), and what the guest says: its own update rate, one line every period, stamped
 * on arrival with the host's clock, averaged over the window before the migration, during
 * it, the first period after it ended, and the AFTER window. The guest also checks its
 * memory (a page that lost a write is stale): stale pages are counted per migration and
 * in total, and any make the exit status 1 (a check failed) after the JSON is written.
 *
 * A completed migration runs K rounds and then raises downtime-limit, so that it converges
 * at a known point whatever the guest's dirty rate; the destination then becomes the
 * source of the next one.
 *
 * Usage: migrate -K BZIMAGE -I INITRD -A ARGS [options] -- JOB [ARG...]
 *   -A ARGS    the guest kernel's parameters before the job's: guest_cmdline of
 *              scripts/lib.sh, which workloads/l2migrate passes
 *   -s SEQ     migrations in order: m = completed, c = cancelled (default "mc")
 *   -k K       dirty-sync rounds before the cancel or the switch-over (default 2)
 *   -m MIB     guest memory (default 512)      -c CPUS   vCPUs (default 1)
 *   -b BACKING anon | thp | hugetlb (default thp): guest RAM in the test host
 *   -R N       QEMU's dirty ring with N entries instead of the dirty bitmap
 *   -S PAGES   KVM_SET_NR_MMU_PAGES through QEMU's kvm-shadow-mem (shadow MMU budget)
 *   -B MIBPS   migration bandwidth limit (default 1024)
 *   -W MS      run before the first migration, and between two (default 1000)
 *   -a MS      the window after a migration ends (default 1000)
 *   -t SECS    give up after SECS (default 600): exit 124, a hang
 * Prints one JSON document on stdout; progress on stderr. Exit (README.md, "Exit codes"):
 * 0; 1 stale pages; 2 usage; 3 QEMU, KVM or the guest failed (the work was not done); 124
 * the guest or QEMU hung (timeout(1)'s code, as l2run and testhost).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "median.h"
#include "qmpc.h"

#define POLL_MS 20
#define MAX_SAMPLES 100000
#define MAX_EVENTS 1024

static struct {
	const char *kernel, *initrd, *seq, *backing;
	int rounds, mem_mib, cpus, ring, shadow_pages, bandwidth, warm_ms, after_ms, timeout_s;
	char append[1024];
} opt = { .seq = "mc", .backing = "thp", .rounds = 2, .mem_mib = 512, .cpus = 1,
	  .bandwidth = 1024, .warm_ms = 1000, .after_ms = 1000, .timeout_s = 600 };

/* One QEMU instance: the guest runs in one at a time (two while it migrates). */
struct vm {
	char name[8];
	pid_t pid;
	bool expendable;	/* may exit: the destination of a cancelled migration */
	int con, ctl;		/* its console (ttyS0) and control (ttyS1) sockets */
	char conbuf[4096], ctlbuf[256];
	size_t conlen, ctllen;
	struct qmp qmp;
};

static char dir[64];
static double t_zero;
static struct { double t, mibps; } samples[MAX_SAMPLES];
static int nsamples;
static struct json_object *events;
static bool guest_ready;
static uint64_t guest_bad;	/* stale pages the dirtier found so far */
static FILE *console_log;	/* every line of the guest's console, as it arrived */
static char crash_line[256];	/* the first line of a guest oops, once one was seen */
static double crash_end;	/* when to stop collecting the oops's lines and exit */
static int crash_lines;		/* lines of the oops shown so far */
static struct vm *vms[2];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The sockets and QEMU logs; kept when something went wrong. */
static void rm_dir(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "mmuscope: warning: migrate: could not remove %s\n", dir);
}

static void cleanup(void)
{
	for (int i = 0; i < 2; i++)
		if (vms[i] && vms[i]->pid > 0) {
			kill(vms[i]->pid, SIGKILL);
			waitpid(vms[i]->pid, NULL, 0);
			vms[i]->pid = 0;
		}
}

static void __attribute__((noreturn, format(printf, 2, 3))) die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mmuscope: error: migrate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cleanup();
	exit(status);
}

static void progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mmuscope: migrate: [%6.1fs] ", now() - t_zero);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void event(const char *what, int i)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "t", json_object_new_double(now() - t_zero));
	json_object_object_add(e, "event", json_object_new_string(what));
	json_object_object_add(e, "migration", json_object_new_int(i));
	json_object_array_add(events, e);
}

/* The last line of a log, to put the cause in a one-line error (logs die with a test host). */
static const char *log_tail(const char *path)
{
	static char last[1024];
	char line[400];
	FILE *f = fopen(path, "r");

	snprintf(last, sizeof(last), "no log %s", path);
	if (!f)
		return last;
	snprintf(last, sizeof(last), "its log %s is empty", path);
	while (fgets(line, sizeof(line), f))
		if (line[0] != '\n') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(last, sizeof(last), "%s (last line of %s)", line, path);
		}
	fclose(f);
	return last;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int tries = 0; tries < 300; tries++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			die(EXIT_INFRA, "socket: %s", strerror(errno));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
	}
	die(EXIT_INFRA, "QEMU did not create %s within 30 s (its log: %s/qemu-*.log)", path, dir);
}

/*
 * Tell mmuprobe, when it runs us, what this QEMU is ($MMUPROBE_ROLES: "PID ROLE" lines):
 * the guest's first VM is the source, every QEMU started with -incoming a destination,
 * for the whole recording (one that later becomes a source keeps its first role).
 */
static void note_role(pid_t pid, const char *role)
{
	const char *path = getenv("MMUPROBE_ROLES");
	FILE *f;

	if (!path || !(f = fopen(path, "a")))
		return;
	fprintf(f, "%d %s\n", (int)pid, role);
	fclose(f);
}

static struct vm *vm_start(const char *name, bool incoming)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	char accel[96], memobj[160], con[128], ctl[128], qmp[128], log[96], memsz[16], smp[32];
	const char *argv[48];
	int n = 0;

	if (!vm)
		die(EXIT_INFRA, "out of memory");
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	snprintf(accel, sizeof(accel), "kvm%s%.0d%s%.0lld", opt.ring ? ",dirty-ring-size=" : "",
		 opt.ring, opt.shadow_pages ? ",kvm-shadow-mem=" : "", (long long)opt.shadow_pages * 4096);
	snprintf(memobj, sizeof(memobj), "%s,id=ram,size=%dM%s",
		 strcmp(opt.backing, "hugetlb") ? "memory-backend-ram" : "memory-backend-memfd",
		 opt.mem_mib, strcmp(opt.backing, "hugetlb") ? "" : ",hugetlb=on,hugetlbsize=2M");
	snprintf(memsz, sizeof(memsz), "%dM", opt.mem_mib);
	/* One socket per vCPU, as workloads/l2run gives its guests. */
	snprintf(smp, sizeof(smp), "%d,sockets=%d", opt.cpus, opt.cpus);
	snprintf(con, sizeof(con), "socket,id=con,path=%s/con-%s.sock,server=on,wait=off", dir, name);
	snprintf(ctl, sizeof(ctl), "socket,id=ctl,path=%s/ctl-%s.sock,server=on,wait=off", dir, name);
	snprintf(qmp, sizeof(qmp), "unix:%s/qmp-%s.sock,server=on,wait=off", dir, name);
	snprintf(log, sizeof(log), "%s/qemu-%s.log", dir, name);
	argv[n++] = "qemu-system-x86_64";
	argv[n++] = "-accel"; argv[n++] = accel;
	argv[n++] = "-cpu"; argv[n++] = "host";
	argv[n++] = "-m"; argv[n++] = memsz;
	argv[n++] = "-smp"; argv[n++] = smp;
	argv[n++] = "-object"; argv[n++] = memobj;
	argv[n++] = "-machine"; argv[n++] = "memory-backend=ram";
	argv[n++] = "-nographic"; argv[n++] = "-nodefaults"; argv[n++] = "-no-reboot";
	argv[n++] = "-kernel"; argv[n++] = opt.kernel;
	argv[n++] = "-initrd"; argv[n++] = opt.initrd;
	argv[n++] = "-append"; argv[n++] = opt.append;
	argv[n++] = "-chardev"; argv[n++] = con;
	argv[n++] = "-serial"; argv[n++] = "chardev:con";
	argv[n++] = "-chardev"; argv[n++] = ctl;
	argv[n++] = "-serial"; argv[n++] = "chardev:ctl";
	argv[n++] = "-qmp"; argv[n++] = qmp;
	if (incoming) {
		argv[n++] = "-incoming"; argv[n++] = "defer";
	}
	argv[n] = NULL;

	vm->pid = fork();
	if (vm->pid < 0)
		die(EXIT_INFRA, "fork: %s", strerror(errno));
	if (!vm->pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* "anon": 4K host pages under the guest, whatever THP's global setting. */
		if (!strcmp(opt.backing, "anon"))
			prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		execvp(argv[0], (char **)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	note_role(vm->pid, incoming ? "destination" : "source");
	snprintf(qmp, sizeof(qmp), "%s/qmp-%s.sock", dir, name);
	/*
	 * QEMU creates its sockets once it has set the machine up, which on a loaded or
	 * debug test host can take a while: wait as long as it lives, within -t.
	 */
	for (double t0 = now(); access(qmp, F_OK); ) {
		int status;

		if (waitpid(vm->pid, &status, WNOHANG) == vm->pid) {
			vm->pid = 0;
			die(EXIT_INFRA, "QEMU %s exited (status %d) before it opened QMP: %s", name,
			    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), log_tail(log));
		}
		if (now() - t0 > opt.timeout_s) {
			kill(vm->pid, SIGKILL);
			die(124, "QEMU %s did not open QMP within %d s: %s", name, opt.timeout_s, log_tail(log));
		}
		nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
	}
	if (qmp_open(&vm->qmp, qmp, 30))
		die(EXIT_INFRA, "QEMU %s: %s: %s", name, vm->qmp.err, log_tail(log));
	snprintf(con, sizeof(con), "%s/con-%s.sock", dir, name);
	snprintf(ctl, sizeof(ctl), "%s/ctl-%s.sock", dir, name);
	vm->con = connect_unix(con);
	vm->ctl = connect_unix(ctl);
	vms[vms[0] ? 1 : 0] = vm;
	return vm;
}

/* Ask an instance to quit, without waiting: pump() reaps it (it is expendable now). */
static void vm_quit(struct vm *vm)
{
	vm->expendable = true;
	if (vm->pid)
		json_object_put(qmp_exec(&vm->qmp, "quit", NULL));
}

static void vm_stop(struct vm *vm)
{
	if (vm->pid) {
		vm_quit(vm);
		for (int i = 0; i < 50 && waitpid(vm->pid, NULL, WNOHANG) == 0; i++)
			nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
		if (waitpid(vm->pid, NULL, WNOHANG) == 0) {
			kill(vm->pid, SIGKILL);
			waitpid(vm->pid, NULL, 0);
		}
	}
	qmp_close(&vm->qmp);
	close(vm->con);
	close(vm->ctl);
	vms[vms[0] == vm ? 0 : 1] = NULL;
	free(vm);
}

static void __attribute__((noreturn)) qmp_failed(struct vm *vm)
{
	die(EXIT_INFRA, "QEMU %s: %s (its log: %s/qemu-%s.log)", vm->name, vm->qmp.err, dir, vm->name);
}

static struct json_object *qmp_must(struct vm *vm, const char *cmd, const char *args)
{
	struct json_object *r = qmp_execf(&vm->qmp, cmd, args);

	if (!r)
		qmp_failed(vm);
	return r;
}

/* A line from a guest's console or control channel. */
static void guest_line(struct vm *vm, char *line, bool ctl)
{
	double ms, mibps;
	unsigned long long bad = 0;

	if (console_log)
		fprintf(console_log, "%.3f %s%s\n", now() - t_zero, ctl ? "ctl: " : "", line);
	if (ctl) {
		if (!strcmp(line, "mmuscope-guest-ready") && write(vm->ctl, "go\n", 3) != 3)
			die(EXIT_INFRA, "cannot answer the guest's ready barrier: %s", strerror(errno));
		return;
	}
	/*
	 * An oops: show it (its first 60 lines) as it comes, and exit at its panic
	 * (oops=panic) or after 3 s, with its first line as the error.
	 */
	if (!crash_end && (strstr(line, "Kernel panic") || strstr(line, "BUG:") || strstr(line, "Oops"))) {
		snprintf(crash_line, sizeof(crash_line), "%s", line);
		crash_end = now() + 3;
	}
	if (crash_end) {
		if (crash_lines++ < 60)
			fprintf(stderr, "mmuscope: migrate: guest: %s\n", line);
		if (strstr(line, "Kernel panic"))
			crash_end = now();
		return;
	}
	if (!strncmp(line, "dirtier-ready", 13)) {
		guest_ready = true;
		event("guest-ready", -1);
	} else if (!strncmp(line, "dirtier-bad ", 12)) {
		progress("the guest found a stale page (page, found, expected): %s", line + 12);
		event("guest-stale-page", -1);
	} else if (sscanf(line, "dirtier %lf %lf %llu", &ms, &mibps, &bad) >= 2) {
		if (bad > guest_bad)
			guest_bad = bad;
		if (nsamples < MAX_SAMPLES) {
			samples[nsamples].t = now() - t_zero;
			samples[nsamples++].mibps = mibps;
		}
	}
}

static void drain(struct vm *vm, int fd, char *buf, size_t *len, size_t cap, bool ctl)
{
	ssize_t n;

	while ((n = read(fd, buf + *len, cap - 1 - *len)) > 0) {
		char *start = buf, *nl;

		*len += n;
		buf[*len] = '\0';
		while ((nl = memchr(start, '\n', buf + *len - start))) {
			*nl = '\0';
			if (nl > start && nl[-1] == '\r')
				nl[-1] = '\0';
			guest_line(vm, start, ctl);
			start = nl + 1;
		}
		*len -= start - buf;
		memmove(buf, start, *len);
		if (*len == cap - 1)	/* a line longer than the buffer: drop it */
			*len = 0;
	}
}

/* Read the guests' output for MS milliseconds; die if a QEMU died or time is up. */
static void pump(int ms)
{
	double end = now() + ms / 1000.0;

	for (;;) {
		struct pollfd p[4];
		struct vm *who[4];
		int n = 0, left;

		if (crash_end && now() >= crash_end)
			die(EXIT_INFRA, "the workload guest crashed: %s (its console: %s/console.log)", crash_line, dir);
		for (int i = 0; i < 2; i++) {
			if (!vms[i])
				continue;
			if (vms[i]->pid && waitpid(vms[i]->pid, NULL, WNOHANG) == vms[i]->pid) {
				vms[i]->pid = 0;
				if (crash_end)	/* it panicked and quit: the oops is complete */
					crash_end = now();
				if (crash_end || vms[i]->expendable)
					continue;
				die(EXIT_INFRA, "QEMU %s exited (its log: %s/qemu-%s.log)", vms[i]->name, dir,
				    vms[i]->name);
			}
			who[n] = vms[i];
			p[n++] = (struct pollfd){ .fd = vms[i]->con, .events = POLLIN };
			who[n] = vms[i];
			p[n++] = (struct pollfd){ .fd = vms[i]->ctl, .events = POLLIN };
		}
		if (now() - t_zero > opt.timeout_s)
			die(124, "the workload guest hung: no end after %d s (logs in %s)", opt.timeout_s, dir);
		left = (int)(((crash_end ? crash_end : end) - now()) * 1000);
		if (left <= 0 && !crash_end)
			return;
		if (left < 0)
			left = 0;
		if (poll(p, n, left) < 0 && errno != EINTR)
			die(EXIT_INFRA, "poll: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct vm *vm = who[i];

			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (p[i].fd == vm->con)
				drain(vm, vm->con, vm->conbuf, &vm->conlen, sizeof(vm->conbuf), false);
			else
				drain(vm, vm->ctl, vm->ctlbuf, &vm->ctllen, sizeof(vm->ctlbuf), true);
		}
	}
}

/* KVM's stats of the VM and the sum over its vCPUs, as one flat object. */
static struct json_object *kvm_stats(struct vm *vm)
{
	struct json_object *s = qmp_kvm_stats(&vm->qmp, 1);

	if (!s)
		qmp_failed(vm);
	return s;
}

static int64_t stat_of(struct json_object *s, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(s, name, &v) ? json_object_get_int64(v) : 0;
}

/* after - before, for the counters a migration moves. */
static struct json_object *stats_delta(struct json_object *before, struct json_object *after)
{
	static const char *const names[] = { "pf_taken", "pf_fixed", "pf_fast", "pf_spurious",
		"pf_emulate", "exits", "mmu_recycled", "mmu_shadow_zapped", "remote_tlb_flush" };
	struct json_object *d = json_object_new_object();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		json_object_object_add(d, names[i],
				       json_object_new_int64(stat_of(after, names[i]) -
							     stat_of(before, names[i])));
	return d;
}

static struct json_object *pages(struct json_object *s)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "pages_4k", json_object_new_int64(stat_of(s, "pages_4k")));
	json_object_object_add(p, "pages_2m", json_object_new_int64(stat_of(s, "pages_2m")));
	json_object_object_add(p, "pages_1g", json_object_new_int64(stat_of(s, "pages_1g")));
	return p;
}

/* The guest's mean update rate over samples that arrived in [from, to), or null. */
static struct json_object *rate(double from, double to)
{
	double sum = 0;
	int n = 0;

	for (int i = 0; i < nsamples; i++)
		if (samples[i].t >= from && samples[i].t < to) {
			sum += samples[i].mibps;
			n++;
		}
	return n ? json_object_new_double(sum / n) : NULL;
}

static int64_t member_int(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v))
		return -1;
	if (b && !json_object_object_get_ex(v, b, &v))
		return -1;
	return json_object_get_int64(v);
}

static const char *member_str(struct json_object *o, const char *a)
{
	struct json_object *v;

	return json_object_object_get_ex(o, a, &v) ? json_object_get_string(v) : "";
}

/* One migration, cancelled or not; returns its record and updates *src. */
static struct json_object *migrate_once(struct vm **src, int i, bool cancel, int *nb)
{
	struct json_object *rec = json_object_new_object(), *info = NULL, *sb, *s0, *s1, *s2;
	char args[256], uri[160], name[16];
	struct vm *dst, *run;
	double t_start, t_end, t_poll;
	int64_t rounds = 0, bytes = 0;
	bool asked = false;
	const char *status = "";
	uint64_t bad_before = guest_bad;

	snprintf(name, sizeof(name), "q%d", ++*nb);
	dst = vm_start(name, true);
	snprintf(uri, sizeof(uri), "{\"uri\": \"unix:%s/migrate-%d.sock\"}", dir, i);
	json_object_put(qmp_must(dst, "migrate-incoming", uri));
	snprintf(args, sizeof(args), "{\"max-bandwidth\": %lld, \"downtime-limit\": 1}",
		 (long long)opt.bandwidth << 20);
	json_object_put(qmp_must(*src, "migrate-set-parameters", args));
	/*
	 * The window before, with the destination already started: nothing blocks while it
	 * runs, so the guest's lines are stamped as they come.
	 */
	sb = kvm_stats(*src);
	pump(opt.warm_ms);
	s0 = kvm_stats(*src);
	t_start = now() - t_zero;
	event(cancel ? "cancel-start" : "migrate-start", i);
	json_object_put(qmp_must(*src, "migrate", uri));
	for (;;) {
		int64_t sync;

		t_poll = now();
		json_object_put(info);
		info = qmp_must(*src, "query-migrate", NULL);
		status = member_str(info, "status");
		sync = member_int(info, "ram", "dirty-sync-count");
		if (member_int(info, "ram", "transferred") >= 0)
			bytes = member_int(info, "ram", "transferred");
		if (sync > rounds) {
			rounds = sync;
			event("dirty-sync", i);
		}
		if (!strcmp(status, "completed") || !strcmp(status, "cancelled") ||
		    !strcmp(status, "failed"))
			break;
		if (!asked && rounds >= opt.rounds && !strcmp(status, "active")) {
			asked = true;
			event(cancel ? "cancel" : "switch-over", i);
			dst->expendable = cancel;
			json_object_put(qmp_must(*src, cancel ? "migrate_cancel" : "migrate-set-parameters",
						 cancel ? NULL : "{\"downtime-limit\": 60000}"));
		}
		pump(POLL_MS - (int)((now() - t_poll) * 1000));
	}
	t_end = now() - t_zero;
	event(status, i);
	/* Right at the switch to "completed" QEMU may not have filled in its times yet. */
	for (int k = 0; k < 10 && !strcmp(status, "completed") && member_int(info, "total-time", NULL) <= 0; k++) {
		pump(POLL_MS);
		json_object_put(info);
		info = qmp_must(*src, "query-migrate", NULL);
		status = member_str(info, "status");	/* it pointed into the old answer */
	}
	if (!strcmp(status, "failed"))
		die(EXIT_INFRA, "migration %d failed: %s (logs in %s)", i, member_str(info, "error-desc"), dir);
	if (cancel != !strcmp(status, "cancelled"))
		die(EXIT_INFRA, "migration %d ended %s, not %s as asked", i, status, cancel ? "cancelled" : "completed");
	/*
	 * The instance the guest runs in now; the other one quits at once (its exit runs
	 * during the window, as on a real host) and is reaped after the window.
	 */
	run = cancel ? *src : dst;
	s1 = kvm_stats(run);
	vm_quit(cancel ? dst : *src);
	pump(opt.after_ms);
	s2 = kvm_stats(run);
	vm_stop(cancel ? dst : *src);
	*src = run;

	json_object_object_add(rec, "i", json_object_new_int(i));
	json_object_object_add(rec, "kind", json_object_new_string(cancel ? "cancelled" : "completed"));
	json_object_object_add(rec, "status", json_object_new_string(status));
	json_object_object_add(rec, "dirty_sync_rounds", json_object_new_int64(rounds));
	json_object_object_add(rec, "start_s", json_object_new_double(t_start));
	json_object_object_add(rec, "seconds", json_object_new_double(t_end - t_start));
	json_object_object_add(rec, "total_ms", json_object_new_int64(member_int(info, "total-time", NULL)));
	json_object_object_add(rec, "downtime_ms", json_object_new_int64(member_int(info, "downtime", NULL)));
	json_object_object_add(rec, "setup_ms", json_object_new_int64(member_int(info, "setup-time", NULL)));
	json_object_object_add(rec, "bytes", json_object_new_int64(bytes));
	json_object_object_add(rec, "rate_before", rate(t_start - opt.warm_ms / 1000.0, t_start));
	json_object_object_add(rec, "rate_during", rate(t_start, t_end));
	/* The first period that ends after the migration did: it holds the disable. */
	json_object_object_add(rec, "rate_after_first", NULL);
	for (int k = 0; k < nsamples; k++)
		if (samples[k].t >= t_end) {
			json_object_object_add(rec, "rate_after_first",
					       json_object_new_double(samples[k].mibps));
			break;
		}
	json_object_object_add(rec, "rate_after", rate(t_end, t_end + opt.after_ms / 1000.0));
	json_object_object_add(rec, "kvm_start", pages(s0));
	json_object_object_add(rec, "kvm_end", pages(s1));
	json_object_object_add(rec, "kvm_after", pages(s2));
	json_object_object_add(rec, "kvm_before_delta", stats_delta(sb, s0));
	if (cancel)
		json_object_object_add(rec, "kvm_during", stats_delta(s0, s1));
	json_object_object_add(rec, "kvm_after_delta", stats_delta(s1, s2));
	/*
	 * Found from its start to the end of its after window. A stale page is found when the
	 * dirtier next reaches it, so it may count in the next migration: the total is exact.
	 */
	json_object_object_add(rec, "guest_stale_pages", json_object_new_int64((int64_t)(guest_bad - bad_before)));
	progress("migration %d (%s): %s after %lld rounds, %.2f s, %.0f MiB sent; guest %.0f -> %.0f -> %.0f MiB/s",
		 i, cancel ? "cancel" : "complete", status, (long long)rounds, t_end - t_start,
		 bytes / 1048576.0,
		 json_object_get_double(json_object_object_get(rec, "rate_before")),
		 json_object_get_double(json_object_object_get(rec, "rate_during")),
		 json_object_get_double(json_object_object_get(rec, "rate_after")));
	json_object_put(info);
	json_object_put(sb);
	json_object_put(s0);
	json_object_put(s1);
	json_object_put(s2);
	return rec;
}

static int count(struct json_object *migs, const char *kind)
{
	int n = 0;

	for (size_t i = 0; i < json_object_array_length(migs); i++)
		n += !strcmp(member_str(json_object_array_get_idx(migs, i), "kind"), kind);
	return n;
}

/* Median over the migrations of KIND of a member (dotted once: "a" or "a.b"). */
static struct json_object *median(struct json_object *migs, const char *kind, const char *a,
				  const char *b)
{
	double v[256];
	size_t n = 0;

	for (size_t i = 0; i < json_object_array_length(migs) && n < 256; i++) {
		struct json_object *m = json_object_array_get_idx(migs, i), *x;

		if (strcmp(member_str(m, "kind"), kind) || !json_object_object_get_ex(m, a, &x))
			continue;
		if (b && !json_object_object_get_ex(x, b, &x))
			continue;
		if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int))
			continue;
		v[n++] = json_object_get_double(x);
	}
	if (!n)
		return NULL;
	return json_object_new_double(median_of(v, n));
}

static int num(const char *s, char o)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 0 || v > 1 << 30)
		die(EXIT_USAGE, "-%c wants a number, got '%s'", o, s);
	return (int)v;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: migrate -K BZIMAGE -I INITRD -A ARGS [-s SEQ] [-k ROUNDS] [-m MIB] [-c CPUS]\n"
"               [-b anon|thp|hugetlb] [-R RING] [-S PAGES] [-B MIBPS] [-W MS] [-a MS] [-t SECS]\n"
"               -- JOB [ARG...]\n"
"The live-migration loop: the workload guest (BZIMAGE, INITRD, kernel parameters ARGS, then\n"
"JOB as its job) under QEMU/KVM, migrated between two QEMUs over a unix socket; one JSON\n"
"document per run on stdout (QEMU's, KVM's and the guest's numbers per migration).\n"
"  -s SEQ      migrations in order: m completed, c cancelled (default mc)\n"
"  -k ROUNDS   dirty-sync rounds before the cancel or the switch-over (default 2)\n"
"  -m MIB      guest memory (default 512)        -c CPUS   vCPUs (default 1)\n"
"  -b BACKING  guest RAM in this host: anon, thp or hugetlb (default thp)\n"
"  -R RING     QEMU's dirty ring with RING entries instead of the dirty bitmap\n"
"  -S PAGES    KVM_SET_NR_MMU_PAGES through QEMU's kvm-shadow-mem\n"
"  -B MIBPS    migration bandwidth limit (default 1024)\n"
"  -W MS       run before the first migration and between two (default 1000)\n"
"  -a MS       the window after a migration ends (default 1000)\n"
"  -t SECS     give up after SECS (default 600)\n"
"  -h, --help  this text\n"
"Exit: 0; 1 the guest found stale pages (writes lost across a migration: the kernel under\n"
"test is broken); 2 usage; 3 QEMU, KVM or the guest failed; 124 the guest or QEMU hung.\n"
"Example (workloads/l2migrate passes -K, -I and -A):\n"
"  workloads/l2migrate -s mcmc -m 512 -- /bin/dirtier -w 384\n");
}

int main(int argc, char **argv)
{
	struct json_object *out, *migs, *sum, *params;
	struct vm *src;
	size_t len;
	int o, nb = 0;
	const char *kargs = NULL;

	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };

	opterr = 0;
	while ((o = getopt_long(argc, argv, ":K:I:A:s:k:m:c:b:R:S:B:W:a:t:h", longopts, NULL)) != -1) {
		switch (o) {
		case 'K': opt.kernel = optarg; break;
		case 'I': opt.initrd = optarg; break;
		case 'A': kargs = optarg; break;
		case 's': opt.seq = optarg; break;
		case 'k': opt.rounds = num(optarg, o); break;
		case 'm': opt.mem_mib = num(optarg, o); break;
		case 'c': opt.cpus = num(optarg, o); break;
		case 'b': opt.backing = optarg; break;
		case 'R': opt.ring = num(optarg, o); break;
		case 'S': opt.shadow_pages = num(optarg, o); break;
		case 'B': opt.bandwidth = num(optarg, o); break;
		case 'W': opt.warm_ms = num(optarg, o); break;
		case 'a': opt.after_ms = num(optarg, o); break;
		case 't': opt.timeout_s = num(optarg, o); break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option("migrate", o, argv);
		}
	}
	if (!opt.kernel || !opt.initrd || !kargs || optind >= argc)
		return cli_usage_error("migrate", "-K, -I, -A and a JOB after -- are needed");
	if (strspn(opt.seq, "mc") != strlen(opt.seq) || !*opt.seq)
		die(EXIT_USAGE, "-s wants a sequence of m (completed) and c (cancelled), got '%s'", opt.seq);
	if (strcmp(opt.backing, "anon") && strcmp(opt.backing, "thp") && strcmp(opt.backing, "hugetlb"))
		die(EXIT_USAGE, "-b wants anon, thp or hugetlb, got '%s'", opt.backing);
	if (access("/dev/kvm", R_OK | W_OK))
		die(EXIT_INFRA, "no /dev/kvm: run the migration loop on a test host with KVM loaded");
	len = (size_t)snprintf(opt.append, sizeof(opt.append), "%s --", kargs);
	for (int i = optind; i < argc && len < sizeof(opt.append); i++)
		len += (size_t)snprintf(opt.append + len, sizeof(opt.append) - len, " %s", argv[i]);
	if (len >= sizeof(opt.append))
		die(EXIT_USAGE, "the job's command line is too long");
	snprintf(dir, sizeof(dir), "/tmp/migrate.XXXXXX");
	if (!mkdtemp(dir))
		die(EXIT_INFRA, "mkdtemp: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	{
		char path[96];

		snprintf(path, sizeof(path), "%s/console.log", dir);
		console_log = fopen(path, "w");
		if (console_log)
			setvbuf(console_log, NULL, _IOLBF, 0);
	}
	events = json_object_new_array();
	migs = json_object_new_array();
	t_zero = now();

	src = vm_start("q0", false);
	progress("guest booting (%d MiB %s, %d vCPU%s%s), job: %s", opt.mem_mib, opt.backing, opt.cpus,
		 opt.cpus > 1 ? "s" : "", opt.ring ? ", dirty ring" : "", opt.append);
	while (!guest_ready)
		pump(100);
	progress("guest ready; %zu migrations: %s", strlen(opt.seq), opt.seq);
	for (int i = 0; opt.seq[i]; i++)
		json_object_array_add(migs, migrate_once(&src, i, opt.seq[i] == 'c', &nb));
	vm_stop(src);
	rm_dir();

	params = json_object_new_object();
	json_object_object_add(params, "sequence", json_object_new_string(opt.seq));
	json_object_object_add(params, "rounds", json_object_new_int(opt.rounds));
	json_object_object_add(params, "mem_mib", json_object_new_int(opt.mem_mib));
	json_object_object_add(params, "cpus", json_object_new_int(opt.cpus));
	json_object_object_add(params, "backing", json_object_new_string(opt.backing));
	json_object_object_add(params, "dirty_ring", json_object_new_int(opt.ring));
	json_object_object_add(params, "shadow_pages", json_object_new_int(opt.shadow_pages));
	json_object_object_add(params, "bandwidth_mibps", json_object_new_int(opt.bandwidth));
	json_object_object_add(params, "after_ms", json_object_new_int(opt.after_ms));
	json_object_object_add(params, "job", json_object_new_string(strstr(opt.append, "-- ") + 3));

	sum = json_object_new_object();
	json_object_object_add(sum, "migrations", json_object_new_int((int)strlen(opt.seq)));
	json_object_object_add(sum, "completed", json_object_new_int(count(migs, "completed")));
	json_object_object_add(sum, "cancelled", json_object_new_int(count(migs, "cancelled")));
	json_object_object_add(sum, "guest_stale_pages", json_object_new_int64((int64_t)guest_bad));
	static const struct { const char *key, *kind, *a, *b; } meds[] = {
		{ "completed_seconds", "completed", "seconds", NULL },
		{ "completed_downtime_ms", "completed", "downtime_ms", NULL },
		{ "completed_rounds", "completed", "dirty_sync_rounds", NULL },
		{ "completed_rate_during", "completed", "rate_during", NULL },
		{ "cancelled_seconds", "cancelled", "seconds", NULL },
		{ "cancelled_rate_before", "cancelled", "rate_before", NULL },
		{ "cancelled_rate_during", "cancelled", "rate_during", NULL },
		{ "cancelled_rate_after_first", "cancelled", "rate_after_first", NULL },
		{ "cancelled_rate_after", "cancelled", "rate_after", NULL },
		{ "cancelled_pages_2m_start", "cancelled", "kvm_start", "pages_2m" },
		{ "cancelled_pages_2m_end", "cancelled", "kvm_end", "pages_2m" },
		{ "cancelled_pages_2m_after", "cancelled", "kvm_after", "pages_2m" },
		{ "cancelled_faults_before", "cancelled", "kvm_before_delta", "pf_taken" },
		{ "cancelled_faults_after", "cancelled", "kvm_after_delta", "pf_taken" },
	};
	for (size_t i = 0; i < sizeof(meds) / sizeof(meds[0]); i++)
		json_object_object_add(sum, meds[i].key, median(migs, meds[i].kind, meds[i].a, meds[i].b));

	out = json_object_new_object();
	json_object_object_add(out, "params", params);
	json_object_object_add(out, "summary", sum);
	json_object_object_add(out, "migrations", migs);
	json_object_object_add(out, "events", events);
	{
		struct json_object *s = json_object_new_array();

		for (int i = 0; i < nsamples; i++) {
			struct json_object *p = json_object_new_array();

			json_object_array_add(p, json_object_new_double(samples[i].t));
			json_object_array_add(p, json_object_new_double(samples[i].mibps));
			json_object_array_add(s, p);
		}
		json_object_object_add(out, "samples", s);
	}
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	if (guest_bad) {
		fprintf(stderr, "migrate: the guest found %llu stale pages: writes were lost across a migration (dirty pages not logged); the kernel under test is broken\n",
			(unsigned long long)guest_bad);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}
