#!/usr/bin/env python3
"""Peer benchmarks for VecDB: faiss, hnswlib, usearch and numpy on the same data files.

Called by the Swift harness (`vecdb bench KIND ...`) through Benchmarks/peers.sh, which
provides a virtualenv with faiss-cpu, hnswlib, usearch, numpy and threadpoolctl.
Appends one JSON object per measured configuration to --output (JSON Lines), and
prints a short human-readable line per row to stdout. Progress goes to stderr.

CLI (a contract with the Swift side):
  peers.py --kind exact|hnsw|ivf|gemm --output FILE [--dataset NAME] [--base FILE]
           [--queries FILE] [--groundtruth FILE] [--metric l2|ip|cosine] [--k 10]
           [--threads 1] [--m 16] [--ef-construction 200]
           [--ef-sweep 10,16,24,32,48,64,96,128,192,256,384,512] [--nlist 1024]
           [--nprobe-sweep 1,2,4,8,16,32,64,128] [--pq-m 16] [--max-queries N]
           [--sizes 256,512,1024,2048]
"""

import argparse
import json
import os
import sys


def int_list(text):
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="VecDB peer benchmarks (faiss, hnswlib, usearch, numpy)")
    p.add_argument("--kind", required=True, choices=["exact", "hnsw", "ivf", "gemm"])
    p.add_argument("--output", required=True, help="JSON Lines file to append rows to")
    p.add_argument("--dataset", default=None, help="dataset name (default: base file stem)")
    p.add_argument("--base", default=None, help="base vectors (.fvecs or .npy)")
    p.add_argument("--queries", default=None, help="query vectors (.fvecs or .npy)")
    p.add_argument("--groundtruth", default=None,
                   help=".ivecs top-100 neighbour ids (computed with numpy if omitted)")
    p.add_argument("--metric", default="l2", choices=["l2", "ip", "cosine"])
    p.add_argument("--k", type=positive_int, default=10)
    p.add_argument("--threads", type=positive_int, default=1)
    p.add_argument("--m", type=positive_int, default=16)
    p.add_argument("--ef-construction", type=positive_int, default=200)
    p.add_argument("--ef-sweep", type=int_list, default=int_list("10,16,24,32,48,64,96,128,192,256,384,512"))
    p.add_argument("--nlist", type=positive_int, default=1024)
    p.add_argument("--nprobe-sweep", type=int_list, default=int_list("1,2,4,8,16,32,64,128"))
    p.add_argument("--pq-m", type=positive_int, default=16)
    p.add_argument("--max-queries", type=positive_int, default=None)
    p.add_argument("--batch", action="store_true",
                   help="hnsw: also search the whole query set in one call over --threads (implied by --threads > 1)")
    p.add_argument("--sizes", type=int_list, default=int_list("256,512,1024,2048"))
    p.add_argument("--repeats", type=positive_int, default=3,
                   help="passes over the query set; the median pass gives qps")
    args = p.parse_args(argv)
    if args.kind != "gemm":
        missing = [f"--{n}" for n in ("base", "queries") if getattr(args, n) is None]
        if missing:
            p.error(f"--kind {args.kind} requires {' and '.join(missing)}")
    return args


ARGS = parse_args()

# Limit BLAS / OpenMP thread pools before numpy (or faiss) is imported; threadpoolctl
# below enforces the same limit at runtime when it is installed.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

try:
    from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402
except ImportError:  # pragma: no cover - peers.sh installs it
    threadpool_info = None
    threadpool_limits = None


# Queries run once, untimed, before each timed loop (recorded in params as "warmup").
WARMUP_QUERIES = 10


def log(msg):
    print(f"[peers] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# I/O
# ---------------------------------------------------------------------------

def read_vecs(path, dtype):
    """Read .fvecs / .ivecs: per vector an int32 LE dim followed by dim 4-byte values."""
    raw = np.fromfile(path, dtype="<i4")
    if raw.size == 0:
        raise ValueError(f"{path}: empty file")
    dim = int(raw[0])
    if dim <= 0 or raw.size % (dim + 1) != 0:
        raise ValueError(f"{path}: not a valid vecs file (dim={dim}, {raw.size} words)")
    rows = raw.reshape(-1, dim + 1)
    if not np.all(rows[:, 0] == dim):
        raise ValueError(f"{path}: inconsistent per-vector dimensions")
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def load_vectors(path):
    lower = path.lower()
    if lower.endswith(".npy"):
        arr = np.load(path)
        arr = np.ascontiguousarray(arr, dtype=np.float32)  # handles fortran_order too
    elif lower.endswith(".fvecs"):
        arr = read_vecs(path, "<f4").astype(np.float32, copy=False)
    else:
        raise ValueError(f"{path}: unsupported vector format (expected .fvecs or .npy)")
    if arr.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def load_groundtruth(path):
    lower = path.lower()
    if lower.endswith(".ivecs"):
        return read_vecs(path, "<i4").astype(np.int64)
    if lower.endswith(".npy"):
        return np.ascontiguousarray(np.load(path), dtype=np.int64)
    raise ValueError(f"{path}: unsupported ground-truth format (expected .ivecs or .npy)")


def normalize_rows(x):
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def append_row(row, summary):
    with open(ARGS.output, "a") as f:
        f.write(json.dumps(row, separators=(",", ":")) + "\n")
    print(summary, flush=True)


def vector_row(system, dataset, index, params, k, recall, qps, build_seconds, memory_bytes, threads):
    row = {
        "system": system,
        "dataset": dataset,
        "index": index,
        "params": params,
        "k": int(k),
        "recall": float(recall),
        "qps": float(qps),
        "build_seconds": float(build_seconds),
        "memory_bytes": int(memory_bytes),
        "threads": int(threads),
    }
    shown = ",".join(f"{key}={val}" for key, val in params.items()
                     if key in ("M", "efConstruction", "ef", "nlist", "nprobe", "m"))
    summary = (f"{system:8s} {index:26s} {shown:32s} recall@{k}={recall:.4f} "
               f"qps={qps:10.1f} build={build_seconds:8.3f}s mem={memory_bytes / 2**20:9.2f}MiB "
               f"threads={threads}")
    append_row(row, summary)


# ---------------------------------------------------------------------------
# Shared vector-search setup
# ---------------------------------------------------------------------------

class Workload:
    def __init__(self, args):
        self.args = args
        self.k = args.k
        self.threads = args.threads
        self.metric = args.metric
        self.index_metric = "l2" if args.metric == "l2" else "ip"
        self.dataset = args.dataset or os.path.splitext(os.path.basename(args.base))[0]

        t0 = time.perf_counter()
        base = load_vectors(args.base)
        queries = load_vectors(args.queries)
        if base.shape[1] != queries.shape[1]:
            raise ValueError(f"dimension mismatch: base {base.shape[1]}, queries {queries.shape[1]}")
        if args.max_queries is not None:
            queries = queries[: args.max_queries]
        if args.metric == "cosine":
            base = normalize_rows(base)
            queries = normalize_rows(queries)
        self.base = np.ascontiguousarray(base)
        self.queries = np.ascontiguousarray(queries)
        self.n, self.d = self.base.shape
        self.nq = self.queries.shape[0]
        if self.k > self.n:
            raise ValueError(f"k={self.k} exceeds the number of base vectors ({self.n})")

        if args.groundtruth:
            gt = load_groundtruth(args.groundtruth)
            if gt.shape[0] < self.nq:
                raise ValueError(f"ground truth has {gt.shape[0]} rows, need {self.nq}")
            if gt.shape[1] < self.k:
                raise ValueError(f"ground truth has {gt.shape[1]} neighbours per query, need k={self.k}")
            self.gt = gt[: self.nq, : self.k]
            self.gt_source = "file"
        else:
            log("no --groundtruth given; computing exact top-k with numpy")
            self.gt = self.exact_topk(self.k)
            self.gt_source = "numpy"
        log(f"dataset={self.dataset} n={self.n} d={self.d} nq={self.nq} metric={self.metric} "
            f"k={self.k} threads={self.threads} (loaded in {time.perf_counter() - t0:.2f}s)")

    def exact_topk(self, k, chunk=256):
        out = np.empty((self.nq, k), dtype=np.int64)
        if self.index_metric == "l2":
            bn = np.einsum("ij,ij->i", self.base, self.base)
        for s in range(0, self.nq, chunk):
            q = self.queries[s: s + chunk]
            sims = q @ self.base.T
            dist = (bn[None, :] - 2 * sims) if self.index_metric == "l2" else -sims
            part = np.argpartition(dist, k - 1, axis=1)[:, :k]
            order = np.argsort(np.take_along_axis(dist, part, axis=1), axis=1, kind="stable")
            out[s: s + chunk] = np.take_along_axis(part, order, axis=1)
        return out

    def recall(self, found):
        k = self.k
        hits = 0
        for f, g in zip(found, self.gt):
            hits += len(set(int(x) for x in f[:k] if x >= 0) & set(int(x) for x in g[:k]))
        return hits / (k * self.nq)

    def base_params(self, **extra):
        params = dict(extra)
        params["batch"] = 1
        params["metric"] = self.metric
        if self.metric == "cosine":
            params["normalized"] = True
            params["index_metric"] = "ip"
        if self.args.max_queries is not None:
            params["max_queries"] = self.args.max_queries
        params["nq"] = self.nq
        params["warmup"] = min(WARMUP_QUERIES, self.nq)
        params["repeats"] = self.args.repeats
        return params

    def batched(self):
        """Whether to measure batched search too."""
        return self.args.batch or self.threads > 1

    def timed_batch(self, search_all):
        """Run search_all() over the whole query set in one call; returns (ids, qps)."""
        search_all()  # untimed warm-up
        passes = []
        found = None
        for _ in range(self.args.repeats):
            t0 = time.perf_counter()
            found = np.asarray(search_all(), dtype=np.int64)
            passes.append(time.perf_counter() - t0)
        elapsed = sorted(passes)[len(passes) // 2]
        return found, self.nq / elapsed if elapsed > 0 else float("inf")

    def timed_search(self, search_one):
        """Run search_one(i) for every query, one at a time; returns (ids, qps)."""
        k = self.k
        found = np.full((self.nq, k), -1, dtype=np.int64)
        for i in range(min(WARMUP_QUERIES, self.nq)):  # untimed warm-up (caches, lazy init)
            search_one(i)
        passes = []
        for _ in range(self.args.repeats):  # the median pass: machines are shared and noisy
            t0 = time.perf_counter()
            for i in range(self.nq):
                ids = search_one(i)
                found[i, : len(ids)] = ids
            passes.append(time.perf_counter() - t0)
        elapsed = sorted(passes)[len(passes) // 2]
        return found, self.nq / elapsed if elapsed > 0 else float("inf")


def import_faiss(threads):
    import faiss
    faiss.omp_set_num_threads(threads)
    return faiss


def faiss_metric(faiss, wl):
    return faiss.METRIC_L2 if wl.index_metric == "l2" else faiss.METRIC_INNER_PRODUCT


def faiss_memory(faiss, index):
    try:
        return int(faiss.serialize_index(index).size)
    except Exception:  # pragma: no cover
        return int(index.ntotal * getattr(index, "code_size", 4 * index.d))


def faiss_search_fn(index, wl):
    q = wl.queries
    k = wl.k

    def one(i):
        _, ids = index.search(q[i: i + 1], k)
        return ids[0]
    return one


# ---------------------------------------------------------------------------
# kind: exact
# ---------------------------------------------------------------------------

def run_exact(wl):
    faiss = import_faiss(wl.threads)
    # faiss flat index
    t0 = time.perf_counter()
    index = faiss.IndexFlatL2(wl.d) if wl.index_metric == "l2" else faiss.IndexFlatIP(wl.d)
    index.add(wl.base)
    build = time.perf_counter() - t0
    name = type(index).__name__
    log(f"faiss {name}: searching {wl.nq} queries one at a time")
    found, qps = wl.timed_search(faiss_search_fn(index, wl))
    vector_row("faiss", wl.dataset, name, wl.base_params(), wl.k, wl.recall(found), qps,
               build, faiss_memory(faiss, index), wl.threads)
    log(f"faiss {name}: searching {wl.nq} queries in one call")
    found, qps = wl.timed_batch(lambda index=index: index.search(wl.queries, wl.k)[1])
    vector_row("faiss", wl.dataset, name, dict(wl.base_params(), batch=wl.nq), wl.k, wl.recall(found), qps,
               build, faiss_memory(faiss, index), wl.threads)
    del index

    # numpy brute force
    base = wl.base
    k = wl.k
    t0 = time.perf_counter()
    if wl.index_metric == "l2":
        norms = np.einsum("ij,ij->i", base, base).astype(np.float32)
        mem = base.nbytes + norms.nbytes

        def one(i):
            dist = norms - 2.0 * (base @ wl.queries[i])
            part = np.argpartition(dist, k - 1)[:k]
            return part[np.argsort(dist[part], kind="stable")]
    else:
        mem = base.nbytes

        def one(i):
            dist = -(base @ wl.queries[i])
            part = np.argpartition(dist, k - 1)[:k]
            return part[np.argsort(dist[part], kind="stable")]
    build = time.perf_counter() - t0
    index_name = "bruteforce-l2" if wl.index_metric == "l2" else "bruteforce-ip"
    log(f"numpy {index_name}: searching {wl.nq} queries one at a time")
    found, qps = wl.timed_search(one)
    params = wl.base_params()
    params["blas"] = blas_description()
    vector_row("numpy", wl.dataset, index_name, params, wl.k, wl.recall(found), qps,
               build, mem, wl.threads)


# ---------------------------------------------------------------------------
# kind: hnsw
# ---------------------------------------------------------------------------

def run_hnsw(wl):
    args = wl.args
    M, efc = args.m, args.ef_construction
    ids = np.arange(wl.n, dtype=np.int64)

    # hnswlib
    import hnswlib
    space = "l2" if wl.index_metric == "l2" else "ip"
    log(f"hnswlib: building (M={M}, efConstruction={efc}, space={space})")
    t0 = time.perf_counter()
    index = hnswlib.Index(space=space, dim=wl.d)
    index.init_index(max_elements=wl.n, ef_construction=efc, M=M, random_seed=100)
    index.set_num_threads(wl.threads)
    index.add_items(wl.base, ids, num_threads=wl.threads)
    build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "index.bin")
        index.save_index(path)
        mem = os.path.getsize(path)
    q, k = wl.queries, wl.k
    for ef in args.ef_sweep:
        index.set_ef(ef)

        def one(i, index=index):
            labels, _ = index.knn_query(q[i], k=k, num_threads=1)
            return labels[0]
        found, qps = wl.timed_search(one)
        params = wl.base_params(M=M, efConstruction=efc, ef=ef)
        params["space"] = space
        vector_row("hnswlib", wl.dataset, "HNSW", params, k, wl.recall(found), qps, build, mem, wl.threads)
        if wl.batched():
            found, qps = wl.timed_batch(lambda index=index: index.knn_query(q, k=k, num_threads=wl.threads)[0])
            params = dict(params, batch=wl.nq)
            vector_row("hnswlib", wl.dataset, "HNSW", params, k, wl.recall(found), qps, build, mem, wl.threads)
    del index

    # faiss IndexHNSWFlat
    faiss = import_faiss(wl.threads)
    log(f"faiss IndexHNSWFlat: building (M={M}, efConstruction={efc})")
    t0 = time.perf_counter()
    index = faiss.IndexHNSWFlat(wl.d, M, faiss_metric(faiss, wl))
    index.hnsw.efConstruction = efc
    index.add(wl.base)
    build = time.perf_counter() - t0
    mem = faiss_memory(faiss, index)
    for ef in args.ef_sweep:
        index.hnsw.efSearch = ef
        found, qps = wl.timed_search(faiss_search_fn(index, wl))
        vector_row("faiss", wl.dataset, "IndexHNSWFlat", wl.base_params(M=M, efConstruction=efc, ef=ef),
                   k, wl.recall(found), qps, build, mem, wl.threads)
        if wl.batched():
            found, qps = wl.timed_batch(lambda index=index: index.search(q, k)[1])
            vector_row("faiss", wl.dataset, "IndexHNSWFlat",
                       dict(wl.base_params(M=M, efConstruction=efc, ef=ef), batch=wl.nq),
                       k, wl.recall(found), qps, build, mem, wl.threads)
    del index

    # usearch
    from usearch.index import Index
    metric = "l2sq" if wl.index_metric == "l2" else "ip"
    log(f"usearch: building (connectivity={M}, expansion_add={efc}, metric={metric})")
    t0 = time.perf_counter()
    index = Index(ndim=wl.d, metric=metric, dtype="f32", connectivity=M,
                  expansion_add=efc, expansion_search=args.ef_sweep[0])
    index.add(ids, wl.base, threads=wl.threads)
    build = time.perf_counter() - t0
    try:
        mem = int(index.serialized_length)
    except Exception:  # pragma: no cover
        mem = len(index.save())
    reported = int(getattr(index, "memory_usage", 0) or 0)
    for ef in args.ef_sweep:
        index.expansion_search = ef

        def one(i, index=index):
            return index.search(q[i], k, threads=1).keys
        found, qps = wl.timed_search(one)
        params = wl.base_params(M=M, efConstruction=efc, ef=ef)
        params["usearch_metric"] = metric
        params["memory_usage_reported"] = reported
        vector_row("usearch", wl.dataset, "HNSW", params, k, wl.recall(found), qps, build, mem, wl.threads)
        if wl.batched():
            found, qps = wl.timed_batch(lambda index=index: index.search(q, k, threads=wl.threads).keys)
            params = dict(params, batch=wl.nq)
            vector_row("usearch", wl.dataset, "HNSW", params, k, wl.recall(found), qps, build, mem, wl.threads)


# ---------------------------------------------------------------------------
# kind: ivf
# ---------------------------------------------------------------------------

def run_ivf(wl):
    args = wl.args
    faiss = import_faiss(wl.threads)
    nlist = args.nlist
    metric = faiss_metric(faiss, wl)

    sample_size = max(nlist * 39, 50000)
    if wl.n > sample_size:
        rng = np.random.default_rng(1234)
        rows = np.sort(rng.choice(wl.n, size=sample_size, replace=False))
        train = np.ascontiguousarray(wl.base[rows])
    else:
        train = wl.base
    if train.shape[0] < nlist:
        raise ValueError(f"nlist={nlist} exceeds the number of training vectors ({train.shape[0]})")
    log(f"ivf: nlist={nlist}, training on {train.shape[0]} of {wl.n} vectors (seed 1234)")

    def flat_quantizer():
        return faiss.IndexFlatL2(wl.d) if wl.index_metric == "l2" else faiss.IndexFlatIP(wl.d)

    builders = [
        ("IndexIVFFlat", lambda: faiss.IndexIVFFlat(flat_quantizer(), wl.d, nlist, metric), {}),
        ("IndexIVFScalarQuantizer",
         lambda: faiss.IndexIVFScalarQuantizer(flat_quantizer(), wl.d, nlist,
                                               faiss.ScalarQuantizer.QT_8bit, metric),
         {"qtype": "QT_8bit"}),
    ]
    if wl.d % args.pq_m == 0:
        builders.append(("IndexIVFPQ",
                         lambda: faiss.IndexIVFPQ(flat_quantizer(), wl.d, nlist, args.pq_m, 8, metric),
                         {"m": args.pq_m, "nbits": 8}))
    else:
        log(f"skipping IndexIVFPQ: dimension {wl.d} is not divisible by --pq-m {args.pq_m}")

    nprobes = [p for p in args.nprobe_sweep if p <= nlist]
    if len(nprobes) < len(args.nprobe_sweep):
        log(f"skipping nprobe values > nlist={nlist}")

    for name, make, extra in builders:
        log(f"faiss {name}: training and adding")
        index = make()
        t0 = time.perf_counter()
        index.train(train)
        t1 = time.perf_counter()
        index.add(wl.base)
        t2 = time.perf_counter()
        train_s, add_s = t1 - t0, t2 - t1
        mem = faiss_memory(faiss, index)
        for nprobe in nprobes:
            index.nprobe = nprobe
            found, qps = wl.timed_search(faiss_search_fn(index, wl))
            params = wl.base_params(nlist=nlist, nprobe=nprobe, **extra)
            params["train_rows"] = int(train.shape[0])
            params["train_seconds"] = train_s
            params["add_seconds"] = add_s
            vector_row("faiss", wl.dataset, name, params, wl.k, wl.recall(found), qps,
                       train_s + add_s, mem, wl.threads)
        del index


# ---------------------------------------------------------------------------
# kind: gemm
# ---------------------------------------------------------------------------

def blas_description():
    desc = {}
    if threadpool_info is not None:
        for info in threadpool_info():
            if info.get("user_api") == "blas":
                desc = {
                    "internal_api": info.get("internal_api"),
                    "version": info.get("version"),
                    "core_type": info.get("architecture"),
                    "threading_layer": info.get("threading_layer"),
                    "num_threads": info.get("num_threads"),
                }
                break
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        desc.setdefault("internal_api", blas.get("name"))
        desc["numpy_blas"] = blas.get("name")
        desc["numpy_blas_version"] = blas.get("version")
        if blas.get("openblas configuration"):
            desc["config"] = blas.get("openblas configuration")
    except Exception:
        pass
    desc["numpy"] = np.__version__
    return desc


def run_gemm(args):
    threads = args.threads
    rng = np.random.default_rng(1234)
    blas = blas_description()
    log(f"gemm: BLAS {blas.get('internal_api')} {blas.get('version')} core={blas.get('core_type')} "
        f"threads={threads}")
    for n in args.sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        np.matmul(a, b, out=c)  # warm-up
        times = []
        total = 0.0
        while len(times) < 5 or (total < 0.5 and len(times) < 50):
            t0 = time.perf_counter()
            np.matmul(a, b, out=c)
            dt = time.perf_counter() - t0
            times.append(dt)
            total += dt
        med = float(np.median(times))
        gflops = 2.0 * n * n * n / med / 1e9
        params = {"m": n, "n": n, "k": n, "dtype": "float32", "runs": len(times),
                  "median_seconds": med, "blas": blas}
        row = {"system": "numpy", "benchmark": "sgemm", "params": params,
               "gflops": gflops, "threads": threads}
        append_row(row, f"numpy    sgemm {n}x{n}x{n}  {gflops:8.2f} GFLOP/s  (median of {len(times)}, "
                        f"{blas.get('internal_api')}/{blas.get('core_type')}, threads={threads})")


def main():
    args = ARGS
    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)
    limiter = threadpool_limits(limits=args.threads) if threadpool_limits is not None else None
    try:
        if args.kind == "gemm":
            run_gemm(args)
            return 0
        wl = Workload(args)
        {"exact": run_exact, "hnsw": run_hnsw, "ivf": run_ivf}[args.kind](wl)
        return 0
    finally:
        if limiter is not None:
            limiter.restore_original_limits()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, OSError) as exc:
        log(f"error: {exc}")
        sys.exit(2)
