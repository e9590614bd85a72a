/* Unit tests for W3C Trace Context traceparent parsing and formatting: the spec's
 * examples, each rule it states for version 00, and its forward-compatibility
 * rule for higher versions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "w3c.h"

/* The spec's example ids. */
#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"

static const uint8_t tid_bytes[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
				       0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };

static void test_spec_examples(void **state)
{
	uint8_t tid[16], flags = 0xaa;
	uint64_t parent = 0;

	(void)state;
	assert_int_equal(w3c_traceparent__parse("00-" TID "-" PID "-01", tid, &parent, &flags), 0);
	assert_memory_equal(tid, tid_bytes, 16);
	assert_true(parent == 0x00f067aa0ba902b7ULL);
	assert_int_equal(flags, 0x01);
	assert_true(w3c_sampled(flags));

	assert_int_equal(w3c_traceparent__parse("00-" TID "-" PID "-00", tid, &parent, &flags), 0);
	assert_int_equal(flags, 0x00);
	assert_false(w3c_sampled(flags));
}

static void test_flags_kept_and_sampled_bit(void **state)
{
	uint8_t flags = 0;

	(void)state;
	/* unknown flag bits are passed through; only bit 0 means sampled */
	assert_int_equal(w3c_traceparent__parse("00-" TID "-" PID "-09", NULL, NULL, &flags), 0);
	assert_int_equal(flags, 0x09);
	assert_true(w3c_sampled(flags));
	assert_int_equal(w3c_traceparent__parse("00-" TID "-" PID "-fe", NULL, NULL, &flags), 0);
	assert_int_equal(flags, 0xfe);
	assert_false(w3c_sampled(flags));
	assert_true(w3c_sampled(0xff));
	assert_false(w3c_sampled(0x02));
}

static void test_extreme_ids(void **state)
{
	uint8_t tid[16], flags;
	uint64_t parent;
	uint8_t ones[16];

	(void)state;
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(w3c_traceparent__parse("00-ffffffffffffffffffffffffffffffff-"
						"ffffffffffffffff-ff",
						tid, &parent, &flags),
			 0);
	assert_memory_equal(tid, ones, 16);
	assert_true(parent == UINT64_MAX);
	assert_int_equal(flags, 0xff);
	/* a single non-zero bit makes an id valid */
	assert_int_equal(w3c_traceparent__parse("00-00000000000000000000000000000001-"
						"0000000000000001-00",
						tid, &parent, &flags),
			 0);
	assert_int_equal(tid[15], 1);
	assert_true(parent == 1);
}

/* Every case must fail and leave the outputs untouched. */
static void assert_invalid(const char *s)
{
	uint8_t tid[16], flags = 0x5a;
	uint64_t parent = 0x1234;

	memset(tid, 0x77, sizeof(tid));
	if (w3c_traceparent__parse(s, tid, &parent, &flags) != -EINVAL)
		fail_msg("accepted invalid traceparent \"%s\"", s ? s : "(null)");
	for (int i = 0; i < 16; i++)
		assert_int_equal(tid[i], 0x77);
	assert_true(parent == 0x1234);
	assert_int_equal(flags, 0x5a);
}

static void test_invalid_version_00(void **state)
{
	(void)state;
	assert_invalid(NULL);
	assert_invalid("");
	/* all-zero ids */
	assert_invalid("00-00000000000000000000000000000000-" PID "-01");
	assert_invalid("00-" TID "-0000000000000000-01");
	/* uppercase hex in any field */
	assert_invalid("00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01");
	assert_invalid("00-" TID "-00F067AA0BA902B7-01");
	assert_invalid("00-" TID "-" PID "-0A");
	assert_invalid("0A-" TID "-" PID "-01");
	/* non-hex */
	assert_invalid("00-4bf92f3577b34da6a3ce929d0e0e473g-" PID "-01");
	assert_invalid("00-" TID "-00f067aa0ba9 2b7-01");
	assert_invalid("00-" TID "-" PID "-0x");
	assert_invalid("0g-" TID "-" PID "-01");
	assert_invalid("00-" TID "-" PID "--1");
	/* wrong lengths */
	assert_invalid("00-" TID "-" PID "-1");
	assert_invalid("00-" TID "-" PID "-011");
	assert_invalid("00-4bf92f3577b34da6a3ce929d0e0e473-" PID "-01");
	assert_invalid("00-4bf92f3577b34da6a3ce929d0e0e47366-" PID "-01");
	assert_invalid("00-" TID "-00f067aa0ba902b-01");
	assert_invalid("00-" TID "-00f067aa0ba902b77-01");
	assert_invalid("0-" TID "-" PID "-01");
	assert_invalid("000-" TID "-" PID "-01");
	/* version 00 allows nothing after the flags, not even another field */
	assert_invalid("00-" TID "-" PID "-01-");
	assert_invalid("00-" TID "-" PID "-01-what-the-future-will-be-like");
	assert_invalid("00-" TID "-" PID "-01 ");
	assert_invalid(" 00-" TID "-" PID "-01");
	/* wrong separators */
	assert_invalid("00_" TID "-" PID "-01");
	assert_invalid("00-" TID "_" PID "-01");
	assert_invalid("00-" TID "-" PID "_01");
	assert_invalid("00." TID "." PID ".01");
	/* forbidden version, whatever follows */
	assert_invalid("ff-" TID "-" PID "-01");
	assert_invalid("ff-" TID "-" PID "-01-00");
}

static void test_higher_versions(void **state)
{
	uint8_t tid[16], flags;
	uint64_t parent;

	(void)state;
	/* exactly 55 characters */
	assert_int_equal(w3c_traceparent__parse("01-" TID "-" PID "-01", tid, &parent, &flags), 0);
	assert_memory_equal(tid, tid_bytes, 16);
	assert_true(parent == 0x00f067aa0ba902b7ULL);
	assert_int_equal(flags, 1);
	/* extra fields after a dash are ignored */
	memset(tid, 0, sizeof(tid));
	assert_int_equal(w3c_traceparent__parse("cc-" TID "-" PID "-00-what-the-future-will-be-like",
						tid, &parent, &flags),
			 0);
	assert_memory_equal(tid, tid_bytes, 16);
	assert_int_equal(flags, 0);
	assert_int_equal(w3c_traceparent__parse("01-" TID "-" PID "-01-", NULL, NULL, NULL), 0);
	assert_int_equal(w3c_traceparent__parse("fe-" TID "-" PID "-01-x", NULL, NULL, NULL), 0);

	/* the 56th character must be a dash */
	assert_invalid("01-" TID "-" PID "-01x");
	assert_invalid("01-" TID "-" PID "-011-extra");
	assert_invalid("cc-" TID "-" PID "-01.what-the-future-will-be-like");
	/* shorter than 55 */
	assert_invalid("01-" TID "-" PID "-1");
	assert_invalid("01-" TID "-" PID);
	/* the first four fields keep the version 00 rules */
	assert_invalid("01-" TID "-0000000000000000-01-x");
	assert_invalid("01-00000000000000000000000000000000-" PID "-01");
	assert_invalid("01-" TID "-" PID "-0X-x");
	assert_invalid("01-" TID "-" PID "-0");
	assert_invalid("01-" TID "_" PID "-01-x");
	assert_invalid("0F-" TID "-" PID "-01");
}

static void test_format(void **state)
{
	uint8_t tid[16], flags;
	uint64_t parent;
	char out[56];
	uint8_t zero[16] = { 0 };

	(void)state;
	memset(out, 'X', sizeof(out));
	assert_int_equal(w3c_traceparent__format(tid_bytes, 0x00f067aa0ba902b7ULL, 1, out), 0);
	assert_string_equal(out, "00-" TID "-" PID "-01");
	assert_int_equal(strlen(out), W3C_TRACEPARENT_LEN);
	assert_int_equal(w3c_traceparent__format(tid_bytes, 0x00f067aa0ba902b7ULL, 0, out), 0);
	assert_string_equal(out, "00-" TID "-" PID "-00");
	/* level 1: bits other than sampled are zeroed */
	assert_int_equal(w3c_traceparent__format(tid_bytes, 0x00f067aa0ba902b7ULL, 0xff, out), 0);
	assert_string_equal(out, "00-" TID "-" PID "-01");
	assert_int_equal(w3c_traceparent__format(tid_bytes, 0x00f067aa0ba902b7ULL, 0xfe, out), 0);
	assert_string_equal(out, "00-" TID "-" PID "-00");
	assert_int_equal(w3c_traceparent__format(tid_bytes, UINT64_MAX, 1, out), 0);
	assert_string_equal(out, "00-" TID "-ffffffffffffffff-01");

	/* what we write, we read back */
	assert_int_equal(w3c_traceparent__format(tid_bytes, 0x0123456789abcdefULL, 1, out), 0);
	assert_int_equal(w3c_traceparent__parse(out, tid, &parent, &flags), 0);
	assert_memory_equal(tid, tid_bytes, 16);
	assert_true(parent == 0x0123456789abcdefULL);
	assert_int_equal(flags, 1);

	/* ids the wire forbids */
	memset(out, 'X', sizeof(out));
	assert_int_equal(w3c_traceparent__format(zero, 1, 1, out), -EINVAL);
	assert_int_equal(w3c_traceparent__format(tid_bytes, 0, 1, out), -EINVAL);
	assert_int_equal(out[0], 'X');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_flags_kept_and_sampled_bit),
		cmocka_unit_test(test_extreme_ids),
		cmocka_unit_test(test_invalid_version_00),
		cmocka_unit_test(test_higher_versions),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
