#!/usr/bin/env bash
# `make demo`: runs the bundled workflow-demo under ttatrace, prints the span trees
# and writes folded stacks (build/demo.folded).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ITER=${ITER:-3}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: ttatrace needs root to load BPF programs (run: sudo make demo)" >&2
	exit 1
fi
echo "demo: tracing $ITER workflows of $BUILD/workflow-demo"
"$BUILD/ttatrace" --probe 'tta_*' --folded "$BUILD/demo.folded" -- \
	"$BUILD/workflow-demo" --iterations "$ITER"
echo
echo "demo: folded stacks in $BUILD/demo.folded ($(wc -l <"$BUILD/demo.folded") paths); the heaviest:"
sort -k2 -n -r -t' ' "$BUILD/demo.folded" | awk '{print $NF, $0}' | sort -rn | head -5 | cut -d' ' -f2-
