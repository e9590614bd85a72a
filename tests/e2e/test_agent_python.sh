#!/usr/bin/env bash
# ttatrace agent and Python services prepared for it (the bootstrap on PYTHONPATH,
# TTATRACE_PY_SPEC naming the catalogue): one running with its workers when the
# agent starts (found in /proc, each worker naming through its family's registry fd),
# a pre-fork service on CPython 3.12 whose
# workers are forked after the gate, a second process of the same interpreter with
# no gate at all (traced from its first primitive: the kernel knows that interpreter
# from its exec), a 3.13 service with a worker. Every process's spans are exact
# (check_python.py per pid), named once for all processes (probe ids by identity);
# kinds from the service's own catalogue, the node's selecting processes only;
# nothing from a prepared process no target selects nor from an unprepared one (it
# is counted); a worker's own step class, armed after the fork, named from the
# worker's own registry; every registry is gone once its process exited.
source tests/e2e/lib.sh
need_root_bpf
FIX=tests/fixtures/python
N=2
P12=/root/.pyenv/versions/3.12.1/bin/python3
P13=/root/.pyenv/versions/3.13.0/bin/python3
for p in $P12 $P13; do
	[ -x "$p" ] || fail "CPython missing: $p (the Python tests need pyenv's 3.12.1 and 3.13.0 with symbols)"
done
command -v bpftool >/dev/null || fail "bpftool missing (tools/install-deps.sh)"
mkdir -p "$T/run"
mkdir "$T/other" && cp "$FIX"/*.py "$T/other/"
# the node's catalogue selects processes only: each service's own catalogue
# (TTATRACE_PY_SPEC) names its primitives and their kinds
cat >"$T/catalog.yaml" <<YAML
targets:
  - cmdline: '*fixtures/python/prefork.py*'
YAML
prepared=(env PYTHONPATH="$PWD/tools/python" TTATRACE_PY_SPEC="$PWD/$FIX/catalog.yaml"
	TTATRACE_PY_RUNDIR="$T/run")

# F: a service already running, its two workers forked, when the agent starts
"${prepared[@]}" "$P12" "$FIX/prefork.py" 2 $N - "$T/goF" >"$T/F.out" 2>"$T/F.err" &
F=$!
PIDS_TO_KILL+=($F)
for _ in $(seq 100); do [ "$(grep -c ^worker "$T/F.out")" = 2 ] && break; sleep 0.1; done
[ "$(grep -c ^worker "$T/F.out")" = 2 ] || fail "service F did not fork its workers"
wait_for "$T/run/ttatrace-py-$F.reg" "^C" 20
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$TTATRACE" agent --config "$T/catalog.yaml" -v --format jsonl -o "$T/spans.jsonl" \
	--metrics-addr "127.0.0.1:$PORT" 2>"$T/agent.err" &
APID=$!
PIDS_TO_KILL+=($APID)
wait_for "$T/agent.err" "running processes matched the targets"
touch "$T/goF"
wait_exit $F 60 || { cat "$T/F.err" >&2; fail "service F failed"; }

# A: a pre-fork service (3 workers forked once the gate opens), the interpreter's first
OTEL_SERVICE_NAME=py-svc "${prepared[@]}" "$P12" "$FIX/prefork.py" 3 $N "$T/goA" >"$T/A.out" 2>"$T/A.err" &
A=$!
PIDS_TO_KILL+=($A)
wait_for "$T/agent.err" "pid $A: 3 Python probes"
touch "$T/goA"
wait_exit $A 60 || { cat "$T/A.err" >&2; fail "service A failed"; }
# B: the same interpreter again, no gate: its first primitive runs right away
"${prepared[@]}" "$P12" "$FIX/prefork.py" 0 $N - >"$T/B.out" 2>"$T/B.err" &
B=$!
# C: CPython 3.13, one worker
"${prepared[@]}" "$P13" "$FIX/prefork.py" 1 $N "$T/goC" >"$T/C.out" 2>"$T/C.err" &
C=$!
# D: prepared, but no target selects it; E: selected, but not prepared
"${prepared[@]}" "$P12" "$T/other/prefork.py" 0 $N - >"$T/D.out" 2>&1 &
D=$!
"$P12" "$FIX/prefork.py" 0 $N - >"$T/E.out" 2>&1 &
E=$!
PIDS_TO_KILL+=($B $C $D $E)
wait_for "$T/agent.err" "pid $C: 3 Python probes"
touch "$T/goC"
for p in $B $C $D $E; do wait_exit $p 60 || fail "fixture $p failed"; done
sleep 1 # the last spans drain
curl -sf "http://127.0.0.1:$PORT/metrics" >"$T/metrics" || fail "/metrics"
for m in "ttatrace_python_processes_total 10" "ttatrace_python_processes_not_prepared_total 1" \
	"ttatrace_python_spans_dropped_at_exit_total 0"; do
	grep -q "^${m% *}{[^}]*} ${m##* }$\|^$m$" "$T/metrics" || { grep ttatrace_python "$T/metrics" >&2; fail "/metrics: $m"; }
done
kill -TERM $APID
wait_exit $APID 30 || { cat "$T/agent.err" >&2; fail "agent exit status"; }

workers=$(awk '/^worker/ { print $2 }' "$T/A.out" "$T/C.out" "$T/F.out" | sort -n | tr '\n' ' ')
want=$(echo $A $B $C $F $workers | tr ' ' '\n' | sort -n | tr '\n' ' ')
got=$(python3 -c '
import json, sys
print(" ".join(sorted({str(json.loads(l)["pid"]) for l in open(sys.argv[1])}, key=int)))' "$T/spans.jsonl")
assert_eq "$got " "$want" "processes with spans (A, B, C, F and the 6 workers; not D nor E)"
for p in $want; do
	# a worker's own step class, defined after the fork: one span, its own registry
	python3 - "$T/spans.jsonl" $p "$workers" >"$T/pid-$p.jsonl" <<'PY' || fail "pid $p: WorkerStep spans"
import json, sys
pid, workers = int(sys.argv[2]), {int(w) for w in sys.argv[3].split()}
own = 0
for l in open(sys.argv[1]):
    s = json.loads(l)
    if s["pid"] != pid:
        continue
    if s["name"] == "WorkerStep.execute":
        a = s["attributes"]
        assert a["code.namespace"] == "__main__.WorkerStep" and not s["parent_span_id"], s
        own += 1
        continue
    print(l, end="")
assert own == (1 if pid in workers else 0), (pid, own)
PY
	TT_APP_MODULE=app python3 tests/e2e/check_python.py "$T/pid-$p.jsonl" $N ||
		{ cat "$T/agent.err" >&2; fail "pid $p: spans"; }
done
# one probe id a primitive for all ten processes, both versions (same file, line)
named=$(sed -n 's/.* \([0-9]*\) primitives named,.*/\1/p' "$T/agent.err")
distinct=$(python3 -c '
import json, sys
print(len({json.loads(l)["name"] for l in open(sys.argv[1])}))' "$T/spans.jsonl")
assert_eq "$named" "$distinct" "primitives named once for every process"
grep -q "out of ids: 0$" "$T/agent.err" || { cat "$T/agent.err" >&2; fail "Python probe ids ran out"; }
grep -q "ttatrace: python: 10 processes traced; 1 without the bootstrap (not armed); 0 primitives still running" \
	"$T/agent.err" || { cat "$T/agent.err" >&2; fail "python processes summary"; }
grep -q "pid $E: CPython 3.12 without the ttatrace bootstrap" "$T/agent.err" ||
	fail "the unprepared process is not named"
# the prepared processes removed their registries at exit
left=$(ls "$T/run")
assert_eq "$left" "" "registries left in TTATRACE_PY_RUNDIR"
echo PASS
