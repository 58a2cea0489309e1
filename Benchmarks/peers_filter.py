#!/usr/bin/env python3
"""Filtered-search peers for `vecdb bench filter --peers`.

FAISS (IndexHNSWFlat searched with an IDSelectorBitmap of the matching ids, computed outside
the timing, which favours FAISS) and Milvus through milvus-lite (the same filter as a Milvus
expression), on the same base/query files, the same synthetic payloads (the seeded generator of
Sources/VecDBBench/FilterBenchmark.swift, `FilterPayloads`) and the same filters, one query at a
time. Recall is against brute force (NumPy) over the matching rows only. Rows are appended to
--output in the harness schema with params.selectivity and params.filter.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

MASK = (1 << 64) - 1


def log(msg):
    print(f"[peers-filter] {msg}", file=sys.stderr, flush=True)


def load_vectors(path):
    """A .npy or .fvecs file as a float32 matrix (peers.py parses its own arguments on import)."""
    if path.lower().endswith(".npy"):
        return np.ascontiguousarray(np.load(path), dtype=np.float32)
    raw = np.fromfile(path, dtype="<i4")
    dim = int(raw[0])
    return np.ascontiguousarray(raw.reshape(-1, dim + 1)[:, 1:]).view("<f4").astype(np.float32)


def unit_rows(x):
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def payloads(n, seed):
    """kw, num, price of rows 0..n-1, as FilterPayloads.payload(row:seed:) makes them."""
    with np.errstate(over="ignore"):
        h = np.arange(n, dtype=np.uint64) + np.uint64(seed)
        z = h + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = z ^ (z >> np.uint64(31))
    kw = (h % np.uint64(1000)).astype(np.int64)
    num = ((h >> np.uint64(10)) % np.uint64(1000)).astype(np.int64)
    price = ((h >> np.uint64(20)) % np.uint64(1_000_000)).astype(np.float64) / 1_000_000
    assert int(kw[0]) == splitmix64(seed) % 1000
    return kw, num, price


def filters():
    """(shape, VecDB filter text, Milvus expression, mask function) as FilterBenchmark.filters."""
    out = []
    for s in [0.5, 0.1, 0.01, 0.001]:
        n = int(round(1000 * s))
        words = [f"k{i}" for i in range(n)]
        out.append(("range-int", f"num < {n}", f"num < {n}", lambda kw, num, price, n=n: num < n))
        out.append(("range-float", f"price < {s}", f"price < {s}", lambda kw, num, price, s=s: price < s))
        out.append(("in-keyword", "kw in [" + ", ".join(f"'{w}'" for w in words) + "]",
                    "kw in [" + ", ".join(f'"{w}"' for w in words) + "]",
                    lambda kw, num, price, n=n: kw < n))
    out.append(("eq-keyword", "kw = 'k7'", 'kw == "k7"', lambda kw, num, price: kw == 7))
    out.append(("eq-int", "num = 7", "num == 7", lambda kw, num, price: num == 7))
    return out


def vecdb_filter_text(text):
    """The text as VecDB prints a parsed filter (FilterSearchParams.filter), so rows pair up."""
    return text


def brute_force(base, queries, mask, k, metric):
    ids = np.nonzero(mask)[0]
    sub = base[ids]
    if metric == "l2":
        d = (queries ** 2).sum(1)[:, None] - 2 * queries @ sub.T + (sub ** 2).sum(1)[None, :]
    else:
        d = -(queries @ sub.T)
    kk = min(k, len(ids))
    top = np.argpartition(d, kk - 1, axis=1)[:, :kk]
    return [set(ids[row].tolist()) for row in top]


def recall(found, truth, k):
    hits = sum(len(set(list(f)[:k]) & t) for f, t in zip(found, truth))
    want = sum(len(t) for t in truth)
    return 1.0 if want == 0 else hits / want


def timed(queries, one, repeats):
    for q in queries[:10]:  # warm-up, untimed, as VecDB's side does
        one(q)
    best = None
    for _ in range(repeats):
        lat = []
        found = []
        start = time.perf_counter()
        for q in queries:
            t = time.perf_counter()
            found.append(one(q))
            lat.append(time.perf_counter() - t)
        total = time.perf_counter() - start
        if best is None or total < best[0]:
            best = (total, lat, found)
    total, lat, found = best
    return len(queries) / total, float(np.median(lat)) * 1000, found


def row(args, system, index, params, rec, qps, build, memory):
    r = {"system": system, "dataset": args.dataset, "index": index, "params": params, "k": args.k,
         "recall": round(rec, 4), "qps": round(qps, 2), "build_seconds": round(build, 4),
         "memory_bytes": int(memory), "threads": args.threads}
    with open(args.output, "a") as f:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
    print(f"{system:8s} {index:12s} ef={params['ef']:<4d} sel={params['selectivity']:.4f} "
          f"{params['shape']:12s} recall={rec:.4f} qps={qps:9.1f} p50={params['p50_ms']:.3f}ms", flush=True)


def run_faiss(args, base, queries, cases, truths, metric):
    import faiss
    faiss.omp_set_num_threads(args.threads)
    d = base.shape[1]
    index = faiss.IndexHNSWFlat(d, args.m, faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = args.ef_construction
    t = time.perf_counter()
    index.add(base)
    build = time.perf_counter() - t
    log(f"faiss HNSW built in {build:.2f} s")
    faiss.omp_set_num_threads(1)
    for (shape, text, _, mask), truth, sel in zip(cases, truths, [c[4] for c in args.selectivities]):
        bits = None
        if mask is not None:
            bits = np.packbits(mask.astype(np.uint8), bitorder="little")
        for ef in args.ef_sweep:
            if bits is None:
                params = faiss.SearchParametersHNSW(efSearch=ef)
            else:
                selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
                params = faiss.SearchParametersHNSW(efSearch=ef, sel=selector)

            def one(q, params=params):
                _, ids = index.search(q[None, :], args.k, params=params)
                return [int(i) for i in ids[0] if i >= 0]

            qps, p50, found = timed(queries, one, args.repeats)
            row(args, "faiss", "HNSW", {"M": args.m, "efConstruction": args.ef_construction, "ef": ef,
                                        "filter": text, "shape": shape, "selectivity": sel, "p50_ms": round(p50, 3),
                                        "selector": "IDSelectorBitmap"},
                recall(found, truth, args.k), qps, build, 0)


def run_milvus(args, base, queries, cases, truths, metric, kw, num, price):
    from pymilvus import DataType, MilvusClient
    work = tempfile.mkdtemp(prefix="vecdb-milvus-")
    try:
        client = MilvusClient(os.path.join(work, "bench.db"))
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=base.shape[1])
        schema.add_field("kw", DataType.VARCHAR, max_length=16)
        schema.add_field("num", DataType.INT64)
        schema.add_field("price", DataType.DOUBLE)
        client.create_collection("bench", schema=schema)
        t = time.perf_counter()
        for start in range(0, len(base), 2000):
            end = min(len(base), start + 2000)
            client.insert("bench", [{"id": i, "vector": base[i].tolist(), "kw": f"k{kw[i]}", "num": int(num[i]),
                                     "price": float(price[i])} for i in range(start, end)])
        # Sealed segments are indexed; a growing one is searched by brute force (about 1 s a
        # query at this size), so flush before indexing, as a loaded service would be.
        client.flush("bench")
        mtype = "L2" if metric == "l2" else "IP"
        chosen = None
        for itype, params in [("HNSW", {"M": args.m, "efConstruction": args.ef_construction}), ("IVF_FLAT", {"nlist": 1024}),
                              ("FLAT", {})]:
            try:
                ip = client.prepare_index_params()
                ip.add_index(field_name="vector", index_type=itype, metric_type=mtype, params=params)
                client.create_index("bench", ip)
                chosen = itype
                break
            except Exception as exc:  # milvus-lite supports a subset of index types
                log(f"milvus-lite: {itype} index refused ({exc}); trying the next")
                try:
                    client.drop_index("bench", "vector")
                except Exception:
                    pass
        scalar = []
        for field, itype in [("kw", "INVERTED"), ("num", "INVERTED"), ("price", "INVERTED")]:
            try:
                ip = client.prepare_index_params()
                ip.add_index(field_name=field, index_type=itype)
                client.create_index("bench", ip)
                scalar.append(f"{field}:{itype}")
            except Exception as exc:
                log(f"milvus-lite: no {itype} scalar index on {field} ({exc})")
        client.load_collection("bench")
        build = time.perf_counter() - t
        log(f"milvus-lite: {chosen} vector index, scalar indexes {scalar or 'none'}, loaded in {build:.2f} s")
        for (shape, text, expr, mask), truth, sel in zip(cases, truths, [c[4] for c in args.selectivities]):
            for ef in (args.ef_sweep if chosen == "HNSW" else [args.ef_sweep[0]]):
                sp = {"metric_type": mtype, "params": {"ef": max(ef, args.k)} if chosen == "HNSW" else {"nprobe": 64}}

                def one(q, expr=expr, sp=sp):
                    res = client.search("bench", data=[q.tolist()], limit=args.k, filter=expr or "", search_params=sp,
                                        output_fields=[])
                    return [int(h["id"]) for h in res[0]]

                qps, p50, found = timed(queries, one, args.repeats)
                row(args, "milvus-lite", chosen, {"M": args.m, "efConstruction": args.ef_construction, "ef": ef,
                                                  "filter": text, "shape": shape, "selectivity": sel,
                                                  "p50_ms": round(p50, 3), "expression": expr,
                                                  "scalar_indexes": ",".join(scalar) or "none"},
                    recall(found, truth, args.k), qps, build, 0)
        client.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--kind", default="filter")
    p.add_argument("--output", required=True)
    p.add_argument("--dataset", default=None)
    p.add_argument("--base", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--groundtruth", default=None)
    p.add_argument("--metric", default="l2", choices=["l2", "ip", "cosine"])
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef-sweep", type=lambda t: [int(x) for x in t.split(",") if x], default=[16, 32, 64, 128, 256])
    p.add_argument("--max-queries", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--systems", default="faiss,milvus-lite")
    args = p.parse_args()
    args.dataset = args.dataset or os.path.splitext(os.path.basename(args.base))[0]
    base = load_vectors(args.base)
    queries = load_vectors(args.queries)
    if args.max_queries:
        queries = queries[: args.max_queries]
    metric = args.metric
    if metric == "cosine":
        base, queries, metric = unit_rows(base), unit_rows(queries), "ip"
    kw, num, price = payloads(len(base), args.seed)
    cases = [("none", "", "", None)] + filters()
    truths = []
    args.selectivities = []
    for shape, text, expr, fn in cases:
        mask = np.ones(len(base), dtype=bool) if fn is None else fn(kw, num, price)
        truths.append(brute_force(base, queries, mask, args.k, metric))
        args.selectivities.append((shape, text, expr, fn, round(float(mask.mean()), 4)))
    cases = [(s, t, e, None if fn is None else fn(kw, num, price)) for s, t, e, fn in cases]
    systems = args.systems.split(",")
    if "faiss" in systems:
        run_faiss(args, base, queries, cases, truths, metric)
    if "milvus-lite" in systems:
        run_milvus(args, base, queries, cases, truths, metric, kw, num, price)
    return 0


if __name__ == "__main__":
    sys.exit(main())
