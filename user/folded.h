/* --folded FILE: aggregates finished traces into folded stacks, one line per
 * distinct root-to-span path of span names with its self wall time in
 * microseconds ("a;b;c 123"), the format flamegraph.pl, inferno and speedscope
 * read. Written at close, sorted by path. */
#ifndef TT_FOLDED_H
#define TT_FOLDED_H

#include <stdbool.h>
#include <stdio.h>

#include "spans.h"

struct folded;

/* Opens path for writing now, so a bad path fails before tracing starts.
 * critical_path: only the branch that bounded each fan-out keeps its time. */
struct folded *folded__new(const char *path, bool critical_path);
int folded__add_trace(struct folded *f, const struct tt_trace *t);
/* Calls cb for every path in sorted order with its self time in ns. */
int folded__for_each(const struct folded *f,
		     int (*cb)(const char *path, uint64_t self_ns, void *ctx), void *ctx);
/* Writes every line to out. */
int folded__write(const struct folded *f, FILE *out);
/* Writes to the file given to folded__new and frees; accepts NULL. */
int folded__close(struct folded *f);
void folded__free(struct folded *f);
/* A sink that feeds traces to f (f stays owned by the caller). */
struct tt_sink *folded_sink__new(struct folded *f);

/* Copies a span name into a frame name: ';' and line breaks would break the
 * format and become '_'. */
void folded_frame_name(const char *name, char *buf, size_t len);

#endif
