// SPDX-License-Identifier: GPL-2.0
/* Benchmark references.
 * floor_*: the overhead floor, an empty uprobe + uretprobe pair. Whatever ttatrace
 * costs above what these cost is ttatrace's own doing.
 * least_*: the least work any tracer needs to time every call exactly, paired per
 * thread: the probe's id (attach cookie), the thread's slot (task storage) and the
 * clock at entry; the clock, the slot and a histogram bucket at exit. What ttatrace
 * costs above these is the price of its spans, sampling and tail rules. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ttatrace.h"

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe")
int floor_entry(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_exit(void *ctx)
{
	return 0;
}

struct least_slot {
	__u64 start_ns;
	__u32 probe_id;
	__u32 depth;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct least_slot);
} least_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TT_HIST_NBUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} least_hist SEC(".maps");

SEC("uprobe")
int least_entry(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct least_slot *s;

	s = bpf_task_storage_get(&least_slots, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s)
		return 0;
	s->probe_id = (__u32)cookie;
	s->depth++;
	s->start_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("uretprobe")
int least_exit(void *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	struct least_slot *s;
	__u64 *b;
	__u32 k;

	s = bpf_task_storage_get(&least_slots, bpf_get_current_task_btf(), NULL, 0);
	if (!s || !s->depth)
		return 0;
	s->depth--;
	k = tt_hist_bucket(now - s->start_ns);
	b = bpf_map_lookup_elem(&least_hist, &k);
	if (b)
		(*b)++;
	return 0;
}
