// SPDX-License-Identifier: GPL-2.0
/* A minimal QMP client: see qmpc.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmpc.h"

static int fail(struct qmp *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->err, sizeof(q->err), fmt, ap);
	va_end(ap);
	q->refused = 0;
	return -1;
}

/* The next message that is not an event, or NULL. */
static struct json_object *qmp_read(struct qmp *q)
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, q->in) > 0) {
		struct json_object *msg = json_tokener_parse(line), *ev;

		if (!msg) {
			fail(q, "QEMU sent something that is not JSON: %.100s", line);
			break;
		}
		if (json_object_object_get_ex(msg, "event", &ev)) {
			json_object_put(msg);
			continue;
		}
		free(line);
		return msg;
	}
	if (!ferror(q->in) && !feof(q->in))
		;	/* the JSON error above */
	else if (errno == EAGAIN)
		fail(q, "QEMU did not answer within 60 s");
	else
		fail(q, "QEMU closed the QMP connection");
	free(line);
	return NULL;
}

int qmp_open(struct qmp *q, const char *path, int wait_secs)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct json_object *r;
	int tries = wait_secs * 10;

	q->fd = -1;
	q->in = NULL;
	q->err[0] = '\0';
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fail(q, "socket path too long: %s", path);
		q->refused = 1;
		return -1;
	}
	strcpy(sa.sun_path, path);
	for (;;) {
		q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (q->fd < 0)
			return fail(q, "socket: %s", strerror(errno));
		if (!connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(q->fd);
		q->fd = -1;
		if (tries-- <= 0)
			return fail(q, "cannot connect to %s: is QEMU running with -qmp unix:PATH,server=on,wait=off?",
				    path);
		nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
	}
	/* A QEMU that stopped answering must not hang the workload forever. */
	setsockopt(q->fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ .tv_sec = 60 },
		   sizeof(struct timeval));
	/* close-on-exec as q->fd: a QEMU started later must not hold this one's QMP */
	q->in = fdopen(fcntl(q->fd, F_DUPFD_CLOEXEC, 0), "r");
	if (!q->in)
		return fail(q, "fdopen: %s", strerror(errno));
	r = qmp_read(q);	/* the greeting */
	if (!r)
		return -1;
	json_object_put(r);
	r = qmp_exec(q, "qmp_capabilities", NULL);
	if (!r)
		return -1;
	json_object_put(r);
	return 0;
}

void qmp_close(struct qmp *q)
{
	if (q->in)
		fclose(q->in);
	if (q->fd >= 0)
		close(q->fd);
	q->in = NULL;
	q->fd = -1;
}

struct json_object *qmp_exec(struct qmp *q, const char *cmd, struct json_object *args)
{
	struct json_object *req = json_object_new_object(), *resp, *v;
	const char *s;
	int bad;

	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	bad = write(q->fd, s, strlen(s)) < 0 || write(q->fd, "\n", 1) < 0;
	json_object_put(req);
	if (bad) {
		fail(q, "%s: writing to QEMU: %s", cmd, strerror(errno));
		return NULL;
	}
	resp = qmp_read(q);
	if (!resp)
		return NULL;
	if (json_object_object_get_ex(resp, "error", &v)) {
		struct json_object *desc = NULL;

		json_object_object_get_ex(v, "desc", &desc);
		fail(q, "%s: %s", cmd, desc ? json_object_get_string(desc) : "error");
		q->refused = 1;
		json_object_put(resp);
		return NULL;
	}
	if (!json_object_object_get_ex(resp, "return", &v)) {
		fail(q, "%s: QEMU's answer has no \"return\"", cmd);
		json_object_put(resp);
		return NULL;
	}
	json_object_get(v);
	json_object_put(resp);
	return v;
}

struct json_object *qmp_execf(struct qmp *q, const char *cmd, const char *args_json)
{
	struct json_object *args = NULL, *r;

	if (args_json) {
		args = json_tokener_parse(args_json);
		if (!args || !json_object_is_type(args, json_type_object)) {
			fail(q, "%s: arguments are not a JSON object: %s", cmd, args_json);
			q->refused = 1;
			json_object_put(args);
			return NULL;
		}
	}
	r = qmp_exec(q, cmd, args);
	json_object_put(args);
	return r;
}

/* Add the integer stats of query-stats' answer R (provider "kvm") to SUM. */
static void add_kvm_stats(struct json_object *sum, struct json_object *r)
{
	for (size_t i = 0; i < json_object_array_length(r); i++) {
		struct json_object *e = json_object_array_get_idx(r, i), *prov, *st;

		if (!json_object_object_get_ex(e, "provider", &prov) ||
		    strcmp(json_object_get_string(prov), "kvm") ||
		    !json_object_object_get_ex(e, "stats", &st))
			continue;
		for (size_t j = 0; j < json_object_array_length(st); j++) {
			struct json_object *s = json_object_array_get_idx(st, j), *nm, *v, *old;
			int64_t acc;

			if (!json_object_object_get_ex(s, "name", &nm) ||
			    !json_object_object_get_ex(s, "value", &v) ||
			    !json_object_is_type(v, json_type_int))
				continue;
			acc = json_object_get_int64(v);
			if (json_object_object_get_ex(sum, json_object_get_string(nm), &old))
				acc += json_object_get_int64(old);
			json_object_object_add(sum, json_object_get_string(nm), json_object_new_int64(acc));
		}
	}
}

struct json_object *qmp_kvm_stats(struct qmp *q, int vcpus)
{
	static const char *const targets[] = { "{\"target\": \"vm\"}", "{\"target\": \"vcpu\"}" };
	struct json_object *sum = json_object_new_object();

	for (int t = 0; t < (vcpus ? 2 : 1); t++) {
		struct json_object *r = qmp_execf(q, "query-stats", targets[t]);

		if (!r) {
			json_object_put(sum);
			return NULL;
		}
		add_kvm_stats(sum, r);
		json_object_put(r);
	}
	return sum;
}

void qmp_stats_subtract(struct json_object *after, struct json_object *before)
{
	struct json_object *v;

	json_object_object_foreach(after, name, val) {
		if (json_object_object_get_ex(before, name, &v))
			json_object_set_int64(val, json_object_get_int64(val) - json_object_get_int64(v));
	}
}
