#!/usr/bin/env bash
# Runs every tests/e2e/test_*.sh (or those named as arguments). A test exits 0 when it
# passed, 77 when it could not run here (it prints why), anything else when it failed.
# Under CI=true a skip counts as a failure: CI must exercise the kernel paths.
set -u
cd "$(dirname "$0")/../.."
pass=0
fail=0
skip=0
failed=()
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(tests/e2e/test_*.sh)
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	echo "=== e2e: $name"
	start=$(date +%s)
	bash "$t"
	rc=$?
	took=$(($(date +%s) - start))
	if [ $rc -eq 0 ]; then
		echo "--- PASS $name (${took}s)"
		pass=$((pass + 1))
	elif [ $rc -eq 77 ] && [ "${CI:-}" != "true" ]; then
		echo "--- SKIP $name"
		skip=$((skip + 1))
	else
		[ $rc -eq 77 ] && echo "--- $name skipped, which CI=true does not allow"
		echo "--- FAIL $name (exit $rc, ${took}s)"
		fail=$((fail + 1))
		failed+=("$name")
	fi
done
[ ${#failed[@]} -gt 0 ] && echo "e2e failures: ${failed[*]}"
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
