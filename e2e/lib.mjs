// Shared e2e plumbing: a static server for dist/, Chromium with or without WebGPU, and the
// native CLI for the numbers the page must reproduce.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
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
