/* `ttatrace python-bootstrap DIR`: writes the bootstrap (sitecustomize.py) that
 * ttatrace ships into DIR. The container image has no shell and no cp, so a pod's
 * initContainer running the image copies it this way into a volume the Python
 * container then puts on its PYTHONPATH (deploy/README.md). The file is written
 * under a temporary name and renamed, so a reader never sees half of it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "py_bootstrap_cmd.h"
#include "python.h"

#define BOOT_FILE "sitecustomize.py"

static void usage(FILE *f)
{
	fprintf(f, "Usage: ttatrace python-bootstrap DIR\n"
		   "Copies ttatrace's Python bootstrap (" BOOT_FILE ") into DIR (made if missing).\n"
		   "Start a Python 3.12+ process with PYTHONPATH=DIR and TTATRACE_PY_SPEC=CATALOGUE to\n"
		   "make it traceable at any time (ttatrace -p PID --config CATALOGUE).\n\n"
		   "Example (a Kubernetes initContainer running the ttatrace image):\n"
		   "  ttatrace python-bootstrap /ttatrace/python\n");
}

static int copy_fd(int in, int out)
{
	char buf[16384];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0)
				return -errno;
			off += w;
		}
	}
	return n < 0 ? -errno : 0;
}

int py_bootstrap_cmd_main(int argc, char **argv)
{
	char src_dir[PATH_MAX], src[PATH_MAX + 32], dst[PATH_MAX + 32], tmp[PATH_MAX + 48];
	int in = -1, out = -1, err = 0;
	const char *dir;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || !argv[1][0] || argv[1][0] == '-') {
		fprintf(stderr, "ttatrace: python-bootstrap: give one directory (ttatrace python-bootstrap DIR)\n");
		return 2;
	}
	dir = argv[1];
	if (py_boot_dir(src_dir, sizeof(src_dir))) {
		fprintf(stderr, "ttatrace: python-bootstrap: the bootstrap (" BOOT_FILE ") is not installed "
				"next to ttatrace (make install, or set TTATRACE_PY_BOOT=DIR)\n");
		return 1;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "ttatrace: python-bootstrap: cannot make %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(src, sizeof(src), "%s/" BOOT_FILE, src_dir);
	snprintf(dst, sizeof(dst), "%s/" BOOT_FILE, dir);
	snprintf(tmp, sizeof(tmp), "%s/." BOOT_FILE ".%d", dir, (int)getpid());
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		fprintf(stderr, "ttatrace: python-bootstrap: cannot read %s: %s\n", src, strerror(errno));
		return 1;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out < 0) {
		fprintf(stderr, "ttatrace: python-bootstrap: cannot write in %s: %s\n", dir, strerror(errno));
		close(in);
		return 1;
	}
	err = copy_fd(in, out);
	if (!err && fchmod(out, 0644))
		err = -errno;
	if (close(out) && !err)
		err = -errno;
	close(in);
	if (!err && rename(tmp, dst))
		err = -errno;
	if (err) {
		unlink(tmp);
		fprintf(stderr, "ttatrace: python-bootstrap: writing %s: %s\n", dst, strerror(-err));
		return 1;
	}
	printf("ttatrace: python-bootstrap: wrote %s (start Python with PYTHONPATH=%s)\n", dst, dir);
	return 0;
}
