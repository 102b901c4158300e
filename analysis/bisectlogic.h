/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which patch of a series moves a metric: the logic of bisect_report, without I/O.
 *
 * Prefix K of an N-patch series is the base with its first K patches applied (prefix 0: the
 * base). Each measured prefix has a summary of one metric's repetition values (stats.h). Its
 * change against the base, and against the previous measured prefix (its "step"), is the
 * log ratio of the means with a two-sided 95% Welch interval lr +- t(0.025, df) * se
 * (log_ratio_change), shown as the ratio interval exp(.). With m = ln(1 + T/100):
 *
 *   UP         the interval's low end > m
 *   DOWN       its high end < -m
 *   SAME       the interval lies within [-m, m]
 *   UNDECIDED  otherwise (it straddles +-m): more repetitions would tell
 *   FEW        fewer than 2 repetitions on a side, or a mean <= 0: undecided (n < 2)
 *
 * A point interval (se == 0: identical values) is classified by its point.
 */
#ifndef MMUSCOPE_BISECTLOGIC_H
#define MMUSCOPE_BISECTLOGIC_H

#include <stdbool.h>

#include "stats.h"

#define BISECT_LEVEL 0.025	/* per side: 95% two-sided intervals */
#define BISECT_REPS_MAX 50	/* the most repetitions per prefix ever suggested */

enum bclass { BC_UNMEASURED, BC_FEW, BC_UNDECIDED, BC_SAME, BC_UP, BC_DOWN };

struct bchange {
	enum bclass cls;
	int from;		/* the prefix compared against; -1: none */
	struct change c;	/* stats.h; c.ok == 0 for BC_FEW */
	double ratio;		/* to/from of the means; NAN without a mean > 0 on both sides */
	double lo, hi;		/* the 95% interval of the ratio (c.ok only) */
	int reps;		/* BC_UNDECIDED, BC_FEW: repetitions per prefix (both sides) that
				 * would resolve it at the observed noise, capped at BISECT_REPS_MAX;
				 * 0: unknown (no side has 2 repetitions) */
};

struct bprefix {
	bool measured;
	struct summary s;	/* the metric's values at this prefix */
	struct bchange vs_base;	/* against prefix 0 (prefix 0 itself: BC_SAME with itself) */
	struct bchange step;	/* against the previous measured prefix (prefix 0: from -1) */
};

struct bisect {
	int n;			/* N: patches in the series; prefixes 0..N */
	double threshold;	/* T, percent (>= 0) */
	bool lower_is_better;
	struct bprefix *p;	/* p[0..N]: measured and s set by the caller */
};

/* m = ln(1 + T/100): the band of "the same" on the log scale. */
double bisect_margin(double threshold);

/* The change from -> to, classified against margin (bisect_margin()). */
struct bchange bisect_change(const struct summary *from, const struct summary *to, double margin);

/* Every measured prefix's vs_base and step (b->p[k].measured and .s set). */
void bisect_analyse(struct bisect *b);

/* Whether a move in direction cls (BC_UP or BC_DOWN) is a regression: up for a cost
 * (lower is better), down for a rate. */
bool bisect_is_regression(bool lower_is_better, enum bclass cls);

/*
 * The first move. Its direction d is that of prefix N against the base when N is measured
 * and moved, else either. K is the smallest measured prefix whose change against the base
 * is moved in direction d.
 *
 *   BF_PATCH      patch K: K - 1 is measured and every measured prefix below K is SAME
 *   BF_NONE       nothing moved, 0 and N measured, every measured prefix SAME
 *   BF_UNDECIDED  otherwise: the move lies among patches from..to (to = K when a prefix
 *                 moved, else N); the prefixes in between are undecided or unmeasured
 */
enum bfirst_kind { BF_PATCH, BF_NONE, BF_UNDECIDED };

struct bfirst {
	enum bfirst_kind kind;
	int patch;		/* BF_PATCH: K; else -1 */
	int from, to;		/* BF_UNDECIDED: the patches it could be */
	enum bclass dir;	/* BC_UP/BC_DOWN when a prefix moved (BF_PATCH, or K found) else
				 * BC_SAME */
	bool regression;	/* dir is the bad direction */
};

struct bfirst bisect_first_move(const struct bisect *b);

/* Whether prefix k's step against the previous measured prefix is a move (UP or DOWN):
 * the patches b->p[k].step.from + 1 .. k move the metric. */
bool bisect_step_moves(const struct bisect *b, int k);

/*
 * The next prefix to measure for a bisection that assumes one transition:
 *   prefix 0 unmeasured: 0; N unmeasured: N; N SAME against the base: done (nothing to
 *   find); N undecided: undecided. Else the bracket (lo, hi): hi the lowest prefix moved in
 *   N's direction, lo the highest SAME prefix below it (0 at least). Adjacent: done (patch
 *   hi). A measured prefix inside the bracket (undecided, or moved the other way), or a
 *   non-SAME one below it: undecided (more repetitions first; the report would not name a
 *   patch either). Else the bracket's midpoint.
 */
enum bnext_kind { BN_MEASURE, BN_DONE, BN_UNDECIDED };

struct bnext {
	enum bnext_kind kind;
	int prefix;		/* BN_MEASURE: the prefix; BN_UNDECIDED: the one in the way */
	int lo, hi;		/* the bracket, when there is one; else -1 */
	const char *why;	/* a static phrase for the log */
};

struct bnext bisect_next(const struct bisect *b);

#endif
