// SPDX-License-Identifier: GPL-2.0
/*
 * compare: two result sets, metric by metric, with significance.
 *
 *   compare [-m METRICS] [-r REPORT.md] BASE_DIR NEW_DIR
 *
 * A result set is a directory of <mode>/<workload>/<rep>.json (as `make bench` writes
 * under results/<run>/<kernel>/). Metrics, their direction and regression threshold come
 * from analysis/metrics.conf. For every metric and mode: n, mean, median, sd, 95% CI,
 * the ratio new/base, Welch's p-value and a mark (mmtests-style: "+" significantly better,
 * "-" significantly worse, blank not significant at p < 0.05). The gate is stricter: see
 * gate() below.
 *
 * Exit: 0 no regression; 1 a significant regression beyond its threshold (named on
 * stderr); 2 bad input (a corrupt file, a workload in one set only, no metric at all):
 * the rest is still compared and reported.
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

#include "resultset.h"

#include "stats.h"

#define MAX_METRICS 128
#define MAX_REPS 1024
#define MAX_NAMES 256

struct metric {
	char name[64];
	char workloads[64];	/* fnmatch pattern */
	char path[256];		/* dotted path into a rep's JSON; numbers index arrays */
	bool lower_is_better;
	bool gates;		/* false: THRESHOLD "-", shown but never fails the run */
	bool headline;		/* optional 6th field "headline": first table of the report */
	double threshold;	/* percent */
};

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

static int load_metrics(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[512];
	int lineno = 0;

	if (!f) {
		fprintf(stderr, "compare: error: cannot read %s: %s\n", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct metric *m = &metrics[nmetrics];
		char better[16], threshold[16], flag[16] = "";
		char *end;
		int nf;

		lineno++;
		if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\n")] == '\0')
			continue;
		if (nmetrics == MAX_METRICS ||
		    (nf = sscanf(line, "%63s %63s %255s %15s %15s %15s", m->name, m->workloads,
				 m->path, better, threshold, flag)) < 5 ||
		    (nf == 6 && strcmp(flag, "headline")) ||
		    (strcmp(better, "lower") && strcmp(better, "higher")) ||
		    (strcmp(threshold, "-") &&
		     ((m->threshold = strtod(threshold, &end)) < 0 || *end))) {
			fprintf(stderr, "compare: error: %s:%d: want 'NAME WORKLOADS PATH lower|higher "
				"THRESHOLD%%|- [headline]'\n", file, lineno);
			fclose(f);
			return -1;
		}
		m->lower_is_better = !strcmp(better, "lower");
		m->gates = strcmp(threshold, "-") != 0;
		m->headline = nf == 6;
		nmetrics++;
	}
	fclose(f);
	return 0;
}

/* Follow a dotted path; NULL if any step is missing. */
static struct json_object *json_path(struct json_object *o, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save)) {
		char *end;
		long idx = strtol(tok, &end, 10);

		if (*end == '\0' && json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)idx);
		else if (!json_object_object_get_ex(o, tok, &o))
			return NULL;
	}
	return o;
}

/* True the first time path is passed: each bad file is reported once, not per metric. */
static bool first_report_of(const char *path)
{
	static char *seen[MAX_REPS];
	static int nseen;
	int i;

	for (i = 0; i < nseen; i++)
		if (!strcmp(seen[i], path))
			return false;
	if (nseen < MAX_REPS)
		seen[nseen++] = strdup(path);
	return true;
}

/* The values of metric m over the reps in dir. Corrupt files are reported and skipped. */
static size_t collect(const char *dir, const struct metric *m, double *out)
{
	char *reps[MAX_REPS];
	int n = resultset_list(dir, false, reps, MAX_REPS), i;
	size_t k = 0;

	for (i = 0; i < n; i++) {
		char path[4096];
		struct json_object *doc, *v;

		snprintf(path, sizeof(path), "%s/%s", dir, reps[i]);
		doc = json_object_from_file(path);
		if (!doc) {
			if (first_report_of(path))
				input_error("%s is not valid JSON: rerun that repetition or delete it", path);
			continue;
		}
		v = json_path(doc, m->path);
		if (v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
			out[k++] = json_object_get_double(v);
		json_object_put(doc);
	}
	resultset_free(reps, n);
	return k;
}

struct row {
	char metric[64], mode[64], workload[64];
	struct summary base, new;
	double ratio, p, p_holm;
	char mark;
	bool regression;
	const struct metric *m;
};

static void print_row(FILE *f, const struct row *r)
{
	char holm[32] = "not gated";

	if (r->m->gates)
		snprintf(holm, sizeof(holm), "%.3g", r->p_holm);
	fprintf(f, "| %s | %s | %s | %zu/%zu | %.4g ± %.2g | %.4g ± %.2g | %.3f | [%.4g, %.4g] | %.3g | %s | %c%s |\n",
		r->metric, r->mode, r->workload, r->base.n, r->new.n, r->base.mean, r->base.sd, r->new.mean,
		r->new.sd, r->ratio, r->new.ci_lo, r->new.ci_hi, r->p, holm, r->mark,
		r->regression ? " REGRESSION" : "");
}

/*
 * The gate: a regression is a gated metric that got worse by more than its threshold
 * with a Holm-adjusted p below alpha. Holm over every gated row keeps the chance that two
 * identical kernels fail the run at alpha, however many metrics there are.
 */
static int gate(struct row *rows, int nrows, double alpha)
{
	double p[MAX_METRICS * 64], adj[MAX_METRICS * 64];
	int idx[MAX_METRICS * 64], n = 0, i, regressions = 0;

	for (i = 0; i < nrows; i++) {
		rows[i].p_holm = 1.0;
		if (rows[i].m->gates) {
			idx[n] = i;
			p[n++] = rows[i].p;
		}
	}
	holm_adjust(p, (size_t)n, adj);
	for (i = 0; i < n; i++) {
		struct row *r = &rows[idx[i]];

		r->p_holm = adj[i];
		r->regression = r->mark == '-' && r->p_holm < alpha &&
				fabs(r->ratio - 1.0) * 100.0 > r->m->threshold;
		if (!r->regression)
			continue;
		fprintf(stderr, "compare: regression: %s in %s/%s: %.4g -> %.4g (x%.3f, p=%.3g, "
			"Holm p=%.3g < %.3g, threshold %.0f%%)\n", r->metric, r->mode, r->workload,
			r->base.mean, r->new.mean, r->ratio, r->p, r->p_holm, alpha, r->m->threshold);
		regressions++;
	}
	return regressions;
}

/* metric mode workload base_mean new_mean ratio new_ci_lo new_ci_hi mark, atomically. */
static int write_tsv(const char *file, const struct row *rows, int nrows)
{
	char tmp[4096];
	FILE *f;
	int i;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "w");
	if (!f)
		goto fail;
	fprintf(f, "# metric\tmode\tworkload\tbase_mean\tnew_mean\tratio\tnew_ci_lo\tnew_ci_hi\tmark\n");
	for (i = 0; i < nrows; i++)
		fprintf(f, "%s\t%s\t%s\t%.9g\t%.9g\t%.6g\t%.9g\t%.9g\t%c\n", rows[i].metric,
			rows[i].mode, rows[i].workload, rows[i].base.mean, rows[i].new.mean,
			rows[i].ratio, rows[i].new.ci_lo, rows[i].new.ci_hi,
			rows[i].mark == ' ' ? '=' : rows[i].mark);
	if (fclose(f) || rename(tmp, file))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "compare: error: cannot write %s: %s\n", file, strerror(errno));
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: compare [-a ALPHA] [-m METRICS] [-r REPORT.md] [-t ROWS.tsv] BASE_DIR NEW_DIR\n"
		"  -a  family-wise level of the gate (Holm over the gated metrics, default 0.01)\n"
		"  BASE_DIR, NEW_DIR: results/<run>/<kernel> (holding <mode>/<workload>/<rep>.json)\n"
		"  -m  metric definitions (default analysis/metrics.conf)\n"
		"  -r  also write the comparison as Markdown here (atomically)\n"
		"  -t  also write one row per metric as TSV here, for analysis/plot (atomically)\n"
		"exit: 0 no regression, 1 significant regression beyond threshold, 2 bad input\n");
}

int main(int argc, char **argv)
{
	const char *metrics_file = "analysis/metrics.conf", *report = NULL, *tsv = NULL, *base, *new;
	static struct row rows[MAX_METRICS * 64];
	char *modes[MAX_NAMES];
	double ratios[MAX_METRICS * 64];
	int nrows = 0, nratios = 0, nmodes, regressions = 0, opt, i, j, k;
	FILE *out = stdout, *rf = NULL;
	double alpha = 0.01;
	char tmp[4096], *end;

	while ((opt = getopt(argc, argv, "a:m:r:t:h")) != -1) {
		switch (opt) {
		case 'a':
			alpha = strtod(optarg, &end);
			if (*end || alpha <= 0 || alpha >= 1) {
				fprintf(stderr, "compare: error: -a takes a level in (0, 1), not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'm': metrics_file = optarg; break;
		case 'r': report = optarg; break;
		case 't': tsv = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	base = argv[optind];
	new = argv[optind + 1];
	if (load_metrics(metrics_file))
		return 2;

	nmodes = resultset_list(base, true, modes, MAX_NAMES);
	if (nmodes <= 0) {
		fprintf(stderr, "compare: error: %s holds no <mode>/<workload>/<rep>.json: is it a "
			"results/<run>/<kernel> directory?\n", base);
		return 2;
	}
	for (i = 0; i < nmodes; i++) {
		char bdir[4096], ndir[4096], *wls[MAX_NAMES], *nwls[MAX_NAMES];
		int nwl, nnwl;

		snprintf(bdir, sizeof(bdir), "%s/%s", base, modes[i]);
		snprintf(ndir, sizeof(ndir), "%s/%s", new, modes[i]);
		nwl = resultset_list(bdir, true, wls, MAX_NAMES);
		nnwl = resultset_list(ndir, true, nwls, MAX_NAMES);
		if (nnwl < 0) {
			input_error("mode %s is in %s but not in %s: the runs differ", modes[i], base, new);
			nnwl = 0;
		}
		/* Workloads in one set only: reported, not compared. */
		for (k = 0; k < nnwl; k++) {
			bool found = false;

			for (j = 0; j < nwl; j++)
				found |= !strcmp(wls[j], nwls[k]);
			if (!found)
				input_error("workload %s/%s is only in %s", modes[i], nwls[k], new);
		}
		for (j = 0; j < nwl; j++) {
			bool in_new = false;

			for (k = 0; k < nnwl; k++)
				in_new |= !strcmp(wls[j], nwls[k]);
			if (!in_new) {
				input_error("workload %s/%s is only in %s", modes[i], wls[j], base);
				continue;
			}
			for (k = 0; k < nmetrics; k++) {
				const struct metric *m = &metrics[k];
				double bv[MAX_REPS], nv[MAX_REPS], t, df;
				char bw[8192], nw[8192];
				struct row *r;
				size_t nb, nn;

				if (fnmatch(m->workloads, wls[j], 0))
					continue;
				snprintf(bw, sizeof(bw), "%s/%s", bdir, wls[j]);
				snprintf(nw, sizeof(nw), "%s/%s", ndir, wls[j]);
				nb = collect(bw, m, bv);
				nn = collect(nw, m, nv);
				if (!nb || !nn)
					continue;	/* metric absent (e.g. a degraded probe tier) */
				if (nb != nn)
					fprintf(stderr, "compare: warning: %s %s/%s: %zu repetitions in base, "
						"%zu in new (a missing repetition?)\n", m->name, modes[i],
						wls[j], nb, nn);
				r = &rows[nrows++];
				snprintf(r->metric, sizeof(r->metric), "%s", m->name);
				snprintf(r->mode, sizeof(r->mode), "%s", modes[i]);
				snprintf(r->workload, sizeof(r->workload), "%s", wls[j]);
				r->m = m;
				r->base = summarize(bv, nb);
				r->new = summarize(nv, nn);
				if (r->base.mean != 0.0)
					r->ratio = r->new.mean / r->base.mean;
				else
					r->ratio = r->new.mean == 0.0 ? 1.0 : INFINITY;
				r->p = welch_p(&r->base, &r->new, &t, &df);
				r->mark = ' ';
				if (r->p < 0.05 && r->new.mean != r->base.mean) {
					bool better = (r->new.mean < r->base.mean) == m->lower_is_better;

					r->mark = better ? '+' : '-';
				}
				if (isfinite(r->ratio) && r->ratio > 0)
					ratios[nratios++] = m->lower_is_better ? r->ratio : 1.0 / r->ratio;
			}
		}
		resultset_free(wls, nwl);
		resultset_free(nwls, nnwl);
	}
	resultset_free(modes, nmodes);
	if (!nrows)
		input_error("no metric of %s found in both result sets", metrics_file);
	regressions = gate(rows, nrows, alpha);

	if (report) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", report);
		rf = fopen(tmp, "w");
		if (!rf) {
			fprintf(stderr, "compare: error: cannot write %s: %s\n", tmp, strerror(errno));
			return 2;
		}
	}
	for (FILE *f = out; f; f = (f == out ? rf : NULL)) {
		fprintf(f, "Base: %s  \nNew: %s\n\n", base, new);
		for (int pass = 0; pass < 2; pass++) {
			fprintf(f, "%s", pass ? "\n## All metrics\n\n" : "## Headline\n\n");
			fprintf(f, "| metric | mode | workload | n base/new | base mean ± sd | "
				"new mean ± sd | new/base | new 95%% CI | p (Welch) | p (Holm) | sig |\n");
			fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|\n");
			for (i = 0; i < nrows; i++)
				if (pass || rows[i].m->headline)
					print_row(f, &rows[i]);
		}
		fprintf(f, "\nGeometric mean of cost ratios (new/base, inverted for higher-is-better; "
			"< 1 is better): %.3f over %d metrics\n", geomean(ratios, (size_t)nratios), nratios);
		fprintf(f, "Significance: + better, - worse at p < 0.05 (Welch's t-test); "
			"gate: worse beyond the metric's threshold with Holm-adjusted p < %.3g; "
			"regressions: %d. Metrics with threshold \"-\" in %s are shown, never gated.\n",
			alpha, regressions, metrics_file);
	}
	if (rf && (fclose(rf) || rename(tmp, report))) {
		fprintf(stderr, "compare: error: cannot write %s: %s\n", report, strerror(errno));
		return 2;
	}
	if (tsv && write_tsv(tsv, rows, nrows))
		return 2;
	if (regressions)
		return 1;
	return input_errors ? 2 : 0;
}
