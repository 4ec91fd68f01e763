#!/usr/bin/env python3
"""Independent numpy reference for the all-MiniLM-L6-v2 sentence embedding.

This is the parity oracle for the Rust/burn implementation, so it deliberately
avoids torch / transformers / sentence-transformers: the only shared pieces are
the published weights (model.safetensors) and the tokenizer definition
(tokenizer.json, run through the HF `tokenizers` library). Everything else -
embeddings, encoder, pooling - is written out here from the BERT definition so
that a bug in one implementation is unlikely to be mirrored in the other.

All arithmetic is float64; results are only narrowed to float32 when written,
so the oracle's own rounding error is far below anything the float32 Rust
model could produce.

Usage:
    python3 tests/reference/bert_reference.py --model DIR \
        --input SENTENCES.json --out OUT_PREFIX [--max-len N]
    python3 tests/reference/bert_reference.py --model DIR --self-check

Outputs:
    OUT_PREFIX.json  list, one entry per sentence:
        {"text", "ids", "tokens", "truncated", "embedding" (384 floats),
         "attention_offset" (in float32 elements into OUT_PREFIX.f32),
         "attention_shape" [layers, heads, L, L]}
    OUT_PREFIX.f32   raw little-endian float32 attention probabilities of all
                     sentences concatenated, each laid out layer, head, row, col.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

# Published sentence-transformers similarity for the self-check pair
# (all-MiniLM-L6-v2 model card / common usage example).
SELF_CHECK_PAIR = ("A man is eating food.", "A man is eating a piece of bread.")
SELF_CHECK_EXPECTED = 0.7553
SELF_CHECK_TOL = 0.0005

# Exact erf applied elementwise. math.erf is correctly rounded-ish libm erf in
# float64; using it (rather than the tanh approximation) matches BERT's
# "gelu" activation, which is the exact erf form.
_erf = np.vectorize(math.erf, otypes=[np.float64])


# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------

class Weights:
    """Float64 view of the checkpoint, tolerant of naming variants.

    Checkpoints exported from BertModel have bare keys ("embeddings...."),
    while ones exported from a task head wrapper (BertForX) prefix them with
    "bert."; very old TF-converted ones use LayerNorm.gamma/beta instead of
    weight/bias. Normalising here keeps the forward pass readable.
    """

    def __init__(self, path):
        raw = load_file(path)
        self._w = {}
        for key, value in raw.items():
            if key.startswith("bert."):
                key = key[len("bert."):]
            key = key.replace("LayerNorm.gamma", "LayerNorm.weight")
            key = key.replace("LayerNorm.beta", "LayerNorm.bias")
            self._w[key] = value.astype(np.float64)

    def __getitem__(self, key):
        try:
            return self._w[key]
        except KeyError:
            raise KeyError(f"weight {key!r} not found in checkpoint") from None


# --------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------

def linear(x, w, prefix):
    # PyTorch nn.Linear stores weight as [out, in], hence the transpose.
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def layer_norm(x, w, prefix, eps):
    # PyTorch LayerNorm uses the biased (population) variance, eps inside sqrt.
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def softmax(x):
    # Subtract the row max for numerical safety; it does not change the result.
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def self_attention(h, w, prefix, num_heads):
    """Multi-head self-attention for one unpadded sequence.

    Returns the attention block output (before the residual/LayerNorm) and the
    attention probabilities [heads, L, L]. No mask is needed because every
    sentence is run alone with no padding.
    """
    seq_len, hidden = h.shape
    head_dim = hidden // num_heads

    def split_heads(t):
        # [L, hidden] -> [heads, L, head_dim]; heads are contiguous slices of
        # the hidden dimension, as in HF BertSelfAttention.
        return t.reshape(seq_len, num_heads, head_dim).transpose(1, 0, 2)

    q = split_heads(linear(h, w, prefix + ".self.query"))
    k = split_heads(linear(h, w, prefix + ".self.key"))
    v = split_heads(linear(h, w, prefix + ".self.value"))

    scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim)
    probs = softmax(scores)
    context = (probs @ v).transpose(1, 0, 2).reshape(seq_len, hidden)
    return context, probs


def encoder_layer(h, w, i, cfg):
    """One post-LayerNorm BERT encoder layer."""
    prefix = f"encoder.layer.{i}"
    eps = cfg["layer_norm_eps"]

    context, probs = self_attention(h, w, prefix + ".attention", cfg["num_attention_heads"])
    attn_out = linear(context, w, prefix + ".attention.output.dense")
    h = layer_norm(attn_out + h, w, prefix + ".attention.output.LayerNorm", eps)

    inter = gelu(linear(h, w, prefix + ".intermediate.dense"))
    ffn_out = linear(inter, w, prefix + ".output.dense")
    h = layer_norm(ffn_out + h, w, prefix + ".output.LayerNorm", eps)
    return h, probs


def bert_forward(ids, type_ids, w, cfg):
    """Returns final hidden states [L, hidden] and attention [layers, heads, L, L]."""
    ids = np.asarray(ids, dtype=np.int64)
    type_ids = np.asarray(type_ids, dtype=np.int64)
    positions = np.arange(len(ids))

    h = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][positions]
         + w["embeddings.token_type_embeddings.weight"][type_ids])
    h = layer_norm(h, w, "embeddings.LayerNorm", cfg["layer_norm_eps"])

    attentions = []
    for i in range(cfg["num_hidden_layers"]):
        h, probs = encoder_layer(h, w, i, cfg)
        attentions.append(probs)
    return h, np.stack(attentions)


def sentence_embedding(hidden):
    # sentence-transformers mean pooling with an all-ones attention mask, i.e.
    # a plain mean over every token including [CLS] and [SEP], then the
    # Normalize module's L2 normalisation.
    pooled = hidden.mean(axis=0)
    return pooled / max(np.linalg.norm(pooled), 1e-12)


# --------------------------------------------------------------------------
# Model wrapper
# --------------------------------------------------------------------------

class Reference:
    def __init__(self, model_dir, max_len=512):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.cfg = json.load(f)
        self.cfg.setdefault("layer_norm_eps", 1e-12)
        if self.cfg.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported hidden_act {self.cfg['hidden_act']!r}")
        if self.cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")

        self.weights = Weights(os.path.join(model_dir, "model.safetensors"))

        # tokenizer.json ships with fixed padding to 128 and truncation at 128;
        # both must be overridden so each sentence is encoded at its natural
        # length (no pad tokens, hence no mask) up to the model's real limit.
        self.max_len = min(max_len, self.cfg["max_position_embeddings"])
        tok_path = os.path.join(model_dir, "tokenizer.json")
        self.tok = Tokenizer.from_file(tok_path)
        self.tok.no_padding()
        self.tok.enable_truncation(self.max_len)
        # A second, untruncated tokenizer gives an unambiguous truncation flag
        # that does not depend on how `overflowing` is populated.
        self.tok_full = Tokenizer.from_file(tok_path)
        self.tok_full.no_padding()
        self.tok_full.no_truncation()

    def encode(self, text):
        enc = self.tok.encode(text, add_special_tokens=True)
        full_len = len(self.tok_full.encode(text, add_special_tokens=True).ids)
        truncated = len(enc.overflowing) > 0 or full_len > len(enc.ids)
        return enc, truncated

    def run(self, text):
        enc, truncated = self.encode(text)
        hidden, attn = bert_forward(enc.ids, enc.type_ids, self.weights, self.cfg)
        return {
            "text": text,
            "ids": list(enc.ids),
            "tokens": list(enc.tokens),
            "truncated": bool(truncated),
            "embedding": sentence_embedding(hidden),
            "attention": attn,
        }


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def write_outputs(ref, sentences, out_prefix):
    records = []
    offset = 0
    # Stream attention to disk sentence by sentence: at 512 tokens one
    # sentence alone is ~19M floats, so holding them all would be wasteful.
    with open(out_prefix + ".f32", "wb") as fbin:
        for text in sentences:
            r = ref.run(text)
            attn = r["attention"].astype("<f4")
            fbin.write(attn.tobytes(order="C"))
            records.append({
                "text": r["text"],
                "ids": r["ids"],
                "tokens": r["tokens"],
                "truncated": r["truncated"],
                "embedding": [float(x) for x in r["embedding"].astype(np.float32)],
                "attention_offset": offset,
                "attention_shape": list(attn.shape),
            })
            offset += attn.size
    with open(out_prefix + ".json", "w") as f:
        json.dump(records, f)


def self_check(ref):
    a, b = (ref.run(s)["embedding"] for s in SELF_CHECK_PAIR)
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    ok = abs(cos - SELF_CHECK_EXPECTED) <= SELF_CHECK_TOL
    print(f"cos({SELF_CHECK_PAIR[0]!r}, {SELF_CHECK_PAIR[1]!r}) = {cos:.6f} "
          f"(expected {SELF_CHECK_EXPECTED} +/- {SELF_CHECK_TOL}): {'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model directory (config.json, model.safetensors, tokenizer.json)")
    p.add_argument("--input", help="JSON array of sentences")
    p.add_argument("--out", help="output prefix; writes PREFIX.json and PREFIX.f32")
    p.add_argument("--max-len", type=int, default=512,
                   help="truncation length in tokens incl. [CLS]/[SEP] (capped at max_position_embeddings)")
    p.add_argument("--self-check", action="store_true",
                   help="check the published cosine for a known sentence pair and exit")
    args = p.parse_args(argv)

    ref = Reference(args.model, args.max_len)
    if args.self_check:
        return self_check(ref)

    if not args.input or not args.out:
        p.error("--input and --out are required unless --self-check is given")
    with open(args.input) as f:
        sentences = json.load(f)
    if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
        p.error("--input must be a JSON array of strings")
    write_outputs(ref, sentences, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
