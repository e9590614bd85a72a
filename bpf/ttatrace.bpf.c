// SPDX-License-Identifier: GPL-2.0
/* Kernel half of ttatrace: pairs function entry (uprobe) and exit (uretprobe)
 * on a per-thread span stack and emits one record per finished span. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "ttatrace.h"

char LICENSE[] SEC("license") = "GPL";

/* Settings, written by userspace before load. */
const volatile __u32 max_depth = TT_DEFAULT_MAX_DEPTH;
/* Wake the consumer only when this many bytes wait in the ring; below it the
 * consumer drains on its own timer. A wakeup costs as much as the trap. */
const volatile __u64 wake_bytes = TT_DEFAULT_RINGBUF_BYTES / TT_DEFAULT_WAKE_DIVISOR;

struct tt_frame {
	__u64 span_id;
	__u64 start_ns;
	__u64 sp; /* stack pointer at entry: pairs the exit with its own call */
	__u32 probe_id;
	__u32 _pad;
};

struct tt_stack {
	__u32 depth; /* frames in use */
	__u32 overflow; /* entries past max_depth still open */
	__u64 trace_key; /* root span id of the open trace on this thread */
	struct tt_frame frames[TT_MAX_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tt_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TT_DEFAULT_RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tt_kstats);
} kstats SEC(".maps");

/* Per-probe counters and latency histogram, indexed by probe id; userspace may
 * resize it before load (hist__size_maps). Per-CPU, so updates need no atomics. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TT_HIST_DEFAULT_PROBES);
	__type(key, __u32);
	__type(value, struct tt_hist);
} hists SEC(".maps");

/* libbpf 1.1 has no BPF_UPROBE: BPF_KPROBE reads the same pt_regs. */
/* On x86-64 the call pushed the return address: at the uretprobe the stack
 * pointer is 8 bytes above the one seen at entry. On arm64 it is unchanged. */
#if defined(__TARGET_ARCH_x86)
#define RET_SP_DELTA 8
#else
#define RET_SP_DELTA 0
#endif

static __always_inline struct tt_kstats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&kstats, &zero);
}

/* Counts one paired exit. A global (not inlined) function: the verifier checks it
 * once on its own instead of once per frame-matching path of on_exit, whose
 * product with the bucket arithmetic's branches exceeds the 1M-insn limit. */
__noinline int tt_hist_exit(__u32 probe_id, __u64 dur, int ret)
{
	struct tt_hist *h = bpf_map_lookup_elem(&hists, &probe_id);
	__u32 b;

	if (!h)
		return 0;
	b = tt_hist_bucket(dur);
	h->calls++;
	h->sum_ns += dur;
	if (dur > h->max_ns)
		h->max_ns = dur;
	if (ret < 0)
		h->errors++;
	h->inflight--;
	if (b < TT_HIST_NBUCKETS)
		h->buckets[b]++;
	return 0;
}

static __always_inline __u64 new_span_id(void)
{
	__u64 id = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();

	return id ? id : 1;
}

static __always_inline int on_entry(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tt_kstats *st = stats();
	struct tt_stack *stk;
	struct tt_frame *f;
	struct tt_hist *h;
	__u32 d;

	if (st)
		st->entries++;
	stk = bpf_task_storage_get(&stacks, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!stk) {
		if (st)
			st->storage_fail++;
		return 0;
	}
	d = stk->depth;
	if (d >= max_depth || d >= TT_MAX_DEPTH) {
		stk->overflow++;
		if (st)
			st->stack_overflow++;
		return 0;
	}
	f = &stk->frames[d];
	f->span_id = new_span_id();
	f->probe_id = (__u32)bpf_get_attach_cookie(ctx);
	f->sp = PT_REGS_SP(ctx);
	if (d == 0)
		stk->trace_key = f->span_id;
	stk->depth = d + 1;
	h = bpf_map_lookup_elem(&hists, &f->probe_id);
	if (h)
		h->inflight++;
	/* last, so the span's own bookkeeping is not inside its time */
	f->start_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_exit(struct pt_regs *ctx, long ret)
{
	__u64 now = bpf_ktime_get_ns();
	struct task_struct *task = bpf_get_current_task_btf();
	struct tt_kstats *st = stats();
	__u32 probe_id = (__u32)bpf_get_attach_cookie(ctx);
	__u64 sp = PT_REGS_SP(ctx);
	struct tt_span_rec *rec;
	struct tt_stack *stk;
	struct tt_frame *f;
	__u64 pid_tgid, flags;
	int i, match = -1;
	__u32 d;

	if (st)
		st->exits++;
	stk = bpf_task_storage_get(&stacks, task, NULL, 0);
	if (!stk) {
		if (st)
			st->exit_no_entry++;
		return 0;
	}
	d = stk->depth;
	if (d > TT_MAX_DEPTH)
		return 0;

	/* The exit belongs to the innermost open frame of the same probe whose
	 * entry stack pointer fits this return. Frames above it were abandoned
	 * (longjmp, exceptions): drop them rather than mis-pair. */
	for (i = TT_MAX_DEPTH - 1; i >= 0; i--) {
		if ((__u32)i >= d)
			continue;
		f = &stk->frames[i];
		if (f->probe_id == probe_id && f->sp <= sp && sp - f->sp <= RET_SP_DELTA) {
			match = i;
			break;
		}
	}
	if (match < 0) {
		/* an exit of an entry we refused for depth, or one we never saw */
		if (stk->overflow) {
			stk->overflow--;
		} else if (st) {
			st->exit_no_entry++;
		}
		return 0;
	}
	if ((__u32)match + 1 < d && st)
		st->unwound += d - (match + 1);
	if (match >= TT_MAX_DEPTH)
		return 0;
	f = &stk->frames[match];
	stk->depth = match;

	/* counted before the ring buffer so a full ring loses spans, never counts */
	tt_hist_exit(probe_id, now - f->start_ns, (int)ret);

	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		if (st)
			st->rb_reserve_fail++;
		return 0;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	rec->type = TT_REC_SPAN;
	rec->probe_id = probe_id;
	rec->span_id = f->span_id;
	rec->parent_span_id = match > 0 ? stk->frames[(match - 1) & (TT_MAX_DEPTH - 1)].span_id : 0;
	rec->trace_key = stk->trace_key;
	rec->start_ns = f->start_ns;
	rec->end_ns = now;
	rec->ret = ret;
	rec->pid = pid_tgid >> 32;
	rec->tid = (__u32)pid_tgid;
	rec->depth = match;
	rec->flags = (match == 0 ? TT_SPAN_ROOT : 0) |
		     ((__u32)match + 1 < d ? TT_SPAN_UNWOUND_CHILDREN : 0);
	rec->_pad = 0;

	flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wake_bytes) {
		flags = BPF_RB_FORCE_WAKEUP;
		if (st)
			st->wakeups++;
	}
	bpf_ringbuf_submit(rec, flags);
	return 0;
}

/* Attached one probe at a time through perf events (any kernel with uprobes). */
SEC("uprobe")
int BPF_KPROBE(tt_entry)
{
	return on_entry(ctx);
}

SEC("uretprobe")
int BPF_KRETPROBE(tt_exit, long ret)
{
	return on_exit(ctx, ret);
}

/* The same, loaded for uprobe_multi links (Linux 6.6+): userspace sets the expected
 * attach type before load, and falls back to the two above when the kernel lacks it. */
SEC("uprobe")
int BPF_KPROBE(tt_entry_multi)
{
	return on_entry(ctx);
}

SEC("uprobe")
int BPF_KPROBE(tt_exit_multi)
{
	return on_exit(ctx, PT_REGS_RC(ctx));
}

/* Launch mode (-- CMD): attached at the new program's entry point, it stops the
 * process (SIGSTOP) once the dynamic loader has mapped every needed library, so
 * userspace can attach library probes before main() runs, then continue it. */
SEC("uprobe")
int tt_launch_stop(struct pt_regs *ctx)
{
	bpf_send_signal(19 /* SIGSTOP */);
	return 0;
}
