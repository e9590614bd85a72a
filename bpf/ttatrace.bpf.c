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

/* Head sampling, in .data so userspace can change it while tracing (the adaptive
 * --target-rate controller does every second). */
__u64 sample_thr = TT_SAMPLE_ALL;
__u32 sample_ppm = TT_SAMPLE_PPM;
/* enum tt_tail_mode: what happens to the spans of unpicked traces while the tail
 * rules (--keep-errors, --keep-slow) cannot decide yet */
__u32 sample_tail = TT_TAIL_OFF;
/* the kernel's tail rules (TT_TAIL_KERNEL) */
__u32 tail_errors = 0;
__u64 tail_slow_ns = 0;
/* bytes of a tail buffer a trace may fill (--tail-buffer) */
__u64 tail_bytes = TT_TAIL_DATA_BYTES;
/* set once a span had to be streamed for want of a buffer: roots then look in
 * tail_spill before deciding themselves */
__u32 tail_spill_any = 0;
/* --target-rate: each root primitive has its own threshold in root_thr */
const volatile __u32 root_budget = 0;

struct tt_frame {
	__u64 span_id;
	__u64 start_ns;
	__u64 sp; /* stack pointer at entry: pairs the exit with its own call */
	__u32 probe_id;
	__u8 has_caps;
	__u8 ctx_registered; /* this span owns ctxkeys[{tgid, ctx_key}] */
	__u8 ctx_had_prev; /* ...and must restore ctx_prev at exit */
	__u8 cflags; /* the attach cookie's flags (bits 32-39): the exit reads no cookie */
	/* Governor: a muted frame sends no span, and its children hang from the nearest
	 * frame below that does (or become roots): live_up is 1 + that frame's index, 0
	 * for the base; live_depth its depth among sending frames. */
	__u8 muted;
	__u8 live_up;
	__u16 live_depth;
	__u64 ctx_key;
	struct tt_ctx_owner {
		__u64 span_id;
		__u64 trace_key;
		__u32 depth;
		__u32 samp; /* the trace's sampling word (TT_SAMPLE_KEPT | ppm) */
	} ctx_prev;
	struct tt_caps caps;
};

struct tt_stack {
	__u32 depth; /* frames in use */
	__u32 overflow; /* entries past max_depth still open */
	__u64 trace_key; /* trace of the open frames on this thread */
	/* where the bottom frame hangs: 0 for a root, else the span it continues */
	__u64 base_parent;
	__u32 base_depth; /* depth of the bottom frame in its trace */
	__u32 base_flags; /* TT_SPAN_INHERITED / TT_SPAN_CTX_JOINED for the bottom frame */
	/* set when the thread was created inside a span: its first-level spans are
	 * children of that span (the thread continues the trace) */
	__u64 inh_trace_key;
	__u64 inh_parent;
	__u32 inh_depth;
	__u32 inh_samp; /* sampling word of the trace the thread continues */
	__u32 samp; /* sampling word of the open frames' trace */
	__u32 _pad;
	struct tt_frame frames[TT_MAX_DEPTH];
	__u64 max_entry_sp; /* the outermost entry this thread made (edges.bpf.h) */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tt_stack);
} stacks SEC(".maps");

/* Capture configuration of probes that have some (the cookie says which). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TT_MAX_CAP_PROBES);
	__type(key, __u32);
	__type(value, struct tt_probe_cfg);
} probe_cfg SEC(".maps");

/* Open spans by context key: work on another thread whose first span carries the
 * same key joins the innermost of them. Keyed by process too: keys are pointers
 * or ids that mean nothing across processes. */
struct tt_ctx_id {
	__u32 tgid;
	__u32 _pad;
	__u64 key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tt_ctx_id);
	__type(value, struct tt_ctx_owner);
} ctxkeys SEC(".maps");

/* Probe governor (--max-rate-per-probe): per-probe hit counters userspace turns
 * into rates, and mute bits it sets for probes over budget. */
const volatile __u32 governor_on = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TT_GOV_PROBES);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TT_GOV_PROBES / 64);
	__type(key, __u32);
	__type(value, __u64);
} muted SEC(".maps");

static __always_inline int gov_muted(__u32 probe_id)
{
	__u32 w = probe_id / 64;
	__u64 *bits = bpf_map_lookup_elem(&muted, &w);

	return bits && ((*bits >> (probe_id % 64)) & 1);
}

/* Scratch for captures, so a frame's copy is one memcpy. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tt_caps);
} cap_scratch SEC(".maps");

/* Kernel tail buffers: the spans of unpicked traces wait here for their root's
 * exit (see struct tt_tailbuf). Allocated on a trace's first finished child. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TT_TAIL_MAX_TRACES);
	__type(key, __u64);
	__type(value, struct tt_tailbuf);
} tailbuf SEC(".maps");

/* Never written: the initial value of a new tail buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tt_tailbuf);
} tail_zero SEC(".maps");

/* Verdicts of roots that had a buffer, for spans that finish after their root
 * (a thread outliving the workflow): 1 kept (stream it), 0 dropped (free it). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} tail_done SEC(".maps");

/* Traces some span of which was streamed because no buffer could be had: their
 * root is streamed too and userspace decides, so the trace stays whole. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} tail_spill SEC(".maps");

/* --target-rate budgets: head-sampling threshold per root probe id, written by
 * userspace through mmap, and the roots each probe started, read the same way. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TT_GOV_PROBES);
	__type(key, __u32);
	__type(value, __u64);
} root_thr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TT_GOV_PROBES);
	__type(key, __u32);
	__type(value, __u64);
} root_cnt SEC(".maps");

struct tt_span_caps_rec {
	struct tt_span_rec rec;
	struct tt_caps caps;
};

/* A record built before it is known whether it goes to a tail buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tt_span_caps_rec);
} rec_scratch SEC(".maps");

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

/* Per-probe counters and latency histogram, indexed by probe id; userspace sizes
 * it before load to the probes its dry run finds (within TT_HIST_BUDGET_BYTES).
 * Per-CPU, so updates need no atomics. */
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
/* An exit is paired by its stack pointer alone: the return pops exactly the address
 * the call pushed, so only the frame entered at sp - 8 fits (a frameless caller,
 * entered at sp, wants sp + 8). Two open frames share an entry stack pointer only
 * along a tail call (jmp), whose returns the kernel runs innermost first, so the
 * innermost fitting frame is the one. The exit then needs no attach cookie: one
 * helper call (~20 ns here) less per call. */
#define TT_EXIT_BY_SP 1
_Static_assert(TT_COOKIE_TRACEPARENT < (1ULL << 40) && TT_COOKIE_RET_MASK < (1ULL << 40),
	       "cookie flags must fit tt_frame.cflags");
#else
#define RET_SP_DELTA 0
/* arm64: a caller that keeps its link register in a register can call at its own
 * entry stack pointer, so the exit pairs on its probe (the cookie) as well */
#define TT_EXIT_BY_SP 0
#endif

#ifndef barrier_var
/* libbpf 1.1 lacks it: makes the compiler forget what it knows of var */
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif

static __always_inline struct tt_kstats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&kstats, &zero);
}

#include "edges.bpf.h"

/* Counts one paired exit. Inlined, as a BPF-to-BPF call costs ~12 ns per exit
 * here; tt_hist_log2 has no branches, so the verifier still walks the bucket
 * arithmetic once per path of on_exit, not once per bucket range. */
static __always_inline void tt_hist_exit(__u32 probe_id, __u64 dur, int err)
{
	struct tt_hist *h = bpf_map_lookup_elem(&hists, &probe_id);
	__u32 b;

	if (!h)
		return;
	b = tt_hist_bucket(dur);
	h->calls++;
	h->sum_ns += dur;
	if (dur > h->max_ns)
		h->max_ns = dur;
	if (err)
		h->errors++;
	h->inflight--;
	if (b < TT_HIST_NBUCKETS)
		h->buckets[b]++;
}

/* Span ids: splitmix64 over a per-CPU sequence instead of two
 * bpf_get_prandom_u32() calls per span (a helper call costs ~20 ns here). Each
 * CPU starts at a random point and steps atomically (a uprobe program can be
 * preempted); the output mix is a bijection, so ids stay unique, random-looking
 * and uniform, which head sampling relies on (sample_decide). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} idgen SEC(".maps");

#define TT_ID_STEP 0x9e3779b97f4a7c15ULL

static __always_inline __u64 new_span_id(void)
{
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&idgen, &zero);
	__u64 z;

	if (!seq)
		return 1;
	if (!*seq)
		*seq = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32() | 1;
	z = __sync_fetch_and_add(seq, TT_ID_STEP) + TT_ID_STEP;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 1;
}

#ifndef PT_REGS_PARM6
/* libbpf 1.1 stops at the fifth argument */
#if defined(__TARGET_ARCH_x86)
#define PT_REGS_PARM6(x) ((x)->r9)
#else
#define PT_REGS_PARM6(x) ((x)->regs[5])
#endif
#endif

static __always_inline __u64 arg_value(struct pt_regs *ctx, __u8 n)
{
	switch (n) {
	case 0:
		return PT_REGS_PARM1(ctx);
	case 1:
		return PT_REGS_PARM2(ctx);
	case 2:
		return PT_REGS_PARM3(ctx);
	case 3:
		return PT_REGS_PARM4(ctx);
	case 4:
		return PT_REGS_PARM5(ctx);
	default:
		return PT_REGS_PARM6(ctx);
	}
}

/* Reads the captures of probe_id whose source is `src` (0 arguments, 1 return
 * value) into the per-CPU scratch. Global, so the verifier checks it once on its
 * own. Every read is bounded; a failed read sets the capture's err bit. */
__noinline int tt_capture(struct pt_regs *ctx, __u32 probe_id, __u32 src)
{
	struct tt_probe_cfg *cfg = bpf_map_lookup_elem(&probe_cfg, &probe_id);
	__u32 zero = 0;
	struct tt_caps *out = bpf_map_lookup_elem(&cap_scratch, &zero);
	struct pt_regs regs;
	int i, j;

	if (!cfg || !out)
		return 0;
	/* a copy: indexing the context by argument number is not allowed */
	if (bpf_probe_read_kernel(&regs, sizeof(regs), ctx))
		return 0;
	out->n_caps = cfg->n_caps;
	for (i = 0; i < TT_MAX_CAPS; i++) {
		struct tt_cap_spec *c = &cfg->caps[i];
		__u64 v, addr;

		if (i >= cfg->n_caps)
			break;
		if (c->src != src)
			continue;
		v = src ? PT_REGS_RC(&regs) : arg_value(&regs, c->arg);
		for (j = 0; j < TT_MAX_DEREFS; j++) {
			if (j >= c->n_derefs)
				break;
			addr = v + c->deref_off[j];
			if (bpf_probe_read_user(&v, sizeof(v), (void *)addr))
				goto bad;
		}
		addr = v + c->final_off;
		if (c->final == TT_CAP_VALUE) {
			out->vals[i] = v;
		} else if (c->final == TT_CAP_READ) {
			__u32 sz = c->size;

			v = 0;
			if (sz > 8)
				sz = 8;
			if (sz == 0 || bpf_probe_read_user(&v, sz, (void *)addr))
				goto bad;
			out->vals[i] = v;
		} else {
			__u8 slot = c->str_slot & (TT_MAX_STR_CAPS - 1);

			if (c->final == TT_CAP_STR_PTR) {
				if (bpf_probe_read_user(&addr, sizeof(addr), (void *)addr))
					goto bad;
			}
			if (bpf_probe_read_user_str(out->strs[slot], TT_STR_CAP_BYTES, (void *)addr) < 0)
				goto bad;
		}
		out->err_mask &= ~(1u << i);
		continue;
bad:
		out->err_mask |= 1u << i;
		{
			struct tt_kstats *st = stats();

			if (st)
				st->cap_read_fail++;
		}
	}
	return 0;
}

static __always_inline int hexlc(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The trace-flags byte of a valid W3C traceparent in string slot `slot` of c,
 * or -1 when it is not one (the same rules as userspace's w3c parser, which
 * makes the trace join it). Global: verified once, on its own. */
__noinline int tt_traceparent_flags(struct tt_caps *c, __u32 slot)
{
	const char *s;
	__u32 nz_trace = 0, nz_parent = 0;
	int i, ver = 0, flags = 0;

	if (!c)
		return -1;
	s = c->strs[slot & (TT_MAX_STR_CAPS - 1)];
	for (i = 0; i < 55; i++) {
		char ch = s[i];
		int h;

		if (i == 2 || i == 35 || i == 52) {
			if (ch != '-')
				return -1;
			continue;
		}
		h = hexlc(ch);
		if (h < 0)
			return -1;
		if (i < 2)
			ver = ver << 4 | h;
		else if (i < 35)
			nz_trace |= h;
		else if (i < 52)
			nz_parent |= h;
		else
			flags = flags << 4 | h;
	}
	if (ver == 0xff || !nz_trace || !nz_parent)
		return -1;
	/* version 00 is exactly 55 characters; later ones may go on after a dash */
	if (s[55] != 0 && (ver == 0 || s[55] != '-'))
		return -1;
	return flags;
}

/* The head-sampling threshold of a new trace started by probe_id: the global one, or
 * the root's own under --target-rate (whose root counter the controller reads). */
static __always_inline __u64 root_threshold(__u32 probe_id, __u32 *ppm)
{
	__u64 thr = sample_thr;

	*ppm = sample_ppm;
	if (root_budget) {
		__u64 *t = bpf_map_lookup_elem(&root_thr, &probe_id);
		__u64 *n = bpf_map_lookup_elem(&root_cnt, &probe_id);

		if (t) {
			thr = *t;
			*ppm = thr >= TT_SAMPLE_ALL ? TT_SAMPLE_PPM : (__u32)((thr * TT_SAMPLE_PPM) >> 32);
		}
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	return thr;
}

/* The draw at a root: its span id is a uniform random number, its high half draws. */
static __always_inline __u32 sample_draw(struct tt_kstats *st, __u64 thr, __u32 ppm, __u64 span_id)
{
	__u32 w = ppm & ~TT_SAMPLE_KEPT;

	if (thr >= TT_SAMPLE_ALL || (span_id >> 32) < thr)
		w |= TT_SAMPLE_KEPT;
	if (st) {
		st->sample_roots++;
		if (w & TT_SAMPLE_KEPT)
			st->sample_kept++;
	}
	return w;
}

/* The head-sampling decision of a new trace started by probe_id. */
static __always_inline __u32 sample_decide(struct tt_kstats *st, __u32 probe_id, __u64 cookie,
					   struct tt_frame *f)
{
	__u32 ppm, w;
	__u64 thr = root_threshold(probe_id, &ppm);

	if ((cookie & TT_COOKIE_TRACEPARENT) && thr < TT_SAMPLE_ALL && f->has_caps) {
		/* the trace joins a remote one (userspace links it): its caller
		 * already decided, and a split decision would leave holes */
		struct tt_probe_cfg *cfg = bpf_map_lookup_elem(&probe_cfg, &probe_id);
		int fl = -1;

		if (cfg && cfg->tp_cap >= 0) {
			__u32 k = cfg->tp_cap & (TT_MAX_CAPS - 1);

			if (!(f->caps.err_mask & (1u << k)))
				fl = tt_traceparent_flags(&f->caps, cfg->caps[k].str_slot);
		}
		if (fl >= 0) {
			/* the probability is the caller's, unknown here: count it as 1 */
			w = TT_SAMPLE_PPM;
			if (fl & 1)
				w |= TT_SAMPLE_KEPT;
			if (st) {
				st->sample_roots++;
				if (fl & 1) {
					st->sample_kept++;
					st->tp_sampled++;
				} else {
					st->tp_unsampled++;
				}
			}
			return w;
		}
	}
	return sample_draw(st, thr, ppm, f->span_id);
}

static __always_inline struct tt_caps *scratch_caps(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cap_scratch, &zero);
}

/* Frames entered deeper in the stack than sp cannot be the caller's: longjmp (or an
 * exception) left them without an exit. Drops them, or the new call would hang
 * under a span that never ends, and returns the depth left. A frame at sp itself
 * stays: a tail call's caller shares it. Global, so verified once (inlined, the loop
 * made each entry program take 0.2 s to verify); called only when the top frame is
 * stale. */
__noinline int tt_prune(struct tt_stack *stk, __u64 sp)
{
	struct tt_kstats *st = stats();
	__u32 d, i;

	if (!stk)
		return 0;
	d = stk->depth;
	for (i = 0; i < TT_MAX_DEPTH && d > 0 && d <= TT_MAX_DEPTH; i++) {
		if (stk->frames[(d - 1) & (TT_MAX_DEPTH - 1)].sp >= sp)
			break;
		d--;
		if (st) {
			st->unwound++;
			st->frames_open--;
		}
	}
	stk->depth = d;
	return d;
}

/* Python (bpf/python.bpf.h): set once a Python process is traced; a native root
 * then joins the Python primitive running on its thread, if any. */
__u32 py_active = 0;
int tt_py_native_parent(struct tt_stack *stk);

static __always_inline int on_entry(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct tt_kstats *st = stats();
	struct tt_caps *sc = NULL;
	struct tt_stack *stk;
	struct tt_frame *f;
	struct tt_hist *h;
	__u32 d;
	int undecided = 0;

	if (edge_stopping)
		return 0; /* detaching: a frame opened now might never be closed */
	if (st)
		st->entries++;
	stk = bpf_task_storage_get(&stacks, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!stk) {
		if (st)
			st->storage_fail++;
		return 0;
	}
	tt_edge_entry(stk, PT_REGS_SP(ctx));
	d = stk->depth;
	if (d > 0 && d <= TT_MAX_DEPTH &&
	    stk->frames[(d - 1) & (TT_MAX_DEPTH - 1)].sp < PT_REGS_SP(ctx))
		d = tt_prune(stk, PT_REGS_SP(ctx));
	if (d >= max_depth || d >= TT_MAX_DEPTH) {
		stk->overflow++;
		if (st)
			st->stack_overflow++;
		return 0;
	}
	if (d > 0) {
		struct tt_frame *top = &stk->frames[(d - 1) & (TT_MAX_DEPTH - 1)];

		/* the same call seen twice (two links on one function while the governor
		 * swaps them): a real nested call always has a deeper stack pointer */
		if (top->probe_id == (__u32)cookie && top->sp == PT_REGS_SP(ctx))
			return 0;
	}
	barrier_var(d); /* keeps the mask: the verifier loses the bound on d's spill */
	f = &stk->frames[d & (TT_MAX_DEPTH - 1)];
	f->span_id = new_span_id();
	f->probe_id = (__u32)cookie;
	f->cflags = (__u8)(cookie >> 32);
	f->sp = PT_REGS_SP(ctx);
	f->has_caps = 0;
	f->ctx_registered = 0;
	f->ctx_had_prev = 0;
	f->ctx_key = 0;
	f->muted = 0;
	f->live_up = 0;
	f->live_depth = 0;
	if (d > 0) {
		struct tt_frame *top = &stk->frames[(d - 1) & (TT_MAX_DEPTH - 1)];

		/* muted or detached since its entry: skip it from now on (its exit, if
		 * it still comes, sends nothing) */
		if (governor_on && !top->muted && gov_muted(top->probe_id))
			top->muted = 1;
		if (top->muted) {
			f->live_up = top->live_up;
			f->live_depth = top->live_depth;
		} else {
			f->live_up = d;
			f->live_depth = top->live_depth + 1;
		}
	}
	if (governor_on && gov_muted(f->probe_id))
		f->muted = 1;
	if (cookie & (TT_COOKIE_CAPS | TT_COOKIE_RET_CAPS)) {
		sc = scratch_caps();
		if (sc) {
			__builtin_memset(sc, 0, sizeof(*sc));
			if (cookie & TT_COOKIE_CAPS)
				tt_capture(ctx, f->probe_id, 0);
			__builtin_memcpy(&f->caps, sc, sizeof(f->caps));
			f->has_caps = 1;
		}
	}
	if (!f->live_up && !f->muted) {
		/* the thread's first span (or the first under muted ones only): a root, or
		 * the continuation of a trace */
		stk->trace_key = f->span_id;
		stk->base_parent = 0;
		stk->base_depth = 0;
		stk->base_flags = 0;
		if (stk->inh_trace_key) {
			stk->trace_key = stk->inh_trace_key;
			stk->base_parent = stk->inh_parent;
			stk->base_depth = stk->inh_depth;
			stk->base_flags = TT_SPAN_INHERITED;
			stk->samp = stk->inh_samp;
		} else if (py_active && tt_py_native_parent(stk)) {
			/* called inside a Python primitive: its trace, under it */
		} else {
			/* a new trace, unless a context key joins it to an open span */
			undecided = 1;
		}
	}
	if ((cookie & TT_COOKIE_CTX_KEY) && sc && !f->muted) {
		struct tt_probe_cfg *cfg = bpf_map_lookup_elem(&probe_cfg, &f->probe_id);
		struct tt_ctx_id id = { .tgid = bpf_get_current_pid_tgid() >> 32 };
		struct tt_ctx_owner *own, me;
		__s8 k;

		k = cfg ? cfg->ctx_key : -1;
		if (k >= 0 && k < TT_MAX_CAPS && !(f->caps.err_mask & (1u << k)))
			id.key = f->caps.vals[k & (TT_MAX_CAPS - 1)];
		if (id.key) {
			f->ctx_key = id.key;
			own = bpf_map_lookup_elem(&ctxkeys, &id);
			if (!f->live_up && !stk->inh_trace_key && own) {
				/* work handed to an existing thread: join the open span */
				stk->trace_key = own->trace_key;
				stk->base_parent = own->span_id;
				stk->base_depth = own->depth + 1;
				stk->base_flags = TT_SPAN_CTX_JOINED;
				stk->samp = own->samp;
				undecided = 0;
				if (st)
					st->ctx_joined++;
			} else {
				/* an owner: the innermost open span with this key */
				if (own) {
					f->ctx_prev = *own;
					f->ctx_had_prev = 1;
				}
				me.span_id = f->span_id;
				me.trace_key = stk->trace_key;
				me.depth = stk->base_depth + f->live_depth;
				if (undecided) {
					stk->samp = sample_decide(st, f->probe_id, cookie, f);
					undecided = 0;
				}
				me.samp = stk->samp;
				if (!bpf_map_update_elem(&ctxkeys, &id, &me, BPF_ANY))
					f->ctx_registered = 1;
			}
		}
	}
	if (undecided)
		stk->samp = sample_decide(st, f->probe_id, cookie, f);
	stk->depth = d + 1;
	if (st)
		st->frames_open++;
	if (governor_on) {
		__u64 *hc = bpf_map_lookup_elem(&hits, &f->probe_id);

		if (hc)
			(*hc)++;
	}
	h = bpf_map_lookup_elem(&hists, &f->probe_id);
	if (h)
		h->inflight++;
	/* last, so the span's own bookkeeping is not inside its time */
	f->start_ns = bpf_ktime_get_ns();
	return 0;
}

/* A thread (or process) created inside a span continues that span's trace. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(tt_fork, struct task_struct *parent, struct task_struct *child)
{
	struct tt_stack *ps, *cs;
	struct tt_frame *lf;
	struct tt_kstats *st;
	__u32 d;

	ps = bpf_task_storage_get(&stacks, parent, NULL, 0);
	if (!ps)
		return 0;
	d = ps->depth;
	if (d == 0 || d > TT_MAX_DEPTH)
		return 0;
	cs = bpf_task_storage_get(&stacks, child, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	st = stats();
	if (!cs) {
		if (st)
			st->storage_fail++;
		return 0;
	}
	lf = &ps->frames[(d - 1) & (TT_MAX_DEPTH - 1)];
	if (lf->muted)
		lf = lf->live_up ? &ps->frames[(lf->live_up - 1) & (TT_MAX_DEPTH - 1)] : NULL;
	if (!lf && !ps->base_parent)
		return 0; /* inside muted frames only: the child starts its own traces */
	cs->inh_trace_key = ps->trace_key;
	cs->inh_parent = lf ? lf->span_id : ps->base_parent;
	cs->inh_depth = ps->base_depth + (lf ? lf->live_depth + 1 : 0);
	cs->inh_samp = ps->samp;
	if (st)
		st->threads_inherited++;
	return 0;
}

static __always_inline void fill_rec(struct tt_span_rec *rec, struct tt_stack *stk,
				     struct tt_frame *f, int match, __u32 d, __u32 probe_id,
				     __u64 now, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	rec->type = TT_REC_SPAN;
	rec->probe_id = probe_id;
	rec->span_id = f->span_id;
	rec->parent_span_id = f->live_up ? stk->frames[(f->live_up - 1) & (TT_MAX_DEPTH - 1)].span_id :
					   stk->base_parent;
	rec->trace_key = stk->trace_key;
	rec->start_ns = f->start_ns;
	rec->end_ns = now;
	rec->ret = ret;
	rec->pid = pid_tgid >> 32;
	rec->tid = (__u32)pid_tgid;
	rec->depth = stk->base_depth + f->live_depth;
	rec->flags = (!f->live_up ? (stk->base_flags ? stk->base_flags : TT_SPAN_ROOT) : 0) |
		     ((__u32)match + 1 < d ? TT_SPAN_UNWOUND_CHILDREN : 0) |
		     (stk->samp & TT_SAMPLE_KEPT ? 0 : TT_SPAN_UNSAMPLED);
	rec->sample_ppm = stk->samp & ~TT_SAMPLE_KEPT;
}

/* --- errors: the catalogue's rule, else the return type's (errtype) --------------
 * Whether a finished call is an error: its catalogue error rule when it has one
 * (as userspace sets the span's status), else the rule its return type gave it
 * at attach (cookie bits TT_COOKIE_RET_*: a signed integer is an error when
 * negative at its width; void, pointers and the rest never are). The histograms
 * (errors_total, SLOs, the summary) and --keep-errors' root verdict both ask here. */
static __always_inline int exit_is_error(__u64 cookie, __u32 probe_id, struct tt_frame *f, long ret)
{
	struct tt_probe_cfg *cfg;
	__s64 x, v;

	if (!(cookie & TT_COOKIE_ERR_RULE))
		return tt_ret_rule_error((cookie & TT_COOKIE_RET_MASK) >> TT_COOKIE_RET_SHIFT, ret);
	cfg = bpf_map_lookup_elem(&probe_cfg, &probe_id);
	if (!cfg)
		return tt_ret_rule_error((cookie & TT_COOKIE_RET_MASK) >> TT_COOKIE_RET_SHIFT, ret);
	if (cfg->err_op == TT_ERR_NONE)
		return 0; /* the catalogue says: no return value is an error */
	if (cfg->err_cap < 0) {
		__u32 sh = (64 - cfg->err_ret_bits) & 63;

		/* at the width of its cast or type; of unknown type: as userspace
		 * shows it (sign-extended when it fits 32 bits) */
		if (cfg->err_ret_bits)
			x = (__s64)((__u64)ret << sh) >> sh;
		else
			x = ((__u64)ret >> 32) == 0 ? (__s64)(__s32)ret : ret;
	} else {
		__u32 k = cfg->err_cap & (TT_MAX_CAPS - 1);
		__u32 sh = cfg->err_sext & 63;

		if (!f->has_caps || (f->caps.err_mask & (1u << k)))
			return 0; /* the operand could not be read: no verdict, as in userspace */
		x = (__s64)f->caps.vals[k];
		if (sh)
			x = (__s64)((__u64)x << sh) >> sh;
	}
	v = cfg->err_value;
	return tt_err_holds(cfg->err_op, x, v);
}
/* --- end errors --- */

struct tail_flush_ctx {
	struct tt_tailbuf *b;
	__u32 off;
	__u32 end;
	__u64 sent;
	__u64 lost;
};

/* One record of a tail buffer to the ring (a bpf_loop callback: the walk is
 * verified once, not once per record). */
static long tail_flush_one(__u64 i, void *data)
{
	struct tail_flush_ctx *c = data;
	struct tt_tailbuf *b = c->b;
	__u32 off = c->off, type;

	if (!b || off + sizeof(struct tt_span_rec) > c->end ||
	    off > TT_TAIL_DATA_BYTES - sizeof(struct tt_span_rec))
		return 1;
	type = *(__u32 *)&b->data[off];
	if (type == TT_REC_SPAN_CAPS) {
		if (off > TT_TAIL_DATA_BYTES - sizeof(struct tt_span_caps_rec))
			return 1;
		/* the compiler must not reuse an offset computed before the check */
		barrier_var(off);
		if (bpf_ringbuf_output(&events, &b->data[off], sizeof(struct tt_span_caps_rec),
				       BPF_RB_NO_WAKEUP))
			c->lost++;
		else
			c->sent++;
		c->off = off + sizeof(struct tt_span_caps_rec);
		return 0;
	}
	if (type != TT_REC_SPAN)
		return 1; /* claimed but not yet written (a thread racing its root) */
	barrier_var(off);
	if (bpf_ringbuf_output(&events, &b->data[off], sizeof(struct tt_span_rec), BPF_RB_NO_WAKEUP))
		c->lost++;
	else
		c->sent++;
	c->off = off + sizeof(struct tt_span_rec);
	return 0;
}

/* Sends what a tail buffer holds (before its root's record), then frees it. */
static __always_inline void tail_flush(struct tt_tailbuf *b, __u64 *key, struct tt_kstats *st)
{
	struct tail_flush_ctx c = { .b = b };

	c.end = b->used > TT_TAIL_DATA_BYTES ? TT_TAIL_DATA_BYTES : (__u32)b->used;

	bpf_loop(TT_TAIL_DATA_BYTES / sizeof(struct tt_span_rec), tail_flush_one, &c, 0);
	if (st) {
		st->tail_flushed += c.sent;
		st->tail_flush_fail += c.lost + (b->spans > c.sent + c.lost ?
						 b->spans - c.sent - c.lost : 0);
	}
	bpf_map_delete_elem(&tailbuf, key);
}

/* Holds a finished span of an unpicked trace in its tail buffer. 1: held, 0: it
 * must be streamed instead. */
static __always_inline int tail_hold(struct tt_tailbuf *b, struct tt_span_caps_rec *r,
				     int caps, __u64 now)
{
	__u64 off;

	if (caps) {
		off = __sync_fetch_and_add(&b->used, sizeof(*r));
		if (off + sizeof(*r) > tail_bytes || off > TT_TAIL_DATA_BYTES - sizeof(*r))
			return 0;
		barrier_var(off);
		__builtin_memcpy(&b->data[off], r, sizeof(*r));
	} else {
		off = __sync_fetch_and_add(&b->used, sizeof(r->rec));
		if (off + sizeof(r->rec) > tail_bytes || off > TT_TAIL_DATA_BYTES - sizeof(r->rec))
			return 0;
		barrier_var(off);
		__builtin_memcpy(&b->data[off], &r->rec, sizeof(r->rec));
	}
	__sync_fetch_and_add(&b->spans, 1);
	b->last_ns = now;
	return 1;
}

/* A finished child span of an unpicked trace, built in r: held in its trace's tail
 * buffer (below 0), or 0: stream it (userspace decides). */
static __always_inline int tail_child(__u64 key, struct tt_span_caps_rec *r, int caps, __u64 now,
				      struct tt_kstats *st)
{
	struct tt_tailbuf *b = bpf_map_lookup_elem(&tailbuf, &key);
	__u32 zero = 0, one = 1;

	if (!b) {
		__u32 *v = bpf_map_lookup_elem(&tail_done, &key);
		struct tt_tailbuf *z;

		if (v) {
			if (*v)
				return 0;
			if (st)
				st->tail_late++;
			return -1;
		}
		z = bpf_map_lookup_elem(&tail_zero, &zero);
		if (z)
			bpf_map_update_elem(&tailbuf, &key, z, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&tailbuf, &key);
		if (!b)
			goto nobuf;
	}
	if (b->overflow)
		return 0;
	if (!r)
		goto nobuf;
	if (tail_hold(b, r, caps, now)) {
		if (st)
			st->tail_held++;
		return -1;
	}
	/* the trace outgrew its buffer: what it holds goes out at the root's exit, the
	 * rest now, and userspace decides */
	if (!__sync_fetch_and_or(&b->overflow, 1) && st)
		st->tail_overflow++;
	return 0;
nobuf:
	tail_spill_any = 1;
	bpf_map_update_elem(&tail_spill, &key, &one, BPF_ANY);
	if (st)
		st->tail_nobuf++;
	return 0;
}

/* The root of an unpicked trace ended (an error by the caller's rule, after dur_ns):
 * below 0 the trace is dropped and its held spans freed; 0: stream the root
 * (userspace decides); else the TT_SPAN_KEPT_* flag, its held spans sent first. */
static __always_inline int tail_root(__u64 key, int is_error, __u64 dur_ns, struct tt_kstats *st)
{
	struct tt_tailbuf *b = bpf_map_lookup_elem(&tailbuf, &key);
	__u32 zero = 0, one = 1;
	int kept = 0;

	if ((b && b->overflow) ||
	    (tail_spill_any && bpf_map_lookup_elem(&tail_spill, &key) &&
	     !bpf_map_delete_elem(&tail_spill, &key))) {
		if (b)
			tail_flush(b, &key, st);
		return 0;
	}
	if (tail_errors && is_error) {
		kept = TT_SPAN_KEPT_ERROR;
		if (st)
			st->tail_kept_error++;
	} else if (tail_slow_ns && dur_ns >= tail_slow_ns) {
		kept = TT_SPAN_KEPT_SLOW;
		if (st)
			st->tail_kept_slow++;
	}
	if (kept) {
		if (b) {
			bpf_map_update_elem(&tail_done, &key, &one, BPF_ANY);
			tail_flush(b, &key, st);
		}
		return kept;
	}
	if (st)
		st->tail_dropped++;
	if (b) {
		if (st)
			st->tail_freed += b->spans;
		bpf_map_update_elem(&tail_done, &key, &zero, BPF_ANY);
		bpf_map_delete_elem(&tailbuf, &key);
	}
	return -1;
}

/* The kernel's tail rules for a finished span of an unpicked trace. Below 0: the
 * span is dealt with (held, or freed with its trace); 0: stream it (userspace
 * decides); else the TT_SPAN_KEPT_* flag for a root whose trace was kept, after
 * its held spans went to the ring. */
/* Global, so the verifier checks it once on its own instead of once per path of
 * on_exit (which took 12 times longer to load with it inlined). */
__noinline int tt_tail_exit(struct tt_stack *stk, __u32 match_d, __u64 now, long ret, __u64 cookie)
{
	struct tt_kstats *st = stats();
	/* five arguments at most: the frame's index and the depth share one */
	int match = match_d & (TT_MAX_DEPTH - 1);
	__u32 d = match_d >> 16, probe_id;
	struct tt_span_caps_rec *r;
	struct tt_frame *f;
	__u32 zero = 0;
	__u64 key;

	if (!stk)
		return 0;
	f = &stk->frames[match];
	probe_id = f->probe_id;
	key = stk->trace_key;
	if (f->span_id == key)
		return tail_root(key, tail_errors && exit_is_error(cookie, probe_id, f, ret),
				 now - f->start_ns, st);
	r = bpf_map_lookup_elem(&rec_scratch, &zero);
	if (r) {
		fill_rec(&r->rec, stk, f, match, d, probe_id, now, ret);
		if (f->has_caps) {
			r->rec.type = TT_REC_SPAN_CAPS;
			__builtin_memcpy(&r->caps, &f->caps, sizeof(r->caps));
		}
	}
	return tail_child(key, r, f->has_caps, now, st);
}

/* Bytes each CPU has submitted since it last asked the ring for its fill level:
 * asking costs a helper call per record (~17 ns), and asking once per 1/64 of the
 * wakeup threshold per CPU wakes the consumer at most that much later. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rb_unasked SEC(".maps");

/* The submit flags of a record of `size` bytes about to be reserved: wake the
 * consumer once the ring holds wake_bytes with it. */
static __always_inline __u64 wake_flags(struct tt_kstats *st, __u64 size)
{
	__u32 zero = 0;
	__u64 *unasked = bpf_map_lookup_elem(&rb_unasked, &zero);

	if (unasked) {
		*unasked += size;
		if (*unasked < (wake_bytes >> 6))
			return BPF_RB_NO_WAKEUP;
		*unasked = 0;
	}
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size < wake_bytes)
		return BPF_RB_NO_WAKEUP;
	if (st)
		st->wakeups++;
	return BPF_RB_FORCE_WAKEUP;
}

static __always_inline int on_exit(struct pt_regs *ctx, long ret)
{
	__u64 now = bpf_ktime_get_ns();
	struct task_struct *task = bpf_get_current_task_btf();
	struct tt_kstats *st = stats();
	__u64 cookie = TT_EXIT_BY_SP ? 0 : bpf_get_attach_cookie(ctx);
	__u32 probe_id = (__u32)cookie;
	__u64 sp = PT_REGS_SP(ctx);
	struct tt_span_rec *rec;
	struct tt_stack *stk;
	struct tt_frame *f;
	__u64 flags;
	int i, match = -1, kept = 0, ret_caps;
	__u32 d;

	if (st)
		st->exits++;
	stk = bpf_task_storage_get(&stacks, task, NULL, 0);
	if (!stk) {
		tt_count_orphan_exit(st, NULL, sp);
		return 0;
	}
	d = stk->depth;
	if (d > TT_MAX_DEPTH)
		return 0;

	/* The exit belongs to the innermost open frame (of the same probe, where the
	 * stack pointer alone is not enough) whose entry stack pointer fits this
	 * return. Frames above it were abandoned (longjmp, exceptions): drop them
	 * rather than mis-pair. The walk starts at the top, almost always the frame. */
	for (i = 0; i < TT_MAX_DEPTH; i++) {
		int k = (int)d - 1 - i;

		if (k < 0)
			break;
		f = &stk->frames[k & (TT_MAX_DEPTH - 1)];
		if (TT_EXIT_BY_SP ? f->sp + RET_SP_DELTA == sp :
				    f->probe_id == probe_id && f->sp <= sp && sp - f->sp <= RET_SP_DELTA) {
			match = k & (TT_MAX_DEPTH - 1);
			break;
		}
	}
	if (match < 0) {
		/* a probe the governor is detaching: its entry link went first (the
		 * cookie read only here, on this rare path) */
		if (governor_on &&
		    gov_muted(TT_EXIT_BY_SP ? (__u32)bpf_get_attach_cookie(ctx) : probe_id))
			return 0;
		/* an exit of an entry we refused for depth, or one we never saw */
		if (stk->overflow)
			stk->overflow--;
		else
			tt_count_orphan_exit(st, stk, sp);
		return 0;
	}
	if ((__u32)match + 1 < d && st)
		st->unwound += d - (match + 1);
	if (match >= TT_MAX_DEPTH)
		return 0;
	f = &stk->frames[match];
	if (st)
		st->frames_open -= d - match;
	stk->depth = match;
	probe_id = f->probe_id;
	cookie = probe_id | (__u64)f->cflags << 32;

	/* a catalogue error rule on a return-value capture reads it before the
	 * histogram judges the call (other return captures only for sent spans) */
	ret_caps = f->has_caps && (cookie & TT_COOKIE_RET_CAPS);
	if (ret_caps && (cookie & TT_COOKIE_ERR_RULE)) {
		struct tt_caps *sc = scratch_caps();

		if (sc) {
			__builtin_memcpy(sc, &f->caps, sizeof(*sc));
			tt_capture(ctx, probe_id, 1);
			__builtin_memcpy(&f->caps, sc, sizeof(f->caps));
		}
		ret_caps = 0;
	}
	/* counted before the ring buffer so a full ring loses spans, never counts */
	tt_hist_exit(probe_id, now - f->start_ns, exit_is_error(cookie, probe_id, f, ret));

	if (f->ctx_registered) {
		struct tt_ctx_id id = { .tgid = bpf_get_current_pid_tgid() >> 32, .key = f->ctx_key };

		if (f->ctx_had_prev)
			bpf_map_update_elem(&ctxkeys, &id, &f->ctx_prev, BPF_ANY);
		else
			bpf_map_delete_elem(&ctxkeys, &id);
	}
	if (f->muted) {
		if (st)
			st->spans_muted++;
		return 0;
	}

	/* histograms counted it above; the ring only carries unpicked spans for the
	 * tail rules */
	if (!(stk->samp & TT_SAMPLE_KEPT) && sample_tail == TT_TAIL_OFF) {
		if (st)
			st->spans_unsampled++;
		return 0;
	}

	/* here, not next to the reserve: the verifier walks ~190k fewer instructions
	 * (a span the tail buffer then holds only counts toward an earlier check) */
	flags = wake_flags(st, f->has_caps ? sizeof(struct tt_span_caps_rec) :
					     sizeof(struct tt_span_rec));

	/* return-value reads only for spans that may be sent */
	if (ret_caps) {
		struct tt_caps *sc = scratch_caps();

		if (sc) {
			__builtin_memcpy(sc, &f->caps, sizeof(*sc));
			tt_capture(ctx, probe_id, 1);
			__builtin_memcpy(&f->caps, sc, sizeof(f->caps));
		}
	}

	if (!(stk->samp & TT_SAMPLE_KEPT)) {
		if (sample_tail == TT_TAIL_KERNEL) {
			kept = tt_tail_exit(stk, (__u32)match | d << 16, now, ret, cookie);
			if (kept < 0)
				return 0;
		}
		if (!kept && st)
			st->spans_tail++;
	}

	/* two constant sizes, two paths: the verifier must see each bound */
	if (f->has_caps) {
		struct tt_span_caps_rec *cr = bpf_ringbuf_reserve(&events, sizeof(*cr), 0);

		if (!cr)
			goto full;
		fill_rec(&cr->rec, stk, f, match, d, probe_id, now, ret);
		cr->rec.type = TT_REC_SPAN_CAPS;
		cr->rec.flags |= kept;
		__builtin_memcpy(&cr->caps, &f->caps, sizeof(cr->caps));
		rec = &cr->rec;
	} else {
		rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
		if (!rec)
			goto full;
		fill_rec(rec, stk, f, match, d, probe_id, now, ret);
		rec->flags |= kept;
	}

	bpf_ringbuf_submit(rec, flags);
	if (kept && st)
		st->tail_flushed++;
	return 0;
full:
	if (st)
		st->rb_reserve_fail++;
	return 0;
}

#include "follow.bpf.h"
#include "file_id.bpf.h"

/* Attached one probe at a time through perf events (any kernel with uprobes). */
SEC("uprobe")
int BPF_KPROBE(tt_entry)
{
	if (!tt_current_traced())
		return 0;
	return on_entry(ctx);
}

SEC("uretprobe")
int BPF_KRETPROBE(tt_exit, long ret)
{
	if (!tt_current_traced())
		return 0;
	return on_exit(ctx, ret);
}

/* The same, loaded for uprobe_multi links (Linux 6.6+): userspace sets the expected
 * attach type before load, and falls back to the two above when the kernel lacks it. */
SEC("uprobe")
int BPF_KPROBE(tt_entry_multi)
{
	if (!tt_current_traced())
		return 0;
	return on_entry(ctx);
}

SEC("uprobe")
int BPF_KPROBE(tt_exit_multi)
{
	if (!tt_current_traced())
		return 0;
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

/* The same on a uprobe_multi link: a perf-event uprobe on another process is refused
 * (EACCES, 6.18) to uid 0 holding only CAP_BPF CAP_PERFMON CAP_SYS_PTRACE, a link is not. */
SEC("uprobe")
int tt_launch_stop_multi(struct pt_regs *ctx)
{
	bpf_send_signal(19 /* SIGSTOP */);
	return 0;
}

#include "python.bpf.h"
