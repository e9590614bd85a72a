/* Unit tests for primitive semantics: synthetic traces, built the way the
 * assembler hands them over, go through primitives__annotate and every tta.*
 * attribute and retry link it writes is checked, including that nothing else
 * was written. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"
#include "primitives.h"

/* One span of a synthetic trace; parent indexes the same table, -1 for a root. */
struct sdef {
	const char *name;
	int parent;
	uint64_t start, end;
	const char *kind; /* NULL: "step" */
	bool error;
	const char *msg; /* status_msg of an error */
	int role;
};

#define OK(n, p, s, e, k) { .name = n, .parent = p, .start = s, .end = e, .kind = k }
#define ERR(n, p, s, e, k, m) \
	{ .name = n, .parent = p, .start = s, .end = e, .kind = k, .error = true, .msg = m }
#define COMP(n, p, s, e) \
	{ .name = n, .parent = p, .start = s, .end = e, .role = ROLE_COMPENSATION }

static const uint8_t TRACE_ID[16] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
				      5, 6, 7, 8, 9, 10, 11, 12 };

struct tbuf {
	struct tt_trace t;
	struct tt_span *spans; /* in table order: tests index them like the table */
};

static int by_start(const void *a, const void *b)
{
	const struct tt_span *x = *(const struct tt_span *const *)a;
	const struct tt_span *y = *(const struct tt_span *const *)b;

	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

static struct tbuf *build(const struct sdef *d, size_t n)
{
	struct tbuf *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	b->spans = calloc(n, sizeof(*b->spans));
	b->t.spans = calloc(n, sizeof(*b->t.spans));
	b->t.roots = calloc(n, sizeof(*b->t.roots));
	b->t.arena = tt_arena__new();
	assert_non_null(b->spans);
	assert_non_null(b->t.spans);
	assert_non_null(b->t.roots);
	assert_non_null(b->t.arena);
	memcpy(b->t.trace_id, TRACE_ID, 16);
	b->t.n_spans = n;
	b->t.complete = true;
	for (size_t i = 0; i < n; i++) {
		struct tt_span *s = &b->spans[i];

		s->span_id = 0x1000 + i;
		s->name = d[i].name;
		s->kind = d[i].kind ? d[i].kind : "step";
		s->start_ns = d[i].start;
		s->end_ns = d[i].end;
		s->role = d[i].role;
		s->status = d[i].error ? TT_STATUS_ERROR : TT_STATUS_UNSET;
		s->status_msg = d[i].error ? d[i].msg : NULL;
		if (d[i].parent >= 0) {
			s->parent = &b->spans[d[i].parent];
			s->parent_span_id = s->parent->span_id;
		} else {
			b->t.roots[b->t.n_roots++] = s;
		}
		b->t.spans[i] = s;
	}
	/* the assembler's promises: t->spans and each children list in start order */
	qsort(b->t.spans, n, sizeof(*b->t.spans), by_start);
	for (size_t i = n; i-- > 0;) {
		struct tt_span *s = b->t.spans[i];

		if (s->parent) {
			s->next_sibling = s->parent->first_child;
			s->parent->first_child = s;
		}
	}
	return b;
}

static void tbuf_free(struct tbuf *b)
{
	tt_arena__free(b->t.arena);
	free(b->spans);
	free(b->t.spans);
	free(b->t.roots);
	free(b);
}

static struct tbuf *annotated(const struct sdef *d, size_t n)
{
	struct tbuf *b = build(d, n);

	assert_int_equal(primitives__annotate(&b->t), 0);
	return b;
}

static const struct tt_attr *need(const struct tt_span *s, const char *key, enum tt_attr_type ty)
{
	const struct tt_attr *a = tt_span__attr(s, key);

	if (!a)
		fail_msg("span %s: no attribute %s", s->name, key);
	if (a->type != ty)
		fail_msg("span %s: %s has type %d, want %d", s->name, key, a->type, ty);
	return a;
}

static void expect_str(const struct tt_span *s, const char *key, const char *v)
{
	const struct tt_attr *a = need(s, key, TT_ATTR_STR);

	if (strcmp(a->s, v))
		fail_msg("span %s: %s = \"%s\", want \"%s\"", s->name, key, a->s, v);
}

static void expect_int(const struct tt_span *s, const char *key, int64_t v)
{
	const struct tt_attr *a = need(s, key, TT_ATTR_INT);

	if (a->i != v)
		fail_msg("span %s: %s = %lld, want %lld", s->name, key, (long long)a->i,
			 (long long)v);
}

static void expect_bool(const struct tt_span *s, const char *key, bool v)
{
	const struct tt_attr *a = need(s, key, TT_ATTR_BOOL);

	if (a->b != v)
		fail_msg("span %s: %s = %d, want %d", s->name, key, a->b, v);
}

/* Exactly n attributes, the first of which must be the kind: with the
 * expect_* checks, this pins the whole attribute set. */
static void expect_n_attrs(const struct tt_span *s, size_t n)
{
	if (s->n_attrs != n) {
		for (size_t i = 0; i < s->n_attrs; i++)
			print_message("  %s: %s\n", s->name, s->attrs[i].key);
		fail_msg("span %s: %zu attributes, want %zu", s->name, s->n_attrs, n);
	}
	expect_str(s, "tta.primitive.kind", s->kind);
}

static void expect_no_links(const struct tt_span *s)
{
	if (s->n_links)
		fail_msg("span %s: %zu links, want none", s->name, s->n_links);
}

static void expect_link(const struct tt_span *s, const struct tt_span *to)
{
	if (s->n_links != 1)
		fail_msg("span %s: %zu links, want 1", s->name, s->n_links);
	assert_memory_equal(s->links[0].trace_id, TRACE_ID, 16);
	assert_true(s->links[0].span_id == to->span_id);
}

static void test_sequential_steps_and_failed_step(void **state)
{
	static const struct sdef d[] = {
		OK("order", -1, 0, 100, "sequential"),
		ERR("charge", 0, 40, 60, NULL, "card declined"),
		OK("validate", 0, 0, 10, NULL), /* listed out of order: start order wins */
		OK("reserve", 0, 10, 40, NULL),
		ERR("ship", 0, 60, 90, NULL, NULL),
	};
	struct tbuf *b = annotated(d, 5);
	struct tt_span *s = b->spans;

	(void)state;
	expect_n_attrs(&s[0], 4);
	expect_str(&s[0], "tta.primitive.kind", "sequential");
	expect_int(&s[0], "tta.sequential.steps", 4);
	expect_str(&s[0], "tta.sequential.failed_step", "charge");
	expect_str(&s[0], "tta.error.child", "charge");
	expect_int(&s[2], "tta.sequential.step", 1);
	expect_int(&s[3], "tta.sequential.step", 2);
	expect_int(&s[1], "tta.sequential.step", 3);
	expect_int(&s[4], "tta.sequential.step", 4);
	for (int i = 1; i < 5; i++) {
		expect_n_attrs(&s[i], 2);
		expect_str(&s[i], "tta.primitive.kind", "step");
		expect_no_links(&s[i]);
	}
	assert_true(primitives__has_error(&b->t));
	tbuf_free(b);
}

static void test_sequential_all_ok(void **state)
{
	static const struct sdef d[] = {
		OK("pipeline", -1, 0, 30, "sequential"),
		OK("a", 0, 0, 10, NULL),
		OK("b", 0, 10, 20, "lambda"),
	};
	struct tbuf *b = annotated(d, 3);

	(void)state;
	expect_n_attrs(&b->spans[0], 2);
	expect_int(&b->spans[0], "tta.sequential.steps", 2);
	expect_n_attrs(&b->spans[2], 2);
	expect_str(&b->spans[2], "tta.primitive.kind", "lambda");
	expect_int(&b->spans[2], "tta.sequential.step", 2);
	assert_false(primitives__has_error(&b->t));
	tbuf_free(b);
}

static void test_parallel_partial_overlap(void **state)
{
	/* b1 overlaps b2 and b3, b2 and b3 never meet: at most 2 run at once; the
	 * last to finish (b1) is not the last to start (b3) */
	static const struct sdef d[] = {
		OK("fan", -1, 100, 200, "parallel"),
		OK("b3", 0, 170, 185, NULL),
		OK("b1", 0, 110, 195, NULL),
		OK("b2", 0, 120, 150, NULL),
	};
	struct tbuf *b = annotated(d, 4);
	struct tt_span *s = b->spans;

	(void)state;
	expect_n_attrs(&s[0], 5);
	expect_int(&s[0], "tta.parallel.branches", 3);
	expect_int(&s[0], "tta.parallel.max_concurrency", 2);
	expect_int(&s[0], "tta.parallel.fanout_ns", 10);
	expect_int(&s[0], "tta.parallel.fanin_ns", 5);
	expect_int(&s[2], "tta.parallel.branch", 1);
	expect_int(&s[3], "tta.parallel.branch", 2);
	expect_int(&s[1], "tta.parallel.branch", 3);
	for (int i = 1; i < 4; i++)
		expect_n_attrs(&s[i], 2);
	tbuf_free(b);
}

static void test_parallel_concurrency_edges(void **state)
{
	/* three overlapping at one instant; a branch ending when another starts does
	 * not overlap it; two zero-length branches at the same instant do */
	static const struct sdef all[] = {
		OK("p", -1, 0, 100, "parallel"),
		OK("x", 0, 0, 50, NULL),
		OK("y", 0, 10, 60, NULL),
		OK("z", 0, 49, 100, NULL),
	};
	static const struct sdef chain[] = {
		OK("p", -1, 0, 30, "parallel"),
		OK("x", 0, 0, 10, NULL),
		OK("y", 0, 10, 20, NULL),
		OK("z", 0, 20, 30, NULL),
	};
	static const struct sdef instant[] = {
		OK("p", -1, 0, 30, "parallel"),
		OK("x", 0, 5, 5, NULL),
		OK("y", 0, 5, 5, NULL),
	};
	static const struct sdef none[] = {
		OK("p", -1, 0, 30, "parallel"),
	};
	struct tbuf *b;

	(void)state;
	b = annotated(all, 4);
	expect_int(&b->spans[0], "tta.parallel.max_concurrency", 3);
	expect_int(&b->spans[0], "tta.parallel.fanout_ns", 0);
	expect_int(&b->spans[0], "tta.parallel.fanin_ns", 0);
	tbuf_free(b);

	b = annotated(chain, 4);
	expect_int(&b->spans[0], "tta.parallel.branches", 3);
	expect_int(&b->spans[0], "tta.parallel.max_concurrency", 1);
	tbuf_free(b);

	b = annotated(instant, 3);
	expect_int(&b->spans[0], "tta.parallel.max_concurrency", 2);
	expect_int(&b->spans[0], "tta.parallel.fanout_ns", 5);
	expect_int(&b->spans[0], "tta.parallel.fanin_ns", 25);
	tbuf_free(b);

	/* no branch recorded: counts, but no fan-out/fan-in to measure */
	b = annotated(none, 1);
	expect_n_attrs(&b->spans[0], 3);
	expect_int(&b->spans[0], "tta.parallel.branches", 0);
	expect_int(&b->spans[0], "tta.parallel.max_concurrency", 0);
	tbuf_free(b);
}

static void test_branch_and_route(void **state)
{
	static const struct sdef d[] = {
		OK("root", -1, 0, 100, "sequential"),
		OK("if_vip", 0, 0, 10, "conditional"),
		OK("vip_path", 1, 2, 8, NULL),
		OK("pick", 0, 10, 20, "switch"),
		OK("case_eu", 3, 11, 19, NULL),
		OK("route", 0, 20, 30, "router"),
		OK("gpt_small", 5, 21, 29, NULL),
		OK("if_empty", 0, 30, 40, "conditional"),
		OK("route2", 0, 40, 50, "router"),
	};
	struct tbuf *b = annotated(d, 9);
	struct tt_span *s = b->spans;

	(void)state;
	expect_n_attrs(&s[1], 3);
	expect_str(&s[1], "tta.branch", "vip_path");
	expect_n_attrs(&s[3], 3);
	expect_str(&s[3], "tta.primitive.kind", "switch");
	expect_str(&s[3], "tta.branch", "case_eu");
	expect_n_attrs(&s[5], 3);
	expect_str(&s[5], "tta.route", "gpt_small");
	/* nothing ran */
	expect_n_attrs(&s[7], 3);
	expect_str(&s[7], "tta.branch", "none");
	expect_n_attrs(&s[8], 3);
	expect_str(&s[8], "tta.route", "none");
	expect_n_attrs(&s[2], 1);
	expect_n_attrs(&s[0], 2);
	expect_int(&s[0], "tta.sequential.steps", 5);
	tbuf_free(b);
}

static void test_retry_error_error_ok(void **state)
{
	static const struct sdef d[] = {
		OK("fetch", -1, 0, 100, "retry"),
		ERR("call", 0, 0, 10, NULL, "ECONNRESET"),
		ERR("call", 0, 20, 30, NULL, "ECONNRESET"),
		OK("call", 0, 50, 60, NULL),
	};
	struct tbuf *b = annotated(d, 4);
	struct tt_span *s = b->spans;

	(void)state;
	expect_n_attrs(&s[0], 4);
	expect_int(&s[0], "tta.retry.attempts", 3);
	expect_str(&s[0], "tta.retry.outcome", "ok");
	expect_str(&s[0], "tta.error.child", "call");
	expect_no_links(&s[0]);
	for (int i = 1; i <= 3; i++) {
		expect_n_attrs(&s[i], 2);
		expect_int(&s[i], "tta.retry.attempt", i);
	}
	expect_no_links(&s[1]);
	expect_link(&s[2], &s[1]);
	expect_link(&s[3], &s[2]);
	tbuf_free(b);
}

static void test_retry_exhausted(void **state)
{
	static const struct sdef d[] = {
		ERR("fetch", -1, 0, 100, "retry", "gave up"),
		OK("call", 0, 0, 10, NULL),
		ERR("call", 0, 20, 30, NULL, NULL),
	};
	static const struct sdef empty[] = {
		ERR("fetch", -1, 0, 100, "retry", "gave up"),
	};
	struct tbuf *b;

	(void)state;
	b = annotated(d, 3);
	expect_int(&b->spans[0], "tta.retry.attempts", 2);
	expect_str(&b->spans[0], "tta.retry.outcome", "error");
	expect_str(&b->spans[0], "tta.error.child", "call");
	expect_link(&b->spans[2], &b->spans[1]);
	tbuf_free(b);

	/* no attempt recorded: the retry's own status decides */
	b = annotated(empty, 1);
	expect_n_attrs(&b->spans[0], 3);
	expect_int(&b->spans[0], "tta.retry.attempts", 0);
	expect_str(&b->spans[0], "tta.retry.outcome", "error");
	tbuf_free(b);
}

static void test_fallback_primary_failed(void **state)
{
	static const struct sdef d[] = {
		OK("llm", -1, 0, 100, "fallback"),
		ERR("primary", 0, 0, 10, NULL, "rate limited"),
		ERR("secondary", 0, 10, 20, NULL, NULL),
		OK("local", 0, 20, 30, NULL),
	};
	struct tbuf *b = annotated(d, 4);

	(void)state;
	expect_n_attrs(&b->spans[0], 5);
	expect_str(&b->spans[0], "tta.fallback.served_by", "local");
	expect_str(&b->spans[0], "tta.fallback.primary_error", "rate limited");
	expect_int(&b->spans[0], "tta.fallback.attempts", 3);
	expect_str(&b->spans[0], "tta.error.child", "primary");
	for (int i = 1; i <= 3; i++)
		expect_n_attrs(&b->spans[i], 1);
	tbuf_free(b);
}

static void test_fallback_other_outcomes(void **state)
{
	static const struct sdef primary_ok[] = {
		OK("llm", -1, 0, 100, "fallback"),
		OK("primary", 0, 0, 10, NULL),
	};
	static const struct sdef no_msg[] = {
		OK("llm", -1, 0, 100, "fallback"),
		ERR("primary", 0, 0, 10, NULL, NULL),
		OK("backup", 0, 10, 20, NULL),
	};
	static const struct sdef all_failed[] = {
		ERR("llm", -1, 0, 100, "fallback", "all failed"),
		ERR("primary", 0, 0, 10, NULL, "down"),
		ERR("backup", 0, 10, 20, NULL, "down too"),
	};
	struct tbuf *b;

	(void)state;
	b = annotated(primary_ok, 2);
	expect_n_attrs(&b->spans[0], 3);
	expect_str(&b->spans[0], "tta.fallback.served_by", "primary");
	expect_int(&b->spans[0], "tta.fallback.attempts", 1);
	tbuf_free(b);

	b = annotated(no_msg, 3);
	expect_str(&b->spans[0], "tta.fallback.served_by", "backup");
	expect_str(&b->spans[0], "tta.fallback.primary_error", "error");
	expect_int(&b->spans[0], "tta.fallback.attempts", 2);
	tbuf_free(b);

	b = annotated(all_failed, 3);
	expect_n_attrs(&b->spans[0], 5);
	expect_str(&b->spans[0], "tta.fallback.served_by", "none");
	expect_str(&b->spans[0], "tta.fallback.primary_error", "down");
	expect_int(&b->spans[0], "tta.fallback.attempts", 2);
	tbuf_free(b);
}

static void test_timeout(void **state)
{
	static const struct sdef d[] = {
		OK("root", -1, 0, 300, "sequential"),
		ERR("deadline", 0, 0, 100, "timeout", "timed out"),
		OK("slow_call", 1, 0, 150, NULL), /* cut short: outlives the timeout */
		OK("deadline2", 0, 150, 200, "timeout"),
		OK("fast_call", 3, 150, 160, NULL),
	};
	struct tbuf *b = annotated(d, 5);

	(void)state;
	expect_n_attrs(&b->spans[1], 3);
	expect_bool(&b->spans[1], "tta.timeout.fired", true);
	expect_int(&b->spans[1], "tta.sequential.step", 1);
	expect_n_attrs(&b->spans[3], 3);
	expect_bool(&b->spans[3], "tta.timeout.fired", false);
	expect_int(&b->spans[3], "tta.sequential.step", 2);
	expect_str(&b->spans[0], "tta.error.child", "deadline");
	tbuf_free(b);
}

static void test_cache_hit_and_miss(void **state)
{
	static const struct sdef d[] = {
		OK("root", -1, 0, 100, "sequential"),
		OK("embed_cache", 0, 0, 5, "cache"),
		OK("embed_cache", 0, 10, 60, "cache"),
		OK("compute_embedding", 2, 11, 59, NULL),
	};
	struct tbuf *b = annotated(d, 4);

	(void)state;
	expect_n_attrs(&b->spans[1], 3);
	expect_bool(&b->spans[1], "tta.cache.hit", true);
	expect_n_attrs(&b->spans[2], 3);
	expect_bool(&b->spans[2], "tta.cache.hit", false);
	expect_n_attrs(&b->spans[3], 1);
	tbuf_free(b);
}

static void test_saga_failed_step_and_compensations(void **state)
{
	static const struct sdef d[] = {
		ERR("trip", -1, 0, 100, "saga", "charge failed"),
		OK("book_flight", 0, 0, 10, NULL),
		OK("book_hotel", 0, 10, 20, NULL),
		ERR("charge", 0, 20, 30, NULL, "declined"),
		COMP("cancel_hotel", 0, 30, 40),
		COMP("cancel_flight", 0, 40, 50),
	};
	struct tbuf *b = annotated(d, 6);
	struct tt_span *s = b->spans;

	(void)state;
	expect_n_attrs(&s[0], 5);
	expect_bool(&s[0], "tta.saga.compensated", true);
	expect_int(&s[0], "tta.saga.compensations", 2);
	expect_str(&s[0], "tta.saga.failed_step", "charge");
	expect_str(&s[0], "tta.error.child", "charge");
	expect_int(&s[1], "tta.saga.step", 1);
	expect_int(&s[2], "tta.saga.step", 2);
	expect_int(&s[3], "tta.saga.step", 3);
	for (int i = 1; i <= 3; i++)
		expect_n_attrs(&s[i], 2);
	/* compensations are not forward steps */
	expect_n_attrs(&s[4], 1);
	expect_n_attrs(&s[5], 1);
	tbuf_free(b);
}

static void test_saga_failed_compensation_is_not_failed_step(void **state)
{
	static const struct sdef ok[] = {
		OK("trip", -1, 0, 100, "saga"),
		OK("book_flight", 0, 0, 10, NULL),
		OK("book_hotel", 0, 10, 20, NULL),
	};
	static const struct sdef bad_comp[] = {
		ERR("trip", -1, 0, 100, "saga", NULL),
		OK("book_flight", 0, 0, 10, NULL),
		{ .name = "cancel_flight", .parent = 0, .start = 10, .end = 20, .error = true,
		  .role = ROLE_COMPENSATION },
		ERR("book_hotel", 0, 30, 40, NULL, NULL),
		ERR("book_car", 0, 50, 60, NULL, NULL), /* a later failure is not the first */
	};
	struct tbuf *b;

	(void)state;
	b = annotated(ok, 3);
	expect_n_attrs(&b->spans[0], 3);
	expect_bool(&b->spans[0], "tta.saga.compensated", false);
	expect_int(&b->spans[0], "tta.saga.compensations", 0);
	expect_int(&b->spans[2], "tta.saga.step", 2);
	tbuf_free(b);

	b = annotated(bad_comp, 5);
	expect_str(&b->spans[0], "tta.saga.failed_step", "book_hotel");
	expect_str(&b->spans[0], "tta.error.child", "cancel_flight");
	expect_int(&b->spans[0], "tta.saga.compensations", 1);
	expect_int(&b->spans[3], "tta.saga.step", 2);
	expect_int(&b->spans[4], "tta.saga.step", 3);
	expect_n_attrs(&b->spans[2], 1);
	tbuf_free(b);
}

static void test_nested_retry_in_sequential(void **state)
{
	static const struct sdef d[] = {
		OK("ingest", -1, 0, 1000, "sequential"),
		OK("parse", 0, 0, 100, NULL),
		OK("upload", 0, 100, 600, "retry"),
		ERR("put_object", 2, 110, 200, NULL, "503"),
		OK("put_object", 2, 300, 400, NULL),
		OK("index", 0, 600, 900, "parallel"),
		OK("shard_a", 5, 610, 800, NULL),
		OK("shard_b", 5, 620, 850, NULL),
	};
	struct tbuf *b = annotated(d, 8);
	struct tt_span *s = b->spans;

	(void)state;
	/* the failure two levels down is the retry's business, not the root's */
	expect_n_attrs(&s[0], 2);
	expect_int(&s[0], "tta.sequential.steps", 3);
	expect_n_attrs(&s[2], 5);
	expect_int(&s[2], "tta.sequential.step", 2);
	expect_int(&s[2], "tta.retry.attempts", 2);
	expect_str(&s[2], "tta.retry.outcome", "ok");
	expect_str(&s[2], "tta.error.child", "put_object");
	expect_int(&s[3], "tta.retry.attempt", 1);
	expect_int(&s[4], "tta.retry.attempt", 2);
	expect_no_links(&s[3]);
	expect_link(&s[4], &s[3]);
	expect_n_attrs(&s[5], 6);
	expect_int(&s[5], "tta.sequential.step", 3);
	expect_int(&s[5], "tta.parallel.branches", 2);
	expect_int(&s[5], "tta.parallel.max_concurrency", 2);
	expect_int(&s[5], "tta.parallel.fanout_ns", 10);
	expect_int(&s[5], "tta.parallel.fanin_ns", 50);
	expect_int(&s[7], "tta.parallel.branch", 2);
	expect_n_attrs(&s[1], 2);
	expect_int(&s[1], "tta.sequential.step", 1);
	assert_true(primitives__has_error(&b->t));
	tbuf_free(b);
}

static void test_error_child_on_any_kind(void **state)
{
	static const struct sdef d[] = {
		OK("handler", -1, 0, 100, NULL),
		OK("ok_call", 0, 0, 10, NULL),
		ERR("bad_call", 0, 10, 20, NULL, "boom"),
		ERR("worse_call", 0, 20, 30, NULL, "bang"),
	};
	struct tbuf *b = annotated(d, 4);

	(void)state;
	expect_n_attrs(&b->spans[0], 2);
	expect_str(&b->spans[0], "tta.error.child", "bad_call");
	expect_n_attrs(&b->spans[2], 1);
	tbuf_free(b);
}

static void test_bad_input_and_has_error(void **state)
{
	static const struct sdef d[] = {
		OK("x", -1, 0, 10, NULL),
	};
	struct tbuf *b = build(d, 1);
	struct tt_arena *a = b->t.arena;

	(void)state;
	assert_int_equal(primitives__annotate(NULL), -EINVAL);
	b->t.arena = NULL;
	assert_int_equal(primitives__annotate(&b->t), -EINVAL);
	assert_int_equal(b->spans[0].n_attrs, 0);
	b->t.arena = a;
	assert_false(primitives__has_error(NULL));
	assert_false(primitives__has_error(&b->t));
	b->spans[0].status = TT_STATUS_OK;
	assert_false(primitives__has_error(&b->t));
	b->spans[0].status = TT_STATUS_ERROR;
	assert_true(primitives__has_error(&b->t));
	tbuf_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential_steps_and_failed_step),
		cmocka_unit_test(test_sequential_all_ok),
		cmocka_unit_test(test_parallel_partial_overlap),
		cmocka_unit_test(test_parallel_concurrency_edges),
		cmocka_unit_test(test_branch_and_route),
		cmocka_unit_test(test_retry_error_error_ok),
		cmocka_unit_test(test_retry_exhausted),
		cmocka_unit_test(test_fallback_primary_failed),
		cmocka_unit_test(test_fallback_other_outcomes),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_cache_hit_and_miss),
		cmocka_unit_test(test_saga_failed_step_and_compensations),
		cmocka_unit_test(test_saga_failed_compensation_is_not_failed_step),
		cmocka_unit_test(test_nested_retry_in_sequential),
		cmocka_unit_test(test_error_child_on_any_kind),
		cmocka_unit_test(test_bad_input_and_has_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
