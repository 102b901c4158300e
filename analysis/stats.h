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

/*
 * The gate's view of a change: the ratio new/base of two means on the log scale, with a
 * Welch interval. ln(new/base) has, by the delta method, the variance cv_b^2/n_b +
 * cv_n^2/n_n (cv = sd/mean of each side), and Welch-Satterthwaite degrees of freedom from
 * those two terms; for timings, whose noise is proportional to the value, that is Welch's
 * t-test on log values without taking the log of each repetition (a count of 0 in one
 * repetition does not make the metric unusable).
 */
struct change {
	double log_ratio;	/* ln(new mean / base mean) */
	double se;		/* its standard error */
	double df;		/* Welch-Satterthwaite (n_b + n_n - 2 when se == 0) */
	double cv_base, cv_new;	/* sd / mean of each side */
	int ok;			/* 0: fewer than 2 repetitions on a side, or a mean <= 0 */
};

struct change log_ratio_change(const struct summary *base, const struct summary *new);

/* Upper quantile of Student's t: the t with P(T > t) = a, for df degrees of freedom. */
double t_upper(double a, double df);

/* One-sided p-value of "the log change exceeds margin": P(T_df >= (x - margin) / se) for
 * x the change in the bad direction (log_ratio, or -log_ratio where higher is better);
 * 0 or 1 when se == 0. */
double p_beyond(const struct change *c, double x, double margin);

/* The fewest repetitions per kernel with t_upper(a, df(n)) * se(n) <= margin at the noise
 * of c (cv_base, cv_new): where the noise margin of a one-sided level-a bound fits inside
 * margin. At most max (returned when even max does not). */
int reps_needed(const struct change *c, double a, double margin, int max);

#endif
