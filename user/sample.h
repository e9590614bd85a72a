/* Sampling and overhead control: the head-sampling threshold the kernel compares
 * against, the tail rules that keep whole error or slow traces head sampling
 * dropped, the adaptive per-primitive --target-rate controller, and the
 * assembler filter that applies the tail rules in front of the outputs. */
#ifndef TT_SAMPLE_H
#define TT_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "spans.h"

/* Kernel threshold for probability p (clamped to 0..1): a root is picked when a
 * uniform u32 is below it; TT_SAMPLE_ALL for p >= 1. */
uint64_t sample__threshold(double p);
/* p in parts per million, rounded, clamped to 0..TT_SAMPLE_PPM. */
uint32_t sample__ppm(double p);
/* The kernel's decision for one random draw (the same comparison). */
bool sample__decide(uint32_t rnd, uint64_t threshold);

struct sample_rules {
	bool keep_errors; /* keep traces whose root span is an error */
	uint64_t keep_slow_ns; /* keep traces whose root lasted at least this; 0: off */
};

enum sample_verdict {
	SAMPLE_KEEP_HEAD = 0, /* head sampling picked the trace */
	SAMPLE_KEEP_ERROR, /* dropped by head sampling, kept: an error span */
	SAMPLE_KEEP_SLOW, /* dropped by head sampling, kept: the root was slow */
	SAMPLE_DROP,
};

/* A span is an error when its status says so: the assembler sets it from the
 * catalogue's error rule, else from the return type's (as the kernel counts). */
bool sample__span_is_error(const struct tt_span *s);
/* Verdict for a finished trace: head-picked unless its root carries
 * TT_SPAN_UNSAMPLED; else the kernel's own tail verdict when the root carries one
 * (TT_SPAN_KEPT_ERROR, TT_SPAN_KEPT_SLOW: the kernel held the trace, judged it and
 * flushed it), whatever r says; else the first tail rule that holds, or SAMPLE_DROP. The
 * error rule looks at the root (the workflow's outcome): errors recovered deeper
 * down (retried attempts, a fallback's failed primary) do not keep a trace. */
enum sample_verdict sample__verdict(const struct tt_trace *t, const struct sample_rules *r);

/* Max-min fair split of target traces/s among root primitives with the given
 * rates (roots/s): primitives below their fair share keep everything (p = 1),
 * the rest share what is left equally. p_out[i] in [p_min, 1]; rates of 0 get 1.
 * p_out may not alias rates. */
void sample__fair_share(const double *rates, size_t n, double target, double p_min, double *p_out);

/* The --target-rate controller: one head-sampling probability per root probe, so
 * that rare primitives are not starved by frequent ones. Each probe's root rate
 * is smoothed (EWMA); the target is split with sample__fair_share. */
struct rate_ctl;

#define RATE_CTL_P_MIN 1e-4 /* a burst never hides everything */
#define RATE_CTL_ALPHA 0.5 /* weight of the newest rate in the smoothing */

/* target_per_s > 0; p0 (clamped to RATE_CTL_P_MIN..1): the probability the kernel
 * starts with, kept by probes until they start a root. NULL + errno. */
struct rate_ctl *rate_ctl__new(double target_per_s, double p0);
void rate_ctl__free(struct rate_ctl *c);
/* cum_roots[i]: cumulative roots started by probe id i since tracing began
 * (picked or not), for i < n (n may grow between calls: new probes after dlopen).
 * dt_s: seconds since the previous call. Writes p_out[i] for every i < n and returns
 * the effective overall probability (expected exported/started over the last step,
 * under the probabilities in force during it; the previous value when nothing
 * started). dt_s <= 0: p_out gets the current values, and cum_roots becomes the
 * baseline of the next step. Should memory for new probe ids run out, they keep
 * p0 (errno ENOMEM) and take part from a later call on. */
double rate_ctl__update(struct rate_ctl *c, const uint64_t *cum_roots, size_t n, double dt_s,
			double *p_out);
/* Current p of one root probe (p0 before any data). */
double rate_ctl__probability(const struct rate_ctl *c, uint32_t probe_id);

struct sample_stats {
	uint64_t records_kept, bytes_kept; /* ring records of picked traces */
	uint64_t records_unsampled, bytes_unsampled; /* sent only for the tail rules */
	uint64_t traces_head; /* passed on because head sampling picked them */
	uint64_t traces_error; /* kept by --keep-errors */
	uint64_t traces_slow; /* kept by --keep-slow */
	uint64_t traces_discarded; /* tail rules did not hold: not exported */
	uint64_t spans_discarded;
};

struct sampler;

/* p: head-sampling probability (1: off); NULL + errno on failure. */
struct sampler *sampler__new(double p, const struct sample_rules *r);
void sampler__free(struct sampler *s);
void sampler__set_probability(struct sampler *s, double p);
double sampler__probability(const struct sampler *s);
/* Sees every raw ring record before the assembler: counts bytes, and remembers
 * the probability a finishing root carries. */
void sampler__on_record(struct sampler *s, const void *data, size_t size);
void sampler__stats(const struct sampler *s, struct sample_stats *out);

/* The assembler's filter (assembler_opts.filter, filter_ctx = the sampler):
 * applies the verdict, counts it, and marks kept traces: tta.sampling.probability
 * on every span, and tta.sampling.kept_by ("error", "slow") on tail-kept ones.
 * 1: emit, 0: drop, -ENOMEM: an attribute could not be added (still kept). */
int sampler__filter(void *sampler, struct tt_trace *t);

#endif
