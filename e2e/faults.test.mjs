// Faults the page must survive, made real rather than mocked: a bundle download that breaks
// off in the middle (a server that closes the connection half-way through the weights), a
// storage quota too small for the offline copy (Chromium's own quota, lowered through
// DevTools), and 500 runs in one page with its memory measured (wasm memory of the page and of
// the worker, and the JavaScript heap) to show it stays flat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';
import { launchOptions } from './chromium.mjs';
import { ROOT, LONG, serveDist, launch, openPage, analyse, results, assertMatchesNative, nativePredict, noViolations, showBackend } from './lib.mjs';

const CONTEXT = { viewport: { width: 1300, height: 900 }, serviceWorkers: 'block' };
const SENTENCE = 'Barack Obama visited Paris and loved the food.';
const CACHE_NAME = 'glassbox-bundles-v1';
const MIME = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.md': 'text/markdown; charset=utf-8', '.ts': 'text/plain', '.bpk': 'application/octet-stream',
};

let plain;
before(async () => { plain = await serveDist(); });
after(() => plain?.close());

/**
 * A static server for dist/ whose first `cuts` responses for the weights send the full
 * Content-Length, half the bytes, then close the connection: a download broken off mid-way.
 */
async function serveCutting(cuts) {
  const dist = join(ROOT, 'dist');
  const state = { cuts, weightRequests: 0 };
  const server = http.createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = join(dist, path.endsWith('/') ? join(path, 'index.html') : path);
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const size = statSync(file).size;
    res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Content-Length': size });
    if (file.endsWith('model.bpk') && state.weightRequests++ < state.cuts) {
      createReadStream(file, { start: 0, end: Math.floor(size / 2) })
        .on('end', () => setTimeout(() => res.socket.destroy(), 50))
        .pipe(res, { end: false });
      return;
    }
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, state, close: () => server.close() };
}

/** The Cache API entries of the page's origin whose URL names `file`. */
async function cachedEntries(page, file) {
  return page.evaluate(async ({ name, file }) => {
    const cache = await caches.open(name);
    return (await cache.keys()).map((r) => r.url).filter((u) => u.includes(file));
  }, { name: CACHE_NAME, file });
}

test('a bundle download cut mid-way: a clear error, nothing stored, a reload loads it whole', async () => {
  const server = await serveCutting(1);
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext(CONTEXT);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.url);
    const status = page.getByTestId('status');
    await status.filter({ hasText: /Ready|Could not/ }).waitFor({ timeout: LONG });
    const text = await status.textContent();
    console.log(text);
    assert.match(text, /^Could not load the model: .*the download of \S*model\.bpk broke off after \d+\.\d MiB of \d+\.\d MiB/, text);
    assert.match(text, /reload to try again/);
    assert.equal(server.state.weightRequests, 1);
    assert.deepEqual(await cachedEntries(page, 'model.bpk'), [], 'a broken-off download is never stored');
    assert.deepEqual(errors, [], 'no uncaught errors');

    // The same page, reloaded: the weights arrive whole, verified, and the model answers as the CLI.
    await page.reload();
    await status.filter({ hasText: /Ready|Could not/ }).waitFor({ timeout: LONG });
    assert.doesNotMatch(await status.textContent(), /Could not/);
    assert.equal(server.state.weightRequests, 2);
    await analyse(page, SENTENCE);
    assertMatchesNative(await results(page), nativePredict([SENTENCE], 'int8'));
    assert.equal((await cachedEntries(page, 'model.bpk')).length, 1, 'the whole download is kept for offline use');
  } finally {
    await browser.close();
    server.close();
  }
});

test('storage quota exceeded: the model loads from the network, the page says it is not kept offline', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext(CONTEXT);
    // Chromium's own quota for the origin, 1 MiB: the 25 MB weights cannot be stored.
    const origin = new URL(plain.url).origin;
    let cdp;
    const quota = async (page) => {
      cdp = await context.newCDPSession(page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1 << 20 });
    };
    const { page, errors } = await openPage(context, plain.url, { prepare: quota });
    const status = page.getByTestId('status');
    await showBackend(page);
    const offline = await page.getByTestId('offline').textContent();
    console.log(`offline copy: ${offline}`);
    assert.match(offline, /^not kept \(model\.bpk: the browser refused to store it: .*quota/i, offline);
    assert.match(offline, /the next visit downloads it again/);
    assert.deepEqual(await cachedEntries(page, 'model.bpk'), []);
    await analyse(page, SENTENCE);
    assertMatchesNative(await results(page), nativePredict([SENTENCE], 'int8'));

    // Without the quota override the same origin keeps it, and says so.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    // The address now holds the sentence (a permalink), so the reloaded page runs it at once.
    await page.reload();
    await status.filter({ hasText: /^(Done|Could not)/ }).waitFor({ timeout: LONG });
    assertMatchesNative(await results(page), nativePredict([SENTENCE], 'int8'));
    await showBackend(page);
    assert.equal(await page.getByTestId('offline').textContent(), 'kept in this browser');
    assert.equal((await cachedEntries(page, 'model.bpk')).length, 1);
    await noViolations(page, errors);
  } finally {
    await browser.close();
  }
});

test('memory stays flat over 600 runs: wasm memory of page and worker, and the JavaScript heap', async () => {
  // Exact heap numbers (Chromium otherwise rounds performance.memory into coarse buckets).
  const options = launchOptions({ webgpu: false });
  options.args.push('--enable-precise-memory-info');
  const browser = await chromium.launch(options);
  try {
    const context = await browser.newContext(CONTEXT);
    // 200 rounds of two sentences one at a time, then 200 of the two as a batch: 600 runs
    // after the first (200 rounds is the most `?bench` takes).
    const sentences = encodeURIComponent(JSON.stringify([SENTENCE, 'The service was slow and the room smelled.']));
    const { page, errors } = await openPage(context, `${plain.url}?backend=cpu&bench=200&sentences=${sentences}`);
    await page.getByTestId('status').filter({ hasText: /^Benchmark (done|failed)/ }).waitFor({ timeout: LONG });
    const bench = JSON.parse(await page.getByTestId('bench').textContent());
    const memory = bench.memory;
    assert.equal(memory.at(-1).runs, 601, 'the first run, 400 alone and 200 batched');
    const mib = (b) => (b / 1048576).toFixed(2);
    console.log('runs  page wasm  worker wasm  page JS heap (MiB)');
    for (const m of memory.filter((_, i) => i % 5 === 0 || i === memory.length - 1)) {
      console.log(`${String(m.runs).padStart(4)}  ${mib(m.page_wasm_bytes).padStart(9)}  ${mib(m.worker_wasm_bytes).padStart(11)}  ${mib(m.page_js_heap_bytes).padStart(12)}`);
    }
    // Warm after 50 runs: from there on wasm memory (which never shrinks) must not grow by
    // more than 1 KiB a run.
    const warm = memory.filter((m) => m.runs >= 50);
    const [first, last] = [warm[0], warm.at(-1)];
    const runs = last.runs - first.runs;
    assert.ok(runs >= 500, `${runs} runs measured`);
    for (const key of ['page_wasm_bytes', 'worker_wasm_bytes']) {
      assert.ok(first[key] > 0, `${key} is measured`);
      const growth = last[key] - first[key];
      assert.ok(growth <= runs * 1024, `${key} grew ${growth} bytes over ${runs} runs`);
    }
    // The JavaScript heap rises between collections; what is still alive after one, counted
    // by the DevTools protocol, must be no more than the heap when the benchmark began.
    assert.ok(memory[0].page_js_heap_bytes > 0, 'the page reports its JavaScript heap');
    const cdp = await context.newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    console.log(`JS heap: ${mib(memory[0].page_js_heap_bytes)} MiB after the first run, ${mib(last.page_js_heap_bytes)} MiB after the last, ${mib(usedSize)} MiB alive after a forced collection`);
    assert.ok(usedSize <= memory[0].page_js_heap_bytes + (1 << 20),
      `alive after ${last.runs} runs: ${mib(usedSize)} MiB, at the start ${mib(memory[0].page_js_heap_bytes)} MiB`);
    await noViolations(page, errors);
  } finally {
    await browser.close();
  }
});
