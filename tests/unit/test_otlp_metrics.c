/* Unit tests for user/otlp_metrics.c: a synthetic snapshot encoded as an
 * ExportMetricsServiceRequest and decoded again with protobuf-c (names, bounds,
 * per-bucket counts, sum, count, attributes, temporality), the /v1/metrics URL
 * derivation, and the exporter thread POSTing to a local HTTP server at stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_metrics.h"

typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hist_point;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_number_point;

#define NPROBES 3

struct fake {
	const char *name[NPROBES];
	const char *kind[NPROBES];
	struct hist_snapshot h[NPROBES];
	struct tt_kstats ks;
};

static uint32_t f_n(void *ctx)
{
	(void)ctx;
	return NPROBES;
}

static int f_read(void *ctx, uint32_t id, struct hist_snapshot *out)
{
	*out = ((struct fake *)ctx)->h[id];
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
	*out = ((struct fake *)ctx)->ks;
	return 0;
}

/* retry (two probes merged): 1000 ns x2 (one error), 1536 ns, 3 ms, 2 s; cache: 10 x 50 us */
static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	int i;

	assert_non_null(f);
	f->name[0] = f->name[2] = "tta_retry_attempt";
	f->kind[0] = f->kind[2] = "retry";
	f->name[1] = "tta_cache_get";
	f->kind[1] = "cache";
	hist__record(&f->h[0], 1000, 0);
	hist__record(&f->h[0], 1000, -1);
	hist__record(&f->h[0], 1536, 0);
	hist__record(&f->h[2], 3000000, 0);
	hist__record(&f->h[2], 2000000000ULL, 0);
	f->h[0].inflight = 3;
	f->h[2].inflight = -1;
	for (i = 0; i < 10; i++)
		hist__record(&f->h[1], 50000, 0);
	f->ks.rb_reserve_fail = 7;
	f->ks.unwound = 2;
	return f;
}

static struct metrics_source fake_source(struct fake *f)
{
	return (struct metrics_source){ .n_probes = f_n,
					.read_probe = f_read,
					.probe_labels = f_labels,
					.read_kstats = f_kstats,
					.ctx = f };
}

static const char *attr(otlp_pb_kv **kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i]->key, key) &&
		    kv[i]->value->value_case ==
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
			return kv[i]->value->string_value;
	return NULL;
}

static const pb_metric *find_metric(const otlp_pb_metrics_request *r, const char *name)
{
	const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
		r->resource_metrics[0]->scope_metrics[0];

	for (size_t i = 0; i < sm->n_metrics; i++)
		if (!strcmp(sm->metrics[i]->name, name))
			return sm->metrics[i];
	return NULL;
}

/* index of the explicit bound equal to ns (seconds), -1 if none */
static int bound_index(const pb_hist_point *p, uint64_t ns)
{
	for (size_t i = 0; i < p->n_explicit_bounds; i++)
		if (p->explicit_bounds[i] == (double)ns / 1e9)
			return (int)i;
	return -1;
}

static otlp_pb_metrics_request *encode_decode(struct fake *f, const char *service,
					      const struct otlp_config *cfg)
{
	struct metrics_source src = fake_source(f);
	otlp_pb_metrics_request *r;
	uint8_t *buf;
	size_t len;

	assert_int_equal(otlp_metrics__encode(cfg, &src, service, 1000, 5000, &buf, &len), 0);
	assert_true(len > 0);
	r = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
		NULL, len, buf);
	free(buf);
	assert_non_null(r);
	return r;
}

static void test_encode(void **state)
{
	struct fake *f = fake_new();
	otlp_pb_metrics_request *r = encode_decode(f, "shop", NULL);
	const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm;
	const pb_metric *dur, *calls, *errs, *infl, *drops;
	const pb_hist_point *retry = NULL, *cache = NULL;
	uint64_t total;
	size_t i;
	int b;

	(void)state;
	assert_int_equal(r->n_resource_metrics, 1);
	rm = r->resource_metrics[0];
	assert_string_equal(attr(rm->resource->attributes, rm->resource->n_attributes,
				 "service.name"),
			    "shop");
	assert_int_equal(rm->n_scope_metrics, 1);
	assert_string_equal(rm->scope_metrics[0]->scope->name, "ttatrace");

	dur = find_metric(r, OTLP_METRIC_DURATION);
	assert_non_null(dur);
	assert_string_equal(dur->unit, "s");
	assert_int_equal(dur->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
	assert_int_equal(
		dur->histogram->aggregation_temporality,
		OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
	/* one point per primitive: the two retry probes are merged */
	assert_int_equal(dur->histogram->n_data_points, 2);
	for (i = 0; i < 2; i++) {
		const pb_hist_point *p = dur->histogram->data_points[i];
		const char *prim = attr(p->attributes, p->n_attributes, "tta.primitive");

		assert_non_null(prim);
		if (!strcmp(prim, "tta_retry_attempt")) {
			retry = p;
			assert_string_equal(attr(p->attributes, p->n_attributes, "tta.primitive.kind"),
					    "retry");
		} else {
			cache = p;
			assert_string_equal(attr(p->attributes, p->n_attributes, "tta.primitive.kind"),
					    "cache");
		}
		assert_int_equal(p->start_time_unix_nano, 1000);
		assert_int_equal(p->time_unix_nano, 5000);
		/* bounds: metrics__le_ns in seconds, increasing; one count more than bounds */
		assert_int_equal(p->n_explicit_bounds, TT_PROM_N_LE);
		assert_int_equal(p->n_bucket_counts, TT_PROM_N_LE + 1);
		for (size_t j = 0; j < p->n_explicit_bounds; j++)
			assert_true(p->explicit_bounds[j] == (double)metrics__le_ns(j) / 1e9);
		total = 0;
		for (size_t j = 0; j < p->n_bucket_counts; j++)
			total += p->bucket_counts[j];
		assert_int_equal(total, p->count);
	}
	assert_non_null(retry);
	assert_non_null(cache);
	assert_int_equal(retry->count, 5);
	assert_int_equal(retry->sum_field_case,
			 OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_FIELD_SUM);
	assert_true(retry->sum > 2.0030035 && retry->sum < 2.0030036); /* 2.003003536 s */
	assert_true(retry->max == 2.0);
	/* per-bucket (not cumulative) counts: 1000 ns x2 in (0, 1.024 us]; 1536 ns is the
	 * bound 1.5 * 1024 exactly but a bucket is [lower, upper): it belongs to the next */
	assert_int_equal(retry->bucket_counts[0], 2);
	assert_int_equal(retry->bucket_counts[1], 0);
	assert_int_equal(retry->bucket_counts[2], 1);
	b = bound_index(retry, 3145728); /* 3 ms lies in (2.097152, 3.145728] ms ... */
	assert_true(b > 0);
	assert_int_equal(retry->bucket_counts[b], 1);
	assert_int_equal(retry->bucket_counts[b - 1], 0); /* ... not in (1.572864, 2.097152] */
	b = bound_index(retry, 2147483648ULL); /* 2 s in (1.610612736, 2.147483648] s */
	assert_true(b > 0);
	assert_int_equal(retry->bucket_counts[b], 1);
	assert_int_equal(retry->bucket_counts[TT_PROM_N_LE], 0);
	b = bound_index(cache, 65536); /* 50 us in (49.152, 65.536] us */
	assert_true(b > 0);
	assert_int_equal(cache->bucket_counts[b], 10);
	assert_int_equal(cache->count, 10);

	calls = find_metric(r, OTLP_METRIC_CALLS);
	errs = find_metric(r, OTLP_METRIC_ERRORS);
	infl = find_metric(r, OTLP_METRIC_INFLIGHT);
	drops = find_metric(r, OTLP_METRIC_DROPS);
	assert_non_null(calls);
	assert_non_null(errs);
	assert_non_null(infl);
	assert_non_null(drops);
	assert_int_equal(calls->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
	assert_true(calls->sum->is_monotonic);
	assert_int_equal(
		calls->sum->aggregation_temporality,
		OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
	for (i = 0; i < calls->sum->n_data_points; i++) {
		const pb_number_point *c = calls->sum->data_points[i], *e = errs->sum->data_points[i],
				      *g = infl->gauge->data_points[i];
		bool is_retry = !strcmp(attr(c->attributes, c->n_attributes, "tta.primitive"),
					"tta_retry_attempt");

		assert_int_equal(c->value_case,
				 OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT);
		assert_int_equal(c->as_int, is_retry ? 5 : 10);
		assert_int_equal(e->as_int, is_retry ? 1 : 0);
		assert_int_equal(g->as_int, is_retry ? 2 : 0); /* 3 + -1 */
		assert_int_equal(c->start_time_unix_nano, 1000);
	}
	assert_int_equal(infl->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
	assert_int_equal(drops->sum->n_data_points, 5);
	for (i = 0; i < drops->sum->n_data_points; i++) {
		const pb_number_point *p = drops->sum->data_points[i];
		const char *reason = attr(p->attributes, p->n_attributes, "reason");

		assert_non_null(reason);
		assert_int_equal(p->as_int, !strcmp(reason, "rb_reserve_fail") ? 7
					    : !strcmp(reason, "unwound")	 ? 2
										 : 0);
	}
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		r, NULL);
	free(f);
}

static void test_resource_from_config(void **state)
{
	struct fake *f = fake_new();
	struct otlp_config cfg;
	otlp_pb_metrics_request *r;
	const otlp_pb_resource *res;

	(void)state;
	assert_int_equal(otlp_config__init(&cfg), 0);
	cfg.service_name = strdup("from-env");
	cfg.resource_attrs = calloc(1, sizeof(*cfg.resource_attrs));
	cfg.resource_attrs[0].key = strdup("deployment.environment");
	cfg.resource_attrs[0].value = strdup("test");
	cfg.n_resource_attrs = 1;
	r = encode_decode(f, NULL, &cfg);
	res = r->resource_metrics[0]->resource;
	assert_string_equal(attr(res->attributes, res->n_attributes, "service.name"), "from-env");
	assert_string_equal(attr(res->attributes, res->n_attributes, "deployment.environment"),
			    "test");
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		r, NULL);
	otlp_config__cleanup(&cfg);
	free(f);
}

static void test_endpoint(void **state)
{
	struct otlp_config cfg = {};
	char *u;

	(void)state;
	unsetenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	errno = 0;
	assert_null(otlp_metrics__endpoint(&cfg));
	assert_int_equal(errno, EINVAL);
	cfg.endpoint = "http://c:4318/v1/traces";
	u = otlp_metrics__endpoint(&cfg);
	assert_string_equal(u, "http://c:4318/v1/metrics");
	free(u);
	cfg.endpoint = "https://c/custom/traces";
	u = otlp_metrics__endpoint(&cfg);
	assert_string_equal(u, "https://c/v1/metrics");
	free(u);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318/", 1);
	u = otlp_metrics__endpoint(&cfg);
	assert_string_equal(u, "http://base:4318/v1/metrics");
	free(u);
	setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9/x", 1);
	u = otlp_metrics__endpoint(&cfg);
	assert_string_equal(u, "http://m:9/x");
	free(u);
	unsetenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
}

/* --- a receiver: counts POSTs to /v1/metrics and keeps the last body ---------------- */

struct receiver {
	pthread_mutex_t lock;
	unsigned posts;
	char path[64];
	char ctype[64];
	uint8_t *last;
	size_t last_len;
};

struct upload {
	uint8_t *buf;
	size_t len;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct receiver *rv = cls;
	struct upload *up = *con_cls;
	struct MHD_Response *resp;
	const char *ct;
	enum MHD_Result ret;

	(void)version;
	if (!up) {
		*con_cls = calloc(1, sizeof(*up));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		up->buf = realloc(up->buf, up->len + *data_size);
		memcpy(up->buf + up->len, data, *data_size);
		up->len += *data_size;
		*data_size = 0;
		return MHD_YES;
	}
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	pthread_mutex_lock(&rv->lock);
	if (!strcmp(method, "POST")) {
		rv->posts++;
		snprintf(rv->path, sizeof(rv->path), "%s", url);
		snprintf(rv->ctype, sizeof(rv->ctype), "%s", ct ? ct : "");
		free(rv->last);
		rv->last = up->buf;
		rv->last_len = up->len;
		up->buf = NULL;
	}
	pthread_mutex_unlock(&rv->lock);
	free(up->buf);
	free(up);
	*con_cls = NULL;
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void test_export_thread(void **state)
{
	struct receiver rv = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct fake *f = fake_new();
	struct metrics_source src = fake_source(f);
	struct otlp_metrics_stats st;
	struct otlp_config cfg;
	struct otlp_metrics *m;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	otlp_pb_metrics_request *r;
	char url[64];

	(void)state;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, &rv,
			     MHD_OPTION_END);
	assert_non_null(d);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/traces", info->port);
	assert_int_equal(otlp_config__init(&cfg), 0);
	cfg.endpoint = strdup(url);
	/* an hour-long interval: the only export is the one at stop */
	m = otlp_metrics__start(&cfg, &src, "shop", 3600000);
	assert_non_null(m);
	assert_string_equal(otlp_metrics__url(m) + strlen(url) - strlen("/v1/traces"),
			    "/v1/metrics");
	assert_int_equal(otlp_metrics__stats(m, &st), 0);
	assert_int_equal(st.requests, 0);
	otlp_metrics__stop(m);
	MHD_stop_daemon(d);

	assert_int_equal(rv.posts, 1);
	assert_string_equal(rv.path, "/v1/metrics");
	assert_string_equal(rv.ctype, "application/x-protobuf");
	r = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
		NULL, rv.last_len, rv.last);
	assert_non_null(r);
	assert_non_null(find_metric(r, OTLP_METRIC_DURATION));
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		r, NULL);
	free(rv.last);
	otlp_config__cleanup(&cfg);
	free(f);

	errno = 0;
	assert_null(otlp_metrics__start(NULL, &src, NULL, 0));
	assert_int_equal(errno, EINVAL);
	otlp_metrics__stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_resource_from_config),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_export_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
