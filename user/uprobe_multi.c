/* Raw BPF_LINK_CREATE for BPF_TRACE_UPROBE_MULTI; the attribute layout follows
 * union bpf_attr's link_create member in include/uapi/linux/bpf.h. */
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uprobe_multi.h"

struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t um_flags;
	uint32_t pid;
	uint32_t _pad;
};

static int link_create(int prog_fd, uint32_t attach_type, const char *path,
		       const uint64_t *offsets, const uint64_t *cookies, uint32_t cnt, pid_t pid,
		       bool ret)
{
	struct link_create_uprobe_multi a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = prog_fd;
	a.attach_type = attach_type;
	a.path = (uint64_t)(unsigned long)path;
	a.offsets = (uint64_t)(unsigned long)offsets;
	a.cookies = (uint64_t)(unsigned long)cookies;
	a.cnt = cnt;
	a.um_flags = ret ? TT_BPF_F_UPROBE_MULTI_RETURN : 0;
	a.pid = pid > 0 ? (uint32_t)pid : 0;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : (int)fd;
}

int uprobe_multi__attach(int prog_fd, const char *path, const uint64_t *offsets,
			 const uint64_t *cookies, uint32_t cnt, pid_t pid, bool ret)
{
	return link_create(prog_fd, TT_BPF_TRACE_UPROBE_MULTI, path, offsets, cookies, cnt, pid,
			   ret);
}

int uprobe_multi__attach_session(int prog_fd, const char *path, const uint64_t *offsets,
				 const uint64_t *cookies, uint32_t cnt, pid_t pid)
{
	return link_create(prog_fd, TT_BPF_TRACE_UPROBE_SESSION, path, offsets, cookies, cnt, pid,
			   false);
}
