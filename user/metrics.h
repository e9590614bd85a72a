/* Prometheus text exposition (format 0.0.4) of the per-primitive kernel
 * histograms and ttatrace's own counters, read through a metrics_source so the
 * renderer knows nothing of BPF or the probe table. */
#ifndef TT_METRICS_H
#define TT_METRICS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "governor.h"
#include "hist.h"
#include "ttatrace.h"

struct slo; /* catalog.h */

/* ttatrace's own health, beyond the kernel's drop counters. */
struct self_stats {
	uint64_t records; /* span records read from the ring buffer */
	uint64_t malformed; /* records that were not understood */
	uint64_t traces_complete, traces_incomplete;
	uint64_t pending_spans; /* spans waiting for their trace's root */
	double ringbuf_lag_s; /* age of the newest span record when it was read */
	bool have_export; /* an OTLP exporter runs: the export_* fields mean something */
	uint64_t export_spans; /* accepted by the collector */
	uint64_t export_failures; /* failed requests */
	uint64_t export_dropped_queue, export_dropped_retries, export_dropped_rejected;
	/* head sampling or tail rules are on: the fields below mean something */
	bool have_sampling;
	double sampling_probability; /* overall effective head probability now */
	uint64_t sampling_roots; /* traces started (head decisions) */
	uint64_t sampled_head; /* picked by head sampling */
	uint64_t kept_error, kept_slow; /* unpicked, kept by a tail rule */
	uint64_t dropped; /* unpicked and not kept */
	uint64_t tail_held_spans; /* spans the kernel held for the tail rules */
	/* traces whose kernel buffer overflowed (streamed instead) */
	uint64_t tail_overflow_traces;
	/* processes (following forks, the agent): the fields below mean something */
	bool have_procs;
	uint64_t procs_traced; /* now */
	uint64_t procs_followed; /* forked children traced */
	uint64_t procs_exec_other, procs_over_limit; /* children not followed, by reason */
	bool is_agent;
	uint64_t agent_matched; /* processes the targets selected */
	uint64_t attach_failures; /* of those, the ones whose probes could not be attached */
	uint64_t probed_programs; /* program files with shared probes */
	bool python; /* Python primitives are traced (the rest below) */
	uint64_t py_procs; /* Python processes traced (attached or forked) */
	uint64_t py_not_prepared; /* selected Python processes without the bootstrap */
	uint64_t py_open_at_exit; /* primitives still running when their process exited */
	uint64_t untraced_hits; /* probe hits by processes not traced (the cost to others) */
	/* the probe governor runs: gov means something */
	bool have_governor;
	struct governor_stats gov;
};

struct metrics_source {
	/* probe ids are 0 .. n_probes() - 1 */
	uint32_t (*n_probes)(void *ctx);
	/* 0, -ENOENT when the probe has no histogram, or a negative errno */
	int (*read_probe)(void *ctx, uint32_t id, struct hist_snapshot *out);
	/* copies the span name and kind of probe id (NUL-terminated, truncated);
	 * 0 or -ENOENT */
	int (*probe_labels)(void *ctx, uint32_t id, char *name, size_t name_len, char *kind,
			    size_t kind_len);
	/* kernel counters summed over CPUs; 0 or a negative errno; may be NULL */
	int (*read_kstats)(void *ctx, struct tt_kstats *out);
	/* the SLO of probe id's primitive: 0 and *out filled, or -ENOENT when it has
	 * none; may be NULL (no SLOs) */
	int (*probe_slo)(void *ctx, uint32_t id, struct slo *out);
	void *ctx;
	/* ttatrace's own counters; may be NULL. Called with self_ctx. */
	int (*read_self)(void *self_ctx, struct self_stats *out);
	void *self_ctx;
};

/* The `le` bounds (ns) of the exposed histogram: 2^m and 1.5 * 2^m ns for
 * m = TT_PROM_MIN_LOG2 .. TT_HIST_MAX_LOG2 - 1 (1.024 us .. 825 s), each an exact
 * bucket bound so the cumulative counts are exact; then +Inf. */
#define TT_PROM_MIN_LOG2 10
#define TT_PROM_N_LE (2 * (TT_HIST_MAX_LOG2 - TT_PROM_MIN_LOG2))
uint64_t metrics__le_ns(uint32_t i);

/* Formats ns as seconds, exactly ("0.000001024", "3", "824.633720832"). */
void metrics__fmt_seconds(uint64_t ns, char *buf, size_t len);

/* Calls of s that met a latency threshold: those in the kernel buckets whose upper
 * bound is at or below threshold_ns. The bucket straddling the threshold counts as
 * slow, so the effective threshold is metrics__slo_bound_ns(threshold_ns), at most
 * 1/16 (6.25%) below it: a conservative SLI, never an optimistic one. */
uint64_t metrics__slo_good(const struct hist_snapshot *s, uint64_t threshold_ns);
/* The largest kernel bucket bound <= threshold_ns (threshold_ns itself when it is
 * one; 0 below the first bound). */
uint64_t metrics__slo_bound_ns(uint64_t threshold_ns);

/* One primitive as the exposition shows it: its probes merged. */
struct metrics_series {
	const char *name;
	const char *kind;
	const struct hist_snapshot *h;
	const struct slo *slo; /* NULL: no SLO */
};

/* Reads every probe of src once, merges them as metrics__render does and calls cb
 * for each primitive in the exposition's order; a non-zero return from cb stops the
 * walk and is returned. 0 or a negative errno. */
int metrics__for_each(const struct metrics_source *src,
		      int (*cb)(const struct metrics_series *s, void *ctx), void *ctx);

/* Writes the exposition to out. Probes with the same (name, kind) are merged into
 * one series, sorted by name. service, unless NULL, is a label of every series.
 * Primitives with an SLO (src->probe_slo; the first probe of a primitive that has
 * one wins) also get ttatrace_slo_latency_threshold_seconds, _latency_target,
 * _latency_good_total and ttatrace_slo_errors_target; the error SLI is
 * errors_total / calls_total. 0 or a negative errno. */
int metrics__render(const struct metrics_source *src, const char *service, FILE *out);
/* The same into a malloc'd buffer (*buf, *len; free it). */
int metrics__render_buf(const struct metrics_source *src, const char *service, char **buf,
			size_t *len);

#endif
