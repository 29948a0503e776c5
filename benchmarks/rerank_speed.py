"""Re-ranking speed: one user's 200 candidates re-ranked into 10 items. Writes BENCHMARKS.md.

Each re-ranker is timed on its own greedy selection function and on the full per-user path
(`ListReranker.choose`: per-batch preparation, z-scoring, feature lookup and selection) for a batch of
one user, as a service request would run it. Inputs are cycled over a pool of users; every timing is
the median and 90th percentile of single calls after a warm-up, in milliseconds.

- random: d = 384 random unit vectors over a 1682-item catalogue, normal scores, 19 categories
  (1 to 3 per item), a 30-item history;
- ml-100k: the MiniLM vectors of the ml-100k catalogue (from the embedding cache, so cheap after the
  first run), its 19 genres, and each user's top 200 EASE candidates and history (`--no-real` skips it).

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/rerank_speed.py [--runs 2000]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from language_model import write_section

from prismrec.data.items import ItemSide
from prismrec.rerank.base import ListReranker, RerankContext, standardise, unit_interval
from prismrec.rerank.calibrated import Calibrated, CalibratedParams, calibrated_select
from prismrec.rerank.categories import CategoryShares
from prismrec.rerank.dpp import DPP, dpp_select
from prismrec.rerank.mmr import MMR, mmr_select
from prismrec.rerank.xquad import XQuAD, xquad_select

MARKER = "rerank-speed"
HEADING = "## Re-ranking speed (200 candidates -> 10 items, one user)"
COMMAND = "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/rerank_speed.py"
M, K, DIM, N_ITEMS, N_CATEGORIES = 200, 10, 384, 1682, 19
TARGET_MS = 1.0
WARMUP = 100


@dataclass(frozen=True)
class Case:
    """One user's candidates and everything the selection functions take."""

    items: np.ndarray  # int64[M] candidate items, best score first
    scores: np.ndarray  # float32[M]
    row: int  # the user's row in `Workload.history`


@dataclass(frozen=True)
class Workload:
    """A catalogue (vectors, categories), users' histories and a pool of per-user candidate lists."""

    label: str
    side: ItemSide
    history: sp.csr_matrix
    popularity: np.ndarray
    cases: list[Case]


def random_workload(seed: int = 0, users: int = 64) -> Workload:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(N_ITEMS, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows, cols = [], []
    for item in range(N_ITEMS):
        picked = rng.choice(N_CATEGORIES, size=int(rng.integers(1, 4)), replace=False)
        rows += [item] * len(picked)
        cols += picked.tolist()
    categories = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(N_ITEMS, N_CATEGORIES))
    dense = np.zeros((users, N_ITEMS), dtype=np.float32)
    for user in range(users):
        dense[user, rng.choice(N_ITEMS, size=30, replace=False)] = rng.uniform(0.2, 1.0, 30)
    cases = []
    for user in range(users):
        items = rng.choice(np.flatnonzero(dense[user] == 0), size=M, replace=False).astype(np.int64)
        scores = np.sort(rng.normal(size=M).astype(np.float32))[::-1].copy()
        cases.append(Case(items, scores, user))
    side = ItemSide(vectors=vectors, categories=categories, category_names=tuple(map(str, range(N_CATEGORIES))))
    return Workload("random", side, sp.csr_matrix(dense), rng.integers(1, 500, N_ITEMS).astype(np.float64), cases)


def ml100k_workload(users: int = 64) -> Workload:
    """EASE top-200 candidates of the first `users` ml-100k users, with MiniLM vectors and genres."""
    from prismrec.core.config import PipelineConfig
    from prismrec.core.request import RecommendRequest
    from prismrec.data.registry import load_dataset

    data = load_dataset("ml-100k")
    config = PipelineConfig.for_model("ease", {"lambda": 250}).with_values({"encoder.model": "all-MiniLM-L6-v2"})
    pipeline = config.fit(data.interactions, data.catalog)
    rows = np.arange(users)
    result = pipeline.recommend(RecommendRequest.for_users(rows, k=M))
    items, scores = result.items, result.scores
    cases = [Case(items[r], scores[r], r) for r in rows]
    return Workload("ml-100k MiniLM", pipeline.side, pipeline.history[rows], pipeline.popularity, cases)


def timed(calls: list[Callable[[], Any]], runs: int) -> tuple[float, float]:
    """(median, p90) in ms of `runs` single calls, cycling over `calls`, after a warm-up."""
    for i in range(WARMUP):
        calls[i % len(calls)]()
    times = np.empty(runs)
    for i in range(runs):
        call = calls[i % len(calls)]
        start = time.perf_counter_ns()
        call()
        times[i] = time.perf_counter_ns() - start
    return float(np.median(times) / 1e6), float(np.percentile(times, 90) / 1e6)


def selection_calls(work: Workload) -> dict[str, list[Callable[[], Any]]]:
    """Each selection function on the inputs its re-ranker's `select` would give it."""
    assert work.side.vectors is not None and work.side.categories is not None
    context = RerankContext(work.side, work.popularity, work.history)
    targets = CategoryShares().targets(context)
    theta = DPP.Params().theta
    alpha = theta / (2.0 * (1.0 - theta))
    params = CalibratedParams(lambda_=0.5)
    names = ("`dpp_select`", "`dpp_select` (window 5)", "`mmr_select`", "`calibrated_select`", "`xquad_select`")
    calls: dict[str, list[Callable[[], Any]]] = {name: [] for name in names}
    for case in work.cases:
        relevance = standardise(case.scores)
        unit = unit_interval(relevance)
        features = work.side.vectors[case.items].astype(np.float64)
        vectors = work.side.vectors[case.items]
        quality = np.exp(np.clip(alpha * relevance, -50.0, 50.0))
        shares = targets.shares[case.items]
        membership = (shares > 0).astype(np.float64)
        target = targets.targets[case.row]
        dpp, dpp_window, mmr, calibrated, xquad = (calls[name] for name in names)
        dpp.append(lambda f=features, q=quality: dpp_select(f, q, K, 0))
        dpp_window.append(lambda f=features, q=quality: dpp_select(f, q, K, 5))
        mmr.append(lambda v=vectors, r=unit: mmr_select(v, r, 0.3, K))
        calibrated.append(lambda s=shares, r=unit, t=target: calibrated_select(s, r, t, params, K))
        xquad.append(lambda j=membership, r=unit, t=target: xquad_select(j, r, t, 0.3, K))
    return calls


def choose_calls(work: Workload) -> dict[str, list[Callable[[], Any]]]:
    """The full per-user path: `choose` on a batch of one user (its own history row as the context)."""
    rerankers: dict[str, ListReranker] = {
        "`DPP.choose`": DPP(),
        "`DPP.choose` (window 5)": DPP(window=5),
        "`MMR.choose`": MMR(),
        "`Calibrated.choose`": Calibrated(),
        "`XQuAD.choose`": XQuAD(),
    }
    calls: dict[str, list[Callable[[], Any]]] = {name: [] for name in rerankers}
    for case in work.cases:
        context = RerankContext(work.side, work.popularity, work.history[case.row : case.row + 1])
        items, scores = case.items[None, :], case.scores[None, :]
        for name, reranker in rerankers.items():
            calls[name].append(lambda r=reranker, c=context, i=items, s=scores: r.choose(i, s, c, K))
    return calls


def measure(work: Workload, runs: int) -> list[tuple[str, str, float, float]]:
    rows = []
    for name, calls in {**selection_calls(work), **choose_calls(work)}.items():
        median, p90 = timed(calls, runs)
        print(f"  {work.label:>15} {name:<28} median {median:.3f} ms  p90 {p90:.3f} ms", flush=True)
        rows.append((name, work.label, median, p90))
    return rows


def table(rows: list[tuple[str, str, float, float]], runs: int, command: str) -> list[str]:
    lines = [
        f"Command: `{command}`",
        "",
        f"{M} candidates -> {K} items, d = {DIM}, 19 categories; median and p90 of {runs} single calls per row",
        f"after {WARMUP} warm-up calls, cycling over 64 users; one thread; Python {platform.python_version()},",
        f"numpy {np.__version__}. `*_select` rows time the greedy selection alone, `*.choose` rows the whole",
        "per-user path for a batch of one user (per-batch preparation, z-scores, feature lookup, selection).",
        "random: random unit vectors and scores over a 1682-item catalogue; ml-100k MiniLM: each user's top 200",
        "EASE (λ = 250) candidates with the catalogue's MiniLM vectors and genres.",
        "",
        "| re-ranker | vectors / candidates | median ms | p90 ms |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {label} | {median:.3f} | {p90:.3f} |" for name, label, median, p90 in rows]
    slowest = max(median for name, _, median, _ in rows if name.lower().startswith(("`dpp", "`mmr")))
    verdict = "met" if slowest <= TARGET_MS else "missed"
    lines += ["", f"Target ≤ {TARGET_MS:g} ms median, DPP and MMR: {verdict} (slowest {slowest:.3f} ms)."]
    return lines


def ensure_section(out: Path) -> None:
    """Append the heading and empty markers at the end of the file when the section is missing."""
    text = out.read_text(encoding="utf-8") if out.exists() else "# Benchmarks\n"
    if f"<!-- {MARKER}:begin -->" not in text:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n<!-- {MARKER}:begin -->\n<!-- {MARKER}:end -->\n"
        out.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="timed calls per row (>= 1000)")
    parser.add_argument("--no-real", action="store_true", help="random vectors only (skip ml-100k)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
    args = parser.parse_args()
    if args.runs < 1000:
        raise SystemExit("--runs must be at least 1000")
    workloads = [random_workload()]
    if not args.no_real:
        started = time.perf_counter()
        workloads.append(ml100k_workload())
        print(f"ml-100k candidates ready ({time.perf_counter() - started:.1f} s)", flush=True)
    rows = [row for work in workloads for row in measure(work, args.runs)]
    first = {name: index for index, (name, *_) in reversed(list(enumerate(rows)))}
    rows.sort(key=lambda row: first[row[0]])  # each re-ranker's rows together, random first
    options = (" --no-real" if args.no_real else "") + (f" --runs {args.runs}" if args.runs != 2000 else "")
    lines = table(rows, args.runs, COMMAND + options)
    print("\n".join(lines))
    ensure_section(args.out)
    write_section(args.out, MARKER, lines)


if __name__ == "__main__":
    main()
