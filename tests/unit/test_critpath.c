/* Unit tests for span self times: plain (children's union clipped to the parent)
 * and critical path (only the branch that bounded each fan-out), on synthetic
 * trees built the way the assembler hands them over. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "critpath.h"

/* One span of a synthetic trace: parent is an index into the table, -1 for a
 * root, -2 for a parent pointer to a span outside the trace. */
struct def {
	const char *name;
	int parent;
	uint64_t start, end;
	const char *kind;
	bool error;
};

#define D(n, p, s, e) { .name = n, .parent = p, .start = s, .end = e }
#define DK(n, p, s, e, k) { .name = n, .parent = p, .start = s, .end = e, .kind = k }
#define DKE(n, p, s, e, k, x) { .name = n, .parent = p, .start = s, .end = e, .kind = k, .error = x }

struct trace_buf {
	struct tt_trace t;
	struct tt_span *spans;
	struct tt_span outsider;
};

/* Builds a trace from DEFS; ORDER (may be NULL) permutes t.spans so tests can
 * check nothing relies on start order. */
static struct trace_buf *build(const struct def *defs, size_t n, const size_t *order)
{
	struct trace_buf *b = calloc(1, sizeof(*b));

	b->spans = calloc(n, sizeof(*b->spans));
	b->t.spans = calloc(n, sizeof(*b->t.spans));
	b->t.n_spans = n;
	for (size_t i = 0; i < n; i++) {
		struct tt_span *s = &b->spans[i];

		s->span_id = i + 1;
		s->name = defs[i].name;
		s->kind = defs[i].kind ? defs[i].kind : "step";
		s->status = defs[i].error ? TT_STATUS_ERROR : TT_STATUS_OK;
		s->start_ns = defs[i].start;
		s->end_ns = defs[i].end;
		if (defs[i].parent >= 0)
			s->parent = &b->spans[defs[i].parent];
		else if (defs[i].parent == -2)
			s->parent = &b->outsider;
	}
	/* children lists in start order, as spans.h promises */
	for (size_t i = 0; i < n; i++) {
		struct tt_span *s = &b->spans[i], **pp;

		if (defs[i].parent < 0)
			continue;
		for (pp = &s->parent->first_child; *pp && (*pp)->start_ns <= s->start_ns;
		     pp = &(*pp)->next_sibling)
			;
		s->next_sibling = *pp;
		*pp = s;
	}
	for (size_t i = 0; i < n; i++)
		b->t.spans[i] = &b->spans[order ? order[i] : i];
	return b;
}

static void trace_free(struct trace_buf *b)
{
	free(b->spans);
	free(b->t.spans);
	free(b);
}

/* Self time of the span built from DEFS[i], whatever ORDER did. */
static uint64_t self_of(const struct trace_buf *b, const uint64_t *self, size_t i)
{
	for (size_t j = 0; j < b->t.n_spans; j++)
		if (b->t.spans[j] == &b->spans[i])
			return self[j];
	fail_msg("span %zu not in trace", i);
	return 0;
}

static void test_plain_self_clips_and_merges_children(void **state)
{
	/* children overlap each other (other threads) and stick out of the parent */
	static const struct def d[] = {
		D("root", -1, 0, 100),
		D("a", 0, 10, 30),
		D("b", 0, 20, 50), /* overlaps a: [10,50) counted once */
		D("c", 0, 90, 120), /* outlives the parent: only [90,100) */
		D("d", 0, 200, 300), /* entirely outside */
		D("a1", 1, 12, 14),
		D("neg", 0, 60, 55), /* end before start: no duration */
	};
	struct trace_buf *b = build(d, 7, NULL);
	uint64_t self[7];

	(void)state;
	assert_int_equal(critpath__self_ns(&b->t, self, false), 0);
	assert_int_equal(self[0], 100 - 40 - 10);
	assert_int_equal(self[1], 18);
	assert_int_equal(self[2], 30);
	assert_int_equal(self[3], 30);
	assert_int_equal(self[4], 100);
	assert_int_equal(self[5], 2);
	assert_int_equal(self[6], 0);
	trace_free(b);
}

static void test_plain_self_all_children_cover_parent(void **state)
{
	static const struct def d[] = {
		D("p", -1, 0, 50),
		D("x", 0, 0, 50),
		D("y", 0, 0, 50),
		D("z", 0, 0, 50),
	};
	struct trace_buf *b = build(d, 4, NULL);
	uint64_t self[4];

	(void)state;
	assert_int_equal(critpath__self_ns(&b->t, self, false), 0);
	assert_int_equal(self[0], 0); /* never negative: the union is 50, not 150 */
	assert_int_equal(self[1] + self[2] + self[3], 150);
	trace_free(b);
}

static void test_critical_path_fan_out(void **state)
{
	/* a parallel span: the slowest branch bounds it */
	static const struct def d[] = {
		DK("fanout", -1, 0, 100, "parallel"),
		D("b1", 0, 0, 40),
		DK("b2", 0, 0, 95, "sequential"),
		D("b3", 0, 5, 60),
		D("b1a", 1, 1, 30), /* under an off-path branch */
		D("b2a", 2, 0, 50),
		D("b2b", 2, 50, 95),
	};
	struct trace_buf *b = build(d, 7, NULL);
	uint64_t self[7], sum = 0;

	(void)state;
	assert_int_equal(critpath__self_ns(&b->t, self, true), 0);
	assert_int_equal(self[0], 5); /* waiting after the last branch finished */
	assert_int_equal(self[1], 0);
	assert_int_equal(self[2], 0); /* its steps cover it */
	assert_int_equal(self[3], 0);
	assert_int_equal(self[4], 0); /* descendants of off-path spans get nothing */
	assert_int_equal(self[5], 50);
	assert_int_equal(self[6], 45);
	for (size_t i = 0; i < 7; i++)
		sum += self[i];
	assert_int_equal(sum, 100);

	/* wall time, for contrast, double counts the branches */
	assert_int_equal(critpath__self_ns(&b->t, self, false), 0);
	sum = 0;
	for (size_t i = 0; i < 7; i++)
		sum += self[i];
	assert_true(sum > 100);
	trace_free(b);
}

static void test_critical_path_sequence_with_nested_fan_out(void **state)
{
	static const struct def d[] = {
		DK("wf", -1, 0, 100, "sequential"),
		D("A", 0, 0, 10),
		DK("P", 0, 10, 90, "parallel"),
		D("C", 0, 90, 100),
		D("B1", 2, 10, 50),
		D("B2", 2, 10, 88),
		D("B3", 2, 20, 89),
	};
	struct trace_buf *b = build(d, 7, NULL);
	uint64_t self[7];

	(void)state;
	assert_int_equal(critpath__self_ns(&b->t, self, true), 0);
	assert_int_equal(self[0], 0);
	assert_int_equal(self[1], 10);
	assert_int_equal(self[3], 10);
	/* P: B3 ended last (89), P ran alone 89..90; before B3 started (20) the
	 * longest branch running then (B1 and B2 tie at start 10: the first) */
	assert_int_equal(self[2], 1);
	assert_int_equal(self[6], 69);
	assert_int_equal(self[4], 10);
	assert_int_equal(self[5], 0);
	trace_free(b);
}

static void test_critical_path_ties_prefer_the_longer_branch(void **state)
{
	static const struct def d[] = {
		DK("par", -1, 0, 10, "parallel"),
		D("short", 0, 4, 10),
		D("long", 0, 0, 10),
	};
	struct trace_buf *b = build(d, 3, NULL);
	uint64_t self[3];

	(void)state;
	assert_int_equal(critpath__self_ns(&b->t, self, true), 0);
	assert_int_equal(self[0], 0);
	assert_int_equal(self[1], 0);
	assert_int_equal(self[2], 10);
	trace_free(b);
}

static void test_critical_path_gaps_and_overlapping_steps(void **state)
{
	/* a child overlapping the one after it keeps only the part before it */
	static const struct def d[] = {
		D("seq", -1, 0, 100),
		D("s1", 0, 5, 60),
		D("s2", 0, 40, 80),
		D("s1a", 1, 30, 58), /* cut at 40 with its parent's window */
	};
	struct trace_buf *b = build(d, 4, NULL);
	uint64_t self[4];

	(void)state;
	assert_int_equal(critpath__self_ns(&b->t, self, true), 0);
	assert_int_equal(self[2], 40);
	assert_int_equal(self[0], 20 + 5); /* 80..100 and 0..5 */
	assert_int_equal(self[3], 10); /* 30..40 */
	assert_int_equal(self[1], 25); /* 5..30 */
	assert_int_equal(self[0] + self[1] + self[2] + self[3], 100);
	trace_free(b);
}

static void test_order_orphans_and_several_roots(void **state)
{
	static const struct def d[] = {
		D("r1", -1, 0, 50),
		D("c1", 0, 10, 40),
		D("orphan", -2, 100, 130), /* parent lost: a root of its own */
		D("oc", 2, 100, 110),
		D("r2", -1, 200, 260),
		D("c2a", 4, 200, 250),
		D("c2b", 4, 210, 255),
	};
	static const size_t order[] = { 6, 3, 0, 5, 2, 4, 1 };
	struct trace_buf *b = build(d, 7, order);
	uint64_t self[7];

	(void)state;
	assert_int_equal(critpath__self_ns(&b->t, self, true), 0);
	assert_int_equal(self_of(b, self, 0), 20);
	assert_int_equal(self_of(b, self, 1), 30);
	assert_int_equal(self_of(b, self, 2), 20);
	assert_int_equal(self_of(b, self, 3), 10);
	assert_int_equal(self_of(b, self, 4), 5);
	assert_int_equal(self_of(b, self, 5), 10); /* 200..210, before c2b started */
	assert_int_equal(self_of(b, self, 6), 45);
	assert_int_equal(critpath__self_ns(&b->t, self, false), 0);
	assert_int_equal(self_of(b, self, 4), 5);
	assert_int_equal(self_of(b, self, 2), 20);
	trace_free(b);
}

/* Random trees: on the critical path every root's duration is handed out
 * exactly; plain self never exceeds a span's duration. */
static void test_random_trees_add_up(void **state)
{
	uint64_t seed = 42;

	(void)state;
	for (int round = 0; round < 300; round++) {
		size_t n = 1 + (size_t)(seed % 60);
		struct def *d = calloc(n, sizeof(*d));
		uint64_t *self = calloc(n, sizeof(*self)), sum = 0, roots = 0;
		struct trace_buf *b;

		for (size_t i = 0; i < n; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			d[i].name = "s";
			d[i].parent = i == 0 || seed % 7 == 0 ? -1 : (int)((seed >> 20) % i);
			d[i].start = (seed >> 30) % 1000;
			d[i].end = d[i].start + (seed >> 40) % 400;
			if (d[i].parent >= 0 && (seed >> 50) % 3) {
				/* mostly inside the parent, sometimes not */
				const struct def *p = &d[d[i].parent];
				uint64_t len = p->end - p->start + 1;

				d[i].start = p->start + (seed >> 12) % len;
				d[i].end = d[i].start + (seed >> 24) % (p->end - d[i].start + 1);
			}
		}
		b = build(d, n, NULL);
		assert_int_equal(critpath__self_ns(&b->t, self, true), 0);
		for (size_t i = 0; i < n; i++) {
			sum += self[i];
			assert_true(self[i] <= d[i].end - d[i].start);
			if (d[i].parent < 0)
				roots += d[i].end - d[i].start;
		}
		assert_int_equal(sum, roots);
		assert_int_equal(critpath__self_ns(&b->t, self, false), 0);
		for (size_t i = 0; i < n; i++)
			assert_true(self[i] <= d[i].end - d[i].start);
		trace_free(b);
		free(d);
		free(self);
	}
}

/* What critpath__stacks reported, as "name(kind,E)|...=ns" lines. */
struct stacks_seen {
	char lines[16][256];
	size_t n;
};

static int record_stack(const char *const *frames, const char *const *kinds, const bool *errors,
			size_t n, uint64_t self_ns, void *ctx)
{
	struct stacks_seen *s = ctx;
	size_t at = 0;

	for (size_t i = 0; i < n; i++)
		at += snprintf(s->lines[s->n] + at, 256 - at, "%s%s(%s%s)", i ? "|" : "", frames[i],
			       kinds[i], errors[i] ? ",E" : "");
	snprintf(s->lines[s->n] + at, 256 - at, "=%llu", (unsigned long long)self_ns);
	s->n++;
	return 0;
}

static void test_stacks(void **state)
{
	static const struct def d[] = {
		DK("wf", -1, 0, 100, "sequential"),
		DK("fetch", 0, 10, 60, "parallel"),
		DKE("slow", 1, 10, 60, "step", true),
		D("fast", 1, 10, 20),
		D("save", 0, 70, 90),
	};
	struct trace_buf *b = build(d, 5, NULL);
	struct stacks_seen s = { 0 };

	(void)state;
	assert_int_equal(critpath__stacks(&b->t, true, record_stack, &s), 0);
	assert_int_equal(s.n, 3); /* fetch and fast have no self time on the path */
	assert_string_equal(s.lines[0], "wf(sequential)=30");
	assert_string_equal(s.lines[1], "wf(sequential)|fetch(parallel)|slow(step,E)=50");
	assert_string_equal(s.lines[2], "wf(sequential)|save(step)=20");

	memset(&s, 0, sizeof(s));
	assert_int_equal(critpath__stacks(&b->t, false, record_stack, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.lines[2], "wf(sequential)|fetch(parallel)|fast(step)=10");
	trace_free(b);
}

static int stop_cb(const char *const *frames, const char *const *kinds, const bool *errors, size_t n,
		   uint64_t self_ns, void *ctx)
{
	(void)frames, (void)kinds, (void)errors, (void)n, (void)self_ns;
	++*(int *)ctx;
	return -ECANCELED;
}

static void test_errors(void **state)
{
	static const struct def d[] = { D("a", -1, 0, 10), D("b", -1, 20, 30) };
	struct trace_buf *b = build(d, 2, NULL);
	uint64_t self[2];
	int calls = 0;
	struct tt_trace empty = { 0 };

	(void)state;
	assert_int_equal(critpath__self_ns(NULL, self, true), -EINVAL);
	assert_int_equal(critpath__self_ns(&b->t, NULL, true), -EINVAL);
	assert_int_equal(critpath__stacks(&b->t, true, NULL, NULL), -EINVAL);
	assert_int_equal(critpath__stacks(&b->t, true, stop_cb, &calls), -ECANCELED);
	assert_int_equal(calls, 1);
	assert_int_equal(critpath__self_ns(&empty, NULL, true), 0);
	b->t.spans[1] = NULL;
	assert_int_equal(critpath__self_ns(&b->t, self, false), -EINVAL);
	trace_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_self_clips_and_merges_children),
		cmocka_unit_test(test_plain_self_all_children_cover_parent),
		cmocka_unit_test(test_critical_path_fan_out),
		cmocka_unit_test(test_critical_path_sequence_with_nested_fan_out),
		cmocka_unit_test(test_critical_path_ties_prefer_the_longer_branch),
		cmocka_unit_test(test_critical_path_gaps_and_overlapping_steps),
		cmocka_unit_test(test_order_orphans_and_several_roots),
		cmocka_unit_test(test_random_trees_add_up),
		cmocka_unit_test(test_stacks),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
