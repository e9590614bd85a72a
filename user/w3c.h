/* W3C Trace Context level 1 traceparent: parsing an incoming header value (a
 * captured argument) and formatting our own for outgoing propagation. */
#ifndef TT_W3C_H
#define TT_W3C_H

#include <stdbool.h>
#include <stdint.h>

#define W3C_TRACEPARENT_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define W3C_FLAG_SAMPLED 0x01

/* Parses a traceparent value. Version 00 must be exactly 55 characters; a higher
 * version must be at least 55 characters with a '-' after the flags if longer, and
 * only its first four fields are read (the spec's forward-compatibility rule).
 * Every field is lowercase hex; version ff and all-zero trace or parent ids are
 * invalid. Outputs (any may be NULL) are written only on success: trace_id in
 * wire order, parent_span_id as the big-endian value of its 16 hex digits, flags
 * as sent. 0 or -EINVAL. */
int w3c_traceparent__parse(const char *s, uint8_t trace_id[16], uint64_t *parent_span_id,
			   uint8_t *flags);

/* The sampled bit of trace-flags. */
bool w3c_sampled(uint8_t flags);

/* Writes a version 00 traceparent and its NUL into out. Only the sampled flag is
 * written: level 1 says the other bits MUST be zero. -EINVAL if trace_id is all
 * zero or span_id is 0 (both invalid on the wire), else 0. */
int w3c_traceparent__format(const uint8_t trace_id[16], uint64_t span_id, uint8_t flags,
			    char out[56]);

#endif /* TT_W3C_H */
