"""Random: uniformly random scores, the floor every scorer must clear (e.g. on cold items)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from prismrec.models.base import Scorer
from prismrec.params import param


@dataclass(frozen=True)
class RandomParams:
    seed: int = param(42, "seed; a user's scores depend only on the seed and the user index")


class Random(Scorer):
    reads_history = False  # scores do not follow the history rows
    name = "random"
    Params = RandomParams

    def _fit(self, history: sp.csr_matrix) -> None:
        """Nothing to learn."""

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        rows = [np.random.default_rng([self.params.seed, int(u)]).random(self.n_items) for u in users]
        return np.array(rows, dtype=np.float32).reshape(len(users), self.n_items)

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Stateless."""
