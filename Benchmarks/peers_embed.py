#!/usr/bin/env python3
"""Text-embedding peer for VecDB's all-MiniLM-L6-v2: the same forward pass in NumPy, float32.

Usage (normally through `Benchmarks/peers.sh --kind embed ...`, which makes the virtualenv):
  peers_embed.py --model DIR --texts FILE --label NAME --threads N --output OUT.jsonl \
      [--vectors OURS.npy] [--runs R]
  peers_embed.py --model DIR --selftest

DIR holds the sentence-transformers files: model.safetensors (read here, without torch or the
safetensors package: an 8-byte little-endian header length, a JSON header, then the raw
tensors), tokenizer.json and config.json. FILE is UTF-8, one text per line; an empty line is
an empty text.

Model: BERT (6 layers, hidden 384, 12 heads, intermediate 1536, exact erf GELU, LayerNorm eps
from config.json), token type 0 everywhere, mean pooling over the attention mask, then L2
normalisation. Tokens come from the `tokenizers` library on tokenizer.json with truncation to
256 tokens including [CLS]/[SEP] and no padding (tokenizer.json itself says 128 with fixed
padding; sentence-transformers overrides both with max_seq_length 256).

Method: texts are tokenized, sorted by token count (longest first, ties in input order), cut
into batches of 32, each padded to its longest text with an additive attention mask; the
embeddings come back in input order. One untimed warm-up pass over the first 64 texts, then
--runs timed passes over all texts (tokenization included); the median pass gives
sentences_per_second and tokens_per_second (tokens include [CLS]/[SEP], not padding).
params.tokenize_seconds is the median tokenization time inside those passes. BLAS (and the
tokenizer's thread pool) are limited to --threads.

With --vectors (float32 [n, 384] .npy, VecDB's embeddings of the same texts in the same
order), each row's cosine with NumPy's embedding is computed and an `embed-agreement` row is
appended as well. Rows are JSON objects, one per line, sorted keys, compact separators.
Logs go to stderr; stdout stays empty.
"""

import argparse
import json
import math
import os
import struct
import sys
import time

MAX_LENGTH = 256
BATCH = 32
WARMUP_TEXTS = 64
AGREEMENT_THRESHOLD = 0.9999

# The reference values of shared/DATA.md (an independent NumPy implementation that agrees
# with sentence-transformers to 2e-7).
SELFTEST_SENTENCES = ["The weather is lovely today.", "It's so sunny outside!",
                      "He drove to the stadium."]
SELFTEST_COSINES = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}
SELFTEST_COMPONENTS = [0.01920, 0.12009, 0.15960, 0.06707, 0.05007, -0.02592]
SELFTEST_TOLERANCE = 1e-4


def log(msg):
    print(f"[peers_embed] {msg}", file=sys.stderr, flush=True)


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="directory with model.safetensors, tokenizer.json")
    p.add_argument("--selftest", action="store_true",
                   help="check the reference cosines and components of shared/DATA.md, then exit")
    p.add_argument("--texts", help="UTF-8 file, one text per line")
    p.add_argument("--label", help="name of the text set, recorded as params.texts")
    p.add_argument("--threads", type=positive_int, default=1)
    p.add_argument("--output", help="JSON Lines file to append to")
    p.add_argument("--vectors", help="VecDB's embeddings of the same texts (.npy, float32 [n, d])")
    p.add_argument("--runs", type=positive_int, default=3, help="timed passes; the median counts")
    args = p.parse_args(argv)
    if not args.selftest:
        missing = [f"--{n}" for n in ("texts", "label", "output") if getattr(args, n) is None]
        if missing:
            p.error(f"{' and '.join(missing)} required (or --selftest)")
    return args


ARGS = parse_args()

# Limit BLAS / OpenMP thread pools (and the tokenizer's Rayon pool) before numpy and tokenizers
# are imported; threadpoolctl below enforces the BLAS limit at runtime as well.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
             "RAYON_NUM_THREADS", "RAYON_RS_NUM_CPUS"):
    os.environ[_var] = str(ARGS.threads)
os.environ["TOKENIZERS_PARALLELISM"] = "true" if ARGS.threads > 1 else "false"

import numpy as np  # noqa: E402
import tokenizers  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Weights: model.safetensors, parsed by hand.

SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
                      "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def load_safetensors(path):
    """Returns {name: float32 array}; integer tensors (embeddings.position_ids) are skipped."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len].decode("utf-8"))
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        kind = info["dtype"]
        if kind == "BF16":
            raw = np.frombuffer(data, dtype="<u2", count=(end - begin) // 2, offset=base + begin)
            array = (raw.astype(np.uint32) << 16).view(np.float32)
        elif kind in ("F64", "F32", "F16"):
            dtype = np.dtype(SAFETENSORS_DTYPES[kind])
            array = np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize,
                                  offset=base + begin).astype(np.float32)
        else:
            continue  # position_ids (I64) and the like: not weights
        tensors[name.removeprefix("bert.")] = array.reshape(shape)
    return tensors


class MiniLM:
    """BERT encoder + mean pooling + L2 normalisation, in float32 NumPy."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        self.hidden = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.head_dim = self.hidden // self.heads
        self.eps = np.float32(config.get("layer_norm_eps", 1e-12))
        if config.get("hidden_act", "gelu") != "gelu":
            sys.exit(f"unsupported hidden_act {config.get('hidden_act')!r} (expected exact gelu)")
        w = load_safetensors(os.path.join(model_dir, "model.safetensors"))
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.type0 = w["embeddings.token_type_embeddings.weight"][0]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(config["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            # PyTorch Linear stores [out, in]; keep [in, out] so that rows @ W works directly.
            qkv_w = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")])
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append({
                "qkv_w": np.ascontiguousarray(qkv_w.T), "qkv_b": qkv_b,
                "attn_out_w": np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                "attn_out_b": w[p + "attention.output.dense.bias"],
                "ln1": (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                "inter_w": np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                "inter_b": w[p + "intermediate.dense.bias"],
                "out_w": np.ascontiguousarray(w[p + "output.dense.weight"].T),
                "out_b": w[p + "output.dense.bias"],
                "ln2": (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
            })
        self.scale = np.float32(math.sqrt(self.head_dim))

    def layer_norm(self, x, gamma_beta):
        gamma, beta = gamma_beta
        x = x - x.mean(axis=-1, keepdims=True)
        var = np.mean(x * x, axis=-1, keepdims=True)
        x /= np.sqrt(var + self.eps)
        x *= gamma
        x += beta
        return x

    def forward(self, ids, mask):
        """ids, mask: [B, L] (int, 0/1). Returns L2-normalised mean-pooled embeddings [B, H]."""
        b, length = ids.shape
        h, nh, hd = self.hidden, self.heads, self.head_dim
        x = self.word[ids] + self.position[:length] + self.type0
        x = self.layer_norm(x.reshape(b * length, h), self.emb_ln)
        # Additive mask over the keys, as transformers builds it: 0 or the float32 minimum.
        add_mask = ((1 - mask).astype(np.float32) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in self.layers:
            qkv = x @ layer["qkv_w"]
            qkv += layer["qkv_b"]
            qkv = qkv.reshape(b, length, 3, nh, hd).transpose(2, 0, 3, 1, 4)  # [3, B, nh, L, hd]
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = q @ k.transpose(0, 1, 3, 2)  # [B, nh, L, L]
            scores /= self.scale
            scores += add_mask
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(b * length, h)
            attn = context @ layer["attn_out_w"]
            attn += layer["attn_out_b"]
            attn += x
            x = self.layer_norm(attn, layer["ln1"])
            inter = x @ layer["inter_w"]
            inter += layer["inter_b"]
            gelu_(inter)
            out = inter @ layer["out_w"]
            out += layer["out_b"]
            out += x
            x = self.layer_norm(out, layer["ln2"])
        x = x.reshape(b, length, h)
        weights = mask.astype(np.float32)[:, :, None]
        pooled = (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), np.float32(1e-9))
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, np.float32(1e-12))


# erfc(z) ≈ t·exp(-z² + P(t)), t = 1/(1 + z/2), z ≥ 0: the Chebyshev fit of Numerical Recipes
# (§6.2, erfcc), fractional error < 1.2e-7 everywhere. With it, GELU(x) = x/2 · erfc(-x/√2)
# (exact erf GELU) has no cancellation for negative x. Evaluated in float32, its absolute error
# over [-12, 12] is at most 4.6e-7 (7 ulps, at x near 12; 7e-8 for x < 0), against 2.4e-7 for
# rounding the exact value to float32. (scipy.special.erf measured 3x slower here.)
ERFC_COEFFICIENTS = [np.float32(c) for c in (
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)]


def gelu_(x):
    """In place, float32: x ← x · Φ(x) = x/2 · erfc(-x/√2)."""
    a = np.abs(x)
    a *= np.float32(1 / math.sqrt(2))  # |z|, z = -x/√2
    # |z| ≤ 9 keeps every intermediate a normal float (erfc(9) = 4e-37; subnormals are slow on
    # x86) and z² finite; below x = -12.7 GELU is then x·2e-37 instead of x·(even less).
    np.minimum(a, np.float32(9), out=a)
    t = a + np.float32(2)
    np.divide(np.float32(2), t, out=t)  # t = 1/(1 + |z|/2)
    poly = t * ERFC_COEFFICIENTS[-1]
    for c in reversed(ERFC_COEFFICIENTS[1:-1]):
        poly += c
        poly *= t
    poly += ERFC_COEFFICIENTS[0]
    a *= a
    poly -= a
    np.exp(poly, out=poly)
    poly *= t
    poly *= np.float32(0.5)  # tail = erfc(|z|)/2 = Φ(-|x|)
    # Φ(x) = tail + [x > 0]·(1 - 2·tail): exactly the tail for x ≤ 0, 1 - tail for x > 0.
    # (Arithmetic rather than np.where or where=, which are 5-10x slower here.)
    np.multiply(poly, np.float32(-2), out=a)
    a += np.float32(1)
    np.multiply(a, x > 0, out=a)
    poly += a
    x *= poly
    return x


# ---------------------------------------------------------------------------------------------
# Tokenizer and batching.


def load_tokenizer(model_dir):
    tok = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_LENGTH)  # counts [CLS]/[SEP]
    tok.no_padding()
    return tok


def tokenize(tok, texts):
    return [e.ids for e in tok.encode_batch(texts, add_special_tokens=True)]


def embed_ids(model, token_ids):
    """Batches of BATCH texts sorted by token count, longest first; output in input order."""
    n = len(token_ids)
    order = sorted(range(n), key=lambda i: -len(token_ids[i]))
    out = np.empty((n, model.hidden), dtype=np.float32)
    for start in range(0, n, BATCH):
        chunk = order[start:start + BATCH]
        length = max(len(token_ids[i]) for i in chunk)
        ids = np.zeros((len(chunk), length), dtype=np.int64)
        mask = np.zeros((len(chunk), length), dtype=np.int64)
        for row, i in enumerate(chunk):
            ids[row, :len(token_ids[i])] = token_ids[i]
            mask[row, :len(token_ids[i])] = 1
        out[chunk] = model.forward(ids, mask)
    return out


def read_texts(path):
    """One text per line, split on '\\n' only; a final newline does not add an empty text."""
    with open(path, "rb") as f:
        content = f.read().decode("utf-8")
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def blas_description():
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            return (f"{info.get('internal_api')} {info.get('version')} {info.get('architecture')} "
                    f"{info.get('threading_layer')} threads={info.get('num_threads')} "
                    f"(numpy {np.__version__})")
    return f"unknown (numpy {np.__version__})"


def append_row(path, row):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n")


# ---------------------------------------------------------------------------------------------
# Modes.


def selftest(model, tok):
    emb = embed_ids(model, tokenize(tok, SELFTEST_SENTENCES))
    ok = True
    for (i, j), want in SELFTEST_COSINES.items():
        got = float(emb[i] @ emb[j])
        good = abs(got - want) <= SELFTEST_TOLERANCE
        ok &= good
        log(f"cos({SELFTEST_SENTENCES[i]!r}, {SELFTEST_SENTENCES[j]!r}) = {got:.6f} "
            f"(reference {want:.4f}) {'ok' if good else 'MISMATCH'}")
    got = [float(v) for v in emb[0, :len(SELFTEST_COMPONENTS)]]
    good = all(abs(g - w) <= SELFTEST_TOLERANCE for g, w in zip(got, SELFTEST_COMPONENTS))
    ok &= good
    log(f"first components of {SELFTEST_SENTENCES[0]!r}: {', '.join(f'{g:.5f}' for g in got)} "
        f"(reference {', '.join(f'{w:.5f}' for w in SELFTEST_COMPONENTS)}) "
        f"{'ok' if good else 'MISMATCH'}")
    log("selftest passed" if ok else "selftest FAILED")
    return 0 if ok else 1


def benchmark(model, tok, args):
    texts = read_texts(args.texts)
    if not texts:
        sys.exit(f"{args.texts}: no texts")
    n = len(texts)
    log(f"{n} texts from {args.texts}; BLAS {blas_description()}")

    embed_ids(model, tokenize(tok, texts[:WARMUP_TEXTS]))  # warm-up, untimed
    seconds, tokenize_seconds, vectors, total_tokens = [], [], None, 0
    for run in range(args.runs):
        t0 = time.perf_counter()
        token_ids = tokenize(tok, texts)
        t1 = time.perf_counter()
        vectors = embed_ids(model, token_ids)
        t2 = time.perf_counter()
        seconds.append(t2 - t0)
        tokenize_seconds.append(t1 - t0)
        total_tokens = sum(len(ids) for ids in token_ids)
        log(f"run {run + 1}/{args.runs}: {t2 - t0:.3f} s ({t1 - t0:.3f} s tokenizing), "
            f"{n / (t2 - t0):.1f} sentences/s")
    median = float(np.median(seconds))
    row = {
        "benchmark": "embed", "system": "numpy", "threads": args.threads,
        "sentences_per_second": round(n / median, 3),
        "tokens_per_second": round(total_tokens / median, 3),
        "params": {"texts": args.label, "count": n, "tokens": total_tokens, "batch": BATCH,
                   "runs": args.runs, "median_seconds": round(median, 4),
                   "blas": blas_description(),
                   "tokenize_seconds": round(float(np.median(tokenize_seconds)), 4)},
    }
    append_row(args.output, row)
    log(f"embed: {row['sentences_per_second']} sentences/s, {row['tokens_per_second']} tokens/s "
        f"({total_tokens} tokens, median of {args.runs} runs {median:.3f} s, threads={args.threads})")

    if args.vectors:
        ours = np.load(args.vectors)
        if ours.ndim != 2 or ours.shape != vectors.shape:
            sys.exit(f"{args.vectors}: expected shape {vectors.shape}, got {ours.shape}")
        ours = ours.astype(np.float64)
        theirs = vectors.astype(np.float64)
        cosines = (ours * theirs).sum(axis=1) / np.maximum(
            np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1), 1e-30)
        below = int((cosines < AGREEMENT_THRESHOLD).sum())
        agreement = {
            "benchmark": "embed-agreement", "system": "numpy", "threads": args.threads,
            "min_cosine": round(float(cosines.min()), 7),
            "mean_cosine": round(float(cosines.mean()), 7),
            "params": {"texts": args.label, "count": n, f"below_{AGREEMENT_THRESHOLD}": below},
        }
        append_row(args.output, agreement)
        worst = int(cosines.argmin())
        log(f"agreement with {args.vectors}: min cosine {cosines.min():.7f} (text {worst}: "
            f"{texts[worst][:60]!r}), mean {cosines.mean():.7f}, {below} of {n} below "
            f"{AGREEMENT_THRESHOLD}")
    return 0


def main():
    with threadpool_limits(limits=ARGS.threads):
        t0 = time.perf_counter()
        model = MiniLM(ARGS.model)
        tok = load_tokenizer(ARGS.model)
        log(f"loaded {ARGS.model} in {time.perf_counter() - t0:.2f} s "
            f"(tokenizers {tokenizers.__version__}, numpy {np.__version__})")
        if ARGS.selftest:
            return selftest(model, tok)
        return benchmark(model, tok, ARGS)


if __name__ == "__main__":
    sys.exit(main())
