// An error found by `glassbox eval` opens in the page: every errors.jsonl entry carries a
// permalink in the page's own format (`?model=` naming the bundle as the page serves it, then
// `#s=` with the text). Opened, the page analyses that text with that bundle, on the CPU
// fallback whose int8 kernels the evaluation is asked to use too, and shows the very class the
// evaluation recorded as wrong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveDist, launch, ROOT, openPage, results, waitForRun, noViolations } from './lib.mjs';

const BIN = join(ROOT, 'target', 'release', 'glassbox');

let server;
let tmp;

before(async () => {
  server = await serveDist();
  tmp = mkdtempSync(join(tmpdir(), 'glassbox-errors-'));
});

after(() => {
  server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The evaluation's errors on the committed bundle's test split, computed as the CPU page does. */
function evalErrors() {
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: build it with cargo build --release -p glassbox-trainer`);
  const out = join(tmp, 'eval');
  const args = ['eval', '--bundle', 'public/models/default', '--split', 'test', '--kernels', 'int8', '--out', out];
  const r = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(join(out, 'errors.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

test('an errors.jsonl permalink opens its text in the page, which answers as the evaluation did', async () => {
  const errors = evalErrors();
  // A confident error: a near tie could fall either way between two batchings.
  const e = errors.find((x) => x.task === 'sentiment' && x.confidence > 0.8 && x.text.length < 120);
  assert.ok(e, 'a confident sentiment error in the test split');
  assert.equal(e.permalink, `?model=models%2Fdefault#s=${encodeURIComponent(e.text)}`);
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const { page, errors: pageErrors } = await openPage(context, server.url + e.permalink);
    await waitForRun(page);
    assert.equal(await page.getByTestId('input').inputValue(), e.text);
    const cards = await results(page);
    assert.equal(cards.length, 1);
    assert.equal(cards[0].label, e.pred, `the page's class for ${JSON.stringify(e.text)} (gold ${e.gold})`);
    await noViolations(page, pageErrors);
  } finally {
    await browser.close();
  }
});
