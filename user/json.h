/* JSON string writing shared by the jsonl and OTLP-JSON outputs. */
#ifndef TT_JSON_H
#define TT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s as a JSON string literal (with quotes): escapes quotes, backslashes and
 * control characters; bytes that are not valid UTF-8 become U+FFFD. */
void json_write_str(FILE *f, const char *s);
/* Length of the valid UTF-8 sequence at s (avail bytes readable), 0 if invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t avail);
/* Lowercase hex of n bytes, no quotes; buf must hold 2n+1. */
char *hex_encode(const uint8_t *b, size_t n, char *buf);
/* 16 lowercase hex digits of a span id (big-endian, as W3C writes it). */
char *span_id_hex(uint64_t id, char buf[17]);

#endif
