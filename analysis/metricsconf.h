/* SPDX-License-Identifier: GPL-2.0 */
/*
 * analysis/metrics.conf: the metrics the analysis programs read from each repetition's
 * JSON, one per non-comment line (its header comment is the reference):
 *
 *   NAME WORKLOADS PATH lower|higher THRESHOLD%|- [headline] [gate|gate-insns|gate-wall]
 *
 * WORKLOADS is an fnmatch pattern of workload names, PATH an expression of metricpath.h.
 * Errors are one line on stderr, "PROG: error: FILE:LINE: ...", naming the fix; PROG is the
 * calling program's name (compare, bisect_report).
 */
#ifndef MMUSCOPE_METRICSCONF_H
#define MMUSCOPE_METRICSCONF_H

#include <stdbool.h>

#include "metricpath.h"

#define METRICSCONF_MAX 128	/* metrics per file */

struct metric {
	char name[64];
	char workloads[64];	/* fnmatch pattern */
	char path[METRICPATH_MAX];	/* PATH or ratio(PATH,PATH): metricpath.h */
	bool lower_is_better;
	bool has_threshold;	/* false: THRESHOLD "-" */
	bool gate;		/* flag "gate": in the gated family of its workloads, always */
	bool gate_insns;	/* flag "gate-insns": ... when both sets carry instruction counts */
	bool gate_wall;		/* flag "gate-wall": ... when they do not (compare's choose_family()) */
	bool headline;		/* flag "headline": first table after the gate */
	double threshold;	/* percent */
};

/* One non-comment line of a metrics file into m (zeroed first): false after a one-line
 * error naming file:lineno and the fix. */
bool metricsconf_parse(const char *prog, struct metric *m, const char *line, const char *file,
		       int lineno);

/* Every metric of file into m[0..max): their number, or -1 after a one-line error (a file
 * that cannot be read, a malformed line, a line too long, more than max metrics). */
int metricsconf_load(const char *prog, const char *file, struct metric *m, int max);

/* The metric called name among m[0..n), or NULL. */
const struct metric *metricsconf_find(const struct metric *m, int n, const char *name);

#endif
