// SPDX-License-Identifier: GPL-2.0
/* reps: a workload directory's repetitions and a metric's values over them (reps.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reps.h"
#include "resultset.h"

#define REPS_MAX 1024

void reps_load(const char *prog, const char *dir, struct reps *r)
{
	char *names[REPS_MAX];
	int n = resultset_list(dir, false, names, REPS_MAX), i;

	memset(r, 0, sizeof(*r));
	r->listed = n;
	if (n <= 0)
		return;
	r->doc = calloc((size_t)n, sizeof(*r->doc));
	r->path = calloc((size_t)n, sizeof(*r->path));
	if (!r->doc || !r->path) {
		fprintf(stderr, "%s: error: out of memory reading %s\n", prog, dir);
		r->bad = n;
		goto out;
	}
	for (i = 0; i < n; i++) {
		char path[4096];
		struct json_object *doc;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		doc = json_object_from_file(path);
		if (!doc) {
			r->bad++;
			if (metricpath_once(path))
				fprintf(stderr, "%s: error: %s is not valid JSON: rerun that repetition "
					"or delete it\n", prog, path);
			continue;
		}
		r->doc[r->n] = doc;
		r->path[r->n++] = strdup(path);
	}
out:
	resultset_free(names, n);
}

void reps_free(struct reps *r)
{
	for (size_t i = 0; i < r->n; i++) {
		json_object_put(r->doc[i]);
		free(r->path[i]);
	}
	free(r->doc);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

size_t reps_collect(const struct reps *r, const struct metric *m, double *v)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		if (metricpath_value(r->doc[i], m->path, r->path[i] ? r->path[i] : "?", &v[n]))
			n++;
	return n;
}
