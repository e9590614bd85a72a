/* Safe opening of output files; see out_open.h. */
#include "out_open.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The rule of fs/namei.c may_follow_link() (protected_symlinks=1): a symlink in a
 * sticky world-writable directory is followed only by its owner, or when it is
 * owned by the directory's owner. */
int out_open__symlink_refused(const char *path)
{
	struct stat lst, dst;
	char *copy, *dir;
	int r;

	if (lstat(path, &lst))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISLNK(lst.st_mode))
		return 0;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	r = stat(dir, &dst) ? -errno : 0;
	free(copy);
	if (r)
		return r;
	if (!(dst.st_mode & S_ISVTX) || (dst.st_mode & S_IWOTH) == 0)
		return 0;
	if (lst.st_uid == geteuid() || lst.st_uid == dst.st_uid)
		return 0;
	return 1;
}

static bool is_symlink(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISLNK(st.st_mode);
}

int out_open_fd(const char *path, bool truncate)
{
	struct stat st;
	int fd, r, err;
	/* O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of hanging */
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

	if (!path || !*path) {
		errno = EINVAL;
		return -1;
	}
	/* /dev/stdout, /dev/fd/N, /proc/self/fd/N name a descriptor the caller set up
	 * (`ttatrace -o /dev/stdout >> log`): append, never truncate what it holds */
	if (!strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6)) {
		flags |= O_APPEND;
		truncate = false;
	}
	fd = open(path, flags | O_NOFOLLOW, 0644);
	/* a final symlink (ELOOP; EACCES when the kernel's own sticky-directory
	 * checks answer first): follow it only where the kernel's rule allows */
	if (fd < 0 && (errno == ELOOP || errno == EACCES) && is_symlink(path)) {
		r = out_open__symlink_refused(path);
		if (r) {
			errno = r > 0 ? EPERM : -r;
			return -1;
		}
		fd = open(path, flags, 0644);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, &st))
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (truncate && S_ISREG(st.st_mode) && ftruncate(fd, 0))
		goto fail;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK))
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

FILE *out_open(const char *path)
{
	FILE *f;
	int fd, err;

	if (path && !strcmp(path, "-"))
		return stdout;
	fd = out_open_fd(path, true);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		errno = err;
	}
	return f;
}

bool out_open__is_regular_or_absent(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT;
	return S_ISREG(st.st_mode);
}

const char *out_open__strerror(const char *path, int err)
{
	if (err == EPERM && out_open__symlink_refused(path) > 0)
		return "a symlink owned by another user in a sticky world-writable directory "
		       "(not followed, as the kernel's protected_symlinks does; give the target's "
		       "path)";
	if (err == ENXIO)
		return "a FIFO without a reader";
	return strerror(err);
}
