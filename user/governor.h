/* The probe governor: a broad glob can match a function called far more often than
 * is worth tracing. Each probe's hit rate is checked every second against a budget:
 * above --max-rate-per-probe its spans stop (histograms go on counting), above the
 * hard limit its uprobes are removed. Both are announced, naming the symbol. */
#ifndef TT_GOVERNOR_H
#define TT_GOVERNOR_H

#include <stdint.h>
#include <stdio.h>

struct probe_table;

struct governor_stats {
	uint64_t muted;
	uint64_t detached;
};

struct governor;

/* soft/hard: calls per second per probe (hard > soft). hits_fd: per-CPU u64 per
 * probe id; muted_fd: array of u64 mute bits. NULL + errno on failure. */
struct governor *governor__new(double soft_per_s, double hard_per_s, int hits_fd, int muted_fd,
			       int entry_prog_fd, int exit_prog_fd);
void governor__free(struct governor *g);
/* Looks at every probe's rate since the last call. Returns the number of probes
 * muted or detached by this call. */
int governor__tick(struct governor *g, struct probe_table *pt, uint64_t now_ns, FILE *warn);
void governor__stats(const struct governor *g, struct governor_stats *out);

/* The decision alone (unit-tested): 0 keep, 1 mute, 2 detach. */
int governor__decide(double rate_per_s, double soft, double hard, int muted, int detached);

#endif
