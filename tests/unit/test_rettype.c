/* Unit tests for user/rettype.c: the error rule each function of the errtype fixture
 * ($TT_BUILD_DIR/fixtures/errtype, built with -g) gets from its DWARF return type, looked up
 * by the symbol's address as attach does; its --strip-debug copy has no rule at all; a copy
 * with a .BTF section (written here with libbpf, added with objcopy) answers by name; the
 * catalogue's "none" and "(int)ret" rules; the shared rule predicate at each width. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "elfsyms.h"
#include "rettype.h"
#include "ttatrace.h"

static char fixture[512], nodebug[512];

static uint64_t addr_of(const struct elf_syms *syms, const char *name)
{
	for (size_t i = 0; i < elf_syms__count(syms); i++) {
		const struct elf_sym *s = elf_syms__get(syms, i);

		if (!strcmp(s->name, name))
			return s->addr;
	}
	fail_msg("no symbol %s", name);
	return 0;
}

static const struct {
	const char *fn;
	uint8_t rule;
	const char *text; /* as --list-probes prints it */
} want[] = {
	{ "et_int", TT_RET_NEG_S32, "ret<0 (int)" },
	{ "et_long", TT_RET_NEG_S64, "ret<0 (long int)" },
	{ "et_ssize", TT_RET_NEG_S64, "ret<0 (ssize_t)" },
	{ "et_ptr", TT_RET_NONE, "none (pointer)" },
	{ "et_void", TT_RET_NONE, "none (void)" },
	{ "et_uint", TT_RET_NONE, "none (unsigned int)" },
	{ "et_enum", TT_RET_NEG_S32, "ret<0 (enum et_status)" },
	{ "et_short", TT_RET_NEG_S16, "ret<0 (short int)" },
	{ "et_schar", TT_RET_NONE, "none (signed char)" },
	{ "et_char", TT_RET_NONE, "none (char)" },
	{ "et_bool", TT_RET_NONE, "none (_Bool)" },
	{ "et_double", TT_RET_NONE, "none (double)" },
	{ "et_struct", TT_RET_NONE, "none (struct)" },
	{ "et_typedef_int", TT_RET_NEG_S32, "ret<0 (et_code_t)" },
	{ "et_color", TT_RET_NONE, "none (enum et_color)" },
	{ "et_str", TT_RET_NONE, "none (pointer)" },
	{ "et_ulong", TT_RET_NONE, "none (long unsigned int)" },
	{ "helper_minus_one", TT_RET_NEG_S32, "ret<0 (int)" },
	{ "main", TT_RET_NEG_S32, "ret<0 (int)" },
};

/* The file's symbols and return types, read as attach reads them. */
static void open_both(const char *path, struct elf_syms **syms, struct ret_types **rt,
		      const char *source)
{
	*syms = elf_syms__open(path);
	*rt = ret_types__open(path);
	assert_non_null(*syms);
	assert_non_null(*rt);
	assert_string_equal(ret_types__source(*rt), source);
}

static void test_dwarf_rules(void **state)
{
	struct elf_syms *syms;
	struct ret_types *rt;
	struct ret_rule r;
	char buf[128];

	(void)state;
	open_both(fixture, &syms, &rt, "DWARF");
	assert_true(ret_types__count(rt) >= sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* by address: the name given does not matter for DWARF */
		ret_types__lookup(rt, addr_of(syms, want[i].fn), "no_such_name", &r);
		ret_rule__text(NULL, &r, buf, sizeof(buf));
		if (r.rule != want[i].rule || strcmp(buf, want[i].text))
			fail_msg("%s: rule %u \"%s\", expected %u \"%s\"", want[i].fn, r.rule, buf,
				 want[i].rule, want[i].text);
	}
	/* an address no function starts at: no type information */
	ret_types__lookup(rt, addr_of(syms, "et_int") + 1, "et_int", &r);
	assert_int_equal(r.rule, TT_RET_NONE);
	assert_string_equal(r.type, "no type info");
	ret_types__free(rt);
	elf_syms__free(syms);
}

static void test_no_debug_info(void **state)
{
	struct elf_syms *syms;
	struct ret_types *rt;
	struct ret_rule r;
	char buf[128];

	(void)state;
	open_both(nodebug, &syms, &rt, "none");
	assert_int_equal(ret_types__count(rt), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ret_types__lookup(rt, addr_of(syms, want[i].fn), want[i].fn, &r);
		assert_int_equal(r.rule, TT_RET_NONE);
		assert_string_equal(ret_rule__text(NULL, &r, buf, sizeof(buf)), "none (no type info)");
	}
	ret_types__free(rt);
	elf_syms__free(syms);
	/* not ELF, and missing */
	rt = ret_types__open("/etc/hostname");
	assert_non_null(rt);
	ret_types__lookup(rt, 0x1000, "x", &r);
	assert_string_equal(r.type, "no type info");
	ret_types__free(rt);
	assert_null(ret_types__open("/nonexistent/file"));
	assert_int_equal(errno, ENOENT);
	ret_types__lookup(NULL, 0, "x", &r);
	assert_int_equal(r.rule, TT_RET_NONE);
}

/* A .BTF section (what pahole -J writes) when there is no DWARF: by name. */
static void test_btf_rules(void **state)
{
	struct btf *btf = btf__new_empty();
	char dir[] = "/tmp/tt-rettype.XXXXXX", raw[600], out[600], cmd[2048];
	int s32, u32, s64, ptr, st, en, proto, rc;
	const void *data;
	__u32 size;
	struct ret_types *rt;
	struct ret_rule r;
	char buf[128];
	FILE *f;

	(void)state;
	assert_non_null(btf);
	assert_non_null(mkdtemp(dir));
	s32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	u32 = btf__add_int(btf, "unsigned int", 4, 0);
	s64 = btf__add_int(btf, "long int", 8, BTF_INT_SIGNED);
	st = btf__add_typedef(btf, "ssize_t", s64);
	ptr = btf__add_ptr(btf, 0);
	en = btf__add_enum(btf, "et_status", 4);
	assert_true(s32 > 0 && u32 > 0 && s64 > 0 && st > 0 && ptr > 0 && en > 0);
	assert_int_equal(btf__add_enum_value(btf, "ET_OK", 0), 0);
	assert_int_equal(btf__add_enum_value(btf, "ET_FAILED", -2), 0);
#define FUNC(name, ret)                                                                    \
	do {                                                                               \
		proto = btf__add_func_proto(btf, (ret));                                   \
		assert_true(proto > 0);                                                    \
		assert_true(btf__add_func(btf, (name), BTF_FUNC_GLOBAL, proto) > 0);      \
	} while (0)
	FUNC("et_int", s32);
	FUNC("et_uint", u32);
	FUNC("et_ssize", st);
	FUNC("et_ptr", ptr);
	FUNC("et_void", 0);
	FUNC("et_enum", en);
#undef FUNC
	data = btf__raw_data(btf, &size);
	assert_non_null(data);
	snprintf(raw, sizeof(raw), "%s/btf.raw", dir);
	snprintf(out, sizeof(out), "%s/errtype-btf", dir);
	f = fopen(raw, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, size, f), size);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "objcopy --add-section .BTF=%s %s %s", raw, nodebug, out);
	rc = system(cmd);
	assert_int_equal(rc, 0);

	rt = ret_types__open(out);
	assert_non_null(rt);
	assert_string_equal(ret_types__source(rt), "BTF");
	assert_int_equal(ret_types__count(rt), 6);
	ret_types__lookup(rt, 0, "et_int", &r);
	assert_string_equal(ret_rule__text(NULL, &r, buf, sizeof(buf)), "ret<0 (int)");
	assert_int_equal(r.rule, TT_RET_NEG_S32);
	ret_types__lookup(rt, 0, "et_ssize", &r);
	assert_string_equal(ret_rule__text(NULL, &r, buf, sizeof(buf)), "ret<0 (ssize_t)");
	assert_int_equal(r.rule, TT_RET_NEG_S64);
	ret_types__lookup(rt, 0, "et_uint", &r);
	assert_string_equal(ret_rule__text(NULL, &r, buf, sizeof(buf)), "none (unsigned int)");
	ret_types__lookup(rt, 0, "et_ptr", &r);
	assert_string_equal(ret_rule__text(NULL, &r, buf, sizeof(buf)), "none (pointer)");
	ret_types__lookup(rt, 0, "et_void", &r);
	assert_string_equal(ret_rule__text(NULL, &r, buf, sizeof(buf)), "none (void)");
	ret_types__lookup(rt, 0, "et_enum", &r);
	assert_int_equal(r.rule, TT_RET_NEG_S32);
	ret_types__lookup(rt, 0, "et_long", &r); /* not in the BTF */
	assert_string_equal(ret_rule__text(NULL, &r, buf, sizeof(buf)), "none (no type info)");
	ret_types__free(rt);
	btf__free(btf);
	unlink(raw);
	unlink(out);
	rmdir(dir);
}

/* The catalogue's rule wins, and says so; "none" and casts parse. */
static void test_catalogue_rules(void **state)
{
	struct ret_rule typed = { .rule = TT_RET_NEG_S32, .type = "int" };
	struct error_rule e;
	char err[256], buf[128];

	(void)state;
	assert_int_equal(error_rule__parse("ret == 0", &e, err, sizeof(err)), 0);
	assert_string_equal(ret_rule__text(&e, &typed, buf, sizeof(buf)), "catalogue: ret == 0");
	error_rule__clear(&e);
	assert_int_equal(error_rule__parse(" none ", &e, err, sizeof(err)), 0);
	assert_true(e.none);
	assert_int_equal(e.op, ERR_NONE);
	assert_null(e.operand);
	assert_string_equal(ret_rule__text(&e, &typed, buf, sizeof(buf)), "catalogue: none");
	error_rule__clear(&e);
	assert_int_equal(error_rule__parse("(int)ret < 0", &e, err, sizeof(err)), 0);
	assert_int_equal(e.ret_bits, 32);
	assert_string_equal(e.operand, "ret");
	assert_string_equal(ret_rule__text(&e, &typed, buf, sizeof(buf)), "catalogue: (int)ret < 0");
	error_rule__clear(&e);
	assert_int_equal(error_rule__parse("(s16)ret <= -2", &e, err, sizeof(err)), 0);
	assert_int_equal(e.ret_bits, 16);
	assert_int_equal(e.value, -2);
	error_rule__clear(&e);
	assert_int_equal(error_rule__parse("(long)ret < 0", &e, err, sizeof(err)), 0);
	assert_int_equal(e.ret_bits, 64);
	error_rule__clear(&e);
	/* the width a catalogue rule reads ret at: its cast, else the type's */
	assert_int_equal(error_rule__parse("(s16)ret < 0", &e, err, sizeof(err)), 0);
	assert_int_equal(ret_operand_bits(&e, &typed), 16);
	error_rule__clear(&e);
	assert_int_equal(error_rule__parse("ret < 0", &e, err, sizeof(err)), 0);
	assert_int_equal(ret_operand_bits(&e, &typed), 32);
	typed.rule = TT_RET_NEG_S64;
	assert_int_equal(ret_operand_bits(&e, &typed), 64);
	typed.rule = TT_RET_NONE; /* a pointer, or no type: as shown */
	assert_int_equal(ret_operand_bits(&e, &typed), 0);
	assert_int_equal(ret_operand_bits(NULL, NULL), 0);
	typed.rule = TT_RET_NEG_S32;
	error_rule__clear(&e);
	/* no catalogue rule: the type's */
	memset(&e, 0, sizeof(e));
	assert_string_equal(ret_rule__text(&e, &typed, buf, sizeof(buf)), "ret<0 (int)");
	/* bad casts: one message each */
	assert_int_equal(error_rule__parse("(float)ret < 0", &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a cast applies to ret only"));
	assert_int_equal(error_rule__parse("(int)status < 0", &e, err, sizeof(err)), -EINVAL);
	assert_int_equal(error_rule__parse("(int)ret.x < 0", &e, err, sizeof(err)), -EINVAL);
	assert_int_equal(error_rule__parse("(int ret < 0", &e, err, sizeof(err)), -EINVAL);
	assert_int_equal(error_rule__parse("(s8)ret < 200", &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not fit a 8-bit signed value"));
	assert_int_equal(error_rule__parse("none of them", &e, err, sizeof(err)), -EINVAL);
}

/* The predicate both sides apply: the sign at the type's width only. */
static void test_rule_predicate(void **state)
{
	(void)state;
	assert_true(tt_ret_rule_error(TT_RET_NEG_S32, 0x00000000ffffffffULL));
	assert_true(tt_ret_rule_error(TT_RET_NEG_S32, 0xdeadbeef80000000ULL)); /* upper half ignored */
	assert_false(tt_ret_rule_error(TT_RET_NEG_S32, 0xffffffff00000000ULL));
	assert_false(tt_ret_rule_error(TT_RET_NEG_S64, 0x00000000ffffffffULL));
	assert_true(tt_ret_rule_error(TT_RET_NEG_S64, (uint64_t)-0x100000000LL));
	assert_true(tt_ret_rule_error(TT_RET_NEG_S8, 0xffULL));
	assert_false(tt_ret_rule_error(TT_RET_NEG_S8, 0xff7fULL));
	assert_true(tt_ret_rule_error(TT_RET_NEG_S16, 0x8000ULL));
	assert_false(tt_ret_rule_error(TT_RET_NEG_S16, 0xffff7fffULL));
	assert_false(tt_ret_rule_error(TT_RET_NONE, (uint64_t)-1));
	assert_false(tt_ret_rule_error(7, (uint64_t)-1));
	/* the rule travels in cookie bits the probe id never reaches */
	assert_int_equal((TT_COOKIE_RET(TT_RET_NEG_S64) & TT_COOKIE_RET_MASK) >> TT_COOKIE_RET_SHIFT,
			 TT_RET_NEG_S64);
	assert_int_equal(TT_COOKIE_RET_MASK & (TT_COOKIE_CAPS | TT_COOKIE_RET_CAPS | TT_COOKIE_CTX_KEY |
					      TT_COOKIE_ERR_RULE | TT_COOKIE_TRACEPARENT | 0xffffffffULL),
			 0);
}

int main(void)
{
	const char *b = getenv("TT_BUILD_DIR");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dwarf_rules),     cmocka_unit_test(test_no_debug_info),
		cmocka_unit_test(test_btf_rules),       cmocka_unit_test(test_catalogue_rules),
		cmocka_unit_test(test_rule_predicate),
	};

	snprintf(fixture, sizeof(fixture), "%s/fixtures/errtype", b ? b : "build");
	snprintf(nodebug, sizeof(nodebug), "%s/fixtures/errtype-nodebug", b ? b : "build");
	if (access(fixture, R_OK) || access(nodebug, R_OK)) {
		fprintf(stderr, "test_rettype: %s or %s missing (make %s)\n", fixture, nodebug, nodebug);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
