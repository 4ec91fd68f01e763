// The JavaScript API (dist/glassbox.js + its worker) in real Chromium, on the bundle the page
// serves, held to the native CLI on the same bundle: predict's objects field for field
// (classes and probabilities within 1e-3, entity spans exact, an empty text as the CLI's
// error item without failing the others), embed's vectors (cosine ≥ 0.9999 with `glassbox
// embed`), attention (shape, rows summing to one, values of `glassbox attention`); clear
// rejections for a missing bundle, a tampered manifest hash, a layer the model lacks, an
// empty text; two models on two backends (CPU and WebGPU on SwiftShader) loaded at once;
// the example page under its strict CSP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  serveDist, launch, servedBundle, nativeJson, openPage, noViolations, LONG,
} from './lib.mjs';

const SENTENCES = [
  'Just landed in Zürich 🎉 — the café by the lake with Anna is wonderful!',
  'Apple support kept me waiting for two hours, worst service ever',
  'Going to see the Lakers in Los Angeles with Justin tomorrow',
];
// SwiftShader is WebGPU emulated on the CPU: seconds per sentence.
const GPU_LONG = 600_000;
const CONTEXT = { serviceWorkers: 'block' };

let server;
before(async () => { server = await serveDist(); });
after(() => {
  server?.close();
  console.log('measured', JSON.stringify(worst));
});

/** The example page on `backend`, its model loaded. */
async function example(context, backend) {
  return openPage(context, `${server.url}example/?backend=${backend}`);
}

/** Calls `m[method](...args)` on the example page's model, typed arrays made plain. */
async function call(page, method, ...args) {
  return page.evaluate(async ([method, args]) => {
    const out = await window.glassboxModel[method](...args);
    const plain = (x) => (x instanceof Float32Array ? { f32: Array.from(x) } : x);
    return Array.isArray(out) ? out.map(plain) : plain(out);
  }, [method, args], { timeout: LONG });
}

/**
 * Installs `window.__reason(promise)` on the page: what the promise rejects with (name,
 * message, kind, file), or null when it resolves. (A helper, not eval: the CSP forbids that.)
 */
async function installReason(page) {
  await page.evaluate(() => {
    window.__api = new URL('../glassbox.js', location.href).href;
    window.__reason = async (p) => {
      try {
        await p;
        return null;
      } catch (e) {
        return { name: e.name, message: e.message, kind: e.kind, file: e.file };
      }
    };
  });
}

/** The largest difference seen per kind of comparison, printed at the end for the record. */
const worst = {};
const close = (a, b, tol, what, kind = 'other') => {
  const d = Math.abs(a - b);
  worst[kind] = Math.max(worst[kind] ?? 0, d);
  assert.ok(d <= tol, `${what}: ${a} vs ${b}`);
};

/** One API prediction against the CLI's object for the same text. */
function assertSamePrediction(got, want, what) {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: fields`);
  assert.equal(got.text, want.text);
  assert.equal(got.truncated, want.truncated);
  assert.equal(got.sentence.label, want.sentence.label, `${what}: label`);
  for (const [label, p] of Object.entries(want.sentence.probs)) close(got.sentence.probs[label], p, 1e-3, `${what} p(${label})`, `probs ${what.split(' ')[0]}`);
  const span = ({ label, text, start, end }) => ({ label, text, start, end });
  assert.deepEqual(got.entities.map(span), want.entities.map(span), `${what}: entities`);
  got.entities.forEach((e, i) => close(e.score, want.entities[i].score, 1e-3, `${what} entity ${i} score`));
  const piece = ({ piece, start, end }) => ({ piece, start, end });
  assert.deepEqual(got.tokens.map(piece), want.tokens.map(piece), `${what}: wordpieces`);
  got.tokens.forEach((t, i) => {
    const w = want.tokens[i];
    // A tag may only differ where the two runs' top tags are within rounding of a tie.
    if (w.score > 0.6) assert.equal(t.tag, w.tag, `${what}: tag of ${w.piece}`);
    if (t.tag === w.tag) close(t.score, w.score, 1e-3, `${what}: score of ${w.piece}`);
  });
}

function assertPredictionsMatch(got, want, what) {
  assert.equal(got.length, want.length, `${what}: one answer per text`);
  got.forEach((g, i) => {
    if (want[i].error !== undefined) assert.deepEqual(g, want[i], `${what}: item ${i + 1} is the CLI's error item`);
    else assertSamePrediction(g, want[i], `${what} item ${i + 1}`);
  });
}

function cosine(a, b) {
  let dot = 0; let na = 0; let nb = 0;
  a.forEach((x, i) => { dot += x * b[i]; na += x * x; nb += b[i] * b[i]; });
  return dot / Math.sqrt(na * nb);
}

test('CPU: predict, embed and attention equal the CLI; errors are clear; the example page works', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext(CONTEXT);
    const { page, errors } = await example(context, 'cpu');
    const info = await page.evaluate(() => window.glassboxModel.info);
    assert.match(info.backend, /^CPU/);
    assert.match(info.fallbackReason, /CPU chosen/);
    const manifest = JSON.parse(readFileSync(join(servedBundle(), 'manifest.json'), 'utf8'));
    assert.equal(info.name, manifest.name);
    assert.deepEqual(info.labels, { sentence: manifest.config.sentence_labels, token: manifest.config.token_labels });
    assert.equal(info.layers, 6);
    assert.equal(info.heads, 12);

    // The page's CPU backend computes with int8 kernels; so does the CLI here.
    const texts = [SENTENCES[0], '', SENTENCES[1], SENTENCES[2]];
    const native = nativeJson(['predict', '--kernels', 'int8', '--bundle', servedBundle(), '--', ...texts]);
    assert.equal(native.status, 2, 'the CLI reports the empty text as a failed item');
    const got = await call(page, 'predict', texts);
    assertPredictionsMatch(got, native.items, 'predict');
    assert.match(got[1].error, /^text #2: the text is empty/);

    const nativeEmb = nativeJson(['embed', '--kernels', 'int8', '--model', servedBundle(), '--', ...SENTENCES]).items;
    const emb = await call(page, 'embed', SENTENCES);
    emb.forEach((e, i) => {
      assert.equal(e.f32.length, nativeEmb[i].embedding.length);
      const c = cosine(e.f32, nativeEmb[i].embedding);
      worst['1 - cosine'] = Math.max(worst['1 - cosine'] ?? 0, 1 - c);
      assert.ok(c >= 0.9999, `embedding ${i + 1}: cosine ${c} with glassbox embed`);
      close(Math.hypot(...e.f32), 1, 1e-4, `embedding ${i + 1} norm`);
    });

    const text = SENTENCES[2];
    const nativeAtt = nativeJson(['attention', '--layer', '1', '--head', '3', '--kernels', 'int8', '--model', servedBundle(), '--', text]).items[0];
    const att = await call(page, 'attention', text, { layer: 1, head: 3 });
    assert.deepEqual(att.tokens, nativeAtt.tokens);
    const n = att.tokens.length;
    assert.equal(att.attention.length, n);
    att.attention.forEach((row, i) => {
      assert.equal(row.length, n);
      close(row.reduce((s, x) => s + x, 0), 1, 1e-4, `row ${i} sum`, 'attention row sum');
      row.forEach((x, j) => close(x, nativeAtt.attention[i][j], 2e-3, `attention[${i}][${j}]`, 'attention vs CLI'));
    });
    const all = await call(page, 'attention', text);
    assert.deepEqual([all.layer, all.head], [null, null]);
    assert.equal(all.attention.length, 6);
    assert.ok(all.attention.every((l) => l.length === 12 && l.every((h) => h.length === n && h.every((r) => r.length === n))));
    assert.deepEqual(all.attention[1][3], att.attention, 'the all-maps answer holds the single map');

    await installReason(page);
    const outOfRange = await page.evaluate(() => window.__reason(window.glassboxModel.attention('hello', { layer: 6, head: 0 })));
    assert.equal(outOfRange.name, 'GlassboxError');
    assert.equal(outOfRange.message, 'layer 6 / head 0 out of range: the model has 6 layers and 12 heads (0-based)');
    assert.match((await page.evaluate(() => window.__reason(window.glassboxModel.attention('   ')))).message, /is empty/);
    const single = await page.evaluate(() => window.__reason(window.glassboxModel.predict('')));
    assert.equal(single.kind, 'item');
    assert.match(single.message, /^text #1: the text is empty/);
    assert.match((await page.evaluate(() => window.__reason(window.glassboxModel.predict([1, 2])))).message,
      /texts must be a string or an array of strings/);
    /** What `glassbox.load(url, {backend})` rejects with, from the example page. */
    const loading = (url, backend) => page.evaluate(async ([url, backend]) => {
      const g = await import(window.__api);
      return window.__reason(g.load(url, { backend }));
    }, [url, backend]);
    assert.match((await loading('../models/default/', 'gpu')).message, /unknown backend "gpu"/);

    const missing = await loading('../no-such-model/', 'cpu');
    assert.equal(missing.kind, 'no-bundle');
    assert.match(missing.message, /^no model bundle found: fetching http:\/\/127\.0\.0\.1:\d+\/no-such-model\/manifest\.json: HTTP 404/);

    // The default bundle served under /tampered/ with model.bpk's hash changed in its manifest.
    await context.route('**/tampered/*', async (route) => {
      const name = new URL(route.request().url()).pathname.split('/').pop();
      const real = await fetch(`${server.url}models/default/${name}`);
      let body = Buffer.from(await real.arrayBuffer());
      if (name === 'manifest.json') {
        const m = JSON.parse(body.toString('utf8'));
        m.files['model.bpk'] = '0'.repeat(64);
        body = Buffer.from(JSON.stringify(m));
      }
      await route.fulfill({ status: real.status, body });
    });
    const tampered = await loading('../tampered/', 'cpu');
    assert.equal(tampered.kind, 'corrupt');
    assert.equal(tampered.file, 'model.bpk');
    assert.match(tampered.message, /^bundle file `model\.bpk` is corrupt or was modified: SHA-256 is [0-9a-f]{64}, manifest says 0{64}/);

    // The example page's own button: every line of its box, answered as JSON.
    await page.getByTestId('input').fill(`${SENTENCES[1]}\n\n${SENTENCES[0]}`);
    await page.getByTestId('run').click();
    await page.getByTestId('status').filter({ hasText: /^(Done|Failed)/ }).waitFor({ timeout: LONG });
    assert.equal(await page.getByTestId('status').textContent(), 'Done: 2 answered, 1 failed');
    const shown = JSON.parse(await page.getByTestId('output').textContent());
    // The empty line is the box's second line, as it is the CLI's second text above.
    assertPredictionsMatch(shown, [native.items[2], native.items[1], native.items[0]], 'example page');

    const disposed = await page.evaluate(async () => {
      await window.glassboxModel.dispose();
      return window.__reason(window.glassboxModel.predict(['hi']));
    });
    assert.equal(disposed.kind, 'disposed');
    await noViolations(page, errors);
  } finally {
    await browser.close();
  }
});

test('two models at once: WebGPU (SwiftShader) and CPU in one page, each equal to the CLI', async () => {
  const browser = await launch({ webgpu: true });
  try {
    const context = await browser.newContext(CONTEXT);
    const { page, errors } = await example(context, 'webgpu');
    const texts = SENTENCES.slice(1);
    const out = await page.evaluate(async (texts) => {
      const g = await import(new URL('../glassbox.js', location.href).href);
      const gpu = window.glassboxModel;
      const cpu = await g.load('../models/default/', { backend: 'cpu' });
      const [onGpu, onCpu] = await Promise.all([gpu.predict(texts), cpu.predict(texts)]);
      const backends = [gpu.info.backend, cpu.info.backend];
      await cpu.dispose();
      return { onGpu, onCpu, backends };
    }, texts, { timeout: GPU_LONG });
    assert.match(out.backends[0], /^WebGPU — burn-wgpu on /);
    assert.match(out.backends[1], /^CPU/);
    // WebGPU holds the projections as int8 on the device; the CLI computes the same way.
    const bundle = servedBundle();
    assertPredictionsMatch(out.onGpu, nativeJson(['predict', '--kernels', 'device-int8', '--bundle', bundle, '--', ...texts]).items, 'webgpu');
    assertPredictionsMatch(out.onCpu, nativeJson(['predict', '--kernels', 'int8', '--bundle', bundle, '--', ...texts]).items, 'cpu');
    await noViolations(page, errors);
  } finally {
    await browser.close();
  }
});
