// SPDX-License-Identifier: GPL-2.0
/*
 * report_html: the bench report as one self-contained HTML file.
 *
 *   report_html REPORT.md REPORT.html
 *
 * Renders the Markdown that ci/bench writes as GitHub-flavoured Markdown with cmark-gfm
 * (Debian's libcmark-gfm and its table extension), so the HTML shows what report.md shows
 * on any Markdown viewer, empty table cells included, and inlines every SVG image it links
 * (![title](plots/x.svg), relative to REPORT.md), so the one file can be kept as a CI
 * artifact or mailed. The report's own text is always escaped: HTML written in it shows as
 * text, and only the inlined figures are markup. An image that cannot be read, or is no
 * SVG, is an error naming it. Written atomically (lib/atomicfile). Exit: 0; 2 usage or bad
 * input (REPORT.md or an image it names cannot be read: no REPORT.html); 3 REPORT.html
 * cannot be written.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>

#include "atomicfile.h"
#include "cli.h"

#define PROG "report_html"

static const char html_head[] =
	"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mmuscope report</title>\n"
	"<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
	"table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #bbb;"
	"padding:2px 6px;text-align:right}td:first-child,th:first-child{text-align:left}"
	"pre{background:#f4f4f4;padding:.5em;overflow:auto}figure{margin:1em 0}"
	"</style></head><body>\n";
static const char html_tail[] = "</body></html>\n";

/* The whole of path, NUL-terminated; NULL with errno. */
static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = fopen(path, "r"), *m;
	char chunk[65536];
	size_t n;
	int err;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &size);
	if (!m) {
		err = errno;
		fclose(f);
		errno = err;
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (fclose(m) || err) {
		free(buf);
		errno = err ? err : ENOMEM;
		return NULL;
	}
	*len = size;
	return buf;
}

/* The SVG image dir/rel as markup to inline: from its <svg element on (an XML prolog or a
 * doctype has no place inside HTML). NULL after naming on stderr what is wrong with it. */
static char *svg_markup(const char *dir, const char *rel)
{
	char path[4096], *text, *svg, *out;
	size_t len;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path)) {
		fprintf(stderr, PROG ": error: cannot read image %s/%s: path too long\n", dir, rel);
		return NULL;
	}
	text = slurp(path, &len);
	if (!text) {
		fprintf(stderr, PROG ": error: cannot read image %s: %s\n", path, strerror(errno));
		return NULL;
	}
	svg = strstr(text, "<svg");
	if (!svg || strlen(text) != len) {
		fprintf(stderr, PROG ": error: image %s is not an SVG: only SVG images are inlined\n",
			path);
		free(text);
		return NULL;
	}
	out = strdup(svg);
	free(text);
	return out;
}

/* A new node of type holding literal, or NULL. */
static cmark_node *literal_node(cmark_node_type type, const char *literal)
{
	cmark_node *n = cmark_node_new(type);

	if (n && !cmark_node_set_literal(n, literal)) {
		cmark_node_free(n);
		return NULL;
	}
	return n;
}

/* old's place in the tree taken by new (old freed); false without new. */
static bool replace(cmark_node *old, cmark_node *new)
{
	if (!new || !cmark_node_replace(old, new)) {
		if (new)
			cmark_node_free(new);
		return false;
	}
	cmark_node_free(old);
	return true;
}

/* HTML written in the report, shown as the text it is (what the report means by "<5%"). */
static bool escape_html(cmark_node *n)
{
	const char *text = cmark_node_get_literal(n);
	cmark_node *p;

	if (cmark_node_get_type(n) == CMARK_NODE_HTML_INLINE)
		return replace(n, literal_node(CMARK_NODE_TEXT, text));
	p = cmark_node_new(CMARK_NODE_PARAGRAPH);
	if (!p || !cmark_node_append_child(p, literal_node(CMARK_NODE_TEXT, text))) {
		if (p)
			cmark_node_free(p);
		return false;
	}
	return replace(n, p);
}

/* An image replaced by its SVG: a figure where it is its paragraph's only content, as a
 * plot is, else inline. -1 for an image that cannot be inlined (named), -2 out of memory. */
static int inline_image(cmark_node *img, const char *dir)
{
	cmark_node *para = cmark_node_parent(img);
	char *svg = svg_markup(dir, cmark_node_get_url(img)), *figure;
	bool ok;

	if (!svg)
		return -1;
	if (cmark_node_get_type(para) == CMARK_NODE_PARAGRAPH && !cmark_node_previous(img) &&
	    !cmark_node_next(img)) {
		if (asprintf(&figure, "<figure>%s</figure>\n", svg) < 0) {
			free(svg);
			return -2;
		}
		ok = replace(para, literal_node(CMARK_NODE_HTML_BLOCK, figure));
		free(figure);
	} else {
		ok = replace(img, literal_node(CMARK_NODE_HTML_INLINE, svg));
	}
	free(svg);
	return ok ? 0 : -2;
}

/*
 * The report's HTML escaped, then its images inlined. The nodes are gathered first (the
 * tree may change only once the walk is over); the images from the last, so that one in
 * another's title is replaced before that one goes. Returns the images that could not be
 * inlined, or -1 out of memory.
 */
static int transform(cmark_node *doc, const char *dir)
{
	cmark_node **html = NULL, **img = NULL, **grown;
	size_t nhtml = 0, nimg = 0, i;
	cmark_iter *it = cmark_iter_new(doc);
	cmark_event_type ev;
	int bad = 0, rc;

	if (!it)
		return -1;
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		cmark_node_type t = cmark_node_get_type(n);
		cmark_node ***list = t == CMARK_NODE_IMAGE ? &img : &html;
		size_t *len = t == CMARK_NODE_IMAGE ? &nimg : &nhtml;

		if (ev != CMARK_EVENT_ENTER || (t != CMARK_NODE_IMAGE && t != CMARK_NODE_HTML_BLOCK &&
						t != CMARK_NODE_HTML_INLINE))
			continue;
		grown = realloc(*list, (*len + 1) * sizeof(**list));
		if (!grown) {
			bad = -1;
			break;
		}
		*list = grown;
		(*list)[(*len)++] = n;
	}
	cmark_iter_free(it);
	for (i = 0; bad >= 0 && i < nhtml; i++)
		if (!escape_html(html[i]))
			bad = -1;
	for (i = nimg; bad >= 0 && i-- > 0;) {
		rc = inline_image(img[i], dir);
		if (rc == -2)
			bad = -1;
		else
			bad += rc < 0;
	}
	free(html);
	free(img);
	return bad;
}

/* REPORT.md as a document tree with the table extension; its extensions in *exts. */
static cmark_node *parse(const char *md, size_t len, cmark_parser **parser)
{
	cmark_syntax_extension *table;

	cmark_gfm_core_extensions_ensure_registered();
	table = cmark_find_syntax_extension("table");
	*parser = cmark_parser_new(CMARK_OPT_VALIDATE_UTF8);
	if (!table || !*parser || !cmark_parser_attach_syntax_extension(*parser, table))
		return NULL;
	cmark_parser_feed(*parser, md, len);
	return cmark_parser_finish(*parser);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: report_html [-h] REPORT.md REPORT.html\n"
"The bench report as one self-contained HTML file: REPORT.md rendered as GitHub-flavoured\n"
"Markdown (cmark-gfm: headings, tables, lists, paragraphs, code blocks), every SVG image it\n"
"links (![title](plots/x.svg), relative to REPORT.md) inlined, so that the one file can be\n"
"kept as a CI artifact or mailed.\n"
"  -h, --help   this text\n"
"Exit: 0 written (atomically); 2 usage or bad input (REPORT.md, or an image it links,\n"
"cannot be read or is no SVG: named on stderr, no REPORT.html); 3 REPORT.html cannot be\n"
"written.\n"
"Example (what ci/bench runs):\n"
"  report_html results/RUN/report.md results/RUN/report.html\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	cmark_parser *parser = NULL;
	char *text, *mdcopy, *body;
	const char *md, *html;
	struct atomic_file af;
	cmark_node *doc;
	int bad, c, rc;
	size_t len;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option(PROG, c, argv);
		usage(stdout);
		return EXIT_OK;
	}
	if (argc - optind != 2)
		return cli_usage_error(PROG, "want REPORT.md REPORT.html, got %d argument%s",
				       argc - optind, argc - optind == 1 ? "" : "s");
	md = argv[optind];
	html = argv[optind + 1];
	text = slurp(md, &len);
	if (!text) {
		fprintf(stderr, PROG ": error: cannot read %s: %s\n", md, strerror(errno));
		return EXIT_USAGE;
	}
	doc = parse(text, len, &parser);
	free(text);
	mdcopy = strdup(md);
	bad = doc && mdcopy ? transform(doc, dirname(mdcopy)) : -1;
	free(mdcopy);
	body = bad == 0 ? cmark_render_html(doc, CMARK_OPT_UNSAFE,
					    cmark_parser_get_syntax_extensions(parser)) : NULL;
	if (doc)
		cmark_node_free(doc);
	if (parser)
		cmark_parser_free(parser);
	if (bad > 0)
		return EXIT_USAGE;
	if (!body) {
		fprintf(stderr, PROG ": error: cannot render %s: out of memory, or cmark-gfm without "
			"its table extension\n", md);
		return EXIT_INFRA;
	}
	rc = EXIT_OK;
	if (atomic_open(&af, html)) {
		rc = EXIT_INFRA;
	} else {
		fputs(html_head, af.f);
		fputs(body, af.f);
		fputs(html_tail, af.f);
		if (atomic_commit(&af))
			rc = EXIT_INFRA;
	}
	if (rc)
		fprintf(stderr, PROG ": error: cannot write %s: %s\n", html, strerror(errno));
	free(body);
	return rc;
}
