#!/usr/bin/env bash
# A real third-party library: trace libsqlite3:sqlite3_* in a Python process that
# calls Debian's libsqlite3; the outer calls match the calls made, and each
# sqlite3_exec nests the statements it prepares and steps.
source tests/e2e/lib.sh
need_root_bpf
ls /usr/lib/*/libsqlite3.so.0 >/dev/null 2>&1 || fail "libsqlite3.so.0 missing (tools/install-deps.sh installs it)"

python3 tests/e2e/sqlite_client.py "$T/go" 2>"$T/client.err" &
CPID=$!
PIDS_TO_KILL+=($CPID)
wait_for "$T/client.err" "ready"
"$TTATRACE" -p $CPID --probe 'libsqlite3:sqlite3_*' --format jsonl -o "$T/spans.jsonl" 2>"$T/tt.err" &
TPID=$!
PIDS_TO_KILL+=($TPID)
wait_for "$T/tt.err" "probes attached"
touch "$T/go"
wait_exit $CPID 60 || fail "sqlite client failed"
wait_exit $TPID 30 || { cat "$T/tt.err" >&2; fail "ttatrace failed"; }
python3 - "$T/spans.jsonl" $CPID <<'PY' || fail "sqlite span checks"
import json, sys
from collections import Counter
spans = [json.loads(l) for l in open(sys.argv[1])]
pid = int(sys.argv[2])
assert spans, "no spans"
assert all(s["pid"] == pid for s in spans), "spans from another process"
assert all(s["probe"].startswith("libsqlite3.so") for s in spans), "probe labels"
by_id = {s["span_id"]: s for s in spans}
roots = Counter(s["name"] for s in spans if not s["parent_span_id"])
# the client's own calls are the roots: one open, three execs, one close
for name, n in (("sqlite3_open", 1), ("sqlite3_exec", 3), ("sqlite3_close", 1)):
    assert roots[name] == n, f"{name}: {roots[name]} root spans, expected {n} ({dict(roots)})"
assert set(roots) == {"sqlite3_open", "sqlite3_exec", "sqlite3_close"}, f"unexpected roots {dict(roots)}"
# each exec prepares and steps every statement of its batch, as its children
execs = sorted((s for s in spans if s["name"] == "sqlite3_exec" and not s["parent_span_id"]),
               key=lambda s: s["start_ns"])
statements = [4, 2, 2]
for e, nstmt in zip(execs, statements):
    kids = Counter(s["name"] for s in spans if s["parent_span_id"] == e["span_id"])
    assert kids["sqlite3_prepare_v2"] == nstmt, f"exec prepared {kids['sqlite3_prepare_v2']} statements, expected {nstmt}: {dict(kids)}"
    assert kids["sqlite3_step"] >= nstmt, f"exec stepped {kids['sqlite3_step']} times for {nstmt} statements"
    assert e["ret"] == 0
    for s in spans:
        if s["parent_span_id"] == e["span_id"]:
            assert e["start_ns"] <= s["start_ns"] and s["end_ns"] <= e["end_ns"], "child outside exec"
print(f"ok: {len(spans)} spans, roots {dict(roots)}")
PY
