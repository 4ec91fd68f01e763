// glassbox from any web page, the way transformers.js' pipeline() is used:
//
//   import * as glassbox from './glassbox.js';
//   const m = await glassbox.load('models/default/', { backend: 'auto' });
//   const [p] = await m.predict(['Paris in the spring']);
//
// Each loaded model lives in its own Web Worker (glassbox-api-worker, built by Trunk next to
// this file), so a long CPU forward pass never blocks the page and several models can be
// loaded at once. The worker is the page's own engine: every bundle file is checked against
// the manifest's SHA-256 before use, WebGPU is used when the browser has an adapter (with the
// CPU in wasm as the fallback), and results are cached per model. The objects predict(),
// embed() and attention() answer are those of `glassbox predict|embed|attention --format json`.
// The wire protocol (JSON text both ways) is described in docs/js-api.md.

/** The loader Trunk writes for the worker (`data-loader-shim`), beside this module. */
const WORKER = 'glassbox-api-worker_loader.js';
const BACKENDS = ['auto', 'cpu', 'webgpu'];

/** Why a call failed: `kind` is one of no-bundle, network, corrupt, model, not-loaded,
 * bad-request, item, disposed, gone; `file` names the file whose hash did not match. */
export class GlassboxError extends Error {
  constructor(message, kind, file) {
    super(message);
    this.name = 'GlassboxError';
    this.kind = kind;
    if (file !== undefined) this.file = file;
  }
}

function baseUrl() {
  return globalThis.document?.baseURI ?? globalThis.location?.href;
}

/** `url` as an absolute folder URL: the worker appends file names to it. */
function folder(url) {
  if (typeof url !== 'string' || url === '') {
    throw new TypeError('glassbox.load: the bundle URL must be a non-empty string');
  }
  const u = new URL(url, baseUrl());
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

function checkTexts(fn, texts) {
  if (typeof texts === 'string') return [texts];
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
    throw new TypeError(`${fn}: texts must be a string or an array of strings`);
  }
  return texts;
}

/** One worker and the calls waiting for its replies, by id. */
class Channel {
  #worker;
  #pending = new Map();
  #next = 1;
  #dead = null;
  // A message posted before the worker's wasm listens would be lost: it says when it does.
  #markReady;
  #ready = new Promise((resolve) => { this.#markReady = resolve; });

  constructor(workerUrl) {
    this.#worker = new Worker(workerUrl);
    this.#worker.onmessage = (e) => this.#receive(e.data);
    this.#worker.onerror = (e) => {
      e.preventDefault?.();
      this.#fail(new GlassboxError(`the glassbox worker failed: ${e.message || 'it could not start'}`, 'gone'));
    };
    this.#worker.onmessageerror = () => this.#fail(new GlassboxError('the glassbox worker sent an unreadable message', 'gone'));
  }

  #receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this.#fail(new GlassboxError(`the glassbox worker sent something that is not JSON: ${String(text).slice(0, 80)}`, 'gone'));
      return;
    }
    if (msg.ready) {
      this.#markReady();
      return;
    }
    const call = this.#pending.get(msg.id);
    if (!call) return;
    if (msg.progress) {
      call.onProgress?.(msg.progress);
      return;
    }
    this.#pending.delete(msg.id);
    if (msg.ok) call.resolve(msg.result);
    else call.reject(new GlassboxError(msg.error, msg.kind, msg.file));
  }

  /** Rejects every waiting call and every later one with `err`, and stops the worker. */
  #fail(err) {
    this.#dead ??= err;
    for (const call of this.#pending.values()) call.reject(err);
    this.#pending.clear();
    this.#worker.terminate();
  }

  /** Sends `{id, op, args}`; resolves with the result, rejects with a GlassboxError. */
  call(op, args, onProgress) {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      this.#ready.then(() => {
        if (this.#pending.has(id)) this.#worker.postMessage(JSON.stringify({ id, op, args }));
      });
    });
  }

  close(why) {
    this.#fail(why);
  }
}

/** A loaded model; see glassbox.d.ts for the shapes of every answer. */
export class Model {
  #channel;

  /** @internal use glassbox.load() */
  constructor(channel, info) {
    this.#channel = channel;
    /** What was loaded and where it runs. */
    this.info = Object.freeze(info);
  }

  /** Sentence class, entities and wordpiece tags: one object (or per-item error) per text. */
  async predict(texts, { aggregate = 'first' } = {}) {
    const list = checkTexts('predict', texts);
    const out = await this.#channel.call('predict', { texts: list, aggregate });
    return typeof texts === 'string' ? single(out[0]) : out;
  }

  /** The L2-normalised sentence embedding (Float32Array) per text, or a per-item error. */
  async embed(texts) {
    const list = checkTexts('embed', texts);
    const out = await this.#channel.call('embed', { texts: list });
    const vectors = out.map((o) => (o.error === undefined ? Float32Array.from(o.embedding) : o));
    return typeof texts === 'string' ? single(vectors[0]) : vectors;
  }

  /** One text's attention: one layer and head (n×n), or every layer/head left out. */
  async attention(text, { layer = null, head = null } = {}) {
    if (typeof text !== 'string') throw new TypeError('attention: text must be a string');
    return this.#channel.call('attention', { text, layer, head });
  }

  /** Frees the model and its worker; every later call rejects. */
  async dispose() {
    try {
      await this.#channel.call('dispose', {});
    } catch { /* a dead worker is disposed already */ }
    this.#channel.close(new GlassboxError('this model was disposed', 'disposed'));
  }
}

/** A single text's answer, or its per-item error as a rejection. */
function single(answer) {
  if (answer && answer.error !== undefined) throw new GlassboxError(answer.error, 'item');
  return answer;
}

/**
 * Loads the bundle at `url` (a folder with manifest.json, relative to the page) in a worker
 * of its own. `backend`: 'auto' (WebGPU on a hardware GPU, else the CPU), 'cpu', or 'webgpu'
 * (any adapter, software ones included). Rejects with a GlassboxError when the bundle is
 * missing, a file's hash differs from the manifest, or the model cannot be built.
 */
export async function load(url, { backend = 'auto', onProgress, workerUrl } = {}) {
  if (!BACKENDS.includes(backend)) {
    throw new GlassboxError(`unknown backend ${JSON.stringify(backend)} (expected 'auto', 'cpu' or 'webgpu')`, 'bad-request');
  }
  const channel = new Channel(workerUrl ?? new URL(WORKER, import.meta.url));
  try {
    const info = await channel.call('load', { url: folder(url), backend }, onProgress);
    return new Model(channel, info);
  } catch (e) {
    channel.close(e);
    throw e;
  }
}
