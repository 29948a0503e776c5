"""Scoring top-K lists against held-out events: per-user accuracy plus beyond-accuracy summaries.

Beyond accuracy covers exposure (coverage, Gini, entropy), popularity (average popularity, novelty,
long-tail share), diversity (genre and embedding ILD, α-NDCG, subtopic recall), calibration
(miscalibration) and surprise (unexpectedness and serendipity against a most-popular recommender).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from prismrec.data.schema import Interactions
from prismrec.evaluation.accuracy import RANKING_METRICS, relevance
from prismrec.evaluation.beyond import (
    average_popularity,
    category_ild,
    coverage,
    exposure_entropy,
    exposure_gini,
    long_tail_items,
    long_tail_share,
    novelty,
)
from prismrec.evaluation.diversity import alpha_ndcg, embedding_ild, miscalibration, subtopic_recall
from prismrec.evaluation.surprise import primitive_lists, serendipity, unexpectedness

ACCURACY = tuple(RANKING_METRICS)
BEYOND = (
    "coverage",
    "gini",
    "entropy",
    "avgpop",
    "novelty",
    "longtail",
    "ild_genre",
    "ild_embedding",
    "unexpectedness",
    "serendipity",
    "miscalibration",
    "alpha_ndcg",
    "subtopic_recall",
)
SIDE_METRICS = ("ild_genre", "ild_embedding", "miscalibration", "alpha_ndcg", "subtopic_recall")


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one set of top-K lists.

    Attributes:
        k: list length scored.
        users: int64[n] evaluated users (every user with at least one held-out event), ascending.
        per_user: metric name -> float64[n] values aligned to `users`: every accuracy metric, plus each
            of SIDE_METRICS whose side information (categories or vectors) was given, NaN where it is
            undefined (e.g. a user without a list).
        summary: metric@k -> mean, metric@k_se -> standard error, beyond-accuracy values and counts.
    """

    k: int
    users: np.ndarray
    per_user: dict[str, np.ndarray] = field(repr=False)
    summary: dict[str, float]

    def __getitem__(self, key: str) -> float:
        return self.summary[key]


def evaluate_lists(
    recommended: np.ndarray,
    list_users: np.ndarray,
    fit: Interactions,
    truth: Interactions,
    catalog: np.ndarray,
    categories: sp.csr_matrix | None = None,
    k: int = 10,
    *,
    vectors: np.ndarray | None = None,
) -> Evaluation:
    """Score top-K lists by PROTOCOL.md A.

    Args:
        recommended: int[m, >=k] item indices per list, best first, -1 for empty slots.
        list_users: int[m] the user of each list row.
        fit: the events the model was fitted on (seen items, popularity).
        truth: held-out events; every user with at least one is evaluated (no list = all misses).
        catalog: bool[n_items] items that count for coverage and Gini.
        categories: 0/1 CSR [n_items, n_categories] for genre-ILD, miscalibration, α-NDCG and subtopic
            recall; None gives NaN for them.
        k: cut-off.
        vectors: float32[n_items, d] item vectors for embedding ILD; None gives NaN for it.

    The long tail is the items outside the short head holding 20% of the fit events; the expected
    list for unexpectedness and serendipity is the k most popular fit items the user has not seen.
    """
    users = truth.active_users()
    lists = np.full((len(users), k), -1, dtype=np.int64)
    rows = np.searchsorted(users, list_users)
    known = (rows < len(users)) & (users[np.minimum(rows, len(users) - 1)] == list_users)
    lists[rows[known]] = np.asarray(recommended, dtype=np.int64)[known, :k]

    truth_matrix = truth.matrix()
    hits = relevance(lists, users, truth_matrix)
    n_relevant = np.diff(truth_matrix.indptr)[users]
    per_user = {name: metric(hits, n_relevant) for name, metric in RANKING_METRICS.items()}
    summary: dict[str, float] = {}
    for name, values in per_user.items():
        summary[f"{name}@{k}"] = float(values.mean())
        summary[f"{name}@{k}_se"] = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0

    with_list = (lists >= 0).any(axis=1)
    shown = lists[with_list]
    popularity = fit.item_counts()
    history = fit.matrix()[users]
    seen = relevance(lists, np.arange(len(users)), history)
    expected = primitive_lists(popularity, history, k)
    side = _side_metrics(lists, history, truth_matrix[users], categories, vectors, k)
    per_user.update(side)
    nan = float("nan")
    summary.update(
        {
            f"coverage@{k}": coverage(shown, catalog),
            f"gini@{k}": exposure_gini(shown, catalog),
            f"entropy@{k}": exposure_entropy(shown, catalog),
            f"avgpop@{k}": _nanmean(average_popularity(shown, popularity)),
            f"novelty@{k}": _nanmean(novelty(shown, popularity, fit.n_users)),
            f"longtail@{k}": _nanmean(long_tail_share(shown, long_tail_items(popularity, 0.2))),
            f"unexpectedness@{k}": _nanmean(unexpectedness(lists, expected)),
            f"serendipity@{k}": _nanmean(serendipity(lists, hits, expected)),
            **{f"{name}@{k}": _nanmean(side[name]) if name in side else nan for name in SIDE_METRICS},
            "n_eval_users": len(users),
            "n_users_with_list": int(with_list.sum()),
            "n_short_lists": int(((lists >= 0).sum(axis=1) < k).sum()),
            "train_leaks": int(seen.sum()),
            "unknown_items": int(((lists >= 0) & ~catalog[np.maximum(lists, 0)]).sum()),
        }
    )
    return Evaluation(k, users, per_user, summary)


def _side_metrics(
    lists: np.ndarray,
    history: sp.csr_matrix,
    relevant: sp.csr_matrix,
    categories: sp.csr_matrix | None,
    vectors: np.ndarray | None,
    k: int,
) -> dict[str, np.ndarray]:
    """Per-list metrics that need item categories or vectors (only those whose input is given).

    Args:
        lists: int[n, k] one row per evaluated user, -1 = empty slot.
        history: binary CSR [n, n_items] fit items of each row's user.
        relevant: binary CSR [n, n_items] held-out items of each row's user.
    """
    out: dict[str, np.ndarray] = {}
    if categories is not None:
        out["ild_genre"] = category_ild(lists, categories)
        out["miscalibration"] = miscalibration(lists, history, categories)
        out["alpha_ndcg"] = alpha_ndcg(lists, relevant, categories, k)
        out["subtopic_recall"] = subtopic_recall(lists, relevant, categories, k)
    if vectors is not None:
        out["ild_embedding"] = embedding_ild(lists, vectors)
    return out


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else float("nan")


@dataclass(frozen=True)
class PairedDifference:
    """Mean per-user difference a - b of one metric with its paired 95% interval."""

    metric: str
    diff: float
    se: float

    @property
    def ci95(self) -> tuple[float, float]:
        return (self.diff - 1.96 * self.se, self.diff + 1.96 * self.se)


def paired_difference(a: Evaluation, b: Evaluation, metric: str = "ndcg") -> PairedDifference:
    """Paired comparison over the same evaluated users (raises if the user sets differ)."""
    if not np.array_equal(a.users, b.users):
        raise ValueError("paired comparison needs the same evaluated users")
    return paired_arrays(a.per_user[metric], b.per_user[metric], f"{metric}@{a.k}")


def paired_arrays(a: np.ndarray, b: np.ndarray, metric: str = "") -> PairedDifference:
    """Mean of the paired differences a - b (float[n] each, same units) with its standard error."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
    return PairedDifference(metric, float(d.mean()), se)


def format_paired(a: np.ndarray, b: np.ndarray) -> str:
    """'+0.0123 [+0.0040, +0.0206]': the mean paired difference a - b and its 95% interval, for reports."""
    difference = paired_arrays(a, b)
    low, high = difference.ci95
    return f"{difference.diff:+.4f} [{low:+.4f}, {high:+.4f}]"
