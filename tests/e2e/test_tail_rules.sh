#!/usr/bin/env bash
# The kernel's --keep-errors verdict applies the catalogue's error rule of the root,
# as userspace does for the span's status: on the return value with any operator,
# and on a captured argument. The same runs with --tail-stream (userspace decides)
# keep exactly the same workflows.
source tests/e2e/lib.sh
need_root_bpf
[ -x "$DEMO" ] || fail "$DEMO not built"

# catalogue RULE: the demo's root with the given error rule and a workflow.id capture
catalogue() {
	cat >"$T/cat.yaml" <<EOF
primitives:
  - match: "tta_workflow_run"
    name: workflow
    kind: sequential
    capture:
      workflow.id: arg0->workflow_id
    error: $1
  - match: "tta_sequential"
    kind: sequential
EOF
}

# kept_ids MODE: workflow ids of the exported roots, sorted, on one line
kept_ids() {
	"$TTATRACE" --config "$T/cat.yaml" --sample 0 $1 --format jsonl -o "$T/k.jsonl" -- \
		"$DEMO" --iterations 30 --fail-every 5 >"$T/k.out" 2>"$T/k.err" ||
		{ cat "$T/k.err" >&2; fail "ttatrace failed ($1)"; }
	python3 - "$T/k.jsonl" <<'PY'
import json, sys
from collections import defaultdict
tr = defaultdict(list)
for l in open(sys.argv[1]):
    s = json.loads(l)
    tr[s["trace_id"]].append(s)
ids = []
for spans in tr.values():
    roots = [s for s in spans if not s["parent_span_id"]]
    assert len(roots) == 1 and roots[0]["name"] == "workflow", "a trace without its root"
    assert roots[0]["attributes"].get("tta.sampling.kept_by") == "error", roots[0]["attributes"]
    ids.append(roots[0]["attributes"]["workflow.id"])
print(" ".join(str(i) for i in sorted(ids)))
PY
}

check() { # RULE EXPECTED_IDS WHAT
	local got
	catalogue "$1"
	got=$(kept_ids "")
	assert_eq "$got" "$2" "kernel verdict, error: $1 ($3)"
	grep -q "streamed instead: 0 spans" "$T/k.err" || { cat "$T/k.err" >&2; fail "not decided in the kernel ($1)"; }
	got=$(kept_ids --tail-stream)
	assert_eq "$got" "$2" "userspace verdict, error: $1 ($3)"
	echo "error: $1 -> kept [$2]"
}

# the demo's workflows 1000..1029; every 5th (1004, 1009, ...) returns -EINVAL
failing="1004 1009 1014 1019 1024 1029"
check "ret < 0" "$failing" "the failing ones"
check "ret != 0" "$failing" "the failing ones"
check "ret == -22" "$failing" "the failing ones"
# the rule is authoritative: a negative return that the rule does not call an error
# is not one (no fallback to ret < 0)
check "ret > 100" "" "none"
# on a captured argument, whatever the return value
check "workflow.id >= 1025" "1025 1026 1027 1028 1029" "ids from 1025"
check "workflow.id == 1003" "1003" "one id"
echo "PASS"
