"""Calibrated re-ranking (Steck 2018): the list's category mix follows the user's history.

p(c|u): the category distribution of the user's history (each item spreads its weight evenly over
its categories; every item counts once, or by its recency weight with history_weights = "recency");
q(c|list) the same over the chosen items. Greedy steps maximise

    (1 - λ) · Σ_{i in list} r_i - λ · KL(p || q~),   q~ = (1 - α) q + α p  (α small keeps KL finite),

with r the candidates' scores min-max scaled to [0, 1]. Users whose history has no categories get
the score order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prismrec.params import param
from prismrec.rerank.base import unit_interval
from prismrec.rerank.categories import CategoryReranker


@dataclass(frozen=True)
class CalibratedParams:
    lambda_: float = param(0.5, "calibration weight: 0 keeps the score order", min=0.0, max=1.0)
    alpha: float = param(0.01, "share of the history mixed into the list distribution (keeps KL finite)",
                         min=1e-6, max=1.0)  # fmt: skip
    history_weights: str = param("uniform", "target mix: every history item once (Steck), or by recency weight",
                                 choices=("uniform", "recency"))  # fmt: skip


class Calibrated(CategoryReranker):
    name = "calibrated"
    Params = CalibratedParams
    knob = "lambda"
    knob_range = (0.0, 0.95)

    def select(self, row: int, candidates: np.ndarray, relevance: np.ndarray, prepared: Any, k: int) -> np.ndarray:
        target = prepared.targets[row]
        if not target.any():
            return np.arange(k)
        return calibrated_select(prepared.shares[candidates], unit_interval(relevance), target, self.params, k)


def calibrated_select(
    shares: np.ndarray, relevance: np.ndarray, target: np.ndarray, params: CalibratedParams, k: int
) -> np.ndarray:
    """int64[k] positions chosen greedily.

    Args:
        shares: float64[m, C] category shares of the candidates (rows sum to 1, or 0 without categories).
        relevance: float64[m] in [0, 1].
        target: float64[C] the history distribution p (sums to 1).
        params: λ and α.
        k: list length (<= m).
    """
    lam, alpha = params.lambda_, params.alpha
    has_categories = shares.sum(axis=1) > 0  # before dropping the categories the history lacks
    support = target > 0
    p = target[support]
    shares = shares[:, support]
    chosen = np.empty(k, dtype=np.int64)
    available = np.ones(len(relevance), dtype=bool)
    mass = np.zeros(len(p))  # category mass of the chosen items
    weight = 0.0  # number of chosen items with categories
    for step in range(k):
        with_each = (mass + shares) / np.maximum(weight + has_categories, 1.0)[:, None]  # [m, |support|]
        kl = np.sum(p * np.log(p / ((1.0 - alpha) * with_each + alpha * p)), axis=1)
        gain = np.where(available, (1.0 - lam) * relevance - lam * kl, -np.inf)
        pick = int(np.argmax(gain))
        chosen[step] = pick
        available[pick] = False
        mass += shares[pick]
        weight += float(has_categories[pick])
    return chosen
