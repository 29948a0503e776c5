"""Bundle scorers: each maps users to a score per bundle from the `BundleSignals`.

    popular       number of train users of the bundle
    ease          EASE on the user–bundle train matrix X (Steck 2019): X Bλ
    item-overlap  the user's items inside the bundle: |I_u ∩ I_b| / |I_b|^γ
    text          cosine of the user's mean item vector and the bundle's mean item vector
    fused         EASE whose Gram matrix also counts each item as a pseudo-user of the bundles holding it,
                  G = XᵀX + β·M Mᵀ, read with two extra inputs — the user's item overlap and the bundles
                  of the users with the most similar items — and the text affinity added:
                  (X + a·row_l2(overlap) + b·row_l2(N X)) B + t·text, N = each user's top-n neighbours
                  by cosine of their item sets

The fused model keeps EASE's closed form (one n_bundles² solve, seconds on Youshu); β lets bundles
that share items share weight (so bundles without any train user can be recommended), a lets users'
items vote for the bundles that contain them, b lets users who own similar items vote for theirs,
t lets text speak where the other signals are silent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from prismrec.bundles.signals import BundleSignals
from prismrec.core.ranking import top_k
from prismrec.data.arrays import sparse_from_state, sparse_state
from prismrec.errors import ConfigError
from prismrec.models.ease import ease_weights
from prismrec.params import param
from prismrec.profiles.interests import mean_profile


class BundleScorer(ABC):
    """Scores every bundle for a batch of users.

    Args:
        params: an instance of the class's `Params` dataclass (defaults when None).
    """

    name: ClassVar[str]
    Params: ClassVar[type]
    # parameters that change what `fit` computes; the others are read at scoring time
    fitted_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()
        self._signals: BundleSignals | None = None

    @property
    def signals(self) -> BundleSignals:
        if self._signals is None:
            raise ConfigError(f"bundle scorer '{self.name}' is not fitted")
        return self._signals

    def fit(self, signals: BundleSignals) -> Self:
        """Learn from the signals (kept for scoring)."""
        self._signals = signals
        self._fit(signals)
        return self

    def _fit(self, signals: BundleSignals) -> None:  # noqa: B027  (optional hook: most scorers learn nothing)
        """Learn from `signals`; scorers that only read the signals at scoring time keep this default."""

    @abstractmethod
    def score(self, users: np.ndarray, items: sp.csr_matrix | None = None) -> np.ndarray:
        """float32[len(users), n_bundles]: higher = more relevant.

        Args:
            users: int user indices.
            items: [len(users), n_items] the users' current items (e.g. with events since the fit), replacing
                their rows of `signals.user_items`; None = the fitted rows.
        """

    def state(self) -> dict[str, np.ndarray]:
        """Learned arrays to save (without the signals)."""
        return {}

    def restore(self, signals: BundleSignals, arrays: dict[str, np.ndarray]) -> None:
        """Reattach the signals and the arrays written by `state`; scorers without state refit (cheap)."""
        self.fit(signals)


@dataclass(frozen=True)
class NoParams:
    """The scorer has no parameters."""


class PopularBundles(BundleScorer):
    name = "popular"
    Params = NoParams

    def score(self, users: np.ndarray, items: sp.csr_matrix | None = None) -> np.ndarray:
        takers = self.signals.takers
        return np.broadcast_to(takers, (len(users), len(takers))).copy()


@dataclass(frozen=True)
class BundleEASEParams:
    lambda_: float = param(500.0, "L2 regularisation λ added to the bundle Gram matrix diagonal", min=0.0)


class BundleEASE(BundleScorer):
    name = "ease"
    Params = BundleEASEParams
    fitted_params = ("lambda_",)

    def _fit(self, signals: BundleSignals) -> None:
        self.weights = ease_weights(self._gram(signals), self.params.lambda_, f"bundle scorer '{self.name}'")

    def _gram(self, signals: BundleSignals) -> np.ndarray:
        """float64[n_bundles, n_bundles]: XᵀX of the user–bundle train matrix."""
        return (signals.user_bundles.T @ signals.user_bundles).toarray().astype(np.float64)

    def score(self, users: np.ndarray, items: sp.csr_matrix | None = None) -> np.ndarray:
        return np.asarray(self.signals.user_bundles[users] @ self.weights, dtype=np.float32)

    def state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def restore(self, signals: BundleSignals, arrays: dict[str, np.ndarray]) -> None:
        self._signals = signals
        self.weights = np.ascontiguousarray(arrays["weights"], dtype=np.float32)


@dataclass(frozen=True)
class ItemOverlapParams:
    size_exponent: float = param(0.5, "γ in |I_u ∩ I_b| / |I_b|^γ: 0 counts shared items, 1 takes their share",
                                 min=0.0, max=1.0)  # fmt: skip


class ItemOverlap(BundleScorer):
    name = "item-overlap"
    Params = ItemOverlapParams

    def score(self, users: np.ndarray, items: sp.csr_matrix | None = None) -> np.ndarray:
        return item_overlap(self.signals, users, self.params.size_exponent, items).toarray()


@dataclass(frozen=True)
class TextParams:
    """The text scorer has no parameters; it needs item vectors ([encoder] or a dataset with item text)."""


class TextAffinity(BundleScorer):
    name = "text"
    Params = TextParams

    def _fit(self, signals: BundleSignals) -> None:
        signals.require_vectors()  # fail at fit, not at the first request

    def score(self, users: np.ndarray, items: sp.csr_matrix | None = None) -> np.ndarray:
        return text_affinity(self.signals, users, items)


@dataclass(frozen=True)
class FusedParams:
    # defaults: the point chosen on Youshu's tune part (benchmarks/bundles.py)
    lambda_: float = param(250.0, "EASE λ on the diagonal of G = XᵀX + β·M Mᵀ", min=0.0)
    content_weight: float = param(1.0, "β: weight of the items as pseudo-users of the bundles holding them",
                                  min=0.0)  # fmt: skip
    item_weight: float = param(0.5, "a: weight of the user's row-normalised item overlap as EASE input", min=0.0)
    size_exponent: float = param(0.5, "γ of the item overlap |I_u ∩ I_b| / |I_b|^γ", min=0.0, max=1.0)
    neighbour_weight: float = param(0.5, "b: weight of the bundles of the users with the most similar items, as EASE "
                                    "input", min=0.0)  # fmt: skip
    neighbours: int = param(100, "n: neighbours per user by cosine of their item sets", min=1)
    text_weight: float = param(0.0, "t: weight of the text affinity added to the scores (needs item vectors)",
                               min=0.0)  # fmt: skip


class FusedBundleEASE(BundleEASE):
    name = "fused"
    Params = FusedParams
    fitted_params = ("lambda_", "content_weight", "neighbours")

    def _fit(self, signals: BundleSignals) -> None:
        super()._fit(signals)
        self.neighbours = item_neighbours(signals.user_items, self.params.neighbours)

    def _gram(self, signals: BundleSignals) -> np.ndarray:
        """XᵀX + β·M Mᵀ: each item is also a pseudo-user of the bundles holding it."""
        gram = super()._gram(signals)
        if self.params.content_weight > 0:
            gram += self.params.content_weight * (signals.membership @ signals.membership.T).toarray()
        return gram

    def score(self, users: np.ndarray, items: sp.csr_matrix | None = None) -> np.ndarray:
        signals, params = self.signals, self.params
        inputs = signals.user_bundles[users]
        if params.item_weight > 0:
            inputs = inputs + params.item_weight * row_l2(item_overlap(signals, users, params.size_exponent, items))
        if params.neighbour_weight > 0:
            votes = sp.csr_matrix(self.neighbours[users] @ signals.user_bundles)
            inputs = inputs + params.neighbour_weight * row_l2(votes)
        scores = np.asarray(sp.csr_matrix(inputs) @ self.weights, dtype=np.float32)
        if params.text_weight > 0:
            scores += params.text_weight * text_affinity(signals, users, items)
        return scores

    def state(self) -> dict[str, np.ndarray]:
        return {**super().state(), **sparse_state("neighbours", self.neighbours)}

    def restore(self, signals: BundleSignals, arrays: dict[str, np.ndarray]) -> None:
        super().restore(signals, arrays)
        self.neighbours = sparse_from_state("neighbours", arrays)


SCORERS: dict[str, type[BundleScorer]] = {
    cls.name: cls for cls in (PopularBundles, BundleEASE, ItemOverlap, TextAffinity, FusedBundleEASE)
}


def reads_text(name: str, params: Any) -> bool:
    """Whether the bundle scorer `name` with `params` uses the item vectors."""
    return name == TextAffinity.name or getattr(params, "text_weight", 0.0) > 0


def bundle_scorer_class(name: str) -> type[BundleScorer]:
    """The bundle scorer registered under `name`."""
    if name not in SCORERS:
        raise ConfigError(f"unknown bundle scorer '{name}'; choose one of: {', '.join(SCORERS)}")
    return SCORERS[name]


def item_overlap(
    signals: BundleSignals, users: np.ndarray, size_exponent: float, items: sp.csr_matrix | None = None
) -> sp.csr_matrix:
    """float32 CSR [len(users), n_bundles]: |I_u ∩ I_b| / |I_b|^γ (I_u from `items` rows when given)."""
    sizes = np.asarray(signals.membership.sum(axis=1), dtype=np.float64).ravel()
    discount = 1.0 / np.maximum(sizes, 1.0) ** size_exponent
    overlap = sp.csr_matrix(user_item_rows(signals, users, items) @ signals.membership.T)
    return sp.csr_matrix(overlap @ sp.diags(discount.astype(np.float32)), dtype=np.float32)


def item_neighbours(user_items: sp.csr_matrix, n: int, chunk: int = 1024) -> sp.csr_matrix:
    """float32 CSR [n_users, n_users]: each user's n most similar other users by cosine of their item sets.

    Computed in chunks of `chunk` users (dense [chunk, n_users] similarities at a time); users without
    items have no neighbours; ties go to the lower user index.
    """
    norms = np.sqrt(np.asarray(user_items.multiply(user_items).sum(axis=1), dtype=np.float64).ravel())
    unit = sp.csr_matrix(sp.diags((1.0 / np.where(norms == 0, 1.0, norms)).astype(np.float32)) @ user_items)
    n_users = unit.shape[0]
    n = min(n, max(n_users - 1, 1))
    rows, columns, values = [], [], []
    for start in range(0, n_users, chunk):
        block = np.asarray((unit[start : start + chunk] @ unit.T).todense(), dtype=np.float32)
        block[np.arange(len(block)), np.arange(start, start + len(block))] = 0.0  # never one's own neighbour
        found, scores = top_k(block, n)
        keep = scores > 0
        rows.append(np.repeat(np.arange(start, start + len(block)), n)[keep.ravel()])
        columns.append(found[keep])
        values.append(scores[keep])
    if not rows:
        return sp.csr_matrix((n_users, n_users), dtype=np.float32)
    return sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
                         shape=(n_users, n_users), dtype=np.float32)  # fmt: skip


def row_l2(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The rows of `matrix` scaled to unit L2 norm (all-zero rows stay zero)."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float64).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags((1.0 / norms).astype(np.float32)) @ matrix)


def text_affinity(signals: BundleSignals, users: np.ndarray, items: sp.csr_matrix | None = None) -> np.ndarray:
    """float32[len(users), n_bundles]: cos(mean vector of the user's items, the bundle's mean vector)."""
    profiles = mean_profile(user_item_rows(signals, users, items), signals.require_vectors())
    return (profiles @ signals.bundle_vectors.T).astype(np.float32)


def user_item_rows(signals: BundleSignals, users: np.ndarray, items: sp.csr_matrix | None) -> sp.csr_matrix:
    """float32 CSR [len(users), n_items] 0/1: the fitted rows, or `items` (binarised, cut to the fitted items)."""
    if items is None:
        return signals.user_items[users]
    rows = sp.csr_matrix(items[:, : signals.user_items.shape[1]], dtype=np.float32)
    if rows.shape != (len(users), signals.user_items.shape[1]):
        raise ValueError(f"items must have one row per user and ≥ {signals.user_items.shape[1]} columns")
    rows.eliminate_zeros()
    rows.data[:] = 1.0
    return rows

