#!/usr/bin/env bash
# Checks the SLO alert rules and the Grafana dashboard against what ttatrace really
# exports: `promtool check rules` and `promtool test rules` (synthetic error and latency
# bursts must page, healthy series must not), the dashboard is valid JSON, and every
# ttatrace_* metric named by a dashboard query or a rule is either in an exposition
# rendered by user/metrics.c (tests/unit/test_slo.c --exposition) or recorded by a rule.
# Needs no root. Exit 0 pass, 77 skip (promtool missing, not allowed under CI=true).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-${TT_BUILD_DIR:-build}}
PROMTOOL=${PROMTOOL:-promtool}
RULES=deploy/prometheus/alerts.yaml
DASH=deploy/grafana/ttatrace.json
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

if ! command -v "$PROMTOOL" >/dev/null; then
	[ "${CI:-}" = true ] && fail "promtool missing (apt-get install prometheus)"
	echo "SKIP: needs promtool (apt-get install prometheus)"
	exit 77
fi

"$PROMTOOL" check rules "$RULES" || fail "promtool check rules $RULES"
"$PROMTOOL" test rules tests/e2e/alert_rules_test.yaml || fail "promtool test rules"

python3 - "$DASH" <<'PY' || fail "$DASH is not a usable dashboard"
import json, sys
d = json.load(open(sys.argv[1]))
names = {v["name"] for v in d["templating"]["list"]}
assert {"DS_PROMETHEUS", "service", "primitive"} <= names, names
assert d["schemaVersion"] >= 36
for p in d["panels"]:
    assert p["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
    assert p["targets"] and all(t["expr"].strip() for t in p["targets"]), p["title"]
PY

# a real exposition with SLO series, drops and every family the renderer has
if [ ! -x "$BUILD/tests/test_slo" ]; then
	make --no-print-directory BUILD="$BUILD" "$BUILD/tests/test_slo" >&2 ||
		fail "cannot build $BUILD/tests/test_slo"
fi
"$BUILD/tests/test_slo" --exposition >"$T/expo.txt" || fail "test_slo --exposition"
"$PROMTOOL" check metrics <"$T/expo.txt" || fail "promtool check metrics on the exposition"

# names a series can be selected by: histogram families have _bucket/_sum/_count lines
grep -v '^#' "$T/expo.txt" | sed -E 's/[{ ].*//' | sort -u >"$T/emitted"
sed -nE 's/^ *- record: *([^ ]+).*/\1/p' "$RULES" | sort -u >"$T/recorded"
[ -s "$T/recorded" ] || fail "no recording rules found in $RULES"
for n in ttatrace_slo_latency_threshold_seconds ttatrace_slo_latency_target \
	ttatrace_slo_latency_good_total ttatrace_slo_errors_target ttatrace_drops_total; do
	grep -qx "$n" "$T/emitted" || fail "the exposition has no $n"
done

python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p["targets"]:
        print(t["expr"])' "$DASH" >"$T/dash_exprs"
sed -nE '/expr:/,/^ *(labels|annotations|for|- )/p' "$RULES" >"$T/rule_exprs"

check_names() { # FILE WHAT: every ttatrace metric named in FILE exists
	local n bad=0
	grep -oE '\bttatrace[_:][a-zA-Z0-9_:]*' "$1" | sort -u >"$T/used"
	[ -s "$T/used" ] || fail "$2 names no ttatrace metric"
	while read -r n; do
		if ! grep -qx "$n" "$T/emitted" && ! grep -qx "$n" "$T/recorded"; then
			echo "$2 uses $n, which ttatrace does not export and no rule records" >&2
			bad=1
		fi
	done <"$T/used"
	[ $bad -eq 0 ] || fail "$2 references unknown metrics"
	echo "$2: $(wc -l <"$T/used") metric names, all exported or recorded"
}
check_names "$T/dash_exprs" "$DASH"
check_names "$T/rule_exprs" "$RULES"
echo "PASS"
