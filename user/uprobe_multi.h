/* uprobe_multi links (Linux 6.6+): one BPF link puts a program on many offsets of
 * one file, and detaching it waits for one kernel grace period instead of one per
 * probe (~0.1 s each on this kind of machine: minutes for a broad glob).
 * libbpf 1.1 has no API for it, so the link is created with the bpf syscall. */
#ifndef TT_UPROBE_MULTI_H
#define TT_UPROBE_MULTI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* From the kernel UAPI (enum bpf_attach_type, Linux 6.6). */
#define TT_BPF_TRACE_UPROBE_MULTI 48
#define TT_BPF_F_UPROBE_MULTI_RETURN 1u
/* Linux 6.13: one program run at entry and at return, sharing a cookie */
#define TT_BPF_TRACE_UPROBE_SESSION 57

/* Returns a link fd, or a negative errno. ret: attach at function returns.
 * pid > 0 limits the probes to that process. */
int uprobe_multi__attach(int prog_fd, const char *path, const uint64_t *offsets,
			 const uint64_t *cookies, uint32_t cnt, pid_t pid, bool ret);

/* The same for a uprobe session program (loaded with expected attach type
 * TT_BPF_TRACE_UPROBE_SESSION). */
int uprobe_multi__attach_session(int prog_fd, const char *path, const uint64_t *offsets,
				 const uint64_t *cookies, uint32_t cnt, pid_t pid);

#endif
