#!/usr/bin/env bash
# Sampling: --sample P exports a binomial share of whole traces while the kernel
# histograms still count every call; --keep-errors and --keep-slow keep exactly
# the failing and the slow workflows head sampling dropped; a sampled trace that
# crosses threads is complete.
source tests/e2e/lib.sh
need_root_bpf
[ -x "$DEMO" ] || fail "$DEMO not built"

# check_traces FILE: every trace has one root, every parent in the trace; prints
# "traces spans" and the root durations/returns to FILE.roots
check_traces() {
	python3 - "$1" <<'PY' || fail "incomplete traces in $1"
import json, sys
from collections import defaultdict
tr = defaultdict(list)
for line in open(sys.argv[1]):
    s = json.loads(line)
    tr[s["trace_id"]].append(s)
with open(sys.argv[1] + ".roots", "w") as out:
    for tid, spans in tr.items():
        ids = {s["span_id"] for s in spans}
        roots = [s for s in spans if not s["parent_span_id"]]
        if len(roots) != 1:
            sys.exit(f"trace {tid}: {len(roots)} roots")
        for s in spans:
            if s["parent_span_id"] and s["parent_span_id"] not in ids:
                sys.exit(f"trace {tid}: orphan {s['name']}")
        r = roots[0]
        print(r["name"], r["duration_ns"], r["ret"], len(spans),
              r["attributes"].get("tta.sampling.probability", "none"),
              r["attributes"].get("tta.sampling.kept_by", "head"), file=out)
print(len(tr), sum(len(v) for v in tr.values()))
PY
}

# 1. head sampling at 10% over 2000 workflows, two cheap probes per workflow
N=2000
"$TTATRACE" --sample 0.1 --no-keep-errors --probe tta_workflow_run --probe tta_sequential \
	--format jsonl -o "$T/p10.jsonl" -- "$DEMO" --iterations $N >"$T/p10.out" 2>"$T/p10.err" ||
	{ cat "$T/p10.err" >&2; fail "--sample 0.1: ttatrace failed"; }
grep -q "drops: ring buffer full 0" "$T/p10.err" || { cat "$T/p10.err" >&2; fail "drops"; }
read -r traces spans < <(check_traces "$T/p10.jsonl")
# mean 200, sigma sqrt(2000 * 0.1 * 0.9) = 13.4: 4 sigma is 54
[ "$traces" -ge 146 ] && [ "$traces" -le 254 ] || fail "--sample 0.1: $traces traces of $N, outside 200 +- 54"
assert_eq "$spans" $((2 * traces)) "--sample 0.1: spans of complete traces (root + tta_sequential)"
awk '$1 != "tta_workflow_run" || $4 != 2 || $5 != 0.1 || $6 != "head" { bad++ } END { exit bad > 0 }' \
	"$T/p10.jsonl.roots" || fail "--sample 0.1: a root is not tta_workflow_run with 2 spans and probability 0.1"
# the histograms still count every call
grep -Eq "^workflow-demo:tta_workflow_run +$N " "$T/p10.err" || { cat "$T/p10.err" >&2; fail "histogram lost calls"; }
grep -Eq "^workflow-demo:tta_sequential +$N " "$T/p10.err" || fail "histogram lost tta_sequential calls"
grep -q "sampling: probability now 0.1; $N traces started, $traces picked" "$T/p10.err" ||
	{ cat "$T/p10.err" >&2; fail "sampling summary"; }
echo "sample 0.1: $traces of $N traces exported"

# 2. --sample 0 --keep-errors: exactly the failing workflows, whole
M=200
"$TTATRACE" --sample 0 --keep-errors --probe 'tta_*' --format jsonl -o "$T/err.jsonl" -- \
	"$DEMO" --iterations $M --fail-every 5 >"$T/err.out" 2>"$T/err.err" ||
	{ cat "$T/err.err" >&2; fail "--keep-errors: ttatrace failed"; }
read -r traces spans < <(check_traces "$T/err.jsonl")
failing=$(grep -c "result=error" "$T/err.out")
assert_eq "$failing" $((M / 5)) "failing workflows"
assert_eq "$traces" "$failing" "--keep-errors: traces kept"
awk '$1 != "tta_workflow_run" || $3 >= 0 || $6 != "error" { bad++ } END { exit bad > 0 }' \
	"$T/err.jsonl.roots" || fail "--keep-errors kept a trace whose workflow did not fail"
grep -q "kept for an error" "$T/err.err" || fail "no tail summary"
# (thread-pool tasks are traces of their own without a catalogue: they are discarded too)
grep -q "0 head-sampled, $failing kept for an error, 0 kept as slow; " "$T/err.err" ||
	{ cat "$T/err.err" >&2; fail "--keep-errors summary"; }
# a failing workflow's trace has as many spans as with sampling off
"$TTATRACE" --probe 'tta_*' --format jsonl -o "$T/all.jsonl" -- \
	"$DEMO" --iterations 10 --fail-every 5 >/dev/null 2>"$T/all.err" || fail "reference run failed"
check_traces "$T/all.jsonl" >/dev/null
want=$(awk '$3 < 0 { print $4 }' "$T/all.jsonl.roots" | sort -u)
got=$(awk '{ print $4 }' "$T/err.jsonl.roots" | sort -u)
assert_eq "$got" "$want" "spans per kept error trace (sampling off gives $want)"
echo "keep-errors: $traces failing traces kept of $M, $spans spans"

# 3. --keep-slow 45ms: exactly the slow workflows (50 ms extra in every 4th; the
# others take at most ~26 ms here, so a loaded machine still leaves a wide margin)
"$TTATRACE" --sample 0 --keep-slow 45ms --probe tta_workflow_run --probe tta_sequential \
	--probe tta_step_finalize --format jsonl -o "$T/slow.jsonl" -- \
	"$DEMO" --iterations 100 --slow-every 4 >"$T/slow.out" 2>"$T/slow.err" ||
	{ cat "$T/slow.err" >&2; fail "--keep-slow: ttatrace failed"; }
read -r traces spans < <(check_traces "$T/slow.jsonl")
assert_eq "$traces" 25 "--keep-slow: traces kept"
awk '$2 < 45000000 || $6 != "slow" { bad++ } END { exit bad > 0 }' "$T/slow.jsonl.roots" ||
	fail "--keep-slow kept a fast trace"
# decided in the kernel: nothing of the 75 fast workflows crossed to userspace
grep -q "tail rules in the kernel: .* 75 dropped traces .*streamed instead: 0 spans" "$T/slow.err" ||
	{ cat "$T/slow.err" >&2; fail "--keep-slow: not decided in the kernel"; }
echo "keep-slow: $traces slow traces kept of 100"

# 4. a sampled trace across threads is complete: same span counts as sampling off
"$TTATRACE" --sample 0.5 --no-keep-errors --probe 'tta_*' --format jsonl -o "$T/half.jsonl" -- \
	"$DEMO" --iterations 60 >/dev/null 2>"$T/half.err" || fail "--sample 0.5 failed"
"$TTATRACE" --probe 'tta_*' --format jsonl -o "$T/full.jsonl" -- \
	"$DEMO" --iterations 60 >/dev/null 2>"$T/full.err" || fail "reference run failed"
read -r traces spans < <(check_traces "$T/half.jsonl")
check_traces "$T/full.jsonl" >/dev/null
# without a catalogue, thread-pool tasks are traces of their own: count what started
read -r started picked < <(sed -n 's/.*sampling: probability now 0.5; \([0-9]*\) traces started, \([0-9]*\) picked.*/\1 \2/p' "$T/half.err")
[ -n "$started" ] || { cat "$T/half.err" >&2; fail "--sample 0.5: no sampling summary"; }
assert_eq "$traces" "$picked" "--sample 0.5: exported traces vs picked"
awk -v n="$started" -v k="$picked" 'BEGIN { sd = sqrt(n * 0.25); d = k - n / 2; exit (d < -4 * sd || d > 4 * sd) }' ||
	fail "--sample 0.5: $picked of $started picked, outside 4 sigma"
full_counts=$(awk '{ print $4 }' "$T/full.jsonl.roots" | sort -u | tr '\n' ' ')
while read -r _ _ _ n _; do
	case " $full_counts" in *" $n "*) ;; *) fail "--sample 0.5: a trace of $n spans (full traces: $full_counts)" ;; esac
done <"$T/half.jsonl.roots"
echo "sample 0.5 across threads: $traces complete traces"

# 4b. with the catalogue, pool tasks join their workflow by context key and
# inherit its decision: no stray pool traces, every kept workflow whole
"$TTATRACE" --config tools/workflow-demo.yaml --sample 0.5 --no-keep-errors --format jsonl \
	-o "$T/cj.jsonl" -- "$DEMO" --iterations 40 >/dev/null 2>"$T/cj.err" || fail "catalogue --sample 0.5 failed"
"$TTATRACE" --config tools/workflow-demo.yaml --format jsonl -o "$T/cjf.jsonl" -- \
	"$DEMO" --iterations 40 >/dev/null 2>"$T/cjf.err" || fail "catalogue reference run failed"
read -r traces spans < <(check_traces "$T/cj.jsonl")
check_traces "$T/cjf.jsonl" >/dev/null
grep -q "sampling: probability now 0.5; 40 traces started, $traces picked" "$T/cj.err" ||
	{ cat "$T/cj.err" >&2; fail "catalogue --sample 0.5: joiners decided on their own"; }
full_counts=$(awk '{ print $4 }' "$T/cjf.jsonl.roots" | sort -u | tr '\n' ' ')
while read -r name _ _ n _; do
	assert_eq "$name" workflow "catalogue --sample 0.5: root"
	case " $full_counts" in *" $n "*) ;; *) fail "catalogue --sample 0.5: a trace of $n spans (full: $full_counts)" ;; esac
done <"$T/cj.jsonl.roots"
echo "catalogue sample 0.5: $traces of 40 workflows, whole (context-key joiners inherit)"

# 4c. --target-rate 20/s through a load change: ~17 workflows/s (all exported, under
# target), then ~55/s; after a bounded settling time (3 s) the exported rate is within
# 25% of the target. The demo's lines are timestamped to find the change.
"$DEMO" --iterations 800 --interval-ms 40 --interval-after 250:0 --gate-file "$T/rgo" 2>"$T/rdemo.err" |
	python3 -c 'import sys, time
for l in sys.stdin: print(time.time_ns(), l, end="", flush=True)' >"$T/rdemo.out" &
wait_for "$T/rdemo.err" "waiting for gate"
RPID=$(pgrep -n -f -- "--interval-after 250:0")
"$TTATRACE" -p "$RPID" --target-rate 20/s --no-keep-errors --probe tta_workflow_run --probe tta_sequential \
	--format jsonl -o "$T/rate.jsonl" 2>"$T/rate.err" &
TPID=$!
wait_for "$T/rate.err" "probes attached"
touch "$T/rgo"
wait_exit $TPID 120 || { cat "$T/rate.err" >&2; fail "--target-rate failed"; }
python3 - "$T/rate.jsonl" "$T/rdemo.out" <<'PY' || fail "--target-rate: exported rate off target"
import json, sys
starts = sorted(json.loads(l)["start_ns"] for l in open(sys.argv[1]) if '"depth":0' in l)
lines = [int(l.split()[0]) for l in open(sys.argv[2]) if " workflow id=" in l]
assert len(lines) == 800, len(lines)
first, change, end = lines[0], lines[249], lines[-1]
def rate(a, b):
    return sum(1 for s in starts if a <= s <= b) / ((b - a) / 1e9)
load1 = 249 / ((change - first) / 1e9)
load2 = 550 / ((end - change) / 1e9)
r1, r2 = rate(first + 3e9, change), rate(change + 3e9, end)
print(f"target-rate 20/s: load {load1:.0f}/s -> exported {r1:.1f}/s; load {load2:.0f}/s -> exported {r2:.1f}/s")
assert load2 > 30, "the load did not rise enough to test the controller"
# under target everything goes out; above it, the controller holds ~20/s
assert r1 >= 0.75 * min(load1, 20), "phase 1 under-exported"
assert 15 <= r2 <= 25, "phase 2 not within 25% of 20/s"
PY

# 5. --list-probes: the demo's 31 functions, nothing loaded, exit 0
CLASS="(nop5|emulated|stepped|refused)"
"$TTATRACE" --list-probes --probe 'tta_*' -- "$DEMO" >"$T/list.out" 2>"$T/list.err" ||
	{ cat "$T/list.err" >&2; fail "--list-probes failed"; }
assert_eq "$(head -1 "$T/list.out")" "$(printf 'binary\tsymbol\toffset\taddress\tentry\tprobe\terrors')" "--list-probes header"
assert_eq "$(tail -n +2 "$T/list.out" | wc -l)" 31 "--list-probes: demo functions"
# the error rule from each return type (DWARF): int, and the checksum's uint64_t
for f in "tta_workflow_run|ret<0 (int)" "tta_sequential|ret<0 (int)" "tta_retry_attempt|ret<0 (int)" \
	"tta_pool_task|ret<0 (int)" "tta_hot_checksum|none (uint64_t)"; do
	awk -F'\t' -v s="${f%%|*}" -v r="${f#*|}" -v c="^$CLASS$" -v p="^$CLASS(@\\+[0-9]+)?$" \
		'$1 ~ /workflow-demo$/ && $2 == s && $3 ~ /^0x[0-9a-f]+$/ && $4 ~ /^0x[0-9a-f]+$/ &&
		 $5 ~ c && $6 ~ p && $7 == r { ok = 1 } END { exit !ok }' "$T/list.out" ||
		{ grep "${f%%|*}" "$T/list.out" >&2; fail "--list-probes: no ${f%%|*} with rule ${f#*|}"; }
done
grep -q "31 functions would be probed" "$T/list.err" || fail "--list-probes count line"
# a program not started: its libraries, as its loader resolves them (not run)
"$TTATRACE" --list-probes --probe 'libc:malloc' --probe tta_workflow_run -- "$DEMO" >"$T/listl.out" 2>"$T/listl.err" ||
	{ cat "$T/listl.err" >&2; fail "--list-probes with a library failed"; }
grep -Eq "libc[^	]*	malloc	0x[0-9a-f]+	0x[0-9a-f]+	$CLASS	$CLASS(@\+[0-9]+)?	none \((pointer|no type info)\)$" "$T/listl.out" ||
	{ cat "$T/listl.out" "$T/listl.err" >&2; fail "--list-probes -- CMD: no libc malloc"; }
grep -q "2 functions would be probed" "$T/listl.err" || fail "--list-probes -- CMD: count with a library"
# a running process: its libraries too
"$DEMO" --iterations 0 --interval-ms 50 >/dev/null &
dp=$!
PIDS_TO_KILL+=("$dp")
sleep 0.3
"$TTATRACE" --list-probes -p "$dp" --probe tta_workflow_run --probe 'libc:malloc' >"$T/list2.out" 2>&1 ||
	{ cat "$T/list2.out" >&2; fail "--list-probes -p failed"; }
grep -q "	tta_workflow_run	" "$T/list2.out" || fail "--list-probes -p: no tta_workflow_run"
grep -Eq "libc[^	]*	malloc	" "$T/list2.out" || fail "--list-probes -p: no libc malloc"
kill "$dp"
# nothing is loaded: it works without any privilege (a load would fail with EPERM)
if [ -x /usr/bin/setpriv ] && setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$DEMO"; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$TTATRACE" --list-probes --probe 'tta_*' \
		-- "$DEMO" >"$T/list3.out" 2>"$T/list3.err" || { cat "$T/list3.err" >&2; fail "--list-probes as nobody"; }
	cmp -s "$T/list.out" "$T/list3.out" || fail "--list-probes as nobody differs"
fi
echo "list-probes: ok"
echo "PASS"
