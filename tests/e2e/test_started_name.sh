#!/usr/bin/env bash
# A program started through a symlink with another name (issue 13 item 18: Debian's
# /usr/bin/redis-server -> redis-check-rdb): BINARY in --probe matches the name the
# process was started as as well as the file it runs, for -p and launch, and that
# name is process.executable.name, the default service.name (OTLP) and the service
# label of /metrics; process.executable.path stays the file.
source tests/e2e/lib.sh
need_root_bpf
PREFORK=${PREFORK:-$BUILD/fixtures/prefork}
[ -x "$PREFORK" ] || fail "$PREFORK not built"
K=5
cp "$PREFORK" "$T/pf-check-rdb"
ln -s pf-check-rdb "$T/pf-server"
REAL=$(readlink -f "$T/pf-check-rdb")

# check_run ROLES OTLP SPAN_NAME: pf_work spans (named SPAN_NAME) per process exact (1
# in the parent, K in each other), the parent's resource named by the symlink
check_run() {
	python3 - "$1" "$2" $K "$REAL" "$3" <<'PY'
import json, sys
from collections import Counter
roles, otlp, k, real, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
want = {int(pid): (1 if role == "parent" else k) for role, pid in (l.split() for l in open(roles))}
parent = next(int(pid) for role, pid in (l.split() for l in open(roles)) if role == "parent")
got, res = Counter(), {}
for line in open(otlp):
    for rs in json.loads(line)["resourceSpans"]:
        attrs = {a["key"]: next(iter(a["value"].values())) for a in rs["resource"]["attributes"]}
        pid = int(attrs["process.pid"])
        res[pid] = attrs
        got[pid] += sum(1 for ss in rs["scopeSpans"] for s in ss["spans"] if s["name"] == name)
if dict(got) != want:
    sys.exit(f"pf_work per pid {dict(got)}, expected {want}")
a = res[parent]
exp = {"service.name": "unknown_service:pf-server", "process.executable.name": "pf-server",
       "process.executable.path": real}
bad = {key: a.get(key) for key in exp if a.get(key) != exp[key]}
if bad:
    sys.exit(f"parent's resource {bad}, expected {exp}")
print(f"{len(want)} processes, exact counts; resource {exp}")
PY
}

# -p: started through the symlink, held at its gate
"$T/pf-server" "$T/go" 1 $K >"$T/p.roles" &
FP=$!
PIDS_TO_KILL+=($FP)
"$TTATRACE" -p $FP --probe 'pf-server:pf_work' --format otlp-json -o "$T/p.otlp" 2>"$T/p.err" &
AP=$!
PIDS_TO_KILL+=($AP)
wait_for "$T/p.err" "Ctrl-C to stop"
touch "$T/go"
wait_exit $FP 30 || fail "the fixture failed"
wait_exit $AP 30 || { cat "$T/p.err" >&2; fail "-p exited non-zero"; }
check_run "$T/p.roles" "$T/p.otlp" pf_work || { cat "$T/p.err" >&2; fail "-p"; }

# launch through the symlink (the gate file exists: it runs at once), with a
# catalogue entry whose BINARY is the symlink's name (its span name proves the match)
printf "primitives:\n  - match: 'pf-server:pf_work'\n    kind: step\n    name: served_work\n" >"$T/cat.yaml"
"$TTATRACE" --config "$T/cat.yaml" --format otlp-json -o "$T/l.otlp" -- \
	"$T/pf-server" "$T/go" 1 $K 2>"$T/l.err" >"$T/l.roles" ||
	{ cat "$T/l.err" >&2; fail "launch exited non-zero"; }
check_run "$T/l.roles" "$T/l.otlp" served_work || { cat "$T/l.err" >&2; fail "launch"; }

# --list-probes of a command names it by the symlink too
"$TTATRACE" --list-probes --probe 'pf-server:pf_work' -- "$T/pf-server" >"$T/list" 2>/dev/null ||
	fail "--list-probes"
assert_eq "$(awk -F'\t' 'NR > 1 { print $2 }' "$T/list")" "pf_work" "--list-probes by the started name"

# /metrics: the service label is the started name (-p and launch)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for mode in pid launch; do
	if [ $mode = pid ]; then
		"$T/pf-server" --busy 30 200 &
		BP=$!
		PIDS_TO_KILL+=($BP)
		set -- -p $BP
	else
		set -- -- "$T/pf-server" --busy 30 200
	fi
	"$TTATRACE" --probe 'pf-server:pf_work' --format none --metrics-addr 127.0.0.1:$PORT "$@" \
		2>"$T/m.err" &
	AP=$!
	PIDS_TO_KILL+=($AP)
	wait_for "$T/m.err" "Ctrl-C to stop"
	ok=
	for i in $(seq 50); do
		curl -sf "http://127.0.0.1:$PORT/metrics" >"$T/metrics" || true
		if grep -Eq '^ttatrace_primitive_calls_total\{.*service="pf-server".*\} [1-9]' "$T/metrics"; then
			ok=1
			break
		fi
		sleep 0.1
	done
	[ -n "$ok" ] || { grep primitive_calls "$T/metrics" >&2; fail "$mode: /metrics service label"; }
	grep -q 'pf-check-rdb"' "$T/metrics" && fail "$mode: /metrics names the file, not the started name"
	kill -TERM $AP
	wait_exit $AP 20 || fail "$mode: ttatrace exited non-zero"
	[ $mode = pid ] && kill $BP
	echo "ok: $mode: $(grep -E '^ttatrace_primitive_calls_total' "$T/metrics")"
done
echo PASS
