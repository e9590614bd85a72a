#!/usr/bin/env bash
# `make bench`, Python part: a TTA-like async workload (tools/bench/py_workload.py,
# WORKFLOWS workflows of 15 primitive spans, HELPERS plain helper calls in each of
# the 7 compute steps) on CPython 3.12: untraced; armed by the bootstrap but not
# traced; traced by ttatrace (launch mode); with an empty uprobe at ttatrace's two
# addresses instead (the Python floor); and the alternative of monitoring every
# Python call (PY_START|PY_RETURN set globally) with the same empty probes. Best of
# REPS rounds, wall time of the workflows; untraced, traced and floor take turns in
# each round, so a slow spell of the shared machine hits them alike.
# Then a sweep over the primitives' own work (SWEEP: HELPERS:WORKFLOWS pairs, about
# 150 us, 500 us and 2 ms of untraced wall time per span, the run above being the
# ~40 us row): untraced, traced, floor at each size, and the cost model
# overhead = hits per span x (trap + ttatrace per hit) / work per span.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export REPS=${REPS:-5}
export WORKFLOWS=${WORKFLOWS:-1000} HELPERS=${HELPERS:-2000}
SWEEP=${SWEEP-7500:300 25000:100 100000:50}
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
# the traced run's hit counts: probe hits, spans, unwinds of frames not primitives
hits_of() {
	sed -n 's/^ttatrace: python: \([0-9]*\) probe hits, \([0-9]*\) spans opened.*unwinds of other frames: \([0-9]*\).*/\1 \2 \3/p' "$T/traced-1.err"
}
# one size: REPS rounds of untraced, traced, floor; the best of each, the hit counts
size_row() {
	: >"$T/u"
	: >"$T/t"
	: >"$T/f"
	for _ in $(seq "$REPS"); do
		REPS=1 untraced >>"$T/u"
		REPS=1 traced >>"$T/t"
		REPS=1 floor "${armed_env[@]}" >>"$T/f"
	done
	echo "$HELPERS $WORKFLOWS $(best <"$T/u") $(best <"$T/t") $(best <"$T/f") $(hits_of)"
}
size_row >"$T/sweep"
read -r _ _ u t fl _ <"$T/sweep"
a=$(armed)
for size in $SWEEP; do
	export HELPERS=${size%%:*} WORKFLOWS=${size##*:}
	size_row >>"$T/sweep"
done
read -r HELPERS WORKFLOWS _ < "$T/sweep"
export HELPERS WORKFLOWS
all_u=$(for _ in $(seq "$REPS"); do BENCH_ALL_CALLS=1 "$PY" $W; done | best)
# a trap on every Python call is ~100x slower: 1/50 of the workflows, scaled up
all_f=$(( $(WORKFLOWS=$((WORKFLOWS / 50)) REPS=1 floor env BENCH_ALL_CALLS=1) * 50 ))
python3 - "$u" "$a" "$t" "$fl" "$all_u" "$all_f" "$T/sweep" <<'PY'
import os, sys
u, a, t, fl, au, af = (int(x) for x in sys.argv[1:7])
sweep = [[int(x) for x in line.split()] for line in open(sys.argv[7])]
hits, spans = sweep[0][5], sweep[0][6]
n = int(os.environ["WORKFLOWS"])
print("python bench: %d workflows x %d primitive spans, %s helper calls in each of the 7 compute steps (CPython 3.12)"
      % (n, spans // n if n else 0, os.environ["HELPERS"]))
row = "  %-44s %9.1f ms  %6.3fx"
print(row % ("untraced", u / 1e6, 1))
print(row % ("armed by the bootstrap, not traced", a / 1e6, a / u))
print(row % ("traced by ttatrace", t / 1e6, t / u))
print(row % ("empty probes at the same two addresses", fl / 1e6, fl / u))
print(row % ("every call monitored (no probes)", au / 1e6, au / u))
print(row % ("every call monitored + the empty probes (1/50 run x 50)", af / 1e6, af / u))
print("  kernel hits per primitive span: %.3f (%d hits for %d spans, and %d unwinds of frames"
      " not primitives, mostly imports before the timed part); traced/floor %.3f" %
      ((hits - sweep[0][7]) / spans if spans else 0, hits - sweep[0][7], spans, sweep[0][7], t / fl))
# the sweep: per size, the untraced wall per span is the primitives' own work
print("sweep over the primitives' own work (best of %s; per hit: the floor's trap,"
      " and ttatrace's own work = traced - floor):" % os.environ["REPS"])
print("  %7s %5s %11s %9s %8s %7s %7s %8s %8s %9s %8s %6s" % (
    "helpers", "wflows", "untraced", "us/span", "traced", "floor", "tr/fl", "hits/sp",
    "trap us", "ttatr us", "model", "other"))
# per hit: the primitives' hits only (the other unwinds are mostly imports, before
# the timed part: about 11 of them are asyncio.run's own)
rows = [(hl, wf, su, st, sf, sh - so, ss, so) for hl, wf, su, st, sf, sh, ss, so in sweep]
# the model's per-hit costs: from the size with the most hits per ns of work
_, _, su0, st0, sf0, sh0, _, _ = rows[0]
trap0, own0 = (sf0 - su0) / sh0, (st0 - sf0) / sh0
for hl, wf, su, st, sf, sh, ss, so in rows:
    work = su / ss  # ns of untraced wall per span
    model = 1 + (sh / ss) * (trap0 + own0) / work
    print("  %7d %5d %8.1f ms %9.1f %7.3fx %6.3fx %7.3f %8.3f %8.2f %9.2f %7.3fx %6d" % (
        hl, wf, su / 1e6, work / 1e3, st / su, sf / su, st / sf, sh / ss,
        (sf - su) / sh / 1e3, (st - sf) / sh / 1e3, model, so))
print("  hits/sp: the primitives' hits per span; other: the run's unwinds of frames not"
      " primitives (imports), left out")
print("  model: 1 + hits/span x (%.2f us trap + %.2f us ttatrace per hit, first row) / us of work per span"
      % (trap0 / 1e3, own0 / 1e3))
PY
