#!/usr/bin/env python3
"""Times ONNX Runtime (Python, CPU, one thread) on the benchmark sentences: the native peer of glassbox.

Each model of the folder that bench/onnx_export.py writes is timed the way glassbox's own
`glassbox bench` times itself, so the two JSONs divide into meaningful ratios:
  load_ms   tokenizer load + InferenceSession creation (graph optimisation included)
  first_ms  the first sentence, tokenised and embedded (cold caches, lazy allocations)
  batch1_ms_per_sentence   each sentence alone; per round, the round's time / sentences; median of rounds
  batch16_ms_per_sentence  16 sentences a call, padded to the longest of the 16; same per-sentence median
Warm timings cover building the padded input tensors and session.run of `sentence_embedding`
(mean pool + L2 normalisation are in the graph); tokenisation (HF `tokenizers`, truncation 128)
is done before the clock starts, as `glassbox bench` does. One intra-op and one inter-op
thread, sequential execution: glassbox is timed with RAYON_NUM_THREADS=1.

Prints one JSON object:
  {"engine": "onnxruntime X.Y.Z", "threads": 1, "rounds": N, "sentences": S,
   "models": {"fp32": {...}, "q8": {...}, ["fp32-ort-opt": {...}]}}

Usage: python3 bench/ort_bench.py [--model-dir bench/out/onnx-model] [--sentences bench/sentences.json]
           [--runs 10] [--models fp32,q8,fp32-ort-opt]
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# label -> file under the model folder; labels are the keys of the output's "models".
MODEL_FILES = {
    "fp32": "onnx/model.onnx",
    "q8": "onnx/model_quantized.onnx",
    "fp32-ort-opt": "onnx/model_ort_optimized.onnx",
}
MAX_LEN = 128
BATCH = 16


class BenchError(Exception):
    """A missing or malformed input, reported as 'file: reason' rather than a traceback."""


def read_sentences(path):
    """The JSON list of strings every engine of the benchmark reads."""
    try:
        with open(path) as f:
            sentences = json.load(f)
    except OSError as e:
        raise BenchError(f"{path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise BenchError(f"{path}: not JSON ({e})") from None
    if not isinstance(sentences, list) or not sentences or not all(isinstance(s, str) for s in sentences):
        raise BenchError(f"{path}: expected a non-empty JSON list of strings")
    return sentences


def load_tokenizer(model_dir):
    """The exported folder's tokenizer.json with dynamic padding and truncation at MAX_LEN."""
    from tokenizers import Tokenizer
    path = os.path.join(model_dir, "tokenizer.json")
    if not os.path.isfile(path):
        raise BenchError(f"{path}: missing (run bench/onnx_export.py first)")
    tokenizer = Tokenizer.from_file(path)
    tokenizer.enable_truncation(MAX_LEN)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest of each batch
    return tokenizer


def create_session(path):
    """Single-threaded, sequential CPU session with ORT's default (full) graph optimisation."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only: keep stdout/stderr for the JSON and real problems
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def feeds_of(encodings):
    """Padded int64 input tensors of one batch of encodings (padding was done by the tokenizer)."""
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }


def embed(session, encodings):
    """Wordpieces in, L2-normalised sentence embeddings out: what `glassbox bench` times too."""
    return session.run(["sentence_embedding"], feeds_of(encodings))[0]


def ms_per_sentence(session, tokenizer, sentences, batch, runs):
    """Median over rounds of (round time / sentences); one untimed warm-up round first.

    Tokenisation happens once, outside the clock, as in `glassbox bench` (it costs tens of
    microseconds a tweet with HF tokenizers, well under 1% of a forward pass).
    """
    chunks = [tokenizer.encode_batch(sentences[i:i + batch]) for i in range(0, len(sentences), batch)]
    for chunk in chunks:
        embed(session, chunk)
    rounds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for chunk in chunks:
            embed(session, chunk)
        rounds.append((time.perf_counter() - t0) * 1000.0 / len(sentences))
    return statistics.median(rounds)


def bench_model(model_dir, rel_path, sentences, runs):
    """Cold and warm numbers of one model file."""
    path = os.path.join(model_dir, rel_path)
    if not os.path.isfile(path):
        raise BenchError(f"{path}: missing (run bench/onnx_export.py first)")
    t0 = time.perf_counter()
    tokenizer = load_tokenizer(model_dir)
    session = create_session(path)
    t1 = time.perf_counter()
    embed(session, tokenizer.encode_batch(sentences[:1]))
    t2 = time.perf_counter()
    b1 = ms_per_sentence(session, tokenizer, sentences, 1, runs)
    b16 = ms_per_sentence(session, tokenizer, sentences, BATCH, runs)
    return {
        "file": rel_path,
        "bytes": os.path.getsize(path),
        "load_ms": round((t1 - t0) * 1000.0, 3),
        "first_ms": round((t2 - t1) * 1000.0, 3),
        "batch1_ms_per_sentence": round(b1, 4),
        "batch16_ms_per_sentence": round(b16, 4),
        "sentences_per_s_b1": round(1000.0 / b1, 2),
        "sentences_per_s_b16": round(1000.0 / b16, 2),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model-dir", default=os.path.join(REPO, "bench", "out", "onnx-model"),
                   help="folder written by bench/onnx_export.py")
    p.add_argument("--sentences", default=os.path.join(REPO, "bench", "sentences.json"))
    p.add_argument("--runs", type=int, default=10, help="timed rounds over all sentences per batch size")
    p.add_argument("--models", default="fp32,q8,fp32-ort-opt",
                   help=f"comma-separated labels among {', '.join(MODEL_FILES)}; absent optional files are skipped")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    labels = [m for m in args.models.split(",") if m]
    unknown = [m for m in labels if m not in MODEL_FILES]
    if unknown:
        p.error(f"unknown model label(s) {', '.join(unknown)}; known: {', '.join(MODEL_FILES)}")

    import onnxruntime as ort
    try:
        sentences = read_sentences(args.sentences)
        models = {}
        for label in labels:
            optional = label == "fp32-ort-opt"
            if optional and not os.path.isfile(os.path.join(args.model_dir, MODEL_FILES[label])):
                continue
            models[label] = bench_model(args.model_dir, MODEL_FILES[label], sentences, args.runs)
    except BenchError as e:
        print(f"ort_bench: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"engine": f"onnxruntime {ort.__version__}", "threads": 1, "rounds": args.runs,
                      "sentences": len(sentences), "max_len": MAX_LEN, "models": models}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
