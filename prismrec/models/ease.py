"""EASE (Steck, WWW 2019): a closed-form item-item linear autoencoder with a zero diagonal.

B = I - P / diag(P) with P = (XᵀX + λI)⁻¹; score(u) = x_u B. The n_items² matrix is dense, so
EASE suits catalogues up to a few tens of thousands of items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from prismrec.errors import ConfigError
from prismrec.models.base import Scorer
from prismrec.models.memory import DataShape
from prismrec.params import param


@dataclass(frozen=True)
class EASEParams:
    lambda_: float = param(250.0, "L2 regularisation λ added to the Gram matrix diagonal", min=0.0)


class EASE(Scorer):
    name = "ease"
    Params = EASEParams

    def peak_bytes(self, shape: DataShape) -> int:
        """The dense float64 Gram matrix, the identity and the inverse, a float64 temporary and the float32 weights."""
        return 36 * shape.n_items**2 + 3 * shape.matrix_bytes

    def _fit(self, history: sp.csr_matrix) -> None:
        gram = (history.T @ history).toarray().astype(np.float64)
        self.weights = ease_weights(gram, self.params.lambda_, "model 'ease'")

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return np.asarray(history @ self.weights)

    def item_relation(self, seen: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.weights[np.ix_(seen, items)]

    def state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.weights = np.ascontiguousarray(arrays["weights"], dtype=np.float32)


def ease_weights(gram: np.ndarray, lambda_: float, owner: str) -> np.ndarray:
    """float32[n, n] EASE weights B = I - P / diag(P), P = (G + λI)⁻¹, with a zero diagonal.

    Args:
        gram: float64[n, n] symmetric Gram matrix (overwritten).
        lambda_: λ added to the diagonal.
        owner: names the model in the error raised when G + λI is singular.
    """
    gram[np.diag_indices_from(gram)] += lambda_
    # Cholesky solve: the regularised Gram matrix is symmetric positive definite when λ > 0.
    try:
        inverse = scipy.linalg.cho_solve(scipy.linalg.cho_factor(gram, overwrite_a=True), np.eye(len(gram)))
    except np.linalg.LinAlgError:
        raise ConfigError(
            f"{owner}: XᵀX + λI is singular for lambda={lambda_} (some columns have identical or empty "
            "row sets); use lambda > 0"
        ) from None
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return np.ascontiguousarray(weights, dtype=np.float32)  # row order: sparse rows @ B reads it in place
