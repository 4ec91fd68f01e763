"""Reference values for the champion-challenger gate's statistics (trainer/src/gate/).

Reads a JSON object on stdin and writes one on stdout:
  binomtest: [[b, c], ...]        -> two-sided exact p-values of McNemar's test, from
                                     scipy.stats.binomtest(c, b + c, 0.5)
  sentences: {labels, gold, champion, challenger, resamples, level, seed}
                                  -> numpy percentile bootstrap of the macro-F1 difference
  spans: {gold, champion, challenger, resamples, level, seed}
                                  -> the same for span micro-F1, resampling whole sentences
Bootstraps return {point, low, high, std}; the resamples come from numpy's own generator, so
they agree with the Rust ones only within Monte-Carlo error.
"""

import json
import sys

import numpy as np
from scipy.stats import binomtest


def macro_f1(k, gold, pred):
    f1s = []
    for c in range(k):
        tp = np.sum((gold == c) & (pred == c))
        predicted = np.sum(pred == c)
        actual = np.sum(gold == c)
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    return float(np.mean(f1s))


def spans(tags):
    """Entity spans (type, start, end) of a well-formed BIO sequence."""
    out, start, kind = set(), None, None
    for i, t in enumerate(list(tags) + ["O"]):
        if t.startswith("I-") and kind == t[2:]:
            continue
        if kind is not None:
            out.add((kind, start, i))
            kind = None
        if t != "O":
            start, kind = i, t[2:]
    return out


def span_counts(gold, pred):
    """Per sentence: true positives, predicted spans, gold spans."""
    rows = []
    for g, p in zip(gold, pred):
        gs, ps = spans(g), spans(p)
        rows.append((len(gs & ps), len(ps), len(gs)))
    return np.array(rows, dtype=float)


def micro_f1(counts):
    tp, predicted, actual = counts.sum(axis=0)
    return 2 * tp / (predicted + actual) if predicted + actual else 0.0


def bootstrap(n, stat, resamples, level, seed):
    rng = np.random.default_rng(seed)
    point = stat(np.arange(n))
    stats = np.array([stat(rng.integers(0, n, n)) for _ in range(resamples)])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return {"point": point, "low": float(low), "high": float(high), "std": float(stats.std())}


def sentence_bootstrap(case):
    gold, a, b = (np.array(case[k]) for k in ("gold", "champion", "challenger"))
    k = len(case["labels"])

    def diff(idx):
        return macro_f1(k, gold[idx], b[idx]) - macro_f1(k, gold[idx], a[idx])

    return bootstrap(len(gold), diff, case["resamples"], case["level"], case["seed"])


def span_bootstrap(case):
    a = span_counts(case["gold"], case["champion"])
    b = span_counts(case["gold"], case["challenger"])

    def diff(idx):
        return micro_f1(b[idx]) - micro_f1(a[idx])

    return bootstrap(len(a), diff, case["resamples"], case["level"], case["seed"])


def main():
    cases = json.load(sys.stdin)
    out = {
        "binomtest": [
            binomtest(c, b + c, 0.5, alternative="two-sided").pvalue for b, c in cases["binomtest"]
        ],
        "sentences": sentence_bootstrap(cases["sentences"]),
        "spans": span_bootstrap(cases["spans"]),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
