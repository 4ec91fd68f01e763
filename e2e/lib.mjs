// Shared e2e plumbing: a static server for dist/, Chromium with or without WebGPU, and the
// native CLI for the numbers the page must reproduce.
import { spawn, execFileSync } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { launchOptions } from './chromium.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = join(ROOT, 'e2e', 'out');
mkdirSync(OUT, { recursive: true });

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function serveDist() {
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'index.html'))) {
    throw new Error('dist/index.html missing: run scripts/build-web.sh first');
  }
  const port = await freePort();
  const proc = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dist], {
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url);
      if (r.ok) return { url, close: () => proc.kill() };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error('static server did not start');
}

// Playwright gives every launch a fresh temporary profile of its own (it refuses
// --user-data-dir), so no state leaks from one test's browser into the next.
export async function launch({ webgpu }) {
  return chromium.launch(launchOptions({ webgpu }));
}

/** The bundle the page serves, for the native CLI to load the very same weights. */
export function servedBundle() {
  for (const name of ['default', 'base']) {
    const dir = join(ROOT, 'dist', 'models', name);
    if (existsSync(join(dir, 'manifest.json'))) return dir;
  }
  throw new Error('dist/models has no bundle');
}

/**
 * `glassbox predict --json` on the bundle the page serves: the numbers the page must show.
 * `kernels` is what the page's backend computes with: `int8` on the CPU, `f32` on WebGPU.
 */
export function nativePredict(texts, kernels = 'f32') {
  const bin = join(ROOT, 'target', 'release', 'glassbox');
  const args = ['predict', '--json', '--kernels', kernels, '--bundle', servedBundle(), ...texts];
  const out = execFileSync(bin, args, { encoding: 'utf8' });
  return JSON.parse(out);
}

/** How long a page may take to load the model or analyse (CPU wasm on two busy cores). */
export const LONG = 480_000;

/**
 * A page at `url` that records errors and CSP violations from its first script on, once the
 * model has loaded; `prepare(page)` runs before it is opened.
 */
export async function openPage(context, url, { prepare } = {}) {
  const page = await context.newPage();
  // What a test must set before the first request (a storage quota, a route).
  if (prepare) await prepare(page);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Injected through DevTools, not as an inline script, so the CSP does not apply to it.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(url);
  await page.getByTestId('status').filter({ hasText: /Ready|Could not|Done|Benchmark/ }).waitFor({ timeout: LONG });
  const status = await page.getByTestId('status').textContent();
  assert.doesNotMatch(status, /Could not/, `page failed to load the model: ${status}`);
  return { page, errors };
}

export async function analyse(page, text) {
  await page.getByTestId('input').fill(text);
  await page.getByTestId('run').click();
  return waitForRun(page);
}

/** The status once the run in flight has finished. */
export async function waitForRun(page) {
  await page.getByTestId('status').filter({ hasText: /^(Done|Nothing|Inference failed)/ }).waitFor({ timeout: LONG });
  return page.getByTestId('status').textContent();
}

/** Every result card as data: label, probabilities, cache marker, entity spans. */
export async function results(page) {
  return page.getByTestId('result').evaluateAll((cards) => cards.map((c) => ({
    label: c.querySelector('[data-testid=sentence-label]')?.textContent ?? null,
    probs: c.dataset.probs ? JSON.parse(c.dataset.probs) : null,
    cached: c.querySelector('[data-testid=cache-hit]') !== null,
    entities: [...c.querySelectorAll('[data-testid=entity]')].map((e) => ({
      label: e.dataset.label, text: e.textContent, start: Number(e.dataset.start), end: Number(e.dataset.end),
    })),
  })));
}

/** The page's cards agree with `glassbox predict --json`: labels, spans, probabilities within 1e-3. */
export function assertMatchesNative(got, native) {
  assert.equal(got.length, native.length);
  got.forEach((g, i) => {
    const n = native[i];
    assert.equal(g.label, n.sentence.label, `sentence ${i + 1} label`);
    for (const [label, p] of Object.entries(n.sentence.probs)) {
      assert.ok(Math.abs(g.probs[label] - p) <= 1e-3, `sentence ${i + 1} p(${label}): page ${g.probs[label]} vs native ${p}`);
    }
    assert.deepEqual(g.entities, n.entities.map(({ label, text, start, end }) => ({ label, text, start, end })),
      `sentence ${i + 1} entities`);
  });
}

export async function noViolations(page, errors) {
  assert.deepEqual(errors, [], 'no uncaught errors in the page');
  assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no Content-Security-Policy violations');
  assert.equal(await page.locator('script:not([src])').count(), 0, 'no inline scripts');
}

/** Expands the backend status line (switch, timings, benchmark) unless it is open already. */
export async function showBackend(page) {
  const details = page.getByTestId('backend-details');
  if (!(await details.evaluate((d) => d.open))) await page.getByTestId('backend-summary').click();
  assert.equal(await details.evaluate((d) => d.open), true);
}

/**
 * `glassbox ARGS --format json` (the first arg is the command) on the native CLI, parsed; exit
 * status 2 (some items failed, each an error object at its place) is an answer too.
 */
export function nativeJson(args) {
  const bin = join(ROOT, 'target', 'release', 'glassbox');
  if (!existsSync(bin)) throw new Error(`${bin} missing: build it with cargo build --release -p glassbox-trainer`);
  const [command, ...rest] = args;
  const r = spawnSync(bin, [command, '--format', 'json', ...rest], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && r.status !== 2) {
    throw new Error(`glassbox ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  }
  return { items: JSON.parse(r.stdout), status: r.status };
}
