#!/usr/bin/env bash
# Tail sampling for Python primitives (CPython 3.12 and 3.13): under --sample 0, which
# picks no trace, --keep-errors keeps exactly the workflows whose root primitive raised
# (the fixture's sagas, KeyError) and --keep-slow exactly the slow ones (its sequential
# workflows wait for a 50 ms timeout), whole, in the kernel's tail buffers and with
# --tail-stream alike; native spans nested in a kept primitive are kept with it; traces
# that outgrow a small --tail-buffer are decided in userspace, still whole.
source tests/e2e/lib.sh
need_root_bpf
FIX=tests/fixtures/python
N=6

# field FILE REGEX: the first capture group of REGEX (sed -E) in FILE, or fails
field() {
	local v
	v=$(sed -nE "s/.*$2.*/\\1/p" "$1" | head -1)
	[ -n "$v" ] || { cat "$1" >&2; fail "no '$2' in $1"; }
	echo "$v"
}

# kept_by FILE WHY: every span of every exported trace says why it was kept
kept_by() {
	python3 - "$1" "$2" <<'PY' || fail "$1: tta.sampling.kept_by"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
bad = [s["name"] for s in spans if s["attributes"].get("tta.sampling.kept_by") != sys.argv[2]]
assert spans and not bad, "not kept_by %s: %s" % (sys.argv[2], bad[:5])
PY
}

for v in 3.12.1 3.13.0; do
	PY=/root/.pyenv/versions/$v/bin/python3
	[ -x "$PY" ] || fail "CPython $v missing: $PY (the Python tests need pyenv's $v with symbols)"
	for mode in kernel stream; do
		extra=()
		[ $mode = stream ] && extra=(--tail-stream)
		# --keep-errors (on with --sample < 1): the N sagas, whose root raised KeyError
		o=$T/err-$v-$mode
		"$TTATRACE" --config "$FIX/catalog.yaml" --sample 0 "${extra[@]}" --format jsonl -o "$o.jsonl" \
			-- "$PY" "$FIX/app.py" $N >"$o.out" 2>"$o.err" || { cat "$o.err" >&2; fail "$v $mode: ttatrace failed"; }
		grep -q "drops: ring buffer full 0," "$o.err" || { cat "$o.err" >&2; fail "$v $mode: ring drops"; }
		python3 tests/e2e/check_python.py "$o.jsonl" $N saga || { cat "$o.err" >&2; fail "$v $mode: error traces"; }
		kept_by "$o.jsonl" error
		grep -q "exported 0 head-sampled, $N kept for an error, 0 kept as slow; $N dropped" "$o.err" ||
			{ cat "$o.err" >&2; fail "$v $mode: sampling summary (errors)"; }
		if [ $mode = kernel ]; then
			grep -q "unpicked spans streamed to userspace" "$o.err" && fail "$v: kernel mode streamed spans"
			held=$(field "$o.err" 'tail rules in the kernel: ([0-9]+) spans held')
			sent=$(field "$o.err" 'spans held, ([0-9]+) sent on')
			freed=$(field "$o.err" 'sent on \(kept or outgrown traces\), ([0-9]+) freed')
			# the kept sagas: 3 children held and sent, then the root (never held)
			assert_eq "$sent" $((4 * N)) "$v: spans sent on (the kept sagas)"
			assert_eq "$held" $((3 * N + freed)) "$v: held = kept children + freed"
			# the dropped workflows' spans (all but their roots) were freed in the kernel
			spans=$(field "$o.err" 'spans: ([0-9]+) seen')
			assert_eq "$spans" $((4 * N)) "$v: spans that reached userspace"
		else
			grep -q "tail rules in the kernel" "$o.err" && fail "$v: --tail-stream used the kernel buffers"
			dropped=$(field "$o.err" 'streamed to userspace: [0-9]+ \([0-9]+ ring bytes; picked traces: [0-9]+ bytes\); ([0-9]+) traces')
			assert_eq "$dropped" $N "$v: workflows dropped in userspace"
		fi

		# --keep-slow 40ms alone: the N sequential workflows (a 50 ms timeout fires in
		# each), with the native getpid spans made inside their Work steps
		o=$T/slow-$v-$mode
		TT_NATIVE=1 "$TTATRACE" --config "$FIX/catalog.yaml" --probe 'libc:getpid' --sample 0 --no-keep-errors \
			--keep-slow 40ms "${extra[@]}" --format jsonl -o "$o.jsonl" \
			-- "$PY" "$FIX/app.py" $N >"$o.out" 2>"$o.err" || { cat "$o.err" >&2; fail "$v $mode: ttatrace failed"; }
		grep -q "drops: ring buffer full 0," "$o.err" || { cat "$o.err" >&2; fail "$v $mode: ring drops"; }
		grep -v '"name": *"getpid"' "$o.jsonl" >"$o.py.jsonl"
		python3 tests/e2e/check_python.py "$o.py.jsonl" $N sequential ||
			{ cat "$o.err" >&2; fail "$v $mode: slow traces"; }
		kept_by "$o.jsonl" slow
		python3 - "$o.jsonl" <<'PY' || fail "$v $mode: native spans in kept Python traces"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
by_id = {s["span_id"]: s for s in spans}
work = [s for s in spans if s["name"] == "Work.execute"]
native = [s for s in spans if s["name"] == "getpid"]
assert work and len(native) == len(work), "getpid: %d, Work.execute: %d" % (len(native), len(work))
for s in native:
    p = by_id.get(s["parent_span_id"])
    assert p and p["name"] == "Work.execute" and p["trace_id"] == s["trace_id"], "getpid parent"
PY
		grep -q "exported 0 head-sampled, 0 kept for an error, $N kept as slow; " "$o.err" ||
			{ cat "$o.err" >&2; fail "$v $mode: sampling summary (slow)"; }
		# dropped: the sagas and the interpreter's own getpid calls outside any primitive
		started=$(field "$o.err" 'sampling: probability now 0; ([0-9]+) traces started')
		dropped=$(field "$o.err" 'kept as slow; ([0-9]+) dropped')
		assert_eq "$dropped" $((started - N)) "$v $mode: traces dropped (all but the slow ones)"
		[ "$dropped" -ge $N ] || fail "$v $mode: $dropped traces dropped, fewer than the $N sagas"
	done
done
# --tail-buffer 200 holds two spans: a sequential workflow (18 or 19 spans) outgrows it, is
# streamed and decided in userspace, and is still kept whole; the sagas (3 children) too
PY=/root/.pyenv/versions/3.12.1/bin/python3
o=$T/small
"$TTATRACE" --config "$FIX/catalog.yaml" --sample 0 --keep-slow 40ms --tail-buffer 200 --format jsonl \
	-o "$o.jsonl" -- "$PY" "$FIX/app.py" $N >"$o.out" 2>"$o.err" || { cat "$o.err" >&2; fail "small buffer: ttatrace failed"; }
grep -q "drops: ring buffer full 0," "$o.err" || { cat "$o.err" >&2; fail "small buffer: ring drops"; }
python3 tests/e2e/check_python.py "$o.jsonl" $N || { cat "$o.err" >&2; fail "small buffer: traces"; }
grep -q "exported 0 head-sampled, $N kept for an error, $N kept as slow; 0 dropped" "$o.err" ||
	{ cat "$o.err" >&2; fail "small buffer: sampling summary"; }
outgrew=$(field "$o.err" 'after their root\); ([0-9]+) traces outgrew')
assert_eq "$outgrew" $((2 * N)) "small buffer: traces that outgrew it"
echo "python tail sampling: ok"
