/* Unit tests for the log-linear latency buckets (include/ttatrace.h, shared with the
 * BPF code) and user/hist.c: bounds, per-CPU merge, and percentiles of synthetic
 * distributions within the stated error of the exact nearest-rank values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

#define NVALS 200000

/* xorshift64*: deterministic, so a failure reproduces */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static double rnd01(void)
{
	return (rnd() >> 11) * (1.0 / 9007199254740992.0);
}

static double rnd_normal(void)
{
	double u = rnd01(), v = rnd01();

	return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_log2_matches_clz(void **state)
{
	uint64_t v;
	int i;

	(void)state;
	for (i = 0; i < 64; i++) {
		v = 1ULL << i;
		assert_int_equal(tt_hist_log2(v), i);
		assert_int_equal(tt_hist_log2(v | (v - 1)), i);
	}
	for (i = 0; i < 100000; i++) {
		v = rnd() >> (rnd() % 64);
		if (v)
			assert_int_equal(tt_hist_log2(v), 63 - __builtin_clzll(v));
	}
}

static void test_bucket_bounds(void **state)
{
	uint32_t b;
	uint64_t v;
	int i;

	(void)state;
	assert_int_equal(hist__bucket_lower_ns(0), 0);
	for (b = 0; b + 1 < TT_HIST_NBUCKETS; b++) {
		uint64_t lo = hist__bucket_lower_ns(b), hi = hist__bucket_upper_ns(b);

		/* contiguous, and each bucket's own bounds map back to it */
		assert_int_equal(hi, hist__bucket_lower_ns(b + 1));
		assert_int_equal(tt_hist_bucket(lo), b);
		assert_int_equal(tt_hist_bucket(hi - 1), b);
		/* the error bound: width <= lower / 16 once past the exact buckets */
		if (b >= TT_HIST_SUB)
			assert_true((hi - lo) * TT_HIST_SUB <= lo);
		else
			assert_int_equal(hi - lo, 1);
	}
	assert_int_equal(hist__bucket_upper_ns(TT_HIST_NBUCKETS - 1), 1ULL << TT_HIST_MAX_LOG2);
	assert_int_equal(tt_hist_bucket((1ULL << TT_HIST_MAX_LOG2) - 1), TT_HIST_NBUCKETS - 1);
	assert_int_equal(tt_hist_bucket(1ULL << TT_HIST_MAX_LOG2), TT_HIST_NBUCKETS - 1);
	assert_int_equal(tt_hist_bucket(UINT64_MAX), TT_HIST_NBUCKETS - 1);
	for (i = 0; i < 100000; i++) {
		v = rnd() >> (24 + rnd() % 40);
		b = tt_hist_bucket(v);
		assert_true(hist__bucket_lower_ns(b) <= v && v < hist__bucket_upper_ns(b));
		/* the representative value is within 1/32 of every value of its bucket */
		assert_true(llabs((long long)hist__bucket_mid_ns(b) - (long long)v) * 32 <= (long long)v);
	}
}

/* Buckets vals with the shared function and checks p50/p95/p99/p99.9/max against
 * the exact nearest-rank values of the sorted data. */
static void check_percentiles(const char *what, uint64_t *vals, size_t n)
{
	static const double qs[] = { 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0 };
	struct hist_snapshot *s = calloc(1, sizeof(*s));
	size_t i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		hist__record(s, vals[i], 0);
	qsort(vals, n, sizeof(*vals), cmp_u64);
	assert_int_equal(s->calls, n);
	assert_int_equal(s->max_ns, vals[n - 1]);
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		size_t rank = (size_t)ceil(qs[i] * n);
		uint64_t exact = vals[rank - 1], est = hist__percentile_ns(s, qs[i]);
		double rel = exact ? fabs((double)est - (double)exact) / (double)exact : (double)est;

		if (rel > 1.0 / 32)
			fail_msg("%s: q=%g estimate %llu, exact %llu: error %.4f > 3.125%%", what, qs[i],
				 (unsigned long long)est, (unsigned long long)exact, rel);
	}
	assert_int_equal(hist__percentile_ns(s, 1.0), vals[n - 1]);
	free(s);
}

static void test_uniform(void **state)
{
	uint64_t *v = malloc(NVALS * sizeof(*v));
	size_t i;

	(void)state;
	assert_non_null(v);
	for (i = 0; i < NVALS; i++)
		v[i] = 1000 + rnd() % 9000000; /* 1 us .. 9 ms */
	check_percentiles("uniform", v, NVALS);
	for (i = 0; i < NVALS; i++)
		v[i] = rnd() % 40; /* the exact small buckets and the first octaves */
	check_percentiles("uniform-small", v, NVALS);
	free(v);
}

static void test_lognormal(void **state)
{
	uint64_t *v = malloc(NVALS * sizeof(*v));
	size_t i;

	(void)state;
	assert_non_null(v);
	/* median ~100 us, sigma 1.5: spans 6 decades */
	for (i = 0; i < NVALS; i++)
		v[i] = (uint64_t)exp(log(100000.0) + 1.5 * rnd_normal());
	check_percentiles("lognormal", v, NVALS);
	free(v);
}

static void test_bimodal(void **state)
{
	uint64_t *v = malloc(NVALS * sizeof(*v));
	size_t i;

	(void)state;
	assert_non_null(v);
	/* 97% fast cache hits near 2 us, 3% slow misses near 40 ms: p95 and p99 fall in
	 * different modes, which a mean or a single-mode fit gets badly wrong */
	for (i = 0; i < NVALS; i++) {
		double base = rnd() % 100 < 97 ? 2000.0 : 40e6;

		v[i] = (uint64_t)(base * (1.0 + 0.1 * rnd_normal()));
	}
	check_percentiles("bimodal", v, NVALS);
	free(v);
}

static void test_merge_percpu(void **state)
{
	enum { NCPU = 4 };
	struct tt_hist *per = calloc(NCPU, sizeof(*per));
	struct hist_snapshot *all = calloc(1, sizeof(*all)), *m = calloc(1, sizeof(*m));
	int i;

	(void)state;
	assert_non_null(per);
	assert_non_null(all);
	assert_non_null(m);
	for (i = 0; i < 10000; i++) {
		uint64_t d = rnd() % 5000000;
		int32_t ret = i % 7 == 0 ? -5 : 3;
		struct tt_hist *h = &per[i % NCPU];

		/* what on_exit does, on the CPU the exit ran on */
		h->calls++;
		h->sum_ns += d;
		if (d > h->max_ns)
			h->max_ns = d;
		if (ret < 0)
			h->errors++;
		h->buckets[tt_hist_bucket(d)]++;
		hist__record(all, d, ret);
	}
	/* entries on one CPU, exits on another: per-CPU gauges go negative */
	per[0].inflight = 5;
	per[1].inflight = -3;
	per[3].inflight = -1;
	hist__merge_percpu(per, NCPU, m);
	assert_int_equal(m->calls, all->calls);
	assert_int_equal(m->errors, all->errors);
	assert_int_equal(m->errors, 1429);
	assert_int_equal(m->sum_ns, all->sum_ns);
	assert_int_equal(m->max_ns, all->max_ns);
	assert_int_equal(m->inflight, 1);
	assert_memory_equal(m->buckets, all->buckets, sizeof(m->buckets));
	/* add is the same merge */
	memset(all, 0, sizeof(*all));
	hist__add(all, m);
	hist__add(all, m);
	assert_int_equal(all->calls, 2 * m->calls);
	assert_int_equal(all->max_ns, m->max_ns);
	assert_int_equal(all->inflight, 2);
	free(per);
	free(all);
	free(m);
}

static void test_count_below(void **state)
{
	struct hist_snapshot *s = calloc(1, sizeof(*s));
	static const uint64_t vals[] = { 0, 5, 1023, 1024, 1535, 1536, 1537, 2048, 1000000,
					 (1ULL << 41) };
	size_t i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		hist__record(s, vals[i], 0);
	assert_int_equal(hist__count_below(s, 1024), 3);
	assert_int_equal(hist__count_below(s, 1536), 5);
	assert_int_equal(hist__count_below(s, 2048), 7);
	assert_int_equal(hist__count_below(s, 1ULL << 20), 9);
	/* the open-ended last bucket is only ever in +Inf */
	assert_int_equal(hist__count_below(s, 1ULL << TT_HIST_MAX_LOG2), 9);
	assert_int_equal(hist__percentile_ns(s, 1.0), 1ULL << 41);
	free(s);
}

static void test_empty(void **state)
{
	struct hist_snapshot *s = calloc(1, sizeof(*s));

	(void)state;
	assert_non_null(s);
	assert_int_equal(hist__percentile_ns(s, 0.5), 0);
	hist__record(s, 777, -1);
	assert_int_equal(s->errors, 1);
	/* one value: every percentile is its bucket's midpoint, clamped to the max */
	assert_true(hist__percentile_ns(s, 0.5) <= 777);
	assert_true(hist__percentile_ns(s, 0.5) * 32 >= 777 * 31);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log2_matches_clz),
		cmocka_unit_test(test_bucket_bounds),
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_lognormal),
		cmocka_unit_test(test_bimodal),
		cmocka_unit_test(test_merge_percpu),
		cmocka_unit_test(test_count_below),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
