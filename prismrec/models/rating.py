"""Explicit-rating head: biased matrix factorisation with a text prior on the item biases.

r̂(u, i) = μ + b_u + b_i + p_u · q_i, fitted by alternating ridge regressions on the ratings.
Item biases shrink toward what the item text predicts (a ridge regression from the item vectors to
the item biases of well-rated items), so an item with few or no ratings starts from its text, not
from zero. Predictions are clipped to the rating scale seen in training. As a top-K scorer it ranks
items by predicted rating.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.sparse as sp

from prismrec.data.items import ItemSide
from prismrec.data.schema import Interactions
from prismrec.models.base import Scorer
from prismrec.models.memory import DataShape
from prismrec.params import param


@dataclass(frozen=True)
class RatingParams:
    factors: int = param(32, "latent dimensions (0 = biases only)", min=0)
    regularization: float = param(10.0, "ridge penalty of the factors", min=0.0)
    bias_regularization: float = param(5.0, "ridge penalty of the biases (ratings worth of prior)", min=0.0)
    text_prior: bool = param(True, "shrink item biases toward the prediction from the item text vectors")
    iterations: int = param(10, "alternating sweeps", min=1)
    seed: int = param(42, "seed of the initial factors")


class RatingMF(Scorer):
    reads_history = False  # scores do not follow the history rows
    name = "rating-mf"
    Params = RatingParams

    def fit(self, train: Interactions, side: ItemSide | None = None) -> Self:
        """Fit on the rating values (not the binary matrix)."""
        self._ratings = train.matrix(binary=False)
        return super().fit(train, side)

    def peak_bytes(self, shape: DataShape) -> int:
        """The rating matrix copies and the float32 factors with their gradients."""
        return 5 * shape.matrix_bytes + 3 * 4 * (shape.n_users + shape.n_items) * (self.params.factors + 1)

    def _fit(self, history: sp.csr_matrix) -> None:
        ratings = getattr(self, "_ratings", None)
        ratings = history.astype(np.float32) if ratings is None else ratings.tocsr()
        n_users, n_items = ratings.shape
        users = np.repeat(np.arange(n_users), np.diff(ratings.indptr))
        items, values = ratings.indices, ratings.data.astype(np.float64)
        p = self.params
        self.low, self.high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
        self.mean = float(values.mean()) if len(values) else 0.0
        user_bias, item_bias = np.zeros(n_users), np.zeros(n_items)
        rng = np.random.default_rng(p.seed)
        user_factors = rng.normal(0, 0.1, (n_users, p.factors))
        item_factors = rng.normal(0, 0.1, (n_items, p.factors))
        prior = np.zeros(n_items)
        for _ in range(p.iterations):
            interaction = np.einsum("nk,nk->n", user_factors[users], item_factors[items])
            residual = values - self.mean - item_bias[items] - interaction
            user_bias = _ridge_mean(users, residual, n_users, p.bias_regularization, np.zeros(n_users))
            residual = values - self.mean - user_bias[users] - interaction
            prior = self._text_prior(item_bias, items, n_items)
            item_bias = _ridge_mean(items, residual, n_items, p.bias_regularization, prior)
            if p.factors:
                residual = values - self.mean - user_bias[users] - item_bias[items]
                user_factors = _ridge_factors(users, items, residual, item_factors, n_users, p.regularization)
                item_factors = _ridge_factors(items, users, residual, user_factors, n_items, p.regularization)
        counts = np.bincount(items, minlength=n_items)
        item_bias = np.where(counts > 0, item_bias, prior)  # items never rated: their text prior
        self.user_bias, self.item_bias = user_bias.astype(np.float32), item_bias.astype(np.float32)
        self.user_factors, self.item_factors = user_factors.astype(np.float32), item_factors.astype(np.float32)

    def _text_prior(self, item_bias: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
        """float64[n_items]: item biases predicted from the text vectors (ridge fit on rated items)."""
        vectors = self.side.vectors
        if not self.params.text_prior or vectors is None:
            return np.zeros(n_items)
        rated = np.bincount(items, minlength=n_items) > 0
        x = vectors[rated].astype(np.float64)
        gram = x.T @ x + np.eye(x.shape[1])
        weights = np.linalg.solve(gram, x.T @ item_bias[rated])
        return vectors.astype(np.float64) @ weights

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """float32[n]: clipped predicted rating of each (user, item) pair."""
        users, items = np.asarray(users), np.asarray(items)
        raw = (self.mean + self.user_bias[users] + self.item_bias[items]
               + np.einsum("nk,nk->n", self.user_factors[users], self.item_factors[items]))  # fmt: skip
        return np.clip(raw, self.low, self.high).astype(np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return (self.mean + self.user_bias[users][:, None] + self.item_bias[None, :]
                + self.user_factors[users] @ self.item_factors.T)  # fmt: skip

    def state(self) -> dict[str, np.ndarray]:
        return {
            "scalars": np.array([self.mean, self.low, self.high], dtype=np.float64),
            "user_bias": self.user_bias, "item_bias": self.item_bias,
            "user_factors": self.user_factors, "item_factors": self.item_factors,
        }  # fmt: skip

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.mean, self.low, self.high = (float(x) for x in arrays["scalars"])
        self.user_bias, self.item_bias = arrays["user_bias"], arrays["item_bias"]
        self.user_factors, self.item_factors = arrays["user_factors"], arrays["item_factors"]


def _ridge_mean(groups: np.ndarray, residual: np.ndarray, n: int, penalty: float, prior: np.ndarray) -> np.ndarray:
    """Per-group ridge estimate shrunk toward `prior`: (Σ residual + penalty·prior) / (count + penalty)."""
    total = np.bincount(groups, weights=residual, minlength=n)
    count = np.bincount(groups, minlength=n)
    return (total + penalty * prior) / np.maximum(count + penalty, 1e-12)


def _ridge_factors(rows: np.ndarray, cols: np.ndarray, residual: np.ndarray, other: np.ndarray, n: int,
                   penalty: float) -> np.ndarray:  # fmt: skip
    """Per-row ridge solution of residual ≈ x_row · other[col]: float64[n, k]."""
    k = other.shape[1]
    order = np.argsort(rows, kind="stable")
    rows, cols, residual = rows[order], cols[order], residual[order]
    bounds = np.searchsorted(rows, np.arange(n + 1))
    out = np.zeros((n, k))
    eye = penalty * np.eye(k)
    for r in range(n):
        start, stop = bounds[r], bounds[r + 1]
        if start == stop:
            continue
        y = other[cols[start:stop]]
        out[r] = np.linalg.solve(y.T @ y + eye, y.T @ residual[start:stop])
    return out
