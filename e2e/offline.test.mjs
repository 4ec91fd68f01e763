// Offline after the first visit (app/sw.js): one visit online, the service worker takes
// control, then the network goes away for real (the server is stopped and the browser set
// offline) and a reload must bring back the page, load the model and give the same
// predictions as before, and as `glassbox predict` on the same bundle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launch, nativePredict, LONG, openPage, analyse, waitForRun, results, assertMatchesNative, noViolations } from './lib.mjs';

const SENTENCES = [
  'Going to see the Lakers in Los Angeles with Justin tomorrow',
  'My new laptop from Dell stopped working after a week, so annoyed',
];

/** Names of what the service worker stored, relative to the site root. */
async function shellFiles(page) {
  return page.evaluate(async () => {
    const names = (await caches.keys()).filter((n) => n.startsWith('glassbox-app-'));
    const files = [];
    for (const n of names) {
      for (const r of await (await caches.open(n)).keys()) files.push(new URL(r.url).pathname);
    }
    return { names, files };
  });
}

test('after one visit the page, the model and its predictions work with the network off', async () => {
  const server = await serveDist();
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const { page, errors } = await openPage(context, server.url);
    assert.match(await analyse(page, SENTENCES.join('\n')), /Done: 2 sentences/);
    const online = await results(page);
    assertMatchesNative(online, nativePredict(SENTENCES, 'int8'));

    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    const { names, files } = await shellFiles(page);
    assert.deepEqual(names, ['glassbox-app-v1']);
    for (const want of [/^\/$/, /^\/boot\.js$/, /^\/glassbox-app-[0-9a-f]+\.js$/, /^\/glassbox-app-[0-9a-f]+_bg\.wasm$/,
      /^\/glassbox-worker_loader\.js$/, /^\/glassbox-worker\.js$/, /^\/glassbox-worker_bg\.wasm$/,
      /\.css$/]) {
      assert.ok(files.some((f) => want.test(f)), `the shell cache holds ${want}: ${files.join(' ')}`);
    }
    assert.ok(!files.some((f) => f.includes('/models/')), 'bundles stay in the worker\'s own cache');

    server.close();
    await context.setOffline(true);
    // The address holds the sentences (#s=…), so the reload analyses them again.
    await page.reload();
    await page.getByTestId('status').filter({ hasText: /^(Done|Could not|Inference failed)/ }).waitFor({ timeout: LONG });
    assert.match(await waitForRun(page), /Done: 2 sentences/);
    assert.match(await page.getByTestId('source').textContent(), /browser cache/);
    // Computed afresh (the worker's result cache does not outlive it), and identical.
    assert.deepEqual(await results(page), online, 'the same predictions as online');
    // Really offline: what the service worker does not hold cannot be fetched.
    const probe = await page.evaluate(() => fetch('models/default/manifest.json?probe').then(() => 'fetched', () => 'failed'));
    assert.equal(probe, 'failed');
    // The page under another query (a lesson step's link) is the same stored page.
    await page.goto(`${server.url}?lesson=3${new URL(page.url()).hash}`);
    assert.match(await waitForRun(page), /Done: 2 sentences/);
    assert.equal(await page.getByTestId('lesson-counter').textContent(), 'Step 3 of 5');
    assert.deepEqual(await results(page), online);
    await noViolations(page, errors);
  } finally {
    await browser.close();
    server.close();
  }
});
