/* Escaping of untrusted text for messages; see text_safe.h. */
#include "text_safe.h"

#include <stdio.h>

/* Length of the valid UTF-8 sequence at S (at most AVAIL bytes) that is printable,
 * 0 when S starts an invalid sequence or a C1 control (U+0080..U+009F). */
static size_t utf8_ok(const unsigned char *s, size_t avail)
{
	size_t n, i;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, past U+10FFFF, C1 controls */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

const char *text_safe(char *buf, size_t size, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, i = 0, n;

	if (!size)
		return buf;
	buf[0] = '\0';
	if (!s)
		return buf;
	while (i < len && p[i]) {
		char tmp[8];
		size_t tl;

		if (p[i] >= 0x20 && p[i] < 0x7f) {
			tmp[0] = (char)p[i];
			tl = 1;
			n = 1;
		} else if (p[i] >= 0x80 && (n = utf8_ok(p + i, len - i)) > 0) {
			for (tl = 0; tl < n; tl++)
				tmp[tl] = (char)p[i + tl];
		} else {
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
			n = 1;
		}
		if (o + tl + 4 > size) {
			/* room for "..." and the NUL */
			if (size >= 4) {
				while (o + 4 > size)
					o--;
				buf[o++] = '.';
				buf[o++] = '.';
				buf[o++] = '.';
			}
			break;
		}
		for (size_t k = 0; k < tl; k++)
			buf[o++] = tmp[k];
		i += n;
	}
	buf[o < size ? o : size - 1] = '\0';
	return buf;
}
