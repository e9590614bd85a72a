/* Shell-style glob matching for symbol and library names. Written by hand rather than on
 * fnmatch(3) so that malformed patterns are errors instead of literals, and so that matching
 * does not depend on the process locale. */
#include "glob.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* ASCII-only classes: symbol names are bytes, and the result must not change with LC_CTYPE. */
static bool in_class(const char *name, size_t len, unsigned char c, bool *known)
{
	bool upper = c >= 'A' && c <= 'Z';
	bool lower = c >= 'a' && c <= 'z';
	bool digit = c >= '0' && c <= '9';
	bool print = c >= 0x20 && c < 0x7f;
	bool graph = c > 0x20 && c < 0x7f;
	bool alnum = upper || lower || digit;

	*known = true;
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
	if (IS("alpha"))
		return upper || lower;
	if (IS("digit"))
		return digit;
	if (IS("alnum"))
		return alnum;
	if (IS("upper"))
		return upper;
	if (IS("lower"))
		return lower;
	if (IS("space"))
		return c == ' ' || (c >= '\t' && c <= '\r');
	if (IS("blank"))
		return c == ' ' || c == '\t';
	if (IS("xdigit"))
		return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	if (IS("punct"))
		return graph && !alnum;
	if (IS("print"))
		return print;
	if (IS("graph"))
		return graph;
	if (IS("cntrl"))
		return c < 0x20 || c == 0x7f;
#undef IS
	*known = false;
	return false;
}

/* One (possibly escaped) byte of a bracket expression; NULL if the escape is dangling. */
static const char *bracket_byte(const char *p, unsigned char *out)
{
	if (*p == '\\') {
		if (p[1] == '\0')
			return NULL;
		*out = (unsigned char)p[1];
		return p + 2;
	}
	*out = (unsigned char)*p;
	return p + 1;
}

/* p points just past '['. Sets *hit to whether c is in the set and *end past the closing ']'.
 * Parses the whole expression even after a hit, so that syntax errors are always seen. */
static int bracket(const char *p, unsigned char c, bool *hit, const char **end)
{
	bool negate = false, found = false, first = true;

	if (*p == '!' || *p == '^') {
		negate = true;
		p++;
	}
	for (;;) {
		unsigned char lo, hi;

		if (*p == '\0')
			return -EINVAL;
		if (*p == ']' && !first)
			break;
		first = false;
		if (p[0] == '[' && p[1] == ':') {
			const char *name = p + 2;
			const char *close = strstr(name, ":]");

			if (close) {
				bool known;

				if (in_class(name, (size_t)(close - name), c, &known))
					found = true;
				if (!known)
					return -EINVAL;
				p = close + 2;
				continue;
			}
			/* no ":]" anywhere: the '[' is an ordinary member */
		}
		p = bracket_byte(p, &lo);
		if (!p)
			return -EINVAL;
		if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			p = bracket_byte(p + 1, &hi);
			if (!p)
				return -EINVAL;
			if (hi < lo)
				return -EINVAL;
			if (c >= lo && c <= hi)
				found = true;
		} else if (c == lo) {
			found = true;
		}
	}
	*hit = found != negate;
	*end = p + 1;
	return 0;
}

bool glob_match(const char *pattern, const char *s)
{
	const char *p = pattern, *star_p = NULL, *star_s = NULL;

	if (!pattern || !s)
		return false;
	/* Greedy with one backtrack point: every token but '*' consumes exactly one byte, so on a
	 * mismatch only the most recent '*' needs to absorb one more byte. */
	while (*s) {
		const char *next;
		bool ok;

		if (*p == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return true;
			star_p = p;
			star_s = s;
			continue;
		}
		switch (*p) {
		case '\0':
			ok = false;
			next = p;
			break;
		case '?':
			ok = true;
			next = p + 1;
			break;
		case '[':
			if (bracket(p + 1, (unsigned char)*s, &ok, &next))
				return false;
			break;
		case '\\':
			if (p[1] == '\0')
				return false;
			ok = p[1] == *s;
			next = p + 2;
			break;
		default:
			ok = *p == *s;
			next = p + 1;
			break;
		}
		if (ok) {
			p = next;
			s++;
		} else if (star_p) {
			p = star_p;
			s = ++star_s;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

bool glob_is_literal(const char *pattern)
{
	return pattern && !strpbrk(pattern, "*?[\\");
}

int glob_validate(const char *pattern)
{
	const char *p = pattern;

	if (!p || !*p)
		return -EINVAL;
	while (*p) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return -EINVAL;
			p += 2;
		} else if (*p == '[') {
			const char *end;
			bool hit;

			if (bracket(p + 1, 0, &hit, &end))
				return -EINVAL;
			p = end;
		} else {
			p++;
		}
	}
	return 0;
}
