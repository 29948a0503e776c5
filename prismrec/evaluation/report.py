"""Scoring top-K lists against held-out events: per-user accuracy plus beyond-accuracy summaries."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from prismrec.data.schema import Interactions
from prismrec.evaluation.accuracy import RANKING_METRICS, relevance
from prismrec.evaluation.beyond import average_popularity, category_ild, coverage, exposure_gini, novelty

ACCURACY = tuple(RANKING_METRICS)
BEYOND = ("coverage", "gini", "avgpop", "ild_genre", "novelty")


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one set of top-K lists.

    Attributes:
        k: list length scored.
        users: int64[n] evaluated users (every user with at least one held-out event), ascending.
        per_user: metric name -> float64[n] accuracy values aligned to `users`.
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
) -> Evaluation:
    """Score top-K lists by PROTOCOL.md A.

    Args:
        recommended: int[m, >=k] item indices per list, best first, -1 for empty slots.
        list_users: int[m] the user of each list row.
        fit: the events the model was fitted on (seen items, popularity).
        truth: held-out events; every user with at least one is evaluated (no list = all misses).
        catalog: bool[n_items] items that count for coverage and Gini.
        categories: 0/1 CSR [n_items, n_categories] for genre-ILD; None skips it.
        k: cut-off.
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
    seen = relevance(lists, users, fit.matrix())
    summary.update(
        {
            f"coverage@{k}": coverage(shown, catalog),
            f"gini@{k}": exposure_gini(shown, catalog),
            f"avgpop@{k}": _nanmean(average_popularity(shown, popularity)),
            f"ild_genre@{k}": _nanmean(category_ild(shown, categories)) if categories is not None else float("nan"),
            f"novelty@{k}": _nanmean(novelty(shown, popularity, fit.n_users)),
            "n_eval_users": len(users),
            "n_users_with_list": int(with_list.sum()),
            "n_short_lists": int(((lists >= 0).sum(axis=1) < k).sum()),
            "train_leaks": int(seen.sum()),
            "unknown_items": int(((lists >= 0) & ~catalog[np.maximum(lists, 0)]).sum()),
        }
    )
    return Evaluation(k, users, per_user, summary)


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
    d = a.per_user[metric] - b.per_user[metric]
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
    return PairedDifference(f"{metric}@{a.k}", float(d.mean()), se)
