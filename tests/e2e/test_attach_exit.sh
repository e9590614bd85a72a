#!/usr/bin/env bash
# A target that exits while ttatrace attaches to it (issue 13 item 15): one line
# naming it, exit status 1, never a "cannot attach" line per probe. A test-only hold
# (TTATRACE_TEST_HOLD_ATTACH_MS between reading a file's symbols and creating its
# links; TTATRACE_TEST_HOLD_STOPPED_MS while a launched program waits at its entry)
# makes the window deterministic. With two -p targets, the survivor is traced.
source tests/e2e/lib.sh
need_root_bpf

# other_lines FILE: what ttatrace said besides the test hold and the deny-list warning
other_lines() {
	grep -v -e '^ttatrace: test hold: ' -e '^ttatrace: warning: not probing ' "$1" || true
}

# -p: the target is killed before its libc links are made (2,000+ probes)
sleep 300 &
TP=$!
PIDS_TO_KILL+=($TP)
TTATRACE_TEST_HOLD_ATTACH_MS=5000 "$TTATRACE" -p $TP --probe 'libc:*' --format none \
	2>"$T/p.err" &
AP=$!
PIDS_TO_KILL+=($AP)
wait_for "$T/p.err" "test hold: attaching"
kill -KILL $TP
rc=0
wait_exit $AP 30 || rc=$?
cat "$T/p.err"
assert_eq "$rc" 1 "exit status when the -p target exits during attach"
assert_eq "$(other_lines "$T/p.err")" "ttatrace: pid $TP exited during attach: nothing traced" \
	"what ttatrace said"

# two -p targets, the first exits during attach: one warning, the second is traced
sleep 300 &
TP1=$!
sleep 300 &
TP2=$!
PIDS_TO_KILL+=($TP1 $TP2)
TTATRACE_TEST_HOLD_ATTACH_MS=5000 "$TTATRACE" -p $TP1 -p $TP2 --probe 'libc:nanosleep' \
	--probe 'libc:clock_nanosleep*' --format none 2>"$T/two.err" &
AP=$!
PIDS_TO_KILL+=($AP)
wait_for "$T/two.err" "test hold: attaching"
kill -KILL $TP1
wait_for "$T/two.err" "Ctrl-C to stop"
kill -KILL $TP2
rc=0
wait_exit $AP 30 || rc=$?
cat "$T/two.err"
assert_eq "$rc" 0 "exit status when one of two targets exits during attach"
grep -qx "ttatrace: warning: pid $TP1 exited during attach: not traced" "$T/two.err" ||
	fail "no warning for the target that exited"
grep -q "^ttatrace: [1-9][0-9]* probes attached to 1 process; Ctrl-C to stop$" "$T/two.err" ||
	fail "the survivor is not the one process traced"
grep -q "cannot attach" "$T/two.err" && fail "a 'cannot attach' line per probe"

# launch: the program is killed while stopped at its entry, before its libraries'
# probes go in
TTATRACE_TEST_HOLD_STOPPED_MS=5000 "$TTATRACE" --probe 'libc:*' --format none -- sleep 30 \
	2>"$T/l.err" &
AP=$!
PIDS_TO_KILL+=($AP)
wait_for "$T/l.err" "test hold: child stopped"
CP=$(pgrep -P $AP -x sleep) || fail "the launched program is not running"
kill -KILL "$CP"
rc=0
wait_exit $AP 30 || rc=$?
cat "$T/l.err"
assert_eq "$rc" 1 "exit status when the launched program dies during attach"
assert_eq "$(other_lines "$T/l.err")" \
	"ttatrace: 'sleep' (pid $CP) exited during attach, killed by signal 9: nothing traced" \
	"what ttatrace said in launch mode"
echo PASS
