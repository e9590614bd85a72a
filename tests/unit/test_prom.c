/* Unit tests for user/metrics.c and user/prom_http.c: the Prometheus exposition of
 * synthetic snapshots, line by line, and the /metrics endpoint over real HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"
#include "prom_http.h"

#define NPROBES 4

/* A fake kernel: four probes, two of them the same primitive in two binaries. */
struct fake {
	const char *name[NPROBES];
	const char *kind[NPROBES];
	struct hist_snapshot h[NPROBES];
	struct tt_kstats ks;
	int no_hist; /* probe id without a histogram (-ENOENT), -1 none */
	int kstats_err;
};

static uint32_t f_n(void *ctx)
{
	(void)ctx;
	return NPROBES;
}

static int f_read(void *ctx, uint32_t id, struct hist_snapshot *out)
{
	struct fake *f = ctx;

	if ((int)id == f->no_hist)
		return -ENOENT;
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

static int f_kstats(void *ctx, struct tt_kstats *out)
{
	struct fake *f = ctx;

	*out = f->ks;
	return f->kstats_err;
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	int i;

	assert_non_null(f);
	f->name[0] = "tta_retry_attempt";
	f->kind[0] = "retry";
	f->name[1] = "we\"ird\\na\nme";
	f->kind[1] = "step";
	f->name[2] = "tta_retry_attempt"; /* same primitive, another binary */
	f->kind[2] = "retry";
	f->name[3] = "tta_cache_get";
	f->kind[3] = "cache";
	f->no_hist = -1;
	/* retry: 1000 ns x2, 1536 ns, 3 ms, one error; the twin adds 1023 ns and 2 s */
	hist__record(&f->h[0], 1000, 0);
	hist__record(&f->h[0], 1000, -1);
	hist__record(&f->h[0], 1536, 0);
	hist__record(&f->h[0], 3000000, 0);
	f->h[0].inflight = 2;
	hist__record(&f->h[2], 1023, 0);
	hist__record(&f->h[2], 2000000000ULL, -22);
	f->h[2].inflight = -1;
	for (i = 0; i < 10; i++)
		hist__record(&f->h[1], 50000, 0);
	f->ks.rb_reserve_fail = 7;
	f->ks.stack_overflow = 1;
	f->ks.exit_no_entry = 2;
	f->ks.unwound = 3;
	f->ks.storage_fail = 0;
	return f;
}

static struct metrics_source fake_source(struct fake *f)
{
	struct metrics_source s = { .n_probes = f_n,
				    .read_probe = f_read,
				    .probe_labels = f_labels,
				    .read_kstats = f_kstats,
				    .ctx = f };
	return s;
}

static char *render(struct fake *f, const char *service)
{
	struct metrics_source src = fake_source(f);
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(metrics__render_buf(&src, service, &buf, &len), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void assert_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	fail_msg("line not found: %s\n--- exposition:\n%s", line, text);
}

static void assert_no_substr(const char *text, const char *s)
{
	if (strstr(text, s))
		fail_msg("unexpected '%s' in exposition", s);
}

static void test_fmt_seconds(void **state)
{
	char b[48];

	(void)state;
	metrics__fmt_seconds(0, b, sizeof(b));
	assert_string_equal(b, "0");
	metrics__fmt_seconds(1024, b, sizeof(b));
	assert_string_equal(b, "0.000001024");
	metrics__fmt_seconds(3000000000ULL, b, sizeof(b));
	assert_string_equal(b, "3");
	metrics__fmt_seconds(824633720832ULL, b, sizeof(b));
	assert_string_equal(b, "824.633720832");
	metrics__fmt_seconds(1500000, b, sizeof(b));
	assert_string_equal(b, "0.0015");
	assert_int_equal(metrics__le_ns(0), 1024);
	assert_int_equal(metrics__le_ns(1), 1536);
	assert_int_equal(metrics__le_ns(2), 2048);
	assert_int_equal(metrics__le_ns(TT_PROM_N_LE - 1), 3ULL << (TT_HIST_MAX_LOG2 - 2));
}

static void test_families_and_merge(void **state)
{
	struct fake *f = fake_new();
	char *t;

	(void)state;
	t = render(f, "checkout");
	assert_line(t, "# HELP ttatrace_primitive_duration_seconds Duration of traced primitive "
		       "calls, measured in the kernel (every paired call).");
	assert_line(t, "# TYPE ttatrace_primitive_duration_seconds histogram");
	assert_line(t, "# TYPE ttatrace_primitive_calls_total counter");
	assert_line(t, "# TYPE ttatrace_primitive_errors_total counter");
	assert_line(t, "# TYPE ttatrace_primitive_inflight gauge");
	assert_line(t, "# TYPE ttatrace_spans_total counter");
	assert_line(t, "# TYPE ttatrace_drops_total counter");
	/* probes 0 and 2 are one series: 6 calls, 2 errors, inflight 2 - 1 */
	assert_line(t, "ttatrace_primitive_calls_total{primitive=\"tta_retry_attempt\",kind=\"retry\","
		       "service=\"checkout\"} 6");
	assert_line(t, "ttatrace_primitive_errors_total{primitive=\"tta_retry_attempt\",kind=\"retry\","
		       "service=\"checkout\"} 2");
	assert_line(t, "ttatrace_primitive_inflight{primitive=\"tta_retry_attempt\",kind=\"retry\","
		       "service=\"checkout\"} 1");
	/* cumulative, and a value equal to a bound is not below it */
	assert_line(t, "ttatrace_primitive_duration_seconds_bucket{primitive=\"tta_retry_attempt\","
		       "kind=\"retry\",service=\"checkout\",le=\"0.000001024\"} 3");
	assert_line(t, "ttatrace_primitive_duration_seconds_bucket{primitive=\"tta_retry_attempt\","
		       "kind=\"retry\",service=\"checkout\",le=\"0.000001536\"} 3");
	assert_line(t, "ttatrace_primitive_duration_seconds_bucket{primitive=\"tta_retry_attempt\","
		       "kind=\"retry\",service=\"checkout\",le=\"0.000002048\"} 4");
	assert_line(t, "ttatrace_primitive_duration_seconds_bucket{primitive=\"tta_retry_attempt\","
		       "kind=\"retry\",service=\"checkout\",le=\"0.004194304\"} 5");
	assert_line(t, "ttatrace_primitive_duration_seconds_bucket{primitive=\"tta_retry_attempt\","
		       "kind=\"retry\",service=\"checkout\",le=\"2.147483648\"} 6");
	assert_line(t, "ttatrace_primitive_duration_seconds_bucket{primitive=\"tta_retry_attempt\","
		       "kind=\"retry\",service=\"checkout\",le=\"+Inf\"} 6");
	assert_line(t, "ttatrace_primitive_duration_seconds_count{primitive=\"tta_retry_attempt\","
		       "kind=\"retry\",service=\"checkout\"} 6");
	assert_line(t, "ttatrace_primitive_duration_seconds_sum{primitive=\"tta_retry_attempt\","
		       "kind=\"retry\",service=\"checkout\"} 2.003004559");
	assert_line(t, "ttatrace_spans_total{service=\"checkout\"} 16");
	assert_line(t, "ttatrace_drops_total{service=\"checkout\",reason=\"rb_reserve_fail\"} 7");
	assert_line(t, "ttatrace_drops_total{service=\"checkout\",reason=\"stack_overflow\"} 1");
	assert_line(t, "ttatrace_drops_total{service=\"checkout\",reason=\"exit_no_entry\"} 2");
	assert_line(t, "ttatrace_drops_total{service=\"checkout\",reason=\"unwound\"} 3");
	assert_line(t, "ttatrace_drops_total{service=\"checkout\",reason=\"storage_fail\"} 0");
	/* a primitive with no calls still has its series (zeros), sorted by name */
	assert_line(t, "ttatrace_primitive_calls_total{primitive=\"tta_cache_get\",kind=\"cache\","
		       "service=\"checkout\"} 0");
	assert_true(strstr(t, "primitive=\"tta_cache_get\"") < strstr(t, "primitive=\"tta_retry_attempt\""));
	free(t);
	free(f);
}

/* Every _bucket line of every series is non-decreasing, and +Inf equals _count. */
static void test_cumulative(void **state)
{
	struct fake *f = fake_new();
	char *t, *line, *save = NULL;
	char series[512] = "";
	unsigned long long prev = 0, v, inf = 0;
	int n_bucket_lines = 0, n_series = 0;

	(void)state;
	t = render(f, NULL);
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *le = strstr(line, ",le=\"");

		if (!strncmp(line, "ttatrace_primitive_duration_seconds_bucket{", 43)) {
			char cur[512];

			assert_non_null(le);
			snprintf(cur, sizeof(cur), "%.*s", (int)(le - line), line);
			v = strtoull(strrchr(line, ' ') + 1, NULL, 10);
			if (strcmp(cur, series)) {
				snprintf(series, sizeof(series), "%s", cur);
				prev = 0;
				n_series++;
			}
			assert_true(v >= prev);
			prev = v;
			n_bucket_lines++;
			if (strstr(le, "\"+Inf\""))
				inf = v;
		} else if (!strncmp(line, "ttatrace_primitive_duration_seconds_count{", 42)) {
			assert_int_equal(strtoull(strrchr(line, ' ') + 1, NULL, 10), inf);
		}
	}
	assert_int_equal(n_series, 3);
	assert_int_equal(n_bucket_lines, 3 * (TT_PROM_N_LE + 1));
	free(t);
	free(f);
}

static void test_escaping(void **state)
{
	struct fake *f = fake_new();
	char *t;

	(void)state;
	t = render(f, "svc \"a\"\\b\nc");
	assert_line(t, "ttatrace_primitive_calls_total{primitive=\"we\\\"ird\\\\na\\nme\",kind=\"step\","
		       "service=\"svc \\\"a\\\"\\\\b\\nc\"} 10");
	/* no raw newline inside any label set */
	assert_no_substr(t, "we\"ird");
	assert_no_substr(t, "a\nme");
	free(t);
	free(f);
}

static void test_missing_hist_and_kstats(void **state)
{
	struct fake *f = fake_new();
	char *t;

	(void)state;
	f->no_hist = 0; /* past the map: only the twin's calls count */
	f->kstats_err = -EIO;
	t = render(f, NULL);
	assert_line(t, "ttatrace_primitive_calls_total{primitive=\"tta_retry_attempt\",kind=\"retry\"} 2");
	assert_line(t, "ttatrace_primitive_inflight{primitive=\"tta_retry_attempt\",kind=\"retry\"} 0");
	assert_line(t, "ttatrace_spans_total 12");
	assert_no_substr(t, "ttatrace_drops_total");
	free(t);
	free(f);
}

static int self_read(void *ctx, struct self_stats *out)
{
	*out = *(const struct self_stats *)ctx;
	return 0;
}

static char *render_with_self(struct fake *f, const struct self_stats *ss, const char *service)
{
	struct metrics_source src = fake_source(f);
	char *buf = NULL;
	size_t len = 0;

	src.read_self = self_read;
	src.self_ctx = (void *)ss;
	assert_int_equal(metrics__render_buf(&src, service, &buf, &len), 0);
	assert_non_null(buf);
	return buf;
}

static void test_sampling_self_metrics(void **state)
{
	struct fake *f = fake_new();
	struct self_stats ss = {
		.records = 42,
		.have_sampling = true,
		.sampling_probability = 0.015,
		.sampling_roots = 100000,
		.sampled_head = 1500,
		.kept_error = 37,
		.kept_slow = 4,
		.dropped = 98459,
		.tail_held_spans = 123456,
		.tail_overflow_traces = 2,
	};
	char *t;

	(void)state;
	t = render_with_self(f, &ss, "checkout");
	assert_line(t, "ttatrace_records_total{service=\"checkout\"} 42");
	assert_line(t, "# TYPE ttatrace_sampling_probability gauge");
	assert_line(t, "ttatrace_sampling_probability{service=\"checkout\"} 0.015");
	assert_line(t, "# TYPE ttatrace_sampling_roots_total counter");
	assert_line(t, "ttatrace_sampling_roots_total{service=\"checkout\"} 100000");
	assert_line(t, "# TYPE ttatrace_sampling_traces_total counter");
	assert_line(t, "ttatrace_sampling_traces_total{service=\"checkout\",decision=\"head\"} 1500");
	assert_line(t, "ttatrace_sampling_traces_total{service=\"checkout\",decision=\"error\"} 37");
	assert_line(t, "ttatrace_sampling_traces_total{service=\"checkout\",decision=\"slow\"} 4");
	assert_line(t, "ttatrace_sampling_traces_total{service=\"checkout\",decision=\"dropped\"} 98459");
	assert_line(t, "# TYPE ttatrace_tail_held_spans_total counter");
	assert_line(t, "ttatrace_tail_held_spans_total{service=\"checkout\"} 123456");
	assert_line(t, "# TYPE ttatrace_tail_overflow_traces_total counter");
	assert_line(t, "ttatrace_tail_overflow_traces_total{service=\"checkout\"} 2");
	/* one HELP and one TYPE per family, even with four series */
	assert_non_null(strstr(t, "# HELP ttatrace_sampling_traces_total "));
	assert_null(strstr(strstr(t, "# TYPE ttatrace_sampling_traces_total") + 1,
			   "# TYPE ttatrace_sampling_traces_total"));
	free(t);

	/* without a service label, and a probability of exactly 1 */
	ss.sampling_probability = 1;
	t = render_with_self(f, &ss, NULL);
	assert_line(t, "ttatrace_sampling_probability 1");
	assert_line(t, "ttatrace_sampling_roots_total 100000");
	assert_line(t, "ttatrace_sampling_traces_total{decision=\"dropped\"} 98459");
	assert_line(t, "ttatrace_tail_overflow_traces_total 2");
	free(t);

	/* sampling off: none of it */
	ss.have_sampling = false;
	t = render_with_self(f, &ss, "checkout");
	assert_line(t, "ttatrace_records_total{service=\"checkout\"} 42");
	assert_no_substr(t, "ttatrace_sampling");
	assert_no_substr(t, "ttatrace_tail_");
	free(t);
	free(f);
}

/* GET path over a plain socket; returns the whole response (malloc'd). */
static char *http_get(uint16_t port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	char req[256], *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = read(fd, buf + len, cap - len - 1);
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = 0;
	close(fd);
	return buf;
}

static void test_http_server(void **state)
{
	struct fake *f = fake_new();
	struct metrics_source src = fake_source(f);
	struct prom_server *s;
	char err[256] = "", *resp, *body, *want;

	(void)state;
	s = prom_server__start("127.0.0.1:0", &src, "checkout", err, sizeof(err));
	if (!s)
		fail_msg("start: %s", err);
	assert_true(prom_server__port(s) > 0);
	resp = http_get(prom_server__port(s), "/metrics");
	assert_non_null(strstr(resp, "HTTP/1.0 200") ? resp : strstr(resp, "HTTP/1.1 200"));
	assert_non_null(strstr(resp, "text/plain; version=0.0.4"));
	body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	want = render(f, "checkout");
	assert_string_equal(body + 4, want);
	free(want);
	free(resp);
	/* a scrape sees the counters as they are now */
	hist__record(&f->h[3], 100, 0);
	resp = http_get(prom_server__port(s), "/metrics");
	assert_non_null(strstr(resp, "ttatrace_primitive_calls_total{primitive=\"tta_cache_get\","
				     "kind=\"cache\",service=\"checkout\"} 1\n"));
	free(resp);
	resp = http_get(prom_server__port(s), "/other");
	assert_non_null(strstr(resp, " 404 "));
	free(resp);
	prom_server__stop(s);
	prom_server__stop(NULL);
	free(f);
}

static void test_bad_addresses(void **state)
{
	struct fake *f = fake_new();
	struct metrics_source src = fake_source(f);
	static const char *const bad[] = { "", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:http",
					   "[::1", "1:2:3" };
	struct prom_server *s, *s2;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		s = prom_server__start(bad[i], &src, NULL, err, sizeof(err));
		if (s)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(err, "invalid address"));
	}
	/* a port already taken is reported, not ignored */
	s = prom_server__start(":0", &src, NULL, err, sizeof(err));
	assert_non_null(s);
	{
		char addr[32];

		snprintf(addr, sizeof(addr), "127.0.0.1:%u", prom_server__port(s));
		s2 = prom_server__start(addr, &src, NULL, err, sizeof(err));
		assert_null(s2);
		assert_non_null(strstr(err, "cannot listen on"));
	}
	prom_server__stop(s);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_seconds),
		cmocka_unit_test(test_families_and_merge),
		cmocka_unit_test(test_cumulative),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_missing_hist_and_kstats),
		cmocka_unit_test(test_sampling_self_metrics),
		cmocka_unit_test(test_http_server),
		cmocka_unit_test(test_bad_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
