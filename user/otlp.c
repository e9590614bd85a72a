/* OTLP configuration from the OTEL_* environment and conversion of tt_traces into
 * protobuf-c OTLP messages, shared by the OTLP/HTTP and OTLP JSON outputs. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "otlp.h"

/* --- arena: a converted trace is freed all at once, so allocate it in chunks -------- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

/* chunks double from MIN to MAX: a one-span trace costs ~1 KiB, a big one wastes <50% */
#define ARENA_MIN_CHUNK_BYTES 1024
#define ARENA_MAX_CHUNK_BYTES (64u << 10)

static void *arena_alloc(struct arena_chunk **head, size_t size)
{
	struct arena_chunk *c = *head;
	size_t align = _Alignof(max_align_t);
	void *p;

	size = (size + align - 1) & ~(align - 1);
	if (!c || c->cap - c->used < size) {
		size_t cap = c ? c->cap * 2 : ARENA_MIN_CHUNK_BYTES;

		if (cap > ARENA_MAX_CHUNK_BYTES)
			cap = ARENA_MAX_CHUNK_BYTES;
		if (cap < size)
			cap = size;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = *head;
		c->used = 0;
		c->cap = cap;
		*head = c;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

static void arena_free(struct arena_chunk *c)
{
	while (c) {
		struct arena_chunk *next = c->next;

		free(c);
		c = next;
	}
}

/* --- UTF-8: protobuf strings must be valid UTF-8 (Go-based collectors reject the
 * whole request otherwise), and captured strings come from arbitrary memory ---------- */

size_t otlp__utf8_seq_len(const unsigned char *s, size_t avail)
{
	return utf8_seq_len(s, avail);
}

/* Copies s into the arena, each byte that does not start a valid UTF-8 sequence
 * replaced by U+FFFD. */
static char *arena_utf8(struct arena_chunk **a, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t len = strlen((const char *)p), out_len = 0, i = 0, k;
	char *out;

	while (i < len) {
		k = otlp__utf8_seq_len(p + i, len - i);
		out_len += k ? k : 3;
		i += k ? k : 1;
	}
	out = arena_alloc(a, out_len + 1);
	if (!out)
		return NULL;
	for (i = 0, out_len = 0; i < len;) {
		k = otlp__utf8_seq_len(p + i, len - i);
		if (k) {
			memcpy(out + out_len, p + i, k);
			out_len += k;
			i += k;
		} else {
			memcpy(out + out_len, "\xef\xbf\xbd", 3);
			out_len += 3;
			i++;
		}
	}
	out[out_len] = '\0';
	return out;
}

/* *out = a copy of s in the arena, or NULL for NULL; -ENOMEM */
static int copy_opt(struct arena_chunk **a, const char *s, char **out)
{
	*out = s ? arena_utf8(a, s) : NULL;
	return s && !*out ? -ENOMEM : 0;
}


/* --- configuration --------------------------------------------------------------- */

static int cfg_error(struct otlp_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int cfg_error(struct otlp_config *cfg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cfg->err, sizeof(cfg->err), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An empty variable counts as unset (OTel specification, "Configuration"). */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void free_kvs(struct otlp_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decodes s[0..len) (W3C Baggage value encoding: '+' stays '+'). */
static char *percent_decode(const char *s, size_t len, bool *bad)
{
	char *out = malloc(len + 1), *o = out;

	*bad = false;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len) {
			*bad = true;
			break;
		}
		int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			*bad = true;
			break;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	if (*bad) {
		free(out);
		return NULL;
	}
	return out;
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && isspace((unsigned char)**b))
		(*b)++;
	while (*e > *b && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

static bool is_token_char(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Parses "k1=v1,k2=v2" (values percent-encoded) as OTEL_EXPORTER_OTLP_HEADERS and
 * OTEL_RESOURCE_ATTRIBUTES are written. as_headers: keys must be HTTP tokens and values
 * may not hold control characters. */
static int parse_kv_list(struct otlp_config *cfg, const char *var, const char *s, bool as_headers,
			 struct otlp_kv **out, size_t *n_out)
{
	struct otlp_kv *kv = NULL;
	size_t n = 0;
	int err = 0;

	while (*s) {
		const char *end = strchr(s, ',');
		const char *kb = s, *ke, *vb, *ve;
		struct otlp_kv *tmp;
		bool bad, blank = true;

		if (!end)
			end = s + strlen(s);
		/* an empty member ("a=1,,b=2" or a trailing comma) is ignored */
		for (const char *p = s; p < end; p++)
			blank &= isspace((unsigned char)*p) != 0;
		if (blank)
			goto next;
		ke = memchr(s, '=', end - s);
		if (ke) {
			vb = ke + 1;
			ve = end;
			trim(&kb, &ke);
			trim(&vb, &ve);
		}
		if (!ke || kb == ke) {
			err = cfg_error(cfg, "%s: \"%.*s\" is not key=value (expected k1=v1,k2=v2)", var,
					(int)(end - s > 60 ? 60 : end - s), s);
			goto fail;
		}
		if (as_headers) {
			for (const char *p = kb; p < ke; p++) {
				if (!is_token_char((unsigned char)*p)) {
					err = cfg_error(cfg, "%s: \"%.*s\" is not a valid header name", var,
							(int)(ke - kb > 60 ? 60 : ke - kb), kb);
					goto fail;
				}
			}
		}
		tmp = realloc(kv, (n + 1) * sizeof(*kv));
		if (!tmp) {
			err = -ENOMEM;
			goto fail;
		}
		kv = tmp;
		kv[n].key = strndup(kb, ke - kb);
		kv[n].value = percent_decode(vb, ve - vb, &bad);
		if (!kv[n].key || !kv[n].value) {
			free(kv[n].key);
			free(kv[n].value);
			err = bad ? cfg_error(cfg, "%s: bad percent-encoding in the value of \"%.*s\"",
					      var, (int)(ke - kb > 60 ? 60 : ke - kb), kb)
				  : -ENOMEM;
			goto fail;
		}
		n++;
		if (as_headers) {
			for (const char *p = kv[n - 1].value; *p; p++) {
				if ((unsigned char)*p < 0x20 && *p != '\t') {
					err = cfg_error(cfg, "%s: the value of \"%s\" holds a control character",
							var, kv[n - 1].key);
					goto fail;
				}
			}
		}
next:
		s = *end ? end + 1 : end;
	}
	*out = kv;
	*n_out = n;
	return 0;
fail:
	free_kvs(kv, n);
	return err;
}

static int parse_ms(struct otlp_config *cfg, const char *var, unsigned int *out, bool zero_ok)
{
	const char *s = env(var);
	char *end;
	unsigned long long v;

	if (!s)
		return 0;
	errno = 0;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return cfg_error(cfg, "%s: \"%s\" is not a number of milliseconds", var, s);
	v = strtoull(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (errno || *end || v > UINT_MAX)
		return cfg_error(cfg, "%s: \"%s\" is not a number of milliseconds", var, s);
	if (!v && !zero_ok)
		return cfg_error(cfg, "%s: must be greater than 0", var);
	*out = (unsigned int)v;
	return 0;
}

static int parse_count(struct otlp_config *cfg, const char *var, unsigned int *out)
{
	const char *s = env(var);
	char *end;
	unsigned long long v;

	if (!s)
		return 0;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return cfg_error(cfg, "%s: \"%s\" is not a positive integer", var, s);
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > INT_MAX)
		return cfg_error(cfg, "%s: \"%s\" is not a positive integer", var, s);
	*out = (unsigned int)v;
	return 0;
}

/* Checks scheme and host; *has_path tells whether anything but "/" follows the host. */
static int check_url(struct otlp_config *cfg, const char *what, const char *url, bool *has_path)
{
	const char *host, *path;

	if (!strncasecmp(url, "http://", 7))
		host = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		host = url + 8;
	else
		return cfg_error(cfg, "%s: \"%s\" is not an http:// or https:// URL", what, url);
	path = host + strcspn(host, "/?#");
	if (path == host)
		return cfg_error(cfg, "%s: \"%s\" has no host", what, url);
	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p <= 0x20)
			return cfg_error(cfg, "%s: \"%s\" holds a space or control character", what,
					 url);
	}
	*has_path = *path && strcmp(path, "/") != 0;
	return 0;
}

/* base + "/v1/traces" without doubling the slash (OTLP exporter specification). */
static char *append_traces_path(const char *base)
{
	size_t len = strlen(base);
	char *out;

	while (len && base[len - 1] == '/')
		len--;
	if (asprintf(&out, "%.*s%s", (int)len, base, OTLP_TRACES_PATH) < 0)
		return NULL;
	return out;
}

int otlp_config__init(struct otlp_config *cfg)
{
	char host[256];

	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ms = OTLP_DEFAULT_TIMEOUT_MS;
	cfg->batch_spans = OTLP_DEFAULT_BATCH_SPANS;
	cfg->batch_delay_ms = OTLP_DEFAULT_BATCH_DELAY_MS;
	cfg->queue_spans = OTLP_DEFAULT_QUEUE_SPANS;
	cfg->close_timeout_ms = OTLP_DEFAULT_CLOSE_TIMEOUT_MS;
	cfg->max_retries = OTLP_DEFAULT_MAX_RETRIES;
	cfg->retry_initial_ms = OTLP_DEFAULT_RETRY_INITIAL_MS;
	cfg->retry_max_ms = OTLP_DEFAULT_RETRY_MAX_MS;
	cfg->retry_max_elapsed_ms = OTLP_DEFAULT_RETRY_MAX_ELAPSED_MS;
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		cfg->host_name = strdup(host);
		if (!cfg->host_name)
			return -ENOMEM;
	}
	return 0;
}

int otlp_config__from_env(struct otlp_config *cfg, const char *cli_endpoint)
{
	const char *v, *proto, *traces_ep, *base_ep;
	bool has_path;
	int err;

	err = otlp_config__init(cfg);
	if (err)
		goto fail;

	/* endpoint: --otlp, then the signal-specific variable, then the base one */
	traces_ep = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	base_ep = env("OTEL_EXPORTER_OTLP_ENDPOINT");
	if (cli_endpoint) {
		err = check_url(cfg, "--otlp", cli_endpoint, &has_path);
		if (err)
			goto fail;
		cfg->endpoint = has_path ? strdup(cli_endpoint) : append_traces_path(cli_endpoint);
	} else if (traces_ep) {
		err = check_url(cfg, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces_ep, &has_path);
		if (err)
			goto fail;
		cfg->endpoint = strdup(traces_ep);
	} else if (base_ep) {
		err = check_url(cfg, "OTEL_EXPORTER_OTLP_ENDPOINT", base_ep, &has_path);
		if (err)
			goto fail;
		cfg->endpoint = append_traces_path(base_ep);
	}
	if ((cli_endpoint || traces_ep || base_ep) && !cfg->endpoint) {
		err = -ENOMEM;
		goto fail;
	}

	proto = env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
							  : "OTEL_EXPORTER_OTLP_PROTOCOL";
	v = env(proto);
	if (cfg->endpoint && v && strcmp(v, "http/protobuf") != 0) {
		err = cfg_error(cfg, "%s: \"%s\" is not supported (ttatrace speaks http/protobuf)",
				proto, v);
		goto fail;
	}

	v = env("OTEL_EXPORTER_OTLP_TRACES_HEADERS") ? "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
						     : "OTEL_EXPORTER_OTLP_HEADERS";
	if (env(v)) {
		err = parse_kv_list(cfg, v, env(v), true, &cfg->headers, &cfg->n_headers);
		if (err)
			goto fail;
	}

	v = env("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION") ? "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"
							 : "OTEL_EXPORTER_OTLP_COMPRESSION";
	if (env(v)) {
		if (!strcmp(env(v), "gzip")) {
			cfg->gzip = true;
		} else if (strcmp(env(v), "none") != 0) {
			err = cfg_error(cfg, "%s: \"%s\" is not supported (use gzip or none)", v, env(v));
			goto fail;
		}
	}

	err = parse_ms(cfg,
		       env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") ? "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
								: "OTEL_EXPORTER_OTLP_TIMEOUT",
		       &cfg->timeout_ms, false);
	if (!err)
		err = parse_ms(cfg, "OTEL_BSP_SCHEDULE_DELAY", &cfg->batch_delay_ms, true);
	if (!err)
		err = parse_ms(cfg, "OTEL_BSP_EXPORT_TIMEOUT", &cfg->close_timeout_ms, true);
	if (!err)
		err = parse_count(cfg, "OTEL_BSP_MAX_QUEUE_SIZE", &cfg->queue_spans);
	if (!err)
		err = parse_count(cfg, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &cfg->batch_spans);
	if (err)
		goto fail;
	if (cfg->batch_spans > cfg->queue_spans) {
		err = cfg_error(cfg,
				"OTEL_BSP_MAX_EXPORT_BATCH_SIZE (%u) is larger than "
				"OTEL_BSP_MAX_QUEUE_SIZE (%u)",
				cfg->batch_spans, cfg->queue_spans);
		goto fail;
	}

	if (env("OTEL_RESOURCE_ATTRIBUTES")) {
		err = parse_kv_list(cfg, "OTEL_RESOURCE_ATTRIBUTES", env("OTEL_RESOURCE_ATTRIBUTES"),
				    false, &cfg->resource_attrs, &cfg->n_resource_attrs);
		if (err)
			goto fail;
	}
	/* OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES; the
	 * attribute list keeps no service.name of its own so the resource has one. */
	for (size_t i = 0; i < cfg->n_resource_attrs; i++) {
		struct otlp_kv *kv = &cfg->resource_attrs[i];

		if (strcmp(kv->key, "service.name") != 0)
			continue;
		if (!cfg->service_name) {
			cfg->service_name = kv->value;
			kv->value = NULL;
		}
		free(kv->key);
		free(kv->value);
		memmove(kv, kv + 1, (cfg->n_resource_attrs - i - 1) * sizeof(*kv));
		cfg->n_resource_attrs--;
		i--;
	}
	if (env("OTEL_SERVICE_NAME")) {
		free(cfg->service_name);
		cfg->service_name = strdup(env("OTEL_SERVICE_NAME"));
		if (!cfg->service_name) {
			err = -ENOMEM;
			goto fail;
		}
	}
	return 0;
fail:
	if (err == -ENOMEM && !cfg->err[0])
		snprintf(cfg->err, sizeof(cfg->err), "out of memory");
	{
		char msg[sizeof(cfg->err)];

		memcpy(msg, cfg->err, sizeof(msg));
		otlp_config__cleanup(cfg);
		memcpy(cfg->err, msg, sizeof(msg));
	}
	return err;
}

static int copy_kvs(struct otlp_kv **dst, const struct otlp_kv *src, size_t n)
{
	*dst = NULL;
	if (!n)
		return 0;
	*dst = calloc(n, sizeof(**dst));
	if (!*dst)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		(*dst)[i].key = strdup(src[i].key);
		(*dst)[i].value = strdup(src[i].value);
		if (!(*dst)[i].key || !(*dst)[i].value)
			return -ENOMEM;
	}
	return 0;
}

static int dup_or_null(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

int otlp_config__copy(struct otlp_config *dst, const struct otlp_config *src)
{
	int err;

	*dst = *src;
	dst->endpoint = dst->service_name = dst->host_name = NULL;
	dst->headers = dst->resource_attrs = NULL;
	err = dup_or_null(&dst->endpoint, src->endpoint);
	err = err ?: dup_or_null(&dst->service_name, src->service_name);
	err = err ?: dup_or_null(&dst->host_name, src->host_name);
	err = err ?: copy_kvs(&dst->headers, src->headers, src->n_headers);
	err = err ?: copy_kvs(&dst->resource_attrs, src->resource_attrs, src->n_resource_attrs);
	if (err)
		otlp_config__cleanup(dst);
	return err;
}

void otlp_config__cleanup(struct otlp_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->endpoint);
	free_kvs(cfg->headers, cfg->n_headers);
	free(cfg->service_name);
	free_kvs(cfg->resource_attrs, cfg->n_resource_attrs);
	free(cfg->host_name);
	memset(cfg, 0, sizeof(*cfg));
}

/* --- tt_trace -> OTLP spans -------------------------------------------------------- */

struct otlp_spans {
	struct arena_chunk *arena;
	/* identity of the traced process: the resource */
	bool has_proc;
	uint32_t pid;
	char *exe_path, *exe_name, *cmdline;
	char *service_name, *instance_id, *container_id, *pod_uid, *node_name; /* agent mode */
	size_t n;
	otlp_pb_span **spans;
};

static void put_be64(uint8_t *out, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = v & 0xff;
		v >>= 8;
	}
}

static otlp_pb_kv *new_kv(struct arena_chunk **a, const char *key)
{
	otlp_pb_kv *kv = arena_alloc(a, sizeof(*kv));
	otlp_pb_value *v = arena_alloc(a, sizeof(*v));

	if (!kv || !v)
		return NULL;
	opentelemetry__proto__common__v1__key_value__init(kv);
	opentelemetry__proto__common__v1__any_value__init(v);
	kv->key = arena_utf8(a, key);
	kv->value = v;
	return kv->key ? kv : NULL;
}

static otlp_pb_kv *kv_str(struct arena_chunk **a, const char *key, const char *val)
{
	otlp_pb_kv *kv = new_kv(a, key);

	if (!kv)
		return NULL;
	kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	kv->value->string_value = arena_utf8(a, val);
	return kv->value->string_value ? kv : NULL;
}

static otlp_pb_kv *kv_int(struct arena_chunk **a, const char *key, int64_t val)
{
	otlp_pb_kv *kv = new_kv(a, key);

	if (!kv)
		return NULL;
	kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
	kv->value->int_value = val;
	return kv;
}

static otlp_pb_kv *kv_attr(struct arena_chunk **a, const struct tt_attr *at)
{
	otlp_pb_kv *kv;

	switch (at->type) {
	case TT_ATTR_STR:
		return kv_str(a, at->key, at->s);
	case TT_ATTR_INT:
		return kv_int(a, at->key, at->i);
	case TT_ATTR_BOOL:
		kv = new_kv(a, at->key);
		if (kv) {
			kv->value->value_case =
				OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
			kv->value->bool_value = at->b;
		}
		return kv;
	case TT_ATTR_DOUBLE:
		kv = new_kv(a, at->key);
		if (kv) {
			kv->value->value_case =
				OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
			kv->value->double_value = at->d;
		}
		return kv;
	}
	return NULL; /* convert_span() refuses unknown types first */
}

/* The function a probe is on: "binary:symbol" -> "symbol". */
static const char *probe_symbol(const char *probe)
{
	const char *c = probe ? strrchr(probe, ':') : NULL;

	return c && c[1] ? c + 1 : NULL;
}

static int convert_span(struct otlp_spans *out, const uint8_t *trace_id, const struct tt_span *s,
			otlp_pb_span *ps)
{
	struct arena_chunk **a = &out->arena;
	size_t max_attrs = 5 + s->n_attrs, n = 0;
	otlp_pb_status *st;
	uint8_t *ids;

	opentelemetry__proto__trace__v1__span__init(ps);
	ids = arena_alloc(a, 16);
	st = arena_alloc(a, sizeof(*st));
	ps->attributes = arena_alloc(a, max_attrs * sizeof(*ps->attributes));
	if (!ids || !st || !ps->attributes)
		return -ENOMEM;
	ps->trace_id.data = (uint8_t *)trace_id;
	ps->trace_id.len = 16;
	put_be64(ids, s->span_id);
	ps->span_id.data = ids;
	ps->span_id.len = 8;
	if (s->parent_span_id) {
		put_be64(ids + 8, s->parent_span_id);
		ps->parent_span_id.data = ids + 8;
		ps->parent_span_id.len = 8;
	}
	ps->name = arena_utf8(a, s->name);
	if (!ps->name)
		return -ENOMEM;
	ps->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;
	ps->start_time_unix_nano = s->start_ns;
	ps->end_time_unix_nano = s->end_ns;

	if (s->probe)
		ps->attributes[n++] = kv_str(a, "tta.probe", s->probe);
	if (probe_symbol(s->probe))
		ps->attributes[n++] = kv_str(a, "code.function", probe_symbol(s->probe));
	/* the primitives annotation sets it when a catalogue is in use */
	if (s->kind && !tt_span__attr(s, "tta.primitive.kind"))
		ps->attributes[n++] = kv_str(a, "tta.primitive.kind", s->kind);
	ps->attributes[n++] = kv_int(a, "thread.id", s->tid);
	ps->attributes[n++] = kv_int(a, "tta.return_value", s->ret);
	for (size_t i = 0; i < s->n_attrs; i++) {
		if ((unsigned int)s->attrs[i].type > TT_ATTR_DOUBLE)
			return -EINVAL;
		ps->attributes[n++] = kv_attr(a, &s->attrs[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (!ps->attributes[i])
			return -ENOMEM;
	}
	ps->n_attributes = n;

	if (s->n_links) {
		ps->links = arena_alloc(a, s->n_links * sizeof(*ps->links));
		if (!ps->links)
			return -ENOMEM;
		for (size_t i = 0; i < s->n_links; i++) {
			otlp_pb_link *l = arena_alloc(a, sizeof(*l));
			uint8_t *lid = arena_alloc(a, 24);

			if (!l || !lid)
				return -ENOMEM;
			opentelemetry__proto__trace__v1__span__link__init(l);
			memcpy(lid, s->links[i].trace_id, 16);
			put_be64(lid + 16, s->links[i].span_id);
			l->trace_id.data = lid;
			l->trace_id.len = 16;
			l->span_id.data = lid + 16;
			l->span_id.len = 8;
			ps->links[i] = l;
		}
		ps->n_links = s->n_links;
	}

	opentelemetry__proto__trace__v1__status__init(st);
	switch (s->status) {
	case TT_STATUS_OK:
		st->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK;
		break;
	case TT_STATUS_ERROR:
		st->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
		/* the specification allows a description only with an error */
		if (s->status_msg) {
			st->message = arena_utf8(a, s->status_msg);
			if (!st->message)
				return -ENOMEM;
		}
		break;
	default:
		break;
	}
	ps->status = st;
	return 0;
}

struct otlp_spans *otlp_spans__new(const struct tt_trace *t)
{
	struct otlp_spans *out = calloc(1, sizeof(*out));
	otlp_pb_span *ps;
	uint8_t *trace_id;
	int err = -ENOMEM;

	if (!out)
		return NULL;
	trace_id = arena_alloc(&out->arena, 16);
	out->spans = arena_alloc(&out->arena, (t->n_spans ? t->n_spans : 1) * sizeof(*out->spans));
	ps = arena_alloc(&out->arena, (t->n_spans ? t->n_spans : 1) * sizeof(*ps));
	if (!trace_id || !out->spans || !ps)
		goto fail;
	memcpy(trace_id, t->trace_id, 16);
	if (t->proc) {
		out->has_proc = true;
		out->pid = t->proc->pid;
		out->exe_path = t->proc->exe_path ? arena_utf8(&out->arena, t->proc->exe_path) : NULL;
		out->exe_name = t->proc->exe_name ? arena_utf8(&out->arena, t->proc->exe_name) : NULL;
		out->cmdline = t->proc->cmdline ? arena_utf8(&out->arena, t->proc->cmdline) : NULL;
		if ((t->proc->exe_path && !out->exe_path) || (t->proc->exe_name && !out->exe_name) ||
		    (t->proc->cmdline && !out->cmdline))
			goto fail;
		if (copy_opt(&out->arena, t->proc->service_name, &out->service_name) ||
		    copy_opt(&out->arena, t->proc->service_instance_id, &out->instance_id) ||
		    copy_opt(&out->arena, t->proc->container_id, &out->container_id) ||
		    copy_opt(&out->arena, t->proc->pod_uid, &out->pod_uid) ||
		    copy_opt(&out->arena, t->proc->node_name, &out->node_name))
			goto fail;
	}
	for (size_t i = 0; i < t->n_spans; i++) {
		err = convert_span(out, trace_id, t->spans[i], &ps[i]);
		if (err)
			goto fail;
		out->spans[i] = &ps[i];
	}
	out->n = t->n_spans;
	return out;
fail:
	otlp_spans__free(out);
	errno = -err;
	return NULL;
}

size_t otlp_spans__count(const struct otlp_spans *s)
{
	return s ? s->n : 0;
}

void otlp_spans__free(struct otlp_spans *s)
{
	if (!s)
		return;
	arena_free(s->arena);
	free(s);
}

/* --- request ------------------------------------------------------------------------ */

struct otlp_request {
	struct arena_chunk *arena;
	otlp_pb_request msg;
	size_t n_spans;
};

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_process(const struct otlp_spans *a, const struct otlp_spans *b)
{
	return a->has_proc == b->has_proc && a->pid == b->pid && str_eq(a->exe_path, b->exe_path) &&
	       str_eq(a->exe_name, b->exe_name) && str_eq(a->cmdline, b->cmdline) &&
	       str_eq(a->service_name, b->service_name) && str_eq(a->instance_id, b->instance_id) &&
	       str_eq(a->container_id, b->container_id) && str_eq(a->pod_uid, b->pod_uid) &&
	       str_eq(a->node_name, b->node_name);
}

static otlp_pb_kv *find_kv(otlp_pb_kv **kvs, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(kvs[i]->key, key))
			return kvs[i];
	}
	return NULL;
}

/* service.name, host.name, process.* (semantic conventions), then
 * OTEL_RESOURCE_ATTRIBUTES, which replace a detected value of the same key. */
static otlp_pb_resource *build_resource(struct arena_chunk **a, const struct otlp_config *cfg,
					const struct otlp_spans *p)
{
	otlp_pb_resource *r = arena_alloc(a, sizeof(*r));
	size_t max = 11 + cfg->n_resource_attrs, n = 0;
	otlp_pb_kv **kv = arena_alloc(a, max * sizeof(*kv));
	char *svc = NULL;

	if (!r || !kv)
		return NULL;
	opentelemetry__proto__resource__v1__resource__init(r);
	if (p->service_name) {
		kv[n++] = kv_str(a, "service.name", p->service_name);
	} else if (cfg->service_name) {
		kv[n++] = kv_str(a, "service.name", cfg->service_name);
	} else {
		/* the specification's default: "unknown_service:" + process.executable.name */
		const char *exe = p->exe_name && *p->exe_name ? p->exe_name : NULL;
		size_t len = sizeof("unknown_service:") + (exe ? strlen(exe) : 0);

		svc = arena_alloc(a, len);
		if (!svc)
			return NULL;
		snprintf(svc, len, exe ? "unknown_service:%s" : "unknown_service", exe);
		kv[n++] = kv_str(a, "service.name", svc);
	}
	if (cfg->host_name)
		kv[n++] = kv_str(a, "host.name", cfg->host_name);
	if (p->has_proc) {
		kv[n++] = kv_int(a, "process.pid", p->pid);
		if (p->exe_name)
			kv[n++] = kv_str(a, "process.executable.name", p->exe_name);
		if (p->exe_path)
			kv[n++] = kv_str(a, "process.executable.path", p->exe_path);
		if (p->cmdline)
			kv[n++] = kv_str(a, "process.command_line", p->cmdline);
		if (p->instance_id)
			kv[n++] = kv_str(a, "service.instance.id", p->instance_id);
		if (p->container_id)
			kv[n++] = kv_str(a, "container.id", p->container_id);
		if (p->pod_uid)
			kv[n++] = kv_str(a, "k8s.pod.uid", p->pod_uid);
		if (p->node_name)
			kv[n++] = kv_str(a, "k8s.node.name", p->node_name);
	}
	for (size_t i = 0; i < n; i++) {
		if (!kv[i])
			return NULL;
	}
	for (size_t i = 0; i < cfg->n_resource_attrs; i++) {
		const struct otlp_kv *e = &cfg->resource_attrs[i];
		otlp_pb_kv *old = find_kv(kv, n, e->key);

		if (old) {
			old->value->value_case =
				OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			old->value->string_value = arena_utf8(a, e->value);
			if (!old->value->string_value)
				return NULL;
		} else {
			kv[n] = kv_str(a, e->key, e->value);
			if (!kv[n++])
				return NULL;
		}
	}
	r->attributes = kv;
	r->n_attributes = n;
	return r;
}

struct otlp_request *otlp_request__new(const struct otlp_config *cfg,
				       const struct otlp_slice *slices, size_t n_slices)
{
	struct otlp_request *r = calloc(1, sizeof(*r));
	struct arena_chunk **a;
	otlp_pb_resource_spans **rs;
	size_t *group = NULL, n_groups = 0;

	if (!r)
		return NULL;
	a = &r->arena;
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&r->msg);
	if (!n_slices)
		return r;
	group = calloc(n_slices, sizeof(*group));
	rs = arena_alloc(a, n_slices * sizeof(*rs));
	if (!group || !rs)
		goto fail;

	/* group slices by process, keeping first-seen order */
	for (size_t i = 0; i < n_slices; i++) {
		size_t g;

		for (g = 0; g < n_groups; g++) {
			size_t first = 0;

			while (group[first] != g)
				first++;
			if (same_process(slices[first].spans, slices[i].spans))
				break;
		}
		group[i] = g;
		if (g == n_groups)
			n_groups++;
	}

	for (size_t g = 0; g < n_groups; g++) {
		otlp_pb_resource_spans *res = arena_alloc(a, sizeof(*res));
		otlp_pb_scope_spans *ss = arena_alloc(a, sizeof(*ss));
		otlp_pb_scope_spans **ssp = arena_alloc(a, sizeof(*ssp));
		otlp_pb_scope *scope = arena_alloc(a, sizeof(*scope));
		size_t count = 0, first = SIZE_MAX;

		if (!res || !ss || !ssp || !scope)
			goto fail;
		for (size_t i = 0; i < n_slices; i++) {
			if (group[i] != g)
				continue;
			if (first == SIZE_MAX)
				first = i;
			count += slices[i].n;
		}
		opentelemetry__proto__trace__v1__resource_spans__init(res);
		opentelemetry__proto__trace__v1__scope_spans__init(ss);
		opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
		scope->name = OTLP_SCOPE_NAME;
		scope->version = TTATRACE_VERSION;
		ss->scope = scope;
		ss->spans = arena_alloc(a, (count ? count : 1) * sizeof(*ss->spans));
		res->resource = build_resource(a, cfg, slices[first].spans);
		if (!ss->spans || !res->resource)
			goto fail;
		for (size_t i = 0; i < n_slices; i++) {
			if (group[i] != g)
				continue;
			for (size_t k = 0; k < slices[i].n; k++)
				ss->spans[ss->n_spans++] = slices[i].spans->spans[slices[i].off + k];
		}
		ssp[0] = ss;
		res->scope_spans = ssp;
		res->n_scope_spans = 1;
		rs[g] = res;
		r->n_spans += count;
	}
	r->msg.resource_spans = rs;
	r->msg.n_resource_spans = n_groups;
	free(group);
	return r;
fail:
	free(group);
	otlp_request__free(r);
	errno = ENOMEM;
	return NULL;
}

const otlp_pb_request *otlp_request__msg(const struct otlp_request *r)
{
	return &r->msg;
}

size_t otlp_request__span_count(const struct otlp_request *r)
{
	return r->n_spans;
}

int otlp_request__pack(const struct otlp_request *r, uint8_t **buf, size_t *len)
{
	size_t n = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
		&r->msg);

	*buf = malloc(n ? n : 1);
	if (!*buf)
		return -ENOMEM;
	*len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&r->msg,
											      *buf);
	return 0;
}

void otlp_request__free(struct otlp_request *r)
{
	if (!r)
		return;
	arena_free(r->arena);
	free(r);
}
