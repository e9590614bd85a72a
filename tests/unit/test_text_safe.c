/* Unit tests for text_safe(): what untrusted text looks like in a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text_safe.h"

static const char *esc(const char *s, size_t len)
{
	static char buf[256];

	return text_safe(buf, sizeof(buf), s, len);
}

static void test_plain_and_utf8_kept(void **state)
{
	(void)state;
	assert_string_equal(esc("main;work 12", SIZE_MAX), "main;work 12");
	assert_string_equal(esc("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\xa5", SIZE_MAX),
			    "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\xa5");
}

static void test_controls_escaped(void **state)
{
	(void)state;
	assert_string_equal(esc("\x1b[2J\x07\r\n\t\x7f", SIZE_MAX), "\\x1b[2J\\x07\\x0d\\x0a\\x09\\x7f");
	/* 8-bit CSI, its UTF-8 form (a C1 control), a lone continuation byte,
	 * an overlong '/', a surrogate, a truncated sequence */
	assert_string_equal(esc("\x9b" "1m", SIZE_MAX), "\\x9b1m");
	assert_string_equal(esc("\xc2\x9b", SIZE_MAX), "\\xc2\\x9b");
	assert_string_equal(esc("\x80", SIZE_MAX), "\\x80");
	assert_string_equal(esc("\xc0\xaf", SIZE_MAX), "\\xc0\\xaf");
	assert_string_equal(esc("\xed\xa0\x80", SIZE_MAX), "\\xed\\xa0\\x80");
	assert_string_equal(esc("\xe2\x86", SIZE_MAX), "\\xe2\\x86");
	/* LEN bounds the input, not the NUL */
	assert_string_equal(esc("abc\x1b", 3), "abc");
}

static void test_truncated_with_ellipsis(void **state)
{
	char small[12];

	(void)state;
	assert_string_equal(text_safe(small, sizeof(small), "0123456789abcdef", SIZE_MAX), "01234567...");
	assert_string_equal(text_safe(small, sizeof(small), "\x1b\x1b\x1b", SIZE_MAX), "\\x1b\\x1b...");
	assert_string_equal(text_safe(small, 1, "abc", SIZE_MAX), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_utf8_kept),
		cmocka_unit_test(test_controls_escaped),
		cmocka_unit_test(test_truncated_with_ellipsis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
