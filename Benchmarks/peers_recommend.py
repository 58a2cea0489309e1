#!/usr/bin/env python3
"""Recommender peers for `vecdb recommend eval --peers`.

Usage (normally through `Benchmarks/peers.sh --kind recommend ...`, which makes the virtualenv):
  peers_recommend.py --train OUT.split/train.tsv --test OUT.split/test.tsv --dataset NAME \
      --seed S --output OUT.jsonl [--models popularity,ease,als,bpr,tfrs,mult-vae] [--threads 1]

Reads the exact split files VecDB wrote (header `user_id<TAB>item_id`), trains each peer on
train, ranks every item for every user with test items (train items excluded, ties to the lower
item index) and appends one JSON line per model to --output, with the fields of VecDB's
RecommendEvalRow. The metrics are those of Sources/VecDBRecommend/RankingEvaluator.swift:
binary-gain NDCG@K over the ideal DCG of min(K, test items) hits, Recall@K = hits / test items,
Coverage@20 = share of the catalogue in any top 20; standard error = sample sd / sqrt(users).
Users and items are indexed in VecDB's key order (integer keys ascending, then strings).
Progress goes to stderr; stdout gets the table.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

ALL_MODELS = ["popularity", "ease", "als", "bpr", "tfrs", "mult-vae"]
DEPTH = 20


def log(msg):
    print(f"[peers_recommend] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Data: the split files, indexed as VecDB indexes them.


def key_order(text):
    """VecDB's Key order: all-digit text fitting in UInt64 is an integer key, before strings."""
    if text and text.isascii() and text.isdigit() and int(text) < 2**64:
        return (0, int(text), "")
    return (1, 0, text)


def read_pairs(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header[:2] != ["user_id", "item_id"]:
            sys.exit(f"{path}: expected the header user_id<TAB>item_id, got {header}")
        return [tuple(line.rstrip("\n").split("\t")[:2]) for line in f if line.strip()]


class Split:
    def __init__(self, train_path, test_path):
        train = read_pairs(train_path)
        test = read_pairs(test_path)
        self.user_keys = sorted({u for u, _ in train} | {u for u, _ in test}, key=key_order)
        self.item_keys = sorted({i for _, i in train} | {i for _, i in test}, key=key_order)
        uix = {k: n for n, k in enumerate(self.user_keys)}
        iix = {k: n for n, k in enumerate(self.item_keys)}
        self.train = self.matrix([(uix[u], iix[i]) for u, i in train])
        self.test = self.matrix([(uix[u], iix[i]) for u, i in test])

    def matrix(self, pairs):
        shape = (len(self.user_keys), len(self.item_keys))
        return csr(pairs, shape)


def csr(pairs, shape):
    pairs = sorted(set(pairs))
    rows = np.array([u for u, _ in pairs], dtype=np.int64)
    cols = np.array([i for _, i in pairs], dtype=np.int64)
    m = sp.csr_matrix((np.ones(len(pairs), dtype=np.float32), (rows, cols)), shape=shape)
    m.sort_indices()
    return m


# ---------------------------------------------------------------------------------------------
# VecDB's validation split, reproduced bit for bit: SplitMix64 (SeededGenerator), Swift's
# shuffle (forward Fisher-Yates, Lemire's bounded integers), the last ceil(0.2 n) test.

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, bound):
        r = self.next()
        m = r * bound
        if (m & MASK) < bound:
            t = ((1 << 64) - bound) % bound
            while (m & MASK) < t:
                r = self.next()
                m = r * bound
        return m >> 64

    def shuffle(self, a):
        amount, i = len(a), 0
        while amount > 1:
            j = self.below(amount)
            amount -= 1
            a[i], a[i + j] = a[i + j], a[i]
            i += 1


def test_count(n, fraction=0.2):
    if n <= 1:
        return 0
    return min(n - 1, math.ceil(n * fraction - 1e-9))


def holdout(x, seed, fraction=0.2):
    """HoldoutSplit.random applied to the CSR matrix x: (train, test) CSR matrices."""
    rng = SplitMix64(seed)
    tr, te = [], []
    for u in range(x.shape[0]):
        items = x.indices[x.indptr[u]:x.indptr[u + 1]].tolist()
        rng.shuffle(items)
        cut = len(items) - test_count(len(items), fraction)
        tr += [(u, i) for i in items[:cut]]
        te += [(u, i) for i in items[cut:]]
    return csr(tr, x.shape), csr(te, x.shape)


# ---------------------------------------------------------------------------------------------
# Evaluation, as RankingEvaluator does it.


def standard_error(v):
    return float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0


def evaluate(score, train, test, batch=256):
    """score(users) -> (len(users), items) scores. Returns the metrics dict."""
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    n_items = train.shape[1]
    discounts = 1.0 / np.log2(np.arange(DEPTH) + 2.0)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])
    per_user = {k: [] for k in ("ndcg_10", "ndcg_20", "recall_10", "recall_20")}
    seen = np.zeros(n_items, dtype=bool)
    for start in range(0, len(users), batch):
        ub = users[start:start + batch]
        s = np.asarray(score(ub), dtype=np.float32).reshape(len(ub), n_items)
        s = np.where(np.isnan(s), -np.inf, s)
        excluded = train[ub].toarray() > 0
        # Primary key: not excluded first; then higher score; lexsort is stable, so equal scores
        # keep the lower item index first.
        order = np.lexsort((-s, excluded), axis=1)[:, :DEPTH]
        for r, u in enumerate(ub):
            top = [i for i in order[r] if not excluded[r, i]]
            relevant = set(test.indices[test.indptr[u]:test.indptr[u + 1]].tolist())
            hit = np.array([i in relevant for i in top], dtype=bool)
            n = len(relevant)
            gains = discounts[:len(top)] * hit
            per_user["ndcg_10"].append(gains[:10].sum() / ideal[min(10, n)])
            per_user["ndcg_20"].append(gains[:20].sum() / ideal[min(20, n)])
            per_user["recall_10"].append(hit[:10].sum() / n)
            per_user["recall_20"].append(hit[:20].sum() / n)
            seen[top] = True
    out = {"users": int(len(users)), "items": int(n_items)}
    for k, v in per_user.items():
        v = np.array(v, dtype=np.float64)
        out[k] = float(v.mean()) if len(v) else 0.0
        out[k + "_se"] = standard_error(v)
    out["coverage_20"] = float(seen.sum() / n_items) if n_items else 0.0
    out["coverage_20_se"] = 0.0
    return out


# ---------------------------------------------------------------------------------------------
# Models. Each returns (system, params, train_seconds, score) where score(users) gives dense scores.


def fit_popularity(split, args):
    t = time.perf_counter()
    counts = np.asarray(split.train.sum(axis=0)).ravel().astype(np.float32)
    secs = time.perf_counter() - t
    return "numpy", {}, secs, lambda users: np.tile(counts, (len(users), 1))


def ease_weights(x, lam):
    g = (x.T @ x).toarray().astype(np.float64)
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0.0
    return b.astype(np.float32)


def fit_ease(split, args):
    grid = [50.0, 100.0, 200.0, 400.0, 800.0, 1600.0] if args.ease_lambda is None else [args.ease_lambda]
    lam = grid[0]
    if len(grid) > 1:
        vtrain, vtest = holdout(split.train, args.seed + 1)
        best = None
        for candidate in grid:
            b = ease_weights(vtrain, candidate)
            ndcg = evaluate(lambda u, b=b: vtrain[u] @ b, vtrain, vtest)["ndcg_10"]
            log(f"ease: validation lambda={candidate:g} ndcg@10={ndcg:.4f}")
            if best is None or ndcg > best:
                best, lam = ndcg, candidate
    t = time.perf_counter()
    b = ease_weights(split.train, lam)
    secs = time.perf_counter() - t
    x = split.train
    return "numpy", {"lambda": lam}, secs, lambda users: (x[users] @ b)


def fit_als(split, args, factors):
    from implicit.als import AlternatingLeastSquares
    params = {"factors": factors, "regularization": 0.01, "alpha": 1.0, "iterations": 15}
    model = AlternatingLeastSquares(
        factors=factors, regularization=0.01, alpha=1.0, iterations=15, random_state=args.seed,
        num_threads=args.threads, calculate_training_loss=False)
    t = time.perf_counter()
    model.fit(split.train.astype(np.float32).tocsr(), show_progress=False)
    secs = time.perf_counter() - t
    uf, itf = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return "implicit", params, secs, lambda users: uf[users] @ itf.T


def fit_bpr(split, args):
    from implicit.bpr import BayesianPersonalizedRanking
    # implicit's defaults (its documented settings).
    params = {"factors": 100, "learning_rate": 0.01, "regularization": 0.01, "iterations": 100}
    model = BayesianPersonalizedRanking(
        factors=100, learning_rate=0.01, regularization=0.01, iterations=100, random_state=args.seed,
        num_threads=args.threads, verify_negative_samples=True)
    t = time.perf_counter()
    model.fit(split.train.astype(np.float32).tocsr(), show_progress=False)
    secs = time.perf_counter() - t
    uf, itf = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return "implicit", params, secs, lambda users: uf[users] @ itf.T


def tf_setup(args):
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    except RuntimeError:
        pass
    tf.keras.utils.set_random_seed(args.seed)
    return tf


def fit_tfrs(split, args):
    """TFRS's basic retrieval tutorial: ID embeddings of 32 in both towers, Adagrad 0.1,
    batch 8192, 3 epochs, Retrieval task (in-batch softmax, no logQ correction)."""
    tf = tf_setup(args)
    import tensorflow_recommenders as tfrs

    n_users, n_items = split.train.shape
    dim, lr, batch, epochs = 32, 0.1, 8192, 3
    coo = split.train.tocoo()

    class TwoTower(tfrs.Model):
        def __init__(self):
            super().__init__()
            # The tutorial's StringLookup + Embedding(vocabulary + 1, 32); indices here are
            # already dense, so the lookup is the identity (the +1 OOV row is kept).
            self.user_model = tf.keras.layers.Embedding(n_users + 1, dim)
            self.item_model = tf.keras.layers.Embedding(n_items + 1, dim)
            self.task = tfrs.tasks.Retrieval()

        def compute_loss(self, features, training=False):
            return self.task(self.user_model(features["user"]), self.item_model(features["item"]))

    model = TwoTower()
    model.compile(optimizer=tf.keras.optimizers.Adagrad(learning_rate=lr))
    data = tf.data.Dataset.from_tensor_slices(
        {"user": coo.row.astype(np.int64), "item": coo.col.astype(np.int64)})
    shuffled = data.shuffle(100_000, seed=args.seed, reshuffle_each_iteration=False)
    t = time.perf_counter()
    model.fit(shuffled.batch(batch), epochs=epochs, verbose=0)
    secs = time.perf_counter() - t
    uf = model.user_model(np.arange(n_users)).numpy()
    itf = model.item_model(np.arange(n_items)).numpy()
    params = {"embedding_dim": dim, "learning_rate": lr, "batch_size": batch, "epochs": epochs, "logq": 0}
    return "tfrs", params, secs, lambda users: uf[users] @ itf.T


def fit_mult_vae(split, args):
    """Mult-VAE (Liang et al. 2018): [I-600-200-600-I], tanh, input L2-normalised then dropout 0.5,
    multinomial log-likelihood, KL weight beta annealed linearly to 0.2, Adam 1e-3, batch 500,
    no weight decay (the paper's code sets lam = 0 for the VAE)."""
    tf = tf_setup(args)
    keras = tf.keras

    n_users, n_items = split.train.shape
    hidden, latent, dropout, lr, batch, epochs, beta_cap = 600, 200, 0.5, 1e-3, 500, args.vae_epochs, 0.2
    x_all = split.train.toarray().astype(np.float32)
    rows = np.flatnonzero(x_all.sum(axis=1) > 0)
    steps_per_epoch = math.ceil(len(rows) / batch)
    anneal_steps = max(1, int(0.8 * epochs * steps_per_epoch))  # beta reaches its cap at 80% of training

    init = keras.initializers.GlorotUniform(seed=args.seed)
    bias = keras.initializers.TruncatedNormal(stddev=0.001, seed=args.seed)
    enc_h = keras.layers.Dense(hidden, activation="tanh", kernel_initializer=init, bias_initializer=bias)
    enc_out = keras.layers.Dense(2 * latent, kernel_initializer=init, bias_initializer=bias)
    dec_h = keras.layers.Dense(hidden, activation="tanh", kernel_initializer=init, bias_initializer=bias)
    dec_out = keras.layers.Dense(n_items, kernel_initializer=init, bias_initializer=bias)
    drop = keras.layers.Dropout(dropout, seed=args.seed)
    optimizer = keras.optimizers.Adam(learning_rate=lr)

    def forward(x, training):
        h = tf.math.l2_normalize(x, axis=1)
        h = drop(h, training=training)
        stats = enc_out(enc_h(h))
        mu, logvar = stats[:, :latent], stats[:, latent:]
        z = mu + tf.exp(0.5 * logvar) * tf.random.normal(tf.shape(mu)) if training else mu
        return dec_out(dec_h(z)), mu, logvar

    forward(tf.zeros((1, n_items)), False)
    variables = (enc_h.trainable_variables + enc_out.trainable_variables + dec_h.trainable_variables
                 + dec_out.trainable_variables)

    @tf.function
    def step(x, beta):
        with tf.GradientTape() as tape:
            logits, mu, logvar = forward(x, True)
            nll = -tf.reduce_mean(tf.reduce_sum(tf.nn.log_softmax(logits) * x, axis=1))
            kl = tf.reduce_mean(tf.reduce_sum(0.5 * (-logvar + tf.exp(logvar) + mu * mu - 1), axis=1))
            loss = nll + beta * kl
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.default_rng(args.seed)
    updates = 0
    t = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(rows)
        for s in range(0, len(order), batch):
            beta = min(beta_cap, beta_cap * updates / anneal_steps)
            loss = step(tf.constant(x_all[order[s:s + batch]]), tf.constant(beta, dtype=tf.float32))
            updates += 1
        if (epoch + 1) % 10 == 0:
            log(f"mult-vae: epoch {epoch + 1}/{epochs} loss {float(loss):.2f}")
    secs = time.perf_counter() - t

    def score(users):
        logits, _, _ = forward(tf.constant(x_all[users]), False)
        return logits.numpy()

    params = {"hidden": hidden, "latent": latent, "dropout": dropout, "learning_rate": lr, "batch_size": batch,
              "epochs": epochs, "beta_cap": beta_cap, "anneal_steps": anneal_steps}
    return "keras", params, secs, score


# ---------------------------------------------------------------------------------------------


def table(rows):
    params = [" ".join(f"{k}={v:g}" for k, v in sorted(r["params"].items())) for r in rows]
    width = max([len(p) for p in params] + [6]) + 2
    out = [f"{'system':<9}{'model':<11}{'params':<{width}}{'users':>6}{'items':>7}  " + "".join(
        f"{h:<17}" for h in ["ndcg@10", "ndcg@20", "recall@10", "recall@20"]) + f"{'cov@20':>7}{'train s':>9}"]
    for r, p in zip(rows, params):
        metrics = "".join(f"{r[m]:.4f} ± {r[m + '_se']:.4f}".ljust(17)
                          for m in ["ndcg_10", "ndcg_20", "recall_10", "recall_20"])
        out.append(f"{r['system']:<9}{r['model']:<11}{p:<{width}}{r['users']:>6}{r['items']:>7}  {metrics}"
                   f"{r['coverage_20']:>7.3f}{r['train_seconds']:>9.3f}")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--seed", type=int, default=42, help="the split's seed; the validation split uses seed + 1")
    p.add_argument("--output", required=True, help="JSON Lines file the rows are appended to")
    p.add_argument("--models", default=",".join(ALL_MODELS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ease-lambda", type=float, default=None, help="fix EASE's lambda instead of the grid")
    p.add_argument("--vae-epochs", type=int, default=50)
    args = p.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in ALL_MODELS:
            p.error(f"unknown model '{m}'; use {', '.join(ALL_MODELS)}")

    split = Split(args.train, args.test)
    log(f"{args.dataset}: {split.train.nnz} train and {split.test.nnz} test pairs, "
        f"{split.train.shape[0]} users, {split.train.shape[1]} items")
    fits = {
        "popularity": [("popularity", fit_popularity)],
        "ease": [("ease", fit_ease)],
        "als": [("als", lambda s, a: fit_als(s, a, 16)), ("als", lambda s, a: fit_als(s, a, 64))],
        "bpr": [("bpr", fit_bpr)],
        "tfrs": [("two-tower", fit_tfrs)],
        "mult-vae": [("mult-vae", fit_mult_vae)],
    }
    rows = []
    for m in models:
        for name, fit in fits[m]:
            log(f"training {name}")
            system, params, secs, score = fit(split, args)
            metrics = evaluate(score, split.train, split.test)
            row = {"system": system, "benchmark": "recommend-eval", "dataset": args.dataset, "model": name,
                   "params": {k: float(v) for k, v in params.items()}}
            row.update(metrics)
            row["train_seconds"] = secs
            row["threads"] = args.threads
            rows.append(row)
            with open(args.output, "a", encoding="utf-8") as f:
                f.write(json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n")
            log(f"{system} {name}: ndcg@10 {row['ndcg_10']:.4f}, trained in {secs:.2f} s")
    print(table(rows), flush=True)


if __name__ == "__main__":
    main()
