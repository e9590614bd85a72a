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
#define TT_MAX_DEPTH 32
#define TT_DEFAULT_MAX_DEPTH 32

/* Probe ids travel as the BPF cookie of each attachment. */
#define TT_MAX_PROBES (1u << 20)

/* Default ring buffer size (bytes, power of two) and the fill level at which the
 * kernel wakes the consumer; below it the consumer drains on its own timer. */
#define TT_DEFAULT_RINGBUF_BYTES (16u << 20)
#define TT_DEFAULT_WAKE_DIVISOR 4

enum tt_rec_type {
	TT_REC_SPAN = 1, /* struct tt_span_rec */
	TT_REC_SPAN_CAPS = 2, /* struct tt_span_rec followed by struct tt_caps */
	TT_REC_PY_PROBE = 3, /* struct tt_py_probe_rec: the kernel gave a Python primitive an id */
};

/* The BPF cookie of every probe: the probe id in the low 32 bits, and flags that
 * let the kernel skip the capture-config lookup for probes that have none. */
#define TT_COOKIE_CAPS (1ULL << 32) /* captures at entry (arguments) */
#define TT_COOKIE_RET_CAPS (1ULL << 33) /* captures at exit (return value) */
#define TT_COOKIE_CTX_KEY (1ULL << 34) /* a context key links work across threads */
/* the catalogue gives an error rule: the kernel's tail decision applies it */
#define TT_COOKIE_ERR_RULE (1ULL << 35)
/* a capture named traceparent: a root honours the remote sampled flag */
#define TT_COOKIE_TRACEPARENT (1ULL << 36)
/* The error rule of a probe without a catalogue rule, from its return type
 * (user/rettype.c): a 3-bit field, TT_RET_NEG_* (0: no return value is an error) */
#define TT_COOKIE_RET_SHIFT 37
#define TT_COOKIE_RET_MASK (7ULL << TT_COOKIE_RET_SHIFT)
enum tt_ret_rule {
	TT_RET_NONE = 0, /* void, pointers, unsigned, floats, structs, or no type information */
	TT_RET_NEG_S8 = 1, /* a signed integer of 1, 2, 4 or 8 bytes: negative is an error */
	TT_RET_NEG_S16 = 2,
	TT_RET_NEG_S32 = 3,
	TT_RET_NEG_S64 = 4,
};
#define TT_COOKIE_RET(rule) ((__u64)(rule) << TT_COOKIE_RET_SHIFT)

/* Whether a return value is an error under a return-type rule: the sign of the
 * value at the type's width (an int is negative by its low 32 bits, whatever the
 * upper half of the register holds). One definition for both sides. */
static inline int tt_ret_rule_error(__u32 rule, __u64 ret)
{
	switch (rule) {
	case TT_RET_NEG_S8:
		return (__s8)ret < 0;
	case TT_RET_NEG_S16:
		return (__s16)ret < 0;
	case TT_RET_NEG_S32:
		return (__s32)ret < 0;
	case TT_RET_NEG_S64:
		return (__s64)ret < 0;
	default:
		return 0;
	}
}

/* Captures: at most TT_MAX_CAPS values per span, TT_MAX_STR_CAPS of them strings
 * of up to TT_STR_CAP_BYTES bytes (NUL included), read in the kernel. */
#define TT_MAX_CAPS 4
#define TT_MAX_STR_CAPS 2
#define TT_STR_CAP_BYTES 64
#define TT_MAX_DEREFS 2
#define TT_MAX_CAP_PROBES 8192

enum tt_cap_final {
	TT_CAP_VALUE = 0, /* the value itself */
	TT_CAP_READ = 1, /* `size` bytes at value + final_off */
	TT_CAP_STR = 2, /* a string at value + final_off */
	TT_CAP_STR_PTR = 3, /* a string at *(u64 *)(value + final_off) */
};

struct tt_cap_spec {
	__u8 src; /* 0: argument, 1: return value */
	__u8 arg; /* argument index, 0-5 */
	__u8 n_derefs;
	__u8 final; /* enum tt_cap_final */
	__u8 size; /* 1, 2, 4 or 8 for TT_CAP_READ */
	__u8 str_slot; /* strings: which of the TT_MAX_STR_CAPS buffers */
	__u8 _pad[2];
	__s64 deref_off[TT_MAX_DEREFS];
	__s64 final_off;
};

/* Error rule operators, in the order of the catalogue's enum err_op. */
enum tt_err_op { TT_ERR_NONE = 0, TT_ERR_LT, TT_ERR_LE, TT_ERR_GT, TT_ERR_GE, TT_ERR_EQ, TT_ERR_NE };

/* Whether x op v holds for an error rule: one definition for the kernel's tail
 * rules and userspace's span status, so the two cannot disagree. */
static inline int tt_err_holds(__u32 op, __s64 x, __s64 v)
{
	switch (op) {
	case TT_ERR_LT:
		return x < v;
	case TT_ERR_LE:
		return x <= v;
	case TT_ERR_GT:
		return x > v;
	case TT_ERR_GE:
		return x >= v;
	case TT_ERR_EQ:
		return x == v;
	case TT_ERR_NE:
		return x != v;
	default:
		return 0;
	}
}

/* Per-probe capture configuration (map probe_cfg, keyed by probe id). */
struct tt_probe_cfg {
	__u8 n_caps;
	__s8 ctx_key; /* index of the capture that is the context key, -1: none */
	/* error rule "<operand> <op> <value>", evaluated by the kernel at the exit of
	 * an unpicked root for --keep-errors (userspace evaluates the same rule for
	 * the span's status) */
	__u8 err_op; /* enum tt_err_op */
	__s8 err_cap; /* operand: -1 the return value, else a capture index */
	__u8 err_sext; /* sign-extend the operand capture from 64 - err_sext bits */
	__s8 tp_cap; /* index of a string capture named traceparent, -1: none */
	/* the return value as an operand: its signed width in bits (a cast like
	 * "(int)ret", else the return type's); 0: as userspace shows a value of
	 * unknown type (sign-extended when its upper half is zero) */
	__u8 err_ret_bits;
	__u8 _pad[1];
	__s64 err_value;
	struct tt_cap_spec caps[TT_MAX_CAPS];
};

/* Captured values of one span. A bit set in err_mask: that capture's read failed
 * (bad pointer, unmapped memory): an attribute error, never a crash. */
struct tt_caps {
	__u64 vals[TT_MAX_CAPS]; /* numbers, zero-extended from their size */
	char strs[TT_MAX_STR_CAPS][TT_STR_CAP_BYTES];
	__u8 err_mask;
	__u8 n_caps;
	__u8 _pad[6];
};

enum tt_span_flags {
	/* the span is the first one of its trace on this thread (no enclosing span) */
	TT_SPAN_ROOT = 1 << 0,
	/* frames above this one were unwound without their exits (longjmp, exceptions) */
	TT_SPAN_UNWOUND_CHILDREN = 1 << 1,
	/* the thread's first span continues a trace from elsewhere: the thread was
	 * created inside a span, or a context key matched an open span */
	TT_SPAN_INHERITED = 1 << 2,
	TT_SPAN_CTX_JOINED = 1 << 3,
	/* head sampling did not pick the span's trace: streamed only because a tail
	 * rule (--keep-errors, --keep-slow) may still keep the whole trace */
	TT_SPAN_UNSAMPLED = 1 << 4,
	/* on the root of an unpicked trace the kernel held and then flushed: the
	 * kernel's tail rule kept it (the root was an error / was slow) */
	TT_SPAN_KEPT_ERROR = 1 << 5,
	TT_SPAN_KEPT_SLOW = 1 << 6,
	/* a Python primitive that ended with an exception: its class name is in
	 * caps.strs[0] (a TT_REC_SPAN_CAPS record with n_caps 0) */
	TT_SPAN_PY_EXC = 1 << 7,
};

/* Where the spans of unpicked traces go while the tail rules cannot yet decide
 * (the .bss variable sample_tail). */
enum tt_tail_mode {
	TT_TAIL_OFF = 0, /* no tail rules: unpicked spans never leave the kernel */
	TT_TAIL_STREAM = 1, /* sent to userspace, which decides at the root */
	TT_TAIL_KERNEL = 2, /* held in a per-trace kernel buffer, decided at the root's exit */
};

/* A per-trace kernel buffer (map tailbuf, keyed by trace_key) holding the finished
 * spans of an unpicked trace until its root exits: flushed to the ring buffer when
 * a tail rule keeps the trace, freed otherwise. Records are packed as in the ring
 * (struct tt_span_rec, or struct tt_span_rec + struct tt_caps). A trace that does
 * not fit is streamed instead (overflow set), so kept traces are never partial. */
#define TT_TAIL_BUF_BYTES 16384
#define TT_TAIL_HDR_BYTES 32
#define TT_TAIL_DATA_BYTES (TT_TAIL_BUF_BYTES - TT_TAIL_HDR_BYTES)
struct tt_tailbuf {
	__u64 last_ns; /* CLOCK_MONOTONIC of the newest span held (the sweeper's clock) */
	/* 64-bit: the kernel updates them with atomics, which need it here */
	__u64 used; /* bytes claimed in data (may pass the end: then overflow is set) */
	__u64 spans; /* spans held */
	__u64 overflow; /* a span did not fit: the trace's later spans were streamed */
	__u8 data[TT_TAIL_DATA_BYTES];
};
#define TT_TAIL_MAX_TRACES 4096

/* Head sampling: a root keeps its trace when the high 32 bits of its span id (a
 * uniform random number) are < threshold, threshold = probability * 2^32
 * (TT_SAMPLE_ALL keeps everything). Threads and context-key joiners inherit the
 * decision. A trace's sampling word is the probability in parts per million, with
 * TT_SAMPLE_KEPT set when it was picked. */
#define TT_SAMPLE_ALL (1ULL << 32)
#define TT_SAMPLE_PPM 1000000u
#define TT_SAMPLE_KEPT (1u << 31)

/* One finished span: written once, at the exit of the function. */
struct tt_span_rec {
	__u32 type; /* enum tt_rec_type */
	__u32 probe_id; /* index in the userspace probe table */
	__u64 span_id; /* random, never zero */
	__u64 parent_span_id; /* enclosing span (same thread, or the span that created
				 the thread / shares the context key), 0 for a root */
	__u64 trace_key; /* span_id of the trace's root span */
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 end_ns;
	__s64 ret; /* return register */
	__u32 pid; /* tgid */
	__u32 tid;
	__u16 depth; /* 0 for a root */
	__u16 flags; /* enum tt_span_flags */
	__u32 sample_ppm; /* head-sampling probability of the trace, parts per million */
};

/* Probe governor: probes with ids below this have a hit counter and a mute bit.
 * The same ids have a per-root head-sampling threshold and a root counter
 * (--target-rate budgets per root primitive). */
#define TT_GOV_PROBES 65536

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
	__u64 threads_inherited; /* threads created inside a span (continue its trace) */
	__u64 ctx_joined; /* spans linked to an open span through a context key */
	__u64 cap_read_fail; /* capture reads that failed (attribute error) */
	__u64 spans_muted; /* spans of probes the governor muted (histograms still count) */
	__u64 sample_roots; /* head-sampling decisions (new traces) */
	__u64 sample_kept; /* of which picked */
	__u64 spans_unsampled; /* spans of unpicked traces, not sent (still in histograms) */
	__u64 spans_tail; /* spans of unpicked traces sent for the tail rules */
	__u64 tail_held; /* spans of unpicked traces held in a kernel tail buffer */
	__u64 tail_flushed; /* held spans sent because the trace was kept */
	__u64 tail_freed; /* held spans freed with their dropped trace */
	__u64 tail_kept_error; /* unpicked traces the kernel kept: the root was an error */
	__u64 tail_kept_slow; /* ... the root lasted at least --keep-slow */
	__u64 tail_dropped; /* unpicked traces the kernel dropped at the root's exit */
	__u64 tail_overflow; /* traces that outgrew their buffer: streamed, decided in userspace */
	__u64 tail_nobuf; /* spans streamed because no buffer could be allocated */
	__u64 tail_late; /* spans of a dropped trace that finished after its root (freed) */
	__u64 tail_flush_fail; /* held spans lost at flush: the ring buffer was full */
	__u64 tp_sampled; /* roots that joined a remote trace whose sampled flag was set */
	__u64 tp_unsampled; /* ... was not set */
	/* Python primitives (bpf/python.bpf.h) */
	__u64 py_hits; /* runs of the two instrumentation probes for a traced process */
	__u64 py_starts; /* PY_START of an armed code object: a span opened */
	__u64 py_ends; /* PY_RETURN / PY_UNWIND that ended an open span */
	__u64 py_foreign; /* hits for code objects ttatrace did not arm (another tool) */
	__u64 py_unwind_other; /* global PY_UNWIND of a frame without a span (the price of
				  seeing exceptions) */
	__u64 py_no_entry; /* PY_RETURN of an armed frame opened before attach */
	__u64 py_ids_full; /* spans not traced: no Python probe id left */
	__u64 py_task_links; /* asyncio tasks linked to the span that created them */
	/* Attach and detach edges (bpf/edges.bpf.h): exits without entry that are not
	 * losses, a call cut by the tracing interval. Exit probes go in before entry
	 * probes and come out after them, so a call that enters in between, or one that
	 * entered before its thread's first traced entry, returns with no frame. */
	__u64 exit_attach_edge; /* ... while links were made, or outside every frame seen */
	__u64 exit_detach_edge; /* ... while links were taken out */
	/* frames opened minus frames closed (per CPU it wraps; the sum is exact): the
	 * final detach waits for it to stop falling before it takes out exit links */
	__u64 frames_open;
};

/* Per-probe latency histograms, kept in the kernel for every paired call (they do
 * not depend on the ring buffer). Log-linear buckets: durations below
 * TT_HIST_SUB (16 ns) get one bucket per nanosecond; above, every power of two
 * [2^m, 2^(m+1)) is split into TT_HIST_SUB equal sub-buckets. A bucket is at most
 * 1/16 of its lower bound wide, so its upper bound overstates any value in it by
 * < 6.25% and its midpoint misses any value in it by <= 3.125%. Durations at or
 * above 2^TT_HIST_MAX_LOG2 ns (~18 min) land in the last bucket. */
#define TT_HIST_SUB_BITS 4
#define TT_HIST_SUB (1u << TT_HIST_SUB_BITS)
#define TT_HIST_MAX_LOG2 40
#define TT_HIST_NBUCKETS ((TT_HIST_MAX_LOG2 - TT_HIST_SUB_BITS + 1) * TT_HIST_SUB)
/* Probes with a histogram at least: userspace sizes the map before load to the
 * probes a dry run finds, within TT_HIST_BUDGET_BYTES over all CPUs; probe ids at
 * or past its size are not counted. */
#define TT_HIST_DEFAULT_PROBES 512
#define TT_HIST_BUDGET_BYTES (64ULL << 20)

/* One probe's counters on one CPU. Summing over CPUs gives the totals; inflight
 * may be negative on a CPU (entry and exit ran on different CPUs). */
struct tt_hist {
	__u64 calls; /* paired exits */
	__u64 errors; /* paired exits whose return value, as a 32-bit int, was < 0 */
	__u64 sum_ns;
	__u64 max_ns;
	__s64 inflight; /* frames pushed minus frames paired */
	__u64 _pad;
	__u64 buckets[TT_HIST_NBUCKETS];
};

/* Index of the highest set bit of v (v != 0). No branches, so the verifier walks
 * one path through it, not one per bit (on_exit inlines it): with t < 2^n,
 * (t + 2^n - 1) >> n is 1 exactly when t != 0. */
static inline __u32 tt_hist_log2(__u64 v)
{
	__u64 r, s;

	r = (((v >> 32) + 0xffffffffULL) >> 32) << 5;
	v >>= r;
	s = (((v >> 16) + 0xffffULL) >> 16) << 4;
	v >>= s;
	r |= s;
	s = (((v >> 8) + 0xffULL) >> 8) << 3;
	v >>= s;
	r |= s;
	s = (((v >> 4) + 0xfULL) >> 4) << 2;
	v >>= s;
	r |= s;
	s = (((v >> 2) + 0x3ULL) >> 2) << 1;
	v >>= s;
	r |= s;
	return (__u32)(r | (v >> 1));
}

/* The bucket of a duration; the kernel and userspace both use this function. */
static inline __u32 tt_hist_bucket(__u64 ns)
{
	__u32 m;

	if (ns < TT_HIST_SUB)
		return (__u32)ns;
	if (ns >= (1ULL << TT_HIST_MAX_LOG2))
		return TT_HIST_NBUCKETS - 1;
	m = tt_hist_log2(ns);
	return (m - TT_HIST_SUB_BITS + 1) * TT_HIST_SUB +
	       (__u32)((ns >> (m - TT_HIST_SUB_BITS)) & (TT_HIST_SUB - 1));
}

/* --- Process following (fork, exec, exit) ----------------------------------
 * traced_tgids holds every process being traced: -p targets, the launched
 * command, and (unless --no-follow-forks) the processes they fork, added in the
 * kernel at fork so a child is traced from its first instruction by the links
 * that have no pid filter (one per executable file). Lifecycle events go to
 * userspace through their own ring buffer, proc_events. */
#define TT_MAX_TRACED_PROCS 65536

enum tt_proc_ev_type {
	TT_PROC_FORK = 1, /* pid forked by ppid, now traced */
	TT_PROC_EXEC_SAME = 2, /* a followed child exec'd its program again: still traced */
	TT_PROC_EXEC_OTHER = 3, /* a followed child exec'd another program: no longer traced */
	TT_PROC_EXIT = 4, /* a traced process ended (its last thread) */
	TT_PROC_LOST = 5, /* pid forked by a traced ppid, not followed: traced_tgids full */
	/* agent mode: an untraced process exec'd */
	TT_PROC_EXEC_PROBED = 6, /* a probed program: traced from its first instruction */
	TT_PROC_EXEC_NEW = 7, /* another program: userspace matches it against targets: */
};

/* probed_exes key: a program file whose processes the agent traces */
struct tt_file_key {
	__u64 dev; /* kernel dev_t: major << 20 | minor */
	__u64 ino;
};

/* tt_file_ids (bpf/file_id.bpf.h): one record per file-backed mapping of a task */
struct tt_file_id_rec {
	__u64 start; /* the mapping's first address */
	__u64 dev; /* vm_file's inode: kernel dev_t (major << 20 | minor) */
	__u64 ino;
};

#define TT_TRACED_ROOT 1 /* a -p or launched target: traced whatever it execs */

/* traced_tgids value */
struct tt_traced {
	__u32 parent; /* the tgid it was forked from; itself for a root */
	__u32 flags; /* TT_TRACED_* */
	__u64 exe_dev; /* its program's file (kernel dev_t: major << 20 | minor) */
	__u64 exe_ino; /* children inherit both; exec of another file ends following */
};

struct tt_proc_event {
	__u32 type; /* enum tt_proc_ev_type */
	__u32 pid;
	__u32 ppid;
	__u32 pad;
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	__u64 exe_dev, exe_ino; /* TT_PROC_EXEC_PROBED: the program (tt_file_key) */
};

/* per-CPU counters of the follower (array index 0) */
struct tt_follow_stats {
	__u64 foreign_hits; /* probe hits by processes not traced (shared links): filtered */
	__u64 forks; /* children added to traced_tgids */
	__u64 lost; /* children not followed: traced_tgids full */
	__u64 ev_lost; /* lifecycle events the ring buffer had no room for */
};

/* Python primitives (CPython 3.12+ sys.monitoring; bpf/python.bpf.h, user/python.c).
 * Probe ids [0, TT_PY_MAX_PROBES) are Python's when a catalogue names Python
 * primitives: the kernel hands them out per primitive (a hash of the runtime class's
 * name, the code's qualified name, file and first line: the same id in every process
 * running that code) and
 * announces each with a TT_REC_PY_PROBE record before the first span using it. */
#define TT_PY_MAX_PROBES 256
/* sys.monitoring tool ids of the bootstrap: methods (the span is named by the
 * runtime class of self) and plain functions */
#define TT_PY_TOOL_METHOD 4
#define TT_PY_TOOL_FUNC 3

/* Per-process interpreter layout (map py_procs, keyed by tgid). */
struct tt_py_offs {
	__u32 frame_code; /* _PyInterpreterFrame.f_code / f_executable */
	__u32 frame_prev; /* .previous */
	__u32 frame_locals; /* .localsplus */
	__u32 code_mon; /* PyCodeObject._co_monitoring */
	__u32 tstate_frame; /* 3.13: PyThreadState.current_frame; 3.12: .cframe */
	__s32 cframe_frame; /* 3.12: _PyCFrame.current_frame; -1: tstate_frame is the frame */
	__u32 gen_iframe; /* PyGenObject.gi_iframe (coroutines too) */
	__u32 type_name; /* PyTypeObject.tp_name */
	__u32 tuple_item; /* PyTupleObject.ob_item */
	/* a primitive's identity, hashed by the kernel so that every process running the
	 * same code shares one probe id (forked workers, restarts, replicas) */
	__u32 code_qualname; /* PyCodeObject.co_qualname */
	__u32 code_filename; /* .co_filename */
	__u32 code_firstlineno; /* .co_firstlineno */
	__u32 str_state; /* PyASCIIObject.state (bit 6: ascii) */
	__u32 str_ascii_data; /* sizeof(PyASCIIObject): a compact ASCII string's bytes */
	__u32 str_compact_data; /* sizeof(PyCompactUnicodeObject): other compact strings' */
	__u32 _pad[2];
};

struct tt_py_probe_rec {
	__u32 type; /* TT_REC_PY_PROBE */
	__u32 probe_id;
	__u32 pid;
	__u32 _pad;
	__u64 code; /* the code object's address */
	__u64 cls; /* the runtime class of self (methods), 0 for functions */
};

#endif /* TTATRACE_H */
