// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for analysis/spsimlogic.c: reading a shadow-page trace (its line numbers in
 * errors), and replaying its access string under FIFO, CLOCK, LRU and MIN, one eviction at a
 * time and in KVM's batches. The small cases are counted by hand (each test says how);
 * Belady's own example (1 2 3 4 1 2 5 1 2 3 4 5) is the one in every textbook. MIN is then
 * checked against an exhaustive search of every eviction choice on short random strings, and
 * against every other policy on a few thousand random accesses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spsimlogic.h"

#define ROLE 0x104u

/* t from s: tokens "N" (an access: C N ROLE), or OP followed by N (G, C, Z, R). */
static void trace_of(struct sp_trace *t, const char *s)
{
	char *end;
	char op;

	sp_trace_init(t);
	while (*s) {
		s += strspn(s, " ");
		if (!*s)
			break;
		op = strchr("GCZR", *s) ? *s++ : 'C';
		assert_int_equal(sp_trace_add(t, op, strtoull(s, &end, 10), ROLE), 0);
		assert_true(end > s);
		s = end;
	}
}

static struct sp_result run(const struct sp_trace *t, enum sp_policy p, unsigned long pool)
{
	struct sp_result r;

	assert_int_equal(sp_simulate(t, p, pool, NULL, &r), 0);
	return r;
}

static struct sp_result run_batch(const struct sp_trace *t, enum sp_policy p, unsigned long pool,
				  unsigned long min_free, unsigned long refill)
{
	struct sp_batch b = { .min_free = min_free, .refill = refill };
	struct sp_result r;

	assert_int_equal(sp_simulate(t, p, pool, &b, &r), 0);
	return r;
}

#define assert_counts(res, m, e) do {					\
	struct sp_result r_ = (res);					\
	assert_int_equal(r_.misses, (m));				\
	assert_int_equal(r_.evictions, (e));				\
} while (0)

static const char belady[] = "1 2 3 4 1 2 5 1 2 3 4 5";

/*
 * Pool 3: FIFO misses 9 (hits: 1 2 after 5 only), MIN 7 (4 evicts 3, 5 evicts 4, then 3 and
 * 4 evict pages never needed again). Pool 4: FIFO 10, more than with 3 (Belady's anomaly);
 * MIN 6 (5 evicts 4, 4 evicts a dead page). Evictions: misses - pool once it is full.
 */
static void belady_example(void **state)
{
	struct sp_trace t;

	(void)state;
	trace_of(&t, belady);
	assert_int_equal(t.accesses, 12);
	assert_int_equal(t.npages, 5);
	assert_counts(run(&t, SP_FIFO, 3), 9, 6);
	assert_counts(run(&t, SP_MIN, 3), 7, 4);
	assert_counts(run(&t, SP_FIFO, 4), 10, 6);
	assert_counts(run(&t, SP_MIN, 4), 6, 2);
	assert_int_equal(run(&t, SP_MIN, 4).hits, 6);
	assert_int_equal(run(&t, SP_MIN, 3).compulsory, 5);
	/* the whole string fits: only the first accesses miss */
	assert_counts(run(&t, SP_FIFO, 5), 5, 0);
	assert_counts(run(&t, SP_MIN, 5), 5, 0);
	sp_trace_free(&t);
}

/*
 * LRU on Belady's string, pool 3: every access misses but the 1 2 after 5 (10, evictions 7);
 * pool 4: 5 evicts 3, 3 evicts 4, 4 evicts 5, 5 evicts 1 (8, 4).
 * "1 2 1 3 1 2", pool 2: FIFO evicts 1 for 3 although 1 was just used (5 misses), LRU evicts
 * 2 (4 misses, 2 evictions), as MIN does.
 */
static void lru(void **state)
{
	struct sp_trace t;

	(void)state;
	trace_of(&t, belady);
	assert_counts(run(&t, SP_LRU, 3), 10, 7);
	assert_counts(run(&t, SP_LRU, 4), 8, 4);
	sp_trace_free(&t);
	trace_of(&t, "1 2 1 3 1 2");
	assert_counts(run(&t, SP_FIFO, 2), 5, 3);
	assert_counts(run(&t, SP_LRU, 2), 4, 2);
	assert_counts(run(&t, SP_MIN, 2), 4, 2);
	sp_trace_free(&t);
}

/*
 * "1 2 3 1 4 1", pool 3: the hit on 1 sets its bit; for 4 the hand clears it and evicts 2,
 * so the last 1 hits (4 misses, 1 eviction); FIFO evicts 1 (5, 2).
 * "1 2 3 3 2 1 4 1", pool 3: all three bits set; the hand clears them all, comes back to 1
 * and evicts it (the most recently used), then 2 for 1 (5, 2); LRU evicts 3 (4, 1).
 * "1 2 1 3 1", pool 2: a page starts with its bit clear: 3 evicts 2 (1's bit, set by its hit,
 * is cleared in passing) and 1 hits (3 misses); with the bit set at creation the hand would
 * clear both and evict 1.
 * Belady's string, pool 4: 5 evicts 3 (1 and 2 hit), 3 evicts 4, 4 evicts 5 (1 and 2 hit
 * again), 5 evicts 3 (8, 4).
 */
static void clock_second_chance(void **state)
{
	struct sp_trace t;

	(void)state;
	trace_of(&t, "1 2 3 1 4 1");
	assert_counts(run(&t, SP_CLOCK, 3), 4, 1);
	assert_counts(run(&t, SP_FIFO, 3), 5, 2);
	sp_trace_free(&t);
	trace_of(&t, "1 2 3 3 2 1 4 1");
	assert_counts(run(&t, SP_CLOCK, 3), 5, 2);
	assert_counts(run(&t, SP_LRU, 3), 4, 1);
	sp_trace_free(&t);
	trace_of(&t, "1 2 1 3 1");
	assert_counts(run(&t, SP_CLOCK, 2), 3, 1);
	sp_trace_free(&t);
	trace_of(&t, belady);
	assert_counts(run(&t, SP_CLOCK, 4), 8, 4);
	sp_trace_free(&t);
}

/* Without hits, CLOCK is FIFO. */
static void clock_without_hits_is_fifo(void **state)
{
	struct sp_trace t;
	char s[4096];
	int len = 0;

	(void)state;
	for (int i = 0; i < 300; i++)
		len += snprintf(s + len, sizeof(s) - len, "%d ", (i * 7) % 50 + (i / 50) * 50);
	trace_of(&t, s);
	assert_int_equal(run(&t, SP_CLOCK, 10).hits, 0);
	assert_int_equal(run(&t, SP_CLOCK, 10).evictions, run(&t, SP_FIFO, 10).evictions);
	assert_int_equal(run(&t, SP_CLOCK, 10).misses, 300);
	sp_trace_free(&t);
}

/*
 * A zap takes the page out of every pool: "1 2 Z1 3 1", pool 2: 3 takes the freed slot (no
 * eviction), 1 misses again (a miss every policy has: after_zap) and evicts (4 misses, 1
 * eviction). A zap of a page not in the pool (Z9, never accessed; Z1 twice) changes nothing.
 */
static void zaps(void **state)
{
	struct sp_trace t;

	(void)state;
	trace_of(&t, "1 2 Z1 Z9 Z1 3 1");
	assert_int_equal(t.nZ, 3);
	assert_int_equal(t.compulsory, 3);
	assert_int_equal(t.after_zap, 1);
	for (enum sp_policy p = 0; p < SP_NPOLICIES; p++) {
		assert_counts(run(&t, p, 2), 4, 1);
		assert_int_equal(run(&t, p, 2).compulsory, 3);
	}
	sp_trace_free(&t);
	/* a zap after the last access is not an access after a zap */
	trace_of(&t, "1 2 2 Z1");
	assert_int_equal(t.after_zap, 0);
	sp_trace_free(&t);
}

/*
 * MIN and zaps: "1 2 1 3 Z1 2", pool 2: for 3, page 1 is zapped before it is needed again,
 * so it is infinitely far: MIN evicts it and 2 hits (3 misses). LRU evicts 2 (4 misses).
 * Among dead pages, one never zapped goes first: "4 5 6 Z5 7", pool 2: 6 evicts 4 (never
 * needed again) and keeps 5, whose zap frees a slot for 7 (1 eviction; evicting 5 would take
 * 2). Among zapped ones, the last zapped first: "1 2 3 Z2 4 Z1", pool 2: 3 evicts 1 and 4
 * takes the slot 2's zap frees (1 eviction).
 */
static void min_and_zaps(void **state)
{
	struct sp_trace t;

	(void)state;
	trace_of(&t, "1 2 1 3 Z1 2");
	assert_counts(run(&t, SP_MIN, 2), 3, 1);
	assert_counts(run(&t, SP_LRU, 2), 4, 1);
	sp_trace_free(&t);
	trace_of(&t, "4 5 6 Z5 7");
	assert_counts(run(&t, SP_MIN, 2), 4, 1);
	sp_trace_free(&t);
	trace_of(&t, "1 2 3 Z2 4 Z1");
	assert_counts(run(&t, SP_MIN, 2), 4, 1);
	sp_trace_free(&t);
}

/* A page is (gfn, role): one gfn under two roles is two pages, in a pool of 1 they evict
 * each other; one role at two gfns too. */
static void role_distinguishes(void **state)
{
	struct sp_trace t;

	(void)state;
	sp_trace_init(&t);
	assert_int_equal(sp_trace_add(&t, 'C', 5, 0x1), 0);
	assert_int_equal(sp_trace_add(&t, 'C', 5, 0x2), 0);
	assert_int_equal(sp_trace_add(&t, 'G', 5, 0x1), 0);
	assert_int_equal(sp_trace_add(&t, 'C', 6, 0x1), 0);
	assert_int_equal(sp_trace_add(&t, 'Z', 5, 0x3), 0);	/* no such page */
	assert_int_equal(sp_trace_add(&t, 'G', 5, 0x2), 0);
	assert_int_equal(t.npages, 3);
	assert_int_equal(t.n, 5);
	assert_counts(run(&t, SP_FIFO, 1), 5, 4);
	assert_counts(run(&t, SP_FIFO, 3), 3, 0);
	assert_counts(run(&t, SP_MIN, 3), 3, 0);
	assert_int_equal(sp_trace_add(&t, 'X', 5, 0x2), -1);
	assert_int_equal(errno, EINVAL);
	sp_trace_free(&t);
}

/* 20000 pages (the hash and the page arrays grow many times), each accessed twice in the
 * same order: the second pass finds every one of them. In a pool one page short, FIFO and
 * LRU miss every access of that cycle; MIN only one of the second pass (the last page
 * created evicts the one needed last, which then evicts a page not needed again). */
static void many_pages(void **state)
{
	enum { K = 20000 };
	struct sp_trace t;

	(void)state;
	sp_trace_init(&t);
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < K; i++)
			assert_int_equal(sp_trace_add(&t, pass ? 'G' : 'C', i << 40 | 7,
						      (uint32_t)(i % 5) << 28), 0);
	assert_int_equal(t.npages, K);
	assert_int_equal(t.compulsory, K);
	assert_int_equal(t.nG, K);
	assert_int_equal(t.gfn[K - 1], (uint64_t)(K - 1) << 40 | 7);
	assert_counts(run(&t, SP_FIFO, K), K, 0);
	assert_counts(run(&t, SP_FIFO, K - 1), 2 * K, K + 1);
	assert_counts(run(&t, SP_LRU, K - 1), 2 * K, K + 1);
	assert_counts(run(&t, SP_MIN, K - 1), K + 1, 2);
	sp_trace_free(&t);
}

/*
 * Batches. Pool 6, evict when fewer than 2 are free until 4 are, pages 1..8: 1-5 fill it (1
 * free), 6 finds 1 free: 1, 2, 3 go (3 evictions), then 7 and 8 fit (one at a time: 7 and 8
 * evict 1 and 2). With KVM's 5 and 25, pool 30: 1-26 fill it to 4 free, 27 evicts 21 pages
 * (25 - 4: KVM_REFILL_PAGES - avail), 1-21, the oldest: 22 then hits, 1 misses (one at a
 * time, nothing is evicted and both hit).
 * min_free = refill = 1 is one at a time.
 */
static void batches(void **state)
{
	struct sp_trace t;
	struct sp_result r;
	char s[512];
	int len = 0;

	(void)state;
	trace_of(&t, "1 2 3 4 5 6 7 8");
	assert_counts(run_batch(&t, SP_FIFO, 6, 2, 4), 8, 3);
	assert_counts(run_batch(&t, SP_CLOCK, 6, 2, 4), 8, 3);
	assert_counts(run(&t, SP_FIFO, 6), 8, 2);
	sp_trace_free(&t);

	for (int i = 1; i <= 27; i++)
		len += snprintf(s + len, sizeof(s) - len, "%d ", i);
	snprintf(s + len, sizeof(s) - len, "22 1");
	trace_of(&t, s);
	r = run_batch(&t, SP_FIFO, 30, SP_KVM_MIN_FREE, SP_KVM_REFILL);
	assert_counts(r, 28, 21);
	assert_int_equal(r.hits, 1);
	assert_counts(run(&t, SP_FIFO, 30), 27, 0);
	/* a pool smaller than the refill is emptied: in 10, 6 pages fit (4 free), the 7th
	 * evicts all 6: 1-6, 7-12, 13-18, 19-24 go; 22 and 1 miss */
	assert_counts(run_batch(&t, SP_FIFO, 10, SP_KVM_MIN_FREE, SP_KVM_REFILL), 29, 24);
	sp_trace_free(&t);

	trace_of(&t, belady);
	for (enum sp_policy p = SP_FIFO; p <= SP_LRU; p++) {
		struct sp_result one = run(&t, p, 3);

		r = run_batch(&t, p, 3, 1, 1);
		assert_memory_equal(&r, &one, sizeof(r));
	}
	/* MIN is one at a time; a batch refills at least what it requires */
	assert_int_equal(sp_simulate(&t, SP_MIN, 3, &(struct sp_batch){ 1, 1 }, &r), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sp_simulate(&t, SP_FIFO, 3, &(struct sp_batch){ 5, 2 }, &r), -1);
	assert_int_equal(sp_simulate(&t, SP_FIFO, 0, NULL, &r), -1);
	sp_trace_free(&t);
}

/* --- reading ------------------------------------------------------------------------------ */

/* Read text as a trace: sp_trace_read()'s result. */
static int read_text(struct sp_trace *t, const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	assert_non_null(f);
	sp_trace_init(t);
	rc = sp_trace_read(t, f);
	fclose(f);
	return rc;
}

static void reading(void **state)
{
	struct sp_trace t;

	(void)state;
	assert_int_equal(read_text(&t,
		"# spsim test\n"
		"#  pool\t4 \r\n"
		"\n"
		"C\t0x10\t104\n"
		"G\t16\t0x104\n"		/* the same page: hex and decimal gfns */
		"C\t0x10\t0x4\r\n"
		"R\t0x10\t104\n"
		"Z\t17\t104\n"			/* never accessed */
		"# pool 4\n"			/* the same again: fine */
		"# poolside: a comment\n"
		"G\t99\tffffffff\n"), 0);
	assert_int_equal(t.pool, 4);
	assert_int_equal(t.pool_line, 2);
	assert_int_equal(t.nC, 2);
	assert_int_equal(t.nG, 2);
	assert_int_equal(t.nR, 1);
	assert_int_equal(t.nZ, 1);
	assert_int_equal(t.npages, 3);
	assert_int_equal(t.accesses, 4);
	assert_int_equal(t.warm, 1);		/* 99 was found before it was created */
	assert_int_equal(t.gfn[2], 99);
	assert_int_equal(t.role[2], 0xffffffffu);
	sp_trace_free(&t);

	/* no pool line: 0 */
	assert_int_equal(read_text(&t, "C\t1\t1\n"), 0);
	assert_int_equal(t.pool, 0);
	sp_trace_free(&t);
}

/* A bad line: EINVAL, its number, and what is wrong. */
static void bad_line(const char *text, unsigned long line, const char *what)
{
	struct sp_trace t;

	assert_int_equal(read_text(&t, text), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(t.err_line, line);
	if (!strstr(t.err, what))
		fail_msg("line %lu: '%s' does not say '%s'", line, t.err, what);
	sp_trace_free(&t);
}

static void parse_errors(void **state)
{
	(void)state;
	bad_line("# pool 3\nC\t1\t0x1\nX\t2\t0x1\n", 3, "unknown event 'X'");
	bad_line("C\t1\t1\nC 2 1\n", 2, "want OP<TAB>GFN<TAB>ROLE, got fewer");
	bad_line("C\t1\t1\t7\n", 1, "got more fields");
	bad_line("\n\nG\t12ab\t1\n", 3, "gfn '12ab' is not a number");
	bad_line("G\t0x\t1\n", 1, "gfn");
	bad_line("G\t-1\t1\n", 1, "gfn");
	bad_line("G\t1\t0x100000000\n", 1, "role '0x100000000' is not a 32-bit word");
	bad_line("G\t1\t\n", 1, "role");
	bad_line("GG\t1\t1\n", 1, "unknown event 'GG'");
	bad_line("C\t1\t1\n# pool lots\n", 2, "'# pool' wants a page count");
	bad_line("# pool 0\n", 1, "'# pool' wants a page count");
	bad_line("# pool 3\nC\t1\t1\n# pool 4\n", 3, "a second '# pool'");
	bad_line("C\t99999999999999999999\t1\n", 1, "gfn");
}

/* --- MIN against an exhaustive search, and against the other policies ---------------------- */

static uint64_t rng = 0x5eed5eed12345678ULL;

static uint32_t next_rand(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* A random trace: n events over npages pages, with locality (half the accesses go to the
 * tenth of the pages that is hot), and a zap every zap_every events on average (0: none). */
static void random_trace(struct sp_trace *t, int n, unsigned npages, unsigned zap_every)
{
	unsigned hot = npages / 10 ? npages / 10 : 1;

	sp_trace_init(t);
	for (int i = 0; i < n; i++) {
		uint32_t page = next_rand() % 2 ? next_rand() % hot : next_rand() % npages;
		char op = zap_every && next_rand() % zap_every == 0 ? 'Z' : 'C';

		assert_int_equal(sp_trace_add(t, op, page, page % 3), 0);
	}
}

/* The fewest misses of any choice of evictions from event i with the pool holding mask,
 * pages < 8 (memo[i][mask]: + 1, 0 not known). */
static int best(const struct sp_trace *t, size_t i, unsigned mask, unsigned pool, int memo[][256])
{
	unsigned bit;
	int m = 1 << 30;

	if (i == t->n)
		return 0;
	if (memo[i][mask])
		return memo[i][mask] - 1;
	bit = 1u << t->ev[i].page;
	if (t->ev[i].op == SP_ZAP)
		m = best(t, i + 1, mask & ~bit, pool, memo);
	else if (mask & bit)
		m = best(t, i + 1, mask, pool, memo);
	else if ((unsigned)__builtin_popcount(mask) < pool)
		m = 1 + best(t, i + 1, mask | bit, pool, memo);
	else
		for (unsigned v = 0; v < 8; v++)
			if (mask & (1u << v)) {
				int c = 1 + best(t, i + 1, (mask & ~(1u << v)) | bit, pool, memo);

				m = c < m ? c : m;
			}
	memo[i][mask] = m + 1;
	return m;
}

/* MIN's misses are the optimum over every eviction choice, zaps or not: 300 random strings
 * of 16 events over up to 6 pages, pools 1-4. FIFO, the test that MIN is not, misses more
 * on some. */
static void min_is_optimal(void **state)
{
	static int memo[17][256];
	int fifo_worse = 0;

	(void)state;
	for (int k = 0; k < 300; k++) {
		struct sp_trace t;
		unsigned pool = 1 + k % 4;

		random_trace(&t, 16, 6, k % 2 ? 5 : 0);
		assert_true(t.npages <= 8 && t.n <= 16);
		memset(memo, 0, sizeof(memo));
		assert_int_equal(run(&t, SP_MIN, pool).misses, best(&t, 0, 0, pool, memo));
		fifo_worse += run(&t, SP_FIFO, pool).misses > run(&t, SP_MIN, pool).misses;
		sp_trace_free(&t);
	}
	assert_true(fifo_worse > 0);
}

/*
 * MIN as its definition reads, slowly: on a miss in a full pool, look ahead from the access
 * for each resident page's next event and evict the farthest (a page zapped first: after
 * every live one, the last zapped first; never seen again: first of all). The same misses
 * and evictions as the heap's (keys are distinct but among pages never seen again, and
 * which of those goes changes nothing).
 */
static struct sp_result naive_min(const struct sp_trace *t, unsigned long pool)
{
	struct sp_result r = { 0 };
	uint32_t *res = calloc(pool, sizeof(*res));
	uint8_t *seen = calloc(t->npages, 1);
	unsigned long n = 0;

	assert_non_null(res);
	assert_non_null(seen);
	for (size_t i = 0; i < t->n; i++) {
		uint32_t p = t->ev[i].page;
		unsigned long at = n, victim = 0;
		uint64_t far = 0;

		for (unsigned long k = 0; k < n; k++)
			if (res[k] == p)
				at = k;
		if (t->ev[i].op == SP_ZAP) {
			if (at < n)
				res[at] = res[--n];
			continue;
		}
		if (at < n) {
			r.hits++;
			continue;
		}
		r.misses++;
		r.compulsory += !seen[p];
		seen[p] = 1;
		if (n == pool) {
			for (unsigned long k = 0; k < n; k++) {
				uint64_t key = 2 * (uint64_t)t->n;

				for (size_t j = i + 1; j < t->n; j++)
					if (t->ev[j].page == res[k]) {
						key = t->ev[j].op == SP_ACCESS ? j : t->n + j;
						break;
					}
				if (key > far) {
					far = key;
					victim = k;
				}
			}
			res[victim] = res[--n];
			r.evictions++;
		}
		res[n++] = p;
	}
	free(res);
	free(seen);
	return r;
}

/* 5000 accesses over 400 pages: MIN counts what naive_min() counts, and misses no more than
 * any policy, batched or not; without zaps it also evicts no more (evictions = misses - pool
 * once full). */
static void min_bounds_the_others(void **state)
{
	static const unsigned long pools[] = { 8, 40, 100, 300 };

	(void)state;
	for (unsigned zap_every = 0; zap_every <= 20; zap_every += 20) {
		struct sp_trace t;

		random_trace(&t, 5000, 400, zap_every);
		for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
			struct sp_result min = run(&t, SP_MIN, pools[i]), r;

			struct sp_result slow = naive_min(&t, pools[i]);

			assert_memory_equal(&min, &slow, sizeof(min));
			assert_int_equal(min.misses + min.hits, t.accesses);
			assert_int_equal(min.compulsory, t.compulsory);
			for (enum sp_policy p = SP_FIFO; p < SP_MIN; p++) {
				for (int b = 0; b < 2; b++) {
					r = b ? run_batch(&t, p, pools[i], 5, 25) : run(&t, p, pools[i]);
					assert_true(min.misses <= r.misses);
					assert_int_equal(r.misses + r.hits, t.accesses);
					if (!zap_every)
						assert_true(min.evictions <= r.evictions);
				}
			}
			/* LRU and CLOCK beat FIFO on a string with locality; MIN beats them */
			if (pools[i] == 40 && !zap_every) {
				assert_true(min.misses < run(&t, SP_LRU, pools[i]).misses);
				assert_true(run(&t, SP_LRU, pools[i]).misses <
					    run(&t, SP_FIFO, pools[i]).misses);
			}
		}
		sp_trace_free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(belady_example),
		cmocka_unit_test(lru),
		cmocka_unit_test(clock_second_chance),
		cmocka_unit_test(clock_without_hits_is_fifo),
		cmocka_unit_test(zaps),
		cmocka_unit_test(min_and_zaps),
		cmocka_unit_test(role_distinguishes),
		cmocka_unit_test(many_pages),
		cmocka_unit_test(batches),
		cmocka_unit_test(reading),
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(min_is_optimal),
		cmocka_unit_test(min_bounds_the_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
