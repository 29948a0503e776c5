"""Content scorer: cosine between a user's interest profile(s) and the item text vectors.

With `interests = 1` the profile is the recency-weighted mean of the history vectors. With more,
each user's history is clustered into interests (their number grows with history size and spread)
and an item scores by its best match (`aggregate = "max"`) or a soft maximum over interests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from prismrec.models.base import Scorer
from prismrec.models.memory import DataShape
from prismrec.params import param
from prismrec.profiles.interests import interest_profiles, mean_profile


@dataclass(frozen=True)
class ContentParams:
    interests: int = param(1, "most interests per user (1 = one weighted-mean profile)", min=1, max=32)
    events_per_interest: int = param(10, "history events needed per extra interest", min=1)
    aggregate: str = param("max", "how interests combine: max, or softmax", choices=("max", "softmax"))
    temperature: float = param(0.1, "softmax temperature over interest cosines", min=1e-3)


class Content(Scorer):
    name = "content"
    Params = ContentParams
    needs_vectors = True

    def peak_bytes(self, shape: DataShape) -> int:
        """Nothing is learnt; scoring reads the item vectors (counted by the encoder)."""
        return shape.matrix_bytes

    def _fit(self, history: sp.csr_matrix) -> None:
        """Nothing to learn: the vectors come from the encoder."""

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        vectors = self.side.vectors
        assert vectors is not None
        if self.params.interests == 1:
            return mean_profile(history, vectors) @ vectors.T
        scores = np.zeros((len(users), len(vectors)), dtype=np.float32)
        for row in range(len(users)):
            interests, weights = interest_profiles(
                history[row], vectors, self.params.interests, self.params.events_per_interest
            )
            if len(interests) == 0:
                continue
            cosines = interests @ vectors.T
            if self.params.aggregate == "max":
                scores[row] = cosines.max(axis=0)
            else:
                logits = cosines / self.params.temperature + np.log(weights / weights.sum())[:, None]
                top = logits.max(axis=0)
                scores[row] = self.params.temperature * (top + np.log(np.exp(logits - top).sum(axis=0)))
        return scores

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Stateless beyond the item vectors, which the pipeline restores."""
