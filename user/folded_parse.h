/* Streaming reader for folded stack files ("a;b;c 123"), the format of
 * flamegraph.pl, inferno, speedscope and `perf script | stackcollapse-perf.pl`,
 * plus the optional frame annotation ttatrace writes so that a primitive's kind
 * and its errors survive a round trip through a folded file.
 *
 * Line format: frames separated by ';', then blanks (spaces or tabs), then an
 * unsigned decimal count. The LAST run of blanks separates stack and count, so
 * frame names may contain spaces ("std::vector<int> foo(int, char)"). Blank lines
 * are skipped; a trailing '\r' and a UTF-8 BOM on line 1 are ignored. Anything else
 * (no count, a count that is not an integer or overflows 64 bits, an empty frame
 * such as "a;;b", a NUL byte) is malformed.
 *
 * Frame annotation (ttatrace's own extension, written by our folded output):
 *
 *     name [kind]      the frame is a primitive of that kind
 *     name [kind!]     ... and it ended in error
 *     name [!]         an error, kind unknown
 *
 * i.e. a space, '[', an optional kind matching [a-z][a-z0-9_.-]{0,31}, an optional
 * '!', and ']' at the very end of the frame; at least one of kind and '!' present.
 * To flamegraph.pl, inferno and speedscope the annotation is simply part of the
 * frame name, so their graphs stay readable ("fetch [parallel]"), and the same
 * call with and without an error stays two separate frames. Perf's own suffixes
 * ("func_[k]", "[unknown]") and demangler tags ("f() [clone .cold]") do not match
 * the pattern, so they are left alone. ttatrace's renderer strips the annotation
 * from the displayed name and uses it for colour and the error mark.
 */
#ifndef TT_FOLDED_PARSE_H
#define TT_FOLDED_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Lines reported one by one on stderr before the rest are only counted. */
#define FOLDED_PARSE_MAX_REPORTS 20
/* Longest line read (a stack 10,000 frames deep of 1 KiB names fits): past it the
 * input is rejected, so an endless line (/dev/zero) cannot exhaust memory. */
#define FOLDED_PARSE_MAX_LINE (16 << 20)
/* Longest kind an annotation may carry. */
#define FOLDED_MAX_KIND_LEN 32

struct folded_parse_stats {
	uint64_t lines; /* lines read, blank ones included */
	uint64_t stacks; /* well-formed lines handed to the callback */
	uint64_t malformed; /* lines reported and skipped */
	uint64_t total; /* sum of the counts handed to the callback (saturates) */
	uint64_t max_depth; /* most frames on one line */
};

/* Called once per well-formed line. FRAMES[0] is the outermost frame; the
 * strings are raw (annotation included) and valid only during the call. A
 * non-zero return stops the parse and is returned by folded_parse__file(). */
typedef int (*folded_parse_cb)(const char *const *frames, size_t n, uint64_t value, void *ctx);

/* Reads F to its end, one line at a time, without keeping past lines. Malformed
 * lines are reported as "ttatrace: FNAME:LINE: <what is wrong>" on stderr (the
 * first FOLDED_PARSE_MAX_REPORTS of them, then a count) and skipped, or, when
 * STRICT, reported and answered with -EINVAL. STATS may be NULL. Returns 0, a
 * negative errno, or the callback's non-zero return. Read errors (-EISDIR,
 * -EIO, ...) and a line longer than FOLDED_PARSE_MAX_LINE (-EFBIG) are reported
 * by the parser itself; FNAME and bytes of the input are escaped (text_safe.h)
 * in every message. */
int folded_parse__file(FILE *f, const char *fname, bool strict, folded_parse_cb cb, void *ctx,
		       struct folded_parse_stats *stats);

/* The same over LEN bytes at BUF (a fuzzing and test entry point; the file one is
 * what production uses, over the same parser). */
int folded_parse__buffer(const char *buf, size_t len, const char *fname, bool strict,
			 folded_parse_cb cb, void *ctx, struct folded_parse_stats *stats);

/* Finds FRAME's annotation. Returns the length of the name without it (the
 * whole strlen(FRAME) when there is none); *KIND / *KIND_LEN point at the kind
 * inside FRAME (NULL / 0 when absent), *ERROR tells whether '!' was present.
 * Any out pointer may be NULL. */
size_t folded_parse__annotation(const char *frame, const char **kind, size_t *kind_len,
				bool *error);

/* Writes one frame the way a folded file needs it: NAME with ';' replaced by ':'
 * and line breaks and other control characters by ' ' (they would split the stack
 * or the line), then the annotation for KIND (may be NULL; ignored unless it
 * matches the kind pattern above) and ERROR. Returns 0 or -EIO. */
int folded_parse__write_frame(FILE *f, const char *name, const char *kind, bool error);

/* The same into BUF, snprintf-style: always NUL-terminated when SIZE > 0,
 * returns the length the whole frame needs (without the NUL). */
size_t folded_parse__format_frame(char *buf, size_t size, const char *name, const char *kind,
				  bool error);

/* True when KIND can be used in an annotation. */
bool folded_parse__kind_ok(const char *kind, size_t len);

#endif /* TT_FOLDED_PARSE_H */
