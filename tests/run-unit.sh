#!/usr/bin/env bash
# Runs every cmocka unit test binary given as an argument (built with ASan/UBSan)
# and ends with one "unit: N passed, N failed" line. Exit status 1 if any failed.
set -u
pass=0
fail=0
failed=()
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "$@"; do
	echo "=== unit: $(basename "$t")"
	if "$t"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed+=("$(basename "$t")")
	fi
done
[ ${#failed[@]} -gt 0 ] && echo "unit failures: ${failed[*]}"
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
