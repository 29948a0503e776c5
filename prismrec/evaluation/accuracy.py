"""Top-K accuracy metrics, per user, with PROTOCOL.md definitions (binary relevance).

Each metric takes `hits` (bool[n_users, K]: the item at rank r is relevant) and `n_relevant`
(int[n_users]: size of the user's test set) and returns float64[n_users]. Lists shorter than K are
padded with misses, so Precision@K still divides by K.

>>> import numpy as np
>>> hits = np.array([[False, True, False]])
>>> float(ndcg(hits, np.array([2]))[0].round(4))  # (1/log2 3) / (1 + 1/log2 3)
0.3869
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def relevance(recommended: np.ndarray, users: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """bool[n, K]: whether `recommended[u, r]` is in row `users[u]` of `truth` (-1 = empty slot)."""
    truth = truth.tocsr()
    n_items = truth.shape[1]
    truth_keys = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr)) * n_items
    truth_keys += truth.indices
    truth_keys.sort()
    keys = users.astype(np.int64)[:, None] * n_items + recommended
    found = np.isin(keys, truth_keys, assume_unique=False)
    return found & (recommended >= 0)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def hit_rate(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """1 if any of the top K is relevant, else 0."""
    return hits.any(axis=1).astype(np.float64)


def recall(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """hits / |test_u| (not divided by min(K, |test_u|))."""
    return hits.sum(axis=1) / np.maximum(n_relevant, 1)


def precision(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """hits / K, with K the list length asked for (short lists are padded)."""
    return hits.sum(axis=1) / hits.shape[1]


def ndcg(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """DCG with binary gains and 1/log2(rank+1) discounts over the ideal DCG of min(K, |test_u|) hits."""
    k = hits.shape[1]
    discounts = _discounts(k)
    ideal = np.cumsum(discounts)[np.clip(n_relevant, 1, k) - 1]
    return (hits * discounts).sum(axis=1) / ideal


def mrr(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """1 / rank of the first relevant item in the top K, 0 if none."""
    first = np.argmax(hits, axis=1)
    return np.where(hits.any(axis=1), 1.0 / (first + 1), 0.0)


def average_precision(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """MAP@K term: sum over relevant ranks r of precision@r, divided by min(K, |test_u|)."""
    k = hits.shape[1]
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return (precision_at * hits).sum(axis=1) / np.clip(n_relevant, 1, k)


RANKING_METRICS = {
    "ndcg": ndcg,
    "recall": recall,
    "precision": precision,
    "hr": hit_rate,
    "mrr": mrr,
    "map": average_precision,
}
