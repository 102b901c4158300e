// SPDX-License-Identifier: GPL-2.0
/* The workload given after `--` (supervise.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise.h"

/* Its status as a shell gives it. */
static int shell_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int workload_start(struct workload *w, char **cmd)
{
	pid_t pid;
	int fd;

	snprintf(w->roles_path, sizeof(w->roles_path), "/tmp/mmuprobe-roles.XXXXXX");
	fd = mkstemp(w->roles_path);
	if (fd < 0) {
		fprintf(stderr, "mmuprobe: warning: no roles file (%s): VMs of several VMMs get no role\n",
			strerror(errno));
		w->roles_path[0] = 0;
	} else {
		close(fd);
	}
	/*
	 * A SIGCHLD ignored by whoever started us would be inherited (exec keeps SIG_IGN):
	 * the kernel would reap the workload itself, wait4() would never see it end, and
	 * the workload's own children would be reaped behind its back too.
	 */
	signal(SIGCHLD, SIG_DFL);
	fflush(NULL);	/* nothing buffered to be written twice by the child */
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		fprintf(stderr, "mmuprobe: error: cannot start %s: fork: %s\n", cmd[0], strerror(-err));
		return err;
	}
	if (pid == 0) {
		if (w->roles_path[0])
			setenv("MMUPROBE_ROLES", w->roles_path, 1);
		execvp(cmd[0], cmd);
		/* As a shell says it: the status 127, the recording ends with it. */
		fprintf(stderr, "mmuprobe: error: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	w->pid = pid;
	return 0;
}

bool workload_ended(struct workload *w)
{
	int st;

	if (!w->pid || wait4(w->pid, &st, WNOHANG, &w->ru) != w->pid)
		return false;
	w->status = shell_status(st);
	w->pid = 0;
	return true;
}

/*
 * Stops the workload when we stop first (signal, --duration): SIGTERM, ten seconds to
 * exit, then SIGKILL, so that a workload that ignores SIGTERM cannot keep us (and the
 * final JSON) waiting forever.
 */
void workload_stop(struct workload *w)
{
	pid_t got = 0;
	int st = 0, i;

	if (!w->pid)
		return;
	kill(w->pid, SIGTERM);
	for (i = 0; i < 100 && (got = wait4(w->pid, &st, WNOHANG, &w->ru)) == 0; i++)
		usleep(100000);
	if (got == 0) {
		fprintf(stderr, "mmuprobe: warning: %d still running 10 s after SIGTERM: killed\n",
			(int)w->pid);
		kill(w->pid, SIGKILL);
		while ((got = wait4(w->pid, &st, 0, &w->ru)) < 0 && errno == EINTR)
			;
	}
	if (got == w->pid) {
		w->status = shell_status(st);
	} else {
		fprintf(stderr, "mmuprobe: error: cannot wait for the workload (pid %d): %s\n",
			(int)w->pid, strerror(errno));
		w->status = 3;	/* mmuprobe failed, not the workload (README.md, "Exit codes") */
	}
	w->pid = 0;
}

void workload_cleanup(struct workload *w)
{
	if (w->roles_path[0])
		unlink(w->roles_path);
	w->roles_path[0] = 0;
}
