/* The /metrics HTTP endpoint (libmicrohttpd, on its own thread). */
#ifndef TT_PROM_HTTP_H
#define TT_PROM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metrics_source;
struct prom_server;

/* Listens on addr ("HOST:PORT", "[V6]:PORT" or ":PORT" / "PORT" for 127.0.0.1;
 * port 0 picks a free one) and serves GET /metrics rendered from src (copied) with
 * the service label (copied; NULL for none). NULL + errno on failure, with the
 * reason in err. */
struct prom_server *prom_server__start(const char *addr, const struct metrics_source *src,
				       const char *service, char *err, size_t errlen);
/* /readyz answers 200 once ready (503 "starting" before, and after ready=false at
 * shutdown); /healthz answers 200 unless ready and no beat came for 10 s. Accept NULL. */
void prom_server__set_ready(struct prom_server *s, bool ready);
void prom_server__beat(struct prom_server *s);
/* The port listened on. */
uint16_t prom_server__port(const struct prom_server *s);
/* Stops the thread and closes the socket; accepts NULL. */
void prom_server__stop(struct prom_server *s);

#endif
