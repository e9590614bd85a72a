# Helpers sourced by tests/e2e/test_otlp_*.sh: installs the receiver's npm packages,
# builds the driver, starts and stops receivers, reads the driver's key=value output.
# The sourcing script must have cd'ed to the repository root.

OTLP_BUILD=${BUILD:-build}
OTLP_DRIVER=$OTLP_BUILD/fixtures/otlp_driver
OTLP_RECV_DIR=tests/otlp-receiver
OTLP_TMP=$(mktemp -d /tmp/ttatrace-otlp-e2e.XXXXXX)
OTLP_RECV_PIDS=()
OTLP_FAILS=0

otlp_cleanup() {
	for p in "${OTLP_RECV_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$OTLP_TMP"
}
trap otlp_cleanup EXIT

# Skips (77) without node/npm; installs the pinned packages when missing; builds the driver.
otlp_require() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		echo "SKIP: node and npm are needed for the OTLP test receiver (apt-get install nodejs npm)"
		exit 77
	fi
	if [ ! -d "$OTLP_RECV_DIR/node_modules/@opentelemetry/otlp-transformer" ]; then
		echo "installing the receiver's npm packages (npm ci)"
		if ! (cd "$OTLP_RECV_DIR" && npm ci --no-audit --no-fund --loglevel=error >"$OTLP_TMP/npm.log" 2>&1); then
			cat "$OTLP_TMP/npm.log"
			echo "FAIL: npm ci in $OTLP_RECV_DIR failed"
			exit 1
		fi
	fi
	if ! make --no-print-directory BUILD="$OTLP_BUILD" "$OTLP_DRIVER" >"$OTLP_TMP/make.log" 2>&1; then
		cat "$OTLP_TMP/make.log"
		echo "FAIL: cannot build $OTLP_DRIVER"
		exit 1
	fi
}

# otlp_recv_start NAME [receiver flags...]: sets RECV_PORT, RECV_OUT, RECV_PID.
otlp_recv_start() {
	local name=$1
	shift
	RECV_OUT=$OTLP_TMP/$name.recv.jsonl
	: >"$RECV_OUT"
	rm -f "$OTLP_TMP/$name.port"
	node "$OTLP_RECV_DIR/receiver.mjs" --port 0 --port-file "$OTLP_TMP/$name.port" \
		--out "$RECV_OUT" --max-lifetime-s 120 "$@" 2>>"$OTLP_TMP/$name.recv.log" &
	RECV_PID=$!
	OTLP_RECV_PIDS+=("$RECV_PID")
	for _ in $(seq 100); do
		[ -s "$OTLP_TMP/$name.port" ] && break
		sleep 0.1
	done
	if [ ! -s "$OTLP_TMP/$name.port" ]; then
		cat "$OTLP_TMP/$name.recv.log"
		echo "FAIL: the receiver did not start"
		exit 1
	fi
	RECV_PORT=$(cat "$OTLP_TMP/$name.port")
}

otlp_recv_stop() {
	kill "$RECV_PID" 2>/dev/null
	wait "$RECV_PID" 2>/dev/null
}

# A loopback port nobody listens on.
otlp_free_port() {
	node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# otlp_drive NAME [driver flags...]: runs the driver, stdout to $OTLP_TMP/NAME.out,
# stderr to $OTLP_TMP/NAME.err; sets DRIVE_OUT and DRIVE_ERR; fails the test if it fails.
otlp_drive() {
	local name=$1
	shift
	DRIVE_OUT=$OTLP_TMP/$name.out
	DRIVE_ERR=$OTLP_TMP/$name.err
	if ! ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} "$OTLP_DRIVER" "$@" \
		>"$DRIVE_OUT" 2>"$DRIVE_ERR"; then
		cat "$DRIVE_OUT" "$DRIVE_ERR"
		echo "FAIL: $name: the driver failed"
		exit 1
	fi
}

# otlp_val KEY: a value from the last driver run's output
otlp_val() {
	sed -n "s/^$1=//p" "$DRIVE_OUT" | head -n1
}

otlp_ok() {
	echo "ok - $*"
}

otlp_fail() {
	echo "not ok - $*"
	echo "  driver stdout:"
	sed 's/^/    /' "$DRIVE_OUT" 2>/dev/null
	echo "  driver stderr:"
	sed 's/^/    /' "$DRIVE_ERR" 2>/dev/null
	OTLP_FAILS=$((OTLP_FAILS + 1))
}

# otlp_expect DESCRIPTION CONDITION...: CONDITION is a `test` expression
otlp_expect() {
	local what=$1
	shift
	if test "$@"; then
		otlp_ok "$what"
	else
		otlp_fail "$what ($*)"
	fi
}

otlp_finish() {
	if [ "$OTLP_FAILS" -gt 0 ]; then
		echo "FAIL: $OTLP_FAILS check(s) failed"
		exit 1
	fi
	exit 0
}
