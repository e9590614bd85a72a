#!/usr/bin/env bash
# `make bench`, Python part: a TTA-like async workload (tools/bench/py_workload.py,
# WORKFLOWS workflows of 16 primitive calls, HELPERS plain helper calls per step) on
# CPython 3.12: untraced; armed by the bootstrap but not traced; traced by ttatrace
# (launch mode); with an empty uprobe at ttatrace's two addresses instead (the Python
# floor); and the alternative of monitoring every Python call (PY_START|PY_RETURN set
# globally) with the same empty probes. Best of REPS runs, wall time of the workflows.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
REPS=${REPS:-3}
export WORKFLOWS=${WORKFLOWS:-1000} HELPERS=${HELPERS:-2000}
PY=${PYTHON:-/root/.pyenv/versions/3.12.1/bin/python3}
[ -x "$PY" ] || { echo "bench-python: $PY missing (pyenv CPython 3.12.1 with symbols)" >&2; exit 1; }
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$T"' EXIT
CAT=tests/fixtures/python/catalog.yaml
W=tools/bench/py_workload.py
armed_env=(env PYTHONPATH="$PWD/tools/python" TTATRACE_PY_SPEC="$CAT" TTATRACE_PY_RUNDIR="$T")

best() { sort -n | head -1; }
untraced() { for _ in $(seq "$REPS"); do "$PY" $W; done | best; }
armed() { for _ in $(seq "$REPS"); do "${armed_env[@]}" "$PY" $W; done | best; }
traced() {
	for i in $(seq "$REPS"); do
		"$BUILD/ttatrace" --config "$CAT" --format none -- "$PY" $W 2>"$T/traced-$i.err"
	done | best
}
# the two instrumentation addresses ttatrace probes (it prints them at -vv)
WORKFLOWS=1 "$BUILD/ttatrace" -vv --config "$CAT" --format none -- "$PY" $W >/dev/null 2>"$T/vv.err"
LIB=$(sed -n 's/^ttatrace: python: \(.*\):_Py_call_instrumentation at file offset .*/\1/p' "$T/vv.err")
OFF1=$(sed -n 's/^ttatrace: python: .*:_Py_call_instrumentation at file offset \(.*\)/\1/p' "$T/vv.err")
OFF2=$(sed -n 's/^ttatrace: python: .*:_Py_call_instrumentation_arg at file offset \(.*\)/\1/p' "$T/vv.err")
# floor MODE_ENV...: empty probes at those addresses in a gated run
floor() {
	for _ in $(seq "$REPS"); do
		rm -f "$T/gate"
		"$@" BENCH_GATE="$T/gate" "$PY" $W >"$T/floor.out" &
		local app=$!
		sleep 0.3
		"$BUILD/bench-floor" $app "$LIB" "$OFF1" entry & local f1=$!
		"$BUILD/bench-floor" $app "$LIB" "$OFF2" entry & local f2=$!
		sleep 0.5
		touch "$T/gate"
		wait $app
		kill $f1 $f2
		wait $f1 $f2 2>/dev/null || true
		cat "$T/floor.out"
	done | best
}
u=$(untraced)
a=$(armed)
t=$(traced)
fl=$(floor "${armed_env[@]}")
all_u=$(for _ in $(seq "$REPS"); do BENCH_ALL_CALLS=1 "$PY" $W; done | best)
# a trap on every Python call is ~100x slower: 1/50 of the workflows, scaled up
all_f=$(( $(WORKFLOWS=$((WORKFLOWS / 50)) REPS=1 floor env BENCH_ALL_CALLS=1) * 50 ))
read -r hits spans < <(sed -n 's/^ttatrace: python: \([0-9]*\) probe hits, \([0-9]*\) spans opened.*/\1 \2/p' "$T/traced-1.err")
python3 - "$u" "$a" "$t" "$fl" "$all_u" "$all_f" "$hits" "$spans" <<'PY'
import os, sys
u, a, t, fl, au, af = (int(x) for x in sys.argv[1:7])
hits, spans = int(sys.argv[7]), int(sys.argv[8])
n = int(os.environ["WORKFLOWS"])
print("python bench: %d workflows x 16 primitive calls, %s helper calls per step (CPython 3.12)" % (n, os.environ["HELPERS"]))
row = "  %-44s %9.1f ms  %6.3fx"
print(row % ("untraced", u / 1e6, 1))
print(row % ("armed by the bootstrap, not traced", a / 1e6, a / u))
print(row % ("traced by ttatrace", t / 1e6, t / u))
print(row % ("empty probes at the same two addresses", fl / 1e6, fl / u))
print(row % ("every call monitored (no probes)", au / 1e6, au / u))
print(row % ("every call monitored + the empty probes (1/50 run x 50)", af / 1e6, af / u))
print("  kernel hits per primitive span: %.3f (%d hits, %d spans); traced/floor %.3f" %
      (hits / spans if spans else 0, hits, spans, t / fl))
PY
