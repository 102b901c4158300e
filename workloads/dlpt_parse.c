// SPDX-License-Identifier: GPL-2.0
/*
 * dlpt_parse: turn the output of the upstream dirty_log_perf_test into JSON.
 *
 * Reads the test's stdout+stderr on stdin, writes one JSON object on stdout with every
 * phase it prints: populate, enable, per-iteration dirty/get/clear, disable, and the
 * totals. Seconds as printed ("%ld.%09lds") become nanoseconds. Lines it does not know
 * are ignored; a missing phase is an error (bad input: exit 2) naming it, so a truncated
 * log (a crashed or killed test) is never taken for a result. An iteration with one of its
 * lines missing (a line lost from the log; the test prints the disable time only after
 * the last iteration) is left out of the totals and means, named on stderr and in
 * iterations_skipped; "iterations" counts those parsed whole, per_iteration holds them.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

#define MAX_ITER 4096

static long long to_ns(const char *s)
{
	long long sec = 0, frac = 0;
	int digits = 0;

	sec = strtoll(s, (char **)&s, 10);
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9' && digits < 9) {
			frac = frac * 10 + (*s++ - '0');
			digits++;
		}
		while (digits++ < 9)
			frac *= 10;
	}
	return sec * 1000000000LL + frac;
}

/* One iteration's times in ns, -1 for a line not seen. */
struct iteration {
	long long dirty, get, clear;
};

/* What iteration it lacks (clear: whether the test prints clear times), or NULL. */
static const char *lacks(const struct iteration *it, bool clear)
{
	if (it->dirty < 0)
		return "no dirty memory time";
	if (it->get < 0)
		return "no get dirty log time";
	if (clear && it->clear < 0)
		return "no clear dirty log time";
	return NULL;
}

/* "prefix<seconds>s..." -> ns, or -1 */
static long long after(const char *line, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(line, prefix, n))
		return -1;
	return to_ns(line + n);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: dlpt_parse [-h] <LOG >RESULT.json\n"
"The output of the upstream dirty_log_perf_test (stdout and stderr) as one JSON object:\n"
"populate, enable and disable times, each iteration's dirty-memory, get- and clear-dirty-log\n"
"times, their totals and means, in ns (a profile's PARSER dlpt_parse). An iteration with a\n"
"line missing is left out of the totals and means (a warning, and iterations_skipped).\n"
"  -h, --help   this text\n"
"Exit: 0; 2 the output is incomplete (a phase missing, or no iteration whole: the test did\n"
"not finish; named).\n"
"Example:\n"
"  ./dirty_log_perf_test -v 2 -b 16M -i 3 2>&1 | dlpt_parse\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	static struct iteration iter[MAX_ITER];
	long long populate = -1, enable = -1, disable = -1;
	long long v, iterations = -1, gsum = 0, csum = 0, dsum = 0;
	int max_iter = 0, n = 0, i, c;
	bool clear = false;
	char line[1024];
	struct json_object *o, *its, *skipped;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option("dlpt_parse", c, argv);
		usage(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return cli_usage_error("dlpt_parse", "no arguments: the test's output is read on stdin");

	for (i = 0; i < MAX_ITER; i++)
		iter[i].dirty = iter[i].get = iter[i].clear = -1;
	while (fgets(line, sizeof(line), stdin)) {
		int it;
		char what[64];
		char *p;

		if ((v = after(line, "Populate memory time: ")) >= 0)
			populate = v;
		else if ((v = after(line, "Enabling dirty logging time: ")) >= 0)
			enable = v;
		else if ((v = after(line, "Disabling dirty logging time: ")) >= 0)
			disable = v;
		else if (sscanf(line, "Test iterations: %lld", &iterations) == 1)
			;
		else if (sscanf(line, "Iteration %d ", &it) == 1 && it >= 1 && it <= MAX_ITER &&
			 (p = strstr(line, " time: "))) {
			const char *w = strchr(line + 10, ' ') + 1;	/* after the number */

			snprintf(what, sizeof(what), "%.*s", (int)(p - w), w);
			v = to_ns(p + 7);
			if (!strcmp(what, "dirty memory")) {
				iter[it - 1].dirty = v;
			} else if (!strcmp(what, "get dirty log")) {
				iter[it - 1].get = v;
			} else if (!strcmp(what, "clear dirty log")) {
				iter[it - 1].clear = v;
				clear = true;
			}
			if (it > max_iter)
				max_iter = it;
		}
	}
	if (populate < 0 || enable < 0 || disable < 0) {
		fprintf(stderr, "dlpt_parse: error: incomplete dirty_log_perf_test output (%s): "
			"the test did not finish; see its log\n",
			populate < 0 ? "no populate time" : enable < 0 ? "no enable time" :
			"no disable time");
		return EXIT_USAGE;
	}
	/* The iterations the test ran (it says how many), or as many as it printed. */
	if (iterations > max_iter && iterations <= MAX_ITER)
		max_iter = (int)iterations;

	its = json_object_new_array();
	skipped = json_object_new_array();
	for (i = 0; i < max_iter; i++) {
		const struct iteration *it = &iter[i];
		const char *why = lacks(it, clear);
		struct json_object *x;

		if (why) {
			fprintf(stderr, "dlpt_parse: warning: iteration %d of %d left out of the totals "
				"and means: %s in the log\n", i + 1, max_iter, why);
			json_object_array_add(skipped, json_object_new_int(i + 1));
			continue;
		}
		x = json_object_new_object();
		json_object_object_add(x, "dirty_memory_ns", json_object_new_int64(it->dirty));
		json_object_object_add(x, "get_dirty_log_ns", json_object_new_int64(it->get));
		if (clear)
			json_object_object_add(x, "clear_dirty_log_ns", json_object_new_int64(it->clear));
		json_object_array_add(its, x);
		dsum += it->dirty;
		gsum += it->get;
		csum += clear ? it->clear : 0;
		n++;
	}
	if (!n) {
		fprintf(stderr, "dlpt_parse: error: incomplete dirty_log_perf_test output (%s): "
			"the test did not finish; see its log\n",
			max_iter ? "no iteration whole" : "no iteration");
		json_object_put(its);
		json_object_put(skipped);
		return EXIT_USAGE;
	}
	o = json_object_new_object();
	json_object_object_add(o, "populate_ns", json_object_new_int64(populate));
	json_object_object_add(o, "enable_dirty_logging_ns", json_object_new_int64(enable));
	json_object_object_add(o, "disable_dirty_logging_ns", json_object_new_int64(disable));
	json_object_object_add(o, "iterations", json_object_new_int(n));
	json_object_object_add(o, "get_dirty_log_total_ns", json_object_new_int64(gsum));
	json_object_object_add(o, "get_dirty_log_avg_ns", json_object_new_int64(gsum / n));
	json_object_object_add(o, "dirty_memory_avg_ns", json_object_new_int64(dsum / n));
	if (clear) {
		json_object_object_add(o, "clear_dirty_log_total_ns", json_object_new_int64(csum));
		json_object_object_add(o, "clear_dirty_log_avg_ns", json_object_new_int64(csum / n));
	}
	json_object_object_add(o, "per_iteration", its);
	if (json_object_array_length(skipped))
		json_object_object_add(o, "iterations_skipped", skipped);
	else
		json_object_put(skipped);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return EXIT_OK;
}
