"""The fitted pipeline: the one recommendation path used by evaluation, the CLI, the service and Spark.

    request ─▶ rows (fitted or given histories) ─▶ score (scorer; items added later by text)
            ─▶ filters (seen, exclusions, candidate and category masks) ─▶ top-M
            ─▶ diversity re-rank (configured, or the request's) ─▶ top-K ─▶ reasons

Rows without any history follow the cold-start policy (`[cold_start]`, see `cold_start.py`).
A `FittedPipeline` is immutable: a variant (another re-ranker, a grown catalogue) is a new object
that shares the fitted arrays.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from prismrec.core.cold_start import cold_rows_variant
from prismrec.core.config import PipelineConfig, RerankConfig, rerank_setting
from prismrec.core.explain import Explainer
from prismrec.core.ranking import by_score, sparse_top_k, top_k
from prismrec.core.request import RecommendRequest, RecommendResult, SimilarRequest
from prismrec.core.retrieval import ANN_MIN_ITEMS, MAX_EXTRA, FactorGraph
from prismrec.core.similar import similar_items
from prismrec.data.items import ItemSide, category_mask
from prismrec.data.schema import IdMap
from prismrec.errors import RequestError
from prismrec.models import Scorer
from prismrec.profiles.interests import mean_profile
from prismrec.rerank.base import RerankContext, Reranker
from prismrec.rerank.registry import reranker_class
from prismrec.semantic.encoder import TextEncoder, make_encoder
from prismrec.semantic.index import VectorIndex

SCORE_BUDGET = 64 * 1024 * 1024  # scores held at once (float32 cells) while ranking in chunks
DEFAULT_RERANKER = "mmr"  # the re-ranker a request's diversity level moves when the config has none


@dataclass(frozen=True, eq=False)
class FittedPipeline:
    """A scorer fitted on a train log, with the users' weighted histories and the item side data.

    Made by `PipelineConfig.fit(train, catalog)` or `core.persistence.load_pipeline(folder)`.

    Attributes:
        config: the configuration it was fitted from.
        scorer: the fitted scorer (knows the first `scored_items` items).
        reranker: the fitted diversity re-ranker, or None (plain top-K).
        user_ids, item_ids: external ids of the index spaces.
        history: float32 CSR [n_users, n_items] weighted train histories.
        popularity: float64[n_items] train events per item.
        side: item vectors and categories.
        titles: display title per item.
        texts: what the encoder read per item (items added later are encoded alike); empty without [encoder].
        scored_items: items the scorer knows; items added after the fit are scored by their text.
        fitted_at: Unix seconds of the fit.
    """

    config: PipelineConfig
    scorer: Scorer
    reranker: Reranker | None
    user_ids: IdMap
    item_ids: IdMap
    history: sp.csr_matrix
    popularity: np.ndarray
    side: ItemSide
    titles: tuple[str, ...]
    texts: tuple[str, ...]
    scored_items: int
    fitted_at: float
    _variants: dict[tuple[str | None, float | None], FittedPipeline] = field(default_factory=dict, repr=False)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def title(self, item: int) -> str:
        return self.titles[item] if self.titles else str(self.item_ids.ids[item])

    # ------------------------------------------------------------------ recommend

    def recommend(self, request: RecommendRequest) -> RecommendResult:
        """Top-K lists for the request's users or history rows (see `RecommendRequest`)."""
        n_rows = request.n_rows()
        users = self._users_of(request, n_rows)
        rows = self._rows_of(request, users, n_rows)
        k = self.config.recommend.k if request.k is None else int(request.k)
        if k < 1:
            raise RequestError(f"k must be at least 1, got {k}", field="k")
        k = min(k, self.n_items)
        exclude_seen = self.config.recommend.exclude_seen if request.exclude_seen is None else request.exclude_seen
        allowed = self._allowed(request)
        variant = self.variant(request.reranker, request.diversity)
        cold = np.diff(rows.indptr) == 0
        items = np.full((n_rows, k), -1, dtype=np.int64)
        scores = np.full((n_rows, k), np.nan, dtype=np.float32)
        cold_variant = cold_rows_variant(self, variant, request)
        groups = [(variant, np.arange(n_rows))] if cold_variant is None else [
            (variant, np.flatnonzero(~cold)), (cold_variant, np.flatnonzero(cold))]  # fmt: skip
        for pipeline, positions in groups:
            if len(positions):
                block_items, block_scores = pipeline._rank(users[positions], rows[positions], k, allowed,
                                                           exclude_seen, request.exposure)  # fmt: skip
                items[positions], scores[positions] = block_items, block_scores
        if not request.explain:
            return RecommendResult(items, scores, cold)
        reasons, because = self.explainer.explain(users, rows, items)
        return RecommendResult(items, scores, cold, reasons, because)

    def request_for_ids(self, user_ids: Iterable[str], **options: Any) -> tuple[IdMap, RecommendRequest]:
        """(the ids, each once in the order given; a request with one row per id) for external user ids.

        An id the pipeline was not fitted on gets an empty history row, so the cold-start policy answers
        it — as the service answers a user it has not seen. `options` are further request fields.
        """
        listed = IdMap(dict.fromkeys(str(u) for u in user_ids))
        users = self.user_ids.lookup(listed.ids)  # -1 = unknown
        if (users >= 0).all():
            return listed, RecommendRequest.for_users(users, **options)
        empty = sp.csr_matrix((1, self.n_items), dtype=self.history.dtype)
        rows = sp.vstack([self.history[int(u)] if u >= 0 else empty for u in users], format="csr")
        return listed, RecommendRequest(users=np.maximum(users, 0), history=rows, **options)

    def _users_of(self, request: RecommendRequest, n_rows: int) -> np.ndarray:
        if request.users is None:
            return np.zeros(n_rows, dtype=np.int64)  # anonymous rows: factor models read user 0's factors, unused
        users = np.asarray(request.users)
        if users.ndim != 1 or not np.issubdtype(users.dtype, np.integer):
            raise RequestError("users must be a one-dimensional array of user indices", field="users")
        if len(users) and (users.min() < 0 or users.max() >= len(self.user_ids)):
            raise RequestError(f"user indices must be in 0..{len(self.user_ids) - 1}", field="users")
        if len(users) != n_rows:
            raise RequestError(f"{len(users)} users for {n_rows} history rows", field="users")
        return users.astype(np.int64)

    def _rows_of(self, request: RecommendRequest, users: np.ndarray, n_rows: int) -> sp.csr_matrix:
        if request.history is None:
            return self.history[users]
        if request.history.shape != (n_rows, self.n_items):
            raise RequestError(f"history must have shape ({n_rows}, {self.n_items}), not {request.history.shape}",
                               field="history")  # fmt: skip
        return request.history.tocsr()

    def _allowed(self, request: RecommendRequest) -> np.ndarray | None:
        """bool[n_items] of the items the request allows, or None for all."""
        if request.candidates is None and request.exclude is None and request.category is None:
            return None
        allowed = np.ones(self.n_items, dtype=bool)
        if request.candidates is not None:
            mask = np.asarray(request.candidates, dtype=bool)
            if mask.shape != (self.n_items,):
                raise RequestError(f"candidates must be a mask over the {self.n_items} items", field="candidates")
            allowed &= mask
        if request.exclude is not None and len(request.exclude):
            excluded = np.asarray(request.exclude, dtype=np.int64)
            allowed[excluded[(excluded >= 0) & (excluded < self.n_items)]] = False
        if request.category is not None:
            allowed &= category_mask(self.side.categories, self.side.category_names, request.category, self.n_items)
        return allowed

    def _rank(self, users: np.ndarray, rows: sp.csr_matrix, k: int, allowed: np.ndarray | None,
              exclude_seen: bool, exposure: Any) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """(items int64[n, k], scores float32[n, k]) scored in chunks that fit in memory."""
        n_items = self.n_items
        items = np.full((len(users), k), -1, dtype=np.int64)
        scores = np.full((len(users), k), np.nan, dtype=np.float32)
        chunk = max(1, SCORE_BUDGET // max(n_items, 1))
        graph = self._graph_for(allowed)
        pool = k if self.reranker is None else min(max(k, self.config.recommend.candidates), n_items)
        for start in range(0, len(users), chunk):
            block_users = users[start : start + chunk]
            block_history = rows[start : start + chunk]
            sparse = self.scorer.sparse_scores(block_users, block_history) if self.n_items == self.scored_items \
                else None  # fmt: skip
            if graph is not None:
                top_items, top_scores = self._graph_pool(graph, block_users, block_history, pool, allowed,
                                                         exclude_seen)  # fmt: skip
            elif sparse is not None:
                top_items, top_scores = self._sparse_pool(sparse, block_history, pool, allowed, exclude_seen)
            else:
                top_items, top_scores = self._dense_pool(block_users, block_history, pool, allowed, exclude_seen)
            if self.reranker is not None:
                context = RerankContext(self.side, self.popularity, block_history, exposure)
                top_items, top_scores = self.reranker.rerank(top_items, top_scores, context, k)
                if self.config.recommend.order == "score":
                    top_items, top_scores = by_score(top_items, top_scores)
            items[start : start + chunk] = top_items
            scores[start : start + chunk] = top_scores
        return items, scores

    def _dense_pool(self, users: np.ndarray, history: sp.csr_matrix, pool: int, allowed: np.ndarray | None,
                    exclude_seen: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Each row's top `pool` from a dense score block (rows without history: popularity)."""
        block = self._score(users, history)
        cold = np.diff(history.indptr) == 0
        if cold.any():
            block[cold] = self.popularity.astype(np.float32)
        if allowed is not None:
            block[:, ~allowed] = -np.inf
        if exclude_seen:
            seen_rows = np.repeat(np.arange(len(users)), np.diff(history.indptr))
            block[seen_rows, history.indices] = -np.inf
        return top_k(block, pool)

    def warm(self) -> None:
        """Build what scoring many users will read (the factor graph) now, e.g. before forking workers."""
        self._graph_for(None)

    def _graph_for(self, allowed: np.ndarray | None) -> FactorGraph | None:
        """The factor graph when `[recommend] retrieval` asks for it and the request can use it, else None."""
        mode = self.config.recommend.retrieval
        wanted = mode == "ann" or (mode == "auto" and self.n_items >= ANN_MIN_ITEMS)
        narrow = allowed is not None and (~allowed).sum() > MAX_EXTRA  # many exclusions: score every item
        if not wanted or narrow or self.n_items != self.scored_items:
            return None
        return self.factor_graph

    @cached_property
    def factor_graph(self) -> FactorGraph | None:
        """HNSW graph over the scorer's item vectors (factor scorers with hnswlib installed), built on first use."""
        probe = self.scorer.factors(np.zeros(1, dtype=np.int64), self.history[:1])
        if probe is None or importlib.util.find_spec("hnswlib") is None:
            return None
        return FactorGraph.build(probe[1])

    def _graph_pool(self, graph: FactorGraph, users: np.ndarray, history: sp.csr_matrix, pool: int,
                    allowed: np.ndarray | None, exclude_seen: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Each row's top `pool` by ANN over the factors; rows without history or not filled: `_dense_pool`."""
        factors = self.scorer.factors(users, history)
        assert factors is not None  # the graph exists only for factor scorers
        seen = [history.indices[history.indptr[r] : history.indptr[r + 1]] if exclude_seen else history.indices[:0]
                for r in range(len(users))]  # fmt: skip
        items, values, complete = graph.top(factors[0], pool, seen, allowed)
        exact = np.flatnonzero(~complete | (np.diff(history.indptr) == 0))
        if len(exact):
            items[exact], values[exact] = self._dense_pool(users[exact], history[exact], pool, allowed, exclude_seen)
        return items, values

    def _sparse_pool(self, scores: sp.csr_matrix, history: sp.csr_matrix, pool: int, allowed: np.ndarray | None,
                     exclude_seen: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """The same lists as `_dense_pool` from a scorer's sparse scores (positive entries, zero elsewhere)."""
        items, values = sparse_top_k(scores, pool, allowed, history if exclude_seen else None)
        cold = np.flatnonzero(np.diff(history.indptr) == 0)
        if len(cold):
            popular = np.broadcast_to(self.popularity.astype(np.float32), (len(cold), self.n_items)).copy()
            if allowed is not None:
                popular[:, ~allowed] = -np.inf
            items[cold], values[cold] = top_k(popular, pool)
        return items, values

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """float32[n, n_items]: the scorer's scores, then the text scores of items added after the fit."""
        known = self.scorer.score(users, history[:, : self.scored_items])
        if self.n_items == self.scored_items:
            return known
        return np.hstack([known, self._added_item_scores(history, known)])

    def _added_item_scores(self, history: sp.csr_matrix, known: np.ndarray) -> np.ndarray:
        """float32[n, n_added]: items added after the fit, placed among the known scores by text.

        The cosine of the user's history profile with each item, standardised against the user's
        cosines to the known items and mapped onto the user's known-score scale (mean + std · z).
        Users without history, or a pipeline without item vectors, give the lowest known score.
        """
        n_known = self.scored_items
        low = np.nanmin(np.where(np.isfinite(known), known, np.nan), axis=1, keepdims=True)
        added = np.repeat(np.nan_to_num(low, nan=0.0), self.n_items - n_known, axis=1)
        vectors = self.side.vectors
        if vectors is None:
            return added.astype(np.float32)
        profiles = mean_profile(history, vectors)
        cosine = profiles @ vectors.T  # [n, n_items]
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = cosine[:, :n_known].std(1, keepdims=True)
            z = (cosine[:, n_known:] - cosine[:, :n_known].mean(1, keepdims=True)) / spread
            mapped = known.mean(1, keepdims=True) + known.std(1, keepdims=True) * z
        has_profile = np.abs(profiles).sum(axis=1) > 0
        return np.where(has_profile[:, None] & np.isfinite(mapped), mapped, added).astype(np.float32)

    # ------------------------------------------------------------------ similar items

    def similar(self, request: SimilarRequest) -> RecommendResult:
        """Items most like one item (text vectors; co-occurrence without them), optionally diversified."""
        if not 0 <= request.item < self.n_items:
            raise RequestError(f"item index {request.item} is not in 0..{self.n_items - 1}", field="item")
        if request.k < 1:
            raise RequestError(f"k must be at least 1, got {request.k}", field="k")
        found, similarity = similar_items(self, request)
        items = np.full((1, request.k), -1, dtype=np.int64)
        scores = np.full((1, request.k), np.nan, dtype=np.float32)
        items[0, : len(found)], scores[0, : len(found)] = found, similarity
        reason = f"similar to “{self.title(request.item)}”"
        return RecommendResult(items, scores, np.zeros(1, dtype=bool), [[reason] * len(found)])

    @cached_property
    def vector_index(self) -> VectorIndex | None:
        """Nearest-neighbour index over the item vectors (exact or HNSW by size), built on first use."""
        return VectorIndex.build(self.side.vectors) if self.side.vectors is not None else None

    # ------------------------------------------------------------------ variants

    def with_rerank(self, rerank: RerankConfig | None, order: str | None = None) -> FittedPipeline:
        """The same fitted scorer and histories with another re-ranker (None = plain top-K), fitted here.

        Cheap: nothing of the scorer is copied. `order` replaces `recommend.order` when given.
        """
        config = self.config if order is None else self.config.with_values({"recommend.order": order})
        reranker = rerank.create() if rerank is not None else None
        if reranker is not None:
            reranker.check(self.side)
            reranker.fit(self.history, self.side)
        return self.evolve(config=dataclasses.replace(config, rerank=rerank), reranker=reranker)

    def variant(self, reranker: str | None, diversity: float | None) -> FittedPipeline:
        """This pipeline with a request's re-ranker (a registered name, "none") and diversity level 0..1.

        Diversity 0 (or re-ranker "none") is the plain score order; a level without a re-ranker moves
        the configured one's knob (MMR when none is configured). Variants are cached per setting.
        """
        if reranker is None and diversity is None:
            return self
        if diversity is not None and not 0.0 <= diversity <= 1.0:
            raise RequestError(f"diversity must be between 0 and 1, got {diversity}", field="diversity")
        key = (reranker, diversity)
        if key not in self._variants:
            self._variants[key] = self._make_variant(reranker, diversity)
        return self._variants[key]

    def _make_variant(self, reranker: str | None, diversity: float | None) -> FittedPipeline:
        if reranker == "none" or diversity == 0:
            return self.with_rerank(None)
        base = self.config.rerank
        name = reranker or (base.name if base is not None else DEFAULT_RERANKER)
        rerank = base if base is not None and base.name == name else RerankConfig.build(name)
        if diversity is not None:
            low, high = reranker_class(name).knob_range
            rerank = rerank_setting(rerank, name, low + (high - low) * diversity)
        return self.with_rerank(rerank)

    def evolve(self, **changes: Any) -> FittedPipeline:
        """A copy with some fields replaced (caches are not carried over)."""
        return dataclasses.replace(self, _variants={}, **changes)

    # ------------------------------------------------------------------ derived, built on first use

    @cached_property
    def text_encoder(self) -> TextEncoder | None:
        """The [encoder] that made the item vectors, for new texts (TF-IDF refitted on the saved item texts)."""
        if self.config.encoder is None or self.side.vectors is None:
            return None
        return make_encoder(self.config.encoder, corpus=list(self.texts))

    @cached_property
    def explainer(self) -> Explainer:
        """Reasons and attributions over these items and fitted histories."""
        train = self.history.copy()
        train.data[:] = 1.0
        titles = list(self.titles) if self.titles else [str(i) for i in self.item_ids.ids]
        return Explainer(titles, self.side, train, self.scorer, self.scored_items)
