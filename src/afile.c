/*
 * afile.c: atomic file replacement (see afile.h). The temp file comes from
 * mkostemp: exclusive creation (no symlink is followed), mode 0600 whatever
 * the umask, a random name that cannot collide with a concurrent writer.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"
#include "hypha.h"

int
hy_afile_open(struct hy_afile *f, const char *path)
{
	size_t len = strlen(path);

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->step = "allocate";
	if ((f->path = strdup(path)) == NULL ||
	    (f->tmp = malloc(len + sizeof(".tmp.XXXXXX"))) == NULL)
		return HY_ENOMEM;
	memcpy(f->tmp, path, len);
	memcpy(f->tmp + len, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	f->step = "create temp file";
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		int e = errno;

		free(f->tmp); /* nothing to unlink */
		f->tmp = NULL;
		errno = e;
		return HY_EIO;
	}
	return HY_OK;
}

int
hy_afile_write(struct hy_afile *f, const void *buf, size_t len)
{
	const char *p = buf;

	f->step = "write";
	while (len > 0) {
		ssize_t n = write(f->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return HY_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return HY_OK;
}

int
hy_afile_commit(struct hy_afile *f)
{
	char *slash;
	int dfd, rc;

	f->step = "fsync";
	if (fsync(f->fd) != 0)
		return HY_EIO;
	f->step = "close";
	rc = close(f->fd);
	f->fd = -1;
	if (rc != 0)
		return HY_EIO;
	f->step = "rename";
	if (rename(f->tmp, f->path) != 0)
		return HY_EIO;
	free(f->tmp);
	f->tmp = NULL;
	f->step = "fsync directory";
	slash = strrchr(f->path, '/');
	if (slash == f->path)
		dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else if (slash != NULL) {
		*slash = '\0';
		dfd = open(f->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*slash = '/';
	} else
		dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return HY_EIO;
	/* Some file systems cannot fsync a directory (EINVAL): not an error. */
	rc = fsync(dfd) != 0 && errno != EINVAL ? HY_EIO : HY_OK;
	close(dfd);
	return rc;
}

void
hy_afile_close(struct hy_afile *f)
{
	int saved = errno;

	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp != NULL)
		unlink(f->tmp);
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	errno = saved;
}
