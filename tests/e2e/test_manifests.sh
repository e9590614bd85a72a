#!/usr/bin/env bash
# deploy/kubernetes and deploy/otel-collector validated offline (no API server): every
# field checked against the Kubernetes API types (unknown fields, wrong types, value
# formats), the Collector configs' pipelines against their components, and across
# files: the Collectors' k8sattributes and k8s resolver run as a ServiceAccount with the
# RBAC they need, the sampler Service is headless, a Kustomization's files exist.
# Deliberately broken manifests and Collector configs must fail with each mistake named.
source tests/e2e/lib.sh
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed (tools/install-deps.sh)"
# the pinned packages (package-lock.json), installed once
if [ ! -d tests/manifests/node_modules/kubernetes-models ] || [ ! -d tests/manifests/node_modules/@kubernetes/client-node ]; then
	(cd tests/manifests && npm ci --no-audit --no-fund --loglevel=error) >&2 || fail "npm ci in tests/manifests failed"
fi
C=tests/manifests/check.mjs

GOOD=(deploy/kubernetes/*.yaml deploy/kubernetes/python-app/*.yaml deploy/otel-collector/*.yaml
	deploy/otel-collector/kubernetes/*.yaml)
node "$C" "${GOOD[@]}" >"$T/good.out" 2>&1
rc=$?
cat "$T/good.out"
assert_eq "$rc" 0 "validation of deploy/"
n=${#GOOD[@]}
grep -q "in $n files, 0 problems" "$T/good.out" || fail "not every manifest was checked"
for kind in Namespace ServiceAccount ConfigMap DaemonSet Service PodMonitor Kustomization; do
	grep -q "^kind: $kind" deploy/kubernetes/*.yaml || fail "deploy/kubernetes has no $kind"
done
# the Python example: the initContainer runs the image's python-bootstrap into the
# volume the app has first on PYTHONPATH
grep -q '"python-bootstrap", "/ttatrace/python"' deploy/kubernetes/python-app/deployment.yaml &&
	grep -A1 'name: PYTHONPATH' deploy/kubernetes/python-app/deployment.yaml | grep -q 'value: /ttatrace/python' ||
	fail "deploy/kubernetes/python-app: the bootstrap does not reach PYTHONPATH"
# the Collector tiers: a DaemonSet and a Deployment behind a headless Service, RBAC for
# k8sattributes and the resolver (the checks across files assert what each grants)
for kind in Namespace ServiceAccount ClusterRole ClusterRoleBinding Role RoleBinding DaemonSet Deployment Service Kustomization; do
	grep -q "^kind: $kind" deploy/otel-collector/*.yaml deploy/otel-collector/kubernetes/*.yaml ||
		fail "deploy/otel-collector has no $kind"
done

node "$C" tests/manifests/broken/*.yaml >"$T/bad.out" 2>&1
rc=$?
cat "$T/bad.out"
[ "$rc" -ne 0 ] || fail "the broken manifests passed validation"
for want in "spec.hostPid: unknown field" "capabilities.add: expected a list" \
	"httpGet.timeout: unknown field" 'memory must match format "quantity"' \
	"exporter loadbalancing is not defined" "batch is defined but no pipeline uses it" \
	"granted get, list and watch on apps/replicasets" "must be headless (clusterIP: None)" \
	"names missing-agent.yaml, which does not exist" "health_check is defined but the service does not enable it"; do
	grep -qF "$want" "$T/bad.out" || fail "the validator missed: $want"
done
echo PASS
