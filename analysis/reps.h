/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The repetitions of one workload of a result set (<mode>/<workload>/<rep>.json:
 * resultset.h), each parsed once, and a metric's values over them.
 */
#ifndef MMUSCOPE_REPS_H
#define MMUSCOPE_REPS_H

#include <stddef.h>

#include <json-c/json.h>

#include "metricsconf.h"

struct reps {
	struct json_object **doc;	/* the readable repetitions */
	char **path;			/* each one's file */
	size_t n;
	int listed;			/* *.json files in the directory; -1: no directory */
	int bad;			/* of them, not valid JSON (each said once on stderr) */
};

/* The repetitions of dir into r (empty on failure: listed -1 when dir cannot be read). A
 * file that is not valid JSON is named once on stderr as "PROG: error: ...", counted in bad
 * and skipped. */
void reps_load(const char *prog, const char *dir, struct reps *r);
void reps_free(struct reps *r);

/* Metric m's values over r into v (room for r->n): how many repetitions have one. */
size_t reps_collect(const struct reps *r, const struct metric *m, double *v);

#endif
