"""Determinantal point process re-ranking by fast greedy MAP inference (Chen, Zhang & Zhou 2018).

Kernel over the M candidates: L = diag(q) (F Fᵀ + ε I) diag(q), with F the unit feature rows (so
F Fᵀ is the cosine similarity) and quality q_i = exp(α z_i) from the z-scored scores, α = θ / (2(1 - θ)):
θ -> 1 ranks by relevance, θ = 0 by diversity alone. The small ridge ε keeps L non-singular when two
items share a feature row (e.g. the same genres).

Greedy MAP adds the item with the largest gain in log det L_S. With the incremental Cholesky rows c_i
and d_i² = L_ii - |c_i|², the gain of item i is log d_i², and adding item j updates every candidate at
once: e_i = (L_ji - <c_j, c_i>) / d_j, c_i <- [c_i, e_i], d_i² <- d_i² - e_i² (O(M·K) per step; kernel
columns are computed on demand, O(M·f)). With a sliding window w the determinant is taken over the
last w - 1 chosen items plus the candidate only (Chen et al., Algorithm 2): items far apart in the
list may repeat a theme.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prismrec.params import param
from prismrec.rerank.similarity import SIMILARITIES, FeatureReranker

# Below this d² a candidate adds no new direction; the rest of the list is then filled by relevance.
MIN_GAIN = 1e-10


@dataclass(frozen=True)
class DPPParams:
    theta: float = param(0.7, "relevance weight θ of the kernel: 1 ranks by score, 0 by diversity", min=0.0, max=0.999)
    window: int = param(0, "sliding window: diversify over the last w items only (0 = the whole list)", min=0)
    similarity: str = param("embedding", "what makes two items alike", choices=SIMILARITIES)
    ridge: float = param(1e-3, "ε added to the similarity diagonal (keeps identical items selectable)", min=0.0)


class DPP(FeatureReranker):
    name = "dpp"
    Params = DPPParams
    knob = "theta"
    knob_range = (0.99, 0.3)

    def select(self, row: int, candidates: np.ndarray, relevance: np.ndarray, prepared: Any, k: int) -> np.ndarray:
        p = self.params
        alpha = p.theta / (2.0 * (1.0 - p.theta))
        quality = np.exp(np.clip(alpha * relevance, -50.0, 50.0))
        return dpp_select(prepared[candidates].astype(np.float64), quality, k, p.window, p.ridge)


def dpp_select(features: np.ndarray, quality: np.ndarray, k: int, window: int = 0, ridge: float = 1e-3) -> np.ndarray:
    """int64[k] positions chosen by greedy MAP on L = diag(q) (F Fᵀ + ridge I) diag(q).

    Args:
        features: float64[m, f] candidate feature rows.
        quality: float64[m] positive qualities.
        k: list length (<= m).
        window: 0 for the whole list, else the determinant covers the last `window - 1` chosen items.
        ridge: ε on the diagonal of the similarity.
    """
    m = len(quality)
    base_d2 = quality**2 * (np.einsum("ij,ij->i", features, features) + ridge)
    chosen = np.empty(k, dtype=np.int64)
    available = np.ones(m, dtype=bool)
    cholesky = np.zeros((k, m))
    d2 = base_d2.copy()
    size = 0  # rows of `cholesky` in use (items the determinant is conditioned on)
    for step in range(k):
        gains = np.where(available, d2, -np.inf)
        pick = int(np.argmax(gains))
        if gains[pick] <= MIN_GAIN:
            rest = np.flatnonzero(available)[: k - step]  # candidates are in score order
            chosen[step:] = rest
            return chosen
        chosen[step] = pick
        available[pick] = False
        if step == k - 1:
            break
        if window and size == window - 1:
            # The window slides: condition on the last window - 1 chosen items, rebuilt from scratch.
            d2, size = base_d2.copy(), 0
            for item in chosen[step - window + 2 : step + 1]:
                size = _condition(features, quality, ridge, cholesky, d2, size, item)
        else:
            size = _condition(features, quality, ridge, cholesky, d2, size, pick)
    return chosen


def _condition(
    features: np.ndarray, quality: np.ndarray, ridge: float, cholesky: np.ndarray, d2: np.ndarray, size: int, item: int
) -> int:
    """Add `item` to the conditioning set: one new Cholesky row for every candidate (in place); returns the new size."""
    column = quality * quality[item] * (features @ features[item])
    column[item] += ridge * quality[item] ** 2
    pivot = np.sqrt(max(d2[item], MIN_GAIN))
    e = (column - cholesky[:size, item] @ cholesky[:size]) / pivot
    cholesky[size] = e
    d2 -= e**2
    return size + 1
