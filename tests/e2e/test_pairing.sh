#!/usr/bin/env bash
# Entry/exit pairing on call shapes that break naive tracers (tests/fixtures/pairing.c):
# recursion (one probe open five times on one thread), a tail call (two probes entered
# at one stack pointer, returning together) and longjmp (two calls that never return,
# then a call that must hang under the right parent). Exact span counts, parent links,
# return values, durations that nest, and every abandoned frame counted.
source tests/e2e/lib.sh
need_root_bpf
PAIRING=${PAIRING:-$BUILD/fixtures/pairing}
[ -x "$PAIRING" ] || fail "$PAIRING not built"

N=50
"$TTATRACE" --probe rec --probe 'tail_*' --probe jump_root --probe level1 --probe thrower \
	--probe after_jump --format jsonl -o "$T/spans.jsonl" -- "$PAIRING" $N \
	>"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "ttatrace failed"; }
# the traced program's own results, unchanged by tracing
assert_eq "$(cat "$T/out")" "$("$PAIRING" $N)" "the fixture's output under tracing"
# every level1 and thrower call is left by longjmp: two frames per iteration
grep -q "exits without entry 0, frames unwound without exit $((2 * N))," "$T/err" ||
	{ cat "$T/err" >&2; fail "expected $((2 * N)) unwound frames and no unpaired exit"; }
grep -q "ring buffer full 0," "$T/err" || { cat "$T/err" >&2; fail "ring drops"; }

python3 - "$T/spans.jsonl" $N <<'PY' || fail "pairing"
import json, sys
from collections import defaultdict, Counter
spans = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
name = lambda s: s["probe"].split(":")[-1]
counts = Counter(name(s) for s in spans)
want = {"rec": 5 * n, "tail_outer": n, "tail_inner": n, "jump_root": n, "after_jump": n}
if counts != Counter(want):
    sys.exit(f"span counts {dict(counts)}, expected {want} (level1/thrower never return)")
traces = defaultdict(list)
for s in spans:
    traces[s["trace_id"]].append(s)
if len(traces) != 3 * n:
    sys.exit(f"{len(traces)} traces, expected {3 * n}")
shapes = Counter()
for tid, ss in traces.items():
    by_id = {s["span_id"]: s for s in ss}
    roots = [s for s in ss if s["parent_span_id"] == ""]
    if len(roots) != 1:
        sys.exit(f"trace {tid}: {len(roots)} roots")
    for s in ss:
        if s is roots[0]:
            continue
        p = by_id.get(s["parent_span_id"])
        if p is None:
            sys.exit(f"trace {tid}: {name(s)} hangs under a span not exported")
        # a child runs inside its parent
        if s["start_ns"] < p["start_ns"] or s["end_ns"] > p["end_ns"]:
            sys.exit(f"trace {tid}: {name(s)} [{s['start_ns']}, {s['end_ns']}] outside "
                     f"{name(p)} [{p['start_ns']}, {p['end_ns']}]")
        if s["depth"] != p["depth"] + 1:
            sys.exit(f"trace {tid}: {name(s)} depth {s['depth']} under depth {p['depth']}")
    r = roots[0]
    if name(r) == "rec":
        # a chain of five: rec(4) returns 11, rec(3) 7, rec(2) 4, rec(1) 2, rec(0) 1
        chain, cur = [], r
        while cur is not None:
            chain.append(cur)
            kids = [s for s in ss if s["parent_span_id"] == cur["span_id"]]
            if len(kids) > 1:
                sys.exit(f"trace {tid}: rec with {len(kids)} children")
            cur = kids[0] if kids else None
        if [c["ret"] for c in chain] != [11, 7, 4, 2, 1] or len(chain) != len(ss):
            sys.exit(f"trace {tid}: rec chain returns {[c['ret'] for c in chain]}")
        shapes["rec"] += 1
    elif name(r) == "tail_outer":
        (inner,) = [s for s in ss if s is not r]
        if name(inner) != "tail_inner" or inner["parent_span_id"] != r["span_id"]:
            sys.exit(f"trace {tid}: tail_inner not under tail_outer")
        # the jump returns what tail_inner returns, and both end on one return
        if inner["ret"] != r["ret"] or r["ret"] % 2:
            sys.exit(f"trace {tid}: returns {r['ret']} and {inner['ret']}")
        shapes["tail"] += 1
    elif name(r) == "jump_root":
        (after,) = [s for s in ss if s is not r]
        if name(after) != "after_jump" or after["parent_span_id"] != r["span_id"]:
            sys.exit(f"trace {tid}: after_jump not under jump_root")
        if after["ret"] != r["ret"]:
            sys.exit(f"trace {tid}: jump_root returned {r['ret']}, after_jump {after['ret']}")
        shapes["jump"] += 1
    else:
        sys.exit(f"trace {tid}: root {name(r)}")
if shapes != Counter({"rec": n, "tail": n, "jump": n}):
    sys.exit(f"shapes {dict(shapes)}")
# tail_outer's values: 2 * i for i in 0..n-1, each once
tails = sorted(s["ret"] for s in spans if name(s) == "tail_outer")
if tails != [2 * i for i in range(n)]:
    sys.exit("tail_outer return values")
print(f"pairing: {len(spans)} spans in {len(traces)} traces, all linked as called")
PY
grep -q "C++ runtime" "$T/err" && fail "a C program was warned about C++ exceptions"

# A C++ program: a return probe breaks an exception thrown through it (the kernel's
# limit), so ttatrace says so, once, and traces it as usual
CXX_PLAIN=${CXX_PLAIN:-$BUILD/fixtures/cxx_plain}
[ -x "$CXX_PLAIN" ] || fail "$CXX_PLAIN not built"
"$TTATRACE" --probe cxx_step --format jsonl -o "$T/cxx.jsonl" -- "$CXX_PLAIN" >"$T/cxx.out" 2>"$T/cxx.err" ||
	{ cat "$T/cxx.err" >&2; fail "ttatrace failed on a C++ program"; }
assert_eq "$(cat "$T/cxx.out")" "sum 34" "the C++ fixture's output"
assert_eq "$(grep -c "warning: pid [0-9]* uses a C++ runtime (libstdc++" "$T/cxx.err")" 1 "C++ warnings"
assert_eq "$(wc -l <"$T/cxx.jsonl")" 10 "cxx_step spans"
grep "C++ runtime" "$T/cxx.err" | grep -q "cxx_plain:cxx_step is C++ code" ||
	{ cat "$T/cxx.err" >&2; fail "the C++ warning does not name the traced C++ function"; }

# A C program that maps a C++ runtime (PostgreSQL, Redis): no exception can cross its
# C functions, so no warning, even with the runtime loaded before the calls
C_CXXRT=${C_CXXRT:-$BUILD/fixtures/c_cxxrt}
[ -x "$C_CXXRT" ] || fail "$C_CXXRT not built"
"$TTATRACE" --probe plain_step --format jsonl -o "$T/ccx.jsonl" -- "$C_CXXRT" >"$T/ccx.out" 2>"$T/ccx.err" ||
	{ cat "$T/ccx.err" >&2; fail "ttatrace failed on a C program with a C++ runtime"; }
assert_eq "$(cat "$T/ccx.out")" "sum 90" "the C fixture's output"
grep -q "C++ runtime" "$T/ccx.err" && { cat "$T/ccx.err" >&2; fail "warned about C++ exceptions for C code"; }
assert_eq "$(wc -l <"$T/ccx.jsonl")" 10 "plain_step spans"
# and with a libstdc++ function traced as well: C++ code, one warning for the run
"$TTATRACE" --probe plain_step --probe 'libstdc++:_ZNSt6chrono3_V212system_clock3nowEv' \
	--format none -- "$C_CXXRT" >/dev/null 2>"$T/ccx2.err" || { cat "$T/ccx2.err" >&2; fail "ttatrace failed"; }
assert_eq "$(grep -c "uses a C++ runtime" "$T/ccx2.err")" 1 "one C++ warning with a libstdc++ probe"
echo PASS
