#!/usr/bin/env bash
# Every bad input gets one clear line on stderr and a non-zero exit.
source tests/e2e/lib.sh
need_root_bpf
command -v setpriv >/dev/null || fail "setpriv (util-linux) missing"
command -v unshare >/dev/null || fail "unshare (util-linux) missing"

sleep 60 &
VICTIM=$!
PIDS_TO_KILL+=($VICTIM)

# expect_err NAME EXIT_CODE PATTERN -- CMD...: exact exit code, a one-line message
expect_err() {
	local name=$1 code=$2 pat=$3
	shift 4
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	[ $rc -eq "$code" ] || { cat "$T/err" >&2; fail "$name: exit $rc, expected $code"; }
	[ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "$name: expected one line on stderr"; }
	grep -Eq "^ttatrace: .*$pat" "$T/err" || { cat "$T/err" >&2; fail "$name: message does not match '$pat'"; }
	echo "ok: $name: $(cat "$T/err")"
}

sleep 0 &
dead=$!
wait $dead
expect_err "no such process" 1 "no such process: $dead" -- "$TTATRACE" -p "$dead" --probe 'x'
expect_err "bad pid" 2 "invalid PID 'abc'" -- "$TTATRACE" -p abc --probe 'x'
expect_err "no target" 2 "no target" -- "$TTATRACE" --probe 'x'
expect_err "no probe" 2 "no --probe" -- "$TTATRACE" -p $VICTIM
expect_err "empty binary" 2 "malformed" -- "$TTATRACE" -p $VICTIM --probe ':foo'
expect_err "bad glob" 2 "malformed.*invalid glob" -- "$TTATRACE" -p $VICTIM --probe 'libc:mem[cpy'
expect_err "empty glob" 2 "malformed.*empty GLOB" -- "$TTATRACE" -p $VICTIM --probe 'libc:'
expect_err "bad format" 2 "unknown --format" -- "$TTATRACE" -p $VICTIM --probe x --format xml
expect_err "nothing matched" 1 "nothing matched.*no_such_function_\*.*searched: sleep, libc" \
	-- "$TTATRACE" -p $VICTIM --probe 'no_such_function_*'
expect_err "missing binary" 1 "/nonexistent/lib.so: No such file" -- "$TTATRACE" -p $VICTIM --probe '/nonexistent/lib.so:f'
expect_err "not ELF" 1 "not an ELF file" -- "$TTATRACE" -p $VICTIM --probe '/etc/passwd:f'
cp "$BUILD/workflow-demo" "$T/unreadable"
chmod 000 "$T/unreadable"
chmod 755 "$T" # the directory is searchable, the file is not readable
expect_err "unreadable binary" 1 "is unreadable: Permission denied" -- setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all --bounding-set=-all "$TTATRACE" -p $VICTIM --probe "$T/unreadable:f"
expect_err "not permitted" 1 "not permitted: missing capabilities CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE .*run as root" -- setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all --bounding-set=-all "$TTATRACE" -p $VICTIM --probe 'nanosleep'
expect_err "unwritable output" 1 "cannot open output" -- "$TTATRACE" -p $VICTIM --probe nanosleep -o /nonexistent/dir/x
expect_err "cannot run command" 1 "cannot run 'no-such-cmd-x'" -- "$TTATRACE" --probe x -- no-such-cmd-x
expect_err "unreachable otlp" 1 "OTLP endpoint unreachable" -- "$TTATRACE" -p $VICTIM --probe nanosleep --otlp http://127.0.0.1:1
# a kernel without BTF or without uprobes: hide them in a private mount namespace
expect_err "no BTF" 1 "kernel lacks BTF" -- unshare -m bash -c \
	"mount -t tmpfs none /sys/kernel/btf && exec \"$TTATRACE\" -p $VICTIM --probe nanosleep"
expect_err "no uprobes" 1 "kernel lacks uprobe support" -- unshare -m bash -c \
	"mount -t tmpfs none /sys/bus/event_source/devices && exec \"$TTATRACE\" -p $VICTIM --probe nanosleep"
kill -0 $VICTIM || fail "the target died"
