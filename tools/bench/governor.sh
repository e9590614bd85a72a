#!/usr/bin/env bash
# `make bench`, the governor on a broad glob (issue 13 item 8): the speed of a
# workload untraced, traced without the governor and traced with --max-overhead,
# side by side in one run.
#  1. CPython 3.12 (pyenv) with every libpython Py* function probed (~966): a plain
#     Python loop in chunks (tools/bench/py_loop.py), each chunk timed inside.
#  2. tests/fixtures/gov_broad: 28 hot cheap functions of known instruction classes
#     and rare primitives under gb_*, wall time of the whole run after the gate.
# Both attach with -p to a process held at a gate, so attach time is not counted.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TT=$BUILD/ttatrace
BUDGET=${BUDGET:-5%}
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (sudo make bench)" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"; kill $(jobs -p) 2>/dev/null || true' EXIT

source tools/bench/lib.sh # (the working directory is the repository root)

# traced NAME TTATRACE_ARGS... -- : runs "$CMD" held at a gate, attaches ttatrace with
# the arguments, opens the gate, waits for both; stdout in $T/NAME.out, ttatrace's
# stderr in $T/NAME.err, wall ns from the gate to the target's exit in $T/NAME.wall
run_mode() {
	local name=$1 t0 t1 tpid pid
	shift
	rm -f "$T/gate"
	BENCH_GATE="$T/gate" "${CMD[@]}" >"$T/$name.out" 2>"$T/$name.target" &
	pid=$!
	if [ $# -gt 0 ]; then
		"$TT" -p $pid "$@" --format none 2>"$T/$name.err" &
		tpid=$!
		wait_grep "$T/$name.err" "probes attached" 60
	fi
	t0=$(date +%s%N)
	touch "$T/gate"
	wait $pid
	t1=$(date +%s%N)
	[ $# -gt 0 ] && wait $tpid
	echo $((t1 - t0)) >"$T/$name.wall"
}

echo "governor on a broad glob (--max-overhead $BUDGET), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 1. CPython: Py* ---------------------------------------------------------------------
PY=$(ls -d /root/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | head -1 || true)
if [ -n "$PY" ]; then
	export CHUNKS=${CHUNKS:-10} ITERS=${ITERS:-20000}
	CMD=("$PY" tools/bench/py_loop.py)
	# the gate file: py_loop.py polls BENCH_GATE
	run_mode py_none
	# without the governor a chunk takes minutes: one is enough to know its speed
	CHUNKS=1 run_mode py_all --probe 'libpython3.12:Py*'
	run_mode py_gov --probe 'libpython3.12:Py*' --max-overhead "$BUDGET"
	nprobes=$(grep -o '^ttatrace: [0-9]* probes attached' "$T/py_all.err" | grep -o '[0-9]*' | head -1)
	ndet=$(grep -o '[0-9]* detached ([0-9]* by rate, [0-9]* by cost)' "$T/py_gov.err" | grep -o '^[0-9]*' || echo 0)
	med() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
	base=$(med <"$T/py_none.out")
	echo "CPython $("$PY" -c 'import platform; print(platform.python_version())'), probe 'libpython3.12:Py*' ($nprobes functions), chunks of $ITERS loop iterations (median chunk: chunks 2.. where there are several):"
	printf "  %-34s %12s %13s %10s\n" "" "first chunk" "median chunk" "speed"
	for m in py_none py_all py_gov; do
		case $m in
		py_none) l="untraced" ;;
		py_all) l="traced, no governor (1 chunk)" ;;
		py_gov) l="traced, --max-overhead $BUDGET" ;;
		esac
		first=$(head -1 "$T/$m.out")
		rest=$( (tail -n +2 "$T/$m.out"; [ "$(wc -l <"$T/$m.out")" -gt 1 ] || cat "$T/$m.out") | med)
		awk -v l="$l" -v f="$first" -v r="$rest" -v b="$base" \
			'BEGIN {printf "  %-34s %9.1f ms %10.1f ms %9.3fx\n", l, f / 1e6, r / 1e6, b / r}'
	done
	awk -v b="$base" -v s="$(awk '{s += $1} END {print s}' "$T/py_gov.out")" -v n="$CHUNKS" \
		'BEGIN {printf "  with the governor, all %d chunks from the gate: %.3fx (its first decision comes after >= 0.5 s)\n", n, b * n / s}'
	echo "  governor: $ndet of $nprobes probes detached; $(grep -o 'one traced call costs.*here' "$T/py_gov.err" || echo 'no calibration')"
	grep -m1 -o 'the probes cost the traced processes ~[0-9.]*% over their own CPU time' "$T/py_gov.err" |
		sed 's/^/  first decision: /' || true
else
	echo "CPython 3.12 not found under /root/.pyenv/versions: Py* case skipped"
fi

# --- 2. gov_broad ------------------------------------------------------------------------
N=${GB_ITERATIONS:-30}
CMD=("$BUILD/fixtures/gov_broad" "$N" "")
# gov_broad takes the gate file as its second argument
gb_mode() {
	CMD=("$BUILD/fixtures/gov_broad" "$N" "$T/gate")
	run_mode "$@"
}
gb_mode gb_none
gb_mode gb_all --probe 'gb_*'
gb_mode gb_gov --probe 'gb_*' --max-overhead "$BUDGET"
cmp -s "$T/gb_none.out" "$T/gb_all.out" && cmp -s "$T/gb_none.out" "$T/gb_gov.out" ||
	{ echo "bench: gov_broad's output changed under tracing" >&2; exit 1; }
echo "gov_broad x $N workflows, probe 'gb_*' (31 functions, 28 of them hot), wall from the gate:"
for m in gb_none gb_all gb_gov; do
	case $m in
	gb_none) l="untraced" ;;
	gb_all) l="traced, no governor" ;;
	gb_gov) l="traced, --max-overhead $BUDGET" ;;
	esac
	awk -v l="$l" -v w="$(cat "$T/$m.wall")" -v b="$(cat "$T/gb_none.wall")" \
		'BEGIN {printf "  %-34s %9.1f ms %9.3fx\n", l, w / 1e6, b / w}'
done
echo "  governor: $(grep -o '[0-9]* detached ([0-9]* by rate, [0-9]* by cost)' "$T/gb_gov.err" || echo 'nothing detached')"
