/* OTLP/HTTP protobuf trace exporter: a sink whose trace() only queues, and an exporter
 * thread that batches, compresses, POSTs to /v1/traces and retries with backoff. */
#ifndef TT_OTLP_HTTP_H
#define TT_OTLP_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "otlp.h"
#include "spans.h"

/* Every span handed to the sink ends in exactly one of the spans_* counters (once the
 * sink is shut down): exported, or dropped for one reason. */
struct otlp_stats {
	uint64_t spans_exported; /* accepted by the server */
	uint64_t spans_dropped_queue_full; /* trace() found the queue full */
	uint64_t spans_dropped_retries; /* retries exhausted, or an error not worth retrying */
	uint64_t spans_dropped_rejected; /* 4xx/5xx permanent error, or partial success */
	uint64_t spans_dropped_shutdown; /* still unexported when close()'s deadline passed */
	uint64_t requests; /* HTTP requests attempted, retries included */
	uint64_t retries; /* requests that were retries */
	uint64_t failures; /* requests that failed: transport error or non-2xx */
	uint64_t spans_queued; /* waiting for export now */
};

/* What one POST answered: the body (bounded) and its Retry-After header. */
struct otlp_http_response {
	uint8_t *body;
	size_t len;
	char retry_after[128];
	bool has_retry_after;
};

/* Frees the body and clears the response before the next request. */
void otlp_http_response__reset(struct otlp_http_response *r);
/* A curl handle that POSTs OTLP protobuf to url with cfg's headers, gzip and
 * connect timeout, http(s) only; the answer goes to resp, curl's message to errbuf
 * (CURL_ERROR_SIZE). The caller frees *hdrs (curl_slist_free_all) and the handle.
 * NULL on failure, with errno. Shared by the trace and metrics exporters. */
CURL *otlp_http__easy(const struct otlp_config *cfg, const char *url,
		      struct otlp_http_response *resp, struct curl_slist **hdrs, char *errbuf);

/* cfg->endpoint must be set; cfg is copied. Starts the exporter thread. */
struct tt_sink *otlp_http_sink__new(const struct otlp_config *cfg);
/* Counters so far; valid after otlp_http_sink__shutdown() too. -EINVAL if sink is not
 * an OTLP/HTTP sink. */
int otlp_http_sink__stats(struct tt_sink *sink, struct otlp_stats *out);
/* Flushes what is queued within cfg->close_timeout_ms, counts what could not be sent
 * as dropped (and says so on stderr), stops the exporter thread. trace() afterwards
 * drops. close() calls it when it was not called; call it yourself to read the final
 * counters before close(). */
int otlp_http_sink__shutdown(struct tt_sink *sink);

/* Connects to cfg->endpoint (TCP, and TLS for https) without sending a request, giving
 * up after min(cfg->timeout_ms, 3 s): 0 when reachable, otherwise a negative errno and
 * a one-line reason in err. */
int otlp_http__probe(const struct otlp_config *cfg, char *err, size_t errlen);

/* Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date (IMF-fixdate, RFC 850
 * or asctime); a date in the past gives 0. -EINVAL when it is neither. */
int otlp_http__parse_retry_after(const char *value, time_t now, uint64_t *delay_ms);

/* Exponential backoff with full jitter: a delay in [0, min(max_ms, initial_ms * 2^attempt)]
 * chosen by rnd (a uniformly random number). attempt counts from 0. */
uint64_t otlp_http__backoff_ms(unsigned int attempt, unsigned int initial_ms, unsigned int max_ms,
			       uint64_t rnd);

/* A 2xx response's partial success (ExportTraceServiceResponse, protobuf bodies
 * only): how many of the N spans sent the server refused (capped at N), its
 * message made printable into MSG (empty when none). */
uint64_t otlp_http__partial_rejections(const char *ctype, const void *body, size_t len,
				       uint64_t n, char *msg, size_t msglen);

/* Whether an HTTP status is worth retrying (OTLP/HTTP: 429, 502, 503, 504). */
bool otlp_http__status_retryable(long status);

/* The server's explanation of a failed request: the message of a protobuf
 * google.rpc.Status body, else the body as text, printable and at most msglen - 1 bytes. */
void otlp_http__error_message(const char *content_type, const uint8_t *body, size_t len,
			      char *msg, size_t msglen);

/* gzip (RFC 1952) of in[0..len) into a malloc'd buffer. */
int otlp_http__gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

#endif /* TT_OTLP_HTTP_H */
