/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Now on CLOCK_MONOTONIC, the clock of every interval mmuscope measures (never set back,
 * unlike the wall clock): in ns, and in seconds for timeouts. Header-only, as cli.h: the
 * workload guest's static programs and the drivers built on the KVM selftests library
 * include it too.
 */
#ifndef MMUSCOPE_MONOCLOCK_H
#define MMUSCOPE_MONOCLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline double mono_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
