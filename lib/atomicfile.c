// SPDX-License-Identifier: GPL-2.0
/*
 * Atomic file writes: temporary, fsync, rename, fsync of the directory (atomicfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"

char *atomic_tmp_path(const char *path)
{
	const char *base = strrchr(path, '/');
	int dirlen = base ? (int)(base - path + 1) : 0;
	char *tmp;

	base = base ? base + 1 : path;
	if (asprintf(&tmp, "%.*s.%s.tmp.%ld", dirlen, path, base, (long)getpid()) < 0)
		return NULL;
	return tmp;
}

/* fsync of the directory holding path, so that a rename into it lasts. A file system that
 * cannot sync a directory (EINVAL) has nothing more to make durable. */
static int sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc, err;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	err = errno;
	close(fd);
	if (rc && err != EINVAL && err != ENOTSUP) {
		errno = err;
		return -1;
	}
	return 0;
}

/* fsync of a complete file by its name. */
static int sync_file(const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), rc, err;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

static void atomic_free(struct atomic_file *af)
{
	free(af->path);
	free(af->tmp);
	af->f = NULL;
	af->path = af->tmp = NULL;
}

int atomic_open(struct atomic_file *af, const char *path)
{
	struct stat st;
	int err;

	af->f = NULL;
	af->tmp = NULL;
	/*
	 * A path that is not a file (/dev/stdout, a FIFO, a device) is written as it is: a
	 * rename would put a file in its place (/dev/full became one, 2026-12-07).
	 */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return -1;
		}
		af->path = strdup(path);
		if (af->path && (af->f = fopen(path, "w")))
			return 0;
		err = af->path ? errno : ENOMEM;
		atomic_free(af);
		errno = err;
		return -1;
	}
	af->path = strdup(path);
	af->tmp = atomic_tmp_path(path);
	if (af->path && af->tmp && (af->f = fopen(af->tmp, "w")))
		return 0;
	err = af->path && af->tmp ? errno : ENOMEM;
	atomic_free(af);
	errno = err;
	return -1;
}

int atomic_commit(struct atomic_file *af)
{
	int rc, err;

	rc = fflush(af->f) || (af->tmp && fsync(fileno(af->f)));
	err = errno;
	if (fclose(af->f) && !rc) {
		rc = -1;
		err = errno;
	}
	if (!af->tmp) {		/* not a file: written in place */
		atomic_free(af);
		errno = err;
		return rc ? -1 : 0;
	}
	if (!rc && rename(af->tmp, af->path)) {
		rc = -1;
		err = errno;
	}
	if (rc) {
		unlink(af->tmp);
	} else if (sync_dir_of(af->path)) {
		rc = -1;
		err = errno;
	}
	atomic_free(af);
	errno = err;
	return rc ? -1 : 0;
}

void atomic_abort(struct atomic_file *af)
{
	int err = errno;

	fclose(af->f);
	if (af->tmp)
		unlink(af->tmp);
	atomic_free(af);
	errno = err;
}

int atomic_write(const char *path, const void *buf, size_t len)
{
	struct atomic_file af;

	if (atomic_open(&af, path))
		return -1;
	if (fwrite(buf, 1, len, af.f) != len) {
		atomic_abort(&af);
		return -1;
	}
	return atomic_commit(&af);
}

int atomic_publish(const char *tmp, const char *path)
{
	int err;

	if (!sync_file(tmp) && !rename(tmp, path))
		return sync_dir_of(path);
	err = errno;
	unlink(tmp);
	errno = err;
	return -1;
}
