/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The workload given after `--`: started once the probes are attached, watched while
 * recording, stopped (SIGTERM, then SIGKILL) when the recording ends first. Its exit
 * status is mmuprobe's, as a shell gives it (the code, or 128 + the signal).
 */
#ifndef MMUSCOPE_SUPERVISE_H
#define MMUSCOPE_SUPERVISE_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

struct workload {
	pid_t pid;		/* while it runs, else 0 */
	int status;		/* once it has ended */
	struct rusage ru;	/* what it and the children it waited for used (wait4) */
	/* The file its VMMs' roles are written to ($MMUPROBE_ROLES), "" without. */
	char roles_path[64];
};

/* Runs cmd with $MMUPROBE_ROLES set. 0, or -errno after saying what failed (fork; a
 * command that cannot be run exits 127, as in a shell). */
int workload_start(struct workload *w, char **cmd);
/* Whether it has ended (reaped, status set); never waits. */
bool workload_ended(struct workload *w);
/* Stops it if it runs: SIGTERM, ten seconds to exit, then SIGKILL; reaps it. Only the
 * workload itself is signalled, not the processes it started. */
void workload_stop(struct workload *w);
/* Removes the roles file. */
void workload_cleanup(struct workload *w);

#endif
