#!/usr/bin/env bash
# Python primitives through the rest of the pipeline: OTLP/HTTP export decoded by the
# official schema (spans as traced, with code.* attributes, error status, and the
# kernel's metrics), head sampling keeping whole workflows while the kernel's
# histograms count every call, and Prometheus histograms scraped while the app runs.
source tests/e2e/lib.sh
need_root_bpf
source tests/otlp-receiver/harness.sh
otlp_require
FIX=tests/fixtures/python
PY=/root/.pyenv/versions/3.12.1/bin/python3
[ -x "$PY" ] || fail "CPython 3.12.1 missing: $PY"

otlp_recv_start py
OTEL_SERVICE_NAME=pyflows "$TTATRACE" --config "$FIX/catalog.yaml" --otlp "http://127.0.0.1:$RECV_PORT" \
	--format jsonl -o "$T/spans.jsonl" -- "$PY" "$FIX/app.py" 3 >/dev/null 2>"$T/otlp.err" ||
	{ cat "$T/otlp.err" >&2; fail "ttatrace --otlp failed"; }
otlp_recv_stop
python3 tests/e2e/check_python.py "$T/spans.jsonl" 3 || fail "spans"
python3 - "$T/spans.jsonl" "$RECV_OUT" <<'PY' || fail "OTLP content"
import json, sys
mine = {s["span_id"]: s for s in map(json.loads, open(sys.argv[1]))}
reqs = [json.loads(l) for l in open(sys.argv[2])]
got = {}
for r in reqs:
    if r.get("kind") == "metrics":
        continue
    assert r["status"] == 200, r["status"]
    for rs in r["request"]["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                got[sp["spanId"]] = sp
assert set(got) == set(mine), "%d exported, %d traced" % (len(got), len(mine))
def val(v):
    return v.get("stringValue", v.get("intValue", v.get("boolValue", v.get("doubleValue"))))
for sid, m in mine.items():
    sp = got[sid]
    assert sp["name"] == m["name"] and sp.get("parentSpanId", "") == m["parent_span_id"], m["name"]
    attrs = {a["key"]: val(a["value"]) for a in sp.get("attributes", [])}
    for k in ("code.function", "code.namespace", "code.filepath", "code.lineno", "tta.primitive.kind"):
        assert str(attrs.get(k)) == str(m["attributes"][k]), (m["name"], k)
    assert sp.get("status", {}).get("code", 0) == {"unset": 0, "ok": 1, "error": 2}[m["status"]], m["name"]
    if m["status"] == "error":
        assert attrs.get("error.type") == m["attributes"]["error.type"]
metrics = [r for r in reqs if r.get("kind") == "metrics"]
assert metrics, "no metrics request"
text = json.dumps(metrics[-1]["request"])
assert "Sequential.execute" in text and "Timeout.execute" in text, "primitives missing from metrics"
print("otlp: %d Python spans exported as traced" % len(mine))
PY

# sampling 0.5 and Prometheus while the app runs: whole workflows or nothing, and
# histograms that count every call
N=30
PORT=$(otlp_free_port)
"$TTATRACE" --config "$FIX/catalog.yaml" --sample 0.5 --metrics-addr "127.0.0.1:$PORT" --format jsonl \
	-o "$T/sampled.jsonl" -- "$PY" "$FIX/app.py" $N >/dev/null 2>"$T/sampled.err" &
TT=$!
wait_for "$T/sampled.err" "probes attached" 20
for _ in $(seq 100); do
	# until both primitives have finished a call (keep the last scrape that worked)
	curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$T/m.tmp" 2>/dev/null &&
		mv "$T/m.tmp" "$T/m.prom" &&
		grep -q 'primitive="Sequential.execute"' "$T/m.prom" &&
		grep -q 'ttatrace_primitive_duration_seconds_bucket{primitive="Timeout.execute"' "$T/m.prom" && break
	sleep 0.05
done
grep -q '^ttatrace_primitive_calls_total{primitive="Sequential.execute",kind="sequential"' "$T/m.prom" ||
	{ cat "$T/m.prom" >&2; fail "no Python primitive in /metrics"; }
grep -q '^ttatrace_primitive_duration_seconds_bucket{primitive="Timeout.execute",kind="timeout"' "$T/m.prom" ||
	fail "no histogram for the Python timeout primitive"
wait_exit $TT 60 || { cat "$T/sampled.err" >&2; fail "sampled run failed"; }
python3 - "$T/sampled.jsonl" $N <<'PY' || fail "sampling: partial traces"
import collections, json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
per = collections.Counter(s["trace_id"] for s in spans)
roots = {s["trace_id"]: s["name"] for s in spans if not s["parent_span_id"]}
assert set(roots) == set(per), "a trace without its root"
for t, c in per.items():
    # 19 spans while the cache misses, 18 once it hits (no child under it); a saga 4
    assert c in {"Sequential.execute": (18, 19), "Saga.execute": (4,)}[roots[t]], "trace of %s: %d spans" % (roots[t], c)
assert 0 < len(per) < 2 * n, "sampled %d of %d traces" % (len(per), 2 * n)
print("sampling: %d of %d traces kept whole" % (len(per), 2 * n))
PY
grep -Eq "^ttaflow.py:Sequential.execute +$N " "$T/sampled.err" ||
	{ cat "$T/sampled.err" >&2; fail "histograms must count all $N workflows"; }
echo "python export: ok"
