// SPDX-License-Identifier: GPL-2.0
/* The workload guest under QEMU: see guestvm.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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
#include "guestvm.h"
#include "splat.h"

/* --- the command line ------------------------------------------------------------------ */

static bool is_tcg(const struct guestvm_conf *c)
{
	return c->accel && !strcmp(c->accel, "tcg");
}

char *guestvm_join(char *const *words, int n)
{
	size_t len = 1;
	char *s, *p;

	for (int i = 0; i < n; i++)
		len += strlen(words[i]) + 1;
	s = p = malloc(len);
	if (!s)
		return NULL;
	*p = '\0';
	for (int i = 0; i < n; i++) {
		if (i)
			*p++ = ' ';
		p = stpcpy(p, words[i]);
	}
	return s;
}

char *guestvm_append(const struct guestvm_conf *c)
{
	const char *k = c->kargs ? c->kargs : "", *h = c->hostroot ? "mmuscope.hostroot" : "";
	char *s;

	if (asprintf(&s, "%s%s%s%s-- %s", k, *k && *h ? " " : "", h, *k || *h ? " " : "",
		     c->job ? c->job : "") < 0)
		return NULL;
	return s;
}

/* QEMU's -m: digits, then at most one of its unit suffixes (none: MiB). */
static bool mem_ok(const char *m)
{
	size_t digits = strspn(m, "0123456789");

	return digits && (!m[digits] || (strchr("MmGg", m[digits]) && !m[digits + 1])) &&
	       strtoul(m, NULL, 10) > 0;
}

int guestvm_check(const struct guestvm_conf *c, char *err, size_t errsz)
{
	char *append;
	size_t len;

	if (c->accel && strcmp(c->accel, "kvm") && strcmp(c->accel, "tcg")) {
		snprintf(err, errsz, "--accel wants kvm or tcg, got '%s'", c->accel);
		return -1;
	}
	if (is_tcg(c) && (c->shadow_pages || c->dirty_ring)) {
		snprintf(err, errsz, "kvm-shadow-mem (-S) and the dirty ring (-R) are KVM's: not with --accel tcg");
		return -1;
	}
	if (c->backing && strcmp(c->backing, "anon") && strcmp(c->backing, "thp") &&
	    strcmp(c->backing, "hugetlb")) {
		snprintf(err, errsz, "-b wants anon, thp or hugetlb, got '%s'", c->backing);
		return -1;
	}
	if (!c->mem || !mem_ok(c->mem)) {
		snprintf(err, errsz, "-m wants the guest's memory as MiB or with M or G, got '%s'",
			 c->mem ? c->mem : "");
		return -1;
	}
	if (c->cpus < 1 || c->shadow_pages < 0 || c->dirty_ring < 0 || c->disk_mib < 0) {
		snprintf(err, errsz, "vCPUs (-c) at least 1, shadow pages (-S), dirty ring (-R) and disk (-d) not negative");
		return -1;
	}
	if (!c->job || !*c->job) {
		snprintf(err, errsz, "no job: the guest's program and its arguments after --");
		return -1;
	}
	append = guestvm_append(c);
	if (!append) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	len = strlen(append);
	free(append);
	if (len >= GUESTVM_CMDLINE_MAX) {
		snprintf(err, errsz, "the guest kernel's command line would be %zu bytes, more than its %d: a shorter job's command line",
			 len, GUESTVM_CMDLINE_MAX - 1);
		return -1;
	}
	return 0;
}

static void __attribute__((format(printf, 2, 3))) add(struct guestvm_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (cmd->argc < 0)	/* failed before */
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0 || cmd->argc == GUESTVM_MAX_ARGS) {
		if (n >= 0)
			free(s);
		snprintf(cmd->err, sizeof(cmd->err), n < 0 ? "out of memory" : "more than %d arguments",
			 GUESTVM_MAX_ARGS);
		guestvm_cmd_free(cmd);
		cmd->argc = -1;
		return;
	}
	cmd->argv[cmd->argc++] = s;
	cmd->argv[cmd->argc] = NULL;
}

int guestvm_cmdline(const struct guestvm_conf *c, const char *dir, const char *name,
		    bool incoming, bool paused, struct guestvm_cmd *cmd)
{
	const char *mb = !c->backing ? NULL : strcmp(c->backing, "hugetlb") ? "memory-backend-ram" :
		"memory-backend-memfd";
	/* A memory backend's size is in bytes without a suffix, -m in MiB: both get one. */
	const char *unit = c->mem && !c->mem[strspn(c->mem, "0123456789")] ? "M" : "";
	char *append;

	memset(cmd, 0, sizeof(*cmd));
	if (guestvm_check(c, cmd->err, sizeof(cmd->err)))
		return -1;
	if (strlen(dir) + strlen(name) + sizeof("/qmp-.sock") > sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(cmd->err, sizeof(cmd->err), "socket paths in %s too long", dir);
		return -1;
	}
	append = guestvm_append(c);
	if (!append) {
		snprintf(cmd->err, sizeof(cmd->err), "out of memory");
		return -1;
	}
	add(cmd, "qemu-system-x86_64");
	add(cmd, "-accel");
	if (is_tcg(c))
		add(cmd, "tcg");
	else
		add(cmd, "kvm%s%.0d%s%.0lld", c->dirty_ring ? ",dirty-ring-size=" : "", c->dirty_ring,
		    c->shadow_pages ? ",kvm-shadow-mem=" : "", (long long)c->shadow_pages * 4096);
	add(cmd, "-cpu");
	add(cmd, is_tcg(c) ? "max" : "host");
	add(cmd, "-m");
	add(cmd, "%s%s", c->mem, unit);
	/* One socket per vCPU: the guest kernel finds its CPUs in SeaBIOS's ACPI MADT. */
	add(cmd, "-smp");
	add(cmd, "%d,sockets=%d", c->cpus, c->cpus);
	if (mb) {
		add(cmd, "-object");
		add(cmd, "%s,id=ram,size=%s%s%s", mb, c->mem, unit,
		    strcmp(c->backing, "hugetlb") ? "" : ",hugetlb=on,hugetlbsize=2M");
		add(cmd, "-machine");
		add(cmd, "memory-backend=ram");
	}
	add(cmd, "-nographic");
	add(cmd, "-nodefaults");
	add(cmd, "-no-reboot");
	add(cmd, "-kernel");
	add(cmd, "%s", c->kernel ? c->kernel : "");
	add(cmd, "-initrd");
	add(cmd, "%s", c->initrd ? c->initrd : "");
	add(cmd, "-append");
	add(cmd, "%s", append);
	free(append);
	if (c->hostroot) {
		add(cmd, "-fsdev");
		add(cmd, "local,id=hostroot,path=/,security_model=none,readonly=on");
		add(cmd, "-device");
		add(cmd, "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot");
	}
	if (c->disk_mib) {
		add(cmd, "-drive");
		add(cmd, "file=%s/disk.img,format=raw,if=virtio", dir);
	}
	add(cmd, "-chardev");
	add(cmd, "socket,id=con,path=%s/con-%s.sock,server=on,wait=off", dir, name);
	add(cmd, "-serial");
	add(cmd, "chardev:con");
	add(cmd, "-chardev");
	add(cmd, "socket,id=ctl,path=%s/ctl-%s.sock,server=on,wait=off", dir, name);
	add(cmd, "-serial");
	add(cmd, "chardev:ctl");
	add(cmd, "-qmp");
	add(cmd, "unix:%s/qmp-%s.sock,server=on,wait=off", dir, name);
	if (incoming) {
		add(cmd, "-incoming");
		add(cmd, "defer");
	} else if (paused) {
		add(cmd, "-S");
	}
	return cmd->argc < 0 ? -1 : 0;
}

void guestvm_cmd_free(struct guestvm_cmd *cmd)
{
	for (int i = 0; i < cmd->argc; i++)
		free(cmd->argv[i]);
	cmd->argc = 0;
	cmd->argv[0] = NULL;
}

/* --- the control channel, console lines, splats ------------------------------------------ */

enum guestvm_ctl guestvm_parse_ctl(const char *line, int *rc)
{
	static const char pre[] = "mmuscope-guest-";
	/* Anywhere in the line: a UART may deliver a stray byte before the first one. */
	const char *p = strstr(line, pre);
	char *end;
	long v;

	if (!p)
		return GUESTVM_CTL_NONE;
	p += sizeof(pre) - 1;
	if (!strcmp(p, "ready"))
		return GUESTVM_CTL_READY;
	if (strncmp(p, "done ", 5))
		return GUESTVM_CTL_BAD;
	p += 5;
	errno = 0;
	v = strtol(p, &end, 10);
	if (end == p || *end || errno || v < 0 || v > 255)
		return GUESTVM_CTL_BAD;
	*rc = (int)v;
	return GUESTVM_CTL_DONE;
}

static int lines_reserve(struct guestvm_lines *l, size_t need)
{
	size_t cap = l->cap ? l->cap : 256;
	char *b;

	if (need <= l->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	b = realloc(l->buf, cap);
	if (!b)
		return -1;
	l->buf = b;
	l->cap = cap;
	return 0;
}

static void lines_deliver(struct guestvm_lines *l, guestvm_line_fn *fn, void *arg)
{
	l->buf[l->len] = '\0';
	if (l->len && l->buf[l->len - 1] == '\r')
		l->buf[--l->len] = '\0';
	l->len = 0;
	fn(arg, l->buf);
}

int guestvm_lines_feed(struct guestvm_lines *l, const char *data, size_t n,
		       guestvm_line_fn *fn, void *arg)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t chunk = nl ? (size_t)(nl - data) : n;
		size_t take;

		if (l->len == GUESTVM_LINE_MAX && chunk) {	/* more of a full line: cut it */
			lines_deliver(l, fn, arg);
			continue;
		}
		take = chunk < GUESTVM_LINE_MAX - l->len ? chunk : GUESTVM_LINE_MAX - l->len;
		if (lines_reserve(l, l->len + take + 1))
			return -1;
		memcpy(l->buf + l->len, data, take);
		l->len += take;
		data += take;
		n -= take;
		if (nl && take == chunk) {
			lines_deliver(l, fn, arg);
			data++;
			n--;
		}
	}
	return 0;
}

void guestvm_lines_flush(struct guestvm_lines *l, guestvm_line_fn *fn, void *arg)
{
	if (l->len)
		lines_deliver(l, fn, arg);
}

void guestvm_lines_free(struct guestvm_lines *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

const char *guestvm_kernel_text(const char *line)
{
	for (const char *p = strchr(line, '['); p; p = strchr(p + 1, '['))
		if (splat_strip_time(p) != p)
			return p;
	return NULL;
}

int guestvm_splat_feed(struct guestvm_splat *s, const char *line)
{
	const char *text = guestvm_kernel_text(line);
	int first = 0;

	if (!s->kind) {
		if (!text || !splat_kind(text))
			return 0;
		s->kind = splat_kind(text);
		s->hang = splat_is_hang(text);
		first = 1;
	}
	if (s->nlines < GUESTVM_SPLAT_LINES) {
		s->lines[s->nlines] = strdup(text ? text : line);
		if (s->lines[s->nlines])
			s->nlines++;
	}
	return first;
}

void guestvm_splat_free(struct guestvm_splat *s)
{
	for (unsigned int i = 0; i < s->nlines; i++)
		free(s->lines[i]);
	memset(s, 0, sizeof(*s));
}

/* --- the run ------------------------------------------------------------------------------ */

static struct {
	struct guestvm_run run;
	char dir[64];
	double t_zero, deadline;
	FILE *console;			/* DIR/console.log: every line of both channels */
	struct guestvm *vms[GUESTVM_MAX_VMS];
	struct guestvm_splat splat;
	double splat_end;		/* when to stop waiting for the rest of the report */
	unsigned int splat_shown;
	char *tail[GUESTVM_TAIL_LINES];	/* the console's last lines, a ring */
	unsigned int ntail;
	char phase[160];
} S = { .phase = "starting" };

/* For the signal handler: the QEMUs to take along, the disk to remove. */
static volatile pid_t live[GUESTVM_MAX_VMS];
static char disk_file[96];

static const char *prog(void)
{
	return S.run.prog ? S.run.prog : program_invocation_short_name;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double guestvm_now(void)
{
	return mono() - S.t_zero;
}

const char *guestvm_dir(void)
{
	return S.dir;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

static void disk_path(char *buf, size_t n)
{
	snprintf(buf, n, "%s/disk.img", S.dir);
}

/* PID exited and was reaped: no signal for it any more. */
static void forget(pid_t pid)
{
	for (int i = 0; i < GUESTVM_MAX_VMS; i++)
		if (live[i] == pid)
			live[i] = 0;
}

static void kill_all(void)
{
	for (int i = 0; i < GUESTVM_MAX_VMS; i++) {
		if (S.vms[i] && S.vms[i]->pid > 0) {
			kill(S.vms[i]->pid, SIGKILL);
			waitpid(S.vms[i]->pid, NULL, 0);
			S.vms[i]->pid = 0;
		}
		live[i] = 0;
	}
}

/*
 * SIGTERM (timeout(1) in workloads/run), SIGINT, SIGHUP: QEMU goes with us, as it did with
 * l2run's bash (its EXIT trap), and the signal is our end.
 */
static void on_signal(int sig)
{
	for (int i = 0; i < GUESTVM_MAX_VMS; i++)
		if (live[i] > 0)
			kill(live[i], SIGKILL);
	if (disk_file[0])
		unlink(disk_file);
	signal(sig, SIG_DFL);
	raise(sig);
}

void guestvm_die(int status, const char *fmt, ...)
{
	char disk[96];
	va_list ap;

	fprintf(stderr, "mmuscope: error: %s: ", prog());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	kill_all();
	/* The logs stay for whoever looks; a disk can be GiBs of the test host's tmpfs. */
	if (S.dir[0] && S.run.conf.disk_mib) {
		disk_path(disk, sizeof(disk));
		unlink(disk);
	}
	exit(status);
}

void guestvm_phase(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(S.phase, sizeof(S.phase), fmt, ap);
	va_end(ap);
}

void guestvm_print_tail(void)
{
	unsigned int n = S.ntail < GUESTVM_TAIL_LINES ? S.ntail : GUESTVM_TAIL_LINES;

	if (!n) {
		fprintf(stderr, "mmuscope: %s: the guest printed nothing on its console\n", prog());
		return;
	}
	fprintf(stderr, "mmuscope: %s: the guest's console, its last %u lines:\n", prog(), n);
	for (unsigned int i = S.ntail - n; i < S.ntail; i++)
		fprintf(stderr, "%s\n", S.tail[i % GUESTVM_TAIL_LINES] ? S.tail[i % GUESTVM_TAIL_LINES] : "");
}

/* The last lines of a QEMU's log (its own error, when it exits), to stderr. */
static void print_log_tail(struct guestvm *vm)
{
	char path[PATH_MAX], line[512], *ring[10] = { 0 };
	unsigned int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/qemu-%s.log", S.dir, vm->name);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		free(ring[n % 10]);
		ring[n++ % 10] = strdup(line);
	}
	fclose(f);
	if (n)
		fprintf(stderr, "mmuscope: %s: QEMU %s's log (%s), its last lines:\n", prog(), vm->name, path);
	for (unsigned int i = n > 10 ? n - 10 : 0; i < n; i++) {
		fprintf(stderr, "%s\n", ring[i % 10] ? ring[i % 10] : "");
		free(ring[i % 10]);
	}
}

static const char *wait_status(int st)
{
	static char buf[48];

	if (WIFSIGNALED(st))
		snprintf(buf, sizeof(buf), "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, sizeof(buf), "status %d", WEXITSTATUS(st));
	return buf;
}

static void __attribute__((noreturn)) splat_die(void)
{
	const char *known = splat_known(S.splat.lines, S.splat.nlines);

	if (known)
		fprintf(stderr, "mmuscope: %s: this is %s\n", prog(), known);
	guestvm_die(S.splat.hang ? GUESTVM_EXIT_HANG : EXIT_INFRA,
		    "the workload guest %s while %s: %s: %s (the report above; its console: %s/console.log)",
		    S.splat.hang ? "reported a hang" : "crashed", S.phase, S.splat.kind,
		    S.splat.nlines ? splat_strip_time(S.splat.lines[0]) : "", S.dir);
}

static void __attribute__((noreturn)) exited_die(struct guestvm *vm)
{
	guestvm_print_tail();
	print_log_tail(vm);
	guestvm_die(EXIT_INFRA, "QEMU %s exited (%s) while %s (its log and the guest's console above; logs in %s)",
		    vm->name, wait_status(vm->status), S.phase, S.dir);
}

/* LINE without its control characters (SeaBIOS clears the screen): what a terminal shows. */
static char *printable(const char *line)
{
	char *s = malloc(strlen(line) + 1), *p = s;

	if (!s)
		return NULL;
	for (; *line; line++)
		if ((unsigned char)*line >= ' ' && *line != 0x7f)
			*p++ = *line;
		else if (*line == '\t')
			*p++ = ' ';
	*p = '\0';
	return s;
}

static void con_line(void *arg, char *line)
{
	struct guestvm *vm = arg;

	if (S.console)
		fprintf(S.console, "%.3f %s: %s\n", guestvm_now(), vm->name, line);
	free(S.tail[S.ntail % GUESTVM_TAIL_LINES]);
	S.tail[S.ntail++ % GUESTVM_TAIL_LINES] = printable(line);
	/* A splat: shown as it comes; the run ends at its panic or GUESTVM_SPLAT_GRACE later. */
	if (guestvm_splat_feed(&S.splat, line)) {
		S.splat_end = mono() + GUESTVM_SPLAT_GRACE;
		fprintf(stderr, "mmuscope: %s: a %s report on the console of the guest in QEMU %s:\n",
			prog(), S.splat.kind, vm->name);
	}
	if (S.splat.kind) {
		if (S.splat_shown++ < GUESTVM_SPLAT_LINES) {
			char *p = printable(line);

			fprintf(stderr, "mmuscope: %s: guest: %s\n", prog(), p ? p : line);
			free(p);
		}
		return;
	}
	if (S.run.on_console)
		S.run.on_console(vm, line);
}

static void ctl_line(void *arg, char *line)
{
	struct guestvm *vm = arg;
	int rc = 0;

	if (S.console)
		fprintf(S.console, "%.3f %s ctl: %s\n", guestvm_now(), vm->name, line);
	switch (guestvm_parse_ctl(line, &rc)) {
	case GUESTVM_CTL_NONE:
		return;
	case GUESTVM_CTL_BAD:
		guestvm_die(EXIT_INFRA, "the guest in QEMU %s sent \"%s\" on its control channel: workloads/guest/init and workloads/guestvm.c do not speak the same protocol (rebuild the image: make guest)",
			    vm->name, line);
	case GUESTVM_CTL_READY:
		vm->barrier = GUESTVM_CTL_READY;
		return;
	case GUESTVM_CTL_DONE:
		vm->barrier = GUESTVM_CTL_DONE;
		vm->rc = rc;
		if (!S.run.job_ends) {
			guestvm_print_tail();
			guestvm_die(EXIT_INFRA, "the guest's job ended (status %d) while %s, where it runs until the host stops it (the guest's console above; logs in %s)",
				    rc, S.phase, S.dir);
		}
		return;
	}
}

/* Read what VM's console (or control channel) has; at its end, close it. */
static void drain(struct guestvm *vm, bool ctl)
{
	int *fd = ctl ? &vm->ctl : &vm->con;
	struct guestvm_lines *l = ctl ? &vm->ctll : &vm->conl;
	guestvm_line_fn *fn = ctl ? ctl_line : con_line;
	char buf[65536];

	while (*fd >= 0) {
		ssize_t n = read(*fd, buf, sizeof(buf));

		if (n > 0) {
			if (guestvm_lines_feed(l, buf, (size_t)n, fn, vm))
				guestvm_die(EXIT_INFRA, "out of memory reading the guest's output");
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		guestvm_lines_flush(l, fn, vm);	/* QEMU closed it (it exited) */
		close(*fd);
		*fd = -1;
	}
}

/* Whether VM's QEMU exited just now; then the rest of its output is read. */
static bool reap(struct guestvm *vm)
{
	int st;

	if (vm->pid <= 0 || waitpid(vm->pid, &st, WNOHANG) != vm->pid)
		return false;
	forget(vm->pid);
	vm->pid = 0;
	vm->status = st;
	drain(vm, false);
	drain(vm, true);
	return true;
}

void guestvm_pump(int ms)
{
	double end = mono() + ms / 1000.0;

	for (;;) {
		struct pollfd p[2 * GUESTVM_MAX_VMS];
		struct guestvm *who[2 * GUESTVM_MAX_VMS];
		bool isctl[2 * GUESTVM_MAX_VMS];
		struct guestvm *dead = NULL;
		bool exited = false;
		double until;
		int n = 0, left;

		for (int i = 0; i < GUESTVM_MAX_VMS; i++)
			if (S.vms[i]) {
				exited |= reap(S.vms[i]);
				if (!S.vms[i]->pid && !S.vms[i]->expendable)
					dead = S.vms[i];
			}
		/* A QEMU that exits after a splat (oops=panic, panic=-1) completes it. */
		if (S.splat.kind && (exited || dead || mono() >= S.splat_end))
			splat_die();
		if (dead)
			exited_die(dead);
		if (mono() > S.deadline) {
			guestvm_print_tail();
			guestvm_die(GUESTVM_EXIT_HANG, "the workload guest hung while %s: no end after %d s (the guest's console above; logs in %s)",
				    S.phase, S.run.timeout_s, S.dir);
		}
		/* Once a splat began, nothing returns to the caller: the guest is not trusted. */
		until = S.splat.kind ? S.splat_end : end;
		if (until > S.deadline)
			until = S.deadline + 0.001;
		left = (int)((until - mono()) * 1000);
		if (left <= 0 && !S.splat.kind)
			return;
		if (left < 0)
			left = 0;
		for (int i = 0; i < GUESTVM_MAX_VMS; i++) {
			struct guestvm *vm = S.vms[i];

			if (!vm)
				continue;
			if (vm->con >= 0) {
				who[n] = vm;
				isctl[n] = false;
				p[n++] = (struct pollfd){ .fd = vm->con, .events = POLLIN };
			}
			if (vm->ctl >= 0) {
				who[n] = vm;
				isctl[n] = true;
				p[n++] = (struct pollfd){ .fd = vm->ctl, .events = POLLIN };
			}
		}
		/* A QEMU's exit shows in waitpid(), not in a descriptor: look again soon. */
		if (poll(p, (nfds_t)n, left < 100 ? left : 100) < 0 && errno != EINTR)
			guestvm_die(EXIT_INFRA, "poll: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				drain(who[i], isctl[i]);
	}
}

enum guestvm_ctl guestvm_wait_barrier(struct guestvm *vm)
{
	while (vm->barrier == GUESTVM_CTL_NONE)
		guestvm_pump(100);
	return vm->barrier;
}

void guestvm_go(struct guestvm *vm)
{
	if (vm->ctl < 0 || write(vm->ctl, "go\n", 3) != 3)
		guestvm_die(EXIT_INFRA, "cannot answer the barrier of the guest in QEMU %s: %s", vm->name,
			    vm->ctl < 0 ? "its control channel is closed" : strerror(errno));
	vm->barrier = GUESTVM_CTL_NONE;
}

static int connect_unix(struct guestvm *vm, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int tries = 0; tries < 300; tries++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			guestvm_die(EXIT_INFRA, "socket: %s", strerror(errno));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		reap(vm);
		if (!vm->pid)
			exited_die(vm);
		sleep_ms(100);
	}
	guestvm_die(EXIT_INFRA, "QEMU %s did not create %s within 30 s (its log: %s/qemu-%s.log)", vm->name,
		    path, S.dir, vm->name);
}

/*
 * Tell mmuprobe, when it runs us, what this QEMU is ($MMUPROBE_ROLES: "PID ROLE" lines),
 * for the whole recording.
 */
static void note_role(pid_t pid, const char *role)
{
	const char *path = getenv("MMUPROBE_ROLES");
	FILE *f;

	if (!role || !path || !(f = fopen(path, "a")))
		return;
	fprintf(f, "%d %s\n", (int)pid, role);
	fclose(f);
}

struct guestvm *guestvm_start(const char *name, bool incoming, const char *role)
{
	struct guestvm *vm = calloc(1, sizeof(*vm));
	struct guestvm_cmd cmd;
	char path[PATH_MAX], log[PATH_MAX];
	int slot = 0;

	while (slot < GUESTVM_MAX_VMS && S.vms[slot])
		slot++;
	if (!vm)
		guestvm_die(EXIT_INFRA, "out of memory");
	if (slot == GUESTVM_MAX_VMS)
		guestvm_die(EXIT_INFRA, "more than %d QEMU instances at once", GUESTVM_MAX_VMS);
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->con = vm->ctl = -1;
	vm->qmp.fd = -1;
	/* Started stopped, and continued once its serial ports are ours: no line is lost. */
	if (guestvm_cmdline(&S.run.conf, S.dir, name, incoming, true, &cmd))
		guestvm_die(EXIT_USAGE, "%s", cmd.err);
	snprintf(log, sizeof(log), "%s/qemu-%s.log", S.dir, name);
	fflush(NULL);
	vm->pid = fork();
	if (vm->pid < 0)
		guestvm_die(EXIT_INFRA, "fork: %s", strerror(errno));
	if (!vm->pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644), null = open("/dev/null", O_RDONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (null >= 0)
			dup2(null, 0);
		/* "anon": 4K host pages under the guest, whatever THP's global setting. */
		if (S.run.conf.backing && !strcmp(S.run.conf.backing, "anon"))
			prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		execvp(cmd.argv[0], cmd.argv);
		fprintf(stderr, "cannot run %s: %s\n", cmd.argv[0], strerror(errno));
		_exit(127);
	}
	guestvm_cmd_free(&cmd);
	S.vms[slot] = vm;
	live[slot] = vm->pid;
	note_role(vm->pid, role);
	/*
	 * QEMU creates its sockets once it has set the machine up, which on a loaded or debug
	 * test host can take a while: wait as long as it lives, within the deadline.
	 */
	snprintf(path, sizeof(path), "%s/qmp-%s.sock", S.dir, name);
	while (access(path, F_OK)) {
		reap(vm);
		if (!vm->pid) {
			print_log_tail(vm);
			guestvm_die(EXIT_INFRA, "QEMU %s exited (%s) before it opened QMP (its log above)", name,
				    wait_status(vm->status));
		}
		if (mono() > S.deadline)
			guestvm_die(GUESTVM_EXIT_HANG, "QEMU %s did not open QMP within %d s (its log: %s)", name,
				    S.run.timeout_s, log);
		sleep_ms(100);
	}
	if (qmp_open(&vm->qmp, path, 30)) {
		reap(vm);
		print_log_tail(vm);
		if (!vm->pid)
			guestvm_die(EXIT_INFRA, "QEMU %s exited (%s) while it started (its log above)", name,
				    wait_status(vm->status));
		guestvm_die(EXIT_INFRA, "QEMU %s: %s (its log above)", name, vm->qmp.err);
	}
	snprintf(path, sizeof(path), "%s/con-%s.sock", S.dir, name);
	vm->con = connect_unix(vm, path);
	snprintf(path, sizeof(path), "%s/ctl-%s.sock", S.dir, name);
	vm->ctl = connect_unix(vm, path);
	if (!incoming)
		json_object_put(guestvm_qmp(vm, "cont", NULL));
	return vm;
}

void guestvm_quit(struct guestvm *vm)
{
	vm->expendable = true;
	if (vm->pid)
		json_object_put(qmp_exec(&vm->qmp, "quit", NULL));
}

void guestvm_stop(struct guestvm *vm)
{
	if (vm->pid) {
		guestvm_quit(vm);
		for (int i = 0; i < 50 && vm->pid; i++) {
			sleep_ms(100);
			reap(vm);
		}
		if (vm->pid) {
			kill(vm->pid, SIGKILL);
			waitpid(vm->pid, &vm->status, 0);
			forget(vm->pid);
			vm->pid = 0;
		}
	}
	drain(vm, false);
	drain(vm, true);
	qmp_close(&vm->qmp);
	if (vm->con >= 0)
		close(vm->con);
	if (vm->ctl >= 0)
		close(vm->ctl);
	guestvm_lines_free(&vm->conl);
	guestvm_lines_free(&vm->ctll);
	for (int i = 0; i < GUESTVM_MAX_VMS; i++)
		if (S.vms[i] == vm)
			S.vms[i] = NULL;
	free(vm);
}

bool guestvm_wait_exit(struct guestvm *vm, int secs)
{
	double end = mono() + secs;

	vm->expendable = true;
	/* The job is done: the deadline does not cut this wait short. */
	if (S.deadline < end + 1)
		S.deadline = end + 1;
	while (vm->pid && mono() < end)
		guestvm_pump(100);
	return !vm->pid;
}

struct json_object *guestvm_stats(struct guestvm *vm)
{
	struct json_object *s = qmp_kvm_stats(&vm->qmp, 1);

	if (!s)
		guestvm_die(EXIT_INFRA, "QEMU %s: %s (its log: %s/qemu-%s.log)", vm->name, vm->qmp.err, S.dir,
			    vm->name);
	return s;
}

struct json_object *guestvm_qmp(struct guestvm *vm, const char *cmd, const char *args_json)
{
	struct json_object *r = qmp_execf(&vm->qmp, cmd, args_json);

	if (!r)
		guestvm_die(EXIT_INFRA, "QEMU %s: %s (its log: %s/qemu-%s.log)", vm->name, vm->qmp.err, S.dir,
			    vm->name);
	return r;
}

void guestvm_init(const struct guestvm_run *r)
{
	char err[256], path[96];

	S.run = *r;
	if (guestvm_check(&S.run.conf, err, sizeof(err)))
		guestvm_die(EXIT_USAGE, "%s", err);
	if (!is_tcg(&S.run.conf) && access("/dev/kvm", R_OK | W_OK))
		guestvm_die(EXIT_INFRA, "no /dev/kvm: run the workload guest on a test host with KVM loaded");
	snprintf(S.dir, sizeof(S.dir), "/tmp/%s.XXXXXX", prog());
	if (!mkdtemp(S.dir)) {
		S.dir[0] = '\0';
		guestvm_die(EXIT_INFRA, "mkdtemp /tmp: %s", strerror(errno));
	}
	signal(SIGPIPE, SIG_IGN);
	{
		struct sigaction sa = { .sa_handler = on_signal };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	snprintf(path, sizeof(path), "%s/console.log", S.dir);
	S.console = fopen(path, "we");
	if (S.console)
		setvbuf(S.console, NULL, _IOLBF, 0);
	if (S.run.conf.disk_mib) {
		int fd;

		disk_path(path, sizeof(path));
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		snprintf(disk_file, sizeof(disk_file), "%s", path);
		if (fd < 0 || ftruncate(fd, (off_t)S.run.conf.disk_mib << 20))
			guestvm_die(EXIT_INFRA, "cannot make the guest's %d MiB disk %s: %s", S.run.conf.disk_mib,
				    path, strerror(errno));
		close(fd);
	}
	S.t_zero = mono();
	S.deadline = S.t_zero + S.run.timeout_s;
	guestvm_phase("booting");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void guestvm_finish(void)
{
	for (int i = 0; i < GUESTVM_MAX_VMS; i++)
		if (S.vms[i])
			guestvm_stop(S.vms[i]);
	/* A splat in the guest's last lines (its power-off) fails the run all the same. */
	if (S.splat.kind)
		splat_die();
	if (S.console)
		fclose(S.console);
	S.console = NULL;
	if (S.dir[0] && nftw(S.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS))
		fprintf(stderr, "mmuscope: warning: %s: could not remove %s\n", prog(), S.dir);
	S.dir[0] = '\0';
}
