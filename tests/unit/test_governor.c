/* Unit tests for the probe governor's decisions: the cost plan (costliest first,
 * until the rest fit the total and per-probe budgets), the rate decision, the cost
 * classes and --probe-cost parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "governor.h"
#include "insn.h"
#include "probes.h"

#define MS 1000000.0

static void test_plan_costliest_first_until_under_budget(void **state)
{
	/* 1 s of the process's own CPU time; probes cost 400, 300, 200, 50, 10 ms */
	struct gov_item it[] = { { 7, 50 * MS }, { 3, 300 * MS }, { 9, 10 * MS },
				 { 1, 400 * MS }, { 4, 200 * MS } };
	size_t m;

	(void)state;
	/* budget 10% = 100 ms: 400, 300, 200 go (60 ms left) */
	m = governor__plan(it, 5, 1000 * MS, 0.10, 0);
	assert_int_equal(m, 3);
	assert_int_equal(it[0].id, 1);
	assert_int_equal(it[1].id, 3);
	assert_int_equal(it[2].id, 4);
	assert_int_equal(it[3].id, 7);
	assert_int_equal(it[4].id, 9);
	/* budget 5% = 50 ms: 60 > 50, the 50 ms one goes too, then 10 ms fit */
	m = governor__plan(it, 5, 1000 * MS, 0.05, 0);
	assert_int_equal(m, 4);
	/* a budget it already fits: nothing */
	m = governor__plan(it, 5, 1000 * MS, 0.99, 0);
	assert_int_equal(m, 0);
	/* exactly at the budget is within it */
	m = governor__plan(it, 5, 960 * MS, 1.0, 0);
	assert_int_equal(m, 0);
}

static void test_plan_per_probe_budget(void **state)
{
	struct gov_item it[] = { { 1, 30 * MS }, { 2, 25 * MS }, { 3, 20 * MS }, { 4, 5 * MS } };
	size_t m;

	(void)state;
	/* 80 ms of 1 s fits a 10% total, but no probe may cost over 1.5%: 30, 25, 20 go */
	m = governor__plan(it, 4, 1000 * MS, 0.10, 0.015);
	assert_int_equal(m, 3);
	assert_int_equal(it[3].id, 4);
	/* per-probe limit alone */
	m = governor__plan(it, 4, 1000 * MS, 0, 0.019);
	assert_int_equal(m, 3);
	m = governor__plan(it, 4, 1000 * MS, 0, 0.021);
	assert_int_equal(m, 2);
	m = governor__plan(it, 4, 1000 * MS, 0, 0.031);
	assert_int_equal(m, 0);
}

static void test_plan_edges(void **state)
{
	struct gov_item it[] = { { 5, 100 * MS }, { 2, 100 * MS }, { 8, 0 }, { 1, 100 * MS } };
	size_t m;

	(void)state;
	/* no CPU time measured: no decision */
	assert_int_equal(governor__plan(it, 4, 0, 0.05, 0.05), 0);
	assert_int_equal(governor__plan(it, 0, 1000 * MS, 0.05, 0.05), 0);
	/* no limits at all */
	assert_int_equal(governor__plan(it, 4, 1000 * MS, 0, 0), 0);
	/* ties by id; a probe that cost nothing is never detached, even over budget
	 * (the estimate exceeds the CPU time measured: everything that costs goes) */
	m = governor__plan(it, 4, 100 * MS, 0.01, 0);
	assert_int_equal(m, 3);
	assert_int_equal(it[0].id, 1);
	assert_int_equal(it[1].id, 2);
	assert_int_equal(it[2].id, 5);
	assert_int_equal(it[3].id, 8);
}

static void test_own_cpu_time(void **state)
{
	(void)state;
	/* 1 s of CPU of which the probes cost 0.9 s: 0.1 s of own work (10x slower) */
	assert_true(governor__own_ns(1000 * MS, 900 * MS) > 99.9 * MS);
	assert_true(governor__own_ns(1000 * MS, 900 * MS) < 100.1 * MS);
	/* an estimate above the CPU measured: the floor */
	assert_true(governor__own_ns(1000 * MS, 5000 * MS) == GOV_MIN_OWN * 1000 * MS);
	assert_true(governor__own_ns(1000 * MS, 0) == 1000 * MS);
}

static void test_decide_by_rate(void **state)
{
	(void)state;
	assert_int_equal(governor__decide(50, 100, 1000, 0, 0), 0);
	assert_int_equal(governor__decide(150, 100, 1000, 0, 0), 1);
	assert_int_equal(governor__decide(150, 100, 1000, 1, 0), 0); /* already muted */
	assert_int_equal(governor__decide(1500, 100, 1000, 1, 0), 2);
	assert_int_equal(governor__decide(1500, 100, 1000, 0, 1), 0); /* already gone */
	/* rate limits off (the cost governor alone) */
	assert_int_equal(governor__decide(1e9, 0, 0, 0, 0), 0);
}

static void test_cost_classes(void **state)
{
	struct tt_probe p = { 0 };

	(void)state;
	assert_int_equal(governor__cost_class(&p), GOV_COST_UNKNOWN);
	p.classified = true;
	p.entry_class = INSN_CLASS_STEPPED;
	p.site_class = INSN_CLASS_EMULATED; /* placement moved it: the site is what traps */
	assert_int_equal(governor__cost_class(&p), GOV_COST_EMULATED);
	p.site_class = INSN_CLASS_NOP5;
	assert_int_equal(governor__cost_class(&p), GOV_COST_NOP5);
	p.site_class = INSN_CLASS_STEPPED;
	assert_int_equal(governor__cost_class(&p), GOV_COST_STEPPED);
	assert_string_equal(governor__cost_class_name(GOV_COST_STEPPED), "stepped");
}

static void test_parse_costs(void **state)
{
	struct gov_costs c;

	(void)state;
	governor__default_costs(&c);
	assert_true(c.ns[GOV_COST_NOP5] < c.ns[GOV_COST_EMULATED]);
	assert_true(c.ns[GOV_COST_EMULATED] < c.ns[GOV_COST_STEPPED]);
	assert_int_equal(governor__parse_costs("nop5=300,emulated=500,stepped=2us", &c), 0);
	assert_true(c.ns[GOV_COST_NOP5] == 300);
	assert_true(c.ns[GOV_COST_EMULATED] == 500);
	assert_true(c.ns[GOV_COST_STEPPED] == 2000);
	assert_true(c.ns[GOV_COST_UNKNOWN] == 500); /* follows emulated */
	assert_int_equal(governor__parse_costs("unknown=7000ns,stepped=9000", &c), 0);
	assert_true(c.ns[GOV_COST_UNKNOWN] == 7000);
	assert_true(c.ns[GOV_COST_STEPPED] == 9000);
	assert_true(c.ns[GOV_COST_NOP5] == 300); /* the others kept */
	governor__default_costs(&c);
	assert_int_equal(governor__parse_costs("", &c), -EINVAL);
	assert_int_equal(governor__parse_costs("nop5", &c), -EINVAL);
	assert_int_equal(governor__parse_costs("nop5=", &c), -EINVAL);
	assert_int_equal(governor__parse_costs("nop5=-1", &c), -EINVAL);
	assert_int_equal(governor__parse_costs("nop5=0", &c), -EINVAL);
	assert_int_equal(governor__parse_costs("nop5=1ms", &c), -EINVAL);
	assert_int_equal(governor__parse_costs("nop5=10,", &c), -EINVAL);
	assert_int_equal(governor__parse_costs("nop=10", &c), -EINVAL);
	assert_int_equal(governor__parse_costs("nop5x=10", &c), -EINVAL);
	assert_int_equal(governor__parse_costs("stepped=1e10", &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_costliest_first_until_under_budget),
		cmocka_unit_test(test_plan_per_probe_budget),
		cmocka_unit_test(test_plan_edges),
		cmocka_unit_test(test_own_cpu_time),
		cmocka_unit_test(test_decide_by_rate),
		cmocka_unit_test(test_cost_classes),
		cmocka_unit_test(test_parse_costs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
