/* The contract between bpf/ and user/: record layouts, counters and limits.
 * Fixed-width types only; both sides include this file, nothing else is shared. */
#ifndef TTATRACE_H
#define TTATRACE_H

#ifdef __bpf__
/* vmlinux.h already provides __u8 .. __s64 */
#else
#include <linux/types.h>
#endif

/* Deepest per-thread span stack the kernel keeps. --max-depth may lower it. */
#define TT_MAX_DEPTH 64
#define TT_DEFAULT_MAX_DEPTH 32

/* Probe ids travel as the BPF cookie of each attachment. */
#define TT_MAX_PROBES (1u << 20)

/* Default ring buffer size (bytes, power of two) and the fill level at which the
 * kernel wakes the consumer; below it the consumer drains on its own timer. */
#define TT_DEFAULT_RINGBUF_BYTES (16u << 20)
#define TT_DEFAULT_WAKE_DIVISOR 4

enum tt_rec_type {
	TT_REC_SPAN = 1,
};

enum tt_span_flags {
	/* the span is the first one of its trace on this thread (no enclosing span) */
	TT_SPAN_ROOT = 1 << 0,
	/* frames above this one were unwound without their exits (longjmp, exceptions) */
	TT_SPAN_UNWOUND_CHILDREN = 1 << 1,
};

/* One finished span: written once, at the exit of the function. */
struct tt_span_rec {
	__u32 type; /* enum tt_rec_type */
	__u32 probe_id; /* index in the userspace probe table */
	__u64 span_id; /* random, never zero */
	__u64 parent_span_id; /* enclosing span on the same thread, 0 for a root */
	__u64 trace_key; /* span_id of the trace's root span */
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 end_ns;
	__s64 ret; /* return register */
	__u32 pid; /* tgid */
	__u32 tid;
	__u16 depth; /* 0 for a root */
	__u16 flags; /* enum tt_span_flags */
	__u32 _pad;
};

/* Counters the kernel keeps; nothing is dropped without one of them moving. */
struct tt_kstats {
	__u64 entries; /* entry probes that ran for a target */
	__u64 exits; /* exit probes that ran for a target */
	__u64 rb_reserve_fail; /* span finished but the ring buffer was full */
	__u64 stack_overflow; /* entries deeper than --max-depth (not traced) */
	__u64 exit_no_entry; /* exits whose entry was never seen (attached mid-call) */
	__u64 unwound; /* frames left without an exit (longjmp, C++ exceptions) */
	__u64 storage_fail; /* no per-thread stack could be allocated */
	__u64 wakeups; /* forced consumer wakeups (fill threshold crossed) */
};

#endif /* TTATRACE_H */
