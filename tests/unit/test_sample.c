/* Unit tests for user/sample.c: the kernel's threshold comparison with a fixed
 * seed, tail-rule verdicts, the gate sink, and the --target-rate controller on a
 * simulated load that steps up and down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

/* xorshift64*: deterministic, so a failure reproduces */
static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void test_threshold_math(void **state)
{
	(void)state;
	assert_int_equal(sample__threshold(0), 0);
	assert_int_equal(sample__threshold(-1), 0);
	assert_true(sample__threshold(1) == TT_SAMPLE_ALL);
	assert_true(sample__threshold(2) == TT_SAMPLE_ALL);
	assert_true(sample__threshold(0.5) == (1ULL << 31));
	assert_true(sample__threshold(0.25) == (1ULL << 30));
	/* p = 0.5: the lower half of the draws is picked, exactly */
	assert_true(sample__decide(0x7fffffffu, sample__threshold(0.5)));
	assert_false(sample__decide(0x80000000u, sample__threshold(0.5)));
	assert_true(sample__decide(0xffffffffu, sample__threshold(1)));
	assert_false(sample__decide(0, sample__threshold(0)));
	assert_int_equal(sample__ppm(0.1), 100000);
	assert_int_equal(sample__ppm(1), TT_SAMPLE_PPM);
	assert_int_equal(sample__ppm(0.0000004), 0);
	assert_int_equal(sample__ppm(0.0000006), 1);
}

/* The picked fraction of many seeded draws is within 4 sigma of p. */
static void test_decide_rate(void **state)
{
	static const double ps[] = { 0.001, 0.01, 0.1, 0.5, 0.9 };
	const int n = 200000;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		uint64_t thr = sample__threshold(ps[k]);
		double mean = n * ps[k], sd = sqrt(n * ps[k] * (1 - ps[k]));
		int i, picked = 0;

		for (i = 0; i < n; i++)
			picked += sample__decide((uint32_t)(rnd() >> 32), thr);
		assert_true(fabs(picked - mean) <= 4 * sd);
	}
}

/* A three-span trace: root -> a -> b. */
struct fake {
	struct tt_span sp[3];
	struct tt_span *order[3];
	struct tt_span *roots[1];
	struct tt_trace t;
};

static void fake_init(struct fake *f, uint16_t root_flags, uint64_t root_ns)
{
	int i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < 3; i++) {
		f->sp[i].span_id = 100 + i;
		f->sp[i].parent_span_id = i ? 100 + i - 1 : 0;
		f->sp[i].start_ns = 1000 + i;
		f->sp[i].end_ns = 1000 + root_ns - i;
		f->sp[i].depth = i;
		f->sp[i].flags = (i ? 0 : TT_SPAN_ROOT) | (root_flags & TT_SPAN_UNSAMPLED);
		f->order[i] = &f->sp[i];
	}
	f->sp[0].flags |= root_flags;
	f->roots[0] = &f->sp[0];
	f->t.spans = f->order;
	f->t.n_spans = 3;
	f->t.roots = f->roots;
	f->t.n_roots = 1;
	f->t.complete = true;
}

static void test_span_error(void **state)
{
	struct tt_span s = {};

	(void)state;
	s.ret = -22;
	assert_true(sample__span_is_error(&s));
	/* a negative int that arrived zero-extended is still an error */
	s.ret = (int64_t)(uint32_t)-5;
	assert_true(sample__span_is_error(&s));
	s.ret = 3;
	assert_false(sample__span_is_error(&s));
	/* the catalogue's verdict wins over the return value */
	s.status = TT_STATUS_ERROR;
	assert_true(sample__span_is_error(&s));
	s.status = TT_STATUS_OK;
	s.ret = -1;
	assert_false(sample__span_is_error(&s));
}

static void test_verdicts(void **state)
{
	struct sample_rules none = {}, errs = { .keep_errors = true },
			    slow = { .keep_slow_ns = 30000000 },
			    both = { .keep_errors = true, .keep_slow_ns = 30000000 };
	struct fake f;

	(void)state;
	/* head-picked traces pass whatever the rules */
	fake_init(&f, 0, 1000);
	f.sp[2].ret = -1;
	assert_int_equal(sample__verdict(&f.t, &none), SAMPLE_KEEP_HEAD);

	fake_init(&f, TT_SPAN_UNSAMPLED, 1000);
	assert_int_equal(sample__verdict(&f.t, &none), SAMPLE_DROP);
	assert_int_equal(sample__verdict(&f.t, &both), SAMPLE_DROP);
	/* an error recovered deeper down does not keep the trace */
	f.sp[2].ret = -22;
	assert_int_equal(sample__verdict(&f.t, &errs), SAMPLE_DROP);
	/* a failed workflow (its root) keeps all of it */
	f.sp[0].ret = -22;
	assert_int_equal(sample__verdict(&f.t, &errs), SAMPLE_KEEP_ERROR);
	assert_int_equal(sample__verdict(&f.t, &slow), SAMPLE_DROP);
	assert_int_equal(sample__verdict(&f.t, &none), SAMPLE_DROP);
	/* the catalogue's status decides for the root too */
	f.sp[0].ret = 0;
	f.sp[0].status = TT_STATUS_ERROR;
	assert_int_equal(sample__verdict(&f.t, &errs), SAMPLE_KEEP_ERROR);

	fake_init(&f, TT_SPAN_UNSAMPLED, 30000000);
	assert_int_equal(sample__verdict(&f.t, &slow), SAMPLE_KEEP_SLOW);
	assert_int_equal(sample__verdict(&f.t, &errs), SAMPLE_DROP);
	fake_init(&f, TT_SPAN_UNSAMPLED, 29999999);
	assert_int_equal(sample__verdict(&f.t, &slow), SAMPLE_DROP);
	/* without its root, a trace has no duration to judge */
	fake_init(&f, TT_SPAN_UNSAMPLED, 90000000);
	f.t.complete = false;
	assert_int_equal(sample__verdict(&f.t, &slow), SAMPLE_DROP);
}

struct counting {
	int traces;
	size_t spans;
	double last_prob;
	const char *last_why;
};

static int count_trace(struct tt_sink *sink, const struct tt_trace *t)
{
	struct counting *c = sink->ctx;
	const struct tt_attr *a = tt_span__attr(t->spans[t->n_spans - 1], "tta.sampling.probability");
	const struct tt_attr *w = tt_span__attr(t->spans[0], "tta.sampling.kept_by");

	c->traces++;
	c->spans += t->n_spans;
	c->last_prob = a ? a->d : -1;
	c->last_why = w ? w->s : NULL;
	return 0;
}

static void test_gate(void **state)
{
	struct sample_rules r = { .keep_errors = true };
	struct counting c = {};
	struct tt_sink inner = { .name = "count", .trace = count_trace, .ctx = &c };
	struct tt_sink *inners[1] = { &inner };
	struct sampler *s = sampler__new(0.1, &r);
	struct tt_sink *g;
	struct tt_span_rec rec = {};
	struct sample_stats st;
	struct fake f;

	(void)state;
	assert_non_null(s);
	g = sample_gate__new(s, inners, 1);
	assert_non_null(g);

	/* a picked trace, its root record carrying 10% */
	fake_init(&f, 0, 1000);
	f.t.arena = tt_arena__new();
	rec.span_id = rec.trace_key = f.sp[0].span_id;
	rec.sample_ppm = 100000;
	sampler__on_record(s, &rec, sizeof(rec));
	assert_int_equal(g->trace(g, &f.t), 0);
	assert_int_equal(c.traces, 1);
	assert_true(fabs(c.last_prob - 0.1) < 1e-12);
	assert_null(c.last_why);
	tt_arena__free(f.t.arena);

	/* unpicked, no error: discarded and counted */
	fake_init(&f, TT_SPAN_UNSAMPLED, 1000);
	f.t.arena = tt_arena__new();
	rec.flags = TT_SPAN_UNSAMPLED;
	sampler__on_record(s, &rec, sizeof(rec));
	assert_int_equal(g->trace(g, &f.t), 0);
	assert_int_equal(c.traces, 1);
	tt_arena__free(f.t.arena);

	/* unpicked with an error: kept whole, marked */
	fake_init(&f, TT_SPAN_UNSAMPLED, 1000);
	f.t.arena = tt_arena__new();
	f.sp[0].ret = -5;
	assert_int_equal(g->trace(g, &f.t), 0);
	assert_int_equal(c.traces, 2);
	assert_int_equal(c.spans, 6);
	assert_string_equal(c.last_why, "error");
	tt_arena__free(f.t.arena);

	sampler__stats(s, &st);
	assert_int_equal(st.traces_head, 1);
	assert_int_equal(st.traces_error, 1);
	assert_int_equal(st.traces_discarded, 1);
	assert_int_equal(st.spans_discarded, 3);
	assert_int_equal(st.records_kept, 1);
	assert_int_equal(st.records_unsampled, 1);
	assert_int_equal(st.bytes_unsampled, sizeof(rec));
	tt_sink__close(g);
	sampler__free(s);
}

/* Exported traces/s for load L at probability p, with binomial noise. */
static double simulate_exported(double load, double p)
{
	uint64_t thr = sample__threshold(p);
	int i, n = (int)load, kept = 0;

	for (i = 0; i < n; i++)
		kept += sample__decide((uint32_t)(rnd() >> 32), thr);
	return kept;
}

/* Steps until the exported rate is within 25% of want, at most max_steps; then
 * checks it stays there for 5 more steps. Returns the steps taken. */
static int converge(struct rate_ctl *c, double load, double want, int max_steps)
{
	int step, stable = 0;

	for (step = 1; step <= max_steps + 5; step++) {
		double exported = simulate_exported(load, c->p);

		rate_ctl__step(c, (uint64_t)load, 1.0);
		if (fabs(exported - want) <= 0.25 * want) {
			if (++stable == 6)
				return step - 5;
		} else {
			assert_true(step <= max_steps);
			stable = 0;
		}
	}
	fail_msg("no convergence to %.0f/s at load %.0f/s", want, load);
	return -1;
}

static void test_controller_steps(void **state)
{
	struct rate_ctl c;

	(void)state;
	rate_ctl__init(&c, 100, 1);
	/* steady 2000 roots/s */
	converge(&c, 2000, 100, 8);
	assert_true(fabs(c.p - 0.05) < 0.0125);
	/* load steps up 10x */
	converge(&c, 20000, 100, 8);
	assert_true(fabs(c.p - 0.005) < 0.00125);
	/* and down below the target: everything is kept */
	converge(&c, 60, 60, 10);
	assert_true(c.p == 1);
	/* back up */
	converge(&c, 5000, 100, 8);
	/* no roots at all: keep everything rather than divide by zero */
	rate_ctl__init(&c, 100, 0.5);
	assert_true(rate_ctl__step(&c, 0, 1) == 1);
	/* a zero interval changes nothing */
	assert_true(rate_ctl__step(&c, 1000000, 0) == 1);
	/* the floor holds under an enormous burst */
	rate_ctl__init(&c, 1, 1);
	assert_true(rate_ctl__step(&c, 1000000000ULL, 1) == c.p_min);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold_math),
		cmocka_unit_test(test_decide_rate),
		cmocka_unit_test(test_span_error),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_controller_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
