#!/usr/bin/env bash
# Following forks under -p (tests/fixtures/prefork.c): a pre-fork server attached
# before it forks. Its workers (no exec), a grandchild, and a child that execs the
# same program are traced from their first call, with exact span counts per pid; a
# child that execs another program is counted as not followed. A bystander running
# the same binary is not traced. --no-follow-forks traces the parent alone.
source tests/e2e/lib.sh
need_root_bpf
PREFORK=${PREFORK:-$BUILD/fixtures/prefork}
[ -x "$PREFORK" ] || fail "$PREFORK not built"
N=6
K=40

# run_case NAME [TTATRACE OPTIONS...]: the fixture under -p, spans in $T/NAME.jsonl
run_case() {
	local name=$1 fpid tpid
	shift
	rm -f "$T/go"
	"$PREFORK" "$T/go" $N $K >"$T/$name.roles" &
	fpid=$!
	PIDS_TO_KILL+=($fpid)
	"$TTATRACE" -p $fpid --probe 'pf_*' --format jsonl -o "$T/$name.jsonl" "$@" 2>"$T/$name.err" &
	tpid=$!
	PIDS_TO_KILL+=($tpid)
	wait_for "$T/$name.err" "probes attached"
	if [ $name = follow ]; then
		touch "$T/bgo"
		wait_exit $BYSTANDER 30 || fail "the bystander failed"
	fi
	touch "$T/go"
	wait_exit $fpid 60 || fail "$name: the fixture failed"
	wait_exit $tpid 30 || { cat "$T/$name.err" >&2; fail "$name: ttatrace exited non-zero"; }
	cat "$T/$name.err"
	echo "$fpid" >"$T/$name.pid"
}

# a bystander running the same program (and forking) while traced: it traps on the
# shared links, and must not show up
"$PREFORK" "$T/bgo" 2 5 >"$T/bystander.roles" &
BYSTANDER=$!
PIDS_TO_KILL+=($BYSTANDER)

run_case follow
grep -q "forks: $((N + 3)) processes followed (1 exec's of the same program); not followed: 1 exec'd another program, 0 over the limit, 0 events lost" "$T/follow.err" ||
	fail "follow: the fork summary line"
grep -q "exits without entry 0" "$T/follow.err" || fail "follow: unpaired exits"
# the bystander's 21 pf_work calls (1 + 4 children x 5), each 3 functions, an entry
# and an exit hit each
grep -q "ttatrace: 126 probe hits by untraced processes running a probed program were ignored" "$T/follow.err" ||
	fail "follow: the bystander's hits"

run_case nofollow --no-follow-forks
grep -q "forks:" "$T/nofollow.err" && fail "nofollow: children were followed"

python3 - "$T" $N $K <<'PY' || fail "span counts"
import json, sys
from collections import Counter
t, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for case in ("follow", "nofollow"):
    roles = [l.split() for l in open(f"{t}/{case}.roles")]
    parent = int(open(f"{t}/{case}.pid").read())
    want = {}
    for role, pid in roles:
        pid = int(pid)
        if role == "parent":
            assert pid == parent, (case, role, pid, parent)
            want[pid] = 1
        elif case == "follow":
            want[pid] = k
    kinds = Counter(r for r, _ in roles)
    if kinds != Counter({"parent": 1, "worker": n, "grandchild": 1, "exec": 1}):
        sys.exit(f"{case}: roles {dict(kinds)}")
    spans = [json.loads(l) for l in open(f"{t}/{case}.jsonl")]
    work = Counter(s["pid"] for s in spans if s["probe"].endswith(":pf_work"))
    step = Counter(s["pid"] for s in spans if s["probe"].endswith(":pf_step"))
    if dict(work) != want:
        sys.exit(f"{case}: pf_work spans per pid {dict(work)}, expected {want}")
    if dict(step) != {p: 2 * c for p, c in want.items()}:
        sys.exit(f"{case}: pf_step spans per pid {dict(step)}, expected twice {want}")
    # every pf_step hangs under a pf_work of its own process
    by_id = {s["span_id"]: s for s in spans}
    for s in spans:
        if s["probe"].endswith(":pf_step"):
            p = by_id.get(s["parent_span_id"])
            if not p or not p["probe"].endswith(":pf_work") or p["pid"] != s["pid"]:
                sys.exit(f"{case}: pf_step of pid {s['pid']} not under its pf_work")
    print(f"{case}: {len(work)} processes, exact counts {sorted(want.values())}")
PY
echo "PASS"
