"""Sentence-transformers models through ONNX Runtime, in fp32 or with dynamically quantised int8 weights.

The whole sentence-transformers pipeline (transformer, pooling, normalisation) is exported once with
`torch.onnx.export` (dynamic batch and sequence axes), so the pooling is the model's own. The int8 file
is made by `onnxruntime.quantization.quantize_dynamic`: int8 weights per output channel, activations
quantised per batch at run time, after two measures that keep it close to fp32:

- SmoothQuant (`smooth`): before the export, each Linear layer's input channels are divided by scales
  that the weights absorb (the same function in fp32), so a few outlier channels no longer stretch the
  one int8 range of a batch;
- the feed-forward down-projections (MatMuls whose weight narrows the width, K > N) keep fp32 weights:
  their inputs, after GELU, have the widest range.

all-MiniLM-L6-v2 on amazon-games titles, against torch fp32 (mean cosine; recall@10 of item neighbours
among 5,000 titles): every MatMul quantised 0.992; down-projections kept 0.9958, recall 0.912; both
measures (alpha 0.7) 0.9991, recall 0.956.

Activations are quantised over the whole input of a MatMul (one range per batch), so an int8 vector
depends a little on the texts it was batched with; the embedding cache keeps the first one.

The files are built on first use, never at import, under `onnx-models/` in the embedding cache folder,
keyed by the model and the versions of every package that shapes them (a few seconds; later processes
read them). The tokenizer is saved next to them, so running needs neither torch nor the model folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sys
import warnings
from collections.abc import Callable
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from prismrec.errors import ConfigError
from prismrec.semantic.cache import default_cache_dir

log = logging.getLogger(__name__)

ONNX_REQUIREMENT = "onnxruntime==1.32.0 onnx==1.23.2 onnxscript==0.7.2"
MODELS_FOLDER = "onnx-models"
# Changing the export or the quantisation changes the vectors: bump this and every key changes.
RECIPE = "st-whole-v1|int8-smoothquant-dynamic-qint8-per-channel-keep-down-projections"
VERSIONED = ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime")
FP32_FILE, INT8_FILE, META_FILE, TOKENIZER_FOLDER = "model-fp32.onnx", "model-int8.onnx", "meta.json", "tokenizer"
EXPORT_AGREEMENT = 0.9999  # an export whose fp32 vectors differ more from torch's is not used
SMOOTH_ALPHA = 0.7  # SmoothQuant migration strength: 0 = weights keep all the range, 1 = activations give it all
# Texts whose activations set the smoothing scales (not the texts "auto" measures agreement on).
CALIBRATION_TEXTS = (
    "The Matrix (1999). Categories: Action, Sci-Fi, Thriller.",
    "Casablanca (1942). Categories: Drama, Romance, War.",
    "Jurassic Park (1993). Categories: Action, Adventure, Sci-Fi.",
    "Sense and Sensibility (1995). Categories: Drama, Romance.",
    "Mario Kart 8 Deluxe - Nintendo Switch",
    "Sony DualShock 4 Wireless Controller for PlayStation 4 - Jet Black",
    "Grand Theft Auto V - Xbox 360",
    "Pokemon Red Version - Game Boy",
    "Nintendo 3DS XL Charger, AC Adapter Power Supply",
    "Steam Wallet Card $20",
    "Bamboo cutting board, large, with juice groove.",
    "Men's leather wallet with RFID blocking, brown.",
    "Electric toothbrush with two heads and a travel case.",
    "Noise machine for sleeping: 20 soothing sounds, timer, USB powered.",
    "Description: A cosy mystery in which a retired teacher solves a theft at the village flower show. "
    "Categories: Books, Mystery.",
    "Description: Open-world racing across a sunny coastline, with hundreds of licensed cars, seasons "
    "that change every week and online clubs. Platform: Xbox One, PC.",
    "Description: Compact espresso machine with a 15-bar pump, steam wand for milk froth, removable "
    "water tank and two filter baskets for single or double shots.",
    "Categories: Toys & Games, Puzzles. 1000-piece jigsaw puzzle of a lighthouse at sunset.",
    "Tags: space, survival, crafting. Build a base on a frozen moon and keep your crew alive.",
    "Goodfellas (1990). Categories: Crime, Drama. Tags: mafia, based on a true story.",
    "USB microphone for podcasts and streaming, cardioid, with a tripod stand and pop filter.",
    "Hiking backpack, 40 litres, rain cover included, ventilated back panel.",
    "The Lion King (1994). Categories: Animation, Children's, Musical.",
    "Halo: The Master Chief Collection - Xbox One",
)
_CHECK_TEXTS = [
    "a short text",
    "Toy Story (1995). Categories: Animation, Children's, Comedy.",
    "  GBA 6-Pak Care Case - Game Boy Advance  ",
    "word " * 400,  # longer than any model's window: truncated
]


def notice(message: str) -> None:
    """One line for the user: logged at INFO, and printed to stderr when INFO logging is off."""
    log.info(message)
    if not log.isEnabledFor(logging.INFO):
        print(f"prismrec: {message}", file=sys.stderr, flush=True)


def onnx_available() -> bool:
    """Whether onnxruntime and onnx (export and quantisation) are installed."""
    return find_spec("onnxruntime") is not None and find_spec("onnx") is not None


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "none"


def artifact_key(base_id: str) -> str:
    """12 hex digits identifying the exported files of `base_id` (model + fingerprint) under these versions."""
    versions = ",".join(f"{name}={package_version(name)}" for name in VERSIONED)
    return hashlib.sha1(f"{base_id}|{versions}|{RECIPE}".encode()).hexdigest()[:12]


def artifact_folder(base_id: str, cache_root: Path | None = None) -> Path:
    """Where the exported and quantised files of `base_id` live (whether built or not)."""
    root = Path(cache_root) if cache_root is not None else default_cache_dir()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", base_id)[:80]
    return root / MODELS_FOLDER / f"{slug}-{artifact_key(base_id)}"


def default_threads() -> int:
    """Threads for a session: torch's setting when torch is loaded, else OMP_NUM_THREADS, else the CPUs we may use."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return max(1, int(torch.get_num_threads()))
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# ----------------------------------------------------------------------------- building the files


def ensure_artifacts(base_id: str, name: str, load_model: Callable[[], Any], cache_root: Path | None = None) -> Path:
    """The folder holding fp32 + int8 ONNX files, tokenizer and meta of `base_id`; built once if missing.

    Args:
        base_id: model identity ("st:<folder name>:<fingerprint>").
        name: the model's name, for the message.
        load_model: returns the loaded `SentenceTransformer` (only called when building).
        cache_root: the embedding cache folder (default: `default_cache_dir()`).
    """
    folder = artifact_folder(base_id, cache_root)
    if (folder / META_FILE).is_file():
        return folder
    if not onnx_available():
        raise ConfigError(f"ONNX precisions need onnxruntime and onnx: pip install {ONNX_REQUIREMENT}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if (folder / META_FILE).is_file():  # another process built it meanwhile
            return folder
        notice(f"building the ONNX Runtime model of {name} (fp32 and int8, once) in {folder}")
        building = folder.parent / f".{folder.name}.building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        try:
            meta = _build(load_model(), building)
            (building / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
            shutil.rmtree(folder, ignore_errors=True)  # a damaged folder without meta
            building.replace(folder)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        notice(f"ONNX Runtime model of {name} ready ({meta['exporter']} export, "
               f"{meta['int8_weights_kept_fp32']} down-projections kept fp32)")  # fmt: skip
    return folder


def _input_names(features: dict[str, Any]) -> list[str]:
    import torch

    preferred = ["input_ids", "attention_mask", "token_type_ids"]
    names = [k for k in preferred if isinstance(features.get(k), torch.Tensor)]
    if "input_ids" not in names or "attention_mask" not in names:
        raise ConfigError(f"ONNX export needs a text model with input_ids and attention_mask, got {sorted(features)}")
    return names


def _build(st: Any, folder: Path) -> dict[str, Any]:
    """Export, check and quantise `st` into `folder`; the meta data to store with the files."""
    import torch

    st.eval()
    transformer = st[0]
    max_length = int(st.max_seq_length)
    do_lower_case = bool(getattr(transformer, "do_lower_case", False))
    with torch.inference_mode():
        sample = st.preprocess(["a short text", "a somewhat longer text for the export"])
    names = _input_names(sample)
    args = tuple(sample[k] for k in names)
    fp32 = folder / FP32_FILE
    exporter, errors = _export(_whole(st, names), args, names, fp32)
    if not exporter:
        raise RuntimeError("ONNX export failed: " + "; ".join(errors))
    st.tokenizer.save_pretrained(str(folder / TOKENIZER_FOLDER))
    meta: dict[str, Any] = {
        "inputs": names, "max_length": max_length, "do_lower_case": do_lower_case, "exporter": exporter,
        "recipe": RECIPE, "smooth_alpha": SMOOTH_ALPHA, "versions": {name: package_version(name) for name in VERSIONED},
    }  # fmt: skip
    runner = OnnxRunner(folder, quantized=False, threads=default_threads(), meta=meta)
    _check_tokens(runner, st)
    with torch.inference_mode():
        reference = st.encode(_CHECK_TEXTS, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    agreement = float(np.min(np.sum(runner.encode(_CHECK_TEXTS, 4) * reference, axis=1)))
    if agreement < EXPORT_AGREEMENT:
        raise RuntimeError(f"the ONNX export disagrees with torch (min cosine {agreement:.6f})")
    meta["export_min_cosine"], meta["dim"] = agreement, int(reference.shape[1])
    # int8: the smoothed copy (the same function in fp32) is exported on its own and quantised
    smoothed = folder / "smoothed-fp32.onnx"
    if not _export(_whole(smooth(st, CALIBRATION_TEXTS, SMOOTH_ALPHA), names), args, names, smoothed)[0]:
        raise RuntimeError("ONNX export of the smoothed model failed")
    meta["int8_weights_kept_fp32"] = _quantize(smoothed, folder / INT8_FILE)
    smoothed.unlink()
    return meta


def _whole(st: Any, names: list[str]) -> Any:
    """A module from token tensors to the pipeline's sentence embedding (transformer, pooling, normalisation)."""
    import torch

    class Whole(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.model(dict(zip(names, tensors, strict=True)))["sentence_embedding"]

    return Whole(st)


def smooth(st: Any, texts: tuple[str, ...] | list[str], alpha: float) -> Any:
    """A copy of `st` whose Linear layers compute (x / s) · (diag(s) W): the same function, tamer activations.

    SmoothQuant (Xiao et al., ICML 2023): a few hidden channels carry activations far larger than the
    rest, so one int8 range per batch wastes most of its steps on them. Dividing input channel j by
    s_j = max|x_j|^alpha / max|W_j|^(1 - alpha) (maxima over `texts`) and multiplying weight row j by
    s_j moves that range into the weights, which are quantised per output channel.
    """
    import copy

    import torch

    class SmoothedLinear(torch.nn.Module):
        def __init__(self, linear: torch.nn.Linear, scale: torch.Tensor) -> None:
            super().__init__()
            self.register_buffer("inverse", (1.0 / scale).to(linear.weight.dtype))
            self.weight = torch.nn.Parameter(linear.weight.detach() * scale[None, :], requires_grad=False)
            self.bias = linear.bias

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.linear(x * self.inverse, self.weight, self.bias)

    model = copy.deepcopy(st)
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    maxima: dict[str, torch.Tensor] = {}

    def recorder(name: str) -> Callable[..., None]:
        def record(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            x = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(dim=0)
            maxima[name] = torch.maximum(maxima[name], x) if name in maxima else x

        return record

    hooks = [module.register_forward_pre_hook(recorder(name)) for name, module in linears]
    try:
        with torch.no_grad():
            model.encode(list(texts), batch_size=8, convert_to_numpy=True, show_progress_bar=False)
    finally:
        for hook in hooks:
            hook.remove()
    with torch.no_grad():
        for name, linear in linears:
            if name not in maxima:
                continue
            weight = linear.weight.detach().abs().amax(dim=0).clamp(min=1e-5)
            scale = (maxima[name].clamp(min=1e-5) ** alpha / weight ** (1 - alpha)).clamp(min=1e-5)
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, SmoothedLinear(linear, scale))
    return model.eval()


def _export(module: Any, args: tuple[Any, ...], names: list[str], target: Path) -> tuple[str, list[str]]:
    """(exporter that worked or "", errors): TorchScript first (one file, named nodes), then dynamo."""
    import torch

    errors: list[str] = []
    output = "sentence_embedding"
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=8192)
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("torchscript", {"dynamo": False, "opset_version": 17,
                         "dynamic_axes": {**{k: {0: "batch", 1: "seq"} for k in names}, output: {0: "batch"}}}),
        ("dynamo", {"dynamo": True, "verbose": False, "dynamic_shapes": [{0: batch, 1: seq} for _ in names]}),
    ]  # fmt: skip
    for exporter, options in attempts:
        try:
            with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(module, args, str(target), input_names=names, output_names=[output], **options)
            if exporter == "dynamo":  # weights come as external data: fold them into one file
                import onnx

                onnx.save_model(onnx.load(str(target)), str(target), save_as_external_data=False)
                for extra in target.parent.glob(f"{target.name}.data"):
                    extra.unlink()
            return exporter, errors
        except Exception as error:  # the next exporter may cope
            first = (str(error).splitlines() or [""])[0][:300]
            errors.append(f"{exporter}: {type(error).__name__}: {first}")
    return "", errors


def _check_tokens(runner: OnnxRunner, st: Any) -> None:
    """The saved tokenizer, as the runner calls it, must give the token ids sentence-transformers gives."""
    import torch

    for text in _CHECK_TEXTS:
        with torch.inference_mode():
            expected = st.preprocess([text])
        keep = expected["attention_mask"][0].tolist()
        wanted = [t for t, k in zip(expected["input_ids"][0].tolist(), keep, strict=True) if k]
        if list(runner.tokenize([text])["input_ids"][0]) != wanted:
            raise RuntimeError(f"the saved tokenizer gives other tokens than sentence-transformers for {text[:40]!r}")


def down_projections(model: Any) -> list[str]:
    """Names of the MatMul nodes whose constant weight [K, N] narrows the width (K > N): kept fp32 in int8."""
    weights = {init.name: tuple(init.dims) for init in model.graph.initializer}
    names = []
    for node in model.graph.node:
        if node.op_type != "MatMul" or len(node.input) < 2:
            continue
        shape = weights.get(node.input[1])
        if shape is not None and len(shape) == 2 and shape[0] > shape[1]:
            names.append(node.name)
    return names


def _quantize(fp32: Path, target: Path) -> int:
    """Write the dynamically quantised copy of `fp32`; the number of MatMuls left in fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep = down_projections(onnx.load(str(fp32)))
    # quantize_dynamic advises pre-processing through the root logger; a handler and a filter keep it quiet
    # (and keep `logging.warning` from configuring the root logger of the application).
    root, quiet = logging.getLogger(), logging.NullHandler()

    def advice(record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()

    root.addHandler(quiet)
    root.addFilter(advice)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(fp32), str(target), per_channel=True, weight_type=QuantType.QInt8,
                             nodes_to_exclude=keep)  # fmt: skip
    finally:
        root.removeFilter(advice)
        root.removeHandler(quiet)
    return len(keep)


# ----------------------------------------------------------------------------- running


class OnnxRunner:
    """One ONNX Runtime session over the exported model: texts -> unit vectors.

    Args:
        folder: the artifact folder (`ensure_artifacts`).
        quantized: the int8 file instead of the fp32 one.
        threads: ONNX Runtime intra-op threads.
        meta: the folder's meta data (read from it when None).
    """

    def __init__(self, folder: Path, quantized: bool, threads: int, meta: dict[str, Any] | None = None) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self.folder = folder
        self.meta = meta if meta is not None else json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        self.inputs: list[str] = list(self.meta["inputs"])
        self.max_length = int(self.meta["max_length"])
        self.do_lower_case = bool(self.meta["do_lower_case"])
        self.threads = int(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder / TOKENIZER_FOLDER), local_files_only=True)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Spinning threads stall when another process holds a core (as OMP_WAIT_POLICY=PASSIVE does for torch).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = folder / (INT8_FILE if quantized else FP32_FILE)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.output = self.session.get_outputs()[0].name

    def tokenize(self, texts: list[str]) -> dict[str, list[list[int]]]:
        """Unpadded token ids (and masks) of `texts`, prepared as sentence-transformers prepares them."""
        prepared = [t.strip() for t in texts]
        if self.do_lower_case:
            prepared = [t.lower() for t in prepared]
        tokens = self.tokenizer(prepared, padding=False, truncation="longest_first", max_length=self.max_length)
        return {k: tokens[k] for k in self.inputs if k in tokens}

    def _pad(self, rows: list[list[int]], value: int) -> np.ndarray:
        width = max(len(r) for r in rows)
        out = np.full((len(rows), width), value, dtype=np.int64)
        left = getattr(self.tokenizer, "padding_side", "right") == "left"
        for i, row in enumerate(rows):
            if left:
                out[i, width - len(row) :] = row
            else:
                out[i, : len(row)] = row
        return out

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """float32[len(texts), dim] unit rows; texts are batched by token length (less padding)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        tokens = self.tokenize(texts)
        order = np.argsort([len(ids) for ids in tokens["input_ids"]], kind="stable")
        pad_values = {"input_ids": int(self.tokenizer.pad_token_id or 0), "attention_mask": 0,
                      "token_type_ids": int(getattr(self.tokenizer, "pad_token_type_id", 0) or 0)}  # fmt: skip
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            feed = {k: self._pad([tokens[k][i] for i in rows], pad_values[k]) for k in self.inputs}
            parts.append((rows, self.session.run([self.output], feed)[0]))
        out = np.zeros((len(texts), parts[0][1].shape[1]), dtype=np.float32)
        for rows, vectors in parts:
            out[rows] = vectors
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
