/* Kernel latency histograms: reading and merging the per-CPU `hists` map, bucket
 * bounds, percentiles, and a reader that serves them to the metrics endpoint and
 * the exit summary. */
#ifndef TT_HIST_H
#define TT_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "ttatrace.h"

struct ttatrace_bpf;
struct probe_table;
struct metrics_source;

/* One probe's (or one primitive's) totals over every CPU. */
struct hist_snapshot {
	uint64_t calls;
	uint64_t errors;
	uint64_t sum_ns;
	uint64_t max_ns;
	int64_t inflight;
	uint64_t buckets[TT_HIST_NBUCKETS];
};

/* Bucket b holds durations in [lower, upper) ns; the last one also holds every
 * duration past its upper bound. */
uint64_t hist__bucket_lower_ns(uint32_t b);
uint64_t hist__bucket_upper_ns(uint32_t b);
/* The value reported for a duration in bucket b: within 3.125% of any of them. */
uint64_t hist__bucket_mid_ns(uint32_t b);

/* Counts one call of duration ns (ret as the kernel sees it), as the BPF code does. */
void hist__record(struct hist_snapshot *s, uint64_t ns, int32_t ret);
/* dst += src (counters, buckets; max of max). */
void hist__add(struct hist_snapshot *dst, const struct hist_snapshot *src);
/* Sums ncpu per-CPU values of one probe into out. */
void hist__merge_percpu(const struct tt_hist *per, int ncpu, struct hist_snapshot *out);
/* The q-quantile (0 < q <= 1, nearest rank) in ns: the midpoint of the bucket
 * holding the ceil(q * calls)-th smallest duration, never above max_ns (q = 1: max_ns). 0 if no
 * calls. Within 3.125% of the exact nearest-rank value. */
uint64_t hist__percentile_ns(const struct hist_snapshot *s, double q);
/* Durations below le_ns: the sum of the buckets whose upper bound is <= le_ns. */
uint64_t hist__count_below(const struct hist_snapshot *s, uint64_t le_ns);

/* Reads probe id from the `hists` map (fd) and merges its CPUs. 0, -ENOENT when
 * the id is past the map, or a negative errno. */
/* The kernel's per-CPU counters (map kstats), summed over CPUs. 0 or -errno. */
int kstats__read(int map_fd, struct tt_kstats *out);
int hist__read(int map_fd, uint32_t probe_id, struct hist_snapshot *out);

/* Serves the loaded skeleton's histograms and kernel counters through a
 * metrics_source. Probe names and kinds are copied by hist_reader__sync, which the
 * thread that changes the probe table calls after attaching; the source's
 * callbacks may then run on any thread. */
struct hist_reader;

struct hist_reader *hist_reader__new(struct ttatrace_bpf *skel);
void hist_reader__free(struct hist_reader *r);
/* Copies the names and kinds of the probes of pt. 0 or -ENOMEM. */
int hist_reader__sync(struct hist_reader *r, struct probe_table *pt);
/* Fills src with callbacks reading through r (valid until hist_reader__free). */
void hist_reader__source(struct hist_reader *r, struct metrics_source *src);

#endif
