/* Unit tests of the OTLP outputs: protobuf encoding decoded back field by field, the
 * OTEL_* environment, OTLP/JSON text, Retry-After, backoff, and the HTTP sink's
 * accounting against an endpoint that refuses connections. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "otlp.h"
#include "otlp_http.h"
#include "otlp_json.h"

/* --- a synthetic trace: root -> child -> grandchild (error), child links elsewhere ---- */

static const uint8_t TRACE_ID[16] = { 0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
				      0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c };
static const uint8_t LINK_TRACE_ID[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
					   0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };

struct fixture {
	struct tt_process proc;
	struct tt_attr attrs[4];
	struct tt_link link;
	struct tt_span spans[3];
	struct tt_span *order[3];
	struct tt_span *roots[1];
	struct tt_trace trace;
};

static void make_trace(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->proc = (struct tt_process){ .pid = 4242,
				       .exe_path = "/opt/demo/bin/workflow-demo",
				       .exe_name = "workflow-demo",
				       .cmdline = "workflow-demo --jobs 3" };
	f->attrs[0] = (struct tt_attr){ .key = "tta.retry.attempt", .type = TT_ATTR_INT, .i = -3 };
	f->attrs[1] = (struct tt_attr){ .key = "workflow.id", .type = TT_ATTR_STR, .s = "wf-42" };
	f->attrs[2] = (struct tt_attr){ .key = "tta.cache.hit", .type = TT_ATTR_BOOL, .b = true };
	f->attrs[3] = (struct tt_attr){ .key = "tta.ratio", .type = TT_ATTR_DOUBLE, .d = 0.25 };
	memcpy(f->link.trace_id, LINK_TRACE_ID, 16);
	f->link.span_id = 0x00f067aa0ba902b7ull;

	f->spans[0] = (struct tt_span){ .span_id = 0xb7ad6b7169203331ull,
					.start_ns = 1700000000123456789ull,
					.end_ns = 1700000000923456789ull,
					.ret = 0,
					.pid = 4242,
					.tid = 4242,
					.name = "run_workflow",
					.probe = "/opt/demo/bin/workflow-demo:run_workflow",
					.kind = "sequential",
					.status = TT_STATUS_OK };
	f->spans[1] = (struct tt_span){ .span_id = 0x0102030405060708ull,
					.parent_span_id = 0xb7ad6b7169203331ull,
					.start_ns = 1700000000200000000ull,
					.end_ns = 1700000000800000000ull,
					.ret = -11,
					.pid = 4242,
					.tid = 4243,
					.depth = 1,
					.name = "fetch",
					.probe = "/opt/demo/bin/workflow-demo:fetch_step",
					.kind = "retry",
					.status = TT_STATUS_UNSET,
					.attrs = f->attrs,
					.n_attrs = 4,
					.links = &f->link,
					.n_links = 1 };
	f->spans[2] = (struct tt_span){ .span_id = 0xfffffffffffffffeull,
					.parent_span_id = 0x0102030405060708ull,
					.start_ns = 1700000000300000000ull,
					.end_ns = 1700000000400000000ull,
					.ret = 1,
					.pid = 4242,
					.tid = 4243,
					.depth = 2,
					.name = "attempt",
					.probe = "/opt/demo/bin/workflow-demo:attempt",
					.kind = "step",
					.status = TT_STATUS_ERROR,
					.status_msg = "returned 1 (EPERM)" };
	for (int i = 0; i < 3; i++)
		f->order[i] = &f->spans[i];
	f->roots[0] = &f->spans[0];
	memcpy(f->trace.trace_id, TRACE_ID, 16);
	f->trace.spans = f->order;
	f->trace.n_spans = 3;
	f->trace.roots = f->roots;
	f->trace.n_roots = 1;
	f->trace.complete = true;
	f->trace.proc = &f->proc;
}

static void test_config(struct otlp_config *cfg)
{
	assert_int_equal(otlp_config__init(cfg), 0);
	free(cfg->host_name);
	cfg->host_name = strdup("testhost");
	assert_non_null(cfg->host_name);
}

static otlp_pb_request *encode_decode(const struct otlp_config *cfg, struct otlp_spans *const *sp,
				      size_t n)
{
	struct otlp_slice slices[8];
	struct otlp_request *req;
	otlp_pb_request *dec;
	uint8_t *buf;
	size_t len;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		slices[i] = (struct otlp_slice){ sp[i], 0, otlp_spans__count(sp[i]) };
	req = otlp_request__new(cfg, slices, n);
	assert_non_null(req);
	assert_int_equal(otlp_request__pack(req, &buf, &len), 0);
	otlp_request__free(req);
	dec = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL,
											      len, buf);
	free(buf);
	assert_non_null(dec);
	return dec;
}

static void free_decoded(otlp_pb_request *r)
{
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r,
												NULL);
}

static const otlp_pb_kv *find(otlp_pb_kv **kvs, size_t n, const char *key)
{
	const otlp_pb_kv *found = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(kvs[i]->key, key)) {
			assert_null(found); /* keys are unique */
			found = kvs[i];
		}
	}
	return found;
}

static void assert_str_attr(otlp_pb_kv **kvs, size_t n, const char *key, const char *want)
{
	const otlp_pb_kv *kv = find(kvs, n, key);

	if (!kv)
		fail_msg("attribute %s missing", key);
	assert_int_equal(kv->value->value_case,
			 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
	assert_string_equal(kv->value->string_value, want);
}

static void assert_int_attr(otlp_pb_kv **kvs, size_t n, const char *key, int64_t want)
{
	const otlp_pb_kv *kv = find(kvs, n, key);

	if (!kv)
		fail_msg("attribute %s missing", key);
	assert_int_equal(kv->value->value_case,
			 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
	assert_int_equal(kv->value->int_value, want);
}

static void assert_bytes(const ProtobufCBinaryData *d, const uint8_t *want, size_t len)
{
	assert_int_equal(d->len, len);
	assert_memory_equal(d->data, want, len);
}

static void test_encode_decode_roundtrip(void **state)
{
	static const uint8_t root_id[8] = { 0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31 };
	static const uint8_t child_id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t gc_id[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
	static const uint8_t link_id[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };
	struct otlp_config cfg;
	struct fixture f;
	struct otlp_spans *sp;
	otlp_pb_request *r;
	otlp_pb_resource *res;
	otlp_pb_scope_spans *ss;
	otlp_pb_span *s;

	(void)state;
	make_trace(&f);
	test_config(&cfg);
	cfg.resource_attrs = calloc(2, sizeof(*cfg.resource_attrs));
	cfg.resource_attrs[0] = (struct otlp_kv){ strdup("deployment.environment"), strdup("test") };
	cfg.resource_attrs[1] = (struct otlp_kv){ strdup("process.command_line"), strdup("hidden") };
	cfg.n_resource_attrs = 2;

	sp = otlp_spans__new(&f.trace);
	assert_non_null(sp);
	/* the conversion owns copies: the source may go away */
	f.spans[0].name = "clobbered";
	f.proc.exe_name = "clobbered";
	assert_int_equal(otlp_spans__count(sp), 3);
	r = encode_decode(&cfg, &sp, 1);

	assert_int_equal(r->n_resource_spans, 1);
	res = r->resource_spans[0]->resource;
	assert_non_null(res);
	assert_str_attr(res->attributes, res->n_attributes, "service.name",
			"unknown_service:workflow-demo");
	assert_string_equal(res->attributes[0]->key, "service.name");
	assert_str_attr(res->attributes, res->n_attributes, "host.name", "testhost");
	assert_int_attr(res->attributes, res->n_attributes, "process.pid", 4242);
	assert_str_attr(res->attributes, res->n_attributes, "process.executable.name",
			"workflow-demo");
	assert_str_attr(res->attributes, res->n_attributes, "process.executable.path",
			"/opt/demo/bin/workflow-demo");
	/* OTEL_RESOURCE_ATTRIBUTES replaces a detected value */
	assert_str_attr(res->attributes, res->n_attributes, "process.command_line", "hidden");
	assert_str_attr(res->attributes, res->n_attributes, "deployment.environment", "test");
	assert_int_equal(res->n_attributes, 7);

	assert_int_equal(r->resource_spans[0]->n_scope_spans, 1);
	ss = r->resource_spans[0]->scope_spans[0];
	assert_string_equal(ss->scope->name, "ttatrace");
	assert_string_equal(ss->scope->version, TTATRACE_VERSION);
	assert_int_equal(ss->n_spans, 3);

	/* root */
	s = ss->spans[0];
	assert_bytes(&s->trace_id, TRACE_ID, 16);
	assert_bytes(&s->span_id, root_id, 8);
	assert_int_equal(s->parent_span_id.len, 0);
	assert_string_equal(s->name, "run_workflow");
	assert_int_equal(s->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL);
	assert_int_equal(s->start_time_unix_nano, 1700000000123456789ull);
	assert_int_equal(s->end_time_unix_nano, 1700000000923456789ull);
	assert_non_null(s->status);
	assert_int_equal(s->status->code,
			 OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK);
	assert_string_equal(s->status->message, "");
	assert_str_attr(s->attributes, s->n_attributes, "tta.probe",
			"/opt/demo/bin/workflow-demo:run_workflow");
	assert_str_attr(s->attributes, s->n_attributes, "code.function", "run_workflow");
	assert_str_attr(s->attributes, s->n_attributes, "tta.primitive.kind", "sequential");
	assert_int_attr(s->attributes, s->n_attributes, "thread.id", 4242);
	assert_int_attr(s->attributes, s->n_attributes, "tta.return_value", 0);
	assert_int_equal(s->n_attributes, 5);
	assert_int_equal(s->n_links, 0);

	/* child: every attribute type, a link, status unset */
	s = ss->spans[1];
	assert_bytes(&s->trace_id, TRACE_ID, 16);
	assert_bytes(&s->span_id, child_id, 8);
	assert_bytes(&s->parent_span_id, root_id, 8);
	assert_string_equal(s->name, "fetch");
	assert_int_equal(s->start_time_unix_nano, 1700000000200000000ull);
	assert_int_equal(s->end_time_unix_nano, 1700000000800000000ull);
	assert_int_equal(s->status->code,
			 OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_UNSET);
	assert_int_equal(s->n_attributes, 9);
	assert_str_attr(s->attributes, s->n_attributes, "code.function", "fetch_step");
	assert_int_attr(s->attributes, s->n_attributes, "thread.id", 4243);
	assert_int_attr(s->attributes, s->n_attributes, "tta.return_value", -11);
	assert_int_attr(s->attributes, s->n_attributes, "tta.retry.attempt", -3);
	assert_str_attr(s->attributes, s->n_attributes, "workflow.id", "wf-42");
	{
		const otlp_pb_kv *b = find(s->attributes, s->n_attributes, "tta.cache.hit");
		const otlp_pb_kv *d = find(s->attributes, s->n_attributes, "tta.ratio");

		assert_non_null(b);
		assert_int_equal(b->value->value_case,
				 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
		assert_true(b->value->bool_value);
		assert_non_null(d);
		assert_int_equal(d->value->value_case,
				 OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
		assert_true(d->value->double_value == 0.25);
	}
	assert_int_equal(s->n_links, 1);
	assert_bytes(&s->links[0]->trace_id, LINK_TRACE_ID, 16);
	assert_bytes(&s->links[0]->span_id, link_id, 8);

	/* grandchild: error with its message */
	s = ss->spans[2];
	assert_bytes(&s->span_id, gc_id, 8);
	assert_bytes(&s->parent_span_id, child_id, 8);
	assert_int_equal(s->status->code,
			 OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
	assert_string_equal(s->status->message, "returned 1 (EPERM)");
	assert_int_attr(s->attributes, s->n_attributes, "tta.return_value", 1);

	free_decoded(r);
	otlp_spans__free(sp);
	otlp_config__cleanup(&cfg);
}

/* Two processes -> two ResourceSpans; traces of one process share one; slices split. */
static void test_group_by_process_and_slices(void **state)
{
	struct fixture a, b, c;
	struct otlp_spans *sp[3];
	struct otlp_slice sl[3];
	struct otlp_request *req;
	const otlp_pb_request *m;
	struct otlp_config cfg;

	(void)state;
	make_trace(&a);
	make_trace(&b);
	make_trace(&c);
	b.proc.pid = 7;
	b.proc.exe_name = "other";
	test_config(&cfg);
	cfg.service_name = strdup("checkout");
	sp[0] = otlp_spans__new(&a.trace);
	sp[1] = otlp_spans__new(&b.trace);
	sp[2] = otlp_spans__new(&c.trace);
	assert_non_null(sp[0]);
	assert_non_null(sp[1]);
	assert_non_null(sp[2]);
	sl[0] = (struct otlp_slice){ sp[0], 1, 2 }; /* child and grandchild of a */
	sl[1] = (struct otlp_slice){ sp[1], 0, 3 };
	sl[2] = (struct otlp_slice){ sp[2], 0, 1 }; /* root of c, same process as a */
	req = otlp_request__new(&cfg, sl, 3);
	assert_non_null(req);
	assert_int_equal(otlp_request__span_count(req), 6);
	m = otlp_request__msg(req);
	assert_int_equal(m->n_resource_spans, 2);
	{
		otlp_pb_resource *r0 = m->resource_spans[0]->resource;
		otlp_pb_resource *r1 = m->resource_spans[1]->resource;
		otlp_pb_scope_spans *s0 = m->resource_spans[0]->scope_spans[0];
		otlp_pb_scope_spans *s1 = m->resource_spans[1]->scope_spans[0];

		assert_str_attr(r0->attributes, r0->n_attributes, "service.name", "checkout");
		assert_int_attr(r0->attributes, r0->n_attributes, "process.pid", 4242);
		assert_int_attr(r1->attributes, r1->n_attributes, "process.pid", 7);
		assert_str_attr(r1->attributes, r1->n_attributes, "process.executable.name", "other");
		assert_int_equal(s0->n_spans, 3);
		assert_string_equal(s0->spans[0]->name, "fetch");
		assert_string_equal(s0->spans[1]->name, "attempt");
		assert_string_equal(s0->spans[2]->name, "run_workflow");
		assert_int_equal(s1->n_spans, 3);
	}
	otlp_request__free(req);
	for (int i = 0; i < 3; i++)
		otlp_spans__free(sp[i]);
	otlp_config__cleanup(&cfg);
}

static void test_invalid_utf8_is_replaced(void **state)
{
	struct fixture f;
	struct otlp_spans *sp;
	struct otlp_config cfg;
	otlp_pb_request *r;
	otlp_pb_span *s;

	(void)state;
	make_trace(&f);
	f.spans[0].name = "bad\xff\xc3(\xe2\x82\xac)";
	f.spans[0].probe = NULL;
	f.proc.exe_name = NULL;
	test_config(&cfg);
	sp = otlp_spans__new(&f.trace);
	assert_non_null(sp);
	r = encode_decode(&cfg, &sp, 1);
	s = r->resource_spans[0]->scope_spans[0]->spans[0];
	assert_string_equal(s->name, "bad\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac)");
	assert_null(find(s->attributes, s->n_attributes, "tta.probe"));
	assert_null(find(s->attributes, s->n_attributes, "code.function"));
	assert_str_attr(r->resource_spans[0]->resource->attributes,
			r->resource_spans[0]->resource->n_attributes, "service.name",
			"unknown_service");
	free_decoded(r);
	otlp_spans__free(sp);
	otlp_config__cleanup(&cfg);
}

static void test_unknown_attr_type_refused(void **state)
{
	struct fixture f;

	(void)state;
	make_trace(&f);
	f.attrs[2].type = (enum tt_attr_type)99;
	errno = 0;
	assert_null(otlp_spans__new(&f.trace));
	assert_int_equal(errno, EINVAL);
}

static void test_utf8_seq_len(void **state)
{
	(void)state;
	assert_int_equal(otlp__utf8_seq_len((const unsigned char *)"a", 1), 1);
	assert_int_equal(otlp__utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2);
	assert_int_equal(otlp__utf8_seq_len((const unsigned char *)"\xc3\xa9", 1), 0);
	assert_int_equal(otlp__utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
	assert_int_equal(otlp__utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(otlp__utf8_seq_len((const unsigned char *)"\xc0\xaf", 2), 0); /* overlong */
	assert_int_equal(otlp__utf8_seq_len((const unsigned char *)"\xe0\x80\xaf", 3), 0);
	assert_int_equal(otlp__utf8_seq_len((const unsigned char *)"\xed\xa0\x80", 3), 0); /* surrogate */
	assert_int_equal(otlp__utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(otlp__utf8_seq_len((const unsigned char *)"\x80", 1), 0);
}

/* --- environment --------------------------------------------------------------------- */

static const char *const ENV_VARS[] = {
	"OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_HEADERS",
	"OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TIMEOUT",
	"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_SERVICE_NAME",
	"OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_BSP_SCHEDULE_DELAY",
	"OTEL_BSP_EXPORT_TIMEOUT",
	"OTEL_BSP_MAX_QUEUE_SIZE",
	"OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ENV_VARS) / sizeof(ENV_VARS[0]); i++)
		unsetenv(ENV_VARS[i]);
	return 0;
}

static void test_env_defaults(void **state)
{
	struct otlp_config cfg;
	char host[256];

	(void)state;
	assert_int_equal(otlp_config__from_env(&cfg, NULL), 0);
	assert_null(cfg.endpoint);
	assert_null(cfg.service_name);
	assert_false(cfg.gzip);
	assert_int_equal(cfg.timeout_ms, 10000);
	assert_int_equal(cfg.batch_spans, 512);
	assert_int_equal(cfg.batch_delay_ms, 1000);
	assert_int_equal(cfg.queue_spans, 2048);
	assert_int_equal(cfg.close_timeout_ms, 5000);
	assert_int_equal(cfg.n_headers, 0);
	assert_int_equal(cfg.n_resource_attrs, 0);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_string_equal(cfg.host_name, host);
	otlp_config__cleanup(&cfg);
	otlp_config__cleanup(NULL);
}

static void expect_endpoint(const char *cli, const char *want)
{
	struct otlp_config cfg;

	if (otlp_config__from_env(&cfg, cli))
		fail_msg("from_env failed: %s", cfg.err);
	assert_non_null(cfg.endpoint);
	assert_string_equal(cfg.endpoint, want);
	otlp_config__cleanup(&cfg);
}

static void test_env_endpoints(void **state)
{
	(void)state;
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", 1);
	expect_endpoint(NULL, "http://collector:4318/v1/traces");
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/", 1);
	expect_endpoint(NULL, "https://collector:4318/v1/traces");
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://gw/otlp/", 1);
	expect_endpoint(NULL, "http://gw/otlp/v1/traces");
	/* the signal-specific variable is used as is and wins */
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9999/custom", 1);
	expect_endpoint(NULL, "http://t:9999/custom");
	/* --otlp wins over both: base URL gets the path, a full URL stays */
	expect_endpoint("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces");
	expect_endpoint("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces");
	expect_endpoint("http://127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318/v1/traces");
	/* an empty variable is unset */
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", 1);
	expect_endpoint(NULL, "http://gw/otlp/v1/traces");
}

static void test_env_headers_compression_timeout(void **state)
{
	struct otlp_config cfg;

	(void)state;
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS",
	       "api-key=abc%20def%2C%3D , X-Tenant = t1,,Authorization=Basic dXNlcjpwYXNz", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", 1);
	setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100", 1);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "250", 1);
	setenv("OTEL_BSP_EXPORT_TIMEOUT", "1500", 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	if (otlp_config__from_env(&cfg, NULL))
		fail_msg("from_env: %s", cfg.err);
	assert_int_equal(cfg.n_headers, 3);
	assert_string_equal(cfg.headers[0].key, "api-key");
	assert_string_equal(cfg.headers[0].value, "abc def,=");
	assert_string_equal(cfg.headers[1].key, "X-Tenant");
	assert_string_equal(cfg.headers[1].value, "t1");
	assert_string_equal(cfg.headers[2].key, "Authorization");
	assert_string_equal(cfg.headers[2].value, "Basic dXNlcjpwYXNz");
	assert_true(cfg.gzip);
	assert_int_equal(cfg.timeout_ms, 2500);
	assert_int_equal(cfg.batch_spans, 100);
	assert_int_equal(cfg.batch_delay_ms, 250);
	assert_int_equal(cfg.close_timeout_ms, 1500);
	otlp_config__cleanup(&cfg);

	/* signal-specific variables win */
	setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "only=this", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "7", 1);
	assert_int_equal(otlp_config__from_env(&cfg, NULL), 0);
	assert_int_equal(cfg.n_headers, 1);
	assert_string_equal(cfg.headers[0].key, "only");
	assert_false(cfg.gzip);
	assert_int_equal(cfg.timeout_ms, 7);
	otlp_config__cleanup(&cfg);
}

static void test_env_service_and_resource(void **state)
{
	struct otlp_config cfg;

	(void)state;
	setenv("OTEL_RESOURCE_ATTRIBUTES",
	       "service.name=from-attrs,deployment.environment=prod,team=a%2Cb%3Dc%20d,k8s.pod.name=p-1",
	       1);
	assert_int_equal(otlp_config__from_env(&cfg, NULL), 0);
	assert_string_equal(cfg.service_name, "from-attrs");
	assert_int_equal(cfg.n_resource_attrs, 3);
	assert_string_equal(cfg.resource_attrs[0].key, "deployment.environment");
	assert_string_equal(cfg.resource_attrs[0].value, "prod");
	assert_string_equal(cfg.resource_attrs[1].key, "team");
	assert_string_equal(cfg.resource_attrs[1].value, "a,b=c d");
	assert_string_equal(cfg.resource_attrs[2].key, "k8s.pod.name");
	otlp_config__cleanup(&cfg);

	setenv("OTEL_SERVICE_NAME", "from-var", 1);
	assert_int_equal(otlp_config__from_env(&cfg, NULL), 0);
	assert_string_equal(cfg.service_name, "from-var");
	assert_int_equal(cfg.n_resource_attrs, 3);
	otlp_config__cleanup(&cfg);
}

static void expect_bad(const char *var, const char *value, const char *cli, const char *want_in_msg)
{
	struct otlp_config cfg;
	int err;

	clear_env(NULL);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", 1);
	if (var)
		setenv(var, value, 1);
	err = otlp_config__from_env(&cfg, cli);
	if (err != -EINVAL)
		fail_msg("%s=%s: want -EINVAL, got %d", var, value, err);
	assert_null(cfg.endpoint);
	assert_null(cfg.headers);
	if (!strstr(cfg.err, want_in_msg))
		fail_msg("%s=%s: message \"%s\" lacks \"%s\"", var, value, cfg.err, want_in_msg);
	assert_null(strchr(cfg.err, '\n'));
	otlp_config__cleanup(&cfg);
}

static void test_env_bad_values(void **state)
{
	(void)state;
	expect_bad("OTEL_EXPORTER_OTLP_HEADERS", "novalue", NULL,
		   "OTEL_EXPORTER_OTLP_HEADERS: \"novalue\" is not key=value");
	expect_bad("OTEL_EXPORTER_OTLP_HEADERS", "a=1,=v", NULL, "is not key=value");
	expect_bad("OTEL_EXPORTER_OTLP_HEADERS", "a=%zz", NULL, "bad percent-encoding");
	expect_bad("OTEL_EXPORTER_OTLP_HEADERS", "a=%4", NULL, "bad percent-encoding");
	expect_bad("OTEL_EXPORTER_OTLP_HEADERS", "a=x%0Ay", NULL, "control character");
	expect_bad("OTEL_EXPORTER_OTLP_HEADERS", "bad key=1", NULL, "not a valid header name");
	expect_bad("OTEL_RESOURCE_ATTRIBUTES", "a=1,b", NULL, "OTEL_RESOURCE_ATTRIBUTES: \"b\"");
	expect_bad("OTEL_EXPORTER_OTLP_TIMEOUT", "abc", NULL, "OTEL_EXPORTER_OTLP_TIMEOUT");
	expect_bad("OTEL_EXPORTER_OTLP_TIMEOUT", "-5", NULL, "not a number of milliseconds");
	expect_bad("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", NULL, "not a number of milliseconds");
	expect_bad("OTEL_EXPORTER_OTLP_TIMEOUT", "0", NULL, "greater than 0");
	expect_bad("OTEL_EXPORTER_OTLP_COMPRESSION", "br", NULL, "\"br\" is not supported");
	expect_bad("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://c", NULL, "not an http:// or https:// URL");
	expect_bad("OTEL_EXPORTER_OTLP_ENDPOINT", "http://", NULL, "has no host");
	expect_bad(NULL, NULL, "localhost:4318", "--otlp");
	expect_bad("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", NULL, "\"grpc\" is not supported");
	expect_bad("OTEL_BSP_MAX_QUEUE_SIZE", "0", NULL, "OTEL_BSP_MAX_QUEUE_SIZE");
	expect_bad("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "5000", NULL, "larger than");
}

/* --- OTLP/JSON ------------------------------------------------------------------------ */

static void test_json_quote(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "q\"b\\s/", 6, "\"q\\\"b\\\\s/\"" },
		{ "\n\r\t\b\f\x01\x1f\x7f", 8, "\"\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"" },
		{ "nul\0x", 5, "\"nul\\u0000x\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "bad\xff", 4, "\"bad\\ufffd\"" },
		{ "\xc0\xaf", 2, "\"\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "cut\xe2\x82", 5, "\"cut\\ufffd\\ufffd\"" },
		{ "", 0, "\"\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *q = otlp_json__quote(cases[i].in, cases[i].len);

		assert_non_null(q);
		assert_string_equal(q, cases[i].want);
		free(q);
	}
}

static const char *expected_json(void)
{
	return "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
	       "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc \\\"q\\\"\"}},"
	       "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"testhost\"}},"
	       "{\"key\":\"process.pid\",\"value\":{\"intValue\":\"4242\"}},"
	       "{\"key\":\"process.executable.name\",\"value\":{\"stringValue\":\"workflow-demo\"}},"
	       "{\"key\":\"process.executable.path\",\"value\":{\"stringValue\":\"/opt/demo/bin/workflow-demo\"}},"
	       "{\"key\":\"process.command_line\",\"value\":{\"stringValue\":\"workflow-demo --jobs 3\"}}]},"
	       "\"scopeSpans\":[{\"scope\":{\"name\":\"ttatrace\",\"version\":\"" TTATRACE_VERSION "\"},"
	       "\"spans\":["
	       "{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b7169203331\","
	       "\"name\":\"run_workflow\",\"kind\":1,\"startTimeUnixNano\":\"1700000000123456789\","
	       "\"endTimeUnixNano\":\"1700000000923456789\",\"attributes\":["
	       "{\"key\":\"tta.probe\",\"value\":{\"stringValue\":\"/opt/demo/bin/workflow-demo:run_workflow\"}},"
	       "{\"key\":\"code.function\",\"value\":{\"stringValue\":\"run_workflow\"}},"
	       "{\"key\":\"tta.primitive.kind\",\"value\":{\"stringValue\":\"sequential\"}},"
	       "{\"key\":\"thread.id\",\"value\":{\"intValue\":\"4242\"}},"
	       "{\"key\":\"tta.return_value\",\"value\":{\"intValue\":\"0\"}}],"
	       "\"status\":{\"code\":1}},"
	       "{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"0102030405060708\","
	       "\"parentSpanId\":\"b7ad6b7169203331\",\"name\":\"fetch\",\"kind\":1,"
	       "\"startTimeUnixNano\":\"1700000000200000000\",\"endTimeUnixNano\":\"1700000000800000000\","
	       "\"attributes\":["
	       "{\"key\":\"tta.probe\",\"value\":{\"stringValue\":\"/opt/demo/bin/workflow-demo:fetch_step\"}},"
	       "{\"key\":\"code.function\",\"value\":{\"stringValue\":\"fetch_step\"}},"
	       "{\"key\":\"tta.primitive.kind\",\"value\":{\"stringValue\":\"retry\"}},"
	       "{\"key\":\"thread.id\",\"value\":{\"intValue\":\"4243\"}},"
	       "{\"key\":\"tta.return_value\",\"value\":{\"intValue\":\"-11\"}},"
	       "{\"key\":\"tta.retry.attempt\",\"value\":{\"intValue\":\"-3\"}},"
	       "{\"key\":\"workflow.id\",\"value\":{\"stringValue\":\"wf-42\"}},"
	       "{\"key\":\"tta.cache.hit\",\"value\":{\"boolValue\":true}},"
	       "{\"key\":\"tta.ratio\",\"value\":{\"doubleValue\":0.25}}],"
	       "\"links\":[{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"00f067aa0ba902b7\"}],"
	       "\"status\":{}},"
	       "{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"fffffffffffffffe\","
	       "\"parentSpanId\":\"0102030405060708\",\"name\":\"attempt\",\"kind\":1,"
	       "\"startTimeUnixNano\":\"1700000000300000000\",\"endTimeUnixNano\":\"1700000000400000000\","
	       "\"attributes\":["
	       "{\"key\":\"tta.probe\",\"value\":{\"stringValue\":\"/opt/demo/bin/workflow-demo:attempt\"}},"
	       "{\"key\":\"code.function\",\"value\":{\"stringValue\":\"attempt\"}},"
	       "{\"key\":\"tta.primitive.kind\",\"value\":{\"stringValue\":\"step\"}},"
	       "{\"key\":\"thread.id\",\"value\":{\"intValue\":\"4243\"}},"
	       "{\"key\":\"tta.return_value\",\"value\":{\"intValue\":\"1\"}}],"
	       "\"status\":{\"message\":\"returned 1 (EPERM)\",\"code\":2}}"
	       "]}]}]}";
}

static void test_json_exact(void **state)
{
	struct otlp_config cfg;
	struct fixture f;
	struct otlp_spans *sp;
	struct otlp_slice sl;
	struct otlp_request *req;
	char *line;
	size_t len;

	(void)state;
	make_trace(&f);
	test_config(&cfg);
	cfg.service_name = strdup("svc \"q\"");
	sp = otlp_spans__new(&f.trace);
	assert_non_null(sp);
	sl = (struct otlp_slice){ sp, 0, 3 };
	req = otlp_request__new(&cfg, &sl, 1);
	assert_non_null(req);
	line = otlp_json__encode_request(otlp_request__msg(req), &len);
	assert_non_null(line);
	assert_string_equal(line, expected_json());
	assert_int_equal(len, strlen(expected_json()));
	free(line);
	otlp_request__free(req);
	otlp_spans__free(sp);
	otlp_config__cleanup(&cfg);
}

static void test_json_values(void **state)
{
	otlp_pb_value v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
	otlp_pb_kv kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
	otlp_pb_kv *kvp = &kv;
	otlp_pb_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
	otlp_pb_resource_spans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
	otlp_pb_resource_spans *rsp = &rs;
	otlp_pb_request req = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	static const struct {
		double d;
		const char *want;
	} dbl[] = {
		{ 1.0 / 0.0, "{\"doubleValue\":\"Infinity\"}" },
		{ -1.0 / 0.0, "{\"doubleValue\":\"-Infinity\"}" },
		{ 0.1, "{\"doubleValue\":0.1}" },
		{ 1e300, "{\"doubleValue\":1e+300}" },
		{ -2.0, "{\"doubleValue\":-2}" },
	};
	uint8_t bytes[] = { 0xde, 0xad, 0xbe, 0xef, 0x01 };

	(void)state;
	kv.key = "k";
	kv.value = &v;
	res.attributes = &kvp;
	res.n_attributes = 1;
	rs.resource = &res;
	req.resource_spans = &rsp;
	req.n_resource_spans = 1;
	for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++) {
		char want[256], *line;

		v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
		v.double_value = dbl[i].d;
		line = otlp_json__encode_request(&req, NULL);
		snprintf(want, sizeof(want),
			 "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":%s}]},"
			 "\"scopeSpans\":[]}]}",
			 dbl[i].want);
		assert_string_equal(line, want);
		free(line);
	}
	v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
	v.int_value = INT64_MIN;
	{
		char *line = otlp_json__encode_request(&req, NULL);

		assert_non_null(strstr(line, "{\"intValue\":\"-9223372036854775808\"}"));
		free(line);
	}
	v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
	v.bytes_value.data = bytes;
	v.bytes_value.len = sizeof(bytes);
	{
		char *line = otlp_json__encode_request(&req, NULL);

		assert_non_null(strstr(line, "{\"bytesValue\":\"3q2+7wE=\"}"));
		free(line);
	}
}

static void test_json_sink_lines(void **state)
{
	struct otlp_config cfg;
	struct fixture f;
	struct tt_sink *sink;
	char *buf = NULL, *nl;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);

	(void)state;
	assert_non_null(out);
	make_trace(&f);
	test_config(&cfg);
	cfg.service_name = strdup("svc \"q\"");
	sink = otlp_json_sink__new(out, &cfg);
	assert_non_null(sink);
	otlp_config__cleanup(&cfg); /* the sink keeps its own copy */
	assert_int_equal(sink->trace(sink, &f.trace), 0);
	f.spans[0].name = "second";
	assert_int_equal(sink->trace(sink, &f.trace), 0);
	assert_int_equal(tt_sink__close(sink), 0);
	assert_int_equal(fclose(out), 0);

	nl = strchr(buf, '\n');
	assert_non_null(nl);
	assert_int_equal((size_t)(nl - buf), strlen(expected_json()));
	assert_memory_equal(buf, expected_json(), nl - buf);
	assert_non_null(strstr(nl + 1, "\"name\":\"second\""));
	assert_int_equal(buf[size - 1], '\n');
	assert_ptr_equal(strchr(nl + 1, '\n'), buf + size - 1);
	free(buf);
}

/* --- HTTP helpers --------------------------------------------------------------------- */

static void test_retry_after(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date */
	const time_t date = 784111777;
	uint64_t ms = 12345;

	(void)state;
	assert_int_equal(otlp_http__parse_retry_after("1", date, &ms), 0);
	assert_int_equal(ms, 1000);
	assert_int_equal(otlp_http__parse_retry_after(" 120 ", date, &ms), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(otlp_http__parse_retry_after("0", date, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(otlp_http__parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date - 5, &ms),
			 0);
	assert_int_equal(ms, 5000);
	assert_int_equal(otlp_http__parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", date - 7,
						      &ms),
			 0);
	assert_int_equal(ms, 7000);
	assert_int_equal(otlp_http__parse_retry_after("Sun Nov  6 08:49:37 1994", date - 2, &ms), 0);
	assert_int_equal(ms, 2000);
	/* a date already past means now */
	assert_int_equal(otlp_http__parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date + 60, &ms),
			 0);
	assert_int_equal(ms, 0);
	/* absurd values are capped at a day */
	assert_int_equal(otlp_http__parse_retry_after("99999999999999999999999", date, &ms), 0);
	assert_int_equal(ms, 86400000);
	assert_int_equal(otlp_http__parse_retry_after("-1", date, &ms), -EINVAL);
	assert_int_equal(otlp_http__parse_retry_after("1.5", date, &ms), -EINVAL);
	assert_int_equal(otlp_http__parse_retry_after("soon", date, &ms), -EINVAL);
	assert_int_equal(otlp_http__parse_retry_after("", date, &ms), -EINVAL);
	assert_int_equal(otlp_http__parse_retry_after("Sun, 06 Nov 1994 08:49:37", date, &ms),
			 -EINVAL);
	assert_int_equal(otlp_http__parse_retry_after(NULL, date, &ms), -EINVAL);
}

static void test_backoff_bounds(void **state)
{
	uint64_t seen_high[8] = { 0 };
	uint64_t s = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (unsigned int attempt = 0; attempt < 8; attempt++) {
		uint64_t cap = 100ull << attempt;

		if (cap > 2000)
			cap = 2000;
		/* the ends of the range are reachable, nothing beyond */
		assert_int_equal(otlp_http__backoff_ms(attempt, 100, 2000, cap), cap);
		assert_int_equal(otlp_http__backoff_ms(attempt, 100, 2000, cap + 1), 0);
		assert_int_equal(otlp_http__backoff_ms(attempt, 100, 2000, 0), 0);
		for (int i = 0; i < 2000; i++) {
			uint64_t d;

			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			d = otlp_http__backoff_ms(attempt, 100, 2000, s);
			assert_true(d <= cap);
			if (d > seen_high[attempt])
				seen_high[attempt] = d;
		}
		/* full jitter spreads over the whole window, which doubles each attempt */
		assert_true(seen_high[attempt] > cap * 9 / 10);
	}
	assert_true(seen_high[4] > 1000);
	assert_int_equal(otlp_http__backoff_ms(40, 1000, 16000, UINT64_MAX), UINT64_MAX % 16001);
}

static void test_status_retryable(void **state)
{
	(void)state;
	assert_true(otlp_http__status_retryable(429));
	assert_true(otlp_http__status_retryable(502));
	assert_true(otlp_http__status_retryable(503));
	assert_true(otlp_http__status_retryable(504));
	assert_false(otlp_http__status_retryable(400));
	assert_false(otlp_http__status_retryable(401));
	assert_false(otlp_http__status_retryable(404));
	assert_false(otlp_http__status_retryable(413));
	assert_false(otlp_http__status_retryable(500));
	assert_false(otlp_http__status_retryable(501));
}

static void test_error_message(void **state)
{
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	uint8_t buf[256];
	size_t len;
	char msg[64];

	(void)state;
	st.code = 3;
	st.message = "invalid span id\nat index 2";
	len = google__rpc__status__pack(&st, buf);
	otlp_http__error_message("application/x-protobuf", buf, len, msg, sizeof(msg));
	assert_string_equal(msg, "invalid span id at index 2");

	st.message = "";
	len = google__rpc__status__pack(&st, buf);
	otlp_http__error_message("application/x-protobuf", buf, len, msg, sizeof(msg));
	assert_string_equal(msg, "google.rpc.Status code 3");

	otlp_http__error_message("text/plain; charset=utf-8", (const uint8_t *)"  bad\r\n\tthing\xff ",
				 15, msg, sizeof(msg));
	assert_string_equal(msg, "bad thing?");
	otlp_http__error_message(NULL, NULL, 0, msg, sizeof(msg));
	assert_string_equal(msg, "(no message)");
	/* truncation keeps whole characters */
	otlp_http__error_message("text/plain", (const uint8_t *)"abcd\xc3\xa9", 6, msg, 6);
	assert_string_equal(msg, "abcd");
}

static void test_gzip_roundtrip(void **state)
{
	uint8_t in[5000], *gz, out[6000];
	size_t gz_len;
	z_stream zs;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i % 7 + 'a');
	assert_int_equal(otlp_http__gzip(in, sizeof(in), &gz, &gz_len), 0);
	assert_true(gz_len < sizeof(in) / 4);
	assert_int_equal(gz[0], 0x1f); /* gzip magic, not a zlib header */
	assert_int_equal(gz[1], 0x8b);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
	zs.next_in = gz;
	zs.avail_in = gz_len;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.total_out, sizeof(in));
	assert_memory_equal(out, in, sizeof(in));
	inflateEnd(&zs);
	free(gz);
}

/* --- the HTTP sink against endpoints that refuse or never answer ---------------------- */

/* A loopback port with nothing listening: bind, learn the port, close. */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* A listening socket that never accepts: connects succeed (backlog), requests hang. */
static int listening_socket(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void test_probe(void **state)
{
	struct otlp_config cfg;
	char err[512], url[64];
	int port, fd;

	(void)state;
	test_config(&cfg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", closed_port());
	cfg.endpoint = strdup(url);
	assert_int_equal(otlp_http__probe(&cfg, err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, "cannot connect to "));
	assert_non_null(strstr(err, url));
	free(cfg.endpoint);

	fd = listening_socket(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", port);
	cfg.endpoint = strdup(url);
	assert_int_equal(otlp_http__probe(&cfg, err, sizeof(err)), 0);
	close(fd);
	otlp_config__cleanup(&cfg);
}

static void check_accounting(struct tt_sink *sink, uint64_t fed)
{
	struct otlp_stats st;

	assert_int_equal(otlp_http_sink__stats(sink, &st), 0);
	assert_int_equal(st.spans_queued, 0);
	assert_int_equal(st.spans_exported + st.spans_dropped_queue_full + st.spans_dropped_retries +
				 st.spans_dropped_rejected + st.spans_dropped_shutdown,
			 fed);
}

/* Connection refused: bounded retries, then every span counted as dropped. */
static void test_sink_refused_counts_drops(void **state)
{
	struct otlp_config cfg;
	struct otlp_stats st;
	struct fixture f;
	struct tt_sink *sink;
	char url[64];
	uint64_t t0;

	(void)state;
	make_trace(&f);
	test_config(&cfg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", closed_port());
	cfg.endpoint = strdup(url);
	cfg.max_retries = 2;
	cfg.retry_initial_ms = 20;
	cfg.retry_max_ms = 40;
	cfg.batch_spans = 6;
	cfg.queue_spans = 6;
	cfg.batch_delay_ms = 50;
	sink = otlp_http_sink__new(&cfg);
	assert_non_null(sink);
	assert_int_equal(otlp_http_sink__stats(NULL, &st), -EINVAL);

	t0 = mono_ms();
	assert_int_equal(sink->trace(sink, &f.trace), 0);
	assert_int_equal(sink->trace(sink, &f.trace), 0);
	assert_true(mono_ms() - t0 < 500); /* no network wait: the POSTs fail later */

	/* one batch of 6 spans, first try + 2 retries */
	for (int i = 0; i < 200; i++) {
		assert_int_equal(otlp_http_sink__stats(sink, &st), 0);
		if (st.spans_dropped_retries == 6)
			break;
		usleep(10000);
	}
	assert_int_equal(st.spans_dropped_retries, 6);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.failures, 3);
	assert_int_equal(st.spans_exported, 0);
	assert_int_equal(otlp_http_sink__shutdown(sink), 0);
	check_accounting(sink, 6);
	assert_int_equal(tt_sink__close(sink), 0);
	otlp_config__cleanup(&cfg);
}

/* A server that never answers: trace() stays fast, the queue bound drops what does not
 * fit, and close() gives up at its deadline. */
static void test_sink_hung_server_queue_and_close(void **state)
{
	struct otlp_config cfg;
	struct otlp_stats st;
	struct fixture f;
	struct tt_sink *sink;
	char url[64];
	uint64_t t0, worst = 0;
	int port, fd;

	(void)state;
	make_trace(&f);
	test_config(&cfg);
	fd = listening_socket(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", port);
	cfg.endpoint = strdup(url);
	cfg.timeout_ms = 60000;
	cfg.batch_spans = 3;
	cfg.queue_spans = 9;
	cfg.batch_delay_ms = 10;
	cfg.close_timeout_ms = 300;
	sink = otlp_http_sink__new(&cfg);
	assert_non_null(sink);

	/* the first batch goes out and hangs; then 3 traces fill the queue */
	assert_int_equal(sink->trace(sink, &f.trace), 0);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(otlp_http_sink__stats(sink, &st), 0);
		if (st.requests == 0 && st.spans_queued == 0)
			break;
		usleep(5000);
	}
	assert_int_equal(st.spans_queued, 0);
	for (int i = 0; i < 50; i++) {
		uint64_t s = mono_ms();

		assert_int_equal(sink->trace(sink, &f.trace), 0);
		if (mono_ms() - s > worst)
			worst = mono_ms() - s;
	}
	assert_true(worst < 100); /* the in-flight request hangs for 60 s */
	assert_int_equal(otlp_http_sink__stats(sink, &st), 0);
	assert_int_equal(st.spans_queued, 9);
	assert_int_equal(st.spans_dropped_queue_full, 47 * 3);

	t0 = mono_ms();
	assert_int_equal(otlp_http_sink__shutdown(sink), 0);
	assert_true(mono_ms() - t0 < 2000);
	assert_true(mono_ms() - t0 >= 250);
	assert_int_equal(otlp_http_sink__stats(sink, &st), 0);
	assert_int_equal(st.spans_dropped_shutdown, 12);
	assert_int_equal(st.spans_exported, 0);
	check_accounting(sink, 51 * 3);
	/* after shutdown, trace() drops and counts */
	assert_int_equal(sink->trace(sink, &f.trace), 0);
	check_accounting(sink, 52 * 3);
	assert_int_equal(tt_sink__close(sink), 0);
	close(fd);
	otlp_config__cleanup(&cfg);
}

static void test_sink_bad_config(void **state)
{
	struct otlp_config cfg;

	(void)state;
	test_config(&cfg);
	errno = 0;
	assert_null(otlp_http_sink__new(&cfg)); /* no endpoint */
	assert_int_equal(errno, EINVAL);
	assert_null(otlp_json_sink__new(NULL, &cfg));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tt_sink__close(NULL), 0);
	otlp_config__cleanup(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode_roundtrip),
		cmocka_unit_test(test_group_by_process_and_slices),
		cmocka_unit_test(test_invalid_utf8_is_replaced),
		cmocka_unit_test(test_unknown_attr_type_refused),
		cmocka_unit_test(test_utf8_seq_len),
		cmocka_unit_test_setup_teardown(test_env_defaults, clear_env, clear_env),
		cmocka_unit_test_setup_teardown(test_env_endpoints, clear_env, clear_env),
		cmocka_unit_test_setup_teardown(test_env_headers_compression_timeout, clear_env,
						clear_env),
		cmocka_unit_test_setup_teardown(test_env_service_and_resource, clear_env, clear_env),
		cmocka_unit_test_setup_teardown(test_env_bad_values, clear_env, clear_env),
		cmocka_unit_test(test_json_quote),
		cmocka_unit_test(test_json_exact),
		cmocka_unit_test(test_json_values),
		cmocka_unit_test(test_json_sink_lines),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_status_retryable),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_gzip_roundtrip),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_sink_refused_counts_drops),
		cmocka_unit_test(test_sink_hung_server_queue_and_close),
		cmocka_unit_test(test_sink_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
