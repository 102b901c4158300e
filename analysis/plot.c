// SPDX-License-Identifier: GPL-2.0
/*
 * plot: the before/after plots of a bench run, drawn by gnuplot (PNG and SVG).
 *
 *   plot BASE_DIR NEW_DIR OUTDIR    (plot --help: what each plot shows, exit codes)
 *
 * BASE_DIR and NEW_DIR are results/<run>/<kernel> directories (<mode>/<workload>/<rep>.json).
 * For every mode/workload in both, from what its repetitions hold:
 *   getlog-<mode>-<workload>   get-dirty-log latency, log2 histogram summed over the reps
 *                              and VMs (the probe's latency.get_dirty_log.log2_hist)
 *   series-<mode>-<workload>   shadow pages in use and mmu_recycled over time, repetition 1
 *                              (the probe's --interval series: the saw-tooth of seed 000),
 *                              of the VM of role vm or source
 *                              (a document without roles: the first VM in the series)
 *   harvest-<mode>-<workload>  the harvest timeline of repetition 1: get-dirty-log latency
 *                              and pages per harvest (workloads/harvest.c)
 *   migrate-<mode>-<workload>  the migration timeline of repetition 1: the guest's update
 *                              rate and the migrations' events (workloads/migrate.c)
 * and, with compare's rows (OUTDIR/rows.tsv, from compare -t), ratios-<mode>: the gate's
 * metrics of that mode, new/base on a log axis with the interval the gate used, the side
 * beyond each threshold shaded and the smallest change the run could detect.
 * Each plot: OUTDIR/<name>.dat, .gp, .png, .svg. Writes OUTDIR/plots.md listing them.
 * The repetitions are read as compare reads them (resultset.h; metricpath.h for every
 * value), and a corrupt one is named once and makes the exit 2, as in compare.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "atomicfile.h"
#include "cli.h"
#include "metricpath.h"
#include "resultset.h"

#define MAX_BUCKETS 64

extern char **environ;

static const char *outdir;
static FILE *index_md;
static int nplots, failures, input_errors;

/* DIR/NAME into buf, or a clear error: no silently truncated path. */
static char *join(char *buf, size_t n, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, n, "%s/%s", dir, name) >= n) {
		fprintf(stderr, "plot: error: path too long: %s/%s\n", dir, name);
		exit(EXIT_USAGE);
	}
	return buf;
}

/* A number of a repetition (metricpath.h: the rules compare reads it by); NAN for none. */
static double num(struct json_object *o, const char *path)
{
	double v;

	return metricpath_value(o, path, NULL, &v) ? v : NAN;
}

/* The array at path in o (metricpath.h), and its length; 0 when there is none. */
static size_t array_at(struct json_object *o, const char *path, struct json_object **a)
{
	*a = metricpath_node(o, path, NULL);
	return json_object_is_type(*a, json_type_array) ? json_object_array_length(*a) : 0;
}

/* A repetition's document; a file that is not JSON is named once (as compare does) and
 * makes the exit 2. */
static struct json_object *load_file(const char *path)
{
	struct json_object *o = json_object_from_file(path);

	if (!o) {
		input_errors++;
		if (metricpath_once(path))
			fprintf(stderr, "plot: error: %s is not valid JSON: rerun that repetition or "
				"delete it\n", path);
	}
	return o;
}

static struct json_object *load_rep(const char *dir, int rep)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%d.json", dir, rep);
	if (access(path, R_OK))
		return NULL;
	return load_file(path);
}

static FILE *open_out(const char *name, const char *ext)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s", outdir, name, ext);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "plot: error: cannot write %s: %s\n", path, strerror(errno));
		exit(EXIT_INFRA);
	}
	return f;
}

/*
 * gnuplot in OUTDIR (the scripts name their data files relative to it), fed cmds on its
 * stdin, its messages appended to OUTDIR/gnuplot.log: no shell, so no path is quoted for
 * one. 0 when it ran and exited 0.
 */
static int gnuplot(const char *cmds)
{
	char *const argv[] = { "gnuplot", NULL };
	posix_spawn_file_actions_t fa;
	int fd[2], status, err;
	pid_t pid;
	FILE *in;

	if (pipe2(fd, O_CLOEXEC))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[0], STDIN_FILENO);
	posix_spawn_file_actions_addchdir_np(&fa, outdir);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "gnuplot.log",
					 O_WRONLY | O_CREAT | O_APPEND, 0644);
	err = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[0]);
	if (err || !(in = fdopen(fd[1], "w"))) {
		close(fd[1]);
		return -1;
	}
	fputs(cmds, in);
	fclose(in);	/* EOF: gnuplot ends (a gnuplot that died first: EPIPE, SIGPIPE ignored) */
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

/* Runs gnuplot on OUTDIR/name.gp once per terminal, w x h pixels. */
static void render_sized(const char *name, const char *title, int w, int h)
{
	static const char *const terms[][2] = { { "pngcairo", "png" }, { "svg", "svg" } };
	char cmds[1024];
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(cmds, sizeof(cmds), "set terminal %s size %d,%d noenhanced\n"
			 "set output '%s.%s'\nload '%s.gp'\n", terms[i][0], w, h, name,
			 terms[i][1], name);
		if (gnuplot(cmds)) {
			fprintf(stderr, "plot: error: gnuplot failed on %s/%s.gp (see %s/gnuplot.log; "
				"is gnuplot-nox installed? make deps)\n", outdir, name, outdir);
			failures++;
			return;
		}
	}
	fprintf(index_md, "### %s\n\n![%s](%s.svg)\n\n", title, title, name);
	nplots++;
}

static void render(const char *name, const char *title)
{
	render_sized(name, title, 900, 500);
}

static bool hist_plot(const char *mode, const char *wl, const char *bdir, const char *ndir)
{
	double h[2][MAX_BUCKETS] = { { 0 } };
	const char *dirs[2] = { bdir, ndir };
	int k, i, top = 0;
	bool any = false;
	char name[256];
	FILE *f;

	for (k = 0; k < 2; k++) {
		char *reps[1024];
		int n = resultset_list(dirs[k], false, reps, 1024), r;

		for (r = 0; r < n; r++) {
			char path[4096];
			struct json_object *o;

			snprintf(path, sizeof(path), "%s/%s", dirs[k], reps[r]);
			o = load_file(path);
			if (!o)
				continue;
			/* Every VM's calls: a migration's harvests are the source's, whatever its index. */
			for (i = 0; i < MAX_BUCKETS; i++) {
				char bucket[64];
				double calls;

				snprintf(bucket, sizeof(bucket),
					 "probe.vms[sum].latency.get_dirty_log.log2_hist.%d", i);
				calls = num(o, bucket);
				if (!isnan(calls))
					h[k][i] += calls;
				if (h[k][i] > 0) {
					any = true;
					top = i > top ? i : top;
				}
			}
			json_object_put(o);
		}
		resultset_free(reps, n);
	}
	if (!any)
		return false;
	if (snprintf(name, sizeof(name), "getlog-%s-%s", mode, wl) >= (int)sizeof(name))
		return false;
	f = open_out(name, "dat");
	fprintf(f, "# bucket_lo_us baseline new\n");
	for (i = 0; i <= top; i++)
		fprintf(f, "\"%.3g\" %g %g\n", (double)(1ull << i) / 1000.0, h[0][i], h[1][i]);
	fclose(f);
	f = open_out(name, "gp");
	fprintf(f, "set title 'get-dirty-log latency, %s/%s (all repetitions)'\n"
		"set style data histograms\nset style histogram clustered gap 1\n"
		"set style fill solid 0.8 border -1\nset xlabel 'latency >= (us, log2 buckets)'\n"
		"set ylabel 'calls'\nset xtics rotate by -45\nset key top left\n"
		"plot '%s.dat' using 2:xtic(1) title 'base', '' using 3 title 'new'\n",
		mode, wl, name);
	fclose(f);
	render(name, "get-dirty-log latency histogram");
	return true;
}

/* One element of a repetition's array as a .dat row; false if it lacks a field. */
typedef bool (*row_fn)(FILE *f, struct json_object *e, double *t0);

/* The VM whose series is drawn: the one of role "vm" or "source" (compare's
 * probe.vms[role=vm|source], the only VM of a document without roles); -1 (any) in a
 * document without roles that lists several: the first that has a series. */
static long series_pid;

static long main_vm_pid(struct json_object *doc)
{
	double pid = num(doc, "probe.vms[role=vm|source].pid");

	return isnan(pid) ? -1 : (long)pid;
}

/*
 * NAME-base.dat and NAME-new.dat from the array at @path of repetition 1 of each kernel,
 * then the array at @path2 (NULL: none) through @row2. True when either has at least
 * @min_rows rows from @path: worth a plot.
 */
static bool rep1_dat2(const char *name, const char *bdir, const char *ndir, const char *path,
		      const char *header, row_fn row, size_t min_rows, const char *path2, row_fn row2)
{
	const char *dirs[2] = { bdir, ndir }, *label[2] = { "base", "new" };
	bool any = false;
	int k;

	for (k = 0; k < 2; k++) {
		struct json_object *o = load_rep(dirs[k], 1), *a;
		size_t i, n, rows = 0;
		double t0 = -1;
		char dat[300];
		FILE *f;

		if (!o)
			continue;
		series_pid = main_vm_pid(o);
		n = array_at(o, path, &a);
		snprintf(dat, sizeof(dat), "%s-%s", name, label[k]);
		f = open_out(dat, "dat");
		fprintf(f, "# %s\n", header);
		for (i = 0; i < n; i++)
			rows += row(f, json_object_array_get_idx(a, i), &t0);
		n = path2 ? array_at(o, path2, &a) : 0;
		for (i = 0; i < n; i++)
			row2(f, json_object_array_get_idx(a, i), &t0);
		fclose(f);
		any |= rows >= min_rows;
		json_object_put(o);
	}
	return any;
}

static bool rep1_dat(const char *name, const char *bdir, const char *ndir, const char *path,
		     const char *header, row_fn row, size_t min_rows)
{
	return rep1_dat2(name, bdir, ndir, path, header, row, min_rows, NULL, NULL);
}

/* workloads/migrate.c's samples: [t_s, MiB/s] of the guest's own update rate. */
static bool rate_row(FILE *f, struct json_object *e, double *t0)
{
	double t = num(e, "0"), mibps = num(e, "1");

	(void)t0;
	if (isnan(t) || isnan(mibps))
		return false;
	fprintf(f, "%.3f %.1f NaN\n", t, mibps);
	return true;
}

/* ... and its events, as impulses: 1 migration started, 2 cancel or switch-over, 3 ended. */
static bool event_row(FILE *f, struct json_object *e, double *t0)
{
	struct json_object *ev = metricpath_node(e, "event", NULL);
	const char *what = json_object_is_type(ev, json_type_string) ? json_object_get_string(ev) : "";
	int level = strstr(what, "-start") ? 1 : !strcmp(what, "cancel") || !strcmp(what, "switch-over") ? 2 :
		    !strcmp(what, "completed") || !strcmp(what, "cancelled") ? 3 : 0;
	double t = num(e, "t");

	(void)t0;
	if (isnan(t) || !level)
		return false;
	fprintf(f, "%.3f NaN %d\n", t, level);
	return true;
}

static bool series_row(FILE *f, struct json_object *e, double *t0)
{
	double t = num(e, "t_ns"), used = num(e, "n_used_mmu_pages"), recycled = num(e, "mmu_recycled"),
	       pid = num(e, "pid");

	if (isnan(t) || isnan(used) || isnan(recycled))
		return false;
	/* One VM's line: a migration's VMs interleave their ticks in probe.series. */
	if (series_pid < 0 && !isnan(pid))
		series_pid = (long)pid;
	if (!isnan(pid) && (long)pid != series_pid)
		return false;
	if (*t0 < 0)
		*t0 = t;
	fprintf(f, "%.3f %lld %lld\n", (t - *t0) / 1e9, (long long)used, (long long)recycled);
	return true;
}

static bool harvest_row(FILE *f, struct json_object *e, double *t0)
{
	double t = num(e, "t"), get_ns = num(e, "get_ns"), pages = num(e, "pages");

	(void)t0;
	if (isnan(t) || isnan(get_ns) || isnan(pages))
		return false;
	fprintf(f, "%.3f %.4f %lld\n", t, get_ns / 1e6, (long long)pages);
	return true;
}

/*
 * NAME.gp over NAME-base.dat and NAME-new.dat: column 2 on the left axis and column 3 on
 * the right one, each drawn for both kernels, then rendered.
 */
static void twin_axes_plot(const char *name, const char *title, const char *xlabel,
			   const char *y1, const char *style1, const char *y2, const char *style2)
{
	FILE *f = open_out(name, "gp");

	fprintf(f, "set title '%s'\nset xlabel '%s'\nset ylabel '%s'\nset y2label '%s'\n"
		"set ytics nomirror\nset y2tics\nset key below horizontal\n"
		"plot '%s-base.dat' using 1:2 with %s title 'base: %s', "
		"'%s-new.dat' using 1:2 with %s dt 3 title 'new: %s', "
		"'%s-base.dat' using 1:3 axes x1y2 with %s title 'base: %s', "
		"'%s-new.dat' using 1:3 axes x1y2 with %s dt 3 title 'new: %s'\n",
		title, xlabel, y1, y2, name, style1, y1, name, style1, y1, name, style2, y2,
		name, style2, y2);
	fclose(f);
	render(name, title);
}

/* The probe's --interval series of repetition 1: shadow pages in use and mmu_recycled. */
static bool series_plot(const char *mode, const char *wl, const char *bdir, const char *ndir)
{
	char name[256], title[512];

	if (snprintf(name, sizeof(name), "series-%s-%s", mode, wl) >= (int)sizeof(name) ||
	    !rep1_dat(name, bdir, ndir, "probe.series", "t_s n_used_mmu_pages mmu_recycled",
		      series_row, 3))
		return false;
	if (snprintf(title, sizeof(title), "shadow pages over time, %s/%s, repetition 1", mode,
		     wl) >= (int)sizeof(title))
		return false;
	twin_axes_plot(name, title, "seconds", "shadow pages in use", "steps",
		       "mmu_recycled", "lines");
	return true;
}

/* workloads/harvest.c's harvests of repetition 1: latency and pages per harvest. */
static bool harvest_plot(const char *mode, const char *wl, const char *bdir, const char *ndir)
{
	char name[256], title[512];

	if (snprintf(name, sizeof(name), "harvest-%s-%s", mode, wl) >= (int)sizeof(name) ||
	    !rep1_dat(name, bdir, ndir, "result.harvests", "t_s get_ms pages", harvest_row, 1))
		return false;
	if (snprintf(title, sizeof(title), "harvests while the guest writes, %s/%s, repetition 1",
		     mode, wl) >= (int)sizeof(title))
		return false;
	twin_axes_plot(name, title, "seconds since dirty logging started", "get-dirty-log (ms)",
		       "linespoints", "pages harvested", "impulses");
	return true;
}

/* The migration timeline of repetition 1: the guest's update rate, and the migrations. */
static bool migrate_plot(const char *mode, const char *wl, const char *bdir, const char *ndir)
{
	char name[256], title[512];

	if (snprintf(name, sizeof(name), "migrate-%s-%s", mode, wl) >= (int)sizeof(name) ||
	    !rep1_dat2(name, bdir, ndir, "result.samples", "t_s mibps event", rate_row, 3,
		       "result.events", event_row))
		return false;
	if (snprintf(title, sizeof(title), "migration timeline, %s/%s, repetition 1", mode, wl) >=
	    (int)sizeof(title))
		return false;
	twin_axes_plot(name, title, "seconds", "guest update rate (MiB/s)", "lines",
		       "1 start, 2 cancel/switch-over, 3 end", "impulses");
	return true;
}

/* A gated row of compare's rows.tsv (compare -t), as the gate plot draws it. */
struct gated {
	char mode[64], label[160];
	double ratio, lo, hi, thr, det;	/* new/base: the ratio, its interval, threshold, detectable */
	unsigned int rgb;		/* by verdict */
};

/* The columns of rows.tsv: metric mode workload base_mean new_mean ratio new_ci_lo new_ci_hi
 * mark gate lo hi threshold verdict detectable. False for an ungated or n/a row. */
static bool read_gated(const char *line, struct gated *g)
{
	char metric[64], wl[64], verdict[16];
	int gate;

	if (line[0] == '#' ||
	    sscanf(line, "%63s %63s %63s %*s %*s %lf %*s %*s %*s %d %lf %lf %lf %15s %lf", metric,
		   g->mode, wl, &g->ratio, &gate, &g->lo, &g->hi, &g->thr, verdict, &g->det) != 10 ||
	    !gate || !isfinite(g->ratio) || !isfinite(g->lo) || !isfinite(g->hi) ||
	    !(g->lo > 0) || !(g->thr > 0) || !isfinite(g->det))
		return false;
	g->rgb = !strcmp(verdict, "regression") ? 0xc00000 : !strcmp(verdict, "possible") ?
		 0xe07000 : !strcmp(verdict, "better") ? 0x008000 : 0x000000;
	snprintf(g->label, sizeof(g->label), "%s: %s%s", wl, metric,
		 !strcmp(verdict, "regression") ? " (REGRESSION)" :
		 !strcmp(verdict, "possible") ? " (possible)" : "");
	return true;
}

/* Not fmin/fmax: plot links without libm. */
static double dmin(double a, double b) { return a < b ? a : b; }
static double dmax(double a, double b) { return a > b ? a : b; }

/* Tick marks a reader can name (a log axis ticks only powers of ten by itself). */
static void ratio_tics(FILE *f, double xmin, double xmax)
{
	static const double tics[] = { 0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 0.9, 1, 1.1, 1.25,
				       1.5, 2, 3, 4, 5, 10, 20, 50, 100 };
	const char *sep = "";
	size_t i;

	fprintf(f, "set xtics (");
	for (i = 0; i < sizeof(tics) / sizeof(tics[0]); i++)
		if (tics[i] >= xmin && tics[i] <= xmax) {
			fprintf(f, "%s\"%g\" %g", sep, tics[i], tics[i]);
			sep = ", ";
		}
	fprintf(f, ")\n");
}

/*
 * ratios-<mode>: the gated metrics of one mode, one line each: new/base on a log axis with
 * its interval, the side beyond the threshold shaded, the detectable change marked.
 */
static void gate_plot(const struct gated *g, int n)
{
	double xmin = 1.0, xmax = 1.0;
	char name[128], title[256];
	FILE *f;
	int i;

	for (i = 0; i < n; i++) {
		xmin = dmin(xmin, dmin(g[i].lo, dmin(g[i].thr, g[i].det)));
		xmax = dmax(xmax, dmax(g[i].hi, dmax(g[i].thr, g[i].det)));
	}
	xmin /= 1.15;
	xmax *= 1.15;
	snprintf(name, sizeof(name), "ratios-%s", g[0].mode);
	f = open_out(name, "dat");
	fprintf(f, "# y label ratio lo hi bad_from bad_to detectable rgb\n");
	for (i = 0; i < n; i++)
		fprintf(f, "%d \"%s\" %g %g %g %g %g %g %u\n", i + 1, g[i].label, g[i].ratio, g[i].lo,
			g[i].hi, g[i].thr > 1 ? g[i].thr : xmin, g[i].thr > 1 ? xmax : g[i].thr,
			g[i].det, g[i].rgb);
	fclose(f);
	f = open_out(name, "gp");
	fprintf(f, "set title '%s MMU: the gated metrics, new/base'\nset logscale x\n"
		"set xrange [%g:%g]\nset yrange [%g:0.5]\nset xlabel 'new / base (log scale)'\n"
		"set label 'bar: the interval the gate used;  shaded: beyond the threshold;  x: the "
		"smallest change this run could flag' at screen 0.5, screen 0.02 center\n"
		"set bmargin 5\nset grid xtics\nset ytics nomirror\nunset key\n"
		"set arrow from 1, graph 0 to 1, graph 1 nohead dt 2\n", g[0].mode, xmin, xmax, n + 0.5);
	ratio_tics(f, xmin, xmax);
	fprintf(f, "plot '%s.dat' using (($6+$7)/2):1:6:7:($1-0.4):($1+0.4) with boxxyerror "
		"fs solid 0.2 noborder lc rgb '#d03030', "
		"'' using 8:1 with points pt 2 ps 1.3 lc rgb '#606060', "
		"'' using 3:1:4:5:9:ytic(2) with xerrorbars pt 7 ps 1.2 lw 2 lc rgb variable\n", name);
	fclose(f);
	snprintf(title, sizeof(title), "the gate, %s MMU: gated metrics with their intervals and "
		 "thresholds", g[0].mode);
	render_sized(name, title, 900, 170 + 32 * n);
}

/* From compare's rows (OUTDIR/rows.tsv, compare -t): one gate plot per mode. */
static void ratio_plots(void)
{
	static struct gated g[1024];
	char path[4096], line[1024];
	int n = 0, i, j;
	FILE *in;

	snprintf(path, sizeof(path), "%s/rows.tsv", outdir);
	in = fopen(path, "r");
	if (!in)
		return;
	while (n < 1024 && fgets(line, sizeof(line), in))
		n += read_gated(line, &g[n]);
	fclose(in);
	for (i = 0; i < n; i = j) {	/* rows come grouped by mode */
		for (j = i + 1; j < n && !strcmp(g[j].mode, g[i].mode); j++)
			;
		gate_plot(g + i, j - i);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: plot [-h] BASE_DIR NEW_DIR OUTDIR\n"
"The before/after plots of two result sets (results/<run>/<kernel>, holding\n"
"<mode>/<workload>/<rep>.json), drawn by gnuplot as PNG and SVG into OUTDIR with their\n"
"data (.dat) and scripts (.gp), listed in OUTDIR/plots.md; per mode and workload, from\n"
"what the repetitions hold:\n"
"  getlog-MODE-WORKLOAD   get-dirty-log latency: log2 histogram over every repetition and VM\n"
"  series-MODE-WORKLOAD   shadow pages in use and mmu_recycled over time (repetition 1)\n"
"  harvest-MODE-WORKLOAD  get-dirty-log latency and pages per harvest (repetition 1)\n"
"  migrate-MODE-WORKLOAD  the guest's update rate and the migrations' events (repetition 1)\n"
"  ratios-MODE            with OUTDIR/rows.tsv (compare -t): the gated metrics, new/base on\n"
"                         a log axis, their intervals, thresholds and detectable changes\n"
"  -h, --help   this text\n"
"Exit: 0 every plot drawn; 2 usage or bad input (a result set missing, a repetition that is\n"
"not JSON: named on stderr once, the other plots still drawn); 3 gnuplot failed or OUTDIR\n"
"cannot be written (gnuplot's messages: OUTDIR/gnuplot.log).\n"
"Examples:\n"
"  compare -t run/plots/rows.tsv results/RUN/baseline results/RUN/patched\n"
"  plot results/RUN/baseline results/RUN/patched run/plots\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	char *modes[64], *wls[256];
	char path[4096];
	struct atomic_file index;
	int nm, i, j, nw, c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option("plot", c, argv);
		usage(stdout);
		return EXIT_OK;
	}
	if (argc - optind != 3)
		return cli_usage_error("plot", "want BASE_DIR NEW_DIR OUTDIR, got %d argument%s",
				       argc - optind, argc - optind == 1 ? "" : "s");
	if (!resultset_dir("plot", "BASE_DIR", argv[optind]) ||
	    !resultset_dir("plot", "NEW_DIR", argv[optind + 1]))
		return EXIT_USAGE;
	signal(SIGPIPE, SIG_IGN);	/* a gnuplot that dies early is its exit status */
	outdir = argv[optind + 2];
	if (mkdir(outdir, 0755) && errno != EEXIST) {
		fprintf(stderr, "plot: error: cannot create %s: %s\n", outdir, strerror(errno));
		return EXIT_INFRA;
	}
	snprintf(path, sizeof(path), "%s/plots.md", outdir);
	if (atomic_open(&index, path)) {
		fprintf(stderr, "plot: error: cannot write %s: %s\n", path, strerror(errno));
		return EXIT_INFRA;
	}
	index_md = index.f;
	nm = resultset_list(argv[optind], true, modes, 64);
	ratio_plots();
	for (i = 0; i < nm; i++) {
		char bm[4096], nmd[4096];

		join(bm, sizeof(bm), argv[optind], modes[i]);
		join(nmd, sizeof(nmd), argv[optind + 1], modes[i]);
		nw = resultset_list(bm, true, wls, 256);
		for (j = 0; j < nw; j++) {
			char bd[8192], nd[8192];

			join(bd, sizeof(bd), bm, wls[j]);
			join(nd, sizeof(nd), nmd, wls[j]);
			if (access(nd, R_OK))
				continue;	/* only in base: compare reports it */
			fprintf(index_md, "## %s / %s\n\n", modes[i], wls[j]);
			hist_plot(modes[i], wls[j], bd, nd);
			series_plot(modes[i], wls[j], bd, nd);
			harvest_plot(modes[i], wls[j], bd, nd);
			migrate_plot(modes[i], wls[j], bd, nd);
		}
		resultset_free(wls, nw);
	}
	resultset_free(modes, nm);
	if (atomic_commit(&index)) {
		fprintf(stderr, "plot: error: cannot write %s: %s\n", path, strerror(errno));
		return EXIT_INFRA;
	}
	fprintf(stderr, "plot: %d plots (PNG and SVG) in %s\n", nplots, outdir);
	/* README.md, "Exit codes": what could not be done first, then bad input */
	return failures ? EXIT_INFRA : input_errors ? EXIT_USAGE : EXIT_OK;
}
