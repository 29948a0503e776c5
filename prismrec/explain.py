"""Why an item was recommended, in words, from the user's history and the item vectors.

Two kinds of reason, joined by "; ":
- "similar to “<title>”": the history item that contributes most to the recommended item, i.e.
  the largest (recency weight × similarity). Similarity is the co-occurrence cosine of the two
  items in the train data (what collaborative filtering learns), averaged with the cosine of their
  text vectors when the pipeline has them (so items without events still get a reason);
- "matches your interest in <category>": among the recommended item's categories, the one the
  user over-represents most (share of the weighted history / share of the catalogue), named when
  its share is at least `min_share` and it is over-represented by at least `min_lift`.
Users without history get "popular with other users".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from prismrec.models.base import ItemSide

NO_HISTORY = "popular with other users"


@dataclass(frozen=True)
class Explainer:
    """Turns (history, recommended items) into reasons.

    Attributes:
        titles: display title per item index.
        side: item vectors and categories of the pipeline.
        train: binary CSR [n_users, n_items] of the train events (co-occurrence fallback).
        min_share: smallest share of the history a category needs to be named.
    """

    titles: list[str]
    side: ItemSide
    train: sp.csr_matrix
    min_share: float = 0.1
    min_lift: float = 1.2

    def reasons(self, history: sp.csr_matrix, items: np.ndarray) -> list[list[str]]:
        """One reason per list slot: history CSR [n, n_items] (weighted), items int[n, k] (-1 = empty)."""
        history = history.tocsr()
        by_item = self.by_item
        out = []
        for row in range(history.shape[0]):
            seen, weights = history[row].indices, history[row].data
            listed = items[row][items[row] >= 0]
            if len(seen) == 0:
                out.append([NO_HISTORY] * len(listed))
                continue
            similar = self._similar(listed, seen, weights, by_item)
            interest = self._interest(listed, seen, weights)
            out.append(["; ".join(r for r in pair if r) for pair in zip(similar, interest, strict=True)])
        return out

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

    def _similar(self, listed: np.ndarray, seen: np.ndarray, weights: np.ndarray, by_item: sp.csr_matrix) -> list[str]:
        contribution = self._similarity(listed, seen, by_item) * weights[None, :]
        best = np.argmax(contribution, axis=1)
        return [f"similar to “{self.titles[seen[j]]}”" if contribution[r, j] > 0 else ""
                for r, j in enumerate(best)]  # fmt: skip

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
