"""Catalogue -> item vectors: template, encoder and cache in one call."""

from __future__ import annotations

import numpy as np

from prismrec.data.schema import Catalog
from prismrec.semantic.cache import EmbeddingCache
from prismrec.semantic.encoder import EncoderParams, TextEncoder, make_encoder
from prismrec.semantic.templates import item_texts


def catalog_texts(catalog: Catalog, params: EncoderParams) -> list[str]:
    """The text the encoder reads for every item, in item index order (`params.fields` template)."""
    fields = [f.strip() for f in params.fields.split(",") if f.strip()] or None
    return item_texts(catalog, fields, params.max_chars)


def embed_catalog(
    catalog: Catalog, params: EncoderParams, cache: EmbeddingCache | None = None, progress: bool = True
) -> tuple[np.ndarray, TextEncoder]:
    """(float32[n_items, d] unit vectors in item index order, the encoder used)."""
    texts = catalog_texts(catalog, params)
    encoder = make_encoder(params, corpus=texts)
    if not params.cache:
        return encoder.encode(texts), encoder
    vectors = (cache or EmbeddingCache()).encode(encoder.model_id, texts, encoder.encode, params.batch_size, progress)
    return vectors, encoder
