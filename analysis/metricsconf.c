// SPDX-License-Identifier: GPL-2.0
/* metricsconf: the parser of analysis/metrics.conf shared by the analysis programs
 * (metricsconf.h); the same rules as compare's own copy, messages prefixed with the
 * calling program's name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metricsconf.h"

/* FLAG into m; false if unknown. */
static bool set_flag(struct metric *m, const char *flag)
{
	if (!strcmp(flag, "headline"))
		m->headline = true;
	else if (!strcmp(flag, "gate"))
		m->gate = true;
	else if (!strcmp(flag, "gate-insns"))
		m->gate_insns = true;
	else if (!strcmp(flag, "gate-wall"))
		m->gate_wall = true;
	else
		return false;
	return true;
}

bool metricsconf_parse(const char *prog, struct metric *m, const char *line, const char *file,
		       int lineno)
{
	char better[16], threshold[16], flags[512], *end, *flag, *save;
	int used = 0;
	bool ok;
	const char *why;

	memset(m, 0, sizeof(*m));
	ok = sscanf(line, "%63s %63s %511s %15s %15s%n", m->name, m->workloads, m->path,
		    better, threshold, &used) == 5;
	snprintf(flags, sizeof(flags), "%s", ok ? line + used : "");
	for (flag = strtok_r(flags, " \t\n", &save); ok && flag; flag = strtok_r(NULL, " \t\n", &save))
		ok = set_flag(m, flag);
	if (!ok || (strcmp(better, "lower") && strcmp(better, "higher")) ||
	    (strcmp(threshold, "-") && ((m->threshold = strtod(threshold, &end)) < 0 || *end))) {
		fprintf(stderr, "%s: error: %s:%d: want 'NAME WORKLOADS PATH lower|higher "
			"THRESHOLD%%|- [headline] [gate|gate-insns|gate-wall]'\n", prog, file, lineno);
		return false;
	}
	m->lower_is_better = !strcmp(better, "lower");
	m->has_threshold = strcmp(threshold, "-") != 0;
	if (!metricpath_valid(m->path, &why)) {
		fprintf(stderr, "%s: error: %s:%d: %s: %s (metrics.conf's header: the PATH "
			"language)\n", prog, file, lineno, m->path, why);
		return false;
	}
	if ((m->gate || m->gate_insns || m->gate_wall) && !m->has_threshold) {
		fprintf(stderr, "%s: error: %s:%d: %s is gated: give it a THRESHOLD%% or drop "
			"the gate flag\n", prog, file, lineno, m->name);
		return false;
	}
	if (m->has_threshold && !m->lower_is_better && m->threshold >= 100) {
		fprintf(stderr, "%s: error: %s:%d: %s: a higher-is-better metric cannot drop "
			"by %g%%: give a THRESHOLD below 100\n", prog, file, lineno, m->name,
			m->threshold);
		return false;
	}
	return true;
}

int metricsconf_load(const char *prog, const char *file, struct metric *m, int max)
{
	FILE *f = fopen(file, "r");
	char line[1024];
	int lineno = 0, n = 0;

	if (!f) {
		fprintf(stderr, "%s: error: cannot read %s: %s\n", prog, file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr, "%s: error: %s:%d: a line longer than %zu characters\n",
				prog, file, lineno, sizeof(line) - 2);
			goto fail;
		}
		if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\n")] == '\0')
			continue;
		if (n == max) {
			fprintf(stderr, "%s: error: %s:%d: more than %d metrics\n", prog, file,
				lineno, max);
			goto fail;
		}
		if (!metricsconf_parse(prog, &m[n], line, file, lineno))
			goto fail;
		n++;
	}
	fclose(f);
	return n;
fail:
	fclose(f);
	return -1;
}

const struct metric *metricsconf_find(const struct metric *m, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(m[i].name, name))
			return &m[i];
	return NULL;
}
