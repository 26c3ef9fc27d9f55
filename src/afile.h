/*
 * afile.h: replace a file atomically (L0).
 *
 * Open writes to a fresh temp file beside the target (created exclusively,
 * mode 0600, close-on-exec); commit fsyncs it, renames it over the target
 * and fsyncs the directory, so a crash leaves the old file or the new one,
 * never a mix. close removes the temp file if the commit did not happen.
 * The node key and the state files both go through here.
 */
#ifndef HY_AFILE_H
#define HY_AFILE_H

#include <stddef.h>

struct hy_afile {
	int fd; /* the temp file, or -1 */
	char *path; /* target (copy) */
	char *tmp; /* temp file name while it exists */
	const char *step; /* the step last attempted, for error messages */
};

/*
 * Create the temp file for path. Returns 0, HY_ENOMEM or HY_EIO (errno set;
 * ENOENT: no such directory). Call hy_afile_close in every case.
 */
int hy_afile_open(struct hy_afile *f, const char *path);

/* Write all of buf. Returns 0 or HY_EIO (errno set). */
int hy_afile_write(struct hy_afile *f, const void *buf, size_t len);

/* fsync, close, rename over the target, fsync the directory. 0 or HY_EIO. */
int hy_afile_commit(struct hy_afile *f);

/* Release; unlinks the temp file unless committed. Keeps errno. */
void hy_afile_close(struct hy_afile *f);

#endif /* HY_AFILE_H */
