#!/usr/bin/env bash
# ttatrace agent: processes started after the agent, selected by the catalogue's
# targets: (an exe glob with a service; a comm glob with a cgroup glob, the process
# placed in a kubelet-style cgroup made under the cgroup2 mount), several at once,
# with pre-fork workers: exact span counts per pid from their first call (the second
# and third processes of a probed program without any gate), nothing from a copy of
# the same program under a name no target selects, and each process's identity
# (service.name, container.id, k8s.pod.uid, k8s.node.name) in OTLP decoded by the
# independent receiver. /readyz, /healthz and the self-metrics answer beside /metrics;
# SIGHUP reloads the targets (a broken file is refused, the agent goes on); SIGTERM
# stops it.
source tests/e2e/lib.sh
need_root_bpf
source tests/otlp-receiver/harness.sh
otlp_require
PREFORK=${PREFORK:-$BUILD/fixtures/prefork}
[ -x "$PREFORK" ] || fail "$PREFORK not built"
K=15
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || fail "no cgroup2 mount in /proc/mounts"
UID_=$(cat /proc/sys/kernel/random/uuid)
CID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
POD=$CG2/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_//-/_}.slice
CGDIR=$POD/cri-containerd-$CID.scope
cleanup_cg() {
	cleanup_e2e
	rmdir "$CGDIR" "$POD" 2>/dev/null
	rmdir "$CG2/kubepods.slice/kubepods-burstable.slice" "$CG2/kubepods.slice" 2>/dev/null
	true
}
trap cleanup_cg EXIT
mkdir -p "$CGDIR" || fail "cannot make $CGDIR"

cp "$PREFORK" "$T/agent-pf"
cp "$PREFORK" "$T/cg-pf"
cp "$PREFORK" "$T/other-pf"
cat >"$T/catalog.yaml" <<YAML
targets:
  - exe: '$T/agent-pf'
    service: pf-svc
  - comm: cg-pf
    cgroup: '/kubepods.slice/*'
primitives:
  - match: 'pf_*'
YAML
touch "$T/open"

otlp_recv_start agent
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NODE_NAME=node-e2e "$TTATRACE" agent --config "$T/catalog.yaml" -v --format jsonl -o "$T/spans.jsonl" \
	--otlp "http://127.0.0.1:$RECV_PORT" --metrics-addr "127.0.0.1:$PORT" 2>"$T/agent.err" &
APID=$!
PIDS_TO_KILL+=($APID)
wait_for "$T/agent.err" "running processes matched the targets"

# A: the program's first process: its exec is seen, its probes go in, then it starts
"$T/agent-pf" "$T/goA" 2 $K >"$T/A.roles" &
A=$!
PIDS_TO_KILL+=($A)
wait_for "$T/agent.err" "tracing pid $A "
touch "$T/goA"
# B, C: the program is probed now: traced from their first call, no gate
"$T/agent-pf" "$T/open" 2 $K >"$T/B.roles" &
B=$!
"$T/agent-pf" "$T/open" 1 $K >"$T/C.roles" &
C=$!
# D: in the kubelet-style cgroup, its service from its own environment
OTEL_SERVICE_NAME=cg-env-svc sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" "$3" 1 '$K "_" "$CGDIR" "$T/cg-pf" "$T/goD" >"$T/D.roles" &
D=$!
# E: the same code under a name no target selects
"$T/other-pf" "$T/open" 1 $K >"$T/E.roles" &
E=$!
PIDS_TO_KILL+=($B $C $D $E)
wait_for "$T/agent.err" "tracing pid $D "
touch "$T/goD"
for p in $A $B $C $D $E; do wait_exit $p 60 || fail "fixture $p failed"; done
sleep 1 # the last spans drain
code() { curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT$1"; }
assert_eq "$(code /readyz)" 200 "/readyz"
assert_eq "$(code /healthz)" 200 "/healthz"
assert_eq "$(code /metrics)" 200 "/metrics"
grep -q '^ttatrace_agent_processes_matched_total{service="ttatrace-agent"} 4$' "$T/body" ||
	{ grep ttatrace_agent "$T/body" >&2; fail "matched processes in /metrics"; }
grep -q '^ttatrace_agent_probed_programs{service="ttatrace-agent"} 2$' "$T/body" || fail "probed programs in /metrics"
grep -q '^ttatrace_processes_followed_total{service="ttatrace-agent"} [1-9]' "$T/body" || fail "followed in /metrics"
grep -q '^ttatrace_processes_traced{service="ttatrace-agent"} 0$' "$T/body" || fail "traced now in /metrics"
# SIGHUP: a broken catalogue is refused and the agent goes on; a good one is loaded
cp "$T/catalog.yaml" "$T/catalog.good"
echo "targets: [" >"$T/catalog.yaml"
kill -HUP $APID
wait_for "$T/agent.err" "SIGHUP: .*keeping the catalogue loaded at start"
kill -0 $APID || fail "the agent died on SIGHUP"
sed 's/^primitives:/  - comm: never-started\nprimitives:/' "$T/catalog.good" >"$T/catalog.yaml"
kill -HUP $APID
wait_for "$T/agent.err" "SIGHUP: 3 targets entries loaded"
assert_eq "$(code /readyz)" 200 "/readyz after SIGHUP"
t0=$(date +%s%N)
kill -TERM $APID
wait_exit $APID 20 || { cat "$T/agent.err" >&2; fail "the agent exited non-zero"; }
echo "agent stopped in $((($(date +%s%N) - t0) / 1000000)) ms"
otlp_recv_stop
cat "$T/agent.err"
grep -q "exits without entry 0" "$T/agent.err" || fail "unpaired exits"
grep -Eq "agent: [0-9]+ processes traced \(([2-9]|[1-9][0-9]+) from their first call" "$T/agent.err" ||
	fail "B and C should be traced by the kernel from exec"

python3 - "$T" $K "$UID_" "$CID" "$RECV_OUT" <<'PY' || fail "agent checks"
import json, sys
from collections import Counter, defaultdict
t, k, uid, cid, recv = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
groups = {}
for g in "ABCDE":
    for role, pid in (l.split() for l in open(f"{t}/{g}.roles")):
        groups[int(pid)] = (g, role)
spans = [json.loads(l) for l in open(f"{t}/spans.jsonl")]
work = Counter(s["pid"] for s in spans if s["probe"].endswith(":pf_work"))
step = Counter(s["pid"] for s in spans if s["probe"].endswith(":pf_step"))
want = {pid: (1 if role == "parent" else k) for pid, (g, role) in groups.items() if g != "E"}
if dict(work) != want:
    sys.exit(f"pf_work per pid {dict(work)}, expected {want} (groups {groups})")
if dict(step) != {p: 2 * n for p, n in want.items()}:
    sys.exit(f"pf_step per pid {dict(step)}")
# OTLP: one ResourceSpans per process, its identity
res_of = {}
n_spans = defaultdict(int)
for r in (json.loads(l) for l in open(recv)):
    if r.get("kind") == "metrics":
        continue
    assert r["status"] == 200, r["status"]
    for rs in r["request"]["resourceSpans"]:
        a = {x["key"]: x["value"] for x in rs["resource"]["attributes"]}
        pid = int(a["process.pid"]["intValue"])
        res_of.setdefault(pid, a)
        assert res_of[pid] == a, f"pid {pid}: two resources"
        n_spans[pid] += sum(len(ss["spans"]) for ss in rs["scopeSpans"])
for pid, (g, role) in groups.items():
    if g == "E":
        assert pid not in res_of, f"non-matching pid {pid} exported"
        continue
    a = res_of[pid]
    assert n_spans[pid] == 3 * want[pid], (pid, n_spans[pid])
    s = lambda key: a.get(key, {}).get("stringValue")
    assert s("k8s.node.name") == "node-e2e", a
    assert s("service.instance.id"), a
    if g == "D":
        assert s("service.name") == "cg-env-svc", a
        assert s("container.id") == cid, (s("container.id"), cid)
        assert s("k8s.pod.uid") == uid, (s("k8s.pod.uid"), uid)
    else:
        assert s("service.name") == "pf-svc", a
        assert "container.id" not in a and "k8s.pod.uid" not in a, a
print(f"{len(want)} processes exact; {len(res_of)} resources; D in pod {uid}")
PY
echo PASS
