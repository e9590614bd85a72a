#!/usr/bin/env bash
# OTLP/HTTP export faults without the kernel, against the test receiver: collector down
# (bounded retries, every span counted, trace() never waits), 503 with Retry-After in
# seconds and as an HTTP-date (honoured), 400 with a google.rpc.Status body (reported
# once with the server's message), a slow server (request timeout, then retry), a
# partial success, and a collector that restarts while spans wait.
set -u
cd "$(dirname "$0")/../.."
. tests/otlp-receiver/harness.sh
otlp_require

unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT OTEL_EXPORTER_OTLP_COMPRESSION \
	OTEL_EXPORTER_OTLP_HEADERS OTEL_RESOURCE_ATTRIBUTES OTEL_SERVICE_NAME OTEL_BSP_SCHEDULE_DELAY \
	OTEL_EXPORTER_OTLP_TIMEOUT

accounted() { # every span ends in exactly one counter
	echo $(($(otlp_val spans_exported) + $(otlp_val spans_dropped_queue_full) + \
		$(otlp_val spans_dropped_retries) + $(otlp_val spans_dropped_rejected) + \
		$(otlp_val spans_dropped_shutdown)))
}

# "n status timeMs spans" per request the receiver saw
requests() {
	node "$OTLP_RECV_DIR/check.mjs" requests "$RECV_OUT"
}

# 1. collector down: probe says so; trace() stays fast; retries are bounded; all counted
port=$(otlp_free_port)
otlp_drive down --endpoint "http://127.0.0.1:$port" --probe --traces 500 --spans 4 --batch 64 \
	--queue 256 --delay-ms 50 --retries 3 --retry-initial-ms 100 --close-timeout-ms 1000
otlp_expect "down: the probe reports ECONNREFUSED" "$(otlp_val probe)" -eq -111
otlp_expect "down: the probe names the endpoint" \
	"$(otlp_val probe_error | grep -c "^cannot connect to http://127.0.0.1:$port/v1/traces: ")" -eq 1
otlp_expect "down: 99% of trace() calls took <= $(otlp_val trace_call_p99_us) us (< 2 ms)" \
	"$(otlp_val trace_call_p99_us)" -lt 2000
otlp_expect "down: the slowest trace() took $(otlp_val trace_call_max_us) us (< 100 ms)" \
	"$(otlp_val trace_call_max_us)" -lt 100000
otlp_expect "down: 500 trace() calls took $(otlp_val trace_calls_total_us) us (< 1 s)" \
	"$(otlp_val trace_calls_total_us)" -lt 1000000
otlp_expect "down: nothing exported" "$(otlp_val spans_exported)" -eq 0
otlp_expect "down: all 2000 spans counted as dropped" "$(accounted)" -eq 2000
otlp_expect "down: the full queue dropped some" "$(otlp_val spans_dropped_queue_full)" -gt 0
otlp_expect "down: exhausted retries dropped some" "$(otlp_val spans_dropped_retries)" -ge 64
otlp_expect "down: retries happened" "$(otlp_val retries)" -ge 3
otlp_expect "down: close() kept to its deadline ($(otlp_val close_ms) ms)" "$(otlp_val close_ms)" -lt 2500
otlp_expect "down: the failure is reported once" \
	"$(grep -c '^ttatrace: otlp: dropped .* spans after 4 tries .*Couldn.t connect to server' "$DRIVE_ERR")" -eq 1

# 2. 503 + Retry-After: 1, while the backoff alone would wait <= 20 ms
otlp_recv_start r503 --fail-status 503 --fail-count 1 --retry-after 1 --error-format text
otlp_drive r503 --endpoint "http://127.0.0.1:$RECV_PORT" --traces 5 --spans 3 --delay-ms 50 \
	--retries 3 --retry-initial-ms 10 --retry-max-ms 20
otlp_recv_stop
otlp_expect "503: two requests, 503 then 200" "$(requests | awk '{printf "%s ", $2}')" = "503 200 "
gap=$(requests | awk 'NR == 1 {t = $3} NR == 2 {print $3 - t}')
otlp_expect "503: the retry came ${gap} ms later (Retry-After: 1 => >= 1000 ms)" "$gap" -ge 1000 -a "$gap" -lt 3000
otlp_expect "503: all 15 spans exported after one retry" \
	"$(otlp_val spans_exported) $(otlp_val retries) $(otlp_val failures)" = "15 1 1"

# 3. 503 + Retry-After as an HTTP-date 2 s ahead (second granularity: >= ~1 s)
otlp_recv_start rdate --fail-status 503 --fail-count 1 --retry-after-date 2
otlp_drive rdate --endpoint "http://127.0.0.1:$RECV_PORT" --traces 2 --spans 2 --delay-ms 20 \
	--retries 3 --retry-initial-ms 10 --retry-max-ms 20
otlp_recv_stop
gap=$(requests | awk 'NR == 1 {t = $3} NR == 2 {print $3 - t}')
otlp_expect "503 date: the retry came ${gap} ms later (>= 900 ms)" "$gap" -ge 900 -a "$gap" -lt 3500
otlp_expect "503 date: all 4 spans exported" "$(otlp_val spans_exported)" -eq 4

# 4. 400 with a google.rpc.Status body: not retried, reported once with its message
otlp_recv_start r400 --fail-status 400 --fail-count -1 --error-message 'span 3 has an invalid parent'
otlp_drive r400 --endpoint "http://127.0.0.1:$RECV_PORT" --traces 20 --spans 4 --batch 16 \
	--delay-ms 20 --retries 5 --retry-initial-ms 10
otlp_recv_stop
nreq=$(requests | wc -l)
otlp_expect "400: 80 spans rejected, none exported" \
	"$(otlp_val spans_dropped_rejected) $(otlp_val spans_exported)" = "80 0"
otlp_expect "400: no retries; one request per batch ($nreq)" \
	"$(otlp_val retries) $(otlp_val requests) $(otlp_val failures)" = "0 $nreq $nreq"
otlp_expect "400: at least 5 batches were rejected" "$nreq" -ge 5
otlp_expect "400: reported once, with the server's message" \
	"$(grep -c 'HTTP 400: span 3 has an invalid parent' "$DRIVE_ERR") $(grep -c 'rejected' "$DRIVE_ERR")" = "1 1"

# 5. 400 with a text body
otlp_recv_start r400t --fail-status 400 --fail-count -1 --error-format text --error-message 'no such tenant'
otlp_drive r400t --endpoint "http://127.0.0.1:$RECV_PORT" --traces 2 --spans 2 --delay-ms 20
otlp_recv_stop
otlp_expect "400 text: the text body is shown" "$(grep -c 'HTTP 400: no such tenant (not retried' "$DRIVE_ERR")" -eq 1

# 6. slow server: every answer takes 3 s, the request timeout is 500 ms
otlp_recv_start slow --delay-ms 3000
OTEL_EXPORTER_OTLP_TIMEOUT=500 otlp_drive slow --endpoint "http://127.0.0.1:$RECV_PORT" --traces 4 \
	--spans 2 --delay-ms 20 --retries 1 --retry-initial-ms 10
otlp_recv_stop
otlp_expect "slow: both tries timed out, 8 spans dropped" \
	"$(otlp_val spans_dropped_retries) $(otlp_val requests) $(otlp_val retries)" = "8 2 1"
otlp_expect "slow: the timeout is reported" "$(grep -c 'after 2 tries .*[Tt]imed out' "$DRIVE_ERR")" -eq 1
otlp_expect "slow: trace() did not wait ($(otlp_val trace_call_max_us) us)" "$(otlp_val trace_call_max_us)" -lt 100000

# 7. slow only once: the first request times out, the retry is delivered
otlp_recv_start slow1 --delay-ms 3000 --delay-count 1
OTEL_EXPORTER_OTLP_TIMEOUT=500 otlp_drive slow1 --endpoint "http://127.0.0.1:$RECV_PORT" --traces 4 \
	--spans 2 --delay-ms 20 --retries 2 --retry-initial-ms 10
otlp_recv_stop
otlp_expect "slow once: exported after a retry" \
	"$(otlp_val spans_exported) $(otlp_val retries) $(otlp_val spans_dropped_retries)" = "8 1 0"

# 8. partial success: 200 with rejected_spans = 2
otlp_recv_start partial --partial 2
otlp_drive partial --endpoint "http://127.0.0.1:$RECV_PORT" --traces 3 --spans 3 --delay-ms 20
otlp_recv_stop
otlp_expect "partial: 7 exported, 2 rejected" \
	"$(otlp_val spans_exported) $(otlp_val spans_dropped_rejected)" = "7 2"
otlp_expect "partial: reported with the server's message" \
	"$(grep -c 'only in part: 2 of 9 spans rejected: test receiver refused some spans' "$DRIVE_ERR")" -eq 1

# 9. the collector goes away for 1.5 s and comes back: retries deliver everything
otlp_recv_start restart
node -e "fetch('http://127.0.0.1:$RECV_PORT/control', {method: 'POST', body: JSON.stringify({downMs: 1500})}).then((r) => process.exit(r.ok ? 0 : 1))" ||
	otlp_fail "restart: the control request failed"
otlp_drive restart --endpoint "http://127.0.0.1:$RECV_PORT" --traces 10 --spans 3 --delay-ms 20 \
	--retries 12 --retry-initial-ms 200 --retry-max-ms 800 --close-timeout-ms 15000
otlp_recv_stop
otlp_expect "restart: all 30 spans exported after failed tries" \
	"$(otlp_val spans_exported) $(($(otlp_val failures) > 0))" = "30 1"
otlp_expect "restart: the receiver has them" "$(requests | awk '$2 == 200 {n += $4} END {print n + 0}')" -eq 30

otlp_finish
