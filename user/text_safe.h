/* Untrusted text (file names, bytes of an input file) made safe to echo in a
 * message on a terminal: control characters, escape sequences and invalid UTF-8
 * come out as \xNN, so input cannot move the cursor, retitle the window or hide
 * the rest of the message. */
#ifndef TT_TEXT_SAFE_H
#define TT_TEXT_SAFE_H

#include <stddef.h>

/* Writes the first LEN bytes of S (or up to its NUL, whichever comes first),
 * escaped, into BUF of SIZE bytes (truncated with "..." when it does not fit,
 * always NUL-terminated when SIZE > 0). Returns BUF. */
const char *text_safe(char *buf, size_t size, const char *s, size_t len);

/* Size of a buffer that holds any escaped name of up to N bytes. */
#define TEXT_SAFE_SIZE(n) ((n) * 4 + 4)

#endif
