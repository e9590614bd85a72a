#!/usr/bin/env bash
# Churn: 1,000 short-lived processes of a probed program (each also forks a child
# that execs the program again and one that execs /bin/true) under the agent: every
# process traced from its first call (one pf_work span each), and afterwards the
# agent's open fds, BPF links and traced-process map are back to their baseline; a
# second round of N/2 leaves its memory where the first left it (bounded caches such
# as the assembler's memory of recent traces fill during the first round). Nothing the
# processes run (/bin/true included) is disturbed.
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

# state TAG: fds (and BPF links among them), memory, entries in traced_tgids; the fds
# listed in $T/fds.TAG
state() {
	local fds links rss map n
	fds=$(ls /proc/$APID/fd | wc -l)
	ls -l /proc/$APID/fd | awk 'NR > 1 { print $NF }' | sort >"$T/fds.$1"
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
read -r fds0 links0 rss0 map0 <<<"$(state 0)"
echo "baseline: $fds0 fds ($links0 BPF links), VmRSS $rss0 KiB, $map0 traced processes"
assert_eq "$map0" 0 "traced processes at baseline"

# churn RUNS: that many runs of the program (3 processes each), then the state
churn() {
	local t0 ms
	t0=$(date +%s%N)
	for ((i = 0; i < $1; i++)); do
		"$T/churn-pf" "$T/open" 0 1 >>"$T/roles" 2>>"$T/churn.err" || fail "run $i failed"
	done
	# a probe put into the wrong file (the child that execs /bin/true, scanned at its
	# fork while it execs) breaks that program: its loader reads int3 in its data
	[ -s "$T/churn.err" ] && { head -3 "$T/churn.err" >&2; fail "a process of the churn wrote errors"; }
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "$1 runs ($((3 * $1)) processes) in $ms ms"
	sleep 5
}
churn $N
read -r fds1 links1 rss1 map1 <<<"$(state 1)"
echo "after: $fds1 fds ($links1 BPF links), VmRSS $rss1 KiB, $map1 traced processes"
[ "$fds1" = "$fds0" ] || { diff "$T/fds.0" "$T/fds.1" >&2; fail "open fds after the churn: $fds0, then $fds1"; }
assert_eq "$links1" "$links0" "BPF links after the churn"
assert_eq "$map1" 0 "traced processes left in the kernel map"
# the first round grows memory by 0.6 to 4 MB whatever N (bounded caches warming up);
# a leak grows it again in the second: 1,500 processes leaking 700 bytes each pass 1 MiB
[ $((rss1 - rss0)) -lt 16384 ] || fail "memory grew by $((rss1 - rss0)) KiB in the first round"
churn $((N / 2))
read -r fds2 links2 rss2 map2 <<<"$(state 2)"
echo "after a second round: $fds2 fds ($links2 BPF links), VmRSS $rss2 KiB, $map2 traced processes"
[ "$fds2" = "$fds0" ] || { diff "$T/fds.0" "$T/fds.2" >&2; fail "open fds after the second round: $fds0, then $fds2"; }
assert_eq "$links2" "$links0" "BPF links after the second round"
assert_eq "$map2" 0 "traced processes left after the second round"
[ $((rss2 - rss1)) -lt 1024 ] || fail "memory grew by $((rss2 - rss1)) KiB in the second round (a leak)"
kill -TERM $APID
wait_exit $APID 20 || { cat "$T/agent.err" >&2; fail "the agent exited non-zero"; }
grep -q "exits without entry 0" "$T/agent.err" || fail "unpaired exits"
python3 - "$T" $N <<'PY' || fail "span counts"
import json, sys
from collections import Counter
t, n = sys.argv[1], int(sys.argv[2])
roles = [l.split() for l in open(f"{t}/roles")]
runs = n + n // 2 + 1
assert Counter(r for r, _ in roles) == Counter({"parent": runs, "exec": runs}), Counter(r for r, _ in roles)
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
