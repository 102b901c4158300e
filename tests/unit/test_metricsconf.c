// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for analysis/metricsconf.c, the metrics.conf parser the analysis programs
 * share: the fields and flags of a line, comments and blank lines, and each malformed line's
 * one-line error, which names the program, file:line and the fix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "metricsconf.h"

/* stderr of the calls between capture() and captured(), as one string. */
static FILE *cap;
static int saved_fd = -1;
static char text[4096];

static void capture(void)
{
	fflush(stderr);
	cap = tmpfile();
	assert_non_null(cap);
	saved_fd = dup(2);
	dup2(fileno(cap), 2);
}

static const char *captured(void)
{
	size_t n;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	rewind(cap);
	n = fread(text, 1, sizeof(text) - 1, cap);
	text[n] = '\0';
	fclose(cap);
	return text;
}

/* A file holding s; its name in name. */
static void file_with(char *name, size_t len, const char *s)
{
	FILE *f;

	snprintf(name, len, "/tmp/test_metricsconf.%d", (int)getpid());
	f = fopen(name, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void a_line(void **state)
{
	struct metric m;

	(void)state;
	assert_true(metricsconf_parse("t", &m, "dlpt_insns_kvm dlpt-* "
				      "insns.buckets[sum:!*_lock_slowpath] lower 3 headline gate-insns\n",
				      "f", 1));
	assert_string_equal(m.name, "dlpt_insns_kvm");
	assert_string_equal(m.workloads, "dlpt-*");
	assert_string_equal(m.path, "insns.buckets[sum:!*_lock_slowpath]");
	assert_true(m.lower_is_better && m.has_threshold && m.threshold == 3.0);
	assert_true(m.headline && m.gate_insns && !m.gate && !m.gate_wall);

	assert_true(metricsconf_parse("t", &m, "rate  harvest\tresult.rate  higher  -", "f", 2));
	assert_false(m.lower_is_better || m.has_threshold || m.headline || m.gate_insns);
	assert_true(metricsconf_parse("t", &m, "x * a.b higher 2.5 gate-wall gate", "f", 3));
	assert_true(m.gate && m.gate_wall && m.threshold == 2.5);
}

static void bad_lines(void **state)
{
	static const struct {
		const char *line, *says;
	} bad[] = {
		{ "x * a.b lower", "f:7: want 'NAME WORKLOADS PATH lower|higher THRESHOLD%|- " },
		{ "x * a.b faster 3", "f:7: want 'NAME" },
		{ "x * a.b lower 3%", "f:7: want 'NAME" },
		{ "x * a.b lower -1", "f:7: want 'NAME" },
		{ "x * a.b lower 3 gate-walls", "[gate|gate-insns|gate-wall]" },
		{ "x * a..b lower 3", "f:7: a..b: an empty key" },
		{ "x * a.b lower - gate", "f:7: x is gated: give it a THRESHOLD% or drop the gate flag" },
		{ "x * a.b higher 100", "f:7: x: a higher-is-better metric cannot drop by 100%" },
	};
	struct metric m;
	const char *out;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		capture();
		assert_false(metricsconf_parse("prog", &m, bad[i].line, "f", 7));
		out = captured();
		assert_non_null(strstr(out, bad[i].says));
		assert_true(!strncmp(out, "prog: error: f:7: ", 18));
		assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);	/* one line */
	}
}

static void a_file(void **state)
{
	struct metric m[4];
	char name[64], big[8192];
	const char *out;

	(void)state;
	file_with(name, sizeof(name), "# a comment\n\n   # indented comment\n"
		  "a w* x.y lower 3 headline\n\t\nb * x.z higher - \nc * ratio(x.y,x.z) lower 5\n");
	assert_int_equal(metricsconf_load("t", name, m, 4), 3);
	assert_string_equal(m[2].path, "ratio(x.y,x.z)");
	assert_ptr_equal(metricsconf_find(m, 3, "b"), &m[1]);
	assert_null(metricsconf_find(m, 3, "d"));

	capture();
	assert_int_equal(metricsconf_load("t", name, m, 2), -1);
	out = captured();
	assert_non_null(strstr(out, ":7: more than 2 metrics"));

	file_with(name, sizeof(name), "a * x.y lower 3\nb * x.y sideways 3\n");
	capture();
	assert_int_equal(metricsconf_load("bisect_report", name, m, 4), -1);
	out = captured();
	assert_true(!strncmp(out, "bisect_report: error: /tmp/test_metricsconf.", 44));
	assert_non_null(strstr(out, ":2: want "));

	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	file_with(name, sizeof(name), big);
	capture();
	assert_int_equal(metricsconf_load("t", name, m, 4), -1);
	assert_non_null(strstr(captured(), ":1: a line longer than"));
	unlink(name);

	capture();
	assert_int_equal(metricsconf_load("t", name, m, 4), -1);
	out = captured();
	assert_non_null(strstr(out, "t: error: cannot read /tmp/test_metricsconf."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_line),
		cmocka_unit_test(bad_lines),
		cmocka_unit_test(a_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
