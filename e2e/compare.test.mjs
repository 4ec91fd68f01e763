// The model picker and the champion–challenger comparison over a registry the real CLI
// builds inside dist/: the committed bundle as champion, the pretrained MiniLM exported with
// untrained heads as challenger, and the gate report that judged the challenger. (An f32
// re-export of the champion would be the natural challenger, but under the page's int8 kernels
// it gives the champion's numbers to the last digit, so a column showing the wrong model would
// pass.) The page must list both versions with their aliases, load the one picked (address and
// manifest hash), and in compare mode show for each model the labels, probabilities and spans
// `glassbox predict` gives for that bundle, a layers × heads grid whose cells are the mean
// absolute difference of the two models' maps as `glassbox attention` prints them, and the
// gate's statistics. A broken index or an unknown version gets a message, never a dead page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, copyFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  serveDist, launch, ROOT, OUT, LONG, openPage, assertMatchesNative, noViolations, nativeJson,
} from './lib.mjs';

const BIN = join(ROOT, 'target', 'release', 'glassbox');
const REG = 'e2e-registry';
const BROKEN = 'e2e-broken-registry';
const SENTENCES = [
  'Apple support kept me waiting in London for two hours, worst service ever',
  'Just watched the new Star Wars movie with Sarah, absolutely loved it!',
];
const CONTEXT = { viewport: { width: 1300, height: 900 }, serviceWorkers: 'block' };

let server;
let index;
let gate;
let tmp;

function glassbox(args, okStatus = [0]) {
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: build it with cargo build --release -p glassbox-trainer`);
  const r = spawnSync(BIN, args, { encoding: 'utf8', cwd: ROOT });
  if (!okStatus.includes(r.status)) throw new Error(`glassbox ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Champion, challenger (the pretrained encoder, version 1.1.0) and the challenger's gate report. */
function buildRegistry() {
  const reg = join(ROOT, 'dist', REG);
  rmSync(reg, { recursive: true, force: true });
  tmp = mkdtempSync(join(tmpdir(), 'glassbox-compare-'));
  const champion = join(ROOT, 'public', 'models', 'default');
  const pretrained = join(ROOT, 'assets', 'all-MiniLM-L6-v2');
  if (!existsSync(join(pretrained, 'model.safetensors'))) {
    throw new Error(`${pretrained} missing: run glassbox fetch (scripts/setup.sh) first`);
  }
  const challenger = join(tmp, 'v2');
  glassbox(['export', '--model', pretrained, '--out', challenger, '--model-version', '1.1.0']);
  // Exit 3 is a failed gate: a verdict, and the report is written all the same.
  glassbox(['gate', '--champion', champion, '--challenger', challenger, '--out', join(tmp, 'gate'), '--limit', '50'], [0, 3]);
  mkdirSync(join(reg, 'gates'), { recursive: true });
  copyFileSync(join(tmp, 'gate', 'gate.json'), join(reg, 'gates', '1.1.0.json'));
  glassbox(['registry', '--registry', reg, 'register', champion, '--alias', 'champion']);
  glassbox(['registry', '--registry', reg, 'register', challenger, '--alias', 'challenger']);
  index = JSON.parse(readFileSync(join(reg, 'index.json'), 'utf8'));
  gate = JSON.parse(readFileSync(join(reg, 'gates', '1.1.0.json'), 'utf8'));
  const broken = join(ROOT, 'dist', BROKEN);
  mkdirSync(broken, { recursive: true });
  writeFileSync(join(broken, 'index.json'), '{"versions": [ not json');
}

before(async () => {
  buildRegistry();
  server = await serveDist();
});
after(() => {
  server?.close();
  for (const d of [join(ROOT, 'dist', REG), join(ROOT, 'dist', BROKEN), tmp]) {
    if (d) rmSync(d, { recursive: true, force: true });
  }
});

const byAlias = (alias) => index.versions.find((v) => v.aliases.includes(alias));
const bundleDir = (v) => join(ROOT, 'dist', REG, v.path);

/** Mean |a − b| over the cells of one head's map of `text`, as `glassbox attention` prints both. */
function meanAbsDiff(text, layer, head, a, b) {
  const map = (v) => nativeJson(['attention', '--kernels', 'int8', '--model', bundleDir(v),
    '--layer', String(layer), '--head', String(head), text]).items[0].attention;
  const [ma, mb] = [map(a), map(b)];
  assert.equal(ma.length, mb.length, 'same wordpieces');
  let sum = 0;
  ma.forEach((row, i) => row.forEach((x, j) => { sum += Math.abs(x - mb[i][j]); }));
  return sum / (ma.length * ma.length);
}

/** The permalink hash that makes the page analyse SENTENCES as soon as the model loads. */
const hash = () => `#s=${encodeURIComponent(SENTENCES.join('\n'))}`;

/** One compare column's lines, shaped like lib.mjs's `results`. */
async function column(page, role) {
  return page.locator(`[data-testid=compare-${role}] [data-testid=compare-line]`).evaluateAll((lines) => lines.map((l) => ({
    label: l.querySelector('[data-testid=compare-label]')?.textContent ?? null,
    probs: l.dataset.probs ? JSON.parse(l.dataset.probs) : null,
    entities: [...l.querySelectorAll('[data-testid=compare-entity]')].map((e) => ({
      label: e.dataset.label, text: e.textContent, start: Number(e.dataset.start), end: Number(e.dataset.end),
    })),
  })));
}

test('the index the CLI wrote names both versions, their aliases and the gate', () => {
  assert.equal(index.versions.length, 2);
  assert.ok(byAlias('champion') && byAlias('challenger'));
  assert.equal(byAlias('challenger').gate, 'gates/1.1.0.json', 'the trainer links the gate report in the index');
});

test('picker: lists the versions, loads the champion, then the challenger picked (address and manifest hash)', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext(CONTEXT);
    const { page, errors } = await openPage(context, `${server.url}?backend=cpu&registry=${REG}/`);
    const listed = await page.getByTestId('version').evaluateAll((vs) => vs.map((v) => ({
      version: v.dataset.version, aliases: v.dataset.aliases, sha: v.dataset.sha256,
    })));
    assert.deepEqual(listed, index.versions.map((v) => ({
      version: v.version, aliases: v.aliases.join(','), sha: v.manifest_sha256,
    })));
    const champion = byAlias('champion');
    const challenger = byAlias('challenger');
    assert.equal(await page.getByTestId('loaded-sha256').textContent(), champion.manifest_sha256, 'champion by default');
    assert.match(await page.getByTestId('registry').textContent(), /macro-F1 0\.\d{3}/);

    await page.locator(`[data-testid=version][data-version="${challenger.version}"] [data-testid=pick]`).click();
    await page.getByTestId('loaded-sha256').filter({ hasText: challenger.manifest_sha256 })
      .or(page.getByTestId('status').filter({ hasText: /Could not/ })).waitFor({ timeout: LONG });
    assert.equal(await page.getByTestId('loaded-sha256').textContent(), challenger.manifest_sha256);
    const address = new URL(page.url());
    assert.equal(address.searchParams.get('registry'), `${REG}/`);
    assert.equal(address.searchParams.get('version'), challenger.version);
    assert.match(await page.getByTestId('model-name').textContent(), new RegExp(challenger.version.replaceAll('.', '\\.')));

    // The address is a permalink: opened afresh, it loads the challenger again.
    const again = await openPage(context, page.url());
    assert.equal(await again.page.getByTestId('loaded-sha256').textContent(), challenger.manifest_sha256);
    await noViolations(page, errors);
    await noViolations(again.page, again.errors);
  } finally {
    await browser.close();
  }
});

test('compare: both columns match glassbox predict on their bundle; attention grid; gate statistics', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext(CONTEXT);
    const picker = await openPage(context, `${server.url}?backend=cpu&registry=${REG}/`);
    // The picker's compare link opens the comparison of champion and challenger; opened
    // with a permalink of SENTENCES, it analyses them on both models.
    await picker.page.getByTestId('compare-open').click();
    await picker.page.waitForURL(/compare=champion%2Cchallenger/);
    const compareUrl = picker.page.url().split('#')[0];
    await picker.page.close();
    const { page, errors } = await openPage(context, `${compareUrl}${hash()}`);
    await page.getByTestId('diff-grid').or(page.getByTestId('compare-error')).waitFor({ timeout: LONG });
    assert.equal(await page.getByTestId('compare-error').count(), 0, 'no comparison error');

    const champion = byAlias('champion');
    const challenger = byAlias('challenger');
    const natives = [];
    for (const [role, v] of [['a', champion], ['b', challenger]]) {
      assert.equal(await page.getByTestId(`compare-${role}`).getAttribute('data-version'), v.version);
      const native = nativeJson(['predict', '--kernels', 'int8', '--bundle', bundleDir(v), ...SENTENCES]).items;
      assertMatchesNative(await column(page, role), native);
      natives.push(native);
    }
    const [pa, pb] = natives.map((n) => n[0].sentence.probs);
    assert.ok(Object.keys(pa).some((k) => Math.abs(pa[k] - pb[k]) > 0.05),
      'the two models answer differently, so a column showing the other model would fail');

    const grid = page.getByTestId('diff-grid');
    const manifest = JSON.parse(readFileSync(join(bundleDir(champion), 'manifest.json'), 'utf8'));
    const { num_hidden_layers: layers, num_attention_heads: heads } = manifest.config.bert;
    assert.equal(Number(await grid.getAttribute('data-layers')), layers);
    assert.equal(Number(await grid.getAttribute('data-heads')), heads);
    const cells = await page.getByTestId('diff-cell').evaluateAll((cs) => cs.map((c) => ({
      layer: Number(c.dataset.layer), head: Number(c.dataset.head), value: Number(c.dataset.value), biggest: c.classList.contains('biggest'),
    })));
    assert.equal(cells.length, layers * heads);
    const max = Math.max(...cells.map((c) => c.value));
    const biggest = cells.filter((c) => c.biggest);
    assert.equal(biggest.length, 1, 'one cell outlined');
    assert.equal(biggest[0].value, max, 'the outlined cell is the largest difference');
    assert.ok(cells.every((c) => c.value >= 0 && c.value <= 1), 'mean |difference| of probabilities lies in [0, 1]');
    // The focused (first) sentence's cells against the CLI's maps of both bundles; the page's
    // maps are quantised to bytes (each weight within 1/510), hence the tolerance.
    for (const c of [biggest[0], cells.find((x) => x.layer === 0 && x.head === 1)]) {
      const want = meanAbsDiff(SENTENCES[0], c.layer, c.head, champion, challenger);
      assert.ok(Math.abs(c.value - want) <= 4e-3, `layer ${c.layer} head ${c.head}: page ${c.value} vs CLI ${want}`);
    }
    // Picking another cell shows both models' maps of that head.
    await page.locator('[data-testid=diff-cell][data-layer="0"][data-head="1"]').click();
    const picked = page.getByTestId('diff-picked');
    assert.equal(await picked.getAttribute('data-layer'), '0');
    assert.equal(await picked.getAttribute('data-head'), '1');
    await page.locator('[data-testid=diff-map-b][data-drawn="1"]').waitFor({ timeout: LONG });
    assert.equal(await page.locator('[data-testid=diff-map-a][data-drawn="1"]').count(), 1);

    const g = page.getByTestId('gate');
    assert.equal(await g.getAttribute('data-passed'), String(gate.passed));
    const m = gate.statistics.mcnemar;
    assert.match(await page.getByTestId('gate-mcnemar').textContent(),
      new RegExp(`b = ${m.champion_only} .*c = ${m.challenger_only} .*p = ${m.p_value.toFixed(3)}`));
    assert.equal(await page.getByTestId('gate-metric').count(),
      ['macro_f1', 'span_f1'].filter((k) => gate.statistics[k]).length);
    await page.screenshot({ path: join(OUT, 'compare.png'), fullPage: true });
    await noViolations(page, errors);
  } finally {
    await browser.close();
  }
});

test('a broken index or an unknown version is a message in the page', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext(CONTEXT);
    for (const [query, why] of [
      [`registry=${BROKEN}/`, /not a valid index\.json/],
      ['registry=no-such-registry/', /cannot read the registry index .*HTTP 404/],
      [`registry=${REG}/&version=9.9.9`, /no version or alias `9\.9\.9`.*champion/],
    ]) {
      const page = await context.newPage();
      await page.goto(`${server.url}?backend=cpu&${query}`);
      await page.getByTestId('registry-error').waitFor({ timeout: LONG });
      assert.match(await page.getByTestId('registry-error').textContent(), why, query);
      await page.getByTestId('status').filter({ hasText: /Could not load the model/ }).waitFor({ timeout: LONG });
      assert.ok(await page.getByTestId('input').isVisible(), 'the page stays usable');
      await page.close();
    }
  } finally {
    await browser.close();
  }
});
