/* Unit tests for the folded-stacks output: exact lines for traces built through
 * the assembler (folded sink) and for hand-built trees (parallel children,
 * kinds, errors, odd names), plus the critical-path variant. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "assembler.h"
#include "folded.h"
#include "probes.h"

#define MS 1000000ULL

/* Everything folded__write produced, NUL-terminated; the caller frees it. */
static char *write_all(const struct folded *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(folded__write(f, m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

/* --- through the assembler --------------------------------------------------------- */

static struct tt_probe probes[] = {
	{ .id = 0, .label = "demo:main_loop", .name = "main_loop", .kind = "step" },
	{ .id = 1, .label = "demo:fetch", .name = "fetch", .kind = "step" },
	{ .id = 2, .label = "demo:parse", .name = "parse", .kind = "step" },
	{ .id = 3, .label = "demo:fan_out", .name = "fan_out", .kind = "parallel" },
};

static const struct tt_probe *probe_lookup(void *ctx, uint32_t id)
{
	(void)ctx;
	return id < sizeof(probes) / sizeof(probes[0]) ? &probes[id] : NULL;
}

static void add(struct assembler *a, uint32_t probe, uint64_t id, uint64_t parent, uint64_t key,
		uint64_t start, uint64_t end, uint16_t depth)
{
	struct tt_span_rec r = {
		.type = TT_REC_SPAN,
		.probe_id = probe,
		.span_id = id,
		.parent_span_id = parent,
		.trace_key = key,
		.start_ns = start,
		.end_ns = end,
		.pid = 1,
		.tid = 1,
		.depth = depth,
		.flags = id == key ? TT_SPAN_ROOT : 0,
	};

	assert_int_equal(assembler__add(a, &r, sizeof(r)), 0);
}

/* main_loop 0..10 ms; fetch 1..4 ms; parse 5..6.5004 ms. */
static void feed_one(struct assembler *a, uint64_t key)
{
	add(a, 1, key + 1, key, key, 1 * MS, 4 * MS, 1);
	add(a, 2, key + 2, key, key, 5 * MS, 6 * MS + 500400, 1);
	add(a, 0, key, 0, key, 0, 10 * MS, 0);
}

static void test_sink_self_times(void **state)
{
	struct folded *f = folded__new(NULL, false);
	struct tt_sink *sink;
	struct tt_sink *sinks[1];
	struct assembler_opts o = { .probe = probe_lookup, .sinks = sinks, .n_sinks = 1 };
	struct assembler *a;
	char *out;

	(void)state;
	assert_non_null(f);
	sink = folded_sink__new(f);
	assert_non_null(sink);
	sinks[0] = sink;
	a = assembler__new(&o);
	assert_non_null(a);
	feed_one(a, 100);
	out = write_all(f);
	/* self = duration - children, us rounded: 10 - 3 - 1.5004 ms = 5499.6 us */
	assert_string_equal(out, "main_loop 5500\n"
				 "main_loop;fetch 3000\n"
				 "main_loop;parse 1500\n");
	free(out);

	/* a second identical trace adds up per path (rounding happens on the sum:
	 * 2 x 1500.4 us = 3001 us) */
	feed_one(a, 200);
	out = write_all(f);
	assert_string_equal(out, "main_loop 10999\n"
				 "main_loop;fetch 6000\n"
				 "main_loop;parse 3001\n");
	free(out);
	assembler__free(a);
	assert_int_equal(tt_sink__close(sink), 0);
	folded__free(f);
}

/* A parallel root through the assembler gets its kind as a suffix. */
static void test_sink_kind_suffix(void **state)
{
	struct folded *f = folded__new(NULL, false);
	struct tt_sink *sinks[1];
	struct assembler_opts o = { .probe = probe_lookup, .sinks = sinks, .n_sinks = 1 };
	struct assembler *a;
	char *out;

	(void)state;
	assert_non_null(f);
	sinks[0] = folded_sink__new(f);
	assert_non_null(sinks[0]);
	a = assembler__new(&o);
	assert_non_null(a);
	add(a, 1, 11, 10, 10, 2 * MS, 3 * MS, 1);
	add(a, 3, 10, 0, 10, 0, 4 * MS, 0);
	out = write_all(f);
	assert_string_equal(out, "fan_out [parallel] 3000\n"
				 "fan_out [parallel];fetch 1000\n");
	free(out);
	assembler__free(a);
	tt_sink__close(sinks[0]);
	folded__free(f);
}

/* --- hand-built traces ------------------------------------------------------------- */

struct def {
	const char *name;
	int parent; /* index, -1 for a root */
	uint64_t start, end;
	const char *kind;
	bool error;
};

#define D(n, p, s, e) { .name = n, .parent = p, .start = s, .end = e }
#define DK(n, p, s, e, k) { .name = n, .parent = p, .start = s, .end = e, .kind = k }
#define DKE(n, p, s, e, k, x) { .name = n, .parent = p, .start = s, .end = e, .kind = k, .error = x }

struct built {
	struct tt_trace t;
	struct tt_span *spans;
};

/* Builds a trace the way the assembler hands it over: spans sorted by start
 * (DEFS must already be), children linked in start order. */
static struct built *build(const struct def *defs, size_t n)
{
	struct built *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	b->spans = calloc(n, sizeof(*b->spans));
	b->t.spans = calloc(n, sizeof(*b->t.spans));
	b->t.roots = calloc(n, sizeof(*b->t.roots));
	assert_non_null(b->spans);
	assert_non_null(b->t.spans);
	assert_non_null(b->t.roots);
	b->t.n_spans = n;
	b->t.complete = true;
	b->t.trace_id[0] = 1;
	for (size_t i = 0; i < n; i++) {
		struct tt_span *s = &b->spans[i];

		s->span_id = i + 1;
		s->name = defs[i].name;
		s->kind = defs[i].kind ? defs[i].kind : "step";
		s->status = defs[i].error ? TT_STATUS_ERROR : TT_STATUS_UNSET;
		s->start_ns = defs[i].start;
		s->end_ns = defs[i].end;
		b->t.spans[i] = s;
		if (defs[i].parent < 0) {
			b->t.roots[b->t.n_roots++] = s;
			continue;
		}
		s->parent = &b->spans[defs[i].parent];
		s->parent_span_id = s->parent->span_id;
		s->depth = s->parent->depth + 1;
		if (!s->parent->first_child) {
			s->parent->first_child = s;
		} else {
			struct tt_span *c = s->parent->first_child;

			while (c->next_sibling)
				c = c->next_sibling;
			c->next_sibling = s;
		}
	}
	return b;
}

static void built_free(struct built *b)
{
	free(b->t.roots);
	free(b->t.spans);
	free(b->spans);
	free(b);
}

static char *fold(const struct def *defs, size_t n, bool critical)
{
	struct folded *f = folded__new(NULL, critical);
	struct built *b = build(defs, n);
	char *out;

	assert_non_null(f);
	assert_int_equal(folded__add_trace(f, &b->t), 0);
	out = write_all(f);
	folded__free(f);
	built_free(b);
	return out;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_sorted_by_path(void **state)
{
	/* spans arrive in start order, lines come out in path order */
	static const struct def d[] = {
		D("root", -1, 0, 10 * MS),
		D("zeta", 0, 1 * MS, 2 * MS),
		D("alpha", 0, 3 * MS, 5 * MS),
		D("mid", 2, 3 * MS, 4 * MS),
	};
	char *out = fold(d, N(d), false);

	(void)state;
	assert_string_equal(out, "root 7000\n"
				 "root;alpha 1000\n"
				 "root;alpha;mid 1000\n"
				 "root;zeta 1000\n");
	free(out);
}

static void test_sanitised_names(void **state)
{
	static const struct def d[] = {
		D("ns;outer", -1, 0, 3 * MS),
		D("two\nlines\r", 0, 1 * MS, 2 * MS),
		D("", 0, 2 * MS, 2 * MS + 400),
	};
	char *out = fold(d, N(d), false);

	(void)state;
	/* ';' would split the frame and a line break the line: ':' and ' ' instead;
	 * an empty name is written as '?' so the frame is never empty */
	assert_string_equal(out, "ns:outer 2000\n"
				 "ns:outer;? 0\n"
				 "ns:outer;two lines  1000\n");
	assert_null(strchr(out, '\r'));
	free(out);
}

static void test_frame_name_helper(void **state)
{
	char buf[16];

	(void)state;
	folded_frame_name("a;b\nc\rd", buf, sizeof(buf));
	assert_string_equal(buf, "a_b_c_d");
	folded_frame_name("truncate-me-please", buf, 5);
	assert_string_equal(buf, "trun");
	folded_frame_name(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

/* Children on other threads overlap each other: counted once, never negative. */
static void test_parallel_children_no_negative_self(void **state)
{
	static const struct def d[] = {
		DK("par", -1, 0, 10 * MS, "parallel"),
		D("a", 0, 1 * MS, 9 * MS),
		D("b", 0, 2 * MS, 8 * MS),
		D("c", 0, 3 * MS, 12 * MS), /* outlives the parent: clipped at 10 ms */
	};
	char *out = fold(d, N(d), false);

	(void)state;
	/* children's union within [0, 10] is [1, 10]: 1 ms of self time */
	assert_string_equal(out, "par [parallel] 1000\n"
				 "par [parallel];a 8000\n"
				 "par [parallel];b 6000\n"
				 "par [parallel];c 9000\n");
	free(out);
}

static void test_fully_covered_parent_zero(void **state)
{
	static const struct def d[] = {
		D("p", -1, 0, 4 * MS),
		D("x", 0, 0, 4 * MS),
		D("y", 0, 0, 4 * MS),
	};
	char *out = fold(d, N(d), false);

	(void)state;
	assert_string_equal(out, "p 0\np;x 4000\np;y 4000\n");
	free(out);
}

struct sum_ctx {
	uint64_t total_ns;
	size_t lines;
	uint64_t a_ns, b_ns, root_ns;
};

static int sum_cb(const char *path, uint64_t self_ns, void *ctx)
{
	struct sum_ctx *s = ctx;

	s->total_ns += self_ns;
	s->lines++;
	if (!strcmp(path, "par [parallel]"))
		s->root_ns = self_ns;
	else if (!strcmp(path, "par [parallel];a"))
		s->a_ns = self_ns;
	else if (!strcmp(path, "par [parallel];b"))
		s->b_ns = self_ns;
	return 0;
}

/* Critical path: only the branch that bounded the fan-out keeps its time, so the
 * stacks add up to the root's duration instead of the sum of the branches. */
static void test_critical_path_adds_up(void **state)
{
	static const struct def d[] = {
		DK("par", -1, 0, 10 * MS, "parallel"),
		D("a", 0, 1 * MS, 9 * MS),
		D("b", 0, 2 * MS, 8 * MS),
		D("a2", 1, 2 * MS, 3 * MS),
	};
	struct folded *f = folded__new(NULL, true);
	struct built *b = build(d, N(d));
	struct sum_ctx s = {};

	(void)state;
	assert_non_null(f);
	assert_int_equal(folded__add_trace(f, &b->t), 0);
	assert_int_equal(folded__for_each(f, sum_cb, &s), 0);
	assert_int_equal(s.total_ns, 10 * MS);
	assert_int_equal(s.root_ns, 2 * MS);
	assert_int_equal(s.a_ns, 7 * MS); /* 8 ms minus its own child a2 */
	assert_int_equal(s.b_ns, 0);
	folded__free(f);
	built_free(b);

	/* the same trace without critical path sums the branches: 16 ms in all */
	f = folded__new(NULL, false);
	b = build(d, N(d));
	memset(&s, 0, sizeof(s));
	assert_int_equal(folded__add_trace(f, &b->t), 0);
	assert_int_equal(folded__for_each(f, sum_cb, &s), 0);
	assert_int_equal(s.total_ns, 2 * MS + 7 * MS + 6 * MS + 1 * MS);
	folded__free(f);
	built_free(b);
}

static void test_kind_and_error_annotations(void **state)
{
	static const struct def d[] = {
		DK("wf", -1, 0, 10 * MS, "workflow"),
		DKE("try", 0, 1 * MS, 3 * MS, "retry", true),
		DK("step_ok", 0, 4 * MS, 5 * MS, "step"),
		DKE("step_bad", 0, 6 * MS, 7 * MS, "step", true),
		DK("weird", 0, 8 * MS, 9 * MS, "Not A Kind"),
	};
	char *out = fold(d, N(d), false);

	(void)state;
	assert_string_equal(out, "wf [workflow] 5000\n"
				 "wf [workflow];step_bad [!] 1000\n"
				 "wf [workflow];step_ok 1000\n"
				 "wf [workflow];try [retry!] 2000\n"
				 "wf [workflow];weird 1000\n");
	free(out);
}

static void test_empty_trace(void **state)
{
	struct folded *f = folded__new(NULL, false);
	struct tt_trace t = {};
	char *out;

	(void)state;
	assert_non_null(f);
	assert_int_equal(folded__add_trace(f, &t), 0);
	out = write_all(f);
	assert_string_equal(out, "");
	free(out);
	folded__free(f);
}

static void test_new_unwritable_path(void **state)
{
	(void)state;
	errno = 0;
	assert_null(folded__new("/nonexistent-ttatrace-dir/out.folded", false));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	/* a directory cannot be opened for writing, even by root */
	assert_null(folded__new("/tmp", false));
	assert_int_equal(errno, EISDIR);
	assert_int_equal(folded__close(NULL), 0);
	folded__free(NULL);
}

/* folded__close writes the file given to folded__new. */
static void test_close_writes_file(void **state)
{
	static const struct def d[] = {
		D("r", -1, 0, 2 * MS),
		D("c", 0, 0, 1 * MS),
	};
	char path[] = "/tmp/test_folded.XXXXXX";
	int fd = mkstemp(path);
	struct folded *f;
	struct built *b = build(d, N(d));
	char buf[128] = {};
	FILE *in;
	size_t n;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	f = folded__new(path, false);
	assert_non_null(f);
	assert_int_equal(folded__add_trace(f, &b->t), 0);
	assert_int_equal(folded__close(f), 0);
	in = fopen(path, "r");
	assert_non_null(in);
	n = fread(buf, 1, sizeof(buf) - 1, in);
	fclose(in);
	unlink(path);
	buf[n] = '\0';
	assert_string_equal(buf, "r 1000\nr;c 1000\n");
	built_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sink_self_times),
		cmocka_unit_test(test_sink_kind_suffix),
		cmocka_unit_test(test_sorted_by_path),
		cmocka_unit_test(test_sanitised_names),
		cmocka_unit_test(test_frame_name_helper),
		cmocka_unit_test(test_parallel_children_no_negative_self),
		cmocka_unit_test(test_fully_covered_parent_zero),
		cmocka_unit_test(test_critical_path_adds_up),
		cmocka_unit_test(test_kind_and_error_annotations),
		cmocka_unit_test(test_empty_trace),
		cmocka_unit_test(test_new_unwritable_path),
		cmocka_unit_test(test_close_writes_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
