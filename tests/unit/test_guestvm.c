// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the workload guest's launcher (workloads/guestvm.c): QEMU's command line,
 * the control channel's barriers, console lines, splats on guest consoles, and the stats
 * delta (workloads/qmpc.c).
 *
 * Fixtures (tests/fixtures/guestvm/, consoles as QEMU's serial port gives them): fio.console
 * and panic-no-root.console are real (the guest kernel under TCG, 2026-12-07: an l2run fio
 * job; a boot with rdinit=/nope); the others are written after the 6.12 kernel's formats:
 * the user-mode #PF oops of README's "Nested guests under TCG", a soft lockup, an RCU stall,
 * and a kernel build's output that only looks like splats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guestvm.h"

#ifndef MMUSCOPE_FIXTURES
#define MMUSCOPE_FIXTURES "tests/fixtures"
#endif

static void assert_argv(const struct guestvm_cmd *cmd, const char *const *want)
{
	int n = 0;

	while (want[n])
		n++;
	for (int i = 0; i < n && i < cmd->argc; i++)
		assert_string_equal(cmd->argv[i], want[i]);
	assert_int_equal(cmd->argc, n);
	assert_null(cmd->argv[n]);
}

/* The shadow-fork workload's guest (l2run -t 240 -S 256), started stopped. */
static void cmdline_of_l2run(void **state)
{
	const struct guestvm_conf c = {
		.kernel = "/c/bzImage", .initrd = "/c/initramfs.cpio.gz",
		.kargs = "console=ttyS0 quiet panic=-1", .job = "/bin/forkjob -n 60 -p 2",
		.mem = "256M", .cpus = 1, .shadow_pages = 256,
	};
	static const char *const want[] = {
		"qemu-system-x86_64", "-accel", "kvm,kvm-shadow-mem=1048576", "-cpu", "host",
		"-m", "256M", "-smp", "1,sockets=1", "-nographic", "-nodefaults", "-no-reboot",
		"-kernel", "/c/bzImage", "-initrd", "/c/initramfs.cpio.gz",
		"-append", "console=ttyS0 quiet panic=-1 -- /bin/forkjob -n 60 -p 2",
		"-chardev", "socket,id=con,path=/tmp/l2run.X/con-q0.sock,server=on,wait=off",
		"-serial", "chardev:con",
		"-chardev", "socket,id=ctl,path=/tmp/l2run.X/ctl-q0.sock,server=on,wait=off",
		"-serial", "chardev:ctl",
		"-qmp", "unix:/tmp/l2run.X/qmp-q0.sock,server=on,wait=off", "-S", NULL
	};
	struct guestvm_cmd cmd;

	(void)state;
	assert_int_equal(guestvm_cmdline(&c, "/tmp/l2run.X", "q0", false, true, &cmd), 0);
	assert_argv(&cmd, want);
	guestvm_cmd_free(&cmd);
}

/* l2run -9 -d 128 -m 512M -c 2: the host's root over 9p, a scratch disk. */
static void cmdline_with_hostroot_and_disk(void **state)
{
	const struct guestvm_conf c = {
		.kernel = "/k", .initrd = "/i", .kargs = "quiet", .job = "/bin/fio-json --name=w",
		.mem = "512M", .cpus = 2, .hostroot = true, .disk_mib = 128,
	};
	static const char *const want[] = {
		"qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "512M", "-smp", "2,sockets=2",
		"-nographic", "-nodefaults", "-no-reboot", "-kernel", "/k", "-initrd", "/i",
		"-append", "quiet mmuscope.hostroot -- /bin/fio-json --name=w",
		"-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on",
		"-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
		"-drive", "file=/tmp/d/disk.img,format=raw,if=virtio",
		"-chardev", "socket,id=con,path=/tmp/d/con-q0.sock,server=on,wait=off", "-serial", "chardev:con",
		"-chardev", "socket,id=ctl,path=/tmp/d/ctl-q0.sock,server=on,wait=off", "-serial", "chardev:ctl",
		"-qmp", "unix:/tmp/d/qmp-q0.sock,server=on,wait=off", NULL
	};
	struct guestvm_cmd cmd;

	(void)state;
	assert_int_equal(guestvm_cmdline(&c, "/tmp/d", "q0", false, false, &cmd), 0);
	assert_argv(&cmd, want);
	guestvm_cmd_free(&cmd);
}

/* migrate's destination: a memory backend (-m in MiB gets its unit), the dirty ring. */
static void cmdline_of_a_migration_destination(void **state)
{
	struct guestvm_conf c = {
		.kernel = "/k", .initrd = "/i", .kargs = "quiet", .job = "/bin/dirtier -w 64",
		.mem = "512", .cpus = 2, .backing = "hugetlb", .dirty_ring = 4096, .shadow_pages = 256,
	};
	static const char *const want[] = {
		"qemu-system-x86_64", "-accel", "kvm,dirty-ring-size=4096,kvm-shadow-mem=1048576",
		"-cpu", "host", "-m", "512M", "-smp", "2,sockets=2",
		"-object", "memory-backend-memfd,id=ram,size=512M,hugetlb=on,hugetlbsize=2M",
		"-machine", "memory-backend=ram",
		"-nographic", "-nodefaults", "-no-reboot", "-kernel", "/k", "-initrd", "/i",
		"-append", "quiet -- /bin/dirtier -w 64",
		"-chardev", "socket,id=con,path=/tmp/m/con-q1.sock,server=on,wait=off", "-serial", "chardev:con",
		"-chardev", "socket,id=ctl,path=/tmp/m/ctl-q1.sock,server=on,wait=off", "-serial", "chardev:ctl",
		"-qmp", "unix:/tmp/m/qmp-q1.sock,server=on,wait=off", "-incoming", "defer", NULL
	};
	struct guestvm_cmd cmd;

	(void)state;
	/* incoming wins over paused: QEMU waits for the migration, and runs after it */
	assert_int_equal(guestvm_cmdline(&c, "/tmp/m", "q1", true, true, &cmd), 0);
	assert_argv(&cmd, want);
	guestvm_cmd_free(&cmd);
	c.backing = "thp";
	assert_int_equal(guestvm_cmdline(&c, "/tmp/m", "q1", true, true, &cmd), 0);
	assert_string_equal(cmd.argv[10], "memory-backend-ram,id=ram,size=512M");
	guestvm_cmd_free(&cmd);
}

static void cmdline_under_tcg(void **state)
{
	const struct guestvm_conf c = { .accel = "tcg", .kernel = "/k", .initrd = "/i", .kargs = "quiet",
					.job = "/bin/true", .mem = "1G", .cpus = 1 };
	struct guestvm_cmd cmd;

	(void)state;
	assert_int_equal(guestvm_cmdline(&c, "/tmp/t", "q0", false, true, &cmd), 0);
	assert_string_equal(cmd.argv[1], "-accel");
	assert_string_equal(cmd.argv[2], "tcg");
	assert_string_equal(cmd.argv[4], "max");
	assert_string_equal(cmd.argv[6], "1G");
	guestvm_cmd_free(&cmd);
}

static void check_refuses_what_cannot_boot(void **state)
{
	struct guestvm_conf ok = { .kargs = "quiet", .job = "/bin/true", .mem = "256M", .cpus = 1 }, c;
	char err[256], *longjob;
	struct guestvm_cmd cmd;

	(void)state;
	assert_int_equal(guestvm_check(&ok, err, sizeof(err)), 0);
#define REFUSED(field, value, words) do { \
		c = ok; c.field = value; \
		assert_int_equal(guestvm_check(&c, err, sizeof(err)), -1); \
		assert_non_null(strstr(err, words)); \
	} while (0)
	REFUSED(accel, "xen", "kvm or tcg");
	c = ok;
	c.accel = "tcg";
	c.shadow_pages = 256;
	assert_int_equal(guestvm_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "KVM's"));
	c.shadow_pages = 0;
	c.dirty_ring = 4096;
	assert_int_equal(guestvm_check(&c, err, sizeof(err)), -1);
	REFUSED(backing, "huge", "anon, thp or hugetlb");
	REFUSED(mem, "12X", "-m");
	REFUSED(mem, "0", "-m");
	REFUSED(mem, "", "-m");
	REFUSED(mem, "1GG", "-m");
	REFUSED(mem, NULL, "-m");
	REFUSED(cpus, 0, "vCPUs");
	REFUSED(disk_mib, -1, "disk");
	REFUSED(job, "", "no job");
	REFUSED(job, NULL, "no job");
	/* the kernel's command line holds 2047 bytes */
	longjob = malloc(2100);
	memset(longjob, 'x', 2099);
	longjob[2099] = '\0';
	REFUSED(job, longjob, "more than its 2047");
	longjob[GUESTVM_CMDLINE_MAX - 1 - strlen("quiet -- ")] = '\0';
	c.job = longjob;
	assert_int_equal(guestvm_check(&c, err, sizeof(err)), 0);
	longjob[GUESTVM_CMDLINE_MAX - 1 - strlen("quiet -- ")] = 'x';
	/* and so does the command line */
	c = ok;
	c.job = longjob;
	assert_int_equal(guestvm_cmdline(&c, "/tmp/d", "q0", false, true, &cmd), -1);
	assert_non_null(strstr(cmd.err, "2047"));
	free(longjob);
#undef REFUSED
}

static void append_and_join(void **state)
{
	struct guestvm_conf c = { .job = "/bin/true" };
	char *words[] = { "/bin/sh", "-c", "\"forkjob & exec dirtier\"" };
	char *s;

	(void)state;
	s = guestvm_append(&c);
	assert_string_equal(s, "-- /bin/true");
	free(s);
	c.hostroot = true;
	s = guestvm_append(&c);
	assert_string_equal(s, "mmuscope.hostroot -- /bin/true");
	free(s);
	c.kargs = "a=1 b";
	s = guestvm_append(&c);
	assert_string_equal(s, "a=1 b mmuscope.hostroot -- /bin/true");
	free(s);
	/* the quotes reach the guest's kernel, which keeps the script one argument (stress) */
	s = guestvm_join(words, 3);
	assert_string_equal(s, "/bin/sh -c \"forkjob & exec dirtier\"");
	free(s);
	s = guestvm_join(words, 0);
	assert_string_equal(s, "");
	free(s);
}

/* The two barriers of workloads/guest/init, and what is not one. */
static void parses_the_barriers(void **state)
{
	int rc = -1;

	(void)state;
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-ready", &rc), GUESTVM_CTL_READY);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-done 0", &rc), GUESTVM_CTL_DONE);
	assert_int_equal(rc, 0);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-done 137", &rc), GUESTVM_CTL_DONE);
	assert_int_equal(rc, 137);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-done 255", &rc), GUESTVM_CTL_DONE);
	assert_int_equal(rc, 255);
	/* a stray byte before the first line (a UART's) */
	assert_int_equal(guestvm_parse_ctl("\x7fmmuscope-guest-ready", &rc), GUESTVM_CTL_READY);
	/* noise */
	assert_int_equal(guestvm_parse_ctl("", &rc), GUESTVM_CTL_NONE);
	assert_int_equal(guestvm_parse_ctl("go", &rc), GUESTVM_CTL_NONE);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest: up after 1.2s", &rc), GUESTVM_CTL_NONE);
	/* the other side speaks another protocol */
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-done", &rc), GUESTVM_CTL_BAD);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-done ", &rc), GUESTVM_CTL_BAD);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-done x", &rc), GUESTVM_CTL_BAD);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-done 1 2", &rc), GUESTVM_CTL_BAD);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-done 256", &rc), GUESTVM_CTL_BAD);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-done -1", &rc), GUESTVM_CTL_BAD);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-ready now", &rc), GUESTVM_CTL_BAD);
	assert_int_equal(guestvm_parse_ctl("mmuscope-guest-set 1", &rc), GUESTVM_CTL_BAD);
}

struct got {
	char *lines[64];
	int n;
};

static void collect(void *arg, char *line)
{
	struct got *g = arg;

	assert_true(g->n < 64);
	g->lines[g->n++] = strdup(line);
}

static void got_free(struct got *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->lines[i]);
	g->n = 0;
}

static void splits_lines(void **state)
{
	static const char text[] = "ab\r\ncd\n\nef";
	struct guestvm_lines l = { 0 };
	struct got g = { 0 };

	(void)state;
	/* a byte at a time, as a slow UART gives them */
	for (size_t i = 0; i < sizeof(text) - 1; i++)
		assert_int_equal(guestvm_lines_feed(&l, text + i, 1, collect, &g), 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.lines[0], "ab");
	assert_string_equal(g.lines[1], "cd");
	assert_string_equal(g.lines[2], "");
	guestvm_lines_flush(&l, collect, &g);
	assert_int_equal(g.n, 4);
	assert_string_equal(g.lines[3], "ef");
	guestvm_lines_flush(&l, collect, &g);
	assert_int_equal(g.n, 4);
	got_free(&g);
	guestvm_lines_free(&l);
}

/* A line longer than GUESTVM_LINE_MAX is cut there, not dropped. */
static void cuts_an_endless_line(void **state)
{
	struct guestvm_lines l = { 0 };
	struct got g = { 0 };
	size_t n = GUESTVM_LINE_MAX + 10;
	char *big = malloc(n + 1);

	(void)state;
	memset(big, 'x', n);
	big[n] = '\n';
	assert_int_equal(guestvm_lines_feed(&l, big, n + 1, collect, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(strlen(g.lines[0]), GUESTVM_LINE_MAX);
	assert_int_equal(strlen(g.lines[1]), 10);
	got_free(&g);
	/* exactly at the limit, then its newline: one line */
	assert_int_equal(guestvm_lines_feed(&l, big, GUESTVM_LINE_MAX, collect, &g), 0);
	assert_int_equal(guestvm_lines_feed(&l, "\nz\n", 3, collect, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(strlen(g.lines[0]), GUESTVM_LINE_MAX);
	assert_string_equal(g.lines[1], "z");
	got_free(&g);
	free(big);
	guestvm_lines_free(&l);
}

static char *slurp(const char *name, size_t *len)
{
	char path[512], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/guestvm/%s", MMUSCOPE_FIXTURES, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

struct watch {
	struct guestvm_splat splat;
	int starts;		/* lines that started a splat */
	int lines;
	char *json;		/* the last line that starts with '{' (l2run's job line) */
};

static void watch_line(void *arg, char *line)
{
	struct watch *w = arg;

	w->lines++;
	w->starts += guestvm_splat_feed(&w->splat, line);
	if (line[0] == '{') {
		free(w->json);
		w->json = strdup(line);
	}
}

/* A fixture's console through the line splitter in CHUNK-byte reads, then the splat watch. */
static void watch_console(const char *name, size_t chunk, struct watch *w)
{
	struct guestvm_lines l = { 0 };
	size_t len;
	char *text = slurp(name, &len);

	memset(w, 0, sizeof(*w));
	for (size_t off = 0; off < len; off += chunk)
		assert_int_equal(guestvm_lines_feed(&l, text + off, len - off < chunk ? len - off : chunk,
						    watch_line, w), 0);
	guestvm_lines_flush(&l, watch_line, w);
	guestvm_lines_free(&l);
	free(text);
}

static void watch_free(struct watch *w)
{
	guestvm_splat_free(&w->splat);
	free(w->json);
}

static void clean_consoles_have_no_splat(void **state)
{
	struct watch w;

	(void)state;
	/* fio's report is one 6 KiB line: it comes whole through 7-byte reads */
	watch_console("fio.console", 7, &w);
	assert_null(w.splat.kind);
	assert_int_equal(w.starts, 0);
	assert_non_null(w.json);
	assert_true(strlen(w.json) > 6000);
	assert_non_null(strstr(w.json, "\"fio version\" : \"fio-3.33\""));
	assert_int_equal(w.json[strlen(w.json) - 1], '}');
	watch_free(&w);
	/* a job's output that only looks like splats: no printk time, not the kernel's */
	watch_console("job-noise.console", 4096, &w);
	assert_null(w.splat.kind);
	assert_int_equal(w.lines, 9);
	assert_string_equal(w.json, "{\"runs\": [{\"elapsed_s\": 12.3}], \"elapsed_s_median\": 12.3}");
	watch_free(&w);
}

/* A real panic, its first line behind SeaBIOS's terminal codes (a quiet kernel's first). */
static void finds_a_panic_behind_the_bios(void **state)
{
	struct watch w;

	(void)state;
	watch_console("panic-no-root.console", 64, &w);
	assert_string_equal(w.splat.kind, "panic");
	assert_false(w.splat.hang);
	assert_int_equal(w.starts, 1);
	assert_string_equal(w.splat.lines[0], "[    1.042199] Kernel panic - not syncing: VFS: Unable to mount root fs on \"\" or unknown-block(0,0)");
	assert_int_equal(w.splat.nlines, 15);
	assert_string_equal(w.splat.lines[14], "[    1.054629] Kernel Offset: disabled");
	watch_free(&w);
}

static void finds_an_oops_and_keeps_its_report(void **state)
{
	struct watch w;

	(void)state;
	watch_console("oops-user-pf.console", 100, &w);
	assert_string_equal(w.splat.kind, "BUG");
	assert_false(w.splat.hang);
	assert_int_equal(w.starts, 1);
	assert_string_equal(w.splat.lines[0], "[   12.345678] BUG: unable to handle page fault for address: 00007f3a1c000000");
	assert_string_equal(w.splat.lines[1], "[   12.345701] #PF: supervisor read access in user mode");
	assert_int_equal(w.splat.nlines, 17);
	assert_non_null(strstr(w.splat.lines[14], "Kernel panic - not syncing: Fatal exception"));
	watch_free(&w);
}

static void tells_a_reported_hang(void **state)
{
	struct watch w;

	(void)state;
	watch_console("soft-lockup.console", 13, &w);
	assert_string_equal(w.splat.kind, "soft lockup");
	assert_true(w.splat.hang);
	/* the job's lines after it are kept with the report */
	assert_int_equal(w.splat.nlines, 6);
	assert_string_equal(w.splat.lines[5], "dirtier 187400 12.0 0");
	watch_free(&w);
	watch_console("rcu-stall.console", 4096, &w);
	assert_string_equal(w.splat.kind, "RCU stall");
	assert_true(w.splat.hang);
	watch_free(&w);
}

static void keeps_the_first_splat_and_its_first_lines(void **state)
{
	struct guestvm_splat s = { 0 };
	char line[64];

	(void)state;
	assert_int_equal(guestvm_splat_feed(&s, "[    1.0] ordinary"), 0);
	assert_int_equal(s.nlines, 0);
	assert_int_equal(guestvm_splat_feed(&s, "[    2.0] watchdog: BUG: soft lockup - CPU#0 stuck for 130s!"), 1);
	assert_int_equal(guestvm_splat_feed(&s, "[    3.0] Kernel panic - not syncing: softlockup: hung tasks"), 0);
	assert_string_equal(s.kind, "soft lockup");
	assert_true(s.hang);
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "[    4.%d] line %d", i, i);
		assert_int_equal(guestvm_splat_feed(&s, line), 0);
	}
	assert_int_equal(s.nlines, GUESTVM_SPLAT_LINES);
	assert_string_equal(s.lines[GUESTVM_SPLAT_LINES - 1], "[    4.57] line 57");
	guestvm_splat_free(&s);
	assert_null(s.kind);
}

static void finds_the_kernels_text(void **state)
{
	const char *k = "[    1.0] x", *l = "junk\x1b[2J[    2.500000] BUG: x";

	(void)state;
	assert_ptr_equal(guestvm_kernel_text(k), k);
	assert_string_equal(guestvm_kernel_text(l), "[    2.500000] BUG: x");
	assert_null(guestvm_kernel_text("BUG: no time"));
	assert_null(guestvm_kernel_text("[abc] x"));
	assert_null(guestvm_kernel_text("["));
	assert_null(guestvm_kernel_text(""));
}

/* qmp -k -d and l2run's kvm member: each stat minus its value before. */
static void subtracts_stats(void **state)
{
	struct json_object *after = json_tokener_parse("{\"exits\": 10, \"pages_4k\": 5, \"mmu_recycled\": 7}");
	struct json_object *before = json_tokener_parse("{\"exits\": 4, \"mmu_recycled\": 7, \"gone\": 3}");

	(void)state;
	qmp_stats_subtract(after, before);
	assert_string_equal(json_object_to_json_string_ext(after, JSON_C_TO_STRING_PLAIN),
			    "{\"exits\":6,\"pages_4k\":5,\"mmu_recycled\":0}");
	json_object_put(after);
	json_object_put(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cmdline_of_l2run),
		cmocka_unit_test(cmdline_with_hostroot_and_disk),
		cmocka_unit_test(cmdline_of_a_migration_destination),
		cmocka_unit_test(cmdline_under_tcg),
		cmocka_unit_test(check_refuses_what_cannot_boot),
		cmocka_unit_test(append_and_join),
		cmocka_unit_test(parses_the_barriers),
		cmocka_unit_test(splits_lines),
		cmocka_unit_test(cuts_an_endless_line),
		cmocka_unit_test(clean_consoles_have_no_splat),
		cmocka_unit_test(finds_a_panic_behind_the_bios),
		cmocka_unit_test(finds_an_oops_and_keeps_its_report),
		cmocka_unit_test(tells_a_reported_hang),
		cmocka_unit_test(keeps_the_first_splat_and_its_first_lines),
		cmocka_unit_test(finds_the_kernels_text),
		cmocka_unit_test(subtracts_stats),
	};

	return cmocka_run_group_tests_name("guestvm", tests, NULL, NULL);
}
