/* OTLP/HTTP protobuf trace exporter. trace() converts and queues, never touching the
 * network; one exporter thread batches by size and time, gzips, POSTs with libcurl and
 * retries transient failures with full-jitter backoff, honouring Retry-After. Every span
 * ends up counted as exported or as dropped for one stated reason. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <zlib.h>

#include "otlp_http.h"
#include "exit_deadline.h"

#define MAX_RESPONSE_BYTES (64u << 10)
#define PROBE_MAX_MS 3000u
#define MAX_RETRY_AFTER_S 86400ull

struct qitem {
	struct qitem *next;
	struct otlp_spans *spans;
	size_t off; /* spans already taken into a batch */
};

/* what one POST came to */
struct attempt {
	bool ok; /* 2xx */
	bool aborted; /* close()'s deadline passed mid-request */
	bool retryable;
	long status; /* 0 for a transport error */
	int64_t retry_after_ms; /* -1: no usable Retry-After */
	char msg[256];
};

struct http_sink {
	struct tt_sink sink;
	struct otlp_config cfg;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	struct qitem *head, *tail;
	size_t queued; /* spans in the queue not yet taken into a batch */
	uint64_t batch_start_ns; /* since when the oldest waiting span waits */
	bool stopping; /* read without the lock by the curl progress callback */
	uint64_t close_deadline_ns;
	bool stopped;
	struct otlp_stats st;
	bool reported_rejected, reported_failed, reported_partial;

	/* exporter thread only */
	pthread_t thread;
	bool thread_started;
	CURL *curl;
	struct curl_slist *hdrs;
	char curl_err[CURL_ERROR_SIZE];
	struct otlp_http_response resp;
	struct otlp_slice *slices;
	uint64_t rng;
};

/* Longest wait without a look at the exit deadline. */
#define WAIT_SLICE_NS 100000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* close()'s deadline, or the process's exit deadline when that comes first (a
 * second Ctrl-C moves it to now). */
static uint64_t close_deadline(struct http_sink *hs)
{
	uint64_t own = __atomic_load_n(&hs->close_deadline_ns, __ATOMIC_ACQUIRE);
	uint64_t all = exit_deadline__ns();

	return all < own ? all : own;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };
}

/* xorshift64*: jitter needs spread, not secrecy */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_global_init is not thread-safe before curl 7.84; do it once, before any thread */
static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- small pure helpers (unit tested) ------------------------------------------------ */

uint64_t otlp_http__backoff_ms(unsigned int attempt, unsigned int initial_ms, unsigned int max_ms,
			       uint64_t rnd)
{
	uint64_t cap = initial_ms;

	for (unsigned int i = 0; i < attempt && cap < max_ms; i++)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	return rnd % (cap + 1);
}

bool otlp_http__status_retryable(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

int otlp_http__parse_retry_after(const char *value, time_t now, uint64_t *delay_ms)
{
	static const char *const date_fmts[] = {
		"%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
		"%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
		"%a %b %e %H:%M:%S %Y", /* asctime */
	};
	char buf[128];
	size_t len;
	locale_t c_loc;
	int err = -EINVAL;

	if (!value)
		return -EINVAL;
	while (isspace((unsigned char)*value))
		value++;
	len = strlen(value);
	while (len && isspace((unsigned char)value[len - 1]))
		len--;
	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, value, len);
	buf[len] = '\0';

	if (strspn(buf, "0123456789") == len) {
		unsigned long long s;

		errno = 0;
		s = strtoull(buf, NULL, 10);
		if (errno || s > MAX_RETRY_AFTER_S)
			s = MAX_RETRY_AFTER_S;
		*delay_ms = s * 1000;
		return 0;
	}
	/* day and month names are English whatever the process locale */
	c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (!c_loc)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(date_fmts) / sizeof(date_fmts[0]); i++) {
		struct tm tm;
		const char *end;
		time_t t;

		memset(&tm, 0, sizeof(tm));
		end = strptime_l(buf, date_fmts[i], &tm, c_loc);
		if (!end || *end)
			continue;
		t = timegm(&tm);
		if (t == (time_t)-1)
			continue;
		*delay_ms = t > now ? (uint64_t)(t - now) * 1000 : 0;
		if (*delay_ms > MAX_RETRY_AFTER_S * 1000)
			*delay_ms = MAX_RETRY_AFTER_S * 1000;
		err = 0;
		break;
	}
	freelocale(c_loc);
	return err;
}

/* copies text, control characters as spaces and broken UTF-8 as '?', whitespace runs
 * squeezed, cut at a character boundary */
static void printable(const uint8_t *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0, i = 0;
	bool space = true; /* drops leading whitespace */

	if (!outlen)
		return;
	while (i < len && o + 1 < outlen) {
		size_t k = otlp__utf8_seq_len(s + i, len - i);

		if (k > 1) {
			if (o + k >= outlen)
				break;
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
			space = false;
			continue;
		}
		if (k == 1 && (isspace(s[i]) || s[i] < 0x20 || s[i] == 0x7f)) {
			if (!space)
				out[o++] = ' ';
			space = true;
		} else {
			out[o++] = k ? (char)s[i] : '?';
			space = false;
		}
		i++;
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

void otlp_http__error_message(const char *content_type, const uint8_t *body, size_t len,
			      char *msg, size_t msglen)
{
	if (!msglen)
		return;
	msg[0] = '\0';
	if (content_type && len &&
	    (!strncasecmp(content_type, "application/x-protobuf", 22) ||
	     !strncasecmp(content_type, "application/protobuf", 20))) {
		Google__Rpc__Status *st = google__rpc__status__unpack(NULL, len, body);

		if (st) {
			if (st->message && *st->message)
				printable((const uint8_t *)st->message, strlen(st->message), msg,
					  msglen);
			else
				snprintf(msg, msglen, "google.rpc.Status code %d", st->code);
			google__rpc__status__free_unpacked(st, NULL);
			if (msg[0])
				return;
		}
	}
	if (len)
		printable(body, len, msg, msglen);
	if (!msg[0])
		snprintf(msg, msglen, "(no message)");
}

int otlp_http__gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream zs;
	uLong bound;
	int rc;

	if (len > UINT32_MAX)
		return -E2BIG;
	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 16: a gzip wrapper, not zlib's */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	bound = deflateBound(&zs, len);
	*out = malloc(bound);
	if (!*out) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = *out;
	zs.avail_out = (uInt)bound;
	rc = deflate(&zs, Z_FINISH);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return -EIO;
	}
	return 0;
}

/* --- curl -------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct otlp_http_response *r = ctx;
	size_t n = size * nmemb, keep = n;
	uint8_t *p;

	if (r->len + keep > MAX_RESPONSE_BYTES)
		keep = MAX_RESPONSE_BYTES - r->len;
	if (!keep)
		return n;
	p = realloc(r->body, r->len + keep);
	if (!p)
		return n; /* the message is a nicety; the status code still counts */
	memcpy(p + r->len, data, keep);
	r->body = p;
	r->len += keep;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct otlp_http_response *r = ctx;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";

	/* a new status line (after 100 Continue, or a redirect) starts a new header set */
	if (n >= 5 && !strncmp(data, "HTTP/", 5))
		r->has_retry_after = false;
	if (n > sizeof(name) - 1 && !strncasecmp(data, name, sizeof(name) - 1)) {
		size_t vlen = n - (sizeof(name) - 1);

		if (vlen >= sizeof(r->retry_after))
			vlen = sizeof(r->retry_after) - 1;
		memcpy(r->retry_after, data + sizeof(name) - 1, vlen);
		r->retry_after[vlen] = '\0';
		r->has_retry_after = true;
	}
	return n;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct http_sink *hs = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	/* non-zero aborts the transfer: close() is out of time */
	return __atomic_load_n(&hs->stopping, __ATOMIC_ACQUIRE) &&
	       now_ns() >= close_deadline(hs);
}

static int add_header(struct curl_slist **list, const char *fmt, const char *a, const char *b)
{
	char *h;
	struct curl_slist *l;

	if (asprintf(&h, fmt, a, b) < 0)
		return -ENOMEM;
	l = curl_slist_append(*list, h);
	free(h);
	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

/* http and https only, whatever the URL says (file://, gopher:// ... are not exporters) */
static void restrict_protocols(CURL *c)
{
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 added the _STR form and deprecated the other */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

void otlp_http_response__reset(struct otlp_http_response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

CURL *otlp_http__easy(const struct otlp_config *cfg, const char *url,
		      struct otlp_http_response *resp, struct curl_slist **hdrs, char *errbuf)
{
	CURL *c = curl_easy_init();
	int err;

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	err = add_header(hdrs, "%s%s", "Content-Type: application/x-protobuf", "");
	/* curl waits up to 1 s for "100 Continue" on large bodies unless told not to */
	err = err ?: add_header(hdrs, "%s%s", "Expect:", "");
	if (cfg->gzip)
		err = err ?: add_header(hdrs, "%s%s", "Content-Encoding: gzip", "");
	for (size_t i = 0; i < cfg->n_headers && !err; i++)
		err = add_header(hdrs, "%s: %s", cfg->headers[i].key, cfg->headers[i].value);
	if (!err && curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK)
		err = -EINVAL;
	if (err) {
		curl_easy_cleanup(c);
		errno = -err;
		return NULL;
	}
	restrict_protocols(c);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* signals are no timeout tool in a threaded tool */
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ttatrace/" TTATRACE_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->timeout_ms);
	return c;
}

static int setup_curl(struct http_sink *hs)
{
	hs->curl = otlp_http__easy(&hs->cfg, hs->cfg.endpoint, &hs->resp, &hs->hdrs, hs->curl_err);
	if (!hs->curl)
		return -errno;
	/* close() may cut a transfer short when its deadline passes */
	curl_easy_setopt(hs->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(hs->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(hs->curl, CURLOPT_XFERINFODATA, hs);
	return 0;
}

/* Transport errors that another try will not fix. */
static bool curl_code_permanent(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_OUT_OF_MEMORY:
		return true;
	default:
		return false;
	}
}

static void post_once(struct http_sink *hs, const uint8_t *body, size_t len, struct attempt *a)
{
	CURL *c = hs->curl;
	long timeout_ms = hs->cfg.timeout_ms;
	char *ctype = NULL;
	CURLcode rc;

	memset(a, 0, sizeof(*a));
	a->retry_after_ms = -1;
	otlp_http_response__reset(&hs->resp);
	hs->curl_err[0] = '\0';

	if (__atomic_load_n(&hs->stopping, __ATOMIC_ACQUIRE)) {
		uint64_t now = now_ns(), dl = close_deadline(hs);
		long left = dl > now ? (long)((dl - now) / 1000000) + 1 : 1;

		if (left < timeout_ms)
			timeout_ms = left;
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(c);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		a->aborted = true;
		snprintf(a->msg, sizeof(a->msg), "request cut short at exit");
		return;
	}
	if (rc != CURLE_OK) {
		a->retryable = !curl_code_permanent(rc);
		snprintf(a->msg, sizeof(a->msg), "%s",
			 hs->curl_err[0] ? hs->curl_err : curl_easy_strerror(rc));
		return;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
	if (a->status >= 200 && a->status < 300) {
		a->ok = true;
		return;
	}
	a->retryable = otlp_http__status_retryable(a->status);
	if (hs->resp.has_retry_after) {
		uint64_t ms;

		if (!otlp_http__parse_retry_after(hs->resp.retry_after, time(NULL), &ms))
			a->retry_after_ms = (int64_t)ms;
	}
	otlp_http__error_message(ctype, hs->resp.body, hs->resp.len, a->msg, sizeof(a->msg));
}

uint64_t otlp_http__partial_rejections(const char *ctype, const void *body, size_t len,
				       uint64_t n, char *msg, size_t msglen)
{
	otlp_pb_response *resp;
	uint64_t rejected = 0;

	msg[0] = '\0';
	if (!len || !ctype || strncasecmp(ctype, "application/x-protobuf", 22))
		return 0;
	resp = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
		NULL, len, body);
	if (!resp)
		return 0;
	if (resp->partial_success) {
		int64_t r = resp->partial_success->rejected_spans;

		rejected = r > 0 ? ((uint64_t)r > n ? n : (uint64_t)r) : 0;
		if (resp->partial_success->error_message)
			printable((const uint8_t *)resp->partial_success->error_message,
				  strlen(resp->partial_success->error_message), msg, msglen);
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
		resp, NULL);
	return rejected;
}

/* A 2xx may still carry a partial success: how many spans the server refused. */
static uint64_t partial_rejections(struct http_sink *hs, uint64_t n, char *msg, size_t msglen)
{
	char *ctype = NULL;

	curl_easy_getinfo(hs->curl, CURLINFO_CONTENT_TYPE, &ctype);
	return otlp_http__partial_rejections(ctype, hs->resp.body, hs->resp.len, n, msg, msglen);
}

/* Sleeps until delay_ms from now, false if close()'s deadline comes first. */
static bool wait_retry(struct http_sink *hs, uint64_t delay_ms)
{
	uint64_t until = now_ns() + delay_ms * 1000000ull;
	bool ok = true;

	pthread_mutex_lock(&hs->lock);
	for (;;) {
		struct timespec ts;

		if (hs->stopping && until > close_deadline(hs)) {
			ok = false;
			break;
		}
		if (now_ns() >= until)
			break;
		/* in slices: a second Ctrl-C moves the deadline without a wakeup */
		ts = ns_to_ts(until < now_ns() + WAIT_SLICE_NS ? until : now_ns() + WAIT_SLICE_NS);
		pthread_cond_timedwait(&hs->cond, &hs->lock, &ts);
	}
	pthread_mutex_unlock(&hs->lock);
	return ok;
}

static void count(struct http_sink *hs, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&hs->lock);
	*counter += n;
	pthread_mutex_unlock(&hs->lock);
}

/* Reports the first problem of a kind on stderr; later ones only with verbose. */
static bool first_report(struct http_sink *hs, bool *reported)
{
	bool first;

	pthread_mutex_lock(&hs->lock);
	first = !*reported;
	*reported = true;
	pthread_mutex_unlock(&hs->lock);
	return first || hs->cfg.verbose;
}

static void export_batch(struct http_sink *hs, size_t n_slices, uint64_t n)
{
	struct otlp_request *req = otlp_request__new(&hs->cfg, hs->slices, n_slices);
	uint8_t *raw = NULL, *gz = NULL, *body;
	size_t raw_len = 0, len;
	uint64_t start = now_ns();
	struct attempt a;
	int err;

	err = req ? otlp_request__pack(req, &raw, &raw_len) : -ENOMEM;
	otlp_request__free(req);
	body = raw;
	len = raw_len;
	if (!err && hs->cfg.gzip) {
		err = otlp_http__gzip(raw, raw_len, &gz, &len);
		body = gz;
	}
	if (err) {
		if (first_report(hs, &hs->reported_failed))
			fprintf(stderr, "ttatrace: otlp: dropped %" PRIu64 " spans: cannot encode: %s\n",
				n, strerror(-err));
		count(hs, &hs->st.spans_dropped_retries, n);
		goto cleanup;
	}

	for (unsigned int attempt = 0;; attempt++) {
		uint64_t delay_ms, elapsed_ms;

		post_once(hs, body, len, &a);
		pthread_mutex_lock(&hs->lock);
		hs->st.requests++;
		if (attempt)
			hs->st.retries++;
		if (!a.ok)
			hs->st.failures++;
		pthread_mutex_unlock(&hs->lock);

		if (a.ok) {
			char msg[256];
			uint64_t rejected = partial_rejections(hs, n, msg, sizeof(msg));

			pthread_mutex_lock(&hs->lock);
			hs->st.spans_exported += n - rejected;
			hs->st.spans_dropped_rejected += rejected;
			pthread_mutex_unlock(&hs->lock);
			if ((rejected || msg[0]) && first_report(hs, &hs->reported_partial))
				fprintf(stderr,
					"ttatrace: otlp: %s accepted a request only in part: "
					"%" PRIu64 " of %" PRIu64 " spans rejected: %s\n",
					hs->cfg.endpoint, rejected, n, msg[0] ? msg : "(no message)");
			break;
		}
		if (a.aborted) {
			count(hs, &hs->st.spans_dropped_shutdown, n);
			break;
		}
		if (!a.retryable) {
			if (a.status) {
				count(hs, &hs->st.spans_dropped_rejected, n);
				if (first_report(hs, &hs->reported_rejected))
					fprintf(stderr,
						"ttatrace: otlp: %s rejected %" PRIu64
						" spans: HTTP %ld: %s (not retried; further "
						"rejections are only counted)\n",
						hs->cfg.endpoint, n, a.status, a.msg);
			} else {
				count(hs, &hs->st.spans_dropped_retries, n);
				if (first_report(hs, &hs->reported_failed))
					fprintf(stderr,
						"ttatrace: otlp: dropped %" PRIu64
						" spans: %s: %s (not retried; check the "
						"endpoint)\n",
						n, hs->cfg.endpoint, a.msg);
			}
			break;
		}
		delay_ms = a.retry_after_ms >= 0 ? (uint64_t)a.retry_after_ms
						 : otlp_http__backoff_ms(attempt, hs->cfg.retry_initial_ms,
									 hs->cfg.retry_max_ms,
									 next_rand(&hs->rng));
		elapsed_ms = (now_ns() - start) / 1000000;
		if (attempt >= hs->cfg.max_retries ||
		    elapsed_ms + delay_ms > hs->cfg.retry_max_elapsed_ms) {
			count(hs, &hs->st.spans_dropped_retries, n);
			if (first_report(hs, &hs->reported_failed)) {
				char status[32] = "";

				if (a.status)
					snprintf(status, sizeof(status), "HTTP %ld: ", a.status);
				fprintf(stderr,
					"ttatrace: otlp: dropped %" PRIu64 " spans after %u tries "
					"in %.1f s: %s: %s%s (further drops are only counted)\n",
					n, attempt + 1, (now_ns() - start) / 1e9, hs->cfg.endpoint,
					status, a.msg);
			}
			break;
		}
		if (hs->cfg.verbose)
			fprintf(stderr,
				"ttatrace: otlp: %s: %s%s; retry %u in %" PRIu64 " ms%s\n",
				hs->cfg.endpoint, a.status ? "HTTP error " : "", a.msg, attempt + 1,
				delay_ms, a.retry_after_ms >= 0 ? " (Retry-After)" : "");
		if (!wait_retry(hs, delay_ms)) {
			count(hs, &hs->st.spans_dropped_shutdown, n);
			break;
		}
	}
cleanup:
	free(raw);
	free(gz);
}

static void free_items(struct qitem *it)
{
	while (it) {
		struct qitem *next = it->next;

		otlp_spans__free(it->spans);
		free(it);
		it = next;
	}
}

static void *exporter_main(void *arg)
{
	struct http_sink *hs = arg;

	pthread_mutex_lock(&hs->lock);
	for (;;) {
		struct qitem *done = NULL, **done_tail = &done;
		size_t n_slices = 0, taken = 0;

		/* wait for a full batch, the batch delay, or close() */
		while (!hs->stopping && hs->queued < hs->cfg.batch_spans) {
			uint64_t due = hs->batch_start_ns + hs->cfg.batch_delay_ms * 1000000ull;
			struct timespec ts;

			if (!hs->queued) {
				pthread_cond_wait(&hs->cond, &hs->lock);
				continue;
			}
			if (now_ns() >= due)
				break;
			ts = ns_to_ts(due);
			pthread_cond_timedwait(&hs->cond, &hs->lock, &ts);
		}
		if (!hs->queued)
			break; /* stopping, nothing left */
		if (hs->stopping && now_ns() >= close_deadline(hs)) {
			hs->st.spans_dropped_shutdown += hs->queued;
			hs->queued = 0;
			free_items(hs->head);
			hs->head = hs->tail = NULL;
			break;
		}

		while (hs->head && taken < hs->cfg.batch_spans) {
			struct qitem *it = hs->head;
			size_t total = otlp_spans__count(it->spans);
			size_t take = total - it->off;

			if (take > hs->cfg.batch_spans - taken)
				take = hs->cfg.batch_spans - taken;
			hs->slices[n_slices++] =
				(struct otlp_slice){ .spans = it->spans, .off = it->off, .n = take };
			it->off += take;
			taken += take;
			if (it->off == total) {
				/* its spans are in this batch: free it after the export */
				hs->head = it->next;
				if (!hs->head)
					hs->tail = NULL;
				it->next = NULL;
				*done_tail = it;
				done_tail = &it->next;
			}
		}
		hs->queued -= taken;
		hs->batch_start_ns = now_ns();
		pthread_mutex_unlock(&hs->lock);

		export_batch(hs, n_slices, taken);
		free_items(done);

		pthread_mutex_lock(&hs->lock);
	}
	pthread_mutex_unlock(&hs->lock);
	return NULL;
}

/* --- sink ---------------------------------------------------------------------------- */

static int http_sink_trace(struct tt_sink *sink, const struct tt_trace *t)
{
	struct http_sink *hs = sink->ctx;
	struct qitem *it = NULL;
	size_t n = t->n_spans;
	bool wake;

	if (!n)
		return 0;
	/* refuse early, without converting, what could not be queued anyway */
	pthread_mutex_lock(&hs->lock);
	if (hs->stopping) {
		hs->st.spans_dropped_shutdown += n;
		pthread_mutex_unlock(&hs->lock);
		return 0;
	}
	if (hs->queued + n > hs->cfg.queue_spans) {
		hs->st.spans_dropped_queue_full += n;
		pthread_mutex_unlock(&hs->lock);
		return 0;
	}
	pthread_mutex_unlock(&hs->lock);

	it = calloc(1, sizeof(*it));
	if (it)
		it->spans = otlp_spans__new(t);
	if (!it || !it->spans) {
		free(it);
		count(hs, &hs->st.spans_dropped_queue_full, n);
		return -ENOMEM;
	}

	pthread_mutex_lock(&hs->lock);
	if (hs->stopping || hs->queued + n > hs->cfg.queue_spans) {
		if (hs->stopping)
			hs->st.spans_dropped_shutdown += n;
		else
			hs->st.spans_dropped_queue_full += n;
		pthread_mutex_unlock(&hs->lock);
		free_items(it);
		return 0;
	}
	if (hs->tail)
		hs->tail->next = it;
	else
		hs->head = it;
	hs->tail = it;
	if (!hs->queued)
		hs->batch_start_ns = now_ns();
	/* wake the exporter to start the batch timer, or because a batch is full */
	wake = !hs->queued || hs->queued + n >= hs->cfg.batch_spans;
	hs->queued += n;
	if (wake)
		pthread_cond_signal(&hs->cond);
	pthread_mutex_unlock(&hs->lock);
	return 0;
}

int otlp_http_sink__shutdown(struct tt_sink *sink)
{
	struct http_sink *hs;
	uint64_t dropped;

	if (!sink || sink->trace != http_sink_trace)
		return -EINVAL;
	hs = sink->ctx;
	pthread_mutex_lock(&hs->lock);
	if (hs->stopped) {
		pthread_mutex_unlock(&hs->lock);
		return 0;
	}
	exit_deadline__start(hs->cfg.close_timeout_ms);
	__atomic_store_n(&hs->close_deadline_ns, now_ns() + hs->cfg.close_timeout_ms * 1000000ull,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&hs->stopping, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&hs->cond);
	pthread_mutex_unlock(&hs->lock);

	if (hs->thread_started)
		pthread_join(hs->thread, NULL);
	hs->thread_started = false;

	pthread_mutex_lock(&hs->lock);
	hs->stopped = true;
	/* without an exporter thread (it failed to start) nothing drained the queue */
	hs->st.spans_dropped_shutdown += hs->queued;
	hs->queued = 0;
	free_items(hs->head);
	hs->head = hs->tail = NULL;
	dropped = hs->st.spans_dropped_shutdown;
	pthread_mutex_unlock(&hs->lock);
	if (dropped)
		fprintf(stderr,
			"ttatrace: otlp: %" PRIu64 " spans were not exported to %s within the "
			"exit deadline (OTEL_BSP_EXPORT_TIMEOUT, %u ms, or a second Ctrl-C; raise "
			"it to wait longer)\n",
			dropped, hs->cfg.endpoint, hs->cfg.close_timeout_ms);
	return 0;
}

static int http_sink_close(struct tt_sink *sink)
{
	struct http_sink *hs;

	if (!sink)
		return 0;
	hs = sink->ctx;
	otlp_http_sink__shutdown(sink);
	if (hs->curl)
		curl_easy_cleanup(hs->curl);
	curl_slist_free_all(hs->hdrs);
	free(hs->resp.body);
	free(hs->slices);
	pthread_cond_destroy(&hs->cond);
	pthread_mutex_destroy(&hs->lock);
	otlp_config__cleanup(&hs->cfg);
	free(hs);
	return 0;
}

int otlp_http_sink__stats(struct tt_sink *sink, struct otlp_stats *out)
{
	struct http_sink *hs;

	if (!sink || sink->trace != http_sink_trace || !out)
		return -EINVAL;
	hs = sink->ctx;
	pthread_mutex_lock(&hs->lock);
	*out = hs->st;
	out->spans_queued = hs->queued;
	pthread_mutex_unlock(&hs->lock);
	return 0;
}

struct tt_sink *otlp_http_sink__new(const struct otlp_config *cfg)
{
	static const int sync_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP };
	struct http_sink *hs;
	pthread_condattr_t ca;
	sigset_t all, old;
	int err;

	if (!cfg || !cfg->endpoint || !cfg->batch_spans || cfg->batch_spans > cfg->queue_spans) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		errno = ENOMEM;
		return NULL;
	}
	hs = calloc(1, sizeof(*hs));
	if (!hs)
		return NULL;
	hs->sink.name = "otlp";
	hs->sink.trace = http_sink_trace;
	hs->sink.close = http_sink_close;
	hs->sink.ctx = hs;
	pthread_mutex_init(&hs->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hs->cond, &ca);
	pthread_condattr_destroy(&ca);

	err = otlp_config__copy(&hs->cfg, cfg);
	if (err)
		goto fail;
	hs->slices = calloc(hs->cfg.batch_spans, sizeof(*hs->slices));
	if (!hs->slices) {
		err = -ENOMEM;
		goto fail;
	}
	err = setup_curl(hs);
	if (err)
		goto fail;
	if (getrandom(&hs->rng, sizeof(hs->rng), GRND_NONBLOCK) != sizeof(hs->rng))
		hs->rng = now_ns();
	hs->rng |= 1; /* xorshift must not start at 0 */

	/* The exporter takes no signals: process-directed ones (SIGINT, SIGTERM) go to the
	 * tool's other threads, and a SIGPIPE from a TLS write to a closed connection stays
	 * pending here instead of killing the tracer (the write fails with EPIPE). */
	sigfillset(&all);
	for (size_t i = 0; i < sizeof(sync_sigs) / sizeof(sync_sigs[0]); i++)
		sigdelset(&all, sync_sigs[i]);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&hs->thread, NULL, exporter_main, hs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto fail;
	hs->thread_started = true;
	return &hs->sink;
fail:
	http_sink_close(&hs->sink);
	errno = -err;
	return NULL;
}

/* --- probe ----------------------------------------------------------------------------- */

int otlp_http__probe(const struct otlp_config *cfg, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	long ms = cfg->timeout_ms < PROBE_MAX_MS ? (long)cfg->timeout_ms : (long)PROBE_MAX_MS;
	CURLcode rc;
	CURL *c;
	int ret;

	if (!cfg->endpoint) {
		snprintf(err, errlen, "no OTLP endpoint configured");
		return -EINVAL;
	}
	pthread_once(&curl_once, curl_init);
	c = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
	if (!c) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, cfg->endpoint);
	restrict_protocols(c);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		ret = -ECONNREFUSED;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		ret = -ETIMEDOUT;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		ret = -EHOSTUNREACH;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		ret = -EINVAL;
		break;
	default:
		ret = -EIO;
	}
	snprintf(err, errlen, "cannot connect to %s: %s", cfg->endpoint,
		 cerr[0] ? cerr : curl_easy_strerror(rc));
	return ret;
}
