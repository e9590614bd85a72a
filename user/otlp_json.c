/* OTLP/JSON encoding of ExportTraceServiceRequest (lowerCamelCase names, hex ids,
 * 64-bit integers as decimal strings, enums as numbers, zero values left out) and the
 * JSON lines sink built on it. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_json.h"

struct jbuf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void jb_str(struct jbuf *b, const char *s)
{
	jb_put(b, s, strlen(s));
}

static void jb_fmt_u64(struct jbuf *b, uint64_t v, bool quoted)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), quoted ? "\"%" PRIu64 "\"" : "%" PRIu64, v);

	jb_put(b, tmp, n);
}

static void jb_quote(struct jbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	jb_put(b, "\"", 1);
	while (i < len) {
		unsigned char c = p[i];
		size_t k;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		if (c >= 0x80 && (k = otlp__utf8_seq_len(p + i, len - i)) != 0) {
			i += k;
			run += k;
			continue;
		}
		/* flush the plain run before this byte, then escape it */
		jb_put(b, (const char *)p + i - run, run);
		run = 0;
		switch (c) {
		case '"':
			jb_put(b, "\\\"", 2);
			break;
		case '\\':
			jb_put(b, "\\\\", 2);
			break;
		case '\b':
			jb_put(b, "\\b", 2);
			break;
		case '\f':
			jb_put(b, "\\f", 2);
			break;
		case '\n':
			jb_put(b, "\\n", 2);
			break;
		case '\r':
			jb_put(b, "\\r", 2);
			break;
		case '\t':
			jb_put(b, "\\t", 2);
			break;
		default:
			if (c < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				jb_put(b, esc, 6);
			} else {
				jb_put(b, "\\ufffd", 6); /* not valid UTF-8 */
			}
		}
		i++;
	}
	jb_put(b, (const char *)p + i - run, run);
	jb_put(b, "\"", 1);
}

static void jb_hex(struct jbuf *b, const ProtobufCBinaryData *d)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[2];

	jb_put(b, "\"", 1);
	for (size_t i = 0; i < d->len; i++) {
		tmp[0] = hex[d->data[i] >> 4];
		tmp[1] = hex[d->data[i] & 15];
		jb_put(b, tmp, 2);
	}
	jb_put(b, "\"", 1);
}

/* proto3 JSON encodes bytes as standard, padded base64 */
static void jb_base64(struct jbuf *b, const ProtobufCBinaryData *d)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[4];

	jb_put(b, "\"", 1);
	for (size_t i = 0; i < d->len; i += 3) {
		uint32_t v = (uint32_t)d->data[i] << 16;
		size_t left = d->len - i;

		if (left > 1)
			v |= (uint32_t)d->data[i + 1] << 8;
		if (left > 2)
			v |= d->data[i + 2];
		out[0] = tab[v >> 18];
		out[1] = tab[(v >> 12) & 63];
		out[2] = left > 1 ? tab[(v >> 6) & 63] : '=';
		out[3] = left > 2 ? tab[v & 63] : '=';
		jb_put(b, out, 4);
	}
	jb_put(b, "\"", 1);
}

/* ,"name": before every member but the first */
static void jb_key(struct jbuf *b, bool *first, const char *name)
{
	if (!*first)
		jb_put(b, ",", 1);
	*first = false;
	jb_put(b, "\"", 1);
	jb_str(b, name);
	jb_put(b, "\":", 2);
}

static void jb_double(struct jbuf *b, double d)
{
	char tmp[40];
	int n;

	/* proto3 JSON spells the non-finite values as strings */
	if (isnan(d)) {
		jb_str(b, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		jb_str(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	/* shortest of %.15g / %.17g that reads back as the same double */
	n = snprintf(tmp, sizeof(tmp), "%.15g", d);
	if (strtod(tmp, NULL) != d)
		n = snprintf(tmp, sizeof(tmp), "%.17g", d);
	jb_put(b, tmp, n);
}

static void jb_kvs(struct jbuf *b, otlp_pb_kv *const *kvs, size_t n);

static void jb_value(struct jbuf *b, const otlp_pb_value *v)
{
	bool first = true;
	char tmp[32];
	int n;

	jb_put(b, "{", 1);
	switch (v ? v->value_case : OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET) {
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
		jb_key(b, &first, "stringValue");
		jb_quote(b, v->string_value, strlen(v->string_value));
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
		jb_key(b, &first, "boolValue");
		jb_str(b, v->bool_value ? "true" : "false");
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
		jb_key(b, &first, "intValue");
		n = snprintf(tmp, sizeof(tmp), "\"%" PRId64 "\"", v->int_value);
		jb_put(b, tmp, n);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
		jb_key(b, &first, "doubleValue");
		jb_double(b, v->double_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
		jb_key(b, &first, "arrayValue");
		jb_str(b, "{\"values\":[");
		for (size_t i = 0; i < v->array_value->n_values; i++) {
			if (i)
				jb_put(b, ",", 1);
			jb_value(b, v->array_value->values[i]);
		}
		jb_str(b, "]}");
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
		jb_key(b, &first, "kvlistValue");
		jb_str(b, "{\"values\":");
		jb_kvs(b, v->kvlist_value->values, v->kvlist_value->n_values);
		jb_str(b, "}");
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
		jb_key(b, &first, "bytesValue");
		jb_base64(b, &v->bytes_value);
		break;
	default:
		break;
	}
	jb_put(b, "}", 1);
}

static void jb_kvs(struct jbuf *b, otlp_pb_kv *const *kvs, size_t n)
{
	jb_put(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			jb_put(b, ",", 1);
		jb_str(b, "{\"key\":");
		jb_quote(b, kvs[i]->key, strlen(kvs[i]->key));
		jb_str(b, ",\"value\":");
		jb_value(b, kvs[i]->value);
		jb_put(b, "}", 1);
	}
	jb_put(b, "]", 1);
}

static void jb_attrs(struct jbuf *b, bool *first, otlp_pb_kv *const *kvs, size_t n,
		     uint32_t dropped)
{
	if (n) {
		jb_key(b, first, "attributes");
		jb_kvs(b, kvs, n);
	}
	if (dropped) {
		jb_key(b, first, "droppedAttributesCount");
		jb_fmt_u64(b, dropped, false);
	}
}

static void jb_opt_str(struct jbuf *b, bool *first, const char *name, const char *s)
{
	if (s && *s) {
		jb_key(b, first, name);
		jb_quote(b, s, strlen(s));
	}
}

static void jb_opt_id(struct jbuf *b, bool *first, const char *name, const ProtobufCBinaryData *d)
{
	if (d->len) {
		jb_key(b, first, name);
		jb_hex(b, d);
	}
}

static void jb_span(struct jbuf *b, const otlp_pb_span *s)
{
	bool first = true;

	jb_put(b, "{", 1);
	jb_opt_id(b, &first, "traceId", &s->trace_id);
	jb_opt_id(b, &first, "spanId", &s->span_id);
	jb_opt_str(b, &first, "traceState", s->trace_state);
	jb_opt_id(b, &first, "parentSpanId", &s->parent_span_id);
	if (s->flags) {
		jb_key(b, &first, "flags");
		jb_fmt_u64(b, s->flags, false);
	}
	jb_opt_str(b, &first, "name", s->name);
	if (s->kind) {
		jb_key(b, &first, "kind");
		jb_fmt_u64(b, (uint64_t)s->kind, false);
	}
	if (s->start_time_unix_nano) {
		jb_key(b, &first, "startTimeUnixNano");
		jb_fmt_u64(b, s->start_time_unix_nano, true);
	}
	if (s->end_time_unix_nano) {
		jb_key(b, &first, "endTimeUnixNano");
		jb_fmt_u64(b, s->end_time_unix_nano, true);
	}
	jb_attrs(b, &first, s->attributes, s->n_attributes, s->dropped_attributes_count);
	if (s->n_links) {
		jb_key(b, &first, "links");
		jb_put(b, "[", 1);
		for (size_t i = 0; i < s->n_links; i++) {
			const otlp_pb_link *l = s->links[i];
			bool lf = true;

			if (i)
				jb_put(b, ",", 1);
			jb_put(b, "{", 1);
			jb_opt_id(b, &lf, "traceId", &l->trace_id);
			jb_opt_id(b, &lf, "spanId", &l->span_id);
			jb_opt_str(b, &lf, "traceState", l->trace_state);
			jb_attrs(b, &lf, l->attributes, l->n_attributes, l->dropped_attributes_count);
			if (l->flags) {
				jb_key(b, &lf, "flags");
				jb_fmt_u64(b, l->flags, false);
			}
			jb_put(b, "}", 1);
		}
		jb_put(b, "]", 1);
	}
	if (s->dropped_links_count) {
		jb_key(b, &first, "droppedLinksCount");
		jb_fmt_u64(b, s->dropped_links_count, false);
	}
	/* the collector always writes status, {} when unset */
	jb_key(b, &first, "status");
	{
		bool sf = true;

		jb_put(b, "{", 1);
		if (s->status) {
			jb_opt_str(b, &sf, "message", s->status->message);
			if (s->status->code) {
				jb_key(b, &sf, "code");
				jb_fmt_u64(b, (uint64_t)s->status->code, false);
			}
		}
		jb_put(b, "}", 1);
	}
	jb_put(b, "}", 1);
}

char *otlp_json__encode_request(const otlp_pb_request *req, size_t *len)
{
	struct jbuf b = { 0 };

	jb_str(&b, "{\"resourceSpans\":[");
	for (size_t i = 0; i < req->n_resource_spans; i++) {
		const otlp_pb_resource_spans *rs = req->resource_spans[i];
		bool first = true;

		if (i)
			jb_put(&b, ",", 1);
		jb_put(&b, "{", 1);
		jb_key(&b, &first, "resource");
		{
			bool rf = true;

			jb_put(&b, "{", 1);
			if (rs->resource)
				jb_attrs(&b, &rf, rs->resource->attributes, rs->resource->n_attributes,
					 rs->resource->dropped_attributes_count);
			jb_put(&b, "}", 1);
		}
		jb_key(&b, &first, "scopeSpans");
		jb_put(&b, "[", 1);
		for (size_t k = 0; k < rs->n_scope_spans; k++) {
			const otlp_pb_scope_spans *ss = rs->scope_spans[k];
			bool sf = true;

			if (k)
				jb_put(&b, ",", 1);
			jb_put(&b, "{", 1);
			jb_key(&b, &sf, "scope");
			{
				bool cf = true;

				jb_put(&b, "{", 1);
				if (ss->scope) {
					jb_opt_str(&b, &cf, "name", ss->scope->name);
					jb_opt_str(&b, &cf, "version", ss->scope->version);
					jb_attrs(&b, &cf, ss->scope->attributes, ss->scope->n_attributes,
						 ss->scope->dropped_attributes_count);
				}
				jb_put(&b, "}", 1);
			}
			jb_key(&b, &sf, "spans");
			jb_put(&b, "[", 1);
			for (size_t j = 0; j < ss->n_spans; j++) {
				if (j)
					jb_put(&b, ",", 1);
				jb_span(&b, ss->spans[j]);
			}
			jb_put(&b, "]", 1);
			jb_opt_str(&b, &sf, "schemaUrl", ss->schema_url);
			jb_put(&b, "}", 1);
		}
		jb_put(&b, "]", 1);
		jb_opt_str(&b, &first, "schemaUrl", rs->schema_url);
		jb_put(&b, "}", 1);
	}
	jb_str(&b, "]}");
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}

char *otlp_json__quote(const char *s, size_t len)
{
	struct jbuf b = { 0 };

	jb_quote(&b, s, len);
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}

/* --- sink --------------------------------------------------------------------------- */

struct json_sink {
	struct tt_sink sink;
	FILE *out;
	struct otlp_config cfg;
};

static int json_sink_trace(struct tt_sink *sink, const struct tt_trace *t)
{
	struct json_sink *js = sink->ctx;
	struct otlp_spans *spans = NULL;
	struct otlp_request *req = NULL;
	struct otlp_slice slice;
	char *line = NULL;
	size_t len;
	int err = 0;

	if (!t->n_spans)
		return 0;
	spans = otlp_spans__new(t);
	if (!spans) {
		err = -errno;
		goto cleanup;
	}
	slice = (struct otlp_slice){ .spans = spans, .off = 0, .n = otlp_spans__count(spans) };
	req = otlp_request__new(&js->cfg, &slice, 1);
	if (!req) {
		err = -errno;
		goto cleanup;
	}
	line = otlp_json__encode_request(otlp_request__msg(req), &len);
	if (!line) {
		err = -errno;
		goto cleanup;
	}
	/* whole lines only, flushed, so a reader tailing the file never sees half a trace */
	line[len] = '\n';
	if (fwrite(line, 1, len + 1, js->out) != len + 1 || fflush(js->out)) {
		err = errno ? -errno : -EIO;
		goto cleanup;
	}
cleanup:
	free(line);
	otlp_request__free(req);
	otlp_spans__free(spans);
	return err;
}

static int json_sink_close(struct tt_sink *sink)
{
	struct json_sink *js;
	int err = 0;

	if (!sink)
		return 0;
	js = sink->ctx;
	if (fflush(js->out))
		err = -errno;
	otlp_config__cleanup(&js->cfg);
	free(js);
	return err;
}

struct tt_sink *otlp_json_sink__new(FILE *out, const struct otlp_config *cfg)
{
	struct json_sink *js;
	int err;

	if (!out || !cfg) {
		errno = EINVAL;
		return NULL;
	}
	js = calloc(1, sizeof(*js));
	if (!js)
		return NULL;
	err = otlp_config__copy(&js->cfg, cfg);
	if (err) {
		free(js);
		errno = -err;
		return NULL;
	}
	js->out = out;
	js->sink.name = "otlp-json";
	js->sink.trace = json_sink_trace;
	js->sink.close = json_sink_close;
	js->sink.ctx = js;
	return &js->sink;
}
