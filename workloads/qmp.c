// SPDX-License-Identifier: GPL-2.0
/*
 * qmp: issue one QMP command to a running QEMU and print what it returned.
 *
 * A VM's KVM ioctls (KVM_GET_STATS_FD, KVM_SET_NR_MMU_PAGES) only work from the process
 * that owns it, so KVM's stats of a QEMU guest are read through QEMU: query-stats. The
 * shell-driven workloads (l2run) use this; workloads/migrate links qmpc.c itself.
 *
 * Usage: qmp [-w SECS] SOCKET COMMAND [ARGUMENTS-JSON]
 *        qmp [-w SECS] -k [-d BEFORE] SOCKET
 *   -w  wait up to SECS for the socket to accept a connection (QEMU still starting)
 *   -k  KVM's stats of the VM and the sum over its vCPUs, one flat object {name: value}
 *   -d  with -k: each stat minus its value in BEFORE (an earlier -k's output)
 * Prints the "return" member (or the stats) as JSON on stdout; a QMP error is one line on
 * stderr, exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "qmpc.h"

/* AFTER's stats minus BEFORE's (a stat BEFORE lacks counts from 0), in place. */
static int subtract(struct json_object *after, const char *before_path)
{
	struct json_object *before = json_object_from_file(before_path), *v;

	if (!before || !json_object_is_type(before, json_type_object)) {
		fprintf(stderr, "qmp: %s is not the JSON object of an earlier 'qmp -k'\n", before_path);
		json_object_put(before);
		return -1;
	}
	json_object_object_foreach(after, name, val) {
		if (json_object_object_get_ex(before, name, &v))
			json_object_set_int64(val, json_object_get_int64(val) - json_object_get_int64(v));
	}
	json_object_put(before);
	return 0;
}

int main(int argc, char **argv)
{
	const char *before = NULL;
	struct json_object *ret;
	struct qmp q;
	int wait_secs = 0, stats = 0, opt, nargs;

	while ((opt = getopt(argc, argv, "w:kd:")) != -1) {
		switch (opt) {
		case 'w': wait_secs = atoi(optarg); break;
		case 'k': stats = 1; break;
		case 'd': before = optarg; break;
		default: goto usage;
		}
	}
	nargs = argc - optind;
	if (stats ? nargs != 1 : (nargs < 2 || nargs > 3 || before))
		goto usage;
	if (qmp_open(&q, argv[optind], wait_secs))
		goto fail;
	if (stats)
		ret = qmp_kvm_stats(&q, 1);
	else
		ret = qmp_execf(&q, argv[optind + 1], nargs == 3 ? argv[optind + 2] : NULL);
	if (!ret)
		goto fail;
	if (before && subtract(ret, before))
		return 1;
	puts(json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(ret);
	qmp_close(&q);
	return 0;
fail:
	fprintf(stderr, "qmp: %s\n", q.err);
	return 1;
usage:
	fprintf(stderr, "usage: qmp [-w SECS] SOCKET COMMAND [ARGUMENTS-JSON]\n"
		"       qmp [-w SECS] -k [-d BEFORE] SOCKET\n");
	return 2;
}
