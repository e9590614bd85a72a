#!/usr/bin/env bash
# Folded stacks and the SVG written while tracing: exact folded format, one line per
# distinct root-to-span path, and the SVG has one frame per distinct path with the
# folded total; the critical-path view adds up to the workflows' wall time.
source tests/e2e/lib.sh
need_root_bpf
N=4
"$TTATRACE" --probe 'tta_*' --folded "$T/out.folded" --svg "$T/out.svg" --format jsonl -o "$T/spans.jsonl" \
	-- "$DEMO" --iterations $N >/dev/null 2>"$T/tt.err" || { cat "$T/tt.err"; fail "tracing failed"; }
"$TTATRACE" --probe 'tta_*' --folded "$T/crit.folded" --critical-path --format jsonl -o "$T/crit.jsonl" \
	-- "$DEMO" --iterations $N >/dev/null 2>"$T/tt2.err" || { cat "$T/tt2.err"; fail "critical-path run failed"; }
python3 - "$T/out.folded" "$T/out.svg" "$T/spans.jsonl" "$T/crit.folded" $N "$T/crit.jsonl" <<'PY' || fail "folded/svg checks"
import json, re, sys
folded, svg, spans_path, crit, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
lines = open(folded).read().splitlines()
paths = {}
for l in lines:
    m = re.fullmatch(r"([^ ].*) (\d+)", l)
    assert m, f"not folded format: {l!r}"
    assert m.group(1) not in paths, f"duplicate path {m.group(1)}"
    paths[m.group(1)] = int(m.group(2))
assert lines == sorted(lines, key=lambda l: l.rsplit(" ", 1)[0]), "not sorted by path"
# every span path of the trace appears, and only those
spans = [json.loads(l) for l in open(spans_path)]
by_id = {s["span_id"]: s for s in spans}
def path(s):
    # a failed call (its int return type said so) is marked " [!]"
    p = []
    while s:
        p.append(s["name"] + (" [!]" if s["status"] == "error" else ""))
        s = by_id.get(s["parent_span_id"])
    return ";".join(reversed(p))
assert set(paths) == {path(s) for s in spans}, "folded paths differ from the span paths"
assert paths["tta_workflow_run;tta_sequential;tta_step_validate"] >= 200 * n, "validate self time too small"
# the demo's retry fails twice before it succeeds: error frames by return type
assert any(k.endswith("tta_retry_attempt [!]") for k in paths), "no failed retry attempt frame"
# the SVG: one frame per distinct path (plus the all frame), values summing right
doc = open(svg).read()
frames = re.findall(r'<g class="f"[^>]*>', doc)
assert len(frames) == len(paths) + 1, f"{len(frames)} frames for {len(paths)} paths"
# critical path: the roots' self times add up to the workflows' durations (us, rounding per line)
# every root's wall time is handed out exactly once, whatever ran in parallel under it
cl = dict(l.rsplit(" ", 1) for l in open(crit).read().splitlines())
crit_spans = [json.loads(l) for l in open(sys.argv[6])]
for root in {s["name"] for s in crit_spans if not s["parent_span_id"]}:
    want = sum(s["duration_ns"] for s in crit_spans if not s["parent_span_id"] and s["name"] == root) / 1000
    got = sum(int(v) for k, v in cl.items() if k == root or k.startswith(root + ";"))
    lines = sum(1 for k in cl if k == root or k.startswith(root + ";"))
    assert abs(got - want) <= lines, f"{root}: critical path sums to {got} us, roots lasted {want:.0f} us"
wf_total = sum(int(v) for k, v in cl.items() if k.startswith("tta_workflow_run"))
print(f"ok: {len(paths)} paths, {len(frames)} svg frames, critical workflow total {wf_total} us")
PY
