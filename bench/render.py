#!/usr/bin/env python3
"""Renders docs/benchmarks.md from one run of scripts/bench-peers.sh: raw numbers and ratios.

The machine is shared and noisy, so the page states no timing as a fact about glassbox: every
claim is a ratio of two engines measured in the same run. bench-peers.sh interleaves the
engines (ORT, glassbox, ORT, glassbox, ...), so each repeat yields a paired ratio; the table
shows the median paired ratio and its range over repeats. Ratios are glassbox / peer speed
(peer time / glassbox time): > 1 means glassbox is faster.

Results folder (written by bench-peers.sh):
    meta.json                       machine, date, load averages, versions, notes
    export_report.json              copy of bench/onnx_export.py's report (ops, int8, cosines)
    ort-<r>.json                    bench/ort_bench.py, repeat r
    glassbox-<label>-<r>.json       `glassbox bench`, repeat r (label: which bundle / flags)
    page.json                       `node bench/page-bench.mjs --out` (optional, any shape: see rows_of)

Usage: python3 bench/render.py --results bench/out/results/latest --out docs/benchmarks.md
"""

import argparse
import glob
import json
import os
import re
import statistics
import sys

METRICS = [  # (key, column title, lower is better)
    ("load_ms", "load ms", True),
    ("first_ms", "first ms", True),
    ("batch1_ms_per_sentence", "batch 1 ms/sentence", True),
    ("batch16_ms_per_sentence", "batch 16 ms/sentence", True),
    ("sentences_per_s_b1", "batch 1 sentences/s", False),
    ("sentences_per_s_b16", "batch 16 sentences/s", False),
]
COLD_START_TARGET_MS = 2000.0
# Keys that only group rows; they are left out of the row labels.
CONTAINER_KEYS = {"models", "results", "rows", "engines", "data", "runs", "benchmarks"}
# Older names the page's own `?bench=` report uses for the same quantities.
ALIASES = {"first_inference_ms": "first_ms", "warm_ms_per_sentence_median": "batch1_ms_per_sentence"}
# Keys that repeat rows found elsewhere (page-bench.mjs' own side-by-side summary) or hold none.
SKIPPED_KEYS = {"comparison", "agreement", "meta"}


class RenderError(Exception):
    """A missing or malformed result file, reported as 'file: reason'."""


# --------------------------------------------------------------------------
# Reading results
# --------------------------------------------------------------------------

def read_json(path):
    """One result file; a clear error names the file when a run left it broken."""
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise RenderError(f"{path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise RenderError(f"{path}: not JSON ({e})") from None


def is_row(obj):
    """A dict with at least one known timing metric (or an alias of one) is a benchmark row."""
    keys = [k for k, _, _ in METRICS] + list(ALIASES)
    return isinstance(obj, dict) and any(isinstance(obj.get(k), (int, float)) for k in keys)


def rows_of(obj, engine=None, prefix=""):
    """Flattens any result JSON into {label: metrics}.

    Accepts what ort_bench.py prints ({"engine", "models": {label: metrics}}), what
    `glassbox bench` prints (one metrics object with "engine"), and whatever shape
    page-bench.mjs settles on: nested dicts or lists whose leaves carry the metric keys.
    Labels are built from "engine"/"name"/"label" fields and the dict keys on the way down.
    """
    rows = {}
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            rows.update(rows_of(item, engine, f"{prefix}{i}" if not isinstance(item, dict) else prefix))
        return rows
    if not isinstance(obj, dict):
        return rows
    if isinstance(obj.get("engine"), str):
        engine = obj["engine"]
    elif isinstance(obj.get("version"), str):  # e.g. {"transformers_js": {"version": "3.8.1", ...}}
        engine = f"{pretty(prefix)} {obj['version']}".strip()
    elif isinstance(obj.get("meta"), dict) and isinstance(obj["meta"].get("chromium"), str):
        engine = f"Chromium {obj['meta']['chromium']}"
    name = obj.get("label") or obj.get("name")
    if is_row(obj):
        label = " ".join(x for x in (prefix.strip(), str(name) if name else "") if x) or str(engine or "?")
        rows[pretty(label)] = dict(obj, engine=engine)
        return rows
    for key, value in obj.items():
        if key in SKIPPED_KEYS or not isinstance(value, (dict, list)):
            continue
        label = prefix if key in CONTAINER_KEYS else f"{prefix} {key}".strip()
        rows.update(rows_of(value, engine, label))
    return rows


def pretty(label):
    """'transformers_js wasm_fp32' -> 'transformers.js wasm fp32'."""
    return label.replace("transformers_js", "transformers.js").replace("_", " ")


def with_rates(row):
    """Standard field names (ALIASES) and sentences/s from ms/sentence where a producer gave only those."""
    row = dict(row)
    for alias, key in ALIASES.items():
        if not isinstance(row.get(key), (int, float)) and isinstance(row.get(alias), (int, float)):
            row[key] = row[alias]
    for ms_key, rate_key in (("batch1_ms_per_sentence", "sentences_per_s_b1"),
                             ("batch16_ms_per_sentence", "sentences_per_s_b16")):
        ms = row.get(ms_key)
        if not isinstance(row.get(rate_key), (int, float)) and isinstance(ms, (int, float)) and ms > 0:
            row[rate_key] = 1000.0 / ms
    return row


def errors_of(obj, prefix=""):
    """'label: reason' for each configuration a producer reports as failed ({"error": ...})."""
    out = []
    if isinstance(obj, dict):
        if isinstance(obj.get("error"), str) and not is_row(obj):
            return [f"{pretty(prefix) or '?'}: {obj['error']}"]
        for key, value in obj.items():
            if key not in SKIPPED_KEYS:
                out += errors_of(value, prefix if key in CONTAINER_KEYS else f"{prefix} {key}".strip())
    elif isinstance(obj, list):
        for item in obj:
            out += errors_of(item, prefix)
    return out


def collect(results_dir):
    """{group: {label: [metrics of each repeat]}} for the groups ort, glassbox and page."""
    groups = {"ort": {}, "glassbox": {}, "page": {}, "errors": [], "notes": []}
    for path in sorted(glob.glob(os.path.join(results_dir, "ort-*.json"))):
        for label, row in rows_of(read_json(path)).items():
            groups["ort"].setdefault(label, []).append(row)
    for path in sorted(glob.glob(os.path.join(results_dir, "glassbox-*.json"))):
        label = re.sub(r"^glassbox-|-\d+\.json$", "", os.path.basename(path))
        groups["glassbox"].setdefault(label, []).append(read_json(path))
    page = os.path.join(results_dir, "page.json")
    if os.path.isfile(page):
        data = read_json(page)
        for label, row in rows_of(data).items():
            groups["page"].setdefault(label, []).append(with_rates(row))
        groups["errors"] += [f"browser: {e}" for e in errors_of(data)]
        notes = data.get("meta", {}).get("notes", []) if isinstance(data, dict) else []
        groups["notes"] += [f"browser: {n}" for n in notes if isinstance(n, str)]
    return groups


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------

def median_of(rows, key):
    """Median of a metric over repeats, None when no repeat has it."""
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    return statistics.median(values) if values else None


def spread(rows, key):
    """(min, max) over repeats, for the noise column."""
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    return (min(values), max(values)) if values else None


def paired_ratios(ours, peer, key):
    """peer/ours time per repeat (> 1: ours faster); pairs repeat i with repeat i."""
    out = []
    for a, b in zip(ours, peer):
        x, y = a.get(key), b.get(key)
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x > 0:
            out.append(y / x)
    return out


def cold_ms(row):
    """Cold start to first prediction: load + first call."""
    if isinstance(row.get("load_ms"), (int, float)) and isinstance(row.get("first_ms"), (int, float)):
        return row["load_ms"] + row["first_ms"]
    return None


def fmt(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}"


def fmt_ratio(values):
    """'1.23× (1.10–1.31)' from paired ratios; the range shows how noisy the run was."""
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.2f}×"
    return f"{med:.2f}× ({min(values):.2f}–{max(values):.2f})"


# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------

def header(meta):
    """Where and when: numbers from another machine or day are not comparable."""
    lines = [
        "# Peer benchmark",
        "",
        "Generated by `scripts/bench-peers.sh` (do not edit by hand). "
        "The machine is shared and noisy: absolute timings below are for this run only; "
        "the claims are the **ratios**, each computed from engines measured in the same run, "
        "interleaved repeat by repeat.",
        "",
        f"- date: {meta.get('date', '?')}",
        f"- machine: {meta.get('cpu', '?')}, {meta.get('cores', '?')} logical cores "
        f"(load average {meta.get('loadavg_start', '?')} at start, {meta.get('loadavg_end', '?')} at end)",
        f"- commit: {meta.get('commit', '?')}",
        f"- sentences: `{meta.get('sentences', 'bench/sentences.json')}` ({meta.get('sentence_count', '?')} tweets), "
        f"{meta.get('repeats', '?')} interleaved repeats of {meta.get('runs', '?')} timed rounds each; "
        "native engines single-threaded (ORT 1 intra-op + 1 inter-op thread, glassbox RAYON_NUM_THREADS=1)",
    ]
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    return lines


def pick(rows, *words):
    """The first label containing all words (case-insensitive), for matching peers by name."""
    for label in rows:
        if all(w in label.lower() for w in words):
            return label
    return None


def comparisons(groups):
    """(ours group, ours label, peer group, peer label) pairs that the ratio table shows."""
    pairs = []
    ort = groups["ort"]
    for label in groups["glassbox"]:
        for peer in ("fp32", "fp32-ort-opt", "q8"):
            if peer in ort:
                pairs.append(("glassbox", label, "ort", peer))
    page = groups["page"]
    ours = [l for l in page if "transformers" not in l.lower()]
    peers = [l for l in page if "transformers" in l.lower()]
    for o in ours:
        for p in peers:
            if same_device(o, p):
                pairs.append(("page", o, "page", p))
    return pairs


def same_device(a, b):
    """Browser rows are compared GPU with GPU and CPU (wasm) with CPU."""
    return ("webgpu" in a.lower()) == ("webgpu" in b.lower())


def ratio_table(groups):
    """glassbox / peer speed per batch size and for cold start."""
    lines = ["## Ratios: glassbox / peer (> 1 means glassbox is faster)", "",
             "| glassbox | peer | batch 1 | batch 16 | cold start (load + first) |",
             "| --- | --- | --- | --- | --- |"]
    pairs = comparisons(groups)
    if not pairs:
        lines.append("| (no glassbox rows in this run) | | | | |")
    for og, ol, pg, pl in pairs:
        ours, peer = groups[og][ol], groups[pg][pl]
        cold = [c for c in (_cold_ratio(a, b) for a, b in zip(ours, peer)) if c is not None]
        lines.append(f"| {_name(og, ol)} | {_name(pg, pl)} | "
                     f"{fmt_ratio(paired_ratios(ours, peer, 'batch1_ms_per_sentence'))} | "
                     f"{fmt_ratio(paired_ratios(ours, peer, 'batch16_ms_per_sentence'))} | "
                     f"{fmt_ratio(cold)} |")
    return lines


def _cold_ratio(ours, peer):
    a, b = cold_ms(ours), cold_ms(peer)
    return b / a if a and b is not None else None


def _name(group, label):
    """Row name in the tables."""
    return {"ort": f"ONNX Runtime (Python) {label}", "glassbox": f"glassbox native, {label}"}.get(group, label)


def targets(groups):
    """The issue's targets, each with the ratio or time that decides it (reported, not asserted)."""
    lines = ["## Targets", "", "| target | measured | status |", "| --- | --- | --- |"]
    ort, gb, page = groups["ort"], groups["glassbox"], groups["page"]
    if not gb:
        lines.append("| native ≥ 1.0× ONNX Runtime single-thread (batch 1 and 16) | "
                     "no glassbox native rows (see notes) | not measured |")
    for label, rows in gb.items():
        for peer in ("fp32", "q8"):
            if peer not in ort:
                continue
            for key, batch in (("batch1_ms_per_sentence", 1), ("batch16_ms_per_sentence", 16)):
                r = paired_ratios(rows, ort[peer], key)
                lines.append(f"| glassbox native ({label}) ≥ 1.0× the speed of ORT {peer} single-thread, "
                             f"batch {batch} | {fmt_ratio(r)} | {_status(r)} |")
    wasm = pick(page, "wasm") or pick(page, "cpu")
    tjs = [l for l in page if "transformers" in l.lower() and wasm and same_device(wasm, l)]
    if wasm and tjs:
        for peer in tjs:
            for key, batch in (("batch1_ms_per_sentence", 1), ("batch16_ms_per_sentence", 16)):
                r = paired_ratios(page[wasm], page[peer], key)
                lines.append(f"| {wasm}: time per sentence ≤ 1.0× {peer}'s (speed ratio ≥ 1.0×), batch {batch} | "
                             f"{fmt_ratio(r)} | {_status(r)} |")
    else:
        lines.append("| page wasm ≤ 1.0× transformers.js time per sentence | no browser rows (see notes) | not measured |")
    cold_rows = [(f"glassbox native, {l}", rows) for l, rows in gb.items()]
    cold_rows += [(l, rows) for l, rows in page.items() if "transformers" not in l.lower()]
    for name, rows in cold_rows:
        values = [c for c in map(cold_ms, rows) if c is not None]
        if values:
            med = statistics.median(values)
            status = "met" if med <= COLD_START_TARGET_MS else "not met"
            lines.append(f"| cold start to first prediction ≤ 2 s ({name}) | {med:.0f} ms | {status} |")
    return lines


def _status(ratios):
    """'met' when the median speed ratio is at least 1."""
    if not ratios:
        return "–"
    return "met" if statistics.median(ratios) >= 1.0 else "not met"


def raw_table(groups):
    """Median and range over repeats of every metric of every engine."""
    lines = ["## Raw numbers (median over repeats; min–max in the second table)", "",
             "| engine | model | " + " | ".join(t for _, t, _ in METRICS) + " |",
             "| --- | --- |" + " --- |" * len(METRICS)]
    spreads = ["", "| engine | model | " + " | ".join(t for _, t, _ in METRICS[:4]) + " |",
               "| --- | --- |" + " --- |" * 4]
    for group in ("glassbox", "ort", "page"):
        for label, rows in groups[group].items():
            engine = rows[0].get("engine") or group
            cells = [fmt(median_of(rows, k), 1 if k.endswith("_s_b1") or k.endswith("_s_b16") else 2)
                     for k, _, _ in METRICS]
            lines.append(f"| {engine} | {label} | " + " | ".join(cells) + " |")
            rng = []
            for k, _, _ in METRICS[:4]:
                s = spread(rows, k)
                rng.append("–" if s is None else f"{s[0]:.2f}–{s[1]:.2f}")
            spreads.append(f"| {engine} | {label} | " + " | ".join(rng) + " |")
    return lines + spreads


def onnx_notes(report):
    """What the ONNX peer is, so a reader can judge the comparison."""
    if not report:
        return ["## The ONNX peer", "", "(bench/out/onnx-model/export_report.json missing)"]
    files, check = report.get("files", {}), report.get("verification", {})
    q8 = files.get("q8", {})
    lines = [
        "## The ONNX peer",
        "",
        f"Built by `bench/onnx_export.py` from the same `model.safetensors` (onnx {report.get('onnx', '?')}, "
        f"opset {report.get('opset', '?')}), run by onnxruntime {report.get('onnxruntime', '?')}, "
        "CPU execution provider, default (full) graph optimisation.",
        "",
        "| model | file | MB | min cosine vs numpy reference | ops after ORT's load-time optimisation |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label in ("fp32", "fp32-ort-opt", "q8"):
        f = files.get(label)
        if not f:
            continue
        ops = f.get("ops_after_ort_optimization", {})
        shown = ", ".join(f"{k} {v}" for k, v in ops.items()
                          if k in ("Attention", "SkipLayerNormalization", "BiasGelu", "Gelu", "FusedMatMul",
                                   "MatMul", "MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
                                   "DynamicQuantizeLinear", "LayerNormalization"))
        cos = check.get(label, {}).get("min_cosine")
        lines.append(f"| {label} | `{f.get('path', '?')}` | {f.get('bytes', 0) / 1e6:.1f} | {fmt(cos, 6)} | {shown} |")
    lines += [
        "",
        "- fp32: the plain graph (what transformers.js loads as `onnx/model.onnx`).",
        "- fp32-ort-opt: the same graph through `onnxruntime.transformers`' BERT optimizer "
        "(fused Attention): what a Python ORT user gets from the usual optimisation step.",
        f"- q8: transformers.js' recipe ({q8.get('recipe', 'dynamic int8')}); "
        + ("it **computes in int8** (DynamicQuantizeLinear + MatMulInteger, fused by ORT into "
           "DynamicQuantizeMatMul / MatMulIntegerToFloat), not only stores int8."
           if q8.get("computes_in_int8") else "it only stores int8 and dequantizes to float."),
    ]
    return lines


def notes_section(meta, errors=(), notes=()):
    """What was skipped and how the numbers were taken."""
    lines = ["## How to read this", "",
             "- batch 1: each sentence alone; batch 16: 16 sentences a call, padded to the longest of them. "
             "ms/sentence is the median over rounds of (round time / sentences).",
             "- load: model (and tokenizer) load; first: the first prediction after it. "
             "Process start and interpreter/runtime start-up are not included for any engine.",
             "- A ratio's range is min–max of the paired ratios over repeats: a wide range means the machine "
             "was busy; rerun `scripts/bench-peers.sh` before reading much into it."]
    lines += [f"- {n}" for n in notes]
    for skipped in list(meta.get("skipped", [])) + list(errors):
        lines.append(f"- **not measured:** {skipped}")
    return lines


def render(results_dir):
    """The whole Markdown document."""
    meta_path = os.path.join(results_dir, "meta.json")
    meta = read_json(meta_path) if os.path.isfile(meta_path) else {}
    report_path = os.path.join(results_dir, "export_report.json")
    report = read_json(report_path) if os.path.isfile(report_path) else None
    groups = collect(results_dir)
    if not any(groups[g] for g in ("ort", "glassbox", "page")):
        raise RenderError(f"{results_dir}: no ort-*.json, glassbox-*.json or page.json results")
    sections = [header(meta), targets(groups), ratio_table(groups), raw_table(groups),
                onnx_notes(report), notes_section(meta, groups["errors"], groups["notes"])]
    return "\n".join("\n".join(s) + "\n" for s in sections)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, help="folder written by scripts/bench-peers.sh")
    p.add_argument("--out", required=True, help="Markdown file to write")
    args = p.parse_args(argv)
    try:
        text = render(args.results)
    except RenderError as e:
        print(f"render: {e}", file=sys.stderr)
        return 2
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
