#!/usr/bin/env bash
# Renders the folded fixtures with `ttatrace flamegraph` and checks the SVGs in a
# real browser (Debian's headless Chromium driven by playwright-core): frames
# drawn, hover, click zoom, reset, search, errors, legend, diff, icicle.
# Screenshots go to $BUILD/artifacts/. Exit 0 pass, 77 cannot run here (why on
# stderr), anything else fail. TTATRACE overrides the binary under test.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TTATRACE=${TTATRACE:-$BUILD/ttatrace}
ARTIFACTS=$BUILD/artifacts
FIX=tests/fixtures
NAME=test_flamegraph_browser

skip() {
	echo "$NAME: cannot run: $*" >&2
	exit 77
}
fail() {
	echo "$NAME: FAIL: $*" >&2
	exit 1
}

apt_install() {
	[ "$(id -u)" -eq 0 ] || skip "$* missing and not root to apt-get install it"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq "$@" </dev/null >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq "$@" </dev/null >/dev/null; } ||
		skip "apt-get install $* failed"
}

[ -x "$TTATRACE" ] || fail "$TTATRACE is not built (make BUILD=$BUILD)"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || apt_install chromium
[ -x "$CHROMIUM" ] || skip "no $CHROMIUM after installing chromium"
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
	skip "node $(node --version) is older than 18 (node:test)"
if [ ! -d tests/browser/node_modules/playwright-core ]; then
	(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
		skip "npm ci in tests/browser failed"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$ARTIFACTS"

render() {
	local out=$1
	shift
	"$TTATRACE" flamegraph "$@" >"$tmp/$out" 2>"$tmp/$out.err" ||
		fail "ttatrace flamegraph $* exited $?: $(cat "$tmp/$out.err")"
	[ -s "$tmp/$out.err" ] && fail "ttatrace flamegraph $* complained: $(cat "$tmp/$out.err")"
	cp "$tmp/$out" "$ARTIFACTS/$out"
}

# --min-width 0 so every path is drawn and can be counted
render flame.svg --min-width 0 --title "checkout workflow" "$FIX/workflow.folded"
render diff.svg --min-width 0 --diff "$FIX/workflow_before.folded" "$FIX/workflow.folded"
render icicle.svg --min-width 0 --icicle "$FIX/workflow.folded"
render perf.svg --min-width 0 --unit samples - <"$FIX/perf.folded"

# the SVG is self-contained: no external references at all
if grep -Eo '(href|src)="[^"#][^"]*"' "$tmp"/*.svg | grep -v 'xmlns'; then
	fail "an SVG refers to something outside itself"
fi

SVG_DIR=$tmp FIXTURES=$FIX ARTIFACTS=$ARTIFACTS CHROMIUM=$CHROMIUM \
	node --test --test-reporter=spec tests/browser/flamegraph.test.mjs || fail "browser checks failed"
for png in flamegraph flamegraph-zoomed flamegraph-search flamegraph-diff flamegraph-perf; do
	[ -s "$ARTIFACTS/$png.png" ] || fail "no screenshot $ARTIFACTS/$png.png"
done
echo "$NAME: screenshots in $ARTIFACTS"
exit 0
