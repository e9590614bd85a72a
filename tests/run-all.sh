#!/usr/bin/env bash
# `make test`: unit tests (arguments: their binaries), the fuzz harnesses a few
# seconds each ($FUZZ_BINS), then end-to-end tests, one closing line with the totals.
set -u
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
bash tests/run-unit.sh "$@" > >(tee -a "$out") 2>&1 || rc=1
if [ -n "${FUZZ_BINS:-}" ]; then
	# shellcheck disable=SC2086
	bash tests/fuzz/run.sh $FUZZ_BINS > >(tee -a "$out") 2>&1 || rc=1
fi
bash tests/e2e/run.sh > >(tee -a "$out") 2>&1 || rc=1
sleep 0.2 # let tee finish writing
p=$(grep -E '^(unit|fuzz|e2e): [0-9]+ passed' "$out" | awk '{s+=$2} END {print s+0}')
f=$(grep -E '^(unit|fuzz|e2e): [0-9]+ passed' "$out" | awk '{s+=$4} END {print s+0}')
[ "$f" -gt 0 ] && rc=1
echo "tests: $p passed, $f failed"
exit $rc
