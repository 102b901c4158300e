// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for analysis/stats.c against reference values computed independently
 * (plain Python: statistics module for moments, Simpson integration of Student's t density
 * for p-values and quantiles; the first sample is Wikipedia's Welch's t-test example,
 * t = 2.46, df = 24.99, p = 0.021). The gate's log-ratio interval: the same Python, the
 * delta-method variance cv_b^2/n_b + cv_n^2/n_n and Satterthwaite's df written out by hand;
 * t quantiles also match printed tables (t(0.95, 4) = 2.132, t(0.975, 4) = 2.776).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats.h"

#define EPS 1e-6

static double a1[] = { 27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1,
		       19.6, 19.0, 21.7, 21.4 };
static double a2[] = { 27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9,
		       22.1, 22.9, 20.5, 24.4 };

static void summary_matches_reference(void **state)
{
	double x[15];
	struct summary s;

	(void)state;
	for (int i = 0; i < 15; i++)
		x[i] = a1[i];
	s = summarize(x, 15);
	assert_int_equal(s.n, 15);
	assert_true(fabs(s.mean - 20.82) < EPS);
	assert_true(fabs(s.sd - 2.8048936827) < EPS);
	assert_true(fabs(s.median - 21.0) < EPS);
	assert_true(fabs(s.ci_lo - 19.2667016525) < EPS);
	assert_true(fabs(s.ci_hi - 22.3732983475) < EPS);
	assert_true(s.min == 16.9 && s.max == 27.5);
}

static void welch_matches_reference(void **state)
{
	double x[15], y[15], t, df, p;
	double c[] = { 1, 2, 3, 4 }, d[] = { 2, 4, 6, 8, 10 };
	struct summary sa, sb, sc, sd;

	(void)state;
	for (int i = 0; i < 15; i++) {
		x[i] = a1[i];
		y[i] = a2[i];
	}
	sa = summarize(x, 15);
	sb = summarize(y, 15);
	p = welch_p(&sa, &sb, &t, &df);
	assert_true(fabs(t - 2.4553563983) < EPS);
	assert_true(fabs(df - 24.9885292902) < EPS);
	assert_true(fabs(p - 0.0213780015) < EPS);

	sc = summarize(c, 4);
	sd = summarize(d, 5);
	p = welch_p(&sc, &sd, &t, &df);
	assert_true(fabs(t - 2.2514363232) < EPS);
	assert_true(fabs(df - 5.5207877462) < EPS);
	assert_true(fabs(p - 0.0691335932) < EPS);
}

static void degenerate_samples(void **state)
{
	double one[] = { 5.0 }, same[] = { 3, 3, 3 }, other[] = { 4, 4, 4 }, t, df;
	struct summary s1, s2, s3;

	(void)state;
	s1 = summarize(one, 1);
	assert_true(s1.sd == 0.0 && s1.ci_lo == 5.0 && s1.ci_hi == 5.0);
	s2 = summarize(same, 3);
	s3 = summarize(other, 3);
	assert_true(welch_p(&s1, &s2, &t, &df) == 1.0);	/* n < 2: no evidence */
	assert_true(welch_p(&s2, &s2, &t, &df) == 1.0);	/* identical, no variance */
	assert_true(welch_p(&s2, &s3, &t, &df) == 0.0);	/* constant but different */
	assert_int_equal(summarize(one, 0).n, 0);
}

static void geomean_of_ratios(void **state)
{
	double r[] = { 0.5, 2.0, 1.0 }, bad[] = { 1.0, 0.0 }, s[] = { 2.0, 8.0 };

	(void)state;
	assert_true(fabs(geomean(r, 3) - 1.0) < EPS);
	assert_true(fabs(geomean(s, 2) - 4.0) < EPS);
	assert_true(geomean(bad, 2) == 0.0);
	assert_true(geomean(r, 0) == 0.0);
}

static void holm_step_down(void **state)
{
	double p[] = { 0.01, 0.04, 0.03, 0.005 }, adj[4];
	double big[] = { 0.5, 0.9 }, adj2[2];

	(void)state;
	holm_adjust(p, 4, adj);
	/* sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.04, 0.06) */
	assert_true(fabs(adj[0] - 0.03) < EPS);
	assert_true(fabs(adj[1] - 0.06) < EPS);
	assert_true(fabs(adj[2] - 0.06) < EPS);
	assert_true(fabs(adj[3] - 0.02) < EPS);
	holm_adjust(big, 2, adj2);
	assert_true(adj2[0] == 1.0 && adj2[1] == 1.0);	/* capped at 1 */
}

static void log_ratio_matches_reference(void **state)
{
	double b[] = { 100, 103, 97 }, n[] = { 130, 133.9, 126.1 };
	double c1[] = { 1, 2, 3, 4 }, c2[] = { 2, 4, 6, 8, 10 };
	struct summary sb = summarize(b, 3), sn = summarize(n, 3);
	struct change c = log_ratio_change(&sb, &sn);

	(void)state;
	/* x1.3 at 3% noise, n = 3: the [gate] issue's fork job */
	assert_true(c.ok);
	assert_true(fabs(c.log_ratio - 0.2623642645) < EPS);
	assert_true(fabs(c.se - 0.0244948974) < EPS);
	assert_true(fabs(c.df - 4.0) < EPS);
	assert_true(fabs(c.cv_base - 0.03) < EPS && fabs(c.cv_new - 0.03) < EPS);
	assert_true(fabs(p_beyond(&c, c.log_ratio, log(1.1)) - 0.001208303863) < 1e-9);
	/* unequal n and spread: Satterthwaite's df */
	sb = summarize(c1, 4);
	sn = summarize(c2, 5);
	c = log_ratio_change(&sb, &sn);
	assert_true(fabs(c.log_ratio - 0.8754687374) < EPS);
	assert_true(fabs(c.se - 0.3496029494) < EPS);
	assert_true(fabs(c.df - 6.6301369863) < EPS);
	assert_true(fabs(p_beyond(&c, c.log_ratio, log(1.2)) - 0.04506235929) < 1e-8);
	/* a rate: the bad direction is a drop, x = -log_ratio */
	assert_true(p_beyond(&c, -c.log_ratio, log(1.2)) > 0.98);
}

static void t_quantiles_and_reps(void **state)
{
	double b[] = { 79, 100, 121 }, z[] = { 0, 0, 0 }, one[] = { 5 };
	struct summary s = summarize(b, 3), zs = summarize(z, 3), os = summarize(one, 1);
	struct change c = log_ratio_change(&s, &s), none;

	(void)state;
	assert_true(fabs(t_upper(0.05, 4) - 2.13184679) < EPS);
	assert_true(fabs(t_upper(0.025, 4) - 2.77644511) < EPS);
	assert_true(fabs(t_upper(0.01, 6.6301369863) - 3.04515899) < EPS);
	/* 21% noise on both kernels, a 10% threshold, one-sided 0.025: 39 repetitions each */
	assert_true(fabs(c.cv_base - 0.21) < EPS);
	assert_int_equal(reps_needed(&c, 0.025, log(1.1), 1000), 39);
	assert_int_equal(reps_needed(&c, 0.025, log(1.1), 20), 20);	/* capped */
	c.cv_base = c.cv_new = 0.03;
	assert_int_equal(reps_needed(&c, 0.05, log(1.1), 1000), 2);
	/* no change can be formed: a mean of 0, or one repetition */
	none = log_ratio_change(&zs, &s);
	assert_false(none.ok);
	none = log_ratio_change(&os, &s);
	assert_false(none.ok);
	/* no spread: beyond the margin or not, without a t */
	c = log_ratio_change(&os, &os);
	assert_false(c.ok);
	c.se = 0.0;
	assert_true(p_beyond(&c, 0.2, 0.1) == 0.0 && p_beyond(&c, 0.05, 0.1) == 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(summary_matches_reference),
		cmocka_unit_test(welch_matches_reference),
		cmocka_unit_test(degenerate_samples),
		cmocka_unit_test(geomean_of_ratios),
		cmocka_unit_test(holm_step_down),
		cmocka_unit_test(log_ratio_matches_reference),
		cmocka_unit_test(t_quantiles_and_reps),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
