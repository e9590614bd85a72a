/* Unit tests for the u64 -> pointer hash map: basic operations, growth, and
 * backward-shift deletion keeping every other key reachable. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "u64map.h"

/* Values are fake pointers derived from the key, so a wrong slot shows up. */
#define VAL(k) ((void *)(uintptr_t)((k) * 2 + 1))

/* splitmix64: deterministic, well-spread keys */
static uint64_t next_key(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void test_put_get_del_replace(void **state)
{
	struct u64map *m = u64map__new(0);
	int a, b, c;

	(void)state;
	assert_non_null(m);
	assert_int_equal(u64map__count(m), 0);
	assert_null(u64map__get(m, 42));
	assert_int_equal(u64map__put(m, 42, &a), 0);
	assert_int_equal(u64map__put(m, 43, &b), 0);
	assert_int_equal(u64map__count(m), 2);
	assert_ptr_equal(u64map__get(m, 42), &a);
	assert_ptr_equal(u64map__get(m, 43), &b);

	/* replace keeps the count */
	assert_int_equal(u64map__put(m, 42, &c), 0);
	assert_int_equal(u64map__count(m), 2);
	assert_ptr_equal(u64map__get(m, 42), &c);

	assert_ptr_equal(u64map__del(m, 42), &c);
	assert_int_equal(u64map__count(m), 1);
	assert_null(u64map__get(m, 42));
	assert_null(u64map__del(m, 42));
	assert_int_equal(u64map__count(m), 1);
	assert_ptr_equal(u64map__get(m, 43), &b);

	/* a NULL value is stored, and found by iteration */
	assert_int_equal(u64map__put(m, UINT64_MAX, NULL), 0);
	assert_int_equal(u64map__count(m), 2);
	u64map__free(m);
	u64map__free(NULL);
}

static void test_key_zero_rejected(void **state)
{
	struct u64map *m = u64map__new(4);
	int a;

	(void)state;
	assert_non_null(m);
	assert_int_equal(u64map__put(m, 0, &a), -EINVAL);
	assert_int_equal(u64map__count(m), 0);
	assert_null(u64map__get(m, 0));
	assert_null(u64map__del(m, 0));
	/* key 0 must not alias an empty slot of another key */
	assert_int_equal(u64map__put(m, 1, &a), 0);
	assert_null(u64map__get(m, 0));
	assert_int_equal(u64map__count(m), 1);
	u64map__free(m);
}

static void test_growth(void **state)
{
	struct u64map *m = u64map__new(1);
	const uint64_t n = 50000;

	(void)state;
	assert_non_null(m);
	/* sequential keys: the worst case for a weak hash */
	for (uint64_t k = 1; k <= n; k++) {
		assert_int_equal(u64map__put(m, k, VAL(k)), 0);
		assert_int_equal(u64map__count(m), k);
	}
	for (uint64_t k = 1; k <= n; k++)
		assert_ptr_equal(u64map__get(m, k), VAL(k));
	assert_null(u64map__get(m, n + 1));
	/* keys differing only in high bits */
	for (uint64_t k = 1; k <= 1000; k++)
		assert_int_equal(u64map__put(m, k << 40, VAL(k << 40)), 0);
	assert_int_equal(u64map__count(m), n + 1000);
	for (uint64_t k = 1; k <= 1000; k++)
		assert_ptr_equal(u64map__get(m, k << 40), VAL(k << 40));
	u64map__free(m);
}

/* Deleting from the middle of probe runs must shift later entries back, or
 * lookups would stop early at the hole. Many keys in a small table make long
 * runs, and wrap-around runs at the end of the slot array. */
static void test_delete_half_random(void **state)
{
	enum { N = 10000 };
	uint64_t *keys = calloc(N, sizeof(*keys));
	struct u64map *m = u64map__new(16);
	uint64_t seed = 12345;
	size_t i;

	(void)state;
	assert_non_null(keys);
	assert_non_null(m);
	for (i = 0; i < N; i++) {
		do
			keys[i] = next_key(&seed);
		while (!keys[i] || u64map__get(m, keys[i]));
		assert_int_equal(u64map__put(m, keys[i], VAL(keys[i])), 0);
	}
	assert_int_equal(u64map__count(m), N);
	/* delete every other key, checking the survivors as we go now and then */
	for (i = 0; i < N; i += 2) {
		assert_ptr_equal(u64map__del(m, keys[i]), VAL(keys[i]));
		if (i % 1000 == 0)
			for (size_t j = i + 1; j < N; j += 2)
				assert_ptr_equal(u64map__get(m, keys[j]), VAL(keys[j]));
	}
	assert_int_equal(u64map__count(m), N / 2);
	for (i = 0; i < N; i++) {
		if (i % 2)
			assert_ptr_equal(u64map__get(m, keys[i]), VAL(keys[i]));
		else
			assert_null(u64map__get(m, keys[i]));
	}
	/* and re-inserting the deleted ones works */
	for (i = 0; i < N; i += 2)
		assert_int_equal(u64map__put(m, keys[i], VAL(keys[i])), 0);
	assert_int_equal(u64map__count(m), N);
	for (i = 0; i < N; i++)
		assert_ptr_equal(u64map__get(m, keys[i]), VAL(keys[i]));
	u64map__free(m);
	free(keys);
}

/* Keys chosen to collide: all live in a map that never grows past 16 slots
 * (at most 12 entries), so runs wrap around the end of the slot array. */
static void test_delete_wraparound_runs(void **state)
{
	uint64_t seed = 99;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		struct u64map *m = u64map__new(0);
		uint64_t keys[12];
		int order[12];

		assert_non_null(m);
		for (int i = 0; i < 12; i++) {
			do
				keys[i] = next_key(&seed) | 1;
			while (u64map__get(m, keys[i]));
			assert_int_equal(u64map__put(m, keys[i], VAL(keys[i])), 0);
			order[i] = i;
		}
		/* delete in a random order, checking all survivors after each step */
		for (int i = 11; i > 0; i--) {
			int j = (int)(next_key(&seed) % (uint64_t)(i + 1)), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (int d = 0; d < 12; d++) {
			assert_ptr_equal(u64map__del(m, keys[order[d]]), VAL(keys[order[d]]));
			for (int r = d + 1; r < 12; r++)
				assert_ptr_equal(u64map__get(m, keys[order[r]]), VAL(keys[order[r]]));
		}
		assert_int_equal(u64map__count(m), 0);
		u64map__free(m);
	}
}

static void test_iteration_each_once(void **state)
{
	enum { N = 3000 };
	struct u64map *m = u64map__new(8);
	unsigned char *seen = calloc(N + 1, 1);
	size_t pos = 0, visits = 0;
	uint64_t key;
	void *val;

	(void)state;
	assert_non_null(m);
	assert_non_null(seen);
	/* empty map: nothing, and it stays at the end */
	assert_int_equal(u64map__next(m, &pos, &key, &val), -ENOENT);
	assert_int_equal(u64map__next(m, &pos, &key, &val), -ENOENT);
	for (uint64_t k = 1; k <= N; k++)
		assert_int_equal(u64map__put(m, k * 7919, VAL(k)), 0);
	for (uint64_t k = 1; k <= N; k += 3)
		assert_non_null(u64map__del(m, k * 7919));
	pos = 0;
	while (!u64map__next(m, &pos, &key, &val)) {
		uint64_t k = key / 7919;

		assert_int_equal(key % 7919, 0);
		assert_true(k >= 1 && k <= N);
		assert_int_not_equal((k - 1) % 3, 0); /* deleted keys never show up */
		assert_ptr_equal(val, VAL(k));
		assert_int_equal(seen[k], 0);
		seen[k] = 1;
		visits++;
	}
	assert_int_equal(visits, u64map__count(m));
	assert_int_equal(visits, N - (N + 2) / 3);
	assert_int_equal(u64map__next(m, &pos, &key, &val), -ENOENT);
	free(seen);
	u64map__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del_replace),
		cmocka_unit_test(test_key_zero_rejected),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_delete_half_random),
		cmocka_unit_test(test_delete_wraparound_runs),
		cmocka_unit_test(test_iteration_each_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
