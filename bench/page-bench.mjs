#!/usr/bin/env node
// The glassbox page against transformers.js, in the same Chromium, on the same sentences.
//
// One loopback HTTP server serves the built page (dist/), the sentences, a small
// transformers.js test page with transformers.js and its ONNX Runtime wasm files from
// node_modules, and the ONNX export of all-MiniLM-L6-v2 laid out like a Hugging Face repo
// (bench/onnx_export.py). transformers.js is configured so that nothing comes from a CDN or
// a hub, and every request that leaves the loopback server is blocked and recorded.
//
// Measured, with the page's own statistics (app/src/bench.rs): load, first inference (cold),
// warm batch-1 latency per sentence (each sentence's median over the rounds, averaged over
// the sentences) and batch-16 throughput (the sentences in chunks of 16, each padded on its
// own). The page on its wasm CPU path and on WebGPU (SwiftShader: emulated on the CPU and
// slow, so a few sentences and rounds under a time cap); transformers.js feature-extraction
// (mean pooling, normalised) with fp32 and q8 weights on wasm, one thread like the page,
// and fp32 on WebGPU when it finishes in time. It also checks that both give the same
// embedding for the first sentence. A configuration that fails records {"error": ...}.
//
//   cd bench && npm install && node page-bench.mjs --out out/page-bench.json
//
// Options: --out FILE, --sentences FILE (bench/sentences.json), --onnx DIR
// (bench/out/minilm-onnx or bench/out/onnx-model), --runs N (10), --gpu-runs N (3),
// --gpu-sentences K (3), --timeout-s S per wasm configuration (600), --gpu-timeout-s S (600),
// --check-bundle DIR: a glassbox bundle of the same weights as the ONNX files, for the
// embedding check (the page's own bundle is fine-tuned, so it cannot match the base model;
// by default bench/out/glassbox-base, exported with target/release/glassbox from
// assets/all-MiniLM-L6-v2 when missing), --only LIST: which of page, tjs (the implementations)
// and wasm, gpu (the devices) to run, a configuration running when both of its are listed
// (default page,tjs,wasm,gpu).
import http from 'node:http';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { launchOptions } from '../e2e/chromium.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const TJS_PKG = join(HERE, 'node_modules', '@huggingface', 'transformers');
const ORT_PKG = join(HERE, 'node_modules', 'onnxruntime-web');
const BATCH = 16;

// ---- options ---------------------------------------------------------------------------

const { values: opt } = parseArgs({
  options: {
    out: { type: 'string', default: join(HERE, 'out', 'page-bench.json') },
    sentences: { type: 'string', default: join(HERE, 'sentences.json') },
    onnx: { type: 'string' },
    runs: { type: 'string', default: '10' },
    'gpu-runs': { type: 'string', default: '3' },
    'gpu-sentences': { type: 'string', default: '3' },
    'timeout-s': { type: 'string', default: '600' },
    'gpu-timeout-s': { type: 'string', default: '600' },
    'check-bundle': { type: 'string' },
    only: { type: 'string', default: 'page,tjs,wasm,gpu' },
  },
});
const RUNS = Number(opt.runs);
const GPU_RUNS = Number(opt['gpu-runs']);
const GPU_SENTENCES = Number(opt['gpu-sentences']);
const TIMEOUT_MS = Number(opt['timeout-s']) * 1000;
const GPU_TIMEOUT_MS = Number(opt['gpu-timeout-s']) * 1000;
const ONLY = new Set(opt.only.split(','));
/** Whether the configuration of implementation `impl` on `device` is to run. */
const wanted = (impl, device) => ONLY.has(impl) && ONLY.has(device);

/**
 * The glassbox bundle the embedding check loads: --check-bundle, else the base model as an
 * unquantised bundle (the weights the ONNX export is made from), exported once; null when
 * neither the CLI nor the checkpoint is here.
 */
function checkBundleDir() {
  if (opt['check-bundle']) return resolve(opt['check-bundle']);
  const dir = join(HERE, 'out', 'glassbox-base');
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  const cli = join(ROOT, 'target', 'release', 'glassbox');
  const model = join(ROOT, 'assets', 'all-MiniLM-L6-v2');
  if (!existsSync(cli) || !existsSync(model)) return null;
  try {
    execFileSync(cli, ['export', '--model', model, '--out', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return null;
  }
}

/** The ONNX folder: --onnx, else the first of the export's usual places that has a model. */
function onnxDir() {
  const candidates = opt.onnx ? [opt.onnx] : [join(HERE, 'out', 'minilm-onnx'), join(HERE, 'out', 'onnx-model')];
  return candidates.map((d) => resolve(d)).find((d) => existsSync(join(d, 'onnx', 'model.onnx'))) ?? null;
}

// ---- statistics: the same as app/src/bench.rs ----------------------------------------

export function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  if (n === 0) return NaN;
  return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

export function mean(v) {
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

/** Raw times (ms) → the page's report fields. `batch1[round][sentence]`, `batch16[round]`. */
export function summarize({ load_ms, first_ms, batch1, batch16, n }) {
  const bySentence = batch1.length
    ? batch1[0].map((_, i) => median(batch1.map((round) => round[i])))
    : [];
  const b16 = batch16.length ? median(batch16) / n : NaN;
  return {
    load_ms,
    first_ms,
    n_sentences: n,
    runs: batch1.length,
    batch1_ms_per_sentence: mean(bySentence),
    batch1_ms_median_by_sentence: bySentence,
    batch_size: BATCH,
    batch16_ms_per_sentence: b16,
    sentences_per_s_b16: 1000 / b16,
  };
}

export function cosine(a, b) {
  if (!a?.length || a.length !== b?.length) return NaN;
  let dot = 0; let na = 0; let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

// ---- the server ----------------------------------------------------------------------

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.json': 'application/json', '.wasm': 'application/wasm', '.css': 'text/css',
  '.onnx': 'application/octet-stream', '.bpk': 'application/octet-stream', '.md': 'text/markdown',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.map': 'application/json',
};

/**
 * transformers.js, configured for this machine: local models only, ONNX Runtime's wasm from
 * this server, one thread (the page's CPU path is single-threaded too).
 */
const TJS_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>transformers.js bench</title>
<script type="module">
import { pipeline, env } from '/tjs/transformers.min.js';
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.useBrowserCache = false;
env.backends.onnx.wasm.wasmPaths = '/ort/';
env.backends.onnx.wasm.numThreads = 1;
window.tjs = { pipeline, env, version: env.version };
</script></head><body>transformers.js bench</body></html>`;

/** `rel` under `dir`, or null when it would leave it. */
function inside(dir, rel) {
  const path = normalize(join(dir, rel));
  return path === dir || path.startsWith(dir + sep) ? path : null;
}

/** URL prefix → folder (or a function of the rest of the path → file), first match wins. */
function mounts({ sentences, onnx, checkBundle }) {
  const ortFile = (rest) => [join(TJS_PKG, 'dist'), join(ORT_PKG, 'dist')]
    .map((d) => inside(d, rest)).find((f) => f && existsSync(f));
  return [
    ['/bench/sentences.json', () => sentences],
    ['/tjs/', (rest) => inside(join(TJS_PKG, 'dist'), rest)],
    ['/ort/', ortFile],
    ...(onnx ? [[`/models/${basename(onnx)}/`, (rest) => inside(onnx, rest)]] : []),
    ...(checkBundle ? [['/check-bundle/', (rest) => inside(checkBundle, rest)]] : []),
    ['/', (rest) => inside(join(ROOT, 'dist'), rest || 'index.html')],
  ];
}

async function serve(config) {
  const table = mounts(config);
  const server = http.createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (path === '/tjs/index.html') {
      res.writeHead(200, { 'content-type': TYPES['.html'] });
      res.end(TJS_PAGE);
      return;
    }
    const [prefix, find] = table.find(([p]) => path === p || (p.endsWith('/') && path.startsWith(p)));
    const file = find(path.slice(prefix.length));
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => server.close() };
}

// ---- one configuration in its own browser context ---------------------------------------

/** Rejects after `ms` with a message naming what took too long. */
function deadline(ms, what) {
  let timer;
  const p = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms);
  });
  return { p, cancel: () => clearTimeout(timer) };
}

/**
 * A fresh context (no cache shared with other configurations) where every request that
 * does not go to `base` is blocked and recorded; `fn(page)` under a time cap.
 */
async function inContext(browser, base, timeoutMs, what, fn, external) {
  const context = await browser.newContext();
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(base) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    external.push(u);
    return route.abort();
  });
  const page = await context.newPage();
  const logs = [];
  page.on('pageerror', (e) => logs.push(`pageerror: ${e}`));
  page.on('console', (m) => { if (m.type() === 'error') logs.push(`console: ${m.text()}`); });
  const cap = deadline(timeoutMs, what);
  try {
    return await Promise.race([fn(page), cap.p]);
  } catch (e) {
    const status = await page.getByTestId('status').textContent({ timeout: 1000 }).catch(() => null);
    const detail = [status && `status: ${status}`, ...logs.slice(-3)].filter(Boolean).join('; ');
    return { error: `${e.message.split('\n')[0]}${detail ? ` (${detail})` : ''}` };
  } finally {
    cap.cancel();
    await context.close().catch(() => {});
  }
}

/** The glassbox page's own benchmark (`?bench=N&…`): its JSON, or why it failed. */
async function pageBench(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector('[data-testid=bench], [data-testid=bench-error]')
    || /^Could not/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''), null,
  { timeout: 0, polling: 500 });
  const failed = await page.locator('[data-testid=bench-error]').count();
  if (failed) throw new Error(await page.getByTestId('bench-error').textContent());
  const status = await page.getByTestId('status').textContent();
  if (/^Could not/.test(status)) throw new Error(status);
  const report = JSON.parse(await page.getByTestId('bench').textContent());
  report.fallback_reason = await page.getByTestId('fallback-reason').textContent({ timeout: 100 }).catch(() => null);
  return report;
}

/** transformers.js feature-extraction timed in the page, with the same rounds as the page. */
async function tjsBench(page, base, cfg) {
  await page.goto(`${base}/tjs/index.html`);
  await page.waitForFunction(() => window.tjs, null, { timeout: 60_000 });
  const raw = await page.evaluate(async ({ model, dtype, device, sentences, runs, batch }) => {
    const { pipeline } = window.tjs;
    const now = () => performance.now();
    let t0 = now();
    const extract = await pipeline('feature-extraction', model, { dtype, device });
    const load_ms = now() - t0;
    const embed = (texts) => extract(texts, { pooling: 'mean', normalize: true });
    t0 = now();
    const first = await embed([sentences[0]]);
    const first_ms = now() - t0;
    const batch1 = [];
    for (let r = 0; r < runs; r += 1) {
      const round = [];
      for (const s of sentences) {
        t0 = now();
        await embed([s]);
        round.push(now() - t0);
      }
      batch1.push(round);
    }
    const batch16 = [];
    for (let r = 0; r < runs; r += 1) {
      let total = 0;
      for (let i = 0; i < sentences.length; i += batch) {
        t0 = now();
        await embed(sentences.slice(i, i + batch));
        total += now() - t0;
      }
      batch16.push(total);
    }
    await extract.dispose?.();
    return { load_ms, first_ms, batch1, batch16, first_embedding: Array.from(first.data), version: window.tjs.version };
  }, cfg);
  return {
    backend: `transformers.js ${raw.version} — onnxruntime-web ${cfg.device} ${cfg.dtype}`,
    ...summarize({ ...raw, n: cfg.sentences.length }),
    first_embedding: raw.first_embedding,
  };
}

// ---- the run ---------------------------------------------------------------------------

function readSentences(file) {
  const list = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(list) || !list.length || !list.every((s) => typeof s === 'string' && s.trim())) {
    throw new Error(`${file}: expected a non-empty JSON list of non-blank strings`);
  }
  return list;
}

const round = (x, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : x);

/** The headline numbers side by side, with page ÷ transformers.js ratios (>1: page slower). */
function compare(result) {
  const pick = (r) => (r && !r.error ? {
    batch1_ms_per_sentence: round(r.batch1_ms_per_sentence),
    batch16_ms_per_sentence: round(r.batch16_ms_per_sentence),
    first_ms: round(r.first_ms),
    load_ms: round(r.load_ms),
  } : null);
  const rows = {
    page_wasm: pick(result.page.wasm),
    page_webgpu: pick(result.page.webgpu),
    tjs_wasm_fp32: pick(result.transformers_js.wasm_fp32),
    tjs_wasm_q8: pick(result.transformers_js.wasm_q8),
    tjs_webgpu_fp32: pick(result.transformers_js.webgpu_fp32),
  };
  const ratio = (a, b, k) => (a && b ? round(a[k] / b[k], 3) : null);
  return {
    ...rows,
    page_wasm_over_tjs_wasm_fp32: {
      batch1: ratio(rows.page_wasm, rows.tjs_wasm_fp32, 'batch1_ms_per_sentence'),
      batch16: ratio(rows.page_wasm, rows.tjs_wasm_fp32, 'batch16_ms_per_sentence'),
    },
    page_wasm_over_tjs_wasm_q8: {
      batch1: ratio(rows.page_wasm, rows.tjs_wasm_q8, 'batch1_ms_per_sentence'),
      batch16: ratio(rows.page_wasm, rows.tjs_wasm_q8, 'batch16_ms_per_sentence'),
    },
  };
}

/** Cosine of the page's first-sentence embedding (on `checkBundle` if given) with each tjs one. */
async function agreement(browser, base, result, sentences, checkBundle, external) {
  let reference = result.page.wasm;
  let bundle = 'the page\'s own bundle (dist/models/default: fine-tuned, so not the ONNX export\'s weights)';
  if (checkBundle) {
    const q = `?bench=1&backend=cpu&model=/check-bundle&sentences=${encodeURIComponent(JSON.stringify(sentences.slice(0, 1)))}`;
    reference = await inContext(browser, base, TIMEOUT_MS, 'page (check bundle)', (p) => pageBench(p, base + '/' + q), external);
    bundle = checkBundle;
  }
  const out = {
    sentence: sentences[0],
    page_bundle: bundle,
    threshold: 0.999,
    note: 'the threshold holds for fp32 weights; q8 rows show what quantisation costs',
  };
  if (reference?.error || !reference?.first_embedding) {
    return { ...out, error: reference?.error ?? 'the page reported no embedding' };
  }
  for (const [name, r] of Object.entries(result.transformers_js)) {
    if (r?.first_embedding) {
      const c = cosine(reference.first_embedding, r.first_embedding);
      out[name] = /q8/.test(name) ? { cosine: round(c, 6) } : { cosine: round(c, 6), ok: c >= 0.999 };
    }
  }
  // transformers.js against itself: whether a device computes what wasm does.
  const tjs = result.transformers_js;
  if (tjs.webgpu_fp32?.first_embedding && tjs.wasm_fp32?.first_embedding) {
    out.tjs_webgpu_fp32_vs_tjs_wasm_fp32 = { cosine: round(cosine(tjs.webgpu_fp32.first_embedding, tjs.wasm_fp32.first_embedding), 6) };
  }
  return out;
}

/** Drops the embeddings from a configuration's result once they are compared. */
function lean(r) {
  if (!r || r.error) return r;
  const { first_embedding, ...rest } = r;
  return { ...rest, embedding_dims: first_embedding?.length ?? 0 };
}

async function main() {
  const sentences = readSentences(opt.sentences);
  const onnx = onnxDir();
  const checkBundle = checkBundleDir();
  if (!existsSync(join(ROOT, 'dist', 'index.html'))) throw new Error('dist/index.html missing: run scripts/build-web.sh first');
  const server = await serve({ sentences: resolve(opt.sentences), onnx, checkBundle });
  const external = [];
  const tjsVersion = JSON.parse(readFileSync(join(TJS_PKG, 'package.json'), 'utf8')).version;
  const result = {
    meta: {
      date: new Date().toISOString(),
      sentences_file: resolve(opt.sentences),
      n_sentences: sentences.length,
      runs: RUNS,
      gpu: { runs: GPU_RUNS, sentences: Math.min(GPU_SENTENCES, sentences.length), timeout_s: GPU_TIMEOUT_MS / 1000 },
      onnx_dir: onnx,
      chromium: null,
      notes: [
        'Page times are page → worker → page round trips reading back embeddings and logits, no '
        + 'attention (transformers.js returns none; the report\'s "attention" field says so); '
        + 'batch1_forward_ms_per_sentence is the worker\'s forward pass and read-back alone.',
        'transformers.js times are calls of the feature-extraction pipeline on the main thread.',
      ],
    },
    page: {},
    transformers_js: { version: tjsVersion },
  };
  const log = (what, r) => console.error(`${what}: ${r.error ? `ERROR ${r.error}` : `b1 ${round(r.batch1_ms_per_sentence)} ms, b16 ${round(r.batch16_ms_per_sentence)} ms/sentence`}`);
  const cpu = await chromium.launch(launchOptions({ webgpu: false }));
  result.meta.chromium = cpu.version();
  try {
    const base = server.url;
    if (wanted('page', 'wasm')) {
      const q = `?bench=${RUNS}&sentences=/bench/sentences.json&backend=cpu`;
      result.page.wasm = await inContext(cpu, base, TIMEOUT_MS, 'page wasm', (p) => pageBench(p, `${base}/${q}`), external);
      log('page wasm', result.page.wasm);
    }
    if (wanted('tjs', 'wasm')) {
      for (const dtype of ['fp32', 'q8']) {
        const key = `wasm_${dtype}`;
        result.transformers_js[key] = onnx
          ? await inContext(cpu, base, TIMEOUT_MS, `transformers.js ${key}`, (p) => tjsBench(p, base, {
            model: basename(onnx), dtype, device: 'wasm', sentences, runs: RUNS, batch: BATCH,
          }), external)
          : { error: 'no ONNX export found (bench/out/minilm-onnx or bench/out/onnx-model; see --onnx)' };
        log(`transformers.js ${key}`, result.transformers_js[key]);
      }
    }
  } finally {
    await cpu.close();
  }
  if (ONLY.has('gpu')) {
    const gpu = await chromium.launch(launchOptions({ webgpu: true }));
    const few = sentences.slice(0, GPU_SENTENCES);
    try {
      const base = server.url;
      if (wanted('page', 'gpu')) {
        const q = `?bench=${GPU_RUNS}&backend=webgpu&sentences=${encodeURIComponent(JSON.stringify(few))}`;
        result.page.webgpu = await inContext(gpu, base, GPU_TIMEOUT_MS, 'page webgpu', (p) => pageBench(p, `${base}/${q}`), external);
        log('page webgpu', result.page.webgpu);
      }
      if (wanted('tjs', 'gpu') && onnx) {
        result.transformers_js.webgpu_fp32 = await inContext(gpu, base, GPU_TIMEOUT_MS, 'transformers.js webgpu_fp32', (p) => tjsBench(p, base, {
          model: basename(onnx), dtype: 'fp32', device: 'webgpu', sentences: few, runs: GPU_RUNS, batch: BATCH,
        }), external);
        log('transformers.js webgpu_fp32', result.transformers_js.webgpu_fp32);
      }
    } finally {
      await gpu.close();
    }
  }
  const check = await chromium.launch(launchOptions({ webgpu: false }));
  try {
    result.agreement = await agreement(check, server.url, result, sentences, checkBundle, external);
  } finally {
    await check.close();
  }
  server.close();
  result.comparison = compare(result);
  result.meta.external_requests_blocked = external;
  for (const k of Object.keys(result.page)) result.page[k] = lean(result.page[k]);
  for (const k of Object.keys(result.transformers_js)) {
    if (k !== 'version') result.transformers_js[k] = lean(result.transformers_js[k]);
  }
  mkdirSync(dirname(resolve(opt.out)), { recursive: true });
  writeFileSync(opt.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ comparison: result.comparison, agreement: result.agreement }, null, 2));
  console.error(`wrote ${opt.out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
