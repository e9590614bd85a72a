#!/usr/bin/env bash
# ttatrace agent benchmarks (make bench): the agent's CPU and memory with 50 traced
# processes idle and busy; exec-to-first-span for a program already probed and for
# one never seen; the churn rate (short processes a second, every one traced); the same
# exec-to-first-span for a prepared Python service (CPython 3.12 with the bootstrap).
set -u
BUILD=${BUILD:-build}
TT=$BUILD/ttatrace
PF=$BUILD/fixtures/prefork
T=$(mktemp -d /tmp/ttatrace-agent-bench.XXXXXX)
APID=
cleanup() {
	[ -n "$APID" ] && kill -TERM "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
make -s "$PF" >/dev/null || exit 1
cp "$PF" "$T/bench-pf"
printf "targets:\n  - exe: '%s/bench-pf*'\n  - cmdline: '*fixtures/python/prefork.py*'\nprimitives:\n  - match: 'pf_*'\n" \
	"$T" >"$T/catalog.yaml"
touch "$T/open"
"$TT" agent --config "$T/catalog.yaml" --trace-timeout 2s --format jsonl -o "$T/spans.jsonl" \
	2>"$T/agent.err" &
APID=$!
for _ in $(seq 100); do grep -q "matched the targets" "$T/agent.err" && break; sleep 0.1; done
cpu_ticks() { awk '{ print $14 + $15 }' /proc/$APID/stat; }
rss_kib() { awk '/^VmRSS/ { print $2 }' /proc/$APID/status; }
hz=$(getconf CLK_TCK)

# measure LABEL RATE: 50 processes calling pf_work RATE times a second, 6 s; the
# agent's CPU over the middle 4 s and its memory at the end
measure() {
	local label=$1 rate=$2 c0 c1 i
	for ((i = 0; i < 50; i++)); do "$T/bench-pf" --busy 6 "$rate" & done
	sleep 1
	c0=$(cpu_ticks)
	sleep 4
	c1=$(cpu_ticks)
	echo "  $label: agent CPU $(awk -v d=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.1f", 100 * d / hz / 4 }')%" \
		"of one core, VmRSS $(rss_kib) KiB"
	wait $(jobs -p | grep -v "^$APID$") 2>/dev/null
}
echo "ttatrace agent, 50 traced processes (3 spans per pf_work call):"
echo "  at start (nothing traced): VmRSS $(rss_kib) KiB"
measure "idle (no calls)" 0
measure "busy (50 x 200 pf_work/s = 30,000 spans/s)" 200

# spans_of PID T0: "LATENCY_US SPANS" of PID's spans, its first span's start against T0
# (the time just before its exec), once its last spans drained
spans_of() {
	sleep 0.5
	python3 - "$T/spans.jsonl" "$1" "$2" <<'PY'
import json, sys
pid, t0 = int(sys.argv[2]), int(sys.argv[3])
starts = [s["start_ns"] for s in map(json.loads, open(sys.argv[1])) if s["pid"] == pid]
print(f"{(min(starts) - t0) / 1000:.0f} {len(starts)}" if starts else "none 0")
PY
}

# exec-to-first-span: the process calls pf_work every 100 us from its start
first_span_us() { # EXE
	local t0 pid
	t0=$(date +%s%N)
	"$1" --busy 0.5 10000 &
	pid=$!
	wait $pid
	spans_of $pid "$t0" | cut -d' ' -f1
}
p=(); n=()
for i in 1 2 3 4 5; do
	p+=("$(first_span_us "$T/bench-pf")")
	cp "$PF" "$T/bench-pf-new$i" # a new inode: never probed
	n+=("$(first_span_us "$T/bench-pf-new$i")")
done
echo "exec to first span (us, 5 runs; calls every 100 us from the start; includes fork+exec):"
echo "  program already probed: ${p[*]}"
echo "  program never seen:     ${n[*]}"

# churn: 3 processes per run (the program, a child exec'ing it again, one exec'ing /bin/true)
N=500
t0=$(date +%s%N)
for ((i = 0; i < N; i++)); do "$T/bench-pf" "$T/open" 0 1 >>"$T/churn.roles"; done
ms=$((($(date +%s%N) - t0) / 1000000))
sleep 1
traced=$(python3 - "$T/spans.jsonl" "$T/churn.roles" <<'PY'
import json, sys
pids = {int(l.split()[1]) for l in open(sys.argv[2])}
seen = {s["pid"] for s in map(json.loads, open(sys.argv[1])) if s["probe"].endswith(":pf_work")}
print(f"{len(pids & seen)} of {len(pids)}")
PY
)
echo "churn: $N runs ($((2 * N)) traced processes + $N /bin/true) in $ms ms" \
	"($(awk -v n=$((3 * N)) -v ms=$ms 'BEGIN { printf "%.0f", n * 1000 / ms }') processes/s);" \
	"traced from their first call: $traced; agent VmRSS $(rss_kib) KiB"

# Python: a prepared service (the bootstrap on PYTHONPATH) running 2 workflows (46
# primitive spans) from its start, on an interpreter the agent knows (the kernel makes
# its processes Python processes at exec) and on one never seen (a fresh copy of
# python3.12 and its libpython: userspace attaches on its exec event)
PY=/root/.pyenv/versions/3.12.1
if [ -x "$PY/bin/python3.12" ]; then
	py_first() { # PYTHON [LIBDIR] -> first-span latency in us / primitive spans seen
		local t0 pid
		t0=$(date +%s%N)
		LD_LIBRARY_PATH=${2:-} PYTHONPATH=$PWD/tools/python TTATRACE_PY_RUNDIR=$T \
			TTATRACE_PY_SPEC=$PWD/tests/fixtures/python/catalog.yaml \
			"$1" tests/fixtures/python/prefork.py 0 2 - &
		pid=$!
		wait $pid
		spans_of $pid "$t0" | tr ' ' /
	}
	py_first "$PY/bin/python3.12" >/dev/null # the interpreter becomes known
	k=(); f=()
	for i in 1 2 3 4 5; do
		k+=("$(py_first "$PY/bin/python3.12")")
		mkdir -p "$T/py$i/bin" "$T/py$i/lib"
		cp "$PY/bin/python3.12" "$T/py$i/bin/"
		cp "$PY/lib/libpython3.12.so.1.0" "$T/py$i/lib/"
		f+=("$(py_first "$T/py$i/bin/python3.12" "$T/py$i/lib")")
		rm -rf "$T/py$i"
	done
	echo "Python service, exec to first primitive span (us) / primitive spans seen of 46 (5 runs):"
	echo "  interpreter known:      ${k[*]}"
	echo "  interpreter never seen: ${f[*]}"
else
	echo "Python part skipped: no CPython 3.12.1 at $PY"
fi
