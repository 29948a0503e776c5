"""Approximate candidate retrieval for factor scorers on large catalogues (hnswlib).

When a scorer's scores are inner products (`Scorer.factors`: score = user vector · item vector, as in
ALS, BPR and the two-tower), a full score row per user costs n_items × dim; an HNSW graph over the
item vectors finds each user's best items in roughly log(n_items) steps instead. Inner product is
turned into cosine by giving every item the same norm (one extra coordinate, Bachrach et al. 2014),
so one cosine HNSW serves it; the returned scores are the exact inner products of the found items.

`[recommend] retrieval`: "exact" always scores every item; "ann" uses the graph; "auto" (default) uses
it from `ANN_MIN_ITEMS` items on, for factor scorers. Rows the graph cannot fill (very long histories,
narrow candidate masks) are answered exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prismrec.core.ranking import top_k

ANN_MIN_ITEMS = 20_000  # "auto" retrieval uses the graph from this many items on
MAX_EXTRA = 512  # at most this many more neighbours are fetched to make up for seen and excluded items
GRAPH_DEGREE = 16
EF_CONSTRUCTION = 200
EF_SEARCH = 128
SEED = 42


@dataclass(frozen=True)
class FactorGraph:
    """An HNSW graph over item vectors made equal-norm (inner product → cosine).

    Attributes:
        graph: the hnswlib index (cosine space), labels = item indices.
        items: float32[n_items, f] the item vectors as the scorer gave them.
    """

    graph: object
    items: np.ndarray

    @classmethod
    def build(cls, items: np.ndarray) -> FactorGraph:
        """Built with one thread and a fixed seed, so the same vectors always give the same graph."""
        import hnswlib

        items = np.ascontiguousarray(items, dtype=np.float32)
        norms = np.linalg.norm(items, axis=1)
        radius = float(norms.max()) if len(norms) else 1.0
        padded = np.hstack([items, np.sqrt(np.maximum(radius**2 - norms**2, 0.0))[:, None]]).astype(np.float32)
        graph = hnswlib.Index(space="cosine", dim=padded.shape[1])
        graph.init_index(max_elements=len(padded), M=GRAPH_DEGREE, ef_construction=EF_CONSTRUCTION, random_seed=SEED)
        graph.add_items(padded, np.arange(len(padded)), num_threads=1)
        return cls(graph, items)

    def top(self, users: np.ndarray, k: int, seen: list[np.ndarray], allowed: np.ndarray | None,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """(items int64[n, k], scores float32[n, k], complete bool[n]) of user vectors [n, f].

        `seen[r]` are never returned for row r, nor items outside `allowed`; rows marked incomplete had
        fewer than k qualifying neighbours among those fetched and must be answered exactly.
        """
        n = len(users)
        n_items = len(self.items)
        extra = min(max((len(s) for s in seen), default=0) + (0 if allowed is None else int((~allowed).sum())),
                    MAX_EXTRA)  # fmt: skip
        fetch = min(k + extra, n_items)
        queries = np.hstack([users, np.zeros((n, 1), dtype=np.float32)]).astype(np.float32)
        self.graph.set_ef(max(EF_SEARCH, fetch))
        labels, _ = self.graph.knn_query(queries, k=fetch, num_threads=1)
        labels = labels.astype(np.int64)
        keep = np.ones_like(labels, dtype=bool)
        if allowed is not None:
            keep &= allowed[labels]
        for row in range(n):
            if len(seen[row]):
                keep[row] &= ~np.isin(labels[row], seen[row])
        complete = keep.sum(axis=1) >= min(k, n_items)
        scores = np.einsum("nf,nkf->nk", users, self.items[labels]).astype(np.float32)
        scores[~keep] = -np.inf
        order_items, order_scores = top_k(scores, k)  # positions into `labels`
        items = np.where(order_items >= 0, np.take_along_axis(labels, np.maximum(order_items, 0), axis=1), -1)
        return items.astype(np.int64), order_scores, complete
