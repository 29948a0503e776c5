"""Nearest items by cosine similarity, exact for small catalogues and HNSW for large ones.

`VectorIndex` stores unit vectors under int64 ids. Below `hnsw_threshold` live items it keeps a dense
float32 matrix and answers by one matrix product (exact); once an upsert reaches the threshold it builds
an hnswlib graph (inner product on unit vectors = cosine) from the live rows and stays in that mode.
Both modes share one contract: ids best first, -1 / NaN padding, removed and excluded ids never returned.
Every public method holds one lock, so writers and readers on different threads are safe.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

EXACT = "exact"
HNSW = "hnsw"
MIN_CAPACITY = 1024  # initial rows of the dense matrix / elements of the HNSW graph


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1; zero rows stay zero (they score 0 against everything). [n, dim] float32."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def _top(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best k of `scores` [q, n] (-inf = not eligible) as (ids[cols] int64 [q, k], scores float32 [q, k]), padded."""
    q, n = scores.shape
    out_ids = np.full((q, k), -1, dtype=np.int64)
    out_scores = np.full((q, k), np.nan, dtype=np.float32)
    kk = min(k, n)
    if kk == 0:
        return out_ids, out_scores
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    cols, best = np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)
    ok = np.isfinite(best)
    out_ids[:, :kk] = np.where(ok, ids[cols], -1)
    out_scores[:, :kk] = np.where(ok, best, np.nan)
    return out_ids, out_scores


class VectorIndex:
    """Nearest items by cosine similarity; exact (numpy) below `hnsw_threshold` items, HNSW (hnswlib) above.

    Args:
        dim: vector length.
        hnsw_threshold: number of live items at which the index switches (once, for good) to HNSW.
        m: HNSW graph degree (hnswlib `M`).
        ef_construction: HNSW build-time candidate list size.
        ef_search: HNSW query-time candidate list size (raised to the number of results fetched when larger).
        seed: HNSW level-assignment seed; with one build thread the graph is deterministic.
    """

    def __init__(
        self,
        dim: int,
        hnsw_threshold: int = 20_000,
        m: int = 16,
        ef_construction: int = 200,
        ef_search: int = 128,
        seed: int = 42,
    ) -> None:
        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim, self.hnsw_threshold = int(dim), int(hnsw_threshold)
        self.m, self.ef_construction, self.ef_search, self.seed = m, ef_construction, ef_search, seed
        self._lock = threading.RLock()
        # exact mode: rows [0, _size) of the matrix are used; _rows maps id -> row (also for removed ids)
        self._matrix = np.zeros((0, self.dim), dtype=np.float32)
        self._row_ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._rows: dict[int, int] = {}
        self._size = 0
        self._count = 0
        # HNSW mode: live ids, and ids marked deleted (their slot may since have been reused)
        self._hnsw: Any = None
        self._live: set[int] = set()
        self._removed: set[int] = set()

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray | None = None, **kwargs: Any) -> VectorIndex:
        """An index over `vectors` [n, dim] (any float dtype) under `ids` int64 [n] (default 0..n-1)."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be 2-d [n, dim], got shape {vectors.shape}")
        index = cls(vectors.shape[1], **kwargs)
        index.upsert(np.arange(len(vectors), dtype=np.int64) if ids is None else ids, vectors)
        return index

    @property
    def kind(self) -> str:
        """Current mode: "exact" or "hnsw"."""
        return EXACT if self._hnsw is None else HNSW

    def __len__(self) -> int:
        """Number of live items."""
        return self._count if self._hnsw is None else len(self._live)

    # ---------------------------------------------------------------- writes

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add items or replace their vectors: `ids` int64 [n], `vectors` [n, dim] (normalised here; last id wins)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape != (len(ids), self.dim):
            raise ValueError(f"vectors must have shape ({len(ids)}, {self.dim}), got {vectors.shape}")
        if (ids < 0).any():
            raise ValueError("ids must be non-negative (-1 marks padding in search results)")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors contain NaN or infinity")
        if len(ids) == 0:
            return
        _, last = np.unique(ids[::-1], return_index=True)
        keep = np.sort(len(ids) - 1 - last)
        ids, unit = ids[keep], _unit(vectors[keep])
        with self._lock:
            if self._hnsw is None:
                self._upsert_exact(ids, unit)
                if self._count >= self.hnsw_threshold:
                    self._switch_to_hnsw()
            else:
                self._upsert_hnsw(ids, unit)

    def remove(self, ids: np.ndarray) -> None:
        """Remove items: they are never returned again (until upserted). Unknown or removed ids are ignored."""
        with self._lock:
            for item in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
                if self._hnsw is None:
                    row = self._rows.get(item)
                    if row is not None and self._alive[row]:
                        self._alive[row] = False
                        self._count -= 1
                elif item in self._live:
                    self._hnsw.mark_deleted(item)
                    self._live.discard(item)
                    self._removed.add(item)

    def _upsert_exact(self, ids: np.ndarray, unit: np.ndarray) -> None:
        rows = np.empty(len(ids), dtype=np.int64)
        size = self._size
        for j, item in enumerate(ids.tolist()):
            row = self._rows.get(item)
            if row is None:
                row = self._rows[item] = size
                size += 1
            rows[j] = row
        if size > len(self._matrix):
            capacity = max(size, 2 * len(self._matrix), MIN_CAPACITY)
            grown = np.zeros((capacity, self.dim), dtype=np.float32)
            grown[: self._size] = self._matrix[: self._size]
            row_ids, alive = np.full(capacity, -1, dtype=np.int64), np.zeros(capacity, dtype=bool)
            row_ids[: self._size], alive[: self._size] = self._row_ids[: self._size], self._alive[: self._size]
            self._matrix, self._row_ids, self._alive = grown, row_ids, alive
        self._count += int((~self._alive[rows]).sum())
        self._matrix[rows], self._row_ids[rows], self._alive[rows] = unit, ids, True
        self._size = size

    def _switch_to_hnsw(self) -> None:
        import hnswlib

        rows = np.flatnonzero(self._alive[: self._size])
        index = hnswlib.Index(space="ip", dim=self.dim)
        capacity = max(2 * len(rows), MIN_CAPACITY)
        index.init_index(capacity, self.m, self.ef_construction, random_seed=self.seed, allow_replace_deleted=True)
        index.set_num_threads(1)
        index.add_items(self._matrix[rows], self._row_ids[rows], num_threads=1)
        self._hnsw, self._live, self._removed = index, set(self._row_ids[rows].tolist()), set()
        self._matrix, self._row_ids = np.zeros((0, self.dim), dtype=np.float32), np.zeros(0, dtype=np.int64)
        self._alive, self._rows, self._size, self._count = np.zeros(0, dtype=bool), {}, 0, 0

    def _upsert_hnsw(self, ids: np.ndarray, unit: np.ndarray) -> None:
        index = self._hnsw
        known = np.zeros(len(ids), dtype=bool)
        for j, item in enumerate(ids.tolist()):
            if item in self._live:
                known[j] = True
            elif item in self._removed:
                self._removed.discard(item)
                try:  # still in the graph: revive, then update in place below
                    index.unmark_deleted(item)
                    known[j] = True
                except RuntimeError:  # its slot went to another item
                    pass
        if known.any():  # an existing label is updated in place (hnswlib re-links its neighbours)
            index.add_items(unit[known], ids[known], num_threads=1)
        new = ~known
        if new.any():
            needed = index.element_count + int(new.sum())
            if needed > index.max_elements:
                index.resize_index(max(needed, 2 * index.max_elements))
            index.add_items(unit[new], ids[new], num_threads=1, replace_deleted=True)
        self._live.update(ids.tolist())

    # ----------------------------------------------------------------- reads

    def search(
        self, queries: np.ndarray, k: int, exclude: list[np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k live items nearest each query.

        Args:
            queries: float [q, dim] (normalised here; a zero query scores 0 against every item).
            k: results per query.
            exclude: optional, one int64 array per query of ids not to return for it (e.g. the query item).

        Returns:
            (ids int64 [q, k], cosine float32 [q, k]) best first; -1 / NaN where fewer than k items qualify.
        """
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (q, {self.dim}), got {queries.shape}")
        if exclude is not None and len(exclude) != len(queries):
            raise ValueError(f"exclude must hold one array per query ({len(queries)}), got {len(exclude)}")
        k = max(int(k), 0)
        unit = _unit(queries)
        banned = [np.asarray(e, dtype=np.int64).reshape(-1) for e in exclude] if exclude is not None else None
        with self._lock:
            if self._hnsw is None:
                return self._search_exact(unit, k, banned)
            return self._search_hnsw(unit, k, banned)

    def _search_exact(self, unit: np.ndarray, k: int, banned: list[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
        scores = unit @ self._matrix[: self._size].T
        scores[:, ~self._alive[: self._size]] = -np.inf
        for i, items in enumerate(banned or []):
            rows = [self._rows[item] for item in items.tolist() if item in self._rows]
            scores[i, rows] = -np.inf
        return _top(scores, self._row_ids[: self._size], k)

    def _search_hnsw(self, unit: np.ndarray, k: int, banned: list[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
        q = len(unit)
        out_ids = np.full((q, k), -1, dtype=np.int64)
        out_scores = np.full((q, k), np.nan, dtype=np.float32)
        extra = max((sum(item in self._live for item in b.tolist()) for b in banned), default=0) if banned else 0
        fetch = min(k + extra, len(self._live))
        if fetch == 0 or q == 0:
            return out_ids, out_scores
        self._hnsw.set_ef(max(self.ef_search, fetch))
        try:  # over-fetch by the excluded count, then drop excluded ids
            labels, distances = self._hnsw.knn_query(unit, k=fetch, num_threads=1)
            labels, similarity = labels.astype(np.int64), (1.0 - distances).astype(np.float32)
        except RuntimeError:  # hnswlib found fewer than `fetch` live neighbours (sparse graph after many deletes)
            live = np.fromiter(self._live, dtype=np.int64, count=len(self._live))
            vectors = np.asarray(self._hnsw.get_items(live), dtype=np.float32)
            labels, similarity = _top(unit @ vectors.T, live, fetch)
        for i in range(q):
            keep = labels[i] >= 0
            if banned:
                keep &= ~np.isin(labels[i], banned[i])
            found = np.flatnonzero(keep)[:k]
            out_ids[i, : len(found)], out_scores[i, : len(found)] = labels[i, found], similarity[i, found]
        return out_ids, out_scores
