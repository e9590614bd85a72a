// OTLP/HTTP test receiver for ttatrace's exporter tests. It decodes
// ExportTraceServiceRequest with the protobufjs types that @opentelemetry/otlp-transformer
// generates from the official opentelemetry-proto schema (so the decoder is not ours),
// appends one JSON line per request to --out, and can be told to misbehave.
//
//   node receiver.mjs --out FILE [--port N] [--port-file FILE] [--fail-status CODE]
//        [--fail-count N] [--retry-after VALUE | --retry-after-date SECONDS]
//        [--error-message TEXT] [--error-format proto|text] [--delay-ms N]
//        [--delay-count N] [--partial N] [--max-lifetime-s N]
//
// --fail-count: how many trace requests get --fail-status (-1: all). --delay-count: how
// many are answered only after --delay-ms (-1: all). --partial N: 200 with a partial
// success rejecting N spans. POST /control with a JSON object of the same settings in
// camelCase changes them at run time; {"downMs": N} stops listening for N ms.
// It binds to 127.0.0.1 only and exits by itself after --max-lifetime-s (default 300).
import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const { ExportTraceServiceRequest, ExportTraceServiceResponse } =
  root.opentelemetry.proto.collector.trace.v1;
const { ExportMetricsServiceRequest, ExportMetricsServiceResponse } =
  root.opentelemetry.proto.collector.metrics.v1;

function parseArgs(argv) {
  const opts = {
    port: 0,
    portFile: null,
    out: null,
    failStatus: 0,
    failCount: 0,
    retryAfter: null,
    retryAfterDate: null,
    errorMessage: 'rejected by the test receiver',
    errorFormat: 'proto',
    delayMs: 0,
    delayCount: -1,
    partial: 0,
    maxLifetimeS: 300,
  };
  const numeric = new Set(['port', 'failStatus', 'failCount', 'retryAfterDate', 'delayMs',
    'delayCount', 'partial', 'maxLifetimeS']);
  for (let i = 2; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!flag.startsWith('--') || value === undefined) {
      throw new Error(`bad argument ${flag}`);
    }
    const key = flag.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in opts)) throw new Error(`unknown option ${flag}`);
    opts[key] = numeric.has(key) ? Number(value) : value;
    if (numeric.has(key) && !Number.isFinite(opts[key])) throw new Error(`${flag}: not a number`);
  }
  if (!opts.out) throw new Error('--out FILE is required');
  return opts;
}

// protobufjs gives bytes as base64; OTLP/JSON (and the tests) spell ids in hex
function idsToHex(obj) {
  if (Array.isArray(obj)) return obj.map(idsToHex);
  if (obj && typeof obj === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(obj)) {
      if ((k === 'traceId' || k === 'spanId' || k === 'parentSpanId') && typeof v === 'string') {
        out[k] = Buffer.from(v, 'base64').toString('hex');
      } else {
        out[k] = idsToHex(v);
      }
    }
    return out;
  }
  return obj;
}

function varint(n) {
  const bytes = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    bytes.push(b);
  } while (v);
  return Buffer.from(bytes);
}

// google.rpc.Status { int32 code = 1; string message = 2; }
function rpcStatus(code, message) {
  const msg = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from([0x08]), varint(code), Buffer.from([0x12]), varint(msg.length), msg]);
}

const opts = parseArgs(process.argv);
let traceRequests = 0;
const sockets = new Set();

function record(entry) {
  fs.appendFileSync(opts.out, JSON.stringify(entry) + '\n');
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function reply(res, status, headers, body) {
  if (res.destroyed) return;
  res.writeHead(status, headers);
  res.end(body);
}

async function handleControl(req, res) {
  const body = await readBody(req);
  const change = JSON.parse(body.toString('utf8') || '{}');
  const downMs = change.downMs;
  delete change.downMs;
  for (const [k, v] of Object.entries(change)) {
    if (!(k in opts)) return reply(res, 400, {}, `unknown setting ${k}\n`);
    opts[k] = v;
  }
  reply(res, 200, { 'content-type': 'application/json' }, JSON.stringify(opts) + '\n');
  if (downMs) {
    res.on('finish', () => {
      server.close();
      for (const s of sockets) s.destroy();
      setTimeout(() => server.listen(opts.port, '127.0.0.1'), downMs);
    });
  }
}

async function handleTraces(req, res) {
  const arrived = Date.now();
  const n = traceRequests++;
  const raw = await readBody(req);
  const encoding = req.headers['content-encoding'] || null;
  const entry = {
    n,
    timeMs: arrived,
    method: req.method,
    contentType: req.headers['content-type'] || null,
    contentEncoding: encoding,
    userAgent: req.headers['user-agent'] || null,
    headers: req.headers,
    bytes: raw.length,
  };
  let status = 200;
  let decoded = null;
  try {
    const body = encoding === 'gzip' ? zlib.gunzipSync(raw) : raw;
    if (encoding && encoding !== 'gzip' && encoding !== 'identity') throw new Error(`encoding ${encoding}`);
    decoded = ExportTraceServiceRequest.decode(body);
    entry.request = idsToHex(ExportTraceServiceRequest.toObject(decoded, {
      longs: String, enums: Number, bytes: String, defaults: false,
    }));
  } catch (e) {
    entry.decodeError = String(e.message || e);
    status = 400;
  }
  if (status === 200 && req.headers['content-type'] !== 'application/x-protobuf') {
    entry.decodeError = `content-type ${req.headers['content-type']}`;
    status = 415;
  }
  const failing = opts.failStatus && (opts.failCount < 0 || n < opts.failCount);
  if (status === 200 && failing) status = opts.failStatus;
  const delaying = opts.delayMs > 0 && (opts.delayCount < 0 || n < opts.delayCount);
  entry.status = status;
  entry.delayedMs = delaying ? opts.delayMs : 0;
  record(entry);

  const send = () => {
    if (status === 200) {
      const resp = {};
      if (opts.partial > 0) {
        resp.partialSuccess = { rejectedSpans: opts.partial, errorMessage: 'test receiver refused some spans' };
      }
      const out = ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(resp)).finish();
      return reply(res, 200, { 'content-type': 'application/x-protobuf' }, Buffer.from(out));
    }
    const headers = {};
    if (opts.retryAfter !== null) headers['retry-after'] = String(opts.retryAfter);
    if (opts.retryAfterDate !== null) {
      headers['retry-after'] = new Date(Date.now() + opts.retryAfterDate * 1000).toUTCString();
    }
    const message = entry.decodeError || opts.errorMessage;
    if (opts.errorFormat === 'proto') {
      headers['content-type'] = 'application/x-protobuf';
      return reply(res, status, headers, rpcStatus(status === 400 ? 3 : 14, message));
    }
    headers['content-type'] = 'text/plain; charset=utf-8';
    return reply(res, status, headers, message + '\n');
  };
  if (delaying) setTimeout(send, opts.delayMs);
  else send();
}

// /v1/metrics: decoded with the official schema and recorded with kind "metrics";
// it never misbehaves (the fault flags are for traces).
async function handleMetrics(req, res) {
  const raw = await readBody(req);
  const encoding = req.headers['content-encoding'] || null;
  const entry = { kind: 'metrics', timeMs: Date.now(), contentType: req.headers['content-type'] || null,
    contentEncoding: encoding, bytes: raw.length };
  let status = 200;
  try {
    const body = encoding === 'gzip' ? zlib.gunzipSync(raw) : raw;
    entry.request = ExportMetricsServiceRequest.toObject(ExportMetricsServiceRequest.decode(body), {
      longs: String, enums: Number, bytes: String, defaults: false,
    });
  } catch (e) {
    entry.decodeError = String(e.message || e);
    status = 400;
  }
  entry.status = status;
  record(entry);
  if (status !== 200) return reply(res, status, { 'content-type': 'text/plain' }, entry.decodeError + '\n');
  const out = ExportMetricsServiceResponse.encode(ExportMetricsServiceResponse.fromObject({})).finish();
  return reply(res, 200, { 'content-type': 'application/x-protobuf' }, Buffer.from(out));
}

const server = http.createServer((req, res) => {
  const done = (p) => p.catch((e) => reply(res, 500, {}, String(e)));
  if (req.method === 'POST' && req.url === '/control') return done(handleControl(req, res));
  if (req.method === 'POST' && req.url === '/v1/traces') return done(handleTraces(req, res));
  if (req.method === 'POST' && req.url === '/v1/metrics') return done(handleMetrics(req, res));
  return reply(res, 404, {}, 'not found\n');
});
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
server.on('listening', () => {
  opts.port = server.address().port;
  if (opts.portFile) fs.writeFileSync(opts.portFile, `${opts.port}\n`);
  process.stderr.write(`otlp-receiver: listening on 127.0.0.1:${opts.port}\n`);
});
server.listen(opts.port, '127.0.0.1');

const stop = () => {
  server.close();
  for (const s of sockets) s.destroy();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, opts.maxLifetimeS * 1000).unref();
