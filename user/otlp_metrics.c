/* OTLP/HTTP metrics exporter. A snapshot of the metrics_source becomes one
 * ExportMetricsServiceRequest with cumulative points (start = exporter start), so a
 * lost request loses nothing: the next one carries the totals. One thread exports on
 * a timer with a synchronous POST, retrying transient failures like the trace
 * exporter (otlp_http.c's helpers: backoff, Retry-After, gzip, error bodies). */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otlp_http.h"
#include "otlp_metrics.h"
#include "exit_deadline.h"

#define N_BOUNDS TT_PROM_N_LE
#define N_DROP_REASONS 5

typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics pb_resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics pb_scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__Histogram pb_histogram;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hist_point;
typedef Opentelemetry__Proto__Metrics__V1__Sum pb_sum;
typedef Opentelemetry__Proto__Metrics__V1__Gauge pb_gauge;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_number_point;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse pb_response;

#define CUMULATIVE OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE

/* --- endpoint ------------------------------------------------------------------------ */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* base + path without doubling the slash */
static char *join(const char *base, size_t base_len, const char *path)
{
	char *s;

	while (base_len && base[base_len - 1] == '/')
		base_len--;
	if (asprintf(&s, "%.*s%s", (int)base_len, base, path) < 0)
		return NULL;
	return s;
}

char *otlp_metrics__endpoint(const struct otlp_config *cfg)
{
	static const char traces[] = OTLP_TRACES_PATH;
	const char *v, *ep, *p;
	size_t n;
	char *s;

	if ((v = env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")))
		return (s = strdup(v)) ? s : NULL;
	if ((v = env("OTEL_EXPORTER_OTLP_ENDPOINT")))
		return join(v, strlen(v), OTLP_METRICS_PATH);
	ep = cfg ? cfg->endpoint : NULL;
	if (!ep) {
		errno = EINVAL;
		return NULL;
	}
	n = strlen(ep);
	if (n >= sizeof(traces) - 1 && !strcmp(ep + n - (sizeof(traces) - 1), traces))
		return join(ep, n - (sizeof(traces) - 1), OTLP_METRICS_PATH);
	/* a custom traces path says nothing about metrics: use the origin */
	p = strstr(ep, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	return join(ep, p ? (size_t)(p - ep) : n, OTLP_METRICS_PATH);
}

/* --- encoding ------------------------------------------------------------------------ */

struct series {
	char *name;
	char *kind;
	struct hist_snapshot h;
};

struct collected {
	struct series *v;
	size_t n, cap;
};

static int collect_cb(const struct metrics_series *s, void *ctx)
{
	struct collected *c = ctx;
	struct series *e;

	if (c->n == c->cap) {
		size_t nc = c->cap ? 2 * c->cap : 16;
		struct series *nv = realloc(c->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = nc;
	}
	e = &c->v[c->n];
	e->name = strdup(s->name);
	e->kind = strdup(s->kind);
	if (!e->name || !e->kind) {
		free(e->name);
		free(e->kind);
		return -ENOMEM;
	}
	e->h = *s->h;
	c->n++;
	return 0;
}

static void collected_free(struct collected *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].kind);
	}
	free(c->v);
}

/* Everything a request points to lives in its arena and dies with it. */
static otlp_pb_kv *kv_str(struct tt_arena *a, const char *key, const char *val)
{
	otlp_pb_kv *kv = tt_arena__alloc(a, sizeof(*kv));
	otlp_pb_value *v = tt_arena__alloc(a, sizeof(*v));

	if (!kv || !v)
		return NULL;
	opentelemetry__proto__common__v1__key_value__init(kv);
	opentelemetry__proto__common__v1__any_value__init(v);
	kv->key = tt_arena__strdup(a, key);
	v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	v->string_value = tt_arena__strdup(a, val);
	kv->value = v;
	return kv->key && v->string_value ? kv : NULL;
}

static pb_metric *new_metric(struct tt_arena *a, const char *name, const char *unit,
			     const char *desc)
{
	pb_metric *m = tt_arena__alloc(a, sizeof(*m));

	if (!m)
		return NULL;
	opentelemetry__proto__metrics__v1__metric__init(m);
	m->name = (char *)name;
	m->unit = (char *)unit;
	m->description = (char *)desc;
	return m;
}

static pb_number_point *number_point(struct tt_arena *a, otlp_pb_kv **attrs, size_t n_attrs,
				     uint64_t start_ns, uint64_t now_ns, int64_t v)
{
	pb_number_point *p = tt_arena__alloc(a, sizeof(*p));

	if (!p)
		return NULL;
	opentelemetry__proto__metrics__v1__number_data_point__init(p);
	p->attributes = attrs;
	p->n_attributes = n_attrs;
	p->start_time_unix_nano = start_ns;
	p->time_unix_nano = now_ns;
	p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
	p->as_int = v;
	return p;
}

static pb_metric *sum_metric(struct tt_arena *a, const char *name, const char *unit,
			     const char *desc, size_t n_points)
{
	pb_metric *m = new_metric(a, name, unit, desc);
	pb_sum *s = tt_arena__alloc(a, sizeof(*s));

	if (!m || !s)
		return NULL;
	opentelemetry__proto__metrics__v1__sum__init(s);
	s->aggregation_temporality = CUMULATIVE;
	s->is_monotonic = true;
	s->data_points = tt_arena__alloc(a, (n_points ? n_points : 1) * sizeof(*s->data_points));
	if (!s->data_points)
		return NULL;
	m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
	m->sum = s;
	return m;
}

/* The histogram's buckets from the kernel's finer ones: bucket i counts durations in
 * (le[i-1], le[i]]; every le is an exact kernel bucket bound, so the counts are exact. */
static pb_hist_point *hist_point(struct tt_arena *a, const struct hist_snapshot *h,
				 otlp_pb_kv **attrs, uint64_t start_ns, uint64_t now_ns,
				 double *bounds)
{
	pb_hist_point *p = tt_arena__alloc(a, sizeof(*p));
	uint64_t prev = 0, below;
	uint32_t i;

	if (!p)
		return NULL;
	opentelemetry__proto__metrics__v1__histogram_data_point__init(p);
	p->bucket_counts = tt_arena__alloc(a, (N_BOUNDS + 1) * sizeof(*p->bucket_counts));
	if (!p->bucket_counts)
		return NULL;
	p->attributes = attrs;
	p->n_attributes = 2;
	p->start_time_unix_nano = start_ns;
	p->time_unix_nano = now_ns;
	p->explicit_bounds = bounds;
	p->n_explicit_bounds = N_BOUNDS;
	p->n_bucket_counts = N_BOUNDS + 1;
	for (i = 0; i < N_BOUNDS; i++) {
		below = hist__count_below(h, metrics__le_ns(i));
		p->bucket_counts[i] = below - prev;
		prev = below;
	}
	/* calls and buckets are read at slightly different moments: keep count == sum of
	 * the buckets, as receivers check */
	p->bucket_counts[N_BOUNDS] = h->calls > prev ? h->calls - prev : 0;
	p->count = prev + p->bucket_counts[N_BOUNDS];
	p->sum_field_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_FIELD_SUM;
	p->sum = (double)h->sum_ns / 1e9;
	if (h->calls) {
		p->max_field_case =
			OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_FIELD_MAX;
		p->max = (double)h->max_ns / 1e9;
	}
	return p;
}

static int build(struct tt_arena *a, const struct otlp_config *cfg, const struct collected *c,
		 const struct tt_kstats *ks, const char *service, uint64_t start_ns,
		 uint64_t now_ns, otlp_pb_metrics_request *req)
{
	static const char *const reasons[N_DROP_REASONS] = {
		"rb_reserve_fail", "stack_overflow", "exit_no_entry", "unwound", "storage_fail"
	};
	pb_resource_metrics *rm = tt_arena__alloc(a, sizeof(*rm));
	pb_scope_metrics *sm = tt_arena__alloc(a, sizeof(*sm));
	otlp_pb_resource *res = tt_arena__alloc(a, sizeof(*res));
	otlp_pb_scope *scope = tt_arena__alloc(a, sizeof(*scope));
	size_t n_res = 2 + (cfg ? cfg->n_resource_attrs : 0), i;
	double *bounds = tt_arena__alloc(a, N_BOUNDS * sizeof(*bounds));
	pb_metric *dur, *calls, *errs, *infl, *drops = NULL;
	pb_histogram *hist = tt_arena__alloc(a, sizeof(*hist));
	pb_gauge *gauge = tt_arena__alloc(a, sizeof(*gauge));
	size_t n_pts = c->n ? c->n : 1;

	if (!rm || !sm || !res || !scope || !bounds || !hist || !gauge)
		return -ENOMEM;
	opentelemetry__proto__metrics__v1__resource_metrics__init(rm);
	opentelemetry__proto__metrics__v1__scope_metrics__init(sm);
	opentelemetry__proto__resource__v1__resource__init(res);
	opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
	opentelemetry__proto__metrics__v1__histogram__init(hist);
	opentelemetry__proto__metrics__v1__gauge__init(gauge);

	res->attributes = tt_arena__alloc(a, n_res * sizeof(*res->attributes));
	if (!res->attributes)
		return -ENOMEM;
	res->attributes[res->n_attributes++] = kv_str(
		a, "service.name", service ?: cfg && cfg->service_name ? cfg->service_name : "ttatrace");
	if (cfg && cfg->host_name)
		res->attributes[res->n_attributes++] = kv_str(a, "host.name", cfg->host_name);
	for (i = 0; cfg && i < cfg->n_resource_attrs; i++)
		res->attributes[res->n_attributes++] =
			kv_str(a, cfg->resource_attrs[i].key, cfg->resource_attrs[i].value);
	for (i = 0; i < res->n_attributes; i++)
		if (!res->attributes[i])
			return -ENOMEM;
	rm->resource = res;
	scope->name = OTLP_SCOPE_NAME;
	scope->version = TTATRACE_VERSION;
	sm->scope = scope;

	for (i = 0; i < N_BOUNDS; i++)
		bounds[i] = (double)metrics__le_ns(i) / 1e9;

	dur = new_metric(a, OTLP_METRIC_DURATION, "s",
			 "Duration of traced primitive calls, measured in the kernel.");
	calls = sum_metric(a, OTLP_METRIC_CALLS, "{call}",
			   "Calls of the primitive that returned while traced.", n_pts);
	errs = sum_metric(a, OTLP_METRIC_ERRORS, "{call}",
			  "Calls whose return value, as a 32-bit int, was negative.", n_pts);
	infl = new_metric(a, OTLP_METRIC_INFLIGHT, "{call}",
			  "Calls of the primitive entered and not yet returned.");
	hist->data_points = tt_arena__alloc(a, n_pts * sizeof(*hist->data_points));
	gauge->data_points = tt_arena__alloc(a, n_pts * sizeof(*gauge->data_points));
	if (!dur || !calls || !errs || !infl || !hist->data_points || !gauge->data_points)
		return -ENOMEM;
	hist->aggregation_temporality = CUMULATIVE;
	dur->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
	dur->histogram = hist;
	infl->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
	infl->gauge = gauge;

	for (i = 0; i < c->n; i++) {
		const struct series *s = &c->v[i];
		otlp_pb_kv **attrs = tt_arena__alloc(a, 2 * sizeof(*attrs));
		pb_hist_point *hp;
		pb_number_point *cp, *ep, *ip;

		if (!attrs)
			return -ENOMEM;
		attrs[0] = kv_str(a, "tta.primitive", s->name);
		attrs[1] = kv_str(a, "tta.primitive.kind", s->kind);
		hp = hist_point(a, &s->h, attrs, start_ns, now_ns, bounds);
		cp = number_point(a, attrs, 2, start_ns, now_ns, (int64_t)s->h.calls);
		ep = number_point(a, attrs, 2, start_ns, now_ns, (int64_t)s->h.errors);
		/* frames abandoned by longjmp never return: never report below zero */
		ip = number_point(a, attrs, 2, 0, now_ns, s->h.inflight > 0 ? s->h.inflight : 0);
		if (!attrs[0] || !attrs[1] || !hp || !cp || !ep || !ip)
			return -ENOMEM;
		hist->data_points[hist->n_data_points++] = hp;
		calls->sum->data_points[calls->sum->n_data_points++] = cp;
		errs->sum->data_points[errs->sum->n_data_points++] = ep;
		gauge->data_points[gauge->n_data_points++] = ip;
	}

	if (ks) {
		const uint64_t vals[N_DROP_REASONS] = { ks->rb_reserve_fail, ks->stack_overflow,
							ks->exit_no_entry, ks->unwound,
							ks->storage_fail };

		drops = sum_metric(a, OTLP_METRIC_DROPS, "{span}",
				   "Spans or frames the kernel could not record, by reason.",
				   N_DROP_REASONS);
		if (!drops)
			return -ENOMEM;
		for (i = 0; i < N_DROP_REASONS; i++) {
			otlp_pb_kv **attrs = tt_arena__alloc(a, sizeof(*attrs));
			pb_number_point *p;

			if (!attrs || !(attrs[0] = kv_str(a, "reason", reasons[i])))
				return -ENOMEM;
			p = number_point(a, attrs, 1, start_ns, now_ns, (int64_t)vals[i]);
			if (!p)
				return -ENOMEM;
			drops->sum->data_points[drops->sum->n_data_points++] = p;
		}
	}

	/* primitives' metrics only when there are primitives: empty metrics are invalid */
	sm->metrics = tt_arena__alloc(a, 5 * sizeof(*sm->metrics));
	if (!sm->metrics)
		return -ENOMEM;
	if (c->n) {
		sm->metrics[sm->n_metrics++] = dur;
		sm->metrics[sm->n_metrics++] = calls;
		sm->metrics[sm->n_metrics++] = errs;
		sm->metrics[sm->n_metrics++] = infl;
	}
	if (drops)
		sm->metrics[sm->n_metrics++] = drops;
	rm->scope_metrics = tt_arena__alloc(a, sizeof(*rm->scope_metrics));
	req->resource_metrics = tt_arena__alloc(a, sizeof(*req->resource_metrics));
	if (!rm->scope_metrics || !req->resource_metrics)
		return -ENOMEM;
	rm->scope_metrics[0] = sm;
	rm->n_scope_metrics = 1;
	req->resource_metrics[0] = rm;
	req->n_resource_metrics = 1;
	return 0;
}

int otlp_metrics__encode(const struct otlp_config *cfg, const struct metrics_source *src,
			 const char *service, uint64_t start_ns, uint64_t now_ns, uint8_t **buf,
			 size_t *len)
{
	otlp_pb_metrics_request req =
		OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
	struct collected c = {};
	struct tt_kstats ks;
	bool have_ks = false;
	struct tt_arena *a = NULL;
	int err;

	*buf = NULL;
	*len = 0;
	err = metrics__for_each(src, collect_cb, &c);
	if (err)
		goto cleanup;
	if (src->read_kstats && !src->read_kstats(src->ctx, &ks))
		have_ks = true;
	a = tt_arena__new();
	if (!a) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = build(a, cfg, &c, have_ks ? &ks : NULL, service, start_ns, now_ns, &req);
	if (err)
		goto cleanup;
	*len = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__get_packed_size(
		&req);
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		*len = 0;
		err = -ENOMEM;
		goto cleanup;
	}
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__pack(&req,
											   *buf);
cleanup:
	tt_arena__free(a);
	collected_free(&c);
	return err;
}

/* --- exporter thread ----------------------------------------------------------------- */

struct otlp_metrics {
	struct otlp_config cfg;
	struct metrics_source src;
	char *service;
	char *url;
	unsigned interval_ms;
	uint64_t start_ns; /* Unix epoch */

	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool stopping;
	struct otlp_metrics_stats st;
	bool reported;

	pthread_t thread;
	CURL *curl;
	struct curl_slist *hdrs;
	char curl_err[CURL_ERROR_SIZE];
	struct otlp_http_response resp;
	uint64_t rng;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Non-zero aborts the transfer: the exit deadline has passed. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)ctx;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return exit_deadline__passed();
}

static int setup_curl(struct otlp_metrics *m)
{
	m->curl = otlp_http__easy(&m->cfg, m->url, &m->resp, &m->hdrs, m->curl_err);
	if (!m->curl)
		return -errno;
	curl_easy_setopt(m->curl, CURLOPT_TIMEOUT_MS, (long)m->cfg.timeout_ms);
	curl_easy_setopt(m->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(m->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	return 0;
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void bump(struct otlp_metrics *m, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&m->lock);
	*counter += n;
	pthread_mutex_unlock(&m->lock);
}

/* Sleeps until deadline (monotonic ns) or until stop; true when stop was asked. */
static bool sleep_until(struct otlp_metrics *m, uint64_t deadline)
{
	bool stop;

	pthread_mutex_lock(&m->lock);
	while (!m->stopping && mono_ns() < deadline) {
		struct timespec ts = { .tv_sec = deadline / 1000000000ull,
				       .tv_nsec = deadline % 1000000000ull };

		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	}
	stop = m->stopping;
	pthread_mutex_unlock(&m->lock);
	return stop;
}

static uint64_t rejected_points(struct otlp_metrics *m)
{
	char *ctype = NULL;
	pb_response *r;
	uint64_t n = 0;

	curl_easy_getinfo(m->curl, CURLINFO_CONTENT_TYPE, &ctype);
	if (!m->resp.len || !ctype || strncasecmp(ctype, "application/x-protobuf", 22))
		return 0;
	r = opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__unpack(
		NULL, m->resp.len, m->resp.body);
	if (!r)
		return 0;
	if (r->partial_success && r->partial_success->rejected_data_points > 0)
		n = (uint64_t)r->partial_success->rejected_data_points;
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__free_unpacked(
		r, NULL);
	return n;
}

/* One snapshot, POSTed with retries; final: the stop-time export, bounded by
 * close_timeout_ms instead of being cut short by the stop request. */
static void export_once(struct otlp_metrics *m, bool final)
{
	uint8_t *raw = NULL, *gz = NULL, *body;
	size_t raw_len, len;
	uint64_t start = mono_ns(), limit_ms;
	char msg[256] = "";
	long status = 0;
	int err;

	limit_ms = m->cfg.retry_max_elapsed_ms;
	if (final) {
		/* the exit deadline, shared with the last trace export */
		uint64_t dl, now = mono_ns();

		exit_deadline__start(m->cfg.close_timeout_ms);
		dl = exit_deadline__ns();
		limit_ms = dl > now ? (dl - now) / 1000000 : 0;
	}
	err = otlp_metrics__encode(&m->cfg, &m->src, m->service, m->start_ns, wall_ns(), &raw,
				   &raw_len);
	body = raw;
	len = raw_len;
	if (!err && m->cfg.gzip) {
		err = otlp_http__gzip(raw, raw_len, &gz, &len);
		body = gz;
	}
	if (err) {
		snprintf(msg, sizeof(msg), "cannot encode: %s", strerror(-err));
		goto failed;
	}
	for (unsigned attempt = 0;; attempt++) {
		int64_t retry_after_ms = -1;
		bool retryable;
		uint64_t delay_ms;
		CURLcode rc;

		otlp_http_response__reset(&m->resp);
		m->curl_err[0] = '\0';
		if (final) {
			uint64_t spent = (mono_ns() - start) / 1000000;
			long left = spent < limit_ms ? (long)(limit_ms - spent) : 0;

			if (left <= 0) {
				snprintf(msg, sizeof(msg), "the exit deadline passed");
				break;
			}
			curl_easy_setopt(m->curl, CURLOPT_TIMEOUT_MS,
					 left < (long)m->cfg.timeout_ms ? left : (long)m->cfg.timeout_ms);
		}
		curl_easy_setopt(m->curl, CURLOPT_POSTFIELDS, (const char *)body);
		curl_easy_setopt(m->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		rc = curl_easy_perform(m->curl);
		bump(m, &m->st.requests, 1);
		if (attempt)
			bump(m, &m->st.retries, 1);
		status = 0;
		if (rc == CURLE_OK) {
			char *ctype = NULL;

			curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &status);
			if (status >= 200 && status < 300) {
				uint64_t rej = rejected_points(m);

				pthread_mutex_lock(&m->lock);
				m->st.exports++;
				m->st.data_points_rejected += rej;
				pthread_mutex_unlock(&m->lock);
				goto cleanup;
			}
			retryable = otlp_http__status_retryable(status);
			if (m->resp.has_retry_after) {
				uint64_t ms;

				if (!otlp_http__parse_retry_after(m->resp.retry_after, time(NULL), &ms))
					retry_after_ms = (int64_t)ms;
			}
			curl_easy_getinfo(m->curl, CURLINFO_CONTENT_TYPE, &ctype);
			otlp_http__error_message(ctype, m->resp.body, m->resp.len, msg, sizeof(msg));
		} else {
			retryable = rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_URL_MALFORMAT &&
				    rc != CURLE_ABORTED_BY_CALLBACK;
			if (rc == CURLE_ABORTED_BY_CALLBACK)
				snprintf(msg, sizeof(msg), "the exit deadline passed");
			else
				snprintf(msg, sizeof(msg), "%s",
					 m->curl_err[0] ? m->curl_err : curl_easy_strerror(rc));
		}
		if (!retryable || attempt >= m->cfg.max_retries)
			break;
		delay_ms = retry_after_ms >= 0 ? (uint64_t)retry_after_ms
					       : otlp_http__backoff_ms(attempt, m->cfg.retry_initial_ms,
								       m->cfg.retry_max_ms,
								       next_rand(&m->rng));
		if ((mono_ns() - start) / 1000000 + delay_ms > limit_ms)
			break;
		/* a stop request ends the waiting; the final export follows */
		if (sleep_until(m, mono_ns() + delay_ms * 1000000ull) && !final)
			break;
	}
failed:
	bump(m, &m->st.failed_exports, 1);
	pthread_mutex_lock(&m->lock);
	if (!m->reported || m->cfg.verbose || final) {
		char st[32] = "";

		if (status)
			snprintf(st, sizeof(st), "HTTP %ld: ", status);
		fprintf(stderr, "ttatrace: otlp metrics: %s: %s%s (%s)\n", m->url, st, msg,
			final ? "the last export at exit: OTEL_BSP_EXPORT_TIMEOUT bounds it"
			      : "the next export carries the totals; further failures are only "
				"counted");
		m->reported = true;
	}
	pthread_mutex_unlock(&m->lock);
cleanup:
	free(raw);
	free(gz);
}

static void *exporter_main(void *arg)
{
	struct otlp_metrics *m = arg;
	uint64_t next = mono_ns() + m->interval_ms * 1000000ull;

	while (!sleep_until(m, next)) {
		export_once(m, false);
		next += m->interval_ms * 1000000ull;
		if (next < mono_ns()) /* an export took longer than the interval */
			next = mono_ns() + m->interval_ms * 1000000ull;
	}
	export_once(m, true);
	return NULL;
}

static void metrics_free(struct otlp_metrics *m)
{
	if (!m)
		return;
	curl_slist_free_all(m->hdrs);
	if (m->curl)
		curl_easy_cleanup(m->curl);
	otlp_http_response__reset(&m->resp);
	free(m->url);
	free(m->service);
	otlp_config__cleanup(&m->cfg);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static unsigned interval_from_env(void)
{
	const char *v = env("OTEL_METRIC_EXPORT_INTERVAL");
	unsigned long long ms;
	char *end;

	if (!v)
		return OTLP_METRICS_DEFAULT_INTERVAL_MS;
	errno = 0;
	ms = strtoull(v, &end, 10);
	if (errno || *end || !ms || ms > 86400000ull) {
		fprintf(stderr,
			"ttatrace: OTEL_METRIC_EXPORT_INTERVAL=%s: not a number of ms in 1..86400000 "
			"(using %u)\n",
			v, OTLP_METRICS_DEFAULT_INTERVAL_MS);
		return OTLP_METRICS_DEFAULT_INTERVAL_MS;
	}
	return (unsigned)ms;
}

struct otlp_metrics *otlp_metrics__start(const struct otlp_config *cfg,
					 const struct metrics_source *src, const char *service,
					 unsigned interval_ms)
{
	struct otlp_metrics *m;
	pthread_condattr_t ca;
	int err;

	if (!cfg || !src || !src->n_probes || !src->read_probe || !src->probe_labels) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	err = otlp_config__copy(&m->cfg, cfg);
	if (err)
		goto fail;
	m->src = *src;
	m->interval_ms = interval_ms ? interval_ms : interval_from_env();
	m->start_ns = wall_ns();
	m->rng = mono_ns() | 1;
	m->url = otlp_metrics__endpoint(cfg);
	if (!m->url || (service && !(m->service = strdup(service)))) {
		err = -errno;
		goto fail;
	}
	/* the trace exporter may have initialised libcurl already; this is refcounted */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err = -ENOMEM;
		goto fail;
	}
	err = setup_curl(m);
	if (err)
		goto fail_curl;
	err = -pthread_create(&m->thread, NULL, exporter_main, m);
	if (err)
		goto fail_curl;
	return m;
fail_curl:
	curl_slist_free_all(m->hdrs);
	m->hdrs = NULL;
	if (m->curl)
		curl_easy_cleanup(m->curl);
	m->curl = NULL;
	curl_global_cleanup();
fail:
	metrics_free(m);
	errno = -err;
	return NULL;
}

void otlp_metrics__stop(struct otlp_metrics *m)
{
	if (!m)
		return;
	/* from now: an export in flight is cut at the deadline too */
	exit_deadline__start(m->cfg.close_timeout_ms);
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	metrics_free(m);
	curl_global_cleanup();
}

int otlp_metrics__stats(struct otlp_metrics *m, struct otlp_metrics_stats *out)
{
	if (!m || !out)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	*out = m->st;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

const char *otlp_metrics__url(const struct otlp_metrics *m)
{
	return m ? m->url : NULL;
}
