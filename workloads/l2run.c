// SPDX-License-Identifier: GPL-2.0
/*
 * l2run: boot the workload guest under QEMU/KVM on the test host and run one job in it.
 *
 * JOB is a program of the guest's initramfs (workloads/guest/, `make guest`); the guest's
 * kernel, initramfs and kernel parameters come from guest_images (scripts/lib.sh), which
 * workloads/l2run passes (-K, -I, -A). KVM's stats of the guest (query-stats of the VM and
 * the sum over its vCPUs) are read at the guest's two barriers (guestvm.h), so that their
 * deltas cover exactly the job. The job's result is the last console line that starts with
 * '{'. Prints one JSON document:
 *   {job: that line parsed (null if it is no JSON), rc: the job's status,
 *    boot_s: QEMU's start to the ready barrier, job_s: ready to done,
 *    shadow_pages: -S or null, kvm: {stat: delta over the job}}
 * Exit: the job's status; 124 the guest hung or reported a hang; 3 no KVM, QEMU or the
 * guest failed or crashed, no JSON line from the job; 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "guestvm.h"

enum { OPT_ACCEL = 256, OPT_CHECK };

static char *job_line;	/* the last console line that starts with '{' */

static void on_console(struct guestvm *vm, const char *line)
{
	(void)vm;
	if (line[0] == '{') {
		free(job_line);
		job_line = strdup(line);
	}
}

/* The job's line as JSON, or NULL (null) when it is not one JSON object alone. */
static struct json_object *job_json(const char *line)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	size_t len = strlen(line);

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    line[json_tokener_get_parse_end(tok) + strspn(line + json_tokener_get_parse_end(tok), " \t")]) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int num(const char *s, char o, int min, int *v)
{
	char *end;
	long x = strtol(s, &end, 10);

	if (*end || end == s || x < min || x > 1 << 30)
		return cli_usage_error("l2run", "-%c wants a number of at least %d, got '%s'", o, min, s);
	*v = (int)x;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: l2run -K BZIMAGE -I INITRD -A ARGS [-S SHADOW_PAGES] [-m MEM] [-c CPUS] [-t SECS]\n"
"             [-9] [-d DISK_MB] [--accel kvm|tcg] -- JOB [ARG...]\n"
"       workloads/l2run [OPTIONS] -- JOB [ARG...]   (passes -K, -I and -A: guest_images)\n"
"Boots the workload guest (BZIMAGE, INITRD, kernel parameters ARGS) under QEMU/KVM and runs\n"
"JOB, a program of its initramfs, between its two barriers; KVM's stats (query-stats of the\n"
"VM and the sum over its vCPUs) are read at both, so that their deltas cover the job alone.\n"
"Prints one JSON document: {job: the job's last console line that starts with '{', parsed\n"
"(null if not JSON), rc: its status, boot_s, job_s, shadow_pages: -S or null, kvm: {stat:\n"
"delta}}. The guest's console is watched for kernel splats (testhost/splat.c).\n"
"  -S PAGES       KVM_SET_NR_MMU_PAGES through QEMU's kvm-shadow-mem\n"
"  -m MEM         guest memory, QEMU's -m (default 256M)\n"
"  -c CPUS        vCPUs (default 1)\n"
"  -t SECS        give up after SECS (default 600): exit 124\n"
"  -9             this host's root over 9p, read-only (Debian's gcc, make, fio in the guest)\n"
"  -d DISK_MB     a scratch virtio-blk disk of DISK_MB (/dev/vda; a file in /tmp)\n"
"  --accel tcg    QEMU's TCG instead of KVM, to try the launcher where there is no KVM to\n"
"                 use (no stats: kvm is {}; not with -S)\n"
"  --check        only check the command line (workloads/l2run, before looking for images)\n"
"  -h, --help     this text\n"
"Exit: the job's status; 124 the guest hung, or reported a hang (soft lockup, RCU stall,\n"
"hung task); 3 no KVM, QEMU or the guest failed or crashed (a splat on its console), no\n"
"JSON line from the job; 2 usage.\n"
"Examples:\n"
"  workloads/l2run -t 240 -S 256 -- /bin/forkjob -n 60 -p 2 -c 96 -H 48\n"
"  workloads/l2run --accel tcg -t 60 -- /bin/forkjob -n 10 -p 1 -c 16 -H 8\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "accel", required_argument, NULL, OPT_ACCEL }, { "check", no_argument, NULL, OPT_CHECK },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct guestvm_run run = {
		.prog = "l2run", .timeout_s = 600, .job_ends = true, .on_console = on_console,
		.conf = { .mem = "256M", .cpus = 1 },
	};
	struct json_object *out, *before, *after;
	struct guestvm *vm;
	int o, shadow = -1, rc;
	bool check = false;
	double t0, t1, t2;
	char err[256];

	opterr = 0;
	/* "+": the job's own options are never ours, -- or not */
	while ((o = getopt_long(argc, argv, "+:K:I:A:S:m:c:t:9d:h", longopts, NULL)) != -1) {
		switch (o) {
		case 'K': run.conf.kernel = optarg; break;
		case 'I': run.conf.initrd = optarg; break;
		case 'A': run.conf.kargs = optarg; break;
		case 'S':
			if (num(optarg, 'S', 0, &shadow))
				return EXIT_USAGE;
			run.conf.shadow_pages = shadow;
			break;
		case 'm': run.conf.mem = optarg; break;
		case 'c':
			if (num(optarg, 'c', 1, &run.conf.cpus))
				return EXIT_USAGE;
			break;
		case 't':
			if (num(optarg, 't', 1, &run.timeout_s))
				return EXIT_USAGE;
			break;
		case '9': run.conf.hostroot = true; break;
		case 'd':
			if (num(optarg, 'd', 1, &run.conf.disk_mib))
				return EXIT_USAGE;
			break;
		case OPT_ACCEL: run.conf.accel = optarg; break;
		case OPT_CHECK: check = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option("l2run", o, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("l2run", "a JOB after -- is needed");
	run.conf.job = guestvm_join(argv + optind, argc - optind);
	if (!run.conf.job)
		guestvm_die(EXIT_INFRA, "out of memory");
	if (guestvm_check(&run.conf, err, sizeof(err)))
		return cli_usage_error("l2run", "%s", err);
	if (check)
		return EXIT_OK;
	if (!run.conf.kernel || !run.conf.initrd || !run.conf.kargs)
		return cli_usage_error("l2run", "-K, -I and -A are needed (workloads/l2run passes them)");

	t0 = wall();
	guestvm_init(&run);
	vm = guestvm_start("q0", false, NULL);
	if (guestvm_wait_barrier(vm) != GUESTVM_CTL_READY)
		guestvm_die(EXIT_INFRA, "the guest's job ended before its ready barrier");
	t1 = wall();
	before = guestvm_stats(vm);
	guestvm_phase("running %s", argv[optind]);
	guestvm_go(vm);
	if (guestvm_wait_barrier(vm) != GUESTVM_CTL_DONE)
		guestvm_die(EXIT_INFRA, "the guest sent a second ready barrier, no done barrier");
	t2 = wall();
	after = guestvm_stats(vm);
	qmp_stats_subtract(after, before);
	json_object_put(before);
	rc = vm->rc;
	/* With -no-reboot, the guest's reboot after its job ends QEMU. */
	guestvm_phase("powering off after its job");
	guestvm_go(vm);
	if (!guestvm_wait_exit(vm, 30))
		fprintf(stderr, "mmuscope: warning: l2run: the workload guest did not reboot after its job: QEMU killed\n");
	guestvm_finish();
	if (!job_line) {
		guestvm_print_tail();
		guestvm_die(EXIT_INFRA, "the job printed no JSON line (the guest's console above)");
	}

	out = json_object_new_object();
	json_object_object_add(out, "job", job_json(job_line));
	json_object_object_add(out, "rc", json_object_new_int(rc));
	json_object_object_add(out, "boot_s", json_object_new_double(t1 - t0));
	json_object_object_add(out, "job_s", json_object_new_double(t2 - t1));
	json_object_object_add(out, "shadow_pages", shadow >= 0 ? json_object_new_int(shadow) : NULL);
	json_object_object_add(out, "kvm", after);
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	free(job_line);
	return rc;
}
