"""A fitted pipeline kept current: events, new and deleted items change the very next answer.

`LiveModel` loads a saved pipeline (and its bundles, when it has them) and replays what the store
holds since that pipeline was fitted (item changes, then events), so a restart or a hot reload
answers exactly as before. Each event updates the user's recency-weighted history row
(`profiles.history.append_event`: the same weights a refit would give), so the next recommendation
excludes the item and follows the new profile; a new item is encoded on insert and scored by its
text until the next refit; a deleted item is masked out of every candidate set.

Every answer goes through the fitted pipeline's one request path (`FittedPipeline.recommend` /
`similar`): the service adds only the live rows, the deleted-item mask and the exposure counter.
Writers replace the pipeline object (copy-on-write) under a lock; readers take a consistent
snapshot and compute without holding it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from prismrec.bundles.pipeline_bundles import PipelineBundles
from prismrec.core.persistence import load_pipeline
from prismrec.core.pipeline import FittedPipeline
from prismrec.core.request import Because, RecommendRequest, SimilarRequest
from prismrec.errors import UnknownIdError
from prismrec.profiles.history import append_event
from prismrec.rerank.exposure import ExposureCounter
from prismrec.search.pipeline_search import pipeline_searcher, search_pipeline
from prismrec.search.searcher import ItemSearch, SearchParams
from prismrec.serving.catalogue import add_item
from prismrec.serving.store import Event, ItemChange, Store

EXPOSURE_DECAY = 0.999  # online exposure counts follow roughly the last thousand lists


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    reason: str
    because: tuple[Because, ...] = ()


class LiveModel:
    """A loaded pipeline plus everything the store recorded since its fit.

    Args:
        model_dir: a folder written by `save_pipeline` (`prismrec fit`).
        store: the service's store (events and item changes are replayed from it).
    """

    def __init__(self, model_dir: str | Path, store: Store) -> None:
        self.model_dir = Path(model_dir)
        self.store = store
        self.pipeline: FittedPipeline = load_pipeline(self.model_dir)
        self.bundles = PipelineBundles.load(self.pipeline, self.model_dir) if PipelineBundles.saved_in(
            self.model_dir) else None  # fmt: skip
        self.lock = threading.RLock()
        self.rows: dict[str, sp.csr_matrix] = {}  # users with events since the fit -> history row [1, n_items]
        self.deleted = np.zeros(self.pipeline.n_items, dtype=bool)
        self.exposure = ExposureCounter(len(self.deleted), decay=EXPOSURE_DECAY)
        _ = self.pipeline.vector_index  # built at start-up, not by the first similar-items request
        for change in store.item_changes():
            self.apply_item(change)
        for event in store.events_received_after(self.pipeline.fitted_at):
            if event.item_id in self.pipeline.item_ids:
                self.apply_event(event)

    # ------------------------------------------------------------------ reads

    @property
    def n_items(self) -> int:
        return len(self.deleted)

    def deleted_items(self) -> np.ndarray:
        """int64 indices of the items deleted through the service (never recommended again)."""
        return np.flatnonzero(self.deleted)

    def has_item(self, item_id: str) -> bool:
        ids = self.pipeline.item_ids
        return item_id in ids and not self.deleted[ids.index(item_id)]

    def recommend(
        self,
        user_id: str,
        k: int,
        diversity: float | None = None,
        reranker: str | None = None,
        exclude: tuple[str, ...] = (),
        category: str | None = None,
    ) -> list[Recommendation]:
        """The user's top-k with reasons and their attribution (unknown users get the cold-start list)."""
        with self.lock:
            pipeline, row, deleted = self.pipeline, self.history_row(user_id), self.deleted
        ids = pipeline.item_ids
        excluded = np.array([ids.index(i) for i in exclude if i in ids], dtype=np.int64)
        user = pipeline.user_ids.index(user_id) if user_id in pipeline.user_ids else None
        request = RecommendRequest.for_history(row, user, k=k, diversity=diversity, reranker=reranker,
                                               exclude=excluded, candidates=~deleted, category=category,
                                               explain=True, exposure=self.exposure)  # fmt: skip
        result = pipeline.recommend(request)
        items, scores = result.row(0)
        assert result.reasons is not None and result.because is not None
        return [Recommendation(str(ids.ids[i]), float(s), reason, tuple(because))
                for i, s, reason, because in zip(items, scores, result.reasons[0], result.because[0],
                                                 strict=True)]  # fmt: skip

    def search(self, query: str, k: int, user_id: str | None = None, diversity: float = 0.0,
               category: str | None = None) -> list[Recommendation]:  # fmt: skip
        """Catalogue search (BM25 + vectors fused), personalised by the user's live history when given."""
        with self.lock:
            pipeline, searcher, allowed = self.pipeline, self.searcher, ~self.deleted
            row = self.history_row(user_id) if user_id is not None else None
        if category is not None:
            allowed = allowed & searcher.in_category(category)
        personal = 1.0 if row is not None and row.nnz else 0.0
        params = SearchParams(diversity=diversity, personalisation=personal)
        hits = search_pipeline(pipeline, searcher, query, k, row, params, allowed)
        return [Recommendation(str(pipeline.item_ids.ids[i]), float(s), reason)
                for i, s, reason in zip(hits.items, hits.scores, hits.reasons, strict=True)]  # fmt: skip

    @cached_property
    def searcher(self) -> ItemSearch:
        """The search index over the current items (rebuilt after an item is added)."""
        return pipeline_searcher(self.pipeline)

    def similar(self, item_id: str, k: int, diversity: float | None = None) -> list[Recommendation]:
        """Items most like `item_id` (through the pipeline's `similar`), never deleted ones."""
        with self.lock:
            pipeline, deleted = self.pipeline, self.deleted
        ids = pipeline.item_ids
        if item_id not in ids or deleted[ids.index(item_id)]:
            raise UnknownIdError(f"unknown item '{item_id}'", field="item_id")
        result = pipeline.similar(SimilarRequest(ids.index(item_id), k, diversity, candidates=~deleted))
        items, scores = result.row(0)
        assert result.reasons is not None
        return [Recommendation(str(ids.ids[i]), float(s), reason)
                for i, s, reason in zip(items, scores, result.reasons[0], strict=True)]  # fmt: skip

    def history_row(self, user_id: str) -> sp.csr_matrix:
        """The user's current weighted history row [1, n_items] (empty for a new user)."""
        pipeline = self.pipeline
        row = self.rows.get(user_id)
        if row is None:
            if user_id in pipeline.user_ids:
                row = pipeline.history[pipeline.user_ids.index(user_id)]
            else:
                row = sp.csr_matrix((1, self.n_items), dtype=np.float32)
        if row.shape[1] < self.n_items:
            row = row.tocsr(copy=True)
            row.resize((1, self.n_items))
        return row

    # ------------------------------------------------------------------ writes

    def apply_event(self, event: Event) -> None:
        """Fold one event into its user's history row."""
        with self.lock:
            pipeline = self.pipeline
            item = pipeline.item_ids.index(event.item_id, "item")
            value = event.value if event.value is not None else 1.0
            self.rows[event.user_id] = append_event(self.history_row(event.user_id), item, pipeline.config.history,
                                                    value)  # fmt: skip

    def apply_item(self, change: ItemChange) -> bool:
        """Add, edit or delete an item; returns whether it was new to the model."""
        with self.lock:
            pipeline = self.pipeline
            known = change.item_id in pipeline.item_ids
            if known:
                index = pipeline.item_ids.index(change.item_id)
                self.deleted = self.deleted.copy()
                self.deleted[index] = change.deleted
                return False
            if change.deleted:
                return False
            text = ". ".join(part for part in (change.title, change.description or "", ", ".join(change.categories))
                             if part)  # fmt: skip
            self.pipeline = add_item(pipeline, change.item_id, text, change.title, change.categories)
            if self.bundles is not None:
                self.bundles = self.bundles.with_pipeline(self.pipeline)
            self.deleted = np.append(self.deleted, False)
            self.exposure.counts = np.append(self.exposure.counts, 0.0)
            self.exposure.n_items += 1
            self.__dict__.pop("searcher", None)
            return True
