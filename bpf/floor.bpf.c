// SPDX-License-Identifier: GPL-2.0
/* The overhead floor for benchmarks: an empty uprobe + uretprobe pair. Whatever
 * ttatrace costs above what these cost is ttatrace's own doing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

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
