// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for analysis/bisectlogic.c: a metric's change at each prefix of a patch series
 * against the base and against the previous measured prefix, its class against the
 * threshold, the first patch that moves it, the steps, and the next prefix a bisection
 * measures. Values are made up so that the answer is known by hand: 0.01% noise around
 * round numbers, +10% steps against a 3% threshold.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bisectlogic.h"

#define MAXN 16

struct series {
	struct bisect b;
	struct bprefix p[MAXN + 1];
};

static void init(struct series *s, int n, double threshold, bool lower_is_better)
{
	*s = (struct series){ .b = { .n = n, .threshold = threshold,
				     .lower_is_better = lower_is_better } };
	s->b.p = s->p;
}

/* Prefix k measured with the nv values v. */
static void measure(struct series *s, int k, const double *v, size_t nv)
{
	double x[64];

	for (size_t i = 0; i < nv; i++)
		x[i] = v[i];
	s->p[k].measured = true;
	s->p[k].s = summarize(x, nv);
}

/* Prefix k measured as three values around mean with 0.01% noise (exact: mean, sd 0.01%). */
static void quiet(struct series *s, int k, double mean)
{
	double v[3] = { mean * 0.9999, mean, mean * 1.0001 };

	measure(s, k, v, 3);
}

static void unmeasure(struct series *s, int k)
{
	s->p[k].measured = false;
	s->p[k].s = (struct summary){ 0 };
}

/* Deterministic counts: identical values give se 0 and a point interval. */
static void identical_values(void **state)
{
	static const double base[] = { 1000, 1000, 1000 }, up[] = { 1100, 1100, 1100 };
	struct series s;

	(void)state;
	init(&s, 2, 3, true);
	measure(&s, 0, base, 3);
	measure(&s, 1, base, 3);
	measure(&s, 2, up, 3);
	bisect_analyse(&s.b);
	assert_int_equal(s.p[1].vs_base.cls, BC_SAME);
	assert_true(s.p[1].vs_base.c.se == 0.0);
	assert_true(s.p[1].vs_base.lo == 1.0 && s.p[1].vs_base.hi == 1.0);
	assert_int_equal(s.p[2].vs_base.cls, BC_UP);
	assert_true(s.p[2].vs_base.lo == s.p[2].vs_base.hi);
	assert_true(fabs(s.p[2].vs_base.lo - 1.1) < 1e-12);
	assert_int_equal(bisect_first_move(&s.b).patch, 2);
	assert_int_equal(bisect_first_move(&s.b).kind, BF_PATCH);
}

/* +10% at patch 2 of 3, 0.01% noise, threshold 3%: patch 2, a regression of a cost. */
static void clean_step(void **state)
{
	struct series s;
	struct bfirst f;
	struct bnext nx;

	(void)state;
	init(&s, 3, 3, true);
	quiet(&s, 0, 1.2e8);
	quiet(&s, 1, 1.2e8);
	quiet(&s, 2, 1.32e8);
	quiet(&s, 3, 1.32e8);
	bisect_analyse(&s.b);
	assert_int_equal(s.p[0].vs_base.cls, BC_SAME);
	assert_int_equal(s.p[1].vs_base.cls, BC_SAME);
	assert_int_equal(s.p[2].vs_base.cls, BC_UP);
	assert_int_equal(s.p[3].vs_base.cls, BC_UP);
	assert_true(fabs(s.p[2].vs_base.ratio - 1.1) < 1e-9);
	assert_true(s.p[2].vs_base.lo < 1.1 && s.p[2].vs_base.hi > 1.1);
	assert_true(s.p[2].vs_base.lo > 1.099 && s.p[2].vs_base.hi < 1.101);
	f = bisect_first_move(&s.b);
	assert_int_equal(f.kind, BF_PATCH);
	assert_int_equal(f.patch, 2);
	assert_int_equal(f.dir, BC_UP);
	assert_true(f.regression);
	/* steps: only patch 2's */
	assert_false(bisect_step_moves(&s.b, 1));
	assert_true(bisect_step_moves(&s.b, 2));
	assert_false(bisect_step_moves(&s.b, 3));
	assert_int_equal(s.p[3].step.from, 2);
	assert_int_equal(s.p[3].step.cls, BC_SAME);
	nx = bisect_next(&s.b);
	assert_int_equal(nx.kind, BN_DONE);
	assert_int_equal(nx.prefix, 2);

	/* prefix 1 unmeasured: 2 moved, but patch 1 or 2 could have done it */
	unmeasure(&s, 1);
	bisect_analyse(&s.b);
	f = bisect_first_move(&s.b);
	assert_int_equal(f.kind, BF_UNDECIDED);
	assert_int_equal(f.from, 1);
	assert_int_equal(f.to, 2);
	assert_int_equal(s.p[2].step.from, 0);	/* the step spans patches 1..2 */
	nx = bisect_next(&s.b);
	assert_int_equal(nx.kind, BN_MEASURE);
	assert_int_equal(nx.prefix, 1);
}

/* Noise makes prefix 1 undecided: +2% with sd 3% at n = 3 straddles the 3% threshold. */
static void noisy_prefix_undecided(void **state)
{
	static const double noisy[] = { 99.0, 102.0, 105.0 };
	struct series s;
	struct bfirst f;
	struct bnext nx;

	(void)state;
	init(&s, 3, 3, true);
	quiet(&s, 0, 100);
	measure(&s, 1, noisy, 3);
	quiet(&s, 2, 110);
	quiet(&s, 3, 110);
	bisect_analyse(&s.b);
	assert_int_equal(s.p[1].vs_base.cls, BC_UNDECIDED);
	assert_true(s.p[1].vs_base.lo < 1.03 && s.p[1].vs_base.hi > 1.03);
	/* repetitions that would resolve it: more than 3, within the cap */
	assert_true(s.p[1].vs_base.reps > 3 && s.p[1].vs_base.reps <= BISECT_REPS_MAX);
	f = bisect_first_move(&s.b);
	assert_int_equal(f.kind, BF_UNDECIDED);
	assert_int_equal(f.from, 1);
	assert_int_equal(f.to, 2);
	assert_int_equal(f.dir, BC_UP);
	nx = bisect_next(&s.b);
	assert_int_equal(nx.kind, BN_UNDECIDED);
	assert_int_equal(nx.prefix, 1);

	/* a change right at the threshold cannot be resolved by repetitions: the cap */
	{
		static const double at[] = { 102.0, 103.0, 104.0 };

		measure(&s, 1, at, 3);
		bisect_analyse(&s.b);
		assert_int_equal(s.p[1].vs_base.cls, BC_UNDECIDED);
		assert_int_equal(s.p[1].vs_base.reps, BISECT_REPS_MAX);
	}
}

/* -10% of a cost is an improvement; of a rate, a regression; +10% of a rate an improvement. */
static void improvement(void **state)
{
	struct series s;
	struct bfirst f;

	(void)state;
	init(&s, 2, 3, true);
	quiet(&s, 0, 5000);
	quiet(&s, 1, 4500);
	quiet(&s, 2, 4500);
	bisect_analyse(&s.b);
	assert_int_equal(s.p[1].vs_base.cls, BC_DOWN);
	f = bisect_first_move(&s.b);
	assert_int_equal(f.kind, BF_PATCH);
	assert_int_equal(f.patch, 1);
	assert_int_equal(f.dir, BC_DOWN);
	assert_false(f.regression);

	s.b.lower_is_better = false;
	f = bisect_first_move(&s.b);
	assert_true(f.regression);
	quiet(&s, 1, 5500);
	quiet(&s, 2, 5500);
	bisect_analyse(&s.b);
	f = bisect_first_move(&s.b);
	assert_int_equal(f.dir, BC_UP);
	assert_false(f.regression);
	assert_true(bisect_is_regression(true, BC_UP) && !bisect_is_regression(true, BC_DOWN));
	assert_true(bisect_is_regression(false, BC_DOWN) && !bisect_is_regression(false, BC_UP));
}

/*
 * Patch 2 moves it up by 10%, patch 4 back down: the series as a whole is the same, which
 * is all a bisection sees (done, nothing to find), while the steps name both patches.
 */
static void up_then_down(void **state)
{
	struct series s;
	struct bfirst f;
	struct bnext nx;

	(void)state;
	init(&s, 5, 3, true);
	quiet(&s, 0, 1000);
	quiet(&s, 1, 1000);
	quiet(&s, 2, 1100);
	quiet(&s, 3, 1100);
	quiet(&s, 4, 1000);
	quiet(&s, 5, 1000);
	bisect_analyse(&s.b);
	assert_int_equal(s.p[5].vs_base.cls, BC_SAME);
	nx = bisect_next(&s.b);
	assert_int_equal(nx.kind, BN_DONE);
	f = bisect_first_move(&s.b);
	assert_int_equal(f.kind, BF_PATCH);
	assert_int_equal(f.patch, 2);
	assert_int_equal(f.dir, BC_UP);
	for (int k = 1; k <= 5; k++)
		assert_int_equal(bisect_step_moves(&s.b, k), k == 2 || k == 4);
	assert_int_equal(s.p[2].step.cls, BC_UP);
	assert_int_equal(s.p[4].step.cls, BC_DOWN);
	assert_true(fabs(s.p[4].step.ratio - 1000.0 / 1100) < 1e-9);

	/* only 0, 3 and 5 measured: the steps attribute to ranges of patches */
	unmeasure(&s, 1);
	unmeasure(&s, 2);
	unmeasure(&s, 4);
	bisect_analyse(&s.b);
	assert_true(bisect_step_moves(&s.b, 3));
	assert_int_equal(s.p[3].step.from, 0);
	assert_true(bisect_step_moves(&s.b, 5));
	assert_int_equal(s.p[5].step.from, 3);
	f = bisect_first_move(&s.b);
	assert_int_equal(f.kind, BF_UNDECIDED);
	assert_int_equal(f.from, 1);
	assert_int_equal(f.to, 3);
}

/* Bisect a series of n patches whose patch `at` moves it +10% (0: none moves it): the
 * measurements it takes, and the answer. */
static int run_bisection(int n, int at, struct series *s, struct bnext *last)
{
	int measured = 0;

	init(s, n, 3, true);
	for (;;) {
		bisect_analyse(&s->b);
		*last = bisect_next(&s->b);
		if (last->kind != BN_MEASURE)
			return measured;
		assert_false(s->p[last->prefix].measured);
		quiet(s, last->prefix, at && last->prefix >= at ? 1100 : 1000);
		measured++;
		assert_true(measured <= n + 1);
	}
}

/* A 9-patch series with a move at 6: 0, 9, then halving the bracket, in at most
 * ceil(log2 9) + 2 = 6 measurements; likewise wherever the move is, or none. */
static void bisection_converges(void **state)
{
	static const int seq[] = { 0, 9, 4, 6, 5 };
	struct series s;
	struct bnext nx;
	struct bfirst f;
	int m, at, i;

	(void)state;
	init(&s, 9, 3, true);
	for (i = 0; i < 5; i++) {
		bisect_analyse(&s.b);
		nx = bisect_next(&s.b);
		assert_int_equal(nx.kind, BN_MEASURE);
		assert_int_equal(nx.prefix, seq[i]);
		quiet(&s, seq[i], seq[i] >= 6 ? 1100 : 1000);
	}
	bisect_analyse(&s.b);
	nx = bisect_next(&s.b);
	assert_int_equal(nx.kind, BN_DONE);
	assert_int_equal(nx.lo, 5);
	assert_int_equal(nx.hi, 6);
	f = bisect_first_move(&s.b);
	assert_int_equal(f.kind, BF_PATCH);
	assert_int_equal(f.patch, 6);

	for (at = 0; at <= 9; at++) {
		m = run_bisection(9, at, &s, &nx);
		assert_true(m <= 6);	/* ceil(log2 9) + 2 */
		f = bisect_first_move(&s.b);
		if (!at) {
			assert_int_equal(nx.kind, BN_DONE);
			assert_int_equal(m, 2);
			assert_int_equal(f.kind, BF_NONE);
		} else {
			assert_int_equal(nx.kind, BN_DONE);
			assert_int_equal(nx.hi, at);
			assert_int_equal(f.kind, BF_PATCH);
			assert_int_equal(f.patch, at);
		}
	}
}

static void next_prefix_cases(void **state)
{
	static const double noisy[] = { 99.0, 102.0, 105.0 };
	struct series s;
	struct bnext nx;

	(void)state;
	init(&s, 4, 3, true);
	quiet(&s, 4, 1000);	/* the base first, whatever else is measured */
	bisect_analyse(&s.b);
	assert_int_equal(bisect_next(&s.b).prefix, 0);
	quiet(&s, 0, 1000);
	unmeasure(&s, 4);
	quiet(&s, 2, 1100);
	bisect_analyse(&s.b);
	nx = bisect_next(&s.b);
	assert_int_equal(nx.kind, BN_MEASURE);
	assert_int_equal(nx.prefix, 4);
	/* the whole series undecided: more repetitions, not a bisection */
	quiet(&s, 0, 100);
	unmeasure(&s, 2);
	measure(&s, 4, noisy, 3);
	bisect_analyse(&s.b);
	assert_int_equal(s.p[4].vs_base.cls, BC_UNDECIDED);
	nx = bisect_next(&s.b);
	assert_int_equal(nx.kind, BN_UNDECIDED);
	assert_int_equal(nx.prefix, 4);
	/* an undecided prefix inside the bracket (0, 4) stops it */
	quiet(&s, 4, 110);
	measure(&s, 2, noisy, 3);
	bisect_analyse(&s.b);
	nx = bisect_next(&s.b);
	assert_int_equal(nx.kind, BN_UNDECIDED);
	assert_int_equal(nx.prefix, 2);
	assert_int_equal(nx.lo, 0);
	assert_int_equal(nx.hi, 4);
	/* moved the other way inside the bracket: more than one transition */
	quiet(&s, 2, 90);
	bisect_analyse(&s.b);
	nx = bisect_next(&s.b);
	assert_int_equal(nx.kind, BN_UNDECIDED);
	assert_int_equal(nx.prefix, 2);
	/* resolved: 2 the same, 3 moved: done at patch 3 */
	quiet(&s, 2, 100);
	quiet(&s, 3, 110);
	bisect_analyse(&s.b);
	nx = bisect_next(&s.b);
	assert_int_equal(nx.kind, BN_DONE);
	assert_int_equal(nx.prefix, 3);
}

/* Fewer than 2 repetitions on a side: undecided (n < 2), never a move or "the same". */
static void too_few(void **state)
{
	static const double one[] = { 1100 }, two[] = { 1000, 1000.2 };
	struct series s;
	struct bfirst f;

	(void)state;
	init(&s, 2, 3, true);
	quiet(&s, 0, 1000);
	measure(&s, 1, one, 1);
	quiet(&s, 2, 1100);
	bisect_analyse(&s.b);
	assert_int_equal(s.p[1].vs_base.cls, BC_FEW);
	assert_false(s.p[1].vs_base.c.ok);
	assert_true(fabs(s.p[1].vs_base.ratio - 1.1) < 1e-12);	/* the ratio of the means */
	assert_true(isnan(s.p[1].vs_base.lo));
	assert_true(s.p[1].vs_base.reps >= 2);	/* at the base's noise */
	assert_int_equal(s.p[2].step.cls, BC_FEW);
	f = bisect_first_move(&s.b);
	assert_int_equal(f.kind, BF_UNDECIDED);
	assert_int_equal(f.from, 1);
	assert_int_equal(f.to, 2);

	/* a base of one repetition: nothing is decided, nothing bisected */
	measure(&s, 0, one, 1);
	measure(&s, 1, two, 2);
	bisect_analyse(&s.b);
	assert_int_equal(s.p[0].vs_base.cls, BC_FEW);
	assert_int_equal(s.p[1].vs_base.cls, BC_FEW);
	assert_int_equal(s.p[2].vs_base.cls, BC_FEW);
	assert_int_equal(bisect_first_move(&s.b).kind, BF_UNDECIDED);
	assert_int_equal(bisect_next(&s.b).kind, BN_UNDECIDED);
}

/* Exactly +-T% is "the same" (within [-m, m]); a hair beyond it is a move. */
static void threshold_boundary(void **state)
{
	static const double base[] = { 100, 100 }, at[] = { 103, 103 }, past[] = { 103.001, 103.001 };
	static const double below[] = { 100 / 1.03, 100 / 1.03 }, under[] = { 97.08, 97.08 };
	static const double noisy[] = { 103.5, 104.5 };
	struct bchange c;
	struct summary sb, sa, sp, sl, su, sn;
	double m = bisect_margin(3), x[2];

	(void)state;
	assert_true(fabs(m - log(1.03)) < 1e-15);
	sb = summarize(memcpy(x, base, sizeof(x)), 2);
	sa = summarize(memcpy(x, at, sizeof(x)), 2);
	sp = summarize(memcpy(x, past, sizeof(x)), 2);
	sl = summarize(memcpy(x, below, sizeof(x)), 2);
	su = summarize(memcpy(x, under, sizeof(x)), 2);
	sn = summarize(memcpy(x, noisy, sizeof(x)), 2);
	assert_int_equal(bisect_change(&sb, &sa, m).cls, BC_SAME);
	assert_int_equal(bisect_change(&sb, &sp, m).cls, BC_UP);
	assert_int_equal(bisect_change(&sb, &sl, m).cls, BC_SAME);
	assert_int_equal(bisect_change(&sb, &su, m).cls, BC_DOWN);
	/* +4% with an interval reaching back below +3% at n = 2: undecided */
	c = bisect_change(&sb, &sn, m);
	assert_int_equal(c.cls, BC_UNDECIDED);
	assert_true(c.lo < 1.03 && c.ratio > 1.03);
	/* a threshold of 0: only identical means are the same */
	assert_int_equal(bisect_change(&sb, &sb, 0).cls, BC_SAME);
	assert_int_equal(bisect_change(&sb, &sa, 0).cls, BC_UP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identical_values),
		cmocka_unit_test(clean_step),
		cmocka_unit_test(noisy_prefix_undecided),
		cmocka_unit_test(improvement),
		cmocka_unit_test(up_then_down),
		cmocka_unit_test(bisection_converges),
		cmocka_unit_test(next_prefix_cases),
		cmocka_unit_test(too_few),
		cmocka_unit_test(threshold_boundary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
