// SPDX-License-Identifier: GPL-2.0
/*
 * qmp: issue one QMP command to a running QEMU and print what it returned.
 *
 * A VM's KVM ioctls (KVM_GET_STATS_FD, KVM_SET_NR_MMU_PAGES) only work from the process
 * that owns it, so KVM's stats of a QEMU guest are read through QEMU: query-stats. The
 * shell-driven workloads (l2run) use this; workloads/migrate links qmpc.c itself.
 *
 * Usage: qmp [-w SECS] SOCKET COMMAND [ARGUMENTS-JSON]
 *   -w  wait up to SECS for the socket to accept a connection (QEMU still starting)
 * Prints the "return" member as JSON on stdout; a QMP error is one line on stderr, exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "qmpc.h"

int main(int argc, char **argv)
{
	struct json_object *ret;
	struct qmp q;
	int wait_secs = 0, opt;

	while ((opt = getopt(argc, argv, "w:")) != -1) {
		if (opt != 'w')
			goto usage;
		wait_secs = atoi(optarg);
	}
	if (argc - optind < 2 || argc - optind > 3)
		goto usage;
	if (qmp_open(&q, argv[optind], wait_secs))
		goto fail;
	ret = qmp_execf(&q, argv[optind + 1], argc - optind == 3 ? argv[optind + 2] : NULL);
	if (!ret)
		goto fail;
	puts(json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(ret);
	qmp_close(&q);
	return 0;
fail:
	fprintf(stderr, "qmp: %s\n", q.err);
	return 1;
usage:
	fprintf(stderr, "usage: qmp [-w SECS] SOCKET COMMAND [ARGUMENTS-JSON]\n");
	return 2;
}
