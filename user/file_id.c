/* A file's identity as its mappings have it: the file is mapped one page in this
 * process and the tt_file_ids iterator, limited to this process, reports the
 * inode behind that mapping. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "file_id.h"
#include "ttatrace.h"

/* The inode behind the mapping at addr, from the iterator run over this thread's
 * mappings. 0, or -ENOENT when no mapping starts there, another negative errno. */
static int mapped_id(const struct bpf_program *prog, uint64_t addr, uint64_t *dev, uint64_t *ino)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info linfo = {};
	struct tt_file_id_rec r[256];
	struct bpf_link *link;
	int fd, err = -ENOENT;
	ssize_t n;

	/* the process, not the thread: with a tid filter 6.18 restarts the walk at
	 * every read past the first buffer, never reaching the end */
	linfo.task.pid = getpid();
	opts.link_info = &linfo;
	opts.link_info_len = sizeof(linfo);
	link = bpf_program__attach_iter(prog, &opts);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	while ((n = read(fd, r, sizeof(r))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(r[0]); i++) {
			if (r[i].start == addr) {
				*dev = r[i].dev;
				*ino = r[i].ino;
				err = 0;
			}
		}
	}
	if (n < 0)
		err = -errno;
	close(fd);
cleanup:
	bpf_link__destroy(link);
	return err;
}

int file_id__of(const struct bpf_program *prog, const char *path, uint64_t *dev, uint64_t *ino)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *p;
	int err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	*dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev);
	*ino = st.st_ino;
	if (prog && st.st_size > 0) {
		p = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			uint64_t d = 0, i = 0;

			if (!mapped_id(prog, (uint64_t)(uintptr_t)p, &d, &i)) {
				*dev = d;
				*ino = i;
			}
			munmap(p, 1);
		}
	}
	close(fd);
	return 0;
}
