// SPDX-License-Identifier: GPL-2.0
/* bisectlogic: which patch of a series moves a metric (bisectlogic.h). */
#include <math.h>

#include "bisectlogic.h"

double bisect_margin(double threshold)
{
	return log1p(threshold / 100.0);
}

/* A few parts per billion of the margin: a ratio that equals 1 + T% up to rounding (103/100
 * against log1p(0.03)) is at the threshold, not beyond it. */
static double tolerance(double margin)
{
	return margin * 1e-9;
}

static bool moved(enum bclass c)
{
	return c == BC_UP || c == BC_DOWN;
}

/* BC_FEW: the repetitions per prefix that would resolve the change, at the noise of the
 * side that has 2 repetitions (taken for both); 0 when neither has. */
static int few_reps(const struct summary *from, const struct summary *to, double margin)
{
	const struct summary *noisy = from->n >= 2 ? from : to->n >= 2 ? to : NULL;
	struct change guess = { 0 };
	double dist;

	if (!noisy || !from->n || !to->n || from->mean <= 0.0 || to->mean <= 0.0)
		return 0;
	guess.cv_base = guess.cv_new = noisy->sd / noisy->mean;
	dist = fabs(fabs(log(to->mean / from->mean)) - margin);
	return reps_needed(&guess, BISECT_LEVEL, dist, BISECT_REPS_MAX);
}

struct bchange bisect_change(const struct summary *from, const struct summary *to, double margin)
{
	struct bchange r = { .cls = BC_FEW, .from = -1, .ratio = NAN, .lo = NAN, .hi = NAN };
	double tol = tolerance(margin), half, lo, hi;
	size_t fewer = from->n < to->n ? from->n : to->n;

	if (from->n && to->n && from->mean > 0.0 && to->mean > 0.0)
		r.ratio = to->mean / from->mean;
	r.c = log_ratio_change(from, to);
	if (!r.c.ok) {
		r.reps = few_reps(from, to, margin);
		return r;
	}
	half = r.c.se > 0.0 ? t_upper(BISECT_LEVEL, r.c.df) * r.c.se : 0.0;
	lo = r.c.log_ratio - half;
	hi = r.c.log_ratio + half;
	r.lo = exp(lo);
	r.hi = exp(hi);
	if (lo > margin + tol) {
		r.cls = BC_UP;
	} else if (hi < -margin - tol) {
		r.cls = BC_DOWN;
	} else if (lo >= -margin - tol && hi <= margin + tol) {
		r.cls = BC_SAME;
	} else {
		/* The interval straddles a threshold: it must shrink to the distance between the
		 * estimate and that threshold, with more repetitions than the smaller side has. */
		r.cls = BC_UNDECIDED;
		r.reps = reps_needed(&r.c, BISECT_LEVEL, fabs(fabs(r.c.log_ratio) - margin),
				     BISECT_REPS_MAX);
		if ((size_t)r.reps <= fewer)
			r.reps = fewer + 1 < BISECT_REPS_MAX ? (int)fewer + 1 : BISECT_REPS_MAX;
	}
	return r;
}

static struct bchange none(void)
{
	return (struct bchange){ .cls = BC_UNMEASURED, .from = -1, .ratio = NAN, .lo = NAN,
				 .hi = NAN };
}

void bisect_analyse(struct bisect *b)
{
	double m = bisect_margin(b->threshold);
	const struct summary *base = &b->p[0].s;
	int prev = -1;

	for (int k = 0; k <= b->n; k++) {
		struct bprefix *p = &b->p[k];

		p->vs_base = p->step = none();
		if (!p->measured)
			continue;
		if (k == 0) {
			struct change c = log_ratio_change(base, base);

			p->vs_base = (struct bchange){ .cls = c.ok ? BC_SAME : BC_FEW, .from = 0,
						       .ratio = 1.0, .lo = 1.0, .hi = 1.0 };
		} else if (b->p[0].measured) {
			p->vs_base = bisect_change(base, &p->s, m);
			p->vs_base.from = 0;
		}
		if (prev >= 0) {
			p->step = bisect_change(&b->p[prev].s, &p->s, m);
			p->step.from = prev;
		}
		prev = k;
	}
}

bool bisect_is_regression(bool lower_is_better, enum bclass cls)
{
	return lower_is_better ? cls == BC_UP : cls == BC_DOWN;
}

static enum bclass cls_of(const struct bisect *b, int k)
{
	return b->p[k].measured ? b->p[k].vs_base.cls : BC_UNMEASURED;
}

/* The direction of the series as a whole: prefix N's move, else BC_SAME for either. */
static enum bclass series_dir(const struct bisect *b)
{
	enum bclass c = cls_of(b, b->n);

	return moved(c) ? c : BC_SAME;
}

/* The smallest measured prefix moved in direction dir (BC_SAME: either); -1 if none. */
static int first_moved(const struct bisect *b, enum bclass dir)
{
	for (int k = 1; k <= b->n; k++) {
		enum bclass c = cls_of(b, k);

		if (dir == BC_SAME ? moved(c) : c == dir)
			return k;
	}
	return -1;
}

struct bfirst bisect_first_move(const struct bisect *b)
{
	struct bfirst f = { .kind = BF_UNDECIDED, .patch = -1, .from = 1, .to = b->n,
			    .dir = BC_SAME };
	int k, K, same = 0;	/* same: the end of the run of SAME measured prefixes from 0 */
	bool all_same = true;

	if (!b->p[0].measured)
		return f;
	for (k = 1; k <= b->n; k++) {
		if (!b->p[k].measured)
			continue;
		if (cls_of(b, k) != BC_SAME) {
			all_same = false;
			break;
		}
		same = k;
	}
	K = first_moved(b, series_dir(b));
	f.from = same + 1;
	if (K < 0) {
		if (all_same && b->p[b->n].measured)
			f.kind = BF_NONE;
		return f;
	}
	f.dir = cls_of(b, K);
	f.regression = bisect_is_regression(b->lower_is_better, f.dir);
	f.to = K;
	if (same == K - 1) {
		f.kind = BF_PATCH;
		f.patch = K;
	}
	return f;
}

bool bisect_step_moves(const struct bisect *b, int k)
{
	return b->p[k].measured && moved(b->p[k].step.cls);
}

struct bnext bisect_next(const struct bisect *b)
{
	struct bnext r = { .kind = BN_MEASURE, .prefix = 0, .lo = -1, .hi = -1 };
	enum bclass cn, d;
	int k;

	if (!b->p[0].measured) {
		r.why = "the base is not measured";
		return r;
	}
	if (!b->p[b->n].measured) {
		r.prefix = b->n;
		r.why = "the whole series is not measured";
		return r;
	}
	cn = cls_of(b, b->n);
	if (cn == BC_SAME) {
		r.kind = BN_DONE;
		r.why = "the whole series stays within the threshold: nothing to find";
		return r;
	}
	if (!moved(cn)) {
		r.kind = BN_UNDECIDED;
		r.prefix = b->n;
		r.why = "the whole series is undecided against the base: more repetitions of both";
		return r;
	}
	d = series_dir(b);
	r.hi = first_moved(b, d);
	for (r.lo = r.hi - 1; r.lo > 0 && cls_of(b, r.lo) != BC_SAME; r.lo--)
		;
	for (k = 1; k < r.hi; k++) {
		if (k == r.lo || !b->p[k].measured || cls_of(b, k) == BC_SAME)
			continue;
		r.kind = BN_UNDECIDED;
		r.prefix = k;
		r.why = k > r.lo ? (moved(cls_of(b, k)) ? "a prefix inside the bracket moved the "
				    "other way: more than one transition" : "a prefix inside the "
				    "bracket is undecided: more repetitions of it") :
			"a prefix below the bracket is not the same as the base: more repetitions "
			"of it";
		return r;
	}
	if (r.hi - r.lo == 1) {
		r.kind = BN_DONE;
		r.prefix = r.hi;
		r.why = "the bracket's ends are adjacent: its upper end's patch moves it";
		return r;
	}
	r.prefix = r.lo + (r.hi - r.lo) / 2;
	r.why = "the bracket's midpoint";
	return r;
}
