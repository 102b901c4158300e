// SPDX-License-Identifier: GPL-2.0
/*
 * json_parse: take the JSON document out of a workload's log.
 *
 * Drivers that print their own JSON (workloads/harvest.c) share the log with what the
 * selftests library and mmuprobe print on stderr. The document is the first line that
 * starts with '{' in column 0, up to the end of that object. It is parsed, so a truncated
 * log (a crashed or killed driver) is an error (exit 1), never a result; written to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

int main(void)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc = NULL;
	enum json_tokener_error err = json_tokener_continue;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int in_doc = 0;

	if (!tok) {
		fprintf(stderr, "json_parse: out of memory\n");
		return 1;
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
		return 1;
	}
	if (!doc || err != json_tokener_success || !json_object_is_type(doc, json_type_object)) {
		fprintf(stderr, "json_parse: the log's JSON document is %s\n",
			err == json_tokener_continue ? "truncated" : json_tokener_error_desc(err));
		return 1;
	}
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	json_tokener_free(tok);
	return 0;
}
