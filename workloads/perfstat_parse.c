// SPDX-License-Identifier: GPL-2.0
/*
 * perfstat_parse: `perf stat -x,` output (CSV) to JSON, for the repetition's "perf" member.
 *
 * A line is VALUE,UNIT,EVENT,RUNTIME,PERCENT[,METRIC,METRIC-UNIT]; comments start with '#'.
 * VALUE may be "<not supported>" or "<not counted>" (no PMU in a TCG test host, for
 * instance): the event is then null, so a missing counter is never read as zero.
 * Prints {"EVENT": {"value": N|null, "unit": "...", "running_pct": P}, ...}. A file with no
 * event line is an error (bad input, exit 2): perf did not run.
 *
 * With -k, the text of `perf kvm stat report --event=vmexit` instead: one line per exit
 * reason, "REASON SAMPLES SAMPLES% TIME% MINus MAXus AVGus ( +- SD% )" (REASON may hold
 * spaces: "PF excp"), then
 * "Total Samples:N, Total events handled time:Tus.". Prints {"total_samples": N,
 * "total_time_us": T, "exits": {"REASON": {"samples", "samples_pct", "time_pct", "min_us",
 * "max_us", "avg_us"}, ...}}. No total line is an error (exit 2).
 *
 * Usage: perfstat_parse [-k] [FILE]   (stdin without FILE; --help)
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

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

/*
 * A row of the table: the exit reason may hold spaces ("PF excp"), so it is everything up
 * to the first number that is followed by a percentage (the sample count). Sets *REST to
 * that number.
 */
static bool exit_row(char *line, char *reason, size_t len, char **rest)
{
	char *p = line + strspn(line, " \t");
	char *start = p;

	while (*p) {
		char *tok = p, *end;

		p += strcspn(p, " \t");
		if (tok > start && (unsigned char)(*tok - '0') < 10) {
			strtoull(tok, &end, 10);
			if (end == p && strchr(p, '%')) {
				size_t n = (size_t)(tok - start);

				while (n && (start[n - 1] == ' ' || start[n - 1] == '\t'))
					n--;
				if (!n || n >= len)
					return false;
				memcpy(reason, start, n);
				reason[n] = '\0';
				*rest = tok;
				return true;
			}
		}
		p += strspn(p, " \t");
	}
	return false;
}

/* perf kvm stat report's table. */
static int parse_kvm_stat(FILE *in)
{
	struct json_object *out = json_object_new_object(), *exits = json_object_new_object();
	char *line = NULL;
	size_t cap = 0;
	bool total = false;

	while (getline(&line, &cap, in) > 0) {
		char reason[64], *rest;
		unsigned long long samples;
		double spct, tpct, min, max, avg, t;

		if (sscanf(line, " Total Samples:%llu, Total events handled time:%lfus", &samples, &t) == 2) {
			json_object_object_add(out, "total_samples", json_object_new_int64((int64_t)samples));
			json_object_object_add(out, "total_time_us", json_object_new_double(t));
			total = true;
		} else if (exit_row(line, reason, sizeof(reason), &rest) &&
			   sscanf(rest, "%llu %lf%% %lf%% %lfus %lfus %lfus", &samples, &spct, &tpct,
				  &min, &max, &avg) == 6) {
			struct json_object *e = json_object_new_object();

			json_object_object_add(e, "samples", json_object_new_int64((int64_t)samples));
			json_object_object_add(e, "samples_pct", json_object_new_double(spct));
			json_object_object_add(e, "time_pct", json_object_new_double(tpct));
			json_object_object_add(e, "min_us", json_object_new_double(min));
			json_object_object_add(e, "max_us", json_object_new_double(max));
			json_object_object_add(e, "avg_us", json_object_new_double(avg));
			json_object_object_add(exits, reason, e);
		}
	}
	free(line);
	json_object_object_add(out, "exits", exits);
	if (!total) {
		json_object_put(out);
		fprintf(stderr, "perfstat_parse: no \"Total Samples\" line: not perf kvm stat report output\n");
		return EXIT_USAGE;
	}
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY));
	json_object_put(out);
	return 0;
}

/* perf stat -x, */
static int parse_stat(FILE *in)
{
	struct json_object *out = json_object_new_object();
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

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
			return EXIT_USAGE;
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
		return EXIT_USAGE;
	}
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY));
	json_object_put(out);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: perfstat_parse [-k] [FILE]\n"
"perf's output as JSON, FILE or stdin:\n"
"  (default)    perf stat -x, (CSV): {\"EVENT\": {\"value\": N|null, \"unit\", \"running_pct\"}}, an\n"
"               event perf could not count (no PMU under TCG) null, never 0\n"
"  -k, --kvm    perf kvm stat report --event=vmexit: {\"total_samples\", \"total_time_us\",\n"
"               \"exits\": {\"REASON\": {samples, samples_pct, time_pct, min_us, max_us, avg_us}}}\n"
"  -h, --help   this text\n"
"Exit: 0; 2 usage or bad input (FILE unreadable, no event line, no \"Total Samples\" line:\n"
"perf did not run).\n"
"Examples (what workloads/run does with PERF_STAT=1 and PERF_KVM_STAT=1):\n"
"  perf stat -x, -o 1.perf.csv -- CMD && perfstat_parse 1.perf.csv\n"
"  perf kvm -i 1.kvm.data stat report --event=vmexit 2>&1 | perfstat_parse -k\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kvm", no_argument, NULL, 'k' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	bool kvm = false;
	const char *path;
	FILE *in;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":kh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': kvm = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option("perfstat_parse", c, argv);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("perfstat_parse", "one FILE at most, got %d", argc - optind);
	path = optind < argc ? argv[optind] : NULL;
	in = path ? fopen(path, "r") : stdin;
	if (!in) {
		fprintf(stderr, "perfstat_parse: error: cannot read %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	return kvm ? parse_kvm_stat(in) : parse_stat(in);
}
