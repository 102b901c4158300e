/* SPDX-License-Identifier: GPL-2.0 */
/* Recognising kernel splats (oops, panic, lockdep, KASAN, hung task...) in console text. */
#ifndef MMUSCOPE_SPLAT_H
#define MMUSCOPE_SPLAT_H

#include <stdbool.h>
#include <stddef.h>

/* The kind of splat a console line starts, or NULL when it starts none. */
const char *splat_kind(const char *line);

/*
 * Whether that splat is the kernel reporting a hang (hung task, RCU stall, soft lockup)
 * rather than a bug it caught: the test host will not finish its command.
 */
bool splat_is_hang(const char *line);

/*
 * A known report that is not a bug of the kernel under test but of how it was booted: what
 * it is and what to do, or NULL. @lines: the report as the console printed it, its header
 * line first.
 */
const char *splat_known(char *const *lines, unsigned int nlines);

/* Strip the "[   12.345678] " printk timestamp, if any: returns a pointer into line. */
const char *splat_strip_time(const char *line);

#endif
