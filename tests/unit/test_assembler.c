/* Unit tests for trace assembly: synthetic kernel span records fed through
 * assembler__add (the production entry point), finished traces captured by a
 * sink that copies what it sees. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assembler.h"
#include "probes.h"

#define MAX_CAP_TRACES 64
#define MAX_CAP_SPANS 32

/* What the sink saw of one span; links are kept as span ids (0: none) because
 * the tt_span memory is gone once trace() returns. */
struct cap_span {
	char name[64];
	char kind[32];
	uint64_t span_id, parent_id, first_child_id, next_sibling_id;
	uint64_t start_ns, end_ns;
	int64_t ret;
	uint32_t pid, tid;
	uint16_t depth;
	char mark[32]; /* the "test.mark" attribute, "" when absent */
};

struct cap_trace {
	uint8_t trace_id[16];
	bool complete;
	bool late;
	size_t n_spans, n_roots;
	uint64_t root_ids[MAX_CAP_SPANS];
	struct cap_span spans[MAX_CAP_SPANS]; /* in t->spans order */
};

struct capture {
	struct tt_sink sink;
	struct cap_trace traces[MAX_CAP_TRACES];
	size_t n;
	bool links_ok; /* every parent/child/sibling pointer pointed into t->spans */
};

static bool in_trace(const struct tt_trace *t, const struct tt_span *s)
{
	for (size_t i = 0; i < t->n_spans; i++)
		if (t->spans[i] == s)
			return true;
	return false;
}

static int cap_trace(struct tt_sink *sink, const struct tt_trace *t)
{
	struct capture *c = sink->ctx;
	struct cap_trace *ct;

	if (c->n == MAX_CAP_TRACES || t->n_spans > MAX_CAP_SPANS)
		return -ENOSPC;
	ct = &c->traces[c->n++];
	memcpy(ct->trace_id, t->trace_id, 16);
	ct->complete = t->complete;
	ct->late = t->late;
	ct->n_spans = t->n_spans;
	ct->n_roots = t->n_roots;
	for (size_t i = 0; i < t->n_roots; i++) {
		ct->root_ids[i] = t->roots[i]->span_id;
		if (t->roots[i]->parent)
			c->links_ok = false;
	}
	for (size_t i = 0; i < t->n_spans; i++) {
		const struct tt_span *s = t->spans[i];
		struct cap_span *cs = &ct->spans[i];

		snprintf(cs->name, sizeof(cs->name), "%s", s->name ? s->name : "(null)");
		snprintf(cs->kind, sizeof(cs->kind), "%s", s->kind ? s->kind : "(null)");
		cs->span_id = s->span_id;
		cs->parent_id = s->parent ? s->parent->span_id : 0;
		cs->first_child_id = s->first_child ? s->first_child->span_id : 0;
		cs->next_sibling_id = s->next_sibling ? s->next_sibling->span_id : 0;
		cs->start_ns = s->start_ns;
		cs->end_ns = s->end_ns;
		cs->ret = s->ret;
		cs->pid = s->pid;
		cs->tid = s->tid;
		cs->depth = s->depth;
		{
			const struct tt_attr *m = tt_span__attr(s, "test.mark");

			snprintf(cs->mark, sizeof(cs->mark), "%s",
				 m && m->type == TT_ATTR_STR ? m->s : "");
		}
		if ((s->parent && !in_trace(t, s->parent)) ||
		    (s->first_child && !in_trace(t, s->first_child)) ||
		    (s->next_sibling && !in_trace(t, s->next_sibling)))
			c->links_ok = false;
	}
	return 0;
}

static const struct cap_span *cap_find(const struct cap_trace *ct, uint64_t span_id)
{
	for (size_t i = 0; i < ct->n_spans; i++)
		if (ct->spans[i].span_id == span_id)
			return &ct->spans[i];
	return NULL;
}

/* The probe table the records refer to: ids 0..3. */
static struct tt_probe probes[] = {
	{ .id = 0, .label = "demo:run_workflow", .name = "run_workflow", .kind = "workflow" },
	{ .id = 1, .label = "demo:fetch", .name = "fetch", .kind = "step" },
	{ .id = 2, .label = "demo:parse", .name = "parse", .kind = "step" },
	{ .id = 3, .label = "demo:retry", .name = "retry", .kind = "retry" },
};

static const struct tt_probe *probe_lookup(void *ctx, uint32_t id)
{
	(void)ctx;
	return id < sizeof(probes) / sizeof(probes[0]) ? &probes[id] : NULL;
}

struct fixture {
	struct capture cap;
	struct tt_sink *sinks[1];
	struct assembler_opts opts;
	struct assembler *a;
};

static struct fixture *fixture_new(uint64_t idle_timeout_ns, size_t max_pending)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->cap.sink.name = "capture";
	f->cap.sink.trace = cap_trace;
	f->cap.sink.ctx = &f->cap;
	f->cap.links_ok = true;
	f->sinks[0] = &f->cap.sink;
	f->opts.probe = probe_lookup;
	f->opts.sinks = f->sinks;
	f->opts.n_sinks = 1;
	f->opts.idle_timeout_ns = idle_timeout_ns;
	f->opts.max_pending_spans = max_pending;
	f->a = assembler__new(&f->opts);
	assert_non_null(f->a);
	/* a fixed clock offset of 0 keeps start times equal to the records' */
	assembler__set_clock(f->a, 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	assembler__free(f->a);
	free(f);
}

static struct tt_span_rec rec(uint32_t probe, uint64_t id, uint64_t parent, uint64_t key,
			      uint64_t start, uint64_t end, uint16_t depth, uint32_t pid, uint32_t tid)
{
	struct tt_span_rec r = {
		.type = TT_REC_SPAN,
		.probe_id = probe,
		.span_id = id,
		.parent_span_id = parent,
		.trace_key = key,
		.start_ns = start,
		.end_ns = end,
		.pid = pid,
		.tid = tid,
		.depth = depth,
		.flags = id == key ? TT_SPAN_ROOT : 0,
	};
	return r;
}

static void add(struct fixture *f, struct tt_span_rec r)
{
	assert_int_equal(assembler__add(f->a, &r, sizeof(r)), 0);
}

/* root(100) -> fetch(200) -> parse(300), plus a second child of the root,
 * retry(201), that starts after fetch; records arrive in exit order. */
static void test_nesting_three_deep(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	const struct cap_trace *t;
	const struct cap_span *root, *fetch, *parse, *retry;
	struct assembler_stats st;

	(void)state;
	add(f, rec(2, 300, 200, 100, 1200, 1800, 2, 7, 7));
	add(f, rec(1, 200, 100, 100, 1100, 1900, 1, 7, 7));
	add(f, rec(3, 201, 100, 100, 2000, 2500, 1, 7, 7));
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(assembler__pending_spans(f->a), 3);
	add(f, rec(0, 100, 0, 100, 1000, 3000, 0, 7, 7));
	assert_int_equal(f->cap.n, 1);
	assert_int_equal(assembler__pending_spans(f->a), 0);
	assert_true(f->cap.links_ok);

	t = &f->cap.traces[0];
	assert_true(t->complete);
	assert_int_equal(t->n_spans, 4);
	assert_int_equal(t->n_roots, 1);
	assert_int_equal(t->root_ids[0], 100);
	/* t->spans is ordered by start time */
	assert_int_equal(t->spans[0].span_id, 100);
	assert_int_equal(t->spans[1].span_id, 200);
	assert_int_equal(t->spans[2].span_id, 300);
	assert_int_equal(t->spans[3].span_id, 201);

	root = cap_find(t, 100);
	fetch = cap_find(t, 200);
	parse = cap_find(t, 300);
	retry = cap_find(t, 201);
	assert_non_null(root);
	assert_non_null(fetch);
	assert_non_null(parse);
	assert_non_null(retry);
	assert_string_equal(root->name, "run_workflow");
	assert_string_equal(root->kind, "workflow");
	assert_string_equal(fetch->name, "fetch");
	assert_string_equal(parse->name, "parse");
	assert_string_equal(retry->name, "retry");
	assert_string_equal(retry->kind, "retry");

	assert_int_equal(root->parent_id, 0);
	assert_int_equal(fetch->parent_id, 100);
	assert_int_equal(parse->parent_id, 200);
	assert_int_equal(retry->parent_id, 100);
	/* children by start time: fetch before retry although retry's record came later
	 * than fetch's and before the root's */
	assert_int_equal(root->first_child_id, 200);
	assert_int_equal(fetch->next_sibling_id, 201);
	assert_int_equal(retry->next_sibling_id, 0);
	assert_int_equal(fetch->first_child_id, 300);
	assert_int_equal(parse->first_child_id, 0);
	assert_int_equal(parse->next_sibling_id, 0);
	assert_int_equal(root->depth, 0);
	assert_int_equal(fetch->depth, 1);
	assert_int_equal(parse->depth, 2);
	assert_int_equal(root->start_ns, 1000);
	assert_int_equal(root->end_ns, 3000);

	assembler__stats(f->a, &st);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.bad_records, 0);
	assert_int_equal(st.spans, 4);
	assert_int_equal(st.traces, 1);
	assert_int_equal(st.traces_incomplete, 0);
	fixture_free(f);
}

/* Children that arrive in reverse start order still end up sorted. */
static void test_sibling_order_reversed_arrival(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	const struct cap_trace *t;

	(void)state;
	add(f, rec(1, 13, 10, 10, 700, 800, 1, 1, 1));
	add(f, rec(1, 12, 10, 10, 400, 500, 1, 1, 1));
	add(f, rec(1, 11, 10, 10, 100, 200, 1, 1, 1));
	add(f, rec(0, 10, 0, 10, 50, 900, 0, 1, 1));
	assert_int_equal(f->cap.n, 1);
	t = &f->cap.traces[0];
	assert_int_equal(cap_find(t, 10)->first_child_id, 11);
	assert_int_equal(cap_find(t, 11)->next_sibling_id, 12);
	assert_int_equal(cap_find(t, 12)->next_sibling_id, 13);
	assert_int_equal(cap_find(t, 13)->next_sibling_id, 0);
	fixture_free(f);
}

/* Two threads' traces interleave in the ring; each trace gets only its spans. */
static void test_two_threads_interleaved(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	const struct cap_trace *ta, *tb;

	(void)state;
	add(f, rec(1, 0xa1, 0xa0, 0xa0, 110, 150, 1, 5, 51));
	add(f, rec(1, 0xb1, 0xb0, 0xb0, 120, 160, 1, 5, 52));
	add(f, rec(2, 0xa2, 0xa0, 0xa0, 160, 190, 1, 5, 51));
	add(f, rec(2, 0xb2, 0xb0, 0xb0, 170, 195, 1, 5, 52));
	add(f, rec(0, 0xb0, 0, 0xb0, 115, 200, 0, 5, 52));
	assert_int_equal(f->cap.n, 1);
	assert_int_equal(assembler__pending_spans(f->a), 2);
	add(f, rec(0, 0xa0, 0, 0xa0, 100, 210, 0, 5, 51));
	assert_int_equal(f->cap.n, 2);
	assert_true(f->cap.links_ok);

	tb = &f->cap.traces[0];
	ta = &f->cap.traces[1];
	assert_int_equal(tb->n_spans, 3);
	assert_int_equal(ta->n_spans, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(tb->spans[i].span_id >> 4, 0xb);
		assert_int_equal(tb->spans[i].tid, 52);
		assert_int_equal(ta->spans[i].span_id >> 4, 0xa);
		assert_int_equal(ta->spans[i].tid, 51);
	}
	assert_int_equal(ta->root_ids[0], 0xa0);
	assert_int_equal(tb->root_ids[0], 0xb0);
	assert_int_equal(cap_find(ta, 0xa0)->first_child_id, 0xa1);
	assert_int_equal(cap_find(ta, 0xa1)->next_sibling_id, 0xa2);
	assert_int_equal(cap_find(tb, 0xb0)->first_child_id, 0xb1);
	assert_int_equal(cap_find(tb, 0xb1)->next_sibling_id, 0xb2);
	assert_true(ta->complete);
	assert_true(tb->complete);
	fixture_free(f);
}

/* Records whose root never arrives (target died, or exits without entries):
 * flush emits them incomplete, the orphans as roots. */
static void test_missing_root_flushed_incomplete(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	const struct cap_trace *t;
	struct assembler_stats st;

	(void)state;
	/* 200 and 201 are children of the missing root 100; 300 is a child of 200 */
	add(f, rec(2, 300, 200, 100, 1200, 1300, 2, 9, 9));
	add(f, rec(1, 200, 100, 100, 1100, 1400, 1, 9, 9));
	add(f, rec(1, 201, 100, 100, 1500, 1600, 1, 9, 9));
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(assembler__flush(f->a), 0);
	assert_int_equal(f->cap.n, 1);
	assert_true(f->cap.links_ok);
	t = &f->cap.traces[0];
	assert_false(t->complete);
	assert_int_equal(t->n_spans, 3);
	/* 200 and 201 lost their parent; 300 keeps its own */
	assert_int_equal(t->n_roots, 2);
	assert_int_equal(t->root_ids[0], 200);
	assert_int_equal(t->root_ids[1], 201);
	assert_int_equal(cap_find(t, 300)->parent_id, 200);
	assert_int_equal(cap_find(t, 200)->parent_id, 0);
	assert_int_equal(cap_find(t, 201)->parent_id, 0);
	assert_int_equal(assembler__pending_spans(f->a), 0);
	assembler__stats(f->a, &st);
	assert_int_equal(st.traces, 1);
	assert_int_equal(st.traces_incomplete, 1);
	/* a second flush has nothing left */
	assert_int_equal(assembler__flush(f->a), 0);
	assert_int_equal(f->cap.n, 1);
	fixture_free(f);
}

/* A lost child record (ring buffer full) does not hold its trace back. */
static void test_dropped_child(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	const struct cap_trace *t;

	(void)state;
	/* 201 (child of 100) was dropped; its child 301 still arrived */
	add(f, rec(1, 200, 100, 100, 110, 120, 1, 3, 3));
	add(f, rec(2, 301, 201, 100, 140, 150, 2, 3, 3));
	add(f, rec(0, 100, 0, 100, 100, 200, 0, 3, 3));
	assert_int_equal(f->cap.n, 1);
	t = &f->cap.traces[0];
	assert_true(t->complete);
	assert_int_equal(t->n_spans, 3);
	assert_int_equal(t->root_ids[0], 100);
	assert_int_equal(t->n_roots, 2);
	assert_int_equal(t->root_ids[1], 301);
	assert_int_equal(cap_find(t, 100)->first_child_id, 200);
	assert_int_equal(cap_find(t, 200)->next_sibling_id, 0);
	assert_int_equal(assembler__pending_spans(f->a), 0);
	fixture_free(f);
}

/* The same pid reused by a new process: different trace keys, separate traces. */
static void test_pid_reuse(void **state)
{
	struct fixture *f = fixture_new(0, 0);

	(void)state;
	add(f, rec(1, 0x11, 0x10, 0x10, 10, 20, 1, 4242, 4242));
	add(f, rec(0, 0x10, 0, 0x10, 5, 30, 0, 4242, 4242));
	add(f, rec(1, 0x21, 0x20, 0x20, 10, 20, 1, 4242, 4242));
	add(f, rec(0, 0x20, 0, 0x20, 5, 30, 0, 4242, 4242));
	assert_int_equal(f->cap.n, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct cap_trace *t = &f->cap.traces[i];
		uint64_t key = i ? 0x20 : 0x10;

		assert_true(t->complete);
		assert_int_equal(t->n_spans, 2);
		assert_int_equal(t->n_roots, 1);
		assert_int_equal(t->root_ids[0], key);
		assert_int_equal(cap_find(t, key + 1)->parent_id, key);
		assert_int_equal(t->spans[0].pid, 4242);
	}
	assert_memory_not_equal(f->cap.traces[0].trace_id, f->cap.traces[1].trace_id, 16);
	fixture_free(f);
}

static void test_malformed_records(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	struct tt_span_rec r = rec(0, 100, 0, 100, 1, 2, 0, 1, 1);
	struct assembler_stats st;
	unsigned char big[sizeof(r) + 16];

	(void)state;
	assert_int_equal(assembler__add(f->a, &r, sizeof(r) - 1), -EINVAL);
	assert_int_equal(assembler__add(f->a, &r, 0), -EINVAL);
	r.type = 7;
	assert_int_equal(assembler__add(f->a, &r, sizeof(r)), -EINVAL);
	r.type = TT_REC_SPAN;
	r.span_id = 0;
	assert_int_equal(assembler__add(f->a, &r, sizeof(r)), -EINVAL);
	r.span_id = 100;
	r.trace_key = 0;
	assert_int_equal(assembler__add(f->a, &r, sizeof(r)), -EINVAL);
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(assembler__pending_spans(f->a), 0);
	assembler__stats(f->a, &st);
	assert_int_equal(st.records, 5);
	assert_int_equal(st.bad_records, 5);
	assert_int_equal(st.traces, 0);

	/* not fatal: a good record afterwards still works; a longer record (a newer
	 * kernel side with extra fields) is accepted */
	r.trace_key = 100;
	memset(big, 0xee, sizeof(big));
	memcpy(big, &r, sizeof(r));
	assert_int_equal(assembler__add(f->a, big, sizeof(big)), 0);
	assert_int_equal(f->cap.n, 1);
	assert_true(f->cap.traces[0].complete);
	assembler__stats(f->a, &st);
	assert_int_equal(st.records, 6);
	assert_int_equal(st.bad_records, 5);
	assert_int_equal(st.traces, 1);
	fixture_free(f);
}

/* An idle trace without its root is given up; a fresh one is kept. */
static void test_expire_idle(void **state)
{
	struct fixture *f = fixture_new(1000, 0);
	struct assembler_stats st;

	(void)state;
	add(f, rec(1, 0x101, 0x100, 0x100, 100, 200, 1, 1, 1)); /* last seen at 200 */
	add(f, rec(1, 0x201, 0x200, 0x200, 2000, 5000, 1, 1, 2)); /* last seen at 5000 */
	assert_int_equal(assembler__expire(f->a, 1100), 0);
	assert_int_equal(f->cap.n, 0); /* 900 idle: not past the 1000 timeout */
	assert_int_equal(assembler__expire(f->a, 5500), 0);
	assert_int_equal(f->cap.n, 1);
	assert_false(f->cap.traces[0].complete);
	assert_int_equal(f->cap.traces[0].n_spans, 1);
	assert_int_equal(f->cap.traces[0].spans[0].span_id, 0x101);
	assert_int_equal(assembler__pending_spans(f->a), 1);
	/* the fresh trace still completes normally */
	add(f, rec(0, 0x200, 0, 0x200, 1900, 5100, 0, 1, 2));
	assert_int_equal(f->cap.n, 2);
	assert_true(f->cap.traces[1].complete);
	assert_int_equal(f->cap.traces[1].n_spans, 2);
	assembler__stats(f->a, &st);
	assert_int_equal(st.traces_incomplete, 1);
	assert_int_equal(st.evicted_traces, 0);
	fixture_free(f);
}

static void test_expire_disabled(void **state)
{
	struct fixture *f = fixture_new(0, 0);

	(void)state;
	add(f, rec(1, 0x101, 0x100, 0x100, 100, 200, 1, 1, 1));
	assert_int_equal(assembler__expire(f->a, UINT64_MAX), 0);
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(assembler__pending_spans(f->a), 1);
	fixture_free(f);
}

/* Past max_pending_spans the oldest trace goes out incomplete. */
static void test_max_pending_eviction(void **state)
{
	struct fixture *f = fixture_new(0, 3);
	struct assembler_stats st;

	(void)state;
	add(f, rec(1, 0x11, 0x10, 0x10, 1, 2, 1, 1, 1));
	add(f, rec(1, 0x12, 0x10, 0x10, 3, 4, 1, 1, 1));
	add(f, rec(1, 0x21, 0x20, 0x20, 1, 2, 1, 1, 2));
	assert_int_equal(f->cap.n, 0);
	add(f, rec(1, 0x22, 0x20, 0x20, 3, 4, 1, 1, 2)); /* 4 > 3: trace 0x10 goes */
	assert_int_equal(f->cap.n, 1);
	assert_false(f->cap.traces[0].complete);
	assert_int_equal(f->cap.traces[0].n_spans, 2);
	assert_int_equal(f->cap.traces[0].spans[0].span_id, 0x11);
	assert_int_equal(f->cap.traces[0].spans[1].span_id, 0x12);
	assert_int_equal(assembler__pending_spans(f->a), 2);
	assembler__stats(f->a, &st);
	assert_int_equal(st.evicted_traces, 1);
	assert_int_equal(st.traces_incomplete, 1);
	add(f, rec(0, 0x20, 0, 0x20, 0, 5, 0, 1, 2));
	assert_int_equal(f->cap.n, 2);
	assert_true(f->cap.traces[1].complete);
	assert_int_equal(f->cap.traces[1].n_spans, 3);
	assembler__stats(f->a, &st);
	assert_int_equal(st.evicted_traces, 1);
	fixture_free(f);
}

static void test_wall_clock(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	const int64_t off = 1700000000000000000LL;

	(void)state;
	assembler__set_clock(f->a, off);
	add(f, rec(1, 2, 1, 1, 1500, 1700, 1, 1, 1));
	add(f, rec(0, 1, 0, 1, 1000, 2000, 0, 1, 1));
	assert_int_equal(f->cap.n, 1);
	assert_int_equal(cap_find(&f->cap.traces[0], 1)->start_ns, 1000 + off);
	assert_int_equal(cap_find(&f->cap.traces[0], 1)->end_ns, 2000 + off);
	assert_int_equal(cap_find(&f->cap.traces[0], 2)->start_ns, 1500 + off);
	assert_int_equal(cap_find(&f->cap.traces[0], 2)->end_ns, 1700 + off);
	fixture_free(f);
}

static void test_default_clock_is_wall(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	int64_t off = tt_mono_to_wall_offset();

	(void)state;
	/* the measured offset is the Unix time at boot: after 2020 on any real machine */
	assert_true(off > 1577836800LL * 1000000000LL);
	assembler__free(f->a);
	f->a = assembler__new(&f->opts);
	assert_non_null(f->a);
	add(f, rec(0, 1, 0, 1, 1000, 2000, 0, 1, 1));
	assert_int_equal(f->cap.n, 1);
	/* the assembler measured the same offset, to within 10 ms */
	assert_true(llabs((int64_t)f->cap.traces[0].spans[0].start_ns - (1000 + off)) < 10000000LL);
	fixture_free(f);
}

static void test_ret_sign_extension(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	struct tt_span_rec r;
	const struct cap_trace *t;

	(void)state;
	r = rec(1, 2, 1, 1, 10, 20, 1, 1, 1);
	r.ret = (int64_t)0xfffffff5ULL; /* int -11 zero-extended in rax */
	add(f, r);
	r = rec(1, 3, 1, 1, 30, 40, 1, 1, 1);
	r.ret = 0x7f0000001000LL; /* a pointer */
	add(f, r);
	r = rec(1, 4, 1, 1, 50, 60, 1, 1, 1);
	r.ret = -1; /* a genuine 64-bit -1 */
	add(f, r);
	r = rec(0, 1, 0, 1, 0, 100, 0, 1, 1);
	r.ret = 42;
	add(f, r);
	assert_int_equal(f->cap.n, 1);
	t = &f->cap.traces[0];
	assert_int_equal(cap_find(t, 2)->ret, -11);
	assert_int_equal(cap_find(t, 3)->ret, 0x7f0000001000LL);
	assert_int_equal(cap_find(t, 4)->ret, -1);
	assert_int_equal(cap_find(t, 1)->ret, 42);
	fixture_free(f);
}

static void test_trace_ids(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	static const uint8_t zero[16];

	(void)state;
	for (uint64_t k = 1; k <= 20; k++)
		add(f, rec(0, k, 0, k, k, k + 1, 0, 1, 1));
	assert_int_equal(f->cap.n, 20);
	for (size_t i = 0; i < 20; i++) {
		assert_memory_not_equal(f->cap.traces[i].trace_id, zero, 16);
		for (size_t j = 0; j < i; j++)
			assert_memory_not_equal(f->cap.traces[i].trace_id, f->cap.traces[j].trace_id, 16);
	}
	fixture_free(f);
}

/* Unknown probe ids still give a span, with a placeholder name. */
static void test_unknown_probe(void **state)
{
	struct fixture *f = fixture_new(0, 0);

	(void)state;
	add(f, rec(999, 1, 0, 1, 0, 1, 0, 1, 1));
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(f->cap.traces[0].spans[0].name, "[unknown probe]");
	assert_string_equal(f->cap.traces[0].spans[0].kind, "step");
	fixture_free(f);
}

/* The probe table the collector really uses works as the lookup. */
static const struct tt_probe *table_lookup(void *ctx, uint32_t id)
{
	return probe_table__get(ctx, id);
}

static void test_probe_table_lookup(void **state)
{
	struct probe_table *pt = probe_table__new();
	struct tt_probe *p0, *p1;
	struct fixture *f;

	(void)state;
	assert_non_null(pt);
	p0 = probe_table__add(pt, 77, "/usr/bin/demo", "tta_workflow", 0x1000, 0x401000, false);
	p1 = probe_table__add(pt, 77, "/usr/bin/demo", "tta_step", 0x2000, 0x402000, false);
	assert_non_null(p0);
	assert_non_null(p1);
	assert_int_not_equal(p0->id, p1->id);
	f = fixture_new(0, 0);
	assembler__free(f->a);
	f->opts.probe = table_lookup;
	f->opts.ctx = pt;
	f->a = assembler__new(&f->opts);
	assert_non_null(f->a);
	add(f, rec(p1->id, 2, 1, 1, 5, 6, 1, 77, 77));
	add(f, rec(p0->id, 1, 0, 1, 4, 7, 0, 77, 77));
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(cap_find(&f->cap.traces[0], 1)->name, "tta_workflow");
	assert_string_equal(cap_find(&f->cap.traces[0], 2)->name, "tta_step");
	fixture_free(f);
	probe_table__free(pt);
}

/* A failing sink is counted; the trace still leaves the pending set. */
static int failing_trace(struct tt_sink *sink, const struct tt_trace *t)
{
	(void)sink;
	(void)t;
	return -EIO;
}

static void test_sink_error_counted(void **state)
{
	struct fixture *f = fixture_new(0, 0);
	struct assembler_stats st;

	(void)state;
	f->cap.sink.trace = failing_trace;
	add(f, rec(0, 1, 0, 1, 0, 1, 0, 1, 1));
	assembler__stats(f->a, &st);
	assert_int_equal(st.sink_errors, 1);
	assert_int_equal(st.traces, 1);
	assert_int_equal(assembler__pending_spans(f->a), 0);
	fixture_free(f);
}

/* A filter that drops traces whose root span id is odd and marks the others. */
struct filt {
	int calls;
	bool saw_links; /* the trace arrives built: parent/child links set */
};

static int odd_root_filter(void *ctx, struct tt_trace *t)
{
	struct filt *fl = ctx;
	size_t i;

	fl->calls++;
	if (t->n_roots && t->roots[0]->first_child && t->roots[0]->first_child->parent == t->roots[0])
		fl->saw_links = true;
	if (!t->n_roots || (t->roots[0]->span_id & 1))
		return 0;
	for (i = 0; i < t->n_spans; i++)
		if (tt_span__set_str(t, t->spans[i], "test.mark", "kept"))
			return -ENOMEM;
	return 1;
}

static int failing_filter(void *ctx, struct tt_trace *t)
{
	(void)ctx;
	(void)t;
	return -ENOMEM;
}

/* A fixture whose assembler has a filter. */
static struct fixture *fixture_filtered(uint64_t idle_timeout_ns,
					int (*filter)(void *, struct tt_trace *), void *ctx)
{
	struct fixture *f = fixture_new(idle_timeout_ns, 0);

	assembler__free(f->a);
	f->opts.filter = filter;
	f->opts.filter_ctx = ctx;
	f->a = assembler__new(&f->opts);
	assert_non_null(f->a);
	assembler__set_clock(f->a, 0);
	return f;
}

/* Spans that finish after their trace's root (a thread outliving its workflow)
 * join the emitted trace's id and share its verdict; they wait 1 s, not the
 * --trace-timeout, since their trace is known to be over. */
static void test_late_spans(void **state)
{
	struct filt fl = {};
	struct fixture *f = fixture_filtered(30000000000ULL, odd_root_filter, &fl);
	struct assembler_stats st;
	const uint64_t end = 2000;

	(void)state;
	/* root 10 is kept by the filter, root 11 dropped */
	add(f, rec(1, 110, 10, 10, 101, 102, 1, 1, 1));
	add(f, rec(0, 10, 0, 10, 100, 105, 0, 1, 1));
	add(f, rec(1, 111, 11, 11, 111, 112, 1, 1, 1));
	add(f, rec(0, 11, 0, 11, 110, 115, 0, 1, 1));
	assert_int_equal(f->cap.n, 1);
	/* their late spans, on other threads, parented in the finished traces */
	add(f, rec(2, 120, 110, 10, 103, end, 2, 1, 2));
	add(f, rec(2, 121, 111, 11, 113, end, 2, 1, 3));
	/* a trace never emitted keeps the long timeout */
	add(f, rec(2, 130, 129, 129, 104, end, 2, 1, 4));
	assert_int_equal(assembler__expire(f->a, end + 500000000ULL), 0);
	assert_int_equal(f->cap.n, 1);
	assert_int_equal(assembler__expire(f->a, end + 1500000000ULL), 0);
	assert_int_equal(f->cap.n, 2);
	assert_true(f->cap.traces[1].late);
	assert_false(f->cap.traces[1].complete);
	assert_memory_equal(f->cap.traces[1].trace_id, f->cap.traces[0].trace_id, 16);
	assert_int_equal(f->cap.traces[1].n_spans, 1);
	assert_int_equal(f->cap.traces[1].spans[0].span_id, 120);
	assert_int_equal(f->cap.traces[1].root_ids[0], 120); /* parented outside this part */
	/* the filter judged whole traces only: late spans are not shown to it */
	assert_int_equal(fl.calls, 2);
	assembler__stats(f->a, &st);
	assert_int_equal(st.traces_late, 1);
	assert_int_equal(st.traces_incomplete, 0);
	assert_int_equal(st.traces_filtered, 2); /* root 11, then its late span */
	assert_int_equal(assembler__pending_spans(f->a), 1);
	assert_int_equal(assembler__flush(f->a), 0);
	assembler__stats(f->a, &st);
	assert_int_equal(st.traces_incomplete, 1);
	assert_false(f->cap.traces[f->cap.n - 1].late);
	fixture_free(f);
}

static void test_filter(void **state)
{
	struct filt fl = {};
	struct fixture *f = fixture_filtered(0, odd_root_filter, &fl);
	struct assembler_stats st;
	uint64_t root;
	size_t i, j;

	(void)state;
	/* roots 10..15, each with one child (id root + 100) */
	for (root = 10; root < 16; root++) {
		add(f, rec(1, root + 100, root, root, 10 * root + 1, 10 * root + 2, 1, 1, 1));
		add(f, rec(0, root, 0, root, 10 * root, 10 * root + 5, 0, 1, 1));
	}
	/* one without its root, flushed incomplete: its first span (odd) is dropped */
	add(f, rec(1, 301, 300, 300, 5000, 5001, 1, 1, 1));
	assert_int_equal(assembler__flush(f->a), 0);
	assert_int_equal(fl.calls, 7);
	assert_true(fl.saw_links);
	assert_int_equal(f->cap.n, 3);
	for (i = 0; i < f->cap.n; i++) {
		const struct cap_trace *ct = &f->cap.traces[i];

		assert_int_equal(ct->root_ids[0], 10 + 2 * i);
		assert_int_equal(ct->n_spans, 2);
		for (j = 0; j < ct->n_spans; j++)
			assert_string_equal(ct->spans[j].mark, "kept");
	}
	assembler__stats(f->a, &st);
	assert_int_equal(st.traces_filtered, 4);
	assert_int_equal(st.traces, 3);
	assert_int_equal(st.spans, 6);
	assert_int_equal(st.traces_incomplete, 0);
	assert_int_equal(st.sink_errors, 0);
	assert_int_equal(assembler__pending_spans(f->a), 0);
	fixture_free(f);

	/* a filter that fails is counted, and the trace still goes out */
	f = fixture_filtered(0, failing_filter, NULL);
	add(f, rec(0, 7, 0, 7, 0, 1, 0, 1, 1));
	assembler__stats(f->a, &st);
	assert_int_equal(st.sink_errors, 1);
	assert_int_equal(st.traces, 1);
	assert_int_equal(st.traces_filtered, 0);
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(f->cap.traces[0].spans[0].mark, "");
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_three_deep),
		cmocka_unit_test(test_sibling_order_reversed_arrival),
		cmocka_unit_test(test_two_threads_interleaved),
		cmocka_unit_test(test_missing_root_flushed_incomplete),
		cmocka_unit_test(test_dropped_child),
		cmocka_unit_test(test_pid_reuse),
		cmocka_unit_test(test_malformed_records),
		cmocka_unit_test(test_expire_idle),
		cmocka_unit_test(test_expire_disabled),
		cmocka_unit_test(test_max_pending_eviction),
		cmocka_unit_test(test_wall_clock),
		cmocka_unit_test(test_default_clock_is_wall),
		cmocka_unit_test(test_ret_sign_extension),
		cmocka_unit_test(test_trace_ids),
		cmocka_unit_test(test_unknown_probe),
		cmocka_unit_test(test_probe_table_lookup),
		cmocka_unit_test(test_sink_error_counted),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_late_spans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
