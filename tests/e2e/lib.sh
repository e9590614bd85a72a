# Helpers shared by the end-to-end tests (sourced). Tests run from the repo root.
# Exit codes: 0 pass, 77 cannot run here (a reason is printed), anything else fail.
BUILD=${BUILD:-build}
TTATRACE=${TTATRACE:-$BUILD/ttatrace}
DEMO=${DEMO:-$BUILD/workflow-demo}
T=$(mktemp -d /tmp/ttatrace-e2e.XXXXXX)
PIDS_TO_KILL=()

cleanup_e2e() {
	local p
	for p in "${PIDS_TO_KILL[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ -n "${KEEP_E2E:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup_e2e EXIT

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

need_root_bpf() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to load BPF programs"
	[ -r /sys/kernel/btf/vmlinux ] || skip "kernel has no BTF"
	[ -e /sys/bus/event_source/devices/uprobe/type ] || skip "kernel has no uprobe PMU"
	[ -x "$TTATRACE" ] || fail "$TTATRACE not built"
}

# wait_for_file FILE PATTERN [SECONDS]: until FILE contains PATTERN
wait_for() {
	local f=$1 pat=$2 secs=${3:-20} i
	for ((i = 0; i < secs * 20; i++)); do
		grep -q -- "$pat" "$f" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "--- $f:" >&2
	cat "$f" >&2 || true
	fail "timed out waiting for '$pat' in $f"
}

# wait_exit PID SECONDS: waits for a background job, fails if it outlives SECONDS
wait_exit() {
	local pid=$1 secs=${2:-60} i
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid"; return $?; }
		sleep 0.1
	done
	fail "process $pid still running after ${secs}s"
}

# caps_setup: what the least-privilege tests share: capsh, the prefork fixture copied
# to $T/cap-pf, $T readable by other users (their fixtures run as nobody)
caps_setup() {
	command -v capsh >/dev/null || fail "capsh not installed (apt-get install libcap2-bin)"
	PREFORK=${PREFORK:-$BUILD/fixtures/prefork}
	[ -x "$PREFORK" ] || fail "$PREFORK not built"
	chmod 755 "$T"
	cp "$PREFORK" "$T/cap-pf"
}

# caps_drop_except CAP,CAP...: the capsh --drop list that leaves exactly those of the
# bounding set (for least-privilege tests under capsh)
caps_drop_except() {
	capsh --print | sed -n 's/^Bounding set =//p' | tr ',' '\n' |
		grep -vxF -f <(tr ',' '\n' <<<"$1") | paste -sd,
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}
