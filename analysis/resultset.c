// SPDX-License-Identifier: GPL-2.0
/* resultset: list the modes, workloads and repetitions of a result set (resultset.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "resultset.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int resultset_list(const char *dir, bool want_dirs, char **names, int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) && n < max) {
		char path[4096];
		struct stat st;
		size_t len = strlen(e->d_name);

		/* raw/: a workload's logs; insns/: the plugin's directory in a test host's share
		 * (ci/bench gives each kernel its directory of the run as its share) */
		if (e->d_name[0] == '.' ||
		    (want_dirs && (!strcmp(e->d_name, "raw") || !strcmp(e->d_name, "insns"))))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st))
			continue;
		if (want_dirs ? !S_ISDIR(st.st_mode) :
		    !(S_ISREG(st.st_mode) && len > 5 && !strcmp(e->d_name + len - 5, ".json")))
			continue;
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmp_str);
	return n;
}

void resultset_free(char **names, int n)
{
	while (n-- > 0)
		free(names[n]);
}

bool resultset_dir(const char *prog, const char *what, const char *dir)
{
	const char *why;
	struct stat st;

	if (stat(dir, &st))
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else
		return true;
	fprintf(stderr, "%s: error: %s %s: %s (a result set is a results/<run>/<kernel> "
		"directory)\n", prog, what, dir, why);
	return false;
}
