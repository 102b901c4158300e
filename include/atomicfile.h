/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writing a file atomically (lib/atomicfile.c): a reader, or the machine after a crash,
 * sees the old PATH or the whole new one, never a part of it. The data goes to a hidden
 * temporary next to PATH (DIR/.NAME.tmp.PID: a glob of the directory does not see it),
 * which is flushed to disk (fsync), renamed over PATH, and then the directory is flushed
 * so that the rename lasts too.
 *
 * A PATH that exists and is not a regular file (/dev/stdout, a FIFO, a device) is written
 * in place, without the temporary; a directory is EISDIR.
 *
 * Every function returns 0, or -1 with errno set: PATH untouched and the temporary removed
 * (or, when only the directory's sync failed, PATH new but perhaps not yet on disk). The
 * caller says what could not be written, e.g. "cannot write %s: %s", path, strerror(errno).
 */
#ifndef MMUSCOPE_ATOMICFILE_H
#define MMUSCOPE_ATOMICFILE_H

#include <stddef.h>
#include <stdio.h>

struct atomic_file {
	FILE *f;		/* write the new contents here */
	char *path;		/* where they go at atomic_commit() */
	char *tmp;		/* where they are until then */
};

/* The temporary for path (malloc'd, NULL without memory): for a file another program
 * writes, then made path by atomic_publish(). */
char *atomic_tmp_path(const char *path);

/* Start writing path: af->f is open on its temporary. */
int atomic_open(struct atomic_file *af, const char *path);

/* The contents written to af->f become path: flushed, synced, renamed, the directory
 * synced. af is finished either way (closed, freed). */
int atomic_commit(struct atomic_file *af);

/* Give up: af closed and freed, its temporary removed, path untouched. */
void atomic_abort(struct atomic_file *af);

/* The len bytes at buf become path. */
int atomic_write(const char *path, const void *buf, size_t len);

/* The complete file tmp (written and closed by someone else) becomes path: synced,
 * renamed, the directory synced. On failure tmp is removed. */
int atomic_publish(const char *tmp, const char *path);

#endif
