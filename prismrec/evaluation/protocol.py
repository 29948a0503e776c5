"""Protocol runner: split -> fit -> recommend -> evaluate, and grid tuning on the validation part.

Hyper-parameters are chosen by NDCG@K on `valid` (fitted on `subtrain`); the chosen setting is
refit on `train` and scored once on `test` (PROTOCOL.md A.5).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from prismrec.core.config import PipelineConfig
from prismrec.core.frames import lists_to_frame
from prismrec.core.pipeline import FittedPipeline
from prismrec.core.request import RecommendRequest
from prismrec.data.schema import Dataset, Interactions
from prismrec.data.splits import Split
from prismrec.errors import ConfigError
from prismrec.evaluation.rating import mae, rmse
from prismrec.evaluation.report import Evaluation, evaluate_lists

COLD_USER_EVENTS = 3  # users with at most this many fit events form the cold-user slice


@dataclass(frozen=True)
class Run:
    """One fitted and scored configuration."""

    config: PipelineConfig
    stage: str
    evaluation: Evaluation
    fit_seconds: float
    recommend_seconds: float
    pipeline: FittedPipeline
    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    cold: Evaluation | None = None  # the slice of users with at most COLD_USER_EVENTS fit events (None: no such user)

    def frame(self) -> pd.DataFrame:
        """The scored lists as rows user_id, item_id, rank, score (external ids)."""
        p = self.pipeline
        return lists_to_frame(p.user_ids, p.item_ids, self.users, self.items, self.scores)


def run(config: PipelineConfig, dataset: Dataset, split: Split, stage: str = "test", k: int = 10) -> Run:
    """Fit `config` on the stage's fit part and score its top-K lists on the held-out part."""
    fit_part, truth = split.stage(stage)
    catalog = split.catalog(stage)
    started = time.perf_counter()
    pipeline = config.fit(fit_part, dataset.catalog)
    fitted = time.perf_counter()
    users = truth.active_users()
    result = pipeline.recommend(RecommendRequest.for_users(users, k=k, candidates=catalog))
    done = time.perf_counter()
    categories = dataset.catalog.category_matrix()[0] if any(dataset.catalog.categories) else None
    evaluation = evaluate_lists(result.items, users, fit_part, truth, catalog, categories, k,
                                vectors=pipeline.side.vectors)  # fmt: skip
    cold = cold_slice(result.items, users, fit_part, truth, catalog, categories, k, pipeline.side.vectors)
    return Run(config, stage, evaluation, fitted - started, done - fitted, pipeline, users, result.items,
               result.scores, cold)  # fmt: skip


def cold_slice(
    items: np.ndarray, users: np.ndarray, fit_part: Interactions, truth: Interactions, catalog: np.ndarray,
    categories: Any, k: int, vectors: np.ndarray | None,
) -> Evaluation | None:
    """The metrics of the users with at most COLD_USER_EVENTS fit events, over those users only (None: none)."""
    in_slice = fit_part.user_counts()[users] <= COLD_USER_EVENTS
    if not in_slice.any():
        return None
    held = truth.select(np.isin(truth.users, users[in_slice]))
    return evaluate_lists(items[in_slice], users[in_slice], fit_part, held, catalog, categories, k, vectors=vectors)


def tuned_values(config: PipelineConfig) -> dict[str, Any]:
    """Scorer parameters plus the history parameters, as `--grid` names them."""
    data = config.to_dict()
    return {**data["scorer"], **{f"history.{k}": v for k, v in data["history"].items()}}


def run_summary(run: Run, dataset: str, split: Split, protocol: str, k: int) -> dict[str, Any]:
    """What `prismrec evaluate --json` prints: the setting, every metric, timings and the cold-user slice."""
    cold = None if run.cold is None else {"max_train_events": COLD_USER_EVENTS, "users": len(run.cold.users),
                                          **run.cold.summary}  # fmt: skip
    return {
        "dataset": dataset, "protocol": protocol, "split": run.stage, "k": k, "model": run.config.scorer.name,
        "params": tuned_values(run.config), f"{run.stage}_sha1": split.fingerprint(run.stage),
        **run.evaluation.summary, "fit_seconds": run.fit_seconds, "recommend_seconds": run.recommend_seconds,
        "cold_users": cold,
    }  # fmt: skip


def grid_configs(base: PipelineConfig, grid: dict[str, list[str]]) -> list[PipelineConfig]:
    """Every combination of the grid values applied to `base` (in grid order)."""
    names = list(grid)
    combos = itertools.product(*(grid[n] for n in names))
    return [base.with_values(dict(zip(names, values, strict=True))) for values in combos]


@dataclass(frozen=True)
class Tuning:
    """Validation runs of every grid point, the chosen one, and its test run."""

    trials: list[Run]
    best: Run
    test: Run


def tune(
    base: PipelineConfig,
    grid: dict[str, list[str]],
    dataset: Dataset,
    split: Split,
    k: int = 10,
    progress: Callable[[Any], Any] = lambda x: x,
) -> Tuning:
    """Choose by NDCG@K on valid, refit the winner on train and score it on test."""
    trials = [run(config, dataset, split, "valid", k) for config in progress(grid_configs(base, grid))]
    best = max(trials, key=lambda trial: trial.evaluation[f"ndcg@{k}"])
    return Tuning(trials, best, run(best.config, dataset, split, "test", k))


def run_rating(config: PipelineConfig, dataset: Dataset, split: Split, stage: str = "test") -> dict[str, float]:
    """Rating prediction (PROTOCOL.md D): MAE and RMSE over held-out ratings of users and items seen in fit.

    The scorer must predict ratings (`predict(users, items)`, e.g. "rating-mf"); the global mean of
    the fit ratings is reported alongside as the floor.
    """
    fit_part, truth = split.stage(stage)
    pipeline = config.fit(fit_part, dataset.catalog)
    predict = getattr(pipeline.scorer, "predict", None)
    if predict is None:
        raise ConfigError(f"model '{config.scorer.name}' does not predict ratings; use 'rating-mf'")
    known = (fit_part.user_counts()[truth.users] > 0) & (fit_part.item_counts()[truth.items] > 0)
    users, items, actual = truth.users[known], truth.items[known], truth.values[known]
    scale = dataset.rating_scale
    predicted = predict(users, items)
    floor = np.full(len(actual), fit_part.values.mean())
    return {
        "mae": mae(predicted, actual, scale), "rmse": rmse(predicted, actual, scale),
        "global_mean_mae": mae(floor, actual, scale), "global_mean_rmse": rmse(floor, actual, scale),
        "n_ratings": int(known.sum()), "n_skipped": int((~known).sum()),
    }  # fmt: skip
