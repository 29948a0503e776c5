"""A fitted pipeline kept current: events, new and deleted items change the very next answer.

`LiveModel` loads a saved pipeline and replays what the store holds since that pipeline was fitted
(item changes, then events), so a restart or a hot reload answers exactly as before. Each event
updates the user's recency-weighted history row (`profiles.history.append_event`: the same weights a
refit would give), so the next recommendation excludes the item and follows the new profile; a new
item is encoded on insert and scored by its text until the next refit; a deleted item is masked out
of every candidate set.

Writers replace the pipeline object (copy-on-write) under a lock; readers take a consistent snapshot
and compute without holding it.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from prismrec.config import RerankConfig
from prismrec.errors import UnknownIdError
from prismrec.evaluation.tradeoff import setting
from prismrec.models.base import category_mask
from prismrec.pipeline import Pipeline
from prismrec.profiles.history import append_event
from prismrec.profiles.interests import normalise
from prismrec.rerank.base import unit_interval
from prismrec.rerank.exposure import ExposureCounter
from prismrec.rerank.mmr import mmr_select
from prismrec.rerank.registry import reranker_class
from prismrec.search.searcher import SearchParams
from prismrec.serving.index import VectorIndex
from prismrec.serving.store import Event, ItemChange, Store

DEFAULT_RERANKER = "mmr"
EXPOSURE_DECAY = 0.999  # online exposure counts follow roughly the last thousand lists
SIMILAR_POOL = 100  # nearest items re-ranked for diversity in `similar`
COLD_DIVERSITY = 0.3  # MMR diversity of the list a user without history gets when the model has no [rerank]


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    reason: str


class LiveModel:
    """A loaded pipeline plus everything the store recorded since its fit.

    Args:
        model_dir: a folder written by `Pipeline.save` (`prismrec fit`).
        store: the service's store (events and item changes are replayed from it).
    """

    def __init__(self, model_dir: str | Path, store: Store) -> None:
        self.model_dir = Path(model_dir)
        self.store = store
        self.pipeline = Pipeline.load(self.model_dir)
        self.lock = threading.RLock()
        self.rows: dict[str, sp.csr_matrix] = {}  # users with events since the fit -> history row [1, n_items]
        assert self.pipeline.item_ids is not None
        self.deleted = np.zeros(len(self.pipeline.item_ids), dtype=bool)
        self.variants: dict[tuple[str | None, float | None], Pipeline] = {}
        self.exposure = ExposureCounter(len(self.deleted), decay=EXPOSURE_DECAY)
        vectors = self.pipeline.side.vectors
        self.index = VectorIndex.build(vectors) if vectors is not None else None
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
        assert ids is not None
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
        """The user's top-k (unknown users get the cold-start list: popular, re-ranked for diversity)."""
        with self.lock:
            row = self.history_row(user_id)
            cold = row.nnz == 0 and reranker is None and diversity is None and self.pipeline.config.rerank is None
            if cold and self.pipeline.side.vectors is not None:
                diversity = COLD_DIVERSITY  # a new user gets popular items spread over the catalogue
            pipeline = self.variant(reranker, diversity)
            candidates = ~self.deleted
        assert pipeline.item_ids is not None and pipeline.user_ids is not None
        candidates = candidates.copy()
        for item_id in exclude:
            if item_id in pipeline.item_ids:
                candidates[pipeline.item_ids.index(item_id)] = False
        if category is not None:
            candidates &= category_mask(pipeline.side.categories, pipeline.side.category_names, category,
                                        len(pipeline.item_ids))  # fmt: skip
        user = pipeline.user_ids.index(user_id) if user_id in pipeline.user_ids else 0
        items, scores = pipeline.recommend(np.array([user]), k, candidates=candidates, history=row,
                                           exposure=self.exposure)  # fmt: skip
        shown = items[0] >= 0
        chosen, chosen_scores = items[0][shown], scores[0][shown]
        reasons = pipeline.explainer.reasons(row, chosen[None, :])[0]
        return [Recommendation(str(pipeline.item_ids.ids[i]), float(s), reason)
                for i, s, reason in zip(chosen, chosen_scores, reasons, strict=True)]  # fmt: skip

    def search(self, query: str, k: int, user_id: str | None = None, diversity: float = 0.0,
               category: str | None = None) -> list[Recommendation]:  # fmt: skip
        """Catalogue search (BM25 + vectors fused), personalised by the user's live history when given."""
        with self.lock:
            pipeline, allowed = self.pipeline, ~self.deleted
            row = self.history_row(user_id) if user_id is not None else None
        assert pipeline.item_ids is not None
        if category is not None:
            allowed = allowed & pipeline.searcher.in_category(category)  # the search index is built anyway
        personal = 1.0 if row is not None and row.nnz else 0.0
        params = SearchParams(diversity=diversity, personalisation=personal)
        hits = pipeline.search(query, k, row, params, allowed)
        return [Recommendation(str(pipeline.item_ids.ids[i]), float(s), reason)
                for i, s, reason in zip(hits.items, hits.scores, hits.reasons, strict=True)]  # fmt: skip

    def similar(self, item_id: str, k: int, diversity: float | None = None) -> list[Recommendation]:
        """Items most like `item_id` by text vector (co-occurrence without vectors), optionally MMR-diversified."""
        with self.lock:
            pipeline, index, deleted = self.pipeline, self.index, self.deleted
        assert pipeline.item_ids is not None and pipeline.history is not None
        if item_id not in pipeline.item_ids or deleted[pipeline.item_ids.index(item_id)]:
            raise UnknownIdError(f"unknown item '{item_id}'")
        item = pipeline.item_ids.index(item_id)
        pool = max(k, SIMILAR_POOL) if diversity else k
        vectors = pipeline.side.vectors
        if index is not None and vectors is not None:
            found, similarity = index.search(vectors[item : item + 1], pool, exclude=[np.array([item])])
            found, similarity = found[0], similarity[0]
            keep = found >= 0
            found, similarity = found[keep], similarity[keep]
        else:
            found, similarity = _co_occurring(pipeline.history, item, deleted, pool)
        if diversity and vectors is not None and len(found) > k:
            order = mmr_select(normalise(vectors[found]), unit_interval(similarity), float(diversity), k)
            found, similarity = found[order], similarity[order]
        title = pipeline.titles[item] if pipeline.titles else item_id
        return [Recommendation(str(pipeline.item_ids.ids[i]), float(s), f"similar to “{title}”")
                for i, s in zip(found[:k], similarity[:k], strict=True)]  # fmt: skip

    def history_row(self, user_id: str) -> sp.csr_matrix:
        """The user's current weighted history row [1, n_items] (empty for a new user)."""
        pipeline = self.pipeline
        assert pipeline.user_ids is not None and pipeline.history is not None
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

    def variant(self, reranker: str | None, diversity: float | None) -> Pipeline:
        """The pipeline with a request's re-ranker and diversity knob (cached per setting)."""
        if reranker is None and diversity is None:
            return self.pipeline
        if diversity == 0:
            return self.pipeline.with_rerank(None)  # diversity 0: the score order
        key = (reranker, diversity)
        if key not in self.variants:
            base = self.pipeline.config.rerank
            name = reranker or (base.name if base is not None else DEFAULT_RERANKER)
            cls = reranker_class(name)
            rerank: RerankConfig = base if base is not None and base.name == name else RerankConfig.build(name)
            if diversity is not None:
                low, high = cls.knob_range
                rerank = setting(rerank, name, low + (high - low) * diversity)
            self.variants[key] = self.pipeline.with_rerank(rerank)
        return self.variants[key]

    # ------------------------------------------------------------------ writes

    def apply_event(self, event: Event) -> None:
        """Fold one event into its user's history row."""
        with self.lock:
            pipeline = self.pipeline
            assert pipeline.item_ids is not None
            item = pipeline.item_ids.index(event.item_id, "item")
            value = event.value if event.value is not None else 1.0
            self.rows[event.user_id] = append_event(self.history_row(event.user_id), item, pipeline.config.history,
                                                    value)  # fmt: skip

    def apply_item(self, change: ItemChange) -> bool:
        """Add, edit or delete an item; returns whether it was new to the model."""
        with self.lock:
            pipeline = self.pipeline
            assert pipeline.item_ids is not None
            known = change.item_id in pipeline.item_ids
            if change.deleted:
                if known:
                    index = pipeline.item_ids.index(change.item_id)
                    self.deleted = self.deleted.copy()
                    self.deleted[index] = True
                    if self.index is not None:
                        self.index.remove(np.array([index]))
                return False
            if known:
                index = pipeline.item_ids.index(change.item_id)
                self.deleted = self.deleted.copy()
                self.deleted[index] = False
                if self.index is not None and pipeline.side.vectors is not None:
                    self.index.upsert(np.array([index]), pipeline.side.vectors[index : index + 1])
                return False
            grown = copy.copy(pipeline)
            text = ". ".join(part for part in (change.title, change.description or "", ", ".join(change.categories))
                             if part)  # fmt: skip
            index = grown.add_item(change.item_id, text, change.title, change.categories)
            self.pipeline = grown
            self.deleted = np.append(self.deleted, False)
            self.exposure.counts = np.append(self.exposure.counts, 0.0)
            self.exposure.n_items += 1
            self.variants = {}
            if self.index is not None and grown.side.vectors is not None:
                self.index.upsert(np.array([index]), grown.side.vectors[index : index + 1])
            return True


def _co_occurring(history: sp.csr_matrix, item: int, deleted: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(items, cosine) of the k items most often in the same histories as `item` (binary cosine)."""
    binary = (history > 0).astype(np.float32).tocsc()
    column = binary[:, item]
    overlap = np.asarray((binary.T @ column).todense()).ravel()
    norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel() * max(column.sum(), 1.0))
    cosine = np.divide(overlap, norms, out=np.zeros_like(overlap), where=norms > 0)
    cosine[item] = -np.inf
    cosine[deleted[: len(cosine)]] = -np.inf
    order = np.argsort(-cosine, kind="stable")[:k]
    order = order[np.isfinite(cosine[order]) & (cosine[order] > 0)]
    return order, cosine[order]
