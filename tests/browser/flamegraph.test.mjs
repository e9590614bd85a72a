// Opens flame graph SVGs made by `ttatrace flamegraph` in Debian's headless
// Chromium and uses them as a person would: frames drawn, hover, click to zoom,
// reset, search, errors, legend, diff colours, icicle orientation. Expected
// values come from the folded fixtures themselves, not from the SVG.
//
// Environment (set by tests/e2e/test_flamegraph_browser.sh):
//   SVG_DIR    flame.svg, diff.svg, icicle.svg, perf.svg rendered from FIXTURES
//   FIXTURES   directory holding workflow.folded, workflow_before.folded, perf.folded
//   ARTIFACTS  where screenshots (PNG) are written
//   CHROMIUM   browser binary (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const SVG_DIR = process.env.SVG_DIR;
const FIXTURES = process.env.FIXTURES || 'tests/fixtures';
const ARTIFACTS = process.env.ARTIFACTS || 'build/artifacts';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

if (!SVG_DIR) throw new Error('SVG_DIR is not set (run tests/e2e/test_flamegraph_browser.sh)');

// ttatrace's frame annotation: "name [kind]", "name [kind!]", "name [!]" (folded_parse.h)
const ANNOTATION = /^(.+) \[([a-z][a-z0-9_.-]{0,31})?(!)?\]$/;

function splitFrame(raw) {
  const m = ANNOTATION.exec(raw);
  if (!m || (!m[2] && !m[3])) return { name: raw, kind: null, error: false };
  return { name: m[1], kind: m[2] || null, error: !!m[3] };
}

// Every distinct path of a folded file with its inclusive value, keyed by the
// raw (annotated) frames joined with ';'.
function expectedFrames(file) {
  const paths = new Map();
  let total = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const sp = t.lastIndexOf(' ');
    const value = Number(t.slice(sp + 1));
    const frames = t.slice(0, sp).split(';');
    total += value;
    for (let d = 1; d <= frames.length; d++) {
      const key = frames.slice(0, d).join(';');
      const f = paths.get(key) || { depth: d, ...splitFrame(frames[d - 1]), value: 0 };
      f.value += value;
      paths.set(key, f);
    }
  }
  return { paths, total };
}

function findPath(exp, suffix) {
  for (const [k, f] of exp.paths) if (k === suffix || k.endsWith(';' + suffix)) return f;
  throw new Error(`no path ending in ${suffix}`);
}

let context;
let userDataDir;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttatrace-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  // nothing in the SVG may reach the network
  await context.route(/^(?!file:)/, (route) => route.abort());
});

after(async () => {
  if (context) await context.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

async function open(name) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(pathToFileURL(path.join(SVG_DIR, name)).href);
  const size = await page.evaluate(() => ({
    w: +document.documentElement.getAttribute('width'),
    h: +document.documentElement.getAttribute('height'),
  }));
  await page.setViewportSize({ width: size.w, height: Math.min(size.h, 4000) });
  page.svgErrors = errors;
  return page;
}

// All frames as the DOM has them now.
function frames(page) {
  return page.$$eval('g.f', (gs) => gs.map((g) => {
    const r = g.querySelector('rect');
    const box = r.getBBox();
    return {
      name: g.getAttribute('data-name'),
      kind: g.getAttribute('data-kind'),
      error: g.getAttribute('data-err') === '1',
      value: +g.getAttribute('data-value'),
      x: +g.getAttribute('data-x'),
      depth: +g.getAttribute('data-depth'),
      rx: +r.getAttribute('x'),
      rw: +r.getAttribute('width'),
      ry: +r.getAttribute('y'),
      hidden: getComputedStyle(g).display === 'none',
      drawnW: box.width,
      text: g.querySelector('text').textContent,
      fill: getComputedStyle(r).fill,
      stroke: getComputedStyle(r).stroke,
      matched: g.classList.contains('match'),
    };
  }));
}

const frameSel = (name) => `g.f[data-name="${name}"]`;
const geometry = (page) => page.evaluate(() => ({
  W: +document.documentElement.getAttribute('data-width'),
  PAD: +document.documentElement.getAttribute('data-pad'),
}));

test('draws one frame per distinct path with the right values', async () => {
  const exp = expectedFrames(path.join(FIXTURES, 'workflow.folded'));
  const page = await open('flame.svg');
  const got = await frames(page);
  const { W, PAD } = await geometry(page);

  assert.equal(got.length, exp.paths.size + 1, 'frames drawn = distinct paths + the root');
  assert.equal(got[0].name, 'all');
  assert.equal(got[0].value, exp.total);
  const key = (f) => `${f.depth}|${f.name}|${f.kind}|${f.error}|${f.value}`;
  const want = [...exp.paths.values()].map(key).sort();
  assert.deepEqual(got.slice(1).map(key).sort(), want);
  for (const f of got) {
    assert.ok(f.drawnW > 0, `${f.name} is drawn`);
    assert.ok(Math.abs(f.rw - (f.value / exp.total) * (W - 2 * PAD)) < 0.02, `${f.name} width`);
  }
  // names are drawn where they fit, truncated with '..' where they do not
  assert.equal(got[0].text, 'all');
  const long = got.find((f) => f.name.startsWith('render<std::map'));
  assert.ok(long.text.endsWith('..') && long.text.length < long.name.length, long.text);
  assert.ok(long.name.startsWith(long.text.slice(0, -2)));
  assert.deepEqual(page.svgErrors, []);
  await page.screenshot({ path: path.join(ARTIFACTS, 'flamegraph.png') });
  await page.close();
});

test('hover shows name, time and percent', async () => {
  const exp = expectedFrames(path.join(FIXTURES, 'workflow.folded'));
  const page = await open('flame.svg');
  const reserve = findPath(exp, 'reserve [parallel]');
  await page.hover(frameSel('reserve'));
  const details = await page.textContent('#details');
  const pct = ((100 * reserve.value) / exp.total).toFixed(2);
  assert.match(details, /^reserve \(parallel\) — /);
  assert.ok(details.includes(`${(reserve.value / 1000).toFixed(1)} ms`), details);
  assert.ok(details.includes(`${pct}%`), details);
  await page.close();
});

test('click zooms a frame to the full width, reset restores', async () => {
  const page = await open('flame.svg');
  const { W, PAD } = await geometry(page);
  const before = await frames(page);
  await page.click(frameSel('price_quote'));
  const z = await frames(page);
  const pq = z.find((f) => f.name === 'price_quote');
  assert.ok(Math.abs(pq.rx - PAD) < 0.01 && Math.abs(pq.rw - (W - 2 * PAD)) < 0.01,
    `zoomed frame spans the width: x=${pq.rx} w=${pq.rw}`);
  assert.ok(Math.abs(pq.drawnW - (W - 2 * PAD)) < 0.01);
  const attempts = z.filter((f) => f.name === 'quote_attempt');
  assert.equal(attempts.length, 2);
  assert.ok(attempts.every((f) => !f.hidden));
  const sum = attempts.reduce((s, f) => s + f.rw, 0);
  assert.ok(Math.abs(sum - (W - 2 * PAD)) < 0.05, 'children of a frame without self time fill it');
  assert.ok(z.find((f) => f.name === 'fraud_check').hidden, 'siblings are hidden');
  assert.ok(z.find((f) => f.name === 'refund').hidden, 'other roots are hidden');
  for (const name of ['reserve', 'checkout', 'all']) {
    const a = z.find((f) => f.name === name);
    assert.ok(!a.hidden && Math.abs(a.rw - (W - 2 * PAD)) < 0.01, `${name} spans the width`);
  }
  assert.ok(await page.isVisible('#unzoom'));
  await page.screenshot({ path: path.join(ARTIFACTS, 'flamegraph-zoomed.png') });

  await page.click('#unzoom');
  const back = await frames(page);
  assert.deepEqual(back.map((f) => [f.rx, f.rw, f.hidden, f.text]),
    before.map((f) => [f.rx, f.rw, f.hidden, f.text]));
  assert.ok(!(await page.isVisible('#unzoom')));
  await page.close();
});

test('search highlights the matches and shows the matched percent', async () => {
  const exp = expectedFrames(path.join(FIXTURES, 'workflow.folded'));
  const page = await open('flame.svg');
  const cases = [
    // plain substring: both db_query frames
    { term: 'db_query', names: (n) => n.includes('db_query') },
    // nested matches (price_quote > quote_attempt) count once in the percent
    { term: 'QUOTE', names: (n) => n.toLowerCase().includes('quote') },
    { term: '/^(validate|issue)_/', names: (n) => /^(validate|issue)_/.test(n) },
  ];
  for (const c of cases) {
    await page.fill('#search', c.term);
    const got = await frames(page);
    const want = [...exp.paths.entries()].filter(([, f]) => c.names(f.name));
    assert.ok(want.length > 0);
    assert.equal(got.filter((f) => f.matched).length, want.length, c.term);
    const hits = got.filter((f) => f.matched);
    assert.ok(hits.every((f) => f.fill === 'rgb(230, 0, 230)'), 'matches are highlighted');
    // the percent: matched paths not inside another matched path
    const keys = want.map(([k]) => k);
    const outer = want.filter(([k]) => !keys.some((o) => o !== k && k.startsWith(o + ';')));
    const sum = outer.reduce((s, [, f]) => s + f.value, 0);
    const pct = ((100 * sum) / exp.total).toFixed(2);
    const text = await page.textContent('#matched');
    assert.equal(text, `Matched: ${pct}% (${want.length} frame${want.length === 1 ? '' : 's'})`);
    if (c.term === 'db_query') await page.screenshot({ path: path.join(ARTIFACTS, 'flamegraph-search.png') });
  }
  await page.fill('#search', '');
  assert.equal((await frames(page)).filter((f) => f.matched).length, 0);
  assert.equal(await page.textContent('#matched'), '');
  await page.close();
});

test('errors are outlined in red and kinds have a legend', async () => {
  const exp = expectedFrames(path.join(FIXTURES, 'workflow.folded'));
  const page = await open('flame.svg');
  const got = await frames(page);
  const errs = got.filter((f) => f.error);
  assert.equal(errs.length, [...exp.paths.values()].filter((f) => f.error).length);
  assert.ok(errs.every((f) => f.stroke === 'rgb(212, 0, 0)'), 'error outline');
  assert.ok(got.filter((f) => !f.error).every((f) => f.stroke !== 'rgb(212, 0, 0)'));
  const legend = await page.$$eval('#legend text', (ts) => ts.map((t) => t.textContent));
  const kinds = [...new Set([...exp.paths.values()].map((f) => f.kind).filter(Boolean))];
  assert.deepEqual([...legend].sort(), [...kinds, 'error'].sort());
  // a kind keeps one hue: the two parallel-less 'step' frames share the family colour
  const steps = got.filter((f) => f.kind === 'step').map((f) => f.fill);
  const pars = got.filter((f) => f.kind === 'parallel').map((f) => f.fill);
  assert.ok(!steps.includes(pars[0]), 'different kinds, different colours');
  // escaped names come back intact
  assert.ok(got.some((f) => f.name === 'format "receipt" & <email> \'now\''));
  await page.close();
});

test('differential graph: sized by after, red grew, blue shrank', async () => {
  const after = expectedFrames(path.join(FIXTURES, 'workflow.folded'));
  const beforeExp = expectedFrames(path.join(FIXTURES, 'workflow_before.folded'));
  const page = await open('diff.svg');
  const got = await frames(page);
  assert.equal(got.length, after.paths.size + 1, 'frames of the after side only');
  assert.equal(got[0].value, after.total);
  assert.ok(!got.some((f) => f.name === 'legacy_label_printer'), 'gone frames are not drawn');
  const rgb = (s) => s.match(/\d+/g).map(Number);
  const share = (e, k) => (e.paths.get(k)?.value || 0) / e.total;
  for (const [k, f] of after.paths) {
    const d = share(after, k) - share(beforeExp, k);
    const g = got.find((x) => x.depth === f.depth && x.name === f.name && x.kind === f.kind &&
      x.error === f.error && x.value === f.value);
    const [r, gg, b] = rgb(g.fill);
    if (d > 0.01) assert.ok(r > b && gg < 240, `${k} grew: ${g.fill}`);
    if (d < -0.01) assert.ok(b > r && r < 240, `${k} shrank: ${g.fill}`);
  }
  await page.hover('g.f[data-name="db_query"]');
  assert.match(await page.textContent('#details'), /after .* before .* Δ [+-]\d+\.\d\d pts/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'flamegraph-diff.png') });
  await page.close();
});

test('icicle graph puts the root on top; perf input renders', async () => {
  let page = await open('icicle.svg');
  let got = await frames(page);
  const root = got[0];
  assert.ok(got.slice(1).every((f) => f.ry > root.ry), 'children below the root');
  await page.close();

  const exp = expectedFrames(path.join(FIXTURES, 'perf.folded'));
  page = await open('perf.svg');
  got = await frames(page);
  assert.equal(got.length, exp.paths.size + 1);
  assert.ok(got.every((f) => f.kind === null));
  assert.ok(got.slice(1).every((f) => f.ry < got[0].ry), 'flame: root at the bottom');
  await page.hover(frameSel('parse_json'));
  const pct = ((100 * 235) / exp.total).toFixed(2);
  assert.equal(await page.textContent('#details'), `parse_json — 235 samples, ${pct}%, self 98 samples`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'flamegraph-perf.png') });
  await page.close();
});
