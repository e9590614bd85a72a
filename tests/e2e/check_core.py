#!/usr/bin/env python3
"""Asserts on a ttatrace --format jsonl file from workflow-demo (core e2e test).

usage: check_core.py SPANS.jsonl COUNTS ITERATIONS PID
COUNTS is the demo's own --counts file ("name count" per line)."""
import json
import sys
from collections import Counter, defaultdict

spans_path, counts_path, iterations, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


spans = [json.loads(line) for line in open(spans_path) if line.strip()]
by_id = {s["span_id"]: s for s in spans}
names = Counter(s["name"] for s in spans)
expected = {}
for line in open(counts_path):
    if line.strip():
        n, c = line.split()
        expected[n] = int(c)

# exact span counts per function: the demo counted its own calls
for name, c in sorted(expected.items()):
    check(names.get(name, 0) == c, f"{name}: {names.get(name, 0)} spans, demo made {c} calls")
for name in names:
    check(name in expected, f"span for {name}, which the demo never counted")
check(names["tta_workflow_run"] == iterations, f"{names['tta_workflow_run']} workflows, expected {iterations}")

# no span from another process
others = {s["pid"] for s in spans if s["pid"] != pid}
check(not others, f"spans from other processes: {sorted(others)}")

# fields present and coherent
for s in spans:
    for k in ("trace_id", "span_id", "parent_span_id", "name", "probe", "pid", "tid", "depth",
              "start_ns", "end_ns", "duration_ns", "ret"):
        check(k in s, f"span lacks {k}: {s}")
    check(len(s["trace_id"]) == 32 and int(s["trace_id"], 16) != 0, f"bad trace id {s['trace_id']}")
    check(len(s["span_id"]) == 16 and int(s["span_id"], 16) != 0, f"bad span id {s['span_id']}")
    check(s["end_ns"] - s["start_ns"] == s["duration_ns"], "duration != end - start")
    check(s["start_ns"] > 1_600_000_000 * 10**9, f"start_ns is not Unix epoch ns: {s['start_ns']}")
    check(s["probe"] == "workflow-demo:" + s["name"], f"probe label {s['probe']}")
    if s["parent_span_id"]:
        p = by_id.get(s["parent_span_id"])
        check(p is not None, f"{s['name']}: parent {s['parent_span_id']} missing")
        if p:
            check(p["trace_id"] == s["trace_id"], f"{s['name']}: parent in another trace")
            # threads created inside a span continue it (the kernel's fork hook)
            cross = s["name"] in ("tta_parallel_branch", "tta_slow_operation")
            check((p["tid"] != s["tid"]) if cross else (p["tid"] == s["tid"]),
                  f"{s['name']}: parent {p['name']} on tid {p['tid']}, span on {s['tid']}")
            check(s["depth"] == p["depth"] + 1, f"{s['name']}: depth {s['depth']} under {p['depth']}")
            check(p["start_ns"] <= s["start_ns"] and s["end_ns"] <= p["end_ns"],
                  f"{s['name']} not inside its parent {p['name']}")
    else:
        check(s["depth"] == 0, f"root {s['name']} has depth {s['depth']}")

# same-thread nesting: who is whose parent
parent_of = defaultdict(Counter)
for s in spans:
    p = by_id.get(s["parent_span_id"])
    parent_of[s["name"]][p["name"] if p else None] += 1
want = {
    "tta_workflow_run": None,
    "tta_sequential": "tta_workflow_run",
    "tta_step_validate": "tta_sequential",
    "tta_retry": "tta_sequential",
    "tta_retry_attempt": "tta_retry",
    "tta_primary_service": "tta_fallback",
    "tta_fallback_service": "tta_fallback",
    "tta_cache_load": "tta_cache_get",
    "tta_saga_reserve": "tta_saga",
    "tta_parallel_branch": "tta_parallel",
    "tta_slow_operation": "tta_timeout",
    "tta_pool_task": None,  # pool threads predate the span: only a context key links them
}
for child, par in want.items():
    got = parent_of.get(child)
    check(got is not None and set(got) == {par}, f"{child}: parents {dict(got or {})}, expected {par}")

# roots: one trace per workflow (plus per-thread roots of work done on other threads)
wf = [s for s in spans if s["name"] == "tta_workflow_run"]
check(len({s["trace_id"] for s in wf}) == iterations, "workflows do not have distinct traces")
for s in wf:
    check(s["ret"] == 0, f"workflow returned {s['ret']}")

# durations at least the sleeps the demo makes
min_ns = {"tta_step_validate": 200_000, "tta_cache_load": 300_000, "tta_step_finalize": 200_000}
for s in spans:
    m = min_ns.get(s["name"])
    if m:
        check(s["duration_ns"] >= m, f"{s['name']} lasted {s['duration_ns']} ns < {m}")

# retry attempts: 3 per workflow, returns -11 -11 0 in order
for w in wf:
    seq = [s for s in spans if s["trace_id"] == w["trace_id"] and s["name"] == "tta_retry_attempt"]
    seq.sort(key=lambda s: s["start_ns"])
    check([s["ret"] for s in seq] == [-11, -11, 0], f"retry attempts returned {[s['ret'] for s in seq]}")

if errors:
    print("\n".join(errors[:40]), file=sys.stderr)
    print(f"{len(errors)} problems", file=sys.stderr)
    sys.exit(1)
print(f"ok: {len(spans)} spans, {iterations} workflows")
