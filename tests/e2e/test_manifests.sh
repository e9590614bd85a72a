#!/usr/bin/env bash
# deploy/kubernetes and deploy/otel-collector validated offline (no API server): every
# field checked against the Kubernetes API types (unknown fields, wrong types, value
# formats), the Collector configs' pipelines against their components. A deliberately
# broken DaemonSet and Collector config must fail with each of their mistakes named.
source tests/e2e/lib.sh
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed (tools/install-deps.sh)"
# the pinned packages (package-lock.json), installed once
if [ ! -d tests/manifests/node_modules/kubernetes-models ] || [ ! -d tests/manifests/node_modules/@kubernetes/client-node ]; then
	(cd tests/manifests && npm ci --no-audit --no-fund --loglevel=error) >&2 || fail "npm ci in tests/manifests failed"
fi
C=tests/manifests/check.mjs

node "$C" deploy/kubernetes/*.yaml deploy/otel-collector/*.yaml >"$T/good.out" 2>&1
rc=$?
cat "$T/good.out"
assert_eq "$rc" 0 "validation of deploy/"
n=$(ls deploy/kubernetes/*.yaml deploy/otel-collector/*.yaml | wc -l)
grep -q "in $n files, 0 problems" "$T/good.out" || fail "not every manifest was checked"
for kind in Namespace ServiceAccount ConfigMap DaemonSet Service PodMonitor Kustomization; do
	grep -q "^kind: $kind" deploy/kubernetes/*.yaml || fail "deploy/kubernetes has no $kind"
done

node "$C" tests/manifests/broken/*.yaml >"$T/bad.out" 2>&1
rc=$?
cat "$T/bad.out"
[ "$rc" -ne 0 ] || fail "the broken manifests passed validation"
for want in "spec.hostPid: unknown field" "capabilities.add: expected a list" \
	"httpGet.timeout: unknown field" 'memory must match format "quantity"' \
	"exporter loadbalancing is not defined" "batch is defined but no pipeline uses it"; do
	grep -qF "$want" "$T/bad.out" || fail "the validator missed: $want"
done
echo PASS
