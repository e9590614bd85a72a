/* Workflow primitive semantics: turns a finished trace's raw function spans into
 * what each primitive decided (step index, branch taken, retry attempts, which
 * fallback served, cache hit, saga compensations ...), as tta.* span attributes
 * and retry span links. */
#ifndef TT_PRIMITIVES_H
#define TT_PRIMITIVES_H

#include <stdbool.h>

#include "spans.h"

/* Annotates every span of t in place. Call once the trace is assembled (tree
 * linked, children in start order, kind strings and error statuses set) and before
 * it reaches any output. Attributes and links live in t->arena. 0, -EINVAL (no
 * trace or no arena) or -ENOMEM (the trace is then partly annotated). */
int primitives__annotate(struct tt_trace *t);

/* True if any span of t has status ERROR. */
bool primitives__has_error(const struct tt_trace *t);

#endif /* TT_PRIMITIVES_H */
