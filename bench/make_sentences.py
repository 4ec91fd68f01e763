#!/usr/bin/env python3
"""Regenerates bench/sentences.json, the fixed benchmark input (run once; the JSON is committed).

Every engine in the peer benchmark reads the same file, so timings compare like with like.
The sentences are a seeded sample of the sentiment corpus that `glassbox fetch` unpacks
(assets/sentiment/tweets.csv): real tweets, the text glassbox is built for. Only plain-ASCII
rows are kept (the corpus has mojibake that would only measure the tokenizer's oddities), and
only rows of 8-60 wordpieces including [CLS] and [SEP], so no engine ever truncates.

Usage: python3 bench/make_sentences.py [--csv assets/sentiment/tweets.csv]
           [--tokenizer assets/all-MiniLM-L6-v2/tokenizer.json] [--out bench/sentences.json]
"""

import argparse
import csv
import json
import random
import sys

from tokenizers import Tokenizer

SEED = 20261202
COUNT = 32
MIN_PIECES, MAX_PIECES = 8, 60


def fail(path, reason):
    """Exit with the file and the reason rather than a traceback: the usual cause is assets not fetched."""
    sys.exit(f"make_sentences: {path}: {reason} (run `glassbox fetch --assets assets` or scripts/setup.sh)")


def read_texts(path):
    """All distinct, stripped, plain-ASCII tweet texts of the corpus, in file order."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        fail(path, e.strerror)
    seen, texts = set(), []
    for row in rows:
        text = " ".join((row.get("text") or "").split())
        if text and text.isascii() and text not in seen:
            seen.add(text)
            texts.append(text)
    if not texts:
        fail(path, "no usable 'text' column")
    return texts


def pick(texts, tokenizer):
    """COUNT texts drawn with a fixed seed among those of MIN_PIECES..MAX_PIECES wordpieces."""
    rng = random.Random(SEED)
    order = list(range(len(texts)))
    rng.shuffle(order)
    chosen = []
    for i in order:
        n = len(tokenizer.encode(texts[i]).ids)
        if MIN_PIECES <= n <= MAX_PIECES:
            chosen.append(texts[i])
            if len(chosen) == COUNT:
                return chosen
    sys.exit(f"make_sentences: only {len(chosen)} texts of {MIN_PIECES}-{MAX_PIECES} wordpieces")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", default="assets/sentiment/tweets.csv")
    p.add_argument("--tokenizer", default="assets/all-MiniLM-L6-v2/tokenizer.json")
    p.add_argument("--out", default="bench/sentences.json")
    args = p.parse_args(argv)
    try:
        tok = Tokenizer.from_file(args.tokenizer)
    except Exception as e:  # tokenizers raises a bare Exception for a missing or bad file
        fail(args.tokenizer, e)
    tok.no_padding()
    tok.no_truncation()
    chosen = pick(read_texts(args.csv), tok)
    with open(args.out, "w") as f:
        json.dump(chosen, f, indent=1, ensure_ascii=True)
        f.write("\n")
    lengths = sorted(len(tok.encode(t).ids) for t in chosen)
    print(f"wrote {args.out}: {len(chosen)} sentences, {lengths[0]}-{lengths[-1]} wordpieces "
          f"(median {lengths[len(lengths) // 2]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
