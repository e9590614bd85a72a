/* Flame graph builder and self-contained interactive SVG renderer: plain,
 * icicle (top-down) and differential graphs, from folded stacks or from traces.
 *
 * Stacks are merged into a prefix tree as they arrive (identical paths share
 * nodes, names are interned once), so a folded file of millions of lines streams
 * in without being held. Values are plain integers: the renderer assumes no unit
 * except for display (opts.unit: "ns", "us", "ms", "s" are shown as durations,
 * anything else as "N <unit>", e.g. perf's "samples").
 *
 * A frame is (name, kind, error). Frames read from folded files may carry
 * ttatrace's annotation "name [kind]" / "name [kind!]" (see folded_parse.h):
 * flamegraph__add_folded() strips it from the displayed name and uses it for the
 * colour and the error mark.
 *
 * The SVG (SVG 1.1, one inline script, nothing fetched): a synthetic root "all",
 * frame width proportional to value, children left to right in the order they
 * were first seen, the parent's self time as the gap on the right. Hover shows
 * name, value and percent; click zooms into a frame (it then spans the full
 * width, its ancestors dimmed) and "Reset Zoom" or Escape goes back; the search
 * box (Ctrl+F; a substring, case-insensitive, or /regex/) highlights matching
 * frames and shows the matched percent of the total, nested matches counted once.
 * Colours: by primitive kind with a legend (frames without a kind in warm colours
 * by name); errors get a red outline; a diff graph is blue (shrank) -> white ->
 * red (grew). Each frame is
 *
 *   <g class="f" data-name="..." data-kind="..." data-err="1" data-value="V"
 *      data-self="S" data-x="X" data-depth="D" [data-base="A"]>
 *     <title>...</title><rect .../><text ...>...</text></g>
 *
 * with X the frame's offset from the left edge in value units (the sum of the
 * values to its left within the root), which the script and tests rely on.
 */
#ifndef TT_FLAMEGRAPH_H
#define TT_FLAMEGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "spans.h"

#define FLAMEGRAPH_DEFAULT_WIDTH_PX 1200
#define FLAMEGRAPH_MIN_WIDTH_PX 200
#define FLAMEGRAPH_MAX_WIDTH_PX 100000
/* Frames narrower than this are not drawn, with their descendants (as flamegraph.pl). */
#define FLAMEGRAPH_DEFAULT_MIN_FRAME_PX 0.1
/* opts.min_width_px value that keeps every frame with a non-zero value. */
#define FLAMEGRAPH_KEEP_ALL (-1.0)
#define FLAMEGRAPH_DEFAULT_UNIT "us"
/* A diff frame is fully red or blue when its share of the total moved by this
 * much or by the largest move in the graph, whichever is larger (so noise in an
 * unchanged profile stays pale). */
#define FLAMEGRAPH_DIFF_FULL_SCALE 0.005
/* Layout constants, shared with the script and the tests. */
#define FLAMEGRAPH_PAD_PX 10
#define FLAMEGRAPH_FRAME_H_PX 17
#define FLAMEGRAPH_FONT_PX 12
/* Estimated advance of one character, in font sizes, for truncating names. */
#define FLAMEGRAPH_CHAR_EM 0.6

struct flamegraph_opts {
	const char *title; /* NULL: "Flame Graph", "Icicle Graph" or "Differential Flame Graph" */
	const char *subtitle; /* NULL: none; e.g. the input file names */
	const char *unit; /* NULL: FLAMEGRAPH_DEFAULT_UNIT */
	unsigned width_px; /* 0: FLAMEGRAPH_DEFAULT_WIDTH_PX */
	/* 0: FLAMEGRAPH_DEFAULT_MIN_FRAME_PX; FLAMEGRAPH_KEEP_ALL (< 0): keep every
	 * frame with a non-zero value */
	double min_width_px;
	bool icicle; /* root at the top, stacks growing down */
	bool diff; /* values given to flamegraph__add_base() are the baseline */
};

struct flamegraph;

/* Returns NULL and sets errno (EINVAL for a width outside
 * [FLAMEGRAPH_MIN_WIDTH_PX, FLAMEGRAPH_MAX_WIDTH_PX], ENOMEM). OPTS may be NULL.
 * The strings in OPTS are copied. */
struct flamegraph *flamegraph__new(const struct flamegraph_opts *opts);
void flamegraph__free(struct flamegraph *fg);

/* Adds VALUE to the stack FRAMES[0] (outermost) .. FRAMES[n-1]. KINDS may be
 * NULL or hold NULLs (no kind); ERRORS may be NULL (no errors). Names are used
 * as given (no annotation parsing). In a diff graph this is the "after" side,
 * which sizes the frames. Returns 0, -EINVAL (n == 0, a NULL or empty frame),
 * -EOVERFLOW (the total no longer fits 64 bits, or more than 2^32 frames or
 * bytes of names) or -ENOMEM. */
int flamegraph__add(struct flamegraph *fg, const char *const *frames, size_t n, uint64_t value,
		    const char *const *kinds, const bool *errors);

/* Same as flamegraph__add() for the baseline ("before") of a diff graph; only
 * allowed when opts.diff is set (-EINVAL otherwise). */
int flamegraph__add_base(struct flamegraph *fg, const char *const *frames, size_t n,
			 uint64_t value, const char *const *kinds, const bool *errors);

/* Adds one folded line's frames, taking each frame's kind and error from its
 * annotation; BASE selects flamegraph__add_base(). Same returns. */
int flamegraph__add_folded(struct flamegraph *fg, const char *const *frames, size_t n,
			   uint64_t value, bool base);

/* Adds every span of T with its self time (critpath__self_ns: plain, or only the
 * critical path when CRITICAL_PATH), as stacks of span names with their kinds
 * and errors. Self times are nanoseconds, converted to opts.unit when it is
 * "us", "ms" or "s" (rounded to nearest); use unit "ns" to keep them exact.
 * Returns 0 or a negative errno (-EINVAL for a unit that is not a time). */
int flamegraph__add_trace(struct flamegraph *fg, const struct tt_trace *t, bool critical_path);

/* One frame as drawn, in SVG order (depth first, parents before children). */
struct flamegraph_frame {
	const char *name; /* display name (annotation stripped); "all" for the root */
	const char *kind; /* NULL when none */
	bool error;
	unsigned depth; /* 0: the root "all" */
	uint64_t value; /* inclusive value ("after" in a diff) */
	uint64_t self; /* value not in any child */
	uint64_t offset; /* x in value units: values to the left within the root */
	uint64_t base; /* inclusive baseline value (diff graphs; else 0) */
	double x_px, y_px, width_px; /* the rectangle's left, top and width */
	double delta; /* diff: value/total - base/base_total (share points; else 0) */
};

typedef int (*flamegraph_walk_cb)(const struct flamegraph_frame *f, void *ctx);

/* Lays the graph out and calls CB for every frame that would be drawn (frames
 * narrower than opts.min_width_px are skipped with their descendants). Returns
 * 0, -ENOMEM or CB's non-zero return. */
int flamegraph__walk(struct flamegraph *fg, flamegraph_walk_cb cb, void *ctx);

struct flamegraph_stats {
	uint64_t total; /* sum of all values added ("after" in a diff) */
	uint64_t base_total; /* sum of the baseline values */
	uint64_t stacks; /* calls to the add functions */
	size_t nodes; /* distinct frames (paths), the root included */
	size_t max_depth; /* deepest stack, in frames */
};

void flamegraph__stats(const struct flamegraph *fg, struct flamegraph_stats *st);

/* Writes the SVG to F. A graph with nothing in it still gives a valid SVG that
 * says so. Returns 0, -ENOMEM, or the write error (-ENOSPC, -EPIPE; -EIO when
 * unknown). */
int flamegraph__write_svg(struct flamegraph *fg, FILE *f);

/* Writes the SVG to PATH ("-": standard output) through a temporary file in the
 * same directory renamed over PATH, so a failed write never leaves half an SVG.
 * Returns 0 or a negative errno. */
int flamegraph__write_svg_file(struct flamegraph *fg, const char *path);

/* A sink (spans.h) that adds every finished trace with flamegraph__add_trace();
 * FG stays owned by the caller, who writes it after the last trace. Returns NULL
 * and sets errno. */
struct tt_sink *flamegraph_sink__new(struct flamegraph *fg, bool critical_path);

#endif /* TT_FLAMEGRAPH_H */
