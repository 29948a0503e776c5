"""Item-kNN: cosine similarity between item columns of the user-item matrix, with shrinkage.

sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i| |U_j|) + shrinkage); each target item keeps its
`neighbours` most similar items; score(u, i) = sum of sim(j, i) over the items j in u's history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from prismrec.data.arrays import sparse_from_state, sparse_state
from prismrec.models.base import Scorer
from prismrec.models.memory import DataShape
from prismrec.params import param

BLOCK_BYTES = 512 << 20  # working memory of one block of target items while pruning (bytes)
BYTES_PER_CELL = 20  # float32 counts, their negation, the float32 norm product and argpartition's int64 order


@dataclass(frozen=True)
class ItemKNNParams:
    neighbours: int = param(200, "neighbours kept per target item", min=1)
    shrinkage: float = param(0.0, "added to the cosine denominator; damps pairs with little support", min=0.0)
    similarity: str = param("cosine", "similarity measure", choices=("cosine",))


class ItemKNN(Scorer):
    name = "itemknn"
    Params = ItemKNNParams

    def peak_bytes(self, shape: DataShape) -> int:
        """The matrix and its transposes, one block of co-occurrence counts (dense cells + a sparse copy bounded by
        the block's share of the co-occurrence products) and the kept neighbours (COO, then CSR)."""
        block = block_size(shape.n_items)
        share = block / max(shape.n_items, 1)
        co_block = min(shape.n_items * block, int(shape.degree_squares * share))
        kept = shape.n_items * min(self.params.neighbours, max(shape.n_items - 1, 1))
        return 3 * shape.matrix_bytes + BYTES_PER_CELL * shape.n_items * block + 12 * co_block + 2 * 24 * kept


    def _fit(self, history: sp.csr_matrix) -> None:
        """Top-k cosine neighbours per target item, computed block by block of target items (bounded memory)."""
        shrinkage = self.params.shrinkage

        def cosine(counts: np.ndarray, norms: np.ndarray, start: int, stop: int) -> None:
            counts /= norms[:, None] * norms[None, start:stop] + shrinkage + 1e-12

        self.similarity = top_cooccurrences(history, self.params.neighbours, cosine).astype(np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return (history @ self.similarity).toarray()

    def sparse_scores(self, users: np.ndarray, history: sp.csr_matrix) -> sp.csr_matrix | None:
        """history @ similarity without densifying; None when a history weight is negative (not all scores ≥ 0)."""
        history = history.tocsr()
        if self._history is None or history.shape[1] != self.n_items or (history.data < 0).any():
            return None
        scores = (history @ self.similarity).tocsr()
        scores.data = scores.data.astype(np.float32)
        scores.eliminate_zeros()
        return scores

    def item_relation(self, seen: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.similarity[seen][:, items].toarray()

    def state(self) -> dict[str, np.ndarray]:
        return sparse_state("similarity", self.similarity)

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.similarity = sparse_from_state("similarity", arrays)


def block_size(n_items: int) -> int:
    """Target items per block of co-occurrence counts: BLOCK_BYTES of working cells (at least 1, at most all)."""
    return int(min(max(BLOCK_BYTES // (BYTES_PER_CELL * max(n_items, 1)), 1), max(n_items, 1)))


def top_cooccurrences(history: sp.csr_matrix, neighbours: int,
                      scale: Callable[[np.ndarray, np.ndarray, int, int], None] | None = None) -> sp.csr_matrix:
    """CSR [n, n]: column i holds the `neighbours` largest positive off-diagonal co-occurrence values of item i.

    Computed block by block of target items, so the dense working set is BLOCK_BYTES whatever n is.

    Args:
        history: user–item matrix [n_users, n] (binarised here).
        neighbours: values kept per target item.
        scale: optional, rescales a float32 block of counts [n, stop - start] in place, given the items'
            sqrt(user counts) float32[n] and the block's target range (e.g. cosine normalisation).
    """
    binary = sp.csr_matrix(history, dtype=np.float32)
    binary.data[:] = 1.0
    item_users, by_item = binary.T.tocsr(), binary.tocsc()
    norms = np.sqrt(np.asarray(item_users.sum(axis=1)).ravel()).astype(np.float32)
    n = binary.shape[1]
    k = min(neighbours, max(n - 1, 1))
    step = block_size(n)
    rows, cols, vals = [], [], []
    for start in range(0, n, step):
        stop = min(n, start + step)
        block = (item_users @ by_item[:, start:stop]).toarray()  # [n, block] co-occurrence counts
        if scale is not None:
            scale(block, norms, start, stop)
        block[np.arange(start, stop), np.arange(stop - start)] = 0.0
        top = np.argpartition(-block, k - 1, axis=0)[:k] if k < n else np.argsort(-block, axis=0)
        values = np.take_along_axis(block, top, axis=0)
        keep = values > 0
        rows.append(top[keep].astype(np.int32))
        cols.append(np.broadcast_to(np.arange(start, stop, dtype=np.int32), top.shape)[keep])
        vals.append(values[keep])
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
