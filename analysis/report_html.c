// SPDX-License-Identifier: GPL-2.0
/*
 * report_html: the bench report as one self-contained HTML file.
 *
 *   report_html REPORT.md REPORT.html
 *
 * Reads the Markdown that ci/bench writes (headings, pipe tables, paragraphs, ```
 * blocks and ![title](plots/x.svg) images; nothing else is needed) and writes HTML in which
 * every SVG is inlined, so the one file can be kept as a CI artifact or mailed. Images are
 * resolved relative to REPORT.md; one that cannot be read is an error naming it.
 * Written atomically (temp file + rename). Exit: 0; 2 usage or bad input (REPORT.md or an
 * image it names cannot be read: no REPORT.html); 3 REPORT.html cannot be written.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
#include "cli.h"

static void put_escaped(FILE *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i]; i++) {
		switch (s[i]) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		default: fputc(s[i], out);
		}
	}
}

/* Inline text: `code` spans, the rest escaped. */
static void put_inline(FILE *out, const char *s)
{
	const char *tick;

	while ((tick = strchr(s, '`')) && strchr(tick + 1, '`')) {
		const char *end = strchr(tick + 1, '`');

		put_escaped(out, s, (size_t)(tick - s));
		fputs("<code>", out);
		put_escaped(out, tick + 1, (size_t)(end - tick - 1));
		fputs("</code>", out);
		s = end + 1;
	}
	put_escaped(out, s, strlen(s));
}

static int inline_svg(FILE *out, const char *dir, const char *rel)
{
	char path[4096], buf[65536];
	size_t n;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path) ||
	    !(f = fopen(path, "r"))) {
		fprintf(stderr, "report_html: error: cannot read image %s/%s: %s\n", dir, rel,
			strerror(errno));
		return -1;
	}
	fputs("<figure>", out);
	/* Skip the XML prolog: it is not allowed inside HTML. */
	if (fgets(buf, sizeof(buf), f) && strncmp(buf, "<?xml", 5))
		fputs(buf, out);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, out);
	fclose(f);
	fputs("</figure>\n", out);
	return 0;
}

static void table_row(FILE *out, char *line, bool header)
{
	char *cell, *save;

	fputs("<tr>", out);
	for (cell = strtok_r(line, "|", &save); cell; cell = strtok_r(NULL, "|", &save)) {
		while (*cell == ' ')
			cell++;
		if (!*cell || *cell == '\n')
			continue;
		cell[strcspn(cell, "\n")] = '\0';
		while (*cell && cell[strlen(cell) - 1] == ' ')
			cell[strlen(cell) - 1] = '\0';
		fputs(header ? "<th>" : "<td>", out);
		put_inline(out, cell);
		fputs(header ? "</th>" : "</td>", out);
	}
	fputs("</tr>\n", out);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: report_html [-h] REPORT.md REPORT.html\n"
"The bench report as one self-contained HTML file: headings, tables, paragraphs and code\n"
"blocks of REPORT.md, and every SVG image it links (![title](plots/x.svg), relative to\n"
"REPORT.md) inlined, so that the one file can be kept as a CI artifact or mailed.\n"
"  -h, --help   this text\n"
"Exit: 0 written (atomically); 2 usage or bad input (REPORT.md, or an image it links,\n"
"cannot be read: named on stderr, no REPORT.html); 3 REPORT.html cannot be written.\n"
"Example (what ci/bench runs):\n"
"  report_html results/RUN/report.md results/RUN/report.html\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	char line[16384], *mdcopy, *dir, *md, *html;
	bool in_table = false, in_pre = false, in_p = false;
	struct atomic_file af;
	int errors = 0, c;
	FILE *in, *out;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option("report_html", c, argv);
		usage(stdout);
		return EXIT_OK;
	}
	if (argc - optind != 2)
		return cli_usage_error("report_html", "want REPORT.md REPORT.html, got %d argument%s",
				       argc - optind, argc - optind == 1 ? "" : "s");
	md = argv[optind];
	html = argv[optind + 1];
	in = fopen(md, "r");
	if (!in) {
		fprintf(stderr, "report_html: error: cannot read %s: %s\n", md, strerror(errno));
		return EXIT_USAGE;
	}
	if (atomic_open(&af, html)) {
		fprintf(stderr, "report_html: error: cannot write %s: %s\n", html, strerror(errno));
		return EXIT_INFRA;
	}
	out = af.f;
	mdcopy = strdup(md);
	dir = dirname(mdcopy);
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mmuscope report</title>\n"
	      "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
	      "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #bbb;"
	      "padding:2px 6px;text-align:right}td:first-child,th:first-child{text-align:left}"
	      "pre{background:#f4f4f4;padding:.5em;overflow:auto}figure{margin:1em 0}"
	      "</style></head><body>\n", out);
	while (fgets(line, sizeof(line), in)) {
		bool blank = line[strspn(line, " \t\n")] == '\0';

		if (!strncmp(line, "```", 3)) {
			fputs(in_pre ? "</pre>\n" : "<pre>", out);
			in_pre = !in_pre;
			continue;
		}
		if (in_pre) {
			put_escaped(out, line, strlen(line));
			continue;
		}
		if (line[0] == '|') {
			if (in_p)
				fputs("</p>\n", out), in_p = false;
			if (strstr(line, "|---"))
				continue;
			if (!in_table)
				fputs("<table>\n", out);
			table_row(out, line, !in_table);
			in_table = true;
			continue;
		}
		if (in_table)
			fputs("</table>\n", out), in_table = false;
		if (line[0] == '#') {
			int level = (int)strspn(line, "#");

			if (in_p)
				fputs("</p>\n", out), in_p = false;
			line[strcspn(line, "\n")] = '\0';
			fprintf(out, "<h%d>", level > 6 ? 6 : level);
			put_inline(out, line + level + (line[level] == ' '));
			fprintf(out, "</h%d>\n", level > 6 ? 6 : level);
		} else if (!strncmp(line, "![", 2) && strstr(line, "](")) {
			char *src = strstr(line, "](") + 2;

			src[strcspn(src, ")")] = '\0';
			if (in_p)
				fputs("</p>\n", out), in_p = false;
			errors += inline_svg(out, dir, src) != 0;
		} else if (blank) {
			if (in_p)
				fputs("</p>\n", out), in_p = false;
		} else {
			if (!in_p)
				fputs("<p>", out), in_p = true;
			line[strcspn(line, "\n")] = '\0';
			if (strlen(line) >= 2 && !strcmp(line + strlen(line) - 2, "  "))
				line[strlen(line) - 2] = '\0';
			put_inline(out, line);
			fputs("<br>\n", out);
		}
	}
	if (in_table)
		fputs("</table>\n", out);
	if (in_p)
		fputs("</p>\n", out);
	fputs("</body></html>\n", out);
	fclose(in);
	free(mdcopy);
	if (errors) {
		atomic_abort(&af);
		return EXIT_USAGE;
	}
	if (atomic_commit(&af)) {
		fprintf(stderr, "report_html: error: cannot write %s: %s\n", html, strerror(errno));
		return EXIT_INFRA;
	}
	return EXIT_OK;
}
