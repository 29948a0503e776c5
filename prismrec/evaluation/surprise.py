"""Unexpectedness and serendipity against the lists of a primitive recommender (Ge et al. 2010).

The "expected" list of a user is what a most-popular recommender would show: the k most popular
items the user has not seen. A recommended item is unexpected when it is not in that list, and
serendipitous when it is also relevant. Lists are int[n_lists, K] item indices, -1 = empty slot;
row r of `expected` and `hits` belongs to list r.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from prismrec.evaluation.beyond import list_mean


def primitive_lists(popularity: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """int64[n_rows, k]: the k most popular items (ties by lower index) outside each row's seen items.

    Slots past the number of unseen items hold -1.

    Args:
        popularity: int[n_items] train events per item.
        seen: CSR [n_rows, n_items]; the stored entries of row r are the items row r has seen.
    """
    order = np.argsort(-np.asarray(popularity), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    seen = sp.csr_matrix(seen, copy=True)
    seen.sum_duplicates()
    n_rows = seen.shape[0]
    row = np.repeat(np.arange(n_rows), np.diff(seen.indptr))
    seen_rank = rank[seen.indices]
    by_rank = np.lexsort((seen_rank, row))
    seen_rank, row = seen_rank[by_rank], row[by_rank]
    # the t-th seen item of a row (0-based, by rank) has seen_rank - t unseen items ranked above it, so
    # the j-th unseen item sits at rank j + #{seen items with at most j unseen items above them}
    above = seen_rank - (np.arange(len(row)) - seen.indptr[row])
    early = above < k
    passed = np.bincount(row[early] * k + above[early], minlength=n_rows * k).reshape(n_rows, k)
    position = np.arange(k) + np.cumsum(passed, axis=1)
    return np.where(position < len(order), order[np.minimum(position, len(order) - 1)], -1)


def _expected_mask(recommended: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """bool[n_lists, K]: the slot holds an item of the row's expected list."""
    return ((recommended[:, :, None] == expected[:, None, :]) & (recommended >= 0)[:, :, None]).any(axis=2)


def unexpectedness(recommended: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """float64[n_lists]: share of each list's items that are not in its expected list (NaN if empty).

    Args:
        recommended: int[n_lists, K] item indices, -1 = empty slot.
        expected: int[n_lists, k] expected items per row (e.g. `primitive_lists`), -1 = none.
    """
    valid = recommended >= 0
    return list_mean((~_expected_mask(recommended, expected)).astype(np.float64), valid)


def serendipity(recommended: np.ndarray, hits: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """float64[n_lists]: share of each list's items that are relevant and unexpected (NaN if empty).

    Args:
        recommended: int[n_lists, K] item indices, -1 = empty slot.
        hits: bool[n_lists, K] the slot's item is relevant.
        expected: int[n_lists, k] expected items per row, -1 = none.
    """
    valid = recommended >= 0
    return list_mean((hits & ~_expected_mask(recommended, expected)).astype(np.float64), valid)
