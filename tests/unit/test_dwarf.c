/* Unit tests for user/dwarf_resolve.c: by-name captures resolved against the real DWARF of
 * $TT_BUILD_DIR/workflow-demo, cross-checked with gdb's `ptype /o` of the same binary and
 * with the layout documented in tools/workflow-demo.md; the shipped by-name catalogue must
 * resolve to exactly the explicit-offset one; a --strip-debug copy gives -ENODATA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"

static char demo[512];
static char stripped[512];
static char tmpdir[256];

struct member {
	char name[64];
	int off, size;
};

struct layout {
	struct member m[16];
	int n;
};

static struct layout ctx_layout, task_layout;

/* Member offsets and sizes as gdb prints them: "/ *  16  |  64 * /  char traceparent[64];" */
static void gdb_layout(const char *type, struct layout *l)
{
	char cmd[1024], line[512];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "gdb -nx -batch -ex 'ptype /o %s' '%s' 2>&1", type, demo);
	f = popen(cmd, "r");
	assert_non_null(f);
	l->n = 0;
	while (fgets(line, sizeof(line), f)) {
		int off, size;
		char *semi, *name;

		if (sscanf(line, "/* %d | %d */", &off, &size) != 2 || !(semi = strrchr(line, ';')))
			continue;
		*semi = 0;
		if (strchr(line, '['))
			*strchr(line, '[') = 0;
		name = strrchr(line, ' ');
		assert_non_null(name);
		name++;
		while (*name == '*')
			name++;
		assert_true(l->n < 16);
		snprintf(l->m[l->n].name, sizeof(l->m[0].name), "%s", name);
		l->m[l->n].off = off;
		l->m[l->n].size = size;
		l->n++;
	}
	assert_int_equal(pclose(f), 0);
	if (l->n == 0)
		fail_msg("gdb printed no members for %s in %s", type, demo);
}

static const struct member *member(const struct layout *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->m[i].name, name))
			return &l->m[i];
	fail_msg("gdb shows no member %s", name);
	return NULL;
}

static int setup(void **state)
{
	const char *dir = getenv("TT_BUILD_DIR");
	char cmd[1200];
	struct stat st;

	(void)state;
	snprintf(demo, sizeof(demo), "%s/workflow-demo", dir && *dir ? dir : "build");
	if (stat(demo, &st)) {
		fprintf(stderr, "test_dwarf: %s missing: build it with make BUILD=%s %s\n", demo,
			dir && *dir ? dir : "build", demo);
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tt-dwarf-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(stripped, sizeof(stripped), "%s/workflow-demo-stripped", tmpdir);
	snprintf(cmd, sizeof(cmd), "strip --strip-debug -o '%s' '%s'", stripped, demo);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_dwarf: %s failed\n", cmd);
		return -1;
	}
	gdb_layout("struct tta_context", &ctx_layout);
	gdb_layout("struct tta_task", &task_layout);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(stripped);
	rmdir(tmpdir);
	return 0;
}

static struct catalog *parse(const char *yaml)
{
	char err[512] = "";
	struct catalog *c = catalog__parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));

	if (!c)
		fail_msg("%s", err);
	return c;
}

static void clear_out(struct capture *out)
{
	for (int i = 0; i < CAT_MAX_CAPTURES; i++)
		capture__clear(&out[i]);
}

/* Resolves one capture expression of function sym in the demo. */
static int resolve1(const char *sym, const char *expr, struct capture *out, char *err, size_t len)
{
	char yaml[512];
	struct catalog *c;
	struct capture res[CAT_MAX_CAPTURES];
	int ret;

	snprintf(yaml, sizeof(yaml), "primitives:\n  - match: \"%s\"\n    capture:\n      x: \"%s\"\n", sym,
		 expr);
	c = parse(yaml);
	ret = catalog__resolve(&c->entries[0], demo, sym, res, err, len);
	if (!ret) {
		*out = res[0];
		memset(&res[0], 0, sizeof(res[0]));
		clear_out(res);
	}
	catalog__free(c);
	return ret;
}

struct want {
	const char *sym, *expr;
	int n_derefs;
	int64_t d0, d1;
	enum cap_final final;
	int64_t off;
	uint32_t size;
	enum cap_type type;
};

static void test_resolve_fields(void **state)
{
	(void)state;
	/* offsets from tools/workflow-demo.md; gdb agrees (test_gdb_agrees) */
	static const struct want w[] = {
		{ "tta_workflow_run", "arg0->workflow_id", 0, 0, 0, CAP_FINAL_READ, 0, 8, CAP_T_U64 },
		{ "tta_workflow_run", "arg0->iteration", 0, 0, 0, CAP_FINAL_READ, 8, 4, CAP_T_S64 },
		{ "tta_workflow_run", "arg0->flags", 0, 0, 0, CAP_FINAL_READ, 12, 4, CAP_T_S64 },
		{ "tta_workflow_run", "(bool)arg0->flags", 0, 0, 0, CAP_FINAL_READ, 12, 4, CAP_T_BOOL },
		{ "tta_workflow_run", "str(arg0->traceparent)", 0, 0, 0, CAP_FINAL_STR, 16, 0, CAP_T_STR },
		{ "tta_workflow_run", "arg0->traceparent", 0, 0, 0, CAP_FINAL_STR, 16, 0, CAP_T_STR },
		{ "tta_workflow_run", "arg0->session_id", 0, 0, 0, CAP_FINAL_STR, 80, 0, CAP_T_STR },
		{ "tta_step_finalize", "arg0->session_id", 0, 0, 0, CAP_FINAL_STR, 80, 0, CAP_T_STR },
		{ "tta_pool_task", "arg0->ctx", 0, 0, 0, CAP_FINAL_READ, 0, 8, CAP_T_PTR },
		{ "tta_pool_task", "arg0->idx", 0, 0, 0, CAP_FINAL_READ, 8, 4, CAP_T_S64 },
		{ "tta_pool_task", "arg0->result", 0, 0, 0, CAP_FINAL_READ, 12, 4, CAP_T_S64 },
		{ "tta_pool_task", "arg0->ctx->workflow_id", 1, 0, 0, CAP_FINAL_READ, 0, 8, CAP_T_U64 },
		{ "tta_pool_task", "arg0->ctx->iteration", 1, 0, 0, CAP_FINAL_READ, 8, 4, CAP_T_S64 },
		{ "tta_pool_task", "arg0->ctx->session_id", 1, 0, 0, CAP_FINAL_STR, 80, 0, CAP_T_STR },
		{ "tta_pool_task", "arg0->next->idx", 1, 16, 0, CAP_FINAL_READ, 8, 4, CAP_T_S64 },
		{ "tta_pool_task", "arg0->next->ctx->traceparent", 2, 16, 0, CAP_FINAL_STR, 16, 0, CAP_T_STR },
		/* str() of a non-char pointer: read the pointer, then a string there */
		{ "tta_pool_task", "str(arg0->ctx)", 0, 0, 0, CAP_FINAL_STR_PTR, 0, 8, CAP_T_STR },
		{ "tta_retry_attempt", "arg0->workflow_id", 0, 0, 0, CAP_FINAL_READ, 0, 8, CAP_T_U64 },
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		struct capture c;
		char err[512] = "";
		int ret = resolve1(w[i].sym, w[i].expr, &c, err, sizeof(err));

		if (ret)
			fail_msg("%s %s: %d %s", w[i].sym, w[i].expr, ret, err);
		if (c.src != CAP_SRC_ARG || c.arg != 0 || c.n_derefs != w[i].n_derefs ||
		    (c.n_derefs > 0 && c.deref_off[0] != w[i].d0) ||
		    (c.n_derefs > 1 && c.deref_off[1] != w[i].d1) || c.final != w[i].final ||
		    c.final_off != w[i].off || c.size != w[i].size || c.type != w[i].type)
			fail_msg("%s %s: derefs=%d [%lld %lld] final=%d off=%lld size=%u type=%d", w[i].sym,
				 w[i].expr, c.n_derefs, (long long)c.deref_off[0], (long long)c.deref_off[1],
				 c.final, (long long)c.final_off, c.size, c.type);
		assert_null(c.field_path);
		assert_string_equal(c.name, "x");
		assert_string_equal(c.expr, w[i].expr);
		capture__clear(&c);
	}
}

/* The resolver's numbers against gdb's reading of the same DWARF, member by member. */
static void test_gdb_agrees(void **state)
{
	(void)state;
	static const struct {
		const char *sym, *expr, *type, *member;
	} m[] = {
		{ "tta_workflow_run", "arg0->workflow_id", "ctx", "workflow_id" },
		{ "tta_workflow_run", "arg0->iteration", "ctx", "iteration" },
		{ "tta_workflow_run", "arg0->flags", "ctx", "flags" },
		{ "tta_workflow_run", "arg0->traceparent", "ctx", "traceparent" },
		{ "tta_workflow_run", "arg0->session_id", "ctx", "session_id" },
		{ "tta_pool_task", "arg0->ctx", "task", "ctx" },
		{ "tta_pool_task", "arg0->idx", "task", "idx" },
		{ "tta_pool_task", "arg0->result", "task", "result" },
		{ "tta_pool_task", "arg0->next", "task", "next" },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		const struct member *g = member(!strcmp(m[i].type, "ctx") ? &ctx_layout : &task_layout,
						m[i].member);
		struct capture c;
		char err[512] = "";

		if (resolve1(m[i].sym, m[i].expr, &c, err, sizeof(err)))
			fail_msg("%s: %s", m[i].expr, err);
		if (c.final_off != g->off)
			fail_msg("%s: offset %lld, gdb says %d", m[i].expr, (long long)c.final_off, g->off);
		if (c.final == CAP_FINAL_READ && (int)c.size != g->size)
			fail_msg("%s: size %u, gdb says %d", m[i].expr, c.size, g->size);
		capture__clear(&c);
	}
	/* and gdb agrees with the documented layout */
	assert_int_equal(member(&ctx_layout, "traceparent")->size, 64);
	assert_int_equal(member(&ctx_layout, "session_id")->off, 80);
	assert_int_equal(member(&task_layout, "idx")->off, 8);
}

struct bad {
	const char *sym, *expr;
	int ret;
	const char *msg;
};

static void test_resolve_errors(void **state)
{
	(void)state;
	static const struct bad b[] = {
		{ "tta_workflow_run", "arg0->foo", -EINVAL, "capture x: struct tta_context has no member foo" },
		{ "tta_pool_task", "arg0->ctx->nope", -EINVAL, "capture x: struct tta_context has no member nope" },
		{ "tta_pool_task", "arg0->workflow_id", -EINVAL, "capture x: struct tta_task has no member workflow_id" },
		{ "tta_workflow_run", "arg3->x", -EINVAL, "capture x: arg3: tta_workflow_run has only 1 parameter" },
		{ "tta_parallel_branch", "arg2->x", -EINVAL, "capture x: arg2: tta_parallel_branch has only 2 parameters" },
		{ "tta_parallel_branch", "arg1->x", -EINVAL, "capture x: arg1 is not a pointer" },
		{ "tta_workflow_run", "arg0->workflow_id->x", -EINVAL, "capture x: arg0->workflow_id is not a pointer" },
		{ "tta_workflow_run", "str(arg0->iteration)", -EINVAL,
		  "capture x: arg0->iteration is not a string (str() needs a char array or a pointer)" },
		{ "tta_nope", "arg0->x", -ENOENT, NULL /* path-dependent, checked below */ },
	};
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		struct capture c;
		char err[512] = "", want[700];
		int ret = resolve1(b[i].sym, b[i].expr, &c, err, sizeof(err));

		if (ret != b[i].ret)
			fail_msg("%s %s: %d (%s), want %d", b[i].sym, b[i].expr, ret, err, b[i].ret);
		if (!b[i].msg)
			snprintf(want, sizeof(want), "function %s not found in DWARF of %s", b[i].sym, demo);
		else
			snprintf(want, sizeof(want), "%s", b[i].msg);
		assert_string_equal(err, want);
	}
}

/* By-name captures can hide strings: the limit is checked again after resolving. */
static void test_string_limit_after_resolve(void **state)
{
	(void)state;
	struct catalog *c = parse("primitives:\n  - match: tta_workflow_run\n    capture:\n"
				  "      a: arg0->traceparent\n      b: arg0->session_id\n"
				  "      c: str(arg0->traceparent)\n");
	struct capture out[CAT_MAX_CAPTURES];
	char err[512] = "";

	assert_int_equal(catalog__resolve(&c->entries[0], demo, "tta_workflow_run", out, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "capture c: at most 2 string captures per primitive (tta_workflow_run has more after resolving fields)");
	for (int i = 0; i < CAT_MAX_CAPTURES; i++)
		assert_null(out[i].name);
	catalog__free(c);
}

static const char *const demo_syms[] = {
	"tta_workflow_run", "tta_sequential", "tta_step_validate", "tta_conditional",
	"tta_branch_even", "tta_branch_odd", "tta_parallel", "tta_parallel_branch",
	"tta_parallel_pool", "tta_pool_task", "tta_retry", "tta_retry_attempt",
	"tta_fallback", "tta_primary_service", "tta_fallback_service", "tta_timeout",
	"tta_slow_operation", "tta_cache_get", "tta_cache_load", "tta_router",
	"tta_route_fast", "tta_route_standard", "tta_route_bulk", "tta_saga",
	"tta_saga_reserve", "tta_saga_charge", "tta_saga_ship", "tta_saga_compensate_charge",
	"tta_saga_compensate_reserve", "tta_step_finalize",
};

/* tools/workflow-demo.yaml resolved against the demo == tools/workflow-demo-offsets.yaml. */
static void test_shipped_catalogues_agree(void **state)
{
	(void)state;
	char err[512] = "";
	struct catalog *byname = catalog__load("tools/workflow-demo.yaml", err, sizeof(err));
	struct catalog *offs = catalog__load("tools/workflow-demo-offsets.yaml", err, sizeof(err));
	int by_name_caps = 0;

	assert_non_null(byname);
	assert_non_null(offs);
	for (size_t i = 0; i < sizeof(demo_syms) / sizeof(demo_syms[0]); i++) {
		const char *sym = demo_syms[i];
		const struct cat_entry *a = catalog__match(byname, demo, sym);
		const struct cat_entry *b = catalog__match(offs, demo, sym);
		struct capture ra[CAT_MAX_CAPTURES], rb[CAT_MAX_CAPTURES];

		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(a->n_caps, b->n_caps);
		if (catalog__resolve(a, demo, sym, ra, err, sizeof(err)))
			fail_msg("%s: %s", sym, err);
		/* explicit offsets need no DWARF: the stripped copy works */
		if (catalog__resolve(b, stripped, sym, rb, err, sizeof(err)))
			fail_msg("%s (stripped, offsets): %s", sym, err);
		for (int j = 0; j < a->n_caps; j++) {
			by_name_caps += a->caps[j].field_path != NULL;
			assert_string_equal(ra[j].name, rb[j].name);
			assert_null(ra[j].field_path);
			if (ra[j].src != rb[j].src || ra[j].arg != rb[j].arg ||
			    ra[j].n_derefs != rb[j].n_derefs || ra[j].final != rb[j].final ||
			    ra[j].final_off != rb[j].final_off || ra[j].size != rb[j].size ||
			    ra[j].type != rb[j].type ||
			    memcmp(ra[j].deref_off, rb[j].deref_off, sizeof(ra[j].deref_off)))
				fail_msg("%s capture %s: by name (%s) and by offset (%s) differ", sym,
					 ra[j].name, ra[j].expr, rb[j].expr);
		}
		clear_out(ra);
		clear_out(rb);
	}
	assert_int_equal(by_name_caps, 4); /* workflow.id, session.id, traceparent, pool ctx */
	catalog__free(byname);
	catalog__free(offs);
}

static void test_stripped(void **state)
{
	(void)state;
	struct catalog *c = parse("primitives:\n  - match: tta_pool_task\n    capture:\n"
				  "      ctx: arg0->ctx\n      idx: \"*(s32 *)(arg0 + 8)\"\n");
	struct capture out[CAT_MAX_CAPTURES];
	char err[512] = "", want[700];

	assert_int_equal(catalog__resolve(&c->entries[0], stripped, "tta_pool_task", out, err, sizeof(err)),
			 -ENODATA);
	snprintf(want, sizeof(want),
		 "no debug info in %s (build with -g, or use explicit offsets like *(u64 *)(arg0 + 16))",
		 stripped);
	assert_string_equal(err, want);
	for (int i = 0; i < CAT_MAX_CAPTURES; i++)
		assert_null(out[i].expr);
	/* the same on the unstripped binary works */
	assert_int_equal(catalog__resolve(&c->entries[0], demo, "tta_pool_task", out, err, sizeof(err)), 0);
	assert_int_equal(out[1].final_off, 8);
	clear_out(out);
	assert_int_equal(catalog__resolve(&c->entries[0], "/nonexistent/bin", "tta_pool_task", out, err,
					  sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "cannot open /nonexistent/bin: No such file or directory");
	catalog__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_fields),
		cmocka_unit_test(test_gdb_agrees),
		cmocka_unit_test(test_resolve_errors),
		cmocka_unit_test(test_string_limit_after_resolve),
		cmocka_unit_test(test_shipped_catalogues_agree),
		cmocka_unit_test(test_stripped),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
