#!/usr/bin/env python3
"""Builds the ONNX peer of glassbox: all-MiniLM-L6-v2 as an ONNX graph, fp32 and int8 (q8).

Why build it here instead of downloading Xenova/all-MiniLM-L6-v2: nothing in the benchmark may
come from a model hub at run time, and torch/transformers are too heavy to install just to
export. The graph is written node by node with onnx.helper from the very safetensors file that
glassbox loads, in the op pattern a PyTorch export of BertModel has (MatMul+Add linears,
Reshape/Transpose heads, Div by sqrt(d), additive mask, Softmax, erf GELU), so ONNX Runtime's
fusions apply as they would to the model users download: at load, SkipLayerNormalization,
BiasGelu and FusedMatMul; offline, onnxruntime.transformers' BERT optimizer also fuses the
attention (model_ort_optimized.onnx, the strongest CPU baseline). The q8 file is made the way
transformers.js makes its `model_quantized.onnx` (dynamic quantization, QInt8 weights, per
channel, reduced range, MatMulConstBOnly).

Output folder, laid out like a Hugging Face model repo so transformers.js can load it locally:
    OUT/config.json  OUT/tokenizer.json  OUT/tokenizer_config.json  OUT/export_report.json
    OUT/onnx/model.onnx  OUT/onnx/model_quantized.onnx  OUT/onnx/model_ort_optimized.onnx

Graph: inputs input_ids, attention_mask, token_type_ids (int64 [batch, seq]); outputs
last_hidden_state [batch, seq, 384] (what transformers.js' feature-extraction pipeline reads)
and sentence_embedding [batch, 384] (masked mean pool + L2 normalisation, sentence-transformers).

The script checks the three files against the independent numpy reference
(tests/reference/bert_reference.py) on one padded batch and exits non-zero when an fp32 file
falls below --min-cosine (q8's cosine is reported, not checked: int8 is expected to drift).

Usage: python3 bench/onnx_export.py [--model assets/all-MiniLM-L6-v2] [--out bench/out/onnx-model]
"""

import argparse
import hashlib
import importlib.util
import json
import math
import os
import sys
from collections import Counter

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPSET = 17          # first opset with LayerNormalization
IR_VERSION = 8      # oldest IR that carries opset 17: loadable by any ORT >= 1.13, web included
MASK_VALUE = -10000.0  # BERT's additive mask constant; ORT's attention fusion recognises it
VERIFY_SENTENCES = ["A man is eating food.", "A man is eating a piece of bread."]


class ExportError(Exception):
    """A problem with an input file, reported as 'file: reason' instead of a traceback."""


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def require(path):
    """Fails early with the missing file's name: the usual cause is assets not fetched yet."""
    if not os.path.isfile(path):
        raise ExportError(f"{path}: missing (run scripts/setup.sh, or `glassbox fetch --assets assets`)")
    return path


def sha256(path):
    """Content hash, recorded in the report so the cache can tell a changed checkpoint."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_config(model_dir):
    """BERT hyper-parameters; refuses variants this graph does not implement."""
    path = require(os.path.join(model_dir, "config.json"))
    with open(path) as f:
        cfg = json.load(f)
    cfg.setdefault("layer_norm_eps", 1e-12)
    if cfg.get("hidden_act", "gelu") != "gelu":
        raise ExportError(f"{path}: hidden_act {cfg['hidden_act']!r} is not the exact-erf 'gelu' this graph builds")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ExportError(f"{path}: only absolute position embeddings are supported")
    return cfg


def load_weights(model_dir):
    """Float32 tensors keyed without the 'bert.' prefix some checkpoints carry."""
    from safetensors.numpy import load_file
    path = require(os.path.join(model_dir, "model.safetensors"))
    weights = {}
    for key, value in load_file(path).items():
        key = key[len("bert."):] if key.startswith("bert.") else key
        key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        weights[key] = value
    return weights


# --------------------------------------------------------------------------
# Graph building
# --------------------------------------------------------------------------

class GraphBuilder:
    """Accumulates nodes and initializers; each op call returns its output's name."""

    def __init__(self, weights):
        self.weights = weights
        self.nodes = []
        self.inits = {}
        self.count = Counter()

    def init(self, name, array):
        """Adds (once) a constant tensor and returns its name."""
        if name not in self.inits:
            from onnx import numpy_helper
            self.inits[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def const(self, value, dtype=np.float32):
        """A named scalar or small vector constant, shared between nodes."""
        array = np.asarray(value, dtype=dtype)
        shape = "x".join(str(d) for d in array.shape) or "scalar"
        values = "_".join(str(v) for v in array.ravel()).replace("-", "m").replace(".", "p")
        name = f"const_{dtype.__name__}_{shape}_{values}"
        return self.init(name, array)

    def weight(self, key, transpose=False):
        """A checkpoint tensor; nn.Linear's [out, in] weights are stored transposed for MatMul."""
        try:
            array = self.weights[key]
        except KeyError:
            raise ExportError(f"model.safetensors: weight {key!r} not found") from None
        return self.init(key + (".T" if transpose else ""), array.T.astype(np.float32) if transpose else array)

    def op(self, op_type, inputs, name_hint=None, **attrs):
        """Appends one node with a unique output name, like torch's /path/Op_N naming."""
        from onnx import helper
        hint = name_hint or op_type
        self.count[hint] += 1
        out = f"/{hint}_{self.count[hint]}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def linear(self, x, prefix):
        """nn.Linear as MatMul + Add, the form ORT's MatMulAdd/Attention/BiasGelu fusions expect."""
        y = self.op("MatMul", [x, self.weight(prefix + ".weight", transpose=True)], prefix + "/MatMul")
        return self.op("Add", [self.weight(prefix + ".bias"), y], prefix + "/Add")

    def layer_norm(self, x, prefix, eps):
        """Opset-17 LayerNormalization over the hidden axis (biased variance, eps inside sqrt)."""
        return self.op("LayerNormalization",
                       [x, self.weight(prefix + ".weight"), self.weight(prefix + ".bias")],
                       prefix + "/LayerNormalization", axis=-1, epsilon=float(eps))


def embeddings(g, cfg):
    """word + absolute position + token type embeddings, then LayerNorm."""
    words = g.op("Gather", [g.weight("embeddings.word_embeddings.weight"), "input_ids"], "embeddings/word")
    # position ids 0..seq-1 as cumsum(ones_like(input_ids)) - 1: unlike Range or Slice, this keeps
    # the symbolic [batch, sequence_length] shape, which ORT's SkipLayerNorm/Attention fusions need
    # (and ORT 1.2x's GatherToSlice fusion turns Gather(Range) into a Slice that fails at run time).
    ones = g.op("Add", [g.op("Mul", ["input_ids", g.const(0, np.int64)], "embeddings/Mul"), g.const(1, np.int64)],
                "embeddings/Add")
    positions = g.op("Sub", [g.op("CumSum", [ones, g.const(1, np.int64)], "embeddings/CumSum"), g.const(1, np.int64)],
                     "embeddings/Sub")
    pos = g.op("Gather", [g.weight("embeddings.position_embeddings.weight"), positions], "embeddings/position")
    types = g.op("Gather", [g.weight("embeddings.token_type_embeddings.weight"), "token_type_ids"], "embeddings/type")
    summed = g.op("Add", [g.op("Add", [words, types], "embeddings/Add"), pos], "embeddings/Add")
    return g.layer_norm(summed, "embeddings.LayerNorm", cfg["layer_norm_eps"])


def additive_mask(g):
    """[batch, 1, 1, seq] float: 0 where attended, MASK_VALUE at padding ((1 - mask) * -large)."""
    m = g.op("Unsqueeze", ["attention_mask", g.const([1], np.int64)], "mask/Unsqueeze")
    m = g.op("Unsqueeze", [m, g.const([2], np.int64)], "mask/Unsqueeze")
    m = g.op("Cast", [m], "mask/Cast", to=1)  # 1 = FLOAT
    m = g.op("Sub", [g.const(1.0), m], "mask/Sub")
    return g.op("Mul", [m, g.const(MASK_VALUE)], "mask/Mul")


def attention(g, h, mask, prefix, cfg):
    """Multi-head self-attention; heads are contiguous slices of the hidden axis (HF layout)."""
    heads = cfg["num_attention_heads"]
    head_dim = cfg["hidden_size"] // heads
    split = g.const([0, 0, heads, head_dim], np.int64)

    def heads_of(name, perm):
        t = g.op("Reshape", [g.linear(h, f"{prefix}.self.{name}"), split], f"{prefix}/{name}/Reshape")
        return g.op("Transpose", [t], f"{prefix}/{name}/Transpose", perm=perm)

    q = heads_of("query", [0, 2, 1, 3])
    k = heads_of("key", [0, 2, 3, 1])
    v = heads_of("value", [0, 2, 1, 3])
    scores = g.op("MatMul", [q, k], f"{prefix}/scores/MatMul")
    scores = g.op("Div", [scores, g.const(math.sqrt(head_dim))], f"{prefix}/scores/Div")
    scores = g.op("Add", [scores, mask], f"{prefix}/scores/Add")
    probs = g.op("Softmax", [scores], f"{prefix}/Softmax", axis=-1)
    ctx = g.op("MatMul", [probs, v], f"{prefix}/context/MatMul")
    ctx = g.op("Transpose", [ctx], f"{prefix}/context/Transpose", perm=[0, 2, 1, 3])
    ctx = g.op("Reshape", [ctx, g.const([0, 0, cfg["hidden_size"]], np.int64)], f"{prefix}/context/Reshape")
    out = g.linear(ctx, f"{prefix}.output.dense")
    residual = g.op("Add", [out, h], f"{prefix}/output/Add")
    return g.layer_norm(residual, f"{prefix}.output.LayerNorm", cfg["layer_norm_eps"])


def gelu(g, x, prefix):
    """Exact erf GELU written as torch exports it: x * 0.5 * (1 + erf(x / sqrt 2))."""
    e = g.op("Erf", [g.op("Div", [x, g.const(math.sqrt(2.0))], f"{prefix}/Div")], f"{prefix}/Erf")
    e = g.op("Add", [e, g.const(1.0)], f"{prefix}/Add")
    return g.op("Mul", [g.op("Mul", [x, e], f"{prefix}/Mul"), g.const(0.5)], f"{prefix}/Mul")


def encoder_layer(g, h, mask, i, cfg):
    """One post-LayerNorm BERT layer: attention block, then the GELU feed-forward block."""
    prefix = f"encoder.layer.{i}"
    h = attention(g, h, mask, prefix + ".attention", cfg)
    inner = gelu(g, g.linear(h, prefix + ".intermediate.dense"), prefix + "/gelu")
    out = g.linear(inner, prefix + ".output.dense")
    residual = g.op("Add", [out, h], f"{prefix}/output/Add")
    return g.layer_norm(residual, prefix + ".output.LayerNorm", cfg["layer_norm_eps"])


def mean_pool_normalize(g, hidden):
    """sentence-transformers pooling: mean over attended tokens, then L2 normalisation."""
    m = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", g.const([-1], np.int64)], "pool/Unsqueeze")],
             "pool/Cast", to=1)
    total = g.op("ReduceSum", [g.op("Mul", [hidden, m], "pool/Mul"), g.const([1], np.int64)], "pool/ReduceSum",
                 keepdims=0)
    count = g.op("ReduceSum", [m, g.const([1], np.int64)], "pool/ReduceSum", keepdims=0)
    count = g.op("Max", [count, g.const(1e-9)], "pool/Max")
    mean = g.op("Div", [total, count], "pool/Div")
    norm = g.op("ReduceL2", [mean], "pool/ReduceL2", axes=[1], keepdims=1)
    norm = g.op("Max", [norm, g.const(1e-12)], "pool/Max")
    return g.op("Div", [mean, norm], "pool/Div")


def build_model(cfg, weights):
    """The whole ONNX ModelProto (fp32), checked by onnx.checker."""
    import onnx
    from onnx import TensorProto, helper
    g = GraphBuilder(weights)
    h = embeddings(g, cfg)
    mask = additive_mask(g)
    for i in range(cfg["num_hidden_layers"]):
        h = encoder_layer(g, h, mask, i, cfg)
    g.nodes.append(helper.make_node("Identity", [h], ["last_hidden_state"], name="last_hidden_state"))
    emb = mean_pool_normalize(g, "last_hidden_state")
    g.nodes.append(helper.make_node("Identity", [emb], ["sentence_embedding"], name="sentence_embedding"))

    int_input = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["batch_size", "sequence_length"])
    graph = helper.make_graph(
        g.nodes, "all-MiniLM-L6-v2",
        [int_input("input_ids"), int_input("attention_mask"), int_input("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                       ["batch_size", "sequence_length", cfg["hidden_size"]]),
         helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch_size", cfg["hidden_size"]])],
        list(g.inits.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="glassbox bench/onnx_export.py", ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model


# --------------------------------------------------------------------------
# Output folder
# --------------------------------------------------------------------------

def write_repo_files(model_dir, out, cfg):
    """config.json, tokenizer.json and tokenizer_config.json as transformers.js expects them."""
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    config = dict(cfg)
    config.setdefault("model_type", "bert")
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    # The checkpoint's tokenizer.json pads every input to 128 tokens; a consumer that honours it
    # would run 128-token batches, so the copy drops fixed padding (truncation at 128 stays).
    with open(require(os.path.join(model_dir, "tokenizer.json"))) as f:
        tokenizer = json.load(f)
    tokenizer["padding"] = None
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    tokenizer_config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "model_max_length": 512,
        "clean_up_tokenization_spaces": True,
        "tokenize_chinese_chars": True,
        "strip_accents": None,
        "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
        "unk_token": "[UNK]", "mask_token": "[MASK]",
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config, f, indent=2)


def quantize(fp32_path, q8_path):
    """transformers.js' q8 recipe: dynamic int8, QInt8 weights, per channel, reduced range.

    MatMulConstBOnly leaves the activation x activation MatMuls (QK^T, PV) in float, as theirs does.
    """
    import logging
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.registry import IntegerOpsRegistry
    # Its "consider pre-processing" warning is about static quantization of CNNs; not for this model.
    logging.getLogger().setLevel(logging.ERROR)
    quantize_dynamic(fp32_path, q8_path,
                     op_types_to_quantize=list(IntegerOpsRegistry.keys()),
                     per_channel=True, reduce_range=True, weight_type=QuantType.QInt8,
                     extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True})


def ort_optimize(fp32_path, opt_path, cfg):
    """The fp32 graph through onnxruntime.transformers' BERT optimizer (Attention, SkipLayerNorm, BiasGelu).

    Not what transformers.js loads, but what a Python user of ORT gets from the usual
    optimisation step (optimum's ORTOptimizer runs the same code): the strongest CPU baseline.
    """
    import logging
    from onnxruntime.transformers import optimizer
    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)  # "producer not pytorch" note
    model = optimizer.optimize_model(fp32_path, model_type="bert", num_heads=cfg["num_attention_heads"],
                                     hidden_size=cfg["hidden_size"], opt_level=0)
    model.save_model_to_file(opt_path)
    return {k: v for k, v in model.get_fused_operator_statistics().items() if v}


def op_histogram(path):
    """Op types of a saved model, to tell whether q8 computes in int8 or only stores int8."""
    import onnx
    return dict(sorted(Counter(n.op_type for n in onnx.load(path, load_external_data=False).graph.node).items()))


def fused_ops(path):
    """Op types after ORT's load-time optimisation: shows which transformer fusions took."""
    import onnx
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = 1
    tmp = path + ".ort-optimized.onnx"
    opts.optimized_model_filepath = tmp
    opts.log_severity_level = 3  # the "optimized model is hardware specific" warning: it is thrown away
    ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    hist = dict(sorted(Counter(n.op_type for n in onnx.load(tmp).graph.node).items()))
    os.remove(tmp)
    return hist


def int8_compute(ops):
    """True when the graph multiplies in integers (MatMulInteger/DynamicQuantizeLinear or fused forms)."""
    return any(op in ops for op in ("MatMulInteger", "DynamicQuantizeMatMul", "QAttention", "DynamicQuantizeLinear"))


# --------------------------------------------------------------------------
# Verification against the numpy reference
# --------------------------------------------------------------------------

def load_reference(model_dir):
    """tests/reference/bert_reference.py's Reference, imported by path (it is not a package)."""
    path = require(os.path.join(REPO, "tests", "reference", "bert_reference.py"))
    spec = importlib.util.spec_from_file_location("bert_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Reference(model_dir, max_len=128)


def ort_embeddings(path, tokenizer, sentences):
    """Sentence embeddings of one padded batch: exercises the attention mask and masked pooling."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    encodings = tokenizer.encode_batch(sentences)
    feeds = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    hidden, emb = session.run(["last_hidden_state", "sentence_embedding"], feeds)
    # Cross-check the graph's own pooling against pooling last_hidden_state as transformers.js does.
    m = feeds["attention_mask"][..., None].astype(np.float64)
    pooled = (hidden * m).sum(1) / m.sum(1)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    return emb.astype(np.float64), pooled


def cosines(a, b):
    """Row-wise cosine similarity."""
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def verify(model_dir, out, sentences):
    """Min cosine of fp32 and q8 vs the reference, each from the graph's output and from pooling."""
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    tokenizer.enable_truncation(128)
    reference = load_reference(model_dir)
    expected = np.stack([reference.run(s)["embedding"] for s in sentences])
    result = {}
    for label, name in (("fp32", "model.onnx"), ("q8", "model_quantized.onnx"),
                        ("fp32-ort-opt", "model_ort_optimized.onnx")):
        emb, pooled = ort_embeddings(os.path.join(out, "onnx", name), tokenizer, sentences)
        result[label] = {"min_cosine": float(cosines(emb, expected).min()),
                         "min_cosine_pooled_last_hidden_state": float(cosines(pooled, expected).min())}
    return result


def verify_sentences(path):
    """The self-check pair plus the first benchmark sentences (varied lengths, so real padding)."""
    sentences = list(VERIFY_SENTENCES)
    if path and os.path.isfile(path):
        with open(path) as f:
            sentences += json.load(f)[:6]
    return sentences


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def export(args):
    """Writes the folder and the report; returns the report."""
    cfg = load_config(args.model)
    weights = load_weights(args.model)
    import onnx
    out = args.out
    write_repo_files(args.model, out, cfg)
    fp32 = os.path.join(out, "onnx", "model.onnx")
    q8 = os.path.join(out, "onnx", "model_quantized.onnx")
    opt = os.path.join(out, "onnx", "model_ort_optimized.onnx")
    onnx.save(build_model(cfg, weights), fp32)
    quantize(fp32, q8)
    fused = ort_optimize(fp32, opt, cfg)
    q8_ops = op_histogram(q8)
    return {
        "source": {"model.safetensors": sha256(os.path.join(args.model, "model.safetensors")),
                   "tokenizer.json": sha256(os.path.join(args.model, "tokenizer.json")),
                   "onnx_export.py": sha256(os.path.abspath(__file__))},
        "onnx": onnx.__version__,
        "onnxruntime": __import__("onnxruntime").__version__,
        "opset": OPSET,
        "files": {"fp32": {"path": "onnx/model.onnx", "bytes": os.path.getsize(fp32),
                           "ops": op_histogram(fp32), "ops_after_ort_optimization": fused_ops(fp32)},
                  "q8": {"path": "onnx/model_quantized.onnx", "bytes": os.path.getsize(q8), "ops": q8_ops,
                         "ops_after_ort_optimization": fused_ops(q8),
                         "computes_in_int8": int8_compute(q8_ops),
                         "recipe": "quantize_dynamic: QInt8 weights, uint8 activations, per channel, "
                                   "reduced range, MatMulConstBOnly"},
                  "fp32-ort-opt": {"path": "onnx/model_ort_optimized.onnx", "bytes": os.path.getsize(opt),
                                   "fused_by_transformers_optimizer": fused,
                                   "ops_after_ort_optimization": fused_ops(opt)}},
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=os.path.join(REPO, "assets", "all-MiniLM-L6-v2"),
                   help="folder with config.json, model.safetensors, tokenizer.json")
    p.add_argument("--out", default=os.path.join(REPO, "bench", "out", "onnx-model"), help="output folder")
    p.add_argument("--sentences", default=os.path.join(REPO, "bench", "sentences.json"),
                   help="JSON list of strings; its first 6 join the verification sentences")
    p.add_argument("--min-cosine", type=float, default=0.99999, help="fp32 must reach this vs the reference")
    args = p.parse_args(argv)
    try:
        report = export(args)
        report["verification"] = verify(args.model, args.out, verify_sentences(args.sentences))
    except ExportError as e:
        print(f"onnx_export: {e}", file=sys.stderr)
        return 2
    report["verification"]["min_cosine_required_fp32"] = args.min_cosine
    with open(os.path.join(args.out, "export_report.json"), "w") as f:
        json.dump(report, f, indent=2)

    files, check = report["files"], report["verification"]
    print(f"wrote {args.out}: model.onnx {files['fp32']['bytes'] / 1e6:.1f} MB, "
          f"model_quantized.onnx {files['q8']['bytes'] / 1e6:.1f} MB "
          f"({'computes in int8' if files['q8']['computes_in_int8'] else 'int8 storage only'})")
    for label in ("fp32", "fp32-ort-opt", "q8"):
        print(f"  {label}: min cosine vs numpy reference {check[label]['min_cosine']:.7f} "
              f"(pooling last_hidden_state: {check[label]['min_cosine_pooled_last_hidden_state']:.7f})")
    failed = [label for label in ("fp32", "fp32-ort-opt") if min(check[label].values()) < args.min_cosine]
    if failed:
        print(f"onnx_export: {' and '.join(failed)} disagree(s) with the numpy reference "
              f"(min cosine < {args.min_cosine})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
