/* Unit tests for user/capture_parse.c: every capture expression form maps to the exact
 * struct capture fields, bad expressions are refused with a reason; error rules; kinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"

struct want {
	const char *expr;
	enum cap_src src;
	int arg;
	int n_derefs;
	int64_t d0, d1;
	enum cap_final final;
	int64_t final_off;
	uint32_t size;
	enum cap_type type;
	const char *field_path; /* NULL: none */
};

static void check(const struct want *w)
{
	struct capture c;
	char err[512] = "";
	int ret = capture__parse(w->expr, &c, err, sizeof(err));

	if (ret)
		fail_msg("capture__parse(\"%s\") = %d: %s", w->expr, ret, err);
	if (c.src != w->src || c.arg != w->arg || c.n_derefs != w->n_derefs ||
	    (w->n_derefs > 0 && c.deref_off[0] != w->d0) || (w->n_derefs > 1 && c.deref_off[1] != w->d1) ||
	    c.final != w->final || c.final_off != w->final_off || c.size != w->size || c.type != w->type)
		fail_msg("\"%s\": got src=%d arg=%d derefs=%d [%lld %lld] final=%d off=%lld size=%u type=%d",
			 w->expr, c.src, c.arg, c.n_derefs, (long long)c.deref_off[0],
			 (long long)c.deref_off[1], c.final, (long long)c.final_off, c.size, c.type);
	if (w->field_path)
		assert_non_null(c.field_path), assert_string_equal(c.field_path, w->field_path);
	else if (c.field_path)
		fail_msg("\"%s\": unexpected field_path %s", w->expr, c.field_path);
	assert_string_equal(c.expr, w->expr);
	assert_null(c.name);
	capture__clear(&c);
	assert_null(c.expr);
}

static void test_values(void **state)
{
	(void)state;
	static const struct want w[] = {
		{ "arg0", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_VALUE, 0, 8, CAP_T_S64, NULL },
		{ "arg5", CAP_SRC_ARG, 5, 0, 0, 0, CAP_FINAL_VALUE, 0, 8, CAP_T_S64, NULL },
		{ " arg1 ", CAP_SRC_ARG, 1, 0, 0, 0, CAP_FINAL_VALUE, 0, 8, CAP_T_S64, NULL },
		{ "ret", CAP_SRC_RET, 0, 0, 0, 0, CAP_FINAL_VALUE, 0, 8, CAP_T_S64, NULL },
		{ "(bool)arg2", CAP_SRC_ARG, 2, 0, 0, 0, CAP_FINAL_VALUE, 0, 8, CAP_T_BOOL, NULL },
		{ "(bool)ret", CAP_SRC_RET, 0, 0, 0, 0, CAP_FINAL_VALUE, 0, 8, CAP_T_BOOL, NULL },
		{ "(arg3)", CAP_SRC_ARG, 3, 0, 0, 0, CAP_FINAL_VALUE, 0, 8, CAP_T_S64, NULL },
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void test_strings(void **state)
{
	(void)state;
	static const struct want w[] = {
		{ "str(arg1)", CAP_SRC_ARG, 1, 0, 0, 0, CAP_FINAL_STR, 0, 0, CAP_T_STR, NULL },
		{ "str(ret)", CAP_SRC_RET, 0, 0, 0, 0, CAP_FINAL_STR, 0, 0, CAP_T_STR, NULL },
		{ "str(arg0 + 16)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_STR, 16, 0, CAP_T_STR, NULL },
		{ "str(arg0+0x50)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_STR, 80, 0, CAP_T_STR, NULL },
		/* a pointer stored at arg0+24, then the string it points to */
		{ "str(*(u64 *)(arg0 + 24))", CAP_SRC_ARG, 0, 1, 24, 0, CAP_FINAL_STR, 0, 0, CAP_T_STR, NULL },
		{ "str(*(ptr *)(arg0 + 24) + 4)", CAP_SRC_ARG, 0, 1, 24, 0, CAP_FINAL_STR, 4, 0, CAP_T_STR, NULL },
		{ "str(arg0->name)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_STR, 0, 0, CAP_T_STR, "name" },
		{ "str(arg1->req->path)", CAP_SRC_ARG, 1, 0, 0, 0, CAP_FINAL_STR, 0, 0, CAP_T_STR, "req.path" },
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void test_reads(void **state)
{
	(void)state;
	static const struct want w[] = {
		{ "*(u64 *)(arg0 + 16)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 16, 8, CAP_T_U64, NULL },
		{ "*(s32 *)(arg0 + 8)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 8, 4, CAP_T_S64, NULL },
		{ "*(u8 *)(arg1 + 3)", CAP_SRC_ARG, 1, 0, 0, 0, CAP_FINAL_READ, 3, 1, CAP_T_U64, NULL },
		{ "*(u16*)(arg1+2)", CAP_SRC_ARG, 1, 0, 0, 0, CAP_FINAL_READ, 2, 2, CAP_T_U64, NULL },
		{ "*(u32 *)(arg1 + 4)", CAP_SRC_ARG, 1, 0, 0, 0, CAP_FINAL_READ, 4, 4, CAP_T_U64, NULL },
		{ "*(s8 *)(arg4 + 1)", CAP_SRC_ARG, 4, 0, 0, 0, CAP_FINAL_READ, 1, 1, CAP_T_S64, NULL },
		{ "*(s16 *)(arg4 + 2)", CAP_SRC_ARG, 4, 0, 0, 0, CAP_FINAL_READ, 2, 2, CAP_T_S64, NULL },
		{ "*(s64 *)(arg0 + 0)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 0, 8, CAP_T_S64, NULL },
		{ "*(int *)(arg0 + 12)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 12, 4, CAP_T_S64, NULL },
		{ "*(long *)(arg0 + 8)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 8, 8, CAP_T_S64, NULL },
		{ "*(ptr *)(arg0 + 0)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 0, 8, CAP_T_PTR, NULL },
		{ "*(u64 *)arg0", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 0, 8, CAP_T_U64, NULL },
		{ "*(u64 *)(arg0)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 0, 8, CAP_T_U64, NULL },
		{ "*(s32 *)(arg0 - 4)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, -4, 4, CAP_T_S64, NULL },
		{ "*(u64 *)(ret + 8)", CAP_SRC_RET, 0, 0, 0, 0, CAP_FINAL_READ, 8, 8, CAP_T_U64, NULL },
		{ "(bool)*(u8 *)(arg0 + 12)", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 12, 1, CAP_T_BOOL, NULL },
		/* explicit pointer hops */
		{ "*(u64 *)(*(u64 *)(arg0 + 0) + 8)", CAP_SRC_ARG, 0, 1, 0, 0, CAP_FINAL_READ, 8, 8, CAP_T_U64, NULL },
		{ "*(s32 *)(*(ptr *)(arg1 + 16) + 12)", CAP_SRC_ARG, 1, 1, 16, 0, CAP_FINAL_READ, 12, 4, CAP_T_S64, NULL },
		{ "*(u32 *)(*(u64 *)(*(u64 *)(arg0 + 8) + 24) + 4)", CAP_SRC_ARG, 0, 2, 8, 24, CAP_FINAL_READ, 4, 4, CAP_T_U64, NULL },
		{ "*(u64 *)*(u64 *)(arg2 + 40)", CAP_SRC_ARG, 2, 1, 40, 0, CAP_FINAL_READ, 0, 8, CAP_T_U64, NULL },
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void test_by_name(void **state)
{
	(void)state;
	static const struct want w[] = {
		{ "arg0->workflow_id", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 0, 0, CAP_T_S64, "workflow_id" },
		{ "arg0->ctx->workflow_id", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 0, 0, CAP_T_S64, "ctx.workflow_id" },
		{ "arg3->a->b->c", CAP_SRC_ARG, 3, 0, 0, 0, CAP_FINAL_READ, 0, 0, CAP_T_S64, "a.b.c" },
		{ "arg0 -> ctx", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 0, 0, CAP_T_S64, "ctx" },
		{ "(bool)arg0->flag", CAP_SRC_ARG, 0, 0, 0, 0, CAP_FINAL_READ, 0, 0, CAP_T_BOOL, "flag" },
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

struct bad {
	const char *expr;
	const char *why; /* substring of the message */
};

static void test_bad(void **state)
{
	(void)state;
	static const struct bad b[] = {
		{ "", "empty" },
		{ "arg6", "argument index 6 out of range" },
		{ "arg12", "argument index 12 out of range" },
		{ "arg", "expected a digit after \"arg\"" },
		{ "argx", "expected a digit after \"arg\"" },
		{ "arg0x", "unknown name \"arg0x\"" },
		{ "foo", "expected argN, ret" },
		{ "rets", "expected argN, ret" },
		{ "arg0 + 8", "unexpected \"+ 8\"" },
		{ "(arg0 + 8)", "must be read" },
		{ "*(u128 *)(arg0 + 8)", "unknown type \"u128\"" },
		{ "*(u64)(arg0 + 8)", "expected '*'" },
		{ "*(u64 *)(arg0 + 8", "expected ')' at the end" },
		{ "*(u64 *)(arg0 + x)", "expected a byte offset" },
		{ "*(u64 *)(*(u32 *)(arg0 + 0) + 8)", "pointer hop must read 8 bytes" },
		{ "*(u64 *)(*(u64 *)(*(u64 *)(*(u64 *)(arg0 + 0) + 8) + 8) + 8)", "too many pointer hops" },
		{ "arg0->a->b->c->d", "too many '->'" },
		{ "arg0->", "expected a field name after '->'" },
		{ "arg0->1x", "expected a field name after '->'" },
		{ "ret->x", "fields of the return value are not supported" },
		{ "str(arg0", "expected ')' at the end" },
		{ "str arg0", "expected '('" },
		{ "str(arg0->name + 4)", "cannot add an offset to a named field" },
		{ "*(u64 *)(arg0->ctx + 8)", "cannot add an offset to a named field" },
		{ "*(u64 *)arg0->ctx", "cannot mix field names and explicit offsets" },
		{ "arg0 arg1", "unexpected \"arg1\"" },
		{ "str(arg0) x", "unexpected \"x\"" },
	};
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		struct capture c;
		char err[512] = "";
		int ret = capture__parse(b[i].expr, &c, err, sizeof(err));

		if (ret != -EINVAL)
			fail_msg("capture__parse(\"%s\") = %d, want -EINVAL", b[i].expr, ret);
		if (!strstr(err, b[i].why))
			fail_msg("capture__parse(\"%s\"): message \"%s\" lacks \"%s\"", b[i].expr, err,
				 b[i].why);
		if (strncmp(err, "bad capture expression \"", 24) || strchr(err, '\n'))
			fail_msg("message not one line starting with bad capture expression: %s", err);
		assert_null(c.expr);
		assert_null(c.field_path);
	}
}

static void test_copy(void **state)
{
	(void)state;
	struct capture a, b;
	char err[256];

	assert_int_equal(capture__parse("str(arg1->req->path)", &a, err, sizeof(err)), 0);
	a.name = strdup("http.path");
	assert_int_equal(capture__copy(&b, &a), 0);
	assert_ptr_not_equal(b.name, a.name);
	assert_string_equal(b.name, "http.path");
	assert_string_equal(b.field_path, "req.path");
	assert_string_equal(b.expr, "str(arg1->req->path)");
	assert_true(capture__is_string(&b));
	capture__clear(&a);
	capture__clear(&b);
	capture__clear(NULL);
}

static void test_error_rules(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum err_op op;
		const char *operand;
		int64_t value;
	} ok[] = {
		{ "ret < 0", ERR_LT, "ret", 0 },	   { "ret<0", ERR_LT, "ret", 0 },
		{ "ret == 0", ERR_EQ, "ret", 0 },	   { "status != 0", ERR_NE, "status", 0 },
		{ "ret <= -1", ERR_LE, "ret", -1 },	   { "http.status >= 500", ERR_GE, "http.status", 500 },
		{ " ret > 0x10 ", ERR_GT, "ret", 16 },   { "ret == -110", ERR_EQ, "ret", -110 },
	};
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "expected \"OPERAND OP NUMBER\"" },
		{ "< 0", "expected \"OPERAND OP NUMBER\"" },
		{ "ret", "expected an operator" },
		{ "ret = 0", "expected an operator" },
		{ "ret <", "expected an integer" },
		{ "ret < x", "expected an integer" },
		{ "ret < 0 1", "unexpected \"1\"" },
		{ "ret < 99999999999999999999", "expected an integer" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct error_rule r;

		if (error_rule__parse(ok[i].text, &r, err, sizeof(err)))
			fail_msg("error_rule__parse(\"%s\"): %s", ok[i].text, err);
		assert_int_equal(r.op, ok[i].op);
		assert_string_equal(r.operand, ok[i].operand);
		assert_int_equal(r.value, ok[i].value);
		assert_null(r.error_type);
		error_rule__clear(&r);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct error_rule r;

		err[0] = 0;
		if (error_rule__parse(bad[i].text, &r, err, sizeof(err)) != -EINVAL)
			fail_msg("error_rule__parse(\"%s\") accepted", bad[i].text);
		if (!strstr(err, bad[i].why))
			fail_msg("error_rule__parse(\"%s\"): \"%s\" lacks \"%s\"", bad[i].text, err,
				 bad[i].why);
		assert_null(r.operand);
	}
}

static void test_error_match(void **state)
{
	(void)state;
	struct error_rule r;
	char err[256];

	assert_int_equal(error_rule__parse("ret < 0", &r, err, sizeof(err)), 0);
	assert_true(error_rule__match(&r, -1));
	assert_false(error_rule__match(&r, 0));
	error_rule__clear(&r);
	assert_int_equal(error_rule__parse("ret != 0", &r, err, sizeof(err)), 0);
	assert_true(error_rule__match(&r, 5));
	assert_false(error_rule__match(&r, 0));
	error_rule__clear(&r);
	assert_int_equal(error_rule__parse("x >= 500", &r, err, sizeof(err)), 0);
	assert_true(error_rule__match(&r, 500));
	assert_false(error_rule__match(&r, 499));
	error_rule__clear(&r);
	r.op = ERR_NONE;
	assert_false(error_rule__match(&r, -1));
}

static void test_kinds(void **state)
{
	(void)state;
	static const char *const names[KIND__COUNT] = { "step", "sequential", "parallel", "conditional",
							 "switch", "router", "retry", "fallback",
							 "timeout", "cache", "saga", "lambda" };
	enum prim_kind k;

	for (int i = 0; i < KIND__COUNT; i++) {
		assert_string_equal(prim_kind__name(i), names[i]);
		assert_int_equal(prim_kind__parse(names[i], &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(prim_kind__parse("Step", &k), -EINVAL);
	assert_int_equal(prim_kind__parse("", &k), -EINVAL);
	assert_int_equal(prim_kind__parse(NULL, &k), -EINVAL);
	assert_string_equal(prim_kind__name(KIND__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),	 cmocka_unit_test(test_strings),
		cmocka_unit_test(test_reads),	 cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_bad),	 cmocka_unit_test(test_copy),
		cmocka_unit_test(test_error_rules), cmocka_unit_test(test_error_match),
		cmocka_unit_test(test_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
