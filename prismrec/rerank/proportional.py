"""Proportional allocation over a user's interests (PM-2, Dang & Croft 2012).

The user's weighted history is clustered into interests (`profiles.interests.interest_profiles`);
interest a gets a quota v_a = K · w_a / Σ w of the K slots. Each step serves the interest with the
highest quotient qt_a = v_a / (2 s_a + 1) (Sainte-Laguë), where s_a counts the slots it already has:

    pm2_i = f · qt_a* · P(i|a*) + (1 - f) · Σ_{a != a*} qt_a · P(i|a),   P(i|a) = r_i · max(0, cos(v_i, a))

and the candidate maximising (1 - λ) · r_i + λ · pm2_i / max pm2 is placed; it then fills each
interest's seats in proportion to its P(i|a). r is the score min-max scaled to [0, 1]. A user with
one interest keeps the score order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prismrec.params import param
from prismrec.profiles.interests import interest_profiles, normalise
from prismrec.rerank.base import ListReranker, RerankContext, unit_interval


@dataclass(frozen=True)
class ProportionalParams:
    lambda_: float = param(0.5, "weight of the proportional share against the score order", min=0.0, max=1.0)
    focus: float = param(0.5, "PM-2 weight of the interest whose turn it is against the others", min=0.0, max=1.0)
    max_interests: int = param(5, "most interests per user", min=1)
    events_per_interest: int = param(10, "history events needed per extra interest", min=1)


class Proportional(ListReranker):
    name = "proportional"
    Params = ProportionalParams
    knob = "lambda"
    knob_range = (0.0, 1.0)

    @property
    def needs(self) -> set[str]:
        return {"vectors"}

    def prepare(self, context: RerankContext) -> RerankContext:
        return context

    def select(self, row: int, candidates: np.ndarray, relevance: np.ndarray, prepared: Any, k: int) -> np.ndarray:
        p = self.params
        vectors = prepared.side.vectors
        interests, weights = interest_profiles(prepared.history[row], vectors, p.max_interests, p.events_per_interest)
        if len(interests) < 2:
            return np.arange(k)
        affinity = np.maximum(normalise(vectors[candidates]) @ interests.T, 0.0).astype(np.float64)
        return proportional_select(affinity, unit_interval(relevance), weights, p.lambda_, p.focus, k)


def proportional_select(
    affinity: np.ndarray, relevance: np.ndarray, weights: np.ndarray, weight: float, focus: float, k: int
) -> np.ndarray:
    """int64[k] positions chosen by PM-2.

    Args:
        affinity: float64[m, a] non-negative closeness of each candidate to each interest.
        relevance: float64[m] in [0, 1].
        weights: float[a] interest weights.
        weight: λ, the share of the PM-2 term.
        focus: f, PM-2's weight of the interest whose turn it is.
        k: list length (<= m).
    """
    per_aspect = relevance[:, None] * affinity  # P(i|a)
    quota = k * np.asarray(weights, dtype=np.float64) / np.sum(weights)
    seats = np.zeros(len(quota))
    chosen = np.empty(k, dtype=np.int64)
    available = np.ones(len(relevance), dtype=bool)
    for step in range(k):
        quotient = quota / (2.0 * seats + 1.0)
        turn = int(np.argmax(quotient))
        others = per_aspect @ quotient - quotient[turn] * per_aspect[:, turn]
        pm2 = focus * quotient[turn] * per_aspect[:, turn] + (1.0 - focus) * others
        top = pm2[available].max()
        share = pm2 / top if top > 0 else np.zeros_like(pm2)
        gain = np.where(available, (1.0 - weight) * relevance + weight * share, -np.inf)
        pick = int(np.argmax(gain))
        chosen[step] = pick
        available[pick] = False
        total = per_aspect[pick].sum()
        if total > 0:
            seats += per_aspect[pick] / total
    return chosen
