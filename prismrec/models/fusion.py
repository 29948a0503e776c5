"""Score fusion: collaborative filtering and content, with a per-user weight.

score(u) = (1 - w_u) · z(cf(u)) + w_u · z(content(u)), z = per-user z-score. The content weight
moves from `content_weight` (long histories) toward 1 for short ones:
w_u = content_weight + (1 - content_weight) · exp(-n_u / short_history), n_u = history length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from prismrec.models.base import Scorer
from prismrec.models.composite import ScorerComponent, build_scorer, prefixed, restore_part, standardise
from prismrec.models.memory import DataShape
from prismrec.params import param

EASE_250 = ScorerComponent("ease", (("lambda", 250.0),))
CONTENT = ScorerComponent("content")


@dataclass(frozen=True)
class FusionParams:
    cf: ScorerComponent = param(EASE_250, "the collaborative-filtering scorer ([scorer.cf])")
    content: ScorerComponent = param(CONTENT, "the text scorer ([scorer.content])")
    content_weight: float = param(0.2, "weight of the content scores for long histories", min=0.0, max=1.0)
    short_history: float = param(5.0, "history length (events) at which the extra content weight has "
                                      "fallen to 1/e; 0 = fixed weight", min=0.0)  # fmt: skip


class Fusion(Scorer):
    name = "fusion"
    Params = FusionParams
    needs_vectors = True

    def peak_bytes(self, shape: DataShape) -> int:
        """Both parts, fitted one after the other and then held together."""
        return build_scorer(self.params.cf).peak_bytes(shape) + build_scorer(self.params.content).peak_bytes(shape)

    def _fit(self, history: sp.csr_matrix) -> None:
        self.cf = build_scorer(self.params.cf).fit_matrix(history, self.side)
        self.content = build_scorer(self.params.content).fit_matrix(history, self.side)

    def user_weights(self, history: sp.csr_matrix) -> np.ndarray:
        """float32[n]: the content weight of each history row."""
        p = self.params
        n = np.diff(history.indptr).astype(np.float64)
        extra = np.exp(-n / p.short_history) if p.short_history > 0 else np.zeros_like(n)
        return (p.content_weight + (1.0 - p.content_weight) * extra).astype(np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        weight = self.user_weights(history)[:, None]
        cf = standardise(self.cf.score(users, history))
        content = standardise(self.content.score(users, history))
        return (1.0 - weight) * cf + weight * content

    def state(self) -> dict[str, np.ndarray]:
        return {**prefixed("cf", self.cf.state()), **prefixed("content", self.content.state())}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        assert self._history is not None
        self.cf = restore_part(build_scorer(self.params.cf), "cf", arrays, self._history, self.side)
        self.content = restore_part(build_scorer(self.params.content), "content", arrays, self._history, self.side)
