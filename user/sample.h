/* Sampling and overhead control: the head-sampling threshold the kernel compares
 * against, the tail rules that keep whole error or slow traces head sampling
 * dropped, the adaptive --target-rate controller, and the sink that applies the
 * tail rules in front of the outputs. */
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

/* A span is an error when its status says so (catalogue error rules), or, with no
 * status set, when its return value as an int is negative (as the histograms
 * count errors). */
bool sample__span_is_error(const struct tt_span *s);
/* Verdict for a finished trace: head-picked unless its root carries
 * TT_SPAN_UNSAMPLED; else the first tail rule that holds, or SAMPLE_DROP. The
 * error rule looks at the root (the workflow's outcome): errors recovered deeper
 * down (retried attempts, a fallback's failed primary) do not keep a trace. */
enum sample_verdict sample__verdict(const struct tt_trace *t, const struct sample_rules *r);

/* Adaptive probability: every step, p = clamp(target / smoothed roots/s). */
struct rate_ctl {
	double target; /* traces per second */
	double p_min; /* never below this, so a burst does not hide everything */
	double alpha; /* weight of the newest rate in the smoothing, 0..1 */
	double rate; /* smoothed roots per second; < 0 before the first step */
	double p; /* current probability */
};

void rate_ctl__init(struct rate_ctl *c, double target_per_s, double p0);
/* Feeds the roots started during the last dt_s seconds (picked or not); returns
 * the new probability. dt_s <= 0 leaves p unchanged. */
double rate_ctl__step(struct rate_ctl *c, uint64_t roots, double dt_s);

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

/* A sink that applies the verdict and passes kept traces to the inner sinks
 * (it does not own them), with tta.sampling.probability on every span when
 * sampling is on, and tta.sampling.kept_by ("error", "slow") on tail-kept ones. */
struct tt_sink *sample_gate__new(struct sampler *s, struct tt_sink **inner, size_t n);

/* Summary lines ("ttatrace: sampling: ..."); nothing when sampling is off. */
void sample__print_summary(FILE *f, const struct sampler *s, uint64_t roots, uint64_t picked,
			   uint64_t spans_unsampled, uint64_t spans_tail);

#endif
