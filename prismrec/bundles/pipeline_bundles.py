"""Bundles over a fitted pipeline: ready-made bundles per user and generated ones, sharing the pipeline's
items, vectors, encoder and search index. Saved in the pipeline folder's `bundles/`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from prismrec.bundles.config import BundleScorerConfig
from prismrec.bundles.generate import BundleGenerator, GeneratedBundle, GenerateParams
from prismrec.bundles.recommender import BundleList, BundleRecommender
from prismrec.bundles.signals import require_bundles
from prismrec.core.pipeline import FittedPipeline
from prismrec.data.schema import Dataset
from prismrec.errors import PrismrecError, RequestError
from prismrec.search.pipeline_search import pipeline_searcher

FOLDER = "bundles"
NO_BUNDLES = "this pipeline has no bundles; fit one with 'prismrec bundles fit --dataset NAME'"


@dataclass(frozen=True, eq=False)
class PipelineBundles:
    """A fitted pipeline with its bundle model.

    Attributes:
        pipeline: the fitted item pipeline (same users and items as the bundle model).
        model: the fitted bundle recommender.
    """

    pipeline: FittedPipeline
    model: BundleRecommender

    @classmethod
    def fit(cls, pipeline: FittedPipeline, dataset: Dataset) -> PipelineBundles:
        """Fit the pipeline config's [bundles] scorer (default "fused") on the dataset's bundles.

        Uses every user–bundle pair of the dataset, its user–item log and, when the pipeline has an
        [encoder], the item vectors (text signal). The dataset must be the one the pipeline was fitted on.
        """
        require_bundles(dataset)
        if dataset.interactions.item_ids != pipeline.item_ids or dataset.interactions.user_ids != pipeline.user_ids:
            raise PrismrecError(f"{dataset.name}: fit the pipeline on this dataset's interactions before its bundles")
        config = BundleScorerConfig.of_pipeline(pipeline.config)
        model = BundleRecommender.fit_dataset(config, dataset, pipeline.side.vectors)
        if pipeline.text_encoder is not None:
            model.encode_intents(pipeline.text_encoder)
        return cls(pipeline, model)

    @classmethod
    def load(cls, pipeline: FittedPipeline, directory: str | Path) -> PipelineBundles:
        """The bundle model saved in the pipeline folder `directory`, or an error saying how to fit one."""
        folder = Path(directory) / FOLDER
        if not folder.is_dir():
            raise PrismrecError(f"{directory}: {NO_BUNDLES}")
        return cls(pipeline, BundleRecommender.load(folder, pipeline.side.vectors))

    @staticmethod
    def saved_in(directory: str | Path) -> bool:
        return (Path(directory) / FOLDER).is_dir()

    def save(self, directory: str | Path) -> Path:
        """Write the bundle model into the pipeline folder `directory` (next to `save_pipeline`'s files)."""
        return self.model.save(Path(directory) / FOLDER)

    def with_pipeline(self, pipeline: FittedPipeline) -> PipelineBundles:
        """The same bundle model over a grown pipeline (items added through the service)."""
        return PipelineBundles(pipeline, self.model)

    def recommend(self, user: int | None, k: int = 10, unavailable: np.ndarray | None = None,
                  items: sp.csr_matrix | None = None) -> BundleList:  # fmt: skip
        """The user's top-k bundles (not ones the user has, nor ones holding an `unavailable` item index), with
        reasons; `items` = the user's current history row [1, n_items] (e.g. with live events) or None for the
        fitted one. A user the model was not fitted on (`user` None) gets the bundles that hold most of
        `items`, else the most taken ones."""
        if k < 1:
            raise RequestError(f"k must be at least 1, got {k}", field="k")
        titles = list(self.pipeline.titles) or None
        if user is None:
            return self.model.recommend_new_user(k, titles, unavailable, items)
        return self.model.recommend(user, k, titles, unavailable, items)

    def generate(
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
            raise RequestError("give exactly one of: seed items, a user or an intent", field="body")
        if intent is not None and not intent.strip():
            raise RequestError("the intent is blank: describe the bundle in a few words", field="intent")
        generator = self.generator
        if items is not None:
            seeds = np.asarray(items, dtype=np.int64)
            if len(seeds) == 0:
                raise RequestError("give at least one seed item", field="item_ids")
            return generator.from_items(seeds, params=params, unavailable=unavailable)
        if history is not None or user is not None:
            row = history if history is not None else self.pipeline.history[user]
            return generator.for_user(row, params=params, unavailable=unavailable)
        return generator.from_intent(str(intent), params=params, unavailable=unavailable)

    @cached_property
    def generator(self) -> BundleGenerator:
        """The bundle composer over the pipeline's items, vectors, encoder, search and bundles, built once."""
        p = self.pipeline
        titles = list(p.titles) or [str(i) for i in p.item_ids.ids]
        return self.model.generator(titles, p.side.vectors, p.side.categories, p.text_encoder, pipeline_searcher(p))
