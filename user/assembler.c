/* Trace assembly. Records of one trace share a trace key (the root's span id);
 * they wait in a pending set until the root's record arrives. Same-thread children
 * always reach the ring before their root, so a root's arrival completes its trace. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "assembler.h"
#include "catalog.h"
#include "primitives.h"
#include "probes.h"
#include "w3c.h"
#include "u64map.h"

struct pending {
	uint64_t trace_key;
	uint64_t first_seq; /* arrival order, for eviction */
	uint64_t last_mono_ns;
	struct tt_span_rec *recs;
	struct tt_caps **caps; /* per record, NULL when it captured nothing */
	size_t n, cap;
};

/* Traces emitted lately, remembered so that spans finishing after their root (a
 * thread outliving its workflow) join the same trace instead of starting one, and
 * share its sampling fate. A ring of the newest ASM_RECENT. */
#define ASM_RECENT 8192
/* such spans are emitted after this long without another (not --trace-timeout:
 * their trace is known to be over) */
#define ASM_LATE_IDLE_NS 1000000000ULL

struct recent_trace {
	uint64_t key; /* trace_key; 0: free slot */
	uint8_t trace_id[16];
	bool kept; /* reached the outputs (the filter kept it) */
	bool has_prob;
	double prob; /* its tta.sampling.probability */
	char kept_by[8]; /* its tta.sampling.kept_by, "" if none */
};

struct assembler {
	struct assembler_opts o;
	struct recent_trace *recent;
	size_t recent_next;
	struct u64map *recent_by_key; /* trace_key -> struct recent_trace */
	struct u64map *pending; /* trace_key -> struct pending */
	size_t pending_spans;
	uint64_t seq;
	int64_t clock_off;
	struct assembler_stats st;
};

void tt_random_trace_id(uint8_t id[16])
{
	size_t i;
	int nz = 0;

	do {
		if (getrandom(id, 16, 0) != 16) {
			/* getrandom cannot fail for 16 bytes after boot; keep ids unique anyway */
			static uint64_t ctr;
			uint64_t a = ++ctr, b = (uint64_t)time(NULL);

			memcpy(id, &a, 8);
			memcpy(id + 8, &b, 8);
		}
		for (i = 0; i < 16; i++)
			nz |= id[i];
	} while (!nz);
}

int64_t tt_mono_to_wall_offset(void)
{
	struct timespec m1, r, m2;
	int64_t best = 0, best_gap = INT64_MAX;
	int i;

	for (i = 0; i < 5; i++) {
		int64_t mono1, mono2, real;

		clock_gettime(CLOCK_MONOTONIC, &m1);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m2);
		mono1 = m1.tv_sec * 1000000000LL + m1.tv_nsec;
		mono2 = m2.tv_sec * 1000000000LL + m2.tv_nsec;
		real = r.tv_sec * 1000000000LL + r.tv_nsec;
		if (mono2 - mono1 < best_gap) {
			best_gap = mono2 - mono1;
			best = real - (mono1 + (mono2 - mono1) / 2);
		}
	}
	return best;
}

struct assembler *assembler__new(const struct assembler_opts *opts)
{
	struct assembler *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->o = *opts;
	a->pending = u64map__new(1024);
	a->recent_by_key = u64map__new(ASM_RECENT);
	a->recent = calloc(ASM_RECENT, sizeof(*a->recent));
	if (!a->pending || !a->recent_by_key || !a->recent) {
		u64map__free(a->pending);
		u64map__free(a->recent_by_key);
		free(a->recent);
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	a->clock_off = tt_mono_to_wall_offset();
	return a;
}

static void pending_free(struct pending *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		free(p->caps[i]);
	free(p->caps);
	free(p->recs);
	free(p);
}

void assembler__free(struct assembler *a)
{
	size_t pos = 0;
	uint64_t key;
	void *val;

	if (!a)
		return;
	while (!u64map__next(a->pending, &pos, &key, &val))
		pending_free(val);
	u64map__free(a->pending);
	u64map__free(a->recent_by_key);
	free(a->recent);
	free(a);
}

/* Remembers an emitted trace (evicting the oldest). */
static void remember(struct assembler *a, uint64_t key, const struct tt_trace *t, bool kept)
{
	struct recent_trace *r = &a->recent[a->recent_next++ % ASM_RECENT];
	const struct tt_attr *p, *k;

	if (r->key)
		u64map__del(a->recent_by_key, r->key);
	memset(r, 0, sizeof(*r));
	if (u64map__put(a->recent_by_key, key, r))
		return; /* out of memory: its late spans will start a trace of their own */
	r->key = key;
	memcpy(r->trace_id, t->trace_id, 16);
	r->kept = kept;
	p = t->n_roots ? tt_span__attr(t->roots[0], "tta.sampling.probability") : NULL;
	k = t->n_roots ? tt_span__attr(t->roots[0], "tta.sampling.kept_by") : NULL;
	if (p && p->type == TT_ATTR_DOUBLE) {
		r->has_prob = true;
		r->prob = p->d;
	}
	if (k && k->type == TT_ATTR_STR)
		snprintf(r->kept_by, sizeof(r->kept_by), "%s", k->s);
}

/* Late spans carry what their trace carried about its sampling. */
static int mark_late(struct tt_trace *t, const struct recent_trace *r)
{
	size_t i;
	int err = 0;

	for (i = 0; i < t->n_spans; i++) {
		struct tt_attr at = { .key = "tta.sampling.probability", .type = TT_ATTR_DOUBLE };

		at.d = r->prob;
		if (r->has_prob && tt_span__set_attr(t, t->spans[i], &at))
			err = -ENOMEM;
		if (r->kept_by[0] && tt_span__set_str(t, t->spans[i], "tta.sampling.kept_by", r->kept_by))
			err = -ENOMEM;
	}
	return err;
}

void assembler__set_clock(struct assembler *a, int64_t mono_to_wall_ns)
{
	a->clock_off = mono_to_wall_ns;
}

static int cmp_span_start(const void *x, const void *y)
{
	const struct tt_span *a = *(const struct tt_span *const *)x;
	const struct tt_span *b = *(const struct tt_span *const *)y;

	if (a->start_ns != b->start_ns)
		return a->start_ns < b->start_ns ? -1 : 1;
	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	return a->span_id < b->span_id ? -1 : (a->span_id > b->span_id);
}

/* Captured values become attributes, typed as the capture says. */
static int apply_captures(struct tt_trace *t, struct tt_span *s, const struct tt_probe *pr,
			  const struct tt_caps *c, int64_t *nums)
{
	int i, err = 0;

	for (i = 0; i < pr->n_caps && i < TT_MAX_CAPS; i++) {
		const struct capture *cap = &pr->caps[i];
		uint64_t v = c->vals[i];
		char buf[TT_STR_CAP_BYTES + 1];

		if (c->err_mask & (1u << i)) {
			char *k = tt_arena__printf(t->arena, "%s.error", cap->name);

			err |= !k || tt_span__set_str(t, s, k, "read failed");
			continue;
		}
		if (cap->final == CAP_FINAL_READ && cap->size < 8 && cap->type == CAP_T_S64) {
			/* sign-extend from the field's own width */
			unsigned sh = 64 - 8 * cap->size;

			v = (uint64_t)(((int64_t)(v << sh)) >> sh);
		}
		nums[i] = (int64_t)v;
		if (cap->final == CAP_FINAL_STR || cap->final == CAP_FINAL_STR_PTR ||
		    cap->type == CAP_T_STR) {
			int slot = 0, j;

			/* string slots are handed out in capture order */
			for (j = 0; j < i; j++)
				if (pr->caps[j].final == CAP_FINAL_STR || pr->caps[j].final == CAP_FINAL_STR_PTR)
					slot++;
			memcpy(buf, c->strs[slot & (TT_MAX_STR_CAPS - 1)], TT_STR_CAP_BYTES);
			buf[TT_STR_CAP_BYTES] = '\0';
			err |= tt_span__set_str(t, s, cap->name, buf);
		} else if (cap->type == CAP_T_PTR) {
			char *h = tt_arena__printf(t->arena, "0x%llx", (unsigned long long)v);

			err |= !h || tt_span__set_str(t, s, cap->name, h);
		} else if (cap->type == CAP_T_BOOL) {
			err |= tt_span__set_bool(t, s, cap->name, v != 0);
		} else {
			err |= tt_span__set_int(t, s, cap->name, (int64_t)v);
		}
	}
	return err ? -ENOMEM : 0;
}

/* the catalogue's operators are the kernel's, one for one (tt_err_holds) */
_Static_assert((int)ERR_NONE == (int)TT_ERR_NONE && (int)ERR_LT == (int)TT_ERR_LT &&
		       (int)ERR_LE == (int)TT_ERR_LE && (int)ERR_GT == (int)TT_ERR_GT &&
		       (int)ERR_GE == (int)TT_ERR_GE && (int)ERR_EQ == (int)TT_ERR_EQ &&
		       (int)ERR_NE == (int)TT_ERR_NE,
	       "enum err_op must follow enum tt_err_op");

/* v's low bits sign-extended to 64 */
static int64_t sext_bits(uint64_t v, unsigned bits)
{
	return bits >= 64 ? (int64_t)v : (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/* The catalogue's error rule on the return value or a captured number. */
static int apply_error_rule(struct tt_trace *t, struct tt_span *s, const struct tt_probe *pr,
			    const int64_t *nums, const struct tt_caps *c, uint64_t raw_ret)
{
	const struct error_rule *r = &pr->cat->error;
	int64_t x;
	int i;

	if (r->none)
		s->error_ruled = true; /* no value is an error */
	if (r->op == ERR_NONE || !r->operand)
		return 0;
	s->error_ruled = true;
	if (!strcmp(r->operand, "ret")) {
		unsigned bits = ret_operand_bits(r, &pr->ret);

		/* as the kernel reads it (attach.c: err_ret_bits) */
		x = bits ? sext_bits(raw_ret, bits) : s->ret;
	} else {
		for (i = 0; i < pr->n_caps; i++)
			if (!strcmp(pr->caps[i].name, r->operand))
				break;
		if (i == pr->n_caps || !c || (c->err_mask & (1u << i)))
			return 0;
		x = nums[i];
	}
	if (!tt_err_holds((__u32)r->op, x, r->value)) {
		s->status = TT_STATUS_UNSET;
		return 0;
	}
	s->status = TT_STATUS_ERROR;
	s->status_msg = tt_arena__printf(t->arena, "%s %s %lld (%s = %lld)", r->operand,
					 err_op__text(r->op), (long long)r->value, r->operand, (long long)x);
	return tt_span__set_str(t, s, "error.type",
				r->error_type ? r->error_type :
						tt_arena__printf(t->arena, "%s=%lld", r->operand, (long long)x));
}

/* Without a catalogue rule, the return type's (errtype): a signed integer is an
 * error when negative at its width, as the kernel counted it. */
static int apply_ret_rule(struct tt_trace *t, struct tt_span *s, const struct tt_probe *pr,
			  uint64_t raw_ret)
{
	s->error_ruled = true;
	if (!tt_ret_rule_error(pr->ret.rule, raw_ret))
		return 0;
	s->status = TT_STATUS_ERROR;
	s->status_msg = tt_arena__printf(t->arena, "ret < 0 (ret = %lld, %s)", (long long)s->ret,
					 pr->ret.type);
	return tt_span__set_str(t, s, "error.type", tt_arena__printf(t->arena, "ret=%lld", (long long)s->ret));
}

/* A Python primitive that ended with an exception: its class name (the kernel
 * read the type's tp_name) is error.type. A coroutine closed unfinished (garbage
 * collected: GeneratorExit) ends without being an error. */
static int py_span_exception(struct tt_trace *t, struct tt_span *s, const struct tt_caps *c)
{
	char name[TT_STR_CAP_BYTES + 1];
	const char *dot;

	memcpy(name, c->strs[0], TT_STR_CAP_BYTES);
	name[TT_STR_CAP_BYTES] = '\0';
	dot = strrchr(name, '.');
	dot = dot ? dot + 1 : name;
	if (!strcmp(dot, "GeneratorExit"))
		return tt_span__set_bool(t, s, "tta.python.closed", true);
	s->status = TT_STATUS_ERROR;
	s->status_msg = tt_arena__strdup(t->arena, dot[0] ? dot : "exception");
	return tt_span__set_str(t, s, "error.type", dot[0] ? dot : "exception");
}

/* A root that captured a valid W3C traceparent joins that trace. Invalid headers
 * are ignored and counted, as the spec says. */
static void join_traceparent(struct assembler *a, struct tt_trace *t)
{
	const struct tt_attr *tp;
	uint8_t tid[16], flags;
	uint64_t parent;

	if (!t->n_roots)
		return;
	tp = tt_span__attr(t->roots[0], "traceparent");
	if (!tp || tp->type != TT_ATTR_STR || !tp->s[0])
		return;
	if (w3c_traceparent__parse(tp->s, tid, &parent, &flags)) {
		a->st.invalid_traceparents++;
		return;
	}
	memcpy(t->trace_id, tid, 16);
	t->remote_parent_span_id = parent;
	t->roots[0]->parent_span_id = parent;
	tt_span__set_bool(t, t->roots[0], "tta.traceparent.sampled", w3c_sampled(flags));
}

/* Builds the trace from a pending set and hands it to every output. */
static int emit(struct assembler *a, struct pending *p, int complete)
{
	struct tt_span *spans = NULL, **order = NULL, **roots = NULL, **last_child = NULL;
	struct u64map *by_id = NULL;
	struct tt_trace t = {};
	size_t i, n = p->n, nroots = 0;
	int err = 0;
	/* no root here, and its trace was emitted: spans that finished after it */
	struct recent_trace *late = complete ? NULL : u64map__get(a->recent_by_key, p->trace_key);

	t.arena = tt_arena__new();
	if (!t.arena)
		return -ENOMEM;

	spans = calloc(n, sizeof(*spans));
	order = calloc(n, sizeof(*order));
	roots = calloc(n, sizeof(*roots));
	last_child = calloc(n, sizeof(*last_child));
	by_id = u64map__new(n);
	if (!spans || !order || !roots || !last_child || !by_id) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		const struct tt_span_rec *r = &p->recs[i];
		struct tt_span *s = &spans[i];
		const struct tt_probe *pr = a->o.probe ? a->o.probe(a->o.ctx, r->probe_id) : NULL;

		s->span_id = r->span_id;
		s->parent_span_id = r->parent_span_id;
		s->start_ns = r->start_ns + a->clock_off;
		s->end_ns = r->end_ns + a->clock_off;
		/* the return register is 64-bit; most functions return int, whose
		 * negative values arrive zero-extended: sign-extend what fits 32 bits */
		s->ret = ((uint64_t)r->ret >> 32) == 0 ? (int64_t)(int32_t)(uint32_t)r->ret : r->ret;
		/* a signed return type says the width: a long's 4294967295 stays
		 * positive, an int's upper half is ignored */
		if (pr && ret_operand_bits(NULL, &pr->ret))
			s->ret = sext_bits(r->ret, ret_operand_bits(NULL, &pr->ret));
		s->pid = r->pid;
		s->tid = r->tid;
		s->probe_id = r->probe_id;
		s->depth = r->depth;
		s->flags = r->flags;
		s->name = pr ? pr->name : "[unknown probe]";
		s->probe = pr ? pr->label : "[unknown probe]";
		s->kind = pr ? pr->kind : "step";
		s->role = pr && pr->cat ? (int)pr->cat->role : 0;
		if (pr && pr->cat) {
			int64_t nums[TT_MAX_CAPS] = {};

			if (p->caps[i] && apply_captures(&t, s, pr, p->caps[i], nums)) {
				err = -ENOMEM;
				goto cleanup;
			}
			apply_error_rule(&t, s, pr, nums, p->caps[i], r->ret);
		}
		if (pr && !s->error_ruled && !(r->flags & TT_SPAN_PY_EXC) &&
		    apply_ret_rule(&t, s, pr, r->ret)) {
			err = -ENOMEM;
			goto cleanup;
		}
		if (pr && pr->n_attrs) {
			size_t k;

			for (k = 0; k < pr->n_attrs; k++)
				err |= tt_span__set_attr(&t, s, &pr->attrs[k]);
		}
		if ((r->flags & TT_SPAN_PY_EXC) && p->caps[i] && (err |= py_span_exception(&t, s, p->caps[i]))) {
			err = -ENOMEM;
			goto cleanup;
		}
		order[i] = s;
		/* a duplicated span id would corrupt links: keep the first */
		if (!u64map__get(by_id, s->span_id) && u64map__put(by_id, s->span_id, s)) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	qsort(order, n, sizeof(*order), cmp_span_start);
	for (i = 0; i < n; i++) {
		struct tt_span *s = order[i];
		struct tt_span *par = s->parent_span_id ? u64map__get(by_id, s->parent_span_id) : NULL;

		if (par == s)
			par = NULL;
		if (!par) {
			roots[nroots++] = s;
			continue;
		}
		s->parent = par;
		if (last_child[par - spans])
			last_child[par - spans]->next_sibling = s;
		else
			par->first_child = s;
		last_child[par - spans] = s;
	}
	/* the trace's own root first, whatever its start time */
	for (i = 0; i < nroots; i++) {
		if (roots[i]->span_id == p->trace_key && i) {
			struct tt_span *tmp = roots[0];

			roots[0] = roots[i];
			roots[i] = tmp;
			break;
		}
	}
	tt_random_trace_id(t.trace_id);
	t.spans = order;
	t.n_spans = n;
	t.roots = roots;
	t.n_roots = nroots;
	join_traceparent(a, &t);
	if (late) {
		memcpy(t.trace_id, late->trace_id, 16);
		t.late = true;
	}
	if (a->o.annotate)
		primitives__annotate(&t);
	t.complete = complete;
	t.proc = a->o.process && n ? a->o.process(a->o.ctx, p->recs[0].pid) : NULL;
	if (late) {
		/* the trace's verdict stands: its own root decided it */
		if (!late->kept) {
			a->st.traces_filtered++;
			goto cleanup;
		}
		if (mark_late(&t, late))
			a->st.sink_errors++;
	} else if (a->o.filter) {
		int keep = a->o.filter(a->o.filter_ctx, &t);

		if (keep == 0) {
			a->st.traces_filtered++;
			if (complete)
				remember(a, p->trace_key, &t, false);
			goto cleanup;
		}
		if (keep < 0)
			a->st.sink_errors++;
	}
	if (complete)
		remember(a, p->trace_key, &t, true);
	for (i = 0; i < a->o.n_sinks; i++) {
		struct tt_sink *sk = a->o.sinks[i];

		if (sk && sk->trace && sk->trace(sk, &t))
			a->st.sink_errors++;
	}
	a->st.spans += n;
	a->st.traces++;
	if (late)
		a->st.traces_late++;
	else if (!complete)
		a->st.traces_incomplete++;
cleanup:
	tt_arena__free(t.arena);
	u64map__free(by_id);
	free(last_child);
	free(roots);
	free(order);
	free(spans);
	return err;
}

static int finish(struct assembler *a, struct pending *p, int complete)
{
	int err;

	u64map__del(a->pending, p->trace_key);
	a->pending_spans -= p->n;
	err = emit(a, p, complete);
	pending_free(p);
	return err;
}

/* Emits the oldest pending trace (by first arrival), incomplete. */
static int evict_oldest(struct assembler *a)
{
	struct pending *oldest = NULL;
	size_t pos = 0;
	uint64_t key;
	void *val;

	while (!u64map__next(a->pending, &pos, &key, &val)) {
		struct pending *p = val;

		if (!oldest || p->first_seq < oldest->first_seq)
			oldest = p;
	}
	if (!oldest)
		return -ENOENT;
	a->st.evicted_traces++;
	return finish(a, oldest, 0);
}

int assembler__add(struct assembler *a, const void *data, size_t size)
{
	const struct tt_span_rec *r = data;
	struct pending *p;

	a->st.records++;
	/* the ring adds an 8-byte header and rounds every record up to 8 bytes */
	a->st.ring_bytes += 8 + ((size + 7) & ~(size_t)7);
	if (size < sizeof(*r) || (r->type != TT_REC_SPAN && r->type != TT_REC_SPAN_CAPS) ||
	    (r->type == TT_REC_SPAN_CAPS && size < sizeof(*r) + sizeof(struct tt_caps)) ||
	    !r->span_id || !r->trace_key) {
		a->st.bad_records++;
		return -EINVAL;
	}
	p = u64map__get(a->pending, r->trace_key);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p || u64map__put(a->pending, r->trace_key, p)) {
			free(p);
			return -ENOMEM;
		}
		p->trace_key = r->trace_key;
		p->first_seq = a->seq++;
	}
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		struct tt_span_rec *nr = realloc(p->recs, ncap * sizeof(*nr));
		struct tt_caps **nc;

		if (!nr)
			return -ENOMEM;
		p->recs = nr;
		nc = realloc(p->caps, ncap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		p->caps = nc;
		p->cap = ncap;
	}
	p->caps[p->n] = NULL;
	if (r->type == TT_REC_SPAN_CAPS) {
		p->caps[p->n] = malloc(sizeof(struct tt_caps));
		if (!p->caps[p->n])
			return -ENOMEM;
		memcpy(p->caps[p->n], r + 1, sizeof(struct tt_caps));
	}
	p->recs[p->n++] = *r;
	p->last_mono_ns = r->end_ns;
	if (r->end_ns > a->st.newest_end_ns)
		a->st.newest_end_ns = r->end_ns;
	a->pending_spans++;

	if (r->span_id == r->trace_key)
		return finish(a, p, 1);
	while (a->o.max_pending_spans && a->pending_spans > a->o.max_pending_spans)
		if (evict_oldest(a))
			break;
	return 0;
}

int assembler__expire(struct assembler *a, uint64_t now_mono_ns)
{
	struct pending **due = NULL;
	size_t pos = 0, n = 0, i;
	uint64_t key;
	void *val;
	int err = 0;

	if (!a->o.idle_timeout_ns || !u64map__count(a->pending))
		return 0;
	due = calloc(u64map__count(a->pending), sizeof(*due));
	if (!due)
		return -ENOMEM;
	while (!u64map__next(a->pending, &pos, &key, &val)) {
		struct pending *p = val;

		uint64_t idle = a->o.idle_timeout_ns;

		if (idle > ASM_LATE_IDLE_NS && u64map__get(a->recent_by_key, p->trace_key))
			idle = ASM_LATE_IDLE_NS;
		if (now_mono_ns > p->last_mono_ns && now_mono_ns - p->last_mono_ns > idle)
			due[n++] = p;
	}
	for (i = 0; i < n; i++) {
		int e = finish(a, due[i], 0);

		if (e && !err)
			err = e;
	}
	free(due);
	return err;
}

static int cmp_pending_seq(const void *x, const void *y)
{
	const struct pending *a = *(const struct pending *const *)x;
	const struct pending *b = *(const struct pending *const *)y;

	return a->first_seq < b->first_seq ? -1 : (a->first_seq > b->first_seq);
}

int assembler__flush(struct assembler *a)
{
	struct pending **all;
	size_t pos = 0, n = 0, i;
	uint64_t key;
	void *val;
	int err = 0;

	if (!u64map__count(a->pending))
		return 0;
	all = calloc(u64map__count(a->pending), sizeof(*all));
	if (!all)
		return -ENOMEM;
	while (!u64map__next(a->pending, &pos, &key, &val))
		all[n++] = val;
	qsort(all, n, sizeof(*all), cmp_pending_seq);
	for (i = 0; i < n; i++) {
		int e = finish(a, all[i], 0);

		if (e && !err)
			err = e;
	}
	free(all);
	return err;
}

size_t assembler__pending_spans(const struct assembler *a)
{
	return a->pending_spans;
}

void assembler__stats(const struct assembler *a, struct assembler_stats *out)
{
	*out = a->st;
}
