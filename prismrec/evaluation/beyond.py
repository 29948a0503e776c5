"""Beyond-accuracy metrics over the top-K lists of all evaluated users (PROTOCOL.md A.8).

Catalogue-level exposure (coverage, Gini, entropy), list-level popularity (average popularity,
novelty, long-tail share) and genre intra-list distance. Inputs are `recommended` (int[n_users, K]
item indices, -1 = empty slot), item popularity `counts` (int[n_items]: train events per item) and a
catalogue mask (bool[n_items]). Metrics that need item vectors, or categories beyond genre-ILD, live in
`prismrec.evaluation.diversity`; those that need a reference list, in `prismrec.evaluation.surprise`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def recommendation_counts(recommended: np.ndarray, n_items: int) -> np.ndarray:
    """int64[n_items]: how many lists contain each item."""
    flat = recommended[recommended >= 0]
    return np.bincount(flat, minlength=n_items)


def coverage(recommended: np.ndarray, catalog: np.ndarray) -> float:
    """Share of catalogue items that appear in at least one list."""
    shown = recommendation_counts(recommended, len(catalog)) > 0
    return float((shown & catalog).sum() / max(1, catalog.sum()))


def gini(counts: np.ndarray) -> float:
    """Gini index of exposure counts (zeros included): sum_j (2j - n - 1) x_j / (n sum x), x ascending.

    >>> gini(np.array([0, 0, 0, 4]))
    0.75
    """
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    j = np.arange(1, n + 1)
    return float(np.sum((2 * j - n - 1) * x) / (n * total))


def exposure_gini(recommended: np.ndarray, catalog: np.ndarray) -> float:
    """Gini of recommendation counts over the catalogue items plus any recommended outside it."""
    counts = recommendation_counts(recommended, len(catalog))
    return gini(counts[catalog | (counts > 0)])


def exposure_entropy(recommended: np.ndarray, catalog: np.ndarray) -> float:
    """Shannon entropy, in bits, of the share of all recommendations that goes to each item.

    -sum_i p_i log2 p_i with p_i = count_i / total (items never shown contribute 0). It is 0 when every
    slot holds the same item and at most log2(number of distinct items shown), reached when they are
    shown equally often. No recommendation at all gives 0.

    Args:
        recommended: int[n_users, K] item indices, -1 = empty slot.
        catalog: bool[n_items]; only its length (the item index space) is used.
    """
    counts = recommendation_counts(recommended, len(catalog))
    total = counts.sum()
    if total == 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def long_tail_items(counts: np.ndarray, head_share: float = 0.2) -> np.ndarray:
    """bool[n_items]: True for long-tail items, False for the short head (Abdollahpouri et al.).

    The short head is the smallest prefix of items sorted by popularity (descending, ties by lower
    index) that together hold at least `head_share` of all train events; every other item, including
    each item without events, is in the tail.

    Args:
        counts: int[n_items] train events per item.
        head_share: share of all events, in [0, 1], that the head holds.
    """
    counts = np.asarray(counts, dtype=np.float64)
    tail = np.ones(len(counts), dtype=bool)
    target = head_share * counts.sum()
    if target <= 0:
        return tail
    order = np.argsort(-counts, kind="stable")
    held = np.cumsum(counts[order])
    n_head = int(np.searchsorted(held, target, side="left")) + 1
    tail[order[:n_head]] = False
    return tail


def long_tail_share(recommended: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """float64[n_users]: share of each list's items that are long-tail items (NaN for an empty list).

    Args:
        recommended: int[n_users, K] item indices, -1 = empty slot.
        tail: bool[n_items] from `long_tail_items`.
    """
    valid = recommended >= 0
    return list_mean(tail[np.where(valid, recommended, 0)].astype(np.float64), valid)


def list_mean(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """float64[n]: mean of each row over its valid slots (NaN for an empty list)."""
    total = np.where(valid, values, 0.0).sum(axis=1)
    size = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size > 0, total / np.maximum(size, 1), np.nan)


def average_popularity(recommended: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """float64[n_users]: mean train popularity of each list (NaN for an empty list)."""
    valid = recommended >= 0
    return list_mean(counts[np.where(valid, recommended, 0)].astype(np.float64), valid)


def novelty(recommended: np.ndarray, counts: np.ndarray, n_users: int) -> np.ndarray:
    """float64[n_users]: mean self-information -log2(max(c_i, 1) / |U|) of each list, in bits."""
    valid = recommended >= 0
    c = counts[np.where(valid, recommended, 0)].astype(np.float64)
    return list_mean(-np.log2(np.maximum(c, 1.0) / n_users), valid)


def category_ild(recommended: np.ndarray, categories: sp.csr_matrix, chunk: int = 2048) -> np.ndarray:
    """float64[n_users]: mean pairwise Jaccard distance of item category sets within each list.

    Two items with no categories are at distance 0. Lists with fewer than two items give NaN.

    Args:
        recommended: int[n_users, K] item indices, -1 = empty slot.
        categories: 0/1 CSR [n_items, n_categories].
    """
    n = len(recommended)
    out = np.full(n, np.nan)
    dense = categories.toarray().astype(np.float32)
    sizes = dense.sum(axis=1)
    for start in range(0, n, chunk):
        block = recommended[start : start + chunk]
        valid = block >= 0
        index = np.where(valid, block, 0)
        sets = dense[index] * valid[..., None]
        shared = np.einsum("ukc,ujc->ukj", sets, sets)
        size = sizes[index] * valid
        union = size[:, :, None] + size[:, None, :] - shared
        with np.errstate(invalid="ignore", divide="ignore"):
            distance = np.where(union > 0, 1.0 - shared / np.maximum(union, 1e-12), 0.0)
        out[start : start + chunk] = pair_mean(distance, valid)
    return out


def pair_mean(distance: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """float64[n]: mean of `distance[u, i, j]` over the pairs i < j of valid slots (NaN with no pair).

    Args:
        distance: float[n, K, K] pairwise distances within each list.
        valid: bool[n, K] slots that hold an item.
    """
    k = valid.shape[1]
    pair = np.triu(np.ones((k, k), dtype=bool), 1)[None] & valid[:, :, None] & valid[:, None, :]
    n_pairs = pair.sum(axis=(1, 2))
    total = np.where(pair, distance, 0.0).sum(axis=(1, 2))
    return np.where(n_pairs > 0, total / np.maximum(n_pairs, 1), np.nan)
