#!/usr/bin/env bash
# An executable's shared links are per file, not per path (tests/fixtures/builds.c):
#   A   build A at $T/bin/app
#   B   build B at the same path, bind-mounted over it in its own mount namespace
#       (its /proc/PID/exe names $T/bin/app too); its bd_one sits at A's bd_two
#   L   build A through a hard link, $T/bin/app-link: the same file as A
#   O1  a copy of build A in a layer mounted by two overlays, $T/ov1 and $T/ov2,
#   O2  each in its own mount namespace: stat gives each overlay its own device,
#       while their mappings, and uprobes, are the layer's one file
# Under -p (forks followed, so the executable's links are shared) and under the
# agent, every process has exactly N1 bd_one and N2 bd_two spans (none missing at
# B, none doubled at L, O1, O2), prints what it prints untraced, and three link
# sets go in (three files, two probes each).
source tests/e2e/lib.sh
need_root_bpf
FIX=${FIX:-$BUILD/fixtures/builds}
[ -x "$FIX" ] && [ -x "${FIX}_b" ] || fail "$FIX and ${FIX}_b not built"
command -v unshare >/dev/null || fail "unshare (util-linux) is missing"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || fail "this kernel has no overlayfs"
N1=7
N2=4

mkdir -p "$T/bin" "$T/b" "$T/low" "$T/ov1" "$T/ov2" "$T/u1" "$T/u2" "$T/w1" "$T/w2"
cp "$FIX" "$T/bin/app"
ln "$T/bin/app" "$T/bin/app-link"
cp "${FIX}_b" "$T/b/app"
cp "$FIX" "$T/low/app"
# what each build prints untraced (RESULT and the final sink; the pid differs)
"$FIX" /dev/null $N1 $N2 | cut -d' ' -f3- >"$T/want.A"
"${FIX}_b" /dev/null $N1 $N2 | cut -d' ' -f3- >"$T/want.B"
cmp -s "$T/want.A" "$T/want.B" || fail "the two builds compute different results"

# start NAME GO: one process of the five, its stdout in $T/NAME.out, pid in $NAME
start() {
	local name=$1 go=$2 p
	case $name in
	A) "$T/bin/app" "$go" $N1 $N2 >"$T/A.out" & ;;
	L) "$T/bin/app-link" "$go" $N1 $N2 >"$T/L.out" & ;;
	B) unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && exec "$2" "$3" "$4" "$5"' _ \
		"$T/b/app" "$T/bin/app" "$go" $N1 $N2 >"$T/B.out" & ;;
	O1 | O2)
		local i=${name#O}
		unshare -m --propagation private sh -c \
			'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" && exec "$4/app" "$5" "$6" "$7"' _ \
			"$T/low" "$T/u$i" "$T/w$i" "$T/ov$i" "$go" $N1 $N2 >"$T/$name.out" &
		;;
	esac
	p=$!
	PIDS_TO_KILL+=($p)
	eval "$name=$p"
}

# ready PID PATH: the process runs PATH (its exec done, not the shell before it)
ready() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.05
	done
	fail "pid $1 never ran $2"
}

# check NAME: exact spans per process and function, unchanged output, three link sets
check() {
	local name=$1
	grep -q ", 6 probes attached" "$T/$name.err" || { cat "$T/$name.err" >&2; fail "$name: not 6 probes (three files, two functions each)"; }
	for p in A B L O1 O2; do
		local want=A
		[ $p = B ] && want=B
		read -r build pid rest <"$T/$name.$p.out" || fail "$name: $p printed nothing"
		assert_eq "$build" "$want" "$name: $p ran build"
		assert_eq "$rest" "$(cat "$T/want.$want")" "$name: $p's output"
		echo "${!p} $p" >>"$T/$name.pids"
	done
	python3 - "$T/$name.jsonl" "$T/$name.pids" $N1 $N2 <<'PY' || fail "$name: span counts"
import json, sys
from collections import Counter
spans = [json.loads(l) for l in open(sys.argv[1])]
pids = dict(l.split() for l in open(sys.argv[2]))
n1, n2 = int(sys.argv[3]), int(sys.argv[4])
got = Counter((str(s["pid"]), s["probe"].split(":")[-1]) for s in spans)
want = Counter()
for pid in pids:
    want[(pid, "bd_one")] = n1
    want[(pid, "bd_two")] = n2
if got != want:
    sys.exit("spans per (pid, function): " + ", ".join(
        f"{pids.get(p, p)} {f}: {got[(p, f)]} (want {want[(p, f)]})" for p, f in sorted(set(got) | set(want))))
print(f"{len(pids)} processes, {n1} bd_one and {n2} bd_two spans each")
PY
}

# --- -p: five running processes, forks followed (the executable's links shared)
for p in A B L O1 O2; do start $p "$T/go"; done
ready $A "$T/bin/app"; ready $B "$T/bin/app"; ready $L "$T/bin/app-link"
ready $O1 "$T/ov1/app"; ready $O2 "$T/ov2/app"
"$TTATRACE" -p $A -p $B -p $L -p $O1 -p $O2 --probe 'bd_*' --format jsonl -o "$T/pids.jsonl" 2>"$T/pids.err" &
TP=$!
PIDS_TO_KILL+=($TP)
wait_for "$T/pids.err" "probes attached"
touch "$T/go"
for p in $A $B $L $O1 $O2; do wait_exit $p 30 || fail "-p: fixture $p failed"; done
wait_exit $TP 30 || { cat "$T/pids.err" >&2; fail "-p: ttatrace exited non-zero"; }
for p in A B L O1 O2; do mv "$T/$p.out" "$T/pids.$p.out"; done
check pids

# --- the agent: the same five started after it, each held until it is traced
rm -rf "$T/u1" "$T/u2" "$T/w1" "$T/w2" && mkdir -p "$T/u1" "$T/u2" "$T/w1" "$T/w2"
cat >"$T/catalog.yaml" <<YAML
targets:
  - exe: '$T/bin/app*'
  - exe: '$T/ov[12]/app'
primitives:
  - match: 'bd_*'
YAML
"$TTATRACE" agent --config "$T/catalog.yaml" -v --format jsonl -o "$T/agent.jsonl" 2>"$T/agent.err" &
AG=$!
PIDS_TO_KILL+=($AG)
wait_for "$T/agent.err" "running processes matched the targets"
for p in A B L O1 O2; do
	start $p "$T/go.$p"
	wait_for "$T/agent.err" "tracing pid ${!p} "
	touch "$T/go.$p"
done
for p in $A $B $L $O1 $O2; do wait_exit $p 30 || fail "agent: fixture $p failed"; done
sleep 0.5 # the last spans drain
kill -INT $AG
wait_exit $AG 30 || { cat "$T/agent.err" >&2; fail "agent: exited non-zero"; }
for p in A B L O1 O2; do mv "$T/$p.out" "$T/agent.$p.out"; done
check agent
echo "PASS"
