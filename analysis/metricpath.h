/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PATH language of analysis/metrics.conf (its header comment is the reference): where a
 * metric's number lies in a repetition's JSON.
 *
 *   PATH    KEY(.KEY)*, a KEY being a member name, an array index, or NAME[SELECTOR]
 *   [sum]                 an array: every element's rest of the path, added up;
 *                         an object: every member's, likewise
 *   [sum:KEY=V1|V2]       an array: the elements whose member KEY is V1 or V2, added up
 *   [KEY=V1|V2]           an array: the one element whose KEY is V1 or V2
 *   [sum:GLOB|!GLOB]      an object: the members whose name matches a glob (fnmatch: * ? and
 *                         no [...] classes) and no !GLOB, added up; e.g.
 *                         insns.buckets[sum:*_lock_slowpath], insns.buckets[sum:!*_lock_slowpath]
 *   ratio(PATH,PATH)      the first over the second
 *
 * No value (n/a, never 0) when a member is missing or null, not a number, a statistic of no
 * events, a selector matches nothing, or a ratio's denominator is 0 or has no value.
 *
 * compare reads its metrics by these rules, plot the arrays and numbers it draws: one
 * implementation, one set of rules.
 */
#ifndef MMUSCOPE_METRICPATH_H
#define MMUSCOPE_METRICPATH_H

#include <stdbool.h>

#include <json-c/json.h>

#define METRICPATH_MAX 512	/* the longest expression, its NUL included */

/* Whether expr is a well-formed PATH or ratio(PATH,PATH); if not, *why (when why is not
 * NULL) is a static one-line reason. */
bool metricpath_valid(const char *expr, const char **why);

/* The number expr names in doc: 1 with *v set, 0 for no value. file names doc in the
 * warnings about its shape (each said once, prefixed with the program's name); NULL: no
 * warnings (a caller with a rule of its own for that case). */
int metricpath_value(struct json_object *doc, const char *expr, const char *file, double *v);

/* The JSON value a PATH without [sum...] names in doc (an array to go through, a string),
 * by the same rules: NULL when there is none. file as for metricpath_value(). */
struct json_object *metricpath_node(struct json_object *doc, const char *path, const char *file);

/* True the first time key is passed: each bad file or document shape is reported once. */
bool metricpath_once(const char *key);

#endif
