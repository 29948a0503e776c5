"""Per-user diversity: broad histories get broad lists, focused histories stay focused.

Each user's breadth b_u is measured from the weighted history:

- "entropy":   Shannon entropy of the history's category distribution / log(number of categories);
- "spread":    1 - |weighted mean of the unit item vectors| (0 = one direction, near 1 = scattered);
- "interests": number of interests the history supports (`profiles.interests.interest_count`) / max.

At fit, the training users' breadths give an empirical distribution F; a user's diversity level is

    level_u = strength · (floor + (1 - floor) · F(b_u) ** power)

(a fraction of the inner re-ranker's sweep range: 0 = score order, 1 = its most diverse setting),
so `strength` sets how much diversity the broadest users get and `floor`/`power` shape the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from prismrec.data.items import ItemSide, category_distribution
from prismrec.errors import NotFittedError
from prismrec.params import param
from prismrec.profiles.interests import interest_count, normalise
from prismrec.rerank.base import ListReranker, RerankContext
from prismrec.rerank.inner import RerankerComponent, build_inner, with_knob

MEASURES = ("entropy", "spread", "interests")
QUANTILES = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class AdaptiveParams:
    strength: float = param(0.5, "diversity level of the broadest users (fraction of the inner knob's range)",
                            min=0.0, max=1.0)  # fmt: skip
    inner: RerankerComponent = param(RerankerComponent("mmr"), "the re-ranker whose knob is set per user")
    measure: str = param("entropy", "how a history's breadth is measured", choices=MEASURES)
    floor: float = param(0.0, "share of `strength` the most focused users still get", min=0.0, max=1.0)
    power: float = param(1.0, "shape of the mapping from breadth rank to diversity (1 = linear)", min=0.01)
    max_interests: int = param(5, "most interests (measure = interests)", min=1)
    events_per_interest: int = param(10, "history events per extra interest (measure = interests)", min=1)


class Adaptive(ListReranker):
    name = "adaptive"
    Params = AdaptiveParams
    knob = "strength"
    knob_range = (0.0, 1.0)

    def __init__(self, params: Any | None = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.inner = build_inner(self.params.inner, self.name)
        self.quantiles: np.ndarray | None = None

    @property
    def needs(self) -> set[str]:
        own = {"categories"} if self.params.measure == "entropy" else {"vectors"}
        return own | self.inner.needs

    def fit(self, history: sp.csr_matrix, side: ItemSide) -> None:
        """Record the distribution of the training users' breadths (101 quantiles)."""
        values = breadth(history, side, self.params)
        values = values[np.diff(history.indptr) > 0]
        self.quantiles = np.quantile(values, QUANTILES) if len(values) else np.zeros(len(QUANTILES))

    def state(self) -> dict[str, np.ndarray]:
        return {} if self.quantiles is None else {"breadth_quantiles": self.quantiles}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.quantiles = np.asarray(arrays["breadth_quantiles"], dtype=np.float64)

    def levels(self, history: sp.csr_matrix, side: ItemSide) -> np.ndarray:
        """float64[n] each history row's diversity level in [0, 1]."""
        if self.quantiles is None:
            raise NotFittedError("the adaptive re-ranker is not fitted")
        rank = np.interp(breadth(history, side, self.params), self.quantiles, QUANTILES)
        p = self.params
        return p.strength * (p.floor + (1.0 - p.floor) * rank**p.power)

    def prepare(self, context: RerankContext) -> tuple[Any, np.ndarray]:
        return self.inner.prepare(context), self.levels(context.history, context.side)

    def select(self, row: int, candidates: np.ndarray, relevance: np.ndarray, prepared: Any, k: int) -> np.ndarray:
        inner_prepared, levels = prepared
        return with_knob(self.inner, float(levels[row])).select(row, candidates, relevance, inner_prepared, k)


def breadth(history: sp.csr_matrix, side: ItemSide, params: AdaptiveParams) -> np.ndarray:
    """float64[n] breadth of each weighted history row in [0, 1] (0 for an empty row)."""
    history = history.tocsr()
    if params.measure == "entropy":
        assert side.categories is not None
        distribution = category_distribution(history, side.categories)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.sum(np.where(distribution > 0, distribution * np.log(distribution), 0.0), axis=1)
        return entropy / np.log(max(side.categories.shape[1], 2))
    assert side.vectors is not None
    weights = np.asarray(history.sum(axis=1)).ravel()
    mean = np.asarray(history @ normalise(side.vectors), dtype=np.float64) / np.maximum(weights, 1e-12)[:, None]
    spread = np.where(weights > 0, 1.0 - np.linalg.norm(mean, axis=1), 0.0)
    if params.measure == "spread":
        return spread
    events = np.diff(history.indptr)
    counts = [
        interest_count(int(n), float(s), params.max_interests, params.events_per_interest) if n else 0
        for n, s in zip(events, spread, strict=True)
    ]
    return np.asarray(counts, dtype=np.float64) / params.max_interests
