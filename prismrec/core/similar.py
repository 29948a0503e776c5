"""Similar items: the nearest items by text vector (co-occurrence in the histories without vectors),
optionally MMR-diversified among the nearest `SIMILAR_POOL`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from prismrec.profiles.interests import normalise
from prismrec.rerank.base import unit_interval
from prismrec.rerank.mmr import mmr_select

if TYPE_CHECKING:
    from prismrec.core.pipeline import FittedPipeline
    from prismrec.core.request import SimilarRequest

SIMILAR_POOL = 100  # nearest items re-ranked for diversity


def similar_items(pipeline: FittedPipeline, request: SimilarRequest) -> tuple[np.ndarray, np.ndarray]:
    """(items int64[m], similarity float32[m]) with m <= k, most similar first; never the item itself."""
    item, k = request.item, request.k
    allowed = np.ones(pipeline.n_items, dtype=bool) if request.candidates is None else request.candidates.copy()
    allowed[item] = False
    pool = max(k, SIMILAR_POOL) if request.diversity else k
    vectors, index = pipeline.side.vectors, pipeline.vector_index
    if index is not None and vectors is not None:
        banned = np.flatnonzero(~allowed)
        found, similarity = index.search(vectors[item : item + 1], pool, exclude=[banned])
        keep = (found[0] >= 0) & (found[0] < pipeline.n_items)
        found, similarity = found[0][keep], similarity[0][keep]
    else:
        found, similarity = co_occurring(pipeline.history, item, allowed, pool)
    if request.diversity and vectors is not None and len(found) > k:
        order = mmr_select(normalise(vectors[found]), unit_interval(similarity), float(request.diversity), k)
        found, similarity = found[order], similarity[order]
    return found[:k], similarity[:k].astype(np.float32)


def co_occurring(history: sp.csr_matrix, item: int, allowed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(items, cosine) of the k allowed items most often in the same histories as `item` (binary cosine)."""
    binary = (history > 0).astype(np.float32).tocsc()
    column = binary[:, item]
    overlap = np.asarray((binary.T @ column).todense()).ravel()
    norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel() * max(column.sum(), 1.0))
    cosine = np.divide(overlap, norms, out=np.zeros_like(overlap), where=norms > 0)
    cosine[~allowed[: len(cosine)]] = -np.inf
    order = np.argsort(-cosine, kind="stable")[:k]
    order = order[np.isfinite(cosine[order]) & (cosine[order] > 0)]
    return order, cosine[order]
