/* Self time of every span of a trace, either as plain wall time or restricted to
 * the trace's critical path, and the stacks (root..span, self time) that folded
 * and flame graph outputs are made of.
 *
 * Why: a wall-time flame graph sums the time of parallel branches, so a fan-out of
 * four 1 s branches that took 1 s shows as 4 s. The critical-path view keeps only
 * the branch that bounded each span's duration, so the graph adds up to the
 * workflow's wall time.
 *
 * Plain self time (critical_path = false): a span's duration minus the union of
 * its children's intervals, each clipped to the span. Overlapping children (other
 * threads) are counted once, so self time is never negative; children sticking out
 * of the parent are cut at its edges.
 *
 * Critical path (critical_path = true), the backward walk used by trace viewers:
 *
 *     walk(span S, window [lo, hi]):            root: its own [start, end]
 *         cursor = hi
 *         loop:
 *             among S's children whose interval, clipped to [lo, hi], is non-empty
 *             and starts before cursor, pick C with the latest end e = min(end, cursor)
 *             (ties: the earlier start, i.e. the longer branch)
 *             none: self(S) += cursor - lo; stop
 *             self(S) += cursor - e             (S was running alone there)
 *             walk(C, [max(C.start, lo), e])
 *             cursor = max(C.start, lo)
 *
 * Every step hands out [e, cursor] and [start, e] exactly once, so the self times
 * on the path add up to hi - lo: for each root, exactly its duration. Spans off the
 * path and all their descendants get 0. A child that outlives the cursor (a
 * sequence whose steps overlap) only keeps the part before the cursor. Each entry
 * of trace->roots is walked on its own (roots[1..] are spans whose parent was lost).
 */
#ifndef TT_CRITPATH_H
#define TT_CRITPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spans.h"

/* Fills SELF_NS[i] (t->n_spans entries) with the self time of t->spans[i].
 * The tree is taken from the parent pointers: a span whose parent is NULL or not
 * in t->spans is a root (spans caught in a parent cycle belong to no root and get
 * 0 on the critical path). Returns 0, -EINVAL (NULL arguments or a NULL entry in
 * t->spans) or -ENOMEM. */
int critpath__self_ns(const struct tt_trace *t, uint64_t *self_ns, bool critical_path);

/* One stack: FRAMES/KINDS/ERRORS[0] is the root, [n-1] the span itself. KINDS
 * entries are the spans' kinds (may be NULL); ERRORS[i] is status == ERROR. */
typedef int (*critpath_stack_cb)(const char *const *frames, const char *const *kinds,
				 const bool *errors, size_t n, uint64_t self_ns, void *ctx);

/* Calls CB once per span with a non-zero self time (see critpath__self_ns), in
 * depth-first order from each root, children in start order. A span whose
 * parent is not in the trace is a root. Returns 0, a negative errno, or CB's
 * non-zero return. */
int critpath__stacks(const struct tt_trace *t, bool critical_path, critpath_stack_cb cb,
		     void *ctx);

#endif /* TT_CRITPATH_H */
