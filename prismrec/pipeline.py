"""The one recommendation path used by evaluation, the CLI and the service.

Pipeline = scorer -> filters (seen items, candidate set) -> top-M candidates -> re-ranker (optional) -> top-K.
A fitted pipeline is saved as a folder of `.npy`, `.json` and `.toml` files (no pickle).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from prismrec import __version__
from prismrec.bundles.generate import BundleGenerator, GeneratedBundle, GenerateParams
from prismrec.bundles.recommender import BundleList, BundleRecommender
from prismrec.bundles.signals import require_bundles
from prismrec.config import BundleScorerConfig, PipelineConfig, RerankConfig
from prismrec.data.schema import Catalog, Dataset, IdMap, Interactions
from prismrec.errors import ConfigError, NotFittedError, PrismrecError
from prismrec.explain import Explainer
from prismrec.models import ItemSide, Scorer
from prismrec.models.base import sparse_from_state, sparse_state
from prismrec.profiles.history import history_matrix
from prismrec.profiles.interests import mean_profile
from prismrec.ranking import by_score, top_k
from prismrec.rerank.base import RerankContext, Reranker
from prismrec.rerank.exposure import ExposureCounter
from prismrec.search.searcher import ItemSearch, SearchHits, SearchParams
from prismrec.semantic.embed import catalog_texts, embed_catalog
from prismrec.semantic.encoder import TextEncoder, make_encoder

FORMAT_VERSION = 1
SCORE_BUDGET = 64 * 1024 * 1024  # scores held at once (float32 cells) while ranking in chunks


class Pipeline:
    """Scores, filters and ranks items for users.

    Args:
        config: the pipeline configuration (scorer and defaults).
    """

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.scorer: Scorer = config.scorer.create()
        self.reranker: Reranker | None = config.rerank.create() if config.rerank is not None else None
        self.user_ids: IdMap | None = None
        self.item_ids: IdMap | None = None
        self.history: sp.csr_matrix | None = None
        self.popularity: np.ndarray | None = None
        self.side = ItemSide()
        self.titles: list[str] = []
        self.texts: list[str] = []  # what the encoder read per item (to encode items added later alike)
        self.scored_items = 0  # items the scorer knows; items added after the fit are scored by text
        self.fitted_at = 0.0  # Unix seconds
        self._encoder: TextEncoder | None = None
        self._explainer: Explainer | None = None
        self._searcher: ItemSearch | None = None
        self.bundle_model: BundleRecommender | None = None
        self._generator: BundleGenerator | None = None

    @classmethod
    def from_config(cls, config: PipelineConfig | str | Path) -> Pipeline:
        if not isinstance(config, PipelineConfig):
            config = PipelineConfig.from_toml(config)
        return cls(config)

    def fit(self, train: Interactions, catalog: Catalog | None = None) -> Self:
        """Fit the scorer on `train` and keep the users' weighted histories and item popularity.

        Args:
            train: the events to learn from.
            catalog: the items (text, categories), in the same item index space; needed when the
                config has an [encoder] section or the scorer reads text.
        """
        self.side = self._item_side(catalog, train.n_items)
        if self.reranker is not None:
            self.reranker.check(self.side)
        self.titles = [catalog.title(i) for i in range(len(catalog))] if catalog is not None else []
        self.texts = catalog_texts(catalog, self.config.encoder) if catalog is not None and self.config.encoder else []
        self.scorer.fit(train, self.side)
        self.scored_items = train.n_items
        self.fitted_at = time.time()
        self.user_ids, self.item_ids = train.user_ids, train.item_ids
        self.history = history_matrix(train, self.config.history)
        self.popularity = train.item_counts()
        if self.reranker is not None:
            self.reranker.fit(self.history, self.side)
        return self

    def fit_bundles(self, dataset: Dataset) -> Self:
        """Fit the [bundles] scorer (default "fused") on the dataset's bundles, after `fit`.

        Uses every user–bundle pair of the dataset, its user–item log and, when the pipeline has an
        [encoder], the item vectors (text signal). The dataset must be the one `fit` saw.
        """
        self._require_fitted()
        assert self.item_ids is not None and self.user_ids is not None
        require_bundles(dataset)
        if dataset.interactions.item_ids != self.item_ids or dataset.interactions.user_ids != self.user_ids:
            raise PrismrecError(f"{dataset.name}: fit the pipeline on this dataset's interactions before its bundles")
        config = self.config.bundles or BundleScorerConfig.build("fused")
        self.config = dataclasses.replace(self.config, bundles=config)
        self.bundle_model = BundleRecommender.fit_dataset(config, dataset, self.side.vectors)
        if self.text_encoder is not None:
            self.bundle_model.encode_intents(self.text_encoder)
        self._generator = None
        return self

    def recommend_bundles(
        self, user: int, k: int = 10, unavailable: np.ndarray | None = None, items: sp.csr_matrix | None = None
    ) -> BundleList:
        """The user's top-k bundles (not ones the user has, nor ones holding an `unavailable` item index), with
        reasons; `items` = the user's current history row [1, n_items] (e.g. with live events) or None for the
        fitted one. Needs `fit_bundles`."""
        return self.bundles_fitted().recommend(user, k, self.titles or None, unavailable, items)

    def generate_bundle(
        self,
        items: list[int] | np.ndarray | None = None,
        user: int | None = None,
        intent: str | None = None,
        params: GenerateParams | None = None,
        unavailable: np.ndarray | None = None,
        history: sp.csr_matrix | None = None,
    ) -> GeneratedBundle:
        """Compose a bundle of complementary items from seed items, a user's history or a free-text intent.

        Args:
            items: seed item indices (never returned), or
            user: a user index (the user's strongest recent items are the seeds; owned items are excluded), or
            intent: free text such as "camping trip for two".
            params: weights and rules (`GenerateParams`: k, substitutes, items per category, budget, ...).
            unavailable: int item indices never returned (e.g. deleted in the service).
            history: a user's current weighted history row [1, n_items] (e.g. the service's live row, also for
                users known only from events), in place of `user`.

        Exactly one of `items`, `user` (or `history`) and `intent` is given.
        """
        if sum(x is not None for x in (items, user if history is None else history, intent)) != 1:
            raise ConfigError("give exactly one of: seed items, a user or an intent")
        generator = self.bundle_generator
        if items is not None:
            return generator.from_items(np.asarray(items, dtype=np.int64), params=params, unavailable=unavailable)
        if history is not None or user is not None:
            assert self.history is not None
            row = history if history is not None else self.history[user]
            return generator.for_user(row, params=params, unavailable=unavailable)
        return generator.from_intent(str(intent), params=params, unavailable=unavailable)

    @property
    def bundle_generator(self) -> BundleGenerator:
        """The bundle composer over this pipeline's items, vectors, encoder, search and bundles, built once."""
        if self._generator is None:
            assert self.item_ids is not None
            titles = self.titles or [str(i) for i in self.item_ids.ids]
            self._generator = self.bundles_fitted().generator(titles, self.side.vectors, self.side.categories,
                                                              self.text_encoder, self.searcher)  # fmt: skip
        return self._generator

    def bundles_fitted(self) -> BundleRecommender:
        """The fitted bundle model, or an error that says how to make one."""
        if self.bundle_model is None:
            raise PrismrecError("this pipeline has no bundles; fit one with 'prismrec bundles fit --dataset NAME'")
        return self.bundle_model

    def with_rerank(self, rerank: RerankConfig | None, order: str | None = None) -> Pipeline:
        """The same fitted scorer and histories with another re-ranker (None = plain top-K), fitted here.

        Cheap: nothing of the scorer is copied; used to compare re-rankers and to honour a request's
        diversity setting. `order` replaces `recommend.order` ("rerank" or "score") when given.
        """
        self._require_fitted()
        assert self.history is not None
        other = copy.copy(self)
        config = self.config if order is None else self.config.with_values({"recommend.order": order})
        other.config = dataclasses.replace(config, rerank=rerank)
        other.reranker = rerank.create() if rerank is not None else None
        if other.reranker is not None:
            other.reranker.check(self.side)
            other.reranker.fit(self.history, self.side)
        return other

    def _item_side(self, catalog: Catalog | None, n_items: int) -> ItemSide:
        if catalog is not None and len(catalog) != n_items:
            raise ValueError("catalog and interactions must share one item index space")
        categories, names = None, ()
        if catalog is not None and any(catalog.categories):
            categories, names = catalog.category_matrix()
        if self.config.encoder is None:
            return ItemSide(categories=categories, category_names=tuple(names))
        if catalog is None:
            raise ConfigError("the [encoder] section needs the item catalogue: pass the items file (--items)")
        vectors, _ = embed_catalog(catalog, self.config.encoder)
        return ItemSide(vectors=vectors, categories=categories, category_names=tuple(names))

    def _require_fitted(self) -> None:
        if self.history is None:
            raise NotFittedError("the pipeline is not fitted; call fit(train) or Pipeline.load(dir)")

    def recommend(
        self,
        users: np.ndarray,
        k: int | None = None,
        candidates: np.ndarray | None = None,
        exclude_seen: bool | None = None,
        history: sp.csr_matrix | None = None,
        exposure: ExposureCounter | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-K items for each user, scored in chunks that fit in memory.

        With a re-ranker, each user's top `recommend.candidates` items are re-ranked into the K.

        Args:
            users: int[n] user indices.
            k: list length (default from the config).
            candidates: optional bool[n_items]; only these items may be recommended.
            exclude_seen: drop items in the user's history (default from the config).
            history: optional CSR [n, n_items] of weighted histories to use instead of the fitted
                ones (live events, or what-if histories); see `profiles.history`.
            exposure: live exposure counts for a cross-user re-ranker (the service's counter); without
                it each scoring chunk of users (all users of a call, up to SCORE_BUDGET cells) is one batch.

        Returns:
            (items int64[n, k], scores float32[n, k]), best first; -1 / NaN pad lists that run
            out of candidates. Users without history get the most popular items.
        """
        self._require_fitted()
        assert self.history is not None and self.popularity is not None
        k = k or self.config.recommend.k
        exclude_seen = self.config.recommend.exclude_seen if exclude_seen is None else exclude_seen
        users = np.asarray(users, dtype=np.int64)
        n_items = self.history.shape[1]
        if history is not None and history.shape != (len(users), n_items):
            raise ValueError(f"history must have shape ({len(users)}, {n_items}), not {history.shape}")
        rows_of = self.history[users] if history is None else history.tocsr()
        k = min(k, n_items)
        items = np.full((len(users), k), -1, dtype=np.int64)
        scores = np.full((len(users), k), np.nan, dtype=np.float32)
        chunk = max(1, SCORE_BUDGET // max(n_items, 1))
        popular = self.popularity.astype(np.float32)
        pool = k if self.reranker is None else min(max(k, self.config.recommend.candidates), n_items)
        for start in range(0, len(users), chunk):
            block_users = users[start : start + chunk]
            block_history = rows_of[start : start + chunk]
            block = self._score(block_users, block_history)
            cold = np.diff(block_history.indptr) == 0
            if cold.any():
                block[cold] = popular
            if candidates is not None:
                block[:, ~candidates] = -np.inf
            if exclude_seen:
                rows = np.repeat(np.arange(len(block_users)), np.diff(block_history.indptr))
                block[rows, block_history.indices] = -np.inf
            top_items, top_scores = top_k(block, pool)
            if self.reranker is not None:
                context = RerankContext(self.side, self.popularity, block_history, exposure)
                top_items, top_scores = self.reranker.rerank(top_items, top_scores, context, k)
                if self.config.recommend.order == "score":
                    top_items, top_scores = by_score(top_items, top_scores)
            items[start : start + chunk] = top_items
            scores[start : start + chunk] = top_scores
        return items, scores

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """float32[n, n_items]: the scorer's scores, then the text scores of items added after the fit."""
        known = self.scorer.score(users, history[:, : self.scored_items])
        extra = self.popularity.shape[0] - self.scored_items if self.popularity is not None else 0
        if extra == 0:
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
        added = np.repeat(np.nan_to_num(low, nan=0.0), self.popularity.shape[0] - n_known, axis=1)
        vectors = self.side.vectors
        if vectors is None:
            return added.astype(np.float32)
        profiles = mean_profile(history, vectors)
        cosine = profiles @ vectors.T  # [n, n_items]
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (cosine[:, n_known:] - cosine[:, :n_known].mean(1, keepdims=True)) / cosine[:, :n_known].std(
                1, keepdims=True
            )
            mapped = known.mean(1, keepdims=True) + known.std(1, keepdims=True) * z
        has_profile = np.abs(profiles).sum(axis=1) > 0
        return np.where(has_profile[:, None] & np.isfinite(mapped), mapped, added).astype(np.float32)

    def search(
        self,
        query: str,
        k: int = 10,
        history: sp.csr_matrix | None = None,
        params: SearchParams | None = None,
        allowed: np.ndarray | None = None,
    ) -> SearchHits:
        """Search the catalogue by text: BM25 + item vectors, fused; personalised when a history row is given.

        Args:
            query: free text.
            k: page size.
            history: the user's weighted history row [1, n_items] (personalisation), or None (anonymous).
            params: retrieval, fusion, personalisation and diversity settings (`search.SearchParams`).
            allowed: bool[n_items] items that may be returned.
        """
        self._require_fitted()
        profile = None
        if history is not None and self.side.vectors is not None and history.nnz:
            profile = mean_profile(history, self.side.vectors)[0]
        return self.searcher.search(query, k, params, profile, allowed)

    @property
    def text_encoder(self) -> TextEncoder | None:
        """The [encoder] that made the item vectors, for new texts (TF-IDF refitted on the saved item texts)."""
        if self._encoder is None and self.config.encoder is not None and self.side.vectors is not None:
            self._encoder = make_encoder(self.config.encoder, corpus=self.texts)
        return self._encoder

    @property
    def searcher(self) -> ItemSearch:
        """The search index over the item texts (titles without an [encoder]) and vectors, built once."""
        if self._searcher is None:
            self._searcher = ItemSearch(self.texts or self.titles, self.side.vectors, self.text_encoder,
                                        self.side.categories, self.side.category_names)  # fmt: skip
        return self._searcher

    def add_item(self, item_id: str, text: str, title: str, categories: tuple[str, ...] = ()) -> int:
        """Append an item the fitted scorer has not seen; it is scored by its text until the next fit.

        Returns its item index. Needs an [encoder] section (the item is placed by its text vector).
        """
        self._require_fitted()
        assert self.item_ids is not None and self.history is not None and self.popularity is not None
        encoder = self.text_encoder
        if encoder is None or self.side.vectors is None:
            raise ConfigError("this pipeline has no [encoder]: new items can only be recommended after a refit")
        vector = encoder.encode([text]).astype(np.float32)
        index = len(self.item_ids)
        self.item_ids = IdMap([*self.item_ids.ids, item_id])
        self.titles = [*self.titles, title]
        self.texts = [*self.texts, text]
        self.popularity = np.append(self.popularity, 0)
        history = self.history.tocsr(copy=True)
        history.resize((history.shape[0], index + 1))
        self.history = history
        categories_matrix, names = append_categories(self.side.categories, self.side.category_names, categories, index)
        self.side = ItemSide(np.vstack([self.side.vectors, vector]), categories_matrix, tuple(names))
        self._explainer = None
        self._searcher = None
        self._generator = None
        return index

    def recommend_frame(
        self, user_ids: list[str] | None = None, k: int | None = None, explain: bool = False
    ) -> pd.DataFrame:
        """Columns user_id, item_id, rank, score (+ reason) with external ids; all known users by default."""
        self._require_fitted()
        assert self.user_ids is not None and self.item_ids is not None
        users = np.arange(len(self.user_ids)) if user_ids is None else self.user_ids.indices(user_ids, "user")
        items, scores = self.recommend(users, k)
        frame = lists_to_frame(self.user_ids, self.item_ids, users, items, scores)
        if explain:
            frame["reason"] = [reason for row in self.explain(users, items) for reason in row]
        return frame

    def explain(self, users: np.ndarray, items: np.ndarray) -> list[list[str]]:
        """A reason for every recommended item: users int[n], items int[n, k] (-1 = empty slot)."""
        self._require_fitted()
        assert self.history is not None and self.item_ids is not None
        return self.explainer.reasons(self.history[np.asarray(users)], items)

    @property
    def explainer(self) -> Explainer:
        """The explainer over the current items and fitted histories (built once)."""
        self._require_fitted()
        assert self.history is not None and self.item_ids is not None
        if self._explainer is None:
            titles = self.titles or [str(i) for i in self.item_ids.ids]
            train = self.history.copy()
            train.data[:] = 1.0
            self._explainer = Explainer(titles, self.side, train)
        return self._explainer

    def save(self, directory: str | Path) -> Path:
        """Write the fitted pipeline to a folder (created if needed)."""
        self._require_fitted()
        assert self.user_ids is not None and self.item_ids is not None and self.history is not None
        if self.scored_items != len(self.item_ids):
            raise PrismrecError("items were added after the fit: refit the pipeline before saving it")
        directory = Path(directory)
        (directory / "scorer").mkdir(parents=True, exist_ok=True)
        (directory / "config.toml").write_text(self.config.to_toml(), encoding="utf-8")
        meta = {"format": FORMAT_VERSION, "prismrec": __version__, "scorer": self.scorer.name,
                "n_users": len(self.user_ids), "n_items": len(self.item_ids), "fitted_at": self.fitted_at}  # fmt: skip
        (directory / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        (directory / "user_ids.json").write_text(json.dumps(list(self.user_ids.ids)), encoding="utf-8")
        (directory / "item_ids.json").write_text(json.dumps(list(self.item_ids.ids)), encoding="utf-8")
        arrays = {**sparse_state("history", self.history), "popularity": self.popularity}
        if self.side.vectors is not None:
            arrays["item_vectors"] = self.side.vectors
        if self.side.categories is not None:
            arrays.update(sparse_state("item_categories", self.side.categories))
        items = {"titles": self.titles, "texts": self.texts, "category_names": list(self.side.category_names)}
        (directory / "items.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
        for name, array in arrays.items():
            np.save(directory / f"{name}.npy", array)
        for name, array in self.scorer.state().items():
            np.save(directory / "scorer" / f"{name}.npy", array)
        if self.bundle_model is not None:
            self.bundle_model.save(directory / "bundles")
        if self.reranker is not None:
            (directory / "rerank").mkdir(exist_ok=True)
            for name, array in self.reranker.state().items():
                np.save(directory / "rerank" / f"{name}.npy", array)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Pipeline:
        """Read a folder written by `save`; arrays are loaded without pickle."""
        directory = Path(directory)
        if not (directory / "meta.json").is_file():
            raise PrismrecError(
                f"{directory} is not a saved pipeline (no meta.json); create one with 'prismrec fit'"
            )
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise PrismrecError(f"{directory}: pipeline format {meta.get('format')} is not supported")
        pipeline = cls(PipelineConfig.from_toml(directory / "config.toml"))
        try:
            arrays = {p.stem: np.load(p, allow_pickle=False) for p in directory.glob("*.npy")}
            state = {p.stem: np.load(p, allow_pickle=False) for p in (directory / "scorer").glob("*.npy")}
            pipeline.history = sparse_from_state("history", arrays)
            pipeline.popularity = arrays["popularity"]
            pipeline.user_ids = IdMap(json.loads((directory / "user_ids.json").read_text(encoding="utf-8")))
            pipeline.item_ids = IdMap(json.loads((directory / "item_ids.json").read_text(encoding="utf-8")))
            items = json.loads((directory / "items.json").read_text(encoding="utf-8"))
            pipeline.titles = items["titles"]
            pipeline.texts = items.get("texts", [])
            pipeline.fitted_at = float(meta.get("fitted_at", 0.0))
            pipeline.scored_items = len(pipeline.item_ids)
            categories = sparse_from_state("item_categories", arrays) if "item_categories.shape" in arrays else None
            pipeline.side = ItemSide(arrays.get("item_vectors"), categories, tuple(items["category_names"]))
            pipeline.scorer.restore(state, pipeline.history, pipeline.side)
            if pipeline.reranker is not None:
                pipeline.reranker.check(pipeline.side)
                rerank_state = {p.stem: np.load(p, allow_pickle=False) for p in (directory / "rerank").glob("*.npy")}
                pipeline.reranker.load_state(rerank_state)
            if (directory / "bundles").is_dir():
                pipeline.bundle_model = BundleRecommender.load(directory / "bundles", pipeline.side.vectors)
        except (KeyError, ValueError, OSError) as error:
            raise PrismrecError(f"{directory}: saved pipeline is incomplete or damaged ({error!r})") from None
        if pipeline.history.shape != (len(pipeline.user_ids), len(pipeline.item_ids)):
            raise PrismrecError(f"{directory}: saved history does not match the saved user and item ids")
        return pipeline


def lists_to_frame(
    user_ids: IdMap, item_ids: IdMap, users: np.ndarray, items: np.ndarray, scores: np.ndarray
) -> pd.DataFrame:
    """Top-K arrays ([n], [n, k], [n, k]; -1 = empty slot) as rows user_id, item_id, rank, score."""
    filled = items >= 0
    rows, ranks = np.nonzero(filled)
    return pd.DataFrame(
        {
            "user_id": user_ids.to_external(users[rows]),
            "item_id": item_ids.to_external(items[filled]),
            "rank": ranks + 1,
            "score": scores[filled],
        }
    )


def append_categories(
    matrix: sp.csr_matrix | None, names: tuple[str, ...], labels: tuple[str, ...], n_items: int
) -> tuple[sp.csr_matrix | None, tuple[str, ...]]:
    """The 0/1 item-category matrix [n_items + 1, n'] with one more item row; new labels add columns."""
    if matrix is None and not labels:
        return None, names
    columns = list(names) + [label for label in dict.fromkeys(labels) if label not in names]
    grown = sp.csr_matrix(matrix if matrix is not None else (n_items, 0), dtype=np.float32)
    grown.resize((n_items, len(columns)))
    picked = sorted({columns.index(label) for label in labels})
    row = sp.csr_matrix((np.ones(len(picked), np.float32), ([0] * len(picked), picked)), shape=(1, len(columns)))
    return sp.vstack([grown, row]).tocsr(), tuple(columns)
