// SPDX-License-Identifier: GPL-2.0
/*
 * bisect_report: which patch of a series moves a metric, from the result sets of the
 * series' prefixes (prefix 0 the base, prefix K its first K patches), for `make bisect`
 * (ci/bisect).
 *
 *   bisect_report [-m METRICS] -M METRIC -w WORKLOAD -o MODE [-S SERIES] [-T THRESHOLD%]
 *                 [-r TABLE.md] [-t ROWS.tsv] [-p PLOT.png] [-n] K=DIR ...
 *
 * Each DIR is a result set as compare reads it (DIR/MODE/WORKLOAD/<rep>.json). The metric's
 * values per prefix, their change against the base and against the previous measured
 * prefix with 95% intervals, each prefix's class against the threshold, the first patch that
 * moves it and every step that does: analysis/bisectlogic.h has the rules. A Markdown
 * section on stdout (and -r), one TSV row per measured prefix (-t), a gnuplot plot (-p);
 * with -n only the next prefix a bisection measures.
 *
 * Exit: 0 decided (a patch named, or none moves it); 1 cannot decide; 2 bad input. With -n:
 * 0 for a prefix or "done", 1 for "undecided".
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "cli.h"
#include "bisectlogic.h"
#include "metricsconf.h"
#include "reps.h"
#include "resultset.h"
#include "stats.h"

#ifndef MMUSCOPE_ANALYSIS_DIR
#define MMUSCOPE_ANALYSIS_DIR "analysis"
#endif

#define PROG "bisect_report"
#define MAX_PREFIX 4096

static int errors;

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	errors++;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-m METRICS] -M METRIC -w WORKLOAD -o MODE [-S SERIES] [-T THRESHOLD%%]\n"
		"                     [-r TABLE.md] [-t ROWS.tsv] [-p PLOT.png] [-n] K=DIR ...\n"
		"Which patch of a series moves METRIC: K=DIR is the result set of prefix K of the series\n"
		"(the base with its first K patches; 0 = the base, required), holding\n"
		"DIR/MODE/WORKLOAD/<rep>.json as compare reads it. Prefixes need not all be measured.\n"
		"  -m  metric definitions (default %s/metrics.conf)\n"
		"  -M  the metric (a NAME of METRICS whose WORKLOADS glob matches WORKLOAD)\n"
		"  -w  the workload; -o the KVM MMU mode (shadow, tdp-legacy, tdp)\n"
		"  -S  the series file (kernel-patches/series: one patch file per line, '#' comments):\n"
		"      patch K is its K-th, named by the Subject: of the file beside it; N = its patches\n"
		"  -T  the threshold in percent (default the metric's; required when it has none, '-')\n"
		"  -r  also write the Markdown section here; -t one TSV row per measured prefix; -p a PNG\n"
		"      plot of the mean per prefix with its 95%% CI and the base's band (gnuplot)\n"
		"  -n  print only the next prefix to measure (a number), \"done\" or \"undecided\"\n"
		"      (needs -S): a bisection that assumes one transition\n"
		"Each prefix's change against the base and against the previous measured prefix is a\n"
		"ratio of means with a 95%% interval: up/down when it lies beyond +-T%% (on the log scale),\n"
		"same within it, else undecided (more repetitions tell; n < 2: undecided).\n"
		"example:\n"
		"  " PROG " -M dlpt_insns_kvm -w dlpt-get -o shadow -S kernel-patches/series \\\n"
		"      -r bisect.md 0=results/b0/prefix-0 9=results/b0/prefix-9 4=results/b0/prefix-4\n"
		"exit: 0 decided (a patch named, or none moves it), 1 cannot decide, 2 bad input;\n"
		"      with -n: 0 a prefix or done, 1 undecided\n", MMUSCOPE_ANALYSIS_DIR);
}

/* --- inputs ------------------------------------------------------------------------------- */

struct input {
	const char *dir;	/* prefix K's result set; NULL: not measured */
	char *name;		/* patch K's name for the table (K > 0) */
};

static struct input in[MAX_PREFIX + 1];
static int nseries = -1;	/* patches in -S SERIES; -1 without it */

/* The default metrics file: where the repository was built (-D), else beside the program
 * (build/bin/../../analysis), else ./analysis. NULL if none is readable. */
static const char *default_metrics(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;

	snprintf(buf, len, "%s/metrics.conf", MMUSCOPE_ANALYSIS_DIR);
	if (!access(buf, R_OK))
		return buf;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(buf, len, "%s/../../analysis/metrics.conf", dirname(exe));
		if (!access(buf, R_OK))
			return buf;
	}
	snprintf(buf, len, "analysis/metrics.conf");
	return access(buf, R_OK) ? NULL : buf;
}

/* s without leading and trailing white space, in place. */
static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t\r\n");
	e = s + strlen(s);
	while (e > s && strchr(" \t\r\n", e[-1]))
		*--e = '\0';
	return s;
}

/* The subject of a git format-patch file (its Subject: header, folded lines joined, the
 * "[PATCH k/n]" tag dropped); NULL if it has none. */
static char *patch_subject(const char *file)
{
	char line[1024], subj[1024] = "", *s;
	bool in_subject = false;
	FILE *f = fopen(file, "r");

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (in_subject) {
			if (line[0] != ' ' && line[0] != '\t')
				break;
			snprintf(subj + strlen(subj), sizeof(subj) - strlen(subj), " %s", trim(line));
			continue;
		}
		if (line[0] == '\n')	/* the end of the headers */
			break;
		if (!strncmp(line, "Subject:", 8)) {
			snprintf(subj, sizeof(subj), "%s", trim(line + 8));
			in_subject = true;
		}
	}
	fclose(f);
	if (!in_subject)
		return NULL;
	s = subj;
	if (*s == '[' && strchr(s, ']'))
		s = trim(strchr(s, ']') + 1);
	return *s ? strdup(s) : NULL;
}

/* -S: the patches' names; their number, or -1 after an error. */
static int load_series(const char *file)
{
	char line[1024], path[PATH_MAX * 2], copy[PATH_MAX], *dir, *p, *subj;
	FILE *f = fopen(file, "r");
	int n = 0, lineno = 0;

	if (!f) {
		error("cannot read the series %s: %s: give -S the series file (e.g. "
		      "kernel-patches/series)", file, strerror(errno));
		return -1;
	}
	snprintf(copy, sizeof(copy), "%s", file);
	dir = dirname(copy);	/* the patch files are beside the series */
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		p = trim(line);
		if (!*p || *p == '#')
			continue;
		if (n == MAX_PREFIX) {
			error("%s:%d: more than %d patches", file, lineno, MAX_PREFIX);
			fclose(f);
			return -1;
		}
		n++;
		snprintf(path, sizeof(path), "%s/%s", dir, p);
		subj = patch_subject(path);
		in[n].name = subj ? subj : strdup(p);
	}
	fclose(f);
	if (!n)
		error("%s lists no patch: give -S a series with one patch file per line", file);
	return n ? n : -1;
}

/* K=DIR into in[K]; false after an error. */
static bool parse_prefix(const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *end;
	long k;

	if (!eq || eq == arg || !eq[1]) {
		error("'%s': give each result set as K=DIR (K the number of patches applied, 0 the "
		      "base)", arg);
		return false;
	}
	errno = 0;
	k = strtol(arg, &end, 10);
	if (end != eq || k < 0 || k > MAX_PREFIX || errno) {
		error("'%s': K in K=DIR is a prefix number 0..%d, not '%.*s'", arg, MAX_PREFIX,
		      (int)(eq - arg), arg);
		return false;
	}
	if (in[k].dir) {
		error("prefix %ld given twice (%s and %s): one result set per prefix", k, in[k].dir,
		      eq + 1);
		return false;
	}
	in[k].dir = eq + 1;
	return true;
}

/* Prefix k's values of m into s; false after an error naming the fix. */
static bool load_prefix(int k, const struct metric *m, const char *mode, const char *wl,
			struct summary *s)
{
	char wdir[PATH_MAX * 2];
	struct reps r;
	struct stat st;
	double *v;
	size_t n;

	if (stat(in[k].dir, &st) || !S_ISDIR(st.st_mode)) {
		error("prefix %d: %s is no directory: give K=DIR the result set of prefix %d "
		      "(results/<run>/<kernel>, holding %s/%s/<rep>.json)", k, in[k].dir, k, mode, wl);
		return false;
	}
	snprintf(wdir, sizeof(wdir), "%s/%s/%s", in[k].dir, mode, wl);
	reps_load(PROG, wdir, &r);
	if (r.listed < 0) {
		error("prefix %d: %s holds no %s/%s/: run workload %s in mode %s on prefix %d's "
		      "kernel, or give the result set that did", k, in[k].dir, mode, wl, wl, mode, k);
		return false;
	}
	if (r.listed == 0) {
		error("prefix %d: %s holds no repetition (<rep>.json): rerun workload %s on prefix "
		      "%d", k, wdir, wl, k);
		reps_free(&r);
		return false;
	}
	if (r.bad) {	/* named by reps_load */
		errors++;
		reps_free(&r);
		return false;
	}
	v = calloc(r.n, sizeof(*v));
	if (!v) {
		error("out of memory");
		reps_free(&r);
		return false;
	}
	n = reps_collect(&r, m, v);
	if (!n)
		error("prefix %d: no value of %s (%s) in the %zu repetitions of %s: %s", k, m->name,
		      m->path, r.n, wdir, !strncmp(m->path, "insns.", 6) ?
		      "instruction counts need testhost --insns (ci/bench --insns, INSNS=1)" :
		      "does the workload report it?");
	*s = summarize(v, n);
	free(v);
	reps_free(&r);
	return n > 0;
}

/* --- formatting ------------------------------------------------------------------------------ */

/* A value to read: thousands separated from 10,000 on (counts, ns), else 4 significant
 * digits. */
static const char *fmt_value(char *buf, size_t len, double x)
{
	char digits[32];
	int nd, i, o = 0;

	if (!isfinite(x)) {
		snprintf(buf, len, "n/a");
		return buf;
	}
	if (fabs(x) < 1e4 || fabs(x) >= 1e15) {
		snprintf(buf, len, "%.4g", x);
		return buf;
	}
	nd = snprintf(digits, sizeof(digits), "%.0f", fabs(x));
	if (x < 0 && o < (int)len - 1)
		buf[o++] = '-';
	for (i = 0; i < nd && o < (int)len - 2; i++) {
		if (i && (nd - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

/* A ratio to 4 significant digits, trailing zeros kept: 1.100, 0.9998. */
static const char *fmt_ratio(char *buf, size_t len, double r)
{
	snprintf(buf, len, isfinite(r) ? "%#.4g" : "n/a", r);
	return buf;
}

/* A ratio as a signed percentage: +10.00%. */
static const char *fmt_pct(char *buf, size_t len, double r)
{
	snprintf(buf, len, isfinite(r) ? "%+.2f%%" : "n/a", (r - 1.0) * 100.0);
	return buf;
}

/* "ratio [lo, hi]" of a change, or why there is none. */
static const char *fmt_change(char *buf, size_t len, const struct bchange *c)
{
	char r[32], lo[32], hi[32];

	if (c->cls == BC_UNMEASURED)
		snprintf(buf, len, "-");
	else if (!c->c.ok)
		snprintf(buf, len, "%s (n < 2)", fmt_ratio(r, sizeof(r), c->ratio));
	else
		snprintf(buf, len, "%s [%s, %s]", fmt_ratio(r, sizeof(r), c->ratio),
			 fmt_ratio(lo, sizeof(lo), c->lo), fmt_ratio(hi, sizeof(hi), c->hi));
	return buf;
}

/* "+10.00% [+9.97%, +10.03%]" */
static const char *fmt_change_pct(char *buf, size_t len, const struct bchange *c)
{
	char r[32], lo[32], hi[32];

	if (!c->c.ok)
		snprintf(buf, len, "%s (n < 2: no interval)", fmt_pct(r, sizeof(r), c->ratio));
	else
		snprintf(buf, len, "%s [%s, %s]", fmt_pct(r, sizeof(r), c->ratio),
			 fmt_pct(lo, sizeof(lo), c->lo), fmt_pct(hi, sizeof(hi), c->hi));
	return buf;
}

static const char *class_word(enum bclass c)
{
	static const char *const w[] = {
		[BC_UNMEASURED] = "not measured", [BC_FEW] = "undecided (n < 2)",
		[BC_UNDECIDED] = "undecided", [BC_SAME] = "same", [BC_UP] = "up",
		[BC_DOWN] = "down",
	};
	return w[c];
}

/* The TSV's class: base, same, up, down, undecided, n<2. */
static const char *class_tsv(int k, enum bclass c)
{
	if (!k)
		return "base";
	return c == BC_FEW ? "n<2" : class_word(c);
}

/* Patch k's name for the report: "k: subject" or "patch k". */
static const char *patch_name(char *buf, size_t len, int k)
{
	if (!k)
		snprintf(buf, len, "base");
	else if (in[k].name)
		snprintf(buf, len, "%d: %s", k, in[k].name);
	else
		snprintf(buf, len, "patch %d", k);
	return buf;
}

/* s in a Markdown table cell: '|' escaped. */
static void md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
}

/* --- the report ------------------------------------------------------------------------------ */

struct ctx {
	const struct metric *m;
	const char *metrics_file, *mode, *wl, *series;
	double threshold;
	bool threshold_from_T;
	struct bisect b;
	struct bfirst first;
	struct bnext next;
};

/* "patch 2 (KVM: x86/mmu: ...)" or "patches 2..4" */
static const char *patches_name(char *buf, size_t len, int from, int to)
{
	if (from == to && in[to].name)
		snprintf(buf, len, "patch %d (%s)", to, in[to].name);
	else if (from == to)
		snprintf(buf, len, "patch %d", to);
	else
		snprintf(buf, len, "patches %d..%d", from, to);
	return buf;
}

static const char *effect(const struct ctx *x, enum bclass dir)
{
	return bisect_is_regression(x->m->lower_is_better, dir) ? "a regression" : "an improvement";
}

/* The prefixes from..to that keep the first move undecided (undecided_only: just the
 * undecided ones, not the unmeasured or moved), each with what would resolve it. */
static void print_blockers(FILE *f, const struct ctx *x, int from, int to, bool undecided_only)
{
	char c[128];
	const char *sep = "";

	for (int k = from; k <= to; k++) {
		const struct bprefix *p = &x->b.p[k];

		if (!undecided_only && k == to && x->first.dir != BC_SAME)
			break;	/* the moved prefix itself */
		if (undecided_only && (!p->measured || (p->vs_base.cls != BC_UNDECIDED &&
							p->vs_base.cls != BC_FEW)))
			continue;
		if (!p->measured) {
			fprintf(f, "%sprefix %d not measured (measure it)", sep, k);
		} else if (p->vs_base.cls == BC_UNDECIDED) {
			fprintf(f, "%sprefix %d undecided (%s; %s%d repetitions per prefix, base and "
				"this one, would resolve it at this noise)", sep, k,
				fmt_change_pct(c, sizeof(c), &p->vs_base),
				p->vs_base.reps >= BISECT_REPS_MAX ? "at least " : "",
				p->vs_base.reps);
		} else if (p->vs_base.cls == BC_FEW) {
			if (p->vs_base.reps)
				fprintf(f, "%sprefix %d undecided (n < 2: %zu repetitions; %s%d per "
					"prefix would resolve it at the noise of the other side)", sep, k,
					p->s.n, p->vs_base.reps >= BISECT_REPS_MAX ? "at least " : "",
					p->vs_base.reps);
			else
				fprintf(f, "%sprefix %d undecided (n < 2 on both sides: measure at "
					"least 2 repetitions of each, 3 or more to see the noise)", sep, k);
		} else if (p->vs_base.cls == BC_SAME) {
			continue;
		} else {
			fprintf(f, "%sprefix %d moved %s (%s)", sep, k, class_word(p->vs_base.cls),
				fmt_change_pct(c, sizeof(c), &p->vs_base));
		}
		sep = "; ";
	}
}

static void print_conclusion(FILE *f, const struct ctx *x)
{
	const struct bisect *b = &x->b;
	const struct bfirst *fm = &x->first;
	const struct bprefix *pn = &b->p[b->n];
	char c[128], name[1200], t[32];
	bool any = false;
	int k;

	snprintf(t, sizeof(t), "±%g%%", x->threshold);
	/* the series as a whole */
	fprintf(f, "- Whole series (prefix %d): ", b->n);
	if (!pn->measured)
		fprintf(f, "not measured.\n");
	else if (b->n == 0)
		fprintf(f, "the base.\n");
	else if (pn->vs_base.cls == BC_UP || pn->vs_base.cls == BC_DOWN)
		fprintf(f, "%s %s, %s.\n", class_word(pn->vs_base.cls),
			fmt_change_pct(c, sizeof(c), &pn->vs_base), effect(x, pn->vs_base.cls));
	else if (pn->vs_base.cls == BC_SAME)
		fprintf(f, "within %s (%s).\n", t, fmt_change_pct(c, sizeof(c), &pn->vs_base));
	else
		fprintf(f, "%s (%s).\n", class_word(pn->vs_base.cls),
			fmt_change_pct(c, sizeof(c), &pn->vs_base));

	/* the first move */
	switch (fm->kind) {
	case BF_PATCH:
		fprintf(f, "- **First move: %s moves %s %s by %s against the base: %s**",
			patches_name(name, sizeof(name), fm->patch, fm->patch), x->m->name,
			class_word(fm->dir), fmt_change_pct(c, sizeof(c), &b->p[fm->patch].vs_base),
			effect(x, fm->dir));
		if (fm->patch > 1)
			fprintf(f, " (prefix %d is within %s, as is every measured prefix below it)",
				fm->patch - 1, t);
		fprintf(f, ".\n");
		break;
	case BF_NONE:
		fprintf(f, "- **No patch moves %s beyond %s**: every measured prefix (", x->m->name, t);
		for (k = 0; k <= b->n; k++) {
			if (!b->p[k].measured)
				continue;
			fprintf(f, "%s%d", any ? ", " : "", k);
			any = true;
		}
		fprintf(f, ") is within it.");
		for (k = 1, any = false; k < b->n; k++)
			if (!b->p[k].measured)
				any = true;
		if (any)
			fprintf(f, " Prefixes not measured could still hide a patch that moves it and a "
				"later one that moves it back.");
		fputc('\n', f);
		break;
	case BF_UNDECIDED:
		fprintf(f, "- **Cannot decide between %s**", patches_name(name, sizeof(name),
									     fm->from, fm->to));
		if (fm->dir != BC_SAME)
			fprintf(f, " (prefix %d moves it %s by %s, %s)", fm->to, class_word(fm->dir),
				fmt_change_pct(c, sizeof(c), &b->p[fm->to].vs_base), effect(x, fm->dir));
		fprintf(f, ": ");
		if (!b->p[0].measured || b->p[0].vs_base.cls == BC_FEW)
			fprintf(f, "the base (prefix 0) has fewer than 2 repetitions: measure more of it");
		else
			print_blockers(f, x, fm->from, fm->to, false);
		fprintf(f, ".\n");
		break;
	}

	/* every undecided prefix, wherever it is (above the first move too) */
	if (fm->kind != BF_UNDECIDED) {
		any = false;
		for (k = 1; k <= b->n; k++)
			if (b->p[k].measured && (b->p[k].vs_base.cls == BC_UNDECIDED ||
						 b->p[k].vs_base.cls == BC_FEW))
				any = true;
		if (any) {
			fprintf(f, "- Undecided against the base: ");
			print_blockers(f, x, 1, b->n, true);
			fprintf(f, ".\n");
		}
	}

	/* the steps */
	fprintf(f, "- Steps beyond %s (each measured prefix against the previous one):", t);
	for (k = 1, any = false; k <= b->n; k++) {
		const struct bchange *s = &b->p[k].step;

		if (!bisect_step_moves(b, k))
			continue;
		fprintf(f, "%s %s moves it %s by %s, %s", any ? ";" : "",
			patches_name(name, sizeof(name), s->from + 1, k), class_word(s->cls),
			fmt_change_pct(c, sizeof(c), s), effect(x, s->cls));
		any = true;
	}
	fprintf(f, "%s\n", any ? "." : " none.");

	/* what a bisection would do next */
	fprintf(f, "- Bisection (assumes one transition; the steps above show every move between "
		"measured prefixes): ");
	if (x->next.kind == BN_MEASURE)
		fprintf(f, "measure prefix %d next (%s).\n", x->next.prefix, x->next.why);
	else if (x->next.kind == BN_DONE)
		fprintf(f, "done (%s).\n", x->next.why);
	else
		fprintf(f, "undecided at prefix %d (%s).\n", x->next.prefix, x->next.why);
}

static void print_report(FILE *f, const struct ctx *x)
{
	const struct bisect *b = &x->b;
	char name[1200], mean[48], c1[128], c2[128];
	int measured = 0, k;

	for (k = 0; k <= b->n; k++)
		measured += b->p[k].measured;
	fprintf(f, "### Bisection: %s in %s/%s\n\n", x->m->name, x->mode, x->wl);
	fprintf(f, "Metric `%s` (`%s`, %s is better), workload %s, mode %s; threshold ±%g%% (%s); "
		"prefixes 0..%d, %d measured%s%s%s.\n\n", x->m->name, x->m->path,
		x->m->lower_is_better ? "lower" : "higher", x->wl, x->mode, x->threshold,
		x->threshold_from_T ? "-T" : x->metrics_file, b->n, measured,
		x->series ? " (series " : "", x->series ? x->series : "", x->series ? ")" : "");
	fprintf(f, "| prefix | patch | n | mean | sd %% | vs base [95%% CI] | step vs previous "
		"[95%% CI] | verdict |\n|---|---|---|---|---|---|---|---|\n");
	for (k = 0; k <= b->n; k++) {
		const struct bprefix *p = &b->p[k];
		const char *v;

		if (!p->measured)
			continue;
		fprintf(f, "| %d | ", k);
		md_cell(f, patch_name(name, sizeof(name), k));
		fprintf(f, " | %zu | %s | ", p->s.n, fmt_value(mean, sizeof(mean), p->s.mean));
		if (p->s.n > 1 && p->s.mean != 0.0)
			fprintf(f, "%.3g", 100.0 * p->s.sd / fabs(p->s.mean));
		else
			fprintf(f, "n/a");
		if (!k) {
			fprintf(f, " | base | - | %s |\n", p->vs_base.cls == BC_FEW ?
				"base, undecided (n < 2)" : "base");
			continue;
		}
		fmt_change(c1, sizeof(c1), &p->vs_base);
		fmt_change(c2, sizeof(c2), &p->step);
		v = class_word(p->vs_base.cls);
		fprintf(f, " | %s | %s", c1, c2);
		if (p->step.cls != BC_SAME)
			fprintf(f, " %s", p->step.cls == BC_FEW ? "" : class_word(p->step.cls));
		if (p->vs_base.cls == BC_UP || p->vs_base.cls == BC_DOWN)
			fprintf(f, " | **%s**, %s |\n", v, effect(x, p->vs_base.cls));
		else
			fprintf(f, " | %s |\n", v);
	}
	fputc('\n', f);
	print_conclusion(f, x);
	fprintf(f, "\nRule: the change of a prefix against the base (and its step against the "
		"previous measured prefix) is the ratio of the means with a 95%% interval, "
		"exp(ln ratio ± t(0.025, Welch df) × se); up or down when the interval lies beyond "
		"±%g%% (ln(1 + %g/100) on the log scale), same when it lies within, else undecided. "
		"The first move is the lowest prefix moved in the whole series' direction, named "
		"when the prefix below it is measured and every measured prefix below is the same.\n",
		x->threshold, x->threshold);
}

/* The report on stdout (unless quiet) and, with file, atomically there. */
/* file written whole by print, atomically, or a one-line error: 0 or -1. */
static int write_atomically(const char *file, void (*print)(FILE *, const struct ctx *),
			    const struct ctx *x)
{
	struct atomic_file af;

	if (atomic_open(&af, file))
		goto fail;
	print(af.f, x);
	if (atomic_commit(&af))
		goto fail;
	return 0;
fail:
	error("cannot write %s: %s", file, strerror(errno));
	return -1;
}

static int write_report(const char *file, const struct ctx *x, bool quiet)
{
	if (!quiet)
		print_report(stdout, x);
	return file ? write_atomically(file, print_report, x) : 0;
}

/* One row per measured prefix; nan where there is no value. */
static void print_tsv(FILE *f, const struct ctx *x)
{
	const struct bisect *b = &x->b;
	char name[1200];

	fprintf(f, "# prefix\tpatch\tn\tmean\tsd\tci_lo\tci_hi\tratio\tlo\thi\tstep_ratio\tstep_lo"
		"\tstep_hi\tclass\n");
	for (int k = 0; k <= b->n; k++) {
		const struct bprefix *p = &b->p[k];

		if (!p->measured)
			continue;
		patch_name(name, sizeof(name), k);
		for (char *s = name; *s; s++)
			if (*s == '\t' || *s == '\n')
				*s = ' ';
		fprintf(f, "%d\t%s\t%zu\t%.9g\t%.6g\t%.9g\t%.9g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%s\n",
			k, name, p->s.n, p->s.mean, p->s.sd, p->s.ci_lo, p->s.ci_hi, p->vs_base.ratio,
			p->vs_base.lo, p->vs_base.hi, p->step.ratio, p->step.lo, p->step.hi,
			class_tsv(k, p->vs_base.cls));
	}
}

/* s as a gnuplot single-quoted string: '' for a quote, no newline. */
static void gp_str(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
	fputc('\'', f);
}

/* -p: the mean per prefix with its 95% CI and the base's band, drawn by gnuplot (the script
 * on its stdin, the data inline). A failure is a warning. */
static void write_plot(const char *file, const struct ctx *x)
{
	const struct bisect *b = &x->b;
	double base = b->p[0].s.mean, f1 = 1.0 + x->threshold / 100.0;
	char *tmp = atomic_tmp_path(file), title[512];
	void (*old)(int);
	struct stat st;
	FILE *gp;
	int status, k;

	if (!tmp) {
		fprintf(stderr, PROG ": warning: no plot: out of memory\n");
		return;
	}
	old = signal(SIGPIPE, SIG_IGN);	/* a gnuplot that dies early: a warning, not a kill */
	gp = popen("gnuplot", "w");
	if (!gp) {
		fprintf(stderr, PROG ": warning: no plot: cannot run gnuplot: %s\n", strerror(errno));
		signal(SIGPIPE, old);
		free(tmp);
		return;
	}
	fprintf(gp, "set terminal pngcairo size 1000,560 noenhanced\nset output ");
	gp_str(gp, tmp);
	snprintf(title, sizeof(title), "%s, %s, %s: mean per prefix with 95%% CI; band: the base "
		 "±%g%%", x->m->name, x->wl, x->mode, x->threshold);
	fprintf(gp, "\nset title ");
	gp_str(gp, title);
	fprintf(gp, "\nset xlabel 'prefix (patches applied)'\nset ylabel ");
	gp_str(gp, x->m->name);
	fprintf(gp, "\nset xrange [-0.5:%d.5]\nset xtics ('base' 0", b->n);
	for (k = 1; k <= b->n; k++)
		fprintf(gp, ", '%d' %d", k, k);
	fprintf(gp, ")\n");
	fprintf(gp, "set grid ytics\nset key below\nset format y '%%.4g'\n"
		"set object 1 rect from graph 0, first %.9g to graph 1, first %.9g "
		"behind fc rgb '#e0e0e0' fs solid 1.0 noborder\n", base / f1, base * f1);
	fprintf(gp, "$data << EOD\n");
	for (k = 0; k <= b->n; k++)
		if (b->p[k].measured)
			fprintf(gp, "%d %.9g %.9g %.9g\n", k, b->p[k].s.mean, b->p[k].s.ci_lo,
				b->p[k].s.ci_hi);
	fprintf(gp, "EOD\nplot $data using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'mean, 95%% CI', "
		"%.9g with lines dt 2 lc rgb '#606060' title 'base', "
		"1/0 with boxes fc rgb '#e0e0e0' fs solid title 'base ±%g%% (ln scale: ×/÷ %g)'\n",
		base, x->threshold, f1);
	status = pclose(gp);
	signal(SIGPIPE, old);
	if (status || stat(tmp, &st) || !st.st_size) {
		fprintf(stderr, PROG ": warning: no plot %s: gnuplot failed (exit status %d); is "
			"gnuplot installed? (make deps)\n", file, status);
		unlink(tmp);
	} else if (atomic_publish(tmp, file)) {
		fprintf(stderr, PROG ": warning: no plot %s: cannot write it: %s\n", file,
			strerror(errno));
	}
	free(tmp);
}

/* --- main ------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	static struct metric metrics[METRICSCONF_MAX];
	const char *metrics_file = NULL, *name = NULL, *tsv = NULL, *report = NULL, *plot = NULL;
	char mbuf[PATH_MAX + 32], *end;
	bool next_only = false, ok = true;
	struct ctx x = { 0 };
	int opt, nmetrics, k, n = 0, rc;

	while ((opt = getopt_long(argc, argv, "m:M:w:o:S:T:r:t:p:nh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm': metrics_file = optarg; break;
		case 'M': name = optarg; break;
		case 'w': x.wl = optarg; break;
		case 'o': x.mode = optarg; break;
		case 'S': x.series = optarg; break;
		case 'T':
			x.threshold = strtod(optarg, &end);
			if (end == optarg || (*end && strcmp(end, "%")) || !isfinite(x.threshold) ||
			    x.threshold < 0) {
				error("-T takes a threshold in percent >= 0 (e.g. 3), not '%s'", optarg);
				return 2;
			}
			x.threshold_from_T = true;
			break;
		case 'r': report = optarg; break;
		case 't': tsv = optarg; break;
		case 'p': plot = optarg; break;
		case 'n': next_only = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!name || !x.wl || !x.mode || optind == argc) {
		error("give -M METRIC, -w WORKLOAD, -o MODE and at least 0=DIR (--help: usage and an "
		      "example)");
		return 2;
	}
	if (next_only && !x.series) {
		error("-n needs -S SERIES: the number of patches bounds the bisection");
		return 2;
	}
	for (k = optind; k < argc; k++)
		ok &= parse_prefix(argv[k]);
	if (!ok)
		return 2;
	if (!metrics_file && !(metrics_file = default_metrics(mbuf, sizeof(mbuf)))) {
		error("cannot find metrics.conf (not in %s, beside the program or in ./analysis): "
		      "give -m METRICS", MMUSCOPE_ANALYSIS_DIR);
		return 2;
	}
	x.metrics_file = metrics_file;
	nmetrics = metricsconf_load(PROG, metrics_file, metrics, METRICSCONF_MAX);
	if (nmetrics < 0)
		return 2;
	x.m = metricsconf_find(metrics, nmetrics, name);
	if (!x.m) {
		error("no metric %s in %s: give -M one of its NAME column (e.g. %s)", name,
		      metrics_file, nmetrics ? metrics[0].name : "none: the file has no metric");
		return 2;
	}
	if (fnmatch(x.m->workloads, x.wl, 0)) {
		error("%s applies to the workloads %s (%s), not to %s: give -w a workload it "
		      "measures", x.m->name, x.m->workloads, metrics_file, x.wl);
		return 2;
	}
	if (!x.threshold_from_T) {
		if (!x.m->has_threshold) {
			error("%s has no threshold in %s ('-'): give one with -T PERCENT", x.m->name,
			      metrics_file);
			return 2;
		}
		x.threshold = x.m->threshold;
	}
	if (!in[0].dir) {
		error("no result set of the base: give 0=DIR (prefix 0, no patch applied)");
		return 2;
	}
	if (x.series) {
		nseries = load_series(x.series);
		if (nseries < 0)
			return 2;
	}
	for (k = 0; k <= MAX_PREFIX; k++)
		if (in[k].dir)
			n = k;
	if (nseries >= 0 && n > nseries) {
		error("prefix %d is beyond the %d patches of %s: give K=DIR with K <= %d", n,
		      nseries, x.series, nseries);
		return 2;
	}
	if (nseries >= 0)
		n = nseries;

	x.b.n = n;
	x.b.threshold = x.threshold;
	x.b.lower_is_better = x.m->lower_is_better;
	x.b.p = calloc((size_t)n + 1, sizeof(*x.b.p));
	if (!x.b.p) {
		error("out of memory");
		return 2;
	}
	for (k = 0; k <= n; k++)
		if (in[k].dir)
			x.b.p[k].measured = load_prefix(k, x.m, x.mode, x.wl, &x.b.p[k].s);
	if (errors) {
		free(x.b.p);
		return 2;
	}
	bisect_analyse(&x.b);
	x.first = bisect_first_move(&x.b);
	x.next = bisect_next(&x.b);

	rc = x.first.kind == BF_UNDECIDED ? 1 : 0;
	if (next_only) {
		if (x.next.kind == BN_MEASURE)
			printf("%d\n", x.next.prefix);
		else
			printf("%s\n", x.next.kind == BN_DONE ? "done" : "undecided");
		fprintf(stderr, PROG ": next: ");
		if (x.next.kind == BN_MEASURE)
			fprintf(stderr, "measure prefix %d: ", x.next.prefix);
		else
			fprintf(stderr, "%s: ", x.next.kind == BN_DONE ? "done" : "undecided");
		fprintf(stderr, "%s", x.next.why);
		if (x.next.lo >= 0)
			fprintf(stderr, " (bracket %d..%d)", x.next.lo, x.next.hi);
		fprintf(stderr, "; the bisection assumes one transition\n");
		rc = x.next.kind == BN_UNDECIDED ? 1 : 0;
	}
	if (write_report(report, &x, next_only) || (tsv && write_atomically(tsv, print_tsv, &x)))
		rc = EXIT_INFRA;	/* an output that cannot be written (README, "Exit codes") */
	else if (plot)
		write_plot(plot, &x);
	free(x.b.p);
	for (k = 1; k <= n; k++)
		free(in[k].name);
	return rc;
}
