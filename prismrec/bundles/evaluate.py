"""Bundle recommendation under the CrossCBR protocol, and choosing a scorer's parameters on `tune`.

Full ranking over all bundles, excluding each user's train bundles; users with ≥ 1 bundle in the
evaluated part; Recall@K = hits / |bundles of the user in the part|, NDCG@K with binary gains and the
ideal DCG over min(K, |bundles|) — the protocol of CrossCBR (Ma et al., SIGIR 2022) and BGCN.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from prismrec.bundles.scorers import BundleScorer, bundle_scorer_class
from prismrec.bundles.signals import BundleSignals, pairs_matrix, user_bundle_parts
from prismrec.core.ranking import top_k
from prismrec.data.schema import Dataset
from prismrec.evaluation.accuracy import ndcg, recall, relevance
from prismrec.params import parse_params

CUTOFFS = (20, 40)
BATCH_USERS = 2048  # scores are dense [batch, n_bundles] float32


@dataclass(frozen=True)
class BundleEvaluation:
    """Metrics of one scorer on one part.

    Attributes:
        metrics: "recall@20", "ndcg@20", "recall@40", "ndcg@40" (means over `users`).
        per_user: the same keys -> float64[len(users)].
        users: int64 user indices evaluated (≥ 1 bundle in the part).
    """

    metrics: dict[str, float]
    per_user: dict[str, np.ndarray]
    users: np.ndarray


def rank_bundles(
    scorer: BundleScorer, users: np.ndarray, exclude: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(int64[len(users), k] bundle indices, float32 scores): the top k, never a bundle in `exclude`.

    Args:
        scorer: a fitted scorer.
        users: int user indices.
        exclude: [n_users, n_bundles] sparse; stored entries are never recommended (train bundles).
        k: list length (≤ n_bundles).
    """
    lists, scores = [], []
    for start in range(0, len(users), BATCH_USERS):
        batch = users[start : start + BATCH_USERS]
        block = scorer.score(batch)
        rows, columns = exclude[batch].nonzero()
        block[rows, columns] = -np.inf
        found, found_scores = top_k(block, k)
        lists.append(found)
        scores.append(found_scores)
    if not lists:
        return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
    return np.vstack(lists), np.vstack(scores)


def evaluate_bundles(
    scorer: BundleScorer, signals: BundleSignals, truth_pairs: np.ndarray, cutoffs: Sequence[int] = CUTOFFS
) -> BundleEvaluation:
    """Recall@K and NDCG@K of a fitted scorer against `truth_pairs` (int [n, 2] user, bundle).

    The user's train bundles (`signals.user_bundles`) are excluded from the ranking.
    """
    truth = pairs_matrix(truth_pairs, (signals.n_users, signals.n_bundles))
    users = np.flatnonzero(np.diff(truth.indptr) > 0).astype(np.int64)
    lists, _ = rank_bundles(scorer, users, signals.user_bundles, max(cutoffs))
    n_relevant = np.diff(truth.indptr)[users]
    per_user: dict[str, np.ndarray] = {}
    for cutoff in cutoffs:
        hits = relevance(lists[:, :cutoff], users, truth)
        per_user[f"recall@{cutoff}"] = recall(hits, n_relevant)
        per_user[f"ndcg@{cutoff}"] = ndcg(hits, n_relevant)
    metrics = {name: float(values.mean()) if len(values) else float("nan") for name, values in per_user.items()}
    return BundleEvaluation(metrics, per_user, users)


@dataclass(frozen=True)
class Trial:
    """One grid point: its parameters and its metrics on the tuning part."""

    params: Any
    metrics: dict[str, float]


def tune_bundle_scorer(
    name: str,
    grid: Mapping[str, Sequence[Any]],
    signals: BundleSignals,
    tune_pairs: np.ndarray,
    metric: str = "ndcg@20",
    progress: Callable[[Trial], None] | None = None,
) -> tuple[BundleScorer, list[Trial]]:
    """The scorer `name` fitted with the grid point that is best on `tune_pairs`, and every trial.

    Grid points that differ only in parameters read at scoring time reuse one fit.

    Args:
        name: a registered bundle scorer.
        grid: public parameter name -> values to try (missing parameters keep their defaults).
        signals: the train signals.
        tune_pairs: int [n, 2] (user, bundle) pairs of the tuning part.
        metric: the key of `BundleEvaluation.metrics` to maximise.
        progress: called after each trial.
    """
    cls = bundle_scorer_class(name)
    keys = list(grid)
    trials: list[Trial] = []
    fitted: dict[tuple[Any, ...], BundleScorer] = {}
    best_value, best_params = -np.inf, cls.Params()
    for values in itertools.product(*(grid[key] for key in keys)):
        params = parse_params(cls.Params, dict(zip(keys, values, strict=True)), f"bundle scorer '{name}'")
        fit_key = tuple(getattr(params, field) for field in cls.fitted_params)
        scorer = fitted.get(fit_key)
        if scorer is None:
            fitted.clear()  # one fitted model at a time: EASE weights are n_bundles² floats
            scorer = fitted[fit_key] = cls(params).fit(signals)
        scorer.params = params
        trial = Trial(params, evaluate_bundles(scorer, signals, tune_pairs).metrics)
        trials.append(trial)
        if progress is not None:
            progress(trial)
        if trial.metrics[metric] > best_value:
            best_value, best_params = trial.metrics[metric], params
    return cls(best_params).fit(signals), trials


def describe_params(params: Any) -> str:
    """"lambda=500, content_weight=0.3" — the public names and values of a parameter dataclass."""
    return ", ".join(f"{f.name.rstrip('_')}={getattr(params, f.name):g}" for f in dataclasses.fields(params)) or "—"


@dataclass(frozen=True)
class ProtocolRun:
    """One scorer fitted on train and scored on tune and test.

    Attributes:
        tune, test: the evaluations.
        fit_seconds: wall time of the fit (s).
        split: "published" (the dataset's own train/tune/test) or "seeded" (`split_user_bundles`).
    """

    tune: BundleEvaluation
    test: BundleEvaluation
    fit_seconds: float
    split: str


def run_protocol(scorer: BundleScorer, dataset: Dataset, item_vectors: np.ndarray | None = None,
                 seed: int = 0) -> ProtocolRun:  # fmt: skip
    """Fit `scorer` on the train part of `dataset` and evaluate it on tune and test (CrossCBR protocol).

    Datasets without a published split get the seeded `split_user_bundles` split, with the user–item
    matrix rebuilt from the train bundles (their item log would reveal the held-out bundles).
    """
    parts, item_log = user_bundle_parts(dataset, seed)
    signals = BundleSignals.from_parts(dataset, parts, item_log, item_vectors)
    started = time.perf_counter()
    scorer.fit(signals)
    seconds = time.perf_counter() - started
    split = "published" if item_log == "dataset" else "seeded"
    tune, test = (evaluate_bundles(scorer, signals, parts[part]) for part in ("tune", "test"))
    return ProtocolRun(tune, test, seconds, split)
