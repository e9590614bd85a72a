#!/usr/bin/env bash
# OTLP/HTTP export without the kernel: the driver feeds synthetic traces to the OTLP sink,
# a receiver built on the official OTLP schema (@opentelemetry/otlp-transformer) decodes
# them, and every id, parent, name, attribute, status, link, resource and scope is
# checked, with gzip off and on; close() right after the last trace() delivers
# everything; the OTLP JSON lines say exactly what the protobuf said.
set -u
cd "$(dirname "$0")/../.."
. tests/otlp-receiver/harness.sh
otlp_require

export OTEL_RESOURCE_ATTRIBUTES='deployment.environment=e2e,team=a%2Cb'
export OTEL_EXPORTER_OTLP_HEADERS='x-test-token=s3cr%3Dt'
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT OTEL_EXPORTER_OTLP_COMPRESSION \
	OTEL_SERVICE_NAME OTEL_BSP_SCHEDULE_DELAY OTEL_EXPORTER_OTLP_TIMEOUT

check() { # DESCRIPTION node-check-args...
	local what=$1
	shift
	if node "$OTLP_RECV_DIR/check.mjs" "$@" >"$OTLP_TMP/check.log" 2>&1; then
		otlp_ok "$what"
	else
		cat "$OTLP_TMP/check.log"
		otlp_fail "$what"
	fi
}

# 1. plain protobuf, two traced processes, several batches, base endpoint from the env
otlp_recv_start plain
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RECV_PORT OTEL_SERVICE_NAME=otlp-e2e \
	otlp_drive plain --traces 40 --spans 7 --procs 2 --batch 64 --delay-ms 100
otlp_recv_stop
otlp_expect "plain: endpoint from OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces" \
	"$(otlp_val endpoint)" = "http://127.0.0.1:$RECV_PORT/v1/traces"
otlp_expect "plain: all 280 spans exported" "$(otlp_val spans_exported)" -eq 280
otlp_expect "plain: nothing dropped, no failed request" \
	"$(($(otlp_val spans_dropped_queue_full) + $(otlp_val spans_dropped_retries) + $(otlp_val failures)))" -eq 0
otlp_expect "plain: batches of at most 64 spans (>= 5 requests)" "$(otlp_val requests)" -ge 5
max_batch=$(node "$OTLP_RECV_DIR/check.mjs" requests "$RECV_OUT" | awk '$4 > m {m = $4} END {print m + 0}')
otlp_expect "plain: no request over the batch size ($max_batch spans)" "$max_batch" -le 64
check "plain: ids, parents, names, attributes, status, links, resource, scope" \
	export "$RECV_OUT" 40 7 2 otlp-e2e 0

# 2. gzip, --otlp style full URL, default service name, and the JSON lines beside it
otlp_recv_start gzip
OTEL_EXPORTER_OTLP_COMPRESSION=gzip \
	otlp_drive gzip --endpoint "http://127.0.0.1:$RECV_PORT/v1/traces" --traces 25 --spans 5 \
	--procs 1 --delay-ms 50 --json "$OTLP_TMP/gzip.json"
otlp_recv_stop
otlp_expect "gzip: the driver saw gzip on" "$(otlp_val gzip)" = 1
otlp_expect "gzip: all 125 spans exported" "$(otlp_val spans_exported)" -eq 125
check "gzip: decoded content (Content-Encoding: gzip), unknown_service:<exe> default" \
	export "$RECV_OUT" 25 5 1 unknown_service:otlp-target-0 1
check "json: each OTLP JSON line equals the protobuf the receiver decoded" \
	json-matches "$RECV_OUT" "$OTLP_TMP/gzip.json" 25
otlp_expect "json: one line per trace, ids as lowercase hex" \
	"$(grep -c '"spans":\[{"traceId":"74746174726163650000000000000001","spanId":"0000000000010001","name":"root"' "$OTLP_TMP/gzip.json")" -eq 1

# 3. flush on exit: a 60 s batch delay, close() right after the last trace()
otlp_recv_start flush
OTEL_BSP_SCHEDULE_DELAY=60000 OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:$RECV_PORT/v1/traces \
	otlp_drive flush --traces 50 --spans 3 --procs 1
otlp_recv_stop
otlp_expect "flush: close() delivered all 150 spans" "$(otlp_val spans_exported)" -eq 150
otlp_expect "flush: close() took under 5 s ($(otlp_val close_ms) ms)" "$(otlp_val close_ms)" -lt 5000
otlp_expect "flush: nothing dropped at shutdown" "$(otlp_val spans_dropped_shutdown)" -eq 0
otlp_expect "flush: one request, sent by close() (the batch timer never fired)" "$(otlp_val requests)" -eq 1
check "flush: the receiver got every span" export "$RECV_OUT" 50 3 1 unknown_service:otlp-target-0 0

# 4. trace() only queues: 2000 calls stay cheap while the exporter posts
otlp_recv_start fast --delay-ms 200
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RECV_PORT \
	otlp_drive fast --traces 2000 --spans 4 --batch 512 --queue 8192 --delay-ms 20
otlp_recv_stop
# A trace() that waited for a post would take the receiver's 200 ms: the max and the
# total decide that. The p99 bound leaves room for a loaded 2-core machine (10 ms seen
# at load 8; the cost itself is measured in make bench, not here). ASan build.
otlp_expect "fast: 99% of trace() calls took <= $(otlp_val trace_call_p99_us) us (< 20 ms)" \
	"$(otlp_val trace_call_p99_us)" -lt 20000
otlp_expect "fast: the slowest trace() took $(otlp_val trace_call_max_us) us (< 100 ms)" \
	"$(otlp_val trace_call_max_us)" -lt 100000
otlp_expect "fast: 2000 trace() calls took $(otlp_val trace_calls_total_us) us (< 1 s)" \
	"$(otlp_val trace_calls_total_us)" -lt 1000000
otlp_expect "fast: all 8000 spans exported" "$(otlp_val spans_exported)" -eq 8000

otlp_finish
