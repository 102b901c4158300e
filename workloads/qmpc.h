/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal QMP client (QEMU Machine Protocol over a unix socket), on json-c. */
#ifndef MMUSCOPE_QMPC_H
#define MMUSCOPE_QMPC_H

#include <json-c/json.h>

struct qmp {
	int fd;
	FILE *in;
	char err[256];	/* why the last call failed */
	int refused;	/* ... and it failed because QEMU answered an error, or its
			 * arguments were no JSON object: the request, not the link */
};

/*
 * Connect to PATH, waiting up to WAIT_SECS for QEMU to create it, and leave the
 * capabilities negotiation mode. Answers are awaited for at most 60 s each.
 * Returns 0, or -1 with q->err set.
 */
int qmp_open(struct qmp *q, const char *path, int wait_secs);
void qmp_close(struct qmp *q);

/*
 * Execute CMD with ARGS (NULL: none; the reference stays the caller's) and return its
 * "return" member (the caller puts it), or NULL with q->err set ("CMD: QEMU's desc").
 * Asynchronous events that arrive meanwhile are skipped.
 */
struct json_object *qmp_exec(struct qmp *q, const char *cmd, struct json_object *args);

/* qmp_exec() with ARGS given as JSON text; NULL text: no arguments. */
struct json_object *qmp_execf(struct qmp *q, const char *cmd, const char *args_json);

/*
 * KVM's stats of the VM (query-stats, provider "kvm"), plus the sum over its vCPUs when
 * VCPUS, as one flat object {name: value} of the integer stats. NULL with q->err set.
 */
struct json_object *qmp_kvm_stats(struct qmp *q, int vcpus);

/*
 * AFTER's stats minus BEFORE's (both qmp_kvm_stats() objects), in place: what a stretch
 * of time added; a stat BEFORE lacks counts from 0.
 */
void qmp_stats_subtract(struct json_object *after, struct json_object *before);

#endif
