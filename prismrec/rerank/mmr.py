"""Maximal marginal relevance (Carbonell & Goldstein 1998).

Each step picks the candidate maximising (1 - λ) · r_i - λ · max_{j in list} sim(i, j), where r is the
candidates' scores min-max scaled to [0, 1] and sim the cosine of item vectors or category sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prismrec.params import param
from prismrec.rerank.base import unit_interval
from prismrec.rerank.similarity import SIMILARITIES, FeatureReranker


@dataclass(frozen=True)
class MMRParams:
    lambda_: float = param(0.3, "diversity weight: 0 keeps the score order, 1 ignores relevance", min=0.0, max=1.0)
    similarity: str = param("embedding", "what makes two items alike", choices=SIMILARITIES)


class MMR(FeatureReranker):
    name = "mmr"
    Params = MMRParams
    knob = "lambda"
    knob_range = (0.0, 0.9)

    def select(self, row: int, candidates: np.ndarray, relevance: np.ndarray, prepared: Any, k: int) -> np.ndarray:
        return mmr_select(prepared[candidates], unit_interval(relevance), self.params.lambda_, k)


def mmr_select(features: np.ndarray, relevance: np.ndarray, weight: float, k: int) -> np.ndarray:
    """int64[k] positions chosen by MMR.

    Args:
        features: float32[m, f] unit feature rows of the candidates.
        relevance: float64[m] relevance in [0, 1].
        weight: λ in [0, 1].
        k: list length (<= m).
    """
    m = len(relevance)
    chosen = np.empty(k, dtype=np.int64)
    max_similarity = np.zeros(m)
    available = np.ones(m, dtype=bool)
    for step in range(k):
        gain = np.where(available, (1.0 - weight) * relevance - weight * max_similarity, -np.inf)
        pick = int(np.argmax(gain))
        chosen[step] = pick
        available[pick] = False
        similarity = features @ features[pick]
        max_similarity = similarity if step == 0 else np.maximum(max_similarity, similarity)
    return chosen
