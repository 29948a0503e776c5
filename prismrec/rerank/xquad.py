"""xQuAD (Santos et al. 2010) over categories: cover the categories of the user's history.

Each step picks the candidate maximising

    (1 - λ) · r_i + λ · Σ_c p(c|u) · J(i, c) · Π_{j in list} (1 - J(j, c)),

where p(c|u) is the history's category distribution, J(i, c) = 1 when item i has category c, and r
the scores min-max scaled to [0, 1]: a category already in the list earns nothing more, so the
list covers the user's categories in order of their weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prismrec.params import param
from prismrec.rerank.base import unit_interval
from prismrec.rerank.categories import CategoryReranker


@dataclass(frozen=True)
class XQuADParams:
    lambda_: float = param(0.3, "coverage weight: 0 keeps the score order", min=0.0, max=1.0)


class XQuAD(CategoryReranker):
    name = "xquad"
    Params = XQuADParams
    knob = "lambda"
    knob_range = (0.0, 0.9)

    def select(self, row: int, candidates: np.ndarray, relevance: np.ndarray, prepared: Any, k: int) -> np.ndarray:
        membership = (prepared.shares[candidates] > 0).astype(np.float64)
        return xquad_select(membership, unit_interval(relevance), prepared.targets[row], self.params.lambda_, k)


def xquad_select(
    membership: np.ndarray, relevance: np.ndarray, target: np.ndarray, weight: float, k: int
) -> np.ndarray:
    """int64[k] positions chosen greedily.

    Args:
        membership: float64[m, C] 1 where the candidate has the category.
        relevance: float64[m] in [0, 1].
        target: float64[C] the user's category distribution (zeros: plain score order).
        weight: λ in [0, 1].
        k: list length (<= m).
    """
    chosen = np.empty(k, dtype=np.int64)
    available = np.ones(len(relevance), dtype=bool)
    uncovered = np.ones(len(target))
    for step in range(k):
        gain = (1.0 - weight) * relevance + weight * (membership @ (target * uncovered))
        pick = int(np.argmax(np.where(available, gain, -np.inf)))
        chosen[step] = pick
        available[pick] = False
        uncovered *= 1.0 - membership[pick]
    return chosen
