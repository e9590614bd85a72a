/* Unit tests for the command line: strict number, duration and size parsing, the
 * options cli__parse fills in, and its usage errors (exit status 2 and exactly one
 * "ttatrace: " line on stderr), checked in forked children. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "ttatrace.h"

static void test_parse_u64(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_u64("123", 1, INT_MAX, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);

	/* out of range keeps *out untouched */
	v = 77;
	assert_int_equal(parse_u64("11", 0, 10, &v), -ERANGE);
	assert_int_equal(parse_u64("0", 1, 10, &v), -ERANGE);
	assert_int_equal(parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_u64("65", 1, TT_MAX_DEPTH, &v), -ERANGE);
	assert_int_equal(v, 77);

	/* junk */
	assert_int_equal(parse_u64("", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("abc", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("12abc", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("1.5", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("5 ", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("-1", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64("+1", 0, 10, &v), -EINVAL);
	assert_int_equal(v, 77);
}

/* "Whole string" parsing must not let strtoull's leading-blank skip smuggle in a
 * minus sign: " -1" would otherwise wrap to UINT64_MAX. */
static void test_parse_u64_blank_then_minus(void **state)
{
	uint64_t v = 77;

	(void)state;
	assert_true(parse_u64(" -1", 0, UINT64_MAX, &v) < 0);
	assert_true(parse_u64("\t-5", 0, UINT64_MAX, &v) < 0);
	assert_int_equal(v, 77);
}

static void test_parse_duration(void **state)
{
	double d = -1;

	(void)state;
	assert_int_equal(parse_duration_s("1.5", &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(parse_duration_s("2", &d), 0);
	assert_true(d == 2.0);
	assert_int_equal(parse_duration_s("2s", &d), 0);
	assert_true(d == 2.0);
	assert_int_equal(parse_duration_s("250ms", &d), 0);
	assert_true(fabs(d - 0.25) < 1e-12);
	assert_int_equal(parse_duration_s("100us", &d), 0);
	assert_true(fabs(d - 1e-4) < 1e-15);
	assert_int_equal(parse_duration_s("2m", &d), 0);
	assert_true(d == 120.0);
	assert_int_equal(parse_duration_s("1h", &d), 0);
	assert_true(d == 3600.0);
	assert_int_equal(parse_duration_s("0", &d), 0);
	assert_true(d == 0.0);

	d = 9;
	assert_int_equal(parse_duration_s("x", &d), -EINVAL);
	assert_int_equal(parse_duration_s("", &d), -EINVAL);
	assert_int_equal(parse_duration_s(NULL, &d), -EINVAL);
	assert_int_equal(parse_duration_s("-1", &d), -EINVAL);
	assert_int_equal(parse_duration_s("5 s", &d), -EINVAL);
	assert_int_equal(parse_duration_s("5sec", &d), -EINVAL);
	assert_int_equal(parse_duration_s("ms", &d), -EINVAL);
	assert_int_equal(parse_duration_s("1e999", &d), -EINVAL);
	assert_true(d == 9);
}

/* strtod also reads "nan": a NaN duration passes every "<= 0" check after it. */
static void test_parse_duration_nan(void **state)
{
	double d = 9;

	(void)state;
	assert_int_equal(parse_duration_s("nan", &d), -EINVAL);
	assert_int_equal(parse_duration_s("nanms", &d), -EINVAL);
	assert_true(d == 9);
}

static void test_parse_size(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(parse_size("16M", &v), 0);
	assert_int_equal(v, 16ULL << 20);
	assert_int_equal(parse_size("4K", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("1G", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(parse_size("65536", &v), 0);
	assert_int_equal(v, 65536);

	v = 77;
	assert_int_equal(parse_size("1x", &v), -EINVAL);
	assert_int_equal(parse_size("M", &v), -EINVAL);
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size(NULL, &v), -EINVAL);
	assert_int_equal(parse_size("-4K", &v), -EINVAL);
	assert_int_equal(parse_size("16MB", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999999", &v), -EINVAL);
	assert_int_equal(v, 77);
}

/* A suffix that pushes the value past 64 bits must fail, not wrap: 2^34 G is 2^64
 * and would come back as 0; 2^54+1 K would come back as 1024. */
static void test_parse_size_overflow(void **state)
{
	uint64_t v = 77;

	(void)state;
	assert_true(parse_size("17179869184G", &v) < 0);
	assert_true(parse_size("18014398509481985K", &v) < 0);
	assert_true(parse_size(" -1", &v) < 0);
	assert_int_equal(v, 77);
}

/* --- cli__parse ------------------------------------------------------------------- */

static void test_cli_happy_path(void **state)
{
	char *argv[] = { "ttatrace", "-p",	 "123",	   "--probe", "tta_*", "--format", "jsonl",
			 "-o",	     "f",	 "--duration", "2",	  "--",	   "cmd",      "args",
			 "-l",	     NULL };
	struct tt_opts o;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	assert_int_equal(cli__parse(15, argv, &o), 0);
	assert_int_equal(o.n_pids, 1);
	assert_int_equal(o.pids[0], 123);
	assert_int_equal(o.n_specs, 1);
	assert_string_equal(o.specs[0], "tta_*");
	assert_int_equal(o.format, FORMAT_JSONL);
	assert_string_equal(o.output, "f");
	assert_true(o.duration_s == 2.0);
	assert_int_equal(o.cmd_argc, 3);
	assert_non_null(o.cmd);
	assert_string_equal(o.cmd[0], "cmd");
	assert_string_equal(o.cmd[1], "args");
	assert_string_equal(o.cmd[2], "-l"); /* after --, not an option */
	assert_null(o.cmd[3]);
	/* defaults for what was not given */
	assert_null(o.folded);
	assert_null(o.svg);
	assert_null(o.otlp);
	assert_false(o.critical_path);
	assert_false(o.quiet_summary);
	assert_int_equal(o.verbose, 0);
	assert_int_equal(o.max_depth, TT_DEFAULT_MAX_DEPTH);
	assert_int_equal(o.ringbuf_bytes, TT_DEFAULT_RINGBUF_BYTES);
	assert_int_equal(o.drain_ms, 100);
	assert_true(o.trace_timeout_s == 30.0);
}

static void test_cli_all_options(void **state)
{
	char *argv[] = { "ttatrace",
			 "-p",
			 "1",
			 "--pid",
			 "2",
			 "--probe",
			 "a*",
			 "--probe",
			 "libsqlite3:sqlite3_*",
			 "--format",
			 "none",
			 "--folded",
			 "out.folded",
			 "--svg",
			 "out.svg",
			 "--otlp",
			 "http://127.0.0.1:4318",
			 "--critical-path",
			 "--no-summary",
			 "-vv",
			 "--max-depth",
			 "32",
			 "--ringbuf-size",
			 "4M",
			 "--drain-ms",
			 "10",
			 "--trace-timeout",
			 "500ms",
			 NULL };
	struct tt_opts o;

	(void)state;
	assert_int_equal(cli__parse(28, argv, &o), 0);
	assert_int_equal(o.n_pids, 2);
	assert_int_equal(o.pids[0], 1);
	assert_int_equal(o.pids[1], 2);
	assert_int_equal(o.n_specs, 2);
	assert_string_equal(o.specs[1], "libsqlite3:sqlite3_*");
	assert_int_equal(o.format, FORMAT_NONE);
	assert_string_equal(o.folded, "out.folded");
	assert_string_equal(o.svg, "out.svg");
	assert_string_equal(o.otlp, "http://127.0.0.1:4318");
	assert_true(o.critical_path);
	assert_true(o.quiet_summary);
	assert_int_equal(o.verbose, 2);
	assert_int_equal(o.max_depth, TT_MAX_DEPTH);
	assert_int_equal(o.ringbuf_bytes, 4ULL << 20);
	assert_int_equal(o.drain_ms, 10);
	assert_true(fabs(o.trace_timeout_s - 0.5) < 1e-12);
	assert_null(o.output);
	assert_int_equal(o.cmd_argc, 0);
	assert_true(o.duration_s == 0.0);
}

static void expect_usage_error(char **argv, const char *needle);

static void test_cli_governor(void **state)
{
	char *argv[] = { "ttatrace", "-p", "1", "--probe", "Py*", "--max-overhead", "5%",
			 "--max-overhead-per-probe", "2", "--probe-cost", "nop5=300,stepped=2us", NULL };
	char *bad1[] = { "ttatrace", "-p", "1", "--probe", "x", "--max-overhead", "0", NULL };
	char *bad2[] = { "ttatrace", "-p", "1", "--probe", "x", "--max-overhead", "150%", NULL };
	char *bad3[] = { "ttatrace", "-p", "1", "--probe", "x", "--max-overhead", "5%%", NULL };
	char *bad4[] = { "ttatrace", "-p", "1", "--probe", "x", "--max-overhead-per-probe", "1", NULL };
	char *bad5[] = { "ttatrace", "-p", "1", "--probe", "x", "--max-overhead", "2",
			 "--max-overhead-per-probe", "3", NULL };
	char *bad6[] = { "ttatrace", "-p", "1", "--probe", "x", "--probe-cost", "fast=1", NULL };
	struct tt_opts o;

	(void)state;
	assert_int_equal(cli__parse(11, argv, &o), 0);
	assert_true(fabs(o.max_overhead - 0.05) < 1e-12);
	assert_true(fabs(o.max_overhead_probe - 0.02) < 1e-12);
	assert_true(o.probe_costs_set);
	assert_true(o.probe_costs.ns[GOV_COST_NOP5] == 300);
	assert_true(o.probe_costs.ns[GOV_COST_STEPPED] == 2000);
	assert_true(o.probe_costs.ns[GOV_COST_EMULATED] == DEFAULT_COST_EMULATED_NS);
	expect_usage_error(bad1, "--max-overhead");
	expect_usage_error(bad2, "--max-overhead");
	expect_usage_error(bad3, "--max-overhead");
	expect_usage_error(bad4, "needs --max-overhead");
	expect_usage_error(bad5, "cannot be above");
	expect_usage_error(bad6, "--probe-cost");
}

static void test_cli_formats(void **state)
{
	static const struct {
		const char *name;
		enum out_format f;
	} cases[] = {
		{ "tree", FORMAT_TREE },
		{ "jsonl", FORMAT_JSONL },
		{ "otlp-json", FORMAT_OTLP_JSON },
		{ "none", FORMAT_NONE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "ttatrace", "-p", "5", "--probe", "x", "--format",
				 (char *)cases[i].name, NULL };
		struct tt_opts o;

		assert_int_equal(cli__parse(7, argv, &o), 0);
		assert_int_equal(o.format, cases[i].f);
	}
}

/* Runs cli__parse on ARGV in a child; returns its exit status (-1 if it did not
 * exit) and its stderr in ERR. A child whose cli__parse returns exits 100
 * (accepted) or 101 (returned an error without exiting). */
static int run_child(char **argv, char *err, size_t errlen, char *out, size_t outlen)
{
	FILE *ef = tmpfile(), *of = tmpfile();
	int argc = 0, st;
	pid_t pid;
	size_t n;

	assert_non_null(ef);
	assert_non_null(of);
	while (argv[argc])
		argc++;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tt_opts o;

		dup2(fileno(ef), 2);
		dup2(fileno(of), 1);
		_exit(cli__parse(argc, argv, &o) ? 101 : 100);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	rewind(ef);
	n = fread(err, 1, errlen - 1, ef);
	err[n] = '\0';
	rewind(of);
	n = fread(out, 1, outlen - 1, of);
	out[n] = '\0';
	fclose(ef);
	fclose(of);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void expect_usage_error(char **argv, const char *needle)
{
	char err[4096], out[4096];
	int st = run_child(argv, err, sizeof(err), out, sizeof(out));

	if (st != 2 || count_lines(err) != 1 || strncmp(err, "ttatrace: ", 10) ||
	    err[strlen(err) - 1] != '\n' || (needle && !strstr(err, needle)))
		fail_msg("argv[1]=%s: exit %d, stderr: <%s>", argv[1] ? argv[1] : "(none)", st, err);
	assert_string_equal(out, "");
}

static void test_cli_usage_errors(void **state)
{
	char *bad_pid[] = { "ttatrace", "-p", "abc", "--probe", "x", NULL };
	char *zero_pid[] = { "ttatrace", "-p", "0", "--probe", "x", NULL };
	char *neg_pid[] = { "ttatrace", "-p", "-5", "--probe", "x", NULL };
	char *depth[] = { "ttatrace", "--max-depth", "99", "-p", "1", "--probe", "x", NULL };
	char *depth0[] = { "ttatrace", "--max-depth", "0", "-p", "1", "--probe", "x", NULL };
	char *format[] = { "ttatrace", "--format", "nope", "-p", "1", "--probe", "x", NULL };
	char *no_probe[] = { "ttatrace", "-p", "1", NULL };
	char *no_target[] = { "ttatrace", "--probe", "x", NULL };
	char *nothing[] = { "ttatrace", NULL };
	char *dur[] = { "ttatrace", "--duration", "0", "-p", "1", "--probe", "x", NULL };
	char *dur2[] = { "ttatrace", "--duration", "soon", "-p", "1", "--probe", "x", NULL };
	char *rb[] = { "ttatrace", "--ringbuf-size", "3M", "-p", "1", "--probe", "x", NULL };
	char *rb2[] = { "ttatrace", "--ringbuf-size", "2K", "-p", "1", "--probe", "x", NULL };
	char *drain[] = { "ttatrace", "--drain-ms", "0", "-p", "1", "--probe", "x", NULL };
	char *tmo[] = { "ttatrace", "--trace-timeout", "later", "-p", "1", "--probe", "x", NULL };

	(void)state;
	expect_usage_error(bad_pid, "abc");
	expect_usage_error(zero_pid, "PID");
	expect_usage_error(neg_pid, "PID");
	expect_usage_error(depth, "--max-depth");
	expect_usage_error(depth0, "--max-depth");
	expect_usage_error(format, "nope");
	expect_usage_error(no_probe, "--probe");
	expect_usage_error(no_target, "target");
	expect_usage_error(nothing, NULL);
	expect_usage_error(dur, "--duration");
	expect_usage_error(dur2, "--duration");
	expect_usage_error(rb, "--ringbuf-size");
	expect_usage_error(rb2, "--ringbuf-size");
	expect_usage_error(drain, "--drain-ms");
	expect_usage_error(tmo, "--trace-timeout");
}

static void test_cli_too_many_pids(void **state)
{
	char *argv[2 * MAX_PIDS + 6];
	char nums[MAX_PIDS + 1][12];
	int n = 0;

	(void)state;
	argv[n++] = "ttatrace";
	for (int i = 0; i <= MAX_PIDS; i++) {
		snprintf(nums[i], sizeof(nums[i]), "%d", i + 1);
		argv[n++] = "-p";
		argv[n++] = nums[i];
	}
	argv[n++] = "--probe";
	argv[n++] = "x";
	argv[n] = NULL;
	expect_usage_error(argv, "too many");
}

/* Errors argp finds itself (unknown option, missing argument) must follow the
 * same rule as ours: exit 2 and one line, without argp's second "Try ..." line. */
static void test_cli_argp_errors_one_line(void **state)
{
	char *unknown[] = { "ttatrace", "--bogus", "-p", "1", "--probe", "x", NULL };
	char *missing[] = { "ttatrace", "--probe", "x", "-p", NULL };

	(void)state;
	expect_usage_error(unknown, "--bogus");
	expect_usage_error(missing, "p");
}

/* --duration nan and --trace-timeout nan are usage errors, not NaN timers. */
static void test_cli_nan_durations(void **state)
{
	char *dur[] = { "ttatrace", "--duration", "nan", "-p", "1", "--probe", "x", NULL };
	char *tmo[] = { "ttatrace", "--trace-timeout", "nan", "-p", "1", "--probe", "x", NULL };

	(void)state;
	expect_usage_error(dur, "--duration");
	expect_usage_error(tmo, "--trace-timeout");
}

/* The children above really exercised cli__parse: a good command line makes
 * the child return (exit 100), not exit 2. */
static void test_cli_child_accepts_good(void **state)
{
	char *good[] = { "ttatrace", "-p", "1", "--probe", "x", NULL };
	char err[512], out[512];

	(void)state;
	assert_int_equal(run_child(good, err, sizeof(err), out, sizeof(out)), 100);
	assert_string_equal(err, "");
}

static void test_cli_help(void **state)
{
	char *help[] = { "ttatrace", "--help", NULL };
	char err[512], out[16384];

	(void)state;
	assert_int_equal(run_child(help, err, sizeof(err), out, sizeof(out)), 0);
	assert_non_null(strstr(out, "--probe"));
	assert_non_null(strstr(out, "Examples:"));
	assert_string_equal(err, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_u64_blank_then_minus),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_duration_nan),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_size_overflow),
		cmocka_unit_test(test_cli_happy_path),
		cmocka_unit_test(test_cli_all_options),
		cmocka_unit_test(test_cli_formats),
		cmocka_unit_test(test_cli_usage_errors),
		cmocka_unit_test(test_cli_too_many_pids),
		cmocka_unit_test(test_cli_argp_errors_one_line),
		cmocka_unit_test(test_cli_nan_durations),
		cmocka_unit_test(test_cli_child_accepts_good),
		cmocka_unit_test(test_cli_help),
		cmocka_unit_test(test_cli_governor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
