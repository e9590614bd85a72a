#!/usr/bin/env bash
# `make demo`: runs the bundled workflow-demo under ttatrace, prints the span trees
# with the shipped catalogue (one tree per workflow), and writes folded stacks
# (build/demo.folded) and a flame graph (build/demo.svg).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ITER=${ITER:-3}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: ttatrace needs root to load BPF programs (run: sudo make demo)" >&2
	exit 1
fi
echo "demo: tracing $ITER workflows of $BUILD/workflow-demo"
"$BUILD/ttatrace" --config tools/workflow-demo.yaml --folded "$BUILD/demo.folded" \
	--svg "$BUILD/demo.svg" -- \
	"$BUILD/workflow-demo" --iterations "$ITER"
echo
echo "demo: flame graph in $BUILD/demo.svg; folded stacks in $BUILD/demo.folded" \
	"($(wc -l <"$BUILD/demo.folded") paths); the heaviest:"
awk '{print $NF "\t" $0}' "$BUILD/demo.folded" | sort -rn | head -5 | cut -f2-
