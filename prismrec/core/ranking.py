"""Ranking rows of scores: the top-K per row (ties by lower index) and re-ordering chosen lists by score."""

from __future__ import annotations

import numpy as np


def by_score(items: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's chosen items sorted by score, best first (empty slots stay last)."""
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), axis=1, kind="stable")
    return np.take_along_axis(items, order, axis=1), np.take_along_axis(scores, order, axis=1)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(int64[n, k] indices, float32[n, k] scores) of the k largest per row, ties by lower index.

    Entries equal to -inf are never returned (-1 / NaN instead).
    """
    n, m = scores.shape
    k = min(k, m)
    kth = np.partition(scores, m - k, axis=1)[:, m - k : m - k + 1]
    above = scores > kth
    tied = scores == kth
    need = k - above.sum(axis=1, keepdims=True)
    take = above | (tied & (np.cumsum(tied, axis=1) <= need))
    part = np.nonzero(take)[1].reshape(n, k)
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    items = np.take_along_axis(part, order, axis=1).astype(np.int64)
    values = np.take_along_axis(part_scores, order, axis=1).astype(np.float32)
    invalid = np.isneginf(values)
    items[invalid] = -1
    values[invalid] = np.nan
    return items, values
