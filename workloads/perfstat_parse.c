// SPDX-License-Identifier: GPL-2.0
/*
 * perfstat_parse: `perf stat -x,` output (CSV) to JSON, for the repetition's "perf" member.
 *
 * A line is VALUE,UNIT,EVENT,RUNTIME,PERCENT[,METRIC,METRIC-UNIT]; comments start with '#'.
 * VALUE may be "<not supported>" or "<not counted>" (no PMU in a TCG test host, for
 * instance): the event is then null, so a missing counter is never read as zero.
 * Prints {"EVENT": {"value": N|null, "unit": "...", "running_pct": P}, ...}. A file with no
 * event line is an error (exit 1): perf did not run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* The next comma-separated field of *S (empty fields kept); NULL at the end. */
static char *field(char **s)
{
	char *f = *s, *c;

	if (!f)
		return NULL;
	c = strchr(f, ',');
	if (c) {
		*c = '\0';
		*s = c + 1;
	} else {
		*s = NULL;
	}
	return f;
}

int main(int argc, char **argv)
{
	struct json_object *out = json_object_new_object();
	FILE *in = argc > 1 ? fopen(argv[1], "r") : stdin;
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	if (!in) {
		perror(argv[1]);
		return 1;
	}
	while (getline(&line, &cap, in) > 0) {
		char *s = line, *value, *unit, *event, *pct, *end;
		struct json_object *e;
		double v;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		value = field(&s);
		unit = field(&s);
		event = field(&s);
		field(&s);	/* the counter's running time */
		pct = field(&s);
		if (!event || !*event) {
			fprintf(stderr, "perfstat_parse: not a perf stat -x, line: %s\n", line);
			return 1;
		}
		e = json_object_new_object();
		v = strtod(value, &end);
		json_object_object_add(e, "value", *value != '<' && end != value ?
				       json_object_new_double(v) : NULL);
		json_object_object_add(e, "unit", json_object_new_string(unit ? unit : ""));
		json_object_object_add(e, "running_pct", pct && *pct ? json_object_new_double(atof(pct)) : NULL);
		json_object_object_add(out, event, e);
		n++;
	}
	free(line);
	if (!n) {
		fprintf(stderr, "perfstat_parse: no event in the perf stat output: did perf run?\n");
		return 1;
	}
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY));
	json_object_put(out);
	return 0;
}
