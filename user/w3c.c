/* W3C Trace Context level 1 traceparent parsing and formatting
 * (https://www.w3.org/TR/trace-context/#traceparent-header). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "w3c.h"

/* Offsets of the fields in "vv-<trace id>-<parent id>-ff". */
#define OFF_TRACE 3
#define OFF_PARENT 36
#define OFF_FLAGS 53

/* The spec's HEXDIGLC: uppercase is not accepted. */
static int hexlc(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes 2*n lowercase hex digits into n bytes; false on any other character. */
static bool hex_bytes(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexlc(s[2 * i]), lo = hexlc(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

int w3c_traceparent__parse(const char *s, uint8_t trace_id[16], uint64_t *parent_span_id,
			   uint8_t *flags)
{
	uint8_t ver, tid[16], pid[8], fl;
	uint64_t parent = 0;
	size_t len;

	if (!s)
		return -EINVAL;
	/* strnlen: a hostile capture need not be short, and we only care about 56 */
	len = strnlen(s, W3C_TRACEPARENT_LEN + 1);
	if (len < W3C_TRACEPARENT_LEN)
		return -EINVAL;
	if (!hex_bytes(s, &ver, 1) || ver == 0xff)
		return -EINVAL;
	if (ver == 0x00 && len != W3C_TRACEPARENT_LEN)
		return -EINVAL;
	/* a future version may append fields, but only after another dash */
	if (len > W3C_TRACEPARENT_LEN && s[W3C_TRACEPARENT_LEN] != '-')
		return -EINVAL;
	if (s[OFF_TRACE - 1] != '-' || s[OFF_PARENT - 1] != '-' || s[OFF_FLAGS - 1] != '-')
		return -EINVAL;
	if (!hex_bytes(s + OFF_TRACE, tid, sizeof(tid)) || all_zero(tid, sizeof(tid)))
		return -EINVAL;
	if (!hex_bytes(s + OFF_PARENT, pid, sizeof(pid)) || all_zero(pid, sizeof(pid)))
		return -EINVAL;
	if (!hex_bytes(s + OFF_FLAGS, &fl, 1))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(pid); i++)
		parent = parent << 8 | pid[i];
	if (trace_id)
		memcpy(trace_id, tid, sizeof(tid));
	if (parent_span_id)
		*parent_span_id = parent;
	if (flags)
		*flags = fl;
	return 0;
}

bool w3c_sampled(uint8_t flags)
{
	return flags & W3C_FLAG_SAMPLED;
}

int w3c_traceparent__format(const uint8_t trace_id[16], uint64_t span_id, uint8_t flags,
			    char out[56])
{
	static const char digits[] = "0123456789abcdef";
	char *p = out;

	if (!trace_id || !out || all_zero(trace_id, 16) || !span_id)
		return -EINVAL;
	*p++ = '0';
	*p++ = '0';
	*p++ = '-';
	for (int i = 0; i < 16; i++) {
		*p++ = digits[trace_id[i] >> 4];
		*p++ = digits[trace_id[i] & 0xf];
	}
	*p++ = '-';
	for (int shift = 60; shift >= 0; shift -= 4)
		*p++ = digits[(span_id >> shift) & 0xf];
	*p++ = '-';
	flags &= W3C_FLAG_SAMPLED;
	*p++ = digits[flags >> 4];
	*p++ = digits[flags & 0xf];
	*p = '\0';
	return 0;
}
