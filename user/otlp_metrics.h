/* OTLP/HTTP metrics export: the kernel histograms and counters behind a
 * metrics_source as an ExportMetricsServiceRequest (cumulative temporality), POSTed
 * to /v1/metrics by a thread every interval and once more at stop. */
#ifndef TT_OTLP_METRICS_H
#define TT_OTLP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "otlp.h"
#include "proto/otlp_metrics_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest
	otlp_pb_metrics_request;

#define OTLP_METRICS_PATH "/v1/metrics"
/* OTEL_METRIC_EXPORT_INTERVAL's default (OTel SDK specification) */
#define OTLP_METRICS_DEFAULT_INTERVAL_MS 10000

/* Metric names (OTel semantic style; a collector's Prometheus exporter turns the
 * duration into ttatrace_primitive_duration_seconds_bucket ...). */
#define OTLP_METRIC_DURATION "ttatrace.primitive.duration" /* histogram, s */
#define OTLP_METRIC_CALLS "ttatrace.primitive.calls" /* monotonic sum */
#define OTLP_METRIC_ERRORS "ttatrace.primitive.errors" /* monotonic sum */
#define OTLP_METRIC_INFLIGHT "ttatrace.primitive.inflight" /* gauge */
#define OTLP_METRIC_DROPS "ttatrace.drops" /* monotonic sum, attribute reason */

struct otlp_metrics_stats {
	uint64_t exports; /* snapshots the server accepted */
	uint64_t failed_exports; /* snapshots given up on (a later one carries the totals) */
	uint64_t requests; /* HTTP requests, retries included */
	uint64_t retries;
	uint64_t data_points_rejected; /* partial successes reported by the server */
};

/* The metrics URL: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as is; else
 * OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics; else cfg->endpoint (the traces URL)
 * with a trailing /v1/traces replaced by /v1/metrics, or its origin + /v1/metrics.
 * malloc'd; NULL + errno (EINVAL: no endpoint anywhere). */
char *otlp_metrics__endpoint(const struct otlp_config *cfg);

/* One snapshot of src as a serialised ExportMetricsServiceRequest: resource
 * service.name = service (else cfg->service_name, else "ttatrace"), cfg's resource
 * attributes and host.name; scope "ttatrace". Per primitive (attributes
 * tta.primitive, tta.primitive.kind): the duration histogram (bounds metrics__le_ns in
 * seconds, per-bucket counts), calls and errors sums, the in-flight gauge; then
 * drops by reason when src has kernel counters. start_ns / now_ns: Unix epoch ns.
 * *buf is malloc'd. 0 or a negative errno. */
int otlp_metrics__encode(const struct otlp_config *cfg, const struct metrics_source *src,
			 const char *service, uint64_t start_ns, uint64_t now_ns, uint8_t **buf,
			 size_t *len);

struct otlp_metrics;

/* Starts the export thread: every interval_ms (0: OTEL_METRIC_EXPORT_INTERVAL, else
 * 10 s) it encodes src and POSTs it to otlp_metrics__endpoint(cfg) with cfg's
 * headers, gzip, timeout and retry settings. cfg, src and service are copied; src's
 * callbacks run on that thread. The start time of every cumulative point is now.
 * NULL + errno. */
struct otlp_metrics *otlp_metrics__start(const struct otlp_config *cfg,
					 const struct metrics_source *src, const char *service,
					 unsigned interval_ms);
/* Exports once more (within cfg->close_timeout_ms), stops the thread and frees;
 * accepts NULL. */
void otlp_metrics__stop(struct otlp_metrics *m);
/* Counters so far. 0, or -EINVAL for NULL. */
int otlp_metrics__stats(struct otlp_metrics *m, struct otlp_metrics_stats *out);
/* The URL exported to. */
const char *otlp_metrics__url(const struct otlp_metrics *m);

#endif /* TT_OTLP_METRICS_H */
