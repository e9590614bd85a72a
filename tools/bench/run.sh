#!/usr/bin/env bash
# `make bench`: per-call overhead of ttatrace against the floor (an empty
# uprobe+uretprobe pair), measured in the same run on the same machine.
# Prints ns/call untraced, with the floor, under ttatrace, and the ratio; then the BPF
# programs' own CPU time per call from the kernel's bpf_stats, and the ratio derived
# from it, which the VM's wall-clock noise does not blur.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CALLS=${CALLS:-100000}
REPS=${REPS:-3}
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (sudo make bench)" >&2; exit 1; }
T=$(mktemp -d)
STATS_CTL=/proc/sys/kernel/bpf_stats_enabled
STATS_PREV=$(cat "$STATS_CTL" 2>/dev/null || echo)
# bpf_stats add ~50 ns to every program run: on only for the rounds that read them,
# and back to what it was however the script ends
restore_stats() { [ -z "$STATS_PREV" ] || echo "$STATS_PREV" >"$STATS_CTL"; }
trap 'restore_stats; rm -rf "$T"; kill $(jobs -p) 2>/dev/null || true' EXIT
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
source tools/bench/lib.sh # (the working directory is the repository root)

# hold.py PID READY GO: holds the BPF programs PID has open (by id, so they outlive
# ttatrace, which exits with its target), creates READY, waits for a line on the fifo
# GO, then prints the mean run_time_ns per run of its entry and of its exit programs
cat >"$T/hold.py" <<'PY'
import ctypes, os, platform, struct, sys
pid, ready, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
NR_BPF = {"x86_64": 321, "aarch64": 280}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)
def fdinfo(path):
    try:
        return dict(l.split(":", 1) for l in open(path) if ":" in l)
    except OSError:
        return {}
held = []
for fd in os.listdir(f"/proc/{pid}/fdinfo"):
    d = fdinfo(f"/proc/{pid}/fdinfo/{fd}")
    if "prog_id" in d and "run_cnt" in d:
        attr = ctypes.create_string_buffer(struct.pack("I", int(d["prog_id"])), 128)
        nfd = libc.syscall(NR_BPF, 13, attr, 128)  # BPF_PROG_GET_FD_BY_ID
        if nfd < 0:
            sys.exit("bench: BPF_PROG_GET_FD_BY_ID: " + os.strerror(ctypes.get_errno()))
        held.append(nfd)
open(ready, "w").close()
open(go).read()
tot = {"entry": [0, 0], "exit": [0, 0]}
for fd in held:
    info = ctypes.create_string_buffer(256)
    attr = ctypes.create_string_buffer(struct.pack("IIQ", fd, 256, ctypes.addressof(info)), 128)
    if libc.syscall(NR_BPF, 15, attr, 128) < 0:  # BPF_OBJ_GET_INFO_BY_FD
        continue
    name = info.raw[64:80].split(b"\0")[0].decode()  # bpf_prog_info.name
    d = fdinfo(f"/proc/self/fdinfo/{fd}")
    for side in tot:
        if side in name or "session" in name:  # a session program runs at both
            tot[side][0] += int(d["run_time_ns"])
            tot[side][1] += int(d["run_cnt"])
if not tot["entry"][1] or not tot["exit"][1]:
    sys.exit("bench: the programs never ran (is kernel.bpf_stats_enabled on?)")
print("%.1f %.1f" % (tot["entry"][0] / tot["entry"][1], tot["exit"][0] / tot["exit"][1]))
PY

run_phase() { # $1: none|floor|least|session|ttatrace|sample1|bpftrace [$2: bpf] ; prints ns/call
	# with $2 = bpf, also appends "entry_ns exit_ns" of the tracer's programs to $T/$1.bpf
	local mode=$1 gate="$T/gate" tpid="" hpid=""
	rm -f "$gate"
	"$TARGET" "$CALLS" "$gate" >"$T/out" 2>"$T/err" &
	local pid=$!
	wait_grep "$T/err" waiting
	case $mode in
	floor | floor-multi | floor-session | least | session)
		"$BUILD/bench-floor" $pid "$TARGET" "$OFF" $mode 2>"$T/aerr" &
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
	if [ "${2:-}" = bpf ]; then
		rm -f "$T/held" "$T/go"
		mkfifo "$T/go"
		python3 "$T/hold.py" $tpid "$T/held" "$T/go" >>"$T/$mode.bpf" &
		hpid=$!
		while [ ! -e "$T/held" ]; do
			kill -0 $hpid 2>/dev/null || { echo "bench: reading bpf_stats failed" >&2; exit 1; }
			sleep 0.01
		done
	fi
	touch "$gate"
	wait $pid
	if [ -n "$hpid" ]; then
		echo >"$T/go"
		wait $hpid || { echo "bench: reading bpf_stats failed" >&2; exit 1; }
	fi
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

# Probe placement by instruction class (x86-64): ttatrace on functions that start with
# a 5-byte nop, a push (emulated), a single-stepped mov+test before an emulated js
# (placement moves its probes there), and a lone single-stepped lea; each with its
# probes at the entry (--probe-at-entry) and placed. Wall ns per call and the p50 span
# duration ttatrace reports (what the probe bills to every span), interleaved rounds.
placement_rounds() {
	local calls=${PCALLS:-20000} fn mode i gate="$T/pgate" pid tpid
	local -A pw pd
	for ((i = 0; i < REPS; i++)); do
		for fn in bench_nop5 bench_push bench_moved bench_stepped; do
			for mode in none entry placed; do
				# a stale line from the previous round must not pass for a new one
				rm -f "$gate" "$T/perr" "$T/paerr"
				"$TARGET" "$calls" "$gate" $fn >"$T/pout" 2>"$T/perr" &
				pid=$!
				wait_grep "$T/perr" waiting
				tpid=""
				if [ $mode != none ]; then
					local extra=()
					[ $mode = entry ] && extra=(--probe-at-entry)
					"$BUILD/ttatrace" -p $pid "${extra[@]}" --probe "$fn" --format none \
						2>"$T/paerr" &
					tpid=$!
					wait_grep "$T/paerr" "probes attached"
				fi
				touch "$gate"
				wait $pid
				cat "$T/pout" >>"$T/p.$fn.$mode.wall"
				if [ -n "$tpid" ]; then
					kill -INT $tpid 2>/dev/null || true
					wait $tpid || true
					# summary row: binary:name count calls/s errors p50 unit ...
					awk -v f=":$fn" 'substr($1, length($1) - length(f) + 1) == f {
						u = $6 == "us" ? 1e3 : $6 == "ms" ? 1e6 : $6 == "s" ? 1e9 : 1
						print $5 * u}' "$T/paerr" >>"$T/p.$fn.$mode.p50"
				fi
			done
		done
	done
	echo "probe placement by instruction class (calls per run: $calls, median of $REPS rounds):"
	printf "%-14s %-22s %9s %9s %9s %11s %11s %7s\n" function "entry -> placed at" \
		untraced "at entry" placed "p50 entry" "p50 placed" ratio
	for fn in bench_nop5 bench_push bench_moved bench_stepped; do
		for mode in none entry placed; do pw[$mode]=$(median <"$T/p.$fn.$mode.wall"); done
		for mode in entry placed; do pd[$mode]=$(median <"$T/p.$fn.$mode.p50"); done
		local where
		where=$("$BUILD/ttatrace" --list-probes --probe "$fn" -- "$TARGET" 2>/dev/null |
			awk -F'\t' 'NR == 2 {print $5 " -> " $6}')
		awk -v f=$fn -v w="$where" -v u="${pw[none]}" -v e="${pw[entry]}" -v p="${pw[placed]}" \
			-v de="${pd[entry]}" -v dp="${pd[placed]}" \
			'BEGIN {printf "%-14s %-22s %6.0f ns %6.0f ns %6.0f ns %8.0f ns %8.0f ns %7.3f\n",
				f, w, u, e, p, de, dp, (p - u) / (e - u)}'
	done
	echo "(ratio: placed / at-entry cost over untraced, wall; p50: the span duration ttatrace reports)"
}
if [ -n "${PLACEMENT_ONLY:-}" ]; then
	placement_rounds
	exit 0
fi

# References: the floor (empty pair, perf-event links); the same empty pair through
# uprobe_multi links, which ttatrace uses; an empty uprobe session (Linux 6.13+);
# `least`, the least exact timing of every call with per-thread state (what spans
# need); `session`, exact timing through a session, cheaper, but with no thread state
# it cannot build spans
modes="none floor floor-multi least ttatrace sample1"
"$BUILD/bench-floor" $$ "$TARGET" "$OFF" floor-session 2>"$T/serr" &
spid=$!
while kill -0 $spid 2>/dev/null && ! grep -q attached "$T/serr"; do sleep 0.01; done
if grep -q attached "$T/serr"; then
	kill -INT $spid
	modes="$modes floor-session session"
else
	cat "$T/serr"
fi
wait $spid || true
command -v bpftrace >/dev/null && modes="$modes bpftrace"
declare -A res label=(
	[none]="untraced" [floor]="empty uprobe+uretprobe" [floor-multi]="empty pair, uprobe_multi"
	[floor-session]="empty uprobe session" [least]="least exact timing"
	[session]="uprobe session timing" [ttatrace]="ttatrace (every span)"
	[sample1]="ttatrace --sample 0.01" [bpftrace]="bpftrace entry/exit timing")
# modes interleaved within each round: this VM's speed drifts by several percent
# over a minute, which would otherwise land on whichever mode ran last
for ((i = 0; i < REPS; i++)); do
	for mode in $modes; do run_phase $mode >>"$T/$mode.txt"; done
done
for mode in $modes; do res[$mode]=$(median <"$T/$mode.txt"); done
echo "calls per run: $CALLS, median of $REPS interleaved rounds, kernel $(uname -r)"
for mode in $modes; do printf "%-28s %10s ns/call\n" "${label[$mode]}" "${res[$mode]}"; done
awk -v f="${res[floor]}" -v t="${res[ttatrace]}" -v u="${res[none]}" \
	'BEGIN {printf "ratio ttatrace/floor: %.3f   (ttatrace adds %.0f ns/call over the floor, which adds %.0f)\n", t / f, t - f, f - u}'
awk -v f="${res[floor]}" -v t="${res[sample1]}" 'BEGIN {printf "ratio ttatrace --sample 0.01/floor: %.3f\n", t / f}'
for mode in floor-multi least floor-session session bpftrace; do
	[ -n "${res[$mode]:-}" ] || continue
	kind="reference"
	[ $mode = bpftrace ] && kind="peer"
	awk -v l="${label[$mode]}" -v k=$kind -v f="${res[floor]}" -v t="${res[$mode]}" \
		'BEGIN {printf "ratio %s/floor: %.3f (%s)\n", l, t / f, k}'
done
# against the empty pair on ttatrace's own attach mechanism
for mode in ttatrace sample1; do
	awk -v l="${label[$mode]}" -v f="${res[floor-multi]}" -v t="${res[$mode]}" \
		'BEGIN {printf "ratio %s/empty pair on uprobe_multi: %.3f\n", l, t / f}'
done
[ -z "${res[bpftrace]:-}" ] && echo "bpftrace not installed: no peer ratio (apt-get install bpftrace)"

# BPF CPU time per call, from the kernel's own accounting (kernel.bpf_stats_enabled):
# separate interleaved rounds, so the wall times above run without the stats' cost.
# The stats add the same ~50 ns to every program run, floor included, so the
# difference tt - floor is ttatrace's own work; added to the floor's wall time it
# gives a ratio without the VM's wall-clock noise.
if [ -n "$STATS_PREV" ] && echo 1 >"$STATS_CTL" 2>/dev/null; then
	bmodes="floor least ${res[session]:+session} ttatrace sample1"
	for ((i = 0; i < REPS; i++)); do
		for mode in $bmodes; do run_phase $mode bpf >/dev/null; done
	done
	restore_stats
	declare -A ben bex
	for mode in $bmodes; do
		ben[$mode]=$(awk '{print $1}' "$T/$mode.bpf" | median)
		bex[$mode]=$(awk '{print $2}' "$T/$mode.bpf" | median)
	done
	echo "BPF CPU time per call (bpf_stats, median of $REPS rounds; stats add ~50 ns to each program run):"
	for mode in $bmodes; do
		awk -v l="${label[$mode]}" -v e="${ben[$mode]}" -v x="${bex[$mode]}" -v fe="${ben[floor]}" -v fx="${bex[floor]}" \
			'BEGIN {printf "%-28s entry %6.1f + exit %6.1f = %6.1f ns/call (%+.1f over the floor)\n", l, e, x, e + x, e + x - fe - fx}'
	done
	for mode in least ${res[session]:+session} ttatrace sample1; do
		awk -v l="${label[$mode]}/floor" -v f="${res[floor]}" -v d="$(awk -v a="${ben[$mode]}" -v b="${bex[$mode]}" \
			-v c="${ben[floor]}" -v e="${bex[floor]}" 'BEGIN {print a + b - c - e}')" \
			'BEGIN {printf "derived ratio %s: %.3f   ((floor wall + %.0f ns of BPF CPU) / floor wall)\n", l, (f + d) / f, d}'
	done
else
	echo "kernel.bpf_stats_enabled not available: no BPF CPU time per call"
fi

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
# the default with sampling: --keep-errors on, tail rules decided in the kernel; and
# the same decided in userspace (every unpicked span streamed)
s1k=$(wall "$BUILD/ttatrace" --config tools/workflow-demo.yaml --sample 0.01 --format jsonl \
	-o /dev/null -- "$BUILD/workflow-demo" --iterations $WF --fail-every 25)
s1k_bytes=$(grep -o '[0-9.]* bytes per traced call' "$T/wf.err")
s1s=$(wall "$BUILD/ttatrace" --config tools/workflow-demo.yaml --sample 0.01 --tail-stream --format jsonl \
	-o /dev/null -- "$BUILD/workflow-demo" --iterations $WF --fail-every 25)
s1s_bytes=$(grep -o '[0-9.]* bytes per traced call' "$T/wf.err")
echo "workflow-demo x $WF (wall ms, ttatrace start-up and detach included):"
echo "  untraced $u ms; full capture $full ms ($full_bytes); --sample 0.01 $s1 ms ($s1_bytes)"
echo "  --sample 0.01 --keep-errors (1 in 25 fails): tail rules in the kernel $s1k ms ($s1k_bytes);" \
	"in userspace (--tail-stream) $s1s ms ($s1s_bytes)"

echo
placement_rounds

# collector throughput and peak memory without the kernel (a replayed record stream)
echo
"$BUILD/collector-bench"

echo
bash tools/bench/agent.sh
