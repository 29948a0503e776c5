"""Relevance-diversity trade-offs: sweep each re-ranker's knob on one fitted pipeline and compare.

The scorer is fitted once on the stage's fit part; every re-ranker setting re-ranks the same
candidates through `FittedPipeline.recommend` (the production path) and is scored against the
un-reranked lists with paired 95% intervals for the NDCG difference.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from prismrec.core.config import PipelineConfig, rerank_setting
from prismrec.core.pipeline import FittedPipeline
from prismrec.core.request import RecommendRequest
from prismrec.data.schema import Dataset
from prismrec.data.splits import Split
from prismrec.evaluation.report import Evaluation, evaluate_lists, paired_difference
from prismrec.rerank.registry import reranker_class

# Trade-off axes: summary metric -> True when larger is better.
AXES = {"ild_genre": True, "ild_embedding": True, "coverage": True, "miscalibration": False}
COLUMNS = ("ndcg", "recall", "coverage", "gini", "entropy", "longtail", "novelty", "ild_genre", "ild_embedding",
           "miscalibration", "alpha_ndcg", "subtopic_recall", "unexpectedness", "serendipity")  # fmt: skip


@dataclass(frozen=True)
class Sweep:
    """The scored settings of one sweep.

    Attributes:
        baseline: the un-reranked lists' evaluation.
        frame: one row per setting (re-ranker, knob, value, metrics, NDCG difference and 95% interval,
            seconds, Pareto flags per axis); the first row is the baseline (re-ranker "none").
    """

    baseline: Evaluation
    frame: pd.DataFrame


def knob_values(name: str, points: int) -> list[float]:
    """`points` evenly spaced values of a re-ranker's knob, least diverse first."""
    low, high = reranker_class(name).knob_range
    return [float(v) for v in np.linspace(low, high, points)]


def sweep(
    config: PipelineConfig,
    dataset: Dataset,
    split: Split,
    rerankers: list[str],
    points: int,
    stage: str = "valid",
    k: int = 10,
    progress: Callable[[Iterable[Any]], Iterable[Any]] = lambda x: x,
) -> Sweep:
    """Fit `config`'s scorer once and score every re-ranker at `points` knob values.

    Args:
        config: the pipeline (its [rerank] section, if any, gives the starting parameters of that re-ranker).
        dataset: items (categories, text) and interactions.
        split: the protocol split.
        rerankers: registered re-ranker names.
        points: knob values per re-ranker (>= 2).
        stage: "valid" (fit on subtrain) to choose settings, "test" (fit on train) to report them.
        k: list length.
        progress: wraps the list of settings (a progress bar).
    """
    fit_part, truth = split.stage(stage)
    catalog = split.catalog(stage)
    plain = (config.with_values({"rerank.name": "none"}) if config.rerank else config).fit(fit_part, dataset.catalog)
    users = truth.active_users()
    categories = plain.side.categories

    def score(pipeline: FittedPipeline) -> tuple[Evaluation, float]:
        started = time.perf_counter()
        items = pipeline.recommend(RecommendRequest.for_users(users, k=k, candidates=catalog)).items
        seconds = time.perf_counter() - started
        vectors = plain.side.vectors
        return evaluate_lists(items, users, fit_part, truth, catalog, categories, k, vectors=vectors), seconds

    baseline, seconds = score(plain)
    rows = [_row("none", "", float("nan"), baseline, baseline, seconds)]
    settings = [(name, value) for name in rerankers for value in knob_values(name, points)]
    for name, value in progress(settings):
        evaluation, seconds = score(plain.with_rerank(rerank_setting(config.rerank, name, value)))
        rows.append(_row(name, reranker_class(name).knob, value, evaluation, baseline, seconds))
    frame = pd.DataFrame(rows)
    for axis, larger in AXES.items():
        frame[f"pareto_{axis}"] = pareto(frame["ndcg"].to_numpy(), frame[axis].to_numpy(), larger)
    return Sweep(baseline, frame)


def _row(name: str, knob: str, value: float, evaluation: Evaluation, baseline: Evaluation,
         seconds: float) -> dict[str, Any]:  # fmt: skip
    k = evaluation.k
    diff = paired_difference(evaluation, baseline)
    low, high = diff.ci95
    metrics = {column: evaluation.summary.get(f"{column}@{k}", float("nan")) for column in COLUMNS}
    return {"reranker": name, "knob": knob, "value": value, **metrics, "ndcg_diff": diff.diff,
            "ndcg_ci_low": low, "ndcg_ci_high": high, "ndcg_change": diff.diff / baseline[f"ndcg@{k}"],
            "seconds": seconds}  # fmt: skip


def pareto(accuracy: np.ndarray, other: np.ndarray, larger_is_better: bool = True) -> np.ndarray:
    """bool[n]: points no other point beats on both accuracy and `other` (NaN `other` -> False).

    A point is dominated when another is at least as good on both axes and better on one.
    """
    y = np.where(np.isnan(other), np.nan, other if larger_is_better else -other)
    keep = ~np.isnan(y) & ~np.isnan(accuracy)
    front = np.zeros(len(accuracy), dtype=bool)
    for i in np.flatnonzero(keep):
        at_least = keep & (accuracy >= accuracy[i]) & (y >= y[i])
        better = (accuracy > accuracy[i]) | (y > y[i])
        front[i] = not np.any(at_least & better)
    return front


def operating_point(frame: pd.DataFrame, max_loss: float, axis: str = "coverage") -> pd.Series | None:
    """The setting with the best `axis` among those losing at most `max_loss` (a fraction) of baseline NDCG."""
    larger = AXES.get(axis, True)
    allowed = frame[(frame["reranker"] != "none") & (frame["ndcg_change"] >= -max_loss)]
    if allowed.empty:
        return None
    return allowed.loc[allowed[axis].idxmax() if larger else allowed[axis].idxmin()]
