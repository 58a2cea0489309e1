#!/usr/bin/env python3
"""Loads a `vecdb export --format milvus` directory into a real Milvus (milvus-lite, the embedded
Milvus) and searches it, for the scale-out verification test and for users checking a move.

Usage (normally through `Benchmarks/peers.sh --kind milvus ...`, which makes the virtualenv):
  milvus_roundtrip.py --export DIR --queries Q.json --filters F.json --k 10 --output R.json \
      [--readback DIR2]

- Creates the collection from DIR/schema.json through pymilvus: the primary key, the vector
  field, the typed scalar columns, the dynamic field; inserts every row of the part files
  (milvus-lite has no bulk import, so rows go through `insert`, 1,000 at a time); flushes; builds
  a FLAT index with the schema's metric; loads.
- Q.json: a list of query vectors. F.json: a list of Milvus filter expressions (VecDB translated
  them). Each query is searched with no filter and with each expression.
- --readback: every row read back from Milvus (`query_iterator`, all fields) is written to DIR2
  in the same layout (schema.json with the new parts, no checksums), for `vecdb import`.
- R.json: {"plain": [[key, ...] per query], "filtered": [[[key, ...] per query] per expression],
  "rows": N, "milvus_lite": version}. Keys are as Milvus returns them (int or string).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np


def log(msg):
    print(f"[milvus_roundtrip] {msg}", file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--export", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--filters", required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--output", required=True)
    p.add_argument("--readback")
    args = p.parse_args()

    from pymilvus import DataType, MilvusClient
    import milvus_lite

    with open(os.path.join(args.export, "schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    types = {"Int64": DataType.INT64, "VarChar": DataType.VARCHAR, "Double": DataType.DOUBLE, "Bool": DataType.BOOL,
             "FloatVector": DataType.FLOAT_VECTOR, "Float16Vector": DataType.FLOAT16_VECTOR}
    pk, vec = schema["primary_field"], schema["vector_field"]
    work = tempfile.mkdtemp(prefix="vecdb-milvus-")
    try:
        client = MilvusClient(os.path.join(work, "move.db"))
        ms = client.create_schema(auto_id=False, enable_dynamic_field=True)
        if pk["data_type"] == "VarChar":
            ms.add_field(pk["name"], DataType.VARCHAR, is_primary=True, max_length=pk["max_length"])
        else:
            ms.add_field(pk["name"], DataType.INT64, is_primary=True)
        ms.add_field(vec["name"], types[vec["data_type"]], dim=vec["dim"])
        for field in schema["scalar_fields"]:
            if field["data_type"] == "VarChar":
                ms.add_field(field["name"], DataType.VARCHAR, max_length=field["max_length"])
            else:
                ms.add_field(field["name"], types[field["data_type"]])
        name = "moved"
        client.create_collection(name, schema=ms)
        half = vec["data_type"] == "Float16Vector"
        t = time.perf_counter()
        rows = 0
        for part in schema["parts"]:
            with open(os.path.join(args.export, part["name"]), encoding="utf-8") as f:
                data = json.load(f)
            if isinstance(data, dict):
                data = data["rows"]
            if half:
                for r in data:
                    r[vec["name"]] = np.asarray(r[vec["name"]], dtype=np.float16)
            for s in range(0, len(data), 1000):
                client.insert(name, data[s:s + 1000])
            rows += len(data)
        client.flush(name)
        ip = client.prepare_index_params()
        ip.add_index(field_name=vec["name"], index_type="FLAT", metric_type=schema["metric_type"])
        client.create_index(name, ip)
        client.load_collection(name)
        log(f"{rows} rows inserted, FLAT index built and loaded in {time.perf_counter() - t:.2f} s")

        with open(args.queries, encoding="utf-8") as f:
            queries = json.load(f)
        with open(args.filters, encoding="utf-8") as f:
            filters = json.load(f)

        def search(expr):
            out = []
            for s in range(0, len(queries), 50):
                batch = queries[s:s + 50]
                data = [np.asarray(q, dtype=np.float16) for q in batch] if half else batch
                res = client.search(name, data=data, limit=args.k, filter=expr, output_fields=[])
                out += [[hit["id"] for hit in hits] for hits in res]
            return out

        result = {"plain": search(""), "filtered": [search(e) for e in filters], "rows": rows,
                  "milvus_lite": getattr(milvus_lite, "__version__", "?")}

        if args.readback:
            os.makedirs(args.readback, exist_ok=True)
            back = []
            it = client.query_iterator(name, batch_size=1000, filter="", output_fields=["*"])
            while True:
                page = it.next()
                if not page:
                    it.close()
                    break
                for r in page:
                    row = dict(r)
                    v = row[vec["name"]]
                    if isinstance(v, (bytes, bytearray)):
                        v = np.frombuffer(v, dtype=np.float16)
                    row[vec["name"]] = [float(x) for x in np.asarray(v, dtype=np.float32)]
                    back.append(row)
            with open(os.path.join(args.readback, "part-00000.json"), "w", encoding="utf-8") as f:
                json.dump(back, f)
            copy = dict(schema)
            copy["parts"] = [{"name": "part-00000.json", "rows": len(back)}]
            copy["row_count"] = len(back)
            with open(os.path.join(args.readback, "schema.json"), "w", encoding="utf-8") as f:
                json.dump(copy, f, indent=1)
            log(f"{len(back)} rows read back into {args.readback}")
        client.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
