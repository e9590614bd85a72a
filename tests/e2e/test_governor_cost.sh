#!/usr/bin/env bash
# The governor by cost (issue 13 item 8). A broad glob (gb_*) over a fixture with
# hot cheap functions of known instruction classes and call counts, and a few rare
# primitives:
#  1. --max-overhead detaches the costliest probes first (calls x class cost: among
#     functions of one class by calls, among equal calls by class), announces each
#     and counts them in the summary and /metrics; the primitives keep exact span
#     counts and no trace is left incomplete;
#  2. a muted probe's children (--max-rate-per-probe) hang from the nearest traced
#     ancestor or become roots: every span of every trace finds its parent, none is
#     incomplete, the rare child's count is exact.
source tests/e2e/lib.sh
need_root_bpf
command -v curl >/dev/null || skip "needs curl"
FIX=$BUILD/fixtures/gov_broad
[ -x "$FIX" ] || fail "$FIX not built"
N=40
"$FIX" $N "" >"$T/ref.out" 2>/dev/null || fail "fixture failed untraced"
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# --- 1. by cost ---------------------------------------------------------------------
"$FIX" $N "$T/go" "$T/cost.counts" "$T/end" >"$T/cost.out" 2>"$T/fix.err" &
FPID=$!
PIDS_TO_KILL+=($FPID)
wait_for "$T/fix.err" "waiting for gate"
"$TTATRACE" -v -p $FPID --probe 'gb_*' --max-overhead 20% --metrics-addr 127.0.0.1:$MPORT \
	--format jsonl -o "$T/cost.jsonl" 2>"$T/cost.err" &
TPID=$!
PIDS_TO_KILL+=($TPID)
wait_for "$T/cost.err" "probes attached"
grep -Eq "governor: one traced call costs [0-9.]+ us \(nop5\), [0-9.]+ us \(emulated\), [0-9.]+ us \(stepped\) here \(measured" \
	"$T/cost.err" || { cat "$T/cost.err" >&2; fail "no calibration line"; }
touch "$T/go"
wait_for "$T/fix.err" "^done" 180
# the fixture is idle now (no CPU: no new decision); /metrics shows every announced one
# within a drain period
for ((i = 0; i < 50; i++)); do
	curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics" >"$T/cost.prom" || fail "GET /metrics failed"
	n=$(grep -c "^ttatrace: governor: detached " "$T/cost.err" || true)
	grep -q "action=\"detached_cost\"} $n\$" "$T/cost.prom" && break
	sleep 0.1
done
touch "$T/end"
wait_exit $FPID 30 || fail "fixture failed under the governor"
wait_exit $TPID 60 || { cat "$T/cost.err" >&2; fail "ttatrace failed"; }
cmp "$T/ref.out" "$T/cost.out" || fail "output changed under the governor"

python3 - "$T/cost.err" "$T/cost.prom" "$T/cost.jsonl" "$T/cost.counts" <<'PY' || { cat "$T/cost.err" >&2; fail "cost governor"; }
import json, re, sys
err = open(sys.argv[1]).read()
prom = open(sys.argv[2]).read()
def check(ok, what):
    if not ok:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)
det = re.findall(r"^ttatrace: governor: detached gov_broad:(\w+): ~[0-9.]+% \([0-9]+ us per call, (\w+)\)$", err, re.M)
names = [d[0] for d in det]
batches = [int(x) for x in re.findall(r"over their own CPU time, above --max-overhead 20%: detaching (\d+), costliest first", err)]
check(names, "no probe detached")
check(sum(batches) == len(names), f"announced batches {batches} vs {len(names)} named")
check(len(set(names)) == len(names), "a probe detached twice")
# the primitives are cheap: never detached
for p in ("gb_workflow", "gb_step", "gb_leaf"):
    check(p not in names, f"primitive {p} detached")
# classes as the fixture wrote them
cls = dict(det)
for n, c in cls.items():
    want = {"gb_cls_emulated": "emulated", "gb_cls_nop5": "nop5"}.get(n, "stepped" if n.startswith(("gb_hot", "gb_cls")) else None)
    if want:
        check(c == want, f"{n} announced as {c}, expected {want}")
# costliest first: 600 stepped calls per workflow beat everything
check(names[0] == "gb_cls_stepped", f"first detached {names[0]}")
# one class, more calls first: gb_hot_k is called 40 + 12k times per workflow
hot = [int(n[7:]) for n in names if n.startswith("gb_hot_")]
check(hot == sorted(hot, reverse=True), f"hot functions out of order: {hot}")
check(hot and hot == list(range(23, 23 - len(hot), -1)), f"a costlier hot function was left: {hot}")
check(len(hot) >= 9, f"only {len(hot)} hot functions detached")
# equal calls, dearer class first
order = [n for n in names if n in ("gb_cls_stepped", "gb_cls_emulated", "gb_cls_nop5")]
check(order == ["gb_cls_stepped", "gb_cls_emulated", "gb_cls_nop5"][:len(order)], f"class order {order}")
# summary
m = re.search(r"governor: 0 probes muted \(spans stopped: \d+\), (\d+) detached \(0 by rate, (\d+) by cost\)", err)
check(m and int(m.group(1)) == len(names) == int(m.group(2)), "summary count")
check(re.search(r"^  gov_broad:gb_cls_stepped +\d+ calls +~ *[0-9.]+ s  detached$", err, re.M), "summary's costliest list")
check("(0 incomplete)" in err, "incomplete traces in the summary")
# /metrics
def metric(name, labels=""):
    m = re.search(r"^" + re.escape(name) + (r"\{[^}]*" + re.escape(labels) + r"[^}]*\}" if labels else r"(\{[^}]*\})?") + r" ([0-9.e+-]+)$", prom, re.M)
    return float(m.group(m.lastindex)) if m else None
check(metric("ttatrace_governor_probes_total", 'action="detached_cost"') == len(names), "detached_cost counter")
check(metric("ttatrace_governor_probes_total", 'action="detached_rate"') == 0, "detached_rate counter")
check((metric("ttatrace_probe_cost_seconds_total") or 0) > 0, "probe cost counter")
check(metric("ttatrace_probe_overhead_ratio") is not None, "overhead gauge")
top = re.findall(r'^ttatrace_probe_top_cost_seconds_total\{.*probe="([^"]+)",state="(\w+)"\} ([0-9.]+)$', prom, re.M)
check(0 < len(top) <= 10, f"{len(top)} top-cost series")
vals = [float(t[2]) for t in top]
check(vals == sorted(vals, reverse=True), f"top cost series not costliest first: {top}")
# the first one detached (a probe left on keeps adding cost: it may pass it later)
check(("gov_broad:gb_cls_stepped", "detached") in [t[:2] for t in top], f"top cost series {top}")
# spans: primitives exact, hot ones stopped, every trace whole
spans = [json.loads(l) for l in open(sys.argv[3])]
counts = dict(l.split() for l in open(sys.argv[4]))
for p in ("gb_workflow", "gb_step", "gb_leaf"):
    got = sum(1 for s in spans if s["name"] == p)
    check(got == int(counts[p]), f"{p}: {got} spans, {counts[p]} calls")
check(sum(1 for s in spans if s["name"] == "gb_cls_stepped") < 600 * int(counts["gb_workflow"]), "detached probe kept firing")
check(not any(s.get("incomplete") for s in spans), "an incomplete trace")
PY

# --- 2. muted: children stay whole -----------------------------------------------------
M=16
"$TTATRACE" --probe 'gb_*' --max-rate-per-probe 50 --max-rate-hard 1000000000 --format jsonl \
	-o "$T/mute.jsonl" -- "$FIX" $M "" "$T/mute.counts" >"$T/mute.out" 2>"$T/mute.err" ||
	{ cat "$T/mute.err" >&2; fail "muted run failed"; }
grep -Eq "warning: gov_broad:gb_dispatch( in pid [0-9]*)? is called [0-9]* times/s, over --max-rate-per-probe 50: its spans stop" \
	"$T/mute.err" || { cat "$T/mute.err" >&2; fail "gb_dispatch not muted"; }
grep -q "(0 incomplete)" "$T/mute.err" || { cat "$T/mute.err" >&2; fail "incomplete traces under muting"; }
python3 - "$T/mute.jsonl" "$T/mute.counts" <<'PY' || fail "muted probes' children"
import json, sys
from collections import defaultdict
spans = [json.loads(l) for l in open(sys.argv[1])]
counts = dict(l.split() for l in open(sys.argv[2]))
def check(ok, what):
    if not ok:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)
for p in ("gb_workflow", "gb_step", "gb_leaf"):
    got = sum(1 for s in spans if s["name"] == p)
    check(got == int(counts[p]), f"{p}: {got} spans, {counts[p]} calls")
check(not any(s.get("incomplete") for s in spans), "an incomplete trace")
by_trace = defaultdict(dict)
for s in spans:
    by_trace[s["trace_id"]][s["span_id"]] = s
for s in spans:
    if s["parent_span_id"]:
        par = by_trace[s["trace_id"]].get(s["parent_span_id"])
        check(par is not None, f"{s['name']} has no parent in its trace")
        check(s["depth"] == par["depth"] + 1, f"{s['name']} depth {s['depth']} under {par['name']} {par['depth']}")
    else:
        check(s["depth"] == 0, f"root {s['name']} at depth {s['depth']}")
leaves = [s for s in spans if s["name"] == "gb_leaf"]
parents = [by_trace[s["trace_id"]][s["parent_span_id"]]["name"] if s["parent_span_id"] else None for s in leaves]
# once gb_dispatch is muted: at top level the leaf is a root, in a step it hangs from gb_step
check(None in parents, "no gb_leaf became a root after gb_dispatch was muted")
check("gb_step" in parents, "no gb_leaf hangs from gb_step after gb_dispatch was muted")
check(set(parents) <= {None, "gb_step", "gb_dispatch"}, f"gb_leaf parents {set(parents)}")
muted_dispatch = sum(1 for s in spans if s["name"] == "gb_dispatch")
check(muted_dispatch < int(counts["gb_dispatch"]), "gb_dispatch spans did not stop")
PY
exit 0
