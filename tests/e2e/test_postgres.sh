#!/usr/bin/env bash
# PostgreSQL, a pre-fork server (issue 12's motivating case), on a throwaway cluster
# (initdb as the postgres user in a temp dir, a unix socket there, no TCP):
#   -p <postmaster> --probe PortalRun (and ExecutorRun, standard_ExecutorRun, all in
#      postgres's .dynsym: Debian's binary is stripped, exec_simple_query is static
#      and not there), then N `psql -c` runs: exactly one PortalRun per backend (each
#      a fork of the postmaster, no exec), ExecutorRun under it and
#      standard_ExecutorRun under that, N children followed, nothing else
#   the agent, started before the postmaster (selected by exe and cmdline): the same
#      per backend for every query run once the postmaster is traced
source tests/e2e/lib.sh
need_root_bpf
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/postgres" ] && [ -x "$PGBIN/initdb" ] ||
	fail "PostgreSQL server not installed (tools/install-deps.sh installs postgresql)"
PSQL=$(command -v psql || echo "$PGBIN/psql")
[ -x "$PSQL" ] || fail "psql not installed"
id postgres >/dev/null 2>&1 || fail "no postgres user (the postgresql package creates it)"
N=5
chmod 755 "$T"
mkdir "$T/pg" && chown postgres: "$T/pg"
as_pg() { setpriv --reuid postgres --regid postgres --init-groups -- "$@"; }
as_pg "$PGBIN/initdb" -D "$T/pg/data" -A trust -U postgres --no-sync >"$T/initdb.log" 2>&1 ||
	{ cat "$T/initdb.log" >&2; fail "initdb"; }

# postmaster: started in the background, its pid in $PM (setpriv execs it; a shell
# function would put a subshell there)
postmaster() {
	setpriv --reuid postgres --regid postgres --init-groups -- "$PGBIN/postgres" -D "$T/pg/data" -k "$T/pg" -c listen_addresses= -c autovacuum=off \
		-c fsync=off >>"$T/postgres.log" 2>&1 &
	PM=$!
	PIDS_TO_KILL+=($PM)
}
# query NAME: one psql run; the backend's pid goes to $T/NAME.backends
query() {
	"$PSQL" -h "$T/pg" -U postgres -d postgres -Atc 'select pg_backend_pid()' >>"$T/$1.backends" 2>>"$T/psql.err"
}
ready() {
	local i
	for ((i = 0; i < 300; i++)); do
		"$PSQL" -h "$T/pg" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$T/postgres.log" >&2
	fail "the postmaster never answered"
}
stop_postmaster() {
	kill -INT $PM
	wait_exit $PM 30 || fail "the postmaster did not stop"
}
# check NAME PROBES...: one span of each probe per backend in NAME.backends, each
# the child of the one before, and no span from any other process
check() {
	local name=$1
	shift
	python3 - "$T/$name.jsonl" "$T/$name.backends" "$@" <<'PY' || fail "$name: spans"
import json, sys
from collections import defaultdict
spans = [json.loads(l) for l in open(sys.argv[1])]
backends = {int(l) for l in open(sys.argv[2]) if l.strip()}
chain = sys.argv[3:]
by_pid = defaultdict(list)
for s in spans:
    by_pid[s["pid"]].append(s)
if set(by_pid) != backends:
    sys.exit(f"spans from pids {sorted(by_pid)}, backends {sorted(backends)}")
for pid, ss in by_pid.items():
    names = sorted(s["probe"].split(":")[-1] for s in ss)
    if names != sorted(chain):
        sys.exit(f"backend {pid}: spans {names}, expected one each of {chain}")
    f = {s["probe"].split(":")[-1]: s for s in ss}
    if f[chain[0]].get("parent_span_id"):
        sys.exit(f"backend {pid}: {chain[0]} is not a root")
    for up, down in zip(chain, chain[1:]):
        if f[down].get("parent_span_id") != f[up]["span_id"] or f[down]["trace_id"] != f[up]["trace_id"]:
            sys.exit(f"backend {pid}: {down} not under {up}")
print(f"{len(backends)} backends, one {' > '.join(chain)} each")
PY
}

# --- -p <postmaster>: its backends are forked after the attach
postmaster
ready
"$TTATRACE" -p $PM --probe PortalRun --probe ExecutorRun --probe standard_ExecutorRun \
	--format jsonl -o "$T/pids.jsonl" 2>"$T/pids.err" &
TP=$!
PIDS_TO_KILL+=($TP)
wait_for "$T/pids.err" "probes attached"
for ((i = 0; i < N; i++)); do query pids || fail "psql failed: $(cat "$T/psql.err")"; done
[ "$(wc -l <"$T/pids.backends")" -eq $N ] || fail "-p: $N backend pids expected"
sleep 0.5 # the last spans drain
kill -INT $TP
wait_exit $TP 30 || { cat "$T/pids.err" >&2; fail "-p: ttatrace exited non-zero"; }
grep -q "forks: $N processes followed (0 exec's of the same program); not followed: 0 exec'd another program, 0 over the limit, 0 events lost" "$T/pids.err" ||
	{ cat "$T/pids.err" >&2; fail "-p: the forks line"; }
grep -q "exits without entry 0" "$T/pids.err" || fail "-p: unpaired exits"
check pids PortalRun ExecutorRun standard_ExecutorRun
stop_postmaster

# --- the agent, then a postmaster it has never seen
cat >"$T/catalog.yaml" <<YAML
targets:
  - exe: '$PGBIN/postgres'
    cmdline: '*$T/pg/data*'
    service: pg-e2e
primitives:
  - match: PortalRun
  - match: ExecutorRun
YAML
"$TTATRACE" agent --config "$T/catalog.yaml" -v --format jsonl -o "$T/agent.jsonl" 2>"$T/agent.err" &
AG=$!
PIDS_TO_KILL+=($AG)
wait_for "$T/agent.err" "running processes matched the targets"
postmaster
wait_for "$T/agent.err" "tracing pid $PM "
ready_agent() {
	local i
	for ((i = 0; i < 300; i++)); do
		query agent && return 0
		sleep 0.1
	done
	fail "the postmaster never answered"
}
ready_agent
for ((i = 1; i < N; i++)); do query agent || fail "psql failed: $(cat "$T/psql.err")"; done
[ "$(wc -l <"$T/agent.backends")" -eq $N ] || fail "agent: $N backend pids expected"
sleep 0.5
kill -INT $AG
wait_exit $AG 30 || { cat "$T/agent.err" >&2; fail "agent: exited non-zero"; }
grep -q "exits without entry 0" "$T/agent.err" || fail "agent: unpaired exits"
check agent PortalRun ExecutorRun
stop_postmaster
echo "PASS"
