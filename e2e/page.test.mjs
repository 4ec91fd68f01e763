// The teaching page in real Chromium: on WebGPU (SwiftShader, forced with ?backend=webgpu: by
// default the page prefers its CPU path to a software adapter) and with WebGPU unavailable,
// three pasted sentences must give the labels, spans and probabilities of `glassbox predict`
// on the same bundle; the attention canvas draws, for a sentence focused after its run too
// (whose maps the run did not read back); the permalink round-trips; a second run is
// answered from the cache; the bundle is reused from the Cache API when the network fails;
// bad input gets a message, never a crash or injected markup; a corrupt bundle is refused by
// hash; the CSP is never violated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import {
  serveDist, launch, nativePredict, OUT, ROOT, LONG, openPage, analyse, results, assertMatchesNative,
  noViolations, showBackend,
} from './lib.mjs';

const SENTENCES = [
  'Just landed in Zürich 🎉 — the café by the lake with Anna is wonderful!',
  'Apple support kept me waiting for two hours, worst service ever',
  'Going to see the Lakers in Los Angeles with Justin tomorrow',
];
// What the benchmarks time: not SENTENCES, whose first run must compute (the worker caches
// what a benchmark computed too).
const BENCH_SENTENCES = [
  'The meeting with Microsoft is moved to Tuesday at 3pm.',
  '@jack is heading to the Lakers game tonight #NBA',
];
// SwiftShader is WebGPU emulated on the CPU: a warm sentence takes seconds there.
const GPU_LONG = 600_000;

// Service workers off here: these tests route and abort requests, which a service worker
// would answer from its own cache out of Playwright's sight (offline.test.mjs tests it).
const CONTEXT = { viewport: { width: 1300, height: 900 }, serviceWorkers: 'block' };

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

/** The page at `path` on the test server, loaded. */
const open = (context, path = '') => openPage(context, server.url + path);

/** Pixels of a canvas that are not the white background. */
async function inkedPixels(page, testid) {
  return page.getByTestId(testid).first().evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) n += 1;
    return n;
  });
}

async function ms(page, id) {
  return Number.parseFloat(await page.getByTestId(id).textContent());
}

/**
 * Labels, spans and probabilities; attention drawn; cache hit on the second run. `kernels` is
 * what the page's backend computes with (int8 kernels on the CPU, int8 weights on the device on
 * WebGPU), so the CLI is run the same way.
 */
async function core(page, tag, kernels) {
  const native = nativePredict(SENTENCES, kernels);
  const status = await analyse(page, SENTENCES.join('\n'));
  assert.match(status, /Done: 3 sentences/);
  const first = await results(page);
  assertMatchesNative(first, native);
  assert.ok(first.every((r) => !r.cached), 'first run computes');
  await page.locator('[data-testid=attention][data-drawn="1"]').waitFor({ timeout: LONG });
  assert.ok(await inkedPixels(page, 'attention') > 5000, 'attention grid has drawn pixels');
  assert.ok(await inkedPixels(page, 'similarity') > 1000, 'similarity heatmap drawn');
  const timings = {
    backend: await page.getByTestId('backend').textContent(),
    load_ms: await ms(page, 't-load'),
    first_inference_ms: await ms(page, 't-first'),
  };
  await page.screenshot({ path: join(OUT, `page-${tag}.png`), fullPage: true });

  await page.getByTestId('run').click();
  await page.getByTestId('status').filter({ hasText: /3 from cache/ }).waitFor({ timeout: LONG });
  const second = await results(page);
  assert.ok(second.every((r) => r.cached), 'second run is answered from the cache, marked on every card');
  assertMatchesNative(second, native);
  return timings;
}

/** `?sentences=` with the list itself in the parameter. */
const inline = (list) => `sentences=${encodeURIComponent(JSON.stringify(list))}`;

/** The page's benchmark, run on the page that is already warm. */
async function benchmark(page) {
  await showBackend(page);
  await page.getByTestId('bench-run').click();
  await page.getByTestId('bench').waitFor({ timeout: LONG });
  return JSON.parse(await page.getByTestId('bench').textContent());
}

test('WebGPU (SwiftShader): same labels, spans and probabilities as glassbox predict', async () => {
  const browser = await launch({ webgpu: true });
  try {
    const context = await browser.newContext(CONTEXT);
    // SwiftShader runs WebGPU on the CPU: two sentences, two rounds are enough to measure it.
    const { page, errors } = await open(context, `?backend=webgpu&bench=2&${inline(BENCH_SENTENCES)}`);
    await page.getByTestId('bench').waitFor({ timeout: GPU_LONG });
    const measured = JSON.parse(await page.getByTestId('bench').textContent());
    assert.match(await page.getByTestId('backend').textContent(), /WebGPU/);
    assert.equal(await page.getByTestId('fallback-reason').count(), 0, 'WebGPU in use: no reason to give');
    assert.match(measured.backend, /WebGPU/);
    assert.equal(measured.n_sentences, 2);
    assert.equal(measured.runs, 2);
    assert.equal(measured.attention, 'none', 'the timed rounds read no attention back, as the peers');
    delete measured.first_embedding;
    const timings = await core(page, 'webgpu', 'device-int8');
    bench.webgpu = { page: timings, bench: measured };

    // The backend switch reloads the model on the CPU and re-runs the same sentences there,
    // so both can be compared live; the input is kept.
    await showBackend(page);
    await page.getByTestId('force-cpu').check();
    await page.getByTestId('status').filter({ hasText: /3 computed|Could not|failed/ }).waitFor({ timeout: LONG });
    assert.match(await page.getByTestId('backend').textContent(), /CPU/);
    assert.match(await page.getByTestId('fallback-reason').textContent(), /switch/);
    assert.equal(await page.getByTestId('input').inputValue(), SENTENCES.join('\n'));
    assertMatchesNative(await results(page), nativePredict(SENTENCES, 'int8'));
    // Off again: back to what the address asked for, WebGPU.
    // (The status still shows the CPU run's "3 computed" until the reload starts.)
    await page.getByTestId('force-cpu').uncheck();
    await page.getByTestId('backend').filter({ hasText: /WebGPU/ })
      .or(page.getByTestId('status').filter({ hasText: /Could not/ })).waitFor({ timeout: GPU_LONG });
    assert.match(await page.getByTestId('backend').textContent(), /WebGPU/);
    await page.getByTestId('status').filter({ hasText: /3 computed|failed/ }).waitFor({ timeout: GPU_LONG });
    await noViolations(page, errors);
    await page.close();

    // Without ?backend=webgpu the page sees that the adapter is software and takes its own
    // CPU path, saying why; its benchmark (on an inline list) runs there.
    const auto = await open(context, `?bench=1&${inline(BENCH_SENTENCES)}`);
    await auto.page.getByTestId('bench').waitFor({ timeout: LONG });
    assert.match(await auto.page.getByTestId('backend').textContent(), /CPU/);
    assert.equal(await auto.page.getByTestId('fallback-reason').textContent(),
      'Not using WebGPU: WebGPU adapter is software (SwiftShader): the CPU path is faster; ?backend=webgpu forces it');
    assert.equal(await auto.page.getByTestId('force-cpu').isChecked(), false, 'the switch is not what chose the CPU');
    const cpuBench = JSON.parse(await auto.page.getByTestId('bench').textContent());
    assert.match(cpuBench.backend, /CPU/);
    assert.equal(cpuBench.sentences, 'inline');
    assert.equal(cpuBench.n_sentences, 2);
    assert.equal(cpuBench.first_embedding.length, 384);
    await noViolations(auto.page, auto.errors);
  } finally {
    await browser.close();
  }
});

test('no WebGPU adapter: CPU fallback gives the same results; permalink and offline cache', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext(CONTEXT);
    const { page, errors } = await open(context);
    assert.match(await page.getByTestId('backend').textContent(), /CPU/);
    assert.match(await page.getByTestId('fallback-reason').textContent(), /WebGPU/);
    const timings = await core(page, 'cpu', 'int8');
    // Occlusion is one more batched forward pass, on demand; SwiftShader would take minutes
    // over it, so it is checked here, on the CPU backend.
    await page.getByTestId('occlusion-run').click();
    await page.locator('[data-testid=occlusion][data-drawn="1"]').waitFor({ timeout: LONG });
    assert.ok(await inkedPixels(page, 'occlusion') > 500, 'occlusion chart drawn');
    const measured = await benchmark(page);
    assert.equal(measured.sentences, 'built-in');
    assert.equal(measured.attention, 'none');
    assert.equal(measured.n_sentences, 4);
    assert.equal(measured.first_embedding.length, 384);
    delete measured.first_embedding;
    bench.cpu = { page: timings, bench: measured };

    // Exports: the same chart as SVG (drawn by the same plotters code) and as PNG.
    const saved = async (testid) => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
      return { name: d.suggestedFilename(), bytes: readFileSync(await d.path()) };
    };
    const svg = await saved('similarity-svg');
    assert.equal(svg.name, 'glassbox-similarity.svg');
    assert.match(svg.bytes.toString('utf8'), /^<svg[^>]*>[\s\S]*<rect[\s\S]*<\/svg>\s*$/);
    const png = await saved('attention-png');
    assert.equal(png.name, 'glassbox-attention-grid.png');
    assert.deepEqual([...png.bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);

    // Pick layer 3, head 4 in the grid and the second sentence: both go into the permalink.
    await page.getByTestId('inspect').nth(1).click();
    // A run reads back the attention of the sentence focused then (the first) only; the
    // second's is computed when it is focused, a short wait shown meanwhile, never an empty grid.
    await page.locator('[data-testid=attention-maps][data-sentence="2"] [data-testid=attention][data-drawn="1"]')
      .waitFor({ timeout: LONG });
    assert.match(await page.locator('.inspect h2').textContent(), /Apple support/);
    assert.ok(await inkedPixels(page, 'attention') > 5000, 'the second sentence\'s attention grid has drawn pixels');
    assert.equal(await page.getByTestId('attention-pending').count(), 0, 'no wait shown once the maps are there');
    await page.getByTestId('attention').click({ position: { x: 28 + 3 * 44 + 20, y: 18 + 2 * 44 + 20 } });
    await page.getByTestId('attention-title').filter({ hasText: 'Layer 3, head 4' }).waitFor();
    const link = page.url();
    assert.match(link, /#s=.*&v=1\.2\.3\.head/);
    assert.equal(await page.getByTestId('permalink').getAttribute('href'), new URL(link).hash);
    await noViolations(page, errors);
    await page.close();

    // The permalink in a fresh tab, with the weights unreachable: the bundle comes from the
    // Cache API and the page shows the same sentences, selection and head.
    const again = await context.newPage();
    await again.route('**/models/default/*', (r) => r.abort());
    await again.goto(link);
    await again.getByTestId('status').filter({ hasText: /^Done|Could not/ }).waitFor({ timeout: LONG });
    assert.match(await again.getByTestId('source').textContent(), /browser cache/);
    assert.equal(await again.getByTestId('input').inputValue(), SENTENCES.join('\n'));
    assert.equal(await again.getByTestId('attention-title').textContent(), 'Layer 3, head 4');
    assert.match(await again.locator('.inspect h2').textContent(), /Apple support/);
    assertMatchesNative(await results(again), nativePredict(SENTENCES, 'int8'));
    await again.close();
  } finally {
    await browser.close();
  }
});

test('bad input and a corrupt bundle: clear messages, visible truncation, text stays text, page stays responsive', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext(CONTEXT);

    // A bundle whose weights do not match the manifest's SHA-256 is refused, and not stored.
    const corrupt = await context.newPage();
    await corrupt.route('**/models/default/model.bpk', async (r) => {
      const body = Buffer.from(await (await r.fetch()).body());
      body[body.length >> 1] ^= 0xff;
      await r.fulfill({ status: 200, body, contentType: 'application/octet-stream' });
    });
    await corrupt.goto(server.url);
    await corrupt.getByTestId('status').filter({ hasText: /Ready|Could not/ }).waitFor({ timeout: LONG });
    assert.match(await corrupt.getByTestId('status').textContent(),
      /Could not load the model: bundle file `model.bpk` is corrupt or was modified: SHA-256 is [0-9a-f]{64}, manifest says [0-9a-f]{64}/);
    assert.equal(await corrupt.getByTestId('run').isDisabled(), true);
    await corrupt.close();

    // Markup in the permalink fills the textarea as text; nothing is injected.
    const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    const { page, errors } = await open(context, `#s=${encodeURIComponent(evil)}`);
    await page.getByTestId('status').filter({ hasText: /^Done/ }).waitFor({ timeout: LONG });
    assert.equal(await page.getByTestId('input').inputValue(), evil);
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.getByTestId('text').first().textContent(), evil);

    // ?sentences= that cannot be used: the benchmark panel says which URL and why.
    for (const [where, why] of [
      ['/missing.json', /HTTP 404/],
      ['https://example.com/s.json', /not on this page's origin/],
    ]) {
      const b = await open(context, `?bench=1&sentences=${encodeURIComponent(where)}`);
      await b.page.getByTestId('bench-error').waitFor({ timeout: LONG });
      const shown = await b.page.getByTestId('bench-error').textContent();
      assert.ok(shown.startsWith(`Benchmark failed: the benchmark sentences from ${new URL(where, server.url).href} are unusable: `), shown);
      assert.match(shown, why);
      assert.equal(await b.page.getByTestId('bench').count(), 0);
      assert.equal(await b.page.getByTestId('run').isDisabled(), false, 'the page stays usable');
      await noViolations(b.page, b.errors);
      await b.page.close();
    }

    assert.match(await analyse(page, ''), /Nothing to analyse/);
    assert.match(await analyse(page, '  \n\t \n '), /Nothing to analyse/);

    // Control, zero-width and right-to-left text: a result, or a per-line message, never a crash.
    const odd = ['\u0007\u0001', '\u200b\u200b', 'مرحبا بالعالم', 'שלום עולם <b>bold</b>'];
    assert.match(await analyse(page, odd.join('\n')), /Done: 4 sentences/);
    const cards = await results(page);
    assert.equal(cards.length, 4);
    const errorsShown = await page.getByTestId('result-error').allTextContents();
    assert.equal(cards.filter((c) => c.label === null).length, errorsShown.length);
    errorsShown.forEach((e) => assert.match(e, /Not analysed: .*empty/i));
    assert.ok(cards[2].label && cards[3].label, 'right-to-left lines are classified');
    assert.equal(await page.locator('main b').count(), 0);

    // 100,000+ characters on one line: cut visibly, twice (input cap, then the model's maximum).
    const huge = Array.from({ length: 30_000 }, (_, i) => `w${i % 97}`).join(' ') + ' tail';
    assert.ok(huge.length > 100_000);
    assert.match(await analyse(page, huge), /Done: 1 sentence /);
    assert.match(await page.getByTestId('warnings').textContent(), /only the first 100000 were analysed/);
    assert.match(await page.getByTestId('truncated').textContent(), /truncated to the model's maximum of 256 wordpieces/);

    // Thousands of lines: the first 64 are analysed and the rest are named, not dropped silently.
    const many = Array.from({ length: 3000 }, (_, i) => `line number ${i}`).join('\n');
    // While these run in the worker, the page keeps answering.
    // Set as a paste would (Playwright's fill() types it through editing commands, which
    // takes Chromium a minute for 3000 lines).
    await page.getByTestId('input').evaluate((el, v) => {
      el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, many);
    await page.getByTestId('run').click();
    let answered = 0;
    for (;;) {
      const s = await page.evaluate(() => document.querySelector('[data-testid=status]').textContent);
      if (/^Done/.test(s)) break;
      answered += 1;
    }
    assert.ok(answered >= 3, `the page answered only ${answered} times while the model ran`);
    assert.equal((await results(page)).length, 64);
    assert.match(await page.getByTestId('warnings').textContent(), /3000 lines were pasted; the first 64 were analysed and 2936 were not/);
    const workers = page.workers().map((w) => w.url());
    assert.ok(workers.some((u) => /glassbox-worker/.test(u)), `inference runs in a worker: ${workers}`);
    await page.screenshot({ path: join(OUT, 'page-bad-input.png'), fullPage: false });
    await noViolations(page, errors);
  } finally {
    await browser.close();
  }
});
