// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "hist.h"

#define STARS 40

static void stars(FILE *f, uint64_t v, uint64_t max)
{
	int n = max ? (int)(v * STARS / max) : 0, i;

	for (i = 0; i < STARS; i++)
		fputc(i < n ? '*' : ' ', f);
}

void print_log2_hist(FILE *f, const __u64 *slots, int n, const char *unit)
{
	int i, first = -1, last = -1;
	uint64_t max = 0;

	for (i = 0; i < n; i++) {
		if (!slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	if (last < 0) {
		fprintf(f, "     (no samples)\n");
		return;
	}
	fprintf(f, "%24s%-6s : count    distribution\n", "", unit);
	for (i = first; i <= last; i++) {
		uint64_t lo = i ? 1ULL << i : 0, hi = (1ULL << (i + 1)) - 1;

		fprintf(f, "%14llu -> %-12llu: %-8llu |", (unsigned long long)lo,
			(unsigned long long)hi, (unsigned long long)slots[i]);
		stars(f, slots[i], max);
		fprintf(f, "|\n");
	}
}

uint64_t log2_hist_percentile(const __u64 *slots, int n, double p)
{
	uint64_t total = 0, seen = 0, rank;
	int i;

	for (i = 0; i < n; i++)
		total += slots[i];
	if (!total)
		return 0;
	rank = (uint64_t)(p / 100.0 * (double)total + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < n; i++) {
		seen += slots[i];
		if (seen >= rank)
			return (1ULL << (i + 1)) - 1;
	}
	return (1ULL << n) - 1;
}
