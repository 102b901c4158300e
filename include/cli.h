/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every mmuscope program does at its edges: the exit codes (README.md, "Exit codes")
 * and the one-line usage error. Header-only: the programs are single files, some static.
 */
#ifndef MMUSCOPE_CLI_H
#define MMUSCOPE_CLI_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	EXIT_OK = 0,		/* done, and nothing it checks failed */
	EXIT_FAILED = 1,	/* a gated regression, or a check or test failed */
	EXIT_USAGE = 2,		/* usage or bad input: fix the command line or the input */
	EXIT_INFRA = 3,		/* infrastructure: the work could not be done (a tool, QEMU, a
				 * test host, a write failed); retry once it is fixed */
	EXIT_SKIP = 4,		/* nothing to do here: no KVM, no BTF (kselftest's KSFT_SKIP) */
};

/* "PROG: error: WHAT (PROG --help)" on stderr, one line; returns EXIT_USAGE. */
static inline int cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s --help)\n", prog);
	return EXIT_USAGE;
}

/*
 * The usage error of getopt()/getopt_long() returning c, ':' or '?' (an optstring that
 * starts with ':', and opterr = 0: getopt itself prints nothing): the option that misses its
 * argument, or the one it does not know.
 */
static inline int cli_bad_option(const char *prog, int c, char **argv)
{
	const char *word = argv[optind - 1];

	if (c == ':')
		return cli_usage_error(prog, "option '%s' needs an argument", word);
	if (!strncmp(word, "--", 2) || !optopt)
		return cli_usage_error(prog, "unknown option '%s'", word);
	return cli_usage_error(prog, "unknown option '-%c'", optopt);
}

/*
 * A positive count or size on the command line, with an optional K or M suffix (x 1024,
 * x 1024^2); anything else is PROG's usage error, and the program exits with it.
 */
static inline unsigned long cli_size_arg(const char *prog, const char *s, const char *name)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end || !v)
		exit(cli_usage_error(prog, "bad %s '%s': want a positive number (K/M suffix ok)",
				     name, s));
	return v;
}

#endif
