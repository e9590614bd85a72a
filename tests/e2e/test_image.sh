#!/usr/bin/env bash
# The container image (make image, FROM scratch) runs the node agent under podman as
# the DaemonSet runs it: --pid=host, every capability dropped but the documented three
# (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE), the shipped seccomp profile, a read-only root.
# It traces processes started on the host after it: exact span counts per pid, nothing
# from a copy under a name no target selects; podman stop (SIGTERM) ends it with exit
# status 0. Once more without CAP_PERFMON: one error line naming it, non-zero exit.
# Python in pods: the image's `python-bootstrap DIR` writes the bootstrap it ships; a
# prepared Python process whose interpreter only its own mount namespace has is traced
# by the image's `ttatrace -p` with the same three capabilities.
source tests/e2e/lib.sh
need_root_bpf
for c in podman buildah runc; do
	command -v $c >/dev/null || fail "$c is not installed (tools/install-deps.sh installs it)"
done
IMAGE=localhost/ttatrace:e2e-$$
NAME=ttatrace-e2e-$$
P=(podman --runtime runc --cgroup-manager cgroupfs)
# root here lacks CAP_SYS_RESOURCE: runc cannot raise the default limits
LIM=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
RUN=(run "${LIM[@]}" --pid=host --read-only --cap-drop=all
	--security-opt "seccomp=$PWD/deploy/seccomp/ttatrace.json" -v "$T:/out" -e NODE_NAME=node-img)
cleanup_img() {
	"${P[@]}" rm -f "$NAME" >/dev/null 2>&1
	"${P[@]}" rmi -f "$IMAGE" >/dev/null 2>&1
	cleanup_e2e
}
trap cleanup_img EXIT

t0=$(date +%s%N)
bash tools/image.sh "$IMAGE" || fail "make image failed"
echo "image built in $((($(date +%s%N) - t0) / 1000000)) ms"
# FROM scratch: the binary, its libraries and loader, certificates, a catalogue; no shell
"${P[@]}" run "${LIM[@]}" --rm "$IMAGE" --version | grep -q '^ttatrace ' || fail "the image's ttatrace does not run"
if "${P[@]}" run "${LIM[@]}" --rm --entrypoint /bin/sh "$IMAGE" -c true 2>/dev/null; then
	fail "the image has a shell: it should hold ttatrace and its libraries only"
fi

cp "$DEMO" "$T/wfd-img"
cp "$DEMO" "$T/wfd-other"
cat >"$T/catalog.yaml" <<YAML
targets:
  - exe: '*/wfd-img'
    service: demo-img
primitives:
  - match: 'tta_workflow_run'
YAML
"${P[@]}" "${RUN[@]}" -d --name "$NAME" --cap-add=CAP_BPF,CAP_PERFMON,CAP_SYS_PTRACE "$IMAGE" \
	agent --config /out/catalog.yaml -v --format jsonl -o /out/spans.jsonl >/dev/null ||
	fail "podman run failed"
for ((i = 0; i < 400; i++)); do
	"${P[@]}" logs "$NAME" 2>&1 | grep -q "running processes matched the targets" && break
	sleep 0.05
done
"${P[@]}" logs "$NAME" 2>&1 | grep -q "running processes matched the targets" ||
	{ "${P[@]}" logs "$NAME" >&2; fail "the agent in the container did not start"; }

# the program's first process: its exec is seen and its probes go in while it waits at
# its gate (calls before that would be the documented first-process gap)
"$T/wfd-img" --iterations 7 --gate-file "$T/goA" --counts "$T/a.counts" >/dev/null & A=$!
for ((i = 0; i < 400; i++)); do
	"${P[@]}" logs "$NAME" 2>&1 | grep -q "tracing pid $A " && break
	sleep 0.05
done
touch "$T/goA"
wait_exit $A 60 || fail "first fixture failed"
"$T/wfd-img" --iterations 3 --counts "$T/b.counts" >/dev/null & B=$!
"$T/wfd-other" --iterations 4 >/dev/null & O=$!
wait_exit $B 60 || fail "second fixture failed"
wait_exit $O 60 || fail "unselected fixture failed"
sleep 1.5 # the last spans drain
t0=$(date +%s%N)
"${P[@]}" stop -t 20 "$NAME" >/dev/null
rc=$("${P[@]}" wait "$NAME" 2>/dev/null | tail -1)
echo "agent stopped in $((($(date +%s%N) - t0) / 1000000)) ms"
"${P[@]}" logs "$NAME" >"$T/agent.err" 2>&1
cat "$T/agent.err"
assert_eq "$rc" 0 "the agent's exit status after SIGTERM"

python3 - "$T/spans.jsonl" "$A" "$B" "$O" <<'PY' || fail "spans from the container are wrong"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
a, b, o = (int(x) for x in sys.argv[2:5])
by = {}
for s in spans:
    assert s["name"] == "tta_workflow_run", s
    assert s["probe"] == "wfd-img:tta_workflow_run", s
    assert s["parent_span_id"] == "", s
    by[s["pid"]] = by.get(s["pid"], 0) + 1
assert by.get(a) == 7, ("first process", by)
assert by.get(b) == 3, ("second process", by)
assert o not in by, ("a process no target selects was traced", by)
assert len(by) == 2, by
print("container agent: 7 + 3 workflows, one span each, nothing from the other copy")
PY
grep -q "tracing pid $B .*from its first call" "$T/agent.err" ||
	fail "the second process of a probed program was not traced from its first call"

# Python in pods: the image ships the bootstrap, and `python-bootstrap DIR` (what a
# pod's initContainer runs: the image has no shell and no cp) copies it into a volume
PYV=3.12.1
PY=/root/.pyenv/versions/$PYV
[ -x "$PY/bin/python3" ] || fail "CPython $PYV missing: $PY (the Python tests need pyenv's $PYV with symbols)"
mkdir -p "$T/pyboot" "$T/pyhome" "$T/pyrun"
"${P[@]}" run "${LIM[@]}" --rm --read-only --cap-drop=all -v "$T/pyboot:/ttatrace/python" "$IMAGE" \
	python-bootstrap /ttatrace/python || fail "python-bootstrap in the image failed"
cmp tools/python/sitecustomize.py "$T/pyboot/sitecustomize.py" || fail "the image's bootstrap differs from tools/python"
# A prepared Python process as in a pod: the bootstrap from that volume on PYTHONPATH,
# and its interpreter at a path only its own mount namespace has ($T/pyhome is empty
# on the host), so its libpython must be read through /proc/PID/root
cp tests/fixtures/python/catalog.yaml "$T/pycat.yaml"
TTATRACE_PY_SPEC="$T/pycat.yaml" TTATRACE_PY_RUNDIR="$T/pyrun" PYTHONPATH="$T/pyboot" \
	unshare -m --propagation private sh -c \
	'mount --bind "$1" "$2" && LD_LIBRARY_PATH="$2/lib" exec "$2/bin/python3" "$3" 200' _ \
	"$PY" "$T/pyhome" "$PWD/tests/fixtures/python/app.py" >"$T/pyapp.out" 2>"$T/pyapp.err" &
APP=$!
PIDS_TO_KILL+=($APP)
wait_for "$T/pyrun/ttatrace-py-$APP.reg" "^C" 20
grep -q "$T/pyhome/lib/libpython3" "/proc/$APP/maps" || fail "the app does not run the namespaced interpreter"
[ -e "$T/pyhome/lib" ] && fail "the namespaced interpreter is visible on the host"
# Python probes are uprobe_multi links: the agent's three capabilities are enough
t0=$(date +%s%N)
"${P[@]}" "${RUN[@]}" --rm --cap-add=CAP_BPF,CAP_PERFMON,CAP_SYS_PTRACE "$IMAGE" \
	-p $APP --config /out/pycat.yaml --duration 1.5 --format jsonl -o /out/py.jsonl 2>"$T/py.err" ||
	{ cat "$T/py.err" >&2; fail "the image's ttatrace -p on a prepared Python process failed"; }
python3 - "$T/py.jsonl" "$t0" "$APP" <<'PY' || { cat "$T/py.err" >&2; fail "Python spans from the image"; }
import collections, json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
t0, app = int(sys.argv[2]), int(sys.argv[3])
assert spans, "no spans"
assert {s["pid"] for s in spans} == {app}, "spans from other processes"
assert min(s["start_ns"] for s in spans) >= t0, "a span began before the attach"
traces = collections.Counter(s["trace_id"] for s in spans)
full = [s for s in spans if s["name"] == "Sequential.execute" and not s["parent_span_id"] and traces[s["trace_id"]] in (18, 19)]
assert len(full) >= 3, "complete workflows: %d" % len(full)
print("image: %d Python spans, %d complete workflows" % (len(spans), len(full)))
PY
wait $APP
assert_eq "$?" 3 "the Python app's exit status"
[ -s "$T/pyapp.err" ] && { cat "$T/pyapp.err" >&2; fail "the Python app wrote to stderr"; }

# without CAP_PERFMON the agent cannot load its programs: one line that names it
"${P[@]}" "${RUN[@]}" --rm --cap-add=CAP_BPF,CAP_SYS_PTRACE "$IMAGE" \
	agent --config /out/catalog.yaml --format none >"$T/nocap.out" 2>"$T/nocap.err"
rc=$?
cat "$T/nocap.err"
[ $rc -ne 0 ] || fail "the agent without CAP_PERFMON exited 0"
[ "$(grep -c . "$T/nocap.err")" -eq 1 ] || fail "expected one error line without CAP_PERFMON"
grep -q "CAP_PERFMON" "$T/nocap.err" || fail "the error does not name CAP_PERFMON"
echo PASS
