#!/usr/bin/env bash
# Least privilege in trace mode (issue 13 item 16), as the agent's test does it: uid 0
# holding exactly CAP_BPF CAP_PERFMON CAP_SYS_PTRACE (every other capability dropped
# with capsh) traces -p a process of another user and launches one, exact counts;
# with any one of the three missing, -p and launch stop at start with one line that
# names it, exit status 1 (before: "is this kernel 5.15+ with BTF?" or "nothing
# matched").
source tests/e2e/lib.sh
need_root_bpf
caps_setup
K=7
THREE=cap_bpf,cap_perfmon,cap_sys_ptrace

# check_counts ROLES SPANS: pf_work per process, exactly (1 in the parent, K in the others)
check_counts() {
	python3 - "$1" "$2" $K <<'PY'
import json, sys
from collections import Counter
roles, spans, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = {int(pid): (1 if role == "parent" else k) for role, pid in (l.split() for l in open(roles))}
got = Counter(s["pid"] for s in map(json.loads, open(spans)) if s["probe"].endswith(":pf_work"))
if dict(got) != want:
    sys.exit(f"pf_work per pid {dict(got)}, expected {want}")
print(f"{len(want)} processes, exact counts")
PY
}

# -p with exactly the three: a pre-fork process of uid nobody
setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$T/cap-pf" "$T/go" 1 $K >"$T/p.roles" &
FP=$!
PIDS_TO_KILL+=($FP)
capsh --inh= --drop="$(caps_drop_except $THREE)" -- -c \
	'capsh --print | grep ^Current; exec "$0" -p "$1" --probe pf_work --format jsonl -o "$2"' \
	"$TTATRACE" $FP "$T/p.jsonl" 2>"$T/p.err" >"$T/p.out" &
AP=$!
PIDS_TO_KILL+=($AP)
wait_for "$T/p.err" "Ctrl-C to stop"
grep -q "^Current: cap_sys_ptrace,cap_perfmon,cap_bpf=ep$" "$T/p.out" ||
	fail "-p did not run with exactly the three capabilities"
touch "$T/go"
wait_exit $FP 30 || fail "the fixture failed"
wait_exit $AP 30 || { cat "$T/p.err" >&2; fail "-p exited non-zero"; }
check_counts "$T/p.roles" "$T/p.jsonl" || fail "-p span counts"

# launch with exactly the three; the program stops at its entry point so that its
# libraries' probes go in before main (its one dprintf is seen)
capsh --inh= --drop="$(caps_drop_except $THREE)" -- -c \
	'exec "$0" --probe pf_work --probe libc:dprintf --format jsonl -o "$1" -- "$2" "$3" 1 "$4"' \
	"$TTATRACE" "$T/l.jsonl" "$T/cap-pf" "$T/go" $K 2>"$T/l.err" >"$T/l.roles" ||
	{ cat "$T/l.err" >&2; fail "launch exited non-zero"; }
check_counts "$T/l.roles" "$T/l.jsonl" || fail "launch span counts"
LP=$(awk '$1 == "parent" { print $2 }' "$T/l.roles")
n=$(python3 -c 'import json, sys; print(sum(1 for s in map(json.loads, open(sys.argv[1])) if s["probe"].endswith(":dprintf") and s["pid"] == int(sys.argv[2])))' "$T/l.jsonl" "$LP")
assert_eq "$n" 1 "dprintf spans of the launched program (library probes before main)"

# one short: one line naming it, exit status 1, for -p and launch alike
sleep 60 &
VICTIM=$!
PIDS_TO_KILL+=($VICTIM)
for missing in CAP_BPF CAP_PERFMON CAP_SYS_PTRACE; do
	keep=$(tr ',' '\n' <<<$THREE | grep -vxi "$missing" | paste -sd,)
	want="ttatrace: not permitted: missing capability $missing (tracing needs CAP_BPF CAP_PERFMON CAP_SYS_PTRACE; this uid 0 process has had it dropped)"
	for mode in pid launch; do
		if [ $mode = pid ]; then set -- -p $VICTIM; else set -- -- "$T/cap-pf" "$T/go" 1 1; fi
		rc=0
		capsh --inh= --drop="$(caps_drop_except "$keep")" -- -c 'exec "$0" --probe pf_work "$@"' \
			"$TTATRACE" "$@" 2>"$T/short.err" >/dev/null || rc=$?
		assert_eq "$rc" 1 "$mode: exit status without $missing"
		assert_eq "$(cat "$T/short.err")" "$want" "$mode: what ttatrace said without $missing"
	done
	echo "ok: without $missing: $want"
done
kill -0 $VICTIM || fail "the target died"
echo PASS
