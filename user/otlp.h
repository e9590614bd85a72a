/* OTLP trace encoding shared by the OTLP/HTTP exporter (otlp_http) and the OTLP JSON
 * lines writer (otlp_json): configuration from the standard OTEL_* environment, and
 * conversion of finished tt_traces into protobuf-c ExportTraceServiceRequest messages. */
#ifndef TT_OTLP_H
#define TT_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spans.h"
#include "proto/otlp_trace_service.pb-c.h"
#include "proto/otlp_rpc_status.pb-c.h"

/* The generated names are long; these are the ones the exporter code and tests use. */
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest otlp_pb_request;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse otlp_pb_response;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans otlp_pb_resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans otlp_pb_scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span otlp_pb_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Link otlp_pb_link;
typedef Opentelemetry__Proto__Trace__V1__Status otlp_pb_status;
typedef Opentelemetry__Proto__Resource__V1__Resource otlp_pb_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope otlp_pb_scope;
typedef Opentelemetry__Proto__Common__V1__KeyValue otlp_pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue otlp_pb_value;

#define OTLP_TRACES_PATH "/v1/traces"
#define OTLP_SCOPE_NAME "ttatrace"

/* Defaults: OTLP exporter and batch span processor values of the OTel specification,
 * except the 1 s schedule delay (spans of a tracer should show up quickly) and the
 * 5 s flush at exit. */
#define OTLP_DEFAULT_TIMEOUT_MS 10000
#define OTLP_DEFAULT_BATCH_SPANS 512
#define OTLP_DEFAULT_BATCH_DELAY_MS 1000
#define OTLP_DEFAULT_QUEUE_SPANS 2048
#define OTLP_DEFAULT_CLOSE_TIMEOUT_MS 5000
#define OTLP_DEFAULT_MAX_RETRIES 5
#define OTLP_DEFAULT_RETRY_INITIAL_MS 1000
#define OTLP_DEFAULT_RETRY_MAX_MS 16000
#define OTLP_DEFAULT_RETRY_MAX_ELAPSED_MS 60000

struct otlp_kv {
	char *key;
	char *value;
};

struct otlp_config {
	/* Full URL of the traces endpoint; NULL when neither --otlp nor an
	 * OTEL_EXPORTER_OTLP_*ENDPOINT asked for OTLP/HTTP export. */
	char *endpoint;
	struct otlp_kv *headers; /* extra HTTP headers, values decoded */
	size_t n_headers;
	bool gzip; /* Content-Encoding: gzip */
	unsigned int timeout_ms; /* one HTTP request */
	/* NULL: "unknown_service:<executable name>" of each traced process */
	char *service_name;
	struct otlp_kv *resource_attrs; /* OTEL_RESOURCE_ATTRIBUTES minus service.name */
	size_t n_resource_attrs;
	char *host_name; /* NULL if unknown */
	/* batching (OTEL_BSP_*) */
	unsigned int batch_spans; /* most spans in one request */
	unsigned int batch_delay_ms; /* longest a span waits for its batch to fill */
	unsigned int queue_spans; /* spans waiting for export; more are dropped */
	unsigned int close_timeout_ms; /* how long close() may spend flushing */
	/* retries of one request: exponential backoff with full jitter */
	unsigned int max_retries;
	unsigned int retry_initial_ms;
	unsigned int retry_max_ms; /* cap of one backoff */
	unsigned int retry_max_elapsed_ms; /* give up when the next try would start later */
	bool verbose; /* report every failed request on stderr, not only the first */
	char err[256]; /* why otlp_config__from_env() failed: one line */
};

/* Fills cfg with defaults, then the OTEL_* environment, then cli_endpoint (the --otlp
 * URL, or NULL). A URL without a path (or with "/") gets /v1/traces appended, as
 * OTEL_EXPORTER_OTLP_ENDPOINT does; a URL with a path is used as is, as
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is. On error returns -EINVAL (or -ENOMEM) with a
 * one-line reason in cfg->err and nothing left allocated. Release with
 * otlp_config__cleanup(). */
int otlp_config__from_env(struct otlp_config *cfg, const char *cli_endpoint);
/* Defaults only, no environment: host name, batch and retry settings. */
int otlp_config__init(struct otlp_config *cfg);
int otlp_config__copy(struct otlp_config *dst, const struct otlp_config *src);
/* Frees what cfg owns (not cfg itself); accepts NULL. */
void otlp_config__cleanup(struct otlp_config *cfg);

/* One trace converted to OTLP spans, owning all its memory and a copy of the traced
 * process's identity, so that it outlives the tt_trace it was made from. */
struct otlp_spans;

struct otlp_spans *otlp_spans__new(const struct tt_trace *t);
size_t otlp_spans__count(const struct otlp_spans *s);
void otlp_spans__free(struct otlp_spans *s);

/* spans [off, off + n) of one converted trace */
struct otlp_slice {
	const struct otlp_spans *spans;
	size_t off;
	size_t n;
};

/* An ExportTraceServiceRequest over slices of converted traces: one ResourceSpans per
 * traced process, one ScopeSpans ("ttatrace", TTATRACE_VERSION) in each. It borrows the
 * spans: the slices' otlp_spans must outlive it. */
struct otlp_request;

struct otlp_request *otlp_request__new(const struct otlp_config *cfg,
				       const struct otlp_slice *slices, size_t n_slices);
const otlp_pb_request *otlp_request__msg(const struct otlp_request *r);
size_t otlp_request__span_count(const struct otlp_request *r);
/* Serialises the request into a malloc'd buffer. */
int otlp_request__pack(const struct otlp_request *r, uint8_t **buf, size_t *len);
void otlp_request__free(struct otlp_request *r);

/* Length (1-4) of the valid UTF-8 sequence at s (avail bytes), 0 if it is not one:
 * overlong forms, surrogates and code points past U+10FFFF are invalid. */
size_t otlp__utf8_seq_len(const unsigned char *s, size_t avail);

#endif /* TT_OTLP_H */
