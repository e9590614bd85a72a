/* Trace assembly: turns the kernel's span records (one per finished function call)
 * into traces — a root span and its descendants — with W3C ids and wall-clock
 * times, and hands each finished trace to the outputs. */
#ifndef TT_ASSEMBLER_H
#define TT_ASSEMBLER_H

#include <stddef.h>
#include <stdint.h>

#include "spans.h"

struct tt_probe;

struct assembler_opts {
	/* name, label and kind of a probe id; NULL if unknown */
	const struct tt_probe *(*probe)(void *ctx, uint32_t probe_id);
	/* the traced process for a pid; NULL if unknown */
	const struct tt_process *(*process)(void *ctx, uint32_t pid);
	void *ctx;
	struct tt_sink **sinks;
	size_t n_sinks;
	/* a trace without its root is given up (emitted incomplete) after this long
	 * without a new span; 0 means never (only at flush) */
	uint64_t idle_timeout_ns;
	/* more spans than this waiting for their roots: the oldest traces are emitted
	 * incomplete, and counted */
	size_t max_pending_spans;
	/* derive the primitives' attributes (tta.*) from each trace's shape */
	bool annotate;
	/* Decides whether a finished trace goes to the sinks, and may add attributes to
	 * it first; returns 1 to emit, 0 to drop (not counted as an error), or a negative
	 * errno. NULL: emit all. Called after the annotate pass, on the assembler's own
	 * trace. A negative errno counts as a sink error and the trace is still
	 * emitted: a filter that failed to annotate must not lose it. */
	int (*filter)(void *filter_ctx, struct tt_trace *t);
	void *filter_ctx;
};

struct assembler_stats {
	uint64_t records; /* records received */
	uint64_t bad_records; /* wrong size or type */
	uint64_t spans; /* spans handed to outputs */
	uint64_t traces; /* traces handed to outputs (the filter let through) */
	uint64_t traces_incomplete; /* of which without their root (late ones excluded) */
	uint64_t traces_late; /* of which spans finishing after their emitted trace's root */
	uint64_t evicted_traces; /* emitted early because of max_pending_spans */
	uint64_t traces_filtered; /* dropped by the filter (not in traces, spans) */
	uint64_t sink_errors; /* failed sink calls, and filter errors */
	uint64_t invalid_traceparents; /* captured, malformed, ignored as W3C says */
	uint64_t newest_end_ns; /* CLOCK_MONOTONIC end of the newest record seen */
	uint64_t ring_bytes; /* bytes read from the ring buffer, 8-byte headers included */
};

struct assembler;

struct assembler *assembler__new(const struct assembler_opts *opts);
void assembler__free(struct assembler *a);
/* Offset to add to CLOCK_MONOTONIC ns to get Unix epoch ns. */
void assembler__set_clock(struct assembler *a, int64_t mono_to_wall_ns);
/* Feeds one raw ring-buffer record. 0, or a negative errno for a malformed one
 * (counted, never fatal). */
int assembler__add(struct assembler *a, const void *data, size_t size);
/* Emits traces that have waited longer than idle_timeout_ns (monotonic now). */
int assembler__expire(struct assembler *a, uint64_t now_mono_ns);
/* Emits every pending trace, incomplete; used at exit. */
int assembler__flush(struct assembler *a);
size_t assembler__pending_spans(const struct assembler *a);
void assembler__stats(const struct assembler *a, struct assembler_stats *out);

/* Fills 16 random bytes, never all zero. */
void tt_random_trace_id(uint8_t id[16]);
/* Measures CLOCK_REALTIME - CLOCK_MONOTONIC, taking the tightest of a few reads. */
int64_t tt_mono_to_wall_offset(void);

#endif
