/* OTLP JSON lines output: one ExportTraceServiceRequest per line per trace, in the
 * OTLP/JSON encoding the OpenTelemetry Collector's file exporter writes and its
 * otlpjsonfile receiver reads. */
#ifndef TT_OTLP_JSON_H
#define TT_OTLP_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "otlp.h"
#include "spans.h"

/* A sink writing to out, which the caller opened and closes after tt_sink__close();
 * cfg supplies the resource (service name, resource attributes) and is copied. */
struct tt_sink *otlp_json_sink__new(FILE *out, const struct otlp_config *cfg);

/* The request as one line of OTLP/JSON (no newline), malloc'd and NUL-terminated. */
char *otlp_json__encode_request(const otlp_pb_request *req, size_t *len);

/* s[0..len) as a quoted JSON string, malloc'd: quotes, backslashes and control
 * characters escaped, bytes that are not valid UTF-8 replaced by \ufffd. */
char *otlp_json__quote(const char *s, size_t len);

#endif /* TT_OTLP_JSON_H */
