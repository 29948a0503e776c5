"""Item-kNN: cosine similarity between item columns of the user-item matrix, with shrinkage.

sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i| |U_j|) + shrinkage); each target item keeps its
`neighbours` most similar items; score(u, i) = sum of sim(j, i) over the items j in u's history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from prismrec.data.arrays import sparse_from_state, sparse_state
from prismrec.models.base import Scorer
from prismrec.params import param

_BLOCK = 1024  # target items per dense block while pruning


@dataclass(frozen=True)
class ItemKNNParams:
    neighbours: int = param(200, "neighbours kept per target item", min=1)
    shrinkage: float = param(0.0, "added to the cosine denominator; damps pairs with little support", min=0.0)
    similarity: str = param("cosine", "similarity measure", choices=("cosine",))


class ItemKNN(Scorer):
    name = "itemknn"
    Params = ItemKNNParams

    def _fit(self, history: sp.csr_matrix) -> None:
        item_users = history.T.tocsr()
        co = (item_users @ item_users.T).tocsc().astype(np.float32)
        norms = np.sqrt(np.asarray(item_users.sum(axis=1)).ravel()).astype(np.float32)
        n = history.shape[1]
        k = min(self.params.neighbours, max(n - 1, 1))
        rows, cols, vals = [], [], []
        for start in range(0, n, _BLOCK):
            stop = min(n, start + _BLOCK)
            block = co[:, start:stop].toarray()
            block /= norms[:, None] * norms[None, start:stop] + self.params.shrinkage + 1e-12
            block[np.arange(start, stop), np.arange(stop - start)] = 0.0
            top = np.argpartition(-block, k - 1, axis=0)[:k] if k < n else np.argsort(-block, axis=0)
            values = np.take_along_axis(block, top, axis=0)
            keep = values > 0
            rows.append(top[keep])
            cols.append(np.broadcast_to(np.arange(start, stop), top.shape)[keep])
            vals.append(values[keep])
        self.similarity = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n), dtype=np.float32
        )

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return (history @ self.similarity).toarray()

    def item_relation(self, seen: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.similarity[seen][:, items].toarray()

    def state(self) -> dict[str, np.ndarray]:
        return sparse_state("similarity", self.similarity)

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.similarity = sparse_from_state("similarity", arrays)
