"""Ranking rows of scores: the top-K per row (ties by lower index) and re-ordering chosen lists by score."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def by_score(items: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's chosen items sorted by score, best first (empty slots stay last)."""
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), axis=1, kind="stable")
    return np.take_along_axis(items, order, axis=1), np.take_along_axis(scores, order, axis=1)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(int64[n, k] indices, float32[n, k] scores) of the k largest per row, ties by lower index.

    Entries equal to -inf are never returned (-1 / NaN instead). One argpartition finds each row's k
    largest; rows where values equal to the k-th straddle the cut (ties) are redone exactly, so the
    result never depends on how argpartition breaks ties.
    """
    n, m = scores.shape
    k = min(k, m)
    if k == 0 or n == 0:
        return np.full((n, k), -1, dtype=np.int64), np.full((n, k), np.nan, dtype=np.float32)
    if k == m:
        part = np.broadcast_to(np.arange(m), (n, m)).copy()
    else:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
        tied = np.flatnonzero((scores >= kth).sum(axis=1) > k)  # more candidates than places at the cut
        if len(tied):
            part[tied] = _exact_top(scores[tied], k)
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    items = np.take_along_axis(part, order, axis=1).astype(np.int64)
    values = np.take_along_axis(part_scores, order, axis=1).astype(np.float32)
    invalid = np.isneginf(values) | np.isnan(values)
    items[invalid] = -1
    values[invalid] = np.nan
    return items, values


def _exact_top(scores: np.ndarray, k: int) -> np.ndarray:
    """int[n, k]: each row's k largest, ties at the cut to the lower indices (rows with ties only)."""
    n, m = scores.shape
    kth = np.partition(scores, m - k, axis=1)[:, m - k : m - k + 1]
    above = scores > kth
    at = scores == kth
    need = k - above.sum(axis=1, keepdims=True)
    take = above | (at & (np.cumsum(at, axis=1) <= need))
    return np.nonzero(take)[1].reshape(n, k)


def sparse_top_k(
    scores: sp.csr_matrix, k: int, allowed: np.ndarray | None = None, seen: sp.csr_matrix | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`top_k` of rows whose every unstored entry is 0, without densifying.

    The same lists as `top_k` on the dense rows with disallowed and seen items set to -inf: the largest
    positive stored scores (ties by lower index), then zeros at the lowest allowed, unseen indices not
    stored, then the negative stored scores. Cost per row is its stored entries, not the catalogue (the
    zero fill scans the catalogue only for rows with fewer than k positive candidates).

    Args:
        scores: CSR [n, m] (stored zeros are treated as any other zero).
        k: list length.
        allowed: bool[m] items that may be returned, or None for all.
        seen: CSR [n, m] whose stored entries are never returned (the histories), or None.
    """
    n, m = scores.shape
    k = min(k, m)
    items = np.full((n, k), -1, dtype=np.int64)
    values = np.full((n, k), np.nan, dtype=np.float32)
    blocked = np.zeros(m, dtype=bool) if allowed is None else ~np.asarray(allowed, dtype=bool)
    for row in range(n):
        start, stop = scores.indptr[row], scores.indptr[row + 1]
        index, value = scores.indices[start:stop], scores.data[start:stop]
        seen_items = seen.indices[seen.indptr[row] : seen.indptr[row + 1]] if seen is not None else index[:0]
        mask = blocked.copy() if len(seen_items) else blocked
        mask[seen_items] = True
        keep = ~mask[index]
        index, value = index[keep], value[keep]
        below = value <= 0  # stored non-positive scores rank after the unstored zeros
        low_index, low_value = index[below], value[below]
        index, value = index[~below], value[~below]
        if len(index) > k:
            part = np.argpartition(-value, k - 1)[:k]
            if (value >= value[part].min()).sum() > k:  # ties at the cut: order every candidate
                part = np.lexsort((index, -value))[:k]
            index, value = index[part], value[part]
        order = np.lexsort((index, -value))
        filled = len(order)
        items[row, :filled], values[row, :filled] = index[order], value[order]
        if filled < k:
            free = ~mask
            free[index] = False
            free[low_index] = False
            zeros = np.flatnonzero(free)[: k - filled]
            items[row, filled : filled + len(zeros)] = zeros
            values[row, filled : filled + len(zeros)] = 0.0
            filled += len(zeros)
        if filled < k and len(low_index):
            order = np.lexsort((low_index, -low_value))[: k - filled]
            items[row, filled : filled + len(order)] = low_index[order]
            values[row, filled : filled + len(order)] = low_value[order]
    return items, values
