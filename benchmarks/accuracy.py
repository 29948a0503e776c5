"""Accuracy benchmark: every scorer tuned on ml-100k (PROTOCOL.md temporal), written into BENCHMARKS.md.

Each model's grid is tried on valid (fit on subtrain); the best setting is refit on train and scored
once on test. Also times EASE fit + recommend-all (median of 5) and reports paired NDCG differences
against EASE λ=250, the peer anchor.

    PRISMREC_DATA_HOME=../shared/data OPENBLAS_NUM_THREADS=1 python benchmarks/accuracy.py [--dataset ml-100k]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from prismrec.core.config import PipelineConfig
from prismrec.core.request import RecommendRequest
from prismrec.data.registry import dataset_dir, load_dataset
from prismrec.data.splits import split
from prismrec.evaluation.protocol import run, tune
from prismrec.evaluation.report import paired_difference

GRIDS: dict[str, dict[str, list[str]]] = {
    "most-popular": {},
    "itemknn": {"neighbours": ["20", "50", "100", "200", "400"], "shrinkage": ["0", "10"]},
    "ease": {"lambda": ["100", "250", "500", "1000"]},
    "als": {"factors": ["64", "128"], "regularization": ["1", "5", "10"], "alpha": ["0.5", "1"]},
    "bpr": {"factors": ["32", "64"], "learning_rate": ["0.002", "0.01"], "iterations": ["100", "300"]},
}
PEERS = {  # ../shared/peers/RESULTS.md: temporal test NDCG@10 of the same model family, and its chosen setting
    "most-popular": ("MostPop", 0.1213, {}),
    "itemknn": ("ItemKNN-own", 0.1942, {"neighbours": 200}),
    "ease": ("EASE-own / RecBole", 0.2071, {"lambda": 250}),
    "als": ("ALS-implicit", 0.2062, {"factors": 64, "regularization": 5, "alpha": 0.5, "iterations": 15}),
    "bpr": ("BPR-implicit", 0.1776, {"factors": 32, "learning_rate": 0.002, "regularization": 0.01, "iterations": 300}),
}
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "tools" / "evaluate.py"
BEGIN, END = "<!-- accuracy:begin -->", "<!-- accuracy:end -->"


def time_ease(dataset_name: str, repeats: int = 5) -> list[float]:
    """Seconds of EASE λ=250 fit + top-10 for every user, on the full ml-100k log."""
    data = load_dataset(dataset_name)
    users = np.arange(data.n_users)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        pipeline = PipelineConfig.for_model("ease", {"lambda": 250}).fit(data.interactions)
        pipeline.recommend(RecommendRequest.for_users(users, k=10))
        seconds.append(time.perf_counter() - started)
    return seconds


def reference_evaluator() -> Any:
    """The independent evaluator of PROTOCOL.md (numpy + pandas), imported from its file."""
    spec = importlib.util.spec_from_file_location("reference_evaluate", REFERENCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def agreement(data: Any, parts: Any, dataset_name: str) -> list[str]:
    """Each model at the peer's chosen setting: our harness vs the reference evaluator vs the peer."""
    reference = reference_evaluator()
    ref_split = reference.Split(dataset_dir(dataset_name), "temporal")
    lines = [
        "Harness agreement: each model at the setting the peer chose, scored by prismrec's harness and by the",
        "independent reference evaluator (`../shared/tools/evaluate.py`) on the same lists.",
        "",
        "| model | setting | prismrec NDCG@10 | reference NDCG@10 | max abs diff | peer | peer NDCG@10 | Δ% |",
        "|---|---|---|---|---|---|---|---|",
    ]
    metrics = ("ndcg", "recall", "precision", "hr", "mrr", "coverage", "gini", "avgpop", "ild_genre", "novelty")
    for name, (peer_name, peer, values) in PEERS.items():
        result = run(PipelineConfig.for_model(name, values), data, parts, "test")
        ours = result.evaluation.summary
        theirs = reference.evaluate_recs(ref_split, result.frame().astype({"user_id": str, "item_id": str}), "test")
        worst = max(abs(ours[f"{m}@10"] - theirs[f"{m}@10"]) for m in metrics)
        setting = ", ".join(f"{a}={b}" for a, b in values.items()) or "-"
        lines.append(
            f"| {name} | {setting} | {ours['ndcg@10']:.4f} | {theirs['ndcg@10']:.4f} | {worst:.1e} | {peer_name} "
            f"| {peer:.4f} | {100 * (ours['ndcg@10'] - peer) / peer:+.1f}% |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
    args = parser.parse_args()

    data = load_dataset(args.dataset)
    parts = split(data.interactions, "temporal")
    results = {}
    for name, grid in GRIDS.items():
        started = time.perf_counter()
        results[name] = tune(PipelineConfig.for_model(name), grid, data, parts)
        print(f"{name}: {len(results[name].trials)} settings in {time.perf_counter() - started:.1f} s", flush=True)
    anchor = results["ease"].test.evaluation

    k = 10
    lines = [
        f"Dataset `{args.dataset}`, protocol temporal (test_sha1 `{parts.fingerprint('test')}`, "
        f"valid_sha1 `{parts.fingerprint('valid')}`), K={k}, full ranking.",
        "",
        "| model | best on valid | valid NDCG | NDCG@10 | Recall | Precision | HR | MRR | MAP | coverage | Gini "
        "| avg pop | genre-ILD | novelty | fit s | rec-all s | peer NDCG (Δ%) | NDCG − EASE [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        s = result.test.evaluation.summary
        params = result.best.config.to_dict()["scorer"]
        setting = ", ".join(f"{a}={b}" for a, b in params.items() if a not in ("name", "seed")) or "-"
        peer_name, peer, _ = PEERS[name]
        paired = paired_difference(result.test.evaluation, anchor)
        low, high = paired.ci95
        lines.append(
            f"| {name} | {setting} | {result.best.evaluation[f'ndcg@{k}']:.4f} | **{s['ndcg@10']:.4f}** "
            f"±{s['ndcg@10_se']:.4f} | {s['recall@10']:.4f} | {s['precision@10']:.4f} | {s['hr@10']:.4f} "
            f"| {s['mrr@10']:.4f} | {s['map@10']:.4f} | {s['coverage@10']:.4f} | {s['gini@10']:.4f} "
            f"| {s['avgpop@10']:.1f} | {s['ild_genre@10']:.4f} | {s['novelty@10']:.3f} "
            f"| {result.test.fit_seconds:.2f} | {result.test.recommend_seconds:.2f} "
            f"| {peer_name} {peer:.4f} ({100 * (s['ndcg@10'] - peer) / peer:+.1f}%) "
            f"| {paired.diff:+.4f} [{low:+.4f}, {high:+.4f}] |"
        )
    lines += ["", *agreement(data, parts, args.dataset)]
    timings = time_ease(args.dataset)
    lines += [
        "",
        f"EASE λ=250 fit + top-10 for all {data.n_users} users on all {len(data.interactions)} events: "
        f"median **{statistics.median(timings):.2f} s** of 5 (runs: {', '.join(f'{t:.2f}' for t in timings)}).",
    ]
    block = "\n".join(lines)
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else f"{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    args.out.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}", encoding="utf-8")
    print(block)


if __name__ == "__main__":
    main()
