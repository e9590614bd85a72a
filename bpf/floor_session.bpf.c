// SPDX-License-Identifier: GPL-2.0
/* Benchmark references, Linux 6.13+: an empty uprobe session, and exact timing of every call through a uprobe
 * session, one program run at entry and at return that shares an 8-byte cookie
 * between the two. It keeps no per-thread state, so it cannot build spans (a child
 * could not find its parent, nor a root its trace); it only shows what pairing an
 * entry with its return costs without task storage. Loaded apart from floor.bpf.c
 * so kernels without the session kfuncs still run the other references. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ttatrace.h"

char LICENSE[] SEC("license") = "GPL";

extern bool bpf_session_is_return(void) __ksym;
extern __u64 *bpf_session_cookie(void) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TT_HIST_NBUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} session_hist SEC(".maps");

/* The empty session: the floor of the session mechanism itself. */
SEC("uprobe")
int session_empty(void *ctx)
{
	return 0;
}

/* libbpf 1.1 knows no session section: bench-floor sets the program type and the
 * expected attach type (BPF_TRACE_UPROBE_SESSION) before load */
SEC("uprobe")
int session_timing(void *ctx)
{
	__u64 *start = bpf_session_cookie();
	__u64 *b;
	__u32 k;

	if (!bpf_session_is_return()) {
		*start = bpf_ktime_get_ns();
		return 0;
	}
	k = tt_hist_bucket(bpf_ktime_get_ns() - *start);
	b = bpf_map_lookup_elem(&session_hist, &k);
	if (b)
		(*b)++;
	return 0;
}
