"""Fitting: a `PipelineConfig` and a train log become a `FittedPipeline`."""

from __future__ import annotations

import time

from prismrec.core.config import PipelineConfig
from prismrec.core.pipeline import FittedPipeline
from prismrec.data.items import ItemSide
from prismrec.data.schema import Catalog, Interactions
from prismrec.errors import ConfigError
from prismrec.models import Scorer, scorer_class
from prismrec.models.memory import DataShape, check_fits
from prismrec.profiles.history import history_matrix
from prismrec.semantic.embed import catalog_texts, embed_catalog
from prismrec.semantic.encoder import make_encoder

SCALABLE_MODELS = ("sansa", "itemknn", "als", "bpr")  # what a refused fit suggests instead, when it fits
ORDER_HALF_LIFE = 1000.0  # history half-life (events) given to order-reading scorers when none is configured


def fit_pipeline(config: PipelineConfig, train: Interactions, catalog: Catalog | None = None) -> FittedPipeline:
    """Fit the scorer and re-ranker of `config` on `train`; see `PipelineConfig.fit`."""
    if catalog is not None and len(catalog) != train.n_items:
        raise ConfigError(f"the catalogue has {len(catalog)} items and the interactions {train.n_items}: "
                          "they must share one item index space (load them together)")  # fmt: skip
    scorer = config.scorer.create()
    if scorer.reads_order and config.history.half_life <= 0:  # the order lives in the recency weights
        config = config.with_values({"history.half_life": ORDER_HALF_LIFE})
    check_memory(config.scorer.name, scorer, DataShape.of(train))
    config = with_resolved_precision(config)
    side = item_side(config, catalog)
    reranker = config.rerank.create() if config.rerank is not None else None
    if reranker is not None:
        reranker.check(side)
    scorer.fit(train, side)
    history = history_matrix(train, config.history)
    if reranker is not None:
        reranker.fit(history, side)
    return FittedPipeline(
        config=config, scorer=scorer, reranker=reranker, user_ids=train.user_ids, item_ids=train.item_ids,
        history=history, popularity=train.item_counts(), side=side,
        titles=tuple(catalog.title(i) for i in range(len(catalog))) if catalog is not None else (),
        texts=tuple(catalog_texts(catalog, config.encoder)) if catalog is not None and config.encoder else (),
        scored_items=train.n_items, fitted_at=time.time(),
    )  # fmt: skip


def with_resolved_precision(config: PipelineConfig) -> PipelineConfig:
    """The config with `[encoder] precision = "auto"` replaced by the mode it resolves to on this machine, so the
    item vectors, their cache entries and every text encoded later for this pipeline come from one mode."""
    if config.encoder is None or config.encoder.precision != "auto":
        return config
    resolved = getattr(make_encoder(config.encoder), "precision", None)
    return config if resolved in (None, "auto") else config.with_values({"encoder.precision": resolved})


def check_memory(name: str, scorer: Scorer, shape: DataShape) -> None:
    """Refuse (MemoryRefusal, one line) a fit whose estimated peak does not fit in the available memory."""
    alternatives = {other: scorer_class(other)().peak_bytes(shape) for other in SCALABLE_MODELS if other != name}
    check_fits(name, scorer.peak_bytes(shape), shape, alternatives)


def item_side(config: PipelineConfig, catalog: Catalog | None) -> ItemSide:
    """The item vectors (with an [encoder]) and categories of the catalogue."""
    categories, names = None, ()
    if catalog is not None and any(catalog.categories):
        categories, names = catalog.category_matrix()
    if config.encoder is None:
        return ItemSide(categories=categories, category_names=tuple(names))
    if catalog is None:
        raise ConfigError("the [encoder] section needs the item catalogue: pass the items file (--items)")
    vectors, _ = embed_catalog(catalog, config.encoder)
    return ItemSide(vectors=vectors, categories=categories, category_names=tuple(names))
