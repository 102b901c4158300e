/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What mmuscope's own KVM selftests (testhost/tests/, one file per test) share:
 * tests.mk puts this directory on their include path.
 */
#ifndef MMUSCOPE_TESTS_H
#define MMUSCOPE_TESTS_H

#include <stdio.h>

#define HUGE_2M_SYSFS		"/sys/kernel/mm/hugepages/hugepages-2048kB/"

/* 2M hugetlb pages that an mmap() can still reserve, or -1 without 2M hugetlb. */
static inline long free_huge_2m_pages(void)
{
	long free_pages = -1, resv = 0;
	FILE *f;

	f = fopen(HUGE_2M_SYSFS "free_hugepages", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &free_pages) != 1)
		free_pages = -1;
	fclose(f);
	f = fopen(HUGE_2M_SYSFS "resv_hugepages", "r");
	if (f) {
		if (fscanf(f, "%ld", &resv) != 1)
			resv = 0;
		fclose(f);
	}
	return free_pages < 0 ? -1 : free_pages - resv;
}

#endif
