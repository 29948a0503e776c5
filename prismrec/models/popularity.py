"""MostPopular: every user gets the items with the most train users."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from prismrec.models.base import Scorer


@dataclass(frozen=True)
class PopularityParams:
    """MostPopular has no hyper-parameters."""


class MostPopular(Scorer):
    """Score = number of distinct train users of the item (same for every user)."""
    reads_history = False  # scores do not follow the history rows

    name = "most-popular"
    Params = PopularityParams

    def _fit(self, history: sp.csr_matrix) -> None:
        self.counts = np.asarray(history.sum(axis=0)).ravel().astype(np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(users), len(self.counts))).copy()

    def state(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.counts = arrays["counts"]
