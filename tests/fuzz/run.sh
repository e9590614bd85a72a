#!/usr/bin/env bash
# Runs each libFuzzer harness (arguments: their binaries) for FUZZ_SECONDS (default
# 4, `make fuzz` passes 60) over its seed corpus tests/fuzz/corpus/NAME/. New inputs
# go to a scratch directory, not into the tree; a crash leaves its input in
# build/fuzz/crashes/ and fails the run.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-4}
pass=0
fail=0
work=$(mktemp -d /tmp/ttatrace-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "${BUILD:-build}/fuzz/crashes"
for bin in "$@"; do
	name=$(basename "$bin")
	seeds="tests/fuzz/corpus/${name#fuzz_}"
	echo "=== fuzz: $name (${secs}s)"
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "--- FAIL $name: harness or seed corpus $seeds missing"
		fail=$((fail + 1))
		continue
	fi
	mkdir -p "$work/$name"
	# -close_fd_mask=2: the parsers report bad input on stderr, by design
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-close_fd_mask=2 -print_final_stats=1 \
		-artifact_prefix="${BUILD:-build}/fuzz/crashes/$name-" \
		"$work/$name" "$seeds" >"$work/$name.log" 2>&1; then
		runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$')
		echo "--- PASS $name (${runs:-?} runs)"
		pass=$((pass + 1))
	else
		tail -40 "$work/$name.log"
		echo "--- FAIL $name"
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
