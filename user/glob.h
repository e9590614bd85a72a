/* Shell-style glob matching for symbol and library names (catalogue patterns, -e FUNC). */
#ifndef TT_GLOB_H
#define TT_GLOB_H

#include <stdbool.h>

/*
 * Pattern syntax, byte-wise and locale-independent:
 *   *        any run of bytes, including none (and including '/', ':' and '.')
 *   ?        exactly one byte
 *   [abc]    one byte of the set; [a-z] ranges; [!a-z] or [^a-z] negates;
 *            ']' first in the set (after any negation) is literal, '-' first or last is
 *            literal; [:alpha:], [:digit:], [:alnum:], [:upper:], [:lower:], [:space:],
 *            [:xdigit:], [:punct:], [:print:], [:graph:], [:cntrl:], [:blank:] classes
 *   \c       the byte c, literally (also inside brackets)
 */

/* True if s matches the whole pattern. A malformed pattern (see glob_validate) matches
 * nothing; the empty pattern matches only the empty string. */
bool glob_match(const char *pattern, const char *s);

/* True if the pattern has no metacharacter (* ? [ \), so it matches only itself and a
 * caller may look it up by equality. */
bool glob_is_literal(const char *pattern);

/* 0 if the pattern is usable, -EINVAL if it is NULL, empty, has an unterminated '[',
 * an unknown [:class:], a reversed range such as [z-a], or ends in a lone backslash. */
int glob_validate(const char *pattern);

#endif /* TT_GLOB_H */
