/* Unit tests for user/catalog.c: the shipped demo catalogues load with the expected entries,
 * every mistake is one "FILE:LINE: ..." line at the right line, and catalog__match picks the
 * first matching entry, honouring BINARY: prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "python.h"

static const struct cat_entry *find(const struct catalog *c, const char *glob)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->entries[i].glob, glob))
			return &c->entries[i];
	fail_msg("no entry with match \"%s\"", glob);
	return NULL;
}

/* The functions of the demo (tools/workflow-demo.md) and the kind each must get. */
static const struct {
	const char *sym;
	enum prim_kind kind;
	bool error_lt0;
	bool compensation;
} demo_funcs[] = {
	{ "tta_workflow_run", KIND_SEQUENTIAL, false, false },
	{ "tta_sequential", KIND_SEQUENTIAL, false, false },
	{ "tta_step_validate", KIND_LAMBDA, true, false },
	{ "tta_conditional", KIND_CONDITIONAL, false, false },
	{ "tta_branch_even", KIND_LAMBDA, false, false },
	{ "tta_branch_odd", KIND_LAMBDA, false, false },
	{ "tta_parallel", KIND_PARALLEL, false, false },
	{ "tta_parallel_branch", KIND_LAMBDA, false, false },
	{ "tta_parallel_pool", KIND_PARALLEL, false, false },
	{ "tta_pool_task", KIND_LAMBDA, false, false },
	{ "tta_retry", KIND_RETRY, false, false },
	{ "tta_retry_attempt", KIND_STEP, true, false },
	{ "tta_fallback", KIND_FALLBACK, false, false },
	{ "tta_primary_service", KIND_STEP, true, false },
	{ "tta_fallback_service", KIND_STEP, true, false },
	{ "tta_timeout", KIND_TIMEOUT, true, false },
	{ "tta_slow_operation", KIND_STEP, true, false },
	{ "tta_cache_get", KIND_CACHE, false, false },
	{ "tta_cache_load", KIND_STEP, false, false },
	{ "tta_router", KIND_ROUTER, false, false },
	{ "tta_route_fast", KIND_LAMBDA, false, false },
	{ "tta_route_standard", KIND_LAMBDA, false, false },
	{ "tta_route_bulk", KIND_LAMBDA, false, false },
	{ "tta_saga", KIND_SAGA, true, false },
	{ "tta_saga_reserve", KIND_STEP, true, false },
	{ "tta_saga_charge", KIND_STEP, true, false },
	{ "tta_saga_ship", KIND_STEP, true, false },
	{ "tta_saga_compensate_charge", KIND_STEP, false, true },
	{ "tta_saga_compensate_reserve", KIND_STEP, false, true },
	{ "tta_step_finalize", KIND_LAMBDA, true, false },
};

static void check_demo_common(const struct catalog *c)
{
	const struct cat_entry *e;

	assert_int_equal(sizeof(demo_funcs) / sizeof(demo_funcs[0]), 30);
	for (size_t i = 0; i < sizeof(demo_funcs) / sizeof(demo_funcs[0]); i++) {
		e = catalog__match(c, "/somewhere/build/workflow-demo", demo_funcs[i].sym);
		if (!e)
			fail_msg("%s matches no entry", demo_funcs[i].sym);
		if (e->kind != demo_funcs[i].kind)
			fail_msg("%s: kind %s, want %s", demo_funcs[i].sym, prim_kind__name(e->kind),
				 prim_kind__name(demo_funcs[i].kind));
		if (demo_funcs[i].error_lt0) {
			assert_int_equal(e->error.op, ERR_LT);
			assert_string_equal(e->error.operand, "ret");
			assert_int_equal(e->error.value, 0);
		} else {
			assert_int_equal(e->error.op, ERR_NONE);
		}
		assert_int_equal(e->role, demo_funcs[i].compensation ? ROLE_COMPENSATION : ROLE_NONE);
		assert_null(e->binary);
	}
	assert_null(catalog__match(c, "/x/workflow-demo", "count_call"));
	assert_null(catalog__match(c, "/x/workflow-demo", "main"));

	e = find(c, "tta_workflow_run");
	assert_string_equal(e->name, "workflow");
	assert_int_equal(e->n_caps, 4);
	assert_string_equal(e->caps[0].name, "workflow.id");
	assert_string_equal(e->caps[1].name, "session.id");
	assert_string_equal(e->caps[2].name, "traceparent");
	assert_string_equal(e->caps[3].name, "ctx");
	assert_int_equal(e->ctx_key, 3);
	assert_int_equal(e->caps[3].final, CAP_FINAL_VALUE);
	assert_int_equal(e->caps[3].arg, 0);
	assert_true(e->slo.has_latency);
	assert_int_equal(e->slo.latency_threshold_ns, 50000000);
	assert_true(fabs(e->slo.latency_target - 0.99) < 1e-12);
	assert_true(e->slo.has_errors);
	assert_true(fabs(e->slo.errors_target - 0.999) < 1e-12);

	e = find(c, "tta_timeout");
	assert_string_equal(e->error.error_type, "timeout");
	e = find(c, "tta_parallel_branch");
	assert_int_equal(e->n_caps, 1);
	assert_string_equal(e->caps[0].name, "branch.index");
	assert_int_equal(e->caps[0].arg, 1);
	assert_int_equal(e->caps[0].final, CAP_FINAL_VALUE);
	e = find(c, "tta_parallel_pool");
	assert_int_equal(e->ctx_key, 0);
	e = find(c, "tta_retry_attempt");
	assert_string_equal(e->caps[0].name, "attempt");
	assert_int_equal(e->caps[0].arg, 1);
	e = find(c, "tta_cache_get");
	assert_string_equal(e->caps[0].name, "cache.key");
	assert_int_equal(e->caps[0].arg, 1);
	/* only the workflow entry has a name or an SLO */
	for (size_t i = 0; i < c->n; i++) {
		if (!strcmp(c->entries[i].glob, "tta_workflow_run"))
			continue;
		assert_null(c->entries[i].name);
		assert_false(c->entries[i].slo.has_latency || c->entries[i].slo.has_errors);
	}
}

static void test_demo_catalog(void **state)
{
	(void)state;
	char err[512] = "";
	struct catalog *c = catalog__load("tools/workflow-demo.yaml", err, sizeof(err));
	const struct cat_entry *e;

	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->path, "tools/workflow-demo.yaml");
	check_demo_common(c);
	e = find(c, "tta_workflow_run");
	assert_int_equal(e->line, 5);
	assert_string_equal(e->caps[0].field_path, "workflow_id");
	assert_string_equal(e->caps[0].expr, "arg0->workflow_id");
	assert_string_equal(e->caps[1].field_path, "session_id");
	assert_int_equal(e->caps[1].type, CAP_T_STR);
	assert_string_equal(e->caps[2].field_path, "traceparent");
	e = find(c, "tta_pool_task");
	assert_int_equal(e->ctx_key, 0);
	assert_string_equal(e->caps[0].field_path, "ctx");
	catalog__free(c);
}

static void test_demo_offsets_catalog(void **state)
{
	(void)state;
	char err[512] = "";
	struct catalog *c = catalog__load("tools/workflow-demo-offsets.yaml", err, sizeof(err));
	const struct cat_entry *e;

	if (!c)
		fail_msg("%s", err);
	check_demo_common(c);
	for (size_t i = 0; i < c->n; i++)
		for (int j = 0; j < c->entries[i].n_caps; j++)
			if (c->entries[i].caps[j].field_path)
				fail_msg("%s: capture %s is by name in the offsets catalogue",
					 c->entries[i].glob, c->entries[i].caps[j].name);
	e = find(c, "tta_workflow_run");
	assert_int_equal(e->caps[0].final, CAP_FINAL_READ);
	assert_int_equal(e->caps[0].final_off, 0);
	assert_int_equal(e->caps[0].size, 8);
	assert_int_equal(e->caps[0].type, CAP_T_U64);
	assert_int_equal(e->caps[1].final, CAP_FINAL_STR);
	assert_int_equal(e->caps[1].final_off, 80);
	assert_int_equal(e->caps[2].final, CAP_FINAL_STR);
	assert_int_equal(e->caps[2].final_off, 16);
	e = find(c, "tta_pool_task");
	assert_int_equal(e->caps[0].final, CAP_FINAL_READ);
	assert_int_equal(e->caps[0].final_off, 0);
	assert_int_equal(e->caps[0].size, 8);
	assert_int_equal(e->caps[0].type, CAP_T_PTR);
	catalog__free(c);
}

#define Y(s) s "\n"

struct bad {
	const char *yaml;
	const char *msg; /* the whole message */
};

static const struct bad bads[] = {
	/* Python entries */
	{ Y("primitives:") Y("  - python_class: ttaflow") Y("    kind: step"),
	  "t.yaml:2: python_class: expected \"MODULE:QUALNAME\", got \"ttaflow\"" },
	{ Y("primitives:") Y("  - python_class: \":Step\""),
	  "t.yaml:2: python_class: expected \"MODULE:QUALNAME\", got \":Step\"" },
	{ Y("primitives:") Y("  - python_class: \"ttaflow:\""),
	  "t.yaml:2: python_class: expected \"MODULE:QUALNAME\", got \"ttaflow:\"" },
	{ Y("primitives:") Y("  - python_class: \"ttaflow:Step*\""),
	  "t.yaml:2: python_class: expected \"MODULE:QUALNAME\", got \"ttaflow:Step*\"" },
	{ Y("primitives:") Y("  - python_class: \"tta flow:Step\""),
	  "t.yaml:2: python_class: expected \"MODULE:QUALNAME\", got \"tta flow:Step\"" },
	{ Y("primitives:") Y("  - python: \"app.:run\""),
	  "t.yaml:2: python: expected \"MODULE:QUALNAME\", got \"app.:run\"" },
	{ Y("primitives:") Y("  - python: [app]"),
	  "t.yaml:2: python: expected \"MODULE:QUALNAME\", got a list" },
	{ Y("primitives:") Y("  - python_class: \"ttaflow:Step\"") Y("    methods: []"),
	  "t.yaml:3: methods: expected at least one method name" },
	{ Y("primitives:") Y("  - python_class: \"ttaflow:Step\"") Y("    methods: [execute, \"run it\"]"),
	  "t.yaml:3: methods: expected method names like execute" },
	{ Y("primitives:") Y("  - python_class: \"ttaflow:Step\"") Y("    methods: [\"\"]"),
	  "t.yaml:3: methods: expected method names like execute" },
	{ Y("primitives:") Y("  - python_class: \"ttaflow:Step\"") Y("    methods: execute"),
	  "t.yaml:3: methods: expected a list, got a scalar" },
	{ Y("primitives:") Y("  - python: \"app:run_*\"") Y("    methods: [execute]"),
	  "t.yaml:2: primitives entry: methods goes with python_class, not python" },
	{ Y("primitives:") Y("  - methods: [execute]") Y("    python: \"app:run_*\""),
	  "t.yaml:2: primitives entry: methods goes with python_class, not python" },
	{ Y("primitives:") Y("  - match: tta_*") Y("    python_class: \"ttaflow:Step\""),
	  "t.yaml:2: primitives entry: match and python/python_class exclude each other" },
	{ Y("primitives:") Y("  - methods: [execute]") Y("    kind: step"),
	  "t.yaml:2: primitives entry: missing match (a symbol glob like \"tta_*\") or python_class/python" },
	{ Y("primitives:") Y("  - python_class: \"ttaflow:Step\"") Y("    python_methods: [execute]"),
	  "t.yaml:3: unknown key \"python_methods\" (expected match, python_class, methods, python, name, kind, role, capture, error, error_type, context_key or slo)" },
	{ Y("primitives:") Y("  - match: f") Y("    kind: banana"),
	  "t.yaml:3: kind: expected one of step sequential parallel conditional switch router retry fallback timeout cache saga lambda, got \"banana\"" },
	{ Y("primitives:") Y("  - match: f") Y("    colour: red"),
	  "t.yaml:3: unknown key \"colour\" (expected match, python_class, methods, python, name, kind, role, capture, error, error_type, context_key or slo)" },
	{ Y("primitives:") Y("  - kind: step") Y("    name: x"),
	  "t.yaml:2: primitives entry: missing match (a symbol glob like \"tta_*\") or python_class/python" },
	{ Y("primitives:") Y("  - match: f") Y("    capture:") Y("      a: arg0") Y("      b: arg9"),
	  "t.yaml:5: capture b: bad capture expression \"arg9\": argument index 9 out of range (arg0..arg5: BPF sees 6 register arguments)" },
	{ Y("primitives:") Y("  - match: f") Y("    capture:") Y("      a: \"*(u64 *)(arg0 + q)\""),
	  "t.yaml:4: capture a: bad capture expression \"*(u64 *)(arg0 + q)\": expected a byte offset (a number) at \"q)\"" },
	{ Y("primitives:") Y("  - match: f") Y("    capture:") Y("      a: arg0") Y("      b: arg1")
		  Y("      c: arg2") Y("      d: arg3") Y("      e: arg4"),
	  "t.yaml:8: capture: at most 4 captures per primitive, \"e\" is one too many" },
	{ Y("primitives:") Y("  - match: f") Y("    capture:") Y("      a: str(arg0)") Y("      b: str(arg1)")
		  Y("      c: str(arg2)"),
	  "t.yaml:6: capture c: at most 2 string captures per primitive" },
	{ Y("primitives:") Y("  - match: f") Y("    capture: {a: arg0}") Y("    context_key: b"),
	  "t.yaml:4: context_key: \"b\" names no capture of this entry" },
	{ Y("primitives:") Y("  - match: f") Y("    capture: {a: str(arg0)}") Y("    context_key: a"),
	  "t.yaml:4: context_key: capture \"a\" is a string; expected a number or pointer" },
	{ Y("primitives:") Y("  - match: f") Y("    slo:") Y("      latency: {threshold: 250, target: 99%}"),
	  "t.yaml:4: slo.latency.threshold: expected a positive duration with a unit (ns, us, ms, s) like 250ms, got \"250\"" },
	{ Y("primitives:") Y("  - match: f") Y("    slo:") Y("      latency: {threshold: 5min, target: 99%}"),
	  "t.yaml:4: slo.latency.threshold: expected a positive duration with a unit (ns, us, ms, s) like 250ms, got \"5min\"" },
	{ Y("primitives:") Y("  - match: f") Y("    slo:") Y("      latency: {threshold: 1ms, target: 99}"),
	  "t.yaml:4: slo.latency.target: expected a percentage like 99% or 99.9% or a fraction like 0.99 (greater than 0, at most 100%), got \"99\"" },
	{ Y("primitives:") Y("  - match: f") Y("    slo:") Y("      errors:") Y("        target: 101%"),
	  "t.yaml:5: slo.errors.target: expected a percentage like 99% or 99.9% or a fraction like 0.99 (greater than 0, at most 100%), got \"101%\"" },
	{ Y("primitives:") Y("  - match: f") Y("    slo:") Y("      latency:") Y("        target: 99%"),
	  "t.yaml:5: slo.latency: missing threshold (e.g. threshold: 250ms)" },
	{ Y("primitives:") Y("  - match: f") Y("    slo:") Y("      availability: {target: 99%}"),
	  "t.yaml:4: slo: unknown key \"availability\" (expected latency or errors)" },
	{ Y("primitives:") Y("  - match: f") Y("    slo: 99%"), "t.yaml:3: slo: expected a mapping, got a scalar" },
	{ Y("primitives:") Y("  - match: [f, g]"),
	  "t.yaml:2: match: expected a symbol glob like \"tta_*\" or \"BINARY:GLOB\", got a list" },
	{ Y("primitives:") Y("  - match: \"f[\""),
	  "t.yaml:2: match: expected a symbol glob or BINARY:GLOB: probe spec 'f[' is malformed: invalid glob (use [BINARY:]GLOB, glob syntax * ? [..])" },
	{ Y("primitives:") Y("  - match: f") Y("    capture: [arg0]"), "t.yaml:3: capture: expected a mapping, got a list" },
	{ Y("primitives:") Y("  - match: f") Y("    capture:") Y("      a: {x: 1}"),
	  "t.yaml:4: capture: expected an expression like arg0->field, got a mapping" },
	{ Y("primitives:") Y("  - match: f") Y("    role: undo"), "t.yaml:3: role: expected compensation, got \"undo\"" },
	{ Y("primitives:") Y("  - match: f") Y("    error: ret ~ 0"),
	  "t.yaml:3: error: bad error rule \"ret ~ 0\": expected an operator (< <= > >= == !=) after \"ret\"" },
	{ Y("primitives:") Y("  - match: f") Y("    error: status != 0"),
	  "t.yaml:3: error: \"status\" is neither ret nor the name of a capture of this entry" },
	{ Y("primitives:") Y("  - match: f") Y("    error_type: timeout"),
	  "t.yaml:3: error_type: needs an error rule (error: ret < 0) in the same entry" },
	{ Y("primitives:") Y("  - match: f") Y("    kind: step") Y("    kind: saga"),
	  "t.yaml:4: primitives entry: duplicate key \"kind\"" },
	{ Y("primitives:") Y("  - match: f") Y("  - f"), "t.yaml:3: primitives entry: expected a mapping, got a scalar" },
	{ Y("entries:") Y("  - match: f"), "t.yaml:1: unknown key \"entries\" (expected primitives or targets)" },
	{ Y("targets:") Y("  - service: x") Y("primitives:") Y("  - match: f"),
	  "t.yaml:2: targets entry: give at least one of exe, comm, cmdline, cgroup" },
	{ Y("targets:") Y("  - exe: /usr/bin/x") Y("    pid: 3") Y("primitives:") Y("  - match: f"),
	  "t.yaml:3: targets entry: unknown key \"pid\" (expected exe, comm, cmdline, cgroup or service)" },
	{ Y("targets:") Y("  - comm: \"[x\"") Y("primitives:") Y("  - match: f"),
	  "t.yaml:2: comm: invalid glob \"[x\"" },
	{ Y("targets: {exe: x}") Y("primitives:") Y("  - match: f"),
	  "t.yaml:1: targets: expected a list, got a mapping" },
	{ Y("targets:") Y("  - exe: \"\"") Y("primitives:") Y("  - match: f"),
	  "t.yaml:2: exe: expected a glob, got an empty string" },
	{ Y("- match: f"), "t.yaml:1: expected a mapping with key \"primitives\" at the top, got a list" },
	{ Y("# nothing"), "t.yaml:1: expected a mapping with key \"primitives\", got an empty file" },
	{ Y("primitives: {match: f}"), "t.yaml:1: primitives: expected a list, got a mapping" },
	{ Y("primitives:") Y("  - match: f") Y("    kind: [step"),
	  "t.yaml:4: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence" },
	{ Y("primitives:") Y("  - match: f") Y("   kind: step"),
	  "t.yaml:3: YAML syntax error: did not find expected '-' indicator while parsing a block collection" },
	{ Y("primitives:") Y("  - match: \"f") Y("    kind: step"),
	  "t.yaml:4: YAML syntax error: found unexpected end of stream while scanning a quoted scalar" },
	{ Y("primitives:") Y("  - match: f") Y("---") Y("primitives: []"),
	  "t.yaml:4: expected one YAML document, found another" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char err[512] = "";
		struct catalog *c;

		errno = 0;
		c = catalog__parse(bads[i].yaml, strlen(bads[i].yaml), "t.yaml", err, sizeof(err));
		if (c) {
			catalog__free(c);
			fail_msg("case %zu accepted:\n%s", i, bads[i].yaml);
		}
		assert_int_equal(errno, EINVAL);
		if (strcmp(err, bads[i].msg))
			fail_msg("case %zu:\n%s\ngot:  %s\nwant: %s", i, bads[i].yaml, err, bads[i].msg);
		assert_null(strchr(err, '\n'));
	}
}

static void test_good_variants(void **state)
{
	(void)state;
	const char *y = Y("# comment") Y("primitives:") Y("  - match: \"app:handle_*\"")
		Y("    kind: switch") Y("    capture:") Y("      status: ret") Y("      req: arg1")
		Y("    error: status != 0") Y("    slo:") Y("      latency: {threshold: 1.5s, target: 0.95}")
		Y("  - match: \"libfoo:*\"") Y("    slo: {errors: {target: 99.95%}}")
		Y("  - match: \"handle_*\"") Y("    name: handler") Y("    slo:")
		Y("      latency: {threshold: 800us, target: 100%}") Y("  - match: \"*\"")
		Y("    slo: {latency: {threshold: 100ns, target: 50%}}");
	char err[512] = "";
	struct catalog *c = catalog__parse(y, strlen(y), "g.yaml", err, sizeof(err));
	const struct cat_entry *e;

	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->n, 4);
	e = &c->entries[0];
	assert_string_equal(e->binary, "app");
	assert_string_equal(e->glob, "handle_*");
	assert_int_equal(e->kind, KIND_SWITCH);
	assert_int_equal(e->line, 3);
	assert_int_equal(e->error.op, ERR_NE);
	assert_string_equal(e->error.operand, "status");
	assert_null(e->error.error_type);
	assert_int_equal(e->ctx_key, -1);
	assert_int_equal(e->caps[0].src, CAP_SRC_RET);
	assert_int_equal(e->slo.latency_threshold_ns, 1500000000ull);
	assert_true(fabs(e->slo.latency_target - 0.95) < 1e-12);
	assert_false(e->slo.has_errors);
	assert_true(fabs(c->entries[1].slo.errors_target - 0.9995) < 1e-12);
	assert_int_equal(c->entries[1].kind, KIND_STEP);
	assert_int_equal(c->entries[2].slo.latency_threshold_ns, 800000);
	assert_true(c->entries[2].slo.latency_target == 1.0);
	assert_int_equal(c->entries[3].slo.latency_threshold_ns, 100);
	assert_int_equal(c->entries[3].line, 17);

	/* first match wins; BINARY: restricts to that binary (procmaps__name_matches rules) */
	assert_ptr_equal(catalog__match(c, "/usr/bin/app", "handle_get"), &c->entries[0]);
	assert_ptr_equal(catalog__match(c, "/usr/bin/app.bin", "handle_get"), &c->entries[0]);
	assert_ptr_equal(catalog__match(c, "/usr/bin/other", "handle_get"), &c->entries[2]);
	assert_ptr_equal(catalog__match(c, "/usr/bin/application", "handle_get"), &c->entries[2]);
	assert_ptr_equal(catalog__match(c, NULL, "handle_get"), &c->entries[2]);
	assert_ptr_equal(catalog__match(c, "/usr/lib/libfoo.so.1", "handle_get"), &c->entries[1]);
	assert_ptr_equal(catalog__match(c, "/usr/lib/libfoo.so.1", "bar"), &c->entries[1]);
	assert_ptr_equal(catalog__match(c, "/usr/bin/app", "bar"), &c->entries[3]);
	assert_null(catalog__match(NULL, "/usr/bin/app", "bar"));
	catalog__free(c);
	catalog__free(NULL);

	/* an empty list and an empty "primitives:" are empty catalogues */
	c = catalog__parse("primitives: []\n", 15, "e.yaml", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->n, 0);
	assert_null(catalog__match(c, "/x", "f"));
	catalog__free(c);
	c = catalog__parse("primitives:\n", 12, "e.yaml", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->n, 0);
	catalog__free(c);
}

/* Python entries: python_class with its methods (execute by default), python for plain
 * functions; they keep catalogue order, the first entry of a selector names its spans,
 * and native matching never picks them. */
static void test_python_entries(void **state)
{
	(void)state;
	const char *y = Y("primitives:") Y("  - python_class: \"ttaflow:Retry\"") Y("    kind: retry")
		Y("  - python_class: \"ttaflow:Step\"") Y("    methods: [execute, run]") Y("    kind: step")
		Y("    name: custom") Y("  - python_class: \"ttaflow:Step\"") Y("    kind: lambda")
		Y("  - python: \"app.helpers:load_*\"") Y("    kind: cache")
		Y("  - python: \"app:main.<locals>.inner\"") Y("  - match: \"tta_*\"") Y("    kind: saga")
		Y("  - python_class: \"ünï.mod:Klasse\"") Y("    methods:") Y("      - handle");
	char err[512] = "", *text = NULL;
	size_t len = 0;
	struct catalog *c = catalog__parse(y, strlen(y), "p.yaml", err, sizeof(err));
	const struct cat_entry *e;
	FILE *f;

	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->n, 7);
	assert_true(catalog__has_python(c));
	e = &c->entries[0];
	assert_string_equal(e->py_sel, "ttaflow:Retry");
	assert_string_equal(e->py_methods, "execute");
	assert_false(e->py_func);
	assert_null(e->glob);
	assert_int_equal(e->kind, KIND_RETRY);
	e = &c->entries[1];
	assert_string_equal(e->py_methods, "execute,run");
	assert_string_equal(e->name, "custom");
	assert_int_equal(e->kind, KIND_STEP);
	e = &c->entries[3];
	assert_string_equal(e->py_sel, "app.helpers:load_*");
	assert_true(e->py_func);
	assert_null(e->py_methods);
	assert_int_equal(e->kind, KIND_CACHE);
	assert_string_equal(c->entries[4].py_sel, "app:main.<locals>.inner");
	assert_string_equal(c->entries[6].py_methods, "handle");

	/* the bootstrap's spec: every Python entry, in catalogue order */
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(py_spec__write(c, f), 0);
	fclose(f);
	/* (with each entry's kind: the registry carries it to an agent that lacks it) */
	assert_non_null(strstr(text, "\nclass\tttaflow:Retry\texecute\tretry\n"
				     "class\tttaflow:Step\texecute,run\tstep\n"
				     "class\tttaflow:Step\texecute\tlambda\nfunc\tapp.helpers:load_*\tcache\n"
				     "func\tapp:main.<locals>.inner\tstep\nclass\tünï.mod:Klasse\thandle\tstep\n"));
	assert_null(strstr(text, "tta_"));
	free(text);

	/* first match wins: the first entry with a selector decides kind and name */
	e = py_catalog__entry(c, "class:ttaflow:Step");
	assert_ptr_equal(e, &c->entries[1]);
	assert_ptr_equal(py_catalog__entry(c, "class:ttaflow:Retry"), &c->entries[0]);
	assert_ptr_equal(py_catalog__entry(c, "func:app.helpers:load_*"), &c->entries[3]);
	/* a class selector is not a function's, nor the reverse */
	assert_null(py_catalog__entry(c, "func:ttaflow:Step"));
	assert_null(py_catalog__entry(c, "class:app.helpers:load_*"));
	assert_null(py_catalog__entry(c, "class:ttaflow:Saga"));
	assert_null(py_catalog__entry(c, "ttaflow"));
	assert_null(py_catalog__entry(c, NULL));

	/* native symbols only ever match native entries */
	e = catalog__match(c, "/x/demo", "tta_saga");
	assert_ptr_equal(e, &c->entries[5]);
	assert_null(catalog__match(c, "/x/demo", "execute"));
	assert_null(catalog__match(c, "/x/demo", "load_x"));
	catalog__free(c);

	/* a native-only catalogue has none */
	y = Y("primitives:") Y("  - match: f");
	c = catalog__parse(y, strlen(y), "n.yaml", err, sizeof(err));
	assert_non_null(c);
	assert_false(catalog__has_python(c));
	catalog__free(c);
}

static void test_load_missing(void **state)
{
	(void)state;
	char err[512] = "";

	assert_null(catalog__load("/nonexistent/cat.yaml", err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "/nonexistent/cat.yaml: cannot open the catalogue: No such file or directory");
}

/* The full example in tools/catalog.md must stay a valid catalogue. */
static void test_targets(void **state)
{
	static const char y[] = "targets:\n"
				"  - exe: '*/postgres'\n"
				"    service: orders-db\n"
				"  - comm: 'gunicorn*'\n"
				"    cmdline: '* app:wsgi*'\n"
				"    cgroup: '/kubepods*'\n"
				"primitives:\n"
				"  - match: PortalRun\n";
	char err[512] = "";
	struct catalog *c = catalog__parse(y, sizeof(y) - 1, "t.yaml", err, sizeof(err));

	(void)state;
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->n_targets, 2);
	assert_string_equal(c->targets[0].exe, "*/postgres");
	assert_string_equal(c->targets[0].service, "orders-db");
	assert_null(c->targets[0].comm);
	assert_int_equal(c->targets[0].line, 2);
	assert_string_equal(c->targets[1].comm, "gunicorn*");
	assert_string_equal(c->targets[1].cmdline, "* app:wsgi*");
	assert_string_equal(c->targets[1].cgroup, "/kubepods*");
	assert_null(c->targets[1].service);
	assert_int_equal(c->n, 1);
	catalog__free(c);
}

/* processes only (the agent: prepared Python services bring their primitives); a
 * file with neither key still needs primitives */
static void test_targets_only(void **state)
{
	static const char y[] = "targets:\n  - cmdline: '*python* app.py*'\n";
	static const char none[] = "# nothing\n{}\n";
	char err[512] = "";
	struct catalog *c = catalog__parse(y, sizeof(y) - 1, "t.yaml", err, sizeof(err));

	(void)state;
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->n_targets, 1);
	assert_int_equal(c->n, 0);
	catalog__free(c);
	assert_null(catalog__parse(none, sizeof(none) - 1, "t.yaml", err, sizeof(err)));
	assert_string_equal(err, "t.yaml:2: missing key \"primitives\"");
}

static void test_doc_example(void **state)
{
	(void)state;
	char err[512] = "", buf[16384];
	FILE *f = fopen("tools/catalog.md", "r");
	size_t n;
	char *start, *end;
	struct catalog *c;
	const struct cat_entry *e;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	start = strstr(buf, "```yaml\n");
	assert_non_null(start);
	start += 8;
	end = strstr(start, "```");
	assert_non_null(end);
	c = catalog__parse(start, (size_t)(end - start), "catalog.md", err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->n, 5);
	e = catalog__match(c, "/usr/lib/x86_64-linux-gnu/libpq.so.5", "PQexecParams");
	assert_non_null(e);
	assert_string_equal(e->name, "db.query");
	assert_int_equal(e->error.op, ERR_EQ);
	assert_null(catalog__match(c, "/usr/bin/app", "PQexecParams"));
	assert_int_equal(catalog__match(c, "/x", "tta_saga_compensate_charge")->role, ROLE_COMPENSATION);
	catalog__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demo_catalog), cmocka_unit_test(test_demo_offsets_catalog),
		cmocka_unit_test(test_errors),	      cmocka_unit_test(test_good_variants),
		cmocka_unit_test(test_load_missing), cmocka_unit_test(test_doc_example), cmocka_unit_test(test_targets),
		cmocka_unit_test(test_targets_only),
		cmocka_unit_test(test_python_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
