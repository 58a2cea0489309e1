#!/usr/bin/env python3
"""Sequence-model peers for `vecdb recommend eval --protocol next-item --peers`.

Usage (normally through `Benchmarks/peers.sh --kind sequence ...`, which shares the recommender
peers' virtualenv):
  peers_sequence.py --sequences OUT.split/sequences.tsv --dataset NAME --seed S --output OUT.jsonl \
      [--models sasrec,gru4rec] [--threads 1]

Reads the split VecDB wrote (header `user_id<TAB>item_id<TAB>role`, each user's items in time
order, role `train`, `validation` or `test`), trains a SASRec and a GRU4Rec in Keras with the
architecture and training settings of Sources/VecDBRecommend/Models/SequenceNetwork.swift, and
evaluates them as Sources/VecDBRecommend/NextItemSplit.swift does:

- leave-one-out by time: the history is a user's training items plus the validation item, the
  target the test item; every item is ranked, the history excluded; ties go to the lower index;
- hit, NDCG and MRR at 10 over the full ranking, and over the target plus 100 negatives drawn
  exactly as VecDB draws them (SplitMix64 seeded with seed ^ (user * 0x9E3779B97F4A7C15));
- the epoch is chosen by validation NDCG@10, every 2 epochs, patience 5, at most 60 epochs.

Appends one JSON line per model to --output with the fields of VecDB's NextItemEvalRow.
Progress goes to stderr; stdout gets the table.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

from peers_recommend import SplitMix64, key_order, standard_error

ALL_MODELS = ["sasrec", "gru4rec"]


def log(msg):
    print(f"[peers_sequence] {msg}", file=sys.stderr, flush=True)
MASK = (1 << 64) - 1


class Sequences:
    """The split: users and items in VecDB's key order, each user's items in time order."""

    def __init__(self, path):
        rows = []
        with open(path, encoding="utf-8") as f:
            header = f.readline().rstrip("\n").split("\t")
            if header[:3] != ["user_id", "item_id", "role"]:
                sys.exit(f"{path}: expected the header user_id<TAB>item_id<TAB>role, got {header}")
            for line in f:
                if line.strip():
                    rows.append(line.rstrip("\n").split("\t")[:3])
        self.user_keys = sorted({r[0] for r in rows}, key=key_order)
        self.item_keys = sorted({r[1] for r in rows}, key=key_order)
        uix = {k: n for n, k in enumerate(self.user_keys)}
        iix = {k: n for n, k in enumerate(self.item_keys)}
        self.train = [[] for _ in self.user_keys]
        self.validation = [None] * len(self.user_keys)
        self.test = [None] * len(self.user_keys)
        for user, item, role in rows:
            u, i = uix[user], iix[item]
            if role == "train":
                self.train[u].append(i)
            elif role == "validation":
                self.validation[u] = i
            elif role == "test":
                self.test[u] = i
            else:
                sys.exit(f"{path}: unknown role '{role}'")
        self.n_items = len(self.item_keys)

    def cases(self, validation):
        """(user, history, target) of each evaluated user, as NextItemSplit.cases."""
        out = []
        for u in range(len(self.user_keys)):
            v, t = self.validation[u], self.test[u]
            if v is None or t is None:
                continue
            out.append((u, self.train[u], v) if validation else (u, self.train[u] + [v], t))
        return out


def windows(sequences, max_length):
    """SequenceTrainer.windows: cut from the end into windows of max_length + 1 overlapping by one."""
    out = []
    for s in sequences:
        end = len(s)
        while end >= 2:
            start = max(0, end - max_length - 1)
            out.append(s[start:end])
            if start == 0:
                break
            end = start + 1
    return out


def evaluate(cases, n_items, score, negatives, seed, batch=256):
    """NextItemEvaluator.evaluate. score(histories) -> (len, n_items) scores."""
    per = {k: [] for k in ("hit", "ndcg", "mrr", "s_hit", "s_ndcg", "s_mrr")}
    index = np.arange(n_items)
    for start in range(0, len(cases), batch):
        block = cases[start:start + batch]
        scores = np.asarray(score([h for _, h, _ in block]), dtype=np.float32)
        for row, (user, history, t) in zip(scores, block):
            excluded = np.zeros(n_items, dtype=bool)
            excluded[history] = True
            target = row[t]
            if np.isfinite(target):
                ahead = (row > target) | ((row == target) & (index < t))
            else:
                ahead = np.ones(n_items, dtype=bool)
            ahead &= ~excluded
            ahead[t] = False
            rank = int(ahead.sum())
            per["hit"].append(1.0 if rank < 10 else 0.0)
            per["ndcg"].append(1 / math.log2(rank + 2) if rank < 10 else 0.0)
            per["mrr"].append(1 / (rank + 1) if rank < 10 else 0.0)
            g = SplitMix64(seed ^ ((user * 0x9E3779B97F4A7C15) & MASK))
            available = n_items - 1 - len(history)
            drawn, s_rank = set(), 0
            while len(drawn) < min(negatives, max(0, available)):
                i = g.next() % n_items
                if i == t or excluded[i] or i in drawn:
                    continue
                drawn.add(i)
                s_rank += int(ahead[i])
            per["s_hit"].append(1.0 if s_rank < 10 else 0.0)
            per["s_ndcg"].append(1 / math.log2(s_rank + 2) if s_rank < 10 else 0.0)
            per["s_mrr"].append(1 / (s_rank + 1) if s_rank < 10 else 0.0)
    return {k: (float(np.mean(v)) if v else 0.0, standard_error(np.array(v))) for k, v in per.items()}


def tf_setup(threads, seed):
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass
    tf.keras.utils.set_random_seed(seed)
    return tf


def fit(kind, data, args):
    """Trains `kind` (SequenceModelConfig(kind:) settings) and returns (params, seconds, score, best epoch)."""
    tf = tf_setup(args.threads, args.seed)
    keras = tf.keras
    d, length, blocks, heads = 64, 50, 2, 1
    dropout = 0.4 if kind == "gru4rec" else 0.2
    lr, batch, max_epochs, every, patience = 1e-3, 64, args.max_epochs, 2, 5
    n = data.n_items
    init = keras.initializers.RandomNormal(stddev=d ** -0.5, seed=args.seed)

    class Net(keras.Model):
        """Index 0 is padding (right-padded windows); item i is row i + 1 of the table."""

        def __init__(self):
            super().__init__()
            self.items = keras.layers.Embedding(n + 1, d, embeddings_initializer=init)
            self.drop = keras.layers.Dropout(dropout, seed=args.seed)
            if kind == "sasrec":
                self.positions = self.add_weight(name="positions", shape=(length, d), initializer=init)
                self.blocks = []
                for b in range(blocks):
                    self.blocks.append((
                        keras.layers.LayerNormalization(epsilon=1e-5),
                        keras.layers.MultiHeadAttention(heads, d // heads),
                        keras.layers.Dropout(dropout, seed=args.seed + 10 + b),
                        keras.layers.LayerNormalization(epsilon=1e-5),
                        keras.layers.Dense(d, activation="relu"),
                        keras.layers.Dense(d),
                        keras.layers.Dropout(dropout, seed=args.seed + 20 + b)))
                self.final = keras.layers.LayerNormalization(epsilon=1e-5)
            else:
                self.gru = keras.layers.GRU(d, return_sequences=True, reset_after=True)

        def call(self, x, training=False):
            mask = tf.not_equal(x, 0)
            h = self.items(x)
            if kind == "sasrec":
                h = h + self.positions[tf.newaxis, :tf.shape(x)[1]]
                h = self.drop(h, training=training)
                for norm1, attention, drop1, norm2, up, down, drop2 in self.blocks:
                    y = norm1(h)
                    h = h + drop1(attention(y, y, use_causal_mask=True, training=training), training=training)
                    h = h + drop2(down(up(norm2(h))), training=training)
                return self.final(h)
            h = self.drop(h, training=training)
            return self.gru(h, mask=mask, training=training)

        def logits(self, h):
            return tf.matmul(h, self.items.embeddings[1:], transpose_b=True)

    net = Net()
    optimizer = keras.optimizers.Adam(learning_rate=lr)

    def pad(seqs, width):
        out = np.zeros((len(seqs), width), dtype=np.int32)
        for r, s in enumerate(seqs):
            out[r, :len(s)] = np.asarray(s, dtype=np.int32) + 1
        return out

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = net.logits(net(x, training=True))
            real = tf.not_equal(y, 0)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.boolean_mask(y, real) - 1, logits=tf.boolean_mask(logits, real)))
        variables = net.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    @tf.function(reduce_retracing=True)
    def last_logits(x, last):
        h = net(x, training=False)
        return net.logits(tf.gather(h, last, batch_dims=1))

    def score(histories):
        cut = [h[-length:] for h in histories]
        x = pad(cut, length)
        return last_logits(tf.constant(x), tf.constant([max(0, len(c) - 1) for c in cut], dtype=tf.int32)).numpy()

    all_windows = windows(data.train, length)
    validation = data.cases(validation=True)
    rng = np.random.default_rng(args.seed + 7)
    net(tf.zeros((1, length), dtype=tf.int32))
    best, best_epoch, best_weights, since_best = -1.0, 0, net.get_weights(), 0
    t0 = time.perf_counter()
    epoch = 0
    while epoch < max_epochs:
        epoch += 1
        order = rng.permutation(len(all_windows))
        losses = []
        for s in range(0, len(order), batch):
            chunk = [all_windows[i] for i in order[s:s + batch]]
            x = pad([w[:-1] for w in chunk], length)
            y = pad([w[1:] for w in chunk], length)
            losses.append(float(step(tf.constant(x), tf.constant(y))))
        message = f"{kind} epoch {epoch}: loss {np.mean(losses):.4f}"
        if epoch % every == 0 or epoch == max_epochs:
            ndcg = evaluate(validation, n, score, 0, args.seed)["ndcg"][0]
            message += f", validation ndcg@10 {ndcg:.4f}"
            if ndcg > best:
                best, best_epoch, best_weights, since_best = ndcg, epoch, net.get_weights(), 0
            else:
                since_best += 1
        log(message)
        if since_best >= patience:
            break
    net.set_weights(best_weights)
    seconds = time.perf_counter() - t0
    params = {"dimension": d, "max_length": length, "dropout": dropout, "learning_rate": lr, "epochs": best_epoch,
              "validation_ndcg_10": max(0.0, best)}
    if kind == "sasrec":
        params.update({"blocks": blocks, "heads": heads})
    return params, seconds, score


def table(rows):
    head = f"{'system':<8}{'model':<10}" + "".join(f"{h:<17}" for h in ["hit@10", "ndcg@10", "mrr@10", "sampled ndcg@10"])
    out = [head + "train s"]
    for r in rows:
        cells = "".join(f"{r[m]:.4f} ± {r[m + '_se']:.4f}".ljust(17) for m in ["hit_10", "ndcg_10", "mrr_10", "sampled_ndcg_10"])
        out.append(f"{r['system']:<8}{r['model']:<10}{cells}{r['train_seconds']:.1f}")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sequences", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--output", required=True, help="JSON Lines file the rows are appended to")
    p.add_argument("--models", default=",".join(ALL_MODELS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--negatives", type=int, default=100)
    p.add_argument("--max-epochs", type=int, default=60)
    args = p.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in ALL_MODELS:
            p.error(f"unknown model '{m}'; use {', '.join(ALL_MODELS)}")
    data = Sequences(args.sequences)
    cases = data.cases(validation=False)
    log(f"{args.dataset}: {len(data.user_keys)} users ({len(cases)} evaluated), {data.n_items} items")
    rows = []
    for kind in models:
        log(f"training keras {kind}")
        params, seconds, score = fit(kind, data, args)
        m = evaluate(cases, data.n_items, score, args.negatives, args.seed)
        row = {"system": "keras", "benchmark": "recommend-eval", "protocol": "next-item", "dataset": args.dataset,
               "model": kind, "params": {k: float(v) for k, v in params.items()}, "users": len(cases),
               "items": data.n_items, "sampled_negatives": args.negatives, "train_seconds": seconds,
               "threads": args.threads}
        for ours, theirs in [("hit_10", "hit"), ("ndcg_10", "ndcg"), ("mrr_10", "mrr"), ("sampled_hit_10", "s_hit"),
                             ("sampled_ndcg_10", "s_ndcg"), ("sampled_mrr_10", "s_mrr")]:
            row[ours], row[ours + "_se"] = m[theirs]
        rows.append(row)
        with open(args.output, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n")
        log(f"keras {kind}: ndcg@10 {row['ndcg_10']:.4f}, trained in {seconds:.1f} s")
    print(table(rows), flush=True)


if __name__ == "__main__":
    main()
