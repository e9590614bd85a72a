/* Unit tests for JSON string writing (escapes, UTF-8 validation), the hex helpers,
 * and the jsonl output on spans with hostile names, checked by a real JSON parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "json.h"
#include "outputs.h"

/* json_write_str(s) as a string; the caller frees it. */
static char *jstr(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	json_write_str(m, s);
	assert_int_equal(fclose(m), 0);
	return buf;
}

#define CHECK_JSTR(in, want)                                                                       \
	do {                                                                                       \
		char *got_ = jstr(in);                                                             \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_plain_and_quotes(void **state)
{
	(void)state;
	CHECK_JSTR("", "\"\"");
	CHECK_JSTR(NULL, "\"\"");
	CHECK_JSTR("tta_fetch", "\"tta_fetch\"");
	CHECK_JSTR("say \"hi\"", "\"say \\\"hi\\\"\"");
	CHECK_JSTR("C:\\path\\x", "\"C:\\\\path\\\\x\"");
	CHECK_JSTR("/slash/ok", "\"/slash/ok\"");
}

static void test_control_chars(void **state)
{
	(void)state;
	CHECK_JSTR("a\nb\tc\rd", "\"a\\nb\\tc\\rd\"");
	CHECK_JSTR("\x01", "\"\\u0001\"");
	CHECK_JSTR("x\x1fy", "\"x\\u001fy\"");
	CHECK_JSTR("\b\f", "\"\\u0008\\u000c\"");
	CHECK_JSTR("del\x7f", "\"del\\u007f\"");
}

static void test_valid_utf8_passes(void **state)
{
	(void)state;
	CHECK_JSTR("caf\xc3\xa9", "\"caf\xc3\xa9\"");				  /* é */
	CHECK_JSTR("\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"");			  /* € */
	CHECK_JSTR("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");			  /* U+1F600 */
	CHECK_JSTR("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");			  /* U+10FFFF */
	CHECK_JSTR("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");				  /* U+D7FF */
	CHECK_JSTR("\xee\x80\x80", "\"\xee\x80\x80\"");				  /* U+E000 */
	CHECK_JSTR("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\""); /* 日本 */
}

static void test_invalid_utf8_replaced(void **state)
{
	(void)state;
	/* a lone continuation byte, and bytes that never start a sequence */
	CHECK_JSTR("a\x80z", "\"a\\ufffdz\"");
	CHECK_JSTR("\xff\xfe", "\"\\ufffd\\ufffd\"");
	/* overlong encodings of '/' and of U+0000 */
	CHECK_JSTR("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	CHECK_JSTR("\xc1\xbf", "\"\\ufffd\\ufffd\"");
	CHECK_JSTR("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_JSTR("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* UTF-16 surrogates encoded in UTF-8 (CESU) */
	CHECK_JSTR("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_JSTR("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"");
	/* past U+10FFFF */
	CHECK_JSTR("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* truncated sequences, at the end and before an ASCII byte */
	CHECK_JSTR("ok\xe2\x82", "\"ok\\ufffd\\ufffd\"");
	CHECK_JSTR("\xc3z", "\"\\ufffdz\"");
}

static void test_mangled_names_unchanged(void **state)
{
	(void)state;
	CHECK_JSTR("_ZN3foo3barIiEEvT_", "\"_ZN3foo3barIiEEvT_\"");
	CHECK_JSTR("std::vector<int>::push_back(int const&)",
		   "\"std::vector<int>::push_back(int const&)\"");
	CHECK_JSTR("operator\"\" _km", "\"operator\\\"\\\" _km\"");
}

static void test_hex(void **state)
{
	static const uint8_t b[] = { 0x00, 0x01, 0xab, 0xff, 0x10 };
	uint8_t tid[16];
	char buf[33], sid[17];

	(void)state;
	assert_string_equal(hex_encode(b, sizeof(b), buf), "0001abff10");
	assert_string_equal(hex_encode(b, 0, buf), "");
	for (int i = 0; i < 16; i++)
		tid[i] = (uint8_t)(0xf0 + i);
	assert_string_equal(hex_encode(tid, 16, buf), "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");

	assert_ptr_equal(span_id_hex(0x0123456789abcdefULL, sid), sid);
	assert_string_equal(sid, "0123456789abcdef");
	assert_string_equal(span_id_hex(1, sid), "0000000000000001");
	assert_string_equal(span_id_hex(0xff00000000000000ULL, sid), "ff00000000000000");
	assert_string_equal(span_id_hex(UINT64_MAX, sid), "ffffffffffffffff");
	assert_int_equal(strlen(span_id_hex(0, sid)), 16);
}

/* --- jsonl output --------------------------------------------------------------------- */

/* Runs python3's json parser on every line of TEXT; its exit status. The parser
 * also checks the fields this test cares about, so a wrong value fails here. */
static int python_check(const char *text, const char *script, bool quiet)
{
	char path[] = "/tmp/test_json.XXXXXX";
	char cmd[4096];
	int fd = mkstemp(path);
	FILE *p;
	int st;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 -c '%s' < %s%s", script, path, quiet ? " 2>/dev/null" : "");
	p = popen(cmd, "w");
	assert_non_null(p);
	st = pclose(p);
	unlink(path);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static const char *const odd_names[] = {
	"quote\"d",
	"back\\slash",
	"new\nline\ttab",
	"ctl\x01\x1f",
	"bad\xff\xc0\xaf utf8",
	"surrogate\xed\xa0\x80",
	"caf\xc3\xa9 \xf0\x9f\x98\x80",
	"_ZN3foo3barIiEEvT_",
	"{\"json\":\"in a name\"}",
};

#define N_ODD (sizeof(odd_names) / sizeof(odd_names[0]))

static void test_jsonl_odd_names_parse(void **state)
{
	struct tt_span spans[N_ODD + 1] = {};
	struct tt_span *order[N_ODD + 1], *roots[1];
	struct tt_attr attrs[2] = {
		{ .key = "tta.note", .type = TT_ATTR_STR, .s = "x\"y\n" },
		{ .key = "tta.retry.attempt", .type = TT_ATTR_INT, .i = -3 },
	};
	struct tt_trace t = {};
	struct tt_sink *sink;
	char *buf = NULL;
	size_t len = 0, lines = 0;
	FILE *m = open_memstream(&buf, &len);
	/* every line parses; the root (first line) has an empty parent id; every
	 * other span names the root as parent; the odd names decode to what the
	 * replacement rules promise */
	static const char script[] =
		"import json,sys\n"
		"ls=[json.loads(l) for l in sys.stdin.read().splitlines()]\n"
		"assert len(ls)==10, len(ls)\n"
		"r=ls[0]\n"
		"assert r[\"parent_span_id\"]==\"\", r\n"
		"assert r[\"span_id\"]==\"00000000000000aa\", r\n"
		"assert r[\"name\"]==\"root\" and r[\"ret\"]==-11 and r[\"status\"]==\"error\", r\n"
		"assert r[\"attributes\"]=={\"tta.note\":\"x\\\"y\\n\",\"tta.retry.attempt\":-3}, r\n"
		"assert r[\"status_message\"]==\"boom \\\"x\\\"\", r\n"
		"assert all(l[\"parent_span_id\"]==\"00000000000000aa\" for l in ls[1:])\n"
		"assert len(set(l[\"trace_id\"] for l in ls))==1 and len(ls[0][\"trace_id\"])==32\n"
		"n=[l[\"name\"] for l in ls[1:]]\n"
		"assert n[0]==\"quote\\\"d\" and n[1]==\"back\\\\slash\", n\n"
		"assert n[2]==\"new\\nline\\ttab\" and n[3]==\"ctl\\x01\\x1f\", n\n"
		"assert n[4]==\"bad\\ufffd\\ufffd\\ufffd utf8\", n\n"
		"assert n[5]==\"surrogate\\ufffd\\ufffd\\ufffd\", n\n"
		"assert n[6]==\"caf\\u00e9 \\U0001F600\", n\n"
		"assert n[7]==\"_ZN3foo3barIiEEvT_\" and n[8]==\"{\\\"json\\\":\\\"in a name\\\"}\", n\n"
		"assert \"incomplete\" not in r\n";

	(void)state;
	assert_non_null(m);
	spans[0].span_id = 0xaa;
	spans[0].name = "root";
	spans[0].probe = "demo:root";
	spans[0].kind = "workflow";
	spans[0].start_ns = 1000;
	spans[0].end_ns = 5000;
	spans[0].ret = -11;
	spans[0].status = TT_STATUS_ERROR;
	spans[0].status_msg = "boom \"x\"";
	spans[0].attrs = attrs;
	spans[0].n_attrs = 2;
	order[0] = &spans[0];
	for (size_t i = 1; i <= N_ODD; i++) {
		struct tt_span *s = &spans[i];

		s->span_id = 0x100 + i;
		s->parent_span_id = 0xaa;
		s->parent = &spans[0];
		s->depth = 1;
		s->name = odd_names[i - 1];
		s->probe = odd_names[i - 1];
		s->kind = "step";
		s->start_ns = 1000 + i;
		s->end_ns = 1000 + i + 1;
		if (i == 1)
			spans[0].first_child = s;
		else
			spans[i - 1].next_sibling = s;
		order[i] = s;
	}
	roots[0] = &spans[0];
	memset(t.trace_id, 0x5a, 16);
	t.spans = order;
	t.n_spans = N_ODD + 1;
	t.roots = roots;
	t.n_roots = 1;
	t.complete = true;

	sink = jsonl_sink__new(m);
	assert_non_null(sink);
	assert_int_equal(sink->trace(sink, &t), 0);
	assert_int_equal(tt_sink__close(sink), 0);
	assert_int_equal(fclose(m), 0);

	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, N_ODD + 1);
	assert_non_null(strstr(buf, "\"trace_id\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\""));
	assert_int_equal(python_check(buf, script, false), 0);
	free(buf);
}

/* An incomplete trace is marked on every line; a known-bad document fails the
 * checker (so a pass above means something). */
static void test_jsonl_incomplete_and_checker(void **state)
{
	struct tt_span s = { .span_id = 7, .name = "orphan", .probe = "p", .kind = "step" };
	struct tt_span *order[1] = { &s };
	struct tt_trace t = { .spans = order, .n_spans = 1, .roots = order, .n_roots = 1 };
	struct tt_sink *sink;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	(void)state;
	t.trace_id[15] = 1;
	sink = jsonl_sink__new(m);
	assert_non_null(sink);
	assert_int_equal(sink->trace(sink, &t), 0);
	tt_sink__close(sink);
	fclose(m);
	assert_int_equal(python_check(buf, "import json,sys\n"
					   "l=json.loads(sys.stdin.read())\n"
					   "assert l[\"incomplete\"] is True and l[\"parent_span_id\"]==\"\"\n"
					   "assert l[\"trace_id\"]==\"0\"*31+\"1\"\n",
					   false),
			 0);
	assert_int_not_equal(python_check("{\"a\":\"unterminated}\n",
					  "import json,sys\njson.loads(sys.stdin.read())\n", true),
			     0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_quotes),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_valid_utf8_passes),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_mangled_names_unchanged),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_jsonl_odd_names_parse),
		cmocka_unit_test(test_jsonl_incomplete_and_checker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
