/* A warning during the run when the ring buffer starts dropping records, whatever
 * the summary setting (--no-summary must not make drops silent): at once when
 * drops start, then at most once per DROP_WARN_INTERVAL_NS with the new count. */
#ifndef TT_DROP_WARN_H
#define TT_DROP_WARN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define DROP_WARN_INTERVAL_NS (10ULL * 1000000000ULL)

struct drop_warn {
	uint64_t reported; /* drops counted in the warnings so far */
	uint64_t last_ns; /* when the last warning was printed (0: never) */
};

/* DROPPED: the kernel's running total of records lost to a full ring buffer.
 * Prints one line to OUT and returns true when it warned. */
bool drop_warn__check(struct drop_warn *dw, uint64_t dropped, uint64_t now_ns, FILE *out);

#endif
