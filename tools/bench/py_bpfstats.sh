#!/usr/bin/env bash
# Run time of ttatrace's Python BPF programs per hit on the bench workload
# (tools/bench/py_workload.py, WORKFLOWS x HELPERS as in tools/bench/python.sh),
# from the kernel's own accounting: kernel.bpf_stats_enabled=1 for the run (the
# previous value is restored on exit), `bpftool prog show` run_time_ns / run_cnt of
# tt_py_call (a primitive's start), tt_py_call_arg (its end) and tt_py_task (an
# asyncio.Task created), polled while ttatrace runs (its programs go with it: the
# last poll misses the run's last ~0.2 s). Not in `make bench`: it flips a sysctl
# and the numbers are noisy on a shared machine (run it several times).
# TTATRACE=binary, TTARGS="extra ttatrace options" (e.g. --ringbuf-size=262144).
set -euo pipefail
cd "$(dirname "$0")/../.."
TT=${TTATRACE:-build/ttatrace}
PY=${PYTHON:-/root/.pyenv/versions/3.12.1/bin/python3}
[ -x "$PY" ] || { echo "py_bpfstats: $PY missing (pyenv CPython 3.12.1 with symbols)" >&2; exit 1; }
command -v bpftool >/dev/null || { echo "py_bpfstats: bpftool missing" >&2; exit 1; }
export WORKFLOWS=${WORKFLOWS:-1000} HELPERS=${HELPERS:-2000}
T=$(mktemp -d)
old=$(cat /proc/sys/kernel/bpf_stats_enabled)
trap 'sysctl -q kernel.bpf_stats_enabled="$old"; rm -rf "$T"' EXIT
# programs loaded before this run are someone else's
progs() { bpftool prog show -j 2>/dev/null; }
min=$(progs | python3 -c 'import json, sys; print(max([p["id"] for p in json.load(sys.stdin)] + [0]))')
sysctl -q kernel.bpf_stats_enabled=1
# shellcheck disable=SC2086
"$TT" --config tests/fixtures/python/catalog.yaml --format none ${TTARGS:-} -- "$PY" \
	tools/bench/py_workload.py >"$T/wall" 2>"$T/err" &
tt=$!
while kill -0 $tt 2>/dev/null; do
	progs | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p["id"] > int(sys.argv[1]) and p["name"] in ("tt_py_call", "tt_py_call_arg", "tt_py_task"):
        print(p["name"], p.get("run_cnt", 0), p.get("run_time_ns", 0))' "$min" >"$T/snap" 2>/dev/null &&
		[ -s "$T/snap" ] && mv "$T/snap" "$T/last"
	sleep 0.2
done
wait $tt || { cat "$T/err" >&2; exit 1; }
[ -s "$T/last" ] || { echo "py_bpfstats: no sample of the programs" >&2; exit 1; }
python3 - "$T/last" "$(cat "$T/wall")" <<'PY'
import sys
runs, ns = {}, {}
for line in open(sys.argv[1]):
    name, c, t = line.split()
    runs[name], ns[name] = int(c), int(t)
print("python BPF programs, %s workflows x %s helpers (wall %.1f ms, bpf_stats on):"
      % (__import__("os").environ["WORKFLOWS"], __import__("os").environ["HELPERS"],
         int(sys.argv[2]) / 1e6))
for n in ("tt_py_call", "tt_py_call_arg", "tt_py_task"):
    if runs.get(n):
        print("  %-15s %8d runs %7.0f ns/run" % (n, runs[n], ns[n] / runs[n]))
hits = runs.get("tt_py_call", 0) + runs.get("tt_py_call_arg", 0)
if hits:
    print("  per Python hit (the task hook's time spread over the hits): %.0f ns"
          % (sum(ns.values()) / hits))
PY
