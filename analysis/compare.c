// SPDX-License-Identifier: GPL-2.0
/*
 * compare: two result sets, metric by metric, and the gate.
 *
 *   compare [-a ALPHA] [-m METRICS] [-r REPORT.md] [-t ROWS.tsv] BASE_DIR NEW_DIR
 *
 * A result set is a directory of <mode>/<workload>/<rep>.json (as `make bench` writes
 * under results/<run>/<kernel>/). Metrics, their direction, threshold and flags come from
 * analysis/metrics.conf. For every metric and mode: n, mean, median, sd, 95% CI, the ratio
 * new/base, Welch's p-value and a mark (mmtests-style: "+" significantly better, "-"
 * significantly worse, blank not significant at p < 0.05): reported, never gated.
 *
 * The gate looks only at each workload's gated family (a few metrics, chosen before the
 * run): the metrics flagged "gate", plus those flagged "gate-insns" when both sets carry
 * instruction counts for the workload (testhost --insns) or else those flagged "gate-wall"
 * (choose_family()); see gate_family() for the rule, ci/README.md for why. Metric paths:
 * metricpath.h.
 *
 * Exit (README.md, "Exit codes"): 0 no regression; 1 a gated regression (named on stderr);
 * 2 usage or bad input (a corrupt file, a workload in one set only, no metric at all): the
 * rest is still compared and reported; 3 the report or rows could not be written.
 * METRICS defaults to the tree's analysis/metrics.conf, wherever compare runs from (its
 * path is built in: MMUSCOPE_METRICS).
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "atomicfile.h"
#include "cli.h"
#include "metricpath.h"
#include "metricsconf.h"
#include "reps.h"
#include "resultset.h"
#include "stats.h"

#define MAX_METRICS 128
#define MAX_REPS 1024
#define MAX_NAMES 256
#define MAX_ROWS (MAX_METRICS * 64)


static struct metric metrics[MAX_METRICS];
static int nmetrics;
static int input_errors;

static void input_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void input_error(const char *fmt, ...)
{
	va_list ap;

	fputs("compare: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	input_errors++;
}

/* --- reading a value out of a repetition --------------------------------------------------- */

/* A workload's repetitions (reps.h), their bad files counted as bad input. */
static void load_reps(const char *dir, struct reps *r)
{
	reps_load("compare", dir, r);
	input_errors += r->bad;
}

/* The values of metric m over the repetitions r; docs counts them (the readable ones). */
struct sample {
	double v[MAX_REPS];
	size_t n, docs;
};

static void collect(const struct reps *r, const struct metric *m, struct sample *s)
{
	s->docs = r->n;
	s->n = r->n <= MAX_REPS ? reps_collect(r, m, s->v) : 0;
}

/*
 * The gated family of each mode/workload: its gate-insns metrics when both sets carry
 * instruction counts (testhost --insns: the repetitions' "insns" documents, near-
 * deterministic), else its gate-wall ones (wall-clock, noisy under TCG); "gate" metrics in
 * both cases. The report says which, and why, in one line per workload.
 */
struct family {
	char mode[64], workload[64];
	bool insns;
	char why[256];
};

static struct family families[MAX_ROWS];
static int nfamilies;

/* Repetitions whose JSON has an "insns" document of the TCG plugin (an object with
 * per-function buckets: null without testhost --insns, or for a repetition without a window
 * of its own); *perf: those with perf's (a host booted into the kernel: source "perf",
 * totals only). perf's counts are reported, never gated: on hardware they count the VMM's
 * threads host side only (not the guest's kernel), and no threshold was measured for them. */
static size_t insns_reps(const struct reps *r, size_t *perf)
{
	struct json_object *insns, *buckets;
	size_t with = 0;

	*perf = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (!json_object_object_get_ex(r->doc[i], "insns", &insns) ||
		    !json_object_is_type(insns, json_type_object))
			continue;
		if (json_object_object_get_ex(insns, "buckets", &buckets) &&
		    json_object_is_type(buckets, json_type_object))
			with++;
		else
			++*perf;
	}
	return with;
}

/* Repetitions in which expr has a value. */
static size_t valued_reps(const struct reps *r, const char *expr)
{
	size_t with = 0;
	double v;

	for (size_t i = 0; i < r->n; i++)
		with += metricpath_value(r->doc[i], expr, NULL, &v) == 1;
	return with;
}

/* Whether one of wl's gate-insns metrics has a value in 2 repetitions a side (2), in one
 * set only (1), or in neither (0): a family of rows without values would gate nothing. */
static int insns_rows_valued(const char *wl, const struct reps *b, const struct reps *n)
{
	int best = 0;

	for (int k = 0; k < nmetrics; k++) {
		size_t vb, vn;

		if (!metrics[k].gate_insns || fnmatch(metrics[k].workloads, wl, 0))
			continue;
		vb = valued_reps(b, metrics[k].path);
		vn = valued_reps(n, metrics[k].path);
		if (vb >= 2 && vn >= 2)
			return 2;
		if (vb >= 2 || vn >= 2)
			best = 1;
	}
	return best;
}

/* The family of mode/wl (b, n: its repetitions in the two sets); NULL when no gate-insns
 * or gate-wall metric applies to it (its gated metrics, if any, are the "gate" ones). */
static const struct family *choose_family(const char *mode, const char *wl,
					  const struct reps *b, const struct reps *n)
{
	bool any_insns = false, any_wall = false;
	size_t bi, bd, ni, nd, bp, np;
	int valued = 0;
	bool warn = false;	/* a set lacks what the other has: said on stderr too */
	struct family *f;
	int k;

	for (k = 0; k < nmetrics; k++)
		if (!fnmatch(metrics[k].workloads, wl, 0)) {
			any_insns |= metrics[k].gate_insns;
			any_wall |= metrics[k].gate_wall;
		}
	if ((!any_insns && !any_wall) || nfamilies == MAX_ROWS)
		return NULL;
	f = &families[nfamilies++];
	snprintf(f->mode, sizeof(f->mode), "%.63s", mode);
	snprintf(f->workload, sizeof(f->workload), "%.63s", wl);
	bi = insns_reps(b, &bp), bd = b->n;
	ni = insns_reps(n, &np), nd = n->n;
	if (any_insns && bi >= 2 && ni >= 2)
		valued = insns_rows_valued(wl, b, n);
	f->insns = valued == 2;
	if (f->insns) {
		snprintf(f->why, sizeof(f->why), "instruction counts (`gate-insns`): both sets carry "
			 "insns (%zu/%zu base, %zu/%zu new repetitions)", bi, bd, ni, nd);
	} else if (!any_insns) {
		snprintf(f->why, sizeof(f->why), "wall clock (`gate-wall`): no `gate-insns` metric "
			 "applies to this workload");
	} else if (bi >= 2 && ni >= 2) {
		snprintf(f->why, sizeof(f->why), "wall clock (`gate-wall`): its `gate-insns` rows have "
			 "%s", valued ? "values in one set only (2 repetitions a side needed)" :
			 "no value in these sets");
		warn = true;
	} else if (!bi && !ni && bp && np) {
		snprintf(f->why, sizeof(f->why), "wall clock (`gate-wall`): perf's instruction counts "
			 "(a host booted into the kernel: totals only), reported, not gated");
	} else if (!bi && !ni && !bp && !np) {
		snprintf(f->why, sizeof(f->why), "wall clock (`gate-wall`): no insns in either set "
			 "(instruction counts need `ci/bench --insns` or INSNS=1)");
	} else {
		snprintf(f->why, sizeof(f->why), "wall clock (`gate-wall`): %s (%zu/%zu base, %zu/%zu "
			 "new repetitions with insns; 2 a side needed)", (bi >= 2) != (ni >= 2) ?
			 ((bp || np) ? "the plugin's insns in one set, perf's in the other" :
			  "insns in one set only") : "too few repetitions with insns", bi, bd, ni, nd);
		warn = true;
	}
	if (warn)
		fprintf(stderr, "compare: warning: %s/%s gated on wall clock: %s\n", mode, wl,
			f->why + strlen("wall clock (`gate-wall`): "));
	return f;
}

/* --- rows and the gate ----------------------------------------------------------------------- */

enum verdict { V_NONE, V_NA, V_OK, V_BETTER, V_POSSIBLE, V_REGRESSION };

static const char *const verdict_word[] = {
	[V_NONE] = "-", [V_NA] = "n/a", [V_OK] = "ok", [V_BETTER] = "better",
	[V_POSSIBLE] = "possible", [V_REGRESSION] = "regression",
};

struct row {
	char metric[64], mode[64], workload[64];
	struct summary base, new;
	double ratio, p;	/* new/base of the means; Welch's two-sided p */
	char mark;
	const struct metric *m;
	bool gated;		/* in its workload's gated family (choose_family()) */
	/* gated rows only */
	struct change c;
	double bad;		/* the change in the bad direction, log scale (> 0: worse) */
	double margin;		/* the threshold on that scale */
	double p_gate, p_holm;	/* one-sided: "worse beyond the threshold"; Holm in the family */
	double lo, hi;		/* interval of new/base, one-sided bounds at the family's level */
	double detectable;	/* the smallest bad change (log) this run flags */
	int reps;		/* repetitions per kernel for a margin within the threshold */
	enum verdict verdict;
};

/* A log change in the bad direction as new/base: 1.3 for +30% of a cost, 0.77 of a rate. */
static double bad_to_ratio(const struct metric *m, double bad)
{
	return exp(m->lower_is_better ? bad : -bad);
}

/* new/base as a signed percentage: "+30%", "-4.2%". */
static const char *pct(char *buf, size_t n, double ratio)
{
	double x = (ratio - 1.0) * 100.0;

	if (!isfinite(x))
		snprintf(buf, n, "n/a");
	else
		snprintf(buf, n, fabs(x) < 9.95 ? "%+.1f%%" : "%+.0f%%", x);
	return buf;
}

static void row_stats(struct row *r)
{
	const struct metric *m = r->m;

	r->verdict = r->gated ? V_NA : V_NONE;
	if (r->gated)
		r->margin = m->lower_is_better ? log1p(m->threshold / 100.0) :
			    -log1p(-m->threshold / 100.0);
	r->ratio = NAN;
	r->p = 1.0;
	r->mark = ' ';
	if (!r->base.n || !r->new.n)
		return;
	if (r->base.mean != 0.0)
		r->ratio = r->new.mean / r->base.mean;
	else
		r->ratio = r->new.mean == 0.0 ? 1.0 : INFINITY;
	r->p = welch_p(&r->base, &r->new, &(double){ 0 }, &(double){ 0 });
	if (r->p < 0.05 && r->new.mean != r->base.mean)
		r->mark = ((r->new.mean < r->base.mean) == m->lower_is_better) ? '+' : '-';
	if (!r->gated)
		return;
	r->c = log_ratio_change(&r->base, &r->new);
	r->bad = m->lower_is_better ? r->c.log_ratio : -r->c.log_ratio;
	r->p_gate = r->c.ok ? p_beyond(&r->c, r->bad, r->margin) : 1.0;
}

/* The verdict of one gated row whose Holm p is known, tested at level a per side. */
static void decide(struct row *r, double alpha, double a)
{
	double t = t_upper(a, r->c.df), half = t * r->c.se;

	r->lo = exp(r->c.log_ratio - half);
	r->hi = exp(r->c.log_ratio + half);
	r->detectable = r->margin + half;
	r->reps = reps_needed(&r->c, a, r->margin, 100000);
	if (r->p_holm < alpha)
		r->verdict = V_REGRESSION;
	else if (r->bad > r->margin * (1 + 1e-9))	/* not a rounding error's worth beyond */
		r->verdict = V_POSSIBLE;
	else if (r->m->lower_is_better ? r->hi < 1.0 : r->lo > 1.0)
		r->verdict = V_BETTER;
	else
		r->verdict = V_OK;
}

/*
 * The gate, over one family: the gated rows of one mode/workload. For each, x = ln(new/base)
 * in the bad direction, its standard error and Welch-Satterthwaite df (log_ratio_change),
 * and the one-sided p of "x exceeds the threshold ln(1 + T%)" (ln 1/(1 - T%) for a rate).
 * Holm over the family at alpha: a regression. The interval shown is x +- t(alpha/m, df) *
 * se, the bound a lone regression must clear; "possible" when x is beyond the threshold
 * but the regression is not shown; detectable = threshold + t(alpha/m, df) * se.
 */
static void gate_family(struct row *rows, int nrows, double alpha)
{
	double p[MAX_METRICS], adj[MAX_METRICS];
	int idx[MAX_METRICS], m = 0, i;

	for (i = 0; i < nrows; i++) {
		rows[i].p_holm = 1.0;
		if (rows[i].gated && rows[i].c.ok && m < MAX_METRICS) {
			idx[m] = i;
			p[m++] = rows[i].p_gate;
		}
	}
	holm_adjust(p, (size_t)m, adj);
	for (i = 0; i < m; i++) {
		rows[idx[i]].p_holm = adj[i];
		decide(&rows[idx[i]], alpha, alpha / m);
	}
}

/* The stderr lines of a gated row: what ci/bench's log and a reader of it need. */
static void gate_lines(const struct row *r, double alpha)
{
	const struct metric *m = r->m;
	char a[32], b[32], c[32];

	if (r->verdict == V_REGRESSION)
		fprintf(stderr, "compare: regression: %s in %s/%s: %.4g -> %.4g (x%.3f, bound x%.3f "
			"beyond the threshold %s, Holm p=%.3g < %.3g)\n", r->metric, r->mode,
			r->workload, r->base.mean, r->new.mean, r->ratio,
			m->lower_is_better ? r->lo : r->hi, pct(a, sizeof(a), bad_to_ratio(m, r->margin)),
			r->p_holm, alpha);
	else if (r->verdict == V_POSSIBLE)
		fprintf(stderr, "compare: possible regression: %s in %s/%s: %.4g -> %.4g (x%.3f, "
			"threshold %s inside [x%.3f, x%.3f]; detectable %s)\n", r->metric, r->mode,
			r->workload, r->base.mean, r->new.mean, r->ratio,
			pct(a, sizeof(a), bad_to_ratio(m, r->margin)), r->lo, r->hi,
			pct(b, sizeof(b), bad_to_ratio(m, r->detectable)));
	else if (r->verdict == V_NA)
		fprintf(stderr, "compare: warning: %s in %s/%s is gated but not checked: n = %zu/%zu "
			"(needs 2 repetitions with a value on each side, and means > 0)\n", r->metric,
			r->mode, r->workload, r->base.n, r->new.n);
	/* The noise margin alone is larger than the threshold: even twice the threshold may
	 * pass. ci/bench greps this line (format in ci/README.md). */
	if (r->verdict >= V_OK && r->detectable > 2.0 * r->margin)
		fprintf(stderr, "compare: warning: underpowered: %s in %s/%s: detectable %s at "
			"n=%zu/%zu (sd %.1f%%/%.1f%%), threshold %s: reps=%d\n", r->metric, r->mode,
			r->workload, pct(b, sizeof(b), bad_to_ratio(m, r->detectable)), r->base.n,
			r->new.n, 100.0 * r->c.cv_base, 100.0 * r->c.cv_new,
			pct(c, sizeof(c), bad_to_ratio(m, r->margin)), r->reps);
}

/* Families are runs of rows of one mode/workload (rows are built in that order). */
static int gate(struct row *rows, int nrows, double alpha)
{
	int i, j, regressions = 0;

	for (i = 0; i < nrows; i = j) {
		for (j = i + 1; j < nrows && !strcmp(rows[j].mode, rows[i].mode) &&
		     !strcmp(rows[j].workload, rows[i].workload); j++)
			;
		gate_family(rows + i, j - i, alpha);
	}
	for (i = 0; i < nrows; i++) {
		if (!rows[i].gated)
			continue;
		gate_lines(&rows[i], alpha);
		regressions += rows[i].verdict == V_REGRESSION;
	}
	return regressions;
}

/* --- the report ------------------------------------------------------------------------------- */

static void print_side(FILE *f, const struct summary *s)
{
	if (s->n)
		fprintf(f, " %.4g ± %.2g |", s->mean, s->sd);
	else
		fprintf(f, " n/a |");
}

static void print_row(FILE *f, const struct row *r)
{
	char gate[32] = "not gated";

	if (r->gated)
		snprintf(gate, sizeof(gate), r->c.ok ? "%.3g" : "n/a", r->p_holm);
	fprintf(f, "| %s | %s | %s | %zu/%zu |", r->metric, r->mode, r->workload, r->base.n, r->new.n);
	print_side(f, &r->base);
	print_side(f, &r->new);
	if (!r->base.n || !r->new.n) {
		fprintf(f, " n/a | n/a | n/a | %s | n/a |\n", gate);
		return;
	}
	fprintf(f, " %.3f | [%.4g, %.4g] | %.3g | %s | %c%s |\n", r->ratio, r->new.ci_lo,
		r->new.ci_hi, r->p, gate, r->mark, r->verdict == V_REGRESSION ? " REGRESSION" :
		r->verdict == V_POSSIBLE ? " possible regression" : "");
}

static void print_gate_row(FILE *f, const struct row *r)
{
	const struct metric *m = r->m;
	static const char *const shown[] = {
		[V_NA] = "n/a", [V_OK] = "ok", [V_BETTER] = "better",
		[V_POSSIBLE] = "possible regression", [V_REGRESSION] = "REGRESSION",
	};
	char t[32], d[32];

	fprintf(f, "| %s | %s | %s | %zu/%zu |", shown[r->verdict], r->metric, r->workload,
		r->base.n, r->new.n);
	if (r->verdict == V_NA)
		fprintf(f, " n/a | n/a | %s | n/a |\n", pct(t, sizeof(t), bad_to_ratio(m, r->margin)));
	else
		fprintf(f, " %.3f | [%.3f, %.3f] | %s | %s |\n", r->ratio, r->lo, r->hi,
			pct(t, sizeof(t), bad_to_ratio(m, r->margin)),
			pct(d, sizeof(d), bad_to_ratio(m, r->detectable)));
}

/* "## Gate: ..." and a line naming what needs a look. */
static void print_verdict(FILE *f, const struct row *rows, int nrows)
{
	int count[V_REGRESSION + 1] = { 0 }, gated = 0, i, v;

	for (i = 0; i < nrows; i++)
		if (rows[i].gated) {
			count[rows[i].verdict]++;
			gated++;
		}
	if (!gated) {
		fprintf(f, "## Gate: nothing gated (no metric of the gated families was measured: "
			"flags gate, gate-insns, gate-wall)\n\n");
		return;
	}
	fprintf(f, "## Gate: %s\n\n", count[V_REGRESSION] ? "REGRESSION" : count[V_POSSIBLE] ?
		"no regression, possible regressions to look at" : count[V_NA] == gated ?
		"nothing checked (every gated metric n/a: fewer than 2 values a side?)" :
		"no regression");
	fprintf(f, "Gated metrics: %d (regression %d, possible %d, ok %d, better %d, n/a %d).",
		gated, count[V_REGRESSION], count[V_POSSIBLE], count[V_OK], count[V_BETTER], count[V_NA]);
	for (v = V_REGRESSION; v >= V_POSSIBLE; v--)
		for (i = 0; i < nrows; i++)
			if (rows[i].gated && (int)rows[i].verdict == v)
				fprintf(f, " %s: %s in %s/%s (x%.3f).", v == V_REGRESSION ? "Regression" :
					"Possible", rows[i].metric, rows[i].mode, rows[i].workload,
					rows[i].ratio);
	fputs("\n\n", f);
}

static bool mode_has_family(const char *mode)
{
	for (int i = 0; i < nfamilies; i++)
		if (!strcmp(families[i].mode, mode))
			return true;
	return false;
}

/* One line per workload of mode: which family gated it, and why (choose_family()). */
static void print_families(FILE *f, const char *mode)
{
	bool first = true;

	for (int i = 0; i < nfamilies; i++) {
		if (strcmp(families[i].mode, mode))
			continue;
		if (first)
			fprintf(f, "Gated family per workload (flags in metrics.conf):\n\n");
		first = false;
		fprintf(f, "- %s: %s\n", families[i].workload, families[i].why);
	}
	if (!first)
		fputc('\n', f);
}

static void print_gate(FILE *f, const struct row *rows, int nrows, double alpha)
{
	int i, j;

	print_verdict(f, rows, nrows);
	for (i = 0; i < nrows; i = j) {
		bool any = false;

		for (j = i; j < nrows && !strcmp(rows[j].mode, rows[i].mode); j++)
			any |= rows[j].gated;
		if (!any && !mode_has_family(rows[i].mode))
			continue;
		fprintf(f, "### %s MMU\n\n", rows[i].mode);
		if (any) {
			fprintf(f, "| verdict | metric | workload | n base/new | new/base | interval | "
				"threshold | detectable |\n|---|---|---|---|---|---|---|---|\n");
			for (int k = i; k < j; k++)
				if (rows[k].gated)
					print_gate_row(f, &rows[k]);
			fputc('\n', f);
		} else {
			fprintf(f, "Nothing gated in this mode.\n\n");
		}
		print_families(f, rows[i].mode);
	}
	fprintf(f, "Rule: a gated metric regressed when its interval of new/base lies beyond its "
		"threshold in the bad direction (Holm over the workload's gated metrics at one-sided "
		"level %.3g); possible: the ratio is beyond the threshold but the interval reaches back "
		"inside it. Interval: the log ratio of the means +- t(%.3g/m, Welch df) x its standard "
		"error, m the workload's gated metrics. Detectable: the smallest change this run "
		"would have flagged at its n and sd; a smaller one passes unseen.\n\n", alpha, alpha);
}

static void print_report(FILE *f, const char *base, const char *new, const struct row *rows,
			 int nrows, double alpha, const char *metrics_file, int regressions)
{
	double ratios[MAX_ROWS];
	int nratios = 0, i;

	fprintf(f, "Base: %s  \nNew: %s\n\n", base, new);
	print_gate(f, rows, nrows, alpha);
	for (int pass = 0; pass < 2; pass++) {
		fprintf(f, "%s", pass ? "\n## All metrics\n\n" : "## Headline\n\n");
		fprintf(f, "| metric | mode | workload | n base/new | base mean ± sd | new mean ± sd | "
			"new/base | new 95%% CI | p (Welch) | p (gate, Holm) | sig |\n");
		fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|\n");
		for (i = 0; i < nrows; i++)
			if (pass || rows[i].m->headline)
				print_row(f, &rows[i]);
	}
	for (i = 0; i < nrows; i++)
		if (isfinite(rows[i].ratio) && rows[i].ratio > 0)
			ratios[nratios++] = rows[i].m->lower_is_better ? rows[i].ratio : 1.0 / rows[i].ratio;
	fprintf(f, "\nGeometric mean of cost ratios (new/base, inverted for higher-is-better; "
		"< 1 is better): %.3f over %d metrics\n\n", geomean(ratios, (size_t)nratios), nratios);
	fprintf(f, "Significance: + better, - worse at p < 0.05 (Welch's t-test), shown for every "
		"metric; only the gated ones (flag `gate`, or `gate-insns`/`gate-wall` by the family "
		"above, in %s) can fail the run: regressions: %d. "
		"n/a: no value (a latency with no events has none).\n", metrics_file, regressions);
}

/* sd as a percentage of the mean; nan without values or a mean of 0. */
static double cv_pct(const struct summary *s)
{
	return s->n && s->mean != 0.0 ? 100.0 * s->sd / fabs(s->mean) : NAN;
}

/*
 * One row per metric, atomically: metric mode workload base_mean new_mean ratio new_ci_lo
 * new_ci_hi mark, then for analysis/plot's gate plot: gate (1/0) lo hi threshold (the
 * new/base ratio where the bad side starts) verdict detectable (as new/base), and n_base
 * n_new sd_base_pct sd_new_pct (sd as % of the mean: the noise the gate saw); nan where
 * there is no value.
 */
static int write_tsv(const char *file, const struct row *rows, int nrows)
{
	struct atomic_file af;
	FILE *f;
	int i;

	if (atomic_open(&af, file))
		goto fail;
	f = af.f;
	fprintf(f, "# metric\tmode\tworkload\tbase_mean\tnew_mean\tratio\tnew_ci_lo\tnew_ci_hi\tmark"
		"\tgate\tlo\thi\tthreshold\tverdict\tdetectable\tn_base\tn_new\tsd_base_pct"
		"\tsd_new_pct\n");
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		bool g = r->gated && r->verdict != V_NA;

		fprintf(f, "%s\t%s\t%s\t%.9g\t%.9g\t%.6g\t%.9g\t%.9g\t%c\t%d\t%.6g\t%.6g\t%.6g\t%s\t%.6g"
			"\t%zu\t%zu\t%.3g\t%.3g\n",
			r->metric, r->mode, r->workload, r->base.n ? r->base.mean : NAN,
			r->new.n ? r->new.mean : NAN, r->ratio, r->new.n ? r->new.ci_lo : NAN,
			r->new.n ? r->new.ci_hi : NAN, r->mark == ' ' ? '=' : r->mark, r->gated,
			g ? r->lo : NAN, g ? r->hi : NAN,
			r->gated ? bad_to_ratio(r->m, r->margin) : NAN, verdict_word[r->verdict],
			g ? bad_to_ratio(r->m, r->detectable) : NAN, r->base.n, r->new.n,
			cv_pct(&r->base), cv_pct(&r->new));
	}
	if (atomic_commit(&af))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "compare: error: cannot write %s: %s\n", file, strerror(errno));
	return -1;
}

/* --- walking the two result sets --------------------------------------------------------------- */

static struct row rows[MAX_ROWS];
static int nrows;

/* The rows of one workload present in both sets: every metric that applies and has a value. */
static void compare_workload(const char *mode, const char *wl, const char *bdir, const char *ndir)
{
	static struct sample bs, ns;
	static struct reps br, nr;
	char bw[8192], nw[8192];
	const struct family *f;
	int k;

	snprintf(bw, sizeof(bw), "%s/%s", bdir, wl);
	snprintf(nw, sizeof(nw), "%s/%s", ndir, wl);
	load_reps(bw, &br);
	load_reps(nw, &nr);
	f = choose_family(mode, wl, &br, &nr);
	for (k = 0; k < nmetrics && nrows < MAX_ROWS; k++) {
		const struct metric *m = &metrics[k];
		struct row *r;

		if (fnmatch(m->workloads, wl, 0))
			continue;
		collect(&br, m, &bs);
		collect(&nr, m, &ns);
		if (!bs.n && !ns.n)
			continue;	/* not measured here (a probe off, a field this workload lacks) */
		if (bs.docs != ns.docs)
			fprintf(stderr, "compare: warning: %s %s/%s: %zu repetitions in base, %zu in "
				"new (a missing repetition?)\n", m->name, mode, wl, bs.docs, ns.docs);
		r = &rows[nrows++];
		memset(r, 0, sizeof(*r));
		snprintf(r->metric, sizeof(r->metric), "%.63s", m->name);
		snprintf(r->mode, sizeof(r->mode), "%.63s", mode);
		snprintf(r->workload, sizeof(r->workload), "%.63s", wl);
		r->m = m;
		r->gated = m->gate || (f && (f->insns ? m->gate_insns : m->gate_wall));
		r->base = summarize(bs.v, bs.n);
		r->new = summarize(ns.v, ns.n);
		row_stats(r);
	}
	reps_free(&br);
	reps_free(&nr);
}

static bool listed(char **names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static void compare_mode(const char *base, const char *new, const char *mode)
{
	char bdir[4096], ndir[4096], *wls[MAX_NAMES], *nwls[MAX_NAMES];
	int nwl, nnwl, j;

	snprintf(bdir, sizeof(bdir), "%s/%s", base, mode);
	snprintf(ndir, sizeof(ndir), "%s/%s", new, mode);
	nwl = resultset_list(bdir, true, wls, MAX_NAMES);
	nnwl = resultset_list(ndir, true, nwls, MAX_NAMES);
	if (nnwl < 0) {
		input_error("mode %s is in %s but not in %s: the runs differ", mode, base, new);
		nnwl = 0;
	}
	/* Workloads in one set only: reported, not compared. */
	for (j = 0; j < nnwl; j++)
		if (!listed(wls, nwl, nwls[j]))
			input_error("workload %s/%s is only in %s", mode, nwls[j], new);
	for (j = 0; j < nwl; j++) {
		if (!listed(nwls, nnwl, wls[j]))
			input_error("workload %s/%s is only in %s", mode, wls[j], base);
		else
			compare_workload(mode, wls[j], bdir, ndir);
	}
	resultset_free(wls, nwl);
	resultset_free(nwls, nnwl);
}

#ifndef MMUSCOPE_METRICS
#define MMUSCOPE_METRICS "analysis/metrics.conf"
#endif

static void usage(FILE *f)
{
	fprintf(f,
"usage: compare [-a ALPHA] [-m METRICS] [-r REPORT.md] [-t ROWS.tsv] BASE_DIR NEW_DIR\n"
"Two result sets, metric by metric: n, mean ± sd, new/base, the 95%% CI and Welch's p of\n"
"every metric of METRICS, and the gate on each workload's gated family (ci/README.md).\n"
"  BASE_DIR, NEW_DIR  results/<run>/<kernel> (holding <mode>/<workload>/<rep>.json)\n"
"  -a, --alpha=ALPHA      one-sided level of the gate in each workload's gated family\n"
"                         (Holm), in (0, 0.5); default 0.05\n"
"  -m, --metrics=FILE     metric definitions (default %s)\n"
"  -r, --report=FILE      also write the comparison as Markdown here (atomically)\n"
"  -t, --rows=FILE        also write one row per metric as TSV here, for plot (atomically)\n"
"  -h, --help             this text\n"
"The report goes to stdout; regressions, possible ones and warnings to stderr, one line each.\n"
"Exit: 0 no regression; 1 a gated regression; 2 usage or bad input (a corrupt or missing\n"
"file, a workload in one set only: named on stderr, the rest still compared); 3 REPORT.md or\n"
"ROWS.tsv could not be written.\n"
"Examples:\n"
"  compare results/RUN/baseline results/RUN/patched\n"
"  compare -r report.md -t plots/rows.tsv results/A/baseline results/B/patched\n"
"  make compare BASE=results/A/baseline NEW=results/B/patched\n", MMUSCOPE_METRICS);
}

/* The report on stdout and, with -r, atomically into report. */
static int write_report(const char *report, const char *base, const char *new, double alpha,
			const char *metrics_file, int regressions)
{
	struct atomic_file af;

	print_report(stdout, base, new, rows, nrows, alpha, metrics_file, regressions);
	if (!report)
		return 0;
	if (atomic_open(&af, report)) {
		fprintf(stderr, "compare: error: cannot write %s: %s\n", report, strerror(errno));
		return -1;
	}
	print_report(af.f, base, new, rows, nrows, alpha, metrics_file, regressions);
	if (atomic_commit(&af)) {
		fprintf(stderr, "compare: error: cannot write %s: %s\n", report, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "alpha", required_argument, NULL, 'a' }, { "metrics", required_argument, NULL, 'm' },
		{ "report", required_argument, NULL, 'r' }, { "rows", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *metrics_file = MMUSCOPE_METRICS, *report = NULL, *tsv = NULL, *base, *new;
	int nmodes, regressions, opt, i;
	double alpha = 0.05;
	char *modes[MAX_NAMES], *end;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":a:m:r:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			alpha = strtod(optarg, &end);
			if (*end || end == optarg || !(alpha > 0 && alpha < 0.5))
				return cli_usage_error("compare", "-a takes a one-sided level in (0, "
						       "0.5), not '%s'", optarg);
			break;
		case 'm': metrics_file = optarg; break;
		case 'r': report = optarg; break;
		case 't': tsv = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option("compare", opt, argv);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("compare", "want BASE_DIR NEW_DIR, got %d argument%s",
				       argc - optind, argc - optind == 1 ? "" : "s");
	base = argv[optind];
	new = argv[optind + 1];
	if (!resultset_dir("compare", "BASE_DIR", base) | !resultset_dir("compare", "NEW_DIR", new))
		return EXIT_USAGE;
	nmetrics = metricsconf_load("compare", metrics_file, metrics, MAX_METRICS);
	if (nmetrics < 0)
		return EXIT_USAGE;

	nmodes = resultset_list(base, true, modes, MAX_NAMES);
	if (nmodes <= 0) {
		fprintf(stderr, "compare: error: %s holds no <mode>/<workload>/<rep>.json: is it a "
			"results/<run>/<kernel> directory?\n", base);
		return EXIT_USAGE;
	}
	for (i = 0; i < nmodes; i++)
		compare_mode(base, new, modes[i]);
	resultset_free(modes, nmodes);
	if (!nrows)
		input_error("no metric of %s found in both result sets", metrics_file);
	regressions = gate(rows, nrows, alpha);
	/* README.md, "Exit codes": a regression first, then what could not be done, then bad input */
	if (write_report(report, base, new, alpha, metrics_file, regressions) ||
	    (tsv && write_tsv(tsv, rows, nrows)))
		return regressions ? EXIT_FAILED : EXIT_INFRA;
	if (regressions)
		return EXIT_FAILED;
	return input_errors ? EXIT_USAGE : EXIT_OK;
}
