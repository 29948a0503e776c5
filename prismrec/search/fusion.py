"""Fusing ranked lists: reciprocal-rank fusion and weighted score fusion."""

from __future__ import annotations

import numpy as np


def reciprocal_rank_fusion(
    rankings: list[np.ndarray], n_items: int, k: int = 60, weights: list[float] | None = None
) -> np.ndarray:
    """float64[n_items]: Σ_j w_j / (k + rank_j), rank from 1 (Cormack et al. 2009); 0 if unranked.

    Args:
        rankings: int arrays of item indices, best first (each may be a different length).
        n_items: catalogue size.
        k: the smoothing constant.
        weights: one weight per ranking (all 1 when None: the original RRF).
    """
    fused = np.zeros(n_items)
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        fused[ranking] += weight / (k + np.arange(1, len(ranking) + 1))
    return fused


def weighted_fusion(score_lists: list[np.ndarray], weights: list[float], candidates: np.ndarray) -> np.ndarray:
    """float64[len(candidates)]: Σ w_j · minmax_j(scores_j[candidates]).

    Each score list is scaled to [0, 1] over the candidates before weighting.
    """
    fused = np.zeros(len(candidates))
    for scores, weight in zip(score_lists, weights, strict=True):
        values = np.asarray(scores, dtype=np.float64)[candidates]
        if len(values) == 0:
            continue
        low, high = values.min(), values.max()
        fused += weight * ((values - low) / (high - low) if high > low else np.zeros_like(values))
    return fused
