/* The kernel half of sampling, driven from userspace: the head-sampling
 * thresholds (one global, one per root primitive under --target-rate), the kernel
 * tail rules, and the sweeping of tail buffers whose root never exits. */
#ifndef TT_SAMPLE_KERNEL_H
#define TT_SAMPLE_KERNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sample.h"

struct ttatrace_bpf;
struct sample_kernel;

struct sample_kernel_opts {
	double p; /* head-sampling probability (1: every trace) */
	double target_rate; /* --target-rate traces/s; 0: a fixed p */
	struct sample_rules rules;
	/* stream unpicked spans to userspace instead of holding them in the kernel */
	bool tail_stream;
	/* bytes of span records one trace may hold in the kernel; 0: all there is */
	uint32_t tail_bytes;
	/* a tail buffer with no new span for this long belongs to a root that never
	 * exited (the thread died): freed and counted */
	uint64_t idle_ns;
};

/* Before load: the read-only settings (the per-root budgets need them). */
void sample_kernel__configure(struct ttatrace_bpf *skel, const struct sample_kernel_opts *o);
/* After load. NULL + errno. */
struct sample_kernel *sample_kernel__new(struct ttatrace_bpf *skel,
					 const struct sample_kernel_opts *o);
void sample_kernel__free(struct sample_kernel *k);
/* About once a second: steps the --target-rate controller over probe ids below
 * n_probes, and frees tail buffers idle for longer than idle_ns. */
void sample_kernel__tick(struct sample_kernel *k, uint64_t now_mono_ns, uint32_t n_probes);
/* The overall head probability now: p, or the controller's effective one. */
double sample_kernel__probability(const struct sample_kernel *k);
/* Head probability of the traces a root probe starts. */
double sample_kernel__root_probability(const struct sample_kernel *k, uint32_t probe_id);

struct sample_kernel_stats {
	uint64_t expired_spans; /* freed by the sweeper: their root never exited */
	uint64_t expired_traces;
	uint64_t unfinished_spans; /* still held at exit (roots still open) */
	uint64_t unfinished_traces;
};

/* Frees every tail buffer left (at exit, after detaching) and counts them. */
void sample_kernel__drain(struct sample_kernel *k);
void sample_kernel__stats(const struct sample_kernel *k, struct sample_kernel_stats *out);

/* What both halves decided, for the summary and the self-metrics. */
struct sampling_totals {
	double p; /* overall head probability now */
	uint64_t roots; /* traces started */
	uint64_t picked; /* picked by head sampling (remote sampled flags included) */
	uint64_t kept_error, kept_slow; /* unpicked, kept by a tail rule */
	uint64_t dropped; /* unpicked and not kept */
	uint64_t tail_held; /* spans held in kernel tail buffers */
	uint64_t tail_overflow; /* traces that outgrew their buffer (streamed) */
};

void sample_kernel__totals(const struct sample_kernel *k, const struct sampler *s,
			   const struct tt_kstats *ks, struct sampling_totals *out);
/* The exit summary's sampling lines ("ttatrace: sampling: ..."). */
void sample_kernel__print_summary(FILE *f, const struct sample_kernel *k, const struct sampler *s,
				  const struct tt_kstats *ks);

#endif
