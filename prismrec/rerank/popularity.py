"""Popularity penalty: rank by z-score - γ · log(1 + train events), a strong simple coverage baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prismrec.params import param
from prismrec.rerank.base import ListReranker, RerankContext


@dataclass(frozen=True)
class PopularityParams:
    gamma: float = param(0.7, "penalty per unit of log(1 + popularity), in standard deviations of the score", min=0.0)


class PopularityPenalty(ListReranker):
    name = "popularity"
    Params = PopularityParams
    knob = "gamma"
    knob_range = (0.0, 2.0)

    def prepare(self, context: RerankContext) -> np.ndarray:
        return np.log1p(np.asarray(context.popularity, dtype=np.float64))

    def select(self, row: int, candidates: np.ndarray, relevance: np.ndarray, prepared: Any, k: int) -> np.ndarray:
        adjusted = relevance - self.params.gamma * prepared[candidates]
        return np.argsort(-adjusted, kind="stable")[:k]
