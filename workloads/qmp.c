// SPDX-License-Identifier: GPL-2.0
/*
 * qmp: issue one QMP command to a running QEMU and print what it returned.
 *
 * A VM's KVM ioctls (KVM_GET_STATS_FD, KVM_SET_NR_MMU_PAGES) only work from the process
 * that owns it, so KVM's stats of a QEMU guest are read through QEMU: query-stats. The
 * workloads use this for mmu_recycled and friends, for migrations and their cancels.
 *
 * Usage: qmp [-w SECS] SOCKET COMMAND [ARGUMENTS-JSON]
 *   -w  wait up to SECS for the socket to accept a connection (QEMU still starting)
 * Prints the "return" member as JSON on stdout; a QMP error is one line on stderr, exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

static FILE *qmp_in;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "qmp: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static int qmp_connect(const char *path, int wait_secs)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, tries = wait_secs * 10;

	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			/* A QEMU that stopped answering must not hang the workload forever. */
			struct timeval tv = { .tv_sec = 60 };

			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			return fd;
		}
		close(fd);
		if (tries-- <= 0)
			die("cannot connect to %s: is QEMU running with -qmp unix:PATH,server=on,wait=off?",
			    path);
		nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
	}
}

/* The next message that is not an event. */
static struct json_object *qmp_read(void)
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, qmp_in) > 0) {
		struct json_object *msg = json_tokener_parse(line), *ev;

		if (!msg)
			die("QEMU sent something that is not JSON: %s", line);
		if (json_object_object_get_ex(msg, "event", &ev)) {
			json_object_put(msg);
			continue;
		}
		free(line);
		return msg;
	}
	free(line);
	die("%s", errno == EAGAIN ? "QEMU did not answer within 60 s" : "QEMU closed the QMP connection");
	return NULL;
}

static struct json_object *qmp_execute(int fd, const char *cmd, struct json_object *args)
{
	struct json_object *req = json_object_new_object(), *resp, *v;
	const char *s;

	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (write(fd, s, strlen(s)) < 0 || write(fd, "\n", 1) < 0)
		die("writing to QEMU: %s", strerror(errno));
	json_object_put(req);
	resp = qmp_read();
	if (json_object_object_get_ex(resp, "error", &v)) {
		struct json_object *desc;

		json_object_object_get_ex(v, "desc", &desc);
		fprintf(stderr, "qmp: %s: %s\n", cmd, desc ? json_object_get_string(desc) : "error");
		exit(1);
	}
	if (!json_object_object_get_ex(resp, "return", &v))
		die("QEMU's answer has no \"return\": %s", json_object_to_json_string(resp));
	json_object_get(v);
	json_object_put(resp);
	return v;
}

int main(int argc, char **argv)
{
	struct json_object *args = NULL, *ret;
	int fd, wait_secs = 0, opt;

	while ((opt = getopt(argc, argv, "w:")) != -1) {
		if (opt != 'w')
			goto usage;
		wait_secs = atoi(optarg);
	}
	if (argc - optind < 2 || argc - optind > 3)
		goto usage;
	if (argc - optind == 3) {
		args = json_tokener_parse(argv[optind + 2]);
		if (!args || !json_object_is_type(args, json_type_object))
			die("ARGUMENTS must be a JSON object, got: %s", argv[optind + 2]);
	}
	fd = qmp_connect(argv[optind], wait_secs);
	qmp_in = fdopen(dup(fd), "r");
	if (!qmp_in)
		die("fdopen: %s", strerror(errno));
	json_object_put(qmp_read());	/* the greeting */
	json_object_put(qmp_execute(fd, "qmp_capabilities", NULL));
	ret = qmp_execute(fd, argv[optind + 1], args);
	puts(json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(ret);
	json_object_put(args);
	return 0;
usage:
	fprintf(stderr, "usage: qmp [-w SECS] SOCKET COMMAND [ARGUMENTS-JSON]\n");
	return 2;
}
