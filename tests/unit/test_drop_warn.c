/* Unit tests for the ring-buffer drop warning: at once when drops start, then
 * rate-limited, never when nothing new was dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drop_warn.h"

#define S 1000000000ULL

static void test_warns_at_start_then_rate_limited(void **state)
{
	struct drop_warn dw = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	assert_false(drop_warn__check(&dw, 0, 1 * S, out));
	assert_true(drop_warn__check(&dw, 5, 2 * S, out));
	/* more drops within the interval: counted, not printed */
	assert_false(drop_warn__check(&dw, 900, 3 * S, out));
	assert_false(drop_warn__check(&dw, 1000, 2 * S + DROP_WARN_INTERVAL_NS - 1, out));
	assert_true(drop_warn__check(&dw, 1000, 2 * S + DROP_WARN_INTERVAL_NS, out));
	/* nothing new: silent however long it has been */
	assert_false(drop_warn__check(&dw, 1000, 100 * S, out));
	fclose(out);
	assert_string_equal(buf,
			    "ttatrace: warning: ring buffer full: 5 records dropped (5 in all; a larger "
			    "--ringbuf-size, a shorter --drain-ms or fewer probes)\n"
			    "ttatrace: warning: ring buffer full: 995 records dropped since the last "
			    "warning (1000 in all; a larger --ringbuf-size, a shorter --drain-ms or "
			    "fewer probes)\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warns_at_start_then_rate_limited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
