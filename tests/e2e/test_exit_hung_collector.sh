#!/usr/bin/env bash
# Exit with a hung collector (issue 13 item 11): a receiver that accepts connections
# and never answers. SIGTERM ends ttatrace within OTEL_BSP_EXPORT_TIMEOUT (one
# deadline for the last trace and metrics exports, not one request timeout each),
# and a second Ctrl-C ends it at once; what was not sent is counted.
source tests/e2e/lib.sh
need_root_bpf
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$PORT" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)  # read nothing, answer nothing
PY
PIDS_TO_KILL+=($!)
for ((i = 0; i < 100; i++)); do
	python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
	sleep 0.1
done

# run_until_signals NAME TIMEOUT_MS SIGNALS...: traces until the first signal, sends the
# others one second apart, prints the seconds from the first signal to the exit
run_until_signals() {
	local name=$1 tmo=$2 t0 t1 sig
	shift 2
	OTEL_BSP_EXPORT_TIMEOUT=$tmo OTEL_METRIC_EXPORT_INTERVAL=500 \
		"$TTATRACE" --probe 'tta_*' --otlp "http://127.0.0.1:$PORT" --format none \
		-- "$DEMO" --iterations 0 --interval-ms 5 >/dev/null 2>"$T/$name.err" &
	local tt=$!
	PIDS_TO_KILL+=("$tt")
	wait_for "$T/$name.err" "probes attached" 30
	local child
	child=$(pgrep -P "$tt")
	sleep 2 # spans queue behind the hung first request
	t0=$(date +%s.%N)
	for sig in "$@"; do
		kill -"$sig" "$tt" 2>/dev/null
		sleep 1
	done
	wait_exit "$tt" 120 || true
	t1=$(date +%s.%N)
	# the launched program outlives a signalled ttatrace: end it here (a subshell
	# cannot add it to PIDS_TO_KILL)
	[ -n "$child" ] && kill -KILL $child 2>/dev/null
	python3 -c "print(round($t1 - $t0, 1))"
}

# SIGTERM, 2 s deadline: out in well under the 10 s a single request may take
took=$(run_until_signals term 2000 TERM) || fail "tracing did not start"
python3 -c "import sys; sys.exit(0 if $took <= 6 else 1)" ||
	{ cat "$T/term.err" >&2; fail "SIGTERM with a hung collector took ${took}s (deadline 2 s)"; }
grep -q "spans were not exported to http://127.0.0.1:$PORT/v1/traces within the exit deadline" "$T/term.err" ||
	{ cat "$T/term.err" >&2; fail "unsent spans not counted"; }
unsent=$(grep -o "unsent at exit [0-9]*" "$T/term.err" | grep -o "[0-9]*$")
[ "${unsent:-0}" -gt 0 ] || { cat "$T/term.err" >&2; fail "summary: unsent at exit '$unsent'"; }

# a 60 s deadline, and a second Ctrl-C one second after the first
took2=$(run_until_signals int2 60000 INT INT) || fail "tracing did not start"
python3 -c "import sys; sys.exit(0 if $took2 <= 8 else 1)" ||
	{ cat "$T/int2.err" >&2; fail "a second Ctrl-C did not end the exit (${took2}s)"; }
grep -q "spans were not exported" "$T/int2.err" || { cat "$T/int2.err" >&2; fail "second Ctrl-C: drops not counted"; }
echo "ok: SIGTERM exit ${took}s with a 2 s deadline ($unsent spans unsent, counted); second Ctrl-C ${took2}s with a 60 s deadline"
