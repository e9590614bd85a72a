#!/usr/bin/env bash
# Output files (issue 13 item 12): -o, --folded and --svg are not inherited by the
# traced program (close-on-exec); a symlink another user planted in a sticky
# world-writable directory is not followed (its target keeps its content) while
# the user's own symlink and /dev/stdout still work.
source tests/e2e/lib.sh
need_root_bpf
id nobody >/dev/null 2>&1 || fail "no user 'nobody' to own the planted symlinks"

# 1. the traced child's descriptors: none of the outputs among them
"$TTATRACE" --probe 'tta_*' -o "$T/spans.txt" --folded "$T/out.folded" --svg "$T/out.svg" \
	-- "$DEMO" --iterations 1 --gate-file "$T/go" >/dev/null 2>"$T/tt.err" &
tt=$!
PIDS_TO_KILL+=("$tt")
for ((i = 0; i < 200; i++)); do
	child=$(pgrep -f -- "--gate-file $T/go" | grep -v "^$tt\$" | head -1)
	[ -n "$child" ] && [ "$(readlink "/proc/$child/exe")" = "$(readlink -f "$DEMO")" ] && break
	child=
	sleep 0.05
done
[ -n "$child" ] || fail "the traced program did not start"
ls -l "/proc/$child/fd" >"$T/fds"
touch "$T/go"
wait_exit "$tt" 60 || { cat "$T/tt.err" >&2; fail "tracing failed"; }
[ -s "$T/fds" ] || fail "the child listed no descriptors"
if grep -E "spans.txt|out.folded|out.svg" "$T/fds"; then
	fail "the traced program inherited an output file"
fi
grep -q tta_workflow_run "$T/spans.txt" || fail "-o got no spans"
grep -q tta_workflow_run "$T/out.folded" || fail "--folded got no stacks"
grep -q "<svg" "$T/out.svg" || fail "--svg wrote no SVG"

# 2. planted symlinks in a sticky world-writable directory
S="$T/sticky"
mkdir "$S" && chmod 1777 "$S"
for opt in -o --folded --svg; do
	echo precious > "$T/victim$opt"
	ln -s "$T/victim$opt" "$S/link$opt" && chown -h nobody "$S/link$opt"
	"$TTATRACE" --probe 'tta_*' $opt "$S/link$opt" -- "$DEMO" --iterations 1 \
		>/dev/null 2>"$T/planted.err" && fail "$opt: a planted symlink was followed"
	grep -q "symlink owned by another user in a sticky world-writable directory" "$T/planted.err" ||
		{ cat "$T/planted.err" >&2; fail "$opt: no clear error"; }
	assert_eq "$(cat "$T/victim$opt")" precious "$opt: the symlink's target"
done
"$TTATRACE" flamegraph -o "$S/link--svg" tests/fixtures/perf.folded 2>"$T/fg.err" &&
	fail "flamegraph -o followed a planted symlink"
assert_eq "$(cat "$T/victim--svg")" precious "flamegraph -o: the symlink's target"

# 3. the user's own symlink is followed (sticky directory, owned by us) and /dev/stdout
# appends to what the shell redirected
ln -s "$T/mine.folded" "$S/mine"
"$TTATRACE" --probe 'tta_*' --folded "$S/mine" -- "$DEMO" --iterations 1 >/dev/null 2>"$T/mine.err" ||
	{ cat "$T/mine.err" >&2; fail "own symlink refused"; }
grep -q tta_workflow_run "$T/mine.folded" || fail "own symlink: no stacks in its target"
echo "kept line" > "$T/log"
"$TTATRACE" --probe 'tta_*' --format jsonl -o /dev/stdout -- "$DEMO" --iterations 1 \
	>>"$T/log" 2>"$T/stdout.err" || { cat "$T/stdout.err" >&2; fail "-o /dev/stdout"; }
assert_eq "$(head -1 "$T/log")" "kept line" "-o /dev/stdout >> log: the log's first line"
grep -q '"name":"tta_workflow_run"' "$T/log" || fail "-o /dev/stdout: no spans"
# a directory is not an output
"$TTATRACE" --probe 'tta_*' -o "$T" -- "$DEMO" --iterations 1 >/dev/null 2>"$T/dir.err" &&
	fail "-o DIRECTORY accepted"
grep -q "Is a directory" "$T/dir.err" || { cat "$T/dir.err" >&2; fail "-o DIRECTORY: unclear error"; }
echo "ok: outputs close-on-exec, planted symlinks refused, own symlink and /dev/stdout work"
