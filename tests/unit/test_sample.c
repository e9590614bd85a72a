/* Unit tests for user/sample.c: the kernel's threshold comparison with a fixed
 * seed, tail-rule verdicts (the kernel's own included), the assembler filter, the
 * max-min fair split, and the per-primitive --target-rate controller on a
 * simulated load that steps up and down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
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
	/* the status decides, never the return value alone: the assembler set it
	 * from the catalogue's rule or the return type's (a pointer whose low half
	 * looks negative, a void function's leftover register are no errors) */
	s.ret = -22;
	assert_false(sample__span_is_error(&s));
	s.ret = (int64_t)0x7ffd80001000LL;
	assert_false(sample__span_is_error(&s));
	s.status = TT_STATUS_ERROR;
	assert_true(sample__span_is_error(&s));
	s.status = TT_STATUS_OK;
	s.ret = -1;
	assert_false(sample__span_is_error(&s));
	s.status = TT_STATUS_UNSET;
	s.error_ruled = true;
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
	f.sp[2].status = TT_STATUS_ERROR;
	assert_int_equal(sample__verdict(&f.t, &errs), SAMPLE_DROP);
	/* a failed workflow (its root) keeps all of it */
	f.sp[0].status = TT_STATUS_ERROR;
	assert_int_equal(sample__verdict(&f.t, &errs), SAMPLE_KEEP_ERROR);
	assert_int_equal(sample__verdict(&f.t, &slow), SAMPLE_DROP);
	assert_int_equal(sample__verdict(&f.t, &none), SAMPLE_DROP);
	/* a negative return without an error status is no error */
	f.sp[0].status = TT_STATUS_UNSET;
	f.sp[0].ret = -22;
	assert_int_equal(sample__verdict(&f.t, &errs), SAMPLE_DROP);

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

/* The kernel decided the tail rule itself (TT_TAIL_KERNEL): its flags are the
 * verdict, whatever the rules here say. */
static void test_kernel_verdicts(void **state)
{
	struct sample_rules none = {}, both = { .keep_errors = true, .keep_slow_ns = 30000000 };
	struct fake f;

	(void)state;
	/* a fast, successful root the kernel kept as an error (its rule looked at a
	 * capture userspace may judge differently): kept, as an error */
	fake_init(&f, TT_SPAN_UNSAMPLED | TT_SPAN_KEPT_ERROR, 1000);
	assert_int_equal(sample__verdict(&f.t, &none), SAMPLE_KEEP_ERROR);
	assert_int_equal(sample__verdict(&f.t, &both), SAMPLE_KEEP_ERROR);
	fake_init(&f, TT_SPAN_UNSAMPLED | TT_SPAN_KEPT_SLOW, 1000);
	assert_int_equal(sample__verdict(&f.t, &none), SAMPLE_KEEP_SLOW);
	assert_int_equal(sample__verdict(&f.t, &both), SAMPLE_KEEP_SLOW);
	/* slow per the rules here too, but the kernel said slow: not error */
	fake_init(&f, TT_SPAN_UNSAMPLED | TT_SPAN_KEPT_SLOW, 90000000);
	f.sp[0].ret = -1;
	assert_int_equal(sample__verdict(&f.t, &none), SAMPLE_KEEP_SLOW);
	/* both flags: the error wins, as the rules' order does */
	fake_init(&f, TT_SPAN_UNSAMPLED | TT_SPAN_KEPT_ERROR | TT_SPAN_KEPT_SLOW, 1000);
	assert_int_equal(sample__verdict(&f.t, &none), SAMPLE_KEEP_ERROR);
	/* a picked trace stays head-picked */
	fake_init(&f, TT_SPAN_KEPT_ERROR, 1000);
	assert_int_equal(sample__verdict(&f.t, &none), SAMPLE_KEEP_HEAD);
	/* only the root's flags count: a child carrying one does not keep the trace */
	fake_init(&f, TT_SPAN_UNSAMPLED, 1000);
	f.sp[1].flags |= TT_SPAN_KEPT_ERROR;
	f.sp[2].flags |= TT_SPAN_KEPT_SLOW;
	assert_int_equal(sample__verdict(&f.t, &none), SAMPLE_DROP);
}

static double span_prob(const struct tt_span *s)
{
	const struct tt_attr *a = tt_span__attr(s, "tta.sampling.probability");

	return a && a->type == TT_ATTR_DOUBLE ? a->d : -1;
}

static const char *span_why(const struct tt_span *s)
{
	const struct tt_attr *w = tt_span__attr(s, "tta.sampling.kept_by");

	return w ? w->s : NULL;
}

static void test_filter(void **state)
{
	struct sample_rules r = { .keep_errors = true };
	struct sampler *s = sampler__new(0.1, &r);
	struct tt_span_rec rec = {};
	struct sample_stats st;
	struct fake f;
	size_t i;

	(void)state;
	assert_non_null(s);

	/* a picked trace, its root record carrying 10%: every span says so */
	fake_init(&f, 0, 1000);
	f.t.arena = tt_arena__new();
	rec.span_id = rec.trace_key = f.sp[0].span_id;
	rec.sample_ppm = 100000;
	sampler__on_record(s, &rec, sizeof(rec));
	assert_int_equal(sampler__filter(s, &f.t), 1);
	for (i = 0; i < 3; i++) {
		assert_true(fabs(span_prob(&f.sp[i]) - 0.1) < 1e-12);
		assert_null(span_why(&f.sp[i]));
	}
	tt_arena__free(f.t.arena);

	/* emitted without its root record: the probability in force */
	sampler__set_probability(s, 0.25);
	fake_init(&f, 0, 1000);
	f.t.arena = tt_arena__new();
	f.sp[0].span_id = 999;
	assert_int_equal(sampler__filter(s, &f.t), 1);
	assert_true(span_prob(&f.sp[2]) == 0.25);
	tt_arena__free(f.t.arena);

	/* unpicked, no error: dropped, counted, left unmarked */
	fake_init(&f, TT_SPAN_UNSAMPLED, 1000);
	f.t.arena = tt_arena__new();
	rec.flags = TT_SPAN_UNSAMPLED;
	sampler__on_record(s, &rec, sizeof(rec));
	assert_int_equal(sampler__filter(s, &f.t), 0);
	assert_true(span_prob(&f.sp[0]) == -1);
	tt_arena__free(f.t.arena);

	/* unpicked with an error: kept whole, marked as standing alone */
	fake_init(&f, TT_SPAN_UNSAMPLED, 1000);
	f.t.arena = tt_arena__new();
	f.sp[0].status = TT_STATUS_ERROR;
	assert_int_equal(sampler__filter(s, &f.t), 1);
	for (i = 0; i < 3; i++) {
		assert_true(span_prob(&f.sp[i]) == 1.0);
		assert_string_equal(span_why(&f.sp[i]), "error");
	}
	tt_arena__free(f.t.arena);

	/* kept by the kernel as slow, though the rules here have no slow rule */
	fake_init(&f, TT_SPAN_UNSAMPLED | TT_SPAN_KEPT_SLOW, 1000);
	f.t.arena = tt_arena__new();
	assert_int_equal(sampler__filter(s, &f.t), 1);
	assert_string_equal(span_why(&f.sp[1]), "slow");
	tt_arena__free(f.t.arena);

	sampler__stats(s, &st);
	assert_int_equal(st.traces_head, 2);
	assert_int_equal(st.traces_error, 1);
	assert_int_equal(st.traces_slow, 1);
	assert_int_equal(st.traces_discarded, 1);
	assert_int_equal(st.spans_discarded, 3);
	assert_int_equal(st.records_kept, 1);
	assert_int_equal(st.records_unsampled, 1);
	assert_int_equal(st.bytes_unsampled, sizeof(rec));
	sampler__free(s);
	sampler__free(NULL);
}

static void assert_ps(const double *got, const double *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fabs(got[i] - want[i]) > 1e-12)
			fail_msg("p[%zu] = %.15g, want %.15g", i, got[i], want[i]);
}

/* Hand-computed water-filling. */
static void test_fair_share(void **state)
{
	double p[6];

	(void)state;
	/* share 10: the rare one keeps all 5, the hot one gets the other 15 */
	sample__fair_share((double[]){ 1000, 5 }, 2, 20, 1e-4, p);
	assert_ps(p, (double[]){ 0.015, 1 }, 2);
	/* equal rates split equally */
	sample__fair_share((double[]){ 200, 200, 200, 200 }, 4, 100, 1e-4, p);
	assert_ps(p, (double[]){ 0.125, 0.125, 0.125, 0.125 }, 4);
	/* everything fits: nothing is sampled away */
	sample__fair_share((double[]){ 1, 2, 3 }, 3, 100, 1e-4, p);
	assert_ps(p, (double[]){ 1, 1, 1 }, 3);
	/* exactly at the share: kept whole */
	sample__fair_share((double[]){ 10, 10 }, 2, 20, 1e-4, p);
	assert_ps(p, (double[]){ 1, 1 }, 2);
	/* target 0: the floor, never 0 */
	sample__fair_share((double[]){ 1000, 5 }, 2, 0, 1e-4, p);
	assert_ps(p, (double[]){ 1e-4, 1e-4 }, 2);
	/* three levels, unsorted input, an idle primitive (rate 0 gets 1):
	 * 60 / 4 = 15 > 4: 4 kept; 56 / 3 = 18.67 > 8: 8 kept; 48 / 2 = 24 each
	 * for 100 and 400 */
	sample__fair_share((double[]){ 400, 8, 0, 100, 4 }, 5, 60, 1e-4, p);
	assert_ps(p, (double[]){ 24.0 / 400, 1, 1, 24.0 / 100, 1 }, 5);
	/* the floor under a huge rate */
	sample__fair_share((double[]){ 1e9, 1 }, 2, 2, 1e-4, p);
	assert_ps(p, (double[]){ 1e-4, 1 }, 2);
	/* nothing to share */
	sample__fair_share(NULL, 0, 10, 1e-4, p);
}

/* Poisson draw (Knuth's, in slices so exp() does not underflow). */
static uint64_t poisson(double lambda)
{
	uint64_t n = 0;

	while (lambda > 0) {
		double l = lambda > 30 ? 30 : lambda, lim = exp(-l), prod = 1;

		lambda -= l;
		for (;;) {
			prod *= (double)(rnd() >> 11) / 9007199254740992.0;
			if (prod <= lim)
				break;
			n++;
		}
	}
	return n;
}

/* Picked roots out of n at probability p, through the kernel's comparison. */
static uint64_t binomial_picks(uint64_t n, double p)
{
	uint64_t thr = sample__threshold(p), i, kept = 0;

	for (i = 0; i < n; i++)
		kept += sample__decide((uint32_t)(rnd() >> 32), thr);
	return kept;
}

#define TARGET 50.0
#define RARE 3.0

struct phase {
	double hot; /* roots/s of the hot primitive */
	int steps;
	int settle; /* steps after which the expected exported rate is within 10% */
};

/* Hot probe 0 steps 100 -> 1000 -> 100 roots/s, rare probe 1 stays at 3/s, one
 * call per second. Arrivals are exact (poisson_arrivals false) or Poisson; picks
 * are drawn as the kernel draws them. Sets the largest relative error of the
 * expected exported rate after settling, per step and per phase's mean; checks
 * the rare one is never sampled and the effective probability returned. */
static void run_load_steps(bool poisson_arrivals, double *worst_err, double *worst_mean_err)
{
	/* the smoothed rate halves its error every step: up 10x, the exported rate is
	 * within 6% after 4 updates; down 10x, the excess 900/2^k takes 7 updates */
	static const struct phase phases[] = { { 100, 25, 2 }, { 1000, 25, 5 }, { 100, 25, 8 } };
	struct rate_ctl *c = rate_ctl__new(TARGET, 1);
	uint64_t cum[2] = { 0, 0 }, started = 0, picked = 0;
	double p[2] = { 1, 1 }, expected_picks = 0;
	size_t k;
	int s;

	assert_non_null(c);
	*worst_err = *worst_mean_err = 0;
	for (k = 0; k < sizeof(phases) / sizeof(phases[0]); k++) {
		const struct phase *ph = &phases[k];
		double sum = 0;
		int settled = 0;

		for (s = 1; s <= ph->steps; s++) {
			/* expected traces/s under the probabilities in force this second */
			double exp_rate = ph->hot * p[0] + RARE * p[1];
			double err = fabs(exp_rate - TARGET) / TARGET;
			uint64_t n0 = poisson_arrivals ? poisson(ph->hot) : (uint64_t)ph->hot;
			uint64_t n1 = poisson_arrivals ? poisson(RARE) : (uint64_t)RARE;
			double want_eff = n0 + n1 ? (n0 * p[0] + n1 * p[1]) / (n0 + n1) : -1, eff;

			if (k == 2 && s > 1 && !poisson_arrivals) {
				/* coming down, the controller is late in the safe direction */
				assert_true(exp_rate <= TARGET * 1.02);
			}
			if (s >= ph->settle) {
				if (err > *worst_err)
					*worst_err = err;
				sum += exp_rate;
				settled++;
			}
			picked += binomial_picks(n0, p[0]) + binomial_picks(n1, p[1]);
			expected_picks += n0 * p[0] + n1 * p[1];
			started += n0 + n1;
			cum[0] += n0;
			cum[1] += n1;
			eff = rate_ctl__update(c, cum, 2, 1.0, p);
			if (want_eff >= 0)
				assert_true(fabs(eff - want_eff) < 1e-9);
			/* the rare primitive is far below its share (25/s): never sampled */
			assert_true(p[1] == 1);
			assert_true(rate_ctl__probability(c, 1) == 1);
			assert_true(rate_ctl__probability(c, 0) == p[0]);
			assert_true(p[0] >= RATE_CTL_P_MIN && p[0] <= 1);
		}
		if (fabs(sum / settled - TARGET) / TARGET > *worst_mean_err)
			*worst_mean_err = fabs(sum / settled - TARGET) / TARGET;
	}
	/* what the kernel's comparison picked matches what the controller expected */
	assert_true(fabs((double)picked - expected_picks) <= 5 * sqrt(expected_picks));
	assert_true(started > 0);
	rate_ctl__free(c);
}

static void test_controller_load_steps(void **state)
{
	double worst, worst_mean;

	(void)state;
	run_load_steps(false, &worst, &worst_mean);
	if (worst > 0.10)
		fail_msg("exact arrivals: exported rate off target by %.1f%% after settling", 100 * worst);
	/* Poisson arrivals at 100/s: the smoothed rate itself is off by ~6% (one
	 * sigma) from second to second, so single steps can miss by more than 10%;
	 * the settled average may not */
	run_load_steps(true, &worst, &worst_mean);
	if (worst_mean > 0.10)
		fail_msg("Poisson arrivals: mean exported rate off target by %.1f%%", 100 * worst_mean);
	if (worst > 0.40)
		fail_msg("Poisson arrivals: a step off target by %.1f%%", 100 * worst);
}

static void test_controller_edges(void **state)
{
	struct rate_ctl *c;
	uint64_t cum[4] = { 0 };
	double p[4], eff;

	(void)state;
	errno = 0;
	assert_null(rate_ctl__new(0, 1));
	assert_int_equal(errno, EINVAL);
	assert_null(rate_ctl__new(-5, 1));
	assert_null(rate_ctl__new(NAN, 1));
	assert_null(rate_ctl__new(10, NAN));
	rate_ctl__free(NULL);

	/* before any data: p0 everywhere, for ids never seen too */
	c = rate_ctl__new(100, 0.5);
	assert_non_null(c);
	assert_true(rate_ctl__probability(c, 0) == 0.5);
	assert_true(rate_ctl__probability(c, 12345) == 0.5);
	/* the first call (no interval yet) only takes the baseline */
	cum[0] = 1000000;
	eff = rate_ctl__update(c, cum, 1, 0, p);
	assert_true(eff == 0.5);
	assert_true(p[0] == 0.5);
	/* 200/s from there on: the baseline is not counted as one second's worth */
	cum[0] += 200;
	eff = rate_ctl__update(c, cum, 1, 1.0, p);
	assert_true(eff == 0.5); /* what was in force over the step */
	assert_true(fabs(p[0] - 0.5) < 1e-12); /* 100 / 200 */
	/* a new probe (dlopen) that has not started a root keeps p0; one idle
	 * interval gives no information and changes nothing */
	cum[0] += 200;
	eff = rate_ctl__update(c, cum, 3, 1.0, p);
	assert_true(fabs(eff - 0.5) < 1e-12);
	assert_true(p[1] == 0.5 && p[2] == 0.5);
	/* probe 2 starts 10 roots/s: below its share, kept whole from the next call on;
	 * over this step it still ran at p0 */
	cum[0] += 200;
	cum[2] += 10;
	eff = rate_ctl__update(c, cum, 3, 1.0, p);
	assert_true(fabs(eff - 0.5) < 1e-12);
	assert_true(p[2] == 1);
	assert_true(fabs(p[0] - 90.0 / 200) < 1e-12);
	assert_true(p[1] == 0.5);
	/* nothing started: the previous effective probability */
	eff = rate_ctl__update(c, cum, 3, 1.0, p);
	assert_true(fabs(eff - 0.5) < 1e-12);
	/* an idle second halves the smoothed rates: 100/s and 5/s; 5 fit the share,
	 * 95 are left for probe 0 */
	assert_true(fabs(p[0] - 0.95) < 1e-12 && p[2] == 1);
	/* dt <= 0 reports the current values and moves nothing */
	cum[0] += 1000000;
	rate_ctl__update(c, cum, 4, -1, p);
	assert_true(fabs(p[0] - 0.95) < 1e-12 && p[1] == 0.5 && p[2] == 1 && p[3] == 0.5);
	/* 50 in the next second: (50 + 100) / 2 = 75/s fits the 97.5 left, as it would
	 * not had the burst counted */
	cum[0] += 50;
	rate_ctl__update(c, cum, 4, 1.0, p);
	assert_true(p[0] == 1);
	rate_ctl__free(c);

	/* the floor holds under an enormous burst */
	c = rate_ctl__new(1, 1);
	assert_non_null(c);
	cum[0] = 1000000000ULL;
	rate_ctl__update(c, cum, 1, 1.0, p);
	assert_true(p[0] == RATE_CTL_P_MIN);
	/* a counter that went back does not make a negative rate */
	cum[0] = 10;
	rate_ctl__update(c, cum, 1, 1.0, p);
	assert_true(p[0] >= RATE_CTL_P_MIN && p[0] <= 1);
	rate_ctl__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold_math),
		cmocka_unit_test(test_decide_rate),
		cmocka_unit_test(test_span_error),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_kernel_verdicts),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_fair_share),
		cmocka_unit_test(test_controller_load_steps),
		cmocka_unit_test(test_controller_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
