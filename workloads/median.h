/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The median of a workload's own samples (header only: the static guest programs and the
 * selftests-based drivers include it as well as the host tools). analysis/ uses GSL.
 */
#ifndef MMUSCOPE_MEDIAN_H
#define MMUSCOPE_MEDIAN_H

#include <stddef.h>
#include <stdlib.h>

static inline int median_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n) (n > 0); sorts v. */
static inline double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), median_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
