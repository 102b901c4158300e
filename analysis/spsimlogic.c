// SPDX-License-Identifier: GPL-2.0
/* spsimlogic: a shadow-page trace and its replay under FIFO, CLOCK, LRU and MIN (spsimlogic.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "spsimlogic.h"

#define NIL UINT32_MAX
/* The most events and pages: an event's and a page's index fit in 32 bits, NIL apart. */
#define SP_MAX_EVENTS ((size_t)UINT32_MAX - 1)
#define SP_MAX_PAGES (UINT32_MAX - 1)

/* t->state while reading */
enum { SP_SEEN = 1, SP_ZAPPED = 2 };

void sp_trace_init(struct sp_trace *t)
{
	memset(t, 0, sizeof(*t));
}

void sp_trace_free(struct sp_trace *t)
{
	free(t->ev);
	free(t->gfn);
	free(t->role);
	free(t->state);
	free(t->hash);
	sp_trace_init(t);
}

/* --- the pages: an open-addressing hash (linear probing, at most half full) ------------- */

static uint64_t page_hash(uint64_t gfn, uint32_t role)
{
	uint64_t x = gfn ^ ((uint64_t)role * 0x9e3779b97f4a7c15ULL);

	/* splitmix64's finalizer: every bit of the key moves the slot */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* The slot of (gfn, role): the one holding it, or the empty one where it would go. */
static size_t page_slot(const struct sp_trace *t, uint64_t gfn, uint32_t role)
{
	size_t mask = t->hash_cap - 1, i = page_hash(gfn, role) & mask;
	uint32_t p;

	while ((p = t->hash[i])) {
		if (t->gfn[p - 1] == gfn && t->role[p - 1] == role)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static int hash_grow(struct sp_trace *t)
{
	size_t cap = t->hash_cap ? t->hash_cap * 2 : 1024;
	uint32_t *old = t->hash, p;
	size_t oldcap = t->hash_cap;

	t->hash = calloc(cap, sizeof(*t->hash));
	if (!t->hash) {
		t->hash = old;
		return -1;
	}
	t->hash_cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if ((p = old[i]))
			t->hash[page_slot(t, t->gfn[p - 1], t->role[p - 1])] = p;
	free(old);
	return 0;
}

static int pages_grow(struct sp_trace *t)
{
	uint32_t cap = t->pages_cap ? t->pages_cap * 2 : 1024;
	uint64_t *gfn;
	uint32_t *role;
	uint8_t *state;

	if (t->pages_cap > SP_MAX_PAGES / 2)
		cap = SP_MAX_PAGES;
	if (!(gfn = realloc(t->gfn, cap * sizeof(*gfn))))
		return -1;
	t->gfn = gfn;
	if (!(role = realloc(t->role, cap * sizeof(*role))))
		return -1;
	t->role = role;
	if (!(state = realloc(t->state, cap)))
		return -1;
	t->state = state;
	t->pages_cap = cap;
	return 0;
}

/* The page (gfn, role): its index, NIL when it is new and !create; -1 ENOMEM as NIL too. */
static uint32_t page_find(struct sp_trace *t, uint64_t gfn, uint32_t role, bool create)
{
	size_t slot;

	if (t->hash_cap && t->hash[slot = page_slot(t, gfn, role)])
		return t->hash[slot] - 1;
	if (!create)
		return NIL;
	if (t->npages == SP_MAX_PAGES) {
		errno = ENOMEM;
		return NIL;
	}
	if ((size_t)(t->npages + 1) * 2 > t->hash_cap && hash_grow(t))
		return NIL;
	if (t->npages == t->pages_cap && pages_grow(t))
		return NIL;
	t->gfn[t->npages] = gfn;
	t->role[t->npages] = role;
	t->state[t->npages] = 0;
	t->hash[page_slot(t, gfn, role)] = t->npages + 1;
	return t->npages++;
}

static int push_event(struct sp_trace *t, uint32_t page, enum sp_op op)
{
	struct sp_event *ev;
	size_t cap;

	if (t->n == t->cap) {
		if (t->cap == SP_MAX_EVENTS) {
			errno = ENOMEM;
			return -1;
		}
		cap = t->cap ? t->cap * 2 : 4096;
		if (cap > SP_MAX_EVENTS)
			cap = SP_MAX_EVENTS;
		if (!(ev = realloc(t->ev, cap * sizeof(*ev))))
			return -1;
		t->ev = ev;
		t->cap = cap;
	}
	t->ev[t->n++] = (struct sp_event){ .page = page, .op = op };
	return 0;
}

int sp_trace_add(struct sp_trace *t, char op, uint64_t gfn, uint32_t role)
{
	uint32_t p;

	switch (op) {
	case 'R':
		t->nR++;
		return 0;
	case 'Z':
		t->nZ++;
		p = page_find(t, gfn, role, false);
		if (p == NIL)	/* never accessed: in no pool */
			return 0;
		t->state[p] |= SP_ZAPPED;
		return push_event(t, p, SP_ZAP);
	case 'G':
	case 'C':
		p = page_find(t, gfn, role, true);
		if (p == NIL)
			return -1;
		if (push_event(t, p, SP_ACCESS))
			return -1;
		if (op == 'G')
			t->nG++;
		else
			t->nC++;
		t->accesses++;
		if (!(t->state[p] & SP_SEEN)) {
			t->compulsory++;
			t->warm += op == 'G';
		} else if (t->state[p] & SP_ZAPPED) {
			t->after_zap++;
		}
		t->state[p] = SP_SEEN;
		return 0;
	default:
		errno = EINVAL;
		return -1;
	}
}

/* --- reading ------------------------------------------------------------------------------ */

static int bad_line(struct sp_trace *t, unsigned long lineno, const char *fmt, const char *arg)
{
	char field[48];

	/* a field quoted in the message is cut: one line, whatever the input */
	snprintf(field, sizeof(field), "%s", arg);
	t->err_line = lineno;
	snprintf(t->err, sizeof(t->err), fmt, field);
	errno = EINVAL;
	return -1;
}

/* s as an unsigned number in base (every character a digit of it, at least one). */
static bool parse_u64(const char *s, int base, uint64_t *v)
{
	const char *digits = base == 16 ? "0123456789abcdefABCDEF" : "0123456789";
	char *end;

	if (!*s || strspn(s, digits) != strlen(s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, base);
	return !errno && !*end;
}

/* "# pool N" (spaces or tabs around the words): 1 and *pool set; 0 another comment; -1 a
 * "pool" word without a count (*arg: what follows it). */
static int pool_header(const char *s, unsigned long *pool, const char **arg)
{
	char num[24];
	size_t len;
	uint64_t v;

	s += strspn(s + 1, " \t") + 1;
	if (strncmp(s, "pool", 4) || (s[4] && !strchr(" \t", s[4])))
		return 0;
	s += 4;
	s += strspn(s, " \t");
	*arg = s;
	len = strcspn(s, " \t");
	if (len >= sizeof(num) || s[len + strspn(s + len, " \t")])
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	if (!parse_u64(num, 10, &v) || v < 1 || v > UINT32_MAX)
		return -1;
	*pool = (unsigned long)v;
	return 1;
}

int sp_trace_line(struct sp_trace *t, char *line, unsigned long lineno)
{
	size_t len = strlen(line);
	char *op, *gfn, *role, *extra;
	unsigned long pool;
	const char *arg;
	uint64_t g, r;
	int rc;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (!len)
		return 0;
	if (line[0] == '#') {
		rc = pool_header(line, &pool, &arg);
		if (rc < 0)
			return bad_line(t, lineno, "'# pool' wants a page count from 1 to 2^32-1, "
					"not '%s'", arg);
		if (rc > 0 && t->pool && t->pool != pool)
			return bad_line(t, lineno, "a second '# pool' with another size (%s): one "
					"trace is one run", arg);
		if (rc > 0 && !t->pool) {
			t->pool = pool;
			t->pool_line = lineno;
		}
		return 0;
	}
	op = line;
	gfn = strchr(op, '\t');
	role = gfn ? strchr(gfn + 1, '\t') : NULL;
	extra = role ? strchr(role + 1, '\t') : NULL;
	if (!role || extra)
		return bad_line(t, lineno, "want OP<TAB>GFN<TAB>ROLE%s", extra ? ", got more fields" :
				", got fewer fields");
	*gfn++ = '\0';
	*role++ = '\0';
	if (strlen(op) != 1 || !strchr("GCZR", op[0]))
		return bad_line(t, lineno, "unknown event '%s': want G, C, Z or R", op);
	if (!(gfn[0] == '0' && (gfn[1] == 'x' || gfn[1] == 'X') ? parse_u64(gfn + 2, 16, &g) :
	      parse_u64(gfn, 10, &g)))
		return bad_line(t, lineno, "gfn '%s' is not a number (decimal, or hex with 0x)", gfn);
	if (!parse_u64(role + (role[0] == '0' && (role[1] == 'x' || role[1] == 'X') ? 2 : 0), 16,
		       &r) || r > UINT32_MAX)
		return bad_line(t, lineno, "role '%s' is not a 32-bit word in hex", role);
	if (sp_trace_add(t, op[0], g, (uint32_t)r)) {
		rc = errno;
		t->err_line = lineno;
		snprintf(t->err, sizeof(t->err), "%s", strerror(rc));
		errno = rc;
		return -1;
	}
	return 0;
}

int sp_trace_read(struct sp_trace *t, FILE *f)
{
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	while (getline(&line, &cap, f) >= 0) {
		if ((rc = sp_trace_line(t, line, ++lineno)))
			break;
	}
	if (!rc && ferror(f))
		rc = -1;	/* errno: getline's */
	free(line);
	return rc;
}

/* --- FIFO, CLOCK, LRU: a ring of the resident pages ----------------------------------------
 * A circular doubly linked list whose hand is the next page to consider: the oldest (FIFO),
 * the least recently used (LRU), the clock's hand (CLOCK). A page is added just behind the
 * hand (the newest: the last the hand reaches); a page taken out while under the hand moves
 * the hand to the next. */

enum { IN = 1, SEEN = 2, REF = 4 };	/* per page, during a simulation */

struct ring {
	uint32_t *next, *prev;
	uint32_t hand;
};

static void ring_add(struct ring *r, uint32_t p)
{
	uint32_t h = r->hand;

	if (h == NIL) {
		r->next[p] = r->prev[p] = r->hand = p;
		return;
	}
	r->prev[p] = r->prev[h];
	r->next[p] = h;
	r->next[r->prev[h]] = p;
	r->prev[h] = p;
}

static void ring_del(struct ring *r, uint32_t p)
{
	if (r->next[p] == p) {
		r->hand = NIL;
		return;
	}
	if (r->hand == p)
		r->hand = r->next[p];
	r->next[r->prev[p]] = r->next[p];
	r->prev[r->next[p]] = r->prev[p];
}

/* The page to evict (the ring is not empty). CLOCK: the first under the hand whose reference
 * bit is clear, clearing the set ones it passes (it stops: after one turn all are clear). */
static uint32_t ring_victim(struct ring *r, uint8_t *flags, enum sp_policy p)
{
	if (p == SP_CLOCK)
		while (flags[r->hand] & REF) {
			flags[r->hand] &= ~REF;
			r->hand = r->next[r->hand];
		}
	return r->hand;
}

static int sim_ring(const struct sp_trace *t, enum sp_policy pol, unsigned long pool,
		    const struct sp_batch *b, struct sp_result *res)
{
	struct ring r = { .hand = NIL };
	unsigned long count = 0;
	uint8_t *flags;
	uint32_t p, v;

	r.next = malloc((t->npages + 1) * sizeof(*r.next));
	r.prev = malloc((t->npages + 1) * sizeof(*r.prev));
	flags = calloc(t->npages + 1, 1);
	if (!r.next || !r.prev || !flags) {
		free(r.next);
		free(r.prev);
		free(flags);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < t->n; i++) {
		p = t->ev[i].page;
		if (t->ev[i].op == SP_ZAP) {
			if (flags[p] & IN) {
				ring_del(&r, p);
				flags[p] &= ~(IN | REF);
				count--;
			}
			continue;
		}
		if (flags[p] & IN) {
			res->hits++;
			if (pol == SP_LRU) {
				ring_del(&r, p);
				ring_add(&r, p);
			} else if (pol == SP_CLOCK) {
				flags[p] |= REF;
			}
			continue;
		}
		res->misses++;
		if (!(flags[p] & SEEN))
			res->compulsory++;
		if (pool - count < b->min_free)
			while (count && pool - count < b->refill) {
				v = ring_victim(&r, flags, pol);
				ring_del(&r, v);
				flags[v] &= ~(IN | REF);
				count--;
				res->evictions++;
			}
		ring_add(&r, p);
		flags[p] |= IN | SEEN;
		count++;
	}
	free(r.next);
	free(r.prev);
	free(flags);
	return 0;
}

/* --- MIN: an indexed max-heap of the resident pages on the time of their next access ------- */

struct heap {
	uint32_t *page;		/* the heap: page[0] is the farthest */
	uint32_t *pos;		/* per page: its index in page[], NIL when not resident */
	uint64_t *key;		/* per page: when it is next needed (larger: later) */
	uint32_t n;
};

static void heap_set(struct heap *h, uint32_t i, uint32_t p)
{
	h->page[i] = p;
	h->pos[p] = i;
}

static void heap_up(struct heap *h, uint32_t i)
{
	uint32_t p = h->page[i], parent;

	while (i && h->key[h->page[parent = (i - 1) / 2]] < h->key[p]) {
		heap_set(h, i, h->page[parent]);
		i = parent;
	}
	heap_set(h, i, p);
}

static void heap_down(struct heap *h, uint32_t i)
{
	uint32_t p = h->page[i], c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && h->key[h->page[c + 1]] > h->key[h->page[c]])
			c++;
		if (h->key[h->page[c]] <= h->key[p])
			break;
		heap_set(h, i, h->page[c]);
		i = c;
	}
	heap_set(h, i, p);
}

static void heap_push(struct heap *h, uint32_t p, uint64_t key)
{
	h->key[p] = key;
	heap_set(h, h->n++, p);
	heap_up(h, h->n - 1);
}

/* A resident page's key changed, or it leaves (remove). */
static void heap_fix(struct heap *h, uint32_t p, uint64_t key)
{
	uint32_t i = h->pos[p];

	h->key[p] = key;
	heap_up(h, i);
	heap_down(h, h->pos[p]);
}

static void heap_remove(struct heap *h, uint32_t p)
{
	uint32_t i = h->pos[p], last = h->page[--h->n];

	h->pos[p] = NIL;
	if (i == h->n)
		return;
	heap_set(h, i, last);
	heap_fix(h, last, h->key[last]);
}

/*
 * when[i], for the access i: its page's next event after i (NIL: none), by a backward pass.
 * Its key in the heap (larger: evicted first): that event's index when it is an access;
 * n + its index when it is a zap (dead: after every live page, the last zapped first); 2n
 * when there is none (dead, and never frees its slot: first of all).
 */
static uint64_t next_key(const struct sp_trace *t, const uint32_t *when, size_t i)
{
	uint32_t j = when[i];

	if (j == NIL)
		return 2 * (uint64_t)t->n;
	return t->ev[j].op == SP_ACCESS ? j : (uint64_t)t->n + j;
}

static int sim_min(const struct sp_trace *t, unsigned long pool, struct sp_result *res)
{
	uint32_t *when = malloc((t->n + 1) * sizeof(*when)), *last, p;
	struct heap h = { 0 };
	uint8_t *seen = calloc(t->npages + 1, 1);
	int rc = -1;

	last = malloc((t->npages + 1) * sizeof(*last));
	h.page = malloc((t->npages + 1) * sizeof(*h.page));
	h.pos = malloc((t->npages + 1) * sizeof(*h.pos));
	h.key = malloc((t->npages + 1) * sizeof(*h.key));
	if (!when || !last || !seen || !h.page || !h.pos || !h.key) {
		errno = ENOMEM;
		goto out;
	}
	for (uint32_t k = 0; k < t->npages; k++)
		last[k] = h.pos[k] = NIL;
	for (size_t i = t->n; i-- > 0;) {
		p = t->ev[i].page;
		when[i] = last[p];
		last[p] = (uint32_t)i;
	}
	for (size_t i = 0; i < t->n; i++) {
		p = t->ev[i].page;
		if (t->ev[i].op == SP_ZAP) {
			if (h.pos[p] != NIL)
				heap_remove(&h, p);
			continue;
		}
		if (h.pos[p] != NIL) {
			res->hits++;
			heap_fix(&h, p, next_key(t, when, i));
			continue;
		}
		res->misses++;
		if (!seen[p]) {
			seen[p] = 1;
			res->compulsory++;
		}
		if (h.n == pool) {
			heap_remove(&h, h.page[0]);
			res->evictions++;
		}
		heap_push(&h, p, next_key(t, when, i));
	}
	rc = 0;
out:
	free(when);
	free(last);
	free(seen);
	free(h.page);
	free(h.pos);
	free(h.key);
	return rc;
}

/* --- the policies ---------------------------------------------------------------------------- */

const char *sp_policy_name(enum sp_policy p)
{
	static const char *const names[SP_NPOLICIES] = {
		[SP_FIFO] = "FIFO", [SP_CLOCK] = "CLOCK", [SP_LRU] = "LRU", [SP_MIN] = "MIN",
	};

	return (unsigned)p < SP_NPOLICIES ? names[p] : "?";
}

int sp_simulate(const struct sp_trace *t, enum sp_policy p, unsigned long pool,
		const struct sp_batch *batch, struct sp_result *r)
{
	static const struct sp_batch one = { .min_free = 1, .refill = 1 };

	memset(r, 0, sizeof(*r));
	if (!pool || pool > UINT32_MAX || (unsigned)p >= SP_NPOLICIES ||
	    (batch && (p == SP_MIN || !batch->min_free || batch->min_free > batch->refill))) {
		errno = EINVAL;
		return -1;
	}
	if (p == SP_MIN)
		return sim_min(t, pool, r);
	return sim_ring(t, p, pool, batch ? batch : &one, r);
}
