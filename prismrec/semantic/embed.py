"""Catalogue -> item vectors: template, encoder and cache in one call."""

from __future__ import annotations

import numpy as np

from prismrec.data.schema import Catalog
from prismrec.semantic.cache import EmbeddingCache
from prismrec.semantic.encoder import EncoderParams, TextEncoder, make_encoder
from prismrec.semantic.templates import item_texts

# Texts handed to the encoder per call. The encoder sorts them by length into its own batches of
# `batch_size`, so a large call pads far less than one batch at a time.
ENCODE_CHUNK = 4096


def catalog_texts(catalog: Catalog, params: EncoderParams) -> list[str]:
    """The text the encoder reads for every item, in item index order (`params.fields` template)."""
    fields = [f.strip() for f in params.fields.split(",") if f.strip()] or None
    return item_texts(catalog, fields, params.max_chars)


def embed_catalog(
    catalog: Catalog, params: EncoderParams, cache: EmbeddingCache | None = None, progress: bool = True
) -> tuple[np.ndarray, TextEncoder]:
    """(float32[n_items, d] unit vectors in item index order, the encoder used)."""
    texts = catalog_texts(catalog, params)
    encoder = make_encoder(params, corpus=texts, cache_root=cache.root if cache is not None else None)
    if not params.cache:
        return encoder.encode(texts), encoder
    chunk = max(params.batch_size, ENCODE_CHUNK)
    vectors = (cache or EmbeddingCache()).encode(encoder.model_id, texts, encoder.encode, chunk, progress)
    return vectors, encoder
