#!/usr/bin/env bash
# Least privilege: the agent as uid 0 holding exactly the documented capabilities
# (CAP_BPF CAP_PERFMON CAP_SYS_PTRACE, every other one dropped with capsh) traces a
# pre-fork process of another user, exact counts, and a prepared Python service of
# that user in a mount namespace of its own (CPython 3.12 bind-mounted there): its
# registry is nobody's and 0600, read through the process's own fd (pidfd_getfd),
# exact spans in the service and its worker; without CAP_SYS_PTRACE it stops at
# start with one line naming what is missing (as JSON under --log-format json).
source tests/e2e/lib.sh
need_root_bpf
caps_setup
K=12
PY312=/root/.pyenv/versions/3.12.1
[ -x "$PY312/bin/python3.12" ] || fail "CPython 3.12.1 missing: $PY312 (pyenv's, with symbols)"
mkdir -p "$T/py312" "$T/app" "$T/run"
chmod 1777 "$T/run"
cp tests/fixtures/python/*.py tests/fixtures/python/catalog.yaml "$T/app/"
cp -r tools/python "$T/boot"
chmod -R a+rX "$T/app" "$T/boot"
{
	printf "targets:\n  - exe: '%s/cap-pf'\n  - cmdline: '*/app/prefork.py*'\nprimitives:\n  - match: 'pf_*'\n" "$T"
	sed -n '/^primitives:/,$p' tests/fixtures/python/catalog.yaml | tail -n +2
} >"$T/catalog.yaml"

capsh --inh= --drop="$(caps_drop_except cap_bpf,cap_perfmon,cap_sys_ptrace)" -- -c \
	'capsh --print | grep ^Current; exec "$0" agent --config "$1" -v --format jsonl -o "$2"' \
	"$TTATRACE" "$T/catalog.yaml" "$T/spans.jsonl" 2>"$T/agent.err" >"$T/agent.out" &
APID=$!
PIDS_TO_KILL+=($APID)
wait_for "$T/agent.err" "running processes matched the targets"
cat "$T/agent.out"
grep -q "^Current: cap_sys_ptrace,cap_perfmon,cap_bpf=ep$" "$T/agent.out" ||
	fail "the agent did not run with exactly the documented set"
setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$T/cap-pf" "$T/go" 1 $K >"$T/roles" &
FP=$!
PIDS_TO_KILL+=($FP)
wait_for "$T/agent.err" "tracing pid $FP "
touch "$T/go"
wait_exit $FP 30 || fail "the fixture failed"
# the Python service: uid nobody, its own mount namespace, one worker
unshare -m sh -c 'mount --bind "$0" "$1" && exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	env LD_LIBRARY_PATH="$1/lib" PYTHONPATH="$2" TTATRACE_PY_SPEC="$3" TTATRACE_PY_RUNDIR="$4" \
	"$1/bin/python3.12" "$5/prefork.py" 1 2 "$6"' "$PY312" "$T/py312" "$T/boot" "$T/app/catalog.yaml" \
	"$T/run" "$T/app" "$T/pygo" >"$T/py.out" 2>"$T/py.err" &
PP=$!
PIDS_TO_KILL+=($PP)
wait_for "$T/agent.err" "pid $PP: 3 Python probes"
touch "$T/pygo"
wait_exit $PP 60 || { cat "$T/py.err" >&2; fail "the Python service failed"; }
grep -q "^worker " "$T/py.out" || fail "no worker"
sleep 0.5
kill -TERM $APID
wait_exit $APID 20 || { cat "$T/agent.err" >&2; fail "the agent exited non-zero"; }
python3 - "$T" $K <<'PY' || fail "span counts"
import json, sys
from collections import Counter
t, k = sys.argv[1], int(sys.argv[2])
want = {int(pid): (1 if role == "parent" else k) for role, pid in (l.split() for l in open(f"{t}/roles"))}
got = Counter(s["pid"] for s in map(json.loads, open(f"{t}/spans.jsonl")) if s["probe"].endswith(":pf_work"))
if dict(got) != want:
    sys.exit(f"pf_work per pid {dict(got)}, expected {want}")
print(f"{len(want)} processes of uid nobody, exact counts")
PY
W=$(awk '/^worker/ { print $2 }' "$T/py.out")
for p in $PP $W; do
	python3 - "$T/spans.jsonl" $p >"$T/py-$p.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    s = json.loads(l)
    if s["pid"] == int(sys.argv[2]) and s["name"] != "WorkerStep.execute":
        print(l, end="")
PY
	TT_APP_MODULE=app python3 tests/e2e/check_python.py "$T/py-$p.jsonl" 2 ||
		{ cat "$T/agent.err" >&2; fail "Python pid $p: spans"; }
done
grep -q "WorkerStep.execute" "$T/spans.jsonl" || fail "the worker's own class is not named"
grep -q "^ttatrace: python: 2 processes traced; 0 without the bootstrap (not armed); 0 primitives still running when their process exited (dropped); 0 primitives not in their process's registry" \
	"$T/agent.err" || { cat "$T/agent.err" >&2; fail "Python processes, or primitives named by address"; }
! grep -q '"name":"python:0x' "$T/spans.jsonl" || fail "Python spans named by address"

# one capability short: one line, exit status 1, before anything is loaded
rc=0
capsh --inh= --drop="$(caps_drop_except cap_bpf,cap_perfmon)" -- -c 'exec "$0" agent --config "$1"' \
	"$TTATRACE" "$T/catalog.yaml" 2>"$T/short.err" || rc=$?
cat "$T/short.err"
assert_eq "$rc" 1 "exit status without CAP_SYS_PTRACE"
assert_eq "$(wc -l <"$T/short.err")" 1 "lines printed without CAP_SYS_PTRACE"
grep -q "^ttatrace: agent: missing capability CAP_SYS_PTRACE (the agent needs CAP_BPF CAP_PERFMON CAP_SYS_PTRACE)$" "$T/short.err" ||
	fail "the missing capability is not named"

# --log-format json: the same refusal as one JSON object of level error
rc=0
capsh --inh= --drop="$(caps_drop_except cap_bpf,cap_perfmon)" -- -c 'exec "$0" agent --config "$1" --log-format json' \
	"$TTATRACE" "$T/catalog.yaml" 2>"$T/json.err" || rc=$?
cat "$T/json.err"
assert_eq "$rc" 1 "exit status with --log-format json"
python3 - "$T/json.err" <<'PY' || fail "--log-format json"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert set(o) == {"time", "level", "msg"} and o["level"] == "error", o
assert o["msg"] == "agent: missing capability CAP_SYS_PTRACE (the agent needs CAP_BPF CAP_PERFMON CAP_SYS_PTRACE)", o
assert o["time"].endswith("Z") and o["time"][10] == "T", o
PY
echo PASS
