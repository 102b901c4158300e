// SPDX-License-Identifier: GPL-2.0
/* metricpath: the PATH language of analysis/metrics.conf (metricpath.h). */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metricpath.h"

#define MAX_ONCE 1024

bool metricpath_once(const char *key)
{
	static char *seen[MAX_ONCE];
	static int nseen;
	int i;

	for (i = 0; i < nseen; i++)
		if (!strcmp(seen[i], key))
			return false;
	if (nseen < MAX_ONCE)
		seen[nseen++] = strdup(key);
	return true;
}

/* --- syntax ---------------------------------------------------------------------------------- */

/* Every '|'-separated alternative of s[0..len) is non-empty. */
static bool alternatives_ok(const char *s, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i <= len; i++)
		if (i == len || s[i] == '|') {
			if (i == start)
				return false;
			start = i + 1;
		}
	return true;
}

/* A selector inside [...]: "sum", "sum:KEY=V1|V2", "sum:GLOB|GLOB" or "KEY=V1|V2". */
static bool valid_selector(const char *s, size_t len)
{
	const char *eq;
	bool sum = false;

	if (len == 3 && !strncmp(s, "sum", 3))
		return true;
	if (len > 4 && !strncmp(s, "sum:", 4)) {
		s += 4, len -= 4;
		sum = true;
	}
	eq = memchr(s, '=', len);
	if (!eq)	/* globs over an object's member names: only summed */
		return sum && alternatives_ok(s, len);
	return eq > s && eq < s + len - 1 && alternatives_ok(eq + 1, (size_t)(s + len - eq - 1));
}

/*
 * A plain PATH of len characters: non-empty keys separated by '.', each optionally followed
 * by one [SELECTOR] (which may hold dots: bucket names do) and then '.' or the end.
 */
static bool valid_plain(const char *p, size_t len, const char **why)
{
	const char *end = p + len;

	if (!len) {
		*why = "an empty path";
		return false;
	}
	while (p < end) {
		size_t klen = strcspn(p, ".[]()");

		if (p + klen > end)
			klen = (size_t)(end - p);
		if (!klen) {
			*why = "an empty key (two dots, or a leading dot or bracket)";
			return false;
		}
		p += klen;
		if (p < end && (*p == ']' || *p == '(' || *p == ')')) {
			*why = "a stray bracket or parenthesis";
			return false;
		}
		if (p < end && *p == '[') {
			size_t slen = strcspn(p + 1, "[]");

			if (p + 1 + slen >= end || p[1 + slen] != ']') {
				*why = "a '[' without its ']' (globs have no [...] classes)";
				return false;
			}
			if (!valid_selector(p + 1, slen)) {
				*why = "a selector is [sum], [sum:KEY=V|V...], [KEY=V|V...] or [sum:GLOB|GLOB...]";
				return false;
			}
			p += slen + 2;
			if (p < end && *p != '.') {
				*why = "a selector must be followed by '.' or the end";
				return false;
			}
		}
		if (p < end) {	/* a '.' */
			p++;
			if (p == end) {
				*why = "a trailing dot";
				return false;
			}
		}
	}
	return true;
}

/*
 * ratio(A,B): the numerator's and denominator's extents in expr, split at the first comma
 * outside brackets. False when expr is not a ratio.
 */
static bool split_ratio(const char *expr, const char **num, size_t *nlen, const char **den,
			size_t *dlen)
{
	size_t len = strlen(expr), i;
	int depth = 0;

	if (strncmp(expr, "ratio(", 6) || len < 7 || expr[len - 1] != ')')
		return false;
	for (i = 6; i < len - 1; i++) {
		if (expr[i] == '[')
			depth++;
		else if (expr[i] == ']')
			depth--;
		else if (expr[i] == ',' && !depth)
			break;
	}
	*num = expr + 6;
	*nlen = i - 6;
	*den = i < len - 1 ? expr + i + 1 : expr + len - 1;
	*dlen = i < len - 1 ? len - 2 - i : 0;
	return true;
}

bool metricpath_valid(const char *expr, const char **why)
{
	const char *num, *den, *dummy;
	size_t nlen, dlen;

	if (!why)
		why = &dummy;
	if (strlen(expr) >= METRICPATH_MAX) {
		*why = "longer than the longest path";
		return false;
	}
	if (!split_ratio(expr, &num, &nlen, &den, &dlen))
		return valid_plain(expr, strlen(expr), why);
	if (!dlen) {
		*why = "ratio(PATH,PATH) takes two paths";
		return false;
	}
	if ((nlen >= 6 && !strncmp(num, "ratio(", 6)) || (dlen >= 6 && !strncmp(den, "ratio(", 6))) {
		*why = "a ratio's paths are plain paths (no ratio inside a ratio)";
		return false;
	}
	return valid_plain(num, nlen, why) && valid_plain(den, dlen, why);
}

/* --- values ---------------------------------------------------------------------------------- */

static int resolve(struct json_object *o, const char *p, const char *file, double *v);

static int number_of(struct json_object *o, double *v)
{
	if (!json_object_is_type(o, json_type_int) && !json_object_is_type(o, json_type_double))
		return 0;
	*v = json_object_get_double(o);
	return 1;
}

/*
 * A statistic of no events is no value: the mean, percentiles and max of a latency whose
 * count is 0 (mmuprobe writes 0 for them), unlike its count and sum_ns, which are 0.
 */
static bool empty_statistic(struct json_object *parent, const char *key)
{
	struct json_object *count;

	return json_object_is_type(parent, json_type_object) && strcmp(key, "count") &&
	       strncmp(key, "sum", 3) && json_object_object_get_ex(parent, "count", &count) &&
	       json_object_is_type(count, json_type_int) && json_object_get_int64(count) == 0;
}

/*
 * Is s one of the '|'-separated alternatives in alts: equal to one, or (glob) matching one?
 * Globs starting with '!' exclude instead: s must match a positive glob (any, when there is
 * none) and none of the excluding ones ("!*_lock_slowpath": every bucket but the spinning).
 */
static bool one_of(const char *alts, const char *s, bool glob)
{
	bool any_positive = false, positive = false;
	char alt[256];

	for (;;) {
		size_t len = strcspn(alts, "|");

		snprintf(alt, sizeof(alt), "%.*s", (int)len, alts);
		if (glob && alt[0] == '!') {
			if (!fnmatch(alt + 1, s, 0))
				return false;
		} else {
			any_positive = true;
			if (glob ? !fnmatch(alt, s, 0) : !strcmp(alt, s))
				positive = true;
		}
		if (!alts[len])
			return positive || (glob && !any_positive);
		alts += len + 1;
	}
}

/* e's member KEY of "KEY=V1|V2", when it is a string; NULL otherwise. */
static const char *member_string(struct json_object *e, const char *sel)
{
	size_t klen = strcspn(sel, "=");
	struct json_object *m;
	char key[64];

	snprintf(key, sizeof(key), "%.*s", (int)klen, sel);
	if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, key, &m) ||
	    !json_object_is_type(m, json_type_string))
		return NULL;
	return json_object_get_string(m);
}

/* The document's shape is reported once per workload directory, not per repetition; not
 * at all without a file (metricpath.h). */
static void shape_warning(const char *file, const char *what, const char *sel, size_t n)
{
	char key[4200];
	const char *slash;

	if (!file)
		return;
	slash = strrchr(file, '/');
	snprintf(key, sizeof(key), "%.*s %s %s", slash ? (int)(slash - file) : 0, file, what, sel);
	if (!metricpath_once(key))
		return;
	if (!strcmp(what, "no-key"))
		fprintf(stderr, "%s: warning: %s: %zu VMs and none has the '%.*s' that [%s] "
			"selects by: those metrics are n/a (the workload must name each VM's role)\n",
			program_invocation_short_name, file, n, (int)strcspn(sel, "="), sel, sel);
	else
		fprintf(stderr, "%s: warning: %s: %zu VMs match [%s]: n/a (select one role, "
			"or add them up with [sum:%s])\n", program_invocation_short_name, file, n,
			sel, sel);
}

/*
 * Whether "KEY=V1|V2" selects element e of arr. An array none of whose elements has KEY
 * at all (a document from before VM roles) and that holds one element: that element is the
 * one meant (the only VM); with several, none is (said once).
 */
struct selection {
	const char *match;	/* KEY=V1|V2 */
	bool keyless;		/* no element has KEY */
	size_t n;		/* elements */
};

static struct selection selection_of(struct json_object *arr, const char *match, const char *file)
{
	struct selection s = { .match = match, .keyless = true,
			       .n = json_object_array_length(arr) };

	for (size_t i = 0; i < s.n && s.keyless; i++)
		s.keyless = !member_string(json_object_array_get_idx(arr, i), match);
	if (s.keyless && s.n > 1)
		shape_warning(file, "no-key", match, s.n);
	return s;
}

static bool selects(const struct selection *s, struct json_object *e)
{
	const char *m;

	if (s->keyless)
		return s->n == 1;
	m = member_string(e, s->match);
	return m && one_of(s->match + strcspn(s->match, "=") + 1, m, false);
}

/* arr[KEY=V1|V2]: the one element selected; NULL for none or several (said once). */
static struct json_object *select_one(struct json_object *arr, const char *match, const char *file)
{
	struct json_object *one = NULL;
	struct selection s;
	size_t matched = 0;

	if (!json_object_is_type(arr, json_type_array) || !strchr(match, '='))
		return NULL;	/* globs select among an object's names, only to add up */
	s = selection_of(arr, match, file);
	for (size_t i = 0; i < s.n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);

		if (selects(&s, e)) {
			matched++;
			one = e;
		}
	}
	if (matched > 1)
		shape_warning(file, "ambiguous", match, matched);
	return matched == 1 ? one : NULL;
}

/*
 * obj[sum] or obj[sum:GLOB|GLOB] then the rest of the path: the rest added up over every
 * member (whose name matches a glob). No member matched, or none with a value: no value.
 */
static int sum_members(struct json_object *obj, const char *globs, const char *rest,
		       const char *file, double *v)
{
	double total = 0.0, x;
	int found = 0;

	json_object_object_foreach(obj, name, member) {
		if (globs && !one_of(globs, name, true))
			continue;
		if (resolve(member, rest, file, &x)) {
			total += x;
			found = 1;
		}
	}
	*v = total;
	return found;
}

/*
 * o[sum] or o[sum:SEL] then the rest of the path, added up: on an array over every element
 * ([sum]) or those [sum:KEY=V1|V2] selects (select_one()'s rule), on an object over its
 * members (sum_members()). None with a value: no value.
 */
static int sum_in(struct json_object *o, const char *sel, const char *rest, const char *file,
		  double *v)
{
	const char *match = sel[3] == ':' ? sel + 4 : NULL;
	struct selection s = { 0 };
	double total = 0.0, x;
	int found = 0;

	if (json_object_is_type(o, json_type_object))
		return !match || !strchr(match, '=') ? sum_members(o, match, rest, file, v) : 0;
	if (!json_object_is_type(o, json_type_array) || (match && !strchr(match, '=')))
		return 0;	/* globs select among names: an array's elements have none */
	if (match)
		s = selection_of(o, match, file);
	for (size_t i = 0, n = json_object_array_length(o); i < n; i++) {
		struct json_object *e = json_object_array_get_idx(o, i);

		if ((!match || selects(&s, e)) && resolve(e, rest, file, &x)) {
			total += x;
			found = 1;
		}
	}
	*v = total;
	return found;
}

/* o's member key, or its element key when o is an array and key a number; NULL if none
 * (or null). */
static struct json_object *child(struct json_object *o, const char *key)
{
	char *end;
	long idx = strtol(key, &end, 10);

	if (*key && !*end && json_object_is_type(o, json_type_array))
		return idx < 0 ? NULL : json_object_array_get_idx(o, (size_t)idx);
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &o))
		return NULL;
	return o;
}

/*
 * The one walk of a path, for values and nodes alike: from o along *p's keys (a member
 * name, or an array index) and [KEY=V1|V2] selectors (select_one()), up to the end or to a
 * [sum...] selector, where *p is left (the caller adds up). parent and key (256 bytes):
 * the last key's object and name, for empty_statistic(). NULL when a step finds nothing.
 */
static struct json_object *walk(struct json_object *o, const char **p, const char *file,
				struct json_object **parent, char *key)
{
	key[0] = '\0';
	*parent = NULL;
	while (o && **p) {
		size_t klen = strcspn(*p, ".[");

		snprintf(key, 256, "%.*s", (int)klen, *p);
		*parent = o;
		o = child(o, key);
		*p += klen;
		if (o && **p == '[') {	/* well formed: metricpath_valid() checked it */
			size_t slen = strcspn(*p + 1, "]");
			char sel[METRICPATH_MAX];

			snprintf(sel, sizeof(sel), "%.*s", (int)slen, *p + 1);
			if (!strcmp(sel, "sum") || !strncmp(sel, "sum:", 4))
				return o;
			o = select_one(o, sel, file);
			*p += slen + 2;
		}
		if (**p == '.')
			(*p)++;
	}
	return o;
}

/*
 * The number at path p under o: 1 with *v set, 0 for no value (missing, null, not a
 * number, a statistic of no events).
 */
static int resolve(struct json_object *o, const char *p, const char *file, double *v)
{
	struct json_object *parent;
	char key[256];

	o = walk(o, &p, file, &parent, key);
	if (!o)
		return 0;
	if (*p == '[') {
		size_t slen = strcspn(p + 1, "]");
		const char *after = p + slen + 2;
		char sel[METRICPATH_MAX];

		snprintf(sel, sizeof(sel), "%.*s", (int)slen, p + 1);
		return sum_in(o, sel, after + (*after == '.'), file, v);
	}
	return key[0] && empty_statistic(parent, key) ? 0 : number_of(o, v);
}

int metricpath_value(struct json_object *doc, const char *expr, const char *file, double *v)
{
	char num[METRICPATH_MAX], den[METRICPATH_MAX];
	const char *np, *dp;
	size_t nlen, dlen;
	double a, b;

	if (!split_ratio(expr, &np, &nlen, &dp, &dlen))
		return resolve(doc, expr, file, v);
	snprintf(num, sizeof(num), "%.*s", (int)nlen, np);
	snprintf(den, sizeof(den), "%.*s", (int)dlen, dp);
	if (!resolve(doc, num, file, &a) || !resolve(doc, den, file, &b) || b == 0.0)
		return 0;
	*v = a / b;
	return 1;
}

struct json_object *metricpath_node(struct json_object *doc, const char *path, const char *file)
{
	struct json_object *parent, *o;
	char key[256];

	o = walk(doc, &path, file, &parent, key);
	return *path ? NULL : o;	/* a [sum...] has a value, not a node */
}
