"""Category shares and history targets shared by the category re-rankers (calibrated, xQuAD)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prismrec.data.items import category_distribution, category_shares
from prismrec.rerank.base import ListReranker, RerankContext


@dataclass(frozen=True)
class CategoryTargets:
    """float64 category shares per item [n_items, C] and target distributions per batch row [n, C]."""

    shares: np.ndarray
    targets: np.ndarray


class CategoryShares:
    """Dense item category shares p(c|i) = 1/|G_i| [n_items, C], computed once per category matrix."""

    def __init__(self) -> None:
        self._source: object | None = None
        self._shares = np.zeros((0, 0))

    def targets(self, context: RerankContext, uniform: bool = False) -> CategoryTargets:
        """The shares and each batch row's history distribution p(c|u).

        Args:
            context: the batch.
            uniform: every history item counts once (Steck 2018) instead of by its recency weight.
        """
        categories = context.side.categories
        assert categories is not None
        if categories is not self._source:
            self._shares = category_shares(categories).toarray()
            self._source = categories
        history = context.history
        if uniform:
            history = history.copy()
            history.data[:] = 1.0
        return CategoryTargets(self._shares, category_distribution(history, categories))


class CategoryReranker(ListReranker):
    """A list re-ranker that compares each list's categories with the user's history."""

    def __init__(self, params: Any | None = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.shares = CategoryShares()

    @property
    def needs(self) -> set[str]:
        return {"categories"}

    def prepare(self, context: RerankContext) -> CategoryTargets:
        return self.shares.targets(context, getattr(self.params, "history_weights", "recency") == "uniform")
