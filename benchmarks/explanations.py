"""Explanation faithfulness: do the reasons name the history items that actually drive each item's score?

The pipeline is fitted on the temporal train part (PROTOCOL.md A) and explains the top-10 of every test
user. Reported, per configuration:
- deletion test: remove the named history item (`because[0]`) from the user's history row and re-score
  the recommended item; remove one other history item drawn at random instead; the named item must
  lower the score more (share of (user, item) pairs where it does; ties count as misses);
- lists whose ten `because[0]` all name one history item (share), and distinct `because[0]` per list;
- ALS scores come from learned user factors, so removing a history item changes nothing: its reasons
  explain the fold-in score (the user factor solved from the history) and the deletion test does not apply;
- the same list statistics for the previous explainer (the heaviest recency-weighted similar item,
  independent of the scorer), for comparison.

    PRISMREC_DATA_HOME=../shared/data OPENBLAS_NUM_THREADS=1 python benchmarks/explanations.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from language_model import write_section

from prismrec.core.config import PipelineConfig
from prismrec.core.pipeline import FittedPipeline
from prismrec.core.request import RecommendRequest
from prismrec.data.registry import load_dataset
from prismrec.data.splits import split

ROOT = Path(__file__).resolve().parents[1]
MARKER = "explanations"
HEADING = "## Explanations"
CONFIGS = {
    "configs/ml-100k-best.toml (two-tower)": PipelineConfig.from_toml(ROOT / "configs" / "ml-100k-best.toml"),
    "EASE λ=250, half-life 5": PipelineConfig.for_model("ease", {"lambda": 250}).with_values({"history.half_life": 5}),
    "item-kNN (200 neighbours)": PipelineConfig.for_model("itemknn"),
    "ALS (defaults)": PipelineConfig.for_model("als"),
}


def without(row: sp.csr_matrix, position: int) -> sp.csr_matrix:
    """The history row [1, n_items] with its entry at `position` (in `row.indices` order) removed."""
    keep = np.arange(row.nnz) != position
    return sp.csr_matrix((row.data[keep], row.indices[keep], [0, int(keep.sum())]), shape=row.shape)


def deletion_test(pipeline: FittedPipeline, users: np.ndarray, items: np.ndarray, because: list,
                  rng: np.random.Generator) -> tuple[float, int]:  # fmt: skip
    """(share of pairs where removing the named item lowers the score more than a random other one, pairs).

    NaN for scorers whose scores do not follow the history (ALS: its attribution explains the fold-in score).
    """
    if not pipeline.scorer.reads_history:
        return float("nan"), 0
    wins, pairs = 0, 0
    for r, user in enumerate(users):
        row = pipeline.history[user]
        if row.nnz < 2:
            continue
        full = pipeline.scorer.score(np.array([user]), row)[0]
        for slot, item in enumerate(items[r][items[r] >= 0]):
            named = because[r][slot]
            if not named:
                continue
            position = int(np.flatnonzero(row.indices == named[0].item)[0])
            other = int(rng.choice(np.delete(np.arange(row.nnz), position)))
            drop_named = full[item] - pipeline.scorer.score(np.array([user]), without(row, position))[0, item]
            drop_other = full[item] - pipeline.scorer.score(np.array([user]), without(row, other))[0, item]
            wins += int(drop_named > drop_other)
            pairs += 1
    return wins / max(pairs, 1), pairs


def list_statistics(named: list[list[int]]) -> tuple[float, float]:
    """(share of full lists whose items all name one history item, mean distinct named items per list)."""
    full = [row for row in named if len(row) >= 10]
    same = float(np.mean([len(set(row)) == 1 for row in full])) if full else float("nan")
    distinct = float(np.mean([len(set(row)) for row in named if row])) if named else float("nan")
    return same, distinct


def heaviest_similar(pipeline: FittedPipeline, users: np.ndarray, items: np.ndarray) -> list[list[int]]:
    """The previous explainer's named item: argmax over history of recency weight × (co-occurrence + text)/2."""
    explainer = pipeline.explainer
    out = []
    for r, user in enumerate(users):
        row = pipeline.history[user]
        listed = items[r][items[r] >= 0]
        similarity = explainer._similarity(listed, row.indices, explainer.by_item) * row.data[None, :]
        out.append([int(row.indices[j]) for j in np.argmax(similarity, axis=1)])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_dataset("ml-100k")
    parts = split(data.interactions, "temporal")
    users = parts.test.active_users()
    lines = [
        "ml-100k, temporal protocol: fitted on train, top-10 of each of the "
        f"{len(users)} test users (unseen test-period items only), explained with `explain=True`.",
        "", "| pipeline | deletion test: named > random other | pairs | lists with one named item | "
        "distinct named per list | previous explainer: one item / distinct | recommend + explain, ms per list |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for label, config in CONFIGS.items():
        pipeline = config.fit(parts.train, data.catalog)
        started = time.perf_counter()
        result = pipeline.recommend(RecommendRequest.for_users(users, k=10, candidates=parts.test_catalog,
                                                               explain=True))  # fmt: skip
        seconds = time.perf_counter() - started
        assert result.because is not None
        named = [[b[0].item for b in row if b] for row in result.because]
        same, distinct = list_statistics(named)
        old_same, old_distinct = list_statistics(heaviest_similar(pipeline, users, result.items))
        share, pairs = deletion_test(pipeline, users, result.items, result.because, np.random.default_rng(args.seed))
        print(f"{label}: deletion {share:.3f} ({pairs}) one-item {same:.3f} distinct {distinct:.2f}", flush=True)
        deletion = "n/a: scores ignore the history" if np.isnan(share) else f"{share:.1%}"
        lines.append(f"| {label} | {deletion} | {pairs} | {same:.1%} | {distinct:.2f} | "
                     f"{old_same:.1%} / {old_distinct:.2f} | {1000 * seconds / len(users):.2f} |")  # fmt: skip
    command = "PRISMREC_DATA_HOME=../shared/data OPENBLAS_NUM_THREADS=1 python benchmarks/explanations.py"
    lines += ["", f"Command: `{command}`"]
    write_section(args.out, MARKER, lines, HEADING)


if __name__ == "__main__":
    main()
