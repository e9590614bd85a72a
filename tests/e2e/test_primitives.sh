#!/usr/bin/env bash
# Primitive-aware spans with the shipped catalogue: one tree per workflow across
# threads (pthreads and a thread pool), retry/fallback/timeout/cache/router/saga
# decisions, captured ids, W3C traceparent join; the stripped demo with the
# explicit-offset catalogue gives the same trees.
source tests/e2e/lib.sh
need_root_bpf
N=4
run() { # $1 catalogue, $2 demo binary, $3 tag, rest: demo args
	local cat=$1 demo=$2 tag=$3
	shift 3
	"$TTATRACE" --config "$cat" --format jsonl -o "$T/$tag.jsonl" -- "$demo" --iterations $N "$@" \
		>"$T/$tag.out" 2>"$T/$tag.err" || { cat "$T/$tag.err" >&2; fail "$tag: ttatrace failed"; }
	grep -q "drops: ring buffer full 0" "$T/$tag.err" || { cat "$T/$tag.err" >&2; fail "$tag: drops"; }
}
run tools/workflow-demo.yaml "$DEMO" named
python3 tests/e2e/check_primitives.py "$T/named.jsonl" "$T/named.out" $N || fail "named catalogue"

TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
run tools/workflow-demo.yaml "$DEMO" tp --traceparent $TP
python3 tests/e2e/check_primitives.py "$T/tp.jsonl" "$T/tp.out" $N $TP || fail "traceparent join"

# an invalid traceparent (uppercase hex) is ignored: fresh random trace ids
run tools/workflow-demo.yaml "$DEMO" badtp --traceparent 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01
python3 tests/e2e/check_primitives.py "$T/badtp.jsonl" "$T/badtp.out" $N || fail "invalid traceparent"

# no debug info: explicit offsets give the same trees
cp "$DEMO" "$T/workflow-demo-stripped"
strip --strip-debug "$T/workflow-demo-stripped"
readelf -S "$T/workflow-demo-stripped" | grep -q debug_info && fail "strip left DWARF in place"
run tools/workflow-demo-offsets.yaml "$T/workflow-demo-stripped" stripped
python3 tests/e2e/check_primitives.py "$T/stripped.jsonl" "$T/stripped.out" $N || fail "stripped + offsets"
# the named catalogue on the stripped binary says why captures are missing
"$TTATRACE" --config tools/workflow-demo.yaml --format none -- "$T/workflow-demo-stripped" --iterations 1 \
	>/dev/null 2>"$T/nodebug.err" || fail "stripped + named catalogue should still trace"
grep -q "no debug info" "$T/nodebug.err" || { cat "$T/nodebug.err" >&2; fail "no 'no debug info' warning"; }

# a capture through a bad pointer is an attribute error, never a crash: the cache
# key (a number) read as if it were a pointer
cat >"$T/bad.yaml" <<'YAML'
primitives:
  - match: "tta_cache_get"
    kind: cache
    capture:
      key.deref: "*(u64 *)(arg1 + 0)"
      cache.key: arg1
YAML
"$TTATRACE" --config "$T/bad.yaml" --format jsonl -o "$T/bad.jsonl" -- "$DEMO" --iterations 2 \
	>"$T/bad.out" 2>"$T/bad.err" || { cat "$T/bad.err" >&2; fail "bad-pointer capture run failed"; }
"$DEMO" --iterations 2 >"$T/bad.ref"
cmp "$T/bad.out" "$T/bad.ref" || fail "the target's output changed under a bad capture"
python3 - "$T/bad.jsonl" <<'PY' || fail "bad-pointer capture"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
assert len(spans) == 6, f"{len(spans)} cache spans"
for s in spans:
    a = s["attributes"]
    assert a.get("key.deref.error") == "read failed" and "key.deref" not in a, a
    assert isinstance(a.get("cache.key"), int), a
print("ok: failed reads are attribute errors")
PY
grep -q "capture reads failed 6" "$T/bad.err" || { cat "$T/bad.err" >&2; fail "failed reads not counted"; }
