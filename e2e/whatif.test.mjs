// The "what if" panel, checked against the native CLI on the bundle the page serves: the
// edited sentence is the hand-computed one, both sides show what `glassbox predict` answers
// for the two texts, and every verdict of "Check my sentences" is the one the CLI's answers
// imply (class unchanged; after a name swap, the type over the new name — the entity
// overlapping it most, as `glassbox robustness` reads a slot — is the type over the old one).
// On the CPU fallback, whose int8 kernels `predict --kernels int8` uses too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launch, openPage, analyse, noViolations, nativePredict } from './lib.mjs';

let server;
let browser;
let page;
let pageErrors;

before(async () => {
  server = await serveDist();
  browser = await launch({ webgpu: false });
  const context = await browser.newContext({ serviceWorkers: 'block' });
  ({ page, errors: pageErrors } = await openPage(context, server.url));
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** One side of the comparison as data. */
async function side(role) {
  const el = page.getByTestId(`whatif-${role}`);
  return {
    label: await el.getByTestId('whatif-label').textContent(),
    probs: JSON.parse(await el.getAttribute('data-probs')),
    entities: await el.getByTestId('entity').evaluateAll((es) => es.map((e) => ({
      label: e.dataset.label, start: Number(e.dataset.start), end: Number(e.dataset.end),
    }))),
  };
}

function assertSideIs(got, native, what) {
  assert.equal(got.label, native.sentence.label, `${what}: label`);
  for (const [label, p] of Object.entries(native.sentence.probs)) {
    assert.ok(Math.abs(got.probs[label] - p) <= 1e-3, `${what}: p(${label}) page ${got.probs[label]} vs native ${p}`);
  }
  assert.deepEqual(got.entities, native.entities.map(({ label, start, end }) => ({ label, start, end })), `${what}: entities`);
}

async function edit(name) {
  await page.getByTestId('whatif-edit').selectOption(name);
  await page.getByTestId('whatif-run').click();
  await page.getByTestId('whatif-verdict').waitFor({ timeout: 120_000 });
  return page.getByTestId('whatif-text').inputValue();
}

test('a negation shows both sentences as the CLI answers them, and expects a change', async () => {
  const text = 'The food at this restaurant is great.';
  await analyse(page, text);
  const edited = await edit('negate');
  assert.equal(edited, 'The food at this restaurant is not great.');
  const [before, afterward] = nativePredict([text, edited], 'int8');
  assertSideIs(await side('before'), before, 'before');
  assertSideIs(await side('after'), afterward, 'after');
  assert.equal(await page.getByTestId('whatif-verdict').getAttribute('data-outcome'), 'note');
  assert.match(await page.getByTestId('whatif-verdict').textContent(),
    new RegExp(`class ${before.sentence.label} → ${afterward.sentence.label}`));
});

test('an invariance edit passes exactly when the CLI gives both texts one class; a hand edit only reports', async () => {
  const text = 'Worst customer service I have ever had.';
  await analyse(page, text);
  const edited = await edit('upper');
  assert.equal(edited, text.toUpperCase());
  const [a, b] = nativePredict([text, edited], 'int8');
  const want = a.sentence.label === b.sentence.label ? 'pass' : 'fail';
  assert.equal(await page.getByTestId('whatif-verdict').getAttribute('data-outcome'), want);
  assertSideIs(await side('after'), b, 'upper-cased');
  await page.getByTestId('whatif-text').fill('Best customer service I have ever had.');
  await page.getByTestId('whatif-run').click();
  await page.getByTestId('whatif-verdict').filter({ hasText: 'by hand' }).waitFor({ timeout: 120_000 });
  const [hand] = nativePredict(['Best customer service I have ever had.'], 'int8');
  assertSideIs(await side('after'), hand, 'hand edit');
});

/** The type of the entity overlapping `start..end` most (ties: the later), or 'no entity'. */
function typeOver(entities, start, end) {
  let best = null;
  let most = 0;
  for (const e of entities) {
    const overlap = Math.min(e.end, end) - Math.max(e.start, start);
    if (overlap > 0 && overlap >= most) [best, most] = [e, overlap];
  }
  return best ? best.label : 'no entity';
}

/** Whether the CLI's answers break the invariance of one probe (see the header). */
function cliFails(edit, before, afterward, original, edited) {
  if (before.sentence.label !== afterward.sentence.label) return true;
  if (!edit.startsWith('name-') && edit !== 'place') return false;
  const isPerson = (l) => l.toLowerCase() === 'per' || l.toLowerCase().startsWith('person');
  const isPlace = (l) => ['geo-loc', 'loc', 'location', 'gpe', 'city'].includes(l.toLowerCase());
  const old = before.entities.find((e) => (edit === 'place' ? isPlace : isPerson)(e.label));
  // The new name sits where the old one was; the text after it is unchanged.
  const end = [...edited].length - ([...original].length - old.end);
  return typeOver(before.entities, old.start, old.end) !== typeOver(afterward.entities, old.start, end);
}

test('"Check my sentences" gives every edit the verdict the CLI implies', async () => {
  const texts = [
    'Just watched the new Star Wars movie with Sarah in London, absolutely loved it!',
    'Apple kept me on hold for an hour. Never again.',
  ];
  await analyse(page, texts.join('\n'));
  await page.getByTestId('whatif-check').click();
  await page.getByTestId('whatif-checks').waitFor({ timeout: 240_000 });
  const rows = await page.getByTestId('whatif-check-row').evaluateAll((rs) => rs.map((r) => ({
    edit: r.dataset.edit, outcomes: JSON.parse(r.dataset.outcomes),
  })));
  const plain = ['typo', 'upper', 'lower', 'punctuation', 'emoji', 'url', 'mention'];
  for (const e of plain) {
    const row = rows.find((r) => r.edit === e);
    assert.equal(row?.outcomes.length, texts.length, `${e} applies to every sentence`);
  }
  const all = rows.flatMap((r) => r.outcomes.map((o) => ({ ...o, edit: r.edit })));
  const native = nativePredict([...texts, ...all.map((o) => o.edited)], 'int8');
  const of = Object.fromEntries(texts.map((t, i) => [t, native[i]]));
  all.forEach((o, k) => {
    const want = cliFails(o.edit, of[o.original], native[texts.length + k], o.original, o.edited);
    assert.equal(o.why !== null, want, `${o.edit}: ${JSON.stringify(o.edited)} (${o.why})`);
  });
  const failures = all.filter((o) => o.why !== null).length;
  console.log(`what-if checks: ${all.length} probes, ${failures} failed`);
  await noViolations(page, pageErrors);
});
