"""Search over a fitted pipeline's catalogue: its item texts, vectors, encoder and categories."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from prismrec.core.pipeline import FittedPipeline
from prismrec.errors import RequestError
from prismrec.profiles.interests import mean_profile
from prismrec.search.searcher import ItemSearch, SearchHits, SearchParams

MAX_QUERY_CHARS = 1000


def pipeline_searcher(pipeline: FittedPipeline) -> ItemSearch:
    """The search index over the pipeline's item texts (titles without an [encoder]) and vectors."""
    texts = list(pipeline.texts or pipeline.titles)
    return ItemSearch(texts, pipeline.side.vectors, pipeline.text_encoder, pipeline.side.categories,
                      pipeline.side.category_names)  # fmt: skip


def search_pipeline(
    pipeline: FittedPipeline,
    searcher: ItemSearch,
    query: str,
    k: int = 10,
    history: sp.csr_matrix | None = None,
    params: SearchParams | None = None,
    allowed: np.ndarray | None = None,
) -> SearchHits:
    """Search by text: BM25 + item vectors, fused; personalised when a history row is given.

    Args:
        pipeline: the fitted pipeline `searcher` was built over.
        searcher: `pipeline_searcher(pipeline)` (built once, reused).
        query: free text (not blank, at most MAX_QUERY_CHARS characters).
        k: page size.
        history: the user's weighted history row [1, n_items] (personalisation), or None (anonymous).
        params: retrieval, fusion, personalisation and diversity settings.
        allowed: bool[n_items] items that may be returned.
    """
    if not query.strip():
        raise RequestError("the query is blank: give some words to search for", field="q")
    if len(query) > MAX_QUERY_CHARS:
        raise RequestError(f"the query has {len(query)} characters; at most {MAX_QUERY_CHARS}", field="q")
    if k < 1:
        raise RequestError(f"k must be at least 1, got {k}", field="k")
    profile = None
    if history is not None and pipeline.side.vectors is not None and history.nnz:
        profile = mean_profile(history, pipeline.side.vectors)[0]
    return searcher.search(query, k, params, profile, allowed)
