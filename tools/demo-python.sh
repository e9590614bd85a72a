#!/usr/bin/env bash
# `make demo-python`: traces the async Python workflows of tests/fixtures/python under
# CPython 3.12 (or 3.13, or PYTHON=...) in launch mode and prints one tree per workflow,
# folded stacks in build/demo-python.folded and a flame graph in build/demo-python.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo-python: ttatrace needs root to load BPF programs (run: sudo make demo-python)" >&2
	exit 1
fi
PY=${PYTHON:-}
for v in 3.12.1 3.13.0; do
	[ -z "$PY" ] && [ -x /root/.pyenv/versions/$v/bin/python3 ] && PY=/root/.pyenv/versions/$v/bin/python3
done
if [ -z "$PY" ]; then
	echo "demo-python: no CPython 3.12/3.13 with symbols found (set PYTHON=/path/to/python3.12)" >&2
	exit 1
fi
echo "demo-python: tracing 2 workflows of tests/fixtures/python/app.py under $PY"
"$BUILD/ttatrace" --config tests/fixtures/python/catalog.yaml --folded "$BUILD/demo-python.folded" \
	--svg "$BUILD/demo-python.svg" -- "$PY" tests/fixtures/python/app.py 2
echo
echo "demo-python: flame graph in $BUILD/demo-python.svg; folded stacks in $BUILD/demo-python.folded"
