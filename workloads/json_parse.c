// SPDX-License-Identifier: GPL-2.0
/*
 * json_parse: take the JSON document out of a workload's log.
 *
 * Drivers that print their own JSON (workloads/harvest.c) share the log with what the
 * selftests library and mmuprobe print on stderr. The document is the first line that
 * starts with '{' in column 0, up to the end of that object. It is parsed, so a truncated
 * log (a crashed or killed driver) is an error (bad input: exit 2), never a result;
 * written to stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: json_parse [-h] <LOG >RESULT.json\n"
"The JSON document a workload driver printed into its log, which it shares with what the\n"
"selftests library and mmuprobe print: the first line that starts with '{' in column 0, to\n"
"the end of that object, parsed and printed (a profile's PARSER json_parse: the\n"
"repetition's \"result\").\n"
"  -h, --help   this text\n"
"Exit: 0; 2 no document in the log, or a truncated one (the driver crashed or was killed).\n"
"Example:\n"
"  ./mmuscope/harvest -v 2 -b 16M -n 5 2>&1 | json_parse\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	struct json_tokener *tok;
	struct json_object *doc = NULL;
	enum json_tokener_error err = json_tokener_continue;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int in_doc = 0, c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option("json_parse", c, argv);
		usage(stdout);
		return EXIT_OK;
	}
	if (optind < argc)
		return cli_usage_error("json_parse", "no arguments: the log is read on stdin");
	tok = json_tokener_new();
	if (!tok) {
		fprintf(stderr, "json_parse: out of memory\n");
		return EXIT_INFRA;
	}
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (!in_doc && line[0] != '{')
			continue;
		in_doc = 1;
		doc = json_tokener_parse_ex(tok, line, (int)len);
		err = json_tokener_get_error(tok);
		if (err != json_tokener_continue)
			break;
	}
	free(line);
	if (!in_doc) {
		fprintf(stderr, "json_parse: no JSON document in the log (did the driver crash before printing it?)\n");
		return EXIT_USAGE;
	}
	if (!doc || err != json_tokener_success || !json_object_is_type(doc, json_type_object)) {
		fprintf(stderr, "json_parse: the log's JSON document is %s\n",
			err == json_tokener_continue ? "truncated" : json_tokener_error_desc(err));
		return EXIT_USAGE;
	}
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	json_tokener_free(tok);
	return EXIT_OK;
}
