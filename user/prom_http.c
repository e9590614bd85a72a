/* The Prometheus /metrics endpoint: libmicrohttpd's own polling thread renders the
 * exposition on each scrape, so the tracing loop never waits on a scraper. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "metrics.h"
#include "prom_http.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Slow or hostile clients (connections that trickle headers) must not starve the
 * scrapers: each client address holds at most PROM_MAX_CONN_PER_IP connections, all
 * together PROM_MAX_CONN, and a connection silent for PROM_IDLE_TIMEOUT_S is closed
 * (libmicrohttpd's timeout restarts on every byte, so the per-address limit is what
 * bounds a trickler). A scrape takes milliseconds; Prometheus opens one at a time. */
#define PROM_MAX_CONN_PER_IP 16
#define PROM_MAX_CONN 256
#define PROM_IDLE_TIMEOUT_S 5

struct prom_server {
	struct MHD_Daemon *d;
	struct metrics_source src;
	char *service;
	uint16_t port;
	/* /healthz, /readyz: written by the tracing loop, read by the HTTP thread */
	_Atomic int ready;
	_Atomic unsigned long long beat_ns; /* CLOCK_MONOTONIC of the loop's last turn */
};

#define HEALTH_STALE_NS (10ULL * 1000000000ULL)

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* /readyz: 200 once the targets are attached and the loop drains; /healthz: 200 unless
 * the running loop stopped turning for 10 s (e.g. stuck in the kernel). */
static enum MHD_Result health(struct prom_server *s, struct MHD_Connection *c, bool ready_check);

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct prom_server *s = cls;
	char *buf = NULL;
	size_t len = 0;
	int err;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "only GET\n", 9,
			     MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/healthz") || !strcmp(url, "/readyz"))
		return health(s, c, url[1] == 'r');
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "see /metrics\n", 13,
			     MHD_RESPMEM_PERSISTENT);
	err = metrics__render_buf(&s->src, s->service, &buf, &len);
	if (err) {
		static char msg[] = "ttatrace: reading the kernel counters failed\n";

		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", msg, sizeof(msg) - 1,
			     MHD_RESPMEM_PERSISTENT);
	}
	return reply(c, MHD_HTTP_OK, CONTENT_TYPE, buf, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result health(struct prom_server *s, struct MHD_Connection *c, bool ready_check)
{
	static char ok[] = "ok\n", starting[] = "starting\n", stuck[] = "tracing loop stalled\n";
	unsigned long long beat = s->beat_ns;

	if (ready_check && !s->ready)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", starting,
			     sizeof(starting) - 1, MHD_RESPMEM_PERSISTENT);
	if (!ready_check && s->ready && beat && mono_ns() - beat > HEALTH_STALE_NS)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", stuck, sizeof(stuck) - 1,
			     MHD_RESPMEM_PERSISTENT);
	return reply(c, MHD_HTTP_OK, "text/plain", ok, sizeof(ok) - 1, MHD_RESPMEM_PERSISTENT);
}

void prom_server__set_ready(struct prom_server *s, bool ready)
{
	if (s) {
		s->beat_ns = mono_ns();
		s->ready = ready;
	}
}

void prom_server__beat(struct prom_server *s)
{
	if (s)
		s->beat_ns = mono_ns();
}

/* "HOST:PORT", "[V6]:PORT", ":PORT", "PORT" -> host (127.0.0.1 by default), port */
static int split_addr(const char *addr, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= hlen)
			return -EINVAL;
		snprintf(host, hlen, "%.*s", (int)(end - addr - 1), addr + 1);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon) {
			snprintf(host, hlen, "127.0.0.1");
			colon = addr - 1;
		} else if (colon == addr) {
			snprintf(host, hlen, "127.0.0.1");
		} else {
			if ((size_t)(colon - addr) >= hlen || memchr(addr, ':', colon - addr))
				return -EINVAL;
			snprintf(host, hlen, "%.*s", (int)(colon - addr), addr);
		}
	}
	if (!colon[1] || strlen(colon + 1) >= plen || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    atol(colon + 1) > 65535)
		return -EINVAL;
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

struct prom_server *prom_server__start(const char *addr, const struct metrics_source *src,
				       const char *service, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	struct prom_server *s = NULL;
	const union MHD_DaemonInfo *info;
	char host[256], port[16];
	/* epoll (MHD_USE_AUTO), not select(): no FD_SETSIZE ceiling on connections */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	int e;

	if (!addr || !src || split_addr(addr, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "invalid address '%s' (expected HOST:PORT, e.g. 127.0.0.1:9464)",
			 addr ? addr : "");
		errno = EINVAL;
		return NULL;
	}
	e = getaddrinfo(host, port, &hints, &ai);
	if (e) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(e));
		errno = e == EAI_SYSTEM ? errno : EADDRNOTAVAIL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || (service && !(s->service = strdup(service)))) {
		snprintf(err, errlen, "out of memory");
		e = ENOMEM;
		goto fail;
	}
	s->src = *src;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* the port argument is ignored when MHD_OPTION_SOCK_ADDR is given */
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
				ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)PROM_IDLE_TIMEOUT_S, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				(unsigned int)PROM_MAX_CONN_PER_IP, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned int)PROM_MAX_CONN, MHD_OPTION_END);
	if (!s->d) {
		e = errno ? errno : EADDRINUSE;
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(e));
		goto fail;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : (uint16_t)atoi(port);
	freeaddrinfo(ai);
	return s;
fail:
	freeaddrinfo(ai);
	if (s)
		free(s->service);
	free(s);
	errno = e;
	return NULL;
}

uint16_t prom_server__port(const struct prom_server *s)
{
	return s->port;
}

void prom_server__stop(struct prom_server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	free(s->service);
	free(s);
}
