#!/usr/bin/env bash
# Attach and detach edges (issue 13 items 9 and 3) on a hot target: hot_leaf called
# in a tight loop on two threads, each inside hot_spin, itself inside hot_run.
# 1. -p while hot: the calls that enter between a probe's exit link and its entry
#    link (a test hold widens the window) and those cut by the final detach are
#    counted as attach and detach edges, in the summary and /metrics, and the
#    genuine "exits without entry" stays 0 (before: 647 in a 3 s run, 10 million
#    in the launch case below); the detach prints its progress once it takes > 1 s.
# 2. launch mode, main and hot_spin open (entered after attach) with hot_leaf hot on
#    their threads: SIGTERM ends ttatrace within seconds (before: it waited in the
#    kernel's close() until the program ended, 138 s measured, SIGKILL included).
source tests/e2e/lib.sh
need_root_bpf
HOT=${HOT:-$BUILD/fixtures/hot}
[ -x "$HOT" ] || fail "$HOT not built"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# 1. -p, the target hot before ttatrace attaches
touch "$T/go"
"$HOT" "$T/go" 2 0 >"$T/p.out" &
HP=$!
PIDS_TO_KILL+=($HP)
sleep 0.3
TTATRACE_TEST_HOLD_ATTACH_MS=300 TTATRACE_TEST_HOLD_DETACH_MS=2500 "$TTATRACE" -p $HP \
	--probe 'hot_*' --format none --metrics-addr 127.0.0.1:$PORT 2>"$T/p.err" &
AP=$!
PIDS_TO_KILL+=($AP)
wait_for "$T/p.err" "Ctrl-C to stop"
sleep 1
curl -sf "http://127.0.0.1:$PORT/metrics" >"$T/metrics" || fail "no /metrics"
grep -E 'edge_exits|exit_no_entry' "$T/metrics"
grep -q '^ttatrace_drops_total{service="hot",reason="exit_no_entry"} 0$' "$T/metrics" ||
	fail "/metrics: exits without entry during the run"
grep -Eq '^ttatrace_edge_exits_total\{service="hot",edge="attach"\} [1-9]' "$T/metrics" ||
	fail "/metrics: no attach edge counted (calls ran between the exit and entry links)"
kill -INT $AP
wait_exit $AP 60 || { cat "$T/p.err" >&2; fail "-p: ttatrace exited non-zero"; }
touch "$T/go.stop"
wait_exit $HP 30 || fail "the fixture failed"
cat "$T/p.err"
grep -q ", exits without entry 0," "$T/p.err" || fail "-p: exits without entry counted as losses"
read -r att det < <(sed -n 's/^ttatrace: edges: \([0-9]*\) calls cut by the attach, \([0-9]*\) by the detach .*/\1 \2/p' "$T/p.err")
[ -n "$att" ] || fail "-p: no edges line in the summary"
[ "$att" -gt 0 ] || fail "-p: no attach edge"
[ "$det" -gt 0 ] || fail "-p: no detach edge"
grep -Eq '^ttatrace: detaching: [0-9]+ of [0-9]+ links out after [0-9]+ s \(the kernel waits for traced calls still running in the target\)$' "$T/p.err" ||
	fail "-p: no progress line while detaching"
grep -Eq '^ttatrace: detached in [0-9.]+ s$' "$T/p.err" || fail "-p: no end-of-detach line"
echo "ok: -p: edges attach $att, detach $det; genuine exits without entry 0"

# 2. launch: main and hot_spin open, hot_leaf hot on their threads
rm -f "$T/go.stop"
"$TTATRACE" --probe main --probe 'hot_*' --format none -- "$HOT" "$T/go" 2 0 >"$T/l.out" \
	2>"$T/l.err" &
AP=$!
PIDS_TO_KILL+=($AP)
wait_for "$T/l.err" "Ctrl-C to stop"
LP=$(pgrep -P $AP -x hot) || fail "the launched program is not running"
PIDS_TO_KILL+=($LP)
sleep 2
t0=$(date +%s%N)
kill -TERM $AP
# a bound far above the ~1 s this takes, far below the program's lifetime (until
# go.stop): before the fix ttatrace stayed in close() until the program ended
for ((i = 0; i < 200; i++)); do
	kill -0 $AP 2>/dev/null || break
	sleep 0.1
done
took_ms=$((($(date +%s%N) - t0) / 1000000))
if kill -0 $AP 2>/dev/null; then
	touch "$T/go.stop"
	wait_exit $AP 120 || true
	cat "$T/l.err" >&2
	fail "launch: ttatrace still detaching ${took_ms} ms after SIGTERM (it ended with the program)"
fi
wait $AP || { cat "$T/l.err" >&2; fail "launch: ttatrace exited non-zero"; }
kill -0 $LP 2>/dev/null || fail "the launched program did not outlive ttatrace"
touch "$T/go.stop"
for ((i = 0; i < 300; i++)); do
	kill -0 $LP 2>/dev/null || break
	sleep 0.1
done
kill -0 $LP 2>/dev/null && fail "the launched program did not finish after ttatrace left"
grep -q ", exits without entry 0," "$T/l.err" || { cat "$T/l.err" >&2; fail "launch: exits without entry"; }
echo "ok: launch: SIGTERM to exit ${took_ms} ms with main and hot_spin open and hot_leaf hot"
echo PASS
