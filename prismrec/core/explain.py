"""Why an item was recommended: the history items behind its score, in words and as data.

For each recommended item the scorer attributes its score to the history items
(`Scorer.attribute`: the exact contribution for models linear in the history — weight × the model's
own item–item relation — and the score drop when the item is left out for the others, e.g. the
two-tower's user tower). The strongest contributor is named:

- "similar to “<title>”": the history item that contributes most to *that* item's score under the
  model that scored it. Scorers that do not read the history at scoring time (popularity, BPR) give
  no attribution; then the co-occurrence cosine of the two items in the train data, averaged with
  their text-vector cosine when the pipeline has vectors, times the history weight, stands in;
- "matches your interest in <category>": among the recommended item's categories, the one the
  user over-represents most (share of the weighted history / share of the catalogue), named when
  its share is at least `min_share` and it is over-represented by at least `min_lift`.

`because` gives the attribution as data: up to `MAX_BECAUSE` history items with positive
contributions, strongest first, each with its share of the positive total. Rows without history get
"popular with other users" and no `because`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from prismrec.core.request import Because
from prismrec.data.items import ItemSide
from prismrec.models.base import Scorer

NO_HISTORY = "popular with other users"
MAX_BECAUSE = 3


@dataclass(frozen=True)
class Explainer:
    """Turns (history, recommended items) into reasons.

    Attributes:
        titles: display title per item index.
        side: item vectors and categories of the pipeline.
        train: binary CSR [n_users, n_items] of the train events (co-occurrence fallback).
        scorer: the fitted scorer whose scores are explained.
        scored_items: items the scorer knows (items added later are explained by the fallback).
        min_share: smallest share of the history a category needs to be named.
    """

    titles: list[str]
    side: ItemSide
    train: sp.csr_matrix
    scorer: Scorer
    scored_items: int
    min_share: float = 0.1
    min_lift: float = 1.2

    def explain(
        self, users: np.ndarray, history: sp.csr_matrix, items: np.ndarray
    ) -> tuple[list[list[str]], list[list[list[Because]]]]:
        """(reasons, because) per filled list slot.

        Args:
            users: int[n] the rows' user indices (factor models read their factors).
            history: CSR [n, n_items] the weighted history rows the lists were scored from.
            items: int[n, k] the lists (-1 = empty slot).
        """
        history = history.tocsr()
        reasons, because = [], []
        for row in range(history.shape[0]):
            seen, weights = history[row].indices, history[row].data
            listed = items[row][items[row] >= 0]
            if len(seen) == 0:
                reasons.append([NO_HISTORY] * len(listed))
                because.append([[] for _ in listed])
                continue
            contribution = self.contributions(int(users[row]), history[row], listed)
            best = np.argmax(contribution, axis=1)
            named = [f"similar to “{self.titles[seen[j]]}”" if contribution[r, j] > 0 else ""
                     for r, j in enumerate(best)]  # fmt: skip
            interest = self._interest(listed, seen, weights)
            reasons.append(["; ".join(r for r in pair if r) for pair in zip(named, interest, strict=True)])
            because.append([_because(seen, contribution[r]) for r in range(len(listed))])
        return reasons, because

    def reasons(self, users: np.ndarray, history: sp.csr_matrix, items: np.ndarray) -> list[list[str]]:
        """One reason per filled list slot (see `explain`)."""
        return self.explain(users, history, items)[0]

    def contributions(self, user: int, row: sp.csr_matrix, listed: np.ndarray) -> np.ndarray:
        """float[len(listed), row.nnz]: how much each history item adds to each listed item's score."""
        seen, weights = row.indices, row.data
        contribution = None
        known = listed < self.scored_items
        if known.all() and (seen < self.scored_items).all():
            contribution = self.scorer.attribute(user, row[:, : self.scored_items], listed)
        if contribution is None:
            contribution = self._similarity(listed, seen, self.by_item) * weights[None, :]
        return contribution

    @cached_property
    def by_item(self) -> sp.csr_matrix:
        """The train events item by item: CSR [n_items, n_users] (built once)."""
        return self.train.T.tocsr()

    @cached_property
    def category_prior(self) -> np.ndarray:
        """float64[n_categories]: share of the catalogue's category labels per category (built once)."""
        assert self.side.categories is not None
        prior = np.asarray(self.side.categories.sum(axis=0), dtype=np.float64).ravel()
        return prior / max(prior.sum(), 1.0)

    def _similarity(self, listed: np.ndarray, seen: np.ndarray, by_item: sp.csr_matrix) -> np.ndarray:
        """float[len(listed), len(seen)] similarity between recommended and history items."""
        a, b = by_item[listed], by_item[seen]
        co = (a @ b.T).toarray()
        norms = np.sqrt(np.outer(a.getnnz(axis=1), b.getnnz(axis=1)))
        behaviour = np.divide(co, norms, out=np.zeros_like(co, dtype=np.float64), where=norms > 0)
        if self.side.vectors is None:
            return behaviour
        return 0.5 * behaviour + 0.5 * (self.side.vectors[listed] @ self.side.vectors[seen].T)

    def _interest(self, listed: np.ndarray, seen: np.ndarray, weights: np.ndarray) -> list[str]:
        categories = self.side.categories
        if categories is None or categories.shape[1] == 0:
            return [""] * len(listed)
        profile = np.asarray(weights @ categories[seen].toarray()).ravel()
        total = profile.sum()
        if total <= 0:
            return [""] * len(listed)
        share = profile / total
        lift = share / np.maximum(self.category_prior, 1e-12)
        reasons = []
        for item in listed:
            own = categories.indices[categories.indptr[item] : categories.indptr[item + 1]]
            own = own[(share[own] >= self.min_share) & (lift[own] >= self.min_lift)]
            if len(own) == 0:
                reasons.append("")
                continue
            reasons.append(f"matches your interest in {self.side.category_names[own[np.argmax(lift[own])]]}")
        return reasons


def _because(seen: np.ndarray, contribution: np.ndarray) -> list[Because]:
    """The strongest positive contributors of one item, with their share of the positive total."""
    positive = np.flatnonzero(contribution > 0)
    if len(positive) == 0:
        return []
    total = float(contribution[positive].sum())
    order = positive[np.argsort(-contribution[positive], kind="stable")][:MAX_BECAUSE]
    return [Because(int(seen[j]), float(contribution[j]) / total) for j in order]
