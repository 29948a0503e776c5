"""The scorer contract: `fit(train) -> self`, `score(users, history) -> float32[n, n_items]`.

The public `fit`/`score` are written once here (checks, shapes, fitted flag); each model adds
`_fit` and `_score` on internal integer indices, and `state`/`load_state` for saving as arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from prismrec.data.schema import Interactions
from prismrec.errors import ConfigError, NotFittedError
from prismrec.params import validate


@dataclass(frozen=True)
class ItemSide:
    """What scorers may know about items besides the interactions.

    Attributes:
        vectors: float32[n_items, d] unit-length meaning vectors from the text encoder, or None.
        categories: 0/1 CSR [n_items, n_categories], or None.
        category_names: the label of each category column.
    """

    vectors: np.ndarray | None = None
    categories: sp.csr_matrix | None = None
    category_names: tuple[str, ...] = ()


def category_mask(categories: sp.csr_matrix | None, names: tuple[str, ...], label: str, n_items: int) -> np.ndarray:
    """bool[n_items]: items labelled `label` in a 0/1 item-category matrix (none when the label is unknown)."""
    if categories is None or label not in names:
        return np.zeros(n_items, dtype=bool)
    column = categories.tocsc()[:, names.index(label)]
    return np.asarray(column.todense()).ravel() > 0


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
            raise ValueError(f"item vectors have {len(side.vectors)} rows for {n_items} items")
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


def sparse_state(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A CSR matrix as named arrays (`<prefix>.data`, `.indices`, `.indptr`, `.shape`)."""
    matrix = matrix.tocsr()
    return {
        f"{prefix}.data": matrix.data,
        f"{prefix}.indices": matrix.indices,
        f"{prefix}.indptr": matrix.indptr,
        f"{prefix}.shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def sparse_from_state(prefix: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{prefix}.shape"])
    parts = (arrays[f"{prefix}.data"], arrays[f"{prefix}.indices"], arrays[f"{prefix}.indptr"])
    return sp.csr_matrix(parts, shape=shape)
