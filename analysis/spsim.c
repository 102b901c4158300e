// SPDX-License-Identifier: GPL-2.0
/*
 * spsim: how many shadow pages a run's pool would have recycled under FIFO, CLOCK, LRU and
 * Belady's MIN, from the probes' trace of its lookups, creations, zaps and recycles, beside
 * what the traced kernel did (issue [reclaim2]).
 *
 *   spsim [-n POOL] [-b] [-k KERNEL] [-j FILE.json] TRACE
 *
 * The trace's format and each policy's rules: analysis/spsimlogic.h. A Markdown table on
 * stdout, the same numbers as JSON with -j (atomically).
 *
 * Exit: 0 done; 2 usage or bad input (a malformed line, named by its number; no pool size);
 * 3 the JSON cannot be written, the trace cannot be read through, or no memory.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "atomicfile.h"
#include "cli.h"
#include "spsimlogic.h"

#define PROG "spsim"

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [-n POOL] [-b] [-k KERNEL] [-j FILE.json] TRACE\n"
"Replays the shadow-page lookups of a run (TRACE, '-' for stdin) under FIFO, CLOCK, LRU and\n"
"Belady's MIN in a pool of POOL pages, and prints each one's misses and evictions beside the\n"
"traced kernel's own, as a Markdown table.\n"
"TRACE: one event per line, OP<TAB>GFN<TAB>ROLE; GFN decimal or hex with 0x, ROLE the role\n"
"word in hex; a page is (GFN, ROLE); '#' comments, '# pool N' the pool's size:\n"
"  G  kvm_mmu_get_shadow_page found the page (a hit)    C  it created it (a miss)\n"
"  Z  the page was zapped for another reason than room: it leaves every policy's pool\n"
"  R  the kernel recycled the page to make room (only counted)\n"
"The access string is the G and C lines in order. For each policy:\n"
"  misses     pages it creates (first accesses, accesses after a zap, and capacity misses)\n"
"  evictions  pages it recycles to make room (what R counts in the kernel)\n"
"  vs MIN     evictions minus MIN's, and their ratio\n"
"CLOCK: a hit sets the page's reference bit (clear at creation), the hand clears it in\n"
"passing and evicts the first page whose bit is clear. MIN: the page next needed farthest\n"
"away, one at a time; a page zapped before its next access, or never accessed again, first.\n"
"No policy misses less than MIN on the string; its evictions are a lower bound when no page\n"
"is zapped (with zaps, keeping a page until its zap frees the slot can save a recycle).\n"
"  -n POOL    the pool's size in pages (default: the trace's '# pool N')\n"
"  -b         also FIFO and CLOCK in KVM's batches (6.12 make_mmu_pages_available): before a\n"
"             creation, when fewer than %d pages are free, evict until %d are; compare\n"
"             FIFO's with a baseline kernel's observed R\n"
"  -k KERNEL  the traced kernel's name for its row (default: kernel)\n"
"  -j FILE    also write the numbers as JSON here (atomically; a new or a regular file)\n"
"  -h, --help this text\n"
"Exit: 0 done; 2 usage or bad input (the line that is not an event named by its number, no\n"
"pool size, no access); 3 FILE.json cannot be written, the trace cannot be read through, or\n"
"no memory.\n"
"Examples:\n"
"  " PROG " run.sptrace\n"
"  " PROG " -n 1024 -b -k patched -j spsim.json run.sptrace\n",
		SP_KVM_MIN_FREE, SP_KVM_REFILL);
}

/* A row of the table. */
struct row {
	const char *name;
	enum sp_policy policy;
	bool batch;
	struct sp_result r;
};

struct ctx {
	const char *trace, *kernel;
	unsigned long pool;
	const char *pool_from;
	const struct sp_trace *t;
	struct row rows[SP_NPOLICIES + 2];
	int nrows;
	uint64_t min_evictions;
	bool batch;
};

/* "+D (R.RRx)": evictions against MIN's. */
static const char *vs_min(char *buf, size_t len, uint64_t e, uint64_t min)
{
	long long d = (long long)e - (long long)min;

	if (min)
		snprintf(buf, len, "%+lld (%.2fx)", d, (double)e / (double)min);
	else
		snprintf(buf, len, "%+lld", d);
	return buf;
}

static void print_table(FILE *f, const struct ctx *x)
{
	const struct sp_trace *t = x->t;
	char buf[64];

	fprintf(f, "## Shadow-page pool replacement: %s\n\n", x->trace);
	fprintf(f, "Pool %lu pages (%s). %" PRIu64 " accesses of %" PRIu32 " pages: %" PRIu64
		" found (G), %" PRIu64 " created (C); %" PRIu64 " zapped (Z), %" PRIu64
		" recycled (R) by the kernel. Every policy misses the %" PRIu64 " first accesses",
		x->pool, x->pool_from, t->accesses, t->npages, t->nG, t->nC, t->nZ, t->nR,
		t->compulsory);
	if (t->warm)
		fprintf(f, " (%" PRIu64 " of them a G: pages created before the trace)", t->warm);
	fprintf(f, " and the %" PRIu64 " accesses after a zap.\n\n", t->after_zap);
	fprintf(f, "| policy | misses | evictions | evictions vs MIN |\n|---|---:|---:|---:|\n");
	fprintf(f, "| %s (observed C, R) | %" PRIu64 " | %" PRIu64 " | %s |\n", x->kernel, t->nC,
		t->nR, vs_min(buf, sizeof(buf), t->nR, x->min_evictions));
	for (int i = 0; i < x->nrows; i++) {
		const struct row *r = &x->rows[i];

		fprintf(f, "| %s | %" PRIu64 " | %" PRIu64 " | %s |\n", r->name, r->r.misses,
			r->r.evictions, r->policy == SP_MIN ? "-" :
			vs_min(buf, sizeof(buf), r->r.evictions, x->min_evictions));
	}
	fprintf(f, "\nMIN is Belady's rule, one eviction at a time: no policy, batched or not, "
		"misses less on this access string; its evictions are a lower bound on recycles "
		"when no page is zapped while resident (a policy that keeps a page until its zap "
		"frees the slot can recycle a little less).");
	if (x->batch)
		fprintf(f, " Batch: before a creation, when fewer than %d pages are free, evict "
			"until %d are (6.12 make_mmu_pages_available; roots in use and several "
			"creations per fault not modelled), so FIFO batch is the baseline kernel's "
			"policy.", SP_KVM_MIN_FREE, SP_KVM_REFILL);
	fputc('\n', f);
}

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static json_object *json_doc(const struct ctx *x)
{
	const struct sp_trace *t = x->t;
	json_object *doc = json_object_new_object(), *obs = json_object_new_object(),
		    *pols = json_object_new_array(), *b = NULL, *o;

	json_object_object_add(doc, "trace", json_object_new_string(x->trace));
	json_object_object_add(doc, "pool", u64(x->pool));
	json_object_object_add(doc, "pool_from", json_object_new_string(x->pool_from));
	json_object_object_add(doc, "trace_pool", t->pool ? u64(t->pool) : NULL);
	json_object_object_add(doc, "accesses", u64(t->accesses));
	json_object_object_add(doc, "pages", u64(t->npages));
	json_object_object_add(doc, "compulsory", u64(t->compulsory));
	json_object_object_add(doc, "after_zap", u64(t->after_zap));
	json_object_object_add(doc, "warm", u64(t->warm));
	json_object_object_add(obs, "kernel", json_object_new_string(x->kernel));
	json_object_object_add(obs, "G", u64(t->nG));
	json_object_object_add(obs, "C", u64(t->nC));
	json_object_object_add(obs, "Z", u64(t->nZ));
	json_object_object_add(obs, "R", u64(t->nR));
	json_object_object_add(obs, "misses", u64(t->nC));
	json_object_object_add(obs, "evictions", u64(t->nR));
	json_object_object_add(obs, "evictions_vs_min",
			       json_object_new_int64((int64_t)t->nR - (int64_t)x->min_evictions));
	json_object_object_add(doc, "observed", obs);
	if (x->batch) {
		b = json_object_new_object();
		json_object_object_add(b, "min_free", json_object_new_int(SP_KVM_MIN_FREE));
		json_object_object_add(b, "refill", json_object_new_int(SP_KVM_REFILL));
	}
	json_object_object_add(doc, "batch", b);
	for (int i = 0; i < x->nrows; i++) {
		const struct row *r = &x->rows[i];

		o = json_object_new_object();
		json_object_object_add(o, "policy", json_object_new_string(sp_policy_name(r->policy)));
		json_object_object_add(o, "batch", json_object_new_boolean(r->batch));
		json_object_object_add(o, "hits", u64(r->r.hits));
		json_object_object_add(o, "misses", u64(r->r.misses));
		json_object_object_add(o, "evictions", u64(r->r.evictions));
		json_object_object_add(o, "compulsory", u64(r->r.compulsory));
		json_object_object_add(o, "evictions_vs_min",
				       json_object_new_int64((int64_t)r->r.evictions -
							     (int64_t)x->min_evictions));
		json_object_array_add(pols, o);
	}
	json_object_object_add(doc, "policies", pols);
	json_object_object_add(doc, "min", json_object_new_string(
		"Belady's MIN, one eviction at a time: the fewest misses of any policy on this "
		"access string; its evictions are a lower bound when no page is zapped while "
		"resident"));
	return doc;
}

static int write_json(const char *file, const struct ctx *x)
{
	json_object *doc = json_doc(x);
	const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = 0;
	char *text;

	if (!s || asprintf(&text, "%s\n", s) < 0) {
		errno = ENOMEM;
		rc = -1;
	} else {
		rc = atomic_write(file, text, strlen(text));
		free(text);
	}
	if (rc)
		fprintf(stderr, PROG ": error: cannot write %s: %s\n", file, strerror(errno));
	json_object_put(doc);
	return rc;
}

/* The trace, read whole: EXIT_OK, or the exit code after a one-line error. */
static int read_trace(struct sp_trace *t, const char *file)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	int rc, err;

	if (!f) {
		fprintf(stderr, PROG ": error: cannot read the trace %s: %s\n", file, strerror(errno));
		return EXIT_USAGE;
	}
	rc = sp_trace_read(t, f);
	err = errno;
	if (f != stdin)
		fclose(f);
	if (!rc)
		return EXIT_OK;
	if (err == EINVAL) {
		fprintf(stderr, PROG ": error: %s:%lu: %s\n", file, t->err_line, t->err);
		return EXIT_USAGE;
	}
	fprintf(stderr, PROG ": error: cannot read the trace %s: %s\n", file, strerror(err));
	return EXIT_INFRA;
}

static int simulate(struct ctx *x, const char *name, enum sp_policy p, bool batch)
{
	static const struct sp_batch kvm = { .min_free = SP_KVM_MIN_FREE, .refill = SP_KVM_REFILL };
	struct row *r = &x->rows[x->nrows++];

	r->name = name;
	r->policy = p;
	r->batch = batch;
	if (sp_simulate(x->t, p, x->pool, batch ? &kvm : NULL, &r->r)) {
		fprintf(stderr, PROG ": error: %s: %s\n", name, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	const char *json = NULL;
	struct sp_trace t;
	struct stat st;
	struct ctx x = { .kernel = "kernel" };
	unsigned long long v;
	char *end, from[64], fifo_batch[32], clock_batch[32];
	int opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:bk:j:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-' || !v || v > UINT32_MAX)
				return cli_usage_error(PROG, "-n takes a pool size in pages, from 1 "
						       "to 2^32-1, not '%s'", optarg);
			x.pool = (unsigned long)v;
			break;
		case 'b': x.batch = true; break;
		case 'k': x.kernel = optarg; break;
		case 'j': json = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_bad_option(PROG, opt, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(PROG, "want one TRACE, got %d argument%s", argc - optind,
				       argc - optind == 1 ? "" : "s");
	x.trace = argv[optind];
	/* written by a rename over it: a device or a symlink would be replaced, not written */
	if (json && !lstat(json, &st) && !S_ISREG(st.st_mode))
		return cli_usage_error(PROG, "-j %s: not a regular file (it would be replaced by "
				       "one): give a file's path", json);

	sp_trace_init(&t);
	x.t = &t;
	rc = read_trace(&t, x.trace);
	if (rc)
		goto out;
	if (!t.accesses) {
		fprintf(stderr, PROG ": error: %s holds no access (no G or C line): nothing to "
			"replay\n", x.trace);
		rc = EXIT_USAGE;
		goto out;
	}
	if (x.pool && t.pool && t.pool != x.pool)
		snprintf(from, sizeof(from), "-n; the trace says %lu", t.pool);
	else if (x.pool)
		snprintf(from, sizeof(from), "-n");
	else if (t.pool)
		snprintf(from, sizeof(from), "'# pool', line %lu", t.pool_line);
	if (!x.pool && !(x.pool = t.pool)) {
		rc = cli_usage_error(PROG, "%s gives no pool size: give -n POOL (the VM's "
				     "n_max_mmu_pages) or a '# pool N' line", x.trace);
		goto out;
	}
	x.pool_from = from;

	snprintf(fifo_batch, sizeof(fifo_batch), "FIFO, batch %d/%d", SP_KVM_MIN_FREE, SP_KVM_REFILL);
	snprintf(clock_batch, sizeof(clock_batch), "CLOCK, batch %d/%d", SP_KVM_MIN_FREE,
		 SP_KVM_REFILL);
	rc = EXIT_INFRA;
	if (simulate(&x, "FIFO", SP_FIFO, false) ||
	    (x.batch && simulate(&x, fifo_batch, SP_FIFO, true)) ||
	    simulate(&x, "CLOCK", SP_CLOCK, false) ||
	    (x.batch && simulate(&x, clock_batch, SP_CLOCK, true)) ||
	    simulate(&x, "LRU", SP_LRU, false) || simulate(&x, "MIN", SP_MIN, false))
		goto out;
	x.min_evictions = x.rows[x.nrows - 1].r.evictions;
	print_table(stdout, &x);
	if (fflush(stdout)) {
		fprintf(stderr, PROG ": error: cannot write the table: %s\n", strerror(errno));
		goto out;
	}
	if (json && write_json(json, &x))
		goto out;
	rc = EXIT_OK;
out:
	sp_trace_free(&t);
	return rc;
}
