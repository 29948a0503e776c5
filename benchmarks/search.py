"""Semantic search benchmark: BM25, dense (all-MiniLM-L6-v2), fused (default and tuned) and fused + diversified.

Relevance labels never come from the indexed text:

- ml-latest-small: each query is a user tag (lower-cased, whitespace collapsed) applied to at least 3
  distinct movies (300 of them, a seeded sample); its relevant items are the movies that received it.
  The index holds title + genres only (the catalogue's `tags` column is left out).
- bundlerec-mturk (electronic, clothing, food): each query is a crowd-written bundle intent (lower-cased,
  whitespace collapsed; bundles with the same intent merged); its relevant items are the items of
  those bundles. The index holds the Amazon title + category-path labels.

Queries are split in two halves by a seeded permutation. On the first half, the tuned fusion is the best
of RRF and weighted fusion × BM25 weight on a grid; the diversified setting is the re-ranker (MMR over the
item vectors or xQuAD over the candidates' categories) and weight λ with the highest category coverage among
those whose NDCG@10 keeps ≥ 98.5% of the tuned fusion's. Every table row is scored on the second half.
Latency is per `ItemSearch.search` call (query encoding included), in-process, over all queries.
Writes the `search` section of BENCHMARKS.md.

    PRISMREC_DATA_HOME=../shared/data PRISMREC_CACHE_DIR=/tmp/embcache OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        python benchmarks/search.py [--datasets ml-latest-small,bundlerec-electronic,...] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from language_model import write_section

from prismrec.data.registry import dataset_dir, load_dataset
from prismrec.data.schema import binary_csr
from prismrec.evaluation.accuracy import ndcg, recall, relevance
from prismrec.evaluation.diversity import embedding_ild
from prismrec.evaluation.report import format_paired, paired_arrays
from prismrec.search.searcher import ItemSearch, SearchParams
from prismrec.semantic.cache import EmbeddingCache
from prismrec.semantic.embed import catalog_texts
from prismrec.semantic.encoder import EncoderParams, TextEncoder, make_encoder

MINILM = "all-MiniLM-L6-v2"
K = 10
SEED = 0
MAX_TAG_QUERIES = 300
MIN_TAGGED_MOVIES = 3
KEEP = 0.97  # share of fused NDCG@10 the diversified setting must keep (on the scored half)
CONFIDENCE_Z = 1.645  # one-sided 95%: a diversifier is kept when it keeps KEEP of fused NDCG@10 with this confidence
LAMBDAS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
FUSION_GRID = tuple((fusion, weight) for fusion in ("rrf", "weighted") for weight in (0.2, 0.3, 0.4, 0.5, 0.6))
DEFAULT_DATASETS = ("ml-latest-small", "bundlerec-electronic", "bundlerec-clothing", "bundlerec-food")
FUSED = SearchParams(mode="fused", candidates=100)  # the library's default fusion
DIVERSIFIERS = ("mmr", "xquad")
SETTINGS = ("BM25 (lexical)", "dense (MiniLM)", "fused (default)", "fused (tuned)", "fused (tuned) + diversified")
COMMAND = (
    "PRISMREC_DATA_HOME=../shared/data PRISMREC_CACHE_DIR=/tmp/embcache OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "
    ".venv/bin/python benchmarks/search.py"
)


@dataclass(frozen=True)
class Benchmark:
    """Queries with relevant items over one catalogue.

    Attributes:
        name: dataset name.
        texts: the indexed text of every item.
        queries: the query strings.
        relevant: 0/1 CSR [n_queries, n_items], the relevant items of each query.
        categories: 0/1 CSR [n_items, n_categories].
        category_names: label of each category column.
        encoder_params: the encoder and item-text template (fields) for the dense side.
    """

    name: str
    texts: list[str]
    queries: list[str]
    relevant: sp.csr_matrix
    categories: sp.csr_matrix
    category_names: tuple[str, ...]
    encoder_params: EncoderParams

    @property
    def n_items(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class Scores:
    """Per-query results of one setting (rows in query order)."""

    ndcg: np.ndarray
    recall: np.ndarray
    ild: np.ndarray
    coverage: np.ndarray
    distinct: np.ndarray
    empty: np.ndarray
    latency_ms: np.ndarray

    def subset(self, rows: np.ndarray) -> Scores:
        fields = (self.ndcg, self.recall, self.ild, self.coverage, self.distinct, self.empty, self.latency_ms)
        return Scores(*(values[rows] for values in fields))


class RememberingEncoder:
    """An encoder that keeps the vector of every text it has seen (for the λ sweep, never for latency).

    Args:
        encoder: the encoder to wrap.
    """

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self.model_id = encoder.model_id
        self._seen: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32[len(texts), d] unit vectors, each text encoded once."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if missing:
            for text, vector in zip(missing, self.encoder.encode(missing), strict=True):
                self._seen[text] = vector
        return np.stack([self._seen[t] for t in texts])


def normalise_text(text: str) -> str:
    """Lower-cased, whitespace collapsed (as the MovieLens loader stores tags)."""
    return " ".join(str(text).split()).lower()


def query_matrix(groups: list[np.ndarray], n_items: int) -> sp.csr_matrix:
    """0/1 CSR [len(groups), n_items] with row q set at the item indices `groups[q]`."""
    rows = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    cols = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    return binary_csr(rows.astype(np.int64), cols.astype(np.int64), (len(groups), n_items))


def movielens_benchmark(max_queries: int = MAX_TAG_QUERIES, min_movies: int = MIN_TAGGED_MOVIES) -> Benchmark:
    """User tags of ml-latest-small as queries; the index is title + genres (no tags)."""
    name = "ml-latest-small"
    data = load_dataset(name)
    params = EncoderParams(model=MINILM, fields="title,categories")
    texts = catalog_texts(data.catalog, params)
    assert not any("Tags:" in t for t in texts), "the tag column must stay out of the index"
    tags = pd.read_csv(dataset_dir(name) / "tags.csv", dtype=str, keep_default_na=False)
    tags["query"] = tags["tag"].map(normalise_text)
    tags["item"] = data.catalog.item_ids.lookup(tags["movieId"])
    tags = tags[(tags["query"] != "") & (tags["item"] >= 0)]
    movies: dict[str, np.ndarray] = {
        query: np.unique(group.to_numpy(dtype=np.int64)) for query, group in tags.groupby("query")["item"]
    }
    eligible = sorted(q for q, items in movies.items() if len(items) >= min_movies)
    rng = np.random.default_rng(SEED)
    chosen = sorted(rng.choice(eligible, size=min(max_queries, len(eligible)), replace=False).tolist())
    categories, names = data.catalog.category_matrix()
    relevant = query_matrix([movies[q] for q in chosen], len(texts))
    return Benchmark(name, texts, chosen, relevant, categories, tuple(names), params)


def bundlerec_benchmark(name: str) -> Benchmark:
    """Bundle intents of one BundleRec domain as queries; the index is title + category labels."""
    data = load_dataset(name)
    assert data.bundles is not None
    params = EncoderParams(model=MINILM, fields="title,categories")
    texts = catalog_texts(data.catalog, params)
    membership = data.bundles.membership.tocsr()
    groups: dict[str, list[int]] = {}
    for bundle, intent in enumerate(data.bundles.names):
        query = normalise_text(intent)
        if query:
            groups.setdefault(query, []).extend(membership[bundle].indices.tolist())
    queries = sorted(groups)
    relevant = query_matrix([np.unique(np.asarray(groups[q], dtype=np.int64)) for q in queries], len(texts))
    categories, names = data.catalog.category_matrix()
    return Benchmark(name, texts, queries, relevant, categories, tuple(names), params)


def load_benchmark(name: str) -> Benchmark:
    return movielens_benchmark() if name == "ml-latest-small" else bundlerec_benchmark(name)


def score(search: ItemSearch, bench: Benchmark, vectors: np.ndarray, params: SearchParams, rows: np.ndarray) -> Scores:
    """Run the queries `rows` through `search` and score the first page of each."""
    pages = np.full((len(rows), K), -1, dtype=np.int64)
    latency = np.empty(len(rows))
    for j, row in enumerate(rows):
        started = time.perf_counter()
        hits = search.search(bench.queries[row], K, params)
        latency[j] = (time.perf_counter() - started) * 1000.0
        pages[j, : len(hits.items)] = hits.items[:K]
    relevant = bench.relevant[rows]
    n_relevant = np.diff(relevant.indptr)
    found = relevance(pages, np.arange(len(rows)), relevant)
    filled = pages >= 0
    page_matrix = binary_csr(np.nonzero(filled)[0], pages[filled], (len(rows), bench.n_items))
    page_categories = (page_matrix @ bench.categories) > 0
    relevant_categories = (relevant @ bench.categories) > 0
    shared = np.asarray(page_categories.multiply(relevant_categories).sum(axis=1)).ravel()
    wanted = np.asarray(relevant_categories.sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(wanted > 0, shared / wanted, np.nan)
    return Scores(
        ndcg=ndcg(found, n_relevant),
        recall=recall(found, n_relevant),
        ild=embedding_ild(pages, vectors),
        coverage=coverage,
        distinct=np.asarray(page_categories.sum(axis=1), dtype=np.float64).ravel(),
        empty=pages[:, 0] < 0,
        latency_ms=latency,
    )


@dataclass
class Result:
    """Everything reported for one benchmark."""

    bench: Benchmark
    halves: tuple[np.ndarray, np.ndarray]
    runs: dict[str, Scores]
    fusion_sweep: dict[tuple[str, float], float]
    fusion: SearchParams
    sweep: dict[tuple[str, float], Scores]
    fused_tune: float
    chosen: tuple[str, float]
    safe: dict[tuple[str, float], bool]
    build_s: float
    vectors_s: float


def run_benchmark(name: str) -> Result:
    bench = load_benchmark(name)
    print(f"{name}: {bench.n_items} items, {len(bench.queries)} queries", flush=True)
    started = time.perf_counter()
    vectors, encoder = embed_catalog_for(bench)
    vectors_s = time.perf_counter() - started
    started = time.perf_counter()
    search = ItemSearch(bench.texts, vectors, encoder, bench.categories, bench.category_names)
    build_s = time.perf_counter() - started
    for _ in range(3):  # load the model and the tokenizer before timing
        search.search("warm up query", K, FUSED)
    order = np.random.default_rng(SEED).permutation(len(bench.queries))
    tune, test = np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2 :])
    everything = np.arange(len(bench.queries))
    runs = {
        SETTINGS[0]: score(search, bench, vectors, replace(FUSED, mode="lexical"), everything),
        SETTINGS[1]: score(search, bench, vectors, replace(FUSED, mode="dense"), everything),
        SETTINGS[2]: score(search, bench, vectors, FUSED, everything),
    }
    sweeping = ItemSearch(bench.texts, vectors, RememberingEncoder(encoder), bench.categories, bench.category_names)
    fusion_sweep = {
        (fusion, weight): float(score(sweeping, bench, vectors, replace(FUSED, fusion=fusion, lexical_weight=weight),
                                      tune).ndcg.mean())
        for fusion, weight in FUSION_GRID
    }  # fmt: skip
    best_fusion, best_weight = max(fusion_sweep, key=lambda key: fusion_sweep[key])
    fused = replace(FUSED, fusion=best_fusion, lexical_weight=best_weight)
    runs[SETTINGS[3]] = score(search, bench, vectors, fused, everything)
    fused_tune = fusion_sweep[best_fusion, best_weight]
    sweep = {(reranker, lam): score(sweeping, bench, vectors, replace(fused, reranker=reranker, diversity=lam), tune)
             for reranker in DIVERSIFIERS for lam in LAMBDAS}  # fmt: skip
    fused_per_query = score(sweeping, bench, vectors, fused, tune).ndcg
    safe = {key: keeps_with_confidence(scores.ndcg, fused_per_query) for key, scores in sweep.items()}
    kept = [key for key in sweep if safe[key]]
    chosen = max(kept, key=lambda key: mean(sweep[key].coverage)) if kept else ("mmr", min(LAMBDAS))
    diversified = replace(fused, reranker=chosen[0], diversity=chosen[1])
    runs[SETTINGS[4]] = score(search, bench, vectors, diversified, everything)
    for setting, scores in runs.items():
        print(f"  {setting}: NDCG@10 {scores.ndcg[test].mean():.4f} (held-out half), "
              f"p50 {np.percentile(scores.latency_ms, 50):.2f} ms", flush=True)  # fmt: skip
    print(f"  fusion sweep on the first half: {fusion_sweep}; chosen {best_fusion} {best_weight}", flush=True)
    print(f"  diversity on the first half (fused {fused_tune:.4f}): chosen {chosen}", flush=True)
    return Result(bench, (tune, test), runs, fusion_sweep, fused, sweep, fused_tune, chosen, safe, build_s, vectors_s)


def keeps_with_confidence(diversified: np.ndarray, fused: np.ndarray) -> bool:
    """Whether the per-query NDCG@10 `diversified` keeps ≥ KEEP of `fused`'s mean at one-sided 95% confidence:
    the lower bound of the paired mean difference, mean − z·sd/√n, is at least −(1 − KEEP) · mean(fused)."""
    difference = paired_arrays(diversified, fused)
    return difference.diff - CONFIDENCE_Z * difference.se >= -(1.0 - KEEP) * float(np.mean(fused))


def embed_catalog_for(bench: Benchmark) -> tuple[np.ndarray, TextEncoder]:
    """MiniLM item vectors of the benchmark's texts, through the embedding cache."""
    started = time.perf_counter()
    params = bench.encoder_params
    encoder = make_encoder(params, corpus=bench.texts)
    vectors = EmbeddingCache().encode(encoder.model_id, bench.texts, encoder.encode, params.batch_size)
    print(f"  item vectors {vectors.shape} in {time.perf_counter() - started:.0f} s", flush=True)
    return vectors, encoder


def mean(values: np.ndarray) -> float:
    """Mean over the finite values (NaN marks an undefined per-query value)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def quality_table(results: list[Result]) -> list[str]:
    lines = [
        "| benchmark | items | queries (scored / all) | setting | NDCG@10 | Recall@10 | embedding-ILD@10 "
        "| category coverage@10 | categories per page | empty pages | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        bench, test = result.bench, result.halves[1]
        for setting, scores in result.runs.items():
            label = {
                SETTINGS[2]: f"fused ({fusion_label(FUSED)}, default)",
                SETTINGS[3]: f"fused ({fusion_label(result.fusion)}, tuned)",
                SETTINGS[4]: f"fused ({fusion_label(result.fusion)}, tuned) + {diversity_label(result.chosen)}",
            }.get(setting, setting)
            held = scores.subset(test)
            lines.append(
                f"| {bench.name} | {bench.n_items:,} | {len(test)} / {len(bench.queries)} | {label} "
                f"| {held.ndcg.mean():.4f} | {held.recall.mean():.4f} | {mean(held.ild):.3f} "
                f"| {mean(held.coverage):.3f} "
                f"| {held.distinct.mean():.1f} | {np.mean(held.empty) * 100:.0f}% "
                f"| {np.percentile(scores.latency_ms, 50):.2f} | {np.percentile(scores.latency_ms, 99):.2f} |"
            )
    return lines


def fusion_label(params: SearchParams) -> str:
    """'RRF k=60, BM25 weight 0.5' or 'weighted, BM25 weight 0.3'."""
    method = f"RRF k={params.rrf_k}" if params.fusion == "rrf" else "weighted"
    return f"{method}, BM25 weight {params.lexical_weight:g}"


def paired_table(results: list[Result]) -> list[str]:
    lines = [
        "| benchmark | tuned fused − BM25 | tuned fused − dense | default fused − BM25 | default fused − dense "
        "| tuned fused + diversified − tuned fused | kept |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        test = result.halves[1]
        lexical, dense, default, tuned, diverse = (result.runs[s].ndcg[test] for s in SETTINGS)
        lines.append(
            f"| {result.bench.name} | {format_paired(tuned, lexical)} | {format_paired(tuned, dense)} "
            f"| {format_paired(default, lexical)} | {format_paired(default, dense)} | {format_paired(diverse, tuned)} "
            f"| {diverse.mean() / tuned.mean():.1%} |"
        )
    return lines


def fusion_table(results: list[Result]) -> list[str]:
    lines = [
        "| benchmark | queries | " + " | ".join(f"{'RRF' if f == 'rrf' else 'weighted'} {w:g}" for f, w in FUSION_GRID)
        + " | chosen |",
        "|---|---|" + "---|" * len(FUSION_GRID) + "---|",
    ]
    for result in results:
        cells = [f"{result.fusion_sweep[key]:.4f}" for key in FUSION_GRID]
        lines.append(f"| {result.bench.name} | {len(result.halves[0])} | " + " | ".join(cells)
                     + f" | {fusion_label(result.fusion)} |")  # fmt: skip
    return lines


def diversity_label(chosen: tuple[str, float]) -> str:
    """'MMR λ=0.15' or 'xQuAD λ=0.3'."""
    return f"{'xQuAD' if chosen[0] == 'xquad' else chosen[0].upper()} λ={chosen[1]:g}"


def sweep_table(results: list[Result]) -> list[str]:
    lines = [
        "| benchmark | re-ranker | fused | " + " | ".join(f"λ={lam:g}" for lam in LAMBDAS) + " |",
        "|---|---|---|" + "---|" * len(LAMBDAS),
    ]
    for result in results:
        for reranker in DIVERSIFIERS:
            cells = []
            for lam in LAMBDAS:
                scores = result.sweep[reranker, lam]
                kept = result.safe[reranker, lam]
                cell = f"{scores.ndcg.mean():.4f} / {mean(scores.coverage):.3f}" + ("" if kept else "*")
                cells.append(f"**{cell}**" if (reranker, lam) == result.chosen else cell)
            lines.append(f"| {result.bench.name} | {diversity_label((reranker, 0))[:-4]} | {result.fused_tune:.4f} | "
                         + " | ".join(cells) + " |")  # fmt: skip
    return lines


def section(results: list[Result], minutes: float) -> list[str]:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    ml = next((r for r in results if r.bench.name == "ml-latest-small"), None)
    tags = (f"{len(ml.bench.queries)} user tags (a seeded sample of the tags applied to ≥ {MIN_TAGGED_MOVIES} "
            "distinct movies)" if ml else "user tags")  # fmt: skip
    return [
        f"`{COMMAND}` ({minutes:.1f} minutes here; load average {load:.1f} at the end: other work shares the cores).",
        "",
        f"Relevance labels do not come from the indexed text. **ml-latest-small**: queries are {tags}, lower-cased "
        "and whitespace-collapsed; relevant = the movies that received the tag; the index is title + genres "
        "(`item_texts` fields `title,categories` — the catalogue's `tags` column is left out). "
        "**bundlerec-\\***: queries are the crowd-written bundle intents (lower-cased, whitespace-collapsed; bundles "
        "with the same intent merged into one query whose relevant items are the union of their items); the index "
        "is the Amazon title + category-path labels. Dense = all-MiniLM-L6-v2 (fp32, CPU) over the same text; "
        f"BM25 tokens are stemmed (Snowball English). Fused = the top {FUSED.candidates} of each retriever, combined "
        f"by the library default ({fusion_label(FUSED)}) or by the fusion tuned on the first half; diversified = "
        "MMR over the item vectors or xQuAD over the candidates' categories (the query's aspects) on the tuned "
        "fusion (`SearchParams.reranker`, `SearchParams.diversity`).",
        "",
        "The queries are split in two halves by a seeded permutation. On the **first half**: the tuned fusion is the "
        "best NDCG@10 over RRF / weighted × BM25 weight ∈ {0.2 … 0.6}; the diversified setting is the re-ranker and "
        f"λ with the highest category coverage among those that keep ≥ {KEEP:.0%} of the tuned fusion's NDCG@10 with "
        "one-sided 95% confidence (lower bound of the paired per-query difference, mean − 1.645·sd/√n, at least "
        f"−{1 - KEEP:.0%} of the fused mean; the first half has only 150–660 queries, so a point estimate places λ "
        "where noise decides). **Every quality number below is on the second "
        'half** (the "scored" half). Latency is per `ItemSearch.search` call in-process (query encoding, BM25, '
        "dense scores, fusion, re-ranking, reasons), over all queries, for the catalogue size in the row "
        "(ml-latest-small = the ~10k-item case).",
        "",
        "Definitions: NDCG@10 and Recall@10 with binary relevance over the query's relevant set (ideal DCG over "
        "min(10, |relevant|); Recall = relevant found / |relevant|). Embedding-ILD@10 = mean pairwise 1 − cos of "
        "the MiniLM item vectors on the first page (pages with ≥ 2 items). Category coverage@10 = |categories on "
        "the page ∩ categories of the relevant items| / |categories of the relevant items| (genres for "
        "ml-latest-small, category-path labels for bundlerec; queries whose relevant items have no category are "
        "skipped). Categories per page = distinct category labels on the page. Empty pages = queries with no "
        "result (BM25 only returns items sharing a term with the query).",
        "",
        *quality_table(results),
        "",
        "Paired NDCG@10 differences, mean [95% CI] = mean ± 1.96·sd/√n over per-query differences:",
        "",
        *paired_table(results),
        "",
        "Choosing the fusion on the first half (NDCG@10):",
        "",
        *fusion_table(results),
        "",
        f"Choosing the diversifier on the first half (NDCG@10 / category coverage@10; * = not keeping {KEEP:.0%} of "
        "the tuned fusion's NDCG@10 with 95% confidence; bold = chosen):",
        "",
        *sweep_table(results),
        "",
        "Per catalogue, MiniLM item vectors (encoded, or read from the embedding cache when present) and "
        "`ItemSearch` construction (BM25 index): "
        + ", ".join(f"{r.bench.name} {r.vectors_s:.0f} s + {r.build_s:.1f} s" for r in results)
        + ".",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DEFAULT_DATASETS))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args()
    started = time.perf_counter()
    results = [run_benchmark(name) for name in args.datasets.split(",")]
    lines = section(results, (time.perf_counter() - started) / 60)
    if args.no_write:
        print("\n".join(lines))
        return
    write_section(args.out, "search", lines, heading="## Semantic search")


if __name__ == "__main__":
    main()
