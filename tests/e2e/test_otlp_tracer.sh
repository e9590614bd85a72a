#!/usr/bin/env bash
# The whole path: ttatrace traces workflow-demo with the shipped catalogue and
# exports OTLP/HTTP protobuf to a receiver built on the official OpenTelemetry schema
# (@opentelemetry/otlp-transformer 0.52.1); traces and metrics decode, with ids,
# parent links, names, attributes, status, links, resource and scope as ttatrace
# printed them in its own JSON lines.
source tests/e2e/lib.sh
need_root_bpf
source tests/otlp-receiver/harness.sh
otlp_require
N=3
otlp_recv_start full
OTEL_SERVICE_NAME=checkout OTEL_RESOURCE_ATTRIBUTES=deployment.environment=test \
OTEL_EXPORTER_OTLP_COMPRESSION=gzip \
	"$TTATRACE" --config tools/workflow-demo.yaml --otlp "http://127.0.0.1:$RECV_PORT" \
	--format jsonl -o "$T/spans.jsonl" -- "$DEMO" --iterations $N >/dev/null 2>"$T/tt.err" ||
	{ cat "$T/tt.err" >&2; fail "ttatrace failed"; }
otlp_recv_stop
grep -q "otlp: [0-9]* spans exported" "$T/tt.err" || { cat "$T/tt.err" >&2; fail "no otlp summary"; }
python3 - "$T/spans.jsonl" "$RECV_OUT" <<'PY' || fail "OTLP content"
import json, sys
mine = {s["span_id"]: s for s in map(json.loads, open(sys.argv[1]))}
reqs = [json.loads(l) for l in open(sys.argv[2])]
traces = [r for r in reqs if r.get("kind") != "metrics"]
metrics = [r for r in reqs if r.get("kind") == "metrics"]
assert traces and all(r["status"] == 200 and r["contentEncoding"] == "gzip" for r in traces), "trace requests"
got = {}
for r in traces:
    for rs in r["request"]["resourceSpans"]:
        res = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
        assert res["service.name"] == {"stringValue": "checkout"}, res
        assert res["deployment.environment"] == {"stringValue": "test"}, res
        assert res["process.executable.name"] == {"stringValue": "workflow-demo"}, res
        assert "process.pid" in res and "host.name" in res and "process.command_line" in res
        for ss in rs["scopeSpans"]:
            assert ss["scope"]["name"] == "ttatrace" and ss["scope"].get("version"), ss["scope"]
            for sp in ss["spans"]:
                got[sp["spanId"]] = sp
assert set(got) == set(mine), f"{len(got)} spans exported, {len(mine)} traced"
def val(v):
    return v.get("stringValue", v.get("intValue", v.get("boolValue", v.get("doubleValue"))))
for sid, m in mine.items():
    sp = got[sid]
    assert sp["traceId"] == m["trace_id"] and sp["name"] == m["name"], (sp["name"], m["name"])
    assert sp.get("parentSpanId", "") == m["parent_span_id"], f"parent of {m['name']}"
    assert sp["kind"] == 1, "span kind INTERNAL"
    assert int(sp["startTimeUnixNano"]) == m["start_ns"] and int(sp["endTimeUnixNano"]) == m["end_ns"]
    attrs = {a["key"]: val(a["value"]) for a in sp.get("attributes", [])}
    for k, v in m["attributes"].items():
        assert str(attrs.get(k)) == str(v) or attrs.get(k) == v, f"{m['name']}: {k} = {attrs.get(k)!r}, traced {v!r}"
    code = sp.get("status", {}).get("code", 0)
    assert code == {"unset": 0, "ok": 1, "error": 2}[m["status"]], f"{m['name']} status {code}"
    links = [(l["traceId"], l["spanId"]) for l in sp.get("links", [])]
    assert links == [(l["trace_id"], l["span_id"]) for l in m["links"]], f"{m['name']} links"
assert any(s["status"] == "error" for s in mine.values()), "the demo's retries should show errors"
# metrics: the kernel's counts, per primitive, as OTLP sums and histograms
assert metrics and all(r["status"] == 200 for r in metrics), "no metrics request decoded"
last = metrics[-1]["request"]
calls = {}
for rm in last["resourceMetrics"]:
    for sm in rm["scopeMetrics"]:
        for m in sm["metrics"]:
            if m["name"] == "ttatrace.primitive.calls":
                for dp in m["sum"]["dataPoints"]:
                    a = {x["key"]: val(x["value"]) for x in dp["attributes"]}
                    calls[a["tta.primitive"]] = int(dp["asInt"])
assert calls.get("workflow") == 3 and calls.get("tta_retry_attempt") == 9, calls
print(f"ok: {len(got)} spans and {len(metrics)} metrics requests decoded by the official schema")
PY
