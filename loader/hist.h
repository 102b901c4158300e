/* SPDX-License-Identifier: GPL-2.0 */
/* log2 histograms: one printer for every tool (bcc style), percentiles from buckets. */
#ifndef MMUSCOPE_HIST_H
#define MMUSCOPE_HIST_H

#include <stdint.h>
#include <linux/types.h>
#include <stdio.h>

/* Print slots[0..n) as "     lo -> hi     : count    |****    |". */
void print_log2_hist(FILE *f, const __u64 *slots, int n, const char *unit);

/* The upper bound of the bucket holding the p-th percentile (0 < p <= 100): a value no
 * more than 2x the true one. 0 when the histogram is empty. */
uint64_t log2_hist_percentile(const __u64 *slots, int n, double p);

#endif
