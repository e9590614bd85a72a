#!/usr/bin/env bash
# Stripped binaries with separate debug files: symbols come from the debug file found by
# build-id (a --debug-dir or TTATRACE_DEBUG_DIRS tree, /usr/lib/debug in the target's
# root) or by .gnu_debuglink (next to the file, its .debug/, CRC-32 checked), and their
# addresses apply to the stripped file: the same probes at the same offsets, the same
# spans, captures by field name from its DWARF. Without one, one line says what was
# looked for and what to install.
source tests/e2e/lib.sh
need_root_bpf
[ -x "$DEMO" ] || fail "$DEMO not built"
FIX=tests/fixtures/python
command -v objcopy >/dev/null || fail "objcopy missing (binutils)"

# split FILE DEBUG OUT: DEBUG keeps FILE's symbols and debug info, OUT is FILE stripped
# of everything but its dynamic symbols, with a .gnu_debuglink naming DEBUG's base name
split() {
	objcopy --only-keep-debug "$1" "$2" || fail "objcopy --only-keep-debug $1"
	objcopy --strip-all --add-gnu-debuglink="$2" "$1" "$3" || fail "objcopy --strip-all $1"
	readelf -SW "$3" | grep -q ' \.symtab ' && fail "$3 still has a .symtab"
	readelf -SW "$3" | grep -q ' \.gnu_debuglink ' || fail "$3 has no .gnu_debuglink"
}
build_id() { readelf -n "$1" | sed -n 's/.*Build ID: *//p'; }
# tree DIR FILE DEBUG: DEBUG as FILE's build-id debug file under DIR/.build-id
tree() {
	local id
	id=$(build_id "$2")
	[ -n "$id" ] || fail "$2 has no build-id"
	mkdir -p "$1/.build-id/${id:0:2}"
	cp "$3" "$1/.build-id/${id:0:2}/${id:2}.debug"
}
# names FILE: "count name" per span name of a JSONL export, sorted
names() { python3 -c 'import collections, json, sys
c = collections.Counter(json.loads(l)["name"] for l in open(sys.argv[1]))
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))' "$1"; }

# 1. native probes: a stripped copy of the demo, its debug file kept elsewhere
mkdir -p "$T/native" "$T/keep" "$T/ids"
split "$DEMO" "$T/keep/workflow-demo.debug" "$T/native/workflow-demo"
N=20
"$TTATRACE" --probe 'tta_*' --list-probes -- "$DEMO" --iterations 1 2>"$T/list-ref.err" |
	cut -f2- | sort >"$T/list-ref" || { cat "$T/list-ref.err" >&2; fail "--list-probes of the demo"; }
[ "$(wc -l <"$T/list-ref")" -ge 10 ] || fail "--list-probes of the demo: $(wc -l <"$T/list-ref") probes"
"$TTATRACE" --probe 'tta_*' --format jsonl -o "$T/ref.jsonl" -- "$DEMO" --iterations $N >/dev/null \
	2>"$T/ref.err" || { cat "$T/ref.err" >&2; fail "reference run"; }

# no debug file anywhere: one line naming the build-id, the debuglink and what to do
"$TTATRACE" --probe 'tta_*' --format none -- "$T/native/workflow-demo" --iterations 1 >/dev/null \
	2>"$T/none.err" && fail "a stripped demo without its debug file should match nothing"
id=$(build_id "$T/native/workflow-demo")
grep -q "nothing matched.*has no .symtab and no debug file found for build-id $id.*by .gnu_debuglink workflow-demo.debug: install its debug symbols.*--debug-dir" \
	"$T/none.err" || { cat "$T/none.err" >&2; fail "stripped, no debug file: message"; }
[ "$(wc -l <"$T/none.err")" -eq 1 ] || { cat "$T/none.err" >&2; fail "more than one error line"; }

# by build-id under --debug-dir, then TTATRACE_DEBUG_DIRS: the same probes, offsets and spans
tree "$T/ids" "$T/native/workflow-demo" "$T/keep/workflow-demo.debug"
"$TTATRACE" --debug-dir "$T/ids" --probe 'tta_*' --list-probes -- "$T/native/workflow-demo" --iterations 1 \
	2>"$T/list.err" | cut -f2- | sort >"$T/list" || { cat "$T/list.err" >&2; fail "--list-probes, stripped"; }
cmp -s "$T/list-ref" "$T/list" || { diff "$T/list-ref" "$T/list" >&2; fail "probes of the stripped demo differ"; }
TTATRACE_DEBUG_DIRS="/nonexistent:$T/ids" "$TTATRACE" -v --probe 'tta_*' --format jsonl -o "$T/env.jsonl" \
	-- "$T/native/workflow-demo" --iterations $N >/dev/null 2>"$T/env.err" ||
	{ cat "$T/env.err" >&2; fail "TTATRACE_DEBUG_DIRS run"; }
grep -q "symbols of .*workflow-demo from its debug file $T/ids/.build-id/" "$T/env.err" ||
	{ cat "$T/env.err" >&2; fail "-v does not name the debug file"; }
assert_eq "$(names "$T/env.jsonl")" "$(names "$T/ref.jsonl")" "spans of the stripped demo (build-id)"

# by .gnu_debuglink next to the file, then in its .debug/; a file of that name with
# another CRC-32 is refused
cp "$T/keep/workflow-demo.debug" "$T/native/.debug-tmp"
cp "$DEMO" "$T/native/workflow-demo.debug" # the right name, the wrong contents
"$TTATRACE" --probe 'tta_*' --format none -- "$T/native/workflow-demo" --iterations 1 >/dev/null \
	2>"$T/crc.err" && fail "a debuglink file with another CRC-32 was used"
grep -q "workflow-demo.debug has another CRC-32" "$T/crc.err" || { cat "$T/crc.err" >&2; fail "CRC-32 message"; }
mv "$T/native/.debug-tmp" "$T/native/workflow-demo.debug"
"$TTATRACE" --probe 'tta_*' --format jsonl -o "$T/link.jsonl" -- "$T/native/workflow-demo" --iterations $N \
	>/dev/null 2>"$T/link.err" || { cat "$T/link.err" >&2; fail "debuglink run"; }
assert_eq "$(names "$T/link.jsonl")" "$(names "$T/ref.jsonl")" "spans of the stripped demo (debuglink)"
# captures by field name (the catalogue's arg0->workflow_id ...) from the debug file's DWARF
"$TTATRACE" --config tools/workflow-demo.yaml --format jsonl -o "$T/cref.jsonl" -- "$DEMO" --iterations $N \
	>/dev/null 2>"$T/cref.err" || { cat "$T/cref.err" >&2; fail "catalogue reference run"; }
"$TTATRACE" --config tools/workflow-demo.yaml --format jsonl -o "$T/cap.jsonl" -- "$T/native/workflow-demo" \
	--iterations $N >/dev/null 2>"$T/cap.err" || { cat "$T/cap.err" >&2; fail "catalogue run, stripped"; }
grep -q "left out" "$T/cap.err" && { cat "$T/cap.err" >&2; fail "captures left out on the stripped demo"; }
python3 - "$T/cref.jsonl" "$T/cap.jsonl" $N <<'PY' || fail "captures of the stripped demo"
import collections, json, sys
def keys(path):
    spans = [json.loads(l) for l in open(path)]
    return spans, collections.Counter((s["name"], tuple(sorted(s["attributes"]))) for s in spans)
ref, kref = keys(sys.argv[1])
got, kgot = keys(sys.argv[2])
assert kref == kgot, "attribute names per span differ: %s" % (set(kref) ^ set(kgot))
wf = sorted(s["attributes"]["workflow.id"] for s in got if s["name"] == "workflow")
assert wf == list(range(1000, 1000 + int(sys.argv[3]))), wf
assert all(s["attributes"]["session.id"] == "sess-demo" for s in got if s["name"] == "workflow")
PY
mkdir "$T/native/.debug"
mv "$T/native/workflow-demo.debug" "$T/native/.debug/"
"$TTATRACE" --probe 'tta_*' --format jsonl -o "$T/sub.jsonl" -- "$T/native/workflow-demo" --iterations $N \
	>/dev/null 2>"$T/sub.err" || { cat "$T/sub.err" >&2; fail "debuglink in .debug/ run"; }
assert_eq "$(names "$T/sub.jsonl")" "$(names "$T/ref.jsonl")" "spans of the stripped demo (.debug/)"

# 2. a container's view: the debug file is in the target's root only (its
# /usr/lib/debug/.build-id), found through /proc/PID/root
R=$T/root
mkdir -p "$R/usr/lib/debug" "$R/lib64"
cp "$T/native/workflow-demo" "$R/workflow-demo"
for lib in $(ldd "$DEMO" | grep -o '/[^ ]*'); do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
tree "$R/usr/lib/debug" "$R/workflow-demo" "$T/keep/workflow-demo.debug"
rm -rf "$T/native/.debug"
chroot "$R" /workflow-demo --gate-file /go --iterations $N >"$T/chroot.out" 2>&1 &
APP=$!
sleep 0.3
"$TTATRACE" -p $APP --probe 'tta_*' --format jsonl -o "$T/chroot.jsonl" >/dev/null 2>"$T/chroot.err" &
TT=$!
wait_for "$T/chroot.err" "probes attached" 20
touch "$R/go"
wait $APP || { cat "$T/chroot.out" >&2; fail "the chrooted demo failed"; }
wait_exit $TT 30 || { cat "$T/chroot.err" >&2; fail "ttatrace -p on the chrooted demo"; }
assert_eq "$(names "$T/chroot.jsonl")" "$(names "$T/ref.jsonl")" "spans of the chrooted stripped demo"

# 3. a stripped libpython (3.12): Python primitives through its debug file
P=/root/.pyenv/versions/3.12.1
PY=$P/bin/python3
[ -x "$PY" ] || fail "CPython 3.12.1 missing: $PY (the Python tests need pyenv's 3.12.1 with symbols)"
L=libpython3.12.so.1.0
mkdir -p "$T/py/lib" "$T/py/keep" "$T/py/ids"
split "$P/lib/$L" "$T/py/keep/$L.debug" "$T/py/lib/$L"
LD_LIBRARY_PATH="$T/py/lib" "$TTATRACE" --config "$FIX/catalog.yaml" -- "$PY" "$FIX/app.py" 1 \
	>/dev/null 2>"$T/py-none.err" && fail "a stripped libpython without its debug file was traced"
grep -q "$T/py/lib/$L is stripped (no .symtab, so no _Py_call_instrumentation) and no debug file found for build-id $(build_id "$T/py/lib/$L").*install its debug symbols" \
	"$T/py-none.err" || { cat "$T/py-none.err" >&2; fail "stripped libpython: message"; }
tree "$T/py/ids" "$T/py/lib/$L" "$T/py/keep/$L.debug"
# no _asyncio beside this libpython (nor in /usr/lib/python3.12): traced, and said
LD_LIBRARY_PATH="$T/py/lib" "$TTATRACE" --debug-dir "$T/py/ids" --config "$FIX/catalog.yaml" --format jsonl \
	-o "$T/py-noasync.jsonl" -- "$PY" "$FIX/app.py" 1 >/dev/null 2>"$T/py-noasync.err" ||
	{ cat "$T/py-noasync.err" >&2; fail "stripped libpython without _asyncio beside it"; }
grep -q "warning: pid [0-9]*: no _asyncio module mapped or found (in lib-dynload beside $T/py/lib/$L" \
	"$T/py-noasync.err" || { cat "$T/py-noasync.err" >&2; fail "no warning for the missing _asyncio"; }
[ -s "$T/py-noasync.jsonl" ] || fail "no spans without _asyncio"
ln -s "$P/lib/python3.12" "$T/py/lib/python3.12" # its stdlib and _asyncio, as beside the original
N=3
LD_LIBRARY_PATH="$T/py/lib" "$TTATRACE" --debug-dir "$T/py/ids" --config "$FIX/catalog.yaml" --format jsonl \
	-o "$T/py-id.jsonl" -- "$PY" "$FIX/app.py" $N >/dev/null 2>"$T/py-id.err" ||
	{ cat "$T/py-id.err" >&2; fail "stripped libpython, --debug-dir"; }
python3 tests/e2e/check_python.py "$T/py-id.jsonl" $N || { cat "$T/py-id.err" >&2; fail "stripped libpython: spans"; }
cp "$T/py/keep/$L.debug" "$T/py/lib/"
LD_LIBRARY_PATH="$T/py/lib" "$TTATRACE" --config "$FIX/catalog.yaml" --format jsonl -o "$T/py-link.jsonl" \
	-- "$PY" "$FIX/app.py" $N >/dev/null 2>"$T/py-link.err" ||
	{ cat "$T/py-link.err" >&2; fail "stripped libpython, debuglink"; }
python3 tests/e2e/check_python.py "$T/py-link.jsonl" $N || fail "stripped libpython (debuglink): spans"
echo "debug files: ok"
