#!/usr/bin/env bash
# Ring-buffer drops are never silent (issue 13 item 17): with --no-summary and a
# ring buffer far too small for a hot target, a warning says so during the run.
source tests/e2e/lib.sh
need_root_bpf
"$TTATRACE" --probe 'tta_*' --no-summary --ringbuf-size 4096 --drain-ms 2000 --format none \
	-- "$DEMO" --iterations 30 --hot-calls 2000 >/dev/null 2>"$T/err" || { cat "$T/err" >&2; fail "tracing failed"; }
n=$(grep -c "ttatrace: warning: ring buffer full: [0-9]* records dropped" "$T/err")
[ "$n" -ge 1 ] || { cat "$T/err" >&2; fail "no drop warning with --no-summary"; }
# rate-limited: one at the start, then at most one per 10 s (the run lasts a few seconds)
[ "$n" -le 2 ] || { cat "$T/err" >&2; fail "$n drop warnings"; }
! grep -q "ttatrace: drops:" "$T/err" || fail "--no-summary printed the summary"
echo "ok: $(grep -m1 "records dropped" "$T/err")"
