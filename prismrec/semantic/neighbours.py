"""Semantic item-item neighbourhoods from unit vectors, computed in blocks (bounded memory)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

_BLOCK = 2048


def knn_similarity(vectors: np.ndarray, neighbours: int) -> sp.csr_matrix:
    """float32 CSR [n, n]: column i holds the cosines of item i's `neighbours` nearest items (>0, no self).

    Args:
        vectors: float32[n, d] unit rows.
        neighbours: how many neighbours each target item keeps.
    """
    n = len(vectors)
    k = min(neighbours, max(n - 1, 1))
    rows, cols, vals = [], [], []
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        block = vectors @ vectors[start:stop].T  # [n, block]
        block[np.arange(start, stop), np.arange(stop - start)] = -np.inf
        top = np.argpartition(-block, k - 1, axis=0)[:k] if k < n else np.argsort(-block, axis=0)[: n - 1]
        values = np.take_along_axis(block, top, axis=0)
        keep = values > 0
        rows.append(top[keep])
        cols.append(np.broadcast_to(np.arange(start, stop), top.shape)[keep])
        vals.append(values[keep])
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n), dtype=np.float32
    )
