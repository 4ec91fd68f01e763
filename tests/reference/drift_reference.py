"""Reference values for glassbox's drift statistics (trainer/src/drift/stats.rs).

Reads a JSON object from stdin:
  {"ks": [[a, b], ...], "mmd": [[x, y], ...]}   (a, b: lists of floats; x, y: lists of rows)
and prints, for each case, what scipy and numpy compute:
  ks:  statistic and two-sided p-value of scipy.stats.ks_2samp(method="asymp"), and the
       Kolmogorov-distribution p-value scipy.stats.kstwobign.sf(sqrt(nm/(n+m)) * D) that
       glassbox reports;
  mmd: the median-heuristic bandwidth and the unbiased MMD^2 with a Gaussian kernel.
"""
import json
import sys

import numpy as np
from scipy import stats


def ks_case(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    r = stats.ks_2samp(a, b, method="asymp")
    en = np.sqrt(len(a) * len(b) / (len(a) + len(b)))
    return {
        "statistic": float(r.statistic),
        "scipy_asymp_p": float(r.pvalue),
        "kolmogorov_p": float(stats.kstwobign.sf(en * r.statistic)),
    }


def mmd_case(x, y):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    z = np.vstack([x, y])
    sq = np.sum(z * z, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)
    iu = np.triu_indices(len(z), k=1)
    sigma = float(np.median(np.sqrt(d2[iu])))
    k = np.exp(-d2 / (2.0 * sigma * sigma))
    m, n = len(x), len(y)
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    mmd2 = (
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2.0 * kxy.mean()
    )
    return {"bandwidth": sigma, "mmd2": float(mmd2)}


def main():
    cases = json.load(sys.stdin)
    out = {
        "ks": [ks_case(a, b) for a, b in cases.get("ks", [])],
        "mmd": [mmd_case(x, y) for x, y in cases.get("mmd", [])],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
