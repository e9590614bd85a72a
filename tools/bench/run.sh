#!/usr/bin/env bash
# `make bench`: per-call overhead of ttatrace against the floor (an empty
# uprobe+uretprobe pair), measured in the same run on the same machine.
# Prints ns/call untraced, with the floor, under ttatrace, and the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CALLS=${CALLS:-100000}
REPS=${REPS:-3}
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (sudo make bench)" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"; kill $(jobs -p) 2>/dev/null || true' EXIT
TARGET=$(realpath "$BUILD/bench-target")

# file offset of bench_target: st_value mapped through its PT_LOAD segment
OFF=$(python3 - "$TARGET" <<'PY'
import subprocess, sys
path = sys.argv[1]
addr = next(int(l.split()[0], 16) for l in subprocess.run(["nm", path], capture_output=True,
            text=True).stdout.splitlines() if l.endswith(" bench_target"))
for l in subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout.splitlines():
    f = l.split()
    if f and f[0] == "LOAD":
        off, va, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
        if va <= addr < va + filesz:
            print(hex(addr - va + off))
            break
PY
)
# wait_grep FILE PATTERN: until FILE holds PATTERN; fails after 30 s showing FILE
wait_grep() {
	local i
	for ((i = 0; i < 3000; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	echo "bench: timed out waiting for '$2' in $1:" >&2
	cat "$1" >&2
	exit 1
}

run_phase() { # $1: none|floor|ttatrace ; prints ns/call
	local mode=$1 gate="$T/gate" tpid=""
	rm -f "$gate"
	"$TARGET" "$CALLS" "$gate" >"$T/out" 2>"$T/err" &
	local pid=$!
	wait_grep "$T/err" waiting
	case $mode in
	floor)
		"$BUILD/bench-floor" $pid "$TARGET" "$OFF" 2>"$T/aerr" &
		tpid=$!
		wait_grep "$T/aerr" attached ;;
	ttatrace)
		"$BUILD/ttatrace" -p $pid --probe bench_target --format jsonl -o /dev/null 2>"$T/aerr" &
		tpid=$!
		wait_grep "$T/aerr" "probes attached" ;;
	sample1)
		"$BUILD/ttatrace" -p $pid --probe bench_target --sample 0.01 --no-keep-errors \
			--format jsonl -o /dev/null 2>"$T/aerr" &
		tpid=$!
		wait_grep "$T/aerr" "probes attached" ;;
	bpftrace)
		bpftrace -e "BEGIN { printf(\"ready\\n\"); } uprobe:$TARGET:bench_target { @s[tid] = nsecs; }
			uretprobe:$TARGET:bench_target /@s[tid]/ { @ns = hist(nsecs - @s[tid]); delete(@s[tid]); }" \
			-p $pid >"$T/aerr" 2>&1 &
		tpid=$!
		wait_grep "$T/aerr" "^ready" ;;
	esac
	touch "$gate"
	wait $pid
	if [ -n "$tpid" ]; then
		kill -INT $tpid 2>/dev/null || true
		wait $tpid || true
	fi
	if [ "$mode" = sample1 ]; then
		grep -Eq "bench_target +$((CALLS + CALLS / 10)) " "$T/aerr" ||
			{ echo "bench: the kernel did not count every call:" >&2; cat "$T/aerr" >&2; exit 1; }
	fi
	if [ "$mode" = ttatrace ]; then
		grep -q "spans: $((CALLS + CALLS / 10)) seen" "$T/aerr" ||
			{ echo "bench: ttatrace did not see every call:" >&2; cat "$T/aerr" >&2; exit 1; }
	fi
	cat "$T/out"
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

modes="none floor ttatrace sample1"
command -v bpftrace >/dev/null && modes="$modes bpftrace"
declare -A res
# modes interleaved within each round: this VM's speed drifts by several percent
# over a minute, which would otherwise land on whichever mode ran last
for ((i = 0; i < REPS; i++)); do
	for mode in $modes; do run_phase $mode >>"$T/$mode.txt"; done
done
for mode in $modes; do res[$mode]=$(median <"$T/$mode.txt"); done
echo "calls per run: $CALLS, median of $REPS interleaved rounds, kernel $(uname -r)"
printf "%-28s %10s ns/call\n" "untraced" "${res[none]}"
printf "%-28s %10s ns/call\n" "empty uprobe+uretprobe" "${res[floor]}"
printf "%-28s %10s ns/call\n" "ttatrace (every span)" "${res[ttatrace]}"
printf "%-28s %10s ns/call\n" "ttatrace --sample 0.01" "${res[sample1]}"
[ -n "${res[bpftrace]:-}" ] && printf "%-28s %10s ns/call\n" "bpftrace entry/exit timing" "${res[bpftrace]}"
awk -v f="${res[floor]}" -v t="${res[ttatrace]}" -v u="${res[none]}" \
	'BEGIN {printf "ratio ttatrace/floor: %.3f   (ttatrace adds %.0f ns/call over the floor, which adds %.0f)\n", t / f, t - f, f - u}'
awk -v f="${res[floor]}" -v t="${res[sample1]}" 'BEGIN {printf "ratio ttatrace --sample 0.01/floor: %.3f\n", t / f}'
[ -n "${res[bpftrace]:-}" ] && awk -v f="${res[floor]}" -v t="${res[bpftrace]}" \
	'BEGIN {printf "ratio bpftrace/floor: %.3f (peer)\n", t / f}'
[ -z "${res[bpftrace]:-}" ] && echo "bpftrace not installed: no peer ratio (apt-get install bpftrace)"

# A realistic workflow: workflow-demo's steps of 0.2-2 ms, wall time of the whole run
# untraced, fully traced with the catalogue, and at --sample 0.01; ring bytes per call.
WF=${WF:-100}
wall() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>"$T/wf.err"; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
u=$(wall "$BUILD/workflow-demo" --iterations $WF)
full=$(wall "$BUILD/ttatrace" --config tools/workflow-demo.yaml --format jsonl -o /dev/null -- \
	"$BUILD/workflow-demo" --iterations $WF)
full_bytes=$(grep -o '[0-9.]* bytes per traced call' "$T/wf.err")
s1=$(wall "$BUILD/ttatrace" --config tools/workflow-demo.yaml --sample 0.01 --no-keep-errors --format jsonl \
	-o /dev/null -- "$BUILD/workflow-demo" --iterations $WF)
s1_bytes=$(grep -o '[0-9.]* bytes per traced call' "$T/wf.err")
echo "workflow-demo x $WF (wall ms, ttatrace start-up and detach included):"
echo "  untraced $u ms; full capture $full ms ($full_bytes); --sample 0.01 $s1 ms ($s1_bytes)"

# collector throughput and peak memory without the kernel (a replayed record stream)
echo
"$BUILD/collector-bench"
