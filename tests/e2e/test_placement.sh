#!/usr/bin/env bash
# Probe placement (x86-64): functions whose first instruction the kernel single-steps
# get their probes on a cheaper instruction of the straight-line start that runs with
# the entry's stack pointer, unless a branch lands inside that start, another symbol
# begins there, or the stack pointer moves first (tests/fixtures/placement.c). The
# list says where each probe goes; traced either way, every call is one span with its
# return value and the program's results do not change.
source tests/e2e/lib.sh
need_root_bpf
[ "$(uname -m)" = x86_64 ] || skip "probe placement is x86-64 only"
FIX=$BUILD/fixtures/placement
[ -x "$FIX" ] || fail "$FIX not built"

"$TTATRACE" --list-probes --probe 'pl_*' -- "$FIX" 2>"$T/list.err" | cut -f2,5,6 | sort >"$T/list" ||
	{ cat "$T/list.err" >&2; fail "--list-probes failed"; }
cat >"$T/want" <<'W'
pl_frame	stepped	stepped
pl_inner	stepped	emulated@+2
pl_loop	stepped	stepped
pl_nop5	nop5	nop5
pl_outer	stepped	stepped
pl_push	emulated	emulated
pl_tail	stepped	emulated@+3
pl_test	stepped	emulated@+4
symbol	entry	probe
W
diff -u "$T/want" "$T/list" >&2 || fail "--list-probes placement"
"$TTATRACE" --list-probes --probe-at-entry --probe 'pl_*' -- "$FIX" 2>/dev/null | cut -f2,6 |
	grep -c '@' >"$T/moved" || true
assert_eq "$(cat "$T/moved")" 0 "--probe-at-entry moves nothing"

N=400
want_out=$("$FIX" $N)
for mode in placed entry; do
	extra=()
	[ $mode = entry ] && extra=(--probe-at-entry)
	"$TTATRACE" "${extra[@]}" --probe 'pl_*' --format jsonl -o "$T/$mode.jsonl" -- "$FIX" $N \
		>"$T/$mode.out" 2>"$T/$mode.err" || { cat "$T/$mode.err" >&2; fail "$mode: ttatrace failed"; }
	assert_eq "$(cat "$T/$mode.out")" "$want_out" "$mode: the fixture's results under tracing"
	grep -q "exits without entry 0, frames unwound without exit 0," "$T/$mode.err" ||
		{ cat "$T/$mode.err" >&2; fail "$mode: unpaired exits or unwound frames"; }
	python3 - "$T/$mode.jsonl" $N "$want_out" $mode <<'PY' || fail "$mode: spans"
import json, sys
from collections import Counter, defaultdict
spans = [json.loads(l) for l in open(sys.argv[1])]
n, sums, mode = int(sys.argv[2]), [int(v) for v in sys.argv[3].split()], sys.argv[4]
name = lambda s: s["probe"].split(":")[-1]
counts = Counter(name(s) for s in spans)
# pl_outer falls into pl_inner: each of its calls enters pl_inner's start too
want = {"pl_test": n, "pl_tail": n, "pl_loop": n, "pl_outer": n, "pl_inner": 2 * n,
        "pl_frame": n, "pl_push": n, "pl_nop5": n}
if counts != Counter(want):
    sys.exit(f"{mode}: span counts {dict(counts)}, expected {want}")
ret = defaultdict(int)
for s in spans:
    ret[name(s)] += s["ret"]
got = [ret["pl_test"], ret["pl_tail"], ret["pl_loop"], ret["pl_outer"],
       ret["pl_inner"] - ret["pl_outer"], ret["pl_frame"], ret["pl_push"], ret["pl_nop5"]]
if got != sums:
    sys.exit(f"{mode}: sums of returned values {got}, the program says {sums}")
# pl_inner entered through pl_outer hangs under it
by_id = {s["span_id"]: s for s in spans}
under = sum(1 for s in spans if name(s) == "pl_inner" and s["parent_span_id"] and
            name(by_id[s["parent_span_id"]]) == "pl_outer")
if under != n:
    sys.exit(f"{mode}: {under} pl_inner spans under pl_outer, expected {n}")
PY
done
echo PASS
