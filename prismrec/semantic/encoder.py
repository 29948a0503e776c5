"""The `TextEncoder` contract and the `[encoder]` configuration that chooses one.

An encoder turns texts into L2-normalised float32 vectors. Which implementation runs is decided
once, from `EncoderParams.model`: "tfidf" is the no-torch fallback, "multilingual-e5-small" the
4-bit multilingual model for Chinese catalogues, anything else a sentence-transformers model (the
packaged all-MiniLM-L6-v2 by default, or a local model folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from prismrec.params import param

PACKAGED_MODEL = "all-MiniLM-L6-v2"
E5_MODEL = "multilingual-e5-small"  # Chinese and ~100 other languages; `pip install 'prismrec[multilingual]'`


@runtime_checkable
class TextEncoder(Protocol):
    """Texts -> unit vectors."""

    @property
    def model_id(self) -> str:
        """Identifies the model and everything that changes its vectors (used as the cache key)."""
        ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32[len(texts), dim], each row L2-normalised (a zero row for an empty text)."""
        ...


@dataclass(frozen=True)
class EncoderParams:
    model: str = param(
        PACKAGED_MODEL,
        "'all-MiniLM-L6-v2' (packaged, English), 'multilingual-e5-small' (Chinese and other languages), "
        "a folder with a local sentence-transformers model, or 'tfidf' (no torch needed)",
    )
    batch_size: int = param(64, "texts per forward pass", min=1, max=4096)
    precision: str = param(
        "auto",
        "sentence-transformers models: 'fp32' or 'bf16' (torch), 'onnx-fp32' or 'onnx-int8' (ONNX Runtime), or "
        "'auto': the fastest of them on this CPU whose vectors agree with fp32 (measured once, recorded)",
        choices=("auto", "fp32", "bf16", "onnx-fp32", "onnx-int8"),
    )
    dim: int = param(256, "vector size of the tfidf encoder (LSA components)", min=2, max=4096)
    fields: str = param("", "comma-separated item fields for the text, in order; empty = title, year, categories, "
                            "then every other text field")  # fmt: skip
    max_chars: int = param(512, "item text is cut at this many characters", min=16)
    cache: bool = param(True, "keep vectors on disk keyed by (model, text); unchanged items are never re-encoded")


def make_encoder(params: EncoderParams, corpus: list[str] | None = None, cache_root: Path | None = None) -> TextEncoder:
    """The encoder `params` names. The tfidf encoder is fitted on `corpus` (the catalogue texts).

    `cache_root` is where a sentence-transformers encoder keeps its ONNX files and its "auto" choice
    (default: the embedding cache folder)."""
    if params.model == "tfidf":
        from prismrec.semantic.tfidf import TfidfEncoder

        return TfidfEncoder(dim=params.dim).fit(corpus or [])
    if params.model == E5_MODEL:
        from prismrec.semantic.e5 import E5Encoder

        return E5Encoder(params.batch_size)
    from prismrec.semantic.sentence_transformer import SentenceTransformerEncoder

    return SentenceTransformerEncoder(params.model, params.batch_size, params.precision, cache_root=cache_root)
