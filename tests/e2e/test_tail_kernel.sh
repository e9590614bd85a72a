#!/usr/bin/env bash
# Tail rules in the kernel: unpicked traces wait in a per-trace kernel buffer and
# only kept ones reach the ring, with the same traces exported as when userspace
# decides (--tail-stream); a trace that outgrows --tail-buffer is streamed and still
# exported whole; --keep-slow in the kernel; a remote traceparent's sampled flag
# decides its root; --target-rate gives a rare root primitive its fair share.
source tests/e2e/lib.sh
need_root_bpf
[ -x "$DEMO" ] || fail "$DEMO not built"
TWO_ROOTS=${TWO_ROOTS:-$BUILD/fixtures/two_roots}
[ -x "$TWO_ROOTS" ] || fail "$TWO_ROOTS not built"

# trees FILE [REMOTE_PARENT]: the span trees of a JSONL export. A root is a span whose
# parent is REMOTE_PARENT ("" by default: then each trace has exactly one); every other
# span's parent is in its trace. Prints "trees spans"; writes FILE.trees, one line per
# tree sorted by workflow id: wid root spans kept_by probability duration_ns ret
# start_ns longest_leaf_ns names (the sorted probe names of the tree, joined)
trees() {
	python3 - "$1" "${2:-}" <<'PY' || fail "incomplete traces in $1"
import json, sys
from collections import defaultdict
remote = sys.argv[2]
spans = [json.loads(l) for l in open(sys.argv[1])]
by_trace = defaultdict(dict)
for s in spans:
    if s["span_id"] in by_trace[s["trace_id"]]:
        sys.exit(f"span {s['span_id']} exported twice")
    by_trace[s["trace_id"]][s["span_id"]] = s
rows = []
for tid, ids in by_trace.items():
    roots = [s for s in ids.values() if s["parent_span_id"] == remote]
    if not remote and len(roots) != 1:
        sys.exit(f"trace {tid}: {len(roots)} roots")
    members = defaultdict(list)
    parents = {s["parent_span_id"] for s in ids.values()}
    for s in ids.values():
        r, hops = s, 0
        while r["parent_span_id"] != remote:
            if r["parent_span_id"] not in ids:
                sys.exit(f"trace {tid}: orphan {s['name']} (parent {r['parent_span_id']} missing)")
            r, hops = ids[r["parent_span_id"]], hops + 1
            if hops > 1000:
                sys.exit(f"trace {tid}: parent loop")
        members[r["span_id"]].append(s)
    for r in roots:
        m = members[r["span_id"]]
        a = r["attributes"]
        rows.append((a.get("workflow.id", -1), r["name"], len(m), a.get("tta.sampling.kept_by", "head"),
                     a.get("tta.sampling.probability", "none"), r["duration_ns"], r["ret"], r["start_ns"],
                     max([s["duration_ns"] for s in m if s["span_id"] not in parents] or [0]),
                     ",".join(sorted(s["probe"].split(":")[-1] for s in m))))
rows.sort()
with open(sys.argv[1] + ".trees", "w") as out:
    for row in rows:
        print(*row, file=out)
print(len(rows), len(spans))
PY
}

# field FILE REGEX: the first capture group of REGEX (sed -E) in FILE, or fails
field() {
	local v
	v=$(sed -nE "s/.*$2.*/\\1/p" "$1" | head -1)
	[ -n "$v" ] || { cat "$1" >&2; fail "no '$2' in $1"; }
	echo "$v"
}

# 1. --sample 0 with the catalogue's error rule: the kernel keeps exactly the failing
# workflows, as userspace does with --tail-stream, and only those reach the ring
N=100
declare -A bytes
for mode in kernel stream; do
	extra=()
	[ $mode = stream ] && extra=(--tail-stream)
	"$TTATRACE" --config tools/workflow-demo.yaml --sample 0 "${extra[@]}" --format jsonl \
		-o "$T/$mode.jsonl" -- "$DEMO" --iterations $N --fail-every 5 >"$T/$mode.out" 2>"$T/$mode.err" ||
		{ cat "$T/$mode.err" >&2; fail "$mode: ttatrace failed"; }
	grep -q "drops: ring buffer full 0," "$T/$mode.err" || { cat "$T/$mode.err" >&2; fail "$mode: ring drops"; }
	read -r traces spans < <(trees "$T/$mode.jsonl")
	failing=$(sed -n 's/^workflow id=\([0-9]*\) .*result=error.*/\1/p' "$T/$mode.out" | sort -n | tr '\n' ' ')
	assert_eq "$(wc -w <<<"$failing")" $((N / 5)) "$mode: workflows the demo reports failed"
	assert_eq "$(awk '{ printf "%s ", $1 }' "$T/$mode.jsonl.trees")" "$failing" \
		"$mode: workflow ids of the exported traces"
	assert_eq "$traces" $((N / 5)) "$mode: traces exported"
	awk '$2 != "workflow" || $4 != "error" || $7 >= 0 { bad++ } END { exit bad > 0 }' "$T/$mode.jsonl.trees" ||
		fail "$mode: a root is not a failed workflow kept_by error"
	grep -q "exported 0 head-sampled, $((N / 5)) kept for an error, 0 kept as slow; $((N - N / 5)) dropped" \
		"$T/$mode.err" || { cat "$T/$mode.err" >&2; fail "$mode: sampling summary"; }
	bytes[$mode]=$(field "$T/$mode.err" 'ring buffer: ([0-9]+) bytes read')
done
# the same trees, span for span, whoever decided
cmp -s <(cut -d' ' -f1,2,3,10 "$T/kernel.jsonl.trees") <(cut -d' ' -f1,2,3,10 "$T/stream.jsonl.trees") ||
	{ diff <(cut -d' ' -f1,3,10 "$T/kernel.jsonl.trees") <(cut -d' ' -f1,3,10 "$T/stream.jsonl.trees") >&2
	  fail "kernel and stream modes exported different trees"; }
kept_spans=$(awk '{ n += $3 } END { print n }' "$T/kernel.jsonl.trees")
# kernel mode: nothing streamed, and the held spans all accounted for
k=$T/kernel.err
grep -q "unpicked spans streamed to userspace" "$k" && fail "kernel mode streamed spans to userspace"
grep -q "0 traces outgrew their buffer and 0 spans found none (streamed instead: 0 spans)" "$k" ||
	{ cat "$k" >&2; fail "kernel mode: spans streamed instead of held"; }
held=$(field "$k" 'tail rules in the kernel: ([0-9]+) spans held')
sent=$(field "$k" 'spans held, ([0-9]+) sent on')
freed=$(field "$k" 'sent on \(kept or outgrown traces\), ([0-9]+) freed')
kdropped=$(field "$k" 'freed with ([0-9]+) dropped traces')
late=$(field "$k" 'dropped traces \(([0-9]+) finished after their root\)')
assert_eq "$kdropped" $((N - N / 5)) "kernel mode: traces dropped in the kernel"
assert_eq "$late" 0 "kernel mode: spans finishing after their root (workflows join their threads)"
# roots are never held: a kept trace sends its held children then its root, so
# sent on = kept spans; every held span was either sent on or freed with its trace
assert_eq "$sent" "$kept_spans" "kernel mode: spans sent on vs spans of the exported traces"
assert_eq "$held" $((sent - N / 5 + freed)) "kernel mode: held = (sent on - kept roots) + freed"
# stream mode: everything went to userspace, which dropped the 80 passing workflows
s=$T/stream.err
grep -q "tail rules in the kernel" "$s" && fail "--tail-stream used the kernel buffers"
streamed=$(field "$s" 'unpicked spans streamed to userspace: ([0-9]+) ')
udropped=$(field "$s" 'streamed to userspace: [0-9]+ \([0-9]+ ring bytes; picked traces: [0-9]+ bytes\); ([0-9]+) traces')
uspans=$(field "$s" '; [0-9]+ traces \(([0-9]+) spans\) dropped there')
assert_eq "$udropped" $((N - N / 5)) "stream mode: traces dropped in userspace"
assert_eq "$streamed" $((kept_spans + uspans)) "stream mode: spans streamed = kept + dropped there"
# the kernel buffers held what was streamed, minus the roots (never held)
assert_eq "$held" $((streamed - N)) "held in kernel mode vs streamed in stream mode, less the $N roots"
[ $((bytes[kernel] * 10)) -le "${bytes[stream]}" ] ||
	fail "kernel mode read ${bytes[kernel]} ring bytes, stream mode ${bytes[stream]}: not 10x fewer"
echo "tail in kernel: $traces failing workflows kept ($kept_spans spans) as with --tail-stream;" \
	"ring bytes ${bytes[kernel]} vs ${bytes[stream]}; $held held, $freed freed"

# 2. --tail-buffer 200 holds 2 spans of 72 bytes: a passing workflow (33 children)
# outgrows it and is streamed and dropped in userspace; a failing one (validate and
# sequential) fits, so the kernel still decides it
"$TTATRACE" --config tools/workflow-demo.yaml --sample 0 --tail-buffer 200 --format jsonl \
	-o "$T/small.jsonl" -- "$DEMO" --iterations $N --fail-every 5 >"$T/small.out" 2>"$T/small.err" ||
	{ cat "$T/small.err" >&2; fail "--tail-buffer 200: ttatrace failed"; }
o=$T/small.err
grep -q "drops: ring buffer full 0," "$o" || { cat "$o" >&2; fail "--tail-buffer 200: ring drops"; }
read -r traces spans < <(trees "$T/small.jsonl")
cmp -s <(cut -d' ' -f1,2,3,4,10 "$T/kernel.jsonl.trees") <(cut -d' ' -f1,2,3,4,10 "$T/small.jsonl.trees") ||
	{ diff <(cut -d' ' -f1,3,4 "$T/kernel.jsonl.trees") <(cut -d' ' -f1,3,4 "$T/small.jsonl.trees") >&2
	  fail "--tail-buffer 200 exported other trees than the full buffer"; }
outgrew=$(field "$o" 'dropped traces \([0-9]+ finished after their root\); ([0-9]+) traces outgrew')
nobuf=$(field "$o" 'traces outgrew their buffer and ([0-9]+) spans found none')
instead=$(field "$o" 'streamed instead: ([0-9]+) spans')
held=$(field "$o" 'tail rules in the kernel: ([0-9]+) spans held')
sent=$(field "$o" 'spans held, ([0-9]+) sent on')
freed=$(field "$o" 'sent on \(kept or outgrown traces\), ([0-9]+) freed')
kdropped=$(field "$o" 'freed with ([0-9]+) dropped traces')
udropped=$(field "$o" '\); ([0-9]+) traces \([0-9]+ spans\) dropped there')
uspans=$(field "$o" '; [0-9]+ traces \(([0-9]+) spans\) dropped there')
assert_eq "$outgrew" $((N - N / 5)) "--tail-buffer 200: traces that outgrew their buffer (every passing workflow)"
assert_eq "$nobuf" 0 "--tail-buffer 200: spans without a buffer"
assert_eq "$kdropped" 0 "--tail-buffer 200: traces dropped in the kernel (all outgrew it)"
assert_eq "$freed" 0 "--tail-buffer 200: held spans freed"
assert_eq "$udropped" $((N - N / 5)) "--tail-buffer 200: traces dropped in userspace"
assert_eq "$held" $((sent - N / 5 + freed)) "--tail-buffer 200: held = (sent on - kept roots) + freed"
# each outgrown trace held 2 children (validate, then the conditional's branch) before
# the third overflowed; the failing ones held their 2 children
assert_eq "$held" $((2 * N)) "--tail-buffer 200: spans held (2 per workflow)"
# an outgrown trace reached userspace whole: its held spans at the root's exit, the rest streamed
assert_eq "$((instead + held - 2 * N / 5))" "$uspans" "--tail-buffer 200: spans of the outgrown traces"
echo "tail buffer 200: $outgrew traces outgrew it, $instead spans streamed; still $traces whole failing traces"

# 3. --keep-slow 45ms in the kernel: every 4th workflow sleeps 50 ms more in
# tta_step_finalize (a fast one takes ~10-30 ms); exactly those are kept
M=60
"$TTATRACE" --sample 0 --no-keep-errors --keep-slow 45ms --probe tta_workflow_run --probe tta_sequential \
	--probe tta_step_finalize --format jsonl -o "$T/slow.jsonl" -- \
	"$DEMO" --iterations $M --slow-every 4 >"$T/slow.out" 2>"$T/slow.err" ||
	{ cat "$T/slow.err" >&2; fail "--keep-slow: ttatrace failed"; }
read -r traces spans < <(trees "$T/slow.jsonl")
assert_eq "$traces" $((M / 4)) "--keep-slow: traces kept"
assert_eq "$spans" $((3 * M / 4)) "--keep-slow: spans (workflow, sequential, finalize per trace)"
# the slow step is in each kept trace: its only leaf, tta_step_finalize, lasted 50 ms
awk '$2 != "tta_workflow_run" || $4 != "slow" || $6 < 45000000 || $9 < 50000000 ||
	$10 != "tta_sequential,tta_step_finalize,tta_workflow_run" { bad++ } END { exit bad > 0 }' \
	"$T/slow.jsonl.trees" || { cat "$T/slow.jsonl.trees" >&2; fail "--keep-slow kept a trace without the slow step"; }
grep -q "exported 0 head-sampled, 0 kept for an error, $((M / 4)) kept as slow; $((M - M / 4)) dropped" \
	"$T/slow.err" || { cat "$T/slow.err" >&2; fail "--keep-slow summary"; }
grep -q "unpicked spans streamed to userspace" "$T/slow.err" && fail "--keep-slow streamed spans"
held=$(field "$T/slow.err" 'tail rules in the kernel: ([0-9]+) spans held')
sent=$(field "$T/slow.err" 'spans held, ([0-9]+) sent on')
freed=$(field "$T/slow.err" 'sent on \(kept or outgrown traces\), ([0-9]+) freed')
assert_eq "$held" $((2 * M)) "--keep-slow: spans held (2 children per workflow)"
assert_eq "$sent" "$spans" "--keep-slow: spans sent on"
assert_eq "$freed" $((2 * (M - M / 4))) "--keep-slow: spans freed with the fast workflows"
echo "keep-slow in kernel: $traces of $M workflows kept, all with the slow step"

# 4. a valid remote traceparent decides its root whenever sampling is on: flag 01
# keeps every workflow under --sample 0.5, flag 00 none; histograms count all
TID=4bf92f3577b34da6a3ce929d0e0e4736
PARENT=00f067aa0ba902b7
W=20
for flag in 01 00; do
	"$TTATRACE" --config tools/workflow-demo.yaml --sample 0.5 --no-keep-errors --format jsonl \
		-o "$T/tp$flag.jsonl" -- "$DEMO" --iterations $W --traceparent "00-$TID-$PARENT-$flag" \
		>"$T/tp$flag.out" 2>"$T/tp$flag.err" || { cat "$T/tp$flag.err" >&2; fail "traceparent $flag: ttatrace failed"; }
	grep -Eq "^workflow-demo:tta_workflow_run +$W " "$T/tp$flag.err" ||
		{ cat "$T/tp$flag.err" >&2; fail "traceparent $flag: histogram lost workflows"; }
	grep -q "invalid traceparents ignored 0" "$T/tp$flag.err" || fail "traceparent $flag: header refused"
done
grep -q "sampling: $W roots followed a remote traceparent's sampled flag ($W set, 0 not)" "$T/tp01.err" ||
	{ cat "$T/tp01.err" >&2; fail "traceparent 01: summary"; }
grep -q "sampling: $W roots followed a remote traceparent's sampled flag (0 set, $W not)" "$T/tp00.err" ||
	{ cat "$T/tp00.err" >&2; fail "traceparent 00: summary"; }
grep -q "$W traces started, $W picked by head sampling; exported $W head-sampled" "$T/tp01.err" ||
	fail "traceparent 01: not every root picked"
grep -q "$W traces started, 0 picked by head sampling; exported 0 head-sampled" "$T/tp00.err" ||
	fail "traceparent 00: a root picked"
assert_eq "$(wc -c <"$T/tp00.jsonl")" 0 "traceparent 00: bytes exported"
read -r traces spans < <(trees "$T/tp01.jsonl" "$PARENT")
assert_eq "$traces" $W "traceparent 01: workflows exported under the remote parent"
assert_eq "$(awk '{ printf "%s ", $1 }' "$T/tp01.jsonl.trees")" "$(seq -s' ' 1000 $((1000 + W - 1))) " \
	"traceparent 01: workflow ids"
# every span belongs to the remote trace
python3 -c 'import json, sys
ids = {json.loads(l)["trace_id"] for l in open(sys.argv[1])}
sys.exit(ids != {sys.argv[2]})' "$T/tp01.jsonl" "$TID" || fail "traceparent 01: a span outside trace $TID"
# whole workflows: as many spans as a run with sampling off
"$TTATRACE" --config tools/workflow-demo.yaml --format jsonl -o "$T/tpref.jsonl" -- \
	"$DEMO" --iterations $W >/dev/null 2>"$T/tpref.err" || fail "reference run failed"
trees "$T/tpref.jsonl" >/dev/null
cmp -s <(cut -d' ' -f1,3,10 "$T/tp01.jsonl.trees") <(cut -d' ' -f1,3,10 "$T/tpref.jsonl.trees") ||
	fail "traceparent 01: workflows differ from a run with sampling off"
echo "traceparent: flag 01 kept $traces of $W workflows ($spans spans) in trace $TID, flag 00 none"

# 5. --target-rate 20/s over two root primitives: rare_root (4/s) is under its fair
# share (10/s) so p stays 1 and every call is a trace; hot_root (300/s) gets the
# rest, ~16/s. Without per-root shares one probability 20/304 for both would export
# ~0.26 rare traces per second: ~4 of 60.
SECS=15
"$TWO_ROOTS" $SECS "$T/go" >"$T/two.out" 2>"$T/two.err" &
FPID=$!
PIDS_TO_KILL+=("$FPID")
wait_for "$T/two.err" "waiting for gate"
"$TTATRACE" -p "$FPID" --target-rate 20/s --no-keep-errors --probe hot_root --probe rare_root \
	--probe root_child --format jsonl -o "$T/two.jsonl" 2>"$T/twot.err" &
TPID=$!
PIDS_TO_KILL+=("$TPID")
wait_for "$T/twot.err" "probes attached"
touch "$T/go"
wait_exit $FPID $((SECS + 30)) || fail "two_roots failed"
wait_exit $TPID 30 || { cat "$T/twot.err" >&2; fail "--target-rate: ttatrace failed"; }
grep -q "drops: ring buffer full 0," "$T/twot.err" || { cat "$T/twot.err" >&2; fail "--target-rate: ring drops"; }
read -r traces spans < <(trees "$T/two.jsonl")
assert_eq "$spans" $((2 * traces)) "--target-rate: spans of whole traces (root + root_child)"
rare=$(sed -n 's/^rare //p' "$T/two.out")
hot=$(sed -n 's/^hot //p' "$T/two.out")
assert_eq "$hot" $((SECS * 300)) "two_roots: hot_root calls"
assert_eq "$rare" $((SECS * 4)) "two_roots: rare_root calls"
grep -Eq "^two_roots:rare_root +$rare " "$T/twot.err" || { cat "$T/twot.err" >&2; fail "histogram: rare_root calls"; }
assert_eq "$(grep -c '^-1 rare_root 2 head 1 ' "$T/two.jsonl.trees")" "$rare" \
	"--target-rate: rare_root traces exported whole at probability 1"
python3 - "$T/two.jsonl.trees" "$T/two.out" <<'PY' || fail "--target-rate: hot_root's share off"
import sys
d = dict(l.split() for l in open(sys.argv[2]))
start, end, rare = int(d["start"]), int(d["end"]), int(d["rare"])
secs = (end - start) / 1e9
hot = [r.split() for r in open(sys.argv[1]) if r.split()[1] == "hot_root"]
settled = [r for r in hot if int(r[7]) >= start + 3e9]
rate = len(settled) / (secs - 3)
share = 20 - rare / secs
p = sum(float(r[4]) for r in settled) / max(len(settled), 1)
hot_rate = int(d["hot"]) / secs
print(f"target-rate 20/s: rare {rare} of {rare} exported; hot {rate:.1f}/s exported after 3 s "
      f"(fair share {share:.1f}/s), mean p {p:.4f} (share / rate {share / hot_rate:.4f})")
assert 0.75 * share <= rate <= 1.25 * share, "hot_root rate not within 25% of its share"
assert 0.75 * share / hot_rate <= p <= 1.25 * share / hot_rate, "hot_root probability off its share"
PY
echo "PASS"
