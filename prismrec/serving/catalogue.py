"""Catalogue changes after the fit: a new item joins a fitted pipeline, scored by its text until the refit."""

from __future__ import annotations

import numpy as np

from prismrec.core.pipeline import FittedPipeline
from prismrec.data.items import ItemSide, append_categories
from prismrec.data.schema import IdMap
from prismrec.errors import ConfigError


def add_item(pipeline: FittedPipeline, item_id: str, text: str, title: str,
             categories: tuple[str, ...] = ()) -> FittedPipeline:  # fmt: skip
    """The pipeline with one more item (index = the old item count), placed by its text vector.

    Needs an [encoder] section. The fitted scorer is shared, not copied; the vector index (when one
    was built) is shared and grown in place, so earlier snapshots ignore the new row.
    """
    encoder = pipeline.text_encoder
    if encoder is None or pipeline.side.vectors is None:
        raise ConfigError("this pipeline has no [encoder]: new items can only be recommended after a refit")
    vector = encoder.encode([text]).astype(np.float32)
    index = pipeline.n_items
    history = pipeline.history.tocsr(copy=True)
    history.resize((history.shape[0], index + 1))
    side = pipeline.side
    matrix, names = append_categories(side.categories, side.category_names, categories, index)
    grown = pipeline.evolve(
        item_ids=IdMap([*pipeline.item_ids.ids, item_id]), titles=(*pipeline.titles, title),
        texts=(*pipeline.texts, text), popularity=np.append(pipeline.popularity, 0), history=history,
        side=ItemSide(np.vstack([side.vectors, vector]), matrix, tuple(names)),
    )  # fmt: skip
    grown.__dict__["text_encoder"] = encoder  # the encoder reads new texts alike (TF-IDF keeps its fitted vocabulary)
    built = pipeline.__dict__.get("vector_index")
    if built is not None:
        built.upsert(np.array([index]), vector)
        grown.__dict__["vector_index"] = built
    return grown
