/* Python primitives on CPython 3.12+ (included by ttatrace.bpf.c, shares its maps).
 *
 * The bootstrap (tools/python/sitecustomize.py) arms sys.monitoring LOCAL events
 * PY_START|PY_RETURN on the primitives' code objects only, with no callback, and
 * the global PY_UNWIND. The interpreter then calls _Py_call_instrumentation(tstate,
 * event, frame, instr) and _Py_call_instrumentation_arg(..., obj) for those code
 * objects: a probe in each (on an emulated jcc, not the single-stepped entry) opens
 * and ends spans. A coroutine's frame keeps its address across suspensions, so the
 * open span is keyed by (process, frame address); each span has its own id, so a
 * reused address never mixes two calls. */

struct tt_py_key {
	__u32 tgid;
	__u32 _pad;
	__u64 addr; /* frame address */
};

struct tt_py_span {
	__u64 span_id;
	__u64 parent_span_id;
	__u64 trace_key;
	__u64 start_ns;
	__u64 code;
	__u32 probe_id;
	__u32 depth;
	__u32 samp;
	__u32 flags;
};

struct tt_py_id_key {
	__u32 tgid;
	__u32 _pad;
	__u64 code;
	__u64 cls;
};

/* a task's coroutine frame -> the span open where the task was created */
struct tt_py_link {
	__u64 parent_frame; /* the frame that span is open on: the link holds while it is */
	__u64 span_id;
	__u64 trace_key;
	__u32 depth;
	__u32 samp;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct tt_py_offs);
} py_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tt_py_key);
	__type(value, struct tt_py_span);
} py_open SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tt_py_key);
	__type(value, struct tt_py_link);
} py_links SEC(".maps");

/* (process, code object, class) -> probe id: a cache of the hash below */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tt_py_id_key);
	__type(value, __u32);
} py_ids SEC(".maps");

/* a primitive's identity hash -> its probe id, shared by every process */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TT_PY_MAX_PROBES);
	__type(key, __u64);
	__type(value, __u32);
} py_names SEC(".maps");

/* the strings a primitive's identity is hashed from */
struct tt_py_ident {
	char cls[64];
	char qual[64];
	char file[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tt_py_ident);
} py_ident SEC(".maps");

/* ttatrace agent: interpreters (the executable's file) whose processes are Python
 * processes from their exec: their layout goes to py_procs there, so the shared
 * links see a new process's first primitive */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct tt_file_key);
	__type(value, struct tt_py_offs);
} py_exes SEC(".maps");

/* the thread state of each thread that ran a primitive (the task hook needs it) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} py_tstate SEC(".maps");

/* A counting filter over (process, frame address) in front of py_open and py_links,
 * so a frame-chain walk skips both hash lookups on the frames no span or link can be
 * on: mostly an array slot the verifier inlines, against two hash lookups a frame.
 * A count is never below the entries of its slot (raised before an insert, lowered
 * after a delete): a zero is exact, anything else means "look". Task links the LRU
 * evicts are never counted down, so their slots only stay "look". Every insert into
 * py_open or py_links and every delete from them goes through py_mark_add. */
struct tt_py_mark {
	__u32 open;
	__u32 links;
};

#define PY_MARKS 4096

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PY_MARKS);
	__type(key, __u32);
	__type(value, struct tt_py_mark);
} py_marks SEC(".maps");

/* next free Python probe id */
__u64 py_next_id = 0;

#define PY_EV_START 0
#define PY_EV_RETURN 2
#define PY_EV_UNWIND 12
#define PY_MAX_WALK 24
#define PY_FRAME_WORDS 10 /* the head of an _PyInterpreterFrame read at once */

static __always_inline __u64 py_read_ptr(__u64 addr)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

static __always_inline struct tt_py_mark *py_mark(__u32 tgid, __u64 addr)
{
	__u32 slot = (__u32)(((addr ^ ((__u64)tgid << 44)) * 0x9e3779b97f4a7c15ULL) >> 52);

	return bpf_map_lookup_elem(&py_marks, &slot); /* PY_MARKS = 1 << (64 - 52) */
}

/* n is +1 before an insert, -1 after a delete (or an insert that added nothing) */
static __always_inline void py_mark_add(__u32 tgid, __u64 addr, int links, int n)
{
	struct tt_py_mark *m = py_mark(tgid, addr);

	if (!m)
		return;
	if (links)
		__sync_fetch_and_add(&m->links, n);
	else
		__sync_fetch_and_add(&m->open, n);
}

/* insert into py_open or py_links (map) at k, counted in py_marks */
static __always_inline void py_marked_put(void *map, struct tt_py_key *k, void *v, int links)
{
	long err;

	py_mark_add(k->tgid, k->addr, links, 1);
	err = bpf_map_update_elem(map, k, v, BPF_NOEXIST);
	if (!err)
		return;
	if (err == -17 /* EEXIST: replaced, already counted */)
		bpf_map_update_elem(map, k, v, BPF_ANY);
	py_mark_add(k->tgid, k->addr, links, -1);
}

/* Which of ttatrace's tools armed PY_START on this code object: the first byte of
 * _co_monitoring is local_monitors.tools[PY_START], one bit per tool id. */
static __always_inline __u32 py_armed(const struct tt_py_offs *o, __u64 code)
{
	__u64 mon = py_read_ptr(code + o->code_mon);
	__u8 tools = 0;

	if (!mon)
		return 0;
	bpf_probe_read_user(&tools, 1, (void *)mon);
	return tools & ((1u << TT_PY_TOOL_METHOD) | (1u << TT_PY_TOOL_FUNC));
}

/* A compact str's bytes into buf (its last len bytes when longer): NUL-ended in
 * CPython's compact layout, so bpf_probe_read_user_str stops at its end. */
static __always_inline void py_read_str(const struct tt_py_offs *o, __u64 str, char *buf, __u32 len)
{
	__u32 state = 0;
	__s64 n = 0;
	__u64 data;

	if (!str)
		return;
	bpf_probe_read_user(&state, sizeof(state), (void *)(str + o->str_state));
	bpf_probe_read_user(&n, sizeof(n), (void *)(str + 16 /* ob_size: length */));
	data = str + (state & (1u << 6) ? o->str_ascii_data : o->str_compact_data);
	if (n > (__s64)len - 1 && n < (1 << 20))
		data += n - (len - 1);
	bpf_probe_read_user_str(buf, len, (void *)data);
}

/* FNV-1a over a zero-padded buffer, a word at a time */
static __always_inline __u64 py_hash_words(__u64 h, const __u64 *w, int n)
{
	for (int i = 0; i < n; i++) {
		h ^= w[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The identity of (code, class) in any process: class name, qualified name, file
 * and first line. 0 when it cannot be read. */
static __always_inline __u64 py_ident_hash(const struct tt_py_offs *o, __u64 code, __u64 cls)
{
	__u32 zero = 0;
	struct tt_py_ident *id = bpf_map_lookup_elem(&py_ident, &zero);
	__u64 h = 0xcbf29ce484222325ULL, name;
	int line = 0;

	if (!id)
		return 0;
	__builtin_memset(id, 0, sizeof(*id));
	if (cls) {
		name = py_read_ptr(cls + o->type_name);
		if (name)
			bpf_probe_read_user_str(id->cls, sizeof(id->cls), (void *)name);
	}
	py_read_str(o, py_read_ptr(code + o->code_qualname), id->qual, sizeof(id->qual));
	py_read_str(o, py_read_ptr(code + o->code_filename), id->file, sizeof(id->file));
	bpf_probe_read_user(&line, sizeof(line), (void *)(code + o->code_firstlineno));
	h = py_hash_words(h, (const __u64 *)id, sizeof(*id) / 8);
	h ^= (__u64)(__u32)line;
	h *= 0x100000001b3ULL;
	return h ? h : 1;
}

static __always_inline __u32 py_probe_id(const struct tt_py_offs *o, __u32 tgid, __u64 code,
					 __u64 cls, struct tt_kstats *st)
{
	struct tt_py_id_key k = { .tgid = tgid, .code = code, .cls = cls };
	struct tt_py_probe_rec *r;
	__u32 *v = bpf_map_lookup_elem(&py_ids, &k), id;
	__u64 h;

	if (v)
		return *v;
	h = py_ident_hash(o, code, cls);
	v = bpf_map_lookup_elem(&py_names, &h);
	if (v) {
		/* another process (a forked worker, a replica) named it already */
		id = *v;
		bpf_map_update_elem(&py_ids, &k, &id, BPF_ANY);
		return id;
	}
	id = (__u32)__sync_fetch_and_add(&py_next_id, 1);
	if (id >= TT_PY_MAX_PROBES) {
		if (st)
			st->py_ids_full++;
		return (__u32)-1;
	}
	if (bpf_map_update_elem(&py_names, &h, &id, BPF_NOEXIST)) {
		/* another CPU named it first: use its id (this one stays unused) */
		v = bpf_map_lookup_elem(&py_names, &h);
		if (!v)
			return (__u32)-1;
		id = *v;
		bpf_map_update_elem(&py_ids, &k, &id, BPF_ANY);
		return id;
	}
	bpf_map_update_elem(&py_ids, &k, &id, BPF_ANY);
	/* userspace must know the id before any span of it: the record goes first, with
	 * a wakeup (once per primitive) */
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		if (st)
			st->rb_reserve_fail++;
		return id;
	}
	r->type = TT_REC_PY_PROBE;
	r->probe_id = id;
	r->pid = tgid;
	r->_pad = 0;
	r->code = code;
	r->cls = cls;
	bpf_ringbuf_submit(r, 0);
	return id;
}

/* The innermost open span on the frame chain above `frame` (frame itself included),
 * or the span that created the task a frame on the chain is the coroutine of. */
static __always_inline int py_find_parent(const struct tt_py_offs *o, __u32 tgid, __u64 frame,
					  struct tt_py_link *out, int self_open, int have_prev,
					  __u64 prev)
{
	struct tt_py_key k = { .tgid = tgid };
	int i;

	for (i = 0; i < PY_MAX_WALK && frame; i++) {
		struct tt_py_mark *m = py_mark(tgid, frame);
		struct tt_py_span *s;
		struct tt_py_link *l;

		k.addr = frame;
		if ((i > 0 || self_open) && (!m || m->open)) {
			s = bpf_map_lookup_elem(&py_open, &k);
			if (s) {
				out->span_id = s->span_id;
				out->trace_key = s->trace_key;
				out->depth = s->depth;
				out->samp = s->samp;
				out->parent_frame = frame;
				return 1;
			}
		}
		l = !m || m->links ? bpf_map_lookup_elem(&py_links, &k) : NULL;
		if (l) {
			struct tt_py_key pk = { .tgid = tgid, .addr = l->parent_frame };
			struct tt_py_span *ps = bpf_map_lookup_elem(&py_open, &pk);

			/* the creating span must still be open (the address may be reused) */
			if (ps && ps->span_id == l->span_id) {
				*out = *l;
				return 1;
			}
			/* a coroutine freed since: its address went to another one */
			if (!bpf_map_delete_elem(&py_links, &k))
				py_mark_add(tgid, frame, 1, -1);
		}
		frame = i == 0 && have_prev ? prev : py_read_ptr(frame + o->frame_prev);
	}
	return 0;
}

static __always_inline __u32 py_sample_decide(struct tt_kstats *st, __u32 probe_id, __u64 span_id)
{
	__u32 ppm;
	__u64 thr = root_threshold(probe_id, &ppm);

	return sample_draw(st, thr, ppm, span_id);
}

static __always_inline int py_start(struct pt_regs *ctx, const struct tt_py_offs *o, __u32 tgid,
				    __u64 frame, struct tt_kstats *st)
{
	__u64 code, cls = 0, tstate, prev = 0, self = 0, fr[16] = {};
	struct tt_py_key k = { .tgid = tgid, .addr = frame };
	struct tt_py_link par = {};
	struct tt_py_span s = {};
	struct tt_hist *h;
	__u32 armed, tid = (__u32)bpf_get_current_pid_tgid();
	/* the frame's code, previous frame and first local (self) in one read */
	int head = o->frame_code / 8 < PY_FRAME_WORDS && o->frame_prev / 8 < PY_FRAME_WORDS &&
		   o->frame_locals / 8 < PY_FRAME_WORDS && !((o->frame_code | o->frame_prev |
							   o->frame_locals) & 7) &&
		   !bpf_probe_read_user(fr, PY_FRAME_WORDS * 8, (void *)frame);

	if (head) {
		code = fr[(o->frame_code / 8) & 15];
		prev = fr[(o->frame_prev / 8) & 15];
		self = fr[(o->frame_locals / 8) & 15];
	} else {
		code = py_read_ptr(frame + o->frame_code);
	}
	armed = py_armed(o, code);
	if (!armed) {
		if (st)
			st->py_foreign++;
		return 0;
	}
	if (armed & (1u << TT_PY_TOOL_METHOD)) {
		if (!head)
			self = py_read_ptr(frame + o->frame_locals);
		cls = self ? py_read_ptr(self + 8 /* ob_type */) : 0;
	}
	s.probe_id = py_probe_id(o, tgid, code, cls, st);
	if (s.probe_id >= TT_PY_MAX_PROBES)
		return 0;
	if (st)
		st->py_starts++;
	tstate = PT_REGS_PARM1(ctx);
	if (!bpf_map_lookup_elem(&py_tstate, &tid))
		bpf_map_update_elem(&py_tstate, &tid, &tstate, BPF_ANY);
	s.span_id = new_span_id();
	s.code = code;
	if (py_find_parent(o, tgid, frame, &par, 0, head, prev)) {
		s.parent_span_id = par.span_id;
		s.trace_key = par.trace_key;
		s.depth = par.depth + 1;
		s.samp = par.samp;
	} else {
		s.trace_key = s.span_id;
		s.flags = TT_SPAN_ROOT;
		s.samp = py_sample_decide(st, s.probe_id, s.span_id);
	}
	h = bpf_map_lookup_elem(&hists, &s.probe_id);
	if (h)
		h->inflight++;
	s.start_ns = bpf_ktime_get_ns();
	py_marked_put(&py_open, &k, &s, 0);
	return 0;
}

static __always_inline void py_fill(struct tt_span_rec *rec, const struct tt_py_span *v, __u64 now,
				   __u32 tgid, int err, int exc)
{
	rec->type = TT_REC_SPAN;
	rec->probe_id = v->probe_id;
	rec->span_id = v->span_id;
	rec->parent_span_id = v->parent_span_id;
	rec->trace_key = v->trace_key;
	rec->start_ns = v->start_ns;
	rec->end_ns = now;
	rec->ret = err ? -1 : 0;
	rec->pid = tgid;
	rec->tid = (__u32)bpf_get_current_pid_tgid();
	rec->depth = v->depth;
	rec->flags = v->flags | (exc ? TT_SPAN_PY_EXC : 0) |
		     (v->samp & TT_SAMPLE_KEPT ? 0 : TT_SPAN_UNSAMPLED);
	rec->sample_ppm = v->samp & ~TT_SAMPLE_KEPT;
}

/* The tail rules (--keep-errors, --keep-slow) for a finished span of an unpicked
 * Python trace, built in r (rec_scratch): as tt_tail_exit for native spans, and
 * sharing their buffers, so native spans nested in a primitive wait with it. Global:
 * verified once. */
__noinline int tt_py_tail(struct tt_span_caps_rec *r, int caps)
{
	struct tt_kstats *st = stats();

	if (!r)
		return 0;
	if (r->rec.span_id != r->rec.trace_key)
		return tail_child(r->rec.trace_key, r, caps, r->rec.end_ns, st);
	return tail_root(r->rec.trace_key, r->rec.ret < 0, r->rec.end_ns - r->rec.start_ns, st);
}

/* An unpicked trace's span under tail rules: kept traces' spans go to the ring
 * (streamed for userspace to decide, or a root whose trace the kernel kept) */
static __always_inline int py_end_tail(const struct tt_py_span *v, __u64 now, __u32 tgid, int err,
				       int exc, __u64 name, struct tt_kstats *st)
{
	__u32 zero = 0;
	struct tt_span_caps_rec *r = bpf_map_lookup_elem(&rec_scratch, &zero);
	int kept = 0;
	long fail;

	if (!r)
		goto full;
	py_fill(&r->rec, v, now, tgid, err, exc);
	if (exc) {
		r->rec.type = TT_REC_SPAN_CAPS;
		__builtin_memset(&r->caps, 0, sizeof(r->caps));
		if (name)
			bpf_probe_read_user_str(r->caps.strs[0], TT_STR_CAP_BYTES, (void *)name);
	}
	if (sample_tail == TT_TAIL_KERNEL) {
		kept = tt_py_tail(r, exc);
		if (kept < 0)
			return 0;
		r->rec.flags |= kept;
	}
	if (!kept && st)
		st->spans_tail++;
	if (exc)
		fail = bpf_ringbuf_output(&events, r, sizeof(*r), wake_flags(st, sizeof(*r)));
	else
		fail = bpf_ringbuf_output(&events, &r->rec, sizeof(r->rec),
					  wake_flags(st, sizeof(r->rec)));
	if (fail)
		goto full;
	if (kept && st)
		st->tail_flushed++;
	return 0;
full:
	if (st)
		st->rb_reserve_fail++;
	return 0;
}

static __always_inline int py_end(struct pt_regs *ctx, const struct tt_py_offs *o, __u32 tgid,
				  __u64 frame, __u32 event, struct tt_kstats *st)
{
	struct tt_py_key k = { .tgid = tgid, .addr = frame };
	struct tt_py_span *s = bpf_map_lookup_elem(&py_open, &k);
	__u64 now = bpf_ktime_get_ns();
	struct tt_span_caps_rec *cr;
	struct tt_span_rec *rec;
	__u64 exc = 0, flags, name = 0;
	char cls[16] = {};
	int closed = 0;
	struct tt_py_span v;

	if (!s) {
		if (event == PY_EV_UNWIND) {
			if (st)
				st->py_unwind_other++;
		} else if (st) {
			if (py_armed(o, py_read_ptr(frame + o->frame_code)))
				st->py_no_entry++;
			else
				st->py_foreign++;
		}
		return 0;
	}
	v = *s;
	if (!bpf_map_delete_elem(&py_open, &k))
		py_mark_add(tgid, frame, 0, -1);
	if (st)
		st->py_ends++;
	if (event == PY_EV_UNWIND)
		exc = PT_REGS_PARM5(ctx);
	if (exc) {
		__u64 tp = py_read_ptr(exc + 8);

		name = tp ? py_read_ptr(tp + o->type_name) : 0;
		if (name && bpf_probe_read_user_str(cls, sizeof(cls), (void *)name) == 14) {
			const char *ge = "GeneratorExit";
			int i;

			closed = 1; /* the garbage collector closed it: not an error */
			for (i = 0; i < 13; i++)
				if (cls[i] != ge[i])
					closed = 0;
		}
	}
	tt_hist_exit(v.probe_id, now - v.start_ns, exc && !closed ? -1 : 0);
	if (!(v.samp & TT_SAMPLE_KEPT)) {
		if (sample_tail != TT_TAIL_OFF)
			return py_end_tail(&v, now, tgid, exc && !closed, exc != 0, name, st);
		if (st)
			st->spans_unsampled++;
		return 0;
	}
	flags = wake_flags(st, exc ? sizeof(*cr) : sizeof(*rec));
	if (exc) {
		cr = bpf_ringbuf_reserve(&events, sizeof(*cr), 0);
		if (!cr)
			goto full;
		__builtin_memset(&cr->caps, 0, sizeof(cr->caps));
		if (name)
			bpf_probe_read_user_str(cr->caps.strs[0], TT_STR_CAP_BYTES, (void *)name);
		rec = &cr->rec;
		py_fill(rec, &v, now, tgid, !closed, 1);
		rec->type = TT_REC_SPAN_CAPS;
	} else {
		rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
		if (!rec)
			goto full;
		py_fill(rec, &v, now, tgid, 0, 0);
	}
	bpf_ringbuf_submit(rec, flags);
	return 0;
full:
	if (st)
		st->rb_reserve_fail++;
	return 0;
}

/* A hit of a process that is not a traced Python process: the agent's links are
 * shared by every process running that interpreter file (counted, filtered). */
static __always_inline struct tt_py_offs *py_proc_of(__u32 tgid)
{
	struct tt_py_offs *o = bpf_map_lookup_elem(&py_procs, &tgid);
	struct tt_follow_stats *fs;

	if (!o && (fs = follow_st()))
		fs->foreign_hits++;
	return o;
}

/* at _Py_call_instrumentation's first jcc: rdi tstate, esi event, rdx frame */
static __always_inline int py_call(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct tt_py_offs *o = py_proc_of(tgid);
	struct tt_kstats *st;

	if (!o)
		return 0;
	st = stats();
	if (st)
		st->py_hits++;
	if ((__u32)PT_REGS_PARM2(ctx) != PY_EV_START) {
		/* PY_RESUME and the like: never armed by ttatrace */
		if (st)
			st->py_foreign++;
		return 0;
	}
	return py_start(ctx, o, tgid, PT_REGS_PARM3(ctx), st);
}

/* at _Py_call_instrumentation_arg's first jcc: the same, and r8 the object */
static __always_inline int py_call_arg(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct tt_py_offs *o = py_proc_of(tgid);
	struct tt_kstats *st;
	__u32 ev;

	if (!o)
		return 0;
	st = stats();
	if (st)
		st->py_hits++;
	ev = (__u32)PT_REGS_PARM2(ctx);
	if (ev != PY_EV_RETURN && ev != PY_EV_UNWIND) {
		if (st)
			st->py_foreign++;
		return 0;
	}
	return py_end(ctx, o, tgid, PT_REGS_PARM3(ctx), ev, st);
}

/* _asyncio_Task___init__(self, args, kwargs): the task's coroutine (args[0]) joins
 * the span open on the creating thread's frame chain. */
static __always_inline int py_task(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, tid = (__u32)bpf_get_current_pid_tgid();
	struct tt_py_offs *o = py_proc_of(tgid);
	__u64 *tstate, args = PT_REGS_PARM2(ctx), coro, cur, n;
	struct tt_py_link par = {};
	struct tt_py_key k = { .tgid = tgid };
	struct tt_kstats *st;

	if (!o || !args)
		return 0;
	tstate = bpf_map_lookup_elem(&py_tstate, &tid);
	if (!tstate)
		return 0; /* no primitive ever ran on this thread: nothing to link to */
	if (o->tuple_item == 24) {
		/* ob_size and ob_item[0] in one read */
		__u64 t[2] = {};

		bpf_probe_read_user(t, sizeof(t), (void *)(args + 16));
		n = t[0];
		coro = t[1];
	} else {
		n = py_read_ptr(args + 16 /* ob_size */);
		coro = n >= 1 ? py_read_ptr(args + o->tuple_item) : 0;
	}
	if (n < 1 || !coro)
		return 0;
	cur = py_read_ptr(*tstate + o->tstate_frame);
	if (o->cframe_frame >= 0)
		cur = cur ? py_read_ptr(cur + o->cframe_frame) : 0;
	if (!cur || !py_find_parent(o, tgid, cur, &par, 1, 0, 0))
		return 0;
	k.addr = coro + o->gen_iframe;
	py_marked_put(&py_links, &k, &par, 1);
	st = stats();
	if (st)
		st->py_task_links++;
	return 0;
}

/* Perf-event uprobes (any kernel with uprobes; -p and launch before Linux 6.6) */
SEC("uprobe")
int tt_py_call(struct pt_regs *ctx)
{
	return py_call(ctx);
}

SEC("uprobe")
int tt_py_call_arg(struct pt_regs *ctx)
{
	return py_call_arg(ctx);
}

SEC("uprobe")
int tt_py_task(struct pt_regs *ctx)
{
	return py_task(ctx);
}

/* The same on uprobe_multi links (Linux 6.6+): a link per file, with a pid filter
 * (-p, launch) or shared by every process running the file (ttatrace agent); they
 * need no CAP_SYS_ADMIN. Userspace sets the expected attach type before load. */
SEC("uprobe")
int tt_py_call_multi(struct pt_regs *ctx)
{
	return py_call(ctx);
}

SEC("uprobe")
int tt_py_call_arg_multi(struct pt_regs *ctx)
{
	return py_call_arg(ctx);
}

SEC("uprobe")
int tt_py_task_multi(struct pt_regs *ctx)
{
	return py_task(ctx);
}

/* A forked child of a Python process runs the same interpreter, and its primitives
 * are the same code objects: it is a Python process before it runs. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(tt_py_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct tt_py_offs *o;

	if (ctgid == ptgid)
		return 0;
	o = bpf_map_lookup_elem(&py_procs, &ptgid);
	if (o)
		bpf_map_update_elem(&py_procs, &ctgid, o, BPF_ANY);
	return 0;
}

/* exec: the process is no longer what it was; under the agent, a process of a known
 * interpreter is a Python process from its first instruction */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(tt_py_exec, struct task_struct *p)
{
	__u32 tgid = p->tgid;
	struct inode *ino;
	struct tt_file_key fk = {};
	struct tt_py_offs *o;

	bpf_map_delete_elem(&py_procs, &tgid);
	if (!agent_mode)
		return 0;
	ino = BPF_CORE_READ(p, mm, exe_file, f_inode);
	if (!ino)
		return 0;
	fk.dev = BPF_CORE_READ(ino, i_sb, s_dev);
	fk.ino = BPF_CORE_READ(ino, i_ino);
	o = bpf_map_lookup_elem(&py_exes, &fk);
	if (o)
		bpf_map_update_elem(&py_procs, &tgid, o, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tt_py_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->signal->live.counter == 0)
		bpf_map_delete_elem(&py_procs, &tgid);
	return 0;
}

/* A native root (on_entry, no span open on its thread) made while a Python primitive
 * runs on the thread nests under it: the thread's current Python frame, then the
 * chain above it, as at a primitive's start. 1 when it joined. Global: verified once. */
__noinline int tt_py_native_parent(struct tt_stack *stk)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), cur;
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct tt_py_link par = {};
	struct tt_py_offs *o;
	__u64 *tstate;

	if (!stk)
		return 0;
	o = bpf_map_lookup_elem(&py_procs, &tgid);
	tstate = bpf_map_lookup_elem(&py_tstate, &tid);
	if (!o || !tstate)
		return 0;
	cur = py_read_ptr(*tstate + o->tstate_frame);
	if (o->cframe_frame >= 0)
		cur = cur ? py_read_ptr(cur + o->cframe_frame) : 0;
	if (!cur || !py_find_parent(o, tgid, cur, &par, 1, 0, 0))
		return 0;
	stk->trace_key = par.trace_key;
	stk->base_parent = par.span_id;
	stk->base_depth = par.depth + 1;
	stk->base_flags = TT_SPAN_INHERITED;
	stk->samp = par.samp;
	return 1;
}
