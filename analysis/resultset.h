/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The layout of a result set: <mode>/<workload>/<rep>.json under results/<run>/<kernel>/
 * (workloads/run writes it; raw logs sit in <workload>/raw/).
 */
#ifndef MMUSCOPE_RESULTSET_H
#define MMUSCOPE_RESULTSET_H

#include <stdbool.h>

/*
 * The sorted names of dir's entries: its subdirectories (want_dirs: modes, workloads) or
 * its *.json files (repetitions). At most max names, each malloc'd; -1 if dir cannot be read.
 */
int resultset_list(const char *dir, bool want_dirs, char **names, int max);
void resultset_free(char **names, int n);

/* Whether dir, the result set named what (BASE_DIR, NEW_DIR), is a directory to read; if
 * not, one line on stderr naming it, as prog says errors. */
bool resultset_dir(const char *prog, const char *what, const char *dir);

#endif
