// Offline validation of the deploy/ manifests, without an API server.
// Kubernetes objects: a walker over @kubernetes/client-node's attribute type maps
// rejects unknown fields and values of the wrong type, then kubernetes-models checks
// value formats (quantities, ports, enums, required fields) against the OpenAPI schema.
// PodMonitor (a CRD) and the Kustomization get small hand-written type maps below.
// Collector configs: every component a pipeline names is defined, every defined one is
// used, and the pieces ttatrace's multi-node design depends on are there.
// Usage: node check.mjs FILE... (a file with a top-level service: is a Collector config)
// One line per problem on stderr; exit status 1 if any.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import * as k8s from "@kubernetes/client-node";
import { Namespace, ConfigMap, Service, ServiceAccount } from "kubernetes-models/v1";
import { DaemonSet, Deployment } from "kubernetes-models/apps/v1";
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";

const errors = [];
const objects = []; // every Kubernetes object checked, for the checks across files
const collectors = []; // every Collector config checked
const err = (file, path, msg) => errors.push(`${file}: ${path}: ${msg}`);

// hand type maps for the two kinds client-node does not know
const custom = {
  PodMonitor: [
    { name: "apiVersion", type: "string" }, { name: "kind", type: "string" },
    { name: "metadata", type: "V1ObjectMeta" }, { name: "spec", type: "PodMonitorSpec" }],
  PodMonitorSpec: [
    { name: "selector", type: "V1LabelSelector" }, { name: "namespaceSelector", type: "NamespaceSelector" },
    { name: "podMetricsEndpoints", type: "Array<PodMetricsEndpoint>" }, { name: "jobLabel", type: "string" },
    { name: "podTargetLabels", type: "Array<string>" }, { name: "sampleLimit", type: "number" }],
  NamespaceSelector: [{ name: "any", type: "boolean" }, { name: "matchNames", type: "Array<string>" }],
  PodMetricsEndpoint: [
    { name: "port", type: "string" }, { name: "path", type: "string" }, { name: "scheme", type: "string" },
    { name: "interval", type: "string" }, { name: "scrapeTimeout", type: "string" },
    { name: "honorLabels", type: "boolean" }, { name: "relabelings", type: "Array<object>" }],
  Kustomization: [
    { name: "apiVersion", type: "string" }, { name: "kind", type: "string" },
    { name: "namespace", type: "string" }, { name: "resources", type: "Array<string>" },
    { name: "images", type: "Array<object>" }, { name: "labels", type: "Array<object>" },
    { name: "patches", type: "Array<object>" }, { name: "configMapGenerator", type: "Array<Generator>" },
    { name: "generatorOptions", type: "object" }],
  Generator: [
    { name: "name", type: "string" }, { name: "namespace", type: "string" }, { name: "behavior", type: "string" },
    { name: "files", type: "Array<string>" }, { name: "literals", type: "Array<string>" }],
};
const kinds = {
  "v1/Namespace": ["V1Namespace", Namespace], "v1/ConfigMap": ["V1ConfigMap", ConfigMap],
  "v1/Service": ["V1Service", Service], "v1/ServiceAccount": ["V1ServiceAccount", ServiceAccount],
  "apps/v1/DaemonSet": ["V1DaemonSet", DaemonSet], "apps/v1/Deployment": ["V1Deployment", Deployment],
  "rbac.authorization.k8s.io/v1/ClusterRole": ["V1ClusterRole", ClusterRole],
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ["V1ClusterRoleBinding", ClusterRoleBinding],
  "rbac.authorization.k8s.io/v1/Role": ["V1Role", Role],
  "rbac.authorization.k8s.io/v1/RoleBinding": ["V1RoleBinding", RoleBinding],
  "monitoring.coreos.com/v1/PodMonitor": ["PodMonitor", null],
  "kustomize.config.k8s.io/v1beta1/Kustomization": ["Kustomization", null],
};

function typeMap(type) {
  if (custom[type]) return custom[type];
  const cls = k8s[type];
  if (cls && typeof cls.getAttributeTypeMap === "function")
    return cls.getAttributeTypeMap().map((a) => ({ name: a.baseName, type: a.type }));
  return null;
}

function walk(file, path, value, type) {
  if (value === null || value === undefined) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (!Array.isArray(value)) return err(file, path, `expected a list (${type})`);
    value.forEach((v, i) => walk(file, `${path}[${i}]`, v, m[1]));
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    if (typeof value !== "object" || Array.isArray(value)) return err(file, path, `expected a map (${type})`);
    for (const [k, v] of Object.entries(value)) walk(file, `${path}.${k}`, v, m[1]);
    return;
  }
  switch (type) {
    case "string": if (typeof value !== "string") err(file, path, `expected a string, got ${JSON.stringify(value)}`); return;
    case "number": if (typeof value !== "number") err(file, path, `expected a number, got ${JSON.stringify(value)}`); return;
    case "boolean": if (typeof value !== "boolean") err(file, path, `expected a boolean, got ${JSON.stringify(value)}`); return;
    case "Date": if (typeof value !== "string" || isNaN(Date.parse(value))) err(file, path, "expected a date"); return;
    case "IntOrString": if (typeof value !== "string" && !Number.isInteger(value)) err(file, path, "expected an integer or a string"); return;
    case "any": case "object": return;
  }
  const attrs = typeMap(type);
  if (!attrs) return err(file, path, `no type map for ${type} (checker incomplete)`);
  if (typeof value !== "object" || Array.isArray(value)) return err(file, path, `expected an object (${type})`);
  for (const [k, v] of Object.entries(value)) {
    const a = attrs.find((x) => x.name === k);
    if (!a) err(file, `${path}.${k}`, `unknown field in ${type}`);
    else walk(file, `${path}.${k}`, v, a.type);
  }
}

function checkK8s(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  let n = 0;
  for (const d of docs) {
    if (d.errors.length) { err(file, "yaml", d.errors[0].message); continue; }
    const o = d.toJS();
    if (o === null) continue;
    n++;
    const key = `${o.apiVersion}/${o.kind}`;
    const k = kinds[key];
    if (!k) { err(file, key, "unknown apiVersion/kind"); continue; }
    walk(file, o.kind, o, k[0]);
    objects.push({ file, o });
    if (o.kind === "Kustomization") checkKustomization(file, o);
    if (k[1]) {
      try { new k[1](o).validate(); }
      catch (e) {
        const list = e.errors || e.details || [];
        if (Array.isArray(list) && list.length)
          for (const x of list)
            errors.push(`${file}: ${o.kind}${(x.instancePath || "").replace(/\/(\d+)/g, "[$1]").replace(/\//g, ".")} ${x.message} (OpenAPI schema)`);
        else err(file, o.kind, `schema: ${e.message || String(e)}`);
      }
    }
  }
  if (!n) err(file, "yaml", "no object");
}

// every file a Kustomization names exists (kustomize would refuse to build)
function checkKustomization(file, o) {
  const dir = path.dirname(file);
  const named = [...(o.resources || [])];
  for (const g of o.configMapGenerator || [])
    for (const f of g.files || []) named.push(f.includes("=") ? f.slice(f.indexOf("=") + 1) : f);
  for (const f of named) {
    if (/^[a-z]+:\/\//.test(f)) continue;
    if (!fs.existsSync(path.join(dir, f))) err(file, "Kustomization", `names ${f}, which does not exist`);
  }
}

function checkCollector(file) {
  let c;
  try { c = YAML.parse(fs.readFileSync(file, "utf8")); }
  catch (e) { return err(file, "yaml", e.message.split("\n")[0]); }
  collectors.push({ file, c });
  const sections = ["receivers", "processors", "exporters", "connectors", "extensions"];
  for (const s of Object.keys(c || {}))
    if (![...sections, "service"].includes(s)) err(file, s, "unknown top-level section");
  const pipes = c?.service?.pipelines;
  if (!pipes || !Object.keys(pipes).length) return err(file, "service.pipelines", "no pipeline");
  const used = new Set();
  for (const [name, p] of Object.entries(pipes)) {
    if (!/^(traces|metrics|logs)(\/.+)?$/.test(name)) err(file, `service.pipelines.${name}`, "not a traces, metrics or logs pipeline");
    for (const role of Object.keys(p))
      if (!["receivers", "processors", "exporters"].includes(role)) err(file, `service.pipelines.${name}.${role}`, "unknown key");
    for (const role of ["receivers", "exporters"])
      if (!Array.isArray(p[role]) || !p[role].length) err(file, `service.pipelines.${name}.${role}`, "empty");
    for (const role of ["receivers", "processors", "exporters"])
      for (const id of p[role] || []) {
        used.add(`${role}/${id}`);
        if (!(c[role] && id in c[role])) err(file, `service.pipelines.${name}.${role}`, `${role.slice(0, -1)} ${id} is not defined`);
      }
    const procs = p.processors || [];
    if (procs.includes("memory_limiter") && procs[0] !== "memory_limiter") err(file, `service.pipelines.${name}`, "memory_limiter must come first");
    if (procs.includes("batch") && procs.includes("tail_sampling") && procs.indexOf("batch") < procs.indexOf("tail_sampling"))
      err(file, `service.pipelines.${name}`, "batch must come after tail_sampling");
  }
  for (const role of ["receivers", "processors", "exporters"])
    for (const id of Object.keys(c[role] || {}))
      if (!used.has(`${role}/${id}`)) err(file, `${role}.${id}`, `${role.slice(0, -1)} ${id} is defined but no pipeline uses it`);
  const exts = c?.service?.extensions || [];
  for (const id of exts)
    if (!(c.extensions && id in c.extensions)) err(file, "service.extensions", `extension ${id} is not defined`);
  for (const id of Object.keys(c.extensions || {}))
    if (!exts.includes(id)) err(file, `extensions.${id}`, `extension ${id} is defined but the service does not enable it`);
  const lb = c.exporters?.loadbalancing;
  if (lb && lb.routing_key !== "traceID") err(file, "exporters.loadbalancing.routing_key", "must be traceID: a trace's spans must reach one sampler");
  const ts = c.processors?.tail_sampling;
  if (ts) {
    const types = (ts.policies || []).map((x) => x.type);
    for (const t of ["status_code", "latency", "probabilistic"])
      if (!types.includes(t)) err(file, "processors.tail_sampling.policies", `no ${t} policy`);
  }
  const ka = c.processors?.k8sattributes;
  if (ka) {
    const keys = (ka.pod_association || []).flatMap((a) => (a.sources || []).map((s) => s.name));
    for (const k of ["k8s.pod.uid", "container.id"])
      if (!keys.includes(k)) err(file, "processors.k8sattributes.pod_association", `not keyed by ${k}`);
  }
}

// Checks across files, when Collector configs come with Kubernetes objects: what the
// Collector's components need from the cluster is granted and deployed.
const grants = (rules, group, resource) =>
  (rules || []).some((r) => (r.apiGroups || []).includes(group) && (r.resources || []).includes(resource) &&
    ["get", "list", "watch"].every((v) => (r.verbs || []).includes(v) || (r.verbs || []).includes("*")));
function serviceAccountsGranted(group, resource) {
  const sas = new Set();
  for (const { o: b } of objects) {
    if (b.kind !== "ClusterRoleBinding" && b.kind !== "RoleBinding") continue;
    const role = objects.find(({ o }) => o.kind === b.roleRef?.kind && o.metadata?.name === b.roleRef?.name &&
      (o.kind === "ClusterRole" || o.metadata?.namespace === b.metadata?.namespace));
    if (!role || !grants(role.o.rules, group, resource)) continue;
    for (const s of b.subjects || [])
      if (s.kind === "ServiceAccount") sas.add(`${s.namespace || b.metadata?.namespace}/${s.name}`);
  }
  return sas;
}
function checkAcross() {
  if (!objects.length) return;
  const workloads = objects.filter(({ o }) => o.kind === "DaemonSet" || o.kind === "Deployment");
  const runAs = (sas) => workloads.some(({ o }) =>
    sas.has(`${o.metadata?.namespace}/${o.spec?.template?.spec?.serviceAccountName || "default"}`));
  for (const { file, c } of collectors) {
    const need = [];
    if (c.processors?.k8sattributes)
      need.push(["", "pods", "k8sattributes"], ["", "namespaces", "k8sattributes"], ["apps", "replicasets", "k8sattributes"]);
    const k8s = c.exporters?.loadbalancing?.resolver?.k8s;
    if (k8s) {
      need.push(["", "endpoints", "the loadbalancing k8s resolver"]);
      const [name, ns] = String(k8s.service || "").split(".");
      const svc = objects.find(({ o }) => o.kind === "Service" && o.metadata?.name === name && o.metadata?.namespace === (ns || "default"));
      if (!svc) err(file, "exporters.loadbalancing.resolver.k8s.service", `no Service ${k8s.service} among the manifests`);
      else {
        if (svc.o.spec?.clusterIP !== "None")
          err(svc.file, `Service ${name}`, "must be headless (clusterIP: None): the loadbalancing exporter resolves its pods");
        for (const p of k8s.ports || [4317])
          if (!(svc.o.spec?.ports || []).some((x) => x.port === p)) err(svc.file, `Service ${name}`, `has no port ${p}, which the resolver uses`);
      }
    }
    for (const [group, resource, who] of need) {
      const sas = serviceAccountsGranted(group, resource);
      if (!runAs(sas))
        err(file, who, `no DaemonSet or Deployment runs as a ServiceAccount granted get, list and watch on ${group ? group + "/" : ""}${resource}`);
    }
  }
}

// a Collector config has service.pipelines; anything else is Kubernetes objects
const files = process.argv.slice(2);
if (!files.length) {
  console.error("usage: node check.mjs FILE...");
  process.exit(2);
}
for (const f of files) {
  let collector = false;
  try { collector = /^service:/m.test(fs.readFileSync(f, "utf8")); }
  catch (e) { err(f, "read", e.message); continue; }
  (collector ? checkCollector : checkK8s)(f);
}
checkAcross();
for (const e of errors) console.error(e);
console.log(`checked: in ${files.length} files, ${errors.length} problems`);
process.exit(errors.length ? 1 : 0);
