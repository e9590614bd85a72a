// Assertions of tests/e2e/test_otlp_*.sh over what the receiver decoded (its JSON lines
// dump) and what the driver sent: the driver's synthetic traces are deterministic, so
// every id, parent, name, attribute, status, link and resource attribute is recomputed
// here and compared.
//
//   node check.mjs export DUMP TRACES SPANS PROCS SERVICE GZIP(0|1)
//   node check.mjs json-matches DUMP JSONL TRACES
//   node check.mjs requests DUMP        (prints n status timeMs spans per request)
import fs from 'node:fs';
import os from 'node:os';

const BASE_NS = 1700000000000000000n;
let failures = 0;

function fail(msg) {
  failures++;
  if (failures <= 20) console.log(`  mismatch: ${msg}`);
}

function readLines(path) {
  return fs.readFileSync(path, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
}

const hex16 = (v) => BigInt(v).toString(16).padStart(16, '0');
const traceIdOf = (i) => '7474617472616365' + hex16(i + 1);
const spanIdOf = (i, j) => hex16((BigInt(i + 1) << 16n) | BigInt(j + 1));

function attrMap(kvs) {
  const m = new Map();
  for (const kv of kvs || []) {
    if (m.has(kv.key)) fail(`duplicate attribute ${kv.key}`);
    m.set(kv.key, kv.value);
  }
  return m;
}

function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  }
  return v;
}
const same = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

// spanId -> { span, resource, scope, request } over the accepted requests of a dump
function spansOf(requests) {
  const spans = new Map();
  for (const r of requests) {
    for (const rs of r.request.resourceSpans || []) {
      for (const ss of rs.scopeSpans || []) {
        for (const s of ss.spans || []) {
          if (spans.has(s.spanId)) fail(`span ${s.spanId} delivered twice`);
          spans.set(s.spanId, { span: s, resource: rs.resource, scope: ss.scope, request: r });
        }
      }
    }
  }
  return spans;
}

function accepted(dump) {
  const all = readLines(dump);
  for (const r of all) if (r.decodeError) fail(`request ${r.n} did not decode: ${r.decodeError}`);
  return all.filter((r) => r.status === 200);
}

function checkExport([dump, traces, spansPer, procs, service, gzip]) {
  const N = Number(traces), K = Number(spansPer), P = Number(procs);
  const requests = accepted(dump);
  if (!requests.length) fail('no request was accepted');
  for (const r of requests) {
    if (r.contentType !== 'application/x-protobuf') fail(`content-type ${r.contentType}`);
    if ((r.contentEncoding === 'gzip') !== (gzip === '1')) fail(`content-encoding ${r.contentEncoding}`);
    if (!/^ttatrace\/\d+\.\d+\.\d+/.test(r.userAgent || '')) fail(`user-agent ${r.userAgent}`);
    if (r.headers['x-test-token'] !== 's3cr=t') fail(`x-test-token header ${r.headers['x-test-token']}`);
    const pids = r.request.resourceSpans.map((rs) => attrMap(rs.resource.attributes).get('process.pid').intValue);
    if (new Set(pids).size !== pids.length) fail(`request ${r.n}: several ResourceSpans for one process`);
  }
  const spans = spansOf(requests);
  if (spans.size !== N * K) fail(`${spans.size} spans delivered, want ${N * K}`);
  const host = os.hostname();
  for (let i = 0; i < N; i++) {
    const p = i % P;
    for (let j = 0; j < K; j++) {
      const id = spanIdOf(i, j);
      const got = spans.get(id);
      if (!got) {
        fail(`span ${id} (trace ${i}, span ${j}) missing`);
        continue;
      }
      const s = got.span;
      const last = j === K - 1 && K > 1;
      const start = BASE_NS + BigInt(i) * 10000000n + BigInt(j) * 1000n;
      const end = BASE_NS + BigInt(i) * 10000000n + 5000000n - BigInt(j) * 1000n;
      const want = {
        traceId: traceIdOf(i),
        spanId: id,
        name: j ? `step-${j}` : 'root',
        kind: 1,
        startTimeUnixNano: String(start),
        endTimeUnixNano: String(end),
        attributes: [
          { key: 'tta.probe', value: { stringValue: j ? '/opt/e2e/bin/otlp-target:step' : '/opt/e2e/bin/otlp-target:run' } },
          { key: 'code.function', value: { stringValue: j ? 'step' : 'run' } },
          { key: 'tta.primitive.kind', value: { stringValue: j ? 'step' : 'sequential' } },
          { key: 'thread.id', value: { intValue: String(4242 + p + (j % 2)) } },
          { key: 'tta.return_value', value: { intValue: String(j === K - 1 ? -1 : j) } },
          { key: 'workflow.id', value: { stringValue: `wf-${i}` } },
          { key: 'tta.step.index', value: { intValue: String(j) } },
          { key: 'tta.note', value: { stringValue: 'quote" back\\slash\nnewline café' } },
        ],
        status: last ? { code: 2, message: `boom ${i}` } : { code: 1 },
      };
      if (j) want.parentSpanId = spanIdOf(i, (j - 1) >> 1);
      if (j === 1 && i > 0) want.links = [{ traceId: traceIdOf(i - 1), spanId: spanIdOf(i - 1, 0) }];
      if (!same(s, want)) fail(`span ${id}:\n    got  ${JSON.stringify(canonical(s))}\n    want ${JSON.stringify(canonical(want))}`);

      const res = attrMap(got.resource.attributes);
      const wantRes = {
        'service.name': { stringValue: service },
        'host.name': { stringValue: host },
        'process.pid': { intValue: String(4242 + p) },
        'process.executable.name': { stringValue: `otlp-target-${p}` },
        'process.executable.path': { stringValue: `/opt/e2e/bin/otlp-target-${p}` },
        'process.command_line': { stringValue: `otlp-target-${p} --mode "e2e"` },
        'deployment.environment': { stringValue: 'e2e' },
        team: { stringValue: 'a,b' },
      };
      if (res.size !== Object.keys(wantRes).length) fail(`span ${id}: ${res.size} resource attributes`);
      for (const [k, v] of Object.entries(wantRes)) {
        if (!same(res.get(k), v)) fail(`span ${id}: resource ${k} = ${JSON.stringify(res.get(k))}`);
      }
      if (!same(got.scope, { name: 'ttatrace', version: got.scope.version }) ||
          !/^\d+\.\d+\.\d+/.test(got.scope.version)) {
        fail(`span ${id}: scope ${JSON.stringify(got.scope)}`);
      }
    }
  }
}

// Each JSON line (one trace) must say exactly what the protobuf decoded for those spans.
function checkJsonMatches([dump, jsonl, traces]) {
  const spans = spansOf(accepted(dump));
  const lines = readLines(jsonl);
  if (lines.length !== Number(traces)) fail(`${lines.length} JSON lines, want ${traces}`);
  let compared = 0;
  for (const line of lines) {
    if (Object.keys(line).length !== 1 || line.resourceSpans.length !== 1) fail('a line is not one ResourceSpans');
    const rs = line.resourceSpans[0];
    if (rs.scopeSpans.length !== 1) fail('a line is not one ScopeSpans');
    for (const s of rs.scopeSpans[0].spans) {
      const got = spans.get(s.spanId);
      if (!got) {
        fail(`JSON span ${s.spanId} was never received over HTTP`);
        continue;
      }
      if (!same(s, got.span)) fail(`span ${s.spanId}:\n    json     ${JSON.stringify(canonical(s))}\n    protobuf ${JSON.stringify(canonical(got.span))}`);
      if (!same(rs.resource, got.resource)) fail(`span ${s.spanId}: resource differs`);
      if (!same(rs.scopeSpans[0].scope, got.scope)) fail(`span ${s.spanId}: scope differs`);
      compared++;
    }
  }
  if (compared !== spans.size) fail(`${compared} JSON spans compared, ${spans.size} received`);
}

function printRequests([dump]) {
  for (const r of readLines(dump)) {
    let n = 0;
    for (const rs of r.request?.resourceSpans || []) for (const ss of rs.scopeSpans || []) n += (ss.spans || []).length;
    console.log(`${r.n} ${r.status} ${r.timeMs} ${n}`);
  }
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'export') checkExport(args);
else if (cmd === 'json-matches') checkJsonMatches(args);
else if (cmd === 'requests') printRequests(args);
else {
  console.log(`unknown command ${cmd}`);
  process.exit(2);
}
if (failures) {
  console.log(`${failures} mismatch(es)`);
  process.exit(1);
}
