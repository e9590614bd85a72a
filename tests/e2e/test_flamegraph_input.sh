#!/usr/bin/env bash
# `ttatrace flamegraph` on hostile input (issue 13 item 14): an endless line is
# refused at the line cap with one clear line (memory stays bounded), a directory
# is named as such, and escape sequences from the input never reach the terminal.
source tests/e2e/lib.sh
[ -x "$TTATRACE" ] || fail "$TTATRACE not built"

# /dev/zero: one clear line, non-zero exit, well under 100 MiB of memory
/usr/bin/time -f "%M" -o "$T/rss" timeout 60 "$TTATRACE" flamegraph /dev/zero >/dev/null 2>"$T/zero.err"
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat "$T/zero.err" >&2; fail "/dev/zero: exit $rc"; }
assert_eq "$(cat "$T/zero.err")" "ttatrace: /dev/zero:1: line longer than 16 MiB (is this a folded file?)" \
	"/dev/zero message"
rss_kb=$(tail -1 "$T/rss")
[ "$rss_kb" -lt 102400 ] || fail "/dev/zero: $rss_kb KiB resident"

# a directory
"$TTATRACE" flamegraph "$T" >/dev/null 2>"$T/dir.err" && fail "a directory was accepted"
assert_eq "$(cat "$T/dir.err")" "ttatrace: $T: is a directory (expected a folded file)" "directory message"

# escape sequences in a file's name and content come out escaped
name=$(printf '%s/evil\033]0;title\007.folded' "$T")
printf 'a;b \033[2J\n' >"$name"
"$TTATRACE" flamegraph "$name" >/dev/null 2>"$T/esc.err" && fail "no stacks, yet exit 0"
if LC_ALL=C grep -q "$(printf '\033')" "$T/esc.err" || LC_ALL=C grep -q "$(printf '\007')" "$T/esc.err"; then
	fail "raw escape sequences in the messages: $(od -c "$T/esc.err" | head)"
fi
grep -qF 'evil\x1b]0;title\x07.folded:1: count '"'"'\x1b[2J'"'"' is not a non-negative integer' "$T/esc.err" ||
	{ cat -v "$T/esc.err" >&2; fail "escaped message"; }
echo "ok: endless line capped (${rss_kb} KiB), directory named, escapes escaped"
