#!/usr/bin/env python3
"""Checks the spans of tests/fixtures/python/app.py N (jsonl from ttatrace): exact
counts per name, one trace per workflow and per saga, parent links, kinds,
error.type values, the timeout's duration, code.* attributes. An optional third
argument, sequential or saga, says only those traces were kept (tail sampling)."""
import collections
import json
import os
import sys

path, n = sys.argv[1], int(sys.argv[2])
only = sys.argv[3] if len(sys.argv) > 3 else "all"
# app.py run as the program (__main__), or imported (tests/fixtures/python/prefork.py)
app_module = os.environ.get("TT_APP_MODULE", "__main__")
assert only in ("all", "sequential", "saga"), only
spans = [json.loads(l) for l in open(path) if l.strip()]
by_id = {s["span_id"]: s for s in spans}
fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)


cache_misses = min(n, 2)  # data is i % 2: two distinct keys
want = {
    "Sequential.execute": n, "CustomStep.execute": n, "Parallel.execute": n,
    "Retry.execute": n, "Flaky.execute": 3 * n, "Fallback.execute": n,
    "Timeout.execute": n, "Slow.execute": n, "Router.execute": n, "Cache.execute": n,
    "Audited.execute": n, "Saga.execute": n, "Broken.execute": n,
    "Work.execute": n * 5 + cache_misses + 2 * n,
}
saga_names = {"Saga.execute": n, "Broken.execute": n, "Work.execute": 2 * n}
if only == "saga":
    want = saga_names
elif only == "sequential":
    want = {k: v - saga_names.get(k, 0) for k, v in want.items() if v - saga_names.get(k, 0)}
root_names = {"all": ["Sequential.execute"] * n + ["Saga.execute"] * n,
              "sequential": ["Sequential.execute"] * n, "saga": ["Saga.execute"] * n}[only]
got = collections.Counter(s["name"] for s in spans)
check(dict(got) == want, "span counts: got %s, want %s" % (dict(got), want))

traces = collections.defaultdict(list)
for s in spans:
    traces[s["trace_id"]].append(s)
roots = [s for s in spans if not s["parent_span_id"]]
check(len(traces) == len(root_names), "traces: %d, want %d" % (len(traces), len(root_names)))
check(sorted(r["name"] for r in roots) == sorted(root_names),
      "roots: %s" % sorted(r["name"] for r in roots))
for tid, ss in traces.items():
    check(sum(1 for s in ss if not s["parent_span_id"]) == 1, "trace %s has several roots" % tid)
    for s in ss:
        if s["parent_span_id"]:
            p = by_id.get(s["parent_span_id"])
            check(p is not None and p["trace_id"] == tid, "%s: parent missing or in another trace" % s["name"])


def parent(s):
    return by_id[s["parent_span_id"]]["name"] if s["parent_span_id"] in by_id else None


kinds = {"Sequential.execute": "sequential", "Parallel.execute": "parallel", "Retry.execute": "retry",
         "Timeout.execute": "timeout", "Fallback.execute": "fallback", "Router.execute": "router",
         "Saga.execute": "saga", "Cache.execute": "cache", "CustomStep.execute": "step",
         "Work.execute": "step"}
parents = {"CustomStep.execute": {"Sequential.execute"}, "Parallel.execute": {"Sequential.execute"},
           "Flaky.execute": {"Retry.execute"}, "Timeout.execute": {"Fallback.execute"},
           "Slow.execute": {"Timeout.execute"}, "Broken.execute": {"Saga.execute"},
           "Audited.execute": {"Sequential.execute"},
           "Work.execute": {"Parallel.execute", "Fallback.execute", "Router.execute", "Cache.execute",
                            "Saga.execute"}}
for s in spans:
    a = s["attributes"]
    if s["name"] in kinds:
        check(s["kind"] == kinds[s["name"]] and a.get("tta.primitive.kind") == kinds[s["name"]],
              "%s kind %s" % (s["name"], s["kind"]))
    if s["name"] in parents:
        check(parent(s) in parents[s["name"]], "%s under %s" % (s["name"], parent(s)))
    for k in ("code.function", "code.namespace", "code.filepath", "code.lineno"):
        check(k in a, "%s lacks %s" % (s["name"], k))
    check(a.get("code.function") == "execute", "%s code.function %s" % (s["name"], a.get("code.function")))
for s in spans:
    if s["name"] == "Parallel.execute":
        kids = [c for c in spans if c["parent_span_id"] == s["span_id"]]
        check(len(kids) == 3 and all(c["name"] == "Work.execute" for c in kids),
              "gather branches under Parallel: %s" % [c["name"] for c in kids])
        check(s["attributes"].get("tta.parallel.branches") == 3, "tta.parallel.branches")
    if s["name"] == "Retry.execute":
        kids = sorted((c for c in spans if c["parent_span_id"] == s["span_id"]), key=lambda c: c["start_ns"])
        check([c["attributes"].get("error.type") for c in kids] == ["ValueError", "ValueError", None],
              "retry attempts: %s" % [c["attributes"].get("error.type") for c in kids])
        check(s["attributes"].get("tta.retry.attempts") == 3, "tta.retry.attempts")
    if s["name"] == "Timeout.execute":
        check(s["status"] == "error" and s["attributes"].get("error.type") == "TimeoutError",
              "timeout status %s %s" % (s["status"], s["attributes"].get("error.type")))
        check(50e6 <= s["duration_ns"] < 190e6, "timeout duration %d ns (wait_for 50 ms)" % s["duration_ns"])
        check(s["attributes"].get("tta.timeout.fired") is True, "tta.timeout.fired")
    if s["name"] == "Slow.execute":
        check(s["attributes"].get("error.type") == "CancelledError", "inner of the timeout: %s" % s["attributes"].get("error.type"))
        t = by_id.get(s["parent_span_id"])
        check(t is not None and s["end_ns"] - t["start_ns"] >= 50e6,
              "the cancelled inner call ended before the 50 ms timeout")
    if s["name"] == "Fallback.execute":
        check(s["status"] != "error" and s["attributes"].get("tta.fallback.served_by") == "Work.execute",
              "fallback served_by %s" % s["attributes"].get("tta.fallback.served_by"))
    if s["name"] in ("Saga.execute", "Broken.execute"):
        check(s["attributes"].get("error.type") == "KeyError", "%s error.type" % s["name"])
    if s["name"] == "CustomStep.execute":
        # defined in __main__ after ttaflow was imported; inherits Step.execute
        check(s["attributes"]["code.namespace"] == app_module + ".CustomStep" and
              s["attributes"]["code.filepath"].endswith("ttaflow.py"), "CustomStep attributes %s" % s["attributes"])
    if s["name"] == "Audited.execute":
        # the decorated method: the wrapped function's code, in app.py
        check(s["attributes"]["code.filepath"].endswith("app.py") and s["status"] != "error",
              "Audited attributes %s" % s["attributes"])
if fails:
    print("check_python: %d failures:\n  " % len(fails) + "\n  ".join(fails[:20]))
    sys.exit(1)
print("check_python: %d spans, %d traces ok" % (len(spans), len(traces)))
