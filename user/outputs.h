/* Text outputs of finished traces: the indented tree (default) and JSON lines. */
#ifndef TT_OUTPUTS_H
#define TT_OUTPUTS_H

#include <stdio.h>

#include "spans.h"

/* Both write to out and never close it. NULL + errno on failure. */
struct tt_sink *tree_sink__new(FILE *out);
struct tt_sink *jsonl_sink__new(FILE *out);

/* A sink writing to out (never closed; flushed at close), named name. */
struct tt_sink *file_sink__new(FILE *out, const char *name,
			       int (*trace)(struct tt_sink *sink, const struct tt_trace *t));

/* "1.234 ms"-style human duration into buf. */
const char *fmt_duration(uint64_t ns, char *buf, size_t len);

#endif
