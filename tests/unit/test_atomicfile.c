// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for lib/atomicfile.c: the new contents appear whole under the file's name,
 * nothing else is left in the directory (no temporary after a commit, an abort or a
 * failure), and a failure leaves the old file as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "atomicfile.h"

static char dir[] = "/tmp/mmuscope-atomicfile.XXXXXX";

static char *in_dir(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void read_back(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* The entries of dir other than . and .. */
static int entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[4200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void tmp_path(void **state)
{
	char want[64], *t;

	(void)state;
	snprintf(want, sizeof(want), "a/b/.c.json.tmp.%ld", (long)getpid());
	t = atomic_tmp_path("a/b/c.json");
	assert_string_equal(t, want);
	free(t);
	snprintf(want, sizeof(want), ".c.json.tmp.%ld", (long)getpid());
	t = atomic_tmp_path("c.json");
	assert_string_equal(t, want);
	free(t);
}

static void commit_replaces(void **state)
{
	struct atomic_file af;
	char buf[64];

	(void)state;
	assert_int_equal(atomic_write(in_dir("r.md"), "old\n", 4), 0);
	assert_int_equal(atomic_open(&af, in_dir("r.md")), 0);
	fprintf(af.f, "new %d\n", 2);
	read_back(in_dir("r.md"), buf, sizeof(buf));
	assert_string_equal(buf, "old\n");	/* not yet */
	assert_int_equal(atomic_commit(&af), 0);
	read_back(in_dir("r.md"), buf, sizeof(buf));
	assert_string_equal(buf, "new 2\n");
	assert_int_equal(entries(), 1);
	assert_int_equal(unlink(in_dir("r.md")), 0);
}

static void abort_keeps_old(void **state)
{
	struct atomic_file af;
	char buf[64];

	(void)state;
	assert_int_equal(atomic_write(in_dir("k.md"), "old\n", 4), 0);
	assert_int_equal(atomic_open(&af, in_dir("k.md")), 0);
	fputs("half", af.f);
	atomic_abort(&af);
	read_back(in_dir("k.md"), buf, sizeof(buf));
	assert_string_equal(buf, "old\n");
	assert_int_equal(entries(), 1);
	assert_int_equal(unlink(in_dir("k.md")), 0);
}

static void no_directory(void **state)
{
	struct atomic_file af;

	(void)state;
	errno = 0;
	assert_int_equal(atomic_open(&af, in_dir("none/x.md")), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(atomic_write(in_dir("none/x.md"), "x", 1), -1);
	assert_int_equal(errno, ENOENT);
}

/*
 * The rename fails (a non-empty directory took the name after the open): -1, the
 * temporary gone.
 */
static void rename_fails(void **state)
{
	struct atomic_file af;

	(void)state;
	assert_int_equal(atomic_open(&af, in_dir("d")), 0);
	assert_int_equal(mkdir(in_dir("d"), 0700), 0);
	assert_int_equal(atomic_write(in_dir("d/x"), "x", 1), 0);
	fputs("x", af.f);
	assert_int_equal(atomic_commit(&af), -1);
	assert_true(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
	assert_int_equal(entries(), 1);
	assert_int_equal(unlink(in_dir("d/x")), 0);
	assert_int_equal(rmdir(in_dir("d")), 0);
}

static void publish(void **state)
{
	char buf[64], *tmp = atomic_tmp_path(in_dir("p.png"));
	FILE *f = fopen(tmp, "w");

	(void)state;
	assert_non_null(f);
	fputs("image", f);
	fclose(f);
	assert_int_equal(atomic_publish(tmp, in_dir("p.png")), 0);
	read_back(in_dir("p.png"), buf, sizeof(buf));
	assert_string_equal(buf, "image");
	assert_int_equal(entries(), 1);
	assert_int_equal(atomic_publish(tmp, in_dir("p.png")), -1);	/* tmp is gone */
	assert_int_equal(errno, ENOENT);
	assert_int_equal(unlink(in_dir("p.png")), 0);
	free(tmp);
}

/*
 * A path that is not a file (here a FIFO; /dev/stdout or a device alike) is written in
 * place and stays what it was: a rename over it had turned /dev/full into a file.
 */
static void not_a_file(void **state)
{
	char buf[64];
	struct stat st;
	ssize_t n;
	int rd;

	(void)state;
	assert_int_equal(mkfifo(in_dir("fifo"), 0600), 0);
	rd = open(in_dir("fifo"), O_RDONLY | O_NONBLOCK);	/* a reader, so a writer opens */
	assert_true(rd >= 0);
	assert_int_equal(atomic_write(in_dir("fifo"), "through", 7), 0);
	n = read(rd, buf, sizeof(buf) - 1);
	assert_int_equal(n, 7);
	buf[n] = '\0';
	assert_string_equal(buf, "through");
	close(rd);
	assert_int_equal(stat(in_dir("fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(entries(), 1);		/* no temporary either */
	assert_int_equal(unlink(in_dir("fifo")), 0);
	/* a directory is not replaced either */
	assert_int_equal(mkdir(in_dir("d"), 0700), 0);
	assert_int_equal(atomic_write(in_dir("d"), "x", 1), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(rmdir(in_dir("d")), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tmp_path),
		cmocka_unit_test(commit_replaces),
		cmocka_unit_test(abort_keeps_old),
		cmocka_unit_test(no_directory),
		cmocka_unit_test(rename_fails),
		cmocka_unit_test(publish),
		cmocka_unit_test(not_a_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
