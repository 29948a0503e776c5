"""The scorer contract: `fit(train) -> self`, `score(users, history) -> float32[n, n_items]`, and
`attribute(user, row, items)`: how much each history item adds to each item's score (explanations).

The public `fit`/`score` are written once here (checks, shapes, fitted flag); each model adds
`_fit` and `_score` on internal integer indices, and `state`/`load_state` for saving as arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from prismrec.data.items import ItemSide
from prismrec.data.schema import Interactions
from prismrec.errors import ConfigError, NotFittedError
from prismrec.models.memory import DataShape
from prismrec.params import validate


class Scorer(ABC):
    """Base class of every scorer.

    Attributes:
        name: registry name, e.g. "ease".
        Params: the frozen dataclass of hyper-parameters.
        params: this instance's hyper-parameters.
    """

    name: ClassVar[str]
    Params: ClassVar[type]
    needs_vectors: ClassVar[bool] = False
    reads_history: ClassVar[bool] = True  # scores follow the history rows given at scoring time
    reads_order: ClassVar[bool] = False  # reads each history's order from its recency weights (half-life > 0)

    def __init__(self, params: Any | None = None, **kwargs: Any) -> None:
        if params is not None and kwargs:
            raise TypeError("pass either a Params object or keyword arguments, not both")
        self.params = params if params is not None else self.Params(**kwargs)
        self.n_items = 0
        self._history: sp.csr_matrix | None = None
        self.side = ItemSide()

    @property
    def fitted(self) -> bool:
        return self._history is not None

    def fit(self, train: Interactions, side: ItemSide | None = None) -> Self:
        """Learn from the train events (value ignored: implicit feedback) and item side data. Returns self."""
        return self.fit_matrix(train.matrix(binary=True), side)

    def fit_matrix(self, history: sp.csr_matrix, side: ItemSide | None = None) -> Self:
        """`fit` on a binary user-item matrix [n_users, n_items] (hybrids fit their parts this way)."""
        validate(self.params, f"model '{self.name}'")
        self.side = self._checked_side(side or ItemSide(), history.shape[1])
        self.n_items = history.shape[1]
        self._fit(history)
        self._history = history
        return self

    def _checked_side(self, side: ItemSide, n_items: int) -> ItemSide:
        if self.needs_vectors and side.vectors is None:
            raise ConfigError(
                f"model '{self.name}' reads item text: add an [encoder] section to the config "
                "(e.g. model = \"all-MiniLM-L6-v2\" or \"tfidf\") and give the items file"
            )
        if side.vectors is not None and len(side.vectors) != n_items:
            raise ConfigError(f"item vectors have {len(side.vectors)} rows for {n_items} items")
        return side

    def score(self, users: np.ndarray, history: sp.csr_matrix | None = None) -> np.ndarray:
        """float32[len(users), n_items]: higher = better.

        Args:
            users: int[n] user indices of the fitted index space.
            history: optional CSR [n, n_items] of the users' (weighted) histories; by default the
                train history. Models that score from history (item-item models) use it; factor
                models use the user factors learned in `fit`.
        """
        if self._history is None:
            raise NotFittedError(f"model '{self.name}' is not fitted; call fit(train) first")
        users = np.asarray(users, dtype=np.int64)
        if history is None:
            history = self._history[users]
        scores = self._score(users, history.tocsr())
        return np.asarray(scores, dtype=np.float32)

    def sparse_scores(self, users: np.ndarray, history: sp.csr_matrix) -> sp.csr_matrix | None:
        """The scores as CSR [n, n_items], exact where stored and 0 elsewhere (None: dense only).

        Ranking then costs each row's stored entries instead of the whole catalogue (`core.ranking.sparse_top_k`).
        """
        return None

    def factors(self, users: np.ndarray, history: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray] | None:
        """(user vectors float32[n, f], item vectors float32[n_items, f]) with scores = users @ items.T exactly,
        for scorers that are inner products (None: they are not). Large catalogues are then searched by ANN."""
        return None

    def peak_bytes(self, shape: DataShape) -> int:
        """Bytes the fit needs at its peak, estimated from the data's shape (an upper estimate).

        The default counts the binary matrix, its transpose and one working copy; models with large
        state (item × item, factors, networks) add theirs.
        """
        return 3 * shape.matrix_bytes

    def attribute(self, user: int, row: sp.csr_matrix, items: np.ndarray) -> np.ndarray | None:
        """float32[len(items), row.nnz]: each history item's contribution to each item's score.

        Column j belongs to `row.indices[j]`. Models linear in the history give weight × their own
        item–item relation (`item_relation`); the others the score drop when the history item is left
        out (one scoring call over the row's leave-one-out copies). None when the scores do not follow
        the history (e.g. popularity, learned user factors).

        Args:
            user: the row's user index (factor models read its factors).
            row: CSR [1, n_items] the weighted history the item was scored from.
            items: int[m] the items to explain.
        """
        if not self.reads_history:
            return None
        items = np.asarray(items, dtype=np.int64)
        row = row.tocsr()
        relation = self.item_relation(row.indices, items)
        if relation is not None:
            return (row.data[:, None] * relation).T.astype(np.float32)
        n = row.nnz
        full = self.score(np.array([user]), row)[0, items]
        indices = np.tile(row.indices, n)
        data = np.tile(row.data, n).astype(np.float32)
        data[np.arange(n) * n + np.arange(n)] = 0.0  # copy j leaves history item j out
        copies = sp.csr_matrix((data, indices, np.arange(0, n * n + 1, n)), shape=(n, row.shape[1]))
        copies.eliminate_zeros()
        without = self.score(np.full(n, user), copies)[:, items]  # [n, m]
        return (full[None, :] - without).T.astype(np.float32)

    def item_relation(self, seen: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        """float[len(seen), len(items)]: r(j, i) with score(u, i) = sum_j h_uj r(j, i), for linear models."""
        return None

    @abstractmethod
    def _fit(self, history: sp.csr_matrix) -> None:
        """Learn from the binary user-item matrix [n_users, n_items]."""

    @abstractmethod
    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Scores [len(users), n_items] from user indices and their history rows."""

    @abstractmethod
    def state(self) -> dict[str, np.ndarray]:
        """The learned arrays, by name (saved as .npy files)."""

    @abstractmethod
    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the learned arrays written by `state`."""

    def restore(self, arrays: dict[str, np.ndarray], history: sp.csr_matrix, side: ItemSide | None = None) -> Self:
        """Make a fitted scorer from saved arrays, the train history and the item side data."""
        self.side = self._checked_side(side or ItemSide(), history.shape[1])
        self.n_items = history.shape[1]
        self._history = history.tocsr()
        self.load_state(arrays)
        return self
