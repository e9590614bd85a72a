/* Unit tests for the SLO series of the Prometheus exposition (user/metrics.c): the
 * threshold and target gauges, the good-call counter computed from the histogram
 * buckets, merging of probes of one primitive, and errors of the SLO callback.
 * Run as `test_slo --exposition` it prints the exposition of its fake source instead,
 * which tests/e2e/test_alert_rules.sh checks the dashboard and rules against. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "metrics.h"

#define NPROBES 4

/* Probes 0 and 2 are one primitive in two binaries; only probe 2 carries its SLO, as
 * when the catalogue entry matched one binary only. Probe 1 has no SLO. */
struct fake {
	const char *name[NPROBES];
	const char *kind[NPROBES];
	struct hist_snapshot h[NPROBES];
	struct slo slo[NPROBES];
	bool has_slo[NPROBES];
	int slo_err; /* returned by probe_slo for every probe when non-zero */
	unsigned slo_calls;
	struct tt_kstats ks;
};

static uint32_t f_n(void *ctx)
{
	(void)ctx;
	return NPROBES;
}

static int f_read(void *ctx, uint32_t id, struct hist_snapshot *out)
{
	struct fake *f = ctx;

	*out = f->h[id];
	return 0;
}

static int f_labels(void *ctx, uint32_t id, char *name, size_t nl, char *kind, size_t kl)
{
	struct fake *f = ctx;

	snprintf(name, nl, "%s", f->name[id]);
	snprintf(kind, kl, "%s", f->kind[id]);
	return 0;
}

static int f_slo(void *ctx, uint32_t id, struct slo *out)
{
	struct fake *f = ctx;

	f->slo_calls++;
	if (f->slo_err)
		return f->slo_err;
	if (!f->has_slo[id])
		return -ENOENT;
	*out = f->slo[id];
	return 0;
}

static int f_kstats(void *ctx, struct tt_kstats *out)
{
	struct fake *f = ctx;

	*out = f->ks;
	return 0;
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	int i;

	assert_non_null(f);
	f->name[0] = f->name[2] = "checkout";
	f->kind[0] = f->kind[2] = "sequential";
	f->name[1] = "tta_cache_get";
	f->kind[1] = "cache";
	f->name[3] = "payment";
	f->kind[3] = "retry";
	/* checkout: 90 calls of 1 ms, 8 of 40 ms, 2 of 2 s (one an error) */
	for (i = 0; i < 90; i++)
		hist__record(&f->h[i % 2 ? 0 : 2], 1000000, 0);
	for (i = 0; i < 8; i++)
		hist__record(&f->h[0], 40000000, 0);
	hist__record(&f->h[2], 2000000000ULL, -1);
	hist__record(&f->h[2], 2000000000ULL, 0);
	f->h[0].inflight = 1;
	f->has_slo[2] = true;
	f->slo[2] = (struct slo){ .has_latency = true,
				  .latency_threshold_ns = 50000000, /* 50 ms */
				  .latency_target = 0.99,
				  .has_errors = true,
				  .errors_target = 0.999 };
	/* cache: no SLO */
	for (i = 0; i < 5; i++)
		hist__record(&f->h[1], 2000, 0);
	/* payment: error SLO only; 3 of 20 calls fail */
	for (i = 0; i < 20; i++)
		hist__record(&f->h[3], 300000, i < 3 ? -5 : 0);
	f->has_slo[3] = true;
	f->slo[3] = (struct slo){ .has_errors = true, .errors_target = 0.95 };
	f->ks.rb_reserve_fail = 4;
	return f;
}

static struct metrics_source fake_source(struct fake *f)
{
	struct metrics_source s = { .n_probes = f_n,
				    .read_probe = f_read,
				    .probe_labels = f_labels,
				    .read_kstats = f_kstats,
				    .probe_slo = f_slo,
				    .ctx = f };
	return s;
}

static char *render(const struct metrics_source *src, const char *service)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(metrics__render_buf(src, service, &buf, &len), 0);
	assert_non_null(buf);
	return buf;
}

static bool has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

#define assert_line(text, line)                                                    \
	do {                                                                       \
		if (!has_line(text, line))                                         \
			fail_msg("missing line: %s\n--- exposition:\n%s", line, text); \
	} while (0)

static unsigned count_prefix(const char *text, const char *prefix)
{
	unsigned n = 0;
	size_t len = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, len))
			n++;
	return n;
}

static void test_slo_series(void **state)
{
	struct fake *f = fake_new();
	struct metrics_source src = fake_source(f);
	char *t = render(&src, "shop");

	(void)state;
	assert_line(t, "# TYPE ttatrace_slo_latency_threshold_seconds gauge");
	assert_line(t, "ttatrace_slo_latency_threshold_seconds{primitive=\"checkout\","
		       "kind=\"sequential\",service=\"shop\"} 0.05");
	assert_line(t, "ttatrace_slo_latency_target{primitive=\"checkout\",kind=\"sequential\","
		       "service=\"shop\"} 0.99");
	assert_line(t, "# TYPE ttatrace_slo_latency_good_total counter");
	/* 90 x 1 ms + 8 x 40 ms are within 50 ms, the two 2 s calls are not */
	assert_line(t, "ttatrace_slo_latency_good_total{primitive=\"checkout\",kind=\"sequential\","
		       "service=\"shop\"} 98");
	assert_line(t, "ttatrace_slo_errors_target{primitive=\"checkout\",kind=\"sequential\","
		       "service=\"shop\"} 0.999");
	assert_line(t, "ttatrace_slo_errors_target{primitive=\"payment\",kind=\"retry\","
		       "service=\"shop\"} 0.95");
	/* the error SLI relies on the plain counters, which must agree */
	assert_line(t, "ttatrace_primitive_calls_total{primitive=\"checkout\",kind=\"sequential\","
		       "service=\"shop\"} 100");
	assert_line(t, "ttatrace_primitive_errors_total{primitive=\"payment\",kind=\"retry\","
		       "service=\"shop\"} 3");
	/* payment has no latency SLO, the cache no SLO at all */
	assert_int_equal(count_prefix(t, "ttatrace_slo_latency_threshold_seconds{"), 1);
	assert_int_equal(count_prefix(t, "ttatrace_slo_latency_good_total{"), 1);
	assert_int_equal(count_prefix(t, "ttatrace_slo_errors_target{"), 2);
	assert_null(strstr(t, "ttatrace_slo_errors_target{primitive=\"tta_cache_get\""));
	free(t);
	free(f);
}

static void test_no_slo_callback(void **state)
{
	struct fake *f = fake_new();
	struct metrics_source src = fake_source(f);
	char *t;

	(void)state;
	src.probe_slo = NULL;
	t = render(&src, NULL);
	assert_null(strstr(t, "ttatrace_slo_"));
	assert_line(t, "ttatrace_primitive_calls_total{primitive=\"checkout\",kind=\"sequential\"} 100");
	free(t);
	/* a callback that knows no SLO: no families either, not even empty ones */
	src.probe_slo = f_slo;
	memset(f->has_slo, 0, sizeof(f->has_slo));
	t = render(&src, NULL);
	assert_null(strstr(t, "ttatrace_slo_"));
	assert_true(f->slo_calls >= NPROBES);
	free(t);
	free(f);
}

static void test_slo_callback_error(void **state)
{
	struct fake *f = fake_new();
	struct metrics_source src = fake_source(f);
	char *buf = (char *)1;
	size_t len = 1;

	(void)state;
	f->slo_err = -EIO;
	assert_int_equal(metrics__render_buf(&src, NULL, &buf, &len), -EIO);
	assert_null(buf);
	assert_int_equal(len, 0);
	free(f);
}

/* The good count moves exactly at bucket bounds: a threshold on a bound counts the
 * bucket below it, one a nanosecond short of the bound does not. */
static void test_good_rounding(void **state)
{
	struct hist_snapshot h = {};
	uint64_t b = hist__bucket_upper_ns(tt_hist_bucket(1000000)); /* bucket of 1 ms */
	uint64_t bound;

	(void)state;
	hist__record(&h, 1000000, 0);
	hist__record(&h, b, 0); /* first value of the next bucket */
	assert_true(b > 1000000);
	assert_int_equal(metrics__slo_good(&h, b), 1);
	assert_int_equal(metrics__slo_bound_ns(b), b);
	assert_int_equal(metrics__slo_good(&h, b - 1), 0);
	assert_int_equal(metrics__slo_bound_ns(b - 1), hist__bucket_lower_ns(tt_hist_bucket(1000000)));
	assert_int_equal(metrics__slo_good(&h, UINT64_MAX / 2), 2);
	/* 50 ms is not a bound; the one used lies within 1/16 below it */
	bound = metrics__slo_bound_ns(50000000);
	assert_true(bound <= 50000000);
	assert_true(bound >= 50000000 - 50000000 / 16);
	hist__record(&h, bound - 1, 0);
	hist__record(&h, bound, 0);
	assert_int_equal(metrics__slo_good(&h, 50000000), 3);
	assert_int_equal(metrics__slo_bound_ns(0), 0);
}

/* Merged probes get the SLO of the first one that has it, whichever that is. */
static void test_slo_merge_order(void **state)
{
	struct fake *f = fake_new();
	struct metrics_source src = fake_source(f);
	char *t;

	(void)state;
	f->has_slo[0] = true;
	f->slo[0] = (struct slo){ .has_latency = true,
				  .latency_threshold_ns = 1500000000ULL,
				  .latency_target = 0.9 };
	t = render(&src, NULL);
	assert_line(t, "ttatrace_slo_latency_threshold_seconds{primitive=\"checkout\","
		       "kind=\"sequential\"} 1.5");
	assert_line(t, "ttatrace_slo_latency_target{primitive=\"checkout\",kind=\"sequential\"} 0.9");
	assert_line(t, "ttatrace_slo_latency_good_total{primitive=\"checkout\",kind=\"sequential\"} 98");
	/* probe 0's SLO has no error objective, and it won */
	assert_null(strstr(t, "ttatrace_slo_errors_target{primitive=\"checkout\""));
	free(t);
	free(f);
}

static int count_series(const struct metrics_series *s, void *ctx)
{
	unsigned *n = ctx;

	if (!strcmp(s->name, "checkout")) {
		assert_non_null(s->slo);
		assert_int_equal(s->h->calls, 100);
		assert_int_equal(s->h->errors, 1);
	} else if (!strcmp(s->name, "tta_cache_get")) {
		assert_null(s->slo);
	}
	(*n)++;
	return *n == 2 ? 42 : 0;
}

static void test_for_each(void **state)
{
	struct fake *f = fake_new();
	struct metrics_source src = fake_source(f);
	unsigned n = 0;

	(void)state;
	/* three primitives in name order; the callback's non-zero return stops the walk */
	assert_int_equal(metrics__for_each(&src, count_series, &n), 42);
	assert_int_equal(n, 2);
	free(f);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slo_series),	  cmocka_unit_test(test_no_slo_callback),
		cmocka_unit_test(test_slo_callback_error), cmocka_unit_test(test_good_rounding),
		cmocka_unit_test(test_slo_merge_order),	  cmocka_unit_test(test_for_each),
	};

	if (argc == 2 && !strcmp(argv[1], "--exposition")) {
		struct fake *f = fake_new();
		struct metrics_source src = fake_source(f);
		int err = metrics__render(&src, "shop", stdout);

		free(f);
		return err ? 1 : 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
