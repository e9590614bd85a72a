#!/usr/bin/env bash
# The probe governor: a hot function under a broad glob is first muted (no spans,
# histograms still count every call), then detached past the hard limit, with a
# warning naming it, while the target keeps running with unchanged output.
source tests/e2e/lib.sh
need_root_bpf
N=60
HOT=2000
"$DEMO" --iterations $N --hot-calls $HOT >"$T/ref.out" || fail "demo failed untraced"

# 1. muted only: soft limit far below its rate, hard limit far above
"$TTATRACE" --probe 'tta_*' --max-rate-per-probe 200 --max-rate-hard 100000000 --format jsonl \
	-o "$T/mute.jsonl" -- "$DEMO" --iterations $N --hot-calls $HOT --counts "$T/mute.counts" \
	>"$T/mute.out" 2>"$T/mute.err" || { cat "$T/mute.err" >&2; fail "muted run failed"; }
cmp "$T/ref.out" "$T/mute.out" || fail "output changed under the governor"
grep -Eq "warning: workflow-demo:tta_hot_checksum( in pid [0-9]*)? is called [0-9]* times/s, over --max-rate-per-probe 200: its spans stop" \
	"$T/mute.err" || { cat "$T/mute.err" >&2; fail "no mute warning naming the symbol"; }
grep -q "governor: 1 probes muted" "$T/mute.err" || { cat "$T/mute.err" >&2; fail "governor summary"; }
hot_spans=$(grep -c '"name":"tta_hot_checksum"' "$T/mute.jsonl")
[ "$hot_spans" -lt $((N * HOT)) ] || fail "muting did not stop spans ($hot_spans)"
# the kernel's histograms still counted every call
grep -Eq "^workflow-demo:tta_hot_checksum +$((N * HOT)) " "$T/mute.err" ||
	{ grep hot_checksum "$T/mute.err" >&2; fail "histogram count of the hot function"; }
# everything else kept every span
for f in tta_workflow_run tta_retry_attempt tta_step_finalize; do
	want=$(awk -v f=$f '$1 == f {print $2}' "$T/mute.counts")
	assert_eq "$(grep -c "\"name\":\"$f\"" "$T/mute.jsonl")" "$want" "spans of $f beside a muted probe"
done

# 2. detached: past the hard limit the hot probe's uprobes go, the others stay
"$TTATRACE" --probe 'tta_*' --max-rate-per-probe 200 --max-rate-hard 1000 --format jsonl \
	-o "$T/det.jsonl" -- "$DEMO" --iterations $N --hot-calls $HOT --counts "$T/det.counts" \
	>"$T/det.out" 2>"$T/det.err" || { cat "$T/det.err" >&2; fail "detach run failed"; }
cmp "$T/ref.out" "$T/det.out" || fail "output changed when a probe was detached"
grep -Eq "warning: workflow-demo:tta_hot_checksum( in pid [0-9]*)? is called [0-9]* times/s, over the hard limit 1000: detached$" \
	"$T/det.err" || { cat "$T/det.err" >&2; fail "no detach warning"; }
grep -q "governor: [01] probes muted .*1 detached" "$T/det.err" || { cat "$T/det.err" >&2; fail "governor summary"; }
hot_calls_seen=$(grep -E "^workflow-demo:tta_hot_checksum " "$T/det.err" | awk '{print $2}')
[ "${hot_calls_seen:-0}" -lt $((N * HOT)) ] || fail "the hot probe kept firing after detach"
# the other probes of the same file survived the re-attach: the last workflows are whole
last=$(awk '$1 == "tta_workflow_run" {print $2}' "$T/det.counts")
assert_eq "$(grep -c '"name":"tta_workflow_run"' "$T/det.jsonl")" "$last" "workflows traced across the detach"
tail_wf=$(python3 - "$T/det.jsonl" <<'PY'
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
wf = sorted((s for s in spans if s["name"] == "tta_workflow_run"), key=lambda s: s["start_ns"])[-1]
kids = [s for s in spans if s["trace_id"] == wf["trace_id"] and s["name"] == "tta_retry_attempt"]
print(len(kids))
PY
)
assert_eq "$tail_wf" 3 "retry attempts in the last workflow (after the detach)"
