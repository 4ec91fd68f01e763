// Types of glassbox.js, the JavaScript API of glassbox (see docs/js-api.md).
// The answer objects are those of `glassbox predict|embed|attention --format json`.

/** Which backend to run on. 'auto': WebGPU on a hardware GPU, else the CPU (wasm SIMD);
 * 'webgpu': any WebGPU adapter, software ones (SwiftShader, llvmpipe) included; 'cpu'. */
export type Backend = 'auto' | 'cpu' | 'webgpu';

/** How a word's tag is read from its wordpieces (the CLI's --aggregate). */
export type Aggregation = 'first' | 'mean' | 'max';

export type ErrorKind =
  | 'no-bundle' | 'network' | 'corrupt' | 'model' | 'not-loaded'
  | 'bad-request' | 'item' | 'disposed' | 'gone' | 'protocol';

/** Every rejection of this API. */
export declare class GlassboxError extends Error {
  readonly name: 'GlassboxError';
  readonly kind: ErrorKind;
  /** The bundle file whose SHA-256 differs from the manifest (kind 'corrupt'). */
  readonly file?: string;
}

export interface LoadOptions {
  backend?: Backend;
  /** Bytes of the bundle read so far (total is 0 while unknown). */
  onProgress?: (p: { loaded: number; total: number }) => void;
  /** Where glassbox-api-worker_loader.js is, when not beside glassbox.js. */
  workerUrl?: string | URL;
}

export interface ModelInfo {
  name: string;
  version: string;
  /** The bundle folder's absolute URL. */
  url: string;
  /** The backend actually used, e.g. "WebGPU — burn-wgpu on …" or "CPU — burn-flex in wasm …". */
  backend: string;
  /** Why WebGPU is not used, when it is not. */
  fallbackReason: string | null;
  labels: { sentence: string[]; token: string[] };
  layers: number;
  heads: number;
  hidden: number;
  maxSeqLen: number;
  quantization: string;
  headsTrained: boolean;
  /** "network" or which part came from the browser's cache. */
  source: string;
  bytes: number;
  loadMs: number;
  /** manifest.json as served (its hashes verified). */
  manifest: Record<string, unknown>;
}

/** Set when the text did not fit the model and was cut. */
export interface Truncation {
  total_wordpieces: number;
  kept_wordpieces: number;
  kept_chars: number;
  total_chars: number;
}

/** Character offsets are Unicode scalar values (use Array.from(text), not text.slice). */
export interface Entity { text: string; label: string; start: number; end: number; score: number }
export interface PieceTag { piece: string; start: number; end: number; tag: string; score: number }

export interface Prediction {
  text: string;
  sentence: { label: string; probs: Record<string, number> };
  entities: Entity[];
  tokens: PieceTag[];
  /** Present only when the text was cut. */
  truncation?: { message: string; detail: Truncation };
  truncated: boolean;
}

/** A text that could not be run (e.g. empty), at its place in the answer: the CLI's error item. */
export interface ItemError { line: number; error: string }

interface AttentionBase {
  text: string;
  /** Wordpieces, [CLS] and [SEP] included: the rows and columns of every map. */
  tokens: string[];
  truncation: Truncation | null;
  truncated: boolean;
}
/** One layer and head: `attention[i][j]` is how much token i attends to token j. */
export interface AttentionMap extends AttentionBase { layer: number; head: number; attention: number[][] }
/** Several maps: `attention[l][h][i][j]` over the selected layers and heads, in order. */
export interface AttentionMaps extends AttentionBase { layer: number | null; head: number | null; attention: number[][][][] }

/** A loaded model (made by load(), never constructed directly). */
export declare class Model {
  private constructor();
  readonly info: Readonly<ModelInfo>;
  predict(text: string, options?: { aggregate?: Aggregation }): Promise<Prediction>;
  predict(texts: string[], options?: { aggregate?: Aggregation }): Promise<Array<Prediction | ItemError>>;
  /** L2-normalised sentence embeddings. */
  embed(text: string): Promise<Float32Array>;
  embed(texts: string[]): Promise<Array<Float32Array | ItemError>>;
  attention(text: string, options: { layer: number; head: number }): Promise<AttentionMap>;
  attention(text: string, options?: { layer?: number | null; head?: number | null }): Promise<AttentionMaps>;
  /** Frees the model and its worker; later calls reject with kind 'disposed'. */
  dispose(): Promise<void>;
}

/** Loads the bundle at `url` (relative to the page) in a worker of its own. */
export declare function load(url: string, options?: LoadOptions): Promise<Model>;
