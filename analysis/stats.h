/* SPDX-License-Identifier: GPL-2.0 */
/* Before/after statistics: summaries, Welch's t-test, confidence intervals (GSL). */
#ifndef MMUSCOPE_STATS_H
#define MMUSCOPE_STATS_H

#include <stddef.h>

struct summary {
	size_t n;
	double mean, median, sd, min, max;
	double ci_lo, ci_hi;	/* 95% confidence interval of the mean (Student's t) */
};

/* Summarise x[0..n) (x is sorted in place). n == 0 gives an all-zero summary; n == 1 a
 * zero sd and a CI of [mean, mean]. */
struct summary summarize(double *x, size_t n);

/* Two-sided p-value of Welch's unequal-variance t-test, and its t and degrees of freedom.
 * Returns 1.0 (no evidence) when either side has fewer than 2 samples or both have zero
 * variance and equal means; 0.0 when the variances are zero and the means differ. */
double welch_p(const struct summary *a, const struct summary *b, double *t, double *df);

/* Holm-Bonferroni step-down adjustment of n p-values (family-wise error control):
 * adj[i] is p[i]'s adjusted value, monotone in p, capped at 1. */
void holm_adjust(const double *p, size_t n, double *adj);

/* Geometric mean of r[0..n) (all > 0); 0 if n == 0 or any r <= 0. */
double geomean(const double *r, size_t n);

#endif
