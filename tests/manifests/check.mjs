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
import YAML from "yaml";
import * as k8s from "@kubernetes/client-node";
import { Namespace, ConfigMap, Service, ServiceAccount } from "kubernetes-models/v1";
import { DaemonSet } from "kubernetes-models/apps/v1";

const errors = [];
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
    { name: "patches", type: "Array<object>" }],
};
const kinds = {
  "v1/Namespace": ["V1Namespace", Namespace], "v1/ConfigMap": ["V1ConfigMap", ConfigMap],
  "v1/Service": ["V1Service", Service], "v1/ServiceAccount": ["V1ServiceAccount", ServiceAccount],
  "apps/v1/DaemonSet": ["V1DaemonSet", DaemonSet],
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

function checkCollector(file) {
  let c;
  try { c = YAML.parse(fs.readFileSync(file, "utf8")); }
  catch (e) { return err(file, "yaml", e.message.split("\n")[0]); }
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
for (const e of errors) console.error(e);
console.log(`checked: in ${files.length} files, ${errors.length} problems`);
process.exit(errors.length ? 1 : 0);
