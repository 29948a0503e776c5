"""Matrix factorisation from `implicit`: ALS (Hu, Koren & Volinsky 2008) and BPR (Rendle et al. 2009).

score(u, i) = user_factors[u] · item_factors[i]. Factors are learned for the fitted users; a
user without train events has a zero factor (the pipeline gives such users popular items).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from prismrec.models.base import Scorer
from prismrec.models.memory import DataShape
from prismrec.params import param


@dataclass(frozen=True)
class ALSParams:
    factors: int = param(64, "latent dimensions", min=1)
    regularization: float = param(5.0, "L2 penalty on the factors", min=0.0)
    alpha: float = param(0.5, "confidence weight of an observed event (c = 1 + alpha)", min=0.0)
    iterations: int = param(15, "alternating sweeps", min=1)
    seed: int = param(42, "random seed of the initial factors")


@dataclass(frozen=True)
class BPRParams:
    factors: int = param(32, "latent dimensions (implicit adds one bias dimension)", min=1)
    learning_rate: float = param(0.002, "SGD step size", min=0.0)
    regularization: float = param(0.01, "L2 penalty", min=0.0)
    iterations: int = param(300, "epochs over the train events", min=1)
    seed: int = param(42, "random seed (sampling and initial factors)")


class _Factorization(Scorer):
    reads_history = False  # scores do not follow the history rows
    def peak_bytes(self, shape: DataShape) -> int:
        """implicit's user–item and item–user copies, the float32 factors (+ a copy each)."""
        return 5 * shape.matrix_bytes + 2 * 4 * (shape.n_users + shape.n_items) * (self.params.factors + 1)

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return self.user_factors[users] @ self.item_factors.T

    def factors(self, users: np.ndarray, history: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        return self.user_factors[np.asarray(users, dtype=np.int64)], self.item_factors

    def _train(self, model: object, history: sp.csr_matrix) -> None:
        """Fit an implicit model with one BLAS thread (implicit asks for it) and keep its factors."""
        with threadpool_limits(1, "blas"):
            model.fit(history.astype(np.float32), show_progress=False)  # type: ignore[attr-defined]
        self._store(model)

    def _store(self, model: object) -> None:
        self.user_factors = np.ascontiguousarray(model.user_factors, dtype=np.float32)  # type: ignore[attr-defined]
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)  # type: ignore[attr-defined]

    def state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = arrays["user_factors"]
        self.item_factors = arrays["item_factors"]


class ALS(_Factorization):
    name = "als"
    Params = ALSParams

    def _fit(self, history: sp.csr_matrix) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        with threadpool_limits(1, "blas"):  # the constructor already checks the BLAS set-up
            model = AlternatingLeastSquares(
                factors=p.factors, regularization=p.regularization, alpha=p.alpha,
                iterations=p.iterations, random_state=p.seed,
            )  # fmt: skip
        self._train(model, history)

    def attribute(self, user: int, row: sp.csr_matrix, items: np.ndarray) -> np.ndarray:
        """float32[m, row.nnz]: each history item's share of the fold-in ALS score (Hu, Koren & Volinsky 2008, §5).

        The user factor solved from the row, x = W Yᵀ C p with W = (YᵀY + Yᵀ(C − I)Y + λI)⁻¹ and
        confidence c_j = alpha · h_j (implicit's convention), makes the score sum_j c_j · y_iᵀ W y_j.
        """
        row = row.tocsr()
        factors = self.item_factors.astype(np.float64)
        seen = factors[row.indices]  # [n, d]
        confidence = self.params.alpha * row.data.astype(np.float64)
        system = factors.T @ factors + seen.T @ ((confidence - 1.0)[:, None] * seen)
        system[np.diag_indices_from(system)] += self.params.regularization
        weighted = np.linalg.solve(system, seen.T) * confidence[None, :]  # W Yₛᵀ C, [d, n]
        return (factors[np.asarray(items, dtype=np.int64)] @ weighted).astype(np.float32)


class BPR(_Factorization):
    name = "bpr"
    Params = BPRParams

    def _fit(self, history: sp.csr_matrix) -> None:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        p = self.params
        # One thread: implicit's multi-threaded BPR is Hogwild SGD and not reproducible.
        with threadpool_limits(1, "blas"):
            model = BayesianPersonalizedRanking(
                factors=p.factors, learning_rate=p.learning_rate, regularization=p.regularization,
                iterations=p.iterations, random_state=p.seed, num_threads=1,
            )  # fmt: skip
        self._train(model, history)
