/* Unit tests for the folded-stack reader: the common format, malformed lines
 * (reported with their line number, skipped or rejected), and ttatrace's frame
 * annotation in both directions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "folded_parse.h"

/* What the callback saw: each line as "frame|frame|...=value". */
struct seen {
	char lines[64][512];
	size_t n;
	int fail_at; /* 1-based call that returns -ECANCELED; 0: never */
};

static int record(const char *const *frames, size_t n, uint64_t value, void *ctx)
{
	struct seen *s = ctx;
	char *o = s->lines[s->n];
	size_t at = 0;

	for (size_t i = 0; i < n && at < 400; i++)
		at += snprintf(o + at, 400 - at, "%s%s", i ? "|" : "", frames[i]);
	if (at > 400)
		at = 400;
	snprintf(o + at, 512 - at, "=%llu", (unsigned long long)value);
	s->n++;
	if (s->fail_at && (int)s->n == s->fail_at)
		return -ECANCELED;
	return 0;
}

/* stderr into a temporary file between stderr_begin() and stderr_end(), which
 * puts what was written into OUT. */
static int stderr_begin(FILE **cap)
{
	int saved;

	*cap = tmpfile();
	assert_non_null(*cap);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(*cap), STDERR_FILENO);
	return saved;
}

static void stderr_end(int saved, FILE *cap, char *out, size_t size)
{
	size_t got;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(cap);
	got = fread(out, 1, size - 1, cap);
	out[got] = '\0';
	fclose(cap);
}

/* Runs the parser on TEXT (LEN bytes) with stderr captured into ERR_OUT. */
static int parse(const char *text, size_t len, bool strict, struct seen *s,
		 struct folded_parse_stats *st, char *err_out, size_t err_size)
{
	FILE *in = fmemopen((void *)text, len, "r");
	FILE *cap;
	int saved, rc;

	assert_non_null(in);
	saved = stderr_begin(&cap);
	rc = folded_parse__file(in, "t.folded", strict, record, s, st);
	stderr_end(saved, cap, err_out, err_size);
	fclose(in);
	return rc;
}

#define PARSE(text, strict, s, st, err) parse(text, sizeof(text) - 1, strict, s, st, err, sizeof(err))

static void test_common_format(void **state)
{
	static const char text[] = "\xEF\xBB\xBFmain;work;step 10\n"
				   "\n"
				   "main;std::vector<int> foo(int, char) const 7\r\n"
				   "  \t \n"
				   "a b c;d\t42\n"
				   "solo 0\n"
				   "x;y 18446744073709551615   \n"
				   "last;no_newline 5";
	struct seen s = { 0 };
	struct folded_parse_stats st;
	char err[1024];

	(void)state;
	assert_int_equal(PARSE(text, false, &s, &st, err), 0);
	assert_string_equal(err, "");
	assert_int_equal(s.n, 6);
	assert_string_equal(s.lines[0], "main|work|step=10");
	/* the LAST blank separates the count: names keep their spaces */
	assert_string_equal(s.lines[1], "main|std::vector<int> foo(int, char) const=7");
	assert_string_equal(s.lines[2], "a b c|d=42");
	assert_string_equal(s.lines[3], "solo=0");
	assert_string_equal(s.lines[4], "x|y=18446744073709551615");
	assert_string_equal(s.lines[5], "last|no_newline=5");
	assert_int_equal(st.lines, 8);
	assert_int_equal(st.stacks, 6);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.max_depth, 3);
	/* 10 + 7 + 42 + 0 + UINT64_MAX saturates */
	assert_true(st.total == UINT64_MAX);
}

static void test_malformed_lines_reported_and_skipped(void **state)
{
	static const char text[] = "ok;one 1\n"
				   "no_count_here\n"
				   "a;b 12.5\n"
				   "a;b 18446744073709551616\n"
				   "a;;b 3\n"
				   ";lead 3\n"
				   "trail; 3\n"
				   "    9\n"
				   "a;b -4\n"
				   "ok;two 2\n";
	struct seen s = { 0 };
	struct folded_parse_stats st;
	char err[4096];

	(void)state;
	assert_int_equal(PARSE(text, false, &s, &st, err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[0], "ok|one=1");
	assert_string_equal(s.lines[1], "ok|two=2");
	assert_int_equal(st.malformed, 8);
	assert_int_equal(st.stacks, 2);
	assert_non_null(strstr(err, "ttatrace: t.folded:2: missing count"));
	assert_non_null(strstr(err, "ttatrace: t.folded:3: count '12.5' is not a non-negative integer"));
	assert_non_null(strstr(err, "ttatrace: t.folded:4: count '18446744073709551616' does not fit"));
	assert_non_null(strstr(err, "ttatrace: t.folded:5: empty frame name (frame 2)"));
	assert_non_null(strstr(err, "ttatrace: t.folded:6: empty frame name (frame 1)"));
	assert_non_null(strstr(err, "ttatrace: t.folded:7: empty frame name (frame 2)"));
	assert_non_null(strstr(err, "ttatrace: t.folded:8: empty stack"));
	assert_non_null(strstr(err, "ttatrace: t.folded:9: count '-4'"));
	/* one line per problem, nothing about the good lines */
	size_t nl = 0;
	for (const char *p = err; *p; p++)
		nl += *p == '\n';
	assert_int_equal(nl, 8);
}

static void test_nul_byte(void **state)
{
	static const char text[] = "a;b\0c 1\nd 2\n";
	struct seen s = { 0 };
	struct folded_parse_stats st;
	char err[512];

	(void)state;
	assert_int_equal(PARSE(text, false, &s, &st, err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.lines[0], "d=2");
	assert_non_null(strstr(err, "t.folded:1: NUL byte"));
}

static void test_strict_rejects_at_first_bad_line(void **state)
{
	static const char text[] = "a 1\nb 2\nbroken\nc 3\nalso broken\n";
	struct seen s = { 0 };
	struct folded_parse_stats st;
	char err[512];

	(void)state;
	assert_int_equal(PARSE(text, true, &s, &st, err), -EINVAL);
	assert_int_equal(s.n, 2);
	assert_int_equal(st.malformed, 1);
	assert_string_equal(err, "ttatrace: t.folded:3: missing count (expected 'frame;frame;... COUNT')\n");
}

static void test_report_flood_is_capped(void **state)
{
	char text[4096], err[8192];
	size_t at = 0;
	struct seen s = { 0 };
	struct folded_parse_stats st;
	size_t reported = 0;

	(void)state;
	for (int i = 0; i < 50; i++)
		at += snprintf(text + at, sizeof(text) - at, "garbage%d\n", i);
	at += snprintf(text + at, sizeof(text) - at, "fine 1\n");
	assert_int_equal(parse(text, at, false, &s, &st, err, sizeof(err)), 0);
	assert_int_equal(st.malformed, 50);
	assert_int_equal(s.n, 1);
	for (const char *p = err; (p = strstr(p, "missing count")); p++)
		reported++;
	assert_int_equal(reported, FOLDED_PARSE_MAX_REPORTS);
	assert_non_null(strstr(err, "t.folded:20: missing count"));
	assert_null(strstr(err, "t.folded:21:"));
	assert_non_null(strstr(err, "ttatrace: t.folded: 50 malformed lines skipped (first 20 shown)"));
}

static void test_callback_error_stops(void **state)
{
	static const char text[] = "a 1\nb 2\nc 3\n";
	struct seen s = { .fail_at = 2 };
	struct folded_parse_stats st;
	char err[64];

	(void)state;
	assert_int_equal(PARSE(text, false, &s, &st, err), -ECANCELED);
	assert_int_equal(s.n, 2);
}

static void test_long_line_and_deep_stack(void **state)
{
	size_t depth = 5000, cap = depth * 8 + 64, at = 0;
	char *text = malloc(cap), err[64];
	struct seen *s = calloc(1, sizeof(*s));
	struct folded_parse_stats st;

	(void)state;
	for (size_t i = 0; i < depth; i++)
		at += snprintf(text + at, cap - at, "%sf%zu", i ? ";" : "", i % 1000);
	at += snprintf(text + at, cap - at, " 77\n");
	assert_int_equal(parse(text, at, true, s, &st, err, sizeof(err)), 0);
	assert_int_equal(st.max_depth, depth);
	assert_int_equal(st.total, 77);
	free(text);
	free(s);
}

static void check_annotation(const char *frame, size_t name_len, const char *kind, bool error)
{
	const char *k = (const char *)1;
	size_t kl = 99;
	bool e = !error;

	assert_int_equal(folded_parse__annotation(frame, &k, &kl, &e), name_len);
	if (kind) {
		assert_non_null(k);
		assert_int_equal(kl, strlen(kind));
		assert_memory_equal(k, kind, kl);
	} else {
		assert_null(k);
		assert_int_equal(kl, 0);
	}
	assert_int_equal(e, error);
}

static void test_annotation(void **state)
{
	(void)state;
	check_annotation("fetch [parallel]", 5, "parallel", false);
	check_annotation("fetch [parallel!]", 5, "parallel", true);
	check_annotation("charge card [step!]", 11, "step", true);
	check_annotation("x [!]", 1, NULL, true);
	check_annotation("k8s [custom-kind.v2]", 3, "custom-kind.v2", false);
	check_annotation("a [step] [retry]", 8, "retry", false);
	/* not ours: left whole */
	check_annotation("plain", 5, NULL, false);
	check_annotation("do_idle_[k]", 11, NULL, false);
	check_annotation("[unknown]", 9, NULL, false);
	check_annotation("f() [clone .cold]", 17, NULL, false);
	check_annotation("a [Parallel]", 12, NULL, false);
	check_annotation("a []", 4, NULL, false);
	check_annotation(" [step]", 7, NULL, false);
	check_annotation("a[step]", 7, NULL, false);
	check_annotation("a [9lives]", 10, NULL, false);
	check_annotation("a [abcdefghijklmnopqrstuvwxyz0123456]", 37, NULL, false); /* 33 chars */
	check_annotation("a [abcdefghijklmnopqrstuvwxyz012345]", 1, "abcdefghijklmnopqrstuvwxyz012345",
			 false);
	/* NULL outs are allowed */
	assert_int_equal(folded_parse__annotation("z [step]", NULL, NULL, NULL), 1);
}

static char *write_frame(const char *name, const char *kind, bool error)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(folded_parse__write_frame(f, name, kind, error), 0);
	fclose(f);
	return buf;
}

static void test_write_frame_round_trip(void **state)
{
	char *s;
	const char *k;
	size_t kl;
	bool e;

	(void)state;
	s = write_frame("a;b\nc\td", "retry", true);
	assert_string_equal(s, "a:b c d [retry!]");
	assert_int_equal(folded_parse__annotation(s, &k, &kl, &e), 7);
	assert_int_equal(kl, 5);
	assert_memory_equal(k, "retry", 5);
	assert_true(e);
	free(s);

	s = write_frame("plain", NULL, false);
	assert_string_equal(s, "plain");
	free(s);
	s = write_frame("err only", NULL, true);
	assert_string_equal(s, "err only [!]");
	free(s);
	/* a kind that could not be read back is left out rather than written wrong */
	s = write_frame("odd", "Bad Kind", false);
	assert_string_equal(s, "odd");
	free(s);
	s = write_frame("", "step", false);
	assert_string_equal(s, "? [step]");
	free(s);
}

static void test_format_frame(void **state)
{
	char buf[64], small[8];

	(void)state;
	assert_int_equal(folded_parse__format_frame(buf, sizeof(buf), "pay;card\n", "step", true), 17);
	assert_string_equal(buf, "pay:card  [step!]");
	assert_int_equal(folded_parse__format_frame(buf, sizeof(buf), "x", NULL, false), 1);
	assert_string_equal(buf, "x");
	/* too small: cut, terminated, and the needed length told */
	assert_int_equal(folded_parse__format_frame(small, sizeof(small), "abcdef", "retry", false), 14);
	assert_string_equal(small, "abcdef ");
	assert_int_equal(folded_parse__format_frame(small, sizeof(small), "abcdefghij", "retry", false),
			 18);
	assert_string_equal(small, "abcdefg");
	assert_int_equal(folded_parse__format_frame(NULL, 0, "abc", NULL, true), 7);
}

/* Issue 13 item 14: bytes of the input are echoed escaped, never raw. */
static void test_messages_escape_control_characters(void **state)
{
	static const char text[] = "a;b \x1b]0;pwned\x07\n"
				   "c \x9b" "31m\n";
	struct seen s = { 0 };
	struct folded_parse_stats st;
	char err[4096];

	(void)state;
	assert_int_equal(PARSE(text, false, &s, &st, err), 0);
	assert_int_equal(st.malformed, 2);
	assert_non_null(strstr(err, "t.folded:1: count '\\x1b]0;pwned\\x07'"));
	assert_non_null(strstr(err, "t.folded:2: count '\\x9b" "31m'"));
	for (const char *p = err; *p; p++)
		assert_true(*p == '\n' || ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f));
}

/* An endless line is refused at FOLDED_PARSE_MAX_LINE with one clear line, and
 * the file name in messages is escaped too. */
static void test_line_cap(void **state)
{
	size_t len = FOLDED_PARSE_MAX_LINE + 100;
	char *text = malloc(len);
	struct seen s = { 0 };
	struct folded_parse_stats st;
	char err[4096];
	FILE *cap;
	int saved, rc;

	(void)state;
	assert_non_null(text);
	memcpy(text, "ok 1\n", 5);
	memset(text + 5, 'a', len - 5);
	saved = stderr_begin(&cap);
	rc = folded_parse__buffer(text, len, "evil\x1b[2Jname", false, record, &s, &st);
	stderr_end(saved, cap, err, sizeof(err));
	free(text);
	assert_int_equal(rc, -EFBIG);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(err, "ttatrace: evil\\x1b[2Jname:2: line longer than 16 MiB"));
}

/* A directory says so, instead of "Input/output error". */
static void test_directory(void **state)
{
	FILE *d = fopen("/", "r");
	struct seen s = { 0 };
	char err[1024];
	FILE *cap;
	int saved, rc;

	(void)state;
	assert_non_null(d);
	saved = stderr_begin(&cap);
	rc = folded_parse__file(d, "/", false, record, &s, NULL);
	stderr_end(saved, cap, err, sizeof(err));
	fclose(d);
	assert_int_equal(rc, -EISDIR);
	assert_string_equal(err, "ttatrace: /: is a directory (expected a folded file)\n");
}

/* The buffer entry point sees what the file one sees. */
static void test_buffer_entry_point(void **state)
{
	static const char text[] = "a;b 1\nc 2";
	struct seen s = { 0 };
	struct folded_parse_stats st;

	(void)state;
	assert_int_equal(folded_parse__buffer(text, sizeof(text) - 1, "b", true, record, &s, &st), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[1], "c=2");
	assert_int_equal(folded_parse__buffer("", 0, "b", true, record, &s, &st), 0);
	assert_int_equal(st.lines, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_common_format),
		cmocka_unit_test(test_malformed_lines_reported_and_skipped),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_strict_rejects_at_first_bad_line),
		cmocka_unit_test(test_report_flood_is_capped),
		cmocka_unit_test(test_callback_error_stops),
		cmocka_unit_test(test_long_line_and_deep_stack),
		cmocka_unit_test(test_annotation),
		cmocka_unit_test(test_write_frame_round_trip),
		cmocka_unit_test(test_format_frame),
		cmocka_unit_test(test_messages_escape_control_characters),
		cmocka_unit_test(test_line_cap),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_buffer_entry_point),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
