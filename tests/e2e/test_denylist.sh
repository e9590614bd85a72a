#!/usr/bin/env bash
# The deny list: a glob that matches setjmp-like functions (libc:*jmp*) must not put a
# return probe on them: the jmp_buf would keep the kernel's trampoline address and the
# longjmp back kills the target (tests/fixtures/pairing.c calls setjmp and longjmp in
# a loop). They are skipped with one warning naming them; the rest is traced; and
# --allow-unsafe-probes is the only way to probe them (shown with --list-probes).
source tests/e2e/lib.sh
need_root_bpf
PAIRING=${PAIRING:-$BUILD/fixtures/pairing}
[ -x "$PAIRING" ] || fail "$PAIRING not built"

N=20
"$TTATRACE" --probe 'libc:*jmp*' --probe jump_root --format jsonl -o "$T/spans.jsonl" \
	-- "$PAIRING" $N >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "ttatrace failed"; }
assert_eq "$(cat "$T/out")" "$("$PAIRING" $N)" "the fixture's output (it must survive)"
assert_eq "$(grep -c 'warning: not probing' "$T/err")" 1 "one deny-list warning"
grep 'warning: not probing' "$T/err" | grep -q '_setjmp' ||
	{ cat "$T/err" >&2; fail "the warning does not name _setjmp"; }
grep -q -- '--allow-unsafe-probes' "$T/err" || fail "the warning does not name the override"
# the rest of the glob is traced: the longjmp side (no return probe problem) and jump_root
assert_eq "$(grep -c '"name":"jump_root"' "$T/spans.jsonl")" $N "jump_root spans"
grep -q '"name":"_setjmp"' "$T/spans.jsonl" && fail "a span of _setjmp: it was probed"
"$TTATRACE" --list-probes --probe 'libc:*jmp*' -- "$PAIRING" >"$T/list" 2>"$T/list.err" ||
	fail "--list-probes failed"
cut -f2 "$T/list" | grep -qx '_setjmp' && fail "--list-probes lists _setjmp without the override"
"$TTATRACE" --list-probes --allow-unsafe-probes --probe 'libc:*jmp*' -- "$PAIRING" >"$T/list2" \
	2>/dev/null || fail "--list-probes --allow-unsafe-probes failed"
cut -f2 "$T/list2" | grep -qx '_setjmp' || fail "--allow-unsafe-probes does not list _setjmp"
grep -q 'not probing' "$T/list2" && fail "a warning despite the override"
echo PASS
