#!/usr/bin/env bash
# /metrics under slow clients (issue 13 item 13): 1,100 connections from 127.0.0.1
# trickle header bytes and never finish a request; a scrape from another address
# (127.0.0.2, as a Prometheus server would be) still gets the metrics, and the
# trickling connections are limited per client address and timed out.
source tests/e2e/lib.sh
need_root_bpf
command -v curl >/dev/null || fail "needs curl"
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TTATRACE" --probe 'tta_*' --metrics-addr "127.0.0.1:$MPORT" --format none --no-summary \
	-- "$DEMO" --iterations 0 --interval-ms 20 >/dev/null 2>"$T/tt.err" &
tt=$!
PIDS_TO_KILL+=("$tt")
for ((i = 0; i < 200; i++)); do
	curl -sf --max-time 2 "http://127.0.0.1:$MPORT/metrics" -o /dev/null && break
	sleep 0.1
done
curl -sf --max-time 2 "http://127.0.0.1:$MPORT/metrics" -o /dev/null || { cat "$T/tt.err" >&2; fail "no /metrics"; }
# the launched program outlives a signalled ttatrace
PIDS_TO_KILL+=($(pgrep -P "$tt"))

# the slow clients: each sends a request line, then one header byte per second
python3 - "$MPORT" "$T/slow.out" <<'PY' &
import resource, socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
socks, refused = [], 0
for i in range(1100):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except OSError:
        refused += 1
open(out, "w").write(f"opened {len(socks)} refused {refused}\n")
end = time.time() + 30
while time.time() < end:
    for s in socks:
        try:
            s.send(b"X")
        except OSError:
            pass
    time.sleep(1)
PY
slow=$!
PIDS_TO_KILL+=("$slow")
wait_for "$T/slow.out" opened 60
sleep 2 # the server has seen them all
ok=0
for k in 1 2 3; do
	if curl -sf --max-time 5 --interface 127.0.0.2 "http://127.0.0.1:$MPORT/metrics" -o "$T/scrape$k"; then
		grep -q '^ttatrace_primitive_calls_total{' "$T/scrape$k" && ok=$((ok + 1))
	fi
	sleep 1
done
cat "$T/slow.out"
assert_eq "$ok" 3 "scrapes that succeeded while 1,100 connections trickled"
# the trickling connections were cut: per client address, and by the timeout
live=$(ss -tn state established "( sport = :$MPORT )" | tail -n +2 | wc -l)
[ "$live" -le 64 ] || fail "$live connections still open on the metrics port"
kill -INT "$tt"
wait_exit "$tt" 60 || true
echo "ok: 3 of 3 scrapes served, $live connections held open by the server"
