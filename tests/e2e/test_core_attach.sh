#!/usr/bin/env bash
# Attach by PID to a gated workflow-demo: exact span counts per function, same-thread
# parent links, durations >= sleeps, no spans from another process running the same
# binary, and the demo's stdout byte-identical with and without tracing.
source tests/e2e/lib.sh
need_root_bpf
N=5

# reference run, untraced
"$DEMO" --iterations $N >"$T/ref.out" || fail "demo failed untraced"

# a bystander running the same binary must not leak into the trace
"$DEMO" --iterations 0 --interval-ms 5 >/dev/null &
PIDS_TO_KILL+=($!)

"$DEMO" --iterations $N --gate-file "$T/go" --counts "$T/counts" >"$T/demo.out" 2>"$T/demo.err" &
DPID=$!
PIDS_TO_KILL+=($DPID)
wait_for "$T/demo.err" "waiting for gate"

"$TTATRACE" -p $DPID --probe 'tta_*' --format jsonl -o "$T/spans.jsonl" 2>"$T/tt.err" &
TPID=$!
PIDS_TO_KILL+=($TPID)
wait_for "$T/tt.err" "probes attached"
touch "$T/go"

wait_exit $DPID 120 || fail "demo exited non-zero"
wait_exit $TPID 30 || { cat "$T/tt.err" >&2; fail "ttatrace exited non-zero"; }
cat "$T/tt.err"

cmp "$T/ref.out" "$T/demo.out" || fail "demo stdout differs under tracing"
grep -q "drops: ring buffer full 0, stack deeper than --max-depth 0, exits without entry 0" "$T/tt.err" ||
	fail "unexpected drops"
python3 tests/e2e/check_core.py "$T/spans.jsonl" "$T/counts" $N $DPID || fail "span checks"
