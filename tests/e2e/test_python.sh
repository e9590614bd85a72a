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
	grep -q "python: $spans spans opened, $spans ended" "$T/traced-$v.err" ||
		{ cat "$T/traced-$v.err" >&2; fail "$v: kernel span count != $spans"; }
	grep -q "hits not ttatrace's (another sys.monitoring tool or settrace): 0," "$T/traced-$v.err" ||
		fail "$v: foreign hits without another tool"
done

# 3.11: one clear line naming the supported versions
PY311=/root/.pyenv/versions/3.11.7/bin/python3
[ -x "$PY311" ] || fail "CPython 3.11.7 missing: $PY311"
"$TTATRACE" --config "$FIX/catalog.yaml" -- "$PY311" "$FIX/app.py" 1 >"$T/311.out" 2>"$T/311.err" &&
	fail "3.11 should be refused"
grep -q "Python primitives need CPython 3.12 or 3.13" "$T/311.err" || { cat "$T/311.err" >&2; fail "3.11 message"; }
echo "python: ok"
