#!/usr/bin/env bash
# Times `ttatrace flamegraph` on large folded inputs (100k and 1M lines, made
# here, the same bytes on every run) and reports wall time, peak memory (RSS,
# from /usr/bin/time -v), input and SVG sizes, and frames drawn. Also times a
# differential graph of two 100k-line inputs.
#
#   tools/bench/flamegraph-bench.sh [LINES...]     (default: 100000 1000000)
#   TTATRACE=path/to/ttatrace BUILD=build-x ... to pick the binary
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TTATRACE=${TTATRACE:-$BUILD/ttatrace}
OUT=${BENCH_DIR:-$BUILD/bench/flamegraph}
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(100000 1000000)

[ -x "$TTATRACE" ] || { echo "flamegraph-bench: $TTATRACE is not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "flamegraph-bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
mkdir -p "$OUT"

# gen LINES SEED: folded stacks shaped like a busy service: a few threads, a
# fan of request handlers, deep call chains, some long C++ names, our kind
# annotations on a third of the frames. A Park-Miller generator in integer
# arithmetic keeps mawk and gawk byte-identical.
gen() {
	awk -v lines="$1" -v seed="$2" '
	function rnd(n) { x = (x * 48271) % 2147483647; return x % n }
	BEGIN {
		x = seed
		split("sequential parallel retry fallback timeout cache saga step step step", kinds, " ")
		for (i = 0; i < 600; i++) {
			if (i % 50 == 7)
				name[i] = sprintf("std::__detail::_Executor<__gnu_cxx::__normal_iterator<char const*, std::string>, std::allocator<std::__cxx11::sub_match<char const*> >, std::regex_traits<char>, true>::_M_dfs_%d(_Match_mode, long)", i)
			else
				name[i] = sprintf("fn_%03d_%s", i, substr("abcdefghijklmnopqrstuvwxyz", i % 26 + 1, 1 + i % 9))
		}
		for (l = 0; l < lines; l++) {
			depth = 3 + rnd(22)
			s = sprintf("worker-%d", rnd(8))
			prev = rnd(40)
			for (d = 1; d < depth; d++) {
				# deeper frames come from wider pools: stacks share their roots
				pool = d < 3 ? 12 * d : 600
				prev = (prev * 7 + rnd(pool)) % pool
				f = name[prev]
				if (rnd(3) == 0)
					f = f " [" kinds[1 + rnd(10)] (rnd(20) == 0 ? "!" : "") "]"
				s = s ";" f
			}
			print s, 1 + rnd(5000)
		}
	}'
}

measure() { # label, then the command
	local label=$1 log
	shift
	log=$(mktemp)
	/usr/bin/time -v "$@" 2>"$log" >/dev/null || { cat "$log" >&2; rm -f "$log"; exit 1; }
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$log")
	cpu_u=$(awk -F': ' '/User time/ {print $2}' "$log")
	rm -f "$log"
	printf '%-28s wall %-9s user %6ss  peak RSS %8s MiB\n' "$label" "$wall" "$cpu_u" "$rss"
}

for n in "${SIZES[@]}"; do
	in=$OUT/stacks-$n.folded
	[ -s "$in" ] || gen "$n" 12345 >"$in"
	measure "render $n lines" "$TTATRACE" flamegraph "$in" -o "$OUT/stacks-$n.svg"
	printf '%-28s input %s MiB, SVG %s KiB, %s frames drawn\n' "" \
		"$(($(stat -c %s "$in") / 1048576))" "$(($(stat -c %s "$OUT/stacks-$n.svg") / 1024))" \
		"$(grep -c '<g class="f"' "$OUT/stacks-$n.svg")"
done

base=$OUT/stacks-100000-b.folded
[ -s "$base" ] || gen 100000 777 >"$base"
[ -s "$OUT/stacks-100000.folded" ] || gen 100000 12345 >"$OUT/stacks-100000.folded"
measure "diff 100k vs 100k lines" "$TTATRACE" flamegraph --diff "$base" "$OUT/stacks-100000.folded" \
	-o "$OUT/diff-100000.svg"
