// The foundation's browser smoke: the page loads the bundle, runs the encoder on WebGPU
// (SwiftShader) or, without an adapter, on burn's CPU backend in wasm, and shows the same
// cosine similarity as the native CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { serveDist, launch, nativeSimilarity, OUT, ROOT } from './lib.mjs';

const A = 'Just landed in Zürich 🎉 — the café by the lake is wonderful!';
const B = 'I arrived in Switzerland and loved the coffee shop near the water.';
const LOAD_TIMEOUT = 240_000;

let server;
const bench = {};
before(async () => { server = await serveDist(); });
after(() => {
  server?.close();
  // The page (Leptos UI) and the inference worker (burn + tokenizers) are separate wasm files.
  bench.wasm = {};
  for (const f of readdirSync(join(ROOT, 'dist')).filter((n) => n.endsWith('.wasm'))) {
    const bytes = readFileSync(join(ROOT, 'dist', f));
    bench.wasm[f] = { bytes: bytes.length, gzip_bytes: gzipSync(bytes, { level: 9 }).length };
  }
  writeFileSync(join(OUT, 'bench.json'), JSON.stringify(bench, null, 2));
  console.log('bench', JSON.stringify(bench));
});

async function ms(page, id) {
  const t = await page.getByTestId(id).textContent();
  return Number.parseFloat(t);
}

async function runPage({ webgpu, query = '' }) {
  const browser = await launch({ webgpu });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.url + query);
    await page.getByTestId('status').filter({ hasText: /Ready|Could not/ }).waitFor({ timeout: LOAD_TIMEOUT });
    const status = await page.getByTestId('status').textContent();
    assert.match(status, /Ready/, `page failed to load the model: ${status}`);
    const backend = await page.getByTestId('backend').textContent();

    await page.getByTestId('text-a').fill(A);
    await page.getByTestId('text-b').fill(B);
    const warm = [];
    let value;
    for (let i = 0; i < 4; i++) {
      await page.getByTestId('run').click();
      await page.locator('[data-testid=similarity][data-value]:not([data-value=""])').waitFor({ timeout: LOAD_TIMEOUT });
      value = Number.parseFloat(await page.getByTestId('similarity').getAttribute('data-value'));
      if (i > 0) warm.push(await ms(page, 't-last'));
    }
    warm.sort((x, y) => x - y);
    const timings = {
      backend,
      load_ms: await ms(page, 't-load'),
      first_inference_ms: await ms(page, 't-first'),
      warm_inference_ms_median: warm[Math.floor(warm.length / 2)],
      last_click_to_result_ms: await ms(page, 't-round-trip'),
    };
    await page.screenshot({ path: join(OUT, `smoke-${webgpu ? 'webgpu' : 'cpu'}.png`), fullPage: true });
    assert.deepEqual(errors, [], 'no uncaught errors in the page');
    return { value, backend, timings, page, browser };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

test('WebGPU (SwiftShader): similarity equals the native CLI within 1e-4', async () => {
  const native = nativeSimilarity(A, B);
  const { value, backend, timings, browser } = await runPage({ webgpu: true });
  await browser.close();
  bench.webgpu = timings;
  assert.match(backend, /WebGPU/);
  assert.ok(Math.abs(value - native) <= 1e-4, `page ${value} vs native ${native}`);
});

test('no WebGPU adapter: falls back to the CPU backend, same similarity', async () => {
  const native = nativeSimilarity(A, B);
  const { value, backend, timings, page, browser } = await runPage({ webgpu: false });
  const reason = await page.getByTestId('fallback-reason').textContent();
  await browser.close();
  bench.cpu = timings;
  assert.match(backend, /CPU/);
  assert.match(reason, /WebGPU/);
  assert.ok(Math.abs(value - native) <= 1e-4, `page ${value} vs native ${native}`);
});

test('bad input: empty and over-long text give clear messages, no crash', async () => {
  const { page, browser } = await runPage({ webgpu: false });
  try {
    await page.getByTestId('text-a').fill('   ');
    await page.getByTestId('run').click();
    await page.getByTestId('status').filter({ hasText: /Nothing to compare/ }).waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('warnings').textContent(), /Sentence A.*empty/);

    const long = Array.from({ length: 5000 }, (_, i) => `word${i % 97}`).join(' ');
    await page.getByTestId('text-a').fill(long);
    await page.getByTestId('text-b').fill('مرحبا \u200b\u0007 שלום <script>alert(1)</script>');
    await page.getByTestId('run').click();
    await page.getByTestId('status').filter({ hasText: /Done/ }).waitFor({ timeout: LOAD_TIMEOUT });
    const warnings = await page.getByTestId('warnings').textContent();
    assert.match(warnings, /Sentence A: text was truncated to the model's maximum of 256 wordpieces/);
    const sim = Number.parseFloat(await page.getByTestId('similarity').getAttribute('data-value'));
    assert.ok(Number.isFinite(sim));
    assert.equal(await page.locator('script:not([src])').filter({ hasText: 'alert(1)' }).count(), 0);
  } finally {
    await browser.close();
  }
});

test('inference runs in a Web Worker: the page keeps answering while it computes', async () => {
  const { page, browser } = await runPage({ webgpu: false });
  try {
    const workers = page.workers().map((w) => w.url());
    assert.ok(workers.some((u) => /glassbox-worker/.test(u)), `inference worker running: ${workers}`);
    // Two 256-wordpiece inputs on the wasm CPU backend: a forward pass long enough that a
    // model on the page's own thread would leave no room for the probes below.
    const long = Array.from({ length: 600 }, (_, i) => `token${i % 89}`).join(' ');
    await page.getByTestId('text-a').fill(long);
    await page.getByTestId('text-b').fill(long.split(' ').reverse().join(' '));
    await page.getByTestId('run').click();
    let answeredWhileRunning = 0;
    for (;;) {
      const s = await page.evaluate(() => document.querySelector('[data-testid=status]').textContent);
      if (!/Running/.test(s)) break;
      answeredWhileRunning += 1;
    }
    await page.getByTestId('status').filter({ hasText: /Done/ }).waitFor({ timeout: LOAD_TIMEOUT });
    assert.ok(answeredWhileRunning >= 3,
      `the page answered only ${answeredWhileRunning} times during inference: it was blocked`);
  } finally {
    await browser.close();
  }
});
