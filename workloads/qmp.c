// SPDX-License-Identifier: GPL-2.0
/*
 * qmp: issue one QMP command to a running QEMU and print what it returned.
 *
 * A VM's KVM ioctls (KVM_GET_STATS_FD, KVM_SET_NR_MMU_PAGES) only work from the process
 * that owns it, so KVM's stats of a QEMU guest are read through QEMU: query-stats. This is
 * the client for a shell and for people; the programs that boot the workload guest (l2run,
 * migrate: guestvm.c) link qmpc.c themselves.
 *
 * Usage: qmp [-w SECS] SOCKET COMMAND [ARGUMENTS-JSON]
 *        qmp [-w SECS] -k [-d BEFORE] SOCKET
 *   -w  wait up to SECS for the socket to accept a connection (QEMU still starting)
 *   -k  KVM's stats of the VM and the sum over its vCPUs, one flat object {name: value}
 *   -d  with -k: each stat minus its value in BEFORE (an earlier -k's output)
 * Prints the "return" member (or the stats) as JSON on stdout. Errors are one line on
 * stderr: QEMU answered an error, or the arguments are no JSON object: exit 2 (the request);
 * no QEMU at SOCKET, or the link failed: exit 3.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "qmpc.h"

/* AFTER's stats minus BEFORE's (a stat BEFORE lacks counts from 0), in place. */
static int subtract(struct json_object *after, const char *before_path)
{
	struct json_object *before = json_object_from_file(before_path);

	if (!before || !json_object_is_type(before, json_type_object)) {
		fprintf(stderr, "qmp: error: %s is not the JSON object of an earlier 'qmp -k'\n", before_path);
		json_object_put(before);
		return -1;
	}
	qmp_stats_subtract(after, before);
	json_object_put(before);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: qmp [-w SECS] SOCKET COMMAND [ARGUMENTS-JSON]\n"
"       qmp [-w SECS] -k [-d BEFORE] SOCKET\n"
"One QMP command to the QEMU listening on SOCKET (-qmp unix:SOCKET,server=on,wait=off);\n"
"its \"return\" member printed as JSON.\n"
"  -w, --wait=SECS     wait up to SECS for SOCKET to accept (QEMU still starting)\n"
"  -k, --kvm-stats     KVM's stats of the VM and the sum over its vCPUs (query-stats), one\n"
"                      flat object {name: value}\n"
"  -d, --delta=BEFORE  with -k: each stat minus its value in BEFORE (an earlier -k's output)\n"
"  -h, --help          this text\n"
"Exit: 0; 2 usage, or the request refused (QEMU's error, or ARGUMENTS-JSON not a JSON\n"
"object: one line naming the command); 3 no QEMU at SOCKET, or the link failed.\n"
"Examples:\n"
"  qmp -w 20 /tmp/q.sock query-version\n"
"  qmp /tmp/q.sock migrate '{\"uri\": \"unix:/tmp/mig.sock\"}'\n"
"  qmp -k /tmp/q.sock >before.json; ...; qmp -k -d before.json /tmp/q.sock\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "wait", required_argument, NULL, 'w' }, { "kvm-stats", no_argument, NULL, 'k' },
		{ "delta", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *before = NULL;
	struct json_object *ret;
	struct qmp q = { .fd = -1 };
	int wait_secs = 0, stats = 0, opt, nargs;
	char *end;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":w:kd:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			wait_secs = (int)strtol(optarg, &end, 10);
			if (*end || end == optarg || wait_secs < 0)
				return cli_usage_error("qmp", "-w takes seconds, not '%s'", optarg);
			break;
		case 'k': stats = 1; break;
		case 'd': before = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option("qmp", opt, argv);
		}
	}
	nargs = argc - optind;
	if (stats ? nargs != 1 : (nargs < 2 || nargs > 3 || before))
		return cli_usage_error("qmp", stats ? "-k takes SOCKET alone" : before ?
				       "-d goes with -k" : "want SOCKET COMMAND [ARGUMENTS-JSON]");
	if (qmp_open(&q, argv[optind], wait_secs))
		goto fail;
	if (stats)
		ret = qmp_kvm_stats(&q, 1);
	else
		ret = qmp_execf(&q, argv[optind + 1], nargs == 3 ? argv[optind + 2] : NULL);
	if (!ret)
		goto fail;
	if (before && subtract(ret, before))
		return EXIT_USAGE;
	puts(json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(ret);
	qmp_close(&q);
	return EXIT_OK;
fail:
	fprintf(stderr, "qmp: %s\n", q.err);
	return q.refused ? EXIT_USAGE : EXIT_INFRA;
}
