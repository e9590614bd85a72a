#!/usr/bin/env python3
"""Asserts the primitive-aware trees ttatrace builds for workflow-demo with the shipped
catalogue. usage: check_primitives.py SPANS.jsonl DEMO_STDOUT N [TRACEPARENT]"""
import json
import re
import sys
from collections import defaultdict

spans_path, out_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tp = sys.argv[4] if len(sys.argv) > 4 else None
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


spans = [json.loads(l) for l in open(spans_path) if l.strip()]
runs = [dict(kv.split("=", 1) for kv in l.split()[1:]) for l in open(out_path) if l.startswith("workflow ")]
check(len(runs) == n, f"demo printed {len(runs)} workflows, expected {n}")
# group by tree (with a traceparent every workflow shares the remote trace id)
all_by_id = {s["span_id"]: s for s in spans}


def top(s):
    while s["parent_span_id"] in all_by_id:
        s = all_by_id[s["parent_span_id"]]
    return s["span_id"]


traces = defaultdict(list)
for s in spans:
    traces[top(s)].append(s)
wf_traces = {r: ss for r, ss in traces.items() if all_by_id[r]["name"] == "workflow"}
check(len(wf_traces) == n, f"{len(wf_traces)} workflow trees, expected exactly {n}")
check(len(traces) == n, f"{len(traces)} trees in all: work on other threads left its workflow")
check(len({s["trace_id"] for s in spans}) == (1 if tp else n), "trace ids per workflow")

for rid, ss in wf_traces.items():
    tid = ss[0]["trace_id"]
    check(all(s["trace_id"] == tid for s in ss), "one tree spans several trace ids")
    by_id = {s["span_id"]: s for s in ss}
    kids = defaultdict(list)
    for s in sorted(ss, key=lambda s: s["start_ns"]):
        kids[s["parent_span_id"]].append(s)
    roots = [s for s in ss if s["parent_span_id"] not in by_id]
    check(len(roots) == 1 and roots[0]["name"] == "workflow", f"trace {tid}: roots {[r['name'] for r in roots]}")
    root = roots[0]
    a = root["attributes"]
    run = next((r for r in runs if int(r["id"]) == a.get("workflow.id")), None)
    check(run is not None, f"root workflow.id {a.get('workflow.id')} not printed by the demo")
    if run is None:
        continue
    check(a.get("session.id") == "sess-demo", f"session.id {a.get('session.id')}")
    check(root["kind"] == "sequential" and a.get("tta.primitive.kind") == "sequential", "root kind")
    if tp:
        check(tid == tp.split("-")[1], f"trace id {tid} did not join the traceparent")
        check(root["parent_span_id"] == tp.split("-")[2], f"root parent {root['parent_span_id']} is not the remote parent")
    else:
        check(root["parent_span_id"] == "", "root has a parent without a traceparent")

    def one(name):
        found = [s for s in ss if s["name"] == name]
        check(len(found) == 1, f"{name}: {len(found)} spans in one workflow")
        return found[0] if found else {"span_id": "-", "attributes": {}, "status": "?"}

    seq = one("tta_sequential")
    steps = [s["name"] for s in kids[seq["span_id"]]]
    check(steps == ["tta_step_validate", "tta_conditional", "tta_parallel", "tta_parallel_pool", "tta_retry",
                    "tta_fallback", "tta_timeout", "tta_cache_get", "tta_cache_get", "tta_cache_get",
                    "tta_router", "tta_saga", "tta_step_finalize"], f"sequential steps {steps}")
    check([s["attributes"].get("tta.sequential.step") for s in kids[seq["span_id"]]] == list(range(1, 14)),
          "sequential step numbers")
    # parallel fan-outs: pthreads (inherited at thread creation) and the pool (context key)
    for par, child in (("tta_parallel", "tta_parallel_branch"), ("tta_parallel_pool", "tta_pool_task")):
        p = one(par)
        ch = kids[p["span_id"]]
        check([c["name"] for c in ch] == [child] * 3, f"{par} children {[c['name'] for c in ch]}")
        check(all(c["tid"] != p["tid"] for c in ch), f"{par}: branches should run on other threads")
        check(p["attributes"].get("tta.parallel.branches") == 3, f"{par} branches attr")
    # retry: attempts 1..3, error, error, ok, each linked to the previous one
    r = one("tta_retry")
    att = kids[r["span_id"]]
    check([c["attributes"].get("tta.retry.attempt") for c in att] == [1, 2, 3], "retry attempt numbers")
    check([c["status"] for c in att] == ["error", "error", "unset"], f"retry statuses {[c['status'] for c in att]}")
    check(r["attributes"].get("tta.retry.attempts") == 3 and r["attributes"].get("tta.retry.outcome") == "ok", "retry summary")
    for prev, cur in zip(att, att[1:]):
        check(cur["links"] == [{"trace_id": tid, "span_id": prev["span_id"]}], f"retry link {cur['links']}")
    check(att and att[0]["links"] == [], "first attempt has no link")
    # fallback served by the fallback, the primary's error kept
    f = one("tta_fallback")
    check(f["attributes"].get("tta.fallback.served_by") == "tta_fallback_service", "fallback served_by")
    check(one("tta_primary_service")["status"] == "error", "primary should fail")
    # timeout fires on odd iterations
    fired = run["timeout"] == "fired"
    check(one("tta_timeout")["attributes"].get("tta.timeout.fired") is fired, f"timeout.fired should be {fired}")
    # cache: miss (with its load as child), then two hits without children
    gets = kids[seq["span_id"]][7:10]
    check([g["attributes"].get("tta.cache.hit") for g in gets] == [False, True, True], "cache hit pattern")
    check([len(kids[g["span_id"]]) for g in gets] == [1, 0, 0], "a cache hit runs no child")
    # router and conditional report the branch the demo took
    check(one("tta_router")["attributes"].get("tta.route") == "tta_route_" + run["route"], "route")
    check(one("tta_conditional")["attributes"].get("tta.branch") == "tta_branch_" + run["branch"], "branch")
    # saga: compensations when the demo says so
    sg = one("tta_saga")["attributes"]
    comp = run["saga"] == "compensated"
    check(sg.get("tta.saga.compensated") is comp, f"saga compensated should be {comp}")
    check(sg.get("tta.saga.compensations") == (2 if comp else 0), "saga compensation count")
    if comp:
        check(sg.get("tta.saga.failed_step") == "tta_saga_ship", "saga failed step")

if errors:
    print("\n".join(errors[:40]), file=sys.stderr)
    sys.exit(1)
print(f"ok: {n} workflow traces, {len(spans)} spans")
