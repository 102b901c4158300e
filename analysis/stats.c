// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "stats.h"

struct summary summarize(double *x, size_t n)
{
	struct summary s = { 0 };

	if (!n)
		return s;
	gsl_sort(x, 1, n);
	s.n = n;
	s.mean = gsl_stats_mean(x, 1, n);
	s.median = gsl_stats_median_from_sorted_data(x, 1, n);
	s.min = x[0];
	s.max = x[n - 1];
	s.sd = n > 1 ? gsl_stats_sd_m(x, 1, n, s.mean) : 0.0;
	s.ci_lo = s.ci_hi = s.mean;
	if (n > 1) {
		double half = gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * s.sd / sqrt((double)n);

		s.ci_lo = s.mean - half;
		s.ci_hi = s.mean + half;
	}
	return s;
}

double welch_p(const struct summary *a, const struct summary *b, double *t, double *df)
{
	double va, vb, se2;

	*t = 0.0;
	*df = 0.0;
	if (a->n < 2 || b->n < 2)
		return 1.0;
	va = a->sd * a->sd / (double)a->n;
	vb = b->sd * b->sd / (double)b->n;
	se2 = va + vb;
	if (se2 == 0.0)
		return a->mean == b->mean ? 1.0 : 0.0;
	*t = (b->mean - a->mean) / sqrt(se2);
	/* Welch-Satterthwaite */
	*df = se2 * se2 / (va * va / (double)(a->n - 1) + vb * vb / (double)(b->n - 1));
	return 2.0 * gsl_cdf_tdist_Q(fabs(*t), *df);
}

double geomean(const double *r, size_t n)
{
	double sum = 0.0;
	size_t i;

	if (!n)
		return 0.0;
	for (i = 0; i < n; i++) {
		if (r[i] <= 0.0)
			return 0.0;
		sum += log(r[i]);
	}
	return exp(sum / (double)n);
}

void holm_adjust(const double *p, size_t n, double *adj)
{
	size_t *order, i;
	double running = 0.0;

	if (!n)
		return;
	order = malloc(n * sizeof(*order));
	if (!order) {
		for (i = 0; i < n; i++)
			adj[i] = 1.0;	/* no memory: claim no evidence, never a false alarm */
		return;
	}
	gsl_sort_index(order, p, 1, n);
	for (i = 0; i < n; i++) {
		double a = (double)(n - i) * p[order[i]];

		if (a > 1.0)
			a = 1.0;
		if (a > running)
			running = a;
		adj[order[i]] = running;
	}
	free(order);
}

/* Satterthwaite's degrees of freedom of a sum of two variance terms of n_a, n_b samples. */
static double satterthwaite(double va, size_t na, double vb, size_t nb)
{
	double den = va * va / (double)(na - 1) + vb * vb / (double)(nb - 1);

	return den > 0.0 ? (va + vb) * (va + vb) / den : (double)(na + nb - 2);
}

struct change log_ratio_change(const struct summary *base, const struct summary *new)
{
	struct change c = { 0 };
	double vb, vn;

	if (base->n < 2 || new->n < 2 || base->mean <= 0.0 || new->mean <= 0.0)
		return c;
	c.cv_base = base->sd / base->mean;
	c.cv_new = new->sd / new->mean;
	vb = c.cv_base * c.cv_base / (double)base->n;
	vn = c.cv_new * c.cv_new / (double)new->n;
	c.log_ratio = log(new->mean / base->mean);
	c.se = sqrt(vb + vn);
	c.df = satterthwaite(vb, base->n, vn, new->n);
	c.ok = 1;
	return c;
}

double t_upper(double a, double df)
{
	return gsl_cdf_tdist_Qinv(a, df);
}

double p_beyond(const struct change *c, double x, double margin)
{
	if (c->se == 0.0)
		return x > margin ? 0.0 : 1.0;
	return gsl_cdf_tdist_Q((x - margin) / c->se, c->df);
}

int reps_needed(const struct change *c, double a, double margin, int max)
{
	double b2 = c->cv_base * c->cv_base, n2 = c->cv_new * c->cv_new;
	int n;

	if (margin <= 0.0)	/* a threshold of 0%: no n fits any noise inside it */
		return max;
	for (n = 2; n < max; n++) {
		double vb = b2 / n, vn = n2 / n, se = sqrt(vb + vn);

		if (se == 0.0 || t_upper(a, satterthwaite(vb, (size_t)n, vn, (size_t)n)) * se <= margin)
			return n;
	}
	return max;
}
