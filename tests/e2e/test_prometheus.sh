#!/usr/bin/env bash
# --metrics-addr end to end: a real Prometheus server scrapes ttatrace while it traces a
# gated workflow-demo; its API must report exact per-primitive call counts (the kernel
# histograms count every call), the exposition must pass `promtool check metrics`, and
# every primitive's calls_total must equal the demo's own --counts.
source tests/e2e/lib.sh
need_root_bpf
N=7
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
if [ ! -x "$PROMETHEUS" ] || [ ! -x "$PROMTOOL" ]; then
	[ "${CI:-}" = true ] && fail "prometheus/promtool missing (apt-get install prometheus)"
	skip "needs $PROMETHEUS and $PROMTOOL (apt-get install prometheus)"
fi
command -v curl >/dev/null || skip "needs curl"
"$TTATRACE" --help | grep -q -- --metrics-addr || fail "$TTATRACE has no --metrics-addr option"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
MPORT=$(free_port)
PPORT=$(free_port)
[ "$MPORT" != "$PPORT" ] || PPORT=$((PPORT + 1))

# prom_query EXPR: the single value of an instant query ("" when there is no result)
prom_query() {
	curl -sfG --max-time 5 "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else ("" if not r else "MANY:%d" % len(r)))'
}

# wait_query EXPR VALUE SECONDS: until Prometheus reports VALUE for EXPR
wait_query() {
	local i v=""
	for ((i = 0; i < $3 * 4; i++)); do
		v=$(prom_query "$1" 2>/dev/null) || v=""
		[ "$v" = "$2" ] && return 0
		sleep 0.25
	done
	fail "Prometheus: $1 = '$v', expected '$2' after $3 s"
}

"$DEMO" --iterations $N --gate-file "$T/go" --counts "$T/counts" >"$T/demo.out" 2>"$T/demo.err" &
DPID=$!
PIDS_TO_KILL+=($DPID)
# a second target that never runs a primitive keeps ttatrace (and /metrics) up after
# the first one exits, so the final counts can be scraped
"$DEMO" --iterations 0 --wait-signal >/dev/null 2>"$T/idle.err" &
IPID=$!
PIDS_TO_KILL+=($IPID)
wait_for "$T/demo.err" "waiting for gate"
wait_for "$T/idle.err" "SIGUSR1"

"$TTATRACE" -p $DPID -p $IPID --probe 'tta_*' --metrics-addr 127.0.0.1:$MPORT --format none \
	2>"$T/tt.err" &
TPID=$!
PIDS_TO_KILL+=($TPID)
wait_for "$T/tt.err" "probes attached"

# before any call: the series exist, at zero
curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics" >"$T/before.prom" || fail "GET /metrics failed"
grep -q '^ttatrace_primitive_calls_total{primitive="tta_workflow_run",kind="step",service="workflow-demo"} 0$' \
	"$T/before.prom" || { cat "$T/before.prom" >&2; fail "no zero series before the gate"; }
curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/nothing" | grep -q 404 ||
	fail "unknown path not 404"

cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ttatrace
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YML
"$PROMTOOL" check config "$T/prometheus.yml" >"$T/promtool-config.out" 2>&1 ||
	{ cat "$T/promtool-config.out" >&2; fail "promtool rejects the test's config"; }
"$PROMETHEUS" --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
	--web.listen-address=127.0.0.1:$PPORT >"$T/prometheus.log" 2>&1 &
PPID_=$!
PIDS_TO_KILL+=($PPID_)
for ((i = 0; i < 120; i++)); do
	curl -sf --max-time 1 "http://127.0.0.1:$PPORT/-/ready" >/dev/null 2>&1 && break
	kill -0 $PPID_ 2>/dev/null || { cat "$T/prometheus.log" >&2; fail "prometheus exited"; }
	sleep 0.25
done
wait_query 'up{job="ttatrace"}' 1 30

touch "$T/go"
wait_exit $DPID 120 || fail "demo exited non-zero"

wait_query 'ttatrace_primitive_calls_total{primitive="tta_workflow_run"}' $N 30
wait_query 'ttatrace_primitive_calls_total{primitive="tta_retry_attempt"}' $((3 * N)) 10
wait_query 'ttatrace_primitive_duration_seconds_count{primitive="tta_retry_attempt"}' $((3 * N)) 10
wait_query 'ttatrace_primitive_duration_seconds_bucket{primitive="tta_workflow_run",le="+Inf"}' $N 10
wait_query 'ttatrace_primitive_inflight{primitive="tta_workflow_run"}' 0 10
wait_query 'ttatrace_drops_total{reason="rb_reserve_fail"}' 0 10
# a median between 1 us and 10 s: the buckets hold real durations
p50=$(prom_query 'histogram_quantile(0.5, ttatrace_primitive_duration_seconds_bucket{primitive="tta_workflow_run"})')
python3 -c "import sys; v=float('$p50'); sys.exit(0 if 1e-6 < v < 10 else 1)" ||
	fail "p50 of tta_workflow_run from Prometheus is '$p50'"
# one series per primitive (names merged, no pid/tid labels)
n_series=$(prom_query 'count(ttatrace_primitive_calls_total)')
assert_eq "$n_series" "$(wc -l <"$T/counts")" "series of ttatrace_primitive_calls_total"

# the exposition itself: lint-clean, and every primitive as the demo counted it
curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics" >"$T/after.prom" || fail "GET /metrics failed"
"$PROMTOOL" check metrics <"$T/after.prom" >"$T/promtool.out" 2>&1 ||
	{ cat "$T/promtool.out" >&2; fail "promtool check metrics rejects the exposition"; }
while read -r name count; do
	line=$(grep "^ttatrace_primitive_calls_total{primitive=\"$name\"," "$T/after.prom") ||
		fail "no series for $name"
	assert_eq "${line##* }" "$count" "calls_total of $name"
done <"$T/counts"
assert_eq "$(grep -c '^ttatrace_primitive_duration_seconds_bucket{primitive="tta_workflow_run",' "$T/after.prom")" \
	61 "buckets of tta_workflow_run"
# self-metrics: every finished span was read from the ring, none malformed, lag measured
spans=$(grep '^ttatrace_spans_total' "$T/after.prom" | awk '{print $2}')
records=$(grep '^ttatrace_records_total' "$T/after.prom" | awk '{print $2}') || fail "no ttatrace_records_total"
assert_eq "$records" "$spans" "records read vs spans finished in the kernel"
grep -q '^ttatrace_records_malformed_total{service="workflow-demo"} 0$' "$T/after.prom" || fail "malformed records"
grep -Eq '^ttatrace_ringbuf_lag_seconds\{service="workflow-demo"\} [0-9.]+$' "$T/after.prom" || fail "no ring-buffer lag"
grep -Eq '^ttatrace_traces_total\{service="workflow-demo",state="complete"\} [1-9]' "$T/after.prom" || fail "no trace count"

kill -INT $TPID
wait_exit $TPID 30 || { cat "$T/tt.err" >&2; fail "ttatrace exited non-zero"; }
# the exit summary's percentiles come from the same histograms
grep -Eq '^function +count +calls/s +errors +p50 +p95 +p99 +max$' "$T/tt.err" ||
	{ cat "$T/tt.err" >&2; fail "no percentile summary"; }
grep -Eq "^workflow-demo:tta_retry_attempt +$((3 * N)) " "$T/tt.err" ||
	{ cat "$T/tt.err" >&2; fail "summary count of tta_retry_attempt"; }
kill $PPID_ 2>/dev/null
wait $PPID_ 2>/dev/null
echo "PASS: Prometheus scraped $N workflows, $((3 * N)) retry attempts; promtool clean"
