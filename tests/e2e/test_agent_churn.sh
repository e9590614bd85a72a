#!/usr/bin/env bash
# Churn: 1,000 short-lived processes of a probed program (each also forks a child
# that execs the program again and one that execs /bin/true) under the agent: every
# process traced from its first call (one pf_work span each), and afterwards the
# agent's open fds, BPF links and traced-process map are back to their baseline and
# its memory within 4 MiB of it.
source tests/e2e/lib.sh
need_root_bpf
command -v bpftool >/dev/null || fail "bpftool not installed"
PREFORK=${PREFORK:-$BUILD/fixtures/prefork}
[ -x "$PREFORK" ] || fail "$PREFORK not built"
N=1000
cp "$PREFORK" "$T/churn-pf"
printf "targets:\n  - exe: '%s/churn-pf'\nprimitives:\n  - match: 'pf_*'\n" "$T" >"$T/catalog.yaml"
touch "$T/open"
"$TTATRACE" agent --config "$T/catalog.yaml" -v --trace-timeout 1s --format jsonl -o "$T/spans.jsonl" \
	2>"$T/agent.err" &
APID=$!
PIDS_TO_KILL+=($APID)
wait_for "$T/agent.err" "running processes matched the targets"

# the first process probes the program (gated, so it is traced whole too)
"$T/churn-pf" "$T/go" 0 1 >"$T/roles" &
FP=$!
wait_for "$T/agent.err" "tracing pid $FP "
touch "$T/go"
wait_exit $FP 30 || fail "the first process failed"

# state: fds (and BPF links among them), memory, entries in traced_tgids
state() {
	local fds links rss map n
	fds=$(ls /proc/$APID/fd | wc -l)
	links=$(ls -l /proc/$APID/fd | grep -c 'anon_inode:bpf_link')
	rss=$(awk '/^VmRSS/ { print $2 }' /proc/$APID/status)
	map=""
	for id in $(awk '/^map_id:/ { print $2 }' /proc/$APID/fdinfo/* 2>/dev/null | sort -u); do
		bpftool map show id "$id" 2>/dev/null | grep -q " name traced_tgids " && map=$id
	done
	[ -n "$map" ] || fail "the agent's traced_tgids map not found"
	n=$(bpftool -j map dump id "$map" | python3 -c "import json, sys; print(len(json.load(sys.stdin)))")
	echo "$fds $links $rss $n"
}
sleep 5 # the first process's entries are reaped a trace timeout after its exit
read -r fds0 links0 rss0 map0 <<<"$(state)"
echo "baseline: $fds0 fds ($links0 BPF links), VmRSS $rss0 KiB, $map0 traced processes"
assert_eq "$map0" 0 "traced processes at baseline"

t0=$(date +%s%N)
for ((i = 0; i < N; i++)); do
	"$T/churn-pf" "$T/open" 0 1 >>"$T/roles"
done
ms=$((($(date +%s%N) - t0) / 1000000))
echo "$N runs ($((3 * N)) processes) in $ms ms"
sleep 5
read -r fds1 links1 rss1 map1 <<<"$(state)"
echo "after: $fds1 fds ($links1 BPF links), VmRSS $rss1 KiB, $map1 traced processes"
assert_eq "$fds1" "$fds0" "open fds after the churn"
assert_eq "$links1" "$links0" "BPF links after the churn"
assert_eq "$map1" 0 "traced processes left in the kernel map"
# measured +0.6 to +2.3 MB over 3,000 processes, not proportional to them: not yet
# root-caused (the assembler's bounded memory of recent traces and the allocator are the
# suspects); a per-process leak of 2 KiB would pass 4 MiB only by 2,000 processes: checked
# by the fds, links and map above, and by this bound
[ $((rss1 - rss0)) -lt 4096 ] || fail "memory grew by $((rss1 - rss0)) KiB"
kill -TERM $APID
wait_exit $APID 20 || { cat "$T/agent.err" >&2; fail "the agent exited non-zero"; }
grep -q "exits without entry 0" "$T/agent.err" || fail "unpaired exits"
python3 - "$T" $N <<'PY' || fail "span counts"
import json, sys
from collections import Counter
t, n = sys.argv[1], int(sys.argv[2])
roles = [l.split() for l in open(f"{t}/roles")]
assert Counter(r for r, _ in roles) == Counter({"parent": n + 1, "exec": n + 1}), Counter(r for r, _ in roles)
# one pf_work span per process: per pid, as many as processes had that pid (pids
# are reused over a few thousand processes)
want = Counter(int(pid) for _, pid in roles)
got = Counter(s["pid"] for s in map(json.loads, open(f"{t}/spans.jsonl")) if s["probe"].endswith(":pf_work"))
if got != want:
    diff = {p: (got.get(p, 0), want.get(p, 0)) for p in set(got) | set(want) if got.get(p) != want.get(p)}
    sys.exit(f"pf_work spans per pid differ (got, want): {dict(list(diff.items())[:8])}")
print(f"{len(roles)} processes, one pf_work span each")
PY
echo PASS
