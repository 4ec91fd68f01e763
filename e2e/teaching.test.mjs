// The page as a class first sees it, on a 1366×768 laptop: the sentence box and the Analyse
// button in the first screen, the backend folded into one status line that expands; lesson
// mode's steps by button, by arrow key and by link. Saves the screenshots the tutorials show
// (e2e/out/screenshots/). CPU backend only: the layout does not depend on the backend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  serveDist, launch, servedBundle, OUT, LONG, openPage, analyse, waitForRun, noViolations,
} from './lib.mjs';

const SHOTS = join(OUT, 'screenshots');
const VIEWPORT = { width: 1366, height: 768 };
// The lesson's example set (app/src/lesson.rs, DEFAULT_SENTENCES), used when the box is empty.
const LESSON_DEFAULT = [
  'I love my new phone, the camera is amazing!',
  'This camera takes fantastic photos, best thing I bought this year.',
  'Apple support kept me on hold for an hour. Never again.',
  'Worst customer service ever, my flight to Paris was cancelled twice.',
  'The meeting with Microsoft in Seattle is moved to Tuesday.',
];
const MINE = [
  'Just landed in Zürich with Anna, the café by the lake is wonderful!',
  'Apple support kept me waiting for two hours, worst service ever',
];

let server;
before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await serveDist();
});
after(() => server?.close());

/** Whether `locator`'s box lies entirely inside the viewport as the page is scrolled now. */
async function inFirstScreen(page, locator) {
  const box = await locator.boundingBox();
  assert.ok(box, 'element is rendered');
  return box.y >= 0 && box.x >= 0 && box.y + box.height <= VIEWPORT.height && box.x + box.width <= VIEWPORT.width;
}

/**
 * Waits until the lesson shows step `n` (1-based) with `?lesson=n` in the address, then
 * returns its title and the `data-lesson` of the outlined panels.
 */
async function atStep(page, n) {
  await page.getByTestId('lesson-counter').filter({ hasText: `Step ${n} of 5` }).waitFor({ timeout: 5000 });
  await page.waitForFunction((n) => new URLSearchParams(location.search).get('lesson') === String(n), n, { timeout: 5000 });
  return {
    title: await page.getByTestId('lesson-title').textContent(),
    focused: await page.locator('.lesson-focus').evaluateAll((els) => els.map((e) => e.dataset.lesson)),
  };
}

/** Waits until the outlined panel's top is on screen (the page scrolls it there). */
async function scrolledTo(page, panel) {
  await page.waitForFunction((panel) => {
    const r = document.querySelector(`[data-lesson=${panel}]`).getBoundingClientRect();
    return r.top >= 0 && r.top < innerHeight;
  }, panel, { timeout: 5000 });
}

test('the page opens on the task: input first, backend as a status line that expands', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext({ viewport: VIEWPORT, serviceWorkers: 'block' });
    const { page, errors } = await openPage(context, server.url);
    assert.equal(await page.evaluate(() => window.scrollY), 0);
    assert.ok(await inFirstScreen(page, page.getByTestId('input')), 'the sentence box is in the first screen');
    assert.ok(await inFirstScreen(page, page.getByTestId('run')), 'so is the Analyse button');

    // Collapsed: one line naming the backend, the model (as its manifest says) and the state.
    const manifest = JSON.parse(readFileSync(join(servedBundle(), 'manifest.json'), 'utf8'));
    const details = page.getByTestId('backend-details');
    assert.equal(await details.evaluate((d) => d.open), false);
    assert.equal(await page.getByTestId('force-cpu').isVisible(), false);
    assert.equal(await page.getByTestId('bench-run').isVisible(), false);
    assert.match(await page.getByTestId('backend').textContent(), /CPU/);
    assert.equal(await page.getByTestId('model-name').textContent(), `${manifest.name} ${manifest.version}`);
    await page.getByTestId('load-state').filter({ hasText: /^ready$/ }).waitFor({ timeout: 5000 });
    const summary = await page.getByTestId('backend-summary').boundingBox();
    assert.ok(summary.height < 40, `the status is one line (${summary.height}px high)`);
    // A click expands it (details/summary: keyboard and screen readers get this for free).
    await page.getByTestId('backend-summary').click();
    assert.equal(await details.evaluate((d) => d.open), true);
    assert.equal(await page.getByTestId('force-cpu').isVisible(), true);
    assert.match(await page.getByTestId('fallback-reason').textContent(), /WebGPU/);
    await page.getByTestId('backend-summary').click();
    assert.equal(await details.evaluate((d) => d.open), false);

    // After a run the first result is in the first screen too.
    assert.match(await analyse(page, MINE.join('\n')), /Done: 2 sentences/);
    assert.ok(await inFirstScreen(page, page.getByTestId('sentence-label').first()),
      'the first result\'s class is in the first screen');
    await page.screenshot({ path: join(SHOTS, 'first-look.png') });
    await page.locator('[data-testid=attention][data-drawn="1"]').waitFor({ timeout: LONG });
    await page.getByTestId('inspect-panel').screenshot({ path: join(SHOTS, 'inspect.png') });
    await noViolations(page, errors);
  } finally {
    await browser.close();
  }
});

test('lesson mode: steps by button and arrow key, one panel outlined, a link per step', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext({ viewport: VIEWPORT, serviceWorkers: 'block' });
    const { page, errors } = await openPage(context, server.url);
    assert.match(await analyse(page, MINE.join('\n')), /Done: 2 sentences/);

    // The teacher's own sentences, already analysed: the lesson starts on them, no re-run.
    await page.getByTestId('lesson-start').click();
    assert.deepEqual(await atStep(page, 1),
      { title: 'The class, and how sure the model is', focused: ['results'] });
    assert.equal(await page.getByTestId('lesson-prev').isDisabled(), true);
    assert.equal(await page.getByTestId('input').inputValue(), MINE.join('\n'));
    assert.match(await page.getByTestId('status').textContent(), /^Done: 2 sentences/, 'no second run');

    await page.getByTestId('lesson-next').click();
    assert.deepEqual((await atStep(page, 2)).focused, ['pieces']);
    await scrolledTo(page, 'pieces');
    await page.screenshot({ path: join(SHOTS, 'lesson-step-2.png') });
    const step2 = await page.getByTestId('lesson-permalink').getAttribute('href');
    assert.match(step2, /^\?lesson=2#s=Just%20landed/);

    // Arrow keys move between steps, but not while typing.
    await page.keyboard.press('ArrowRight');
    assert.deepEqual((await atStep(page, 3)).focused, ['attention']);
    await scrolledTo(page, 'attention');
    await page.getByTestId('input').focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForTimeout(300);
    assert.equal(await page.getByTestId('lesson-counter').textContent(), 'Step 3 of 5', 'typing in the box does not turn the page');
    await page.getByTestId('lesson-next').click();
    await atStep(page, 4);
    // The bar is not rebuilt between steps: the button keeps the focus, so Enter goes on.
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'lesson-next');
    await page.keyboard.press('Enter');
    assert.deepEqual((await atStep(page, 5)).focused, ['corpus']);
    assert.equal(await page.getByTestId('lesson-next').isDisabled(), true);
    await page.keyboard.press('ArrowLeft');
    assert.deepEqual((await atStep(page, 4)).focused, ['occlusion']);

    // The step's link, in a fresh tab: the same step over the same sentences, analysed.
    const again = await openPage(context, new URL(step2, server.url).href);
    assert.match(await waitForRun(again.page), /Done: 2 sentences/);
    assert.deepEqual((await atStep(again.page, 2)).focused, ['pieces']);
    assert.equal(await again.page.getByTestId('input').inputValue(), MINE.join('\n'));
    await noViolations(again.page, again.errors);
    await again.page.close();

    // Ending the lesson takes it out of the address; an empty box starts on the example set.
    await page.getByTestId('lesson-close').click();
    await page.getByTestId('lesson').waitFor({ state: 'detached', timeout: 5000 });
    await page.waitForFunction(() => !new URLSearchParams(location.search).has('lesson'), null, { timeout: 5000 });
    await page.getByTestId('input').fill('');
    await page.getByTestId('lesson-start').click();
    assert.match(await waitForRun(page), /Done: 5 sentences/);
    assert.equal(await page.getByTestId('input').inputValue(), LESSON_DEFAULT.join('\n'));
    await atStep(page, 1);
    await noViolations(page, errors);
  } finally {
    await browser.close();
  }
});
