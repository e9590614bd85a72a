#!/usr/bin/env bash
# Least privilege: the agent as uid 0 holding exactly the documented capabilities
# (CAP_BPF CAP_PERFMON CAP_SYS_PTRACE, every other one dropped with capsh) traces a
# pre-fork process of another user, exact counts; without CAP_SYS_PTRACE it stops at
# start with one line naming what is missing (as JSON under --log-format json).
source tests/e2e/lib.sh
need_root_bpf
command -v capsh >/dev/null || fail "capsh not installed (apt-get install libcap2-bin)"
PREFORK=${PREFORK:-$BUILD/fixtures/prefork}
[ -x "$PREFORK" ] || fail "$PREFORK not built"
K=12
chmod 755 "$T"
cp "$PREFORK" "$T/cap-pf"
printf "targets:\n  - exe: '%s/cap-pf'\nprimitives:\n  - match: 'pf_*'\n" "$T" >"$T/catalog.yaml"

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
