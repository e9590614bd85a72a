/* Unit tests for user/glob.c: shell-style patterns as used for symbol and module names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "glob.h"

struct mcase {
	const char *pat;
	const char *s;
	bool want;
};

static void run_cases(const struct mcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool got = glob_match(c[i].pat, c[i].s);

		if (got != c[i].want)
			fail_msg("glob_match(\"%s\", \"%s\") = %d, want %d", c[i].pat, c[i].s, got,
				 c[i].want);
	}
}

#define RUN(arr) run_cases(arr, sizeof(arr) / sizeof(arr[0]))

static void test_literals(void **state)
{
	(void)state;
	static const struct mcase c[] = {
		{ "malloc", "malloc", true },
		{ "malloc", "malloc_usable_size", false },
		{ "malloc", "mallo", false },
		{ "malloc", "Malloc", false },
		{ "malloc", "", false },
		{ "", "", true },
		{ "", "x", false },
		{ "a.b", "a.b", true },
		{ "a.b", "axb", false }, /* '.' is not a metacharacter */
		{ "a+b", "a+b", true },
		{ "a]b", "a]b", true }, /* lone ']' is ordinary */
		{ "foo(int)", "foo(int)", true },
	};
	RUN(c);
}

static void test_star(void **state)
{
	(void)state;
	static const struct mcase c[] = {
		{ "*", "", true },
		{ "*", "anything at all", true },
		{ "**", "", true },
		{ "***x", "x", true },
		{ "retry_*", "retry_", true },
		{ "retry_*", "retry_once", true },
		{ "retry_*", "retr", false },
		{ "retry_*", "xretry_once", false },
		{ "*_execute", "Sequential_execute", true },
		{ "*_execute", "Sequential_execute_", false },
		{ "*exec*", "do_execute_now", true },
		{ "*exec*", "do_exe_cute", false },
		{ "a*b*c", "abc", true },
		{ "a*b*c", "aXbYc", true },
		{ "a*b*c", "aXbYcZ", false },
		{ "a*b*c", "acb", false },
		{ "a*b*c", "abcbc", true },
		{ "*a*a*a*", "aaa", true },
		{ "*a*a*a*", "aa", false },
		{ "a*", "a/b/c", true }, /* no pathname semantics */
		{ "*.so", "/usr/lib/libc.so", true },
		/* needs backtracking past a first partial match */
		{ "*abc", "ababc", true },
		{ "*aab", "aaaab", true },
		{ "a*aab", "aaab", true },
		{ "a*aab", "aab", false },
		{ "x*yz*", "xyyzyz", true },
	};
	RUN(c);
}

static void test_question(void **state)
{
	(void)state;
	static const struct mcase c[] = {
		{ "?", "a", true },
		{ "?", "", false },
		{ "?", "ab", false },
		{ "f??", "foo", true },
		{ "f??", "fo", false },
		{ "f??", "fooo", false },
		{ "*?", "", false },
		{ "*?", "a", true },
		{ "?*?", "a", false },
		{ "?*?", "ab", true },
		{ "step_?", "step_1", true },
		{ "step_?", "step_12", false },
	};
	RUN(c);
}

static void test_brackets(void **state)
{
	(void)state;
	static const struct mcase c[] = {
		{ "[abc]", "a", true },
		{ "[abc]", "c", true },
		{ "[abc]", "d", false },
		{ "[abc]", "", false },
		{ "[abc]", "ab", false },
		{ "step[0-9]", "step5", true },
		{ "step[0-9]", "stepx", false },
		{ "step[0-9][0-9]", "step42", true },
		{ "[a-cx-z]", "b", true },
		{ "[a-cx-z]", "y", true },
		{ "[a-cx-z]", "m", false },
		{ "[a-a]", "a", true },
		{ "[!a-z]", "A", true },
		{ "[!a-z]", "q", false },
		{ "[^a-z]", "5", true },
		{ "[^a-z]", "z", false },
		{ "[!abc]x", "dx", true },
		{ "[!abc]x", "ax", false },
		{ "[!abc]", "", false }, /* negation still needs one byte */
		{ "[]]", "]", true }, /* ']' first is a member */
		{ "[]]", "a", false },
		{ "[]a]", "a", true },
		{ "[!]]", "]", false },
		{ "[!]]", "x", true },
		{ "[^]]", "]", false },
		{ "[-a]", "-", true }, /* '-' first or last is literal */
		{ "[a-]", "-", true },
		{ "[a-]", "b", false },
		{ "[!-]", "-", false },
		{ "[*?]", "*", true }, /* metacharacters are members in brackets */
		{ "[*?]", "?", true },
		{ "[*?]", "x", false },
		{ "[[]", "[", true },
		{ "x[.]y", "x.y", true },
		{ "x[.]y", "xzy", false },
		{ "*[0-9]", "retry3", true },
		{ "*[0-9]", "retry", false },
		{ "[A-Z]*", "Saga", true },
		{ "[A-Z]*", "saga", false },
	};
	RUN(c);
}

static void test_classes(void **state)
{
	(void)state;
	static const struct mcase c[] = {
		{ "[[:digit:]]", "7", true },
		{ "[[:digit:]]", "a", false },
		{ "[[:alpha:]]", "Q", true },
		{ "[[:alpha:]]", "_", false },
		{ "[[:alnum:]_]*", "_start", true },
		{ "[[:alnum:]_]*", ".cold", false },
		{ "[[:upper:]]", "a", false },
		{ "[[:lower:]]", "a", true },
		{ "[[:xdigit:]]", "F", true },
		{ "[[:xdigit:]]", "g", false },
		{ "[[:space:]]", "\t", true },
		{ "[[:blank:]]", "\n", false },
		{ "[[:punct:]]", ":", true },
		{ "[[:punct:]]", "a", false },
		{ "[![:digit:]]", "a", true },
		{ "[![:digit:]]", "1", false },
		{ "[[:digit:]x]", "x", true },
		{ "[[:cntrl:]]", "\x7f", true },
		{ "[[:print:]]", " ", true },
		{ "[[:graph:]]", " ", false },
		/* bytes above 0x7f belong to no class whatever the locale */
		{ "[[:alpha:]]", "\xe9", false },
		{ "[![:alpha:]]", "\xe9", true },
		{ "[\x80-\xff]", "\xe9", true },
		{ "[a-z]", "\xe9", false },
	};
	RUN(c);
}

static void test_escapes(void **state)
{
	(void)state;
	static const struct mcase c[] = {
		{ "\\*", "*", true },
		{ "\\*", "a", false },
		{ "a\\*", "a*", true },
		{ "a\\*", "ab", false },
		{ "\\?", "?", true },
		{ "\\?", "x", false },
		{ "\\[x]", "[x]", true },
		{ "\\[x]", "x", false },
		{ "\\\\", "\\", true },
		{ "\\a", "a", true }, /* escaping an ordinary byte is harmless */
		{ "[\\]]", "]", true },
		{ "[\\]]x", "]x", true },
		{ "[a\\-z]", "-", true },
		{ "[a\\-z]", "m", false },
		{ "[\\!a]", "!", true },
		{ "*\\*", "abc*", true },
		{ "*\\*", "abc", false },
		{ "operator\\*", "operator*", true },
	};
	RUN(c);
}

static void test_cxx_mangled(void **state)
{
	(void)state;
	static const struct mcase c[] = {
		/* tta::Sequential::execute(Context&) and friends */
		{ "_ZN3tta10Sequential7executeERNS_7ContextE",
		  "_ZN3tta10Sequential7executeERNS_7ContextE", true },
		{ "_ZN3tta*7execute*", "_ZN3tta10Sequential7executeERNS_7ContextE", true },
		{ "_ZN3tta*7execute*", "_ZN3tta8Parallel7executeERNS_7ContextE", true },
		{ "_ZN3tta*7execute*", "_ZN3foo8Parallel7executeERNS_7ContextE", false },
		{ "_ZN3tta*5Retry*", "_ZN3tta5RetryILi3EE7executeEv", true },
		{ "_ZN*[0-9]Retry*", "_ZN3tta5RetryILi3EE7executeEv", true },
		{ "_ZN*[0-9]Retry*", "_ZN3tta6XRetryE", false },
		{ "_ZN3tta*C[12]E*", "_ZN3tta5CacheC2ERKS0_", true }, /* constructors */
		{ "_ZN3tta*D[0-2]Ev", "_ZN3tta5CacheD1Ev", true }, /* destructors */
		{ "_ZN3tta*D[0-2]Ev", "_ZN3tta5CacheD3Ev", false },
		{ "_ZNK*", "_ZNK3tta5Cache3getEv", true },
		{ "_ZNK*", "_ZN3tta5Cache3getEv", false },
		/* demangled forms have spaces, colons, parens, '*' and '&' */
		{ "tta::*::execute(*)", "tta::Saga::execute(tta::Context&)", true },
		{ "tta::*::execute(*)", "tta::Saga::compensate(tta::Context&)", false },
		{ "*operator\\(\\)*", "Lambda::operator()(int)", true },
		{ "std::vector<*>::push_back*",
		  "std::vector<int, std::allocator<int> >::push_back(int&&)", true },
		/* Rust legacy mangling uses '$' and '.' */
		{ "_ZN*workflow*17h[0-9a-f]*E", "_ZN8workflow3run17h0123456789abcdefE", true },
		{ "*$LT$*", "_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$GT$17h1E", true },
		/* GCC clone suffixes */
		{ "do_step", "do_step.constprop.0", false },
		{ "do_step.*", "do_step.constprop.0", true },
		{ "do_step*", "do_step.cold", true },
	};
	RUN(c);
}

/* Malformed patterns match nothing, even strings they would match if read "literally". */
static void test_invalid_match_nothing(void **state)
{
	(void)state;
	static const struct mcase c[] = {
		{ "[abc", "[abc", false },
		{ "[abc", "a", false },
		{ "foo[", "foo[", false },
		{ "foo\\", "foo\\", false },
		{ "foo\\", "foo", false },
		{ "[z-a]", "m", false },
		{ "[z-a]", "z", false },
		{ "[[:nope:]]", "a", false },
		{ "[!", "x", false },
		{ "*[", "abc[", false },
	};
	RUN(c);
	assert_false(glob_match(NULL, "x"));
	assert_false(glob_match("x", NULL));
}

static void test_validate(void **state)
{
	(void)state;
	static const char *ok[] = {
		"a", "*", "?", "foo_*", "[abc]", "[a-z]*", "[!a-z]", "[^a-z]", "[]]", "[!]]", "[-]",
		"[a-]", "\\*", "\\\\", "[\\]]", "[[:alpha:]]", "[[]", "x]", "[a-a]",
		"[[:digit:][:upper:]]", "_ZN3tta*7execute*", "**",
	};
	static const char *bad[] = {
		"", "[", "[abc", "foo[a-", "[!", "[^", "[]", "[!]", "\\", "foo\\", "[z-a]", "[9-0]",
		"[[:nope:]]", "[[:alpha:]", "x[\\", "[a\\",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (glob_validate(ok[i]) != 0)
			fail_msg("glob_validate(\"%s\") = %d, want 0", ok[i], glob_validate(ok[i]));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (glob_validate(bad[i]) != -EINVAL)
			fail_msg("glob_validate(\"%s\") = %d, want -EINVAL", bad[i],
				 glob_validate(bad[i]));
	}
	assert_int_equal(glob_validate(NULL), -EINVAL);
}

static void test_is_literal(void **state)
{
	(void)state;
	assert_true(glob_is_literal("malloc"));
	assert_true(glob_is_literal("_ZN3tta10Sequential7executeEv"));
	assert_true(glob_is_literal("do_step.constprop.0"));
	assert_true(glob_is_literal("a]b"));
	assert_true(glob_is_literal(""));
	assert_false(glob_is_literal("mall*"));
	assert_false(glob_is_literal("mallo?"));
	assert_false(glob_is_literal("[m]alloc"));
	assert_false(glob_is_literal("malloc\\"));
	assert_false(glob_is_literal("\\malloc"));
	assert_false(glob_is_literal(NULL));
}

/* For patterns both accept, the result must agree with fnmatch(3) without flags, which is the
 * shell behaviour users expect. Exhaustive over short patterns and strings from a small
 * alphabet. */
static void test_agrees_with_fnmatch(void **state)
{
	(void)state;
	static const char *atoms[] = { "a", "b", "*", "?", "[ab]", "[!a]", "[a-b]", "\\*", "." };
	static const char *strs[] = { "", "a", "b", "*", ".", "ab", "ba", "aa", "a*", "a.b",
				      "abab", "bbb", "*a", "ab.", "aab" };
	size_t na = sizeof(atoms) / sizeof(atoms[0]);
	size_t checked = 0;

	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < na; j++)
			for (size_t k = 0; k < na; k++) {
				char pat[64];

				snprintf(pat, sizeof(pat), "%s%s%s", atoms[i], atoms[j], atoms[k]);
				assert_int_equal(glob_validate(pat), 0);
				for (size_t s = 0; s < sizeof(strs) / sizeof(strs[0]); s++) {
					bool want = fnmatch(pat, strs[s], 0) == 0;

					if (glob_match(pat, strs[s]) != want)
						fail_msg("glob_match(\"%s\", \"%s\") != %d",
							 pat, strs[s], want);
					checked++;
				}
			}
	assert_int_equal(checked, na * na * na * 15);
}

/* The matcher must stay linear-ish: this is exponential for naive recursive matchers. */
static void test_pathological(void **state)
{
	(void)state;
	char s[4096];
	char pat[64];

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	snprintf(pat, sizeof(pat), "*a*a*a*a*a*a*a*a*a*a*b");
	assert_false(glob_match(pat, s));
	s[sizeof(s) - 2] = 'b';
	assert_true(glob_match(pat, s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_question),
		cmocka_unit_test(test_brackets),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_cxx_mangled),
		cmocka_unit_test(test_invalid_match_nothing),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_is_literal),
		cmocka_unit_test(test_agrees_with_fnmatch),
		cmocka_unit_test(test_pathological),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
