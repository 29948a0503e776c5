"""The re-ranker contract: choose K of each user's top-M scored candidates, best first.

The Pipeline scores every item, keeps each user's top-M (`recommend.candidates`) and hands them to
the configured `Reranker` with a `RerankContext` (item vectors, categories, popularity, the users'
weighted histories, exposure counters). Every re-ranker has one diversity knob (`knob`, a public
parameter name; `knob_range` is the sweep range of `prismrec tradeoff`).

Most re-rankers build each list greedily and independently (`ListReranker.select`): every step
scores all remaining candidates at once with numpy; only the K steps and the users are loops.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from prismrec.data.items import ItemSide
from prismrec.errors import ConfigError
from prismrec.params import validate


@dataclass(frozen=True)
class RerankContext:
    """What a re-ranker may read besides the candidates.

    Attributes:
        side: item vectors (float32[n_items, d], unit rows) and categories (0/1 CSR [n_items, n_categories]).
        popularity: float64[n_items] train events per item.
        history: CSR [n_users_in_batch, n_items] weighted histories, row r = the user of candidate row r.
        exposure: running exposure counts shared across lists (cross-user re-rankers), or None.
    """

    side: ItemSide
    popularity: np.ndarray
    history: sp.csr_matrix
    exposure: Any = None


class Reranker(ABC):
    """Base class of every re-ranker.

    Attributes:
        name: registry name, e.g. "mmr".
        Params: frozen dataclass of parameters.
        knob: public name of the parameter that trades relevance for diversity.
        knob_range: (from, to) values swept by `prismrec tradeoff`, from least to most diverse.
        cross_user: True when lists depend on the lists built before them (exposure counters):
            the Pipeline then shares one counter over a whole `recommend` call.
    """

    name: ClassVar[str]
    Params: ClassVar[type]
    knob: ClassVar[str]
    knob_range: ClassVar[tuple[float, float]]
    cross_user: ClassVar[bool] = False

    def __init__(self, params: Any | None = None, **kwargs: Any) -> None:
        if params is not None and kwargs:
            raise TypeError("pass either a Params object or keyword arguments, not both")
        self.params = params if params is not None else self.Params(**kwargs)
        validate(self.params, f"re-ranker '{self.name}'")

    @property
    def needs(self) -> set[str]:
        """What the context must hold: any of "vectors", "categories"."""
        return set()

    def check(self, side: ItemSide) -> None:
        """Raise a ConfigError naming what is missing for this re-ranker."""
        if "vectors" in self.needs and side.vectors is None:
            raise ConfigError(
                f"re-ranker '{self.name}' compares item vectors: add an [encoder] section to the config "
                "(e.g. model = \"all-MiniLM-L6-v2\"), or choose similarity = \"category\""
            )
        if "categories" in self.needs and side.categories is None:
            raise ConfigError(f"re-ranker '{self.name}' needs item categories, and the catalogue has none")

    def fit(self, history: sp.csr_matrix, side: ItemSide) -> None:
        """Learn from the training users' weighted histories [n_users, n_items] (most re-rankers need nothing)."""
        return None

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what `state` returned."""
        return None

    @abstractmethod
    def rerank(
        self, items: np.ndarray, scores: np.ndarray, context: RerankContext, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Choose K of each row's candidates.

        Args:
            items: int64[n, M] candidate items per user, best score first, -1 = no candidate.
            scores: float32[n, M] their scores (NaN where items is -1).
            context: item data and the users' histories (row r = user of row r).
            k: list length.

        Returns:
            (items int64[n, k], scores float32[n, k]): the chosen items in list order with their
            original scores; -1 / NaN where a row has fewer than k candidates.
        """


class ListReranker(Reranker):
    """A re-ranker that builds each user's list on its own, greedily."""

    def rerank(
        self, items: np.ndarray, scores: np.ndarray, context: RerankContext, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return take_positions(items, scores, self.choose(items, scores, context, k))

    def choose(self, items: np.ndarray, scores: np.ndarray, context: RerankContext, k: int) -> np.ndarray:
        """int64[n, k] positions into each row's candidates in list order (-1 = empty slot)."""
        positions = np.full((len(items), k), -1, dtype=np.int64)
        prepared = self.prepare(context)
        for row in range(len(items)):
            valid = np.flatnonzero(items[row] >= 0)
            if len(valid) == 0:
                continue
            relevance = standardise(scores[row][valid])
            picked = self.select(row, items[row][valid], relevance, prepared, min(k, len(valid)))
            positions[row, : len(picked)] = valid[picked]
        return positions

    def prepare(self, context: RerankContext) -> Any:
        """Per-batch data computed once for all rows (e.g. history category distributions)."""
        return context

    @abstractmethod
    def select(self, row: int, candidates: np.ndarray, relevance: np.ndarray, prepared: Any, k: int) -> np.ndarray:
        """int64[k] positions into `candidates` in list order.

        Args:
            row: the row of the batch (index into the context's history).
            candidates: int64[m] item indices, best score first.
            relevance: float64[m] z-scored scores (mean 0, standard deviation 1 over the m candidates).
            prepared: what `prepare` returned.
            k: how many to choose (k <= m).
        """


def take_positions(
    items: np.ndarray, scores: np.ndarray, positions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(items int64[n, k], scores float32[n, k]) at int[n, k] candidate positions (-1 -> -1 / NaN)."""
    safe = np.maximum(positions, 0)
    chosen = np.where(positions >= 0, np.take_along_axis(items, safe, axis=1), -1).astype(np.int64)
    chosen_scores = np.where(positions >= 0, np.take_along_axis(scores, safe, axis=1), np.nan).astype(np.float32)
    return chosen, chosen_scores


def standardise(scores: np.ndarray) -> np.ndarray:
    """float64[m] z-scores of one list's candidate scores (all zero when they are all equal)."""
    values = np.asarray(scores, dtype=np.float64)
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def unit_interval(relevance: np.ndarray) -> np.ndarray:
    """float64[m] scores min-max scaled to [0, 1] (all ones when they are all equal)."""
    low, high = relevance.min(), relevance.max()
    return (relevance - low) / (high - low) if high > low else np.ones_like(relevance)
