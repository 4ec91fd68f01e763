// glassbox's service worker: after one visit the page opens, and its model loads, with the
// network off (a classroom with flaky Wi-Fi is where this page is used).
//
// What is cached, and how:
// - the app shell, fetched when the worker installs: index.html, every same-origin file it
//   references (boot.js, the CSS, the page's hashed .js/.wasm) and the inference worker's
//   loader shim with the hashed files it references. Trunk hashes the names at build time,
//   so they are read from the served files instead of being listed here;
// - at run time, every other same-origin GET that succeeds: hashed files cache-first (a name
//   never changes its bytes), everything else (index.html, boot.js, the loader shim)
//   network-first, so a new deployment is picked up whenever the server answers;
// - not the model bundles: the inference worker keeps them in its own Cache API store
//   ("glassbox-bundles-v1"), keyed by SHA-256 and verified on every load; storing them here
//   too would keep every model twice.
//
// Bump VERSION when what is stored changes its format; activation deletes older versions.
const VERSION = 1;
const PREFIX = 'glassbox-app-';
const CACHE = `${PREFIX}v${VERSION}`;
const SCOPE = new URL(self.registration.scope);
// The page spawns its inference worker from this file (app/src/client.rs, WORKER_LOADER);
// nothing the page's HTML references names it.
const ENTRY_POINTS = ['./', 'glassbox-worker_loader.js'];
// Trunk's output names: `<name>-<hex hash>.js`, `…_bg.wasm`, `….css`.
const HASHED = /-[0-9a-f]{8,}(_bg)?\.(js|wasm|css)$/;
// Quoted same-origin paths of files the shell needs, in HTML and JS.
const REFERENCE = /["']([^"'<>\s]+\.(?:js|wasm|css))["']/g;

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(dropOldVersions().then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const answer = strategy(event.request);
  if (answer) event.respondWith(answer(event.request));
});

/** Whether a same-origin path belongs to a model bundle (the inference worker caches those). */
function isBundleFile(url) {
  return url.pathname.includes('/models/') || url.pathname.endsWith('.bpk');
}

/** How to answer a request, or null to leave it to the browser. */
function strategy(request) {
  if (request.method !== 'GET') return null;
  const url = new URL(request.url);
  if (url.origin !== SCOPE.origin || !url.href.startsWith(SCOPE.href) || isBundleFile(url)) return null;
  if (HASHED.test(url.pathname)) return cacheFirst;
  // The page under any query (?lesson=2, ?backend=cpu) is one file, stored as the scope URL.
  const isPage = url.pathname === SCOPE.pathname || url.pathname === `${SCOPE.pathname}index.html`;
  const key = isPage ? SCOPE.href : url.origin + url.pathname;
  return (r) => networkFirst(r, key);
}

/** Only complete answers are kept (no errors, no partial ranges). */
function storable(response) {
  return response.ok && response.status === 200 && response.type === 'basic';
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (storable(response)) await cache.put(request, response.clone());
  return response;
}

/** The network's answer, stored under `key`; the stored one when the network fails. */
async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (storable(response)) await cache.put(key, response.clone());
    return response;
  } catch (offline) {
    const hit = await cache.match(key);
    if (hit) return hit;
    throw offline;
  }
}

/**
 * Stores the entry points and, transitively, the same-origin files their text references.
 * An entry point that fails fails the install (the browser retries on the next visit); a
 * referenced file that fails is skipped, so a stray match cannot block going offline.
 */
async function precache() {
  const cache = await caches.open(CACHE);
  const seen = new Set();
  const queue = ENTRY_POINTS.map((p) => ({ url: new URL(p, SCOPE).href, required: true }));
  while (queue.length > 0) {
    const { url, required } = queue.shift();
    if (seen.has(url)) continue;
    seen.add(url);
    const response = await fetch(url, { cache: 'no-cache' }).catch((e) => e);
    if (!(response instanceof Response) || !storable(response)) {
      if (required) throw new Error(`cannot cache ${url}: ${response.status ?? response}`);
      continue;
    }
    await cache.put(url, response.clone());
    if (!new URL(url).pathname.endsWith('.wasm')) {
      queue.push(...references(await response.text(), url).map((u) => ({ url: u, required: false })));
    }
  }
}

/** Same-origin shell files named in `text` (HTML or JS), resolved against `base`. */
function references(text, base) {
  const found = [];
  for (const [, path] of text.matchAll(REFERENCE)) {
    let url;
    try { url = new URL(path, base); } catch { continue; }
    if (url.origin === SCOPE.origin && url.href.startsWith(SCOPE.href) && !isBundleFile(url)) {
      found.push(url.origin + url.pathname);
    }
  }
  return found;
}

async function dropOldVersions() {
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n)));
}
