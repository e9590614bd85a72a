#!/usr/bin/env bash
# Python primitives (CPython 3.12 and 3.13, pyenv builds with symbols): launch mode
# with the catalogue of tests/fixtures/python; exact spans per name, one trace per
# workflow, gather branches under the parallel primitive, error.type values, the
# timeout's duration, a subclass defined in __main__, a decorated method; the app's
# own sitecustomize, PYTHONPATH, output and exit code unchanged.
source tests/e2e/lib.sh
need_root_bpf
FIX=tests/fixtures/python
N=4
mkdir -p "$T/appsite"
# the app's own sitecustomize: the bootstrap must run it too
cat >"$T/appsite/sitecustomize.py" <<'PY'
print("app sitecustomize ran")
PY
for v in 3.12.1 3.13.0; do
	PY=/root/.pyenv/versions/$v/bin/python3
	[ -x "$PY" ] || fail "CPython $v missing: $PY (the Python tests need pyenv's $v with symbols)"
	PYTHONPATH="$T/appsite" "$PY" "$FIX/app.py" $N >"$T/plain-$v.out" 2>"$T/plain-$v.err"
	rc=$?
	assert_eq "$rc" 3 "untraced $v exit code"
	grep -q "app sitecustomize ran" "$T/plain-$v.out" || fail "fixture: app sitecustomize"
	PYTHONPATH="$T/appsite" "$TTATRACE" --config "$FIX/catalog.yaml" --format jsonl -o "$T/$v.jsonl" \
		-- "$PY" "$FIX/app.py" $N >"$T/traced-$v.out" 2>"$T/traced-$v.err" ||
		{ cat "$T/traced-$v.err" >&2; fail "$v: ttatrace failed"; }
	cmp -s "$T/plain-$v.out" "$T/traced-$v.out" ||
		{ diff "$T/plain-$v.out" "$T/traced-$v.out" >&2; fail "$v: output changed under tracing"; }
	grep -q "exited with status 3" "$T/traced-$v.err" || { cat "$T/traced-$v.err" >&2; fail "$v: exit code"; }
	grep -q "drops: ring buffer full 0" "$T/traced-$v.err" || { cat "$T/traced-$v.err" >&2; fail "$v: drops"; }
	python3 tests/e2e/check_python.py "$T/$v.jsonl" $N || { cat "$T/traced-$v.err" >&2; fail "$v: spans"; }
	# every span opened was ended, and the kernel saw nothing it did not arm
	spans=$(wc -l <"$T/$v.jsonl")
	grep -q " $spans spans opened, $spans ended" "$T/traced-$v.err" ||
		{ cat "$T/traced-$v.err" >&2; fail "$v: kernel span count != $spans"; }
	grep -q "hits not ttatrace's (another sys.monitoring tool or settrace): 0," "$T/traced-$v.err" ||
		fail "$v: foreign hits without another tool"
done

# the summary's python counters: hits opened ended named links foreign unwinds noentry noids
pycounts() {
	sed -n 's/^ttatrace: python: \([0-9]*\) probe hits, \([0-9]*\) spans opened, \([0-9]*\) ended, \([0-9]*\) primitives named, \([0-9]*\) task links; hits not ttatrace.s ([^)]*): \([0-9]*\), unwinds of other frames: \([0-9]*\), returns of calls begun before attach: \([0-9]*\), out of ids: \([0-9]*\)$/\1 \2 \3 \4 \5 \6 \7 \8 \9/p' "$1"
}
PY=/root/.pyenv/versions/3.12.1/bin/python3

# 100,000+ plain Python calls per workflow: the probes fire for primitive events only
"$TTATRACE" --config "$FIX/catalog.yaml" --format jsonl -o "$T/plain.jsonl" -- "$PY" "$FIX/app.py" 2 20000 \
	>"$T/plain.out" 2>"$T/plain.err" || { cat "$T/plain.err" >&2; fail "plain calls: ttatrace failed"; }
python3 tests/e2e/check_python.py "$T/plain.jsonl" 2 || fail "plain calls: spans"
read -r hits opened ended named links foreign unwinds noentry noids < <(pycounts "$T/plain.err")
[ -n "$hits" ] || { cat "$T/plain.err" >&2; fail "no python summary line"; }
spans=$(wc -l <"$T/plain.jsonl")
assert_eq "$opened $ended $foreign $noentry" "$spans $spans 0 0" "plain calls: spans, foreign hits"
assert_eq "$hits" "$((opened + ended + unwinds))" "plain calls: probe hits = primitive events"

# a native function called inside a primitive (libc getpid from os.getpid) nests under it
TT_NATIVE=1 "$TTATRACE" --config "$FIX/catalog.yaml" --probe 'libc:getpid' --format jsonl \
	-o "$T/native.jsonl" -- "$PY" "$FIX/app.py" 2 >"$T/native.out" 2>"$T/native.err" ||
	{ cat "$T/native.err" >&2; fail "native: ttatrace failed"; }
python3 - "$T/native.jsonl" <<'PY' || fail "native spans under Python primitives"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
by_id = {s["span_id"]: s for s in spans}
work = [s for s in spans if s["name"] == "Work.execute"]
inner = [s for s in spans if s["name"] == "getpid" and s["parent_span_id"] in by_id]
assert work and len(inner) == len(work), "getpid under a primitive: %d, Work.execute: %d" % (len(inner), len(work))
for s in inner:
    p = by_id[s["parent_span_id"]]
    assert p["name"] == "Work.execute" and p["trace_id"] == s["trace_id"], p["name"]
    assert p["start_ns"] <= s["start_ns"] and s["end_ns"] <= p["end_ns"], "getpid outside its parent"
PY

# another tool sharing the interpreter (sys.settrace): the same spans, its hits counted
TT_SETTRACE=1 "$TTATRACE" --config "$FIX/catalog.yaml" --format jsonl -o "$T/settrace.jsonl" \
	-- "$PY" "$FIX/app.py" 2 >"$T/settrace.out" 2>"$T/settrace.err" ||
	{ cat "$T/settrace.err" >&2; fail "settrace: ttatrace failed"; }
python3 tests/e2e/check_python.py "$T/settrace.jsonl" 2 || fail "settrace: foreign spans"
read -r hits opened ended named links foreign unwinds noentry noids < <(pycounts "$T/settrace.err")
[ "${foreign:-0}" -gt 1000 ] || { cat "$T/settrace.err" >&2; fail "settrace: foreign hits not counted"; }

# a prepared service (the bootstrap on PYTHONPATH, pointed at the catalogue): ttatrace
# attaches mid-run and detaches, a second one is killed with SIGKILL, the app goes on
# the reference run has the same PYTHONPATH (the app prints it), without a spec
PYTHONPATH="$PWD/tools/python" "$PY" "$FIX/app.py" 200 >"$T/ref80.out" 2>&1 &
REF=$!
TTATRACE_PY_SPEC="$FIX/catalog.yaml" TTATRACE_PY_RUNDIR="$T" PYTHONPATH="$PWD/tools/python" \
	"$PY" "$FIX/app.py" 200 >"$T/prep.out" 2>"$T/prep.err" &
APP=$!
wait_for "$T/ttatrace-py-$APP.reg" "^C" 10
sleep 0.5
t0=$(date +%s%N)
"$TTATRACE" -p $APP --config "$FIX/catalog.yaml" --duration 1.5 --format jsonl -o "$T/attach.jsonl" \
	2>"$T/attach.err" || { cat "$T/attach.err" >&2; fail "attach to a prepared process failed"; }
python3 - "$T/attach.jsonl" "$t0" <<'PY' || fail "attach: spans"
import collections, json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
t0 = int(sys.argv[2])
assert spans, "no spans"
assert min(s["start_ns"] for s in spans) >= t0, "a span began before the attach"
traces = collections.Counter(s["trace_id"] for s in spans)
full = [s for s in spans if s["name"] == "Sequential.execute" and not s["parent_span_id"] and traces[s["trace_id"]] in (18, 19)]
assert len(full) >= 3, "complete workflows: %d" % len(full)
PY
kill -0 $APP 2>/dev/null || fail "the app died after detach"
"$TTATRACE" -p $APP --config "$FIX/catalog.yaml" --format none >"$T/kill.out" 2>"$T/kill.err" &
TT=$!
wait_for "$T/kill.err" "probes attached" 10
sleep 0.3
kill -9 $TT
wait $TT 2>/dev/null
wait $APP
assert_eq "$?" 3 "prepared app exit code after attach, detach and SIGKILL"
wait $REF
cmp -s "$T/ref80.out" "$T/prep.out" || { diff "$T/ref80.out" "$T/prep.out" >&2; fail "prepared app output changed"; }
[ -s "$T/prep.err" ] && { cat "$T/prep.err" >&2; fail "prepared app wrote to stderr"; }

# a suspended primitive whose coroutine the garbage collector closes: its span ends
"$TTATRACE" --config "$FIX/catalog.yaml" --format jsonl -o "$T/gc.jsonl" -- "$PY" "$FIX/gc_app.py" \
	>"$T/gc.out" 2>"$T/gc.err" || { cat "$T/gc.err" >&2; fail "gc: ttatrace failed"; }
python3 - "$T/gc.jsonl" <<'PY' || { cat "$T/gc.err" >&2; fail "gc: span of the closed coroutine"; }
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
assert [s["name"] for s in spans] == ["Hang.execute"], [s["name"] for s in spans]
s = spans[0]
assert s["attributes"].get("tta.python.closed") is True and s["status"] != "error", s
assert s["duration_ns"] >= 10e6, s["duration_ns"]
PY
grep -Eq "^gc_app.py:Hang.execute +1 .* 0.00%" "$T/gc.err" || { cat "$T/gc.err" >&2; fail "gc: histogram error count"; }

# -p on a prepared pre-fork service: the workers it forks after the attach are traced
# (their own pid-filtered links, the layout copied by the kernel at fork), exact per
# process; a worker's own step class, armed after the fork, is named from the family's
# registry
mkdir -p "$T/pfrun"
PYTHONPATH="$PWD/tools/python" TTATRACE_PY_SPEC="$PWD/$FIX/catalog.yaml" TTATRACE_PY_RUNDIR="$T/pfrun" \
	"$PY" "$FIX/prefork.py" 2 2 "$T/pfgo" >"$T/pf.out" 2>"$T/pf.err" &
PF=$!
wait_for "$T/pfrun/ttatrace-py-$PF.reg" "^C" 20
"$TTATRACE" -p $PF --config "$FIX/catalog.yaml" --format jsonl -o "$T/pf.jsonl" 2>"$T/pf-tt.err" &
TT=$!
wait_for "$T/pf-tt.err" "probes attached" 10
touch "$T/pfgo"
wait_exit $PF 60 || { cat "$T/pf.err" >&2; fail "pre-fork service failed"; }
wait_exit $TT 20 || { cat "$T/pf-tt.err" >&2; fail "-p on the pre-fork service"; }
for p in $PF $(awk '/^worker/ { print $2 }' "$T/pf.out"); do
	python3 - "$T/pf.jsonl" $p >"$T/pf-$p.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    s = json.loads(l)
    if s["pid"] == int(sys.argv[2]) and s["name"] != "WorkerStep.execute":
        print(l, end="")
PY
	TT_APP_MODULE=app python3 tests/e2e/check_python.py "$T/pf-$p.jsonl" 2 || fail "-p pre-fork: pid $p"
done
assert_eq "$(grep -c '"WorkerStep.execute"' "$T/pf.jsonl")" 2 "-p pre-fork: the workers' own step class"
grep -q "ttatrace: python: 3 processes traced" "$T/pf-tt.err" || { cat "$T/pf-tt.err" >&2; fail "-p pre-fork: processes"; }

# a Python process without the bootstrap: one line saying what to do
"$PY" -c 'import time; time.sleep(5)' &
BARE=$!
sleep 0.3
"$TTATRACE" -p $BARE --config "$FIX/catalog.yaml" --duration 1 >"$T/bare.out" 2>"$T/bare.err" &&
	fail "attach without the bootstrap should fail"
kill $BARE
grep -q "without the ttatrace bootstrap" "$T/bare.err" || { cat "$T/bare.err" >&2; fail "no-bootstrap message"; }

# 3.11: one clear line naming the supported versions
PY311=/root/.pyenv/versions/3.11.7/bin/python3
[ -x "$PY311" ] || fail "CPython 3.11.7 missing: $PY311"
"$TTATRACE" --config "$FIX/catalog.yaml" -- "$PY311" "$FIX/app.py" 1 >"$T/311.out" 2>"$T/311.err" &&
	fail "3.11 should be refused"
grep -q "Python primitives need CPython 3.12 or 3.13" "$T/311.err" || { cat "$T/311.err" >&2; fail "3.11 message"; }
echo "python: ok"
