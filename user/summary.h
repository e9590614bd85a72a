/* The summary printed at exit: spans seen and printed, every drop by reason, and
 * per-function count and mean/max duration, or, given the kernel histograms,
 * count, calls/s, error rate and p50/p95/p99/max. */
#ifndef TT_SUMMARY_H
#define TT_SUMMARY_H

#include <stdio.h>

#include "assembler.h"
#include "ttatrace.h"

struct probe_table;
struct metrics_source;

/* A sink that counts spans per probe into the probe table. */
struct tt_sink *summary_sink__new(struct probe_table *pt);

struct run_totals {
	double elapsed_s;
	size_t probes_attached;
	size_t probes_failed;
	uint64_t sink_spans_printed; /* spans written by the span output (tree/jsonl) */
	/* kernel histograms by probe id (hist_reader__source); when NULL, or when a
	 * probe is past the histogram map, the per-function lines come from the spans
	 * received instead */
	const struct metrics_source *hist;
};

void summary__print(FILE *f, struct probe_table *pt, const struct tt_kstats *ks,
		    const struct assembler_stats *as, const struct run_totals *rt);
/* Total of the drops counted in ks and as (0 means nothing was lost). */
uint64_t summary__drops(const struct tt_kstats *ks, const struct assembler_stats *as);

#endif
