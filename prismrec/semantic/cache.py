"""On-disk embedding cache keyed by (model id, text hash).

Re-encoding an unchanged catalogue costs a file read; a changed item re-encodes only itself. Each
model has a folder with `keys.npy` (sha1 of each text, bytes) and `vectors.npy` (float32 rows);
new rows are appended and both files replaced atomically, under a file lock so that several
processes sharing the cache never lose each other's rows.

The same folder holds what the sentence-transformers encoder builds once per machine: `onnx-models/`
(exported and quantised ONNX files) and `encoder-precision/` (what `precision = "auto"` chose).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from filelock import FileLock
from tqdm.auto import tqdm

CACHE_ENV = "PRISMREC_CACHE_DIR"


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "prismrec" / "embeddings").expanduser()


def text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).hexdigest().encode()


class EmbeddingCache:
    """Vectors of texts already encoded, per model.

    Args:
        root: the cache folder (default: `PRISMREC_CACHE_DIR` or ~/.cache/prismrec/embeddings).
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def folder(self, model_id: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_id)[:80]
        return self.root / f"{slug}-{hashlib.sha1(model_id.encode()).hexdigest()[:8]}"

    def load(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(keys S40[n], vectors float32[n, d]) stored for the model; empty arrays if none."""
        folder = self.folder(model_id)
        if not (folder / "keys.npy").is_file():
            return np.zeros(0, dtype="S40"), np.zeros((0, 0), dtype=np.float32)
        keys = np.load(folder / "keys.npy", allow_pickle=False)
        vectors = np.load(folder / "vectors.npy", allow_pickle=False)
        if len(keys) != len(vectors):  # a damaged pair is dropped, not trusted
            return np.zeros(0, dtype="S40"), np.zeros((0, 0), dtype=np.float32)
        return keys, vectors

    def encode(
        self,
        model_id: str,
        texts: list[str],
        encode: Callable[[list[str]], np.ndarray],
        batch_size: int = 256,
        progress: bool = True,
    ) -> np.ndarray:
        """float32[len(texts), d]: cached rows where present, the rest encoded in batches and stored."""
        wanted = [text_key(t) for t in texts]
        keys, vectors = self.load(model_id)
        row_of = {key: row for row, key in enumerate(keys.tolist())}
        if all(key in row_of for key in wanted):
            return vectors[[row_of[key] for key in wanted]]
        folder = self.folder(model_id)
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(folder / ".lock"):
            return self._encode_locked(model_id, texts, wanted, encode, batch_size, progress)

    def _encode_locked(
        self,
        model_id: str,
        texts: list[str],
        wanted: list[bytes],
        encode: Callable[[list[str]], np.ndarray],
        batch_size: int,
        progress: bool,
    ) -> np.ndarray:
        keys, vectors = self.load(model_id)  # again: another process may have added rows meanwhile
        row_of = {key: row for row, key in enumerate(keys.tolist())}
        missing: dict[bytes, str] = {}
        for key, text in zip(wanted, texts, strict=True):
            if key not in row_of and key not in missing:
                missing[key] = text
        if missing:
            new_texts = list(missing.values())
            batches = range(0, len(new_texts), batch_size)
            quiet = not progress or len(batches) < 2
            parts = [encode(new_texts[s : s + batch_size])
                     for s in tqdm(batches, desc="encoding items", unit="batch", disable=quiet)]  # fmt: skip
            new_vectors = np.concatenate(parts).astype(np.float32)
            vectors = new_vectors if len(keys) == 0 else np.concatenate([vectors, new_vectors])
            keys = np.concatenate([keys, np.array(list(missing), dtype="S40")])
            self._store(model_id, keys, vectors)
            row_of = {key: row for row, key in enumerate(keys.tolist())}
        return vectors[[row_of[key] for key in wanted]]

    def _store(self, model_id: str, keys: np.ndarray, vectors: np.ndarray) -> None:
        folder = self.folder(model_id)
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in (("vectors", vectors), ("keys", keys)):
            part = folder / f"{name}.part.npy"
            np.save(part, array)
            part.replace(folder / f"{name}.npy")
