#!/usr/bin/env bash
# Errors by return type (issue 13 item 6): without a catalogue rule a call is an error only
# when its DWARF return type is a signed integer and the value is negative at that width.
# The errtype fixture returns pointers whose low half looks negative, a long whose low half
# is all ones, an unsigned 0xffffffff and a void function leaving -1 in %rax (none of them
# errors) beside int, long, ssize_t and enum functions that really fail a known number of
# times. Exact error counts must agree in --list-probes' rule column, the summary,
# /metrics (ttatrace_primitive_errors_total), the spans' status and the kernel's
# --keep-errors verdict; a copy stripped of DWARF has no rule at all; the catalogue's
# rule always wins ("ret == 0" on a pointer, "(int)ret < 0" on an untyped function,
# "none").
source tests/e2e/lib.sh
need_root_bpf
FIX=${FIX:-$BUILD/fixtures/errtype}
NODEBUG=${NODEBUG:-$BUILD/fixtures/errtype-nodebug}
[ -x "$FIX" ] || fail "$FIX not built"
[ -x "$NODEBUG" ] || fail "$NODEBUG not built (make $NODEBUG)"
command -v curl >/dev/null || fail "curl missing"
N=40
PROBES=(--probe et_int --probe et_long --probe et_ssize --probe et_ptr --probe et_void --probe et_uint
	--probe et_enum)
# exact errors of N rounds with DWARF: every 4th et_int, every 5th et_long, every 8th
# et_ssize, every odd et_enum; never et_ptr, et_void, et_uint
declare -A WANT=([et_int]=$((N / 4)) [et_long]=$((N / 5)) [et_ssize]=$((N / 8)) [et_ptr]=0 [et_void]=0
	[et_uint]=0 [et_enum]=$((N / 2)))

# 1. --list-probes: the rule each function got
"$TTATRACE" --list-probes --probe 'et_*' -- "$FIX" 1 >"$T/list.tsv" 2>"$T/list.err" ||
	{ cat "$T/list.err" >&2; fail "--list-probes failed"; }
head -1 "$T/list.tsv" | grep -q $'\tprobe\terrors$' || { head -1 "$T/list.tsv" >&2; fail "no errors column"; }
rule() { awk -F'\t' -v s="$2" '$2 == s { print $7 }' "$1"; }
while IFS='|' read -r fn want; do
	assert_eq "$(rule "$T/list.tsv" "$fn")" "$want" "--list-probes rule of $fn"
done <<'EOF'
et_int|ret<0 (int)
et_long|ret<0 (long int)
et_ssize|ret<0 (ssize_t)
et_enum|ret<0 (enum et_status)
et_short|ret<0 (short int)
et_typedef_int|ret<0 (et_code_t)
et_ptr|none (pointer)
et_str|none (pointer)
et_void|none (void)
et_uint|none (unsigned int)
et_ulong|none (long unsigned int)
et_bool|none (_Bool)
et_char|none (char)
et_double|none (double)
et_struct|none (struct)
et_color|none (enum et_color)
EOF
"$TTATRACE" --list-probes --probe 'et_*' -- "$NODEBUG" 1 >"$T/list-nodebug.tsv" 2>"$T/list.err" ||
	{ cat "$T/list.err" >&2; fail "--list-probes (no DWARF) failed"; }
n=$(tail -n +2 "$T/list-nodebug.tsv" | wc -l)
assert_eq "$n" 17 "functions listed without DWARF"
assert_eq "$(tail -n +2 "$T/list-nodebug.tsv" | cut -f7 | sort -u)" "none (no type info)" \
	"rule without type information"
cat >"$T/catalog.yaml" <<'YML'
primitives:
  - match: "et_ptr"
    error: ret == 0
  - match: "et_int"
    error: (int)ret < 0
  - match: "et_enum"
    error: none
  - match: "et_long"
    error: ret < 0
YML
"$TTATRACE" --list-probes --config "$T/catalog.yaml" --probe et_long -- "$NODEBUG" 1 >"$T/list-cat.tsv" \
	2>"$T/list.err" || { cat "$T/list.err" >&2; fail "--list-probes with a catalogue failed"; }
"$TTATRACE" --list-probes --probe et_uint -- "$NODEBUG" 1 >"$T/list-one.tsv" 2>"$T/list.err" ||
	{ cat "$T/list.err" >&2; fail "--list-probes failed"; }
assert_eq "$(rule "$T/list-one.tsv" et_uint)" "none (no type info)" "et_uint without a catalogue"
assert_eq "$(rule "$T/list-cat.tsv" et_ptr)" "catalogue: ret == 0" "catalogue rule of et_ptr"
assert_eq "$(rule "$T/list-cat.tsv" et_int)" "catalogue: (int)ret < 0" "catalogue rule of et_int"
assert_eq "$(rule "$T/list-cat.tsv" et_enum)" "catalogue: none" "catalogue rule of et_enum"
assert_eq "$(rule "$T/list-cat.tsv" et_long)" "catalogue: ret < 0" "catalogue rule of et_long"
# a fully stripped copy with a .gnu_debuglink: the types of its debug file
mkdir "$T/dbg"
objcopy --only-keep-debug "$FIX" "$T/dbg/errtype.debug"
strip -s -o "$T/dbg/errtype" "$FIX"
objcopy --add-gnu-debuglink="$T/dbg/errtype.debug" "$T/dbg/errtype"
"$TTATRACE" --list-probes --probe 'et_*' -- "$T/dbg/errtype" 1 >"$T/list-dbg.tsv" 2>"$T/list.err" ||
	{ cat "$T/list.err" >&2; fail "--list-probes (debug file) failed"; }
assert_eq "$(cut -f2,7 "$T/list-dbg.tsv" | sort)" "$(cut -f2,7 "$T/list.tsv" | sort)" \
	"rules from the debug file"
echo "ok: --list-probes rules (DWARF, a debug file, none, catalogue)"

# error spans per function in a JSON-lines file: "name count" lines
errors_in() {
	python3 - "$1" <<'PY'
import collections, json, sys
calls, errs = collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    s = json.loads(line)
    calls[s["name"]] += 1
    errs[s["name"]] += s["status"] == "error"
    if s["status"] == "error":
        assert s["attributes"].get("error.type") == "ret=%d" % s["ret"], s
for n in sorted(calls):
    print(n, calls[n], errs[n])
PY
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# 2. attached to a gated process: /metrics while it waits, then the summary and the spans
run_gated() { # BINARY NAME [ttatrace options...]
	local bin=$1 name=$2
	shift 2
	local port
	port=$(free_port)
	"$bin" $N "$T/$name.go" >"$T/$name.out" 2>"$T/$name.fix.err" &
	local fpid=$!
	PIDS_TO_KILL+=($fpid)
	wait_for "$T/$name.fix.err" "waiting for gate"
	"$TTATRACE" -p $fpid "$@" --metrics-addr 127.0.0.1:$port --format jsonl -o "$T/$name.jsonl" \
		2>"$T/$name.err" &
	local tpid=$!
	PIDS_TO_KILL+=($tpid)
	wait_for "$T/$name.err" "probes attached"
	touch "$T/$name.go"
	wait_for "$T/$name.out" "done $N" 60
	local i
	for ((i = 0; i < 100; i++)); do
		curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" >"$T/$name.prom" || fail "$name: GET /metrics"
		grep -q "^ttatrace_primitive_calls_total{primitive=\"et_enum\",.*} $N\$" "$T/$name.prom" && break
		sleep 0.1
	done
	kill -TERM $fpid
	wait_exit $tpid 60 || { cat "$T/$name.err" >&2; fail "$name: ttatrace exited non-zero"; }
	errors_in "$T/$name.jsonl" >"$T/$name.errs" || fail "$name: spans"
}

# check NAME FN ERRORS: the same count everywhere
check() {
	local name=$1 fn=$2 want=$3 line pct
	line=$(grep "^ttatrace_primitive_calls_total{primitive=\"$fn\"," "$T/$name.prom") ||
		{ cat "$T/$name.prom" >&2; fail "$name: no calls_total of $fn"; }
	assert_eq "${line##* }" $N "$name: calls_total of $fn"
	line=$(grep "^ttatrace_primitive_errors_total{primitive=\"$fn\"," "$T/$name.prom") ||
		fail "$name: no errors_total of $fn"
	assert_eq "${line##* }" "$want" "$name: ttatrace_primitive_errors_total of $fn"
	assert_eq "$(grep "^$fn " "$T/$name.errs")" "$fn $N $want" "$name: spans (calls, errors) of $fn"
	pct=$(awk -v w="$want" -v n=$N 'BEGIN { printf "%.2f%%", 100 * w / n }')
	grep -Eq "^[^ ]+:$fn +$N +[0-9.]+ +$pct " "$T/$name.err" ||
		{ grep ":$fn " "$T/$name.err" >&2; fail "$name: summary error rate of $fn is not $pct"; }
}

run_gated "$FIX" dwarf "${PROBES[@]}"
for fn in "${!WANT[@]}"; do
	check dwarf "$fn" "${WANT[$fn]}"
done
echo "ok: by DWARF type: $(for fn in et_int et_long et_ssize et_enum et_ptr et_void et_uint; do printf '%s=%s ' $fn "${WANT[$fn]}"; done)"

# 3. no DWARF: no rule, no errors
run_gated "$NODEBUG" nodebug "${PROBES[@]}"
for fn in "${!WANT[@]}"; do
	check nodebug "$fn" 0
done
echo "ok: without type information every count is 0"

# 4. the catalogue wins: NULL pointers, the old int rule on the untyped copy, none; a
# plain "ret < 0" reads ret at its type's width when there is one (a long's 2^32 - 1 is
# positive), else as shown (a value whose upper half is zero as an int: all 40 calls),
# in the kernel and in userspace alike
run_gated "$NODEBUG" catalog --config "$T/catalog.yaml"
check catalog et_ptr $((N / 10))
check catalog et_int $((N / 4))
check catalog et_enum 0
check catalog et_long $N
run_gated "$FIX" catalog-dwarf --config "$T/catalog.yaml"
check catalog-dwarf et_enum 0
check catalog-dwarf et_ptr $((N / 10))
check catalog-dwarf et_int $((N / 4))
check catalog-dwarf et_long $((N / 5))
echo "ok: catalogue rules win (ret == 0: $((N / 10)), (int)ret < 0: $((N / 4)), none: 0)"

# 5. the kernel's --keep-errors verdict at the root agrees: every call is a root, so
# exactly the failed calls are exported
"$TTATRACE" --sample 0 --keep-errors "${PROBES[@]}" --format jsonl -o "$T/keep.jsonl" -- "$FIX" $N \
	>/dev/null 2>"$T/keep.err" || { cat "$T/keep.err" >&2; fail "--keep-errors run failed"; }
errors_in "$T/keep.jsonl" >"$T/keep.errs"
total=0
for fn in "${!WANT[@]}"; do
	w=${WANT[$fn]}
	total=$((total + w))
	if [ "$w" -eq 0 ]; then
		grep -q "^$fn " "$T/keep.errs" && fail "--keep-errors kept a call of $fn"
	else
		assert_eq "$(grep "^$fn " "$T/keep.errs")" "$fn $w $w" "--keep-errors: kept calls of $fn"
	fi
done
grep -q "0 head-sampled, $total kept for an error, 0 kept as slow" "$T/keep.err" ||
	{ cat "$T/keep.err" >&2; fail "--keep-errors summary: expected $total kept for an error"; }
# 6. CPython's C API (pyenv's 3.12 has DWARF): the functions the issue saw poisoned
PY=/root/.pyenv/versions/3.12.1/bin/python3
[ -x "$PY" ] || fail "CPython 3.12.1 missing: $PY (pyenv's build with symbols)"
"$TTATRACE" --list-probes --probe 'libpython3.12:PyLong_FromLong' --probe 'libpython3.12:PyBuffer_Release' \
	--probe 'libpython3.12:PyObject_Size' --probe 'libpython3.12:PyList_Append' -- "$PY" -c pass \
	>"$T/py.tsv" 2>"$T/py.err" || { cat "$T/py.err" >&2; fail "--list-probes of libpython failed"; }
assert_eq "$(rule "$T/py.tsv" PyLong_FromLong)" "none (pointer)" "PyLong_FromLong"
assert_eq "$(rule "$T/py.tsv" PyBuffer_Release)" "none (void)" "PyBuffer_Release"
assert_eq "$(rule "$T/py.tsv" PyObject_Size)" "ret<0 (Py_ssize_t)" "PyObject_Size"
assert_eq "$(rule "$T/py.tsv" PyList_Append)" "ret<0 (int)" "PyList_Append"
# 500 failing PyObject_Size calls (len() of an object without one raises), none of the
# pointers or releases
"$TTATRACE" --probe 'libpython3.12:PyLong_FromLong' --probe 'libpython3.12:PyBuffer_Release' \
	--probe 'libpython3.12:PyObject_Size' --format none -- "$PY" -c '
import array
b = array.array("b", range(100))
for i in range(5000):
    int(str(i)); memoryview(b).tobytes()
for i in range(500):
    try:
        len(5)  # an int has no length: PyObject_Size returns -1
    except TypeError:
        pass
' >/dev/null 2>"$T/pyrun.err" || { cat "$T/pyrun.err" >&2; fail "libpython run failed"; }
for fn in PyLong_FromLong PyBuffer_Release; do
	grep -Eq "^libpython3\.12[^ ]*:$fn +[0-9]{4,} +[0-9.]+ +0\.00% " "$T/pyrun.err" ||
		{ grep ":$fn " "$T/pyrun.err" >&2; fail "$fn: errors counted"; }
done
# the summary's rate times the count: the 500 failures (start-up has none)
errs=$(awk '$1 ~ /^libpython3\.12[^ ]*:PyObject_Size$/ { sub("%", "", $4); printf "%d", $2 * $4 / 100 + 0.5 }' "$T/pyrun.err")
assert_eq "$errs" 500 "PyObject_Size errors"
echo "ok: libpython 3.12: PyLong_FromLong (pointer) and PyBuffer_Release (void) have no errors, PyObject_Size 500"

echo "PASS: errors by return type agree in --list-probes, summary, /metrics, span status and --keep-errors ($total failed calls of $((7 * N)))"
